#!/bin/sh
# images.sh busybox|debian|tarball-debian - make sure a test image exists in
# the engine at $DOCKER_HOST, built locally (never pulled).
#   busybox: csdk-test/busybox:1, busybox-static with every applet linked
#   debian:  csdk-test/debian:bookworm, debootstrap minbase + python3 + nodejs
#   tarball-debian: only make sure the Debian root tarball is in the cache
#                   (no engine needed); prints its path
#
# The root tarballs are cached in $CSDK_TEST_CACHE (default /var/cache/csdk,
# which CI machines keep between runs), so only the first run on a machine
# pays for debootstrap. Several runs may share the cache at once: a tarball
# is made under a lock ($CSDK_TEST_CACHE/NAME.lock, flock) by one of them,
# written under a temporary name and renamed into place, so a reader never
# sees half a file. Imports into one engine are serialized the same way (a
# lock next to the engine's socket), so two tests sharing an engine import
# an image once.
set -eu
cache=${CSDK_TEST_CACHE:-/var/cache/csdk}
mkdir -p "$cache"
log() { echo "images.sh: $*" >&2; }
# skip REASON: exit 77, or 99 when CSDK_TEST_REQUIRE_DOCKER=1 (CI)
skip() {
	log "$*"
	[ "${CSDK_TEST_REQUIRE_DOCKER:-}" = 1 ] && { log "CSDK_TEST_REQUIRE_DOCKER=1: the test images are required, failing"; exit 99; }
	exit 77
}
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# lock FILE: hold an exclusive lock on FILE (fd 9) until this script exits.
lock() {
	exec 9>>"$1"
	flock -w 3600 9 || skip "could not lock $1 within an hour"
}

# lock_engine: serialize imports into the engine at $DOCKER_HOST.
lock_engine() {
	lock "$("$(dirname "$0")/engine.sh" lock-path images)"
}

# debian_tarball: the cached Debian root tarball, made once (under a lock).
debian_tarball() {
	tarball=$cache/debian-bookworm-minbase-python3-nodejs.tar
	[ -s "$tarball" ] && return 0
	lock "$cache/debian.lock"
	[ -s "$tarball" ] && return 0
	command -v debootstrap >/dev/null || skip "debootstrap not found; apt-get install debootstrap"
	root=$(mktemp -d "$cache/root.XXXXXX")
	dlog=$cache/debootstrap.log
	log "debootstrap bookworm into $root (a few minutes, once per machine)"
	t0=$(date +%s)
	debootstrap --variant=minbase --include=python3,nodejs bookworm "$root" \
		"${CSDK_TEST_MIRROR:-http://deb.debian.org/debian}" >"$dlog" 2>&1 ||
		{ rm -rf "$root"; skip "debootstrap failed, see $dlog"; }
	rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
	tmp=$(mktemp "$cache/debian.tar.XXXXXX")
	if ! { tar -C "$root" -cf "$tmp" . && chmod 644 "$tmp" && mv -f "$tmp" "$tarball"; }; then
		rm -f "$tmp"
		rm -rf "$root"
		skip "could not write $tarball"
	fi
	rm -rf "$root"
	log "debian root tarball $tarball made in $(( $(date +%s) - t0 )) s"
}

case ${1:-} in
busybox)
	ref=csdk-test/busybox:1
	have_image "$ref" && exit 0
	lock_engine
	have_image "$ref" && exit 0
	bb=$(command -v busybox) || skip "busybox not found; apt-get install busybox-static"
	sum=$(sha256sum "$bb" | cut -c1-16)
	tarball=$cache/busybox-$sum.tar
	start=$(date +%s)
	if [ ! -s "$tarball" ]; then
		root=$(mktemp -d)
		mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/proc" "$root/sys" "$root/dev"
		chmod 1777 "$root/tmp"
		cp "$bb" "$root/bin/busybox"
		for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
		echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
		tmp=$(mktemp "$cache/busybox.tar.XXXXXX")
		tar -C "$root" -cf "$tmp" . && chmod 644 "$tmp" && mv -f "$tmp" "$tarball"
		rm -rf "$root"
	fi
	docker import -c 'ENV PATH=/bin' -c 'WORKDIR /root' "$tarball" "$ref" >/dev/null
	log "busybox image $ref ready in $(( $(date +%s) - start )) s (cache $tarball)"
	;;
debian)
	ref=csdk-test/debian:bookworm
	have_image "$ref" && exit 0
	start=$(date +%s)
	debian_tarball
	exec 9>&-
	lock_engine
	have_image "$ref" && exit 0
	docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'WORKDIR /root' "$tarball" "$ref" >/dev/null
	log "debian image $ref ready in $(( $(date +%s) - start )) s (cache $tarball)"
	;;
tarball-debian)
	debian_tarball
	echo "$tarball"
	;;
*)
	echo "usage: images.sh busybox|debian|tarball-debian" >&2
	exit 2
	;;
esac

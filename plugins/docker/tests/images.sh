#!/bin/sh
# images.sh busybox|debian - make sure a test image exists in the engine at
# $DOCKER_HOST, built locally (never pulled). The root tarballs are cached in
# $CSDK_TEST_CACHE (default /var/cache/csdk-test) so later runs only import.
#   busybox: csdk-test/busybox:1, busybox-static with every applet linked
#   debian:  csdk-test/debian:bookworm, debootstrap minbase + python3 + nodejs
set -eu
cache=${CSDK_TEST_CACHE:-/var/cache/csdk-test}
mkdir -p "$cache"
log() { echo "images.sh: $*" >&2; }
# skip REASON: exit 77, or 99 when CSDK_TEST_REQUIRE_DOCKER=1 (CI)
skip() {
	log "$*"
	[ "${CSDK_TEST_REQUIRE_DOCKER:-}" = 1 ] && { log "CSDK_TEST_REQUIRE_DOCKER=1: the test images are required, failing"; exit 99; }
	exit 77
}
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

case ${1:-} in
busybox)
	ref=csdk-test/busybox:1
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
		tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
		rm -rf "$root"
	fi
	docker import -c 'ENV PATH=/bin' -c 'WORKDIR /root' "$tarball" "$ref" >/dev/null
	log "busybox image $ref ready in $(( $(date +%s) - start )) s (cache $tarball)"
	;;
debian)
	ref=csdk-test/debian:bookworm
	have_image "$ref" && exit 0
	tarball=$cache/debian-bookworm-minbase-python3-nodejs.tar
	start=$(date +%s)
	if [ ! -s "$tarball" ]; then
		command -v debootstrap >/dev/null || skip "debootstrap not found; apt-get install debootstrap"
		root=$(mktemp -d "$cache/root.XXXXXX")
		log "debootstrap bookworm into $root (a few minutes, once)"
		debootstrap --variant=minbase --include=python3,nodejs bookworm "$root" \
			"${CSDK_TEST_MIRROR:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1 ||
			{ rm -rf "$root"; skip "debootstrap failed, see $cache/debootstrap.log"; }
		rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
		tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
		rm -rf "$root"
	fi
	docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'WORKDIR /root' "$tarball" "$ref" >/dev/null
	log "debian image $ref ready in $(( $(date +%s) - start )) s (cache $tarball)"
	;;
*)
	echo "usage: images.sh busybox|debian" >&2
	exit 2
	;;
esac

#!/bin/sh
# images.sh busybox|debian|pause OUT.tar - a docker-archive tarball (one layer,
# a config, a manifest) around a local root filesystem, for `ctr images
# import`: no registry, no docker. Root tarballs are cached in
# $CSDK_TEST_CACHE (shared with plugins/docker/tests/images.sh's layout).
set -eu
cache=${CSDK_TEST_CACHE:-/var/cache/csdk}
kind=$1 out=$2
mkdir -p "$cache"
rootfs_busybox() {
	bb=$(command -v busybox) || { echo "images.sh: busybox not found; apt-get install busybox-static" >&2; exit 77; }
	sum=$(sha256sum "$bb" | cut -c1-16)
	t=$cache/busybox-$sum.tar
	if [ ! -s "$t" ]; then
		root=$(mktemp -d)
		mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/proc" "$root/sys" "$root/dev"
		chmod 1777 "$root/tmp"
		cp "$bb" "$root/bin/busybox"
		for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
		echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
		tar -C "$root" -cf "$t.tmp" . && mv "$t.tmp" "$t"
		rm -rf "$root"
	fi
	echo "$t"
}
rootfs_debian() {
	t=$cache/debian-bookworm-minbase-python3-nodejs.tar
	if [ ! -s "$t" ]; then
		command -v debootstrap >/dev/null || { echo "images.sh: debootstrap not found; apt-get install debootstrap" >&2; exit 77; }
		root=$(mktemp -d "$cache/root.XXXXXX")
		echo "images.sh: debootstrap bookworm into $root (a few minutes, once)" >&2
		debootstrap --variant=minbase --include=python3,nodejs bookworm "$root" \
			"${CSDK_TEST_MIRROR:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1 ||
			{ rm -rf "$root"; echo "images.sh: debootstrap failed, see $cache/debootstrap.log" >&2; exit 77; }
		rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
		tar -C "$root" -cf "$t.tmp" . && mv "$t.tmp" "$t"
		rm -rf "$root"
	fi
	echo "$t"
}
case $kind in
busybox) rootfs=$(rootfs_busybox) ref=local/busybox:1 path=/bin cmd='"sh"' ;;
pause) rootfs=$(rootfs_busybox) ref=local/pause:1 path=/bin cmd='"sleep","2147483647"' ;;
debian) rootfs=$(rootfs_debian) ref=local/debian:bookworm path=/usr/local/bin:/usr/bin:/bin cmd='"sh"' ;;
*) echo "usage: images.sh busybox|debian|pause OUT.tar" >&2; exit 2 ;;
esac
[ -s "$out" ] && [ "$out" -nt "$rootfs" ] && exit 0
mkdir -p "$(dirname "$out")"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
ln -s "$rootfs" "$d/layer.tar"
diff=$(sha256sum "$rootfs" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=%s"],"Cmd":[%s],"WorkingDir":"/root"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$path" "$cmd" "$diff" > "$d/config.json"
cfg=$(sha256sum "$d/config.json" | cut -d' ' -f1)
mv "$d/config.json" "$d/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$ref" > "$d/manifest.json"
tar -C "$d" -chf "$out.tmp" manifest.json "$cfg.json" layer.tar
mv "$out.tmp" "$out"

#!/bin/sh
# Build kube-apiserver and kubelet (and kubectl for the benchmark baseline)
# from Debian's kubernetes source package, once: the binaries are cached under
# $CSDK_K8S_CACHE/VERSION/ and reused by later runs and CI.
# Prints the directory holding the binaries on its last line.
set -eu
cache=${CSDK_K8S_CACHE:-/var/cache/csdk/k8s}
what=${CSDK_K8S_WHAT:-"cmd/kube-apiserver cmd/kubelet cmd/kubectl"}
work=$cache/work
mkdir -p "$work"
cd "$work"
# the version of the last look-up: a warm run needs no network
if [ -s version ] && [ "${CSDK_K8S_REFRESH:-}" != 1 ]; then
	have=1
	for b in $what; do [ -x "$cache/$(cat version)/$(basename "$b")" ] || have=0; done
	[ "$have" = 1 ] && { echo "$cache/$(cat version)"; exit 0; }
fi
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list)
echo "deb-src $mirror bookworm main" > src.list
mkdir -p lists/partial
apt-get -q -o Dir::Etc::sourcelist="$PWD/src.list" -o Dir::Etc::sourceparts=- \
	-o Dir::State::Lists="$PWD/lists" update >&2
version=$(apt-cache -o Dir::Etc::sourcelist="$PWD/src.list" -o Dir::Etc::sourceparts=- \
	-o Dir::State::Lists="$PWD/lists" showsrc kubernetes | sed -n 's/^Version: //p' | head -n 1)
[ -n "$version" ] || { echo "build-k8s: no kubernetes source package in $mirror" >&2; exit 1; }
out=$cache/$version
echo "$version" > version
have=1
for b in $what; do [ -x "$out/$(basename "$b")" ] || have=0; done
if [ "$have" = 1 ]; then echo "$out"; exit 0; fi
start=$(date +%s)
if ! ls kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
	apt-get -q -o Dir::Etc::sourcelist="$PWD/src.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$PWD/lists" source --download-only kubernetes >&2
fi
src=$work/src
if [ ! -d "$src/cmd" ]; then
	rm -rf "$src" && mkdir -p "$src"
	tar -xzf kubernetes_*.orig.tar.gz -C "$src" --strip-components=1
	# reflect2 1.0.1 + Go >= 1.18 faults at random in json-iterator: use Debian's 1.0.2
	r=$src/vendor/github.com/modern-go/reflect2
	rm -rf "$r" && mkdir -p "$r"
	cp -r /usr/share/gocode/src/github.com/modern-go/reflect2/. "$r/"
fi
cd "$src"
PATH=/usr/lib/go-1.19/bin:$PATH GOPROXY=off CGO_ENABLED=0 \
	GOCACHE=$work/gocache nice -n 19 make WHAT="$what" KUBE_GIT_VERSION=v1.20.2 >&2
mkdir -p "$out"
for b in $what; do cp "_output/local/bin/linux/amd64/$(basename "$b")" "$out/"; done
echo "$(( $(date +%s) - start ))" > "$out/build-seconds"
echo "build-k8s: built in $(cat "$out/build-seconds") s" >&2
echo "$out"

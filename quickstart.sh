#!/bin/sh
# Quick start, first command: install what is missing, build, install, and
# show csdk at work. Run as root on Debian 12 (or with sudo).
set -eu
cd "$(dirname "$0")"

packages="build-essential autoconf automake libtool pkg-config libltdl-dev
libcurl4-openssl-dev libjansson-dev libseccomp-dev libmicrohttpd-dev check bubblewrap slirp4netns python3 nodejs"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "quickstart: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null
fi

[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" >/dev/null
make install >/dev/null
ldconfig

echo "quickstart: installed csdk $(csdk --version | head -n 1 | sed 's/.* //')"
echo
csdk-plugins || true
echo

echo "\$ csdk create"
id=$(csdk create)
echo "$id"
echo "\$ csdk run-code $id 'import sys; print(\"Hello from Python\", sys.version.split()[0], 6 * 7)'"
csdk run-code "$id" 'import sys; print("Hello from Python", sys.version.split()[0], 6 * 7)'
echo "\$ csdk exec $id 'echo \"Hello from \$(uname -n), pid \$\$ in \$PWD\"'"
csdk exec "$id" 'echo "Hello from $(uname -n), pid $$ in $PWD"'
echo "\$ csdk destroy $id"
csdk destroy "$id"

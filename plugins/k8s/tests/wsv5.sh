#!/bin/sh
# test-wsv5 against the WebSocket test server (wsv5-server.js, npm ws
# installed once into $CSDK_NPM_CACHE). SKIP (77) without node or ws.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${builddir:-$here/..}/tests/test-wsv5
[ -x "$bin" ] || bin=$here/test-wsv5
cache=${CSDK_NPM_CACHE:-/var/cache/csdk/npm-ws}
command -v node >/dev/null || { echo "SKIP: node not found; apt-get install nodejs"; exit 77; }
if [ ! -d "$cache/node_modules/ws" ]; then
	mkdir -p "$cache" && (cd "$cache" && npm install --no-audit --no-fund ws@8 >/dev/null 2>&1) ||
		{ echo "SKIP: npm install ws failed (needs the npm registry once)"; exit 77; }
fi
out=$(mktemp)
NODE_PATH=$cache/node_modules node "$here/wsv5-server.js" > "$out" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
i=0; while [ ! -s "$out" ]; do i=$((i+1)); [ $i -gt 300 ] && { echo "the test server did not start within 30 s"; exit 99; }; sleep 0.1; done
"$bin" "$(head -n 1 "$out")"

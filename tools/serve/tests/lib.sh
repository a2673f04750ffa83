# Shared by the csdk serve tests: a real `csdk serve` on 127.0.0.1 (random
# port) over one provider in gateway mode, a configuration file with two
# tenants, and the e2b SDK. Sourced with SERVE_PROVIDER set (kitagent, or
# local/docker once they have gateway mode). Run from tools/ in the build tree.
builddir=${builddir:-.}
CSDK=${CSDK:-$builddir/csdk/csdk}
E2B_VERSION=2.51.0
NPM_CACHE=${CSDK_AGENT_NPM_CACHE:-/var/cache/csdk/npm}

fail() { echo "FAIL: $*"; [ -f "$T/log" ] && { echo "--- serve log (last 30 lines)"; tail -n 30 "$T/log"; }; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
unavailable() {
	if [ "${CSDK_TEST_REQUIRE_AGENT_SDK:-0}" = 1 ] || [ "${CSDK_TEST_REQUIRE_SERVE_SDK:-0}" = 1 ]; then
		fail "$* (the SDK is required: CSDK_TEST_REQUIRE_AGENT_SDK or CSDK_TEST_REQUIRE_SERVE_SDK is 1)"
	fi
	skip "$*"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/csdk-serve-test.XXXXXX") || exit 99
SERVE_PID=
cleanup() {
	[ -n "$SERVE_PID" ] && kill -KILL "$SERVE_PID" 2>/dev/null
	# Whatever a failed test left: destroy it, then remove the scratch directory.
	for id in $(serve_csdk --json list 2>/dev/null | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'); do
		serve_csdk destroy "$id" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/tmp" "$T/state"

SERVE_KEY="serve-test-key-$$-0123456789abcdef"
OTHER_KEY="serve-other-key-$$-0123456789abcdef"
cat >"$T/config" <<EOC
[serve]
api_key = $SERVE_KEY
tenants = other
api_key_other = $OTHER_KEY
templates = python = python:3.12-slim
# long enough that no kept-alive connection of the SDK meets the server closing it (a slow machine); the slow-client check waits for it
idle_timeout = 20
EOC
chmod 600 "$T/config"
CSDK_CONFIG=$T/config
unset CSDK_PROVIDER CSDK_SERVE_API_KEY E2B_API_KEY E2B_API_URL E2B_SANDBOX_URL E2B_DOMAIN E2B_DEBUG
export CSDK_CONFIG

case ${SERVE_PROVIDER:=kitagent} in
kitagent)
	CSDK_AGENT=${CSDK_AGENT:-$(cd "$builddir/../agent" 2>/dev/null && pwd)/csdk-agent}
	[ -x "$CSDK_AGENT" ] || skip "no csdk-agent binary at $CSDK_AGENT (build agent/ first)"
	CSDK_PLUGIN_PATH=$(cd "$builddir/conformance/tests/.libs" 2>/dev/null && pwd):$CSDK_PLUGIN_PATH
	[ -f "${CSDK_PLUGIN_PATH%%:*}/csdk-kitagent.so" ] || skip "csdk-kitagent.so is not built (make check builds it)"
	TMPDIR=$T/tmp
	export CSDK_AGENT CSDK_PLUGIN_PATH TMPDIR
	SERVE_PROVIDER_ARGS=
	;;
*)
	SERVE_PROVIDER_ARGS="--config mode=gateway"
	;;
esac

# csdk itself, on the same provider and configuration as the server.
serve_csdk() { "$CSDK" --provider "$SERVE_PROVIDER" $SERVE_PROVIDER_ARGS "$@"; }

# Start the server (extra arguments go to `csdk serve`); sets SERVE_URL and SERVE_PID.
serve_start() {
	: >"$T/out"
	# SERVE_WRAPPER: e.g. "libtool --mode=execute valgrind --error-exitcode=99" to check the server itself
	${SERVE_WRAPPER:-} "$CSDK" --provider "$SERVE_PROVIDER" $SERVE_PROVIDER_ARGS serve --listen 127.0.0.1:0 --state-dir "$T/state" "$@" \
		>"$T/out" 2>>"$T/log" &
	SERVE_PID=$!
	i=0
	while ! grep -q 'listening on' "$T/out" 2>/dev/null; do
		kill -0 "$SERVE_PID" 2>/dev/null || fail "csdk serve exited before listening"
		i=$((i + 1))
		[ "$i" -lt 1200 ] || fail "csdk serve did not listen within 120 s"
		sleep 0.1
	done
	SERVE_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/out")
	export SERVE_URL
}

# Stop it with SIGTERM and check that it exits 0.
serve_stop() {
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	rc=$?
	SERVE_PID=
	[ "$rc" -eq 0 ] || fail "csdk serve exited $rc on SIGTERM"
}

# The e2b SDK, pinned, installed once into the npm cache directory.
need_sdk() {
	command -v node >/dev/null 2>&1 || unavailable "node is not installed"
	command -v npm >/dev/null 2>&1 || unavailable "npm is not installed"
	pkg="$NPM_CACHE/node_modules/e2b/package.json"
	if ! grep -q "\"version\": \"$E2B_VERSION\"" "$pkg" 2>/dev/null; then
		echo "installing e2b@$E2B_VERSION into $NPM_CACHE"
		mkdir -p "$NPM_CACHE" || unavailable "cannot create $NPM_CACHE"
		npm install --prefix "$NPM_CACHE" --no-audit --no-fund --loglevel=error "e2b@$E2B_VERSION" >"$T/npm.log" 2>&1 ||
			unavailable "npm install e2b@$E2B_VERSION failed: $(tail -n 3 "$T/npm.log")"
	fi
	grep -q "\"version\": \"$E2B_VERSION\"" "$pkg" 2>/dev/null || unavailable "e2b@$E2B_VERSION is not in $NPM_CACHE"
	E2B_SDK_DIR=$NPM_CACHE/node_modules
	export E2B_SDK_DIR SERVE_KEY OTHER_KEY
}

# Run a node script of this directory against the server.
serve_node() {
	script=$1
	shift
	node "$SERVE_TESTS_DIR/$script" "$@"
}

# Sandboxes of the provider (bare ids), one per line.
provider_ids() { serve_csdk --json list | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'; }

SERVE_TESTS_DIR=$(cd "$(dirname "$0")" && pwd)

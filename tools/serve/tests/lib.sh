# Shared by the csdk serve tests: a real `csdk serve` on 127.0.0.1 (random
# port) over one provider in gateway mode, a configuration file with two
# tenants, and the e2b SDK. Sourced with SERVE_PROVIDER set (kitagent, local
# or docker). Run from tools/ in the build tree.
#   local:  the build tree's agent (CSDK_LOCAL_AGENT), bubblewrap required
#           (SKIP without a working bwrap), a scratch state directory.
#   docker: a private dockerd (plugins/docker/tests/engine.sh), or the shared
#           engine of CSDK_TEST_DOCKER_HOST (taken in turns: engine.sh
#           lock-path tests), the locally built csdk-test/debian:bookworm
#           image (images.sh), network none. SKIP (77) with the reason when no
#           engine can run; a failure when CSDK_TEST_REQUIRE_DOCKER=1.
builddir=${builddir:-.}
CSDK=${CSDK:-$builddir/csdk/csdk}
E2B_VERSION=2.51.0
NPM_CACHE=${CSDK_AGENT_NPM_CACHE:-/var/cache/csdk/npm}

# The whole serve log of a failed test is kept as serve/tests/NAME.serve-log (in the build tree).
fail() {
	echo "FAIL: $*"
	[ -f "$T/log" ] || exit 1
	cp "$T/log" "${builddir:-.}/serve/tests/$(basename "$0" .test).serve-log" 2>/dev/null &&
		echo "--- the whole serve log: ${builddir:-.}/serve/tests/$(basename "$0" .test).serve-log"
	echo "--- serve log (last 30 lines)"
	tail -n 30 "$T/log"
	exit 1
}
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
	[ -n "${ENGINE_STATE:-}" ] && { "$ENGINE" stop "$ENGINE_STATE"; rm -rf "$ENGINE_STATE"; }
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
local)
	CSDK_LOCAL_AGENT=${CSDK_LOCAL_AGENT:-$(cd "$builddir/../agent" 2>/dev/null && pwd)/csdk-agent}
	[ -x "$CSDK_LOCAL_AGENT" ] || skip "no csdk-agent binary at $CSDK_LOCAL_AGENT (build agent/ first)"
	bwrap --unshare-pid --ro-bind / / true 2>/dev/null || skip "bubblewrap does not work here"
	CSDK_LOCAL_STATE_DIR=$T/local
	export CSDK_LOCAL_AGENT CSDK_LOCAL_STATE_DIR
	unset CSDK_LOCAL_MODE CSDK_LOCAL_ISOLATION CSDK_LOCAL_NETWORK
	SERVE_PROVIDER_ARGS="--config mode=gateway --config isolation=bwrap"
	;;
docker)
	CSDK_DOCKER_AGENT=${CSDK_DOCKER_AGENT:-$(cd "$builddir/../agent" 2>/dev/null && pwd)/csdk-agent}
	[ -x "$CSDK_DOCKER_AGENT" ] || skip "no csdk-agent binary at $CSDK_DOCKER_AGENT (build agent/ first)"
	[ "${CSDK_TEST_ENGINE:-yes}" = no ] && skip "engine tests disabled (configure --disable-engine-tests)"
	# A sanitizer build links the agent dynamically: the image has none of its libraries.
	readelf -l "$CSDK_DOCKER_AGENT" 2>/dev/null | grep -q 'INTERP' &&
		skip "$CSDK_DOCKER_AGENT is not a static binary (a sanitizer or --disable-static-agent build); containers cannot run it"
	ENGINE=${top_srcdir:-..}/plugins/docker/tests/engine.sh
	IMAGES=${top_srcdir:-..}/plugins/docker/tests/images.sh
	if [ -n "${CSDK_TEST_DOCKER_HOST:-}" ]; then
		DOCKER_HOST=$CSDK_TEST_DOCKER_HOST
		export DOCKER_HOST
		lock=$("$ENGINE" lock-path tests)
		exec 8>>"$lock"
		flock -w 1800 8 || { echo "FAIL: could not lock $lock"; exit 99; }
	else
		ENGINE_STATE=$T/engine
		out=$("$ENGINE" start "$ENGINE_STATE")
		rc=$?
		if [ $rc -ne 0 ]; then
			ENGINE_STATE=
			[ $rc -eq 77 ] && skip "no Docker engine can run here (see above)"
			exit $rc
		fi
		DOCKER_HOST=${out#DOCKER_HOST=}
		export DOCKER_HOST
	fi
	"$IMAGES" debian
	rc=$?
	[ $rc -eq 77 ] && skip "the Debian test image cannot be built here (see above)"
	[ $rc -eq 0 ] || exit $rc
	CSDK_DOCKER_RUN_DIR=$T/agents
	CSDK_DOCKER_IMAGE=csdk-test/debian:bookworm
	CSDK_DOCKER_PYTHON_IMAGE=csdk-test/debian:bookworm
	CSDK_DOCKER_NODE_IMAGE=csdk-test/debian:bookworm
	export CSDK_DOCKER_AGENT CSDK_DOCKER_RUN_DIR CSDK_DOCKER_IMAGE CSDK_DOCKER_PYTHON_IMAGE CSDK_DOCKER_NODE_IMAGE
	unset CSDK_DOCKER_MODE CSDK_DOCKER_NETWORK CSDK_DOCKER_PULL
	SERVE_PROVIDER_ARGS="--config mode=gateway --config network=none"
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

# Whether the provider declares capability $1 (csdk-plugins' table): yes or no.
provider_has() {
	case ,$("${CSDK_PLUGINS_TOOL:-$builddir/csdk-plugins}" | awk -v p="$SERVE_PROVIDER" '$1 == p { print $5 }'), in
	*,"$1",*) echo yes ;;
	*) echo no ;;
	esac
}

# Sandboxes of the provider (bare ids), one per line.
provider_ids() { serve_csdk --json list | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'; }

SERVE_TESTS_DIR=$(cd "$(dirname "$0")" && pwd)

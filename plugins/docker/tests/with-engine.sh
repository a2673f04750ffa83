#!/bin/sh
# with-engine.sh COMMAND [ARG]... - run COMMAND (a make check, a test
# script) with one private Docker engine for every engine test under it,
# instead of one engine per test: starts it (engine.sh), imports the test
# images into it once (images.sh, from the tarball cache), runs COMMAND with
# CSDK_TEST_DOCKER_HOST naming it, stops the engine and exits with COMMAND's
# status. The engine tests honour CSDK_TEST_DOCKER_HOST and take turns on
# the engine (engine.sh lock-path tests).
#
# COMMAND runs as is, without an engine of ours, when CSDK_TEST_DOCKER_HOST
# is already set (an engine shared from further up, as .ci/run does), when
# CSDK_TEST_ENGINE=no, or when no engine can start here: the engine tests
# then start their own, or SKIP or fail as they would alone.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${CSDK_TEST_DOCKER_HOST:-}" ] || [ "${CSDK_TEST_ENGINE:-yes}" = no ]; then
	exec "$@"
fi
state=$(mktemp -d "${TMPDIR:-/tmp}/csdk-engine.XXXXXX") || exec "$@"
if ! out=$(CSDK_TEST_REQUIRE_DOCKER=0 "$here/engine.sh" start "$state"); then
	rmdir "$state" 2>/dev/null || rm -rf "$state"
	echo "with-engine.sh: no shared Docker engine; the engine tests will try on their own" >&2
	exec "$@"
fi
stop() {
	"$here/engine.sh" stop "$state"
	rm -rf "$state"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
CSDK_TEST_DOCKER_HOST=${out#DOCKER_HOST=}
export CSDK_TEST_DOCKER_HOST
# Failures here are the tests' to report: they run images.sh again.
DOCKER_HOST=$CSDK_TEST_DOCKER_HOST "$here/images.sh" busybox || true
if [ "${CSDK_TEST_NO_DEBIAN:-}" != 1 ]; then
	DOCKER_HOST=$CSDK_TEST_DOCKER_HOST "$here/images.sh" debian || true
fi
"$@"
rc=$?
trap - INT TERM
stop
exit $rc

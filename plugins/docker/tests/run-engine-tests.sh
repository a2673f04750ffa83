#!/bin/sh
# run-engine-tests.sh - start a private dockerd (engine.sh), build the test
# images (images.sh, cached), run test-engine against it, stop the engine.
# Without an engine, test-engine still runs its cases that need none (a dead
# socket, a server that is not an engine) and then exits 77 (SKIP) saying
# why; with CSDK_TEST_REQUIRE_DOCKER=1 (CI) a missing engine or test image
# is a failure instead.
#
# CSDK_TEST_DOCKER_HOST=unix:///... uses an engine that is already running
# (tests/run.sh and .ci/run start one for every engine test, with
# with-engine.sh); the tests sharing it take turns (engine.sh lock-path).
# CSDK_TEST_ENGINE=no (configure --disable-engine-tests, which make distcheck
# uses) runs only the cases that need no engine and SKIPs the rest, also
# when CSDK_TEST_REQUIRE_DOCKER=1: a deliberate skip, not a missing engine.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${builddir:-.}
state=$(cd "$build" && pwd)/tests/engine-state
started=0
if [ "${CSDK_TEST_ENGINE:-yes}" = no ]; then
	unset DOCKER_HOST CSDK_TEST_REQUIRE_DOCKER
	echo "run-engine-tests.sh: engine tests disabled (configure --disable-engine-tests); only the cases that need no engine will run" >&2
	exec "$build/tests/test-engine"
fi
if [ -n "${CSDK_TEST_DOCKER_HOST:-}" ]; then
	DOCKER_HOST=$CSDK_TEST_DOCKER_HOST
	export DOCKER_HOST
	lock=$("$here/engine.sh" lock-path tests)
	exec 8>>"$lock"
	flock -w 1800 8 || { echo "run-engine-tests.sh: could not lock $lock" >&2; exit 99; }
else
	out=$("$here/engine.sh" start "$state") ; rc=$?
	case $rc in
	0) DOCKER_HOST=${out#DOCKER_HOST=}; export DOCKER_HOST; started=1 ;;
	77) unset DOCKER_HOST
	    echo "run-engine-tests.sh: no Docker engine; only the cases that need none will run" >&2
	    exec "$build/tests/test-engine" ;;
	*) exit "$rc" ;;
	esac
fi
trap '[ $started = 1 ] && "$here/engine.sh" stop "$state"' EXIT INT TERM
"$here/images.sh" busybox || exit $?
CSDK_TEST_DEBIAN_IMAGE=
if [ "${CSDK_TEST_NO_DEBIAN:-}" != 1 ]; then
	"$here/images.sh" debian; rc=$?
	case $rc in
	0) CSDK_TEST_DEBIAN_IMAGE=csdk-test/debian:bookworm ;;
	77) echo "run-engine-tests.sh: no Debian image; the run_code cases will be skipped" >&2 ;;
	*) exit "$rc" ;;
	esac
fi
export CSDK_TEST_DEBIAN_IMAGE
"$build/tests/test-engine"

#!/bin/sh
# run-engine-tests.sh - start a private dockerd (engine.sh), build the test
# images (images.sh, cached), run test-engine against it, stop the engine.
# Exit 77 (SKIP) with the reason when no engine can be started.
# CSDK_TEST_DOCKER_HOST=unix:///... uses an engine that is already running.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${builddir:-.}
state=$(cd "$build" && pwd)/tests/engine-state
started=0
if [ -n "${CSDK_TEST_DOCKER_HOST:-}" ]; then
	DOCKER_HOST=$CSDK_TEST_DOCKER_HOST
else
	out=$("$here/engine.sh" start "$state") ; rc=$?
	if [ $rc -ne 0 ]; then
		[ $rc -eq 77 ] && echo "SKIP: no Docker engine for the docker plugin tests (see above)"
		exit $rc
	fi
	DOCKER_HOST=${out#DOCKER_HOST=}
	started=1
fi
export DOCKER_HOST
trap '[ $started = 1 ] && "$here/engine.sh" stop "$state"' EXIT INT TERM
"$here/images.sh" busybox || exit $?
CSDK_TEST_DEBIAN_IMAGE=
if [ "${CSDK_TEST_NO_DEBIAN:-}" != 1 ] && "$here/images.sh" debian; then
	CSDK_TEST_DEBIAN_IMAGE=csdk-test/debian:bookworm
else
	echo "run-engine-tests.sh: no Debian image; the run_code cases will be skipped" >&2
fi
export CSDK_TEST_DEBIAN_IMAGE
"$build/tests/test-engine"

#!/bin/sh
# Quick start, second command: build if needed and run the whole test suite.
# Prints each suite's Check summary and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1

[ -x configure ] || ./autogen.sh >/dev/null || exit 1
[ -f Makefile ] || ./configure --quiet --enable-werror || exit 1
make -j"$(nproc)" >/dev/null || exit 1
# The suites mostly wait (on sandboxes, containers, the SDK's clients), not
# compute: three times as many at once as there are cores (CSDK_TEST_JOBS to change).
jobs=${CSDK_TEST_JOBS:-$(($(nproc) * 3))}
# results of this run only: none left by an earlier run or a failed distcheck
find . -path './csdk-*' -prune -o -name '*.trs' -exec rm -f {} +
# one Docker engine for the engine tests of this run (with-engine.sh); the
# test directories run side by side (Makefile.am: check-suites)
plugins/docker/tests/with-engine.sh make -k -j"$jobs" check >tests/run.log 2>&1
status=$?

passed=0
failed=0
skipped=0
for trs in $(find . -path './csdk-*' -prune -o -name '*.trs' -print | sort); do
	log=${trs%.trs}.log
	name=${trs#./}
	name=${name%.trs}
	result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
	summary=$(grep -E '^[0-9]+%: Checks: ' "$log" 2>/dev/null | tail -n 1)
	printf '%-6s %s%s\n' "$result" "$name" "${summary:+  ($summary)}"
	case $result in
	PASS|XFAIL) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1))
	   echo "--- $log: its failure lines, then its last 30 lines"
	   grep -E '^not ok|^FAIL|:[EF]:|ERROR: |Sanitizer|runtime error:|Assertion|[Ff]ailed: ' "$log" | head -n 20 | sed 's/^/! /'
	   tail -n 30 "$log" ;;
	esac
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "make check failed before running the tests:"
	tail -n 40 tests/run.log
	failed=1
fi
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

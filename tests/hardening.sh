#!/bin/sh
# tests/hardening.sh [SRCDIR] - the sanitizer, valgrind and ThreadSanitizer
# passes over a csdk source tree (default: the tree holding this script).
#
# Each pass builds out of tree below $CSDK_HARDENING_DIR (default
# ${TMPDIR:-/tmp}/csdk-hardening), prints one line
#   hardening: NAME: N passed, M failed
# and the script ends with the total line "N passed, M failed" over its
# passes, exiting 1 when any pass failed. Logs stay in the work directory.
#
#   asan+ubsan make check  --enable-sanitizers=address,undefined; the whole
#                          make check with LeakSanitizer on
#   valgrind memcheck      the loader and API suites of an unsanitized build
#                          under memcheck: no errors, no definite leaks
#   tsan threads           tests/hardening-threads.c against a
#                          --enable-sanitizers=thread build: no reports
#
# No --enable-werror here: warnings are the main build's business, and the
# sanitizers change what the compiler can prove (false -Wformat-truncation).
#
# Needs gcc (or $CC), clang for TSan ($TSAN_CC, default clang), valgrind,
# check, bubblewrap. HARDENING_JOBS (default 2) is passed to make -j for the
# builds and valgrind; the sanitizer pass's make check, whose suites mostly
# wait, runs HARDENING_CHECK_JOBS (default twice that) at once.
# HARDENING_PASSES (default "asan valgrind tsan") picks passes (asan-build,
# below, builds ahead for a later asan pass).
set -u

src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
src=$(cd "$src" && pwd) || { echo "hardening: no source tree at $1" >&2; exit 2; }
work=${CSDK_HARDENING_DIR:-${TMPDIR:-/tmp}/csdk-hardening}
jobs=${HARDENING_JOBS:-2}
check_jobs=${HARDENING_CHECK_JOBS:-$((jobs * 2))}
tsan_cc=${TSAN_CC:-clang}
passes_ok=0
passes_failed=0
summary=

if [ ! -x "$src/configure" ]; then
	echo "hardening: $src/configure is missing; run ./autogen.sh there first" >&2
	exit 2
fi
mkdir -p "$work" || exit 2

# record NAME PASSED FAILED [NOTE]: one summary line per pass.
record() {
	line="hardening: $1: $2 passed, $3 failed${4:+ ($4)}"
	echo "$line"
	summary="$summary$line
"
	if [ "$3" -eq 0 ] && [ "$2" -gt 0 ]; then
		passes_ok=$((passes_ok + 1))
	else
		passes_failed=$((passes_failed + 1))
	fi
}

# build DIR LOG CONFIGURE-ARGS...: a fresh out-of-tree build; 0 when it built.
build() {
	dir=$1
	log=$2
	shift 2
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && "$src/configure" "$@" && make -j"$jobs") >"$log" 2>&1
}

# show_failed DIR [TEST...]: the last lines of the log of each test under DIR
# (or of the TESTs in DIR) that did not pass, so that a CI run's output says
# why without its work directory.
failure_lines='^not ok|^FAIL|:[EF]:|ERROR: |Sanitizer|runtime error:|Assertion|[Ff]ailed: '
show_failed() {
	d=$1
	shift
	# shellcheck disable=SC2046 # build-tree paths, no blanks in them
	if [ $# -eq 0 ]; then
		set -- $(find "$d" -name '*.trs' | sort)
	else
		set -- $(for t in "$@"; do echo "$d/$t.trs"; done)
	fi
	for trs in "$@"; do
		grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs" 2>/dev/null || continue
		log=${trs%.trs}.log
		echo "hardening:   --- $log: its failure lines, then its last 30 lines"
		grep -E "$failure_lines" "$log" | head -n 20 | sed 's/^/hardening:   ! /'
		tail -n 30 "$log" | sed 's/^/hardening:   | /'
	done
}

# Sum the "# PASS:" and "# FAIL:"/"# ERROR:"/"# XPASS:" lines of automake's
# summaries in a make check log.
count_tests() {
	awk '/^# PASS:/ { p += $3 } /^# (FAIL|ERROR|XPASS):/ { f += $3 } END { print p + 0, f + 0 }' "$1"
}

elapsed() {
	echo "$(($(date +%s) - $1))s"
}

# ------------------------------------------------------- asan + ubsan
#
# detect_leaks=1: LeakSanitizer runs at exit of every test process, including
# Check's forked test children (CK_FORK stays on, so a leak fails the test it
# belongs to). Plugins are dlopen()ed and never unloaded, which LSan does not
# mind. Children that end with _exit() (isolated plugin probes, the spawn
# paths of the local provider) skip the leak check by design: they exit
# without freeing the parent's heap. Commands run by the local provider under
# bubblewrap are not instrumented; only the host process and the plugins it
# loads carry the runtimes, so ASAN_OPTIONS in their environment is inert.
# abort_on_error=0 keeps the exit status (1) that the test harness reports.
# handle_segv=0 (and sigbus, sigfpe): the crash fixtures and hostile plugins
# crash on purpose and the suites expect the process or probe to die by that
# signal; with ASan's handler it would exit 1 instead. A real crash still
# fails its test, without ASan's stack. No strict_string_checks: it flags
# strndup(buf, len) on unterminated buffers, which is valid C.
asan() {
	start=$(date +%s)
	dir=$work/asan
	if [ "$(cat "$work/asan-prebuilt" 2>/dev/null)" = "$src" ]; then
		# built ahead by asan-build: make brings it up to date
		rm -f "$work/asan-prebuilt"
		if ! (cd "$dir" && make -j"$jobs") >>"$work/asan-build.log" 2>&1; then
			record "asan+ubsan make check" 0 1 "build failed, see $work/asan-build.log"
			return
		fi
	elif ! build "$dir" "$work/asan-build.log" --enable-sanitizers=address,undefined; then
		record "asan+ubsan make check" 0 1 "build failed, see $work/asan-build.log"
		return
	fi
	(cd "$dir" &&
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:detect_stack_use_after_return=1:check_initialization_order=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		LSAN_OPTIONS=report_objects=1 \
		"$src/plugins/docker/tests/with-engine.sh" make -j"$check_jobs" -k check) >"$work/asan-check.log" 2>&1
	rc=$?
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(count_tests "$work/asan-check.log")
	pass=$1
	fail=$2
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	if [ "$fail" -ne 0 ]; then
		grep -E '^(FAIL|ERROR|XPASS):' "$work/asan-check.log" | sed 's/^/hardening:   /'
		show_failed "$dir"
		echo "hardening:   logs: $dir/**/test-suite.log, $work/asan-check.log"
	fi
	record "asan+ubsan make check" "$pass" "$fail" "$(elapsed "$start")"
}

# asan-build: the sanitizer build and its check programs (make check TESTS=),
# ahead of an asan pass in a later run of this script with the same source
# and work directory, which then only brings the tree up to date (.ci/run
# builds beside the main suite this way). Records no pass: a failed build is
# built again, and reported, by the asan pass.
asan_build() {
	dir=$work/asan
	rm -f "$work/asan-prebuilt"
	if build "$dir" "$work/asan-build.log" --enable-sanitizers=address,undefined &&
		(cd "$dir" && make -j"$jobs" check TESTS=) >>"$work/asan-build.log" 2>&1; then
		echo "$src" >"$work/asan-prebuilt"
	fi
}

# ----------------------------------------------------------- valgrind
#
# The loader and API Check suites (not the local provider: it uses openat2
# and pidfd_open, which valgrind 3.19 does not know). CK_FORK=no keeps each
# suite in one process so memcheck sees every test. Child processes forked
# by the host for isolated scans are followed (--child-silent-after-fork
# keeps their exit-time reports of the parent's heap out of the way).
# HARDENING_VALGRIND_TREE: an unsanitized build tree that is there already
# (.ci/run: the checkout tests/run.sh built), used instead of a build of its
# own; those four suites' logs there are then valgrind's.
valgrind_pass() {
	start=$(date +%s)
	dir=${HARDENING_VALGRIND_TREE:-$work/valgrind}
	if [ -n "${HARDENING_VALGRIND_TREE:-}" ]; then
		if [ ! -f "$dir/tests/Makefile" ] || [ ! -x "$dir/libtool" ] || grep -q '^SAN_CFLAGS = .*-fsanitize' "$dir/tests/Makefile"; then
			record "valgrind memcheck" 0 1 "HARDENING_VALGRIND_TREE=$dir is not a configured, unsanitized build tree"
			return
		fi
	elif ! build "$dir" "$work/valgrind-build.log"; then
		record "valgrind memcheck" 0 1 "build failed, see $work/valgrind-build.log"
		return
	fi
	suites=
	for t in test-loader test-lint test-abi test-api; do
		[ -f "$src/tests/$t.c" ] && suites="$suites $t"
	done
	vg="$dir/libtool --mode=execute valgrind --error-exitcode=1 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite --child-silent-after-fork=yes \
--track-fds=no --num-callers=30 --quiet"
	(cd "$dir/tests" && CK_FORK=no CK_DEFAULT_TIMEOUT=600 \
		make -j"$jobs" -k check TESTS="$suites" LOG_COMPILER="$vg") >"$work/valgrind-check.log" 2>&1
	rc=$?
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(count_tests "$work/valgrind-check.log")
	pass=$1
	fail=$2
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	if [ "$fail" -ne 0 ]; then
		grep -E '^(FAIL|ERROR):' "$work/valgrind-check.log" | sed 's/^/hardening:   /'
		# shellcheck disable=SC2086 # a list of names, split on purpose
		show_failed "$dir/tests" $suites
		echo "hardening:   logs: $dir/tests/test-*.log"
	fi
	record "valgrind memcheck" "$pass" "$fail" "$(elapsed "$start")"
}

# --------------------------------------------------------------- tsan
#
# Only what the threads program needs is built: libcsdk and the local and
# example plugins, all with -fsanitize=thread. halt_on_error makes the first
# report fail the run; die_after_fork=0 because the local provider forks from
# a threaded process and the child only execs.
tsan() {
	start=$(date +%s)
	dir=$work/tsan
	log=$work/tsan.log
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! command -v "$tsan_cc" >/dev/null 2>&1; then
		record "tsan threads" 0 1 "$tsan_cc not found; install clang or set TSAN_CC"
		return
	fi
	if ! (cd "$dir" && "$src/configure" --enable-sanitizers=thread CC="$tsan_cc" &&
		make -j"$jobs" -C plugin-api && make -j"$jobs" -C lib/util && make -j"$jobs" -C lib/envd &&
		make -j"$jobs" -C host &&
		make -j"$jobs" -C plugins/common && make -j"$jobs" -C plugins/local && make -j"$jobs" -C plugins/example &&
		./libtool --mode=link "$tsan_cc" -fsanitize=thread -fno-omit-frame-pointer -g -O1 -pthread \
			-I. -I"$src/host" -I"$src/plugin-api" -o hardening-threads \
			"$src/tests/hardening-threads.c" host/libcsdk.la) >"$log" 2>&1; then
		record "tsan threads" 0 1 "build failed, see $log"
		return
	fi
	mkdir -p "$dir/state"
	if (cd "$dir" &&
		TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 die_after_fork=0" \
		CSDK_HARDENING_PATH="$dir/plugins/local/.libs:$dir/plugins/example/.libs" \
		CSDK_HARDENING_STATE="$dir/state" \
		./libtool --mode=execute ./hardening-threads) >>"$log" 2>&1 &&
		! grep -q 'WARNING: ThreadSanitizer' "$log"; then
		record "tsan threads" 1 0 "$(elapsed "$start")"
	else
		grep -A12 'WARNING: ThreadSanitizer\|hardening-threads:' "$log" | head -40 | sed 's/^/hardening:   /'
		record "tsan threads" 0 1 "see $log"
	fi
}

echo "hardening: source $src, work directory $work, make -j$jobs (make check -j$check_jobs)"
for pass in ${HARDENING_PASSES:-asan valgrind tsan}; do
	case $pass in
	asan) asan ;;
	asan-build) asan_build ;;
	valgrind) valgrind_pass ;;
	tsan) tsan ;;
	*) record "$pass" 0 1 "unknown pass; use asan, asan-build, valgrind or tsan" ;;
	esac
done
printf '%s' "$summary" >"$work/summary.txt"
echo "$passes_ok passed, $passes_failed failed"
[ "$passes_failed" -eq 0 ]

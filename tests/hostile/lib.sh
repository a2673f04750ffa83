# Shared by the hostile scripts (POSIX sh): run a tool with a watchdog,
# keep its output in files, and count failed checks.

: "${HOSTILE_PLUGINS:?run with make check}" "${HOSTILE_TMPDIR:?}" "${CSDK_TOOL:?}" "${CSDK_PLUGINS_TOOL:?}"

failures=0
checks=0

# The time one tool run may take before the script kills it (exit 124).
WATCHDOG=60

pass() { checks=$((checks + 1)); echo "ok - $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL - $1"; }

# run NAME COMMAND...: stdout, stderr and the exit status go to $OUT/NAME.{out,err,status}.
run() {
	name=$1
	shift
	timeout -k 5 "$WATCHDOG" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	status=$?
	echo "$status" >"$OUT/$name.status"
	return 0
}

# expect_status NAME N: the run ended with status N.
expect_status() {
	got=$(cat "$OUT/$1.status")
	if [ "$got" = "$2" ]; then
		pass "$1: exit status $2"
	else
		fail "$1: exit status $got, expected $2 (stderr: $(head -c 300 "$OUT/$1.err"))"
	fi
}

# expect_line NAME out|err LINE: the stream holds exactly this line.
expect_line() {
	if grep -qxF -- "$3" "$OUT/$1.$2"; then
		pass "$1: $2 has '$3'"
	else
		fail "$1: $2 lacks the line '$3'; it is: $(head -c 600 "$OUT/$1.$2")"
	fi
}

# expect_match NAME out|err ERE: some line of the stream matches the extended regex.
expect_match() {
	if grep -qE -- "$3" "$OUT/$1.$2"; then
		pass "$1: $2 matches /$3/"
	else
		fail "$1: $2 has no line matching /$3/; it is: $(head -c 600 "$OUT/$1.$2")"
	fi
}

# expect_no NAME out|err STRING: the stream does not contain STRING.
expect_no() {
	if grep -qF -- "$3" "$OUT/$1.$2"; then
		fail "$1: $2 contains '$3': $(grep -F -- "$3" "$OUT/$1.$2" | head -3)"
	else
		pass "$1: $2 has no '$3'"
	fi
}

# expect_count NAME out|err ERE N: exactly N lines match.
expect_count() {
	got=$(grep -cE -- "$3" "$OUT/$1.$2")
	if [ "$got" = "$4" ]; then
		pass "$1: $4 lines match /$3/"
	else
		fail "$1: $got lines match /$3/, expected $4; output: $(head -c 600 "$OUT/$1.$2")"
	fi
}

finish() {
	echo "$checks checks, $failures failed (outputs in $OUT)"
	[ "$failures" -eq 0 ]
	exit $?
}

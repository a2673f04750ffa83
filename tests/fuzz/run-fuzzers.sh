#!/bin/sh
# Run each fuzzer-NAME of the current directory for FUZZ_SECONDS on a working
# corpus (fuzz-corpus/NAME, seeded from SRCDIR/corpus/NAME); a crash leaves its
# input in fuzz-artifacts/NAME/. Paths are absolute: fuzz-tar changes directory.
# Usage: run-fuzzers.sh SRCDIR NAME...
srcdir=$(cd "$1" && pwd)
here=$(pwd)
shift
seconds=${FUZZ_SECONDS:-60}
failed=
for t in "$@"; do
	case $t in
	tar) opts='-max_len=16384' ;;
	validate) opts='-max_len=2048' ;;
	*) opts='-max_len=4096' ;;
	esac
	mkdir -p "fuzz-corpus/$t" "fuzz-artifacts/$t"
	echo "fuzz: $t for ${seconds}s"
	if ./fuzzer-"$t" -max_total_time="$seconds" -print_final_stats=1 $opts \
		-artifact_prefix="$here/fuzz-artifacts/$t/" "$here/fuzz-corpus/$t" "$srcdir/corpus/$t" \
		>"fuzz-$t.log" 2>&1; then
		grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "fuzz-$t.log" | sed "s/^/fuzz: $t: /"
	else
		tail -n 40 "fuzz-$t.log"
		echo "fuzz: $t FAILED: input in fuzz-artifacts/$t/ (copy it to $srcdir/regressions/$t/)"
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	exit 1
fi
echo "fuzz: all passed"

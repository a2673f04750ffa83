#!/bin/sh
# Quick test of `csdk bench`: a tiny tti run with the spawn baseline, its
# JSON and SVG outputs, and the errors of bad input. No timing is asserted.
# Environment (from make check): CSDK, CSDK_PLUGIN_PATH.

: "${CSDK:?CSDK must name the csdk program}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/csdk-bench-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
CSDK_LOCAL_STATE_DIR=$tmp/state
export CSDK_LOCAL_STATE_DIR
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }

# expect_error NAME STATUS MESSAGE ARGS...: exactly one stderr line, that one, and that status.
expect_error() {
	name=$1 want_status=$2 want_msg=$3
	shift 3
	"$CSDK" "$@" > "$tmp/out" 2> "$tmp/err"
	status=$?
	if [ "$status" -eq "$want_status" ] && [ "$(cat "$tmp/err")" = "$want_msg" ]; then
		ok "$name"
	else
		not_ok "$name (status $status, stderr: $(cat "$tmp/err"))"
	fi
}

if "$CSDK" bench tti --provider local -n 3 --baseline spawn \
	--json "$tmp/r.json" --svg "$tmp/r.svg" > "$tmp/summary" 2> "$tmp/err"; then
	ok "bench tti runs"
else
	not_ok "bench tti runs (status $?, stderr: $(cat "$tmp/err"))"
fi

if grep -q '^  local  *provider  *sequential  *3/3 ' "$tmp/summary" &&
	grep -q '^  spawn  *baseline  *sequential  *3/3 ' "$tmp/summary" &&
	grep -q '^  local / spawn, sequential: median [0-9.]*x' "$tmp/summary"; then
	ok "summary has both rows, all successful, and the ratio"
else
	not_ok "summary: $(cat "$tmp/summary")"
fi

if python3 - "$tmp/r.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["rows"]
assert [(r["name"], r["kind"], r["mode"]) for r in rows] == [
    ("local", "provider", "sequential"), ("spawn", "baseline", "sequential")], rows
for r in rows:
    assert len(r["iterations"]) == 3, r["name"]
    assert all(i["ok"] and i["exit_code"] == 0 and i["tti_ms"] > 0 for i in r["iterations"]), r
    s = r["stats"]
    assert s["successes"] == 3 and s["success_rate"] == 1.0
    assert s["min_ms"] <= s["median_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"]
    assert 0 < s["score"] <= 100
assert "spawn" in rows[0]["ratios"]
env = d["environment"]
assert env["cores"] >= 1 and env["kernel"] and env["csdk_version"]
assert d["configuration"]["iterations"] == 3 and d["configuration"]["command"] == "node -v" and d["configuration"]["interleave"] is False
assert d["versions"]["local"] and d["versions"]["csdk"]
PY
then
	ok "JSON parses with 3 records per row"
else
	not_ok "JSON results"
fi

if python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg"
texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
assert "local" in texts and "spawn (baseline)" in texts and "sequential" in texts, texts
' "$tmp/r.svg"; then
	ok "SVG is well-formed and names the rows"
else
	not_ok "SVG chart"
fi

# The list of available providers depends on the plugin path; the rest is exact.
"$CSDK" bench tti --provider nosuch -n 1 > "$tmp/out" 2> "$tmp/err"
status=$?
if [ "$status" -eq 1 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] &&
	grep -q "^csdk: unknown provider 'nosuch' (available: [a-z0-9, -]*local[a-z0-9, -]*); run 'csdk-plugins --paths' to see where plugins are searched\$" "$tmp/err"; then
	ok "unknown provider"
else
	not_ok "unknown provider (status $status, stderr: $(cat "$tmp/err"))"
fi
expect_error "zero iterations" 2 \
	"csdk: bench: -n needs a whole number of at least 1, not '0'; run 'csdk bench --help' for usage" \
	bench tti -n 0
expect_error "negative iterations" 2 \
	"csdk: bench: -n needs a whole number of at least 1, not '-3'; run 'csdk bench --help' for usage" \
	bench tti -n -3
expect_error "zero handles" 2 \
	"csdk: bench: --handles needs a whole number of at least 1, not '0'; run 'csdk bench --help' for usage" \
	bench micro --handles 0
expect_error "unwritable JSON path" 1 \
	"csdk: bench: cannot write the --json file '$tmp/missing/r.json': No such file or directory; choose a writable path" \
	bench tti -n 1 --json "$tmp/missing/r.json"
expect_error "unwritable SVG path" 1 \
	"csdk: bench: cannot write the --svg file '$tmp/missing/r.svg': No such file or directory; choose a writable path" \
	bench tti -n 1 --svg "$tmp/missing/r.svg"
expect_error "unknown mode" 2 \
	"csdk: bench: unknown mode 'fast' (use sequential, staggered, burst or all; or direct or gateway); run 'csdk bench --help' for usage" \
	bench tti --mode fast
expect_error "docker-cli needs an image" 2 \
	"csdk: bench: --baseline docker-cli needs --image IMAGE (an image that has the command); run 'csdk bench --help' for usage" \
	bench tti --baseline docker-cli

expect_error "bench cmd baselines" 2 \
	"csdk: bench: bench cmd has the spawn baseline only, not 'bwrap'; run 'csdk bench --help' for usage" \
	bench cmd --baseline bwrap
expect_error "bench cmd options" 2 \
	"csdk: bench: bench cmd takes --provider, --mode direct|gateway, -n, --command, --baseline spawn and --json only; run 'csdk bench --help' for usage" \
	bench cmd --mode burst

# bench cmd: one sandbox per row, the spawn row always, ratios of medians;
# gateway mode with the build tree's agent when there is one.
modes="--mode direct"
agent=$(cd "${builddir:-.}/../agent" 2>/dev/null && pwd)/csdk-agent
if [ -x "$agent" ]; then
	CSDK_LOCAL_AGENT=$agent
	export CSDK_LOCAL_AGENT
	modes="--mode direct --mode gateway"
fi
if "$CSDK" bench cmd --provider local $modes -n 3 --json "$tmp/c.json" > "$tmp/summary" 2> "$tmp/err" &&
	grep -q '^  local (direct)  *provider  *3/3 ' "$tmp/summary" &&
	grep -q '^  spawn  *baseline  *3/3 ' "$tmp/summary" &&
	grep -q '^  local (direct) / spawn: [0-9.]*x$' "$tmp/summary" &&
	{ [ ! -x "$agent" ] || { grep -q '^  local (gateway)  *provider  *3/3 ' "$tmp/summary" &&
		grep -q '^  local (gateway) / local (direct): [0-9.]*x$' "$tmp/summary"; }; } &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["benchmark"]=="csdk bench cmd" and d["configuration"]["command"]=="echo hi" and all(r["ok"]==3 and r["error"] is None for r in d["rows"]), d' "$tmp/c.json"; then
	ok "bench cmd runs ($modes)"
else
	not_ok "bench cmd: $(cat "$tmp/summary" "$tmp/err")"
fi

# A failing iteration is counted, never fatal.
if "$CSDK" bench tti -n 2 --command 'exit 3' --json "$tmp/f.json" > "$tmp/summary" 2> "$tmp/err" &&
	grep -q '^  local  *provider  *sequential  *0/2 ' "$tmp/summary" &&
	grep -q "^csdk: bench: local sequential: 2 of 2 iterations failed; first: command exited with status 3$" "$tmp/err" &&
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"][0]; assert r["stats"]["success_rate"]==0 and [i["exit_code"] for i in r["iterations"]]==[3,3]' "$tmp/f.json"; then
	ok "failing iterations are counted"
else
	not_ok "failing iterations: $(cat "$tmp/summary" "$tmp/err")"
fi

# --interleave: iteration j of every row, in row order, then j + 1; start_ms
# counts from the first round, wall_ms is the sum of a row's own iterations.
if "$CSDK" bench tti --provider example --baseline spawn --interleave -n 3 --command true \
	--json "$tmp/i.json" > "$tmp/summary" 2> "$tmp/err" &&
	grep -q '^Time to interactive in ms (5% of successes trimmed at each end; sequential rows interleaved):$' "$tmp/summary" &&
	grep -q '^  example  *provider  *sequential  *3/3 ' "$tmp/summary" &&
	grep -q '^  spawn  *baseline  *sequential  *3/3 ' "$tmp/summary" &&
	grep -q '^  example / spawn, sequential: median [0-9.]*x, P95 [0-9.]*x, P99 [0-9.]*x$' "$tmp/summary" &&
	python3 - "$tmp/i.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a, b = d["rows"]
assert (a["name"], b["name"]) == ("example", "spawn") and d["configuration"]["modes"] == ["sequential"], d
assert d["configuration"]["interleave"] is True, d["configuration"]
sa = [i["start_ms"] for i in a["iterations"]]
sb = [i["start_ms"] for i in b["iterations"]]
assert 0 <= sa[0] and all(sa[j] < sb[j] < sa[j + 1] for j in range(2)) and sa[2] < sb[2], (sa, sb)
for r, after in ((a, sb[2]), (b, None)):
    own = sum(i["tti_ms"] + i["destroy_ms"] for i in r["iterations"])
    assert own - 1e-6 <= r["wall_ms"] and (after is None or r["wall_ms"] <= after), (r["wall_ms"], own, after)
assert set(a["ratios"]) == {"spawn"} and a["ratios"]["spawn"]["median"] > 0, a["ratios"]
assert sorted(a) == sorted(b) == ["iterations", "kind", "mode", "name", "ratios", "stats", "version", "wall_ms"]
PY
then
	ok "--interleave alternates the rows' iterations and keeps the ratios"
else
	not_ok "--interleave: $(cat "$tmp/summary" "$tmp/err")"
fi

# With --pool, every pool is filled before the first round and drained after the last.
if "$CSDK" bench tti --provider local --pool 2 --baseline spawn --interleave -n 2 --command true \
	--json "$tmp/p.json" > "$tmp/summary" 2> "$tmp/err" &&
	grep -q '^  local (pool 2)  *provider  *sequential  *2/2 ' "$tmp/summary" &&
	python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert [r["name"] for r in rows] == ["local", "local (pool 2)", "spawn"], rows
starts = [r["iterations"][j]["start_ms"] for j in range(2) for r in rows]
assert starts == sorted(starts) and len(set(starts)) == 6, starts
' "$tmp/p.json" &&
	"$CSDK" --config pool=2 pool status --json > "$tmp/status" 2> "$tmp/err" &&
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["shapes"]; assert len(s)==1 and s[0]["ready"]==0 and s[0]["drained"], s' "$tmp/status"; then
	ok "--interleave with --pool: the rows take turns, the pool is drained after"
else
	not_ok "--interleave with --pool: $(cat "$tmp/summary" "$tmp/err" "$tmp/status" 2>/dev/null)"
fi

# A pool that cannot be filled before the first round: its one error, nothing more.
if command -v flock > /dev/null; then
	dir=$("$CSDK" --config pool=2 pool status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["shapes"][0]["dir"])')
	mkdir -p "$dir"
	sh -c 'exec 9>>"$1/refill.lock"; echo $$ >"$1/refill.lock"; flock 9; exec sleep 60' sh "$dir" &
	holder=$!
	i=0
	while flock -n "$dir/refill.lock" true && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	CSDK_LOCAL_POOL_WAIT=200ms "$CSDK" bench tti --provider local --pool 2 --interleave -n 1 --command true \
		> "$tmp/out" 2> "$tmp/err"
	status=$?
	kill "$holder"
	wait "$holder" 2> /dev/null
	if [ "$status" -eq 1 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] &&
		grep -q "^csdk: pool fill: the refiller of $dir (pid $holder) still holds refill.lock after 200 ms; " "$tmp/err"; then
		ok "--interleave: a pool that cannot be filled is one error"
	else
		not_ok "--interleave, pool fill fails (status $status, stderr: $(cat "$tmp/err"))"
	fi
else
	echo "ok - # SKIP pool fill failure: flock is not installed"
fi

expect_error "--interleave with burst" 2 \
	"csdk: bench: --interleave applies to sequential mode only, not to staggered, burst or all; run 'csdk bench --help' for usage" \
	bench tti --interleave --mode sequential --mode burst
expect_error "--interleave with all" 2 \
	"csdk: bench: --interleave applies to sequential mode only, not to staggered, burst or all; run 'csdk bench --help' for usage" \
	bench tti --mode all --interleave
expect_error "--interleave is not for bench cmd" 2 \
	"csdk: bench: bench cmd takes --provider, --mode direct|gateway, -n, --command, --baseline spawn and --json only; run 'csdk bench --help' for usage" \
	bench cmd --interleave
expect_error "--interleave is not for bench micro" 2 \
	"csdk: bench: --provider, --mode, -n, --command, --svg, --baseline, --image, --stagger-ms, --pool and --interleave apply to 'bench tti' (and some to 'bench cmd') only; run 'csdk bench --help' for usage" \
	bench micro --interleave

# The bwrap baseline runs the local provider's argv: the seccomp filter, no
# capabilities, uid 1000 of a user namespace, loopback only, a copy of /etc.
# bwrap-bare runs none of that. Only where bubblewrap works.
inside='grep -q "^Seccomp:[[:space:]]*2" /proc/self/status && grep -q "^CapEff:[[:space:]]*0*$" /proc/self/status && test "$(id -u)" = 1000 && test "$(wc -l < /proc/net/dev)" = 3 && test -s /etc/passwd'
if command -v bwrap > /dev/null && bwrap --unshare-user --ro-bind / / true 2> /dev/null; then
	if "$CSDK" -c isolation=none bench tti --provider local -n 2 --baseline bwrap --baseline bwrap-bare \
		--command "$inside" > "$tmp/summary" 2> "$tmp/err" &&
		grep -q '^  bwrap  *baseline  *sequential  *2/2 ' "$tmp/summary" &&
		grep -q '^  bwrap-bare  *baseline  *sequential  *0/2 ' "$tmp/summary"; then
		ok "the bwrap baseline isolates as the local provider does, bwrap-bare does not"
	else
		not_ok "bwrap baselines: $(cat "$tmp/summary" "$tmp/err")"
	fi
else
	echo "ok - # SKIP bwrap baselines: bubblewrap cannot make a user namespace here"
fi

expect_error "unknown baseline" 2 \
	"csdk: bench: unknown baseline 'bwrap-net' (use spawn, bwrap, bwrap-isolated, bwrap-bare or docker-cli); run 'csdk bench --help' for usage" \
	bench tti --baseline bwrap-net

# bwrap-isolated where slirp4netns is not in PATH: one line saying what to
# install (ls: the libtool wrapper of an uninstalled csdk runs it).
if command -v bwrap > /dev/null; then
	mkdir "$tmp/no-slirp"
	ln -s "$(command -v bwrap)" "$tmp/no-slirp/bwrap"
	ln -s "$(command -v ls)" "$tmp/no-slirp/ls"
	PATH=$tmp/no-slirp "$CSDK" -c isolation=none bench tti --provider local -n 1 --baseline bwrap-isolated \
		> "$tmp/out" 2> "$tmp/err"
	status=$?
	if [ "$status" -eq 1 ] && [ "$(cat "$tmp/err")" = "csdk: bench: baseline 'bwrap-isolated': 'slirp4netns' was not found in PATH; install slirp4netns (apt-get install slirp4netns) or drop --baseline bwrap-isolated" ]; then
		ok "bwrap-isolated without slirp4netns"
	else
		not_ok "bwrap-isolated without slirp4netns (status $status, stderr: $(cat "$tmp/err"))"
	fi
fi

# bwrap-isolated: the bwrap baseline's confinement plus network=isolated's
# set-up: tap0 with slirp's 10.0.2.100, the default route via 10.0.2.2, the
# unreachable routes. Nothing of an iteration outlives it: neither its
# slirp4netns nor a process the command left in the background. A wrapper
# of slirp4netns in PATH records each one's pid and, as the next iteration
# starts, notes any of the earlier ones still running; after the run the
# same for the last.
iso_inside='grep -q "^Seccomp:[[:space:]]*2" /proc/self/status && grep -q "^CapEff:[[:space:]]*0*$" /proc/self/status && test "$(id -u)" = 1000 && grep -q "^ *tap0:" /proc/net/dev && grep -q "^[[:space:]]*|-- 10\.0\.2\.100$" /proc/net/fib_trie && grep -q "^tap0[[:space:]]*00000000[[:space:]]*0202000A[[:space:]]" /proc/net/route && grep -B1 UNREACHABLE /proc/net/fib_trie | grep -q "169\.254\.0\.0" && { sleep 31415 > /dev/null 2>&1 & }'
slirp=$(command -v slirp4netns)
if [ -n "$slirp" ] && [ -c /dev/net/tun ] && command -v bwrap > /dev/null && bwrap --unshare-user --ro-bind / / true 2> /dev/null; then
	# as root slirp4netns runs as the sandbox's uid: the wrapper must be reachable and its list writable by it
	chmod 711 "$tmp"
	mkdir -m 777 "$tmp/slirp-bin"
	cat > "$tmp/slirp-bin/slirp4netns" <<-EOF
	#!/bin/sh
	for pid in \$(cat "$tmp/slirp-bin/pids" 2> /dev/null); do
		grep -qs slirp4netns "/proc/\$pid/cmdline" && echo "slirp4netns:\$pid" >> "$tmp/slirp-bin/left"
	done
	# an argument 31415 (sleep's); [5]: not grep's own
	grep -lsxz "3141[5]" /proc/[0-9]*/cmdline >> "$tmp/slirp-bin/left"
	echo \$\$ >> "$tmp/slirp-bin/pids"
	exec "$slirp" "\$@"
	EOF
	chmod 755 "$tmp/slirp-bin/slirp4netns"
	if PATH=$tmp/slirp-bin:$PATH "$CSDK" -c isolation=none bench tti --provider local -n 3 --baseline bwrap-isolated \
		--command "$iso_inside" > "$tmp/summary" 2> "$tmp/err" &&
		grep -q '^  bwrap-isolated  *baseline  *sequential  *3/3 ' "$tmp/summary" &&
		[ "$(wc -l < "$tmp/slirp-bin/pids")" -eq 3 ]; then
		ok "the bwrap-isolated baseline sets up network=isolated as the local provider does"
	else
		not_ok "bwrap-isolated baseline: $(cat "$tmp/summary" "$tmp/err")"
	fi
	# a slirp4netns that fails: the iteration fails with its first line
	cat > "$tmp/slirp-bin/slirp4netns" <<-EOF
	#!/bin/sh
	echo "fake: no network today"
	exit 1
	EOF
	PATH=$tmp/slirp-bin:$PATH "$CSDK" -c isolation=none bench tti --provider local -n 1 --baseline bwrap-isolated \
		> "$tmp/summary" 2> "$tmp/err"
	if grep -q '^  bwrap-isolated  *baseline  *sequential  *0/1 ' "$tmp/summary" &&
		[ "$(cat "$tmp/err")" = "csdk: bench: bwrap-isolated sequential: 1 of 1 iterations failed; first: slirp4netns did not set up the namespace: fake: no network today" ]; then
		ok "a failing slirp4netns fails the bwrap-isolated iteration with its message"
	else
		not_ok "failing slirp4netns: $(cat "$tmp/summary" "$tmp/err")"
	fi
	left=$(cat "$tmp/slirp-bin/left" 2> /dev/null)
	for pid in $(cat "$tmp/slirp-bin/pids" 2> /dev/null); do
		grep -qs slirp4netns "/proc/$pid/cmdline" && left="$left slirp4netns:$pid"
	done
	# an argument 31415 (sleep's); [5]: not grep's own
	for f in $(grep -lsxz "3141[5]" /proc/[0-9]*/cmdline); do
		left="$left $f"
	done
	if [ -z "$left" ]; then
		ok "nothing of the bwrap-isolated iterations is left running"
	else
		not_ok "left running after bwrap-isolated:$left"
	fi
else
	echo "ok - # SKIP bwrap-isolated baseline: needs slirp4netns, /dev/net/tun and bubblewrap with user namespaces"
	echo "ok - # SKIP bwrap-isolated baseline leaves nothing running"
	echo "ok - # SKIP a failing slirp4netns fails the bwrap-isolated iteration"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

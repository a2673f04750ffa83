# csdk-plugins and csdk against hostile plugins: inspection never runs
# plugin methods; the conformance kit survives plugins that crash or block in
# a case and reports them; csdk reports garbage with the host's messages and
# prints bytes that are not UTF-8 as U+FFFD in JSON.

. "${HOSTILE_SRCDIR:?run with make check}/lib.sh"

OUT=$HOSTILE_TMPDIR/tools
rm -rf "$OUT"
mkdir -p "$OUT"
CSDK_PLUGIN_PATH=$HOSTILE_PLUGINS
export CSDK_PLUGIN_PATH
P=$CSDK_PLUGINS_TOOL
C=$CSDK_TOOL
D=$HOSTILE_PLUGINS

# ------------------------------------------------------------ inspection

run list "$P"
expect_status list 0
expect_line list out "crashy       6.6.6    2.1  direct  exec                   $D/csdk-crashy.so"
expect_line list out "initcrash    6.6.6    2.1  direct  exec                   $D/csdk-initcrash.so"
expect_line list out "8 plugins loaded"

run list-json "$P" --json
expect_status list-json 0
expect_match list-json out '"name": "initblock"'

for x in crashy initcrash initblock createblock garbage; do
	run "details-$x" "$P" "$x"
	expect_status "details-$x" 0
	expect_line "details-$x" out "name:         $x"
done

run check "$P" --check "$D/csdk-crashy.so" "$D/csdk-initcrash.so" "$D/csdk-initblock.so"
expect_status check 0
expect_count check out '^ok   descriptor$' 3

# -------------------------------------------------- the conformance kit

run kit-crashy "$P" test crashy --timeout 5000 --case sandbox-info --case command-echo --case code-node-hello
expect_status kit-crashy 1
expect_match kit-crashy out '^sandbox-info +fail +[0-9]+ ms +the provider crashed in get_info \(signal 6, Aborted\)$'
expect_match kit-crashy out '^command-echo +fail +[0-9]+ ms +the provider crashed in run_command \(signal 11, Segmentation fault\)$'
expect_match kit-crashy out '^code-node-hello +fail +[0-9]+ ms +the provider crashed in run_code \(signal 11, Segmentation fault\)$'
expect_line kit-crashy out "0 passed, 3 failed, 0 skipped"

# 5 s: sandbox-create passes within it on a loaded machine (ASan, valgrind)
run kit-blocker "$P" test blocker --timeout 5000 --case command-echo --case sandbox-create
expect_status kit-blocker 1
expect_match kit-blocker out '^sandbox-create +pass +[0-9]+ ms$'
expect_match kit-blocker out '^command-echo +fail +[0-9]+ ms +timed out after 5000 ms and was killed; raise --timeout for a slow provider$'
expect_line kit-blocker out "1 passed, 1 failed, 0 skipped"

run kit-createblock "$P" test createblock --timeout 1000 --case sandbox-create --json
expect_status kit-createblock 1
expect_line kit-createblock out '      "detail": "timed out after 1000 ms and was killed; raise --timeout for a slow provider"'
expect_line kit-createblock out '  "failed": 1,'

# A plugin whose init crashes or hangs cannot be opened: exit 3 with one
# line, as for any provider that cannot be opened (the kit opens the
# provider in its own process before the cases).
run kit-initcrash "$P" test initcrash --timeout 2000 --case sandbox-create
expect_status kit-initcrash 3
expect_match kit-initcrash err "^csdk-plugins: cannot open provider 'initcrash': "

WATCHDOG=30
run kit-initblock "$P" test initblock --timeout 2000 --case sandbox-create
WATCHDOG=60
expect_status kit-initblock 3
expect_match kit-initblock err "^csdk-plugins: cannot open provider 'initblock': "

# ------------------------------------------------------------------ csdk

# The library does not isolate plugin code: a crash in a method ends csdk,
# whose last line names the provider and the method, with status 125.
run csdk-crash-exec "$C" -p crashy exec sb-x true
expect_status csdk-crash-exec 125
expect_line csdk-crash-exec err "csdk: provider 'crashy' crashed in run_command (SIGSEGV)"
run csdk-crash-run "$C" -p crashy run true
expect_status csdk-crash-run 125
expect_line csdk-crash-run err "csdk: provider 'crashy' crashed in run_command (SIGSEGV)"
run csdk-abort-info "$C" -p crashy info sb-x
expect_status csdk-abort-info 125
expect_line csdk-abort-info err "csdk: provider 'crashy' crashed in get_info (SIGABRT)"
run csdk-crash-init "$C" -p initcrash list
expect_status csdk-crash-init 125
expect_line csdk-crash-init err "csdk: provider 'initcrash' crashed in init (SIGSEGV)"

run csdk-exit-300 "$C" -p garbage exec sb-ok exit-300
expect_status csdk-exit-300 125
expect_line csdk-exit-300 err "csdk: provider 'garbage' returned exit code 300 from run_command; exit codes are 0 to 255"
run csdk-status "$C" -p garbage exec sb-ok status-positive
expect_status csdk-status 125
expect_line csdk-status err "csdk: provider 'garbage' returned invalid status 1 from run_command; the plugin must return 0 or a negative CSDK_E* code"
run csdk-null-id "$C" -p garbage create --name null-id
expect_status csdk-null-id 1
expect_line csdk-null-id err "csdk: provider 'garbage' returned a sandbox without an id from create; the plugin must call text_set on id_out"
run csdk-no-url "$C" -p garbage url sb-ok 1
expect_status csdk-no-url 1
expect_line csdk-no-url err "csdk: provider 'garbage' returned no URL from get_url"

# A create that hangs in the plugin: the first SIGINT cancels (csdk waits
# for the provider), a second one ends csdk at once.
"$C" -p createblock create >"$OUT/create-hung.out" 2>"$OUT/create-hung.err" &
pid=$!
# interrupted once it is in the plugin's create: SIGINT caught (bit 2 of
# SigCgt) and the process asleep; up to 30 s for a loaded machine's start
i=0
while [ $i -lt 300 ]; do
	cgt=$(awk '/^SigCgt/ {print $2}' /proc/$pid/status 2>/dev/null)
	[ -n "$cgt" ] && [ $((0x${cgt#"${cgt%?}"} & 2)) -ne 0 ] && [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = S ] && break
	sleep 0.1
	i=$((i + 1))
done
kill -INT $pid
sleep 1
if kill -0 $pid 2>/dev/null; then pass "create-hung: waits for the provider after one SIGINT"; else fail "create-hung: ended after one SIGINT"; fi
kill -INT $pid
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then
	fail "create-hung: still running after a second SIGINT"
	kill -9 $pid
fi
wait $pid
echo $? >"$OUT/create-hung.status"
expect_status create-hung 130
expect_line create-hung err "csdk: interrupted again; exiting without waiting for the provider (a sandbox it finishes creating may be left: check 'csdk list')"

# Bytes that are not UTF-8 pass through text output and become U+FFFD in JSON.
FFFD=$(printf '\357\277\275')
run csdk-badutf8-create "$C" -p garbage create --name badutf8-id
expect_status csdk-badutf8-create 0
expect_line csdk-badutf8-create out "$(printf 'sb-\377\376-bad')"
run csdk-badutf8-create-json "$C" -p garbage --json create --name badutf8-id
expect_status csdk-badutf8-create-json 0
expect_line csdk-badutf8-create-json out "  \"id\": \"sb-$FFFD$FFFD-bad\","
run csdk-badutf8-list-json "$C" -p garbage --json list
expect_status csdk-badutf8-list-json 0
expect_count csdk-badutf8-list-json out '^    "id": ' 2
run csdk-badutf8-info-json "$C" -p garbage --json info info-badutf8
expect_status csdk-badutf8-info-json 0
expect_line csdk-badutf8-info-json out "    \"k$FFFD\": \"v$FFFD\""
run csdk-badutf8-exec-json "$C" -p garbage --json exec sb-ok badutf8-out
expect_status csdk-badutf8-exec-json 0
expect_line csdk-badutf8-exec-json out "  \"stdout\": \"$FFFD$FFFD\\u0000z$FFFD\","
run csdk-ls-json "$C" -p garbage --json fs sb-ok ls /huge
expect_status csdk-ls-json 0
expect_count csdk-ls-json out '^    "name": ' 2
expect_no csdk-ls-json out '"size": -'

finish

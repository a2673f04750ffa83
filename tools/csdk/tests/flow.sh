#!/bin/sh
# The create -> exec -> fs write/read -> url -> destroy flow of the csdk
# command across separate invocations, against the local provider.
#
# Usage: flow.sh [CSDK]  (default: $CSDK, else ./csdk)
# CSDK_PLUGIN_PATH must name the directory holding csdk-local.so.
set -u

CSDK=${1:-${CSDK:-./csdk}}
work=$(mktemp -d "${TMPDIR:-/tmp}/csdk-flow.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
export CSDK_LOCAL_STATE_DIR="$work/state"
unset CSDK_PROVIDER
failures=0
checks=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	checks=$((checks + 1))
	if [ "$2" != "$3" ]; then
		fail "$1: expected [$2], got [$3]"
	fi
}

# run_csdk ARGS...: sets out, err (files' contents) and rc
run_csdk() {
	"$CSDK" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	out=$(cat "$work/out")
	err=$(cat "$work/err")
}

# As root with the cgroup v1 pids controller, sandboxes get a pids limit;
# otherwise the first create in a state directory says so, once.
if [ "$(id -u)" = 0 ] && [ -w /sys/fs/cgroup/pids/cgroup.procs ]; then
	first_create_err=
else
	first_create_err="csdk: local: warning: no cgroup v1 pids controller writable at /sys/fs/cgroup/pids: sandboxes have no process limit of their own, only the rlimits processes, memory and cpu_time; run as root, or set processes (CSDK_LOCAL_PROCESSES)"
fi

# --- help: a synopsis's second line stands under the command's first argument
run_csdk create --help
expect_eq "create --help: exit status" 0 "$rc"
expect_eq "create --help: synopsis" "Usage: csdk create [--name N] [--namespace NS] [--runtime R] [--template T] [--snapshot S]
                   [--timeout MS] [--env K=V]... [--metadata K=V]... [--cpus N] [--memory SIZE]" "$(echo "$out" | head -n 2)"
run_csdk find-or-create --help
expect_eq "find-or-create --help: synopsis" "Usage: csdk find-or-create NAME [--namespace NS] [--runtime R] [--template T] [--snapshot S]
                           [--timeout MS] [--env K=V]... [--metadata K=V]... [--cpus N] [--memory SIZE]" "$(echo "$out" | head -n 2)"
run_csdk run --help
expect_eq "run --help: synopsis" "Usage: csdk run [--name N] [--namespace NS] [--runtime R] [--template T] [--snapshot S]
                [--timeout MS] [--env K=V]... [--metadata K=V]... [--cpus N] [--memory SIZE] [--] WORDS..." "$(echo "$out" | head -n 2)"

# --- create, list, info -------------------------------------------------
run_csdk create --metadata owner=alice --env GREETING=hi
expect_eq "create: exit status" 0 "$rc"
expect_eq "create: stderr" "$first_create_err" "$err"
id=$out
case $id in
local-????????????????) checks=$((checks + 1)) ;;
*) fail "create: id '$id' is not local-<16 hex digits>"; exit 1 ;;
esac

run_csdk list
expect_eq "list: exit status" 0 "$rc"
expect_eq "list: header" "ID                      STATUS   CREATED" "$(echo "$out" | head -n 1)"
expect_eq "list: row" "$id running" "$(echo "$out" | awk -v id="$id" '$1 == id { print $1, $2 }')"

run_csdk info "$id" --json
expect_eq "info --json: exit status" 0 "$rc"
expect_eq "info --json: fields" "$id local running alice" \
	"$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["provider"], d["status"], d["metadata"]["owner"])')"
run_csdk info "$id"
expect_eq "info: metadata row" "metadata.owner: alice" "$(echo "$out" | awk '$1 == "metadata.owner:" { print $1, $2 }')"
expect_eq "info: status row" "status: running" "$(echo "$out" | awk '$1 == "status:" { print $1, $2 }')"

# --- exec -----------------------------------------------------------------
run_csdk exec "$id" -- echo hello '  ' world
expect_eq "exec: several words are quoted arguments" "hello    world" "$out"
run_csdk exec "$id" -- python3 -c 'print(6 * 7)'
expect_eq "exec: argument with spaces and parentheses" "42" "$out"
expect_eq "exec: exit status" 0 "$rc"
run_csdk exec "$id" 'echo out; echo err >&2; exit 7'
expect_eq "exec: stdout" "out" "$out"
expect_eq "exec: stderr" "err" "$err"
expect_eq "exec: command's exit status" 7 "$rc"
run_csdk exec "$id" 'echo $GREETING'
expect_eq "exec: sandbox environment" "hi" "$out"
run_csdk exec "$id" --env A=1 --cwd /tmp -- 'echo $A; pwd'
expect_eq "exec: --env and --cwd" "1
/tmp" "$out"
run_csdk exec "$id" --timeout 300 -- sleep 10
expect_eq "exec --timeout: exit status" 124 "$rc"
run_csdk exec "$id" --json -- 'printf abc; exit 3'
expect_eq "exec --json: exit status" 3 "$rc"
expect_eq "exec --json: fields" "abc||3" \
	"$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["stdout"], d["stderr"], d["exit_code"], sep="|")')"
run_csdk exec "$id" --timeout -5 -- true
expect_eq "exec bad --timeout: exit status (125: csdk's, not the command's 2)" 125 "$rc"
expect_eq "exec bad --timeout: message" "csdk: exec: invalid value '-5' for --timeout: give a whole number of milliseconds, 0 or more; run 'csdk exec --help' for usage" "$err"
run_csdk exec local-0123456789abcdef -- true
expect_eq "exec unknown id: exit status" 125 "$rc"
expect_eq "exec unknown id: message" "csdk: no sandbox 'local-0123456789abcdef' in provider 'local'" "$err"

# --- fs: binary-safe write/read across invocations ---------------------------
printf 'a\000b\377\001\nend' >"$work/blob"
"$CSDK" fs "$id" write /home/sandbox/dir/blob.bin <"$work/blob"
expect_eq "fs write: exit status" 0 "$?"
"$CSDK" fs "$id" read /home/sandbox/dir/blob.bin >"$work/back"
expect_eq "fs read: exit status" 0 "$?"
checks=$((checks + 1))
cmp -s "$work/blob" "$work/back" || fail "fs read: bytes differ from what was written"
run_csdk exec "$id" 'wc -c < /home/sandbox/dir/blob.bin'
expect_eq "exec sees the written file" 9 "$out"
run_csdk fs "$id" exists /home/sandbox/dir/blob.bin
expect_eq "fs exists: output" true "$out"
expect_eq "fs exists: exit status" 0 "$rc"
run_csdk fs "$id" exists /home/sandbox/nope
expect_eq "fs exists (missing): output" false "$out"
expect_eq "fs exists (missing): exit status" 1 "$rc"
run_csdk fs "$id" ls /home/sandbox/dir
expect_eq "fs ls: header" "NAME      TYPE  SIZE  MODIFIED" "$(echo "$out" | head -n 1)"
expect_eq "fs ls: row" "blob.bin file 9" "$(echo "$out" | awk 'NR == 2 { print $1, $2, $3 }')"
run_csdk fs "$id" mkdir /home/sandbox/made/deep
expect_eq "fs mkdir: exit status" 0 "$rc"
run_csdk fs "$id" rm /home/sandbox/made
expect_eq "fs rm: exit status" 0 "$rc"
run_csdk fs "$id" exists /home/sandbox/made
expect_eq "fs rm: removed" false "$out"

# --- run-code ---------------------------------------------------------------
run_csdk run-code "$id" 'print(6 * 7)'
expect_eq "run-code: output" 42 "$out"
expect_eq "run-code: exit status" 0 "$rc"
printf 'console.log("n" + 1)\n' | "$CSDK" run-code "$id" --runtime node - >"$work/out"
expect_eq "run-code -: exit status" 0 "$?"
expect_eq "run-code -: output" n1 "$(cat "$work/out")"
run_csdk run-code "$id" --runtime python 'def ('
expect_eq "run-code syntax error: exit status" 1 "$rc"
checks=$((checks + 1))
echo "$err" | grep -q SyntaxError || fail "run-code syntax error: no SyntaxError in [$err]"
# the options of exec apply to code too
run_csdk run-code "$id" --env A=1 --env 'B=two words' --cwd /tmp --runtime python \
	'import os; print(os.environ["A"], os.environ["B"], os.environ["GREETING"], os.getcwd())'
expect_eq "run-code --env --cwd: exit status" 0 "$rc"
expect_eq "run-code --env --cwd: output" "1 two words hi /tmp" "$out"
run_csdk run-code "$id" --timeout 1000 --runtime node 'setTimeout(() => console.log("never"), 60000)'
expect_eq "run-code --timeout: exit status" 124 "$rc"
expect_eq "run-code --timeout: no output" "" "$out"
run_csdk run-code "$id" --timeout -5 'print(1)'
expect_eq "run-code bad --timeout: exit status" 125 "$rc"
expect_eq "run-code bad --timeout: message" "csdk: run-code: invalid value '-5' for --timeout: give a whole number of milliseconds, 0 or more; run 'csdk run-code --help' for usage" "$err"
run_csdk run-code "$id" --timeout 2592000001 'print(1)'
expect_eq "run-code --timeout over 30 days: exit status" 125 "$rc"
expect_eq "run-code --timeout over 30 days: message" "csdk: timeout 2592000001 ms is not valid: it is longer than 30 days; give at most 2592000000 ms" "$err"
run_csdk run-code "$id" --env NOEQ 'print(1)'
expect_eq "run-code bad --env: exit status" 125 "$rc"
expect_eq "run-code bad --env: message" "csdk: run-code: invalid --env 'NOEQ': expected KEY=VALUE; run 'csdk run-code --help' for usage" "$err"
run_csdk run-code "$id" --cwd /home/sandbox/missing 'print(1)'
expect_eq "run-code missing --cwd: exit status" 125 "$rc"
expect_eq "run-code missing --cwd: message" "csdk: working directory '/home/sandbox/missing' does not exist in sandbox $id; create it first (mkdir) or use an existing directory" "$err"

# --- url --------------------------------------------------------------------
# network isolated (the default where slirp4netns works): a port is forwarded
# into a running namespace only, and this direct-mode sandbox runs none
if grep -q '"network":"isolated"' "$CSDK_LOCAL_STATE_DIR/sandboxes/$id/meta.json"; then
	run_csdk url "$id" 8080
	expect_eq "url network isolated: exit status" 1 "$rc"
	expect_eq "url network isolated: message" "csdk: port 8080 of sandbox $id is not reachable from the host: no network namespace of the sandbox is running; with network isolated, ports of the agent's namespace (mode gateway) or of the newest running background command are forwarded, so start the server in the background first" "$err"
fi
# network none: no port of the sandbox is reachable from here
run_csdk --config network=none create
nid=$out
run_csdk url "$nid" 8080
expect_eq "url network none: exit status" 1 "$rc"
expect_eq "url network none: message" "csdk: port 8080 of sandbox $nid is not reachable from the host: the sandbox has network none; create it with network=isolated or host (CSDK_LOCAL_NETWORK) to serve ports" "$err"
run_csdk destroy "$nid"
run_csdk --config network=host create
hid=$out
run_csdk url "$hid" 8080
expect_eq "url: output" "http://127.0.0.1:8080" "$out"
run_csdk url "$hid" 8443 --protocol https
expect_eq "url --protocol: output" "https://127.0.0.1:8443" "$out"
run_csdk destroy "$hid"
run_csdk url "$id" 70000
expect_eq "url bad port: exit status" 2 "$rc"
expect_eq "url bad port: message" "csdk: url: invalid port '70000': give a number from 1 to 65535; run 'csdk url --help' for usage" "$err"
run_csdk url "$id" 8080 --protocol 1x
expect_eq "url bad protocol: exit status" 1 "$rc"
expect_eq "url bad protocol: message" "csdk: protocol '1x' is not valid: it is not a URL scheme; use a URL scheme such as http, https, ws or wss" "$err"

# --- destroy ----------------------------------------------------------------
run_csdk destroy "$id"
expect_eq "destroy: exit status" 0 "$rc"
run_csdk destroy "$id"
expect_eq "destroy again: exit status" 0 "$rc"
run_csdk info "$id"
expect_eq "info after destroy: exit status" 1 "$rc"
expect_eq "info after destroy: message" "csdk: no sandbox '$id' in provider 'local'" "$err"

# --- typed configuration keys and host rules --------------------------------
run_csdk --config timeout=soon create
expect_eq "bad duration key: exit status" 1 "$rc"
expect_eq "bad duration key: message" "csdk: key 'timeout': 'soon' is not a duration; give milliseconds or a value like 30s, 5m" "$err"
run_csdk --config memory=lots create
expect_eq "bad size key: exit status" 1 "$rc"
expect_eq "bad size key: message" "csdk: key 'memory': 'lots' is not a size; give bytes or a value like 512M, 2G" "$err"
run_csdk --config processes=0 create
expect_eq "int key out of range: exit status" 1 "$rc"
expect_eq "int key out of range: message" "csdk: key 'processes': '0' is out of range; give 1 to 9223372036854775807" "$err"
run_csdk --config timeout=90s create
expect_eq "duration key with a unit: exit status" 0 "$rc"
run_csdk info "$out" --json
expect_eq "duration key with a unit: lifetime" 90000 \
	"$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["timeout_ms"])')"
"$CSDK" destroy "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
run_csdk create --name 'bad name'
expect_eq "bad sandbox name: exit status" 1 "$rc"
expect_eq "bad sandbox name: message" "csdk: sandbox name 'bad name' is not valid: it holds a character other than a letter, digit, '.', '_' or '-'; use letters, digits, '.', '_' and '-', starting with a letter or digit" "$err"
run_csdk find-or-create ci --namespace 'team/x'
expect_eq "bad namespace: exit status" 1 "$rc"
expect_eq "bad namespace: message" "csdk: namespace 'team/x' is not valid: it holds a character other than a letter, digit, '.', '_' or '-'; use letters, digits, '.', '_' and '-', starting with a letter or digit" "$err"

# --- named ------------------------------------------------------------------
run_csdk find nobody --namespace team
expect_eq "find missing: exit status" 1 "$rc"
expect_eq "find missing: message" "csdk: no sandbox named 'team/nobody' in provider 'local'" "$err"
run_csdk find-or-create ci --namespace team
named=$out
run_csdk find ci --namespace team
expect_eq "find after find-or-create" "$named" "$out"
"$CSDK" destroy "$named"

# --- run --------------------------------------------------------------------
run_csdk run -- 'echo one-shot; exit 4'
expect_eq "run: output" one-shot "$out"
expect_eq "run: exit status" 4 "$rc"
run_csdk list
expect_eq "run: sandbox destroyed" "ID  STATUS  CREATED" "$out"

"$CSDK" run -- sleep 30 >/dev/null 2>"$work/run-err" &
pid=$!
tries=0
until [ "$("$CSDK" list | wc -l)" -eq 2 ] || [ $tries -ge 300 ]; do
	sleep 0.1
	tries=$((tries + 1))
done
kill -TERM $pid
wait $pid
expect_eq "run interrupted: exit status" 143 "$?"
run_csdk list
expect_eq "run interrupted: sandbox destroyed" "ID  STATUS  CREATED" "$out"

echo "flow.sh: $checks checks, $failures failed"
[ $failures -eq 0 ]

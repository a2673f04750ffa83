# The e2b SDK against csdk serve over $SERVE_PROVIDER: the suite, a sandbox
# made by `csdk create`, a restart, nothing left behind. Sourced by sdk-*.test.
. "$(dirname "$0")/lib.sh"
need_sdk
SERVE_SNAPSHOTS=$(provider_has snapshots)
export SERVE_SNAPSHOTS
serve_start
serve_node sdk-check.mjs main || fail "the SDK checks"

# csdk list shows what serve created, and serve shows what csdk created.
foreign=$(serve_csdk create) || fail "csdk create"
serve_node sdk-check.mjs foreign "$foreign" || fail "a sandbox made by csdk create"
serve_csdk destroy "$foreign" >/dev/null || fail "csdk destroy $foreign"

serve_node sdk-check.mjs restart-before "$T/id" || fail "creating a sandbox before the restart"
id=$(cat "$T/id")
provider_ids | grep -qx "$id" || fail "csdk list does not show $id, created through serve"
serve_stop
grep -q 'stopped; sandboxes live on' "$T/log" || fail "no stop message in the log"
serve_start
serve_node sdk-check.mjs restart-after "$T/id" || fail "the sandbox after the restart"

# SIGTERM while a command streams: it finishes, the server exits 0.
serve_node sdk-check.mjs graceful "$T/graceful" >"$T/graceful.out" 2>&1 &
node_pid=$!
i=0
while [ ! -f "$T/graceful.started" ]; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || { cat "$T/graceful.out"; fail "the streamed command did not start"; }
	sleep 0.1
done
serve_stop
wait "$node_pid" || { cat "$T/graceful.out"; fail "a stream in progress at SIGTERM did not finish"; }
cat "$T/graceful.out"
serve_csdk destroy "$(cat "$T/graceful")" >/dev/null || fail "destroying the sandbox of the graceful stop"
serve_start

left=$(provider_ids)
[ -z "$left" ] || fail "sandboxes left behind: $left"
grep -q "$SERVE_KEY\|$OTHER_KEY" "$T/log" && fail "an API key is in the log"
for tok in $(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' "$T/state/sandboxes.json"); do
	grep -q "$tok" "$T/log" && fail "an envd token is in the log"
done
grep -q 'POST /v2/sandboxes 201 [0-9]*ms sandbox=' "$T/log" || fail "no request line for a create in the log"
serve_stop
echo "sdk over $SERVE_PROVIDER: passed"

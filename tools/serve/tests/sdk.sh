# The e2b SDK against csdk serve over $SERVE_PROVIDER: the suite, a sandbox
# made by `csdk create`, a restart, nothing left behind. Sourced by sdk-*.test.
. "$(dirname "$0")/lib.sh"
need_sdk
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

left=$(provider_ids)
[ -z "$left" ] || fail "sandboxes left behind: $left"
grep -q "$SERVE_KEY\|$OTHER_KEY" "$T/log" && fail "an API key is in the log"
for tok in $(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' "$T/state/sandboxes.json"); do
	grep -q "$tok" "$T/log" && fail "an envd token is in the log"
done
grep -q 'POST /v2/sandboxes 201 [0-9]*ms sandbox=' "$T/log" || fail "no request line for a create in the log"
serve_stop
echo "sdk over $SERVE_PROVIDER: passed"

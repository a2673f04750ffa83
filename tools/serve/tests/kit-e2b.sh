# The conformance kit on the e2b plugin pointed at csdk serve over
# $SERVE_PROVIDER: a real server, real sandboxes. Sourced by kit-e2b-*.test.
. "$(dirname "$0")/lib.sh"
tool=${CSDK_PLUGINS_TOOL:-$builddir/csdk-plugins}
e2b_libs=$(cd "$builddir/../plugins/e2b/.libs" 2>/dev/null && pwd)
[ -f "$e2b_libs/csdk-e2b.so" ] || skip "plugins/e2b is not built"
serve_start
E2B_API_KEY=$SERVE_KEY E2B_API_URL=$SERVE_URL E2B_SANDBOX_URL=$SERVE_URL CSDK_PLUGIN_PATH=$e2b_libs:$CSDK_PLUGIN_PATH \
	"$tool" test e2b >"$T/kit" 2>&1
status=$?
cat "$T/kit"
[ "$status" -eq 0 ] || fail "the kit on e2b against csdk serve exited $status"
left=$(provider_ids)
[ -z "$left" ] || fail "sandboxes left behind: $left"
# The missing-key message: one line, what, where to get one, how to set it.
E2B_API_KEY= CSDK_PLUGIN_PATH=$e2b_libs:$CSDK_PLUGIN_PATH "$CSDK" --provider e2b list >"$T/nokey" 2>&1 && fail "e2b without a key succeeded"
[ "$(wc -l <"$T/nokey")" -eq 1 ] || fail "the missing-key message is not one line: $(cat "$T/nokey")"
grep -q 'api_key' "$T/nokey" && grep -q 'E2B_API_KEY' "$T/nokey" && grep -q 'https://e2b.dev/dashboard' "$T/nokey" ||
	fail "the missing-key message does not say what, where and how: $(cat "$T/nokey")"
serve_stop
echo "kit on e2b against csdk serve over $SERVE_PROVIDER: passed"

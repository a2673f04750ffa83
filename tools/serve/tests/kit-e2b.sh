# The conformance kit on the e2b plugin pointed at csdk serve over
# $SERVE_PROVIDER: a real server, real sandboxes. Sourced by kit-e2b-*.test.
. "$(dirname "$0")/lib.sh"
tool=${CSDK_PLUGINS_TOOL:-$builddir/csdk-plugins}
e2b_libs=$(cd "$builddir/../plugins/e2b/.libs" 2>/dev/null && pwd)
[ -f "$e2b_libs/csdk-e2b.so" ] || skip "plugins/e2b is not built"
serve_start
# e2b declares snapshots (E2B's API has them); serve answers them when its provider has them.
snapshots=$(provider_has snapshots)
echo "serve's provider $SERVE_PROVIDER has snapshots: $snapshots"
kit() {
	E2B_API_KEY=$SERVE_KEY E2B_API_URL=$SERVE_URL E2B_SANDBOX_URL=$SERVE_URL CSDK_PLUGIN_PATH=$e2b_libs:$CSDK_PLUGIN_PATH \
		"$tool" test e2b "$@"
}
e2b() {
	key=$1
	shift
	E2B_API_KEY=$key E2B_API_URL=$SERVE_URL E2B_SANDBOX_URL=$SERVE_URL CSDK_PLUGIN_PATH=$e2b_libs:$CSDK_PLUGIN_PATH \
		"$CSDK" --provider e2b "$@"
}
if [ "$snapshots" = yes ]; then
	kit >"$T/kit" 2>&1
else
	# Every case but snapshot-lifecycle, which must fail with serve's 501 below.
	set --
	for c in $("$tool" test --list | awk 'NR > 1 && $1 != "snapshot-lifecycle" { print $1 }'); do
		set -- "$@" --case "$c"
	done
	kit "$@" >"$T/kit" 2>&1
fi
status=$?
cat "$T/kit"
[ "$status" -eq 0 ] || fail "the kit on e2b against csdk serve exited $status"
grep -q '^snapshot-lifecycle  *pass' "$T/kit" || [ "$snapshots" = no ] || fail "snapshot-lifecycle did not run and pass over $SERVE_PROVIDER"
if [ "$snapshots" = no ]; then
	kit --case snapshot-lifecycle >"$T/kit-snap" 2>&1 && fail "snapshot-lifecycle passed over $SERVE_PROVIDER, which has no snapshots"
	grep -q "^snapshot-lifecycle  *fail .*snapshot_create failed: not supported (-5): snapshotting sandbox '[^']*': not supported by this E2B API (501): provider '$SERVE_PROVIDER' does not support snapshots; use a provider that has them\$" "$T/kit-snap" ||
		fail "snapshot-lifecycle over $SERVE_PROVIDER: not serve's 501: $(cat "$T/kit-snap")"
fi
left=$(provider_ids)
[ -z "$left" ] || fail "sandboxes left behind: $left"

# A snapshot of an unknown sandbox: the exact answers, through e2b and from serve itself.
out=$(e2b "$SERVE_KEY" snapshot create nosuch-sandbox 2>&1) && fail "a snapshot of an unknown sandbox succeeded"
[ "$out" = "csdk: no sandbox 'nosuch-sandbox' in provider 'e2b'" ] || fail "a snapshot of an unknown sandbox through e2b: $out"
out=$(curl -sS -w ' %{http_code}' -X POST -H "X-API-KEY: $SERVE_KEY" "$SERVE_URL/sandboxes/nosuch-sandbox/snapshots")
[ "$out" = '{"code":404,"message":"sandbox '"'"'nosuch-sandbox'"'"' not found"} 404' ] || fail "POST /sandboxes/nosuch-sandbox/snapshots: $out"
out=$(e2b "$SERVE_KEY" snapshot delete nosuch-snapshot 2>&1) && fail "deleting an unknown snapshot succeeded"
[ "$out" = "csdk: deleting snapshot 'nosuch-snapshot': not found (404): snapshot 'nosuch-snapshot' not found; csdk serve deletes the snapshots made through it, not templates" ] ||
	fail "deleting an unknown snapshot through e2b: $out"

# Snapshots are their tenant's: another tenant neither lists, deletes nor starts from them.
if [ "$snapshots" = yes ]; then
	id=$(e2b "$SERVE_KEY" create) || fail "e2b create"
	snap=$(e2b "$SERVE_KEY" snapshot create "$id" --name kept) || fail "e2b snapshot create $id"
	out=$(curl -sS -H "X-API-KEY: $SERVE_KEY" "$SERVE_URL/snapshots?name=kept")
	[ "$out" = "[{\"snapshotID\":\"$snap\",\"names\":[\"default/kept\"]}]" ] || fail "GET /snapshots?name=kept: $out"
	out=$(curl -sS -H "X-API-KEY: $OTHER_KEY" "$SERVE_URL/snapshots")
	[ "$out" = "[]" ] || fail "another tenant's GET /snapshots: $out"
	out=$(e2b "$OTHER_KEY" snapshot delete "$snap" 2>&1) && fail "another tenant deleted $snap"
	[ "$out" = "csdk: deleting snapshot '$snap': not found (404): snapshot '$snap' not found; csdk serve deletes the snapshots made through it, not templates" ] ||
		fail "another tenant deleting $snap: $out"
	out=$(e2b "$OTHER_KEY" create --snapshot "$snap" 2>&1) && fail "another tenant started a sandbox from $snap"
	[ "$out" = "csdk: creating a sandbox: not found (404): template '$snap' not found; use base, a template of the provider, or map it to an image with 'templates = $snap=IMAGE' under [serve]" ] ||
		fail "another tenant starting from $snap: $out"
	out=$(curl -sS -w ' %{http_code}' -X POST -H "X-API-KEY: $SERVE_KEY" -d '{"name":"a/b"}' "$SERVE_URL/sandboxes/$id/snapshots")
	[ "$out" = '{"code":400,"message":"name must be 1 to 63 letters, digits, '"'.', '_' or '-'"'"} 400' ] || fail "a snapshot named a/b: $out"
	e2b "$SERVE_KEY" destroy "$id" >/dev/null || fail "destroying $id"
	e2b "$SERVE_KEY" snapshot delete "$snap" || fail "deleting $snap"
	[ "$(curl -sS -H "X-API-KEY: $SERVE_KEY" "$SERVE_URL/snapshots")" = "[]" ] || fail "$snap is still listed"
fi
# The missing-key message: one line, what, where to get one, how to set it.
E2B_API_KEY= CSDK_PLUGIN_PATH=$e2b_libs:$CSDK_PLUGIN_PATH "$CSDK" --provider e2b list >"$T/nokey" 2>&1 && fail "e2b without a key succeeded"
[ "$(wc -l <"$T/nokey")" -eq 1 ] || fail "the missing-key message is not one line: $(cat "$T/nokey")"
grep -q 'api_key' "$T/nokey" && grep -q 'E2B_API_KEY' "$T/nokey" && grep -q 'https://e2b.dev/dashboard' "$T/nokey" ||
	fail "the missing-key message does not say what, where and how: $(cat "$T/nokey")"
serve_stop
echo "kit on e2b against csdk serve over $SERVE_PROVIDER: passed"

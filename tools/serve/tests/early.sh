# Refusals csdk serve answers from the headers alone (a wrong API key or
# access token, no route, not a sandbox id, ...) wait for the body: a client
# that pauses between its headers and its body reads the exact answer
# (early-check.py). Sourced by early-*.test.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
serve_start
created=$(curl -sS -X POST -H "X-API-KEY: $SERVE_KEY" -H 'Content-Type: application/json' -d '{"timeout": 120}' \
	"$SERVE_URL/sandboxes") || fail "creating a sandbox: $created"
id=$(printf '%s' "$created" | sed -n 's/.*"sandboxID":"\([^"]*\)".*/\1/p')
token=$(printf '%s' "$created" | sed -n 's/.*"envdAccessToken":"\([^"]*\)".*/\1/p')
[ -n "$id" ] && [ -n "$token" ] || fail "no sandboxID or envdAccessToken in $created"
python3 "$SERVE_TESTS_DIR/early-check.py" "$SERVE_URL" "$SERVE_KEY" "$id" "$token" || fail "answers before the body"
kill -0 "$SERVE_PID" || fail "csdk serve died"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H "X-API-KEY: $SERVE_KEY" "$SERVE_URL/sandboxes/$id")" = 204 ] ||
	fail "killing $id"
serve_stop
echo "early answers over $SERVE_PROVIDER: passed"

# Secrets never leave through logs, CSDK_DEBUG traces, error messages or
# the tools' own output. The leaker plugin puts its secret keys (api_key,
# given with --config or its variable, and token, given by its variable)
# into every log and error it makes; every view of csdk-plugins and csdk,
# the conformance kit included, runs with CSDK_DEBUG=all and its output is
# searched for the planted values. What is data (ids, metadata, command
# output) is the user's and is not scrubbed: the "data" runs show it.

. "${HOSTILE_SRCDIR:?run with make check}/lib.sh"

OUT=$HOSTILE_TMPDIR/secrets
rm -rf "$OUT"
mkdir -p "$OUT/data"
CSDK_PLUGIN_PATH=$HOSTILE_PLUGINS
CSDK_DEBUG=all
SECRET=s3cr3t-PLANTED-4242
TOKEN=t0ken-PLANTED-9191
HOSTILE_LEAKER_TOKEN=$TOKEN
export CSDK_PLUGIN_PATH CSDK_DEBUG HOSTILE_LEAKER_TOKEN
P=$CSDK_PLUGINS_TOOL
C=$CSDK_TOOL
F=$HOSTILE_PLUGINS/csdk-leaker.so
K="api_key=$SECRET"

# --------------------------------------------------------- csdk-plugins

run p-list "$P"
run p-list-json "$P" --json
run p-details "$P" leaker
run p-details-json "$P" --json leaker
run p-file "$P" "$F"
run p-rejected "$P" --rejected
run p-paths "$P" --paths --json
run p-check "$P" --check "$F"
run p-check-json "$P" --json --check "$F"
run p-kit "$P" test leaker --config "$K" --timeout 20000
run p-kit-json "$P" test leaker --config "$K" --timeout 20000 --json
run p-kit-list "$P" test --list leaker --config "$K"
run p-kit-init "$P" test leaker --config "$K" --config leak=init --case sandbox-create

expect_status p-list 0
expect_status p-kit 1
expect_match p-kit out '^sandbox-url +fail +[0-9]+ ms +get_url port 3000 protocol default failed: backend failure \(-12\): no URL for port 3000 with api_key \*\*\*$'
expect_match p-kit out '^command-background +pass '
expect_status p-kit-init 3
expect_line p-kit-init err "csdk-plugins: cannot open provider 'leaker': init rejected api_key *** and token ***"

# ------------------------------------------------------------------ csdk

run c-providers "$C" -p leaker -c "$K" providers
run c-providers-json "$C" -p leaker -c "$K" --json providers
run c-create "$C" -p leaker -c "$K" create
run c-create-json "$C" -p leaker -c "$K" --json create
run c-list "$C" -p leaker -c "$K" list
run c-list-json "$C" -p leaker -c "$K" --json list
run c-info "$C" -p leaker -c "$K" info sb-leak
run c-info-json "$C" -p leaker -c "$K" --json info sb-leak
run c-exec "$C" -p leaker -c "$K" exec sb-leak true
run c-exec-fail "$C" -p leaker -c "$K" exec sb-leak fail
run c-exec-fail-json "$C" -p leaker -c "$K" --json exec sb-leak fail
run c-code-syntax "$C" -p leaker -c "$K" run-code sb-leak syntax
run c-code-syntax-json "$C" -p leaker -c "$K" --json run-code sb-leak syntax
run c-url "$C" -p leaker -c "$K" url sb-leak 3000
run c-destroy "$C" -p leaker -c "$K" destroy sb-leak
run c-run "$C" -p leaker -c "$K" run true
run c-init "$C" -p leaker -c "$K" -c leak=init list
run c-missing "$C" -p leaker list
run c-unknown-key "$C" -p garbage -c "$K" list
# The secret from the plugin's variable instead of --config.
HOSTILE_LEAKER_API_KEY=$SECRET
export HOSTILE_LEAKER_API_KEY
run c-env-exec-fail "$C" -p leaker exec sb-leak fail
run c-env-providers-json "$C" --json providers
run c-env-kit "$P" test leaker --case 'sandbox-*' --timeout 20000
unset HOSTILE_LEAKER_API_KEY
run c-config-show "$C" -p leaker -c "$K" config show
run c-config-show-json "$C" -p leaker -c "$K" --json config show

expect_status c-exec 0
expect_status c-exec-fail 125
expect_line c-exec-fail err "csdk: backend rejected api_key *** (token ***) in run_command"
expect_line c-exec-fail err "csdk: leaker: debug: init: debug api_key=*** token=***"
expect_line c-exec-fail err "csdk: leaker: warning: run_command: warn api_key=*** token=*** twice=******"
expect_line c-exec-fail err "csdk: leaker: error: run_command: error embedded=x***x"
expect_line c-env-exec-fail err "csdk: backend rejected api_key *** (token ***) in run_command"
expect_line c-code-syntax err "SyntaxError: unexpected *** near ***"
expect_status c-config-show 0
expect_match c-config-show out 'api_key.*\*\*\*'
expect_status c-config-show-json 0
expect_line c-config-show-json out '        "value": "***",'
expect_status c-init 1
expect_line c-init err "csdk: init rejected api_key *** and token ***"
expect_line c-unknown-key err "csdk: unknown configuration key 'api_key' for provider 'garbage'; known keys: (none)"
expect_line c-missing err "csdk: missing required configuration key 'api_key' for provider 'leaker' (the planted secret); set HOSTILE_LEAKER_API_KEY or pass api_key=VALUE in the provider configuration"

# A secret made of the mask's own character must not make the scrubbing
# loop for ever (each "*" replaced by "***" holds new matches).
WATCHDOG=15
run c-star-secret "$C" -p leaker -c 'api_key=*' exec sb-leak fail
WATCHDOG=60
expect_status c-star-secret 125
expect_match c-star-secret err '^csdk: backend rejected api_key \*+ \(token \*+\) in run_command$'

# Not one planted value in any of the outputs above.
for f in "$OUT"/*.out "$OUT"/*.err; do
	name=${f##*/}
	if grep -qF -e "$SECRET" -e "$TOKEN" "$f"; then
		fail "$name holds a planted secret: $(grep -F -e "$SECRET" -e "$TOKEN" "$f" | head -3)"
	else
		pass "$name holds no planted secret"
	fi
done

# ----------------------------------------------------------------- data
# Ids, metadata and command output are the user's data: not scrubbed. The
# logs around them still are.

OUT=$HOSTILE_TMPDIR/secrets/data
run d-create "$C" -p leaker -c "$K" -c leak=data create
expect_line d-create out "sb-$SECRET"
expect_no d-create err "$SECRET"
run d-info "$C" -p leaker -c "$K" -c leak=data --json info sb-leak
expect_line d-info out "    \"key\": \"$SECRET\""
expect_no d-info err "$SECRET"
run d-exec "$C" -p leaker -c "$K" -c leak=data exec sb-leak true
expect_line d-exec out "out $SECRET"
expect_line d-exec err "err $TOKEN"
expect_no d-exec err "api_key=$SECRET"

finish

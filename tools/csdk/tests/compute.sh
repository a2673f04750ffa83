#!/bin/sh
# Several providers from the shell: with local and example configured
# through a config file, create round-robins or falls back, the other
# commands find sandboxes by their qualified ids, config show masks
# secrets, and with one provider ids stay unqualified.
#
# Usage: compute.sh [CSDK]  (default: $CSDK, else ./csdk)
# CSDK_PLUGIN_PATH must name the directories holding csdk-local.so and csdk-example.so.
set -u

CSDK=${1:-${CSDK:-./csdk}}
work=$(mktemp -d "${TMPDIR:-/tmp}/csdk-compute.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
export CSDK_LOCAL_STATE_DIR="$work/local"
export XDG_STATE_HOME="$work/state"
export CSDK_CONFIG="$work/config"
unset CSDK_PROVIDER EXAMPLE_API_KEY
failures=0
checks=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_eq() {
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: expected [$2], got [$3]"
}
run_csdk() {
	"$CSDK" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	out=$(cat "$work/out")
	err=$(cat "$work/err")
}
config() { cat >"$CSDK_CONFIG"; chmod 600 "$CSDK_CONFIG"; }

# --- round-robin across invocations ------------------------------------------
# As root with the cgroup v1 pids controller, sandboxes get a pids limit;
# otherwise the first create in a state directory says so, once.
if [ "$(id -u)" = 0 ] && [ -w /sys/fs/cgroup/pids/cgroup.procs ]; then
	first_create_err=
else
	first_create_err="csdk: local: warning: no cgroup v1 pids controller writable at /sys/fs/cgroup/pids: sandboxes have no process limit of their own, only the rlimits processes, memory and cpu_time; run as root, or set processes (CSDK_LOCAL_PROCESSES)"
fi
config <<'EOF'
# two providers, taking turns
[csdk]
providers = local, example
strategy = round-robin

[provider example]
api_key = hunter2
EOF
run_csdk create
expect_eq "create 1: exit status" 0 "$rc"
expect_eq "create 1: stderr" "$first_create_err" "$err"
first=$out
run_csdk create
second=$out
run_csdk create
third=$out
case $first in local:local-????????????????) checks=$((checks + 1)) ;; *) fail "create 1: '$first' is not local:local-<hex>" ;; esac
case $second in example:sandbox-*) checks=$((checks + 1)) ;; *) fail "create 2: '$second' is not example:sandbox-..." ;; esac
case $third in local:local-*) checks=$((checks + 1)) ;; *) fail "create 3: '$third' is not local:..." ;; esac
expect_eq "round-robin cursor file" 3 "$(cat "$XDG_STATE_HOME/csdk/round-robin")"

# --- every command finds the sandbox by its qualified id -----------------------
run_csdk info "$first" --json
expect_eq "info qualified: exit status" 0 "$rc"
expect_eq "info qualified: id and provider" "$first local" \
	"$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["provider"])')"
run_csdk exec "$first" -- echo hi
expect_eq "exec qualified: output" hi "$out"
expect_eq "exec qualified: exit status" 0 "$rc"
bare=${third#local:}
run_csdk exec "$bare" -- echo bare
expect_eq "exec unqualified: output" bare "$out"
run_csdk list
expect_eq "list: rows are qualified" "$(printf '%s\n%s' "$first" "$third" | sort)" \
	"$(echo "$out" | awk 'NR > 1 { print $1 }' | sort)"
# example keeps sandboxes in memory: a new process has none, and says where it looked.
run_csdk info "$second"
expect_eq "info of an example sandbox in a new process: exit status" 1 "$rc"
expect_eq "info of an example sandbox in a new process: message" "csdk: no sandbox '$second' in provider 'example'" "$err"
run_csdk destroy "$first"
expect_eq "destroy qualified: exit status" 0 "$rc"
run_csdk info "$first"
expect_eq "info after destroy: message" "csdk: no sandbox '$first' in provider 'local'" "$err"
run_csdk destroy "$bare"
expect_eq "destroy unqualified: exit status" 0 "$rc"
run_csdk list
expect_eq "list after destroy" "ID  STATUS  CREATED" "$out"
run_csdk info local-0123456789abcdef
expect_eq "info unknown unqualified: message" "csdk: no sandbox 'local-0123456789abcdef' in any configured provider; qualify it as PROVIDER:ID" "$err"

# --- --provider names the provider: no routing ---------------------------------
run_csdk --provider example create
case $out in example:*) checks=$((checks + 1)) ;; *) fail "--provider example create: '$out'" ;; esac

# --- fallback, and no fallback ---------------------------------------------------
: >"$work/not-a-dir"
# The environment beats the file: clear the variable so the file's broken state_dir applies.
CSDK_LOCAL_STATE_DIR=
config <<EOF
[csdk]
providers = local, example
strategy = priority
fallback = true

[provider local]
state_dir = $work/not-a-dir/state
EOF
run_csdk create
expect_eq "fallback: exit status" 0 "$rc"
case $out in example:*) checks=$((checks + 1)) ;; *) fail "fallback: '$out' is not on example (stderr: $err)" ;; esac
sed -i 's/^fallback = true/fallback = false/' "$CSDK_CONFIG"
run_csdk create
expect_eq "no fallback: exit status" 1 "$rc"
expect_eq "no fallback: nothing printed" "" "$out"
checks=$((checks + 1))
case $err in "csdk: "*) ;; *) fail "no fallback: message '$err'" ;; esac

CSDK_LOCAL_STATE_DIR="$work/local"

# --- config show masks secrets; exposed files are warned about --------------------
config <<'EOF'
[csdk]
default = example
providers = local, example

[provider example]
api_key = hunter2
EOF
run_csdk config show
expect_eq "config show: exit status" 0 "$rc"
expect_eq "config show: masked" "api_key = ***  # file: $CSDK_CONFIG:6" "$(echo "$out" | grep '^api_key')"
expect_eq "config show: order, default first" "providers = example, local" "$(echo "$out" | grep '^providers')"
checks=$((checks + 1))
echo "$out" | grep -q hunter2 && fail "config show printed the secret"
EXAMPLE_API_KEY=from-env "$CSDK" config show --json >"$work/out"
expect_eq "config show --json: environment beats file" "*** environment EXAMPLE_API_KEY" \
	"$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["config"]["example"][0]; print(e["value"], e["source"], e["origin"])' "$work/out")"
EXAMPLE_API_KEY=from-env "$CSDK" --config api_key=cli config show --json >"$work/out"
expect_eq "config show --json: command line beats environment" "command line" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["example"][0]["source"])' "$work/out")"
chmod 644 "$CSDK_CONFIG"
run_csdk config show
expect_eq "exposed file: warning" "csdk: warning: $CSDK_CONFIG is readable by other users and may hold secrets; run 'chmod 600 $CSDK_CONFIG'" "$err"

# --- errors name the line ----------------------------------------------------------
config <<'EOF'
[csdk]
strategy = fastest
EOF
run_csdk list
expect_eq "bad file: exit status" 1 "$rc"
expect_eq "bad file: message" "csdk: $CSDK_CONFIG:2: unknown strategy 'fastest'; use priority or round-robin" "$err"

# --- snapshots routed: qualified ids, listed across providers ---------------------------
config <<'EOF'
[csdk]
default = example
providers = example, local
EOF
run_csdk -p local create
sb=$out
run_csdk snapshot create "$sb" --name routed
expect_eq "snapshot create: exit status" 0 "$rc"
snap=$out
case $snap in local:snap-*) checks=$((checks + 1)) ;; *) fail "snapshot create: '$snap' is not local:snap-..." ;; esac
run_csdk snapshot list
expect_eq "snapshot list: exit status (example has no snapshots, local is listed)" 0 "$rc"
expect_eq "snapshot list: the local snapshot, qualified" "$snap routed" "$(printf '%s\n' "$out" | awk 'NR > 1 { print $1, $2 }')"
run_csdk create --snapshot "$snap"
expect_eq "create from a qualified snapshot: exit status" 0 "$rc"
case $out in local:local-*) checks=$((checks + 1)) ;; *) fail "create --snapshot $snap: '$out' was not made by local" ;; esac
"$CSDK" destroy "$out"
run_csdk -p example create --snapshot snap-nonexistent
expect_eq "create from a snapshot on a provider without snapshots: exit status" 1 "$rc"
expect_eq "create from a snapshot on a provider without snapshots: message" "csdk: Provider 'example' does not support snapshots." "$err"
run_csdk snapshot delete "$snap"
expect_eq "snapshot delete qualified: exit status" 0 "$rc"
run_csdk snapshot list
expect_eq "snapshot list after delete" "ID  NAME  CREATED" "$out"
"$CSDK" destroy "$sb"

# --- one provider: ids unqualified ----------------------------------------------------
config <<'EOF'
[csdk]
providers = local
EOF
run_csdk create
case $out in local-????????????????) checks=$((checks + 1)) ;; *) fail "one provider: id '$out' is qualified" ;; esac
id=$out
run_csdk exec "local:$id" -- echo both-forms
expect_eq "one provider: qualified id accepted" both-forms "$out"
"$CSDK" destroy "$id"

echo "compute.sh: $checks checks, $failures failed"
[ $failures -eq 0 ]

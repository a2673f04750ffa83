# Helpers shared by the agent tests (sourced). CSDK_AGENT is the binary.
T=$(mktemp -d "${TMPDIR:-/tmp}/csdk-agent-test.XXXXXX")
AGENT_PID=
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	[ -f "$T/agent.err" ] && sed 's/^/agent stderr: /' "$T/agent.err" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

need_python() {
	command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
}

# agent_start [--listen ADDR] [OPTION]...: waits for the address, sets AGENT_ADDR.
agent_start() {
	case " $* " in
	*" --listen "*) ;;
	*) set -- --listen 127.0.0.1:0 "$@" ;;
	esac
	"$CSDK_AGENT" "$@" >"$T/agent.out" 2>"$T/agent.err" &
	AGENT_PID=$!
	agent_wait_listening
}

agent_wait_listening() {
	i=0
	while ! grep -q 'listening on' "$T/agent.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 600 ] && fail "csdk-agent did not start listening within 30 s"
		kill -0 "$AGENT_PID" 2>/dev/null || fail "csdk-agent exited at start"
		sleep 0.05
	done
	AGENT_ADDR=$(sed -n 's/^csdk-agent: listening on //p' "$T/agent.out" | head -n 1)
}

agent_stop() {
	kill "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

client() {
	python3 "$AGENT_TESTS_DIR/client.py" "$@"
}

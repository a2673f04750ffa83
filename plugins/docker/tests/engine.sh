#!/bin/sh
# engine.sh start|stop STATE_DIR - a private dockerd for the tests.
# start: prints DOCKER_HOST=unix://... once the engine answers /_ping;
# exits 77 with a reason when it cannot run one (not root, no dockerd), or
# 99 when CSDK_TEST_REQUIRE_DOCKER=1 says an engine is required (CI).
# The socket, data root and exec root live under a short directory in /tmp
# (unix socket paths are limited to 107 bytes); STATE_DIR remembers it.
# The engine also listens on tcp://127.0.0.1:PORT (an ephemeral port; plain
# HTTP, so root on this machine for whoever reaches it while the tests run),
# written to tcp-host next to the socket: the tests of a remote engine.
#
# engine.sh lock-path NAME - the file to flock(1) to serialize NAME
# ("tests", "images") on the engine at $DOCKER_HOST: next to its unix socket
# when that directory is writable, else in ${TMPDIR:-/tmp} under a name made
# from $DOCKER_HOST. Tests that share one engine hold the "tests" lock.
set -eu
cmd=${1:-}
if [ "$cmd" = lock-path ]; then
	name=${2:?usage: engine.sh lock-path NAME}
	case ${DOCKER_HOST:-unix:///var/run/docker.sock} in
	unix://*) sock=${DOCKER_HOST:-unix:///var/run/docker.sock}; sock=${sock#unix://} ;;
	*) sock= ;;
	esac
	if [ -n "$sock" ] && [ -w "$(dirname "$sock")" ]; then
		echo "$(dirname "$sock")/csdk-$name.lock"
	else
		echo "${TMPDIR:-/tmp}/csdk-$name-$(printf '%s' "${DOCKER_HOST:-}" | cksum | cut -d' ' -f1).lock"
	fi
	exit 0
fi
state=${2:?usage: engine.sh start|stop STATE_DIR}
log() { echo "engine.sh: $*" >&2; }
# skip REASON: exit 77 (SKIP), or 99 (hard error) when CSDK_TEST_REQUIRE_DOCKER=1 (CI)
skip() {
	log "SKIP: $*"
	[ "${CSDK_TEST_REQUIRE_DOCKER:-}" = 1 ] && { log "CSDK_TEST_REQUIRE_DOCKER=1: an engine is required, failing"; exit 99; }
	exit 77
}

case $cmd in
start)
	[ "$(id -u)" = 0 ] || skip "not root, cannot start a private dockerd"
	dockerd=$(command -v dockerd) || skip "dockerd not found (apt-get install docker.io)"
	mkdir -p "$state"
	dir=$(mktemp -d /tmp/csdk-dk.XXXXXX)
	echo "$dir" > "$state/engine-dir"
	mkdir -p "$dir/run"
	start=$(date +%s)
	"$dockerd" --host "unix://$dir/run/docker.sock" --host tcp://127.0.0.1:0 --data-root "$dir/root" --exec-root "$dir/exec" \
		--pidfile "$dir/run/docker.pid" --bridge=none --iptables=false --ip-masq=false \
		>"$dir/dockerd.log" 2>&1 &
	echo $! > "$state/engine-pid"
	i=0
	until curl -sf --unix-socket "$dir/run/docker.sock" http://localhost/_ping >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$(cat "$state/engine-pid")" 2>/dev/null; then
			tail -5 "$dir/dockerd.log" >&2 || true
			skip "dockerd did not answer within 30 s; its log: $dir/dockerd.log"
		fi
		sleep 0.1
	done
	i=0
	until tcp=$(sed -n 's/.*API listen on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$dir/dockerd.log" | head -1) && [ -n "$tcp" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && { log "dockerd logged no TCP listener; tests of a tcp:// engine will start their own"; break; }
		sleep 0.1
	done
	[ -n "$tcp" ] && echo "tcp://$tcp" > "$dir/run/tcp-host"
	log "dockerd up in $(( $(date +%s) - start )) s at unix://$dir/run/docker.sock${tcp:+ and tcp://$tcp}"
	echo "DOCKER_HOST=unix://$dir/run/docker.sock"
	;;
stop)
	[ -f "$state/engine-pid" ] || exit 0
	pid=$(cat "$state/engine-pid")
	dir=$(cat "$state/engine-dir")
	if kill "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null || true
	fi
	# containers' mounts may linger under the data root
	grep " $dir/" /proc/mounts | cut -d' ' -f2 | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$dir"
	rm -f "$state/engine-pid" "$state/engine-dir"
	;;
*)
	echo "usage: engine.sh start|stop STATE_DIR" >&2
	exit 2
	;;
esac

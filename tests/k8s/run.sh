#!/bin/sh
# The k8s provider against a real single-node cluster (cluster.sh): the
# conformance kit, the engine tests, the WebSocket v5 test server case.
# Run from a built tree (./configure && make; make -C plugins/k8s check
# builds the test programs). Ends with "N passed, N failed".
# Without root or the packages the cluster step SKIPs (exit 77), unless
# CSDK_TEST_REQUIRE_K8S=1 makes that a failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
here=$top/tests/k8s
dir=${CSDK_K8S_DIR:-/var/tmp/csdk-k8s-test}
passed=0 failed=0 skipped=0
result() { # NAME RC
	case $2 in
	0) echo "PASS   $1"; passed=$((passed + 1)) ;;
	77) echo "SKIP   $1"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL   $1 (exit $2)"; failed=$((failed + 1)) ;;
	esac
}
make -s -C plugins/k8s tests/test-engine tests/test-wsv5 >/dev/null || { echo "building the k8s tests failed"; echo "0 passed, 1 failed"; exit 1; }

# the WebSocket v5 test server needs no cluster
plugins/k8s/tests/wsv5.sh
result "ws-v5-test-server (close-stdin frame, v5 only)" $?

# one test cluster per machine (its ports are fixed): runs take turns; the
# cluster's daemons do not hold the lock (9>&-)
if [ -w /var/lock ]; then
	exec 9>/var/lock/csdk-k8s-cluster
	flock -n 9 || { echo "another test cluster runs on this machine: waiting for it (/var/lock/csdk-k8s-cluster)"; flock 9; }
fi
t0=$(date +%s)
"$here/cluster.sh" down "$dir" >/dev/null 2>&1
kubelet_dirs="/var/lib/kubelet /var/log/pods /var/log/containers"
before=$(ls -d $kubelet_dirs 2>/dev/null)
CSDK_K8S_IMAGES=debian "$here/cluster.sh" up "$dir" 9>&-
rc=$?
echo "cluster up: $(( $(date +%s) - t0 )) s"
if [ $rc -ne 0 ]; then
	result "cluster up" $rc
	"$here/cluster.sh" down "$dir" >/dev/null 2>&1
	[ $rc -eq 77 ] && [ "${CSDK_TEST_REQUIRE_K8S:-}" != 1 ] && { echo "$skipped skipped"; echo "$passed passed, $failed failed"; exit 77; }
	echo "$passed passed, $failed failed"
	exit 1
fi
trap '"$here/cluster.sh" down "$dir"' EXIT INT TERM
KUBECONFIG=$dir/kubeconfig
CSDK_K8S_NODE_NAME=127.0.0.1
CSDK_K8S_HOST_NETWORK=true
CSDK_K8S_IMAGE=docker.io/local/debian:bookworm
CSDK_K8S_IMAGE_PULL_POLICY=Never
CSDK_K8S_URL_TEMPLATE='{protocol}://127.0.0.1:{port}'
CSDK_PLUGIN_PATH=$top/plugins/k8s/.libs
CSDK_K8S_TEST_SERVER=https://127.0.0.1:${CSDK_K8S_API_PORT:-16443} CSDK_K8S_TEST_TOKEN=admintoken
export CSDK_K8S_TEST_SERVER CSDK_K8S_TEST_TOKEN
export KUBECONFIG CSDK_K8S_NODE_NAME CSDK_K8S_HOST_NETWORK CSDK_K8S_IMAGE CSDK_K8S_IMAGE_PULL_POLICY CSDK_K8S_URL_TEMPLATE CSDK_PLUGIN_PATH

t0=$(date +%s)
tools/csdk-plugins/csdk-plugins test k8s | tee "$dir/kit.log"
rc=$?
echo "conformance kit: $(( $(date +%s) - t0 )) s"
result "csdk-plugins test k8s" $rc

# gateway mode: csdk-agent from the build tree, mounted from this machine (the node)
t0=$(date +%s)
CSDK_K8S_AGENT=$top/agent/csdk-agent tools/csdk-plugins/csdk-plugins test k8s --config mode=gateway | tee "$dir/kit-gateway.log"
rc=$?
echo "conformance kit, gateway mode: $(( $(date +%s) - t0 )) s"
result "csdk-plugins test k8s --config mode=gateway" $rc

# commands in gateway mode make no pods/exec connection but go through
# pods/portforward: the plugin logs each WebSocket (CSDK_DEBUG=k8s)
execs() { # MODE: the command's output, then how many exec and port-forward WebSockets it opened
	CSDK_DEBUG=k8s CSDK_K8S_MODE=$1 CSDK_K8S_AGENT=$top/agent/csdk-agent tools/csdk/csdk --provider k8s run -- sh -c 'echo via-$0' "$1" 2>"$dir/execs.log"
	grep -c 'pods/exec WebSocket' "$dir/execs.log"
	grep -c 'pods/portforward WebSocket' "$dir/execs.log"
}
d=$(execs direct | tr '\n' ' ') g=$(execs gateway | tr '\n' ' ')
[ "${d#via-direct }" != "$d" ] && [ "${d#via-direct 0 }" = "$d" ] && [ "${d% 0 }" != "$d" ] &&
	[ "${g#via-gateway 0 }" != "$g" ] && [ "${g% 0 }" = "$g" ]
result "no pods/exec in gateway mode, pods/portforward instead (direct: [$d], gateway: [$g])" $?

out=$(KUBECONFIG=$dir/kubeconfig-cert tools/csdk/csdk --provider k8s run -- sh -c 'echo verified; exit 7')
rc=$?
[ "$rc" = 7 ] && [ "$out" = verified ]
result "client certificate, CA-verified TLS (kubeconfig-cert): exit $rc, [$out]" $?
# gateway_transport=pod-ip, the former path: works where pod IPs are reachable (here), and a
# sandbox made for one transport is refused by the other, naming the one to use
pod_ip() {
	id=$(CSDK_K8S_MODE=gateway CSDK_K8S_GATEWAY_TRANSPORT=pod-ip CSDK_K8S_AGENT=$top/agent/csdk-agent tools/csdk/csdk --provider k8s create) || return 1
	CSDK_K8S_MODE=gateway CSDK_K8S_GATEWAY_TRANSPORT=pod-ip tools/csdk/csdk --provider k8s exec "$id" -- sh -c 'echo via-pod-ip'
	CSDK_K8S_MODE=gateway tools/csdk/csdk --provider k8s exec "$id" -- true 2>&1 | sed "s/$id/ID/"
	tools/csdk/csdk --provider k8s destroy "$id"
}
out=$(pod_ip | tr '\n' '|')
[ "$out" = "via-pod-ip|csdk: sandbox ID was created with gateway_transport=pod-ip, whose agent cannot be reached through port-forward; use gateway_transport=pod-ip|" ]
result "gateway_transport=pod-ip, and a sandbox of one transport refused by the other: [$out]" $?

# gateway mode too: the port-forward carries the client certificate, the host's envd client needs none
out=$(KUBECONFIG=$dir/kubeconfig-cert CSDK_K8S_MODE=gateway CSDK_K8S_AGENT=$top/agent/csdk-agent tools/csdk/csdk --provider k8s run -- sh -c 'echo verified; exit 7')
rc=$?
[ "$rc" = 7 ] && [ "$out" = verified ]
result "client certificate in gateway mode (port-forward): exit $rc, [$out]" $?

# not-found messages, exact: the host's filesystem over commands (direct) and csdk-agent's (gateway)
fs_missing() { # MODE
	id=$(CSDK_K8S_MODE=$1 CSDK_K8S_AGENT=$top/agent/csdk-agent tools/csdk/csdk --provider k8s create) || return 1
	r=$(CSDK_K8S_MODE=$1 tools/csdk/csdk --provider k8s fs "$id" read /tmp/never-written 2>&1; echo "exit $?")
	l=$(CSDK_K8S_MODE=$1 tools/csdk/csdk --provider k8s fs "$id" ls /tmp/no-dir 2>&1; echo "exit $?")
	tools/csdk/csdk --provider k8s destroy "$id"
	echo "$r|$l" | tr '\n' ' '
}
out=$(fs_missing direct)
[ "$out" = "csdk: no such file: /tmp/never-written exit 1|csdk: no such directory: /tmp/no-dir exit 1 " ]
result "fs not found, direct mode: [$out]" $?
out=$(fs_missing gateway)
[ "$out" = "csdk: no such file: /tmp/never-written exit 1|csdk: path not found: lstat /tmp/no-dir: No such file or directory exit 1 " ]
result "fs not found, gateway mode: [$out]" $?

# in a pod: no kubeconfig, the service account's files at their fixed path
# (a private mount namespace puts them there) and KUBERNETES_SERVICE_HOST
sa=$dir/serviceaccount
mkdir -p "$sa" && printf admintoken > "$sa/token" && cp "$dir/apiserver/apiserver.crt" "$sa/ca.crt" && printf default > "$sa/namespace"
out=$(env -u KUBECONFIG HOME="$dir/no-home" KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=${CSDK_K8S_API_PORT:-16443} \
	unshare -m --propagation private sh -c 'mount -t tmpfs csdk-sa /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount &&
		mount --bind "$0" /run/secrets/kubernetes.io/serviceaccount && exec "$@"' "$sa" \
	tools/csdk/csdk --provider k8s run -- sh -c 'echo in-cluster; exit 5' 2>&1)
rc=$?
[ "$rc" = 5 ] && [ "$out" = in-cluster ]
result "in-cluster service account (token, ca.crt, namespace; CA-verified TLS): exit $rc, [$out]" $?

# secrets are never printed: not in an API error, not in the debug log
out=$(CSDK_K8S_TOKEN=s3cret-never-printed CSDK_DEBUG=k8s tools/csdk/csdk --provider k8s list 2>&1 >/dev/null)
rc=$?
[ "$rc" != 0 ] && [ -n "$out" ] && [ "${out#*s3cret-never-printed}" = "$out" ] && ! grep -q admintoken "$dir/execs.log"
result "a rejected token is not printed (exit $rc: $(echo "$out" | head -n 1))" $?

t0=$(date +%s)
CSDK_K8S_AGENT=$top/agent/csdk-agent plugins/k8s/tests/test-engine
result "k8s engine tests" $?
echo "engine tests: $(( $(date +%s) - t0 )) s"

left=$(curl -sk -H "Authorization: Bearer admintoken" \
	"https://127.0.0.1:${CSDK_K8S_API_PORT:-16443}/api/v1/namespaces/default/pods?labelSelector=computesdk.com%2Fsandbox%3Dtrue" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$left" = 0 ]
result "no sandbox pods left behind ($left left)" $?

trap - EXIT INT TERM
t0=$(date +%s)
"$here/cluster.sh" down "$dir"
rc=$?
after=$(ls -d $kubelet_dirs 2>/dev/null)
[ $rc -eq 0 ] && ! pgrep -f "$dir" >/dev/null && [ ! -e "$dir" ] && ! grep -q "$dir" /proc/mounts &&
	! grep -q ' /var/lib/kubelet' /proc/mounts && ! ls -d /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods >/dev/null 2>&1 &&
	[ "$after" = "$before" ]
result "cluster down leaves nothing behind (processes, mounts, kubepods cgroups, $dir, kubelet dirs)" $?
echo "cluster down: $(( $(date +%s) - t0 )) s"
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

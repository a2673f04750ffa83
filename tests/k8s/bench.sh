#!/bin/sh
# bench.sh DIR [N] - time to interactive and per-command latency of the k8s
# provider on the cluster cluster.sh started in DIR, against kubectl in the
# same run: `kubectl run --rm -i` (TTI) and `kubectl exec` (per command).
# Both sides are a fresh CLI process per iteration, so the ratio compares
# like with like. Gateway mode (csdk-agent in the pod, CSDK_K8S_AGENT: the
# build tree's) is measured in the same loops, against direct mode, over
# port-forward and over the pod's IP (gateway_transport=pod-ip). Then
# `csdk bench cmd` times commands inside one process, where a sandbox
# handle is kept. Prints Markdown tables for BENCHMARKS.md.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1 n=${2:-10}
kubectl="$(cat "$dir/bin")/kubectl --kubeconfig $dir/kubeconfig"
csdk=$top/tools/csdk/csdk
KUBECONFIG=$dir/kubeconfig
CSDK_PLUGIN_PATH=$top/plugins/k8s/.libs
CSDK_K8S_NODE_NAME=127.0.0.1 CSDK_K8S_HOST_NETWORK=true CSDK_K8S_IMAGE_PULL_POLICY=Never
CSDK_K8S_IMAGE=docker.io/local/debian:bookworm
CSDK_K8S_AGENT=${CSDK_K8S_AGENT:-$top/agent/csdk-agent}
export KUBECONFIG CSDK_PLUGIN_PATH CSDK_K8S_AGENT CSDK_K8S_NODE_NAME CSDK_K8S_HOST_NETWORK CSDK_K8S_IMAGE_PULL_POLICY CSDK_K8S_IMAGE
overrides='{"apiVersion":"v1","spec":{"nodeName":"127.0.0.1","hostNetwork":true,"automountServiceAccountToken":false}}'
ms() { echo $(( $(date +%s%N) / 1000000 )); }
stats() { # FILE: median p90 (ms)
	sort -n "$1" | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; p=a[int(NR*0.9+0.5)]; printf "%d %d", m, p}'
}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
for i in $(seq 1 "$n"); do
	s=$(ms); "$csdk" --provider k8s run -- node -v >/dev/null; echo $(( $(ms) - s )) >> "$t/tti-csdk"
	s=$(ms); CSDK_K8S_MODE=gateway "$csdk" --provider k8s run -- node -v >/dev/null; echo $(( $(ms) - s )) >> "$t/tti-gw"
	s=$(ms); $kubectl run "csdk-bench-$i" --rm -i --restart=Never --image="$CSDK_K8S_IMAGE" \
		--image-pull-policy=Never --overrides="$overrides" --command -- node -v >/dev/null 2>&1
	echo $(( $(ms) - s )) >> "$t/tti-kubectl"
done
id=$("$csdk" --provider k8s create)
gw=$(CSDK_K8S_MODE=gateway "$csdk" --provider k8s create)
gwip=$(CSDK_K8S_MODE=gateway CSDK_K8S_GATEWAY_TRANSPORT=pod-ip "$csdk" --provider k8s create)
$kubectl run csdk-bench-exec --restart=Never --image="$CSDK_K8S_IMAGE" --image-pull-policy=Never \
	--overrides="$overrides" --command -- sleep 3600 >/dev/null
$kubectl wait --for=condition=Ready pod/csdk-bench-exec --timeout=60s >/dev/null
for i in $(seq 1 "$n"); do
	s=$(ms); "$csdk" --provider k8s exec "$id" true; echo $(( $(ms) - s )) >> "$t/cmd-csdk"
	s=$(ms); CSDK_K8S_MODE=gateway "$csdk" --provider k8s exec "$gw" true; echo $(( $(ms) - s )) >> "$t/cmd-gw"
	s=$(ms); CSDK_K8S_MODE=gateway CSDK_K8S_GATEWAY_TRANSPORT=pod-ip "$csdk" --provider k8s exec "$gwip" true
	echo $(( $(ms) - s )) >> "$t/cmd-gwip"
	s=$(ms); $kubectl exec csdk-bench-exec -- true; echo $(( $(ms) - s )) >> "$t/cmd-kubectl"
done
"$csdk" --provider k8s destroy "$id"
"$csdk" --provider k8s destroy "$gw"
"$csdk" --provider k8s destroy "$gwip"
$kubectl delete pod csdk-bench-exec --grace-period=0 --force >/dev/null 2>&1 || true
set -- $(stats "$t/tti-csdk"); a1=$1 a2=$2
set -- $(stats "$t/tti-kubectl"); b1=$1 b2=$2
set -- $(stats "$t/cmd-csdk"); c1=$1 c2=$2
set -- $(stats "$t/cmd-kubectl"); d1=$1 d2=$2
set -- $(stats "$t/tti-gw"); e1=$1 e2=$2
set -- $(stats "$t/cmd-gw"); f1=$1 f2=$2
set -- $(stats "$t/cmd-gwip"); g1=$1 g2=$2
echo "| figure ($n iterations, interleaved) | csdk k8s median / p90 | kubectl median / p90 | ratio of medians (csdk / kubectl) |"
echo "|---|---|---|---|"
echo "| time to interactive: create, \`node -v\`, destroy | $a1 / $a2 ms | $b1 / $b2 ms (\`kubectl run --rm -i\`) | $(echo "scale=2; $a1 / $b1" | bc) |"
echo "| per command: \`true\` in a running sandbox | $c1 / $c2 ms | $d1 / $d2 ms (\`kubectl exec\`) | $(echo "scale=2; $c1 / $d1" | bc) |"
echo
echo "| figure ($n iterations, interleaved) | gateway mode median / p90 | direct mode median / p90 | ratio of medians (gateway / direct) |"
echo "|---|---|---|---|"
echo "| time to interactive: create, \`node -v\`, destroy | $e1 / $e2 ms | $a1 / $a2 ms | $(echo "scale=2; $e1 / $a1" | bc) |"
echo "| per command: \`csdk exec ID true\` | $f1 / $f2 ms | $c1 / $c2 ms | $(echo "scale=2; $f1 / $c1" | bc) |"
echo
echo "| figure ($n iterations, interleaved) | gateway over port-forward median / p90 | gateway over the pod's IP median / p90 | ratio of medians (port-forward / pod IP) |"
echo "|---|---|---|---|"
echo "| per command: \`csdk exec ID true\` | $f1 / $f2 ms | $g1 / $g2 ms | $(echo "scale=2; $f1 / $g1" | bc) |"
echo
echo "In one process (\`csdk bench cmd\`, a sandbox handle kept):"
echo
echo "gateway_transport=portforward (and direct mode):"
"$csdk" --provider k8s bench cmd --mode direct --mode gateway -n $(( n * 5 )) --command true
echo "gateway_transport=pod-ip:"
CSDK_K8S_GATEWAY_TRANSPORT=pod-ip "$csdk" --provider k8s bench cmd --mode gateway -n $(( n * 5 )) --command true

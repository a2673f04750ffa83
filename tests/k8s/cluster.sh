#!/bin/sh
# cluster.sh up|down DIR - a private single-node Kubernetes on 127.0.0.1:
# etcd, containerd (built-in CRI), kube-apiserver and kubelet v1.20.2 built
# from Debian's kubernetes source package (build-k8s.sh, cached), pods on the
# host network, images imported from local tarballs (images.sh). `up` writes
# DIR/kubeconfig; `down` leaves no processes, mounts, cgroups or directories.
# Without root or the packages: exit 77 with the reason, or 99 when
# CSDK_TEST_REQUIRE_K8S=1 says the cluster is required.
# See docs/k8s-provider.md and kubernetes-single-node notes there.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-} dir=${2:-}
[ -n "$dir" ] || { echo "usage: cluster.sh up|down DIR" >&2; exit 2; }
log() { echo "cluster.sh: $*" >&2; }
skip() {
	log "$*"
	[ "${CSDK_TEST_REQUIRE_K8S:-}" = 1 ] && { log "CSDK_TEST_REQUIRE_K8S=1: the cluster is required, failing"; exit 99; }
	exit 77
}
api_port=${CSDK_K8S_API_PORT:-16443}

up() {
	[ "$(id -u)" = 0 ] || skip "not root: containerd and the kubelet need root"
	for b in etcd containerd runc ctr busybox openssl curl; do
		command -v $b >/dev/null || skip "$b not found; apt-get install etcd-server containerd runc busybox-static openssl curl"
	done
	[ -x /usr/lib/go-1.19/bin/go ] || [ -n "${CSDK_K8S_BIN:-}" ] ||
		skip "go 1.19 not found to build the cluster; apt-get install golang-1.19-go rsync golang-github-modern-go-reflect2-dev"
	bin=${CSDK_K8S_BIN:-}
	if [ -z "$bin" ]; then
		bin=$("$here/build-k8s.sh" | tail -n 1) || { log "building kubernetes failed"; exit 99; }
	fi
	mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
	echo "$bin" > "$dir/bin"
	mkdir -p "$dir/run" "$dir/logs" "$dir/cni/net.d" "$dir/cni/bin" "$dir/apiserver" "$dir/kubelet" "$dir/kubelet-pki" "$dir/images"
	: > "$dir/created"
	for d in /var/lib/kubelet /var/lib/kubelet/device-plugins /var/log/pods /var/log/containers; do
		[ -e "$d" ] || { mkdir -p "$d" && echo "$d" >> "$dir/created"; }
	done
	start=$(date +%s)
	echo '{"cniVersion":"0.4.0","name":"hostnet-only","plugins":[{"type":"loopback"}]}' > "$dir/cni/net.d/10-hostnet.conflist"
	cat > "$dir/containerd.toml" <<EOT
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$dir/run/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/local/pause:1"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_tcp_service = true
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/net.d"
EOT
	containerd --config "$dir/containerd.toml" > "$dir/logs/containerd.log" 2>&1 &
	echo $! > "$dir/containerd.pid"
	for k in busybox pause ${CSDK_K8S_IMAGES:-}; do
		"$here/images.sh" "$k" "${CSDK_K8S_IMAGE_CACHE:-/var/cache/csdk/k8s/images}/$k.tar" || { log "image $k failed"; exit 99; }
	done
	i=0; until [ -S "$dir/run/containerd.sock" ]; do i=$((i+1)); [ $i -gt 600 ] && { log "containerd did not start within 60 s, see $dir/logs/containerd.log"; exit 99; }; sleep 0.1; done
	for k in busybox pause ${CSDK_K8S_IMAGES:-}; do
		ctr -a "$dir/run/containerd.sock" -n k8s.io images import "${CSDK_K8S_IMAGE_CACHE:-/var/cache/csdk/k8s/images}/$k.tar" >/dev/null ||
			{ log "importing image $k failed"; exit 99; }
	done
	etcd --name csdk --data-dir "$dir/etcd" --listen-client-urls http://127.0.0.1:23790 \
		--advertise-client-urls http://127.0.0.1:23790 --listen-peer-urls http://127.0.0.1:23800 \
		--initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster csdk=http://127.0.0.1:23800 \
		> "$dir/logs/etcd.log" 2>&1 &
	echo $! > "$dir/etcd.pid"
	openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null && openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
	# a client CA and a system:masters certificate, for the kubeconfig that verifies TLS
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/client-ca.key" -out "$dir/client-ca.crt" -days 2 \
		-subj /CN=csdk-test-client-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout "$dir/client.key" -out "$dir/client.csr" \
		-subj "/O=system:masters/CN=csdk-admin" 2>/dev/null &&
	openssl x509 -req -in "$dir/client.csr" -CA "$dir/client-ca.crt" -CAkey "$dir/client-ca.key" -CAcreateserial \
		-out "$dir/client.crt" -days 2 2>/dev/null || { log "openssl failed making test certificates"; exit 99; }
	printf 'admintoken,admin,admin,"system:masters"\nkubelettoken,system:node:127.0.0.1,kubelet,"system:nodes"\n' > "$dir/tokens.csv"
	"$bin/kube-apiserver" --etcd-servers=http://127.0.0.1:23790 --service-account-key-file="$dir/sa.pub" \
		--service-account-signing-key-file="$dir/sa.key" --service-account-issuer=https://kubernetes.default.svc \
		--token-auth-file="$dir/tokens.csv" --client-ca-file="$dir/client-ca.crt" --authorization-mode=AlwaysAllow --secure-port=$api_port \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --cert-dir="$dir/apiserver" \
		--service-cluster-ip-range=10.0.0.0/24 --disable-admission-plugins=ServiceAccount,TaintNodesByCondition \
		--kubelet-preferred-address-types=InternalIP,Hostname > "$dir/logs/kube-apiserver.log" 2>&1 &
	echo $! > "$dir/kube-apiserver.pid"
	i=0; until curl -skf -H "Authorization: Bearer admintoken" "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; do
		i=$((i+1)); [ $i -gt 300 ] && { log "kube-apiserver not ready, see $dir/logs/kube-apiserver.log"; exit 99; }; sleep 0.2
	done
	kubeconfig "$dir/kubeconfig" admintoken
	kubeconfig "$dir/kubelet.kubeconfig" kubelettoken
	# the same admin by client certificate, the server verified against its own CA (paths relative)
	cat > "$dir/kubeconfig-cert" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: csdk-test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: apiserver/apiserver.crt
users:
- name: cert
  user:
    client-certificate-data: $(base64 -w0 < "$dir/client.crt")
    client-key: client.key
contexts:
- name: csdk-test
  context: {cluster: csdk-test, user: cert}
current-context: csdk-test
EOT
	cat > "$dir/kubelet-config.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failSwapOn: false
makeIPTablesUtilChains: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"}
nodeStatusUpdateFrequency: 2s
EOT
	"$bin/kubelet" --kubeconfig="$dir/kubelet.kubeconfig" --config="$dir/kubelet-config.yaml" \
		--container-runtime=remote --container-runtime-endpoint="unix://$dir/run/containerd.sock" \
		--hostname-override=127.0.0.1 --root-dir="$dir/kubelet" --cert-dir="$dir/kubelet-pki" \
		> "$dir/logs/kubelet.log" 2>&1 &
	echo $! > "$dir/kubelet.pid"
	i=0; until curl -sk -H "Authorization: Bearer admintoken" "https://127.0.0.1:$api_port/api/v1/nodes/127.0.0.1" 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(c["type"]=="Ready" and c["status"]=="True" for c in d.get("status",{}).get("conditions",[])) else 1)' 2>/dev/null; do
		i=$((i+1)); [ $i -gt 600 ] && { log "node not Ready within 120 s, see $dir/logs/kubelet.log"; exit 99; }; sleep 0.2
	done
	log "cluster up in $(( $(date +%s) - start )) s: KUBECONFIG=$dir/kubeconfig"
}

kubeconfig() {
	cat > "$1" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: csdk-test
  cluster:
    server: https://127.0.0.1:$api_port
    insecure-skip-tls-verify: true
users:
- name: user
  user:
    token: $2
contexts:
- name: csdk-test
  context:
    cluster: csdk-test
    user: user
    namespace: default
current-context: csdk-test
EOT
}

stop_pid() {
	[ -s "$dir/$1.pid" ] || return 0
	p=$(cat "$dir/$1.pid")
	if kill "$p" 2>/dev/null; then
		i=0; while kill -0 "$p" 2>/dev/null; do i=$((i+1)); [ $i -gt 50 ] && { kill -9 "$p" 2>/dev/null; sleep 0.2; break; }; sleep 0.1; done
	fi
	rm -f "$dir/$1.pid"
}

down() {
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	# TERM to all three at once: each may take seconds to stop
	for n in kubelet kube-apiserver etcd; do [ -s "$dir/$n.pid" ] && kill "$(cat "$dir/$n.pid")" 2>/dev/null; done
	stop_pid kubelet
	stop_pid kube-apiserver
	stop_pid etcd
	if [ -S "$dir/run/containerd.sock" ]; then
		c="ctr -a $dir/run/containerd.sock -n k8s.io"
		for t in $($c tasks ls -q 2>/dev/null); do $c tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
		sleep 0.3
		for t in $($c tasks ls -q 2>/dev/null); do $c tasks delete -f "$t" >/dev/null 2>&1; done
		for t in $($c containers ls -q 2>/dev/null); do $c containers delete "$t" >/dev/null 2>&1; done
	fi
	stop_pid containerd
	# shims that outlived containerd: those started with our private socket
	for p in $(grep -l -- "$dir/run/containerd.sock" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
		kill -9 "$p" 2>/dev/null
	done
	sleep 0.2
	for m in $(awk -v d="$dir" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	for m in $(awk '$2 ~ "^/var/lib/kubelet/" {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
		[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	if [ -s "$dir/created" ]; then
		sort -r "$dir/created" | while read -r d; do rm -rf "$d"; done
	fi
	rm -rf "$dir"
	[ ! -e "$dir" ] || { log "could not remove $dir"; return 1; }
}

case $cmd in
up) up ;;
down) down ;;
*) echo "usage: cluster.sh up|down DIR" >&2; exit 2 ;;
esac

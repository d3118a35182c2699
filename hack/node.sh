# The real node of the local cluster: containerd (Debian's), runc, the CNI bridge plugin and a
# kubelet built from the pinned Kubernetes. Sourced by cluster.sh, which defines STATE, OUT,
# BIN_DIR, start, wait_for, log, die and kubectl_admin.
#
# What the node changes on the host, and node_clean undoes: sysctls (saved before, restored
# after), iptables chains KUBE-* and ORCH-APISERVER, kubepods cgroups, mounts under $STATE and
# /run/netns, the cni0 bridge, /var/lib/kubelet/{device-plugins,pod-resources},
# /var/log/containers links, /run/containerd/s, and every process in the node's pods, shims
# included.
#
# Pods reach the API server as on any cluster, at the kubernetes Service's IP (10.96.0.1:443,
# KUBERNETES_SERVICE_HOST/PORT in every pod): there is no kube-proxy, so one DNAT rule sends
# it to the API server on 127.0.0.1, and pods get a default route through cni0.

REAL_NODE=real-node-0
CTD=$STATE/containerd
CTD_SOCK=$CTD/containerd.sock
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward)
POD_GATEWAY=10.244.0.1/24
SERVICE_IP=10.96.0.1  # the first of the API server's --service-cluster-ip-range: Service kubernetes
APISERVER_CHAIN=ORCH-APISERVER

node_config() {
  local pki=$STATE/pki
  mkdir -p "$CTD" "$STATE/cni/net.d" "$STATE/kubelet" "$STATE/pod-logs"
  cat >"$CTD/config.toml" <<TOML
version = 2
root = "$CTD/root"
state = "$CTD/state"
[grpc]
  address = "$CTD_SOCK"
[ttrpc]
  address = "$CTD_SOCK.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # The sandbox lacks CAP_SYS_RESOURCE: runc must not lower oom_score_adj below its own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
  cat >"$STATE/cni/net.d/10-orchestrator.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "orchestrator", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "isDefaultGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "dataDir": "$STATE/cni/ipam"}}
]}
JSON
  cert kubelet "/O=system:nodes/CN=system:node:$REAL_NODE"
  cert kubelet-serving "/CN=$REAL_NODE" "subjectAltName=IP:127.0.0.1,DNS:$REAL_NODE,DNS:localhost"
  kubeconfig kubelet "$STATE/kubelet.kubeconfig"
  cat >"$STATE/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://$CTD_SOCK
podLogsDir: $STATE/pod-logs
clusterDomain: cluster.local
serializeImagePulls: false
# The pod log API returns only a container's current log file: rotate late, so that tests of
# large output (10 MiB) read all of it.
containerLogMaxSize: 64Mi
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
YAML
}

node_up() {
  local missing=()
  for p in containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins \
           iptables:iptables conntrack:conntrack debootstrap:debootstrap; do
    [ -e "${p%%:*}" ] || command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}")
  done
  ((${#missing[@]} == 0)) || die "the real node needs Debian packages: ${missing[*]} (make deps installs them)"
  "$here/images.sh"
  for s in "${SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done >"$STATE/sysctls.saved"
  node_config
  node_network
  start_cmd containerd /usr/bin/containerd --config "$CTD/config.toml"
  wait_for 30 ctr --address "$CTD_SOCK" version || die "containerd did not start: see .cluster/logs/containerd.log"
  local image
  for image in pause runner; do
    ctr --address "$CTD_SOCK" -n k8s.io images import "$IMAGE_DIR/$image.tar" >/dev/null \
      || die "could not import the $image image into containerd"
  done
  start kubelet --config "$STATE/kubelet-config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
    --root-dir "$STATE/kubelet" --cert-dir "$STATE/pki" --hostname-override "$REAL_NODE" \
    --node-labels "orchestrator.dev/node=real" \
    --register-with-taints "orchestrator.dev/node=real:NoSchedule"
}

# The path from pods to the API server (see the top of this file). The bridge exists before the
# first pod, so that 127.0.0.1 may be routed to it (route_localnet) for the DNAT's replies.
node_network() {
  ip link add cni0 type bridge 2>/dev/null || true
  ip addr replace "$POD_GATEWAY" dev cni0
  ip link set cni0 up
  sysctl -qw net.ipv4.conf.cni0.route_localnet=1
  iptables -t nat -N "$APISERVER_CHAIN"
  iptables -t nat -A "$APISERVER_CHAIN" -d "$SERVICE_IP/32" -p tcp --dport 443 \
    -j DNAT --to-destination "127.0.0.1:$APISERVER_PORT"
  iptables -t nat -A PREROUTING -j "$APISERVER_CHAIN"
}

node_wait() {
  wait_for 90 kubectl_admin wait --for=condition=Ready "node/$REAL_NODE" --timeout=1s \
    || die "node $REAL_NODE did not become Ready: see .cluster/logs/kubelet.log"
}

# Undoes everything the node did, whether it was stopped or killed.
node_clean() {
  local pid f m
  # Every process of the node's pods, then the shims that held them.
  for f in $(find /sys/fs/cgroup/*/kubepods -name cgroup.procs 2>/dev/null); do
    for pid in $(cat "$f" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  # A shim's command line: containerd-shim-runc-v2 -namespace k8s.io -id <id> -address <socket>
  for pid in $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -id [0-9a-f]+ -address $CTD_SOCK" 2>/dev/null); do
    kill -9 "$pid" 2>/dev/null || true
  done
  for pid in $(pgrep -f "^/usr/bin/containerd --config $CTD/config.toml" 2>/dev/null); do stop_pid "$pid"; done
  # Mounts: container root filesystems, shm, the kubelet's bind mount, then pod network namespaces.
  for m in $(awk -v s="$STATE/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  for m in /run/netns/cni-*; do
    [ -e "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    rm -f "$m"
  done
  for f in $(find /sys/fs/cgroup/*/kubepods -depth -type d 2>/dev/null); do rmdir "$f" 2>/dev/null || true; done
  ip link show cni0 >/dev/null 2>&1 && ip link delete cni0 2>/dev/null || true
  while iptables -t nat -D PREROUTING -j "$APISERVER_CHAIN" 2>/dev/null; do :; done
  iptables -t nat -F "$APISERVER_CHAIN" 2>/dev/null || true
  iptables -t nat -X "$APISERVER_CHAIN" 2>/dev/null || true
  local tool table rule chain
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      while read -r rule; do
        eval "$tool -t $table -D $rule" 2>/dev/null || true
      done < <("$tool" -t "$table" -S 2>/dev/null | sed -n 's/^-A \(.* -j KUBE-.*\)$/\1/p')
      for chain in $("$tool" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[A-Z0-9-]*\)$/\1/p'); do
        "$tool" -t "$table" -F "$chain" 2>/dev/null || true
        "$tool" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  if [ -f "$STATE/sysctls.saved" ]; then
    while IFS= read -r line; do sysctl -qw "$line" >/dev/null 2>&1 || true; done <"$STATE/sysctls.saved"
  fi
  rm -rf /var/lib/kubelet/device-plugins /var/lib/kubelet/pod-resources
  rmdir /var/lib/kubelet 2>/dev/null || true
  find /var/log/containers -maxdepth 1 -lname "$STATE/*" -delete 2>/dev/null || true
  rmdir /var/log/containers 2>/dev/null || true
  # runc's and the shims' runtime state, unless another containerd on this machine uses them.
  pgrep -x containerd >/dev/null || rm -rf /run/containerd/s /run/containerd/runc/k8s.io
  rmdir /run/containerd/runc /run/containerd /run/netns 2>/dev/null || true
}

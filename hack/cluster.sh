#!/usr/bin/env bash
# The local test cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
# with one simulated node, all on 127.0.0.1, built from source by hack/build.sh.
#   hack/cluster.sh up       start it (or say it is up); clears what a killed cluster left
#   hack/cluster.sh down     stop exactly what `up` started, by PID, and remove the state
#   hack/cluster.sh status   say whether it is up
#   hack/cluster.sh restart COMPONENT [SECONDS]
#                            kill -9 one component (etcd, kube-apiserver, kubelet, ...), keep it
#                            down for SECONDS (default 0), start it again with its command line
#   hack/cluster.sh kill COMPONENT, hack/cluster.sh start COMPONENT
#                            the same in two steps (a node lost for as long as a test needs)
#   hack/cluster.sh snapshot FILE
#                            etcd's data, as it is, kept in FILE (etcd stopped for the copy);
#                            ORCH_ETCD_SNAPSHOT=FILE hack/cluster.sh up starts from it
#                            (make bench-scale's populations of 100,000 runs)
# Writes the admin kubeconfig to .cluster/kubeconfig and component logs to .cluster/logs/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/versions.sh"

# One cluster per machine: fixed ports and one state directory, so a later run (another
# checkout, or CI after a killed session) finds and clears what an earlier one left.
STATE=${ORCH_CLUSTER_STATE:-/tmp/orchestrator-cluster}
OUT=$repo/.cluster
ETCD_PORT=23790
ETCD_PEER_PORT=23800
APISERVER_PORT=16443
KCM_PORT=10357
SCHEDULER_PORT=10359
KWOK_PORT=10247
NODE=kwok-node-0
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok containerd kubelet)
# ORCH_REAL_NODE=0 leaves out the real node (containerd + kubelet), e.g. where the kernel refuses it.
REAL=${ORCH_REAL_NODE:-1}
# ORCH_KCM_CONTROLLERS: the controller manager's --controllers ('*'). make bench-scale leaves out
# the garbage collector on a cluster started from a snapshot (bench/bench.py says why).
KCM_CONTROLLERS=${ORCH_KCM_CONTROLLERS:-*}
((REAL)) || COMPONENTS=("${COMPONENTS[@]:0:5}")
SERVER=https://127.0.0.1:$APISERVER_PORT
source "$here/node.sh"

log() { echo "cluster: $*" >&2; }
die() { log "$*"; exit 1; }
kubectl_admin() { "$BIN_DIR/kubectl" --kubeconfig "$STATE/kubeconfig" "$@"; }

binary_of() {
  case $1 in containerd) echo /usr/bin/containerd ;; *) echo "$BIN_DIR/$1" ;; esac
}

# pid_of COMPONENT: the live PID recorded for it, if that process still is our binary.
pid_of() {
  local pidfile=$STATE/pids/$1.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "^$(binary_of "$1") " || return 1
  echo "$pid"
}

all_running() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
}

# Waits up to $1 seconds for command "${@:2}" to succeed.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.5
  done
}

stop_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# Stops our processes: those in pid files and any other still running one of our binaries
# (left by a run whose state was lost), then frees our ports or says who holds them.
stop_all() {
  local c pid port holder
  # The kubelet first, so that it restarts no container while the node is cleared.
  for c in kubelet "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then stop_pid "$pid"; fi
  done
  for pid in $(pgrep -f "^$BIN_DIR/" 2>/dev/null || true); do stop_pid "$pid"; done
  node_clean
  for port in $ETCD_PORT $ETCD_PEER_PORT $APISERVER_PORT $KCM_PORT $SCHEDULER_PORT $KWOK_PORT 10250 10248; do
    holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
    if [ -n "$holder" ]; then
      die "port $port is used by another program (pid $holder: $(tr '\0' ' ' </proc/$holder/cmdline 2>/dev/null)); stop it first"
    fi
  done
  rm -rf "$STATE/pids"
}

# The apiserver reaches each node's kubelet (logs) by its Hostname address: both node names
# resolve to 127.0.0.1 (a kubelet refuses a loopback node IP), through lines in /etc/hosts
# that carry a marker, so that hosts_remove takes exactly them away again.
HOSTS_MARK="# orchestrator local cluster"
hosts_add() {
  hosts_remove
  echo "127.0.0.1 $NODE $REAL_NODE $HOSTS_MARK" >>/etc/hosts
}
hosts_remove() {
  if grep -q "$HOSTS_MARK" /etc/hosts 2>/dev/null; then
    # /etc/hosts may be a bind mount: rewrite it in place rather than replace it.
    grep -v "$HOSTS_MARK" /etc/hosts >"$STATE.hosts" || true
    cat "$STATE.hosts" >/etc/hosts && rm -f "$STATE.hosts"
  fi
}

# Certificates: one CA signs the apiserver's serving cert and every client cert.
make_certs() {
  local pki=$STATE/pki
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=orchestrator-local-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=orchestrator-admin"
  cert kube-controller-manager "/CN=system:kube-controller-manager"
  cert kube-scheduler "/CN=system:kube-scheduler"
  cert kwok "/O=system:masters/CN=kwok"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
}

cert() {
  local name=$1 subject=$2 ext=${3:-} pki=$STATE/pki
  openssl req -newkey rsa:2048 -nodes -subj "$subject" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -out "$pki/$name.crt" ${ext:+-extfile <(echo "$ext")} 2>/dev/null
}

kubeconfig() {
  local user=$1 file=$2 pki=$STATE/pki
  cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: orchestrator-local
  cluster:
    server: $SERVER
    certificate-authority: $pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $pki/$user.crt
    client-key: $pki/$user.key
contexts:
- name: orchestrator-local
  context: {cluster: orchestrator-local, user: $user}
current-context: orchestrator-local
KC
}

start() {
  start_cmd "$1" "$BIN_DIR/$1" "${@:2}"
}

start_cmd() {
  local name=$1 binary=$2; shift 2
  "$binary" "$@" >"$OUT/logs/$name.log" 2>&1 &
  echo $! >"$STATE/pids/$name.pid"
}

up() {
  "$here/build.sh"
  if all_running && wait_for 5 kubectl_admin get --raw /readyz; then
    mkdir -p "$OUT"; cp "$STATE/kubeconfig" "$OUT/kubeconfig"
    log "already up (kubeconfig: .cluster/kubeconfig)"
    return 0
  fi
  [ -d "$STATE" ] && log "clearing what an earlier cluster left in $STATE"
  stop_all
  rm -rf "$STATE"
  mkdir -p "$STATE/pids" "$OUT/logs"
  local started=$SECONDS pki=$STATE/pki
  make_certs
  hosts_add
  for c in admin kube-controller-manager kube-scheduler kwok; do kubeconfig "$c" "$STATE/$c.kubeconfig"; done
  cp "$STATE/admin.kubeconfig" "$STATE/kubeconfig"
  cp "$here/audit-policy.yaml" "$STATE/audit-policy.yaml"
  if [ -n "${ORCH_ETCD_SNAPSHOT:-}" ]; then
    log "etcd starts from $ORCH_ETCD_SNAPSHOT"
    tar -C "$STATE" $(tar_compression) -xf "$ORCH_ETCD_SNAPSHOT"
  fi

  # A quota of 8 GiB (2 by default): 100,000 finished runs take about 1.7 GiB before compaction.
  start etcd --quota-backend-bytes 8589934592 --name default --data-dir "$STATE/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" --log-level warn
  wait_for 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health" || die "etcd did not start: see .cluster/logs/etcd.log"

  # MutatingAdmissionPolicy (beta, off by default in 1.35) stamps who asks for each run
  # (kubernetes/requested-by/v1beta1): on here, as a cluster admin of 1.34/1.35 would turn it on.
  start kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none --allow-privileged \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types Hostname,InternalIP \
    --audit-policy-file "$STATE/audit-policy.yaml" --audit-log-path "$STATE/audit.log" \
    --audit-log-maxsize 200 --audit-log-maxbackup 1 --profiling=false \
    --feature-gates MutatingAdmissionPolicy=true --runtime-config admissionregistration.k8s.io/v1beta1=true
  wait_for 90 kubectl_admin get --raw /readyz || die "kube-apiserver is not ready: see .cluster/logs/kube-apiserver.log"

  start kube-controller-manager --kubeconfig "$STATE/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --controllers "$KCM_CONTROLLERS" --leader-elect=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials --cluster-signing-cert-file "$pki/ca.crt" \
    --cluster-signing-key-file "$pki/ca.key" --profiling=false \
    --kube-api-qps 1000 --kube-api-burst 2000 --concurrent-job-syncs 20
  start kube-scheduler --kubeconfig "$STATE/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE/kube-scheduler.kubeconfig" --kube-api-qps 1000 --kube-api-burst 2000 \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false --profiling=false

  kubectl_admin apply -f "$(dirname "$BIN_DIR")/kwok-crds/" >/dev/null
  # The node lease is its heartbeat: without one kwok's node status updates alone told the node
  # controller it lived, and they lagged behind a burst of pods (NodeNotReady, taint evictions).
  start kwok --kubeconfig "$STATE/kwok.kubeconfig" --config "$here/kwok/stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --node-port "$KWOK_PORT" --server-address "127.0.0.1:$KWOK_PORT" \
    --cidr 10.244.128.0/17 --enable-crds Logs,ClusterLogs --node-lease-duration-seconds 40
  kubectl_admin apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: $NODE
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $NODE
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    orchestrator.dev/node: simulated
spec: {}
NODE
  ((REAL)) && node_up
  wait_for 60 kubectl_admin wait --for=condition=Ready "node/$NODE" --timeout=1s \
    || die "node $NODE did not become Ready: see .cluster/logs/kwok.log"
  ((REAL)) && node_wait

  # New namespaces must get their default ServiceAccount before pods can be made there (a
  # name of its own each time: a snapshot's etcd may still hold an earlier one, being deleted).
  local check=cluster-up-check-$RANDOM
  kubectl_admin create namespace "$check" >/dev/null
  wait_for 60 kubectl_admin -n "$check" get serviceaccount default \
    || die "namespaces get no default ServiceAccount: see .cluster/logs/kube-controller-manager.log"
  kubectl_admin delete namespace "$check" --wait=false >/dev/null

  cp "$STATE/kubeconfig" "$OUT/kubeconfig"
  log "up in $((SECONDS - started))s: export KUBECONFIG=$OUT/kubeconfig"
}

down() {
  stop_all
  hosts_remove
  rm -rf "$STATE"
  log "down"
}

status() {
  if all_running && kubectl_admin get --raw /readyz >/dev/null 2>&1; then
    log "up (kubeconfig: .cluster/kubeconfig)"
  else
    log "down"; return 1
  fi
}

# kill COMPONENT: a crash (kill -9); its command line is kept for start_again.
kill_component() {
  local name=${1:-} pid
  pid=$(pid_of "$name") || die "kill: $name is not running (components: ${COMPONENTS[*]})"
  cp "/proc/$pid/cmdline" "$STATE/pids/$name.cmdline"
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  log "$name killed (-9)"
}

# start COMPONENT: as a supervisor (systemd, the kubelet of a static pod) would restart it, with
# the same binary and arguments; its log goes on in the same file.
start_again() {
  local name=${1:-} args
  [ -f "$STATE/pids/$name.cmdline" ] || die "start: $name was not killed by hack/cluster.sh kill"
  pid_of "$name" >/dev/null && die "start: $name is running"
  mapfile -d '' args <"$STATE/pids/$name.cmdline"
  "${args[@]}" >>"$OUT/logs/$name.log" 2>&1 &
  echo $! >"$STATE/pids/$name.pid"
  case $name in
    etcd) wait_for 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health" || die "etcd did not come back" ;;
    kube-apiserver) wait_for 90 kubectl_admin get --raw /readyz || die "kube-apiserver did not come back" ;;
    kubelet) wait_for 90 kubectl_admin wait --for=condition=Ready "node/$REAL_NODE" --timeout=1s \
      || die "$REAL_NODE is not Ready again" ;;
    *) wait_for 10 pid_of "$name" || die "$name did not come back" ;;
  esac
  rm -f "$STATE/pids/$name.cmdline"
  log "$name started again (pid $(cat "$STATE/pids/$name.pid"))"
}

tar_compression() {
  if command -v zstd >/dev/null; then echo --zstd; fi
}

# snapshot FILE: etcd stopped gently (its data still), copied, started again with its command line.
snapshot() {
  local file=${1:-} pid
  [ -n "$file" ] || die "usage: $0 snapshot FILE"
  pid=$(pid_of etcd) || die "snapshot: etcd is not running"
  cp "/proc/$pid/cmdline" "$STATE/pids/etcd.cmdline"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  mkdir -p "$(dirname "$file")"
  tar -C "$STATE" $(tar_compression) -cf "$file.part" etcd && mv "$file.part" "$file"
  start_again etcd
  log "etcd's data kept in $file ($(du -h "$file" | cut -f1))"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  restart) kill_component "${2:-}"; sleep "${3:-0}"; start_again "${2:-}" ;;
  kill) kill_component "${2:-}" ;;
  start) start_again "${2:-}" ;;
  snapshot) snapshot "${2:-}" ;;
  *) echo "usage: $0 up|down|status|restart COMPONENT [SECONDS]|kill COMPONENT|start COMPONENT|snapshot FILE" >&2; exit 2 ;;
esac

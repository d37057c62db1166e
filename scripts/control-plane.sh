#!/usr/bin/env bash
# Starts and stops a real Kubernetes control plane on loopback for tests and the demo,
# from the binaries scripts/k8s-bins.sh builds.
#
#   control-plane.sh api  DIR [OWNER_PID]   etcd + kube-apiserver only (seconds to start)
#   control-plane.sh kwok DIR [OWNER_PID]   a KWOK cluster: + controller-manager, scheduler,
#                                           kwok and one fake Node, so Deployments get Pods
#   control-plane.sh node DIR [OWNER_PID]   a real single-node cluster (containerd, kubelet,
#                                           kube-proxy, CoreDNS) in a network namespace of
#                                           its own; needs root (scripts/node/cluster.sh)
#   control-plane.sh exec DIR CMD...        run CMD inside a node's namespace, names resolved
#                                           by its cluster DNS
#   control-plane.sh down DIR               stop everything started in DIR and remove DIR
#
# `api`, `kwok` and `node` print the kubeconfig path on stdout once the cluster is ready. A
# node's kubeconfig addresses the API server inside its namespace (use it through `exec`, or
# `nsenter --net=/run/netns/$(cat DIR/netns)`); DIR/kubeconfig-host reaches the same API
# server from the root namespace through a loopback forwarder. With OWNER_PID, a watchdog
# tears the cluster down as soon as that process is gone, so a test that panics or is killed
# never leaves servers behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${1:?usage: control-plane.sh api|kwok|node|exec|down DIR [OWNER_PID]}
dir=${2:?usage: control-plane.sh api|kwok|node|exec|down DIR [OWNER_PID]}
owner=${3:-}
log() { echo "control-plane: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

down() {
  [ -d "$dir" ] || return 0
  # Best effort: every step runs even if an earlier one failed.
  if [ -f "$dir/netns" ]; then
    down_node || true
  fi
  if [ -f "$dir/kwok.name" ]; then
    KWOK_WORKDIR="$dir/kwok" "$(cat "$dir/bin")/kwokctl" delete cluster \
      --name "$(cat "$dir/kwok.name")" >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$dir/pids"
    sleep 0.5
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$dir/pids"
  fi
  rm -rf --one-file-system "$dir"
}

wait_ready() { # kubeconfig
  local i
  for i in $(seq 1 240); do
    if "$bin/kubectl" --kubeconfig "$1" get --raw /readyz >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.25
  done
  log "API server not ready after 60 s; logs in $dir"
  tail -n 30 "$dir"/*.log >&2 2>/dev/null || true
  return 1
}

start_watchdog() {
  [ -n "$owner" ] || return 0
  # setsid: the watchdog must outlive the shell that started it and not be killed with it.
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down "$3"' \
    _ "$owner" "$here/control-plane.sh" "$dir" >/dev/null 2>&1 </dev/null &
}

up_api() {
  local etcd_port etcd_peer api_port token
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -p "$dir/etcd" "$dir/certs"
  echo "$token,admin,admin,system:masters" >"$dir/tokens.csv"
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null

  "$bin/etcd" --data-dir "$dir/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer" \
    --log-level warn >"$dir/etcd.log" 2>&1 &
  echo $! >>"$dir/pids"

  "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --cert-dir "$dir/certs" \
    --secure-port "$api_port" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --token-auth-file "$dir/tokens.csv" \
    --authorization-mode RBAC \
    --service-cluster-ip-range 10.96.0.0/16 \
    --disable-admission-plugins ServiceAccount \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$dir/sa.pub" \
    --service-account-signing-key-file "$dir/sa.key" \
    --allow-privileged=true >"$dir/kube-apiserver.log" 2>&1 &
  echo $! >>"$dir/pids"

  # The API server writes its self-signed serving certificate and CA on start.
  local i
  for i in $(seq 1 120); do [ -s "$dir/certs/apiserver.crt" ] && break; sleep 0.25; done
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $dir/certs/apiserver.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: test
  context: {cluster: test, user: admin, namespace: default}
current-context: test
EOF
  wait_ready "$dir/kubeconfig"
}

up_kwok() {
  local name="syncline-$$"
  mkdir -p "$dir/kwok"
  echo "$name" >"$dir/kwok.name"
  cat >"$dir/kwok.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeApiserverPort: $(free_port)
  etcdPort: $(free_port)
  etcdPeerPort: $(free_port)
  kubeControllerManagerPort: $(free_port)
  kubeSchedulerPort: $(free_port)
  kwokControllerPort: $(free_port)
  kubeApiserverBinary: $bin/kube-apiserver
  kubeControllerManagerBinary: $bin/kube-controller-manager
  kubeSchedulerBinary: $bin/kube-scheduler
  kwokControllerBinary: $bin/kwok
  etcdBinary: $bin/etcd
  kubectlBinary: $bin/kubectl
  kubeAuthorization: true
  quietPull: true
  # Lift the client rate limits of controller-manager, scheduler and kwok (20 QPS by
  # default): scale tests create thousands of objects.
  disableQPSLimits: true
componentsPatches:
- name: kube-apiserver
  extraArgs:
  # The default /24 holds only ~250 Services; scale tests create one per pipeline.
  - key: service-cluster-ip-range
    value: 10.96.0.0/16
EOF
  KWOK_WORKDIR="$dir/kwok" "$bin/kwokctl" --config "$dir/kwok.yaml" create cluster \
    --name "$name" --wait 120s >"$dir/kwokctl.log" 2>&1 || {
    log "kwokctl create cluster failed:"; tail -n 40 "$dir/kwokctl.log" >&2; return 1; }
  KWOK_WORKDIR="$dir/kwok" "$bin/kwokctl" get kubeconfig --name "$name" >"$dir/kubeconfig"
  wait_ready "$dir/kubeconfig"
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "10000"}
  capacity: {cpu: "1000", memory: 4Ti, pods: "10000"}
EOF
  # kwok marks the node Ready asynchronously; the cluster is ready when the node is.
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" wait --for=condition=Ready node/kwok-node-0 \
    --timeout=60s >/dev/null || {
    log "kwok-node-0 did not become Ready:"; tail -n 40 "$dir"/kwok/*/logs/*.log >&2 2>/dev/null; return 1; }
}

# shellcheck source=node/cluster.sh
. "$here/node/cluster.sh"

case "$mode" in
  down) down; exit 0 ;;
  exec)
    [ -f "$dir/netns" ] || { log "no node in $dir"; exit 1; }
    ns=$(cat "$dir/netns"); shift 2
    node_exec "$@"; exit ;;
  api|kwok) ;;
  node)
    [ "$(id -u)" = 0 ] || { log "node mode needs root (network namespaces, cgroups, mounts)"; exit 1; }
    "$here/node-bins.sh" --print >/dev/null || exit 1 ;;
  *) echo "usage: control-plane.sh api|kwok|node|exec|down DIR [OWNER_PID]" >&2; exit 2 ;;
esac

bin=$("$here/k8s-bins.sh" --print)
[ -e "$dir" ] && down
mkdir -p "$dir"
echo "$bin" >"$dir/bin"
start_watchdog
if [ "$mode" = node ]; then
  # A subshell outside any condition, so errexit holds in every step of the bring-up.
  set +e
  (set -e; up_node)
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    log "node bring-up failed; last lines of its logs:"
    for f in "$dir"/*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
    down
    exit 1
  fi
elif ! "up_$mode"; then
  down
  exit 1
fi
echo "$dir/kubeconfig"

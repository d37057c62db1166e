# A real single-node Kubernetes cluster inside a private network namespace, sourced by
# scripts/control-plane.sh (`node` and `down`). See docs/development.md, "The test control plane".
#
# Everything non-loopback lives in a network namespace made here: inside it lo, a bridge
# (10.244.0.1/24, the node's address) and a route for the Service range, and no link to the
# root namespace, so nothing can leave the machine and deleting the namespace removes every
# interface, route, iptables rule and conntrack entry the cluster made. Every daemon runs
# as `nsenter --net=/run/netns/<ns> BIN`, never `ip netns exec` (that remounts /sys in a
# private mount namespace: kubelet would see no cgroups, nor containerd's mounts).
#
# What still touches the host, and is undone by `down`: the sysctls kubelet sets (recorded
# before the first node on this host comes up, restored when the last one goes down), the
# node's cgroup tree (kubelet's cgroupRoot is /syncline-<ns> in every hierarchy), the mounts
# kubelet and containerd make (all under DIR), and the few host paths containerd, kubelet and
# the CNI plugins insist on (/run/netns, /run/containerd, /var/log/containers, /var/lib/cni):
# removed if the first node made them. Host-wide bookkeeping is in /run/syncline-node.
#
# Uses from control-plane.sh: $dir, $bin (control-plane binaries), $here, log, wait loops.

NODE_NAME=syncline-node
NODE_IP=10.244.0.1
POD_SUBNET=10.244.0.0/24
SERVICE_RANGE=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
BRIDGE=sl0
PAUSE_IMAGE=localhost/syncline-pause:1
COREDNS_IMAGE=localhost/syncline-coredns:1.15.0
HOST_STATE=/run/syncline-node
# Every host-global setting kubelet may change (it sets these unless protectKernelDefaults).
HOST_SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Host paths the node may create outside DIR.
HOST_PATHS=(/run/netns /run/containerd /var/log/containers /var/log/pods /var/lib/cni
  /var/lib/kubelet /var/lib/containerd /opt/containerd /opt/cni /etc/cni)

node_ns_name() { echo "syncline-$(printf %s "$1" | sha256sum | cut -c1-10)"; }

in_ns() { nsenter --net="/run/netns/$ns" "$@"; }

cgroup_hierarchies() { # every cgroup (v1 and v2) mount under /sys/fs/cgroup
  awk '($3 == "cgroup" || $3 == "cgroup2") && ($2 == "/sys/fs/cgroup" || index($2, "/sys/fs/cgroup/") == 1) { print $2 }' /proc/self/mounts
}

# --- host bookkeeping shared by every node on this machine --------------------------------

host_lock() { mkdir -p "$HOST_STATE/nodes"; exec 9>"$HOST_STATE/lock"; flock -w 60 9; }
host_unlock() { flock -u 9; exec 9>&-; }

host_enter() { # ns
  local existed=0 s p
  [ -d "$HOST_STATE" ] && existed=1
  host_lock
  [ "$existed" = 1 ] || touch "$HOST_STATE/created-by-us"
  # A node whose namespace is gone (a killed run) no longer holds the host settings.
  for p in "$HOST_STATE"/nodes/*; do
    [ -e "$p" ] || continue
    [ -e "/run/netns/$(basename "$p")" ] || rm -f "$p"
  done
  if [ ! -f "$HOST_STATE/sysctls" ]; then
    for s in "${HOST_SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done >"$HOST_STATE/sysctls.tmp"
    mv "$HOST_STATE/sysctls.tmp" "$HOST_STATE/sysctls"
    : >"$HOST_STATE/paths"
    for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] || echo "$p" >>"$HOST_STATE/paths"; done
    : >"$HOST_STATE/cgroups"
    for p in $(cgroup_hierarchies); do [ -e "$p/kubepods" ] || echo "$p/kubepods" >>"$HOST_STATE/cgroups"; done
  fi
  cp "$HOST_STATE/sysctls" "$dir/sysctls.before"
  touch "$HOST_STATE/nodes/$1"
  host_unlock
}

host_leave() { # ns
  local p s last=0
  [ -d "$HOST_STATE" ] || return 0
  host_lock
  rm -f "$HOST_STATE/nodes/$1"
  if [ -z "$(ls -A "$HOST_STATE/nodes")" ] && [ -f "$HOST_STATE/sysctls" ]; then
    last=1
    while IFS='=' read -r s p; do
      [ "$(sysctl -n "$s")" = "$p" ] || sysctl -q -w "$s=$p" >/dev/null || log "could not restore $s=$p"
    done <"$HOST_STATE/sysctls"
    while read -r p; do
      [ -d "$p" ] && rmdir "$p" 2>/dev/null || true
    done <"$HOST_STATE/cgroups"
    while read -r p; do
      [ -e "$p" ] || continue
      case "$p" in
        /run/netns)
          # `ip netns add` bind-mounts /run/netns onto itself; empty, it is ours to remove.
          if [ -z "$(ls -A "$p")" ]; then
            while grep -q " $p " /proc/self/mountinfo; do umount "$p" || break; done
            rmdir "$p" 2>/dev/null || true
          fi ;;
        *) rm -rf --one-file-system "$p" ;;
      esac
    done <"$HOST_STATE/paths"
    rm -f "$HOST_STATE/sysctls" "$HOST_STATE/paths" "$HOST_STATE/cgroups"
  fi
  host_unlock
  if [ "$last" = 1 ] && [ -f "$HOST_STATE/created-by-us" ]; then
    rm -rf "$HOST_STATE"
  fi
}

# --- certificates -----------------------------------------------------------------------

cert() { # name CN O(or "") SANs(or "") usage(server|client|both)
  local name=$1 cn=$2 org=$3 san=$4 usage=$5 subj eku
  subj="/CN=$cn"; [ -n "$org" ] && subj+="/O=$org"
  case "$usage" in server) eku=serverAuth ;; client) eku=clientAuth ;; *) eku=serverAuth,clientAuth ;; esac
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$pki/$name.ext"
  openssl req -new -key "$pki/$name.key" -subj "$subj" 2>/dev/null |
    openssl x509 -req -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
      -days 7 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}

make_pki() {
  pki="$dir/pki"; mkdir -p "$pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=syncline-node-ca" -days 7 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$pki/ca.crt" 2>/dev/null
  cert apiserver kube-apiserver "" \
    "IP:$NODE_IP,IP:$API_SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" server
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "" client
  cert admin admin system:masters "" client
  cert kubelet "system:node:$NODE_NAME" system:nodes "" client
  cert kubelet-serving "$NODE_NAME" "" "IP:$NODE_IP,DNS:$NODE_NAME" server
  cert kube-proxy system:kube-proxy "" "" client
  cert controller-manager system:kube-controller-manager "" "" client
  cert scheduler system:kube-scheduler "" "" client
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

kubeconfig() { # file server cert-name
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: node
  cluster: {server: "$2", certificate-authority: "$pki/ca.crt"}
users:
- name: $3
  user: {client-certificate: "$pki/$3.crt", client-key: "$pki/$3.key"}
contexts:
- name: node
  context: {cluster: node, user: $3, namespace: default}
current-context: node
EOF
}

# --- daemons ----------------------------------------------------------------------------

start() { # name cmd... : runs cmd inside the namespace, logs to DIR/name.log, records the PID
  local name=$1; shift
  nsenter --net="/run/netns/$ns" "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo "$!" >>"$dir/pids"
  echo "$name $!" >>"$dir/daemons"
}

wait_for() { # seconds what cmd... : polls cmd every 0.25 s
  local secs=$1 what=$2 i; shift 2
  for i in $(seq 1 $((secs * 4))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  log "$what not ready after $secs s; logs in $dir"
  return 1
}

kubectl_ns() { in_ns "$bin/kubectl" --kubeconfig "$dir/kubeconfig" "$@"; }

node_images() { # builds the pause and CoreDNS archives once per node-bins build
  images="$nodebin/../images"
  mkdir -p "$images"
  [ -s "$images/pause.tar" ] || python3 "$here/node/docker-archive.py" --out "$images/pause.tar" \
    --tag "$PAUSE_IMAGE" --entrypoint /pause --user 65535:65535 --file "$nodebin/pause:/pause" >/dev/null
  [ -s "$images/coredns.tar" ] || python3 "$here/node/docker-archive.py" --out "$images/coredns.tar" \
    --tag "$COREDNS_IMAGE" --entrypoint /coredns --user 65532:65532 \
    --file "$nodebin/coredns:/coredns" >/dev/null
}

up_network() {
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add "$BRIDGE" type bridge
  ip -n "$ns" addr add "$NODE_IP/24" dev "$BRIDGE"
  ip -n "$ns" link set "$BRIDGE" up
  # kube-proxy DNATs Service addresses in OUTPUT; the packet needs a route to get there.
  ip -n "$ns" route add "$SERVICE_RANGE" dev "$BRIDGE"
  mkdir -p "$dir/cni/net.d"
  cat >"$dir/cni/net.d/10-syncline.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "$ns", "plugins": [{
  "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$NODE_IP"}]],
           "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$dir/cni/ipam"}}]}
EOF
  # The node's own resolver for pods with dnsPolicy Default: nothing outside may be asked.
  echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
  # For clients run inside the namespace (control-plane.sh exec): the cluster DNS.
  printf 'nameserver %s\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n' \
    "$DNS_SERVICE_IP" >"$dir/cluster-resolv.conf"
}

up_cgroups() { # kubelet's cgroupRoot, in every hierarchy, so nodes never share kubepods
  local h
  for h in $(cgroup_hierarchies); do
    mkdir -p "$h/$ns"
    if [ -f "$h/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" >"$h/$ns/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h/$ns/cpuset.mems"
    fi
  done
}

up_containerd() {
  local c="$dir/containerd"
  mkdir -p "$c"
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$c/containerd.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM lacks CAP_SYS_RESOURCE: lowering a sandbox's oom_score_adj fails every pod.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$c/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
EOF
  start containerd containerd --config "$c/config.toml" --log-level warn
  wait_for 30 containerd ctr --address "$c/containerd.sock" version
  ctr --address "$c/containerd.sock" -n k8s.io images import "$images/pause.tar" >/dev/null
  ctr --address "$c/containerd.sock" -n k8s.io images import "$images/coredns.tar" >/dev/null
}

up_control_plane() {
  mkdir -p "$dir/etcd"
  start etcd "$bin/etcd" --data-dir "$dir/etcd" --unsafe-no-fsync \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster default=http://127.0.0.1:2380 --listen-metrics-urls "" --log-level warn
  # 0.0.0.0 inside the namespace is only its lo and the bridge.
  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers http://127.0.0.1:2379 \
    --bind-address 0.0.0.0 --secure-port 6443 --advertise-address "$NODE_IP" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --service-cluster-ip-range "$SERVICE_RANGE" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --profiling=false
  kubeconfig "$dir/kubeconfig" https://127.0.0.1:6443 admin
  wait_for 60 kube-apiserver kubectl_ns get --raw /readyz

  # From the root namespace the API is reachable only through this loopback forwarder.
  python3 "$here/node/forward.py" "/run/netns/$ns" 127.0.0.1 6443 "$dir/forward.port" \
    >"$dir/forward.log" 2>&1 </dev/null &
  echo "$!" >>"$dir/pids"; echo "forward $!" >>"$dir/daemons"
  wait_for 10 forwarder test -s "$dir/forward.port"
  kubeconfig "$dir/kubeconfig-host" "https://127.0.0.1:$(cat "$dir/forward.port")" admin

  kubeconfig "$dir/controller-manager.kubeconfig" https://127.0.0.1:6443 controller-manager
  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$dir/controller-manager.kubeconfig" --secure-port 0 --leader-elect=false \
    --use-service-account-credentials \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$SERVICE_RANGE"
  kubeconfig "$dir/scheduler.kubeconfig" https://127.0.0.1:6443 scheduler
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig "$dir/scheduler.kubeconfig" --secure-port 0 --leader-elect=false
}

up_node_agents() {
  mkdir -p "$dir/kubelet" "$dir/pod-logs"
  kubeconfig "$dir/kubelet.kubeconfig" "https://$NODE_IP:6443" kubelet
  cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$ns
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
clusterDomain: cluster.local
clusterDNS: [$DNS_SERVICE_IP]
resolvConf: $dir/resolv.conf
containerRuntimeEndpoint: unix://$dir/containerd/containerd.sock
podLogsDir: $dir/pod-logs
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
failSwapOn: false
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
rotateCertificates: false
serverTLSBootstrap: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
EOF
  start kubelet "$nodebin/kubelet" --config "$dir/kubelet.yaml" \
    --kubeconfig "$dir/kubelet.kubeconfig" --root-dir "$dir/kubelet" \
    --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --v 1

  kubeconfig "$dir/kube-proxy.kubeconfig" "https://$NODE_IP:6443" kube-proxy
  cat >"$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: $NODE_NAME
clientConnection: {kubeconfig: $dir/kube-proxy.kubeconfig}
clusterCIDR: $POD_SUBNET
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
# Leave the host's conntrack table alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
  start kube-proxy "$nodebin/kube-proxy" --config "$dir/kube-proxy.yaml"
  wait_for 60 "node $NODE_NAME" kubectl_ns wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
}

# CoreDNS is applied as soon as the API server is up, so the controller-manager's start and
# the Deployment's rollout overlap kubelet's; wait_dns then waits for it to answer.
apply_dns() {
  kubectl_ns apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  # No forward: nothing may be sent out of the namespace; other names get no answer.
  Corefile: |
    .:1053 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
        }
        cache 30
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {name: dns, containerPort: 1053, protocol: UDP}
        - {name: dns-tcp, containerPort: 1053, protocol: TCP}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 10}
        resources: {limits: {memory: 170Mi}, requests: {cpu: 50m, memory: 30Mi}}
        securityContext:
          runAsNonRoot: true
          runAsUser: 65532
          runAsGroup: 65532
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_SERVICE_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, targetPort: 1053, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP}
EOF
}

wait_dns() {
  wait_for 90 CoreDNS kubectl_ns -n kube-system wait --for=condition=Available deployment/coredns --timeout=1s
  # The cluster DNS answers from inside the namespace, through kube-proxy's Service rules.
  wait_for 30 "cluster DNS" node_exec getent hosts kubernetes.default.svc.cluster.local
}

node_exec() { # cmd... : inside the namespace, resolving names through the cluster DNS
  # A private mount namespace (unshare's default propagation is private) so the bind mount
  # of the resolver file never reaches the host's /etc/resolv.conf.
  nsenter --net="/run/netns/$ns" unshare --mount \
    sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$dir/cluster-resolv.conf" "$@"
}

secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

timed() { # step : runs it, appends "step seconds" to DIR/timings
  local t; t=$(date +%s.%N)
  "$1"
  echo "$1 $(secs_since "$t")" >>"$dir/timings"
}

up_node() {
  local t0; t0=$(date +%s.%N)
  nodebin=$("$here/node-bins.sh" --print)
  ns=$(node_ns_name "$dir")
  echo "$ns" >"$dir/netns"
  echo "$nodebin" >"$dir/nodebin"
  host_enter "$ns"
  timed node_images
  timed up_network
  timed up_cgroups
  timed make_pki
  timed up_containerd
  timed up_control_plane
  timed apply_dns
  timed up_node_agents
  timed wait_dns
  log "node $NODE_NAME Ready with cluster DNS in namespace $ns after $(secs_since "$t0") s ($(tr '\n' ' ' <"$dir/timings"| sed 's/ $//; s/\([0-9]\) /\1 s, /g') s)"
}

# --- teardown ---------------------------------------------------------------------------

pid_alive() { # a zombie counts as stopped
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_pids() { # pids... : SIGTERM, up to $grace s (default 5), then SIGKILL
  local p i left
  [ $# -gt 0 ] || return 0
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for i in $(seq 1 $((${grace:-5} * 4))); do
    left=0
    for p in "$@"; do pid_alive "$p" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.25
  done
  for p in "$@"; do pid_alive "$p" && kill -9 "$p" 2>/dev/null; done
  for i in $(seq 1 20); do
    left=0
    for p in "$@"; do pid_alive "$p" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.25
  done
  log "processes still alive after SIGKILL: $*"
}

daemon_pid() { awk -v n="$1" '$1 == n { print $2 }' "$dir/daemons" 2>/dev/null; }

node_cgroup_pids() { # every process in the node's cgroup tree (the pods)
  local h
  for h in $(cgroup_hierarchies); do
    [ -d "$h/$ns" ] && find "$h/$ns" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

netns_pids() { # every process whose network namespace is the node's
  local want p
  want=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$want" ] && echo "${p#/proc/}"
  done
}

down_node() {
  ns=$(cat "$dir/netns")
  local sock="$dir/containerd/containerd.sock" t p m
  # Kubelet first, so it restarts nothing; then the pods (the API server would wait on their
  # watches); then the rest in reverse order of start.
  stop_pids $(daemon_pid kubelet) $(daemon_pid kube-proxy)
  if [ -S "$sock" ]; then
    for t in $(timeout 10 ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 5 ctr --address "$sock" -n k8s.io tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
  fi
  stop_pids $(node_cgroup_pids)
  # The cluster's state is thrown away: the API server and etcd get 1 s to stop gracefully
  # (they take several), then SIGKILL.
  grace=1 stop_pids $(tac "$dir/pids" 2>/dev/null)
  # Shims, and anything else still running in the namespace.
  stop_pids $(netns_pids)
  # Unmount what kubelet and containerd mounted under DIR, deepest first.
  for _ in 1 2 3; do
    m=$(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    [ -n "$m" ] || break
    for p in $m; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; done
  done
  [ -e "/run/netns/$ns" ] && { ip netns del "$ns" || log "could not delete namespace $ns"; }
  local h
  for h in $(cgroup_hierarchies); do
    [ -d "$h/$ns" ] || continue
    for _ in 1 2 3 4 5; do
      find "$h/$ns" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$h/$ns" ] || break
      sleep 0.2
    done
    [ -d "$h/$ns" ] && log "could not remove cgroup $h/$ns"
  done
  # Files outside DIR that name this node's containers.
  [ -d /var/log/containers ] && find /var/log/containers -maxdepth 1 -lname "$dir/*" -delete
  # libcni caches each attachment in /var/lib/cni/results: <network>-<sandbox id>-<ifname>,
  # for this node's network and for the loopback one of the same sandboxes.
  local f id
  for f in /var/lib/cni/results/"$ns"-*; do
    [ -e "$f" ] || continue
    id=${f##*/}; id=${id#"$ns"-}; id=${id%%-*}
    rm -f /var/lib/cni/results/*-"$id"-*
  done
  host_leave "$ns"
}

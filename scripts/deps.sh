#!/usr/bin/env bash
# Installs what syncline's tests and demo need on a fresh Debian machine, and nothing that
# is already there: Debian packages (redis-server, openssl, python3; for the real node
# containerd, runc, the CNI plugins, iptables, conntrack, iproute2, and gcc with libc6-dev
# for the static pause binary), the Rust components rustfmt and clippy, and the Go-built
# Kubernetes binaries (cached: k8s-bins.sh for the control plane, then node-bins.sh for
# kubelet, kube-proxy and CoreDNS, one after the other so two big builds never overlap),
# and for the chart's monitoring test the Prometheus Operator's CRDs (prom-crds.sh, a Go
# module download) and promtool (promtool.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "deps: $*" >&2; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
command -v setsid >/dev/null || missing+=(util-linux)
command -v curl >/dev/null || missing+=(curl)
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables)
command -v conntrack >/dev/null || missing+=(conntrack)
command -v ip >/dev/null || missing+=(iproute2)
command -v gcc >/dev/null || missing+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The package starts a system-wide Redis on 6379; tests start their own on free ports.

command -v cargo >/dev/null || { log "cargo not found: install Rust (rustup) first"; exit 1; }
if command -v rustup >/dev/null; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

command -v go >/dev/null || { log "go not found: Go 1.26 or later is needed to build the test control plane"; exit 1; }
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "$go_minor" -ge 26 ] || { log "Go $(go env GOVERSION) is too old: Kubernetes 1.36 needs Go 1.26"; exit 1; }

"$here/k8s-bins.sh" >/dev/null
"$here/node-bins.sh" >/dev/null
"$here/prom-crds.sh" >/dev/null
"$here/promtool.sh" >/dev/null

#!/usr/bin/env bash
# Builds the real test node's binaries and caches them in a version-keyed folder of their
# own (apart from k8s-bins.sh's control plane): kubelet and kube-proxy from k8s.io/kubernetes
# (wrapper module scripts/k8s/node, the same staging replacements as scripts/k8s/kube, so
# Go's content-keyed build cache reuses what the control-plane build compiled), CoreDNS
# (scripts/k8s/coredns) and the pod sandbox's pause program (scripts/node/pause.c, gcc
# -static). Nothing is downloaded but Go modules.
#
# Usage: scripts/node-bins.sh            build if needed, print the bin folder
#        scripts/node-bins.sh --print    print the bin folder, build nothing (exit 1 if absent)
set -euo pipefail

K8S_VERSION=v1.36.3
COREDNS_VERSION=v1.15.0
BUILD_DATE=2026-01-01T00:00:00Z

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${SYNCLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syncline}
key="node-k8s-${K8S_VERSION}-coredns-${COREDNS_VERSION}"
sum=$(cat "$here"/k8s/node/go.mod "$here"/k8s/node/go.sum "$here"/k8s/coredns/go.mod \
  "$here"/k8s/coredns/go.sum "$here"/node/pause.c | sha256sum | cut -c1-12)
bin="$cache_root/$key-$sum/bin"
all=(kubelet kube-proxy coredns pause)
name=node-bins
# shellcheck source=go-bins.sh
. "$here/go-bins.sh"
go_bins_begin "$@"

if [ ! -x "$tmp/pause" ]; then
  gcc -static -O2 -o "$tmp/pause.tmp" "$here/node/pause.c"
  strip "$tmp/pause.tmp"
  mv "$tmp/pause.tmp" "$tmp/pause"
fi
build node kubelet k8s.io/kubernetes/cmd/kubelet "$kube_ldflags"
build node kube-proxy k8s.io/kubernetes/cmd/kube-proxy "$kube_ldflags"
build coredns coredns github.com/coredns/coredns

go_bins_finish

#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, kwok, kwokctl, helm) from published Go modules at pinned versions and
# caches them in a version-keyed folder. A cached build is reused; nothing is downloaded
# but Go modules, so it works on machines that reach only the Go module proxy.
#
# Usage: scripts/k8s-bins.sh            build if needed, print the bin folder
#        scripts/k8s-bins.sh --print    print the bin folder, build nothing (exit 1 if absent)
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.14
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.21.4
BUILD_DATE=2026-01-01T00:00:00Z

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${SYNCLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syncline}
key="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}-helm-${HELM_VERSION}"
# The wrappers' go.sum files are part of the key: changing a dependency rebuilds. Only
# these four wrappers: the node's (k8s/node, k8s/coredns) have their own key in node-bins.sh.
wrappers=(etcd helm kube kwok)
sum=$(for f in go.mod go.sum; do for w in "${wrappers[@]}"; do cat "$here/k8s/$w/$f"; done; done |
  sha256sum | cut -c1-12)
bin="$cache_root/$key-$sum/bin"
all=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl helm)
name=k8s-bins
# shellcheck source=go-bins.sh
. "$here/go-bins.sh"
go_bins_begin "$@"

build kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kube kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build kube kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$kube_ldflags"
build kube kubectl k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
build etcd etcd go.etcd.io/etcd/server/v3
kwok_ldflags="-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
kwok_ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok "$kwok_ldflags"
build kwok kwokctl sigs.k8s.io/kwok/cmd/kwokctl "$kwok_ldflags"
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
helm_ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
helm_ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
build helm helm helm.sh/helm/v3/cmd/helm "$helm_ldflags"

go_bins_finish

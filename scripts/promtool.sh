#!/usr/bin/env bash
# Builds promtool from the Go module github.com/prometheus/prometheus at a pinned version
# (wrapper module scripts/k8s/promtool, go.sum committed) and caches it in a version-keyed
# folder, for `promtool check rules` on the chart's alerts (tests/helm_monitoring.rs).
# About 6 minutes on 2 cores the first time (1 min of module downloads), then cached.
#
# Usage: scripts/promtool.sh            build if needed, print the bin folder
#        scripts/promtool.sh --print    print the bin folder, build nothing (exit 1 if absent)
set -euo pipefail

PROMETHEUS_VERSION=v0.316.0
# go-bins.sh stamps Kubernetes versions into its ldflags; promtool ignores them.
K8S_VERSION=v1.36.3
BUILD_DATE=2026-01-01T00:00:00Z

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${SYNCLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syncline}
sum=$(cat "$here"/k8s/promtool/go.mod "$here"/k8s/promtool/go.sum | sha256sum | cut -c1-12)
bin="$cache_root/promtool-${PROMETHEUS_VERSION}-$sum/bin"
all=(promtool)
name=promtool
# shellcheck source=go-bins.sh
. "$here/go-bins.sh"
go_bins_begin "$@"

build promtool promtool github.com/prometheus/prometheus/cmd/promtool

go_bins_finish

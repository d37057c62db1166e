#!/usr/bin/env bash
# Fetches the Prometheus Operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule, ...)
# from the Go module github.com/prometheus-operator/prometheus-operator, which ships them in
# example/prometheus-operator-crd/, through the Go module proxy (checked against the pinned
# module hash), and caches the YAML in a version-keyed folder. tests/helm_monitoring.rs
# applies them to the test API server.
#
# Usage: scripts/prom-crds.sh            fetch if needed, print the folder
#        scripts/prom-crds.sh --print    print the folder, fetch nothing (exit 1 if absent)
set -euo pipefail

MODULE=github.com/prometheus-operator/prometheus-operator
VERSION=v0.85.0
# The module zip's hash (go.sum's h1:), so the proxy cannot hand over anything else.
SUM=h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=

cache_root=${SYNCLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syncline}
dir="$cache_root/prometheus-operator-crd-$VERSION"
log() { echo "prom-crds: $*" >&2; }

if [ -f "$dir/monitoring.coreos.com_servicemonitors.yaml" ]; then
  echo "$dir"
  exit 0
fi
if [ "${1:-}" = "--print" ]; then
  log "not fetched yet; run scripts/prom-crds.sh"
  exit 1
fi

command -v go >/dev/null || { log "go not found"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
go mod init prom-crds >/dev/null 2>&1
info=$(go mod download -json "$MODULE@$VERSION")
src=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$info")
got=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$info")
[ "$got" = "$SUM" ] || { log "$MODULE@$VERSION has hash $got, want $SUM"; exit 1; }
mkdir -p "$dir.partial"
cp "$src"/example/prometheus-operator-crd/*.yaml "$dir.partial/"
chmod u+w "$dir.partial"/*.yaml
rm -rf "$dir"
mv "$dir.partial" "$dir"
log "fetched $MODULE@$VERSION CRDs into $dir"
echo "$dir"

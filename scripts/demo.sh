#!/usr/bin/env bash
# The main job, end to end on this machine: start a real Kubernetes API server, install the
# SyncPipeline CRD that `syncline crd` generates, apply a pipeline for every store
# platform, show the API server refusing each invalid manifest with a message that names
# the field, and show what `kubectl get syncpipelines` reports. Tears everything down.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/deps.sh
cargo build --quiet
syncline=target/debug/syncline
bin=$(scripts/k8s-bins.sh --print)
dir=$(mktemp -d /tmp/syncline-demo.XXXXXX)
trap 'scripts/control-plane.sh down "$dir/cp"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
k() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

say "starting etcd + kube-apiserver $("$bin/kube-apiserver" --version | cut -d' ' -f2) on loopback"
kubeconfig=$(scripts/control-plane.sh api "$dir/cp" $$)

say "syncline crd | kubectl apply -f -"
$syncline crd | k apply -f -
k wait --for condition=Established crd/syncpipelines.syncline.dev --timeout=30s

say "applying one valid pipeline per store platform (examples/valid)"
k create namespace shops
for f in examples/valid/*.yaml; do k apply -n shops -f "$f"; done

say "every invalid manifest is refused by the API server (examples/invalid)"
failed=0
for f in examples/invalid/*.yaml; do
  expected=$(sed -n "s/.*syncline.dev\/expected-error: '\(.*\)'$/\1/p" "$f")
  if grep -q 'syncline.dev/update-of' "$f"; then
    out=$(k apply -n shops -f "$f" 2>&1) && rc=0 || rc=$?
  else
    out=$(k create -n shops -f "$f" 2>&1) && rc=0 || rc=$?
  fi
  if [ "$rc" -ne 0 ] && [[ "$out" == *"$expected"* ]]; then
    printf '  refused  %-42s %s\n' "$(basename "$f")" "$expected"
  else
    printf '  WRONG    %-42s expected: %s\n           got: %s\n' "$(basename "$f")" "$expected" "$out"
    failed=1
  fi
done

say "kubectl get syncpipelines -n shops"
k get syncpipelines -n shops
say "kubectl explain syncpipeline.spec.workers"
k explain syncpipeline.spec.workers | sed -n '/^FIELDS/,$p'
[ "$failed" -eq 0 ] || { echo "some invalid manifests were not refused as documented"; exit 1; }
say "demo finished; control plane torn down"

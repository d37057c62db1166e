#!/usr/bin/env bash
# Writes BENCHMARKS.md from one run on this machine, every figure from the same run:
# the machine, then each bench's section in turn (receiver, worker, e2e, operator_scale),
# then, as root, the real node's spikes (the `node` section, from the real-node test with
# SYNCLINE_BENCH_WRITE=1). Takes about 15 minutes warm; prints every figure as it goes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/deps.sh
t0=$(date +%s)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
mem=$(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
cat >BENCHMARKS.md <<HEADER
# Benchmarks

Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD), every figure from that one run on one machine: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r), $(rustc -V | cut -d' ' -f1-2). Each section can be rewritten alone by its \`cargo bench --bench <name>\`.
HEADER

for bench in receiver worker e2e operator_scale; do
  echo "== cargo bench --bench $bench ($(( $(date +%s) - t0 )) s)"
  cargo bench --quiet --bench "$bench"
done
if [ "$(id -u)" = 0 ]; then
  echo "== real node: spikes through real pods ($(( $(date +%s) - t0 )) s)"
  SYNCLINE_BENCH_WRITE=1 cargo test --quiet --test real_node -- --nocapture
else
  echo "not root: the real node's section (autoscaling on real pods) is left out" >&2
fi
echo "== BENCHMARKS.md written ($(( $(date +%s) - t0 )) s)"

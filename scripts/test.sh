#!/usr/bin/env bash
# The test command: installs what is missing (first run builds the Kubernetes binaries,
# several minutes; later runs reuse the cache), then runs every test against the real
# servers. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/deps.sh
exec cargo test --all-targets "$@"

#!/usr/bin/env bash
# Builds the syncline image (every role: operator, receiver, worker, simulators) on this
# machine with no registry and no Docker daemon: the release binary plus the shared
# libraries `ldd` lists, as a one-layer Docker archive tagged localhost/syncline:<crate
# version> that `ctr images import` reads.
#
#   scripts/image.sh                  build; print the archive path
#   scripts/image.sh --import DIR     build, then import it into the node started in DIR
#                                     (scripts/control-plane.sh node DIR)
#   scripts/image.sh --binary PATH    use this syncline binary instead of building the
#                                     release one (tests pass the binary cargo test built)
#   scripts/image.sh --redis          instead, the Redis image: Debian's redis-server and
#                                     its libraries, localhost/syncline-redis:<its version>,
#                                     entrypoint /usr/bin/redis-server, same user 65532
#
# The contract is the one deploy/Dockerfile (the published build) gives, and both must keep
# it: the binary at /usr/local/bin/syncline as the entrypoint, user and group 65532 (the
# distroless "nonroot" the operator's pods run as), /etc/passwd and /etc/group naming it, the
# CA bundle at /etc/ssl/certs/ca-certificates.crt, no shell, and nothing written to the
# root filesystem (pods mount it read-only; /tmp is an emptyDir). tests/real_node.rs checks
# the Dockerfile and this archive agree on user and entrypoint.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
log() { echo "image: $*" >&2; }

target=${CARGO_TARGET_DIR:-$repo/target}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)
tag="localhost/syncline:$version"
out="$target/image/syncline-$version.tar"

usage="usage: image.sh [--binary PATH | --redis] [--import DIR]"
import_dir="" binary="" redis=""
while [ $# -gt 0 ]; do
  case "$1" in
    --import) import_dir=${2:?$usage}; shift 2 ;;
    --binary) binary=${2:?$usage}; shift 2 ;;
    --redis) redis=1; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done

# A given binary gets an archive of its own, so it never stands in for the release one.
[ -n "$binary" ] && out="$target/image/syncline-$version-given.tar"
t0=$(date +%s.%N)
if [ -n "$redis" ]; then
  # redis-server is a link to redis-check-rdb, which picks its mode from argv[0]: the image
  # holds the file under the name redis-server.
  binary=$(command -v redis-server) || { log "redis-server not installed (scripts/deps.sh)"; exit 1; }
  redis_version=$("$binary" --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
  tag="localhost/syncline-redis:$redis_version"
  out="$target/image/syncline-redis-$redis_version.tar"
  entrypoint=/usr/bin/redis-server
elif [ -z "$binary" ]; then
  (cd "$repo" && cargo build --release --locked --quiet --bin syncline)
  binary="$target/release/syncline"
fi
entrypoint=${entrypoint:-/usr/local/bin/syncline}
t1=$(date +%s.%N)

mkdir -p "$target/image"
etc=$(mktemp -d)
trap 'rm -rf "$etc"' EXIT
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$etc/group"
files=(--file "$binary:$entrypoint" --file "$etc/passwd:/etc/passwd"
  --file "$etc/group:/etc/group")
[ -f /etc/ssl/certs/ca-certificates.crt ] &&
  files+=(--file "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt")
python3 "$here/node/docker-archive.py" --out "$out" --tag "$tag" \
  --entrypoint "$entrypoint" --user 65532:65532 \
  "${files[@]}" --libs-of "$binary" --dir /tmp:1777 >/dev/null
t2=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
log "$tag: $(du -m "$out" | cut -f1) MB archive; binary $(secs "$t0" "$t1") s, archive $(secs "$t1" "$t2") s"

if [ -n "$import_dir" ]; then
  ctr --address "$import_dir/containerd/containerd.sock" -n k8s.io images import "$out" >/dev/null
  log "imported $tag into the node in $import_dir ($(secs "$t2" "$(date +%s.%N)") s)"
fi
echo "$out"

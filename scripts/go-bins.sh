# Shared by k8s-bins.sh and node-bins.sh (sourced): a version-keyed cache folder of Go-built
# binaries. The caller sets `here`, `name` (log prefix), `bin` (the cache folder), `all`
# (the binaries it must hold), K8S_VERSION and BUILD_DATE, then calls go_bins_begin "$@",
# `build` for each binary and go_bins_finish.

log() { echo "$name: $*" >&2; }

complete() {
  local b
  for b in "${all[@]}"; do [ -x "$bin/$b" ] || return 1; done
}

# --print: print the folder or fail, build nothing. Otherwise print it and exit if it is
# complete, else prepare the build (into $bin.partial, so an interrupted build is resumed
# and never mistaken for a finished one).
go_bins_begin() {
  if [ "${1:-}" = "--print" ]; then
    complete || { echo "$name: not built yet; run scripts/$name.sh" >&2; exit 1; }
    echo "$bin"
    exit 0
  fi
  if complete; then
    echo "$bin"
    exit 0
  fi
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  tmp="$bin.partial"
  mkdir -p "$tmp"
  start=$(date +%s)
  # Kubernetes binaries report their version from these variables (else v0.0.0-master).
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  kube_ldflags=""
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kube_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
  done
}

build() { # wrapper-dir out pkg [ldflags]
  local dir=$1 out=$2 pkg=$3 ldflags=${4:-} t0
  [ -x "$tmp/$out" ] && return 0
  log "building $out ($pkg)"
  t0=$(date +%s)
  (cd "$here/k8s/$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/$out" "$pkg")
  log "built $out in $(( $(date +%s) - t0 )) s"
}

go_bins_finish() {
  rm -rf "$bin"
  mv "$tmp" "$bin"
  log "built in $(( $(date +%s) - start )) s into $bin"
  echo "$bin"
}

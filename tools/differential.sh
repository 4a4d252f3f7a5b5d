#!/bin/sh
# The differential test of issue 4 (docs/DIFFERENTIAL.md): a deterministic
# corpus of Gateway API objects, judged by `build/gwhook validate` offline and
# by a real kube-apiserver (server-side dry-run create, our webhook
# unregistered). Builds the oracle (tests/oracle) if needed and runs
# `oracle differential`; the last line of its output is
#
#   differential: objects=N verdict_agreement=X% path_agreement=Y%
#
# usage: tools/differential.sh [FLAGS...]   (flags of `oracle differential`:
#        -out DIR, -v, -seed N, -max N, -j N, -inprocess, -generate-only,
#        -kubeconfig FILE, -allowlist FILE)
#
# Environment: DIFFERENTIAL_KUBECONFIG (default build/cluster/kubeconfig, as
# written by `make cluster-up`), XDG_CACHE_HOME, GO (default: go on PATH,
# else /usr/local/go/bin/go).
# Exit: 0 targets met, 1 targets missed (unexplained disagreements),
# 2 setup error (no Go, no cluster, our webhook still registered, ...).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
if ! command -v "$GO" >/dev/null 2>&1; then
    echo "differential: 'go' not found. Install Go >= 1.26 (tests/oracle/go.mod) or put the" >&2
    echo "  machine's Go on PATH (e.g. export PATH=\$PATH:/usr/local/go/bin)." >&2
    exit 2
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# the oracle binary, cached outside the repository and keyed by its sources
# (go.mod, go.sum and every *.go file of tests/oracle)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatecheck
hash=$(cd tests/oracle && cat go.mod go.sum $(LC_ALL=C ls ./*.go) | sha256sum | cut -c1-16)
bin="$cache/oracle-$hash/oracle"
if [ ! -x "$bin" ]; then
    echo "  GO      $bin" >&2
    mkdir -p "${bin%/*}"
    (cd tests/oracle && "$GO" build -o "$bin.tmp" .) || exit 2
    mv "$bin.tmp" "$bin"
fi

if [ ! -x build/gwhook ]; then
    make -s build/gwhook >&2 || exit 2
fi

crds=$(cd tests/oracle && "$GO" mod download sigs.k8s.io/gateway-api &&
    "$GO" list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api) || {
    echo "differential: cannot find sigs.k8s.io/gateway-api in the Go module cache; the Go module" >&2
    echo "  proxy must be reachable (GOPROXY) or the module cache filled." >&2
    exit 2
}

exec "$bin" differential -repo . -crds "$crds" \
    -kubeconfig "${DIFFERENTIAL_KUBECONFIG:-build/cluster/kubeconfig}" "$@"

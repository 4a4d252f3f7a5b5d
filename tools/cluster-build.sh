#!/bin/sh
# Build the local control plane's programs from Go modules (tests/cluster):
# kube-apiserver and kube-controller-manager from k8s.io/kubernetes, etcd from
# go.etcd.io/etcd/server/v3. The binaries go to a cache outside the repository,
# keyed by the module files and the Go version, so a warm run does not rebuild.
# Prints the directory holding the three binaries on stdout; progress on stderr.
#
# Environment: GATECHECK_CACHE (default $XDG_CACHE_HOME/gatecheck or
# ~/.cache/gatecheck), GO (default: go on PATH, else /usr/local/go/bin/go).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mod="$top/tests/cluster"

GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
if ! [ -x "$GO" ] && ! command -v "$GO" >/dev/null 2>&1; then
    echo "cluster-build: 'go' not found. Install Go >= 1.26 (tests/cluster/go.mod)" >&2
    echo "  or put the machine's Go on PATH (e.g. export PATH=\$PATH:/usr/local/go/bin)." >&2
    exit 2
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

cache=${GATECHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatecheck}
key=$( { cat "$mod/go.mod" "$mod/go.sum"; "$GO" version; } | sha256sum | cut -c1-16)
dir="$cache/cluster-$key"

if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ] && [ -x "$dir/kube-controller-manager" ]; then
    echo "$dir"
    exit 0
fi

mkdir -p "$dir"
tmp="$dir/.tmp.$$"
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp"
echo "cluster-build: building kube-apiserver, kube-controller-manager and etcd into $dir" >&2
echo "cluster-build: (first build only; about 10-20 minutes on 2 cores)" >&2
if ! (cd "$mod" && "$GO" mod download 2>&1 >/dev/null) ; then
    echo "cluster-build: could not fetch the modules in tests/cluster/go.mod; the Go module proxy" >&2
    echo "  must be reachable (GOPROXY) or the module cache filled." >&2
    exit 2
fi
for p in k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager go.etcd.io/etcd/server/v3; do
    name=${p##*/}
    [ "$name" = v3 ] && name=etcd
    echo "cluster-build:   go build $p" >&2
    (cd "$mod" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags='-s -w' -o "$tmp/$name" "$p") || exit 1
done
mv "$tmp"/* "$dir/"
echo "$dir"

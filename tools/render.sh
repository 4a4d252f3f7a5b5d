#!/bin/sh
# Render a kustomization under deploy/ as `kubectl apply -k` would, with the
# kustomize library (tests/deploy, sigs.k8s.io/kustomize/api). The renderer
# is built once into a cache outside the repository, keyed by its module
# files and the Go version.
#
#   tools/render.sh DIR      the rendered objects (multi-document YAML) on stdout
#   tools/render.sh --bin    build if needed, print the renderer's path
#
# Environment: GATECHECK_CACHE (default $XDG_CACHE_HOME/gatecheck or
# ~/.cache/gatecheck), GO (default: go on PATH, else /usr/local/go/bin/go).
# Exit status: 0 rendered, 1 kustomize refused DIR, 2 usage or build failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
mod="$top/tests/deploy"

case ${1:-} in
    "" | -h | --help)
        echo "usage: tools/render.sh DIR | --bin" >&2
        exit 2
        ;;
esac

GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
if ! [ -x "$GO" ] && ! command -v "$GO" > /dev/null 2>&1; then
    echo "render: 'go' not found: install Go >= 1.26 or put it on PATH (/usr/local/go/bin)" >&2
    exit 2
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

cache=${GATECHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatecheck}
key=$({ cat "$mod/go.mod" "$mod/go.sum" "$mod/main.go"; "$GO" version; } | sha256sum | cut -c1-16)
bin="$cache/kustomize-render-$key/render"
if ! [ -x "$bin" ]; then
    mkdir -p "${bin%/*}" || exit 2
    echo "render: building the renderer into ${bin%/*}" >&2
    if ! (cd "$mod" && "$GO" build -trimpath -o "$bin.tmp.$$" .); then
        rm -f "$bin.tmp.$$"
        echo "render: could not build tests/deploy; the Go module proxy must be reachable" >&2
        echo "  (GOPROXY) or the module cache filled." >&2
        exit 2
    fi
    mv "$bin.tmp.$$" "$bin" || exit 2
fi
if [ "$1" = --bin ]; then
    echo "$bin"
    exit 0
fi
exec "$bin" "$1"

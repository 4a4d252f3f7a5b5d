#!/bin/sh
# Build upstream's echo backend, echo-basic, from the sigs.k8s.io/gateway-api
# conformance module pinned in tests/fixtures/echo-basic/go.mod: the program
# the real echo image runs. The binary goes to a cache outside the repository,
# keyed by the module files and the Go version. Prints its path on stdout.
#
# Environment: GATECHECK_CACHE (default $XDG_CACHE_HOME/gatecheck or
# ~/.cache/gatecheck), GO (default: go on PATH, else /usr/local/go/bin/go).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mod="$top/tests/fixtures/echo-basic"

GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
if ! [ -x "$GO" ] && ! command -v "$GO" >/dev/null 2>&1; then
    echo "echo-build: 'go' not found. Install Go >= 1.26 or put the machine's Go on PATH" >&2
    echo "  (e.g. export PATH=\$PATH:/usr/local/go/bin)." >&2
    exit 2
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

cache=${GATECHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatecheck}
key=$( { cat "$mod/go.mod" "$mod/go.sum"; "$GO" version; } | sha256sum | cut -c1-16)
bin="$cache/echo-basic-$key/echo-basic"
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi
mkdir -p "${bin%/*}"
echo "echo-build: building echo-basic into ${bin%/*}" >&2
if ! (cd "$mod" && "$GO" build -trimpath -o "$bin.tmp.$$" sigs.k8s.io/gateway-api/conformance/echo-basic); then
    rm -f "$bin.tmp.$$"
    echo "echo-build: could not build echo-basic; the Go module proxy must be reachable" >&2
    echo "  (GOPROXY) or the module cache filled." >&2
    exit 2
fi
mv "$bin.tmp.$$" "$bin"
echo "$bin"

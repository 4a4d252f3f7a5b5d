#!/bin/sh
# Build upstream's Gateway API conformance suite as a test binary: `go test -c`
# of tests/upstream (our one test file, which calls the suite of the
# sigs.k8s.io/gateway-api conformance module pinned in tests/upstream/go.mod).
# The binary goes to a cache outside the repository, keyed by the module
# files, the test file and the Go version; test2json (from the same Go) is
# built next to it so that tools/upstream-suite.sh needs no Go at run time.
# Prints the binary's path on stdout; progress on stderr.
#
# Environment: GATECHECK_CACHE (default $XDG_CACHE_HOME/gatecheck or
# ~/.cache/gatecheck), GO (default: go on PATH, else /usr/local/go/bin/go),
# GO_BUILD_P (parallel build jobs, default 1: the machine is shared).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mod="$top/tests/upstream"

GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
if ! [ -x "$GO" ] && ! command -v "$GO" >/dev/null 2>&1; then
    echo "upstream-build: 'go' not found. Install Go >= 1.26 (tests/upstream/go.mod)" >&2
    echo "  or put the machine's Go on PATH (e.g. export PATH=\$PATH:/usr/local/go/bin)." >&2
    exit 2
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

cache=${GATECHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatecheck}
key=$( { cat "$mod/go.mod" "$mod/go.sum" "$mod/upstream_test.go"; "$GO" version; } | sha256sum | cut -c1-16)
dir="$cache/upstream-$key"
bin="$dir/upstream.test"
if [ -x "$bin" ] && [ -x "$dir/test2json" ]; then
    echo "$bin"
    exit 0
fi

mkdir -p "$dir"
tmp="$dir/.tmp.$$"
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp"
echo "upstream-build: building upstream's conformance suite into $dir" >&2
echo "upstream-build: (first build only: about 1 minute on 2 cores with a warm Go build cache, several without)" >&2
if ! (cd "$mod" && "$GO" mod download >/dev/null); then
    echo "upstream-build: could not fetch the modules in tests/upstream/go.mod; the Go module" >&2
    echo "  proxy must be reachable (GOPROXY) or the module cache filled." >&2
    exit 2
fi
if ! (cd "$mod" && CGO_ENABLED=0 "$GO" test -c -p "${GO_BUILD_P:-1}" -trimpath -o "$tmp/upstream.test" .); then
    echo "upstream-build: 'go test -c' failed in tests/upstream (see above)." >&2
    exit 2
fi
if ! CGO_ENABLED=0 "$GO" build -trimpath -o "$tmp/test2json" cmd/test2json; then
    echo "upstream-build: could not build cmd/test2json from $("$GO" env GOROOT)." >&2
    exit 2
fi
mv "$tmp/test2json" "$dir/test2json"
mv "$tmp/upstream.test" "$bin"
echo "$bin"

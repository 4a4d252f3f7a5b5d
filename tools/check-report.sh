#!/bin/sh
# Check ConformanceReport YAML files with upstream's own Go type
# (tests/reportcheck: strict decode with sigs.k8s.io/gateway-api/conformance
# apis/v1 at tag conformance/v1.6.1, upstream's marshaller must reproduce the
# file byte for byte, results/counts/summaries must agree).
#
#   tools/check-report.sh [-q] [-no-roundtrip] [-no-consistency] REPORT.yaml...
#
# The checker is built once into $XDG_CACHE_HOME/gatecheck/reportcheck-<hash>/
# (default ~/.cache), keyed by tests/reportcheck's go.mod, go.sum and main.go.
# Exit status: the checker's (0 valid, 1 invalid, 2 usage/I-O), 3 when it
# cannot be built, 77 when no Go toolchain is found (/usr/local/go/bin or PATH).
set -u
src=$(cd "$(dirname "$0")/../tests/reportcheck" && pwd) || exit 2

[ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null 2>&1; then
    echo "check-report: no Go toolchain (looked in /usr/local/go/bin and PATH)" >&2
    exit 77
fi

hash=$(cd "$src" && cat go.mod go.sum main.go | sha256sum | cut -c1-16) || exit 3
dir="${XDG_CACHE_HOME:-$HOME/.cache}/gatecheck/reportcheck-$hash"
bin="$dir/reportcheck"
if [ ! -x "$bin" ]; then
    mkdir -p "$dir" || exit 3
    if ! (cd "$src" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -o "$bin.tmp.$$" .) >&2; then
        rm -f "$bin.tmp.$$"
        echo "check-report: cannot build $src (needs Go >= 1.26 and the module proxy or a filled module cache)" >&2
        exit 3
    fi
    mv -f "$bin.tmp.$$" "$bin" || exit 3
fi
exec "$bin" "$@"

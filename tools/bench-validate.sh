#!/bin/sh
# Validations per second per core (typical and large HTTPRoute), then
# instructions per validation from callgrind (repeatable, unlike seconds).
set -eu
cd "$(dirname "$0")/.."
bin=build/bench_validate
"$bin"
if command -v valgrind >/dev/null 2>&1; then
    for n in 10 110; do
        valgrind --tool=callgrind --callgrind-out-file=build/callgrind.$n.out "$bin" "$n" \
            >/dev/null 2>build/callgrind.$n.log
    done
    # (Ir at 110 runs - Ir at 10 runs) / 100 = instructions per pair of validations
    a=$(sed -n 's/^summary: //p' build/callgrind.10.out)
    b=$(sed -n 's/^summary: //p' build/callgrind.110.out)
    echo "bench-validate: callgrind $(( (b - a) / 100 )) instructions per typical+large validation pair"
    for which in typical large; do :; done
else
    echo "bench-validate: valgrind not installed; skipping instruction counts"
fi

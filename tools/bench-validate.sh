#!/bin/sh
# Validations per second per core (typical and large HTTPRoute), then
# instructions per validation from callgrind (repeatable, unlike seconds):
# the difference between N=110 and N=10 runs, divided by 100, so start-up
# (schema trees, regex compilation) is not counted.
set -eu
cd "$(dirname "$0")/.."
bin=build/bench_validate
"$bin"
if ! command -v valgrind >/dev/null 2>&1; then
    echo "bench-validate: valgrind not installed; skipping instruction counts (make deps)"
    exit 0
fi
for which in typical large; do
    for n in 10 110; do
        GATECHECK_PCRE2_JIT=${GATECHECK_PCRE2_JIT:-1} valgrind --tool=callgrind \
            --callgrind-out-file=build/callgrind.$which.$n.out "$bin" "$which" "$n" \
            >/dev/null 2>build/callgrind.$which.$n.log
    done
    a=$(sed -n 's/^summary: //p' build/callgrind.$which.10.out)
    b=$(sed -n 's/^summary: //p' build/callgrind.$which.110.out)
    printf 'bench-validate: %-8s %10d instructions/validation (callgrind)\n' "$which" $(((b - a) / 100))
done

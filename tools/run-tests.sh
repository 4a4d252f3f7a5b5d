#!/bin/sh
# Run every test binary (each its own process: a crash takes down one test,
# not the suite), the CLI suites and the spec-row coverage report. Prints the
# overall "N passed, N failed" line last; exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 2

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export GC_COVERAGE_OUT="build/coverage.tsv"
# upstream's echo backend for the fixture gateway's end-to-end cases (built
# from the conformance module; without Go they skip and say why)
PATH="$PATH:/usr/local/go/bin"
GATECHECK_ECHO_BIN=${GATECHECK_ECHO_BIN:-$(tools/echo-build.sh 2>/dev/null)}
export GATECHECK_ECHO_BIN
rm -f "$GC_COVERAGE_OUT"

passed=0
failed=0
log=build/test.log
: > "$log"

# run NAME COMMAND...: one TAP producer; count its checks, show its failures
run() {
    name=$1
    shift
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" >> "$log"
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1)) # crashed or sanitizer report without a TAP failure
    fi
    # lines a suite wants in the summary (e.g. the differential figures)
    printf '%s\n' "$out" | sed -n 's/^# report: /     /p'
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
        echo "FAIL $name (exit $rc)"
        printf '%s\n' "$out" | grep -E -A6 '^not ok|ERROR: AddressSanitizer|runtime error|LeakSanitizer' | head -60
    else
        echo "ok   $name ($p checks)"
    fi
}

for t in "$@"; do
    run "$t" "$t"
done
for s in tests/cli/*.sh; do
    [ -f "$s" ] && run "$s" sh "$s"
done

# through a real kube-apiserver: webhook integration, the differential test
run tools/cluster-tests.sh tools/cluster-tests.sh

tools/rules-coverage.sh "$GC_COVERAGE_OUT" || failed=$((failed + 1))
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

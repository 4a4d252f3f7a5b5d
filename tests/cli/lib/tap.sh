# TAP helpers for the CLI suites (sourced, not run: tools/run-tests.sh runs
# tests/cli/*.sh only). The suites keep their own counters n and failures.
n=0
failures=0

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}

notok() {
    n=$((n + 1))
    failures=$((failures + 1))
    echo "not ok $n - $1"
}

# diag FILE [LINES]: print a file as TAP diagnostics (40 lines unless told).
diag() {
    [ -s "$1" ] && head -n "${2:-40}" "$1" | sed 's/^/#   /'
    return 0
}

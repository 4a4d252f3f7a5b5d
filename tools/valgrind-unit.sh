#!/bin/sh
# Every unit test (built without sanitizers by `make valgrind` into
# build/vg/tests/) under valgrind memcheck: any memory error or leak fails
# it. Prints TAP, one line per test binary, and a last line
# "valgrind-unit: tests=N clean=M". Cluster-only cases skip as they do in
# make test (no GATECHECK_KUBECONFIG). Usage: tools/valgrind-unit.sh BIN...
set -u
cd "$(dirname "$0")/.." || exit 2
PATH="$PATH:/usr/local/go/bin"
if ! command -v valgrind > /dev/null 2>&1; then
    echo "ok 1 - # SKIP valgrind not installed (make deps installs it)"
    echo "1..1"
    exit 0
fi
# the fixture data plane's end-to-end cases want upstream's echo backend
GATECHECK_ECHO_BIN=${GATECHECK_ECHO_BIN:-$(tools/echo-build.sh 2> /dev/null)}
export GATECHECK_ECHO_BIN
# valgrind cannot follow PCRE2 JIT code (false uninitialised reads): no JIT
export GATECHECK_PCRE2_JIT=0
mkdir -p build/vg/logs
n=0
clean=0
for t in "$@"; do
    n=$((n + 1))
    name=${t#build/vg/}
    log=build/vg/logs/$(echo "$name" | tr / _).log
    start=$(date +%s)
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --track-fds=no --log-file="$log" "$t" > "$log.out" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    failed=$(grep -c '^not ok' "$log.out")
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
    if [ "$rc" -eq 0 ] && [ "${errors:-1}" = 0 ]; then
        clean=$((clean + 1))
        echo "ok $n - $name under memcheck: 0 errors, no leak (${secs}s)"
    else
        echo "not ok $n - $name under memcheck: exit $rc, ${errors:-?} errors, $failed failed checks ($log)"
        grep -E -A12 'Invalid|uninitialised|definitely lost|indirectly lost' "$log" | head -30 | sed 's/^/#   /'
        grep '^not ok' "$log.out" | head -5 | sed 's/^/#   /'
    fi
done
echo "1..$n"
echo "valgrind-unit: tests=$n clean=$clean"
[ "$clean" -eq "$n" ]

#!/bin/sh
# Fuzzing (issue 9; docs/RELIABILITY.md): libFuzzer targets under ASan and
# UBSan, one per parser or judge that takes outside bytes (tests/fuzz/).
#
#   tools/fuzz.sh [TARGET...]        build, extract seeds, fuzz each target
#                                    FUZZ_SECONDS (default 60), FUZZ_JOBS at a
#                                    time (default 2); `make fuzz` runs this
#   tools/fuzz.sh --regress          replay tests/data/fuzz/<target>/ (the
#                                    minimised crashes) and tests/fuzz/seeds/
#                                    under ASan+UBSan, as `make test` does
#   tools/fuzz.sh --minimize TARGET FILE
#                                    minimise a reproducer into
#                                    tests/data/fuzz/TARGET/ (a regression input)
#
# Targets: review yaml kubeconfig scenario compare defaults. The build is
# incremental (tests/fuzz/fuzz.mk, clang) in build/fuzz/; the corpus of each
# target lives in build/fuzz/corpus/<target>/ (seeds from tests/data/ plus
# what libFuzzer found, kept across runs, never committed); logs in
# build/fuzz/logs/; reproducers in build/fuzz/crashes/<target>/ (with the
# slow units, inputs that took over 2 s: counted, not failures). Prints one
# line per target and a last line
#   fuzz: targets=6 seconds=60 crashes=0 execs=N
# and exits 1 when a target crashed, leaked, timed out or ran out of memory.
set -eu
cd "$(dirname "$0")/.."

ALL="review yaml kubeconfig scenario compare defaults"
OUT=build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}

die() {
    echo "fuzz: $*" >&2
    exit 2
}

# max_len per target: what a real input of that kind could be
max_len() {
    case $1 in
    review | yaml) echo 65536 ;;
    scenario | defaults) echo 32768 ;;
    *) echo 16384 ;;
    esac
}

# the dictionary of tokens libFuzzer inserts
dict() {
    case $1 in
    review | compare | defaults) echo tests/fuzz/json.dict ;;
    *) echo tests/fuzz/yaml.dict ;;
    esac
}

check_tools() {
    command -v clang >/dev/null 2>&1 || die "clang not found: run 'make deps' (Debian package clang)"
    rt="$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a"
    [ -f "$rt" ] || die "libFuzzer not found ($rt): run 'make deps' (Debian package libclang-rt-14-dev)"
    python3 -c 'import yaml' 2>/dev/null || die "python3 with yaml needed for the seeds: run 'make deps'"
}

build() {
    make -s --no-print-directory -f tests/fuzz/fuzz.mk -j"$JOBS" || die "build failed"
}

# Seeds from tests/data/ (and the YAML the repository ships) into
# build/fuzz/corpus/<target>/, again only when one of their sources changed.
seeds() {
    stamp=$OUT/corpus/.seeds-stamp
    if [ -f "$stamp" ] && [ -z "$(find tests/data conformance deploy tests/fuzz/seeds tests/fuzz/seeds.py \
        -newer "$stamp" -print 2>/dev/null | head -n 1)" ]; then
        return 0
    fi
    mkdir -p "$OUT/corpus"
    # shellcheck disable=SC2086 # the target names, one word each
    python3 tests/fuzz/seeds.py "$OUT/corpus" $ALL >/dev/null || die "seed extraction failed"
    touch "$stamp"
}

# run TARGET: fuzz it for SECONDS_EACH; the log says what happened
run() {
    t=$1
    # the kubeconfig and scenario targets write their input to a file there;
    # a crashed target leaves it behind
    tmp=$PWD/$OUT/tmp/$t
    rm -rf "$tmp"
    mkdir -p "$OUT/crashes/$t" "$OUT/logs" "$OUT/corpus/$t" "$tmp"
    rc=0
    TMPDIR=$tmp UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -report_slow_units=2 -rss_limit_mb=2048 \
        -max_len="$(max_len "$t")" -dict="$(dict "$t")" -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$t/" "$OUT/corpus/$t" \
        </dev/null >"$OUT/logs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$OUT/logs/$t.rc"
    rm -rf "$tmp"
}

# final_stat NAME LOG: a final statistic of libFuzzer's, or 0
final_stat() {
    v=$(sed -n "s/^stat::$1: *//p" "$2" | tail -n 1)
    echo "${v:-0}"
}

summarise() {
    t=$1
    log=$OUT/logs/$t.log
    rc=$(cat "$OUT/logs/$t.rc" 2>/dev/null || echo 1)
    execs=$(final_stat number_of_executed_units "$log")
    rate=$(final_stat average_exec_per_sec "$log")
    rss=$(final_stat peak_rss_mb "$log")
    corpus=$(sed -n 's/^#[0-9]*.*corp: \([0-9]*\)\/.*/\1/p' "$log" | tail -n 1)
    cov=$(sed -n 's/^#[0-9]*.*cov: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | grep -v '/slow-unit-' | tail -n 1)
    slow=$(grep -c 'Test unit written to .*/slow-unit-' "$log" || true)
    result=ok
    if [ "$rc" -ne 0 ] || [ -n "$artifact" ]; then
        result="FAILED(exit $rc)"
        if grep -q 'ERROR: libFuzzer: timeout' "$log"; then
            result=timeout
        elif grep -q 'ERROR: libFuzzer: out-of-memory' "$log"; then
            result=oom
        elif grep -q 'ERROR: LeakSanitizer' "$log"; then
            result=leak
        elif grep -qE 'ERROR: (AddressSanitizer|libFuzzer: deadly signal)|runtime error|fuzz invariant broken' "$log"; then
            result=crash
        fi
        crashes=$((crashes + 1))
    fi
    total=$((total + execs))
    echo "fuzz: $t execs=$execs execs/s=$rate corpus=${corpus:-0} cov=${cov:-0} rss=${rss}MB" \
        "slow_units=$slow result=$result${artifact:+ reproducer=$artifact}"
    if [ "$result" != ok ]; then
        grep -E -m 12 'ERROR:|runtime error|invariant broken|^    #[0-9] ' "$log" | sed 's/^/      /'
        echo "      log: $log; rerun: $OUT/fuzz_$t ${artifact:-<reproducer>};" \
            "then: tools/fuzz.sh --minimize $t ${artifact:-<reproducer>}"
    fi
}

regress() {
    make -s --no-print-directory build/san/libcore.a || die "cannot build build/san/libcore.a"
    out=$(sh tests/cli/fuzz-regress.sh) || {
        printf '%s\n' "$out"
        exit 1
    }
    printf '%s\n' "$out"
}

minimize() {
    [ $# -eq 2 ] || die "usage: tools/fuzz.sh --minimize TARGET FILE"
    t=$1
    f=$2
    [ -f "$f" ] || die "no such file: $f"
    case " $ALL " in *" $t "*) ;; *) die "unknown target '$t' (targets: $ALL)" ;; esac
    check_tools
    build
    mkdir -p "tests/data/fuzz/$t"
    dest="tests/data/fuzz/$t/$(basename "$f")"
    mkdir -p "$OUT/logs" "$OUT/tmp/$t"
    TMPDIR=$PWD/$OUT/tmp/$t "$OUT/fuzz_$t" -minimize_crash=1 -max_total_time=60 -timeout=10 -rss_limit_mb=2048 \
        -exact_artifact_path="$dest" "$f" </dev/null >"$OUT/logs/minimize-$t.log" 2>&1 || true
    [ -f "$dest" ] || cp "$f" "$dest"
    echo "fuzz: minimised $f ($(wc -c <"$f") bytes) into $dest ($(wc -c <"$dest") bytes);" \
        "rename it after the bug, and check that tools/fuzz.sh --regress fails before the fix"
}

case ${1:-} in
--regress)
    regress
    exit 0
    ;;
--minimize)
    shift
    minimize "$@"
    exit 0
    ;;
--help | -h)
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac

targets=${*:-$ALL}
for t in $targets; do
    case " $ALL " in *" $t "*) ;; *) die "unknown target '$t' (targets: $ALL)" ;; esac
done
case $SECONDS_EACH in '' | *[!0-9]*) die "FUZZ_SECONDS must be a number of seconds" ;; esac
case $JOBS in '' | *[!0-9]* | 0) die "FUZZ_JOBS must be a positive number" ;; esac

check_tools
build
seeds

# FUZZ_JOBS targets at a time; they all run for the same time, so in waves
pids=""
n=0
for t in $targets; do
    run "$t" &
    pids="$pids $!"
    n=$((n + 1))
    if [ "$n" -ge "$JOBS" ]; then
        for p in $pids; do wait "$p" || true; done
        pids=""
        n=0
    fi
done
for p in $pids; do wait "$p" || true; done

crashes=0
total=0
count=0
for t in $targets; do
    summarise "$t"
    count=$((count + 1))
done
echo "fuzz: targets=$count seconds=$SECONDS_EACH crashes=$crashes execs=$total"
[ "$crashes" -eq 0 ]

#!/bin/sh
# The fuzz targets' regression inputs (tests/data/fuzz/<target>/: crashes
# fuzzing found, minimised; docs/RELIABILITY.md) and hand-picked seeds
# (tests/fuzz/seeds/<target>/), replayed under ASan+UBSan without libFuzzer:
# each tests/fuzz/fuzz_<target>.c is built with the C compiler against
# build/san/libcore.a and the main() of tests/fuzz/regress.c (again only when
# a source changed), then run over its inputs. One TAP line per target.
# Part of `make test` (seconds); `tools/fuzz.sh --regress` runs it alone.
set -u
cd "$(dirname "$0")/../.." || exit 2
CC=${CC:-cc}
lib=build/san/libcore.a
dir=build/san/fuzz
WARN="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wformat=2 -Wwrite-strings -Wvla -Wconversion -Wno-sign-conversion -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
LIBS="-lmicrohttpd -lgnutls -lcurl -lssl -lcrypto -lyaml -lcjson -lpcre2-8 -lm -pthread"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ ! -f "$lib" ]; then
    echo "1..0 # SKIP $lib not built (make test builds it first; or: make $lib)"
    exit 0
fi
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "1..0 # SKIP no C compiler ($CC)"
    exit 0
fi
mkdir -p "$dir"
n=0
fail=0
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    t=${src#tests/fuzz/fuzz_}
    t=${t%.c}
    bin=$dir/regress_$t
    log=$dir/regress_$t.log
    n=$((n + 1))
    if [ ! -x "$bin" ] || [ -n "$(find "$src" tests/fuzz/regress.c tests/fuzz/common.c \
        tests/fuzz/fuzz.h "$lib" -newer "$bin" -print 2>/dev/null | head -n 1)" ]; then
        # shellcheck disable=SC2086 # the flag lists split into words
        if ! $CC $WARN -O1 -g $SAN -Iinclude -D_GNU_SOURCE -o "$bin.tmp" "$src" \
            tests/fuzz/common.c tests/fuzz/regress.c "$lib" $LIBS >"$log" 2>&1; then
            echo "not ok $n - fuzz_$t: the regression runner does not build"
            sed 's/^/#   /' "$log" | head -20
            fail=1
            continue
        fi
        mv "$bin.tmp" "$bin"
    fi
    rm -rf "$dir/tmp" && mkdir -p "$dir/tmp" # where targets write their input files
    TMPDIR=$PWD/$dir/tmp timeout 120 "$bin" "tests/data/fuzz/$t" "tests/fuzz/seeds/$t" \
        </dev/null >"$log" 2>&1
    rc=$?
    inputs=$(grep -c '^ok - ' "$log")
    if [ "$rc" -eq 0 ] && ! grep -q '^not ok' "$log"; then
        echo "ok $n - fuzz_$t: $inputs inputs replayed (tests/data/fuzz/$t, tests/fuzz/seeds/$t)"
    else
        echo "not ok $n - fuzz_$t: exit $rc after $inputs inputs (log: $log)"
        grep -E '^# running|^not ok|ERROR:|runtime error|invariant broken|SUMMARY' "$log" |
            tail -n 8 | sed 's/^/#   /'
        fail=1
    fi
done
rm -rf "$dir/tmp"
echo "1..$n"
exit "$fail"

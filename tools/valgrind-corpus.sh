#!/bin/sh
# gwhook validate over the whole test corpus (every object of every case in
# tests/data/rules and tests/data/defaults, and tests/data/examples) under
# valgrind memcheck, in both channels. Prints TAP; fails on any valgrind
# error or leak. Used by `make valgrind` and by `make test` (tests/cli).
set -u
cd "$(dirname "$0")/.." || exit 2
bin=${GWHOOK:-build/gwhook}
out=build/corpus
n=0
fail=0

if ! command -v valgrind >/dev/null 2>&1; then
    echo "ok 1 - # SKIP valgrind not installed (make deps installs it)"
    echo "1..1"
    exit 0
fi
rm -rf "$out" && mkdir -p "$out"
python3 - "$out" <<'PY' || exit 2
import glob, os, sys, yaml
out = sys.argv[1]
count = 0
for path in sorted(glob.glob("tests/data/rules/*.yaml") + glob.glob("tests/data/defaults/*.yaml")):
    docs = []
    try:
        loaded = list(yaml.safe_load_all(open(path, encoding="utf-8")))
    except yaml.YAMLError as e:
        print("# skipped %s: %s" % (path, str(e).replace("\n", " ")))
        continue
    for doc in loaded:
        for case in doc or []:
            for key in ("object", "old"):
                if isinstance(case, dict) and isinstance(case.get(key), dict):
                    docs.append(case[key])
    name = os.path.join(out, os.path.basename(path))
    with open(name, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)
    count += len(docs)
print("# corpus: %d objects from the case files" % count)
PY
for channel in standard experimental; do
    n=$((n + 1))
    log=build/valgrind.$channel.log
    GATECHECK_PCRE2_JIT=0 valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
        --errors-for-leak-kinds=all "$bin" validate -q --channel "$channel" \
        "$out" tests/data/examples >/dev/null 2>"$log"
    rc=$?
    if [ "$rc" -eq 99 ] || grep -q "==[0-9]*==" "$log"; then
        echo "not ok $n - valgrind memcheck, $channel channel: errors or leaks (see $log)"
        grep "==[0-9]*==" "$log" | head -20 | sed 's/^/# /'
        fail=1
    elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "not ok $n - gwhook validate exited $rc under valgrind, $channel channel (see $log)"
        fail=1
    else
        echo "ok $n - valgrind memcheck clean over the corpus, $channel channel"
    fi
done
echo "1..$n"
exit $fail

#!/bin/sh
# Which spec rows (validation.md §3 and §4) lack a rejecting (or filling)
# case or an accepting case. Rows come from tools/spec-rows.txt, which
# `make schema` regenerates from the spec; coverage from the test run.
# Prints the uncovered rows and, last, "rules-uncovered: N". Exit 0 always:
# the number is a goal, reported, not a gate.
set -u
cd "$(dirname "$0")/.." || exit 2
cov="${1:-build/coverage.tsv}"
rows=tools/spec-rows.txt
[ -f "$cov" ] || : > "$cov"
python3 - "$rows" "$cov" <<'PY'
import sys
rows = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
unreachable = {}
for l in open("tools/spec-rows-unreachable.txt", encoding="utf-8"):
    if l.strip() and not l.startswith("#"):
        row, _, why = l.rstrip("\n").partition("\t")
        unreachable[row] = why
seen = {}
for line in open(sys.argv[2], encoding="utf-8"):
    kind, _, row = line.rstrip("\n").partition("\t")
    seen.setdefault(row, set()).add(kind)
missing = []
for r in rows:
    need = {"fill", "keep"} if r.startswith("§4") else {"reject", "accept"}
    lack = need - seen.get(r, set())
    if r in unreachable and lack == {"reject"}:
        print("unreachable: %s: %s" % (r, unreachable[r]))
        continue
    if lack:
        missing.append((r, sorted(lack)))
with open("build/rules-uncovered.txt", "w", encoding="utf-8") as out:
    for r, lack in missing:
        out.write("%s (no %s case)\n" % (r, " or ".join(lack)))
if len(missing) <= 30:
    for r, lack in missing:
        print("uncovered: %s (no %s case)" % (r, " or ".join(lack)))
else:
    print("uncovered rows: see build/rules-uncovered.txt")
print("rules-covered: %d of %d" % (len(rows) - len(missing), len(rows)))
print("rules-uncovered: %d" % len(missing))
PY

#!/bin/sh
# Run upstream's Gateway API conformance suite (built by tools/upstream-build.sh
# from tests/upstream) against a cluster, and write one line per upstream test
# that ran:
#
#   ShortName<TAB>PASS|FAIL|SKIP<TAB>first failure line (or skip reason)
#
# to --out (also printed on stdout). When the suite's base setup fails
# (GatewayClass never Accepted, base Gateways never Programmed, backend Pods
# never Ready...) no test runs at all: the file then holds the single line
# "SETUP<TAB>FAIL<TAB>why", and the exit status is still 0: that is the
# verdict on the gateway under test.
#
#   tools/upstream-suite.sh --kubeconfig FILE --gateway-class NAME \
#       --supported-features LIST [--run-test A,B | --skip-tests A,B] \
#       [--fast] [--timeouts 'Name:SECONDS;...'] [--timeout 60m] \
#       --out FILE.tsv [-- extra upstream flags]
#   tools/upstream-suite.sh --print-fast-timeouts
#   tools/upstream-suite.sh --list      ShortName<TAB>features of every upstream
#                                       test of the pinned release (no cluster)
#
#   --run-test A,B   only these ShortNames (our -gatecheck.run: every other test
#                    is skipped; unlike upstream's --run-test, which takes one
#                    name, the --supported-features check still applies).
#   --fast           shorter waits (see FAST below) for runs expected to fail;
#                    pass the same string (--print-fast-timeouts) to gwconform's
#                    --timeout-config-overrides so that both wait alike.
#   --timeouts S     more upstream timeout overrides, applied after --fast's.
#   --timeout D      the go test deadline for the whole run (default 60m).
#   -- ...           passed to the suite as they are, e.g. --cleanup-base-resources=false,
#                    --exempt-features=..., --debug, --report-output=FILE plus
#                    --organization/--project/--url/--version/--contact.
#
# Beside FILE.tsv: FILE.log (the suite's own go test -v output) and FILE.json
# (the same as go test -json events).
#
# Exit status: 0 the suite ran (whatever the verdicts); 2 it could not run
# (bad usage, no binary, kubeconfig unreadable or its API server silent, CRDs
# missing or of another release, GatewayClass missing, unknown test name, the
# run did not finish); the cause is printed on stderr.
#
# Environment: UPSTREAM_TEST (use this binary instead of tools/upstream-build.sh's).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
me=upstream-suite

# Upstream's defaults (conformance/utils/config) suit a real cloud load
# balancer. --fast is for the local fixture gateway, which settles in well
# under a second: a check that holds there holds within these, and a check
# that fails costs its whole timeout, so fault runs finish in minutes.
FAST='GWCMustBeAccepted:30;NamespacesMustBeReady:60;GatewayMustHaveAddress:20;GatewayMustHaveCondition:20;GatewayStatusMustHaveListeners:15;GatewayListenersMustHaveConditions:15;HTTPRouteMustNotHaveParents:15;HTTPRouteMustHaveCondition:15;RouteMustHaveParents:15;LatestObservedGenerationSet:15;DefaultTestTimeout:20;MaxTimeToConsistency:10;RequestTimeout:5'

die() { echo "$me: $*" >&2; exit 2; }
help() { sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
usage() {
    sed -n '/^#   tools/,/^#   tools.*print/p' "$0" | sed 's/^#//' >&2
    die "$1 (--help for more)"
}

list=0 kubeconfig="" class="" features="" runtest="" skiptests="" fast=0 timeouts="" out="" deadline=60m
while [ $# -gt 0 ]; do
    case $1 in
    --kubeconfig) [ $# -ge 2 ] || usage "--kubeconfig needs a file"; kubeconfig=$2; shift 2 ;;
    --gateway-class) [ $# -ge 2 ] || usage "--gateway-class needs a name"; class=$2; shift 2 ;;
    --supported-features) [ $# -ge 2 ] || usage "--supported-features needs a list"; features=$2; shift 2 ;;
    --run-test) [ $# -ge 2 ] || usage "--run-test needs ShortNames"; runtest=$2; shift 2 ;;
    --skip-tests) [ $# -ge 2 ] || usage "--skip-tests needs ShortNames"; skiptests=$2; shift 2 ;;
    --fast) fast=1; shift ;;
    --timeouts) [ $# -ge 2 ] || usage "--timeouts needs 'Name:SECONDS;...'"; timeouts=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage "--timeout needs a duration (e.g. 60m)"; deadline=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage "--out needs a file"; out=$2; shift 2 ;;
    --print-fast-timeouts) echo "$FAST"; exit 0 ;;
    --list) list=1; shift ;;
    -h|--help) help; exit 0 ;;
    --) shift; break ;;
    *) usage "unknown argument '$1' (upstream's own flags go after --)" ;;
    esac
done
if [ "$list" = 1 ]; then
    bin=${UPSTREAM_TEST:-$("$top/tools/upstream-build.sh")} || die "could not build the suite (tools/upstream-build.sh failed, see above)"
    "$bin" -test.run '^TestConformance$' -gatecheck.list | grep "$(printf '\t')" || die "$bin -gatecheck.list failed"
    exit 0
fi
[ -n "$kubeconfig" ] || usage "--kubeconfig FILE is required"
[ -n "$class" ] || usage "--gateway-class NAME is required"
[ -n "$features" ] || usage "--supported-features LIST is required (without it upstream infers them from the GatewayClass status)"
[ -n "$out" ] || usage "--out FILE.tsv is required"
[ -r "$kubeconfig" ] || die "cannot read kubeconfig $kubeconfig; start a cluster (tools/cluster.sh up) or pass the right file"
command -v python3 >/dev/null 2>&1 || die "python3 not found; run 'make deps'"

if [ -n "${UPSTREAM_TEST:-}" ]; then
    bin=$UPSTREAM_TEST
else
    bin=$("$top/tools/upstream-build.sh") || die "could not build the suite (tools/upstream-build.sh failed, see above)"
fi
[ -x "$bin" ] || die "no suite binary at $bin; run tools/upstream-build.sh"
t2j="$(dirname "$bin")/test2json"
[ -x "$t2j" ] || die "no test2json next to $bin; run tools/upstream-build.sh"

case $out in
*.tsv) base=${out%.tsv} ;;
*) base=$out ;;
esac
mkdir -p "$(dirname "$out")"
log="$base.log" json="$base.json"

over=""
[ "$fast" = 1 ] && over=$FAST
[ -n "$timeouts" ] && over="${over:+$over;}$timeouts"

# -test.parallel 16: upstream runs a test's request cases as parallel
# subtests; Go's default (GOMAXPROCS, 2 here) would queue them two by two
set -- -test.run '^TestConformance$' -test.v=test2json -test.timeout "$deadline" -test.count 1 \
    -test.parallel 16 \
    -kubeconfig "$kubeconfig" \
    -gateway-class "$class" -supported-features "$features" \
    ${runtest:+-gatecheck.run "$runtest"} \
    ${skiptests:+-skip-tests "$skiptests"} \
    ${over:+-timeout-config-overrides "$over"} \
    "$@"

echo "$me: $bin" >&2
echo "$me: running upstream's suite (class $class${runtest:+, tests $runtest}${over:+, timeouts $over}); log in $log" >&2
start=$(date +%s)
rc=0
KUBECONFIG=$kubeconfig "$bin" "$@" >"$log.raw" 2>&1 || rc=$?
end=$(date +%s)
"$t2j" -p upstream <"$log.raw" >"$json" 2>/dev/null || true
# The readable log: go test -v's text, without the test2json framing bytes.
tr -d '\026' <"$log.raw" >"$log"
rm -f "$log.raw"

# Turn the events into the TSV (python3: the test2json events are JSON).
set +e
python3 - "$json" "$out.tmp" "$runtest" "$skiptests" <<'EOF'
import json, re, sys

events_path, out_path = sys.argv[1], sys.argv[2]
selected = set(n.strip() for n in sys.argv[3].split(",") if n.strip())
skipped = set(n.strip() for n in sys.argv[4].split(",") if n.strip())
unsupported = 0
TOP = "TestConformance"
output = {}      # test name -> [lines]
final = {}       # test name -> pass|fail|skip
order = []       # ShortNames in the order they ran
fails = []       # failed test names, in the order they failed
for line in open(events_path, encoding="utf-8", errors="replace"):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    name, act = ev.get("Test", ""), ev.get("Action")
    if act == "output":
        output.setdefault(name, []).append(ev.get("Output", ""))
    elif act == "run" and name.count("/") == 1 and name.startswith(TOP + "/"):
        short = name.split("/", 1)[1]
        if short not in order:
            order.append(short)
    elif act in ("pass", "fail", "skip"):
        final[name] = act
        if act == "fail":
            fails.append(name)

STAMP = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d): ")
GOLINE = re.compile(r"^\s*[\w.-]+\.go:\d+: ")

def clean(s):
    s = STAMP.sub("", s.strip())
    s = re.sub(r"\s+", " ", s)
    return s[:400]

def first_failure(lines):
    """testify's "Error:"/"Messages:" block if any, else the last file.go:N: line."""
    text = "".join(lines).split("\n")
    for i, l in enumerate(text):
        m = re.match(r"^\s*Error:\s*(.*)$", l)
        if not m:
            continue
        err = [m.group(1)]
        msg = ""
        for l2 in text[i + 1:]:
            m2 = re.match(r"^\s*(Error Trace|Error|Test|Messages):\s*(.*)$", l2)
            if m2:
                if m2.group(1) == "Messages":
                    msg = m2.group(2)
                if m2.group(1) in ("Test", "Messages", "Error Trace"):
                    if m2.group(1) == "Messages":
                        break
                    continue
                break
            if GOLINE.match(l2) or l2.startswith("=== ") or l2.strip().startswith("--- "):
                break
            if not msg:
                err.append(l2)
        err = clean(" ".join(err))
        msg = clean(msg)
        if not msg:
            return err
        if err in msg or err.split(": ")[-1] in msg:
            return msg
        return msg + ": " + err
    golines = [l for l in text if GOLINE.match(l)]
    if not golines:
        return ""
    last = clean(GOLINE.sub("", golines[-1], count=1))
    if "timeout while waiting" in last:
        # AwaitConvergence: the cause is in the last "not ready yet" log line.
        for l in reversed(golines):
            m = re.search(r"not ready yet: (.*?)(?: \(after [^)]*\))?\s*$", l)
            if m:
                return last + ": " + clean(m.group(1))
    return last

def last_log_before_error(lines):
    """The last non-empty t.Log line before testify's error block: for a setup
    wait, what was still missing ("... Gateway not Programmed yet")."""
    last = ""
    for l in "".join(lines).split("\n"):
        if re.match(r"^\s*Error Trace:", l):
            break
        if GOLINE.match(l) and GOLINE.sub("", l, count=1).strip() \
                and "context deadline exceeded" not in l:
            last = l
    return clean(GOLINE.sub("", last, count=1)) if last else ""

def leaf_failure(short):
    prefix = TOP + "/" + short
    for n in fails:   # the first to fail is the deepest one
        if n == prefix or n.startswith(prefix + "/"):
            f = first_failure(output.get(n, []))
            if f:
                sub = n[len(prefix) + 1:]
                return (sub + ": " + f) if sub else f
    return first_failure(sum((v for k, v in output.items() if k == prefix or k.startswith(prefix + "/")), []))

rows = []
for short in order:
    v = final.get(TOP + "/" + short)
    lines = output.get(TOP + "/" + short, [])
    if v == "skip":
        reason = ""
        for l in lines:
            if "Skipping" in l:
                reason = clean(GOLINE.sub("", l, count=1))
                break
        if "test explicitly skipped" in reason or short in skipped \
                or (selected and short not in selected):
            continue          # not selected (--run-test / --skip-tests)
        if not selected and "suite does not support" in reason:
            unsupported += 1  # a full run: not among --supported-features
            continue
        rows.append((short, "SKIP", reason))
    elif v == "pass":
        rows.append((short, "PASS", ""))
    elif v == "fail":
        rows.append((short, "FAIL", leaf_failure(short) or "failed (no message)"))
    else:
        rows.append((short, "FAIL", "did not finish (run interrupted or timed out)"))

top_lines = output.get(TOP, [])
top_text = "".join(top_lines)
status = 0
if "GATECHECK-CANNOT-RUN:" in top_text:
    m = re.search(r"GATECHECK-CANNOT-RUN: (.*)", top_text)
    print("cannot run: " + clean(m.group(1)), file=sys.stderr)
    status = 2
elif "panic: test timed out" in top_text and not order:
    print("cannot run: the run hit its -test.timeout before any test ran", file=sys.stderr)
    status = 2
elif not order and final.get(TOP) == "fail":
    why = first_failure(top_lines) or "failed before any test ran (see the log)"
    seen = last_log_before_error(top_lines)
    if seen and seen not in why:
        why += " (last seen: " + seen + ")"
    rows = [("SETUP", "FAIL", "base setup failed, no test ran: " + why)]
elif not order and final.get(TOP) is None:
    print("cannot run: the suite did not start or did not finish; see the log", file=sys.stderr)
    status = 2
elif final.get(TOP) == "fail" and not any(r[1] == "FAIL" for r in rows):
    print("warning: the suite failed outside its tests (cleanup or report): "
          + (first_failure(top_lines) or "see the log"), file=sys.stderr)

if unsupported and status == 0:
    print("%d tests not run: they need features outside --supported-features" % unsupported,
          file=sys.stderr)
with open(out_path, "w") as f:
    for r in rows:
        f.write("\t".join(r) + "\n")
sys.exit(status)
EOF
prc=$?
set -e
if [ "$prc" -ne 0 ]; then
    rm -f "$out.tmp"
    [ "$prc" -eq 2 ] || die "could not read the suite's output ($json); see $log"
    die "the suite could not run (exit $rc after $((end - start))s); see above and $log"
fi
mv "$out.tmp" "$out"
cat "$out"
if [ "$(cut -f1 "$out")" = SETUP ]; then
    echo "$me: the suite's base setup failed after $((end - start))s; no test ran (see $log)" >&2
else
    awk -F'\t' -v s=$((end - start)) '{n[$2]++} END {printf "upstream-suite: %d PASS, %d FAIL, %d SKIP in %ds\n", n["PASS"], n["FAIL"], n["SKIP"], s}' "$out" >&2
fi
exit 0

#!/bin/sh
# CLI suite for `gwhook validate` over our own example corpus
# (tests/data/examples, modelled on spec validation.md §8.1 and §8.2).
#
#   invalid/{standard,experimental}/<kind>/<name>.yaml  must be rejected (exit 1)
#       with every "# expect: <substring>" of the file on stdout and no
#       "# absent: <substring>". Files under standard/ are judged with both
#       channels, files under experimental/ with --channel experimental.
#   valid/standard      must pass in both channels, printing nothing on stdout.
#   valid/experimental  must pass with --channel experimental; the only stdout
#       lines allowed are the deprecation warnings of the v1alpha2/v1alpha3
#       objects (the API server sends those as Warning headers too).
#   valid/main  must pass with --channel experimental --api-version main (the
#       rules of upstream main, where they differ from the released v1.6.x
#       ones), printing nothing on stdout; and fail under the default rules.
# Plus exit codes, output formats, stdin, directory recursion and skipping.
#
# Run from anywhere: sh tests/cli/examples.sh. Prints TAP.
set -u
cd "$(dirname "$0")/../.." || exit 2

EX=tests/data/examples
. tests/cli/lib/tap.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwhook-examples.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A sanitizer report must not pass for "invalid" (exit 1): give it its own
# exit status, and also look for reports on stderr after every run.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
export ASAN_OPTIONS UBSAN_OPTIONS

if [ -x build/san/gwhook ]; then
    GW=build/san/gwhook
    ok "build/san/gwhook (ASan/UBSan) exists and is used"
elif [ -x build/gwhook ]; then
    GW=build/gwhook
    notok "build/san/gwhook (ASan/UBSan) exists; falling back to build/gwhook"
else
    notok "a gwhook binary exists (run make build/san/gwhook build/gwhook)"
    echo "1..$n"
    exit 1
fi

# run ARGS...: run gwhook validate; stdout in $tmp/out, stderr in $tmp/err,
# exit status in $rc. Stdin is inherited.
run() {
    "$GW" validate "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# sanitized: true when the last run produced no sanitizer report.
sanitized() {
    ! grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/err"
}

# ---- invalid examples ------------------------------------------------------

ninvalid=$(find "$EX/invalid" -type f -name '*.yaml' | wc -l)
nrows=$(find "$EX/invalid/standard" "$EX/invalid/experimental/httproute" -type f -name '*.yaml' |
    wc -l)
if [ "$nrows" -eq 36 ]; then
    ok "invalid corpus mirrors the 36 rows of §8.1 ($ninvalid files with the extras)"
else
    notok "invalid corpus mirrors the 36 rows of §8.1 (found $nrows)"
fi

find "$EX/invalid" -type f -name '*.yaml' | LC_ALL=C sort >"$tmp/invalid-files"
while IFS= read -r f; do
    case "$f" in
    */invalid/experimental/*) channels=experimental ;;
    *) channels="standard experimental" ;;
    esac
    sed -n 's/^# expect: //p' "$f" >"$tmp/expects"
    sed -n 's/^# absent: //p' "$f" >"$tmp/absents"
    nexp=$(wc -l <"$tmp/expects")
    for ch in $channels; do
        run --channel "$ch" "$f" </dev/null
        : >"$tmp/why"
        [ "$nexp" -gt 0 ] || echo "no '# expect:' line in the file" >>"$tmp/why"
        [ "$rc" -eq 1 ] || echo "exit status $rc, want 1" >>"$tmp/why"
        sanitized || echo "sanitizer report on stderr" >>"$tmp/why"
        while IFS= read -r e; do
            grep -qF -e "$e" "$tmp/out" || printf 'missing: %s\n' "$e" >>"$tmp/why"
        done <"$tmp/expects"
        while IFS= read -r e; do
            if grep -qF -e "$e" "$tmp/out"; then
                printf 'unexpected: %s\n' "$e" >>"$tmp/why"
            fi
        done <"$tmp/absents"
        if [ -s "$tmp/why" ]; then
            notok "invalid $f [$ch]: exit 1 and $nexp expected error(s)"
            diag "$tmp/why"
            echo "#   --- stdout:"
            diag "$tmp/out"
            echo "#   --- stderr:"
            diag "$tmp/err"
        else
            ok "invalid $f [$ch]: exit 1 and $nexp expected error(s)"
        fi
    done
done <"$tmp/invalid-files"

# ---- valid examples ----------------------------------------------------------

for ch in standard experimental; do
    run --channel "$ch" "$EX/valid/standard" </dev/null
    if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && sanitized; then
        ok "valid/standard [$ch]: exit 0, nothing on stdout"
    else
        notok "valid/standard [$ch]: exit 0, nothing on stdout (exit $rc)"
        diag "$tmp/out"
        diag "$tmp/err"
    fi
done

run --channel experimental "$EX/valid/experimental" </dev/null
grep -v 'warning: .* has been deprecated and will be removed in a future release' \
    "$tmp/out" >"$tmp/other"
ndep=$(grep -c 'has been deprecated' "$tmp/out")
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/other" ] && sanitized; then
    ok "valid/experimental [experimental]: exit 0, stdout only the $ndep deprecation warnings"
else
    notok "valid/experimental [experimental]: exit 0, stdout only deprecation warnings (exit $rc)"
    diag "$tmp/other"
    diag "$tmp/err"
fi

# Every deprecated version used in valid/experimental is warned about, once.
ndepfiles=$(grep -rlE '^apiVersion: gateway.networking.k8s.io/v1alpha[23]' \
    "$EX/valid/experimental" | wc -l)
if [ "$ndep" -eq "$ndepfiles" ] && [ "$ndep" -gt 0 ]; then
    ok "valid/experimental: one deprecation warning per v1alpha2/v1alpha3 object ($ndep)"
else
    notok "valid/experimental: one deprecation warning per v1alpha2/v1alpha3 object (got $ndep, want $ndepfiles)"
fi

# valid/main: documents in the shape of upstream main (bundle "main").
run --channel experimental --api-version main "$EX/valid/main" </dev/null
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && sanitized; then
    ok "valid/main [experimental, --api-version main]: exit 0, nothing on stdout"
else
    notok "valid/main [experimental, --api-version main]: exit 0, nothing on stdout (exit $rc)"
    diag "$tmp/out"
    diag "$tmp/err"
fi

# ... which the default rules (the released v1.6.x CRDs) do not know.
run --channel experimental "$EX/valid/main" </dev/null
if [ "$rc" -eq 1 ] && sanitized && grep -q 'unknown field ".*sessionPersistence.cookie"' "$tmp/out"; then
    ok "valid/main [experimental, default v1.6]: exit 1, main's sessionPersistence.cookie is unknown"
else
    notok "valid/main [experimental, default v1.6]: exit 1, main's sessionPersistence.cookie is unknown (exit $rc)"
    diag "$tmp/out"
fi

# Both sets at once, as CI would run them, counted through -o json.
run --channel experimental -o json "$EX/valid/standard" "$EX/valid/experimental" </dev/null
if [ "$rc" -eq 0 ] && sanitized &&
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["invalid"] == 0, d["invalid"]
assert all(r["valid"] and not r["errors"] for r in d["results"])
assert d["objects"] == len(d["results"])
' "$tmp/out" 2>"$tmp/py"; then
    ok "valid/standard + valid/experimental [experimental] -o json: 0 invalid"
else
    notok "valid/standard + valid/experimental [experimental] -o json: 0 invalid (exit $rc)"
    diag "$tmp/py"
fi

# Coverage of the standard set: ≥40 objects and every kind.
run -o json "$EX/valid/standard" </dev/null
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
kinds = {r["kind"] for r in d["results"]}
want = {"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant",
        "BackendTLSPolicy", "ListenerSet", "TLSRoute", "TCPRoute", "UDPRoute"}
assert d["objects"] >= 40, "only %d objects" % d["objects"]
assert want <= kinds, "missing kinds: %s" % sorted(want - kinds)
assert d["skipped"] >= 1, "no skipped (core) documents"
' "$tmp/out" 2>"$tmp/py"; then
    ok "valid/standard holds >= 40 objects of every kind plus skipped core documents"
else
    notok "valid/standard holds >= 40 objects of every kind plus skipped core documents"
    diag "$tmp/py"
fi

# ---- exit status 2: missing file, malformed YAML -----------------------------

missing="$tmp/does-not-exist.yaml"
run "$missing" </dev/null
if [ "$rc" -eq 2 ] && grep -qF -e "$missing" "$tmp/err" && sanitized; then
    ok "missing file: exit 2, stderr names the file"
else
    notok "missing file: exit 2, stderr names the file (exit $rc)"
    diag "$tmp/err"
fi

# A missing file next to a valid one still makes the run an I/O failure.
run "$EX/valid/standard/gatewayclasses.yaml" "$missing" </dev/null
if [ "$rc" -eq 2 ] && sanitized; then
    ok "valid file plus missing file: exit 2"
else
    notok "valid file plus missing file: exit 2 (exit $rc)"
fi

mkdir "$tmp/bad"
cat >"$tmp/bad/malformed.yaml" <<'EOF'
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: broken
spec:
  listeners: [ {name: a, port: 80
  gatewayClassName: "unterminated
EOF
run "$tmp/bad/malformed.yaml" </dev/null
if [ "$rc" -eq 2 ] && grep -q 'line' "$tmp/err" && grep -qF -e "malformed.yaml" "$tmp/err" &&
    sanitized; then
    ok "malformed YAML: exit 2, stderr names the file and the line"
else
    notok "malformed YAML: exit 2, stderr names the file and the line (exit $rc)"
    diag "$tmp/err"
fi

run --channel nightly "$EX/valid/standard" </dev/null
if [ "$rc" -eq 2 ]; then
    ok "unknown --channel: exit 2"
else
    notok "unknown --channel: exit 2 (exit $rc)"
fi

run </dev/null
if [ "$rc" -eq 2 ]; then
    ok "no PATH: exit 2"
else
    notok "no PATH: exit 2 (exit $rc)"
fi

# ---- output formats ----------------------------------------------------------

one_invalid="$EX/invalid/standard/gateway/invalid-listener-port.yaml"
run -o json "$one_invalid" </dev/null
if [ "$rc" -eq 1 ] && sanitized &&
    python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/out" 2>"$tmp/py" &&
    python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["invalid"] == 1 and d["objects"] == 1, d
r = d["results"][0]
assert r["kind"] == "Gateway" and r["name"] == "bad-listener-port" and not r["valid"], r
assert any(e["field"] == "spec.listeners[0].port" for e in r["errors"]), r["errors"]
' <"$tmp/out" 2>>"$tmp/py"; then
    ok "-o json: parses, \"invalid\": 1 for one invalid file"
else
    notok "-o json: parses, \"invalid\": 1 for one invalid file (exit $rc)"
    diag "$tmp/py"
    diag "$tmp/out"
fi

two_valid="$EX/valid/standard/cross-namespace-routing/routes.yaml"
run -o junit "$two_valid" "$one_invalid" </dev/null
if [ "$rc" -eq 1 ] && sanitized &&
    python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall(".//testcase")
assert len(cases) == 3, "want 3 testcases, got %d" % len(cases)
failed = [c for c in cases if c.find("failure") is not None]
assert len(failed) == 1, "want 1 failure, got %d" % len(failed)
assert "bad-listener-port" in failed[0].get("name"), failed[0].get("name")
' "$tmp/out" 2>"$tmp/py"; then
    ok "-o junit: parses with xml.etree, one testcase per object, one failure"
else
    notok "-o junit: parses with xml.etree, one testcase per object, one failure (exit $rc)"
    diag "$tmp/py"
    diag "$tmp/out"
fi

# ---- stdin -------------------------------------------------------------------

run - <"$one_invalid"
if [ "$rc" -eq 1 ] && sanitized && grep -q '^<stdin>:[0-9][0-9]*: Gateway bad-listener-port: ' "$tmp/out" &&
    grep -qF 'spec.listeners[0].port: Invalid value: 123456789' "$tmp/out"; then
    ok "stdin '-': an invalid object is reported as <stdin>:LINE with exit 1"
else
    notok "stdin '-': an invalid object is reported as <stdin>:LINE with exit 1 (exit $rc)"
    diag "$tmp/out"
fi

run --channel experimental - <"$EX/valid/standard/listenerset/listenerset.yaml"
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && sanitized &&
    grep -q '3 objects checked' "$tmp/err"; then
    ok "stdin '-': a valid multi-document stream passes (3 objects)"
else
    notok "stdin '-': a valid multi-document stream passes (exit $rc)"
    diag "$tmp/out"
    diag "$tmp/err"
fi

# ---- directories -------------------------------------------------------------

run --channel experimental -o json "$EX/invalid" </dev/null
if [ "$rc" -eq 1 ] && sanitized &&
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert d["objects"] == n, "objects %d, want %d" % (d["objects"], n)
assert d["invalid"] == n, "invalid %d, want %d" % (d["invalid"], n)
files = {r["file"] for r in d["results"]}
assert len(files) == n, "%d distinct files" % len(files)
' "$tmp/out" "$ninvalid" 2>"$tmp/py"; then
    ok "directory invalid/ searched recursively: $ninvalid files, one invalid object each"
else
    notok "directory invalid/ searched recursively: $ninvalid files, one invalid object each (exit $rc)"
    diag "$tmp/py"
fi

mkdir -p "$tmp/tree/a/b/c" "$tmp/tree/.hidden"
cp "$one_invalid" "$tmp/tree/a/b/c/deep.yml"
cp "$EX/valid/standard/gatewayclasses.yaml" "$tmp/tree/a/classes.yaml"
cp "$EX/valid/standard/http-routing/route.json" "$tmp/tree/a/b/route.json"
printf 'not: [yaml\n' >"$tmp/tree/a/notes.txt"
cp "$one_invalid" "$tmp/tree/.hidden/ignored.yaml"
run "$tmp/tree" </dev/null
if [ "$rc" -eq 1 ] && sanitized && grep -qF -e "$tmp/tree/a/b/c/deep.yml:" "$tmp/out" &&
    ! grep -q 'ignored.yaml' "$tmp/out" && grep -q '4 objects checked, 1 invalid' "$tmp/err"; then
    ok "directory: nested *.yml/*.yaml/*.json found, other and hidden files ignored"
else
    notok "directory: nested *.yml/*.yaml/*.json found, other and hidden files ignored (exit $rc)"
    diag "$tmp/out"
    diag "$tmp/err"
fi

# ---- non-Gateway documents -----------------------------------------------------

run "$EX/valid/standard/0-namespaces.yaml" </dev/null
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && sanitized &&
    grep -q '0 objects checked.* 6 skipped' "$tmp/err"; then
    ok "core Namespaces only: exit 0, nothing on stdout, summary says 6 skipped"
else
    notok "core Namespaces only: exit 0, nothing on stdout, summary says 6 skipped (exit $rc)"
    diag "$tmp/err"
fi

cat >"$tmp/mixed.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-ours
data:
  port: "123456789"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: also-not-ours
spec:
  listeners: bogus
---
EOF
sed '/^#/d' "$one_invalid" >>"$tmp/mixed.yaml"
run "$tmp/mixed.yaml" </dev/null
if [ "$rc" -eq 1 ] && sanitized && grep -q 'skipped' "$tmp/err" &&
    grep -q '1 object checked, 1 invalid.* 2 skipped' "$tmp/err" &&
    [ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -q '^[^:]*mixed.yaml:22: Gateway bad-listener-port: ' "$tmp/out"; then
    ok "non-Gateway documents skipped (stderr says skipped); the finding cites the line of the listener it is about"
else
    notok "non-Gateway documents skipped (stderr says skipped); the Gateway is judged (exit $rc)"
    diag "$tmp/out"
    diag "$tmp/err"
fi

run -q "$EX/valid/standard/0-namespaces.yaml" </dev/null
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then
    ok "-q: no summary on stderr"
else
    notok "-q: no summary on stderr (exit $rc)"
    diag "$tmp/err"
fi

echo "1..$n"
[ "$failures" -eq 0 ]

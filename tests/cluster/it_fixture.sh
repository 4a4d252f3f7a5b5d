#!/bin/sh
# End to end (issue 6): gwconform against the fixture gateway on the local
# control plane (echo Pods from the node agent, EndpointSlices from the
# controller manager), healthy and under each fault of tests/fixtures/
# faults.tsv, with upstream's own Go suite (tools/upstream-suite.sh) as the
# referee on the same cluster. Prints the fault matrix, ending with
#   fault-matrix: faults=N caught=M false_alarms=K
#   upstream-parity: scenarios=N agree=M
# Run by tools/cluster-tests.sh on a cluster brought up with NODE_AGENT=1.
# UPSTREAM=0 leaves the upstream suite out; FIXTURE_FAULTS_ONLY=a,b runs only
# those faults. Reports and logs stay in build/fixture-tests/.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh
. tests/cluster/lib.sh

D=${GATECHECK_CLUSTER_DIR:?run by tools/cluster-tests.sh}
# the sanitized runner: its parallel cases and scenarios run under ASan/UBSan
GC=${GWCONFORM:-build/san/gwconform}
# away from a `make cluster-up` fixture's default 127.1.0.0/24
export FIXTURE_ADDRESS_RANGE=${FIXTURE_ADDRESS_RANGE:-127.1.250.0/24}
if [ ! -f "$D/nodeagent.pid" ]; then
    echo "ok 1 - # SKIP no node agent on $D (it needs root): no echo Pods, no end-to-end run"
    echo "1..1"
    exit 0
fi
KC=$D/kubeconfig
OUT=build/fixture-tests
CLASS=gatecheck-fixture
FEATURES=$(tools/fixture.sh features)
# fault runs expect failures: do not wait upstream's full minute for each;
# both suites wait alike (tools/upstream-suite.sh --fast)
FAST=$(tools/upstream-suite.sh --print-fast-timeouts)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
export CLUSTER_DIR=$D GATEWAY_CLASS=$CLASS

all_scenarios() { "$GC" list | awk 'NR > 1 && NF >= 4 { print $1 }'; }

# skip_all_but LIST: the --skip-tests list that leaves only LIST (comma-separated)
skip_all_but() {
    all_scenarios | awk -v keep="$1" 'BEGIN { n = split(keep, k, ","); for (i = 1; i <= n; i++) want[k[i]] = 1 }
        !($1 in want) { printf "%s%s", sep, $1; sep = "," }'
}

# conform NAME [ARGS...]: one gwconform run; verdicts in $OUT/NAME/verdicts.tsv
# (scenario TAB PASS|FAIL|ERROR|SKIP), its log in $OUT/NAME/log
conform() {
    name=$1
    shift
    mkdir -p "$OUT/$name"
    "$GC" run --kubeconfig "$KC" --gateway-class "$CLASS" --supported-features "$FEATURES" \
        --cleanup-base-resources=false --report-dir "$OUT/$name" "$@" \
        > "$OUT/$name/stdout" 2> "$OUT/$name/log"
    crc=$?
    awk '/^SCENARIO +RESULT +SECONDS/ { on = 1; next } on && NF >= 3 && $2 ~ /^(PASS|FAIL|ERROR|SKIP)$/ { print $1 "\t" $2 }' \
        "$OUT/$name/stdout" > "$OUT/$name/verdicts.tsv"
    return $crc
}

# upstream NAME [ARGS...]: one upstream run; verdicts in $OUT/NAME/upstream.tsv
upstream() {
    name=$1
    shift
    mkdir -p "$OUT/$name"
    for attempt in 1 2; do
        tools/upstream-suite.sh --kubeconfig "$KC" --gateway-class "$CLASS" \
            --supported-features "$FEATURES" --out "$OUT/$name/upstream.tsv" "$@" \
            -- --cleanup-base-resources=false > "$OUT/$name/upstream.log" 2>&1 || return 1
        # upstream's setup updates the base Gateways with Get then Update and
        # no retry: a status write between the two is a 409 that fails the
        # whole suite before any test. That is upstream's race, not a verdict:
        # run it once more.
        grep -q '^SETUP	FAIL.*the object has been modified' "$OUT/$name/upstream.tsv" || return 0
        echo "# $name: upstream's setup lost a Get/Update race (409); running it again"
    done
}

verdict() { awk -F '\t' -v s="$2" '$1 == s { print $2; exit }' "$1" 2>/dev/null; }

# failure_text RUN SCENARIO: the reasons of that scenario's failed cases and
# steps in gwconform's progress lines ("  FAIL NAME: case (1.0s): reason";
# each names its scenario, as parallel scenarios interleave)
failure_text() {
    grep -E "\] +(FAIL|ERROR) " "$OUT/$1/stdout" | grep -F " $2: " |
        sed -E 's/.*\(([0-9.]+s)\): //; s/.*: step [0-9]+ \(line [0-9]+\): //'
}

parity_n=0
parity_agree=0
# parity RUN: compare gwconform's and upstream's verdicts of one run
parity() {
    if [ ! -s "$OUT/$1/upstream.tsv" ] || grep -q '^SETUP	' "$OUT/$1/upstream.tsv"; then
        notok "$1: upstream's suite gave no verdicts: $(head -1 "$OUT/$1/upstream.tsv" 2>/dev/null)"
        return 0
    fi
    while IFS="$(printf '\t')" read -r s v; do
        u=$(verdict "$OUT/$1/upstream.tsv" "$s")
        case $u in PASS | FAIL) ;; *) continue ;; esac
        case $v in PASS) g=PASS ;; FAIL | ERROR) g=FAIL ;; *) continue ;; esac
        parity_n=$((parity_n + 1))
        if [ "$g" = "$u" ]; then
            parity_agree=$((parity_agree + 1))
        else
            notok "$1: $s: gwconform $v, upstream $u"
        fi
    done < "$OUT/$1/verdicts.tsv"
}

if ! tools/fixture.sh start > "$tmp/start" 2>&1; then
    notok "the fixture gateway starts and its GatewayClass is Accepted"
    diag "$tmp/start"
    echo "1..$n"
    exit 1
fi
ok "the fixture gateway starts and its GatewayClass is Accepted"

# ---- healthy: every scenario passes ----
conform healthy --parallel 4
rc=$?
total=$(wc -l < "$OUT/healthy/verdicts.tsv")
passed=$(grep -c '	PASS$' "$OUT/healthy/verdicts.tsv")
if [ $rc -eq 0 ] && [ "$total" -eq "$(all_scenarios | wc -l)" ] && [ "$passed" -eq "$total" ]; then
    ok "healthy fixture: gwconform passes all $total scenarios"
else
    notok "healthy fixture: gwconform exit $rc, $passed of $total scenarios passed"
    grep -v '	PASS$' "$OUT/healthy/verdicts.tsv" | sed 's/^/#   /'
    grep -E ' (FAIL|ERROR) ' "$OUT/healthy/log" | head -30 | sed 's/^/#   /'
fi
if [ "${UPSTREAM:-1}" = 1 ]; then
    if upstream healthy; then
        ok "healthy fixture: upstream's suite ran ($(grep -c '	PASS' "$OUT/healthy/upstream.tsv") passed, $(grep -c '	FAIL' "$OUT/healthy/upstream.tsv") failed)"
        parity healthy
    else
        notok "healthy fixture: upstream's suite could not run"
        tail -20 "$OUT/healthy/upstream.log" | sed 's/^/#   /'
    fi
fi

# ---- each fault: its targets fail for the right reason, its controls pass ----
faults=0
caught=0
false_alarms=0
matrix=$OUT/matrix.txt
printf '%-26s %-8s %-9s %s\n' FAULT TARGETS CONTROLS "FAILED AS EXPECTED" > "$matrix"
grep -v '^#' tests/fixtures/faults.tsv > "$tmp/faults"
while IFS="$(printf '\t')" read -r fault targets controls pattern; do
    [ -n "$fault" ] || continue
    case ",${FIXTURE_FAULTS_ONLY:-$fault}," in *",$fault,"*) ;; *) continue ;; esac
    faults=$((faults + 1))
    if ! tools/fixture.sh start "$fault" > "$tmp/start" 2>&1; then
        notok "fault $fault: the fixture restarts"
        diag "$tmp/start"
        continue
    fi
    run="fault-$fault"
    conform "$run" --parallel 4 --skip-tests "$(skip_all_but "$targets,$controls")" \
        --timeout-config-overrides "$FAST"
    t_ok=0
    t_n=0
    names=""
    for s in $(echo "$targets" | tr ',' ' '); do
        t_n=$((t_n + 1))
        v=$(verdict "$OUT/$run/verdicts.tsv" "$s")
        if [ "$v" = FAIL ] && failure_text "$run" "$s" | grep -Eqi "$pattern"; then
            t_ok=$((t_ok + 1))
            names="$names $s"
            ok "fault $fault: $s fails and says why (/$pattern/)"
        else
            notok "fault $fault: $s should fail naming the wrong behaviour (/$pattern/); got ${v:-no verdict}"
            failure_text "$run" "$s" | head -20 | sed 's/^/#   /'
        fi
    done
    c_ok=0
    c_n=0
    for s in $(echo "$controls" | tr ',' ' '); do
        c_n=$((c_n + 1))
        v=$(verdict "$OUT/$run/verdicts.tsv" "$s")
        if [ "$v" = PASS ]; then
            c_ok=$((c_ok + 1))
            ok "fault $fault: $s still passes"
        else
            false_alarms=$((false_alarms + 1))
            notok "fault $fault: $s should still pass; got ${v:-no verdict}"
            failure_text "$run" "$s" | head -20 | sed 's/^/#   /'
        fi
    done
    [ $t_ok -eq $t_n ] && caught=$((caught + 1))
    if [ "${UPSTREAM:-1}" = 1 ]; then
        upstream "$run" --fast --run-test "$targets,$controls" || notok "fault $fault: upstream's suite could not run"
        parity "$run"
    fi
    printf '%-26s %3d/%-4d %3d/%-5d%s\n' "$fault" "$t_ok" "$t_n" "$c_ok" "$c_n" "$names" >> "$matrix"
done < "$tmp/faults"

# leave the cluster as we found it for the suites after this one: no
# fixture, no GatewayClass, no base namespaces (both suites kept them)
tools/fixture.sh stop
api DELETE /apis/gateway.networking.k8s.io/v1/gatewayclasses/$CLASS -o /dev/null
for ns in gateway-conformance-infra gateway-conformance-app-backend gateway-conformance-web-backend; do
    api DELETE "/api/v1/namespaces/$ns" -o /dev/null
done
i=0
while [ $i -lt 120 ]; do
    left=0
    for ns in gateway-conformance-infra gateway-conformance-app-backend gateway-conformance-web-backend; do
        [ "$(api GET "/api/v1/namespaces/$ns" -o /dev/null -w '%{http_code}')" = 404 ] || left=$((left + 1))
    done
    [ $left -eq 0 ] && break
    i=$((i + 1))
    sleep 1
done
if [ $left -eq 0 ]; then
    ok "cleanup: the base namespaces are gone (the node agent finished their Pods)"
else
    notok "cleanup: $left base namespaces still there after 120 s"
fi

if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OUT"/*/log > "$tmp/san" 2>/dev/null; then
    notok "gwconform under ASan+UBSan: sanitizer report in $(tr '\n' ' ' < "$tmp/san")"
    grep -hE -A8 'ERROR: (Address|Leak)Sanitizer|runtime error:' $(cat "$tmp/san") | head -40 | sed 's/^/#   /'
else
    ok "gwconform under ASan+UBSan: no sanitizer report in any run"
fi
echo "# fault matrix (targets failed for the right reason / controls still passing):"
sed 's/^/# /' "$matrix"
echo "# report: fault-matrix: faults=$faults caught=$caught false_alarms=$false_alarms"
echo "fault-matrix: faults=$faults caught=$caught false_alarms=$false_alarms"
if [ "${UPSTREAM:-1}" = 1 ]; then
    echo "# report: upstream-parity: scenarios=$parity_n agree=$parity_agree"
    echo "upstream-parity: scenarios=$parity_n agree=$parity_agree"
    if [ $parity_n -gt 0 ] && [ $parity_n -eq $parity_agree ]; then
        ok "upstream parity: $parity_agree of $parity_n verdicts agree"
    else
        notok "upstream parity: $parity_agree of $parity_n verdicts agree"
    fi
fi
[ $faults -gt 0 ] && [ $caught -eq $faults ] && [ $false_alarms -eq 0 ] &&
    ok "every fault caught ($caught of $faults), no false alarm" ||
    notok "faults caught: $caught of $faults, false alarms: $false_alarms"
echo "1..$n"
[ $failures -eq 0 ]

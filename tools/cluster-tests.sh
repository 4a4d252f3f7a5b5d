#!/bin/sh
# Tests through a real kube-apiserver (issue 4; docs/CLUSTER.md), run by
# `make test` after the unit tests. Output is TAP, counted like the rest.
#
#   1. a cluster with the pinned Gateway API CRDs and the sanitized gwhook
#      (build/san/gwhook) registered, kube-controller-manager and, when run
#      as root, the node agent (NODE_AGENT=1, on its own bridge and pod CIDR
#      so that a `make cluster-up` cluster's are left alone):
#      tests/cluster/it_webhook, the tests/cluster/it_*.sh suites (gwhook
#      certs --secret/--patch-webhooks, gwconform, the node agent's Pods,
#      the cross-object checks), then every test that takes
#      GATECHECK_KUBECONFIG (the lib/ client's and the watch cache's);
#   2. the same cluster with the webhook unregistered: the differential test
#      (tools/differential.sh), our offline verdicts against the API server's;
#   3. a cluster with the v1.2.1 CRDs: it_webhook's old-CRD cases.
#
# Each cluster has its own directory under build/ and its own ports, so a
# `make cluster-up` cluster is left alone. Everything started is stopped on
# exit, also on failure or Ctrl-C. SKIP_CLUSTER=1 skips it all (reported).
set -u
cd "$(dirname "$0")/.." || exit 2
export PATH="$PATH:/usr/local/go/bin"

n=0
tap() { # tap OK|FAIL TEXT
    n=$((n + 1))
    if [ "$1" = OK ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

if [ "${SKIP_CLUSTER:-0}" = 1 ]; then
    echo "ok 1 - # SKIP cluster tests (SKIP_CLUSTER=1)"
    exit 0
fi
if ! command -v go > /dev/null 2>&1; then
    tap FAIL "cluster tests need Go >= 1.26 to build kube-apiserver and etcd: install it or put it on PATH (/usr/local/go/bin); SKIP_CLUSTER=1 skips them"
    exit 1
fi

A=build/test-cluster
B=build/test-cluster-v12
cleanup() {
    CLUSTER_DIR=$A tools/cluster.sh down > /dev/null 2>&1
    CLUSTER_DIR=$B tools/cluster.sh down > /dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# up DIR [VAR=VALUE...]: bring a cluster up, one TAP line
up() {
    d=$1
    shift
    if env CLUSTER_DIR="$d" GWHOOK=build/san/gwhook "$@" tools/cluster.sh up > "$d.up.log" 2>&1; then
        tap OK "cluster up: $d ($(cat "$d/crds"))"
        return 0
    fi
    tap FAIL "cluster up: $d"
    sed 's/^/# /' "$d.up.log"
    return 1
}

# sanitizer DIR: gwhook's log must be free of ASan/UBSan reports
sanitizer() {
    if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$1/gwhook.log" 2>/dev/null; then
        tap FAIL "gwhook under ASan+UBSan in $1: sanitizer report"
        grep -E -A8 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$1/gwhook.log" | sed 's/^/# /' | head -40
    else
        tap OK "gwhook under ASan+UBSan in $1: no sanitizer report"
    fi
}

# renumber: pass a TAP stream through, renumbering its ok/not ok lines
renumber() {
    while IFS= read -r line; do
        case $line in
            "ok "*)
                n=$((n + 1))
                echo "ok $n ${line#ok [0-9]* }"
                ;;
            "not ok "*)
                n=$((n + 1))
                echo "not ok $n ${line#not ok [0-9]* }"
                ;;
            1..*) ;;
            *" passed, "*" failed") ;;
            *) echo "$line" ;;
        esac
    done
    echo "$n" > build/.cluster-tests.n
}

# suite NAME CMD...: run a TAP program, renumbered; a crash is a failure
suite() {
    name=$1
    shift
    "$@" > build/.cluster-suite.out 2>&1
    rc=$?
    renumber < build/.cluster-suite.out
    n=$(cat build/.cluster-tests.n)
    [ $rc -eq 0 ] || grep -q '^not ok' build/.cluster-suite.out || tap FAIL "$name exited $rc"
}

# the node agent needs root (network namespaces); without it
# tests/cluster/it_nodeagent.sh reports a skip
agent=NODE_AGENT=0
if [ "$(id -u)" = 0 ]; then
    agent=NODE_AGENT=1
else
    echo "# not root: no node agent on $A (its suite is skipped)"
fi

mkdir -p build
if up $A CONTROLLER_MANAGER=1 "$agent" BRIDGE=gctest0 POD_CIDR=10.244.250.0/24; then
    suite it_webhook env GATECHECK_CLUSTER_DIR=$A GATECHECK_CRDS=v1.6 build/san/tests/cluster/it_webhook
    for t in tests/cluster/it_*.sh; do
        suite "$t" env GATECHECK_CLUSTER_DIR=$A GWHOOK=build/san/gwhook sh "$t"
    done
    for t in build/san/tests/lib/test_kube build/san/tests/lib/test_wcache_watch; do
        [ -x "$t" ] && suite "${t##*/}" env GATECHECK_KUBECONFIG=$A/kubeconfig GATECHECK_CLUSTER_DIR=$A "$t"
    done
    if [ -x tools/differential.sh ]; then
        if CLUSTER_DIR=$A tools/cluster.sh unregister > /dev/null 2>&1; then
            DIFFERENTIAL_KUBECONFIG=$A/kubeconfig tools/differential.sh > build/differential.out 2>&1
            rc=$?
            sed 's/^/# /' build/differential.out | tail -40
            last=$(tail -1 build/differential.out)
            echo "# report: $last (build/differential/report.txt)"
            if [ $rc -eq 0 ]; then tap OK "$last"; else tap FAIL "differential (exit $rc): $last"; fi
        else
            tap FAIL "unregister the webhook before the differential test"
        fi
    fi
    CLUSTER_KEEP_LOGS=1 CLUSTER_DIR=$A tools/cluster.sh down > /dev/null 2>&1
    sanitizer $A.logs
fi

if up $B GATEWAY_API_VERSION=v1.2.1; then
    suite it_webhook-v1.2 env GATECHECK_CLUSTER_DIR=$B GATECHECK_CRDS=v1.2 build/san/tests/cluster/it_webhook
    CLUSTER_KEEP_LOGS=1 CLUSTER_DIR=$B tools/cluster.sh down > /dev/null 2>&1
    sanitizer $B.logs
fi
echo "1..$n"

#!/bin/sh
# The fixture gateway (tests/fixtures/gateway) on a running local control
# plane (tools/cluster.sh up, with NODE_AGENT=1 for echo Pods):
#
#   tools/fixture.sh start [FAULT,...]   create the GatewayClass, start the
#                                        fixture (with those faults), wait
#                                        until the GatewayClass is Accepted
#   tools/fixture.sh stop                stop it (the GatewayClass stays)
#   tools/fixture.sh features            the --supported-features it implements
#
# Environment: CLUSTER_DIR (default build/cluster), FIXTURE_GATEWAY (binary,
# default build/fixture-gateway), GATEWAY_CLASS (default gatecheck-fixture),
# FIXTURE_ADDRESS_RANGE (default 127.1.0.0/24). The pid file and the log are
# in CLUSTER_DIR, so `tools/cluster.sh down` stops the fixture too.
set -u
cd "$(dirname "$0")/.." || exit 2
DIR=${CLUSTER_DIR:-build/cluster}
BIN=${FIXTURE_GATEWAY:-build/fixture-gateway}
CLASS=${GATEWAY_CLASS:-gatecheck-fixture}
RANGE=${FIXTURE_ADDRESS_RANGE:-127.1.0.0/24}
CONTROLLER=gatecheck.dev/fixture-gateway
# What the fixture implements: the GATEWAY-HTTP core features and the
# extended ones gwconform's scenarios use.
FEATURES=Gateway,HTTPRoute,ReferenceGrant,HTTPRouteResponseHeaderModification,HTTPRouteBackendRequestHeaderModification,HTTPRouteDestinationPortMatching,HTTPRouteParentRefPort

say() { echo "fixture: $*" >&2; }
die() {
    echo "fixture: error: $*" >&2
    exit 2
}

api() { # api METHOD PATH [CURL-ARGS...]
    m=$1
    p=$2
    shift 2
    curl -sS --max-time 30 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" \
        --key "$DIR/pki/admin.key" -X "$m" "$@" "$(cat "$DIR/apiserver.url")$p"
}

stop() {
    f="$DIR/fixture-gateway.pid"
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
}

accepted() {
    api GET "/apis/gateway.networking.k8s.io/v1/gatewayclasses/$CLASS" 2>/dev/null |
        python3 -c 'import json,sys
o=json.load(sys.stdin)
c=[c for c in o.get("status",{}).get("conditions",[]) if c.get("type")=="Accepted"]
sys.exit(0 if c and c[0].get("status")=="True" else 1)' 2>/dev/null
}

start() {
    faults=${1:-}
    [ -f "$DIR/apiserver.url" ] || die "no cluster in $DIR: run tools/cluster.sh up (NODE_AGENT=1) first"
    [ -x "$BIN" ] || die "$BIN not built: run make fixtures"
    stop
    body=$(printf '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"%s"},"spec":{"controllerName":"%s","description":"gatecheck fixture gateway"}}' "$CLASS" "$CONTROLLER")
    api PATCH "/apis/gateway.networking.k8s.io/v1/gatewayclasses/$CLASS?fieldManager=gatecheck-fixture&force=true" \
        -H 'Content-Type: application/apply-patch+yaml' --data-binary "$body" -o /dev/null -f ||
        die "could not create GatewayClass $CLASS"
    mkdir -p "$DIR/logs"
    set -- --kubeconfig "$DIR/kubeconfig" --controller-name "$CONTROLLER" \
        --address-range "$RANGE" --supported-features "$FEATURES"
    [ -n "$faults" ] && set -- "$@" --fault "$faults"
    setsid "$BIN" "$@" >> "$DIR/logs/fixture-gateway.log" 2>&1 < /dev/null &
    echo $! > "$DIR/fixture-gateway.pid"
    i=0
    until accepted; do
        kill -0 "$(cat "$DIR/fixture-gateway.pid")" 2>/dev/null || {
            tail -20 "$DIR/logs/fixture-gateway.log" >&2
            die "the fixture gateway exited (log: $DIR/logs/fixture-gateway.log)"
        }
        i=$((i + 1))
        [ $i -lt 300 ] || die "GatewayClass $CLASS not Accepted within 30 s (log: $DIR/logs/fixture-gateway.log)"
        sleep 0.1
    done
    # settle: the first ticks rewrite the status of what exists (a fault
    # changes it); wait until the log is quiet for a second, so that a
    # suite's Get-then-Update of a Gateway does not race those writes
    log="$DIR/logs/fixture-gateway.log"
    last=-1
    i=0
    while [ $i -lt 20 ]; do
        cur=$(wc -l < "$log")
        [ "$cur" = "$last" ] && break
        last=$cur
        i=$((i + 1))
        sleep 1
    done
    say "running (GatewayClass $CLASS accepted${faults:+; faults: $faults})"
}

case ${1:-} in
    start) start "${2:-}" ;;
    stop) stop ;;
    features) echo "$FEATURES" ;;
    *)
        echo "usage: tools/fixture.sh start [FAULT,...] | stop | features" >&2
        exit 2
        ;;
esac

#!/bin/sh
# The cross-object checks of `gwhook serve` (issue 8; docs/CROSSCHECKS.md)
# through a real kube-apiserver, as a user meets them: a write through the
# API server, denied with the webhook's message, or admitted with the
# warnings kubectl prints (the Warning headers, read here by
# tests/cluster/kreq.py). Every check in deny mode (where it may deny) and in
# warn mode; a route created right after its Gateway and right after its
# ReferenceGrant; watches that restart every 3 s (--watch-timeout); and the
# API server restarted under the watches. Run by tools/cluster-tests.sh with
# GATECHECK_CLUSTER_DIR set; the webhook is restarted with the flags of each
# phase and given back its default flags at the end.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh
. tests/cluster/lib.sh

D=${GATECHECK_CLUSTER_DIR:?run by tools/cluster-tests.sh}
GW=${GWHOOK:-build/san/gwhook}
tmp=$(mktemp -d)
P=xc$$
INFRA=$P-infra
APP=$P-app
BE=$P-backend
BE2=$P-backend2
G=/apis/gateway.networking.k8s.io/v1
GB=/apis/gateway.networking.k8s.io/v1beta1

cleanup() {
    for n in $APP $BE $BE2 $INFRA; do
        api DELETE "/api/v1/namespaces/$n" -o /dev/null 2> /dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# K METHOD PATH [BODY]: through the API server; $tmp/out has HTTP, WARNING:
# and MESSAGE: lines
K() { python3 tests/cluster/kreq.py "$D" "$@" > "$tmp/out" 2> "$tmp/err"; }
code() { sed -n 's/^HTTP //p' "$tmp/out"; }
has() { grep -qF -- "$1" "$tmp/out"; }
nwarn() { grep -c '^WARNING: ' "$tmp/out"; }
# created: 201 and no warning; denied TEXT: refused with TEXT in the message;
# warned TEXT: admitted with a warning holding TEXT
created() { [ "$(code)" = 201 ] && [ "$(nwarn)" = 0 ]; }
denied() { [ "$(code)" != 201 ] && [ "$(code)" != 200 ] && grep -q '^MESSAGE: .*denied the request' "$tmp/out" && has "$1"; }
warned() { { [ "$(code)" = 201 ] || [ "$(code)" = 200 ]; } && grep -qF -- "WARNING: $1" "$tmp/out"; }

probe() { echo "http://127.0.0.1:$(cat "$D/webhook.probe-port")"; }
metric() { # metric NAME{LABELS}: its value, 0 when absent
    curl -fsS --max-time 5 "$(probe)/metrics" | awk -v m="$1" '$1 == m {print $2; f=1} END {if (!f) print 0}'
}

# webhook FLAGS...: restart gwhook with these flags (it waits for /readyz,
# which waits for the watch cache's first sync, and for the API server to
# reach it)
webhook() {
    CLUSTER_DIR=$D GWHOOK=$GW tools/cluster.sh webhook-stop > "$tmp/wh.log" 2>&1
    CLUSTER_DIR=$D GWHOOK=$GW GWHOOK_FLAGS="$*" tools/cluster.sh webhook-start >> "$tmp/wh.log" 2>&1
}

ns() { # ns NAME [LABELS-JSON]
    labels=${2:-}
    [ -n "$labels" ] || labels='{}'
    K POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\",\"labels\":$labels}}"
}
svc() { # svc NS NAME
    K POST "/api/v1/namespaces/$1/services" "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$2\"},\"spec\":{\"ports\":[{\"port\":8080}]}}"
}
gateway() { # gateway NAME LISTENERS-JSON
    K POST "$G/namespaces/$INFRA/gateways" "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":\"$1\"},\"spec\":{\"gatewayClassName\":\"xc\",\"listeners\":$2}}"
}
# route NS NAME PARENTS-JSON [BACKENDS-JSON] [HOSTNAME] [PATH] [?dryRun=All]
route() {
    h=
    [ -n "${5:-}" ] && h="\"hostnames\":[\"$5\"],"
    K POST "$G/namespaces/$1/httproutes${7:-}" "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"$2\"},\"spec\":{$h\"parentRefs\":$3,\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"${6:-/}\"}}],\"backendRefs\":${4:-[]}}]}}"
}
# retry SECONDS COMMAND...: until COMMAND succeeds (the watch cache catching up)
retry() {
    end=$(($(date +%s) + $1))
    shift
    while ! "$@"; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.3
    done
}

PAR_SAME="[{\"name\":\"gw-same\",\"namespace\":\"$INFRA\"}]"
PAR_ALL="[{\"name\":\"gw-all\",\"namespace\":\"$INFRA\"}]"
PAR_SEL="[{\"name\":\"gw-sel\",\"namespace\":\"$INFRA\"}]"
BACK_BE="[{\"name\":\"web\",\"namespace\":\"$BE\",\"port\":8080}]"
BACK_BE2="[{\"name\":\"web\",\"namespace\":\"$BE2\",\"port\":8080}]"
BACK_APP="[{\"name\":\"web\",\"port\":8080}]"
MSG_SAME="spec.parentRefs[0]: Forbidden: Gateway $INFRA/gw-same listener \"default\" admits routes only from its own namespace (allowedRoutes.namespaces.from=Same); this route is in \"$APP\""

# ---- deny mode, watches restarting every 3 s ----
DENY="--check parent-listener=deny --check reference-grant=deny --check route-conflict=deny --check backend-exists=warn --check parent-exists=warn --check gateway-detach=warn --watch-timeout 3"
# shellcheck disable=SC2086
if webhook $DENY; then ok "gwhook restarted with deny modes and 3 s watches; ready after the cache's first sync"; else
    notok "gwhook restarted with deny modes"
    diag "$tmp/wh.log"
    exit 1
fi
check "/metrics: gatecheck_cache_synced 1" [ "$(metric gatecheck_cache_synced)" = 1 ]
check "/metrics: a watch is open for HTTPRoute and for Namespace" sh -c \
    "[ '$(metric 'gatecheck_watch_up{kind="HTTPRoute"}')' = 1 ] && [ '$(metric 'gatecheck_watch_up{kind="Namespace"}')' = 1 ]"

ns "$INFRA"
ns "$APP" '{"team":"app"}'
ns "$BE"
ns "$BE2"
svc "$BE" web
svc "$BE2" web
svc "$APP" web

# check 1: the route right after its Gateway (the cache may not have it yet:
# the finding is confirmed by a fresh read, so it is the API server's truth)
gateway gw-same '[{"name":"default","port":80,"protocol":"HTTP"}]'
route "$APP" r-other "$PAR_SAME"
check "parent-listener deny: a route right after its Gateway, from another namespace, is denied with the message" denied "$MSG_SAME"
route "$INFRA" r-same "$PAR_SAME" "[]"
check "parent-listener: the same route in the Gateway's namespace is created, without warnings" created
gateway gw-sel "[{\"name\":\"web\",\"port\":80,\"protocol\":\"HTTP\",\"allowedRoutes\":{\"namespaces\":{\"from\":\"Selector\",\"selector\":{\"matchExpressions\":[{\"key\":\"team\",\"operator\":\"In\",\"values\":[\"app\",\"ops\"]}]}}}}]"
route "$BE" r-sel "$PAR_SEL"
check "parent-listener deny: a namespace the listener's selector does not match is denied, naming the namespace" denied "namespace \"$BE\""
route "$APP" r-sel "$PAR_SEL"
check "parent-listener: a namespace whose labels match the selector is admitted" created
gateway gw-grpc '[{"name":"grpc","port":80,"protocol":"HTTP","allowedRoutes":{"kinds":[{"kind":"GRPCRoute"}],"namespaces":{"from":"All"}}}]'
route "$APP" r-kind "[{\"name\":\"gw-grpc\",\"namespace\":\"$INFRA\"}]"
check "parent-listener deny: an HTTPRoute on a GRPCRoute-only listener is denied, naming the kinds" denied "GRPCRoute"
route "$APP" r-port "[{\"name\":\"gw-same\",\"namespace\":\"$INFRA\",\"sectionName\":\"nope\"}]"
check "parent-listener deny: a sectionName no listener has is denied" denied "nope"

# check 2: cross-namespace backendRef, then the ReferenceGrant, then at once the route again
gateway gw-all '[{"name":"http","port":80,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"All"}}}]'
route "$APP" r-x "$PAR_ALL" "$BACK_BE"
check "reference-grant deny: a backendRef to another namespace without a ReferenceGrant is denied" denied "ReferenceGrant"
check "reference-grant: the message names the Service" has "$BE/web"
K POST "$GB/namespaces/$BE/referencegrants" "{\"apiVersion\":\"gateway.networking.k8s.io/v1beta1\",\"kind\":\"ReferenceGrant\",\"metadata\":{\"name\":\"from-app\"},\"spec\":{\"from\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\",\"namespace\":\"$APP\"}],\"to\":[{\"group\":\"\",\"kind\":\"Service\"}]}}"
route "$APP" r-x "$PAR_ALL" "$BACK_BE"
check "reference-grant: right after the ReferenceGrant, the same route is created" created

# checks 3 and 4: advice only
route "$APP" r-nosvc "$PAR_ALL" '[{"name":"missing","port":8080}]' "" /nosvc
check "backend-exists warn: a backendRef to a missing Service is admitted with a warning" warned "spec.rules[0].backendRefs[0]: Not found"
check "backend-exists: the warning names the Service" has "$APP/missing"
route "$APP" r-noparent "[{\"name\":\"nope\",\"namespace\":\"$INFRA\"}]"
check "parent-exists warn: a parentRef to a missing Gateway is admitted with a warning" warned "spec.parentRefs[0]: Not found"
check "parent-exists: the warning names the Gateway" has "$INFRA/nope"

# check 5, after the watches have restarted at least once: the conflict can
# only be seen in the cache (no fresh read), so it shows the watch delivered c1
sleep 4
route "$APP" c1 "$PAR_ALL" "$BACK_APP" conflict.example /c
check "route-conflict: the first route for conflict.example /c is created" created
retry 10 sh -c "python3 tests/cluster/kreq.py '$D' POST '$G/namespaces/$APP/httproutes?dryRun=All' '{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"c2\"},\"spec\":{\"hostnames\":[\"conflict.example\"],\"parentRefs\":$PAR_ALL,\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/c\"}}],\"backendRefs\":$BACK_APP}]}}' > '$tmp/out' && grep -q 'denied the request' '$tmp/out'"
check "route-conflict deny: a second route with the same hostname and match is denied, naming the first" denied "$APP/c1"
check "/metrics: the HTTPRoute watch has restarted (--watch-timeout 3)" [ "$(metric 'gatecheck_watch_restarts_total{kind="HTTPRoute"}')" -ge 1 ]

# check 6: a Gateway change that detaches routes
K PATCH "$G/namespaces/$INFRA/gateways/gw-all" '{"spec":{"listeners":[{"name":"http","port":80,"protocol":"HTTP"}]}}'
check "gateway-detach warn: narrowing allowedRoutes to Same is admitted with a warning" warned "spec.listeners"
check "gateway-detach: the warning counts the routes it detaches and names one" sh -c "grep -q 'detaches [0-9]* routes' '$tmp/out' && grep -qF '$APP/c1' '$tmp/out'"
check "/metrics: parent-listener denials counted" [ "$(metric 'gatecheck_crosscheck_findings_total{check="parent-listener",mode="deny"}')" -ge 3 ]

# ---- the API server restarted under the watches ----
before=$(metric 'gatecheck_watch_errors_total{kind="HTTPRoute"}')
before_r=$(metric 'gatecheck_watch_restarts_total{kind="HTTPRoute"}')
if CLUSTER_DIR=$D tools/cluster.sh apiserver-restart > "$tmp/out" 2>&1; then ok "kube-apiserver restarted (same etcd, same port)"; else
    notok "kube-apiserver restarted"
    diag "$tmp/out"
fi
K PATCH "$G/namespaces/$INFRA/gateways/gw-all" '{"spec":{"listeners":[{"name":"http","port":80,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"All"}}}]}}'
route "$APP" c3 "$PAR_ALL" "$BACK_APP" after-restart.example /r
check "after the restart, a route is created through the webhook" created
retry 30 sh -c "python3 tests/cluster/kreq.py '$D' POST '$G/namespaces/$APP/httproutes?dryRun=All' '{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"c4\"},\"spec\":{\"hostnames\":[\"after-restart.example\"],\"parentRefs\":$PAR_ALL,\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/r\"}}],\"backendRefs\":$BACK_APP}]}}' > '$tmp/out' && grep -q 'denied the request' '$tmp/out'"
check "after the restart, the watch delivered the new route: its duplicate is denied" denied "$APP/c3"
after=$(metric 'gatecheck_watch_errors_total{kind="HTTPRoute"}')
after_r=$(metric 'gatecheck_watch_restarts_total{kind="HTTPRoute"}')
check "/metrics: the broken watch was counted (errors $before -> $after, restarts $before_r -> $after_r)" \
    [ $((after + after_r)) -gt $((before + before_r)) ]
check "/metrics: the HTTPRoute watch is open again" [ "$(metric 'gatecheck_watch_up{kind="HTTPRoute"}')" = 1 ]

# ---- warn mode: the same findings, admitted with kubectl-visible warnings ----
if webhook --check all=warn; then ok "gwhook restarted with --check all=warn"; else
    notok "gwhook restarted with --check all=warn"
    diag "$tmp/wh.log"
fi
route "$APP" w1 "$PAR_SAME" "[]" "" / "?dryRun=All"
check "parent-listener warn: admitted, with the same text as a warning" warned "$MSG_SAME"
route "$APP" w2 "$PAR_ALL" "$BACK_BE2" "" / "?dryRun=All"
check "reference-grant warn: admitted with a warning naming ReferenceGrant" sh -c "grep -q '^HTTP 201' '$tmp/out' && grep -q '^WARNING: .*ReferenceGrant' '$tmp/out'"
route "$APP" w3 "$PAR_ALL" "$BACK_APP" conflict.example /c "?dryRun=All"
check "route-conflict warn: admitted with a warning naming the older route" warned "spec.rules[0].matches[0]"
check "route-conflict warn: ... which is $APP/c1" has "$APP/c1"

# ---- off: nothing ----
if webhook --check all=off; then ok "gwhook restarted with --check all=off"; else
    notok "gwhook restarted with --check all=off"
    diag "$tmp/wh.log"
fi
route "$APP" o1 "$PAR_SAME" "[]" "" / "?dryRun=All"
check "all=off: the route the checks would refuse is created without a warning" created
check "all=off: /metrics has no watch cache" [ "$(metric gatecheck_cache_synced)" = 0 ]

# give the cluster its webhook back as tools/cluster.sh started it
if webhook; then ok "gwhook restarted with its default flags"; else
    notok "gwhook restarted with its default flags"
    diag "$tmp/wh.log"
fi
echo "1..$n"
[ "$failures" -eq 0 ]

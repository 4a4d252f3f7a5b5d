#!/bin/sh
# deploy/ (issue 7): the kustomizations render (tools/render.sh, the
# kustomize library `kubectl apply -k` embeds), every rendered object parses
# and has what the issue asks, the Gateway API objects among them pass
# `gwhook validate`, and the local kube-apiserver accepts every object as a
# server-side dry run (pod templates also under the namespaces' restricted
# Pod Security admission). Then RBAC for real, with TokenRequest tokens of
# the manifests' ServiceAccounts: `gwhook certs --secret` as the certificate
# Job; gwconform as the conformance Job against the fixture gateway (it
# passes), and again with `create` on httproutes taken away (it fails with
# the API server's 403, naming the verb and the resource).
#
# Run by tools/cluster-tests.sh with GATECHECK_CLUSTER_DIR set. The renderer
# needs Go and the Go module proxy (or a filled module cache) the first time.
# Everything it creates is deleted at the end, and the namespaces waited for.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh
. tests/cluster/lib.sh

D=${GATECHECK_CLUSTER_DIR:?run by tools/cluster-tests.sh}
D=$(cd "$D" && pwd) || exit 2
GW=${GWHOOK:-build/san/gwhook}
[ -x "$GW" ] || GW=build/gwhook
GC=${GWCONFORM:-build/san/gwconform}
[ -x "$GC" ] || GC=build/gwconform
# away from a `make cluster-up` fixture's default 127.1.0.0/24 and from
# it_fixture.sh's 127.1.250.0/24
export FIXTURE_ADDRESS_RANGE="${FIXTURE_ADDRESS_RANGE:-127.1.251.0/24}"
export CLUSTER_DIR="$D" GATEWAY_CLASS=gatecheck-fixture
tmp=$(mktemp -d)

export APISERVER CA CERT KEY
APISERVER=$(cat "$D/apiserver.url")
CA=$D/pki/ca.crt
CERT=$D/pki/admin.crt
KEY=$D/pki/admin.key
applyp() { python3 tests/deploy/apply.py "$@"; }
checks() { python3 tests/deploy/checks.py "$@"; }

# ---- cleanup: what this suite creates, deleted (and waited for) on exit ----
fixture_started=0
cleanup() {
    if [ $fixture_started = 1 ]; then
        tools/fixture.sh stop > /dev/null 2>&1
        api DELETE /apis/gateway.networking.k8s.io/v1/gatewayclasses/gatecheck-fixture -o /dev/null 2>&1
    fi
    for f in "$tmp"/real-*.yaml; do
        # only the kinds applied for real: never the webhook configurations
        # (the cluster's own "gatecheck" ones have the same names)
        [ -f "$f" ] && applyp --delete --only Namespace,ClusterRole,ClusterRoleBinding "$f" > /dev/null 2>&1
    done
    # namespaces finish terminating through the controller manager
    for ns in gatecheck-system gatecheck-conformance gateway-conformance-infra \
        gateway-conformance-app-backend gateway-conformance-web-backend; do
        i=0
        while [ $i -lt 120 ] &&
            [ "$(api GET "/api/v1/namespaces/$ns" -o /dev/null -w '%{http_code}' 2> /dev/null)" != 404 ]; do
            i=$((i + 1))
            sleep 0.5
        done
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lines LABEL FILE: a TAP line per "ok/fail/skip ..." line of apply.py or
# checks.py; other lines become diagnostics
lines() {
    while IFS= read -r l; do
        case $l in
            "ok "*) ok "$1: ${l#ok }" ;;
            "skip "*)
                n=$((n + 1))
                echo "ok $n - $1: ${l#skip } # SKIP"
                ;;
            "fail "*) notok "$1: ${l#fail }" ;;
            *) echo "# $l" ;;
        esac
    done < "$2"
}

# ---- render ----
if ! tools/render.sh --bin > "$tmp/bin" 2> "$tmp/err"; then
    notok "the renderer builds (tests/deploy, sigs.k8s.io/kustomize/api)"
    diag "$tmp/err"
    echo "1..$n"
    exit 1
fi
ok "the renderer builds (tests/deploy, sigs.k8s.io/kustomize/api)"
wh=$tmp/webhook-self-provisioned.yaml
cm=$tmp/webhook-cert-manager.yaml
cf=$tmp/conformance.yaml
rendered=""
for pair in "deploy/webhook/self-provisioned $wh" "deploy/webhook/cert-manager $cm" \
    "deploy/conformance $cf"; do
    k=${pair% *}
    f=${pair#* }
    if tools/render.sh "$k" > "$f" 2> "$tmp/err"; then
        ok "$k renders ($(grep -c '^kind:' "$f") objects)"
        rendered="$rendered $f"
    else
        notok "$k renders"
        diag "$tmp/err"
    fi
done
# the base alone renders too (it is not meant to be applied alone)
tools/render.sh deploy/webhook/base > "$tmp/base.yaml" 2> "$tmp/err"
check "deploy/webhook/base renders" [ $? -eq 0 ]

# ---- parse, and what the issue asks of the objects ----
for f in $rendered; do
    checks parse "$f" > "$tmp/out" 2>&1
    prc=$?
    check "${f##*/}: every document parses as an object with apiVersion, kind, metadata.name ($(tail -1 "$tmp/out"))" \
        [ $prc -eq 0 ]
done
if [ -s "$wh" ] && [ -s "$cm" ] && [ -s "$cf" ]; then
    checks structure "$wh" "$cm" "$cf" "$(cat VERSION)" > "$tmp/out" 2>&1 || echo "fail checks.py: exit $?" >> "$tmp/out"
    lines structure "$tmp/out"
fi
check "deploy/webhook/webhook-configurations.yaml keeps what tools/cluster.sh register reads (2 documents, webhooks[].clientConfig.service)" \
    python3 -c '
import sys, yaml
d = [x for x in yaml.safe_load_all(open("deploy/webhook/webhook-configurations.yaml")) if x]
assert len(d) == 2 and all(w["clientConfig"]["service"]["path"] for x in d for w in x["webhooks"])'

# ---- gwhook validate ----
for f in $rendered; do
    run_tool "$GW" validate "$f"
    check "${f##*/}: gwhook validate exit 0 ($(tail -1 "$tmp/err"))" [ "$rc" -eq 0 ]
done
run_tool "$GW" validate deploy/
check "deploy/ as files: gwhook validate exit 0 ($(tail -1 "$tmp/err"))" [ "$rc" -eq 0 ]

# ---- server-side dry run ----
# Namespaced objects need their namespace, and Pods their ServiceAccount, to
# exist: those two kinds are applied for real (deleted at the end), then every
# object as a dry run. cert-manager's kinds are skipped: its CRDs are not
# installed here, and a stub CRD of our own would check nothing of them.
for f in $rendered; do
    cp "$f" "$tmp/real-${f##*/}"
    applyp --only Namespace,ServiceAccount "$f" > "$tmp/out" 2>&1
    lines "apply for real" "$tmp/out"
done
for f in $rendered; do
    applyp --dry-run "$f" > "$tmp/out" 2>&1
    lines "dry run ${f##*/}" "$tmp/out"
    applyp --pods "$f" > "$tmp/out" 2>&1
    lines "restricted Pod Security, ${f##*/}" "$tmp/out"
done

# ---- RBAC, for real, with TokenRequest tokens of the ServiceAccounts ----
token() { # token NS SA
    api POST "/api/v1/namespaces/$1/serviceaccounts/$2/token" -H 'Content-Type: application/json' \
        -d '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])'
}
kubeconfig() { # kubeconfig TOKEN FILE
    cat > "$2" << EOC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$APISERVER", certificate-authority: "$CA"}
users:
- name: sa
  user: {token: "$1"}
contexts:
- name: sa
  context: {cluster: local, user: sa}
current-context: sa
EOC
}

# The certificate Job's RBAC: `gwhook certs --secret` with its token writes
# and reads back the two Secrets. Patching the webhook configurations is
# asked of the authorizer instead: the only names the Role allows are the
# cluster's own "gatecheck" configurations, which the other suites use.
applyp --only Role,RoleBinding,ClusterRole,ClusterRoleBinding "$wh" > "$tmp/out" 2>&1
lines "apply for real" "$tmp/out"
if tok=$(token gatecheck-system gwhook-certs) && [ -n "$tok" ]; then
    tok_certs=$tok
    kubeconfig "$tok" "$tmp/certs.kubeconfig"
    run_tool "$GW" certs --kubeconfig "$tmp/certs.kubeconfig" --service gwhook \
        --namespace gatecheck-system --secret gwhook-tls
    check "self-provisioned RBAC: gwhook certs --secret gwhook-tls with the Job's token, exit 0" [ "$rc" -eq 0 ]
    run_tool "$GW" certs --kubeconfig "$tmp/certs.kubeconfig" --service gwhook \
        --namespace gatecheck-system --secret gwhook-tls
    check "self-provisioned RBAC: a second run reads both Secrets back and keeps them, exit 0" \
        sh -c "[ $rc -eq 0 ] && grep -q '^reused CA' '$tmp/out' && grep -q '^kept serving certificate' '$tmp/out'"
    for r in validatingwebhookconfigurations mutatingwebhookconfigurations; do
        for verb in get update; do
            a=$(TOKEN=$tok CERT='' applyp --can-i "$verb" admissionregistration.k8s.io "$r" gatecheck 2>&1)
            check "self-provisioned RBAC: $verb $r/gatecheck is allowed ($a)" [ "$a" = True ]
        done
        a=$(TOKEN=$tok CERT='' applyp --can-i update admissionregistration.k8s.io "$r" other 2>&1)
        check "self-provisioned RBAC: update $r/other is not ($a)" [ "$a" = False ]
    done
else
    notok "a TokenRequest token for gatecheck-system/gwhook-certs"
fi

# The certificate Job for real: `gwhook certs --patch-webhooks` with the
# Job's token on the only configurations its Role names, the cluster's own
# "gatecheck" ones (the webhook suites' registration): their caBundle becomes
# the new CA of gwhook-tls-ca; then tools/cluster.sh register gives them back
# the local webhook's CA (the local gwhook serves its own certificate).
if [ -n "${tok_certs:-}" ]; then
    run_tool "$GW" certs --kubeconfig "$tmp/certs.kubeconfig" --service gwhook \
        --namespace gatecheck-system --secret gwhook-tls --patch-webhooks --webhook-config gatecheck
    check "self-provisioned RBAC: gwhook certs --patch-webhooks with the Job's token, exit 0" [ "$rc" -eq 0 ]
    check "self-provisioned RBAC: it patched both configurations" sh -c \
        "grep -q '^patched caBundle of ValidatingWebhookConfiguration gatecheck' '$tmp/out' && grep -q '^patched caBundle of MutatingWebhookConfiguration gatecheck' '$tmp/out'"
    api GET /api/v1/namespaces/gatecheck-system/secrets/gwhook-tls > "$tmp/sec.json"
    api GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/gatecheck > "$tmp/vwc.json"
    # the bundle keeps the CA it had (rotation: certs_bundle_merge) and adds the new one
    check "self-provisioned RBAC: the caBundle now holds the Secret's CA" python3 -c "
import base64, json
ca = base64.b64decode(json.load(open('$tmp/sec.json'))['data']['ca.crt']).decode().strip()
for w in json.load(open('$tmp/vwc.json'))['webhooks']:
    assert ca in base64.b64decode(w['clientConfig']['caBundle']).decode(), w['name']
"
    if CLUSTER_DIR=$D tools/cluster.sh register > "$tmp/out" 2>&1; then
        ok "the cluster's webhook configurations restored (tools/cluster.sh register)"
    else
        notok "the cluster's webhook configurations restored"
        diag "$tmp/out"
    fi
fi

# The webhook's own RBAC (issue 8): `gwhook serve` with the token of
# gatecheck-system/gwhook lists and watches everything its cross-object
# checks read, so /readyz turns 200; without namespaces in its ClusterRole it
# stays 503 and its log has the API server's 403 naming verb and resource.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
serve_sa() { # serve_sa LOG: gwhook serve with the ServiceAccount's kubeconfig; pid in spid
    wport=$(free_port)
    pport=$(free_port)
    "$GW" serve --bind 127.0.0.1 --port "$wport" --probe-port "$pport" --metrics-port "$pport" \
        --cert-dir "$tmp/whcerts" --kubeconfig "$tmp/gwhook.kubeconfig" --shutdown-delay 0 \
        --grace 2 > "$1" 2>&1 &
    spid=$!
}
ready_within() { # ready_within TENTHS: /readyz 200 within that time
    i=0
    while [ $i -lt "$1" ]; do
        curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$pport/readyz" 2> /dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
if tok=$(token gatecheck-system gwhook) && [ -n "$tok" ]; then
    kubeconfig "$tok" "$tmp/gwhook.kubeconfig"
    "$GW" certs --out-dir "$tmp/whcerts" --ip 127.0.0.1 > /dev/null 2>&1
    serve_sa "$tmp/serve.log"
    check "webhook RBAC: gwhook serve with its ServiceAccount's token syncs the watch cache (/readyz 200)" ready_within 300
    check "webhook RBAC: no 403 in its log" sh -c "! grep -q 'forbidden' '$tmp/serve.log'"
    kill "$spid" 2> /dev/null
    wait "$spid" 2> /dev/null
    api PATCH /apis/rbac.authorization.k8s.io/v1/clusterroles/gatecheck-webhook-watch -o /dev/null \
        -H 'Content-Type: application/merge-patch+json' \
        -d '{"rules":[{"apiGroups":["gateway.networking.k8s.io"],"resources":["gatewayclasses","gateways","listenersets","httproutes","grpcroutes","tlsroutes","tcproutes","udproutes","referencegrants"],"verbs":["get","list","watch"]},{"apiGroups":[""],"resources":["services"],"verbs":["get","list","watch"]}]}'
    serve_sa "$tmp/serve-narrow.log"
    if ready_within 60; then notok "narrower webhook RBAC (no namespaces): /readyz turned 200"; else
        ok "narrower webhook RBAC (no namespaces): /readyz still 503 after 6 s"
    fi
    check "narrower webhook RBAC: the log has the 403 naming the verb and the resource" \
        grep -q 'cannot list resource .*namespaces' "$tmp/serve-narrow.log"
    kill "$spid" 2> /dev/null
    wait "$spid" 2> /dev/null
else
    notok "a TokenRequest token for gatecheck-system/gwhook"
fi

# The conformance Job's RBAC: every scenario against the fixture gateway
applyp --only ClusterRole,ClusterRoleBinding "$cf" > "$tmp/out" 2>&1
lines "apply for real" "$tmp/out"
if [ ! -f "$D/nodeagent.pid" ]; then
    n=$((n + 1))
    echo "ok $n - conformance RBAC against the fixture gateway # SKIP no node agent on $D (it needs root)"
elif ! tok=$(token gatecheck-conformance gwconform) || [ -z "$tok" ]; then
    notok "a TokenRequest token for gatecheck-conformance/gwconform"
else
    kubeconfig "$tok" "$tmp/conform.kubeconfig"
    fixture_started=1
    if ! tools/fixture.sh start > "$tmp/start" 2>&1; then
        notok "the fixture gateway starts"
        diag "$tmp/start"
    else
        FEATURES=$(tools/fixture.sh features)
        "$GC" run --kubeconfig "$tmp/conform.kubeconfig" --gateway-class gatecheck-fixture \
            --supported-features "$FEATURES" --parallel 4 --report-dir "$tmp/reports" \
            > "$tmp/out" 2> "$tmp/err"
        rc=$?
        total=$(awk '/^SCENARIO +RESULT +SECONDS/ { on = 1; next } on && $2 ~ /^(PASS|FAIL|ERROR|SKIP)$/' "$tmp/out" | wc -l)
        passed=$(awk '/^SCENARIO +RESULT +SECONDS/ { on = 1; next } on && $2 == "PASS"' "$tmp/out" | wc -l)
        if [ $rc -eq 0 ] && [ "$passed" -gt 0 ]; then
            ok "conformance RBAC: gwconform with the Job's token passes against the fixture ($passed of $total scenarios passed)"
        else
            notok "conformance RBAC: gwconform with the Job's token: exit $rc, $passed of $total scenarios passed"
            grep -hE 'FAIL|ERROR|forbidden|error' "$tmp/out" "$tmp/err" | head -20 | sed 's/^/#   /'
        fi
        # narrower: no `create` on httproutes (server-side apply of a new
        # HTTPRoute needs it)
        checks narrow "$cf" > "$tmp/narrow.yaml"
        applyp "$tmp/narrow.yaml" > "$tmp/out" 2>&1
        lines "narrower ClusterRole applied" "$tmp/out"
        "$GC" run --kubeconfig "$tmp/conform.kubeconfig" --gateway-class gatecheck-fixture \
            --supported-features "$FEATURES" --run-test HTTPRouteSimpleSameNamespace \
            --report-dir "$tmp/reports-narrow" > "$tmp/out" 2> "$tmp/err"
        rc=$?
        check "narrower RBAC (no create on httproutes): gwconform fails (exit $rc)" [ "$rc" -ne 0 ]
        check "narrower RBAC: the message names the verb and the resource" \
            grep -q 'cannot create resource \\"httproutes\\" in API group \\"gateway.networking.k8s.io\\"\|cannot create resource "httproutes" in API group "gateway.networking.k8s.io"' \
            "$tmp/out" "$tmp/err"
        grep -h 'forbidden' "$tmp/out" "$tmp/err" | head -3 | sed 's/^/# message: /'
    fi
fi
echo "1..$n"
[ "$failures" -eq 0 ]

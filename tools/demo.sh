#!/bin/sh
# make demo (README's first command): on the local control plane,
#   1. dependencies and build (make did them before calling this);
#   2. the cluster up: etcd, kube-apiserver, kube-controller-manager, the
#      node agent (echo Pods), gwhook registered as the webhook (--strict,
#      --check parent-listener=deny);
#   3. a bad HTTPRoute denied by gwhook, with its message; a route its
#      Gateway's listener will never accept, denied (a cross-object check);
#      a route to a missing Service, admitted with kubectl's warning;
#   4. gwconform against the fixture gateway;
#   5. the summary, and the reports in build/demo/;
#   6. the cluster down on exit, Ctrl-C included.
# Exit status: gwconform's (0 all passed, 1 a scenario failed, 2 could not run).
set -u
cd "$(dirname "$0")/.." || exit 2
export PATH="$PATH:/usr/local/go/bin"
export CLUSTER_DIR=build/demo-cluster
OUT=build/demo
t0=$(date +%s)
step() { echo "==> [$(($(date +%s) - t0))s] $*"; }

down() {
    step "bringing the cluster down"
    tools/cluster.sh down > /dev/null 2>&1
}
trap down EXIT
trap 'exit 130' INT TERM

step "1/6 dependencies and build: done (make deps, make, make fixtures)"
step "2/6 local control plane (first run builds kube-apiserver & co from Go modules: ~10 min)"
CONTROLLER_MANAGER=1 NODE_AGENT=1 GWHOOK_FLAGS="--strict --check parent-listener=deny" \
    tools/cluster.sh up || exit 2

step "3/6 a bad HTTPRoute: a header value with a tab, which the CRDs accept and gwhook --strict denies"
cat <<'YAML'
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: demo-bad-route, namespace: default}
    spec:
      parentRefs: [{name: demo}]
      rules:
        - filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: {set: [{name: X-Env, value: "prod<TAB>"}]}
YAML
body='{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"demo-bad-route","namespace":"default"},"spec":{"parentRefs":[{"name":"demo"}],"rules":[{"filters":[{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"X-Env","value":"prod\t"}]}}]}]}}'
D=$CLUSTER_DIR
curl -sS --max-time 30 --cacert "$D/pki/ca.crt" --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" \
    -H 'Content-Type: application/json' --data-binary "$body" \
    "$(cat "$D/apiserver.url")/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes" |
    python3 -c 'import json,sys
o=json.load(sys.stdin)
if o.get("kind")=="Status" and o.get("status")=="Failure":
    print("    denied (HTTP %s %s): %s" % (o.get("code"), o.get("reason"), o.get("message")))
else:
    print("    NOT denied: the webhook let it through"); sys.exit(1)'

step "3/6 across objects: a Gateway in demo-infra whose listener admits its own namespace only, and a route in default"
# kreq OBJECT-PATH JSON: through the API server, as kubectl would show it
kreq() { python3 tests/cluster/kreq.py "$D" POST "$1" "$2" | sed 's/^/    /'; }
kreq /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo-infra"}}' > /dev/null
kreq /apis/gateway.networking.k8s.io/v1/namespaces/demo-infra/gateways \
    '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"gateway"},"spec":{"gatewayClassName":"demo","listeners":[{"name":"default","port":80,"protocol":"HTTP"}]}}'
echo "    HTTPRoute default/store -> parentRefs: [{name: gateway, namespace: demo-infra}]"
kreq /apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes \
    '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"store"},"spec":{"parentRefs":[{"name":"gateway","namespace":"demo-infra"}]}}'
echo "    HTTPRoute demo-infra/store -> backendRefs: [{name: missing, port: 80}] (warn only)"
kreq /apis/gateway.networking.k8s.io/v1/namespaces/demo-infra/httproutes \
    '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"store"},"spec":{"parentRefs":[{"name":"gateway"}],"rules":[{"backendRefs":[{"name":"missing","port":80}]}]}}'

# Conformance scenarios create routes that the gateway must refuse (and
# check the status that says so): parent-listener in deny mode would refuse
# them at admission. Back to the default (every check warns) for the run.
step "3/6 gwhook back to warn mode for gwconform (its scenarios create routes meant to be refused by the gateway)"
tools/cluster.sh webhook-stop > /dev/null 2>&1
GWHOOK_FLAGS=--strict tools/cluster.sh webhook-start > /dev/null || exit 2

step "4/6 the fixture gateway (tests/fixtures/gateway) and gwconform"
tools/fixture.sh start || exit 2
rm -rf "$OUT"
build/gwconform run --kubeconfig "$D/kubeconfig" --gateway-class gatecheck-fixture \
    --supported-features "$(tools/fixture.sh features)" --parallel 4 --report-dir "$OUT" \
    --organization gatecheck --project fixture-gateway --version "$(cat VERSION)" \
    --mode default
rc=$?
step "5/6 reports: $OUT/junit_01.xml $OUT/conformance-report.yaml (exit $rc)"
step "6/6 done in $(($(date +%s) - t0))s"
exit $rc

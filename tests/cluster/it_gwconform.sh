#!/bin/sh
# gwconform against the real kube-apiserver of tools/cluster-tests.sh: what
# it does before a gateway is involved, and how it fails when the run cannot
# happen (issue 5: exit 2 with the cause; a malformed scenario named by
# file:line before anything is applied). The end-to-end runs against the
# fixture gateway belong to issue 6.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh
. tests/cluster/lib.sh

D=${GATECHECK_CLUSTER_DIR:?run by tools/cluster-tests.sh}
GC=${GWCONFORM:-build/san/gwconform}
KC=$D/kubeconfig
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { run_tool "$GC" "$@"; }
ns_exists() { [ "$(api GET "/api/v1/namespaces/$1" -o /dev/null -w '%{http_code}')" = 200 ]; }

run list
check "list: exit 0, one line per scenario with profile and features" sh -c "[ $rc -eq 0 ] &&
  grep -q '^HTTPRouteSimpleSameNamespace  *GATEWAY-HTTP  *core  *Gateway,HTTPRoute' '$tmp/out' &&
  grep -qE '^[0-9]+ scenarios$' '$tmp/out'"

run run --bogus
check "an unknown flag: exit 2 and says so" sh -c "[ $rc -eq 2 ] && grep -q 'unknown option' '$tmp/err'"
run run --parallel 0
check "--parallel 0: exit 2" [ "$rc" -eq 2 ]
run run --parallel 65
check "--parallel 65: exit 2 with the range" sh -c "[ $rc -eq 2 ] && grep -q 'from 1 to 64' '$tmp/err'"
run run --timeout-config-overrides 'NoSuchTimeout:5'
check "an unknown timeout name: exit 2 naming it" sh -c "[ $rc -eq 2 ] && grep -q \"unknown timeout 'NoSuchTimeout'\" '$tmp/err'"

# a malformed scenario is reported with file:line before anything is applied
mkdir -p "$tmp/bad"
cp conformance/scenarios/HTTPRouteSimpleSameNamespace.yaml "$tmp/bad/"
printf 'name: Broken\ndescription: x\nprofile: GATEWAY-HTTP\nfeatures: [Gateway]\nsteps:\n  - bogus: {}\n' > "$tmp/bad/broken.yaml"
run run --kubeconfig "$KC" --scenarios "$tmp/bad" --supported-features Gateway,HTTPRoute
check "a malformed scenario: exit 2, file:line named" sh -c "[ $rc -eq 2 ] && grep -q '$tmp/bad/broken.yaml:[0-9]*:' '$tmp/err'"
if ns_exists gateway-conformance-infra; then applied=1; else applied=0; fi
check "... and nothing was applied (no base namespace)" [ "$applied" -eq 0 ]

# an API server that cannot be reached
sed "s|server: .*|server: https://127.0.0.1:1|" "$KC" > "$tmp/unreachable.kubeconfig"
run run --kubeconfig "$tmp/unreachable.kubeconfig" --supported-features Gateway,HTTPRoute
check "an unreachable API server: exit 2 with the URL and the cause" sh -c "[ $rc -eq 2 ] &&
  grep -q '127.0.0.1:1' '$tmp/err'"

# no such GatewayClass: the run cannot happen
run run --kubeconfig "$KC" --gateway-class "no-such-class-$$" --conformance-profiles GATEWAY-HTTP \
    --timeout-config-overrides 'GWCMustBeAccepted:2' --report-dir "$tmp/reports"
check "a GatewayClass that does not exist: exit 2 within the timeout, naming it" sh -c "[ $rc -eq 2 ] &&
  grep -q 'GatewayClass no-such-class-$$ is not Accepted' '$tmp/err'"
check "the CRD gate saw the installed v1.6.1 bundle (no version error)" sh -c "! grep -q 'CRDs version' '$tmp/err'"
check "progress lines carry the elapsed time" grep -qE '^\[ *[0-9]+\.[0-9]s\] ' "$tmp/out"

# --allow-crds-mismatch is not needed here; a wrong profile name is refused
run run --kubeconfig "$KC" --conformance-profiles NOPE
check "an unknown profile: exit 2 listing the known ones" sh -c "[ $rc -eq 2 ] && grep -q 'unknown profile NOPE' '$tmp/err'"
run run --kubeconfig "$KC" --run-test NoSuchTest --supported-features Gateway
check "--run-test of an unknown scenario: exit 2" sh -c "[ $rc -eq 2 ] && grep -q 'NoSuchTest does not exist' '$tmp/err'"

# SIGINT while waiting for a GatewayClass that no controller accepts: stops at once, says so
api POST /apis/gateway.networking.k8s.io/v1/gatewayclasses -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\",\"metadata\":{\"name\":\"unaccepted-$$\"},\"spec\":{\"controllerName\":\"example.com/nobody\"}}"
"$GC" run --kubeconfig "$KC" --gateway-class "unaccepted-$$" --conformance-profiles GATEWAY-HTTP \
    --report-dir "$tmp/reports" > "$tmp/out" 2> "$tmp/err" &
pid=$!
sleep 1
kill -INT $pid
i=0
while kill -0 $pid 2> /dev/null && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
if kill -0 $pid 2> /dev/null; then
    kill -KILL $pid
    rc=137
else
    wait $pid
    rc=$?
fi
check "SIGINT during the GatewayClass wait: exit 2 within 5 s, 'interrupted' in the cause" sh -c "[ $rc -eq 2 ] &&
  grep -q 'GatewayClass unaccepted-$$ is not Accepted: interrupted while waiting' '$tmp/err'"
api DELETE "/apis/gateway.networking.k8s.io/v1/gatewayclasses/unaccepted-$$" -o /dev/null

echo "1..$n"
[ "$failures" -eq 0 ]

#!/bin/sh
# The node agent (issue 6; tests/fixtures/nodeagent) on the cluster of
# tools/cluster-tests.sh, which brings it up with NODE_AGENT=1: a Deployment
# of the echo image becomes Ready Pods with their own addresses, the Service
# gets its EndpointSlice from kube-controller-manager as in a real cluster,
# each Pod answers with its own echo JSON, a crashed process is restarted,
# and scaling down and namespace deletion finish.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh
. tests/cluster/lib.sh

D=${GATECHECK_CLUSTER_DIR:?run by tools/cluster-tests.sh}
NS=nodeagent-it-$$
LOG=$D/logs/nodeagent.log
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! [ -f "$D/nodeagent.pid" ]; then
    echo "ok 1 - # SKIP no node agent in $D (tools/cluster.sh up with NODE_AGENT=1)"
    echo "1..1"
    exit 0
fi
CIDR=$(cat "$D/pod-cidr")

py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
post() { api POST "$1" -o "$tmp/out" -w '%{http_code}' -H 'Content-Type: application/json' -d "$2"; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds
wait_for() {
    t=$1
    shift
    i=0
    while ! "$@"; do
        i=$((i + 1))
        [ $i -le $((t * 4)) ] || return 1
        sleep 0.25
    done
}
# pods: "name uid ip ready restarts pid" per Pod of the namespace, sorted by name
pods() {
    api GET "/api/v1/namespaces/$NS/pods" | py '
for p in sorted(d["items"], key=lambda p: p["metadata"]["name"]):
    st = p.get("status", {})
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))
    cs = (st.get("containerStatuses") or [{}])[0]
    pid = cs.get("containerID", "nodeagent://0").split("://")[-1]
    print(p["metadata"]["name"], p["metadata"]["uid"], st.get("podIP", "-"), ready,
          cs.get("restartCount", 0), pid)' > "$tmp/pods"
}
# netns UID: the Pod's namespace name (tests/fixtures/nodeagent/agent.c)
netns() { echo "gcpod-$(echo "$1" | tr -d - | cut -c1-12)"; }
n_ready() { # n_ready N: exactly N Pods, all Ready with an address
    pods && [ "$(wc -l < "$tmp/pods")" -eq "$1" ] && ! grep -q -e ' False ' -e ' - ' "$tmp/pods"
}
in_cidr() { python3 -c "import ipaddress,sys; sys.exit(0 if ipaddress.ip_address('$1') in ipaddress.ip_network('$CIDR') else 1)"; }

check "Node gatecheck-node is Ready" sh -c "
  curl -sS --max-time 10 --cacert '$D/pki/ca.crt' --cert '$D/pki/admin.crt' --key '$D/pki/admin.key' \
    \"\$(cat '$D/apiserver.url')/api/v1/nodes/gatecheck-node\" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(c[\"type\"] == \"Ready\" and c[\"status\"] == \"True\" for c in d[\"status\"][\"conditions\"]) else 1)'"

code=$(post /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\"}}")
check "namespace $NS created" [ "$code" = 201 ]
# SERVICE_NAME shows $(VAR) expansion; TLS_SERVER_CERT names a Secret volume
# file that is not mounted: the agent drops it and says so
code=$(post "/apis/apps/v1/namespaces/$NS/deployments" '{
  "apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"echo"},
  "spec":{"replicas":2,"selector":{"matchLabels":{"app":"echo"}},
    "template":{"metadata":{"labels":{"app":"echo"}},"spec":{"containers":[{
      "name":"echo","image":"registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0",
      "env":[{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
             {"name":"NAMESPACE","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}},
             {"name":"SERVICE_NAME","value":"echo.$(NAMESPACE)"},
             {"name":"TLS_SERVER_CERT","value":"/etc/secret-volume/crt"}]}]}}}}')
check "Deployment echo (2 replicas) created" [ "$code" = 201 ]
code=$(post "/api/v1/namespaces/$NS/services" '{"apiVersion":"v1","kind":"Service",
  "metadata":{"name":"echo"},"spec":{"selector":{"app":"echo"},"ports":[{"port":8080,"targetPort":3000}]}}')
check "Service echo (8080 -> 3000) created" [ "$code" = 201 ]

wait_for 60 n_ready 2
check "both Pods Ready with an address within 60 s" n_ready 2
cp "$tmp/pods" "$tmp/pods.2"
ips=$(awk '{print $3}' "$tmp/pods.2" | sort -u | grep -c .)
check "the two Pods have distinct addresses" [ "$ips" -eq 2 ]
ok_cidr=1
while read -r _ _ ip _; do in_cidr "$ip" || ok_cidr=0; done < "$tmp/pods.2"
check "both addresses are in the pod CIDR $CIDR" [ "$ok_cidr" = 1 ]

slice() { # "ip:ready" per endpoint, sorted, and the ports, of the Service's EndpointSlices
    api GET "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Decho" | py '
eps = sorted("%s:%s" % (a, e.get("conditions", {}).get("ready")) for s in d["items"]
             for e in s.get("endpoints") or [] for a in e["addresses"])
ports = sorted(set("%s/%s" % (p.get("port"), p.get("protocol")) for s in d["items"] for p in s.get("ports") or []))
print(" ".join(eps), "ports", " ".join(ports))' > "$tmp/slice"
}
want_slice() { # want_slice IP...: exactly these addresses, ready, port 3000
    w=$(for ip in "$@"; do echo "$ip:True"; done | sort | tr '\n' ' ')
    slice && [ "$(cat "$tmp/slice")" = "${w}ports 3000/TCP" ]
}
# shellcheck disable=SC2046
wait_for 30 want_slice $(awk '{print $3}' "$tmp/pods.2")
# shellcheck disable=SC2046
check "the EndpointSlice lists both addresses, ready, with port 3000" want_slice $(awk '{print $3}' "$tmp/pods.2")
diag "$tmp/slice"

while read -r name uid ip _; do
    curl -sS --max-time 5 "http://$ip:3000/nodeagent-it" > "$tmp/echo.json" 2> "$tmp/err"
    got=$(py 'print(d["pod"], d["namespace"], d["service"], d["path"])' < "$tmp/echo.json" 2> /dev/null)
    check "$ip:3000 answers with $name's echo JSON (pod, namespace, service from \$(NAMESPACE))" \
        [ "$got" = "$name $NS echo.$NS /nodeagent-it" ]
    check "$name runs in its own network namespace $(netns "$uid")" sh -c "ip netns pids $(netns "$uid") | grep -q ."
done < "$tmp/pods.2"
check "the agent logged bound, started and ready for both Pods" sh -c "
  for p in \$(awk '{print \$1}' '$tmp/pods.2'); do
    for a in bound started ready; do grep -q \"\\\"msg\\\":\\\"\$a\\\".*\\\"pod\\\":\\\"$NS/\$p\\\"\" '$LOG' || exit 1; done
  done"
check "the missing TLS_SERVER_CERT file was dropped, and logged" \
    grep -q "\"pod\":\"$NS/.*TLS_SERVER_CERT: file /etc/secret-volume/crt does not exist" "$LOG"

# a process that dies is restarted, and its Pod is Ready again
# shellcheck disable=SC2046
set -- $(head -1 "$tmp/pods.2")
victim=$1
kill -KILL "$6" 2> /dev/null
restarted() { pods && grep -q "^$victim .* True 1 " "$tmp/pods"; }
wait_for 30 restarted
check "a killed echo process is restarted: restartCount 1, Ready again" restarted
cp "$tmp/pods" "$tmp/pods.3" # the victim's new pid
check "... and the agent logged exited and restarted" sh -c "
  grep -q '\"msg\":\"exited\",\"exit_code\":137.*\"pod\":\"$NS/$victim\"' '$LOG' &&
  grep -q '\"msg\":\"restarted\".*\"pod\":\"$NS/$victim\"' '$LOG'"
check "... and it answers again" sh -c "curl -fsS --max-time 5 http://$3:3000/ | grep -q '\"pod\": \"$victim\"'"

# scaling to 1: one Pod, its process and its namespace go
code=$(api PATCH "/apis/apps/v1/namespaces/$NS/deployments/echo/scale" -o "$tmp/out" -w '%{http_code}' \
    -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":1}}')
check "scaled to 1" [ "$code" = 200 ]
wait_for 30 n_ready 1
check "one Pod left within 30 s" n_ready 1
gone=$(awk '{print $1}' "$tmp/pods.2" | grep -vxF "$(awk '{print $1}' "$tmp/pods")")
gone_uid=$(awk -v n="$gone" '$1 == n {print $2}' "$tmp/pods.2")
gone_pid=$(awk -v n="$gone" '$1 == n {print $6}' "$tmp/pods.3")
check "the removed Pod's namespace $(netns "$gone_uid") is gone" sh -c "! ip netns list | grep -q '^$(netns "$gone_uid")\\b'"
check "the removed Pod's echo process (pid $gone_pid) is gone" sh -c "! kill -0 '$gone_pid' 2> /dev/null"
check "the agent logged stopped and deleted for it" sh -c "
  grep -q '\"msg\":\"stopped\".*\"pod\":\"$NS/$gone\"' '$LOG' && grep -q '\"msg\":\"deleted\".*\"pod\":\"$NS/$gone\"' '$LOG'"
left_ip=$(awk '{print $3}' "$tmp/pods")
wait_for 30 want_slice "$left_ip"
check "the EndpointSlice lists only the remaining address" want_slice "$left_ip"

# deleting the namespace completes: the agent removes what is left of it
left_uid=$(awk '{print $2}' "$tmp/pods")
api DELETE "/api/v1/namespaces/$NS" -o /dev/null
ns_gone() { [ "$(api GET "/api/v1/namespaces/$NS" -o /dev/null -w '%{http_code}')" = 404 ]; }
wait_for 90 ns_gone
check "namespace $NS deleted within 90 s" ns_gone
check "no network namespace of its Pods is left" sh -c "! ip netns list | grep -q '^$(netns "$left_uid")\\b'"
check "the node agent still runs" kill -0 "$(cat "$D/nodeagent.pid")"
if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$LOG"; then
    notok "the node agent's log has a sanitizer report"
    grep -E -A8 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$LOG" | sed 's/^/# /' | head -40
else
    ok "the node agent's log has no sanitizer report"
fi
echo "1..$n"
[ "$failures" -eq 0 ]

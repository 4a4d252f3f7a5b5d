#!/bin/sh
# The local control plane: a real etcd and kube-apiserver built from Go
# modules (tools/cluster-build.sh), the Gateway API CRDs from the Go module
# cache, and `gwhook serve` registered as the cluster's admission webhook.
#
#   tools/cluster.sh up        start everything; prints KUBECONFIG=... last
#   tools/cluster.sh down      stop what `up` started (by pid), remove its dir
#   tools/cluster.sh status    what is running
#   tools/cluster.sh register | unregister   the webhook configurations only
#   tools/cluster.sh webhook-stop | webhook-start   the gwhook process only
#   tools/cluster.sh apiserver-restart   stop kube-apiserver (by pid) and start
#                       it again, same arguments and port; waits for /readyz
#
# Environment (all optional):
#   CLUSTER_DIR         state directory (default build/cluster)
#   GATEWAY_API_VERSION sigs.k8s.io/gateway-api release whose CRDs are
#                       installed (default: the version pinned in
#                       tests/oracle/go.mod; v1.2.1 is also known)
#   GATEWAY_API_CHANNEL standard (default) or experimental
#   WEBHOOK             1 (default) start and register gwhook; 0 = no webhook
#   GWHOOK_FLAGS        extra flags for `gwhook serve` (e.g. --strict)
#   GWHOOK              the gwhook binary (default build/gwhook)
#   CLUSTER_KEEP_LOGS   1: `down` moves the logs to CLUSTER_DIR.logs
#   CONTROLLER_MANAGER  1: also run kube-controller-manager (Deployments make
#                       Pods, EndpointSlices follow Services, namespaces finish
#                       terminating, service accounts get created)
#   NODE_AGENT          1: also run the node agent (implies CONTROLLER_MANAGER=1;
#                       needs root): Pods are bound to Node gatecheck-node and
#                       run as echo-basic processes, one network namespace each,
#                       and become Ready with their own IP (docs/CLUSTER.md)
#   NODEAGENT           the node agent binary (default build/nodeagent)
#   POD_CIDR            the Pods' addresses (default 10.244.0.0/24)
#   BRIDGE              the host bridge the Pods hang on (default gcbr0)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

DIR=${CLUSTER_DIR:-build/cluster}
case $DIR in /*) ;; *) DIR="$top/$DIR" ;; esac
CHANNEL=${GATEWAY_API_CHANNEL:-standard}
WEBHOOK=${WEBHOOK:-1}
GWHOOK=${GWHOOK:-$top/build/gwhook}
NODE_AGENT=${NODE_AGENT:-0}
NODEAGENT=${NODEAGENT:-$top/build/nodeagent}
POD_CIDR=${POD_CIDR:-10.244.0.0/24}
BRIDGE=${BRIDGE:-gcbr0}
[ "$NODE_AGENT" = 1 ] && CONTROLLER_MANAGER=1
export PATH="$PATH:/usr/local/go/bin"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

say() { echo "cluster: $*" >&2; }
die() {
    echo "cluster: error: $*" >&2
    exit 2
}

# sums of the gateway-api module versions that may be installed besides the
# pinned one (checked against what the module proxy serves)
known_sum() {
    case $1 in
        v1.2.1) echo "h1:fZZ/+RyRb+Y5tGkwxFKuYuSRQHu9dZtbjenblleOLHM=" ;;
        *) echo "" ;;
    esac
}

# crd_dir VERSION: the config/crd/CHANNEL directory of that module version
crd_dir() {
    v=$1
    if [ -z "$v" ]; then
        d=$(cd tests/oracle && go mod download sigs.k8s.io/gateway-api >/dev/null 2>&1 &&
            go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api) ||
            die "cannot find sigs.k8s.io/gateway-api in the Go module cache (tests/oracle/go.mod pins it); the Go module proxy must be reachable"
    else
        want=$(known_sum "$v")
        [ -n "$want" ] || die "GATEWAY_API_VERSION=$v is not one this script knows (add its sum to known_sum in tools/cluster.sh)"
        json=$(cd /tmp && go mod download -json "sigs.k8s.io/gateway-api@$v") ||
            die "cannot download sigs.k8s.io/gateway-api@$v from the Go module proxy"
        got=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])')
        [ "$got" = "$want" ] || die "sigs.k8s.io/gateway-api@$v has sum $got, expected $want"
        d=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    fi
    [ -d "$d/config/crd/$CHANNEL" ] || die "no config/crd/$CHANNEL in $d"
    echo "$d/config/crd/$CHANNEL"
}

# free_port START: the first TCP port from START up that nothing listens on
free_port() {
    p=$1
    used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while printf '%s\n' $used | grep -qx "$p" || grep -qx "$p" "$DIR/ports.taken" 2>/dev/null; do
        p=$((p + 1))
    done
    echo "$p" >> "$DIR/ports.taken"
    echo "$p"
}

# start NAME LOG CMD...: run CMD in the background in its own session
start() {
    name=$1
    log=$2
    shift 2
    setsid "$@" >> "$log" 2>&1 < /dev/null &
    echo $! > "$DIR/$name.pid"
}

# wait_http NAME URL [CURL-ARGS...]: until URL answers 200, 60 s at most
wait_http() {
    name=$1
    url=$2
    shift 2
    i=0
    while ! curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; do
        pid=$(cat "$DIR/$name.pid" 2>/dev/null || echo)
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            echo "cluster: $name exited; the end of its log ($DIR/logs/$name.log):" >&2
            tail -20 "$DIR/logs/$name.log" >&2
            exit 1
        fi
        i=$((i + 1))
        [ $i -lt 240 ] || {
            tail -20 "$DIR/logs/$name.log" >&2
            die "$name did not become ready at $url within 60 s"
        }
        sleep 0.25
    done
}

api() { # api METHOD PATH [CURL-ARGS...]: a request as the admin
    m=$1
    p=$2
    shift 2
    curl -sS --max-time 30 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" \
        --key "$DIR/pki/admin.key" -X "$m" "$@" "$(cat "$DIR/apiserver.url")$p"
}

# apply FILE: server-side apply of every document of a YAML file
apply() {
    python3 - "$1" << 'EOF' | while IFS='	' read -r path doc; do
import json, sys, yaml
plural = {"CustomResourceDefinition": "customresourcedefinitions",
          "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
          "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
          "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
          "MutatingWebhookConfiguration": "mutatingwebhookconfigurations",
          "Namespace": "namespaces"}
with open(sys.argv[1]) as f:
    for d in yaml.safe_load_all(f):
        if not d:
            continue
        g = d["apiVersion"]
        base = "/api/" + g if "/" not in g else "/apis/" + g
        print(base + "/" + plural[d["kind"]] + "/" + d["metadata"]["name"] + "\t" + json.dumps(d))
EOF
        out=$(printf '%s' "$doc" | api PATCH "$path?fieldManager=gatecheck-cluster&force=true" \
            -H 'Content-Type: application/apply-patch+yaml' --data-binary @- -w '\n%{http_code}')
        code=$(printf '%s' "$out" | tail -1)
        case $code in
            2??) ;;
            *)
                printf '%s\n' "$out" >&2
                die "applying $path from $1 failed (HTTP $code)"
                ;;
        esac
    done
}

gen_pki() {
    pki=$DIR/pki
    mkdir -p "$pki"
    chmod 700 "$pki"
    o() { openssl "$@" 2> "$pki/openssl.err" || {
        cat "$pki/openssl.err" >&2
        die "openssl $1 failed"
    }; }
    o ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key"
    o req -x509 -new -key "$pki/ca.key" -subj "/CN=gatecheck-local-ca" -days 30 -out "$pki/ca.crt"
    # serving certificate of kube-apiserver
    o ecparam -name prime256v1 -genkey -noout -out "$pki/apiserver.key"
    o req -new -key "$pki/apiserver.key" -subj "/CN=kube-apiserver" -out "$pki/apiserver.csr"
    printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' > "$pki/apiserver.ext"
    o x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
        -days 30 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt"
    # the admin's client certificate (group system:masters)
    o ecparam -name prime256v1 -genkey -noout -out "$pki/admin.key"
    o req -new -key "$pki/admin.key" -subj "/O=system:masters/CN=gatecheck-admin" -out "$pki/admin.csr"
    printf 'extendedKeyUsage=clientAuth\n' > "$pki/client.ext"
    o x509 -req -in "$pki/admin.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
        -days 30 -extfile "$pki/client.ext" -out "$pki/admin.crt"
    # service-account token signing key
    o ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key"
    o ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
    # a bearer token for tests of token authentication (static token file)
    tok=$(openssl rand -hex 24)
    echo "$tok" > "$pki/token"
    echo "$tok,gatecheck-token-user,gatecheck-token-user,system:masters" > "$pki/tokens.csv"
    rm -f "$pki"/*.csr "$pki"/*.srl "$pki/openssl.err"
}

write_kubeconfig() {
    b64() { base64 -w0 < "$1"; }
    cat > "$DIR/kubeconfig" << EOF
apiVersion: v1
kind: Config
clusters:
- name: gatecheck-local
  cluster:
    server: $(cat "$DIR/apiserver.url")
    certificate-authority-data: $(b64 "$DIR/pki/ca.crt")
users:
- name: gatecheck-admin
  user:
    client-certificate-data: $(b64 "$DIR/pki/admin.crt")
    client-key-data: $(b64 "$DIR/pki/admin.key")
- name: gatecheck-token
  user:
    token: $(cat "$DIR/pki/token")
contexts:
- name: gatecheck-local
  context:
    cluster: gatecheck-local
    user: gatecheck-admin
    namespace: default
- name: gatecheck-local-token
  context:
    cluster: gatecheck-local
    user: gatecheck-token
    namespace: default
current-context: gatecheck-local
EOF
    chmod 600 "$DIR/kubeconfig"
}

install_crds() {
    crds=$(crd_dir "${GATEWAY_API_VERSION:-}")
    say "installing the Gateway API CRDs from $crds"
    for f in "$crds"/*.yaml; do
        case ${f##*/} in kustomization.yaml) continue ;; esac
        apply "$f"
    done
    # wait until every CRD is Established
    i=0
    while :; do
        pending=$(api GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions | python3 -c '
import json, sys
items = json.load(sys.stdin).get("items", [])
print(" ".join(c["metadata"]["name"] for c in items
      if not any(x["type"] == "Established" and x["status"] == "True"
                 for x in c.get("status", {}).get("conditions", []))))')
        [ -z "$pending" ] && break
        i=$((i + 1))
        [ $i -lt 120 ] || die "CRDs not Established after 60 s: $pending"
        sleep 0.5
    done
    ver=$(sed -n 's/.*gateway.networking.k8s.io\/bundle-version: *//p' "$crds/gateway.networking.k8s.io_httproutes.yaml" | head -1)
    echo "$ver $CHANNEL" > "$DIR/crds"
    say "CRDs established (bundle $ver, $CHANNEL channel)"
}

webhook_start() {
    [ -x "$GWHOOK" ] || die "$GWHOOK not found: run make first"
    wport=$(cat "$DIR/webhook.port")
    pport=$(cat "$DIR/webhook.probe-port")
    "$GWHOOK" certs --out-dir "$DIR/webhook" --ip 127.0.0.1 --dns localhost > /dev/null
    # shellcheck disable=SC2086
    start gwhook "$DIR/logs/gwhook.log" "$GWHOOK" serve --bind 127.0.0.1 --cert-dir "$DIR/webhook" \
        --port "$wport" --probe-port "$pport" --metrics-port "$pport" \
        --shutdown-delay 0 --grace 5 --channel "$CHANNEL" --kubeconfig "$DIR/kubeconfig" \
        ${GWHOOK_FLAGS:-}
    wait_http gwhook "http://127.0.0.1:$pport/readyz"
    [ -f "$DIR/registered" ] && wait_called
    say "gwhook serving on https://127.0.0.1:$wport (probes and /metrics on :$pport)"
}

webhook_stop() {
    stop_pid gwhook
}

# register: the webhook configurations of deploy/webhook, pointed at the
# local gwhook by URL with its CA as caBundle
register() {
    wport=$(cat "$DIR/webhook.port")
    python3 - deploy/webhook/webhook-configurations.yaml "https://127.0.0.1:$wport" \
        "$DIR/webhook/ca.crt" > "$DIR/webhook-configurations.yaml" << 'EOF'
import base64, sys, yaml
src, base, ca = sys.argv[1:4]
docs = [d for d in yaml.safe_load_all(open(src)) if d]
ca = base64.b64encode(open(ca, "rb").read()).decode()
for d in docs:
    for w in d["webhooks"]:
        svc = w["clientConfig"].pop("service")
        w["clientConfig"] = {"url": base + svc["path"], "caBundle": ca}
print(yaml.safe_dump_all(docs, sort_keys=False))
EOF
    apply "$DIR/webhook-configurations.yaml"
    : > "$DIR/registered"
    wait_called
    say "webhook registered: validating (failurePolicy Fail) and mutating (Ignore), by URL"
}

# wait_called: the API server's webhook client picks configurations up
# asynchronously; wait until a request reaches gwhook (a dry-run create of a
# GatewayClass, admitted)
wait_called() {
    pport=$(cat "$DIR/webhook.probe-port")
    calls() {
        curl -s "http://127.0.0.1:$pport/metrics" |
            awk '/^controller_runtime_webhook_requests_total/ {s += $2} END {print s + 0}'
    }
    before=$(calls)
    i=0
    while :; do
        api POST '/apis/gateway.networking.k8s.io/v1/gatewayclasses?dryRun=All' -o /dev/null \
            -H 'Content-Type: application/json' \
            -d '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"gatecheck-registration-probe"},"spec":{"controllerName":"gatecheck.dev/probe"}}'
        [ "$(calls)" -gt "$before" ] && break
        i=$((i + 1))
        [ $i -lt 60 ] || die "the API server does not call the webhook after 30 s (see $DIR/logs)"
        sleep 0.5
    done
}

unregister() {
    rm -f "$DIR/registered"
    for k in validatingwebhookconfigurations mutatingwebhookconfigurations; do
        api DELETE "/apis/admissionregistration.k8s.io/v1/$k/gatecheck" -o /dev/null
    done
    say "webhook configurations removed"
}

# nodeagent_start: the node agent, once the controller manager runs; waits
# until its Node is Ready
nodeagent_start() {
    say "node agent: Pods on $BRIDGE, addresses of $POD_CIDR"
    echo "$POD_CIDR" > "$DIR/pod-cidr"
    start nodeagent "$DIR/logs/nodeagent.log" "$NODEAGENT" --kubeconfig "$DIR/kubeconfig" \
        --echo-bin "$(cat "$DIR/echo-bin")" --pod-cidr "$POD_CIDR" --bridge "$BRIDGE" \
        --state-dir "$DIR/nodeagent"
    i=0
    until api GET /api/v1/nodes/gatecheck-node 2> /dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(c["type"] == "Ready" and c["status"] == "True"
                  for c in d.get("status", {}).get("conditions", [])) else 1)' 2> /dev/null; do
        if ! kill -0 "$(cat "$DIR/nodeagent.pid")" 2> /dev/null; then
            tail -20 "$DIR/logs/nodeagent.log" >&2
            die "the node agent exited (log: $DIR/logs/nodeagent.log)"
        fi
        i=$((i + 1))
        [ $i -lt 120 ] || die "Node gatecheck-node not Ready after 30 s (log: $DIR/logs/nodeagent.log)"
        sleep 0.25
    done
}

# nodeagent_cleanup: remove what a node agent that did not stop cleanly left
# on the host, as listed in its state file (tests/fixtures/nodeagent/state.c)
nodeagent_cleanup() {
    st=$DIR/nodeagent/state
    [ -f "$st" ] || return 0
    say "removing the network namespaces, veths and bridge the node agent left"
    echo_bin=
    while read -r kind rest; do
        case $kind in
            echo) echo_bin=$rest ;;
            pod)
                # shellcheck disable=SC2086
                set -- $rest
                case "$1 $2" in gcpod-*" "gcv*) ;; *) continue ;; esac
                if [ "${3:-0}" -gt 0 ] && [ "$(readlink "/proc/$3/exe" 2> /dev/null)" = "$echo_bin" ]; then
                    kill -KILL "$3" 2> /dev/null || true
                fi
                ip link del "$2" 2> /dev/null || true
                ip netns del "$1" 2> /dev/null || true
                ;;
            bridge) ip link del "$rest" 2> /dev/null || true ;;
        esac
    done < "$st"
    rm -f "$st"
}

stop_pid() {
    f="$DIR/$1.pid"
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

# apiserver_start: kube-apiserver on the port of apiserver.url with the etcd
# of etcd.url (both written by up); waits for /readyz
apiserver_start() {
    bin=$(cat "$DIR/bin")
    aport=$(sed 's/.*://' "$DIR/apiserver.url")
    start apiserver "$DIR/logs/apiserver.log" "$bin/kube-apiserver" \
        --etcd-servers "$(cat "$DIR/etcd.url")" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$aport" \
        --cert-dir "$DIR/pki" --tls-cert-file "$DIR/pki/apiserver.crt" \
        --tls-private-key-file "$DIR/pki/apiserver.key" \
        --client-ca-file "$DIR/pki/ca.crt" --token-auth-file "$DIR/pki/tokens.csv" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$DIR/pki/sa.pub" \
        --service-account-signing-key-file "$DIR/pki/sa.key" \
        --service-cluster-ip-range 10.96.0.0/16 \
        --authorization-mode RBAC --allow-privileged=true --endpoint-reconciler-type none \
        --disable-admission-plugins ServiceAccount \
        --profiling=false --v=1
    wait_http apiserver "$(cat "$DIR/apiserver.url")/readyz" --cacert "$DIR/pki/ca.crt" \
        --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key"
}

# apiserver_restart: stop kube-apiserver by pid and start it again as up did
# (open watches break; clients reconnect to the same URL)
apiserver_restart() {
    [ -f "$DIR/apiserver.pid" ] || die "no kube-apiserver recorded in $DIR: tools/cluster.sh up first"
    [ -f "$DIR/etcd.url" ] || die "$DIR has no etcd.url (started by an older cluster.sh): down, then up"
    say "restarting kube-apiserver"
    stop_pid apiserver
    apiserver_start
    say "kube-apiserver ready again on $(cat "$DIR/apiserver.url")"
}

up() {
    if [ -f "$DIR/apiserver.pid" ] && kill -0 "$(cat "$DIR/apiserver.pid")" 2>/dev/null; then
        say "already running ($DIR); tools/cluster.sh down first to restart"
        echo "KUBECONFIG=$DIR/kubeconfig"
        return 0
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR/logs"
    command -v openssl > /dev/null || die "openssl not found: apt-get install openssl (or make deps)"
    command -v python3 > /dev/null || die "python3 not found: apt-get install python3 python3-yaml (or make deps)"
    python3 -c 'import yaml' 2> /dev/null || die "python3-yaml not found: apt-get install python3-yaml (or make deps)"
    say "building (or reusing) kube-apiserver, kube-controller-manager and etcd"
    bin=$(tools/cluster-build.sh) || exit $?
    echo "$bin" > "$DIR/bin"
    if [ "$NODE_AGENT" = 1 ]; then
        [ "$(id -u)" = 0 ] || die "NODE_AGENT=1 needs root (network namespaces, veths, a bridge)"
        [ -x "$NODEAGENT" ] || die "$NODEAGENT not found: run make fixtures first"
        command -v ip > /dev/null || die "ip not found: apt-get install iproute2"
        say "building (or reusing) echo-basic"
        tools/echo-build.sh > "$DIR/echo-bin" || exit $?
    fi
    say "certificates"
    gen_pki

    eport=$(free_port 23790)
    epeer=$(free_port 23800)
    aport=$(free_port 26443)
    free_port 29443 > "$DIR/webhook.port"
    free_port 28081 > "$DIR/webhook.probe-port"
    echo "https://127.0.0.1:$aport" > "$DIR/apiserver.url"

    say "etcd on 127.0.0.1:$eport"
    start etcd "$DIR/logs/etcd.log" "$bin/etcd" --name gatecheck --data-dir "$DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$eport" --advertise-client-urls "http://127.0.0.1:$eport" \
        --listen-peer-urls "http://127.0.0.1:$epeer" --initial-advertise-peer-urls "http://127.0.0.1:$epeer" \
        --initial-cluster "gatecheck=http://127.0.0.1:$epeer" --log-level warn \
        --unsafe-no-fsync --quota-backend-bytes 2147483648
    wait_http etcd "http://127.0.0.1:$eport/health"

    say "kube-apiserver on https://127.0.0.1:$aport"
    echo "http://127.0.0.1:$eport" > "$DIR/etcd.url"
    apiserver_start
    write_kubeconfig
    say "kube-apiserver ready; admin kubeconfig $DIR/kubeconfig"

    if [ "${CONTROLLER_MANAGER:-0}" = 1 ]; then
        cport=$(free_port 30257)
        say "kube-controller-manager (health on 127.0.0.1:$cport)"
        start controller-manager "$DIR/logs/controller-manager.log" "$bin/kube-controller-manager" \
            --kubeconfig "$DIR/kubeconfig" --authentication-kubeconfig "$DIR/kubeconfig" \
            --authorization-kubeconfig "$DIR/kubeconfig" \
            --bind-address 127.0.0.1 --secure-port "$cport" --cert-dir "$DIR/pki/kcm" \
            --service-account-private-key-file "$DIR/pki/sa.key" \
            --root-ca-file "$DIR/pki/ca.crt" --leader-elect=false \
            --use-service-account-credentials=false --controllers '*' \
            --cluster-cidr 10.244.0.0/16 --service-cluster-ip-range 10.96.0.0/16 \
            --profiling=false --v=1
        wait_http controller-manager "https://127.0.0.1:$cport/healthz" -k
    fi
    [ "$NODE_AGENT" = 1 ] && nodeagent_start
    install_crds
    if [ "$WEBHOOK" = 1 ]; then
        webhook_start
        register
    fi
    say "up. Stop it with: make cluster-down"
    echo "KUBECONFIG=$DIR/kubeconfig"
}

down() {
    [ -d "$DIR" ] || {
        say "nothing to stop ($DIR does not exist)"
        return 0
    }
    # the node agent first, while the API server can still hear it go
    for n in nodeagent gwhook apiserver etcd; do
        stop_pid "$n"
    done
    # anything else that recorded a pid here (controller-manager, agents)
    for f in "$DIR"/*.pid; do
        [ -f "$f" ] || continue
        n=${f##*/}
        stop_pid "${n%.pid}"
    done
    nodeagent_cleanup
    if [ "${CLUSTER_KEEP_LOGS:-0}" = 1 ]; then
        [ -d "$DIR/nodeagent/logs" ] && mv "$DIR/nodeagent/logs" "$DIR/logs/pods"
        rm -rf "$DIR.logs"
        mv "$DIR/logs" "$DIR.logs"
        say "logs kept in $DIR.logs"
    fi
    rm -rf "$DIR"
    say "stopped; $DIR removed"
}

status() {
    [ -d "$DIR" ] || {
        echo "not running"
        return 1
    }
    rc=0
    for f in "$DIR"/*.pid; do
        [ -f "$f" ] || continue
        n=${f##*/}
        if kill -0 "$(cat "$f")" 2>/dev/null; then
            echo "${n%.pid}: running (pid $(cat "$f"))"
        else
            echo "${n%.pid}: not running"
            rc=1
        fi
    done
    [ -f "$DIR/crds" ] && echo "crds: $(cat "$DIR/crds")"
    echo "KUBECONFIG=$DIR/kubeconfig"
    return $rc
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    register) register ;;
    unregister) unregister ;;
    webhook-start) webhook_start ;;
    webhook-stop) webhook_stop ;;
    apiserver-restart) apiserver_restart ;;
    *)
        echo "usage: tools/cluster.sh up|down|status|register|unregister|webhook-start|webhook-stop|apiserver-restart" >&2
        exit 2
        ;;
esac

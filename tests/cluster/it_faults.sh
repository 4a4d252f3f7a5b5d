#!/bin/sh
# Runner faults (issue 9; docs/RELIABILITY.md "Runner faults"): gwconform
# against the real kube-apiserver of tools/cluster-tests.sh, with the
# scenarios of tests/data/scenario/faults/ and this test playing the gateway
# controller (an Accepted GatewayClass, Gateways whose status.addresses point
# at HTTP servers started here on 127.0.0.1, stand-in Pods for the base
# namespaces):
#   a. the API server restarts in the middle of a scenario: the run
#      completes and its reports say which requests were retried and why;
#   b. a gateway answering 503, one that never answers, a closed port: each
#      case fails in bounded time with a reason that says which;
#   c. SIGTERM in the middle of a scenario: the running case is an error
#      "interrupted by SIGTERM", the scenarios not started are skipped, the
#      reports are written, what the run created is deleted, exit 1;
#   d. a second SIGTERM exits at once with 143;
#   e. SIGINT during the setup: exit 2, and the reports say no scenario ran.
# TAP on stdout. Needs python3 (tools/cluster.sh needs it too). KEEP=DIR
# keeps the runs' output and reports there.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh
. tests/cluster/lib.sh

D=${GATECHECK_CLUSTER_DIR:?run by tools/cluster-tests.sh}
GC=${GWCONFORM:-build/san/gwconform}
KC=$D/kubeconfig
CLASS=gatecheck-faults
DATA=tests/data/scenario/faults
GWAPI=/apis/gateway.networking.k8s.io/v1
INFRA=gateway-conformance-infra
NAMESPACES="gateway-conformance-infra gateway-conformance-app-backend gateway-conformance-web-backend gateway-conformance-faults-signal"
tmp=$(mktemp -d)
servers=""
gc_pid=""

# On exit: the servers and a run still going stopped, what the runs and this
# test made deleted, and waited for (the next suites create these namespaces).
cleanup() {
    for p in $servers; do kill "$p" 2> /dev/null; done
    [ -n "$gc_pid" ] && kill -KILL "$gc_pid" 2> /dev/null
    for ns in $NAMESPACES; do api DELETE "/api/v1/namespaces/$ns" -o /dev/null 2> /dev/null; done
    api DELETE "$GWAPI/gatewayclasses/$CLASS" -o /dev/null 2> /dev/null
    api DELETE "$GWAPI/gatewayclasses/$CLASS-unaccepted" -o /dev/null 2> /dev/null
    for ns in $NAMESPACES; do
        gone "/api/v1/namespaces/$ns" 60 || echo "# namespace $ns is still there after a minute"
    done
    [ -n "${KEEP:-}" ] && cp -r "$tmp" "$KEEP"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# le A B: A <= B, as decimals
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# status PATH: the HTTP status of a GET
status() { api GET "$1" -o /dev/null -w '%{http_code}'; }

# post PATH JSON / merge PATH JSON: create an object, merge-patch one (status included)
post() { api POST "$1" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$2"; }
merge() { api PATCH "$1" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/merge-patch+json' -d "$2"; }

# gone PATH SECONDS: wait until GET PATH is 404
gone() {
    i=0
    while [ "$(status "$1")" != 404 ] && [ $i -lt $(($2 * 2)) ]; do
        sleep 0.5
        i=$((i + 1))
    done
    [ "$(status "$1")" = 404 ]
}

# wait_for FILE REGEX SECONDS: until FILE has a line matching REGEX
wait_for() {
    i=0
    while ! grep -qE "$2" "$1" 2> /dev/null && [ $i -lt $(($3 * 10)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    grep -qE "$2" "$1" 2> /dev/null
}

cond() {
    printf '{"type":"%s","status":"True","reason":"%s","message":"set by it_faults.sh","lastTransitionTime":"2025-01-01T00:00:00Z","observedGeneration":1}' "$1" "$1"
}

# gateway NAME PORT: a Gateway of the test's class that the base readiness check skips
gateway() {
    post "$GWAPI/namespaces/$INFRA/gateways" "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":\"$1\",\"annotations\":{\"gateway-api/skip-this-for-readiness\":\"true\"}},\"spec\":{\"gatewayClassName\":\"$CLASS\",\"listeners\":[{\"name\":\"http\",\"port\":$2,\"protocol\":\"HTTP\"}]}}" > /dev/null
}

# address NAME: as a controller would, Accepted and Programmed with address 127.0.0.1
address() {
    merge "$GWAPI/namespaces/$INFRA/gateways/$1/status" "{\"status\":{\"addresses\":[{\"type\":\"IPAddress\",\"value\":\"127.0.0.1\"}],\"conditions\":[$(cond Accepted),$(cond Programmed)]}}"
}

# The HTTP servers: echo (echo-basic's JSON), 503 (always), hang (accepts, never answers).
# Each writes its port to a file and stops by itself after 10 minutes.
cat > "$tmp/gw.py" << 'EOF'
import http.server, json, os, socketserver, sys, threading, time

mode, portfile = sys.argv[1], sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if mode == "hang":
            time.sleep(30)
            return
        if mode == "503":
            body, code, ctype = b"unavailable\n", 503, "text/plain"
        else:
            headers = {}
            for k, v in self.headers.items():
                headers.setdefault(k, []).append(v)
            body = json.dumps({"path": self.path, "host": self.headers.get("Host", ""),
                               "method": self.command, "proto": self.request_version,
                               "headers": headers, "namespace": "gateway-conformance-infra",
                               "ingress": "", "service": "", "pod": "faults-echo"}).encode()
            code, ctype = 200, "application/json"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

server = Server(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
threading.Timer(600, lambda: os._exit(0)).start()
server.serve_forever()
EOF

for m in echo 503 hang; do
    python3 "$tmp/gw.py" "$m" "$tmp/port.$m" > "$tmp/server.$m.log" 2>&1 &
    servers="$servers $!"
done
for m in echo 503 hang; do
    wait_for "$tmp/port.$m" '^[0-9]+$' 10 || echo "# the $m server did not start"
done
# a port nothing listens on
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# prepare: what a gateway controller and the kubelet would have made
prepare() {
    for ns in $NAMESPACES; do gone "/api/v1/namespaces/$ns" 60 || echo "# namespace $ns is still there"; done
    post "$GWAPI/gatewayclasses" "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\",\"metadata\":{\"name\":\"$CLASS\"},\"spec\":{\"controllerName\":\"gatecheck.dev/it-faults\"}}" > /dev/null
    merge "$GWAPI/gatewayclasses/$CLASS/status" "{\"status\":{\"conditions\":[$(cond Accepted)]}}" > /dev/null
    for ns in gateway-conformance-infra gateway-conformance-app-backend gateway-conformance-web-backend; do
        post /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" > /dev/null
        post "/api/v1/namespaces/$ns/pods" '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"faults-ready"},"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"faults"}]}}' > /dev/null
        merge "/api/v1/namespaces/$ns/pods/faults-ready/status" '{"status":{"phase":"Succeeded"}}' > /dev/null
    done
    gateway faults-restart "$(cat "$tmp/port.echo")"
    gateway faults-503 "$(cat "$tmp/port.503")"
    gateway faults-hang "$(cat "$tmp/port.hang")"
    gateway faults-refused "$closed"
    for g in faults-503 faults-hang faults-refused; do address "$g" > /dev/null; done
}

# start NAME ARGS...: gwconform run in the background; $tmp/NAME.out, .err, reports in $tmp/NAME/
start() {
    name=$1
    shift
    "$GC" run --kubeconfig "$KC" --gateway-class "$CLASS" --supported-features Gateway,HTTPRoute \
        --scenarios "$DATA" --base "$DATA/base" --report-dir "$tmp/$name" "$@" \
        > "$tmp/$name.out" 2> "$tmp/$name.err" &
    gc_pid=$!
    t_start=$(now)
}

# finish SECONDS: wait for the run at most that long (then kill it: rc 137); rc, took
finish() {
    i=0
    while kill -0 "$gc_pid" 2> /dev/null && [ $i -lt $(($1 * 10)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$gc_pid" 2> /dev/null; then
        kill -KILL "$gc_pid"
        wait "$gc_pid"
        rc=137
    else
        wait "$gc_pid"
        rc=$?
    fi
    gc_pid=""
    took=$(since "$t_start")
    cp "$tmp/$name.out" "$tmp/out"
    cp "$tmp/$name.err" "$tmp/err"
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/err"; then
        notok "$name: sanitizer report"
        diag "$tmp/err"
    fi
}

# junit NAME: the run's junit_01.xml
junit() { cat "$tmp/$1/junit_01.xml" 2> /dev/null; }

prepare

# ---- a. the API server restarts while a scenario waits ------------------------
start a --skip-tests FaultsGateway,FaultsSignal,FaultsTail --cleanup-base-resources=false \
    --timeout-config-overrides 'APIServerRetryTimeout:120;MaxTimeToConsistency:10'
if wait_for "$tmp/a.out" '^\[ *[0-9.]+s\] FaultsApiRestart: ' 120 && sleep 1; then
    t_restart=$(now)
    CLUSTER_DIR=$D tools/cluster.sh apiserver-restart > "$tmp/restart.log" 2>&1
    restart_rc=$?
    echo "# the API server was away for $(since "$t_restart") s (apiserver-restart exit $restart_rc)"
    address faults-restart > /dev/null
else
    echo "# FaultsApiRestart did not start"
fi
finish 240
echo "# run a: exit $rc in $took s"
check "a: the run completes across an API server restart: exit 0, both scenarios pass" sh -c "[ $rc -eq 0 ] &&
  grep -qE '^FaultsApiRestart +PASS' '$tmp/a.out' && grep -qE '^FaultsApiSteady +PASS' '$tmp/a.out'"
check "a: stdout says which requests were retried and why" grep -qE '^runner faults: API server: [1-9][0-9]* requests? retried [1-9][0-9]* times? in [0-9.]+ s \(.*connection refused x[0-9]+' "$tmp/a.out"
check "a: ... and names the scenario" grep -qE '^  FaultsApiRestart: API server: [1-9]' "$tmp/a.out"
check "a: a progress line names the request being retried and why" grep -qE 'API server: get Gateway gateway-conformance-infra/faults-restart: [a-z ]+ \(.+\); retrying for up to 120 s' "$tmp/a.out"
check "a: JUnit: the case's runnerFaults property and system-out say what failed and how it ended" sh -c "
  grep -q '<property name=\"runnerFaults\" value=\"API server: [1-9][0-9]* request' '$tmp/a/junit_01.xml' &&
  grep -q 'connection refused x[0-9]*; answered after [0-9]* retries in' '$tmp/a/junit_01.xml'"
check "a: JUnit: the suite's properties and system-out hold the run's line" sh -c "
  grep -q '<property name=\"runnerFaults\" value=\"API server:' '$tmp/a/junit_01.xml' &&
  grep -q 'runner faults (the whole run): API server:' '$tmp/a/junit_01.xml'"
if command -v xmllint > /dev/null 2>&1; then
    check "a: junit_01.xml is valid against tests/conformance/junit.xsd" sh -c "xmllint --noout --schema tests/conformance/junit.xsd '$tmp/a/junit_01.xml' 2> '$tmp/xmllint.err'"
fi
check "a: the ConformanceReport is written" test -s "$tmp/a/conformance-report.yaml"
left=$(status "/api/v1/namespaces/$INFRA/configmaps/faults-restart-after")
check "a: the objects the scenario created after the restart were deleted" [ "$left" = 404 ]

# ---- b. a gateway that answers 503, one that hangs, a closed port -------------
start b --skip-tests FaultsApiRestart,FaultsApiSteady,FaultsSignal,FaultsTail \
    --cleanup-base-resources=false --timeout-config-overrides 'MaxTimeToConsistency:6;RequestTimeout:2'
finish 120
echo "# run b: exit $rc in $took s"
secs=$(awk '$1 == "FaultsGateway" && $2 == "FAIL" { print $3 }' "$tmp/b.out")
echo "# FaultsGateway took ${secs:-?} s (MaxTimeToConsistency 6 s, RequestTimeout 2 s)"
check "b: exit 1, FaultsGateway fails" sh -c "[ $rc -eq 1 ] && [ -n '$secs' ]"
check "b: bounded: the three cases, side by side, within MaxTimeToConsistency + RequestTimeout + 3 s" le "${secs:-999}" 11
check "b: the 503 case says the gateway returned 503 on every attempt" grep -qE 'message="gateway returned 503 on every attempt \([0-9]+ attempts in [67] s\); last attempt: expected status code to be one of \[200\], got 503' "$tmp/b/junit_01.xml"
check "b: the hanging case says the gateway did not answer within 2 s" grep -qE 'message="gateway did not answer within 2 s on [1-4] attempts? \(every attempt, [6-9] s\)' "$tmp/b/junit_01.xml"
check "b: the closed port says connection refused on every attempt" grep -qE 'message="connection refused on every attempt \([0-9]+ attempts in [67] s\)' "$tmp/b/junit_01.xml"
check "b: stdout counts the gateway's faults of the scenario" grep -qE '^  FaultsGateway: gateway: [0-9]+ attempts, [0-9]+ answered 503, [1-4] timed out, [0-9]+ connection refused$' "$tmp/b.out"

# ---- c. SIGTERM in the middle of a scenario -------------------------------------
start c --skip-tests FaultsApiRestart,FaultsGateway --cleanup-base-resources=true
if wait_for "$tmp/c.out" '^\[ *[0-9.]+s\] FaultsSignal: ' 120 && sleep 1; then
    kill -TERM "$gc_pid"
    t_start=$(now)
fi
finish 120
echo "# run c: exit $rc $took s after SIGTERM"
check "c: SIGTERM: exit 1 (documented), says so on stderr" sh -c "[ $rc -eq 1 ] &&
  grep -q 'gwconform: stopping: no new scenario' '$tmp/c.err' && grep -q 'gwconform: interrupted by SIGTERM' '$tmp/c.err'"
check "c: the reports are written" sh -c "test -s '$tmp/c/junit_01.xml' && test -s '$tmp/c/conformance-report.yaml'"
check "c: the scenario before the signal passed" grep -qE '^FaultsApiSteady +PASS' "$tmp/c.out"
check "c: the ConformanceReport still decodes with upstream's type, byte for byte (tools/check-report.sh)" \
    sh -c "tools/check-report.sh -q '$tmp/c/conformance-report.yaml' > '$tmp/check-report.out' 2>&1"
check "c: the running case is an error 'interrupted by SIGTERM'" grep -q '<error message="interrupted by SIGTERM" type="Error">' "$tmp/c/junit_01.xml"
check "c: the scenario's next case and the next scenario are skipped, not run" sh -c "
  grep -q 'name=\"FaultsSignal/a request after the wait\"' '$tmp/c/junit_01.xml' &&
  [ \$(grep -c '<skipped message=\"not run: interrupted by SIGTERM\"' '$tmp/c/junit_01.xml') -eq 2 ]"
check "c: the JUnit suite records the signal" grep -q '<property name="interruptedBy" value="SIGTERM"/>' "$tmp/c/junit_01.xml"
check "c: the scenario's namespace was deleted" gone /api/v1/namespaces/gateway-conformance-faults-signal 5
left=""
for ns in gateway-conformance-infra gateway-conformance-app-backend gateway-conformance-web-backend; do
    [ "$(status "/api/v1/namespaces/$ns")" = 404 ] || left="$left $ns"
done
check "c: the base namespaces were deleted${left:+ (left:$left)}" [ -z "$left" ]

# ---- d. a second signal -----------------------------------------------------------
prepare
start d --skip-tests FaultsApiRestart,FaultsApiSteady,FaultsGateway,FaultsTail
if wait_for "$tmp/d.out" '^\[ *[0-9.]+s\] FaultsSignal: ' 120 && sleep 1; then
    kill -TERM "$gc_pid"
    sleep 0.3
    kill -TERM "$gc_pid"
    t_start=$(now)
fi
finish 30
echo "# run d: exit $rc $took s after the second SIGTERM"
check "d: a second SIGTERM exits at once with 143" sh -c "[ $rc -eq 143 ] && grep -q 'second signal: exiting now' '$tmp/d.err'"
check "d: ... within 2 s" le "$took" 2

# ---- e. a signal during the setup -------------------------------------------------
post "$GWAPI/gatewayclasses" "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\",\"metadata\":{\"name\":\"$CLASS-unaccepted\"},\"spec\":{\"controllerName\":\"gatecheck.dev/nobody\"}}" > /dev/null
start e --gateway-class "$CLASS-unaccepted"
if wait_for "$tmp/e.out" 'waiting for GatewayClass' 60 && sleep 0.5; then
    kill -INT "$gc_pid"
    t_start=$(now)
fi
finish 30
echo "# run e: exit $rc $took s after SIGINT"
check "e: SIGINT while waiting for the GatewayClass: exit 2, the cause on stderr" sh -c "[ $rc -eq 2 ] &&
  grep -q 'is not Accepted: interrupted while waiting' '$tmp/e.err'"
check "e: ... and the reports list every scenario as not run" sh -c "
  [ \$(grep -c '<skipped message=\"not run: interrupted by SIGINT during the setup\"' '$tmp/e/junit_01.xml') -eq 5 ] &&
  test -s '$tmp/e/conformance-report.yaml'"

echo "1..$n"
[ "$failures" -eq 0 ]

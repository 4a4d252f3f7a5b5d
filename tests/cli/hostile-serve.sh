#!/bin/sh
# Hostile clients against `gwhook serve` (issue 9): slowloris, a slow body,
# 10,000 idle connections, TLS handshake garbage, renegotiation, pipelining,
# request-smuggling shapes, invalid UTF-8 and a 100 MiB body, each while a
# control client measures its latency (tests/hostile/hostile.py; what
# "bounded" means for each: docs/RELIABILITY.md, "Hostile clients").
#
# Starts the ASan/UBSan build (build/gwhook when there is none) on free
# loopback ports with small limits so that attacks end fast, runs the
# attacks, stops the server and looks for sanitizer reports in its log.
# Prints TAP; the last line is
#   hostile: attacks=N survived=M control_p99_ms=X
# (also as a "# report:" line for tools/run-tests.sh's summary). About 45 s.
#
# Run from anywhere: sh tests/cli/hostile-serve.sh. HOSTILE_KEEP=1 keeps the
# temporary directory (the server's log); HOSTILE_ONLY=slowloris,... runs
# some attacks only.
set -u
cd "$(dirname "$0")/../.." || exit 2

. tests/cli/lib/tap.sh

CONN_TIMEOUT=3
CONN_LIMIT=256
MAX_BODY=7340032
IDLE=10000

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwhook-hostile.XXXXXX") || exit 2
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    if [ "${HOSTILE_KEEP:-0}" = 1 ]; then
        echo "# kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 is not installed"
    exit 0
fi

# The server under test: the sanitized build, made if it is missing or stale.
if make -s build/san/gwhook >"$tmp/make.log" 2>&1; then
    :
else
    echo "# make build/san/gwhook failed; using what is there"
    diag "$tmp/make.log" 10
fi
GW=build/san/gwhook
[ -x "$GW" ] || GW=build/gwhook
if [ ! -x "$GW" ]; then
    notok "a gwhook binary exists (make build/san/gwhook)"
    echo "1..$n"
    exit 1
fi

# 10,000 idle connections need that many descriptors in the attacking
# process: raise the soft limit toward the hard one (hostile.py scales the
# attack down to what it gets and says so).
# (ulimit -H and -n are not POSIX, but dash, bash and busybox sh have them.)
want=$((IDLE + 512))
# shellcheck disable=SC3045
hard=$(ulimit -H -n)
if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
    # shellcheck disable=SC3045
    ulimit -n "$want" 2>/dev/null
else
    # shellcheck disable=SC3045
    ulimit -n "$hard" 2>/dev/null
    echo "# the hard fd limit is $hard: fewer than $IDLE idle connections"
fi

# Three free loopback ports: webhook, probes, metrics.
ports=$(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
') || exit 2
# shellcheck disable=SC2086 # three numbers
set -- $ports
port=$1 probe=$2 metrics=$3

if ! "$GW" certs --out-dir "$tmp/certs" --ip 127.0.0.1 --dns localhost >"$tmp/certs.log" 2>&1; then
    notok "gwhook certs writes a serving pair"
    diag "$tmp/certs.log"
    echo "1..$n"
    exit 1
fi

# ASan's quarantine (256 MiB of freed memory kept by default) would hide
# what the 100 MiB body does to the RSS: keep 16 MiB of it.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" \
    "$GW" serve --cert-dir "$tmp/certs" --bind 127.0.0.1 --port "$port" \
    --probe-port "$probe" --metrics-port "$metrics" --check all=off \
    --conn-timeout "$CONN_TIMEOUT" --conn-limit "$CONN_LIMIT" --max-body "$MAX_BODY" \
    --shutdown-delay 0 --grace 5 >"$tmp/server.log" 2>&1 &
pid=$!
echo "# $GW serve on 127.0.0.1:$port (pid $pid): --conn-timeout $CONN_TIMEOUT" \
    "--conn-limit $CONN_LIMIT --max-body $MAX_BODY"

start=$(date +%s)
python3 tests/hostile/hostile.py --port "$port" --probe-port "$probe" \
    --ca "$tmp/certs/ca.crt" --pid "$pid" --conn-timeout "$CONN_TIMEOUT" \
    --conn-limit "$CONN_LIMIT" --max-body "$MAX_BODY" --idle "$IDLE" \
    ${HOSTILE_ONLY:+--only "$HOSTILE_ONLY"} --summary "$tmp/summary"
# its TAP lines count in ours
if [ -s "$tmp/summary" ]; then
    summary=$(cat "$tmp/summary")
else
    summary="attacks=0 survived=0 control_p99_ms=0 checks=0 failed=1"
    notok "hostile.py ran to its end"
fi
field() { printf '%s\n' "$summary" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
n=$((n + $(field checks)))
failures=$((failures + $(field failed)))

# Stop it: a clean exit, and nothing from the sanitizers (leaks are
# reported at exit).
if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 150 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        notok "the server stops within 15 s of SIGTERM"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    else
        wait "$pid"
        rc=$?
        if [ "$rc" -eq 0 ]; then
            ok "the server exits 0 on SIGTERM after the attacks"
        else
            notok "the server exits 0 on SIGTERM after the attacks (exit $rc)"
        fi
    fi
else
    wait "$pid"
    notok "the server was still running after the attacks (exit $?)"
fi
pid=
if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/server.log"; then
    notok "no sanitizer report in the server's log"
    grep -E -A12 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/server.log" |
        head -40 | sed 's/^/#   /'
else
    ok "no sanitizer report in the server's log ($(wc -l <"$tmp/server.log") lines)"
fi

echo "1..$n"
report="hostile: attacks=$(field attacks) survived=$(field survived) control_p99_ms=$(field control_p99_ms)"
echo "# run time $(($(date +%s) - start)) s"
echo "# report: $report"
echo "$report"
[ "$failures" -eq 0 ]

#!/bin/sh
# `make soak` (issue 9; docs/RELIABILITY.md): `gwhook serve` under a steady
# load with its serving certificate rotated every 30 s.
#
#  1. A CA and a serving certificate from `gwhook certs`, mounted as the
#     kubelet mounts a kubernetes.io/tls Secret: tls.crt and tls.key are
#     symlinks through a ..data symlink to a timestamped directory.
#  2. `gwhook serve` on free loopback ports, cross-object checks off (no API
#     server here), logging at info as in production (the per-review lines
#     are dropped on the way to the log file; the rest is kept).
#  3. Capacity: tests/soak/soakload.c (libcurl, keep-alive TLS) closed-loop
#     over 64 connections for 5 s: the requests/s this machine manages, the
#     generator included.
#  4. The soak: SOAK_SECONDS (default 600) at 50% of that rate, open-loop
#     (each request is due at its time whatever happened before; latency is
#     counted from then). Connections are reused for 10 to 20 s, then
#     replaced, so handshakes go on all the time. Every 30 s, starting at 15 s, a new
#     serving certificate from the same CA is written into a new directory
#     and ..data is swapped onto it (rename(2), atomic), the old directory
#     removed: what the kubelet does when the Secret changes.
#     SOAK_ROTATION=rename instead writes tls.key then tls.crt over the old
#     files by temporary file and rename.
#  5. Every SOAK_SAMPLE seconds: VmRSS, the open fds, the fds that are
#     webhook connections, threads, CPU time. After the load, and after the
#     capacity run, the fds once every connection is closed.
#
# Targets: no failed request (transport error, status not 200, or a reply
# without "allowed":true); RSS growth under 5% from the end of the warm-up
# (10% of the run, at least 10 s) to the end (the largest sample of the
# warm-up's length after it against the largest of the last as long); the
# fd count flat (idle fds after the soak within +2 of those before it, fds
# that are not connections within +2 of the warm-up's); every rotation
# picked up (its serial in the server's "serving certificate loaded" lines
# and seen by the client on a new connection); the server exits 0 on SIGTERM
# with no error or sanitizer line in its log.
#
# Prints the per-window figures (every 30 s) and a summary; the last two
# lines are
#   soak-detail: KEY=VALUE ...   (for tests/cli/soak.sh)
#   soak: requests=N failed=F rss_growth_pct=G
# Exit status: 0 every target met, 1 one missed, 2 it could not run.
#
# Environment: SOAK_SECONDS (600), SOAK_ROTATE (30: s between rotations),
# SOAK_LOAD_PCT (50), SOAK_RATE (a fixed req/s: no capacity run),
# SOAK_CAPACITY_SECONDS (5), SOAK_CONNS (64), SOAK_CONN_LIFE (10 s; 0: keep
# connections as long as they last), SOAK_WARMUP (s), SOAK_WINDOW (30 s),
# SOAK_SAMPLE (2 s), SOAK_ROTATION (symlink | rename), SOAK_BODY (the review,
# tests/bench/serve/review.json), GWHOOK (build/gwhook; an ASan build gets
# ASAN_OPTIONS=detect_leaks=1 unless set), SOAK_KEEP=1 keeps the temp dir.
# Linux only (/proc). Builds build/soak/soakload with cc when it is missing
# or older than its source.
set -u
cd "$(dirname "$0")/.." || exit 2

DURATION=${SOAK_SECONDS:-600}
ROTATE=${SOAK_ROTATE:-30}
PCT=${SOAK_LOAD_PCT:-50}
RATE=${SOAK_RATE:-}
CAPACITY_S=${SOAK_CAPACITY_SECONDS:-5}
CONNS=${SOAK_CONNS:-64}
CONN_LIFE=${SOAK_CONN_LIFE:-10}
WINDOW=${SOAK_WINDOW:-30}
SAMPLE=${SOAK_SAMPLE:-2}
MODE=${SOAK_ROTATION:-symlink}
BODY=${SOAK_BODY:-tests/bench/serve/review.json}
GW=${GWHOOK:-build/gwhook}
LOAD=build/soak/soakload
WARMUP=${SOAK_WARMUP:-}

say() { printf 'soak: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 2
}

for pair in "SOAK_SECONDS=$DURATION" "SOAK_ROTATE=$ROTATE" "SOAK_LOAD_PCT=$PCT" \
    "SOAK_CAPACITY_SECONDS=$CAPACITY_S" "SOAK_CONNS=$CONNS" "SOAK_CONN_LIFE=$CONN_LIFE" \
    "SOAK_WINDOW=$WINDOW" "SOAK_SAMPLE=$SAMPLE" ${WARMUP:+"SOAK_WARMUP=$WARMUP"} ${RATE:+"SOAK_RATE=$RATE"}; do
    case ${pair#*=} in
        '' | *[!0-9]*) die "${pair%%=*} must be a whole number, not '${pair#*=}'" ;;
    esac
done
[ "$DURATION" -ge 30 ] || die "SOAK_SECONDS must be at least 30"
WARMUP=${WARMUP:-$((DURATION / 10 > 10 ? DURATION / 10 : 10))}
[ $((3 * WARMUP)) -le "$DURATION" ] || die "SOAK_WARMUP must be at most a third of SOAK_SECONDS"
[ "$ROTATE" -ge 4 ] || die "SOAK_ROTATE must be at least 4 (the server polls every 2 s)"
case $MODE in symlink | rename) ;; *) die "SOAK_ROTATION must be symlink or rename" ;; esac
[ -x "$GW" ] || die "$GW not found: make all (or make build/san/gwhook)"
[ -r "$BODY" ] || die "$BODY not found"
command -v curl >/dev/null 2>&1 || die "curl not found (tools/deps.sh installs it)"

# ---------------------------------------------------------------- generator
if [ ! -x "$LOAD" ] || [ -n "$(find tests/soak/soakload.c -newer "$LOAD")" ]; then
    mkdir -p build/soak
    # the warnings of the Makefile's WARN
    ${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow \
        -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wwrite-strings -Wvla -Wconversion \
        -Wno-sign-conversion -Werror -o "$LOAD.tmp" tests/soak/soakload.c -lcurl ||
        die "cannot build $LOAD"
    mv -f "$LOAD.tmp" "$LOAD"
fi

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatecheck-soak.XXXXXX") || exit 2
SPID='' LPID='' GPID=''
cleanup() {
    for p in $LPID $SPID; do kill -KILL "$p" 2>/dev/null; done
    [ -n "$GPID" ] && wait "$GPID" 2>/dev/null
    if [ "${SOAK_KEEP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- certificates
CA=$TMP/ca     # the CA (never mounted) and the first serving pair
CERTS=$TMP/tls # what the server reads: the Secret volume
mkdir "$CERTS" || exit 2
"$GW" certs --out-dir "$CA" --ip 127.0.0.1 --dns localhost >"$TMP/certs.out" 2>&1 ||
    die "gwhook certs failed: $(cat "$TMP/certs.out")"
DATA_DIR=''
NROT=0
# publish DIR: make DIR's tls.crt and tls.key the mounted pair.
publish() {
    case $MODE in
        symlink)
            new=..$(date -u +%Y_%m_%d_%H_%M_%S).$NROT
            mkdir "$CERTS/$new" && cp "$1/tls.crt" "$1/tls.key" "$CA/ca.crt" "$CERTS/$new/" &&
                ln -s "$new" "$CERTS/..data_tmp" && mv -T "$CERTS/..data_tmp" "$CERTS/..data" ||
                return 1
            if [ -z "$DATA_DIR" ]; then
                for f in tls.crt tls.key ca.crt; do ln -s "..data/$f" "$CERTS/$f" || return 1; done
            else
                rm -rf "${CERTS:?}/$DATA_DIR"
            fi
            DATA_DIR=$new
            ;;
        rename)
            cp "$1/tls.key" "$CERTS/.tls.key.tmp" && cp "$1/tls.crt" "$CERTS/.tls.crt.tmp" &&
                mv -f "$CERTS/.tls.key.tmp" "$CERTS/tls.key" &&
                mv -f "$CERTS/.tls.crt.tmp" "$CERTS/tls.crt"
            ;;
    esac
}
# serial_of FILE: the serial `gwhook certs` printed for the serving certificate it issued
serial_of() { sed -n 's/^issued serving certificate serial \([0-9A-Fa-f]*\) .*/\1/p' "$1"; }
publish "$CA" || die "cannot set up $CERTS"
serial_of "$TMP/certs.out" >"$TMP/serials.issued"

# rotate T: a new serving certificate from the same CA, published.
rotate() {
    stage=$TMP/stage
    rm -rf "$stage" && mkdir "$stage" && cp "$CA/ca.crt" "$CA/ca.key" "$stage/" || return 1
    NROT=$((NROT + 1))
    if ! "$GW" certs --out-dir "$stage" --ip 127.0.0.1 --dns localhost >"$TMP/rotate.out" 2>&1; then
        say "rotation $NROT: gwhook certs failed: $(cat "$TMP/rotate.out")"
        return 1
    fi
    publish "$stage" || return 1
    s=$(serial_of "$TMP/rotate.out")
    echo "$s" >>"$TMP/serials.issued"
    echo "$1 $s" >>"$TMP/rotations"
}

# ---------------------------------------------------------------- the server
# metric NAME_AND_LABELS: its value on /metrics (0 when absent)
metric() {
    curl -sf --max-time 5 "http://127.0.0.1:$PROBE/metrics" 2>/dev/null |
        awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}
OK200='controller_runtime_webhook_requests_total{webhook="/validate",code="200"}'
RELOADS='gatecheck_certificate_reloads_total{result="success"}'
RELOAD_FAILS='gatecheck_certificate_reloads_total{result="failure"}'

if nm -D "$GW" 2>/dev/null | grep -q __asan_init || nm "$GW" 2>/dev/null | grep -q __asan_init; then
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export ASAN_OPTIONS
    SANITIZED=1
else
    SANITIZED=0
fi
mkfifo "$TMP/log.fifo" || exit 2
tries=0
while :; do
    tries=$((tries + 1))
    # two free ports next to each other, below the ephemeral range
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    PORT=$((20000 + (n % 6000) * 2))
    PROBE=$((PORT + 1))
    # drop the per-review lines (about 250 bytes per request), keep the rest
    grep -v '"msg":"review"' <"$TMP/log.fifo" >"$TMP/server.log" &
    GPID=$!
    "$GW" serve --cert-dir "$CERTS" --bind 127.0.0.1 --port "$PORT" --probe-port "$PROBE" \
        --metrics-port "$PROBE" --check all=off --shutdown-delay 0 --grace 5 2>"$TMP/log.fifo" &
    SPID=$!
    i=0
    while [ "$i" -lt 100 ] && kill -0 "$SPID" 2>/dev/null &&
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PROBE/readyz")" != 200 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -0 "$SPID" 2>/dev/null && [ "$i" -lt 100 ] && break
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    wait "$GPID" 2>/dev/null
    SPID='' GPID=''
    [ "$tries" -lt 5 ] || die "gwhook serve does not start: $(tail -3 "$TMP/server.log")"
done
URL="https://127.0.0.1:$PORT/validate?timeout=10s"
PORT_HEX=$(printf '%04X' "$PORT")
say "gwhook serve pid $SPID on 127.0.0.1:$PORT ($GW), rotation by $MODE, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# fds PID: "open-fds webhook-connection-fds" (sockets of the webhook port that are not
# listening). The fds are listed before the sockets are: a connection accepted in
# between is still matched.
fds() {
    # shellcheck disable=SC2012 # the names in /proc/PID/fd are numbers
    { ls -l "/proc/$1/fd" 2>/dev/null; echo '--'; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; } |
        awk -v p="$PORT_HEX" '
            $0 == "--" { tcp = 1; next }
            !tcp { if (/ -> /) fd[++n] = $NF; next }
            $1 ~ /^[0-9]+:$/ {
                split($2, a, ":")
                if (a[2] == p && $4 != "0A") conn["socket:[" $10 "]"] = 1
            }
            END { for (i = 1; i <= n; i++) if (fd[i] in conn) c++; print n + 0, c + 0 }'
}
# cpu_jiffies PID: its user + system time; machine_jiffies: the machine's busy time, all cores
cpu_jiffies() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
machine_jiffies() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# fds_sample PID: as fds, the try with the fewest fds besides connections of up to
# three (a connection closed between listing the fds and reading the socket table
# looks like another fd for one try)
fds_sample() {
    best='' fewest='' try=0
    while [ "$try" -lt 3 ]; do
        try=$((try + 1))
        r=$(fds "$1")
        other=$((${r% *} - ${r#* }))
        if [ -z "$fewest" ] || [ "$other" -lt "$fewest" ]; then best=$r fewest=$other; fi
        [ "$other" -le "${FD_IDLE_BEFORE:-0}" ] && break
    done
    echo "$best"
}
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
threads() { awk '$1 == "Threads:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
# idle_fds: the server's fds once no webhook connection is left (up to 10 s)
idle_fds() {
    i=0
    while :; do
        # shellcheck disable=SC2046 # two numbers
        set -- $(fds "$SPID")
        { [ "$2" = 0 ] || [ "$i" -ge 100 ]; } && break
        sleep 0.1
        i=$((i + 1))
    done
    echo "$1"
}

# ---------------------------------------------------------------- capacity
if [ -z "$RATE" ]; then
    "$LOAD" --url "$URL" --cacert "$CA/ca.crt" --body "$BODY" --rate 0 --conns "$CONNS" \
        --seconds "$CAPACITY_S" --window 3600 >"$TMP/capacity.out" 2>"$TMP/capacity.err" ||
        die "the capacity run failed: $(cat "$TMP/capacity.err")"
    CAPACITY=$(sed -n 's/^load: .* rps=\([0-9]*\) .*/\1/p' "$TMP/capacity.out")
    CAP_FAILED=$(sed -n 's/^load: .* failed=\([0-9]*\) .*/\1/p' "$TMP/capacity.out")
    if [ -z "$CAPACITY" ] || [ "$CAPACITY" = 0 ]; then
        die "no capacity figure: $(cat "$TMP/capacity.out" "$TMP/capacity.err")"
    fi
    RATE=$((CAPACITY * PCT / 100))
    say "capacity $CAPACITY req/s ($CAPACITY_S s closed-loop over $CONNS connections, $CAP_FAILED failed): the soak runs at $RATE req/s ($PCT%)"
else
    CAPACITY=na CAP_FAILED=0
    say "fixed rate $RATE req/s (SOAK_RATE)"
fi
[ "$RATE" -gt 0 ] || die "a rate of 0"
FD_IDLE_BEFORE=$(idle_fds)
OK_BEFORE=$(metric "$OK200")
RELOADS_BEFORE=$(metric "$RELOADS")

# ---------------------------------------------------------------- the soak
say "running ${DURATION} s at $RATE req/s, rotation every $ROTATE s from $((ROTATE / 2)) s, warm-up $WARMUP s"
: >"$TMP/samples"
: >"$TMP/rotations"
T0=$(date +%s)
CPU_SERVER0=$(cpu_jiffies "$SPID")
CPU_MACHINE0=$(machine_jiffies)
"$LOAD" --url "$URL" --cacert "$CA/ca.crt" --body "$BODY" --rate "$RATE" --conns "$CONNS" \
    --seconds "$DURATION" --window "$WINDOW" --conn-life "$CONN_LIFE" >"$TMP/load.out" 2>"$TMP/load.err" &
LPID=$!
next_sample=0
next_rot=$((ROTATE / 2))
# the last rotation leaves the server time to load it and the client time to reconnect
LAST_ROT=$((DURATION - (CONN_LIFE > 0 ? CONN_LIFE + 3 : 5)))
WANT_ROT=$((LAST_ROT >= ROTATE / 2 ? (LAST_ROT - ROTATE / 2) / ROTATE + 1 : 0))
pending='' # the reload count a rotation waits for, and when it was made
DELAYS=''
ROT_FAILED=0
while kill -0 "$LPID" 2>/dev/null; do
    t=$(($(date +%s) - T0))
    if [ "$t" -ge "$next_sample" ] && [ "$t" -le "$DURATION" ]; then
        echo "$t $(rss "$SPID") $(fds_sample "$SPID") $(threads "$SPID") $(machine_jiffies)" \
            "$(cpu_jiffies "$SPID") $(cpu_jiffies "$LPID")" >>"$TMP/samples"
        next_sample=$((next_sample + SAMPLE))
    fi
    if [ -n "$pending" ]; then
        # shellcheck disable=SC2086 # two numbers
        set -- $pending
        if [ "$(metric "$RELOADS")" -ge "$1" ]; then
            DELAYS="$DELAYS $((t - $2))"
            pending=''
        fi
    fi
    if [ "$t" -ge "$next_rot" ] && [ "$t" -le "$LAST_ROT" ]; then
        want=$(($(metric "$RELOADS") + 1))
        if rotate "$t"; then pending="$want $t"; else ROT_FAILED=$((ROT_FAILED + 1)); fi
        next_rot=$((next_rot + ROTATE))
    fi
    sleep 1
done
wait "$LPID"
LOAD_RC=$?
LPID=''
CPU_SERVER=$(($(cpu_jiffies "$SPID") - CPU_SERVER0))
CPU_MACHINE=$(($(machine_jiffies) - CPU_MACHINE0))
T1=$(date +%s)
FD_IDLE_AFTER=$(idle_fds)
OK_AFTER=$(metric "$OK200")
RELOADS_AFTER=$(metric "$RELOADS")
RELOAD_FAILURES=$(metric "$RELOAD_FAILS")
kill -TERM "$SPID" 2>/dev/null
wait "$SPID"
SERVER_RC=$?
SPID=''
wait "$GPID"
GPID=''
[ "$LOAD_RC" = 0 ] || die "the generator failed (exit $LOAD_RC): $(tail -5 "$TMP/load.err")"

# ---------------------------------------------------------------- figures
final=$(grep '^load: ' "$TMP/load.out")
[ -n "$final" ] || die "no figures from the generator: $(tail -5 "$TMP/load.err")"
get() { printf '%s\n' "$final" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
REQUESTS=$(get requests)
FAILED=$(get failed)
# RSS moves with the number of open connections (libmicrohttpd gives each a
# 64 KiB pool) and with what malloc gives back: it is compared high-water to
# high-water, the largest sample of the WARMUP seconds after the warm-up with
# the largest of the last WARMUP seconds. The fds that are not connections: the
# fewest in each of these spans (a connection closed while a sample was taken
# can only add to them).
# shellcheck disable=SC2046 # eleven numbers
set -- $(awk -v w="$WARMUP" -v d="$DURATION" '
    { other = $3 - $4 }
    $1 >= w && $1 < 2 * w { if ($2 > wr) wr = $2; if (wo == "" || other < wo) wo = other }
    $1 > d - w { if ($2 > er) er = $2; if (eo == "" || other < eo) eo = other }
    $1 >= w {
        if ($2 > mx) mx = $2
        if (other > omax) omax = other
        if (fmin == "" || $3 < fmin) fmin = $3
        if ($3 > fmax) fmax = $3
    }
    { th = $5 }
    END { printf "%d %d %d %.1f %d %d %d %d %d %d\n", wr, er, mx, wr ? (er - wr) * 100 / wr : 0,
          wo, eo, omax, fmin, fmax, th }' "$TMP/samples")
RSS_WARM=$1 RSS_END=$2 RSS_MAX=$3 GROWTH=$4 OTHER_WARM=$5 OTHER_END=$6 OTHER_MAX=$7
FD_MIN=$8 FD_MAX=$9
shift 9
THREADS=$1
# rotations: each issued serial (the first included) in the server's log and seen by the client
grep '"msg":"serving certificate loaded"' "$TMP/server.log" |
    sed -n 's/.*"serial":"\([0-9A-Fa-f]*\)".*/\1/p' | tr 'a-f' 'A-F' | sort -u >"$TMP/serials.loaded"
sed -n 's/^cert .* serial=\([0-9A-Fa-f]*\)$/\1/p' "$TMP/load.out" | tr 'a-f' 'A-F' | sort -u >"$TMP/serials.client"
ROTATIONS=$(wc -l <"$TMP/rotations" | tr -d ' ')
tr 'a-f' 'A-F' <"$TMP/serials.issued" | sort -u >"$TMP/serials.want"
PICKED=$(($(comm -12 "$TMP/serials.want" "$TMP/serials.loaded" | wc -l) - 1))
SEEN=$(($(comm -12 "$TMP/serials.want" "$TMP/serials.client" | wc -l) - 1))
MAX_DELAY=$(echo "${DELAYS:-na}" | tr ' ' '\n' | awk 'NF { m = ($1 > m) ? $1 : m; n++ } END { print n ? m : "na" }')
SANITIZER=$(grep -c 'AddressSanitizer\|LeakSanitizer\|runtime error' "$TMP/server.log")
ERRORS=$(grep -c '"level":"error"' "$TMP/server.log")
FD_DELTA=$((FD_IDLE_AFTER - FD_IDLE_BEFORE))
OTHER_DELTA=$((OTHER_END - OTHER_WARM))

echo
echo "gwhook serve ($GW), ${DURATION} s at $RATE req/s ($PCT% of $CAPACITY), $(nproc) cores"
echo "shared by the server and the generator, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%7s %9s %7s %7s %8s %8s %9s %10s %6s %9s %5s %6s\n' "t s" requests failed "req/s" "p50 ms" \
    "p99 ms" "max ms" handshakes stall "RSS KiB" fds other
# with each window, the largest RSS and fd count sampled in it, and "other": the
# share of the machine's CPU that neither the server nor the generator used
# (other jobs on a shared machine, which the latency feels); "stall": the
# generator's longest pass through libcurl, ms (a floor for the max latency)
awk -v hz="$(getconf CLK_TCK)" -v ncpu="$(nproc)" '
     FILENAME == ARGV[1] {
         t[++n] = $1; r[n] = $2; f[n] = $3; m[n] = $6; sv[n] = $7; g[n] = $8
         next
     }
     $1 == "window" {
         for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         rs = 0; fd = 0; i0 = 0; i1 = 0
         for (i = 1; i <= n; i++) {
             if (t[i] > prev && t[i] <= v["t"]) { if (r[i] > rs) rs = r[i]; if (f[i] > fd) fd = f[i] }
             if (t[i] <= prev) i0 = i
             if (t[i] <= v["t"] && g[i] != "") i1 = i
         }
         other = "-"
         if (i0 && i1 > i0 && g[i1] != "") {
             o = (m[i1] - m[i0]) - (sv[i1] - sv[i0]) - (g[i1] - g[i0])
             other = sprintf("%.0f%%", (o < 0 ? 0 : o) * 100 / ((t[i1] - t[i0]) * hz * ncpu))
         }
         prev = v["t"]
         printf "%7s %9s %7s %7s %8s %8s %9s %10s %6s %9s %5s %6s\n", v["t"], v["requests"], v["failed"],
                v["rps"], v["p50_ms"], v["p99_ms"], v["max_ms"], v["handshakes"], v["stall_ms"], rs, fd, other
     }' "$TMP/samples" "$TMP/load.out"
echo
echo "requests   $REQUESTS, failed $FAILED; the server counted $((OK_AFTER - OK_BEFORE)) answered with 200"
echo "latency    p50 $(get p50_ms) ms, p99 $(get p99_ms) ms, max $(get max_ms) ms (from when each was due;" \
    "$(get late) sent more than 10 ms late)"
echo "rotations  $ROTATIONS ($MODE), picked up by the server $PICKED (reloads $((RELOADS_AFTER - RELOADS_BEFORE))," \
    "failed reloads $RELOAD_FAILURES), seen by the client $SEEN; pickup within $MAX_DELAY s at most"
echo "handshakes $(get handshakes) (a connection is reused for ${CONN_LIFE} to $((2 * CONN_LIFE)) s)"
awk -v s="$CPU_SERVER" -v m="$CPU_MACHINE" -v g="$(get cpu_s)" -v n="$REQUESTS" -v hz="$(getconf CLK_TCK)" \
    -v t="$((T1 - T0))" -v c="$(nproc)" 'BEGIN {
    s /= hz; m /= hz; o = m - s - g; if (o < 0) o = 0
    printf "CPU        server %.1f s (%.0f us/request), generator %.1f s, other work %.1f s (%.0f%% of %d cores x %d s)\n",
           s, n ? s * 1e6 / n : 0, g, o, t ? o * 100 / (t * c) : 0, c, t }'
echo "RSS        $RSS_WARM KiB at most in ${WARMUP}-$((2 * WARMUP)) s (after the warm-up), $RSS_END KiB at most" \
    "in the last $WARMUP s, $RSS_MAX KiB at most after the warm-up: growth $GROWTH%"
echo "fds        $FD_IDLE_BEFORE with no connection before the soak, $FD_IDLE_AFTER after;" \
    "$FD_MIN-$FD_MAX during it with connections;"
echo "           not connections: $OTHER_WARM after the warm-up, $OTHER_END at the end (fewest sampled in" \
    "each span), $OTHER_MAX at most"
echo "threads    $THREADS; server exit status $SERVER_RC; error lines in its log $ERRORS;" \
    "sanitizer reports $SANITIZER"
if [ "$ERRORS" -gt 0 ] || [ "$SANITIZER" -gt 0 ]; then
    grep '"level":"error"\|Sanitizer\|runtime error' "$TMP/server.log" | head -10 | sed 's/^/  log: /'
fi
[ -s "$TMP/load.err" ] && sed 's/^/  client: /' "$TMP/load.err" | head -10

met=1
SERVER_OK=$((OK_AFTER - OK_BEFORE))
# the server answered 200 to every request the client counts as done
[ "$FAILED" = 0 ] && [ "$SERVER_OK" = "$REQUESTS" ] || met=0
awk -v g="$GROWTH" 'BEGIN { exit !(g < 5) }' || met=0
[ "$FD_DELTA" -le 2 ] && [ "$OTHER_DELTA" -le 2 ] || met=0
[ "$ROTATIONS" -ge "$WANT_ROT" ] && [ "$ROT_FAILED" = 0 ] || met=0
# with connections kept for good (SOAK_CONN_LIFE=0) the client may never see a new certificate
[ "$PICKED" = "$ROTATIONS" ] && { [ "$SEEN" = "$ROTATIONS" ] || [ "$CONN_LIFE" = 0 ]; } || met=0
# a pair swapped in by rename(2) of ..data is never half new; two renames may be
[ "$RELOAD_FAILURES" = 0 ] || [ "$MODE" = rename ] || met=0
[ "$SERVER_RC" = 0 ] && [ "$SANITIZER" = 0 ] || met=0
[ "$ERRORS" = 0 ] || [ "$MODE" = rename ] || met=0
echo
echo "soak-detail: seconds=$DURATION capacity_rps=$CAPACITY rate=$RATE requests=$REQUESTS failed=$FAILED server_ok=$SERVER_OK" \
    "p50_ms=$(get p50_ms) p99_ms=$(get p99_ms) late=$(get late) rss_warm_kib=$RSS_WARM rss_end_kib=$RSS_END" \
    "rss_growth_pct=$GROWTH fd_idle_before=$FD_IDLE_BEFORE fd_idle_after=$FD_IDLE_AFTER" \
    "fd_other_warm=$OTHER_WARM fd_other_end=$OTHER_END rotations=$ROTATIONS rotation_errors=$ROT_FAILED" \
    "picked_up=$PICKED client_seen=$SEEN reload_failures=$RELOAD_FAILURES max_pickup_s=$MAX_DELAY" \
    "server_exit=$SERVER_RC log_errors=$ERRORS sanitizer=$SANITIZER sanitized=$SANITIZED targets_met=$met"
echo "soak: requests=$REQUESTS failed=$FAILED rss_growth_pct=$GROWTH"
[ "$met" = 1 ]

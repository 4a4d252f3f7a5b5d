#!/bin/sh
# The soak's one-minute version (issue 9; tools/soak.sh, docs/RELIABILITY.md):
# build/gwhook serve for 60 s at 50% of the capacity measured just before,
# the serving certificate rotated at 15 s and 45 s by a kubelet-style ..data
# symlink swap. One check per target: no failed request, RSS growth under 5%
# after the 10 s warm-up, the fd count flat, every rotation picked up (by the
# server, and by the client on its new connections), a clean exit. About 66 s.
#
# The release build, not the ASan one: ASan's quarantine swings RSS by
# several percent within seconds, and its three times the CPU a request make
# another load (docs/RELIABILITY.md, "Soak").
#
# Run from anywhere: sh tests/cli/soak.sh (SOAK_SECONDS to change the length).
# Prints TAP; the soak's last line as "# report: soak: ...".
set -u
cd "$(dirname "$0")/../.." || exit 2

# shellcheck source=tests/cli/lib/tap.sh
. tests/cli/lib/tap.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwhook-soak.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SOAK_SECONDS=${SOAK_SECONDS:-60} GWHOOK=${GWHOOK:-build/gwhook} \
    tools/soak.sh >"$tmp/out" 2>"$tmp/err"
rc=$?
detail=$(sed -n 's/^soak-detail: //p' "$tmp/out" | tail -n 1)
# get KEY: a value of the soak-detail line
get() { printf '%s\n' "$detail" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

if [ -z "$detail" ] || [ "$rc" -gt 1 ]; then
    notok "the soak ran (exit $rc)"
    diag "$tmp/err"
    diag "$tmp/out"
    echo "1..$n"
    exit 1
fi

# check STATUS DESC: ok when STATUS (of the test just run; first, so that it
# is expanded before DESC's command substitutions) is 0
check() {
    if [ "$1" = 0 ]; then
        ok "$2"
    else
        notok "$2"
        sed -n '/^requests /,/^threads /p' "$tmp/out" | sed 's/^/#   /'
    fi
}

[ "$(get failed)" = 0 ] && [ "$(get server_ok)" = "$(get requests)" ]
check $? "no failed request: $(get failed) of $(get requests) at $(get rate) req/s ($(get capacity_rps) measured), $(get server_ok) answered 200 by the server's count"

awk -v g="$(get rss_growth_pct)" 'BEGIN { exit !(g < 5) }'
check $? "RSS growth under 5% after the warm-up: $(get rss_growth_pct)% ($(get rss_warm_kib) to $(get rss_end_kib) KiB)"

[ "$(get fd_idle_after)" -le $(($(get fd_idle_before) + 2)) ] &&
    [ "$(get fd_other_end)" -le $(($(get fd_other_warm) + 2)) ]
check $? "fd count flat: $(get fd_idle_before) then $(get fd_idle_after) with no connection open, $(get fd_other_warm) then $(get fd_other_end) besides connections"

[ "$(get rotations)" -ge $(($(get seconds) / 30)) ] && [ "$(get picked_up)" = "$(get rotations)" ] &&
    [ "$(get client_seen)" = "$(get rotations)" ] && [ "$(get rotation_errors)" = 0 ] &&
    [ "$(get reload_failures)" = 0 ]
check $? "a rotation picked up every 30 s: $(get rotations) made, $(get picked_up) loaded by the server, $(get client_seen) seen by the client"

[ "$(get server_exit)" = 0 ] && [ "$(get log_errors)" = 0 ] && [ "$(get sanitizer)" = 0 ]
check $? "the server stops cleanly on SIGTERM: exit $(get server_exit), $(get log_errors) error lines in its log"
[ "$rc" = 0 ] || diag "$tmp/err"

echo "# $(sed -n 's/^latency *//p' "$tmp/out")"
echo "# report: $(grep '^soak: requests=' "$tmp/out" | tail -n 1)"
echo "1..$n"
[ "$failures" -eq 0 ]

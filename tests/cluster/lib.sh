# Helpers of the tests/cluster/it_*.sh suites (sourced after
# tests/cli/lib/tap.sh; they set D, the cluster's directory, and tmp).

# api METHOD PATH [CURL-ARGS...]: a request to the cluster as its admin
api() {
    m=$1
    p=$2
    shift 2
    curl -sS --max-time 30 --cacert "$D/pki/ca.crt" --cert "$D/pki/admin.crt" \
        --key "$D/pki/admin.key" -X "$m" "$@" "$(cat "$D/apiserver.url")$p"
}

# run_tool BINARY ARGS...: run it, rc and $tmp/out, $tmp/err; a sanitizer
# report is a failure of its own
run_tool() {
    "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/err"; then
        notok "sanitizer report in $*"
        diag "$tmp/err"
    fi
}

# check TEXT COMMAND...: one TAP line; on failure the last output as diagnostics
check() {
    t=$1
    shift
    if "$@"; then ok "$t"; else
        notok "$t"
        diag "$tmp/out"
        diag "$tmp/err"
    fi
}

#!/bin/sh
# `gwhook validate --cross` / `--check`: the cross-object checks of
# `gwhook serve` (issue 8, docs/CROSSCHECKS.md) over the objects of several
# files at once (tests/data/crosscheck): off unless asked, warnings with
# --cross, errors and exit 1 with a check in deny mode, objects without a
# namespace placed by --namespace, and the usage errors.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh

bin=build/san/gwhook
[ -x "$bin" ] || bin=build/gwhook
DATA=tests/data/crosscheck
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwhook-cross.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

run() {
    "$bin" validate "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
}
t() { # t TEXT COMMAND...: one TAP line; diagnostics on failure
    name=$1
    shift
    if "$@"; then ok "$name"; else
        notok "$name"
        diag "$tmp/out"
        diag "$tmp/err"
    fi
}
has() { grep -qF -- "$1" "$tmp/out"; }
hasnt() { ! grep -qF -- "$1" "$tmp/out"; }

MSG='spec.parentRefs[0]: Forbidden: Gateway istio-ingress/gateway listener "default" admits routes only from its own namespace (allowedRoutes.namespaces.from=Same); this route is in "default"'

run "$DATA"
t "without --cross: no cross-object findings, exit 0" sh -c "[ $rc -eq 0 ] && ! grep -q 'Forbidden' '$tmp/out'"

run --cross "$DATA"
t "--cross: exit 0 (every check warns)" [ "$rc" -eq 0 ]
t "--cross: the route in default on a Same listener is a warning with issue 8's message" \
    has "app.yaml:19: warning: HTTPRoute store: $MSG"
t "--cross: the cross-namespace backendRef without a ReferenceGrant warns" \
    sh -c "grep -q 'warning: HTTPRoute payments: spec.rules\[0\].backendRefs\[0\]: Forbidden: .*ReferenceGrant' '$tmp/out'"
t "--cross: the route on the shared Gateway draws no finding" hasnt "HTTPRoute store-shared:"
t "--cross: the summary counts the warnings" grep -q 'warnings\?,' "$tmp/err"

run --check parent-listener=deny "$DATA/infra.yaml" "$DATA/app.yaml"
t "--check parent-listener=deny: exit 1" [ "$rc" -eq 1 ]
t "--check parent-listener=deny: the finding is an error line" \
    has "app.yaml:19: HTTPRoute store: $MSG"
t "--check parent-listener=deny: the other checks still warn" \
    sh -c "grep -q 'warning: HTTPRoute payments' '$tmp/out'"

run --check all=off --check reference-grant=deny -o json "$DATA"
t "-o json with only reference-grant=deny: exit 1" [ "$rc" -eq 1 ]
t "-o json: the finding is among the errors of default/payments" python3 -c "
import json, sys
d = json.load(open('$tmp/out'))
r = [x for x in d['results'] if x.get('name') == 'payments']
assert r and any('ReferenceGrant' in e for e in json.dumps(r[0]).split('\"') if 'Forbidden' in e or 'ReferenceGrant' in e), r
assert not any(x.get('name') == 'store' and x.get('errors') for x in d['results'])
"

run --cross --namespace istio-ingress "$DATA"
t "--namespace istio-ingress: the route is now in the Gateway's namespace, no Same finding" \
    hasnt "admits routes only from its own namespace"

run --cross "$DATA/app.yaml"
t "--cross on app.yaml alone: its Gateways are in no file" sh -c "[ $rc -eq 0 ] && grep -q 'Gateway istio-ingress/gateway does not exist' '$tmp/out'"

cat "$DATA/infra.yaml" > "$tmp/all.yaml"
echo "---" >> "$tmp/all.yaml"
cat "$DATA/app.yaml" >> "$tmp/all.yaml"
"$bin" validate --check parent-listener=deny - < "$tmp/all.yaml" > "$tmp/out" 2> "$tmp/err"
rc=$?
t "standard input with --check: read once, judged with its own objects (exit 1)" \
    sh -c "[ $rc -eq 1 ] && grep -qF 'HTTPRoute store: spec.parentRefs[0]: Forbidden' '$tmp/out'"

run --check parent-lisener=deny "$DATA"
t "an unknown check is a usage error (exit 2) naming the valid ones" \
    sh -c "[ $rc -eq 2 ] && grep -q 'parent-listener' '$tmp/err'"
run --check backend-exists=deny "$DATA"
t "backend-exists cannot deny (exit 2)" [ "$rc" -eq 2 ]
printf 'checks:\n  parent-listener: maybe\n' > "$tmp/bad.yaml"
run --config "$tmp/bad.yaml" "$DATA"
t "--config with a bad mode is a usage error (exit 2) naming the file" \
    sh -c "[ $rc -eq 2 ] && grep -q 'bad.yaml' '$tmp/err'"
printf 'checks:\n  parent-listener: deny\n' > "$tmp/good.yaml"
run --config "$tmp/good.yaml" "$DATA"
t "--config with parent-listener: deny: exit 1 with the error line" sh -c "[ $rc -eq 1 ] && grep -qF 'HTTPRoute store: spec.parentRefs[0]: Forbidden' '$tmp/out'"

echo "1..$n"
[ "$failures" -eq 0 ]

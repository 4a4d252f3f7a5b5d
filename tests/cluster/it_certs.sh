#!/bin/sh
# `gwhook certs --secret --patch-webhooks` against a real kube-apiserver
# (issue 3; spec ecosystem.md §3). Run by tools/cluster-tests.sh with
# GATECHECK_CLUSTER_DIR set; the client is our lib/kube.c inside gwhook, the
# checks read back through curl with the cluster's admin certificate.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib/tap.sh
. tests/cluster/lib.sh

D=${GATECHECK_CLUSTER_DIR:?run by tools/cluster-tests.sh}
GW=${GWHOOK:-build/san/gwhook}
KC=$D/kubeconfig
NS=default
CFG=certs-it-$$
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
secret_key() { # secret_key NAME KEY: decoded
    api GET "/api/v1/namespaces/$NS/secrets/$1" | jq_py "import base64; print(base64.b64decode(d['data']['$2']).decode(), end='')"
}
rv() { api GET "$1" | jq_py "print(d['metadata']['resourceVersion'])"; }
bundle_count() { # certificates in webhooks[i].clientConfig.caBundle of the config
    api GET "/apis/admissionregistration.k8s.io/v1/$1/$CFG" |
        jq_py "import base64; print(' '.join(str(base64.b64decode(w['clientConfig'].get('caBundle','')).decode().count('BEGIN CERTIFICATE')) for w in d['webhooks']))"
}
run() { run_tool "$GW" certs --kubeconfig "$KC" "$@"; }

# two webhook configurations to patch, each with two webhooks that match
# nothing real (a group no one serves)
for kind in validatingwebhookconfigurations mutatingwebhookconfigurations; do
    api POST "/apis/admissionregistration.k8s.io/v1/$kind" -o /dev/null -H 'Content-Type: application/json' -d "{
      \"apiVersion\":\"admissionregistration.k8s.io/v1\",\"metadata\":{\"name\":\"$CFG\"},
      \"webhooks\":[
        {\"name\":\"a.certs-it.gatecheck.dev\",\"admissionReviewVersions\":[\"v1\"],\"sideEffects\":\"None\",
         \"clientConfig\":{\"url\":\"https://127.0.0.1:1/a\"},
         \"rules\":[{\"operations\":[\"CREATE\"],\"apiGroups\":[\"certs-it.invalid\"],\"apiVersions\":[\"v1\"],\"resources\":[\"things\"]}]},
        {\"name\":\"b.certs-it.gatecheck.dev\",\"admissionReviewVersions\":[\"v1\"],\"sideEffects\":\"None\",
         \"clientConfig\":{\"url\":\"https://127.0.0.1:1/b\"},
         \"rules\":[{\"operations\":[\"CREATE\"],\"apiGroups\":[\"certs-it.invalid\"],\"apiVersions\":[\"v1\"],\"resources\":[\"things\"]}]}]}"
done

SEC=gwhook-tls-$$
FLAGS="--service gwhook --namespace $NS --secret $SEC --patch-webhooks --webhook-config $CFG"

# shellcheck disable=SC2086
run $FLAGS
check "first run: exit 0" [ "$rc" -eq 0 ]
check "it reports the CA, the certificate, both Secrets and both configurations" sh -c "
  grep -q '^created CA serial' '$tmp/out' && grep -q '^issued serving certificate serial' '$tmp/out' &&
  grep -q '^created Secret $NS/$SEC-ca' '$tmp/out' && grep -q '^created Secret $NS/$SEC\$' '$tmp/out' &&
  grep -q '^patched caBundle of ValidatingWebhookConfiguration $CFG (2 webhooks)' '$tmp/out' &&
  grep -q '^patched caBundle of MutatingWebhookConfiguration $CFG (2 webhooks)' '$tmp/out'"
secret_key "$SEC" tls.crt > "$tmp/tls.crt"
secret_key "$SEC" ca.crt > "$tmp/ca.crt"
secret_key "$SEC-ca" tls.crt > "$tmp/ca-secret.crt"
t=$(api GET "/api/v1/namespaces/$NS/secrets/$SEC" | jq_py "print(d['type'], ','.join(sorted(d['data'])))")
check "Secret $SEC: type kubernetes.io/tls, keys ca.crt tls.crt tls.key" [ "$t" = "kubernetes.io/tls ca.crt,tls.crt,tls.key" ]
t=$(api GET "/api/v1/namespaces/$NS/secrets/$SEC-ca" | jq_py "print(d['type'], ','.join(sorted(d['data'])))")
check "Secret $SEC-ca holds the CA: type kubernetes.io/tls, keys tls.crt tls.key" [ "$t" = "kubernetes.io/tls tls.crt,tls.key" ]
check "ca.crt of $SEC is the CA of $SEC-ca" cmp -s "$tmp/ca.crt" "$tmp/ca-secret.crt"
check "tls.crt verifies against ca.crt for gwhook.$NS.svc" sh -c \
    "openssl verify -CAfile '$tmp/ca.crt' -verify_hostname 'gwhook.$NS.svc' '$tmp/tls.crt' > /dev/null"
check "every webhook's caBundle holds the one CA" [ "$(bundle_count validatingwebhookconfigurations) $(bundle_count mutatingwebhookconfigurations)" = "1 1 1 1" ]
b=$(api GET "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/$CFG" | jq_py "import base64; print(base64.b64decode(d['webhooks'][0]['clientConfig']['caBundle']).decode(), end='')")
check "and it is that CA" [ "$b" = "$(cat "$tmp/ca.crt")" ]

# idempotent: nothing is written the second time
r1=$(rv "/api/v1/namespaces/$NS/secrets/$SEC")
r2=$(rv "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/$CFG")
# shellcheck disable=SC2086
run $FLAGS
check "second run: exit 0, reuses and keeps everything" sh -c "[ $rc -eq 0 ] &&
  grep -q '^reused CA serial' '$tmp/out' && grep -q '^kept serving certificate serial' '$tmp/out' &&
  grep -q '^caBundle of ValidatingWebhookConfiguration $CFG already trusts the CA' '$tmp/out' &&
  ! grep -qE '^(created|updated) Secret' '$tmp/out'"
check "second run: the Secret and the configuration are not written (resourceVersion unchanged)" \
    [ "$r1 $r2" = "$(rv "/api/v1/namespaces/$NS/secrets/$SEC") $(rv "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/$CFG")" ]

# --out-dir as well: the files are the Secrets' content
# shellcheck disable=SC2086
run $FLAGS --out-dir "$tmp/dir"
check "--out-dir with --secret: the files are the ones in the Secrets" sh -c "[ $rc -eq 0 ] &&
  cmp -s '$tmp/dir/tls.crt' '$tmp/tls.crt' && cmp -s '$tmp/dir/ca.crt' '$tmp/ca.crt'"

# CA rotation: a renewal threshold beyond the CA's lifetime forces a new CA
cp "$tmp/ca.crt" "$tmp/old-ca.crt"
# shellcheck disable=SC2086
run $FLAGS --renew-before-days 4000
check "rotation: exit 0, a new CA, the caBundles carry both" sh -c "[ $rc -eq 0 ] &&
  grep -q '^created CA serial' '$tmp/out' && grep -q 'the caBundles carry both CAs' '$tmp/out'"
check "rotation: every webhook's caBundle holds the old and the new CA" \
    [ "$(bundle_count validatingwebhookconfigurations) $(bundle_count mutatingwebhookconfigurations)" = "2 2 2 2" ]
secret_key "$SEC" tls.crt > "$tmp/tls2.crt"
secret_key "$SEC" ca.crt > "$tmp/ca2.crt"
check "rotation: the new tls.crt verifies against the new CA, not the old" sh -c "
  openssl verify -CAfile '$tmp/ca2.crt' '$tmp/tls2.crt' > /dev/null 2>&1 &&
  ! openssl verify -CAfile '$tmp/old-ca.crt' '$tmp/tls2.crt' > /dev/null 2>&1"
api GET "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/$CFG" |
    jq_py "import base64; print(base64.b64decode(d['webhooks'][1]['clientConfig']['caBundle']).decode(), end='')" > "$tmp/bundle.pem"
check "rotation: the caBundle verifies both the old and the new tls.crt" sh -c "
  openssl verify -CAfile '$tmp/bundle.pem' '$tmp/tls.crt' > /dev/null 2>&1 &&
  openssl verify -CAfile '$tmp/bundle.pem' '$tmp/tls2.crt' > /dev/null 2>&1"

# errors
api POST "/api/v1/namespaces/$NS/secrets" -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"opaque-$$\"},\"type\":\"Opaque\",\"data\":{\"x\":\"eA==\"}}"
run --service gwhook --namespace $NS --secret "opaque-$$"
check "a Secret of another type: exit 1, says so and what to do" sh -c "[ $rc -eq 1 ] &&
  grep -q 'Secret $NS/opaque-$$ exists with type Opaque; gwhook certs keeps its files in kubernetes.io/tls Secrets' '$tmp/err'"
run --service gwhook --namespace no-such-ns-$$ --secret x
check "a namespace that does not exist: exit 1 with the API server's message" sh -c "[ $rc -eq 1 ] &&
  grep -q 'namespaces \"no-such-ns-$$\" not found' '$tmp/err'"
run --service gwhook --namespace $NS --secret "$SEC" --patch-webhooks --webhook-config "none-$$"
check "no configuration of that name: noted, exit 0" sh -c "[ $rc -eq 0 ] &&
  grep -q '^note: no ValidatingWebhookConfiguration none-$$: nothing to patch' '$tmp/out'"

for kind in validatingwebhookconfigurations mutatingwebhookconfigurations; do
    api DELETE "/apis/admissionregistration.k8s.io/v1/$kind/$CFG" -o /dev/null
done
for s in "$SEC" "$SEC-ca" "opaque-$$"; do
    api DELETE "/api/v1/namespaces/$NS/secrets/$s" -o /dev/null
done
echo "1..$n"
[ "$failures" -eq 0 ]

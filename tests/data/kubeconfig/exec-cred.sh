#!/bin/sh
# A stand-in exec credential plugin (client.authentication.k8s.io/v1) for
# tests/lib/test_kubeconfig.c and test_kube.c. $1 picks what it prints.
# With GC_EXEC_COUNT set, each run appends a line to that file.
api=client.authentication.k8s.io/v1
dir=$(dirname "$0")
runs=0
if [ -n "${GC_EXEC_COUNT:-}" ]; then
    echo run >> "$GC_EXEC_COUNT"
    runs=$(wc -l < "$GC_EXEC_COUNT" | tr -d ' ')
fi
cred() { # token expiry
    printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
        "$api" "$1" "$2"
}
pem() { # a PEM file as a JSON string body
    awk '{printf "%s\\n", $0}' "$1"
}
case "$1" in
token) cred exec-token 2999-01-01T00:00:00Z ;;
expired) cred "expired-$runs" 2000-01-01T00:00:00Z ;;
counter) cred "exec-token-$runs" 2999-01-01T00:00:00+02:00 ;;
wrong-version) printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"x"}}\n' ;;
info)
    server=$(printf '%s' "$KUBERNETES_EXEC_INFO" | sed -n 's/.*"server":"\([^"]*\)".*/\1/p')
    inter=$(printf '%s' "$KUBERNETES_EXEC_INFO" | sed -n 's/.*"interactive":\([a-z]*\).*/\1/p')
    ca=$(printf '%s' "$KUBERNETES_EXEC_INFO" | grep -c 'certificate-authority-data')
    cred "$server|$inter|ca=$ca" 2999-01-01T00:00:00Z ;;
env) cred "$GC_EXEC_TOKEN|$PATH_EXTRA|$2" 2999-01-01T00:00:00Z ;;
stdin)
    if IFS= read -r line; then t="stdin:$line"; else t=stdin-eof; fi
    cred "$t" 2999-01-01T00:00:00Z ;;
fail) echo "exec-cred.sh: plugin says no" >&2; exit 3 ;;
cert)
    printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"}}\n' \
        "$api" "$(pem "$dir/pki/client.crt")" "$(pem "$dir/pki/client.key")" ;;
garbage) echo "this is not JSON" ;;
no-status) printf '{"apiVersion":"%s","kind":"ExecCredential"}\n' "$api" ;;
bad-expiry) cred t yesterday ;;
*) echo "exec-cred.sh: unknown mode '$1'" >&2; exit 2 ;;
esac

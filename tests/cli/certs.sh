#!/bin/sh
# CLI suite for `gwhook certs`: the files a first run writes (checked with the
# openssl CLI, not with our own parser), idempotence (a second run changes no
# byte), new serving certificates when the SANs change or renewal is due, CA
# rotation, key modes, and the exit status and messages of bad flags and
# unusable directories or files.
#
# Run from anywhere: sh tests/cli/certs.sh. Prints TAP.
set -u
cd "$(dirname "$0")/../.." || exit 2

. tests/cli/lib/tap.sh

# check NAME COMMAND...: ok when the command succeeds; else show the last run's output.
check() {
    name=$1
    shift
    if "$@"; then
        ok "$name"
    else
        notok "$name"
        diag "$tmp/out" 20
        diag "$tmp/err" 20
    fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwhook-certs.XXXXXX") || exit 2
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A sanitizer report must not pass for a plain failure: give it its own status.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
export ASAN_OPTIONS UBSAN_OPTIONS

if [ -x build/san/gwhook ]; then
    GW=build/san/gwhook
    ok "build/san/gwhook (ASan/UBSan) exists and is used"
else
    notok "build/san/gwhook exists (run make build/san/gwhook)"
    echo "1..$n"
    exit 1
fi
if ! command -v openssl >/dev/null 2>&1; then
    notok "the openssl CLI is installed"
    echo "1..$n"
    exit 1
fi

sanitizer_runs=0
sanitizer_reports=0

# run ARGS...: gwhook certs; stdout in $tmp/out, stderr in $tmp/err, status in $rc.
run() {
    "$GW" certs "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    sanitizer_runs=$((sanitizer_runs + 1))
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/err"; then
        sanitizer_reports=$((sanitizer_reports + 1))
        echo "# sanitizer report in: gwhook certs $*"
        diag "$tmp/err" 20
    fi
}

out_has() { grep -qF -- "$1" "$tmp/out"; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
text_of() { openssl x509 -noout -text -in "$1" 2>/dev/null; }
has_text() { text_of "$1" | grep -qF -- "$2"; }
mode_of() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"; }
verifies() { openssl verify -CAfile "$1/ca.crt" "$1/tls.crt" >/dev/null 2>&1; }
same_files() {
    for f in ca.crt ca.key tls.crt tls.key; do
        cmp -s "$1/$f" "$2/$f" || return 1
    done
}
# only_the_four DIR: DIR holds the four files and nothing else (no temporaries).
only_the_four() {
    # shellcheck disable=SC2012 # our own file names, no odd characters
    [ "$(ls -A "$1" | tr '\n' ' ')" = "ca.crt ca.key tls.crt tls.key " ]
}
# pair_matches DIR NAME: NAME.key holds the private key of NAME.crt.
pair_matches() {
    a=$(openssl x509 -noout -pubkey -in "$1/$2.crt" 2>/dev/null)
    b=$(openssl pkey -pubout -in "$1/$2.key" 2>/dev/null)
    [ -n "$a" ] && [ "$a" = "$b" ]
}

D=$tmp/certs
SANS="--service gw --namespace gatecheck --dns extra.example --ip 127.0.0.1 --ip ::1"

# ---- help and bad flags ----------------------------------------------------

run --help
check "--help exits 0" [ "$rc" -eq 0 ]
check "--help explains the files and renewal" sh -c "grep -q 'ca.crt' '$tmp/out' &&
    grep -q 'renew-before-days' '$tmp/out' && grep -q 'exit status' '$tmp/out'"

for args in "--bogus --out-dir $D --dns a.example" \
    "--out-dir $D" \
    "--dns a.example" \
    "--out-dir $D --service gw" \
    "--out-dir $D --namespace ns --dns a.example" \
    "--out-dir $D --dns not_a_name!" \
    "--out-dir $D --ip 10.0.0" \
    "--out-dir $D --dns a.example --validity-days 0" \
    "--out-dir $D --dns a.example --validity-days ten" \
    "--out-dir $D --dns a.example --renew-before-days -1" \
    "--out-dir $D --dns a.example stray" \
    "--out-dir"; do
    # shellcheck disable=SC2086 # word splitting of the flags is intended
    run $args
    check "bad flags exit 2 with a message: $args" sh -c "[ $rc -eq 2 ] && grep -q '^error: ' '$tmp/err'"
done
check "bad flags write nothing" [ ! -e "$D" ]

# no cluster configured: says where it looked and what to set, writes nothing
saved_home=$HOME
HOME=$tmp/nohome
unset KUBECONFIG KUBERNETES_SERVICE_HOST
run --out-dir "$D" --dns a.example --secret webhook-tls
HOME=$saved_home
check "--secret without a kubeconfig exits 1 and says what to set" sh -c "[ $rc -eq 1 ] && grep -q '^error: no kubeconfig: set --kubeconfig or KUBECONFIG, or run inside a cluster' '$tmp/err'"
run --out-dir "$D" --dns a.example --patch-webhooks --kubeconfig "$tmp/missing.yaml"
check "--patch-webhooks with a missing --kubeconfig exits 1 naming it" sh -c "[ $rc -eq 1 ] && grep -q 'missing.yaml' '$tmp/err'"
check "--secret and --patch-webhooks write nothing when the cluster cannot be reached" [ ! -e "$D" ]
run --dns a.example
check "neither --out-dir nor --secret: usage error" sh -c "[ $rc -eq 2 ] && grep -q -- '--out-dir DIR or --secret NAME is required' '$tmp/err'"

# ---- first run -------------------------------------------------------------

# shellcheck disable=SC2086
run --out-dir "$D" $SANS
check "first run exits 0" [ "$rc" -eq 0 ]
check "first run reports a new CA and a new serving certificate" sh -c \
    "grep -q '^created CA serial [0-9A-F]* valid until 20' '$tmp/out' &&
     grep -q '^issued serving certificate serial [0-9A-F]* valid until 20' '$tmp/out'"
check "ca.crt, ca.key, tls.crt, tls.key and nothing else" only_the_four "$D"
check "key files are mode 600" sh -c "[ '$(mode_of "$D/ca.key")' = 600 ] && [ '$(mode_of "$D/tls.key")' = 600 ]"
check "certificate files are mode 644" sh -c "[ '$(mode_of "$D/ca.crt")' = 644 ] && [ '$(mode_of "$D/tls.crt")' = 644 ]"
check "openssl verify -CAfile ca.crt tls.crt" verifies "$D"
check "keys are PKCS#8 PEM" sh -c "head -n 1 '$D/tls.key' | grep -qx -- '-----BEGIN PRIVATE KEY-----' &&
    head -n 1 '$D/ca.key' | grep -qx -- '-----BEGIN PRIVATE KEY-----'"
check "tls.key belongs to tls.crt" pair_matches "$D" tls
check "ca.key belongs to ca.crt" pair_matches "$D" ca
ca_extensions_ok() {
    text_of "$1" >"$tmp/text"
    grep -q 'NIST CURVE: P-256' "$tmp/text" &&
        grep -A1 'Basic Constraints: critical' "$tmp/text" | grep -q 'CA:TRUE' &&
        grep -A1 'Key Usage: critical' "$tmp/text" | grep -q 'Certificate Sign, CRL Sign' &&
        grep -q 'Subject Key Identifier' "$tmp/text"
}
serving_extensions_ok() {
    text_of "$1" >"$tmp/text"
    grep -q 'NIST CURVE: P-256' "$tmp/text" &&
        grep -A1 'Basic Constraints' "$tmp/text" | grep -q 'CA:FALSE' &&
        grep -A1 'X509v3 Key Usage' "$tmp/text" | grep -qx ' *Digital Signature' &&
        grep -A1 'Extended Key Usage' "$tmp/text" | grep -qx ' *TLS Web Server Authentication' &&
        grep -q 'Authority Key Identifier' "$tmp/text"
}
check "CA: P-256, CA:TRUE critical, keyCertSign+cRLSign, subjectKeyIdentifier" \
    ca_extensions_ok "$D/ca.crt"
check "serving: P-256, CA:FALSE, digitalSignature, serverAuth, authorityKeyIdentifier" \
    serving_extensions_ok "$D/tls.crt"
check "serving SANs: the Service's names, --dns, --ip" has_text "$D/tls.crt" \
    'DNS:gw.gatecheck.svc, DNS:gw.gatecheck.svc.cluster.local, DNS:extra.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'
check "serving certificate: valid 365 days (default)" sh -c \
    "openssl x509 -noout -checkend $((364 * 86400)) -in '$D/tls.crt' >/dev/null &&
     ! openssl x509 -noout -checkend $((366 * 86400)) -in '$D/tls.crt' >/dev/null"
check "CA: valid 3650 days (default)" sh -c \
    "openssl x509 -noout -checkend $((3649 * 86400)) -in '$D/ca.crt' >/dev/null &&
     ! openssl x509 -noout -checkend $((3651 * 86400)) -in '$D/ca.crt' >/dev/null"
serial=$(openssl x509 -noout -serial -in "$D/tls.crt" | sed 's/^serial=//')
check "the printed serial is the certificate's ($serial)" out_has "issued serving certificate serial $serial "
serial_len_ok() { [ ${#serial} -le 32 ] && [ ${#serial} -ge 20 ]; }
check "serial is 128 bits at most, not tiny" serial_len_ok
nb=$(openssl x509 -noout -startdate -in "$D/tls.crt" | sed 's/^notBefore=//')
if nb_s=$(date -d "$nb" +%s 2>/dev/null); then
    check "notBefore is backdated for clock skew ($nb)" [ $(($(date +%s) - nb_s)) -ge 290 ]
else
    ok "notBefore is backdated for clock skew # SKIP date -d is not GNU date"
fi

# ---- second run: nothing changes -------------------------------------------

mkdir "$tmp/before" && cp -p "$D"/* "$tmp/before/"
sleep 1
# shellcheck disable=SC2086
run --out-dir "$D" $SANS
check "second run exits 0" [ "$rc" -eq 0 ]
check "second run reuses the CA and keeps the serving certificate" sh -c \
    "grep -q '^reused CA serial' '$tmp/out' && grep -q '^kept serving certificate serial $serial ' '$tmp/out' &&
     ! grep -q 'issued' '$tmp/out'"
check "second run: all four files unchanged, byte for byte" same_files "$D" "$tmp/before"
check "second run: no file rewritten (mtimes kept)" sh -c \
    "[ -z \"\$(find '$D' -newer '$tmp/before/tls.crt' -type f)\" ]"
run --out-dir "$D" --ip ::1 --dns EXTRA.example --ip 127.0.0.1 --namespace gatecheck --service gw
check "same SANs in another order and case: kept" sh -c "[ $rc -eq 0 ] && grep -q '^kept serving' '$tmp/out'"
check "... files unchanged" same_files "$D" "$tmp/before"

# ---- changes ---------------------------------------------------------------

run --out-dir "$D" --service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1
check "changed --dns exits 0" [ "$rc" -eq 0 ]
check "changed --dns: same CA, new serving certificate, says why" sh -c \
    "grep -q '^reused CA' '$tmp/out' && grep -q '^issued serving certificate.*the SANs were .*DNS:extra.example' '$tmp/out'"
check "changed --dns: ca.crt and ca.key unchanged" sh -c \
    "cmp -s '$D/ca.crt' '$tmp/before/ca.crt' && cmp -s '$D/ca.key' '$tmp/before/ca.key'"
check "changed --dns: new tls.crt and tls.key" sh -c \
    "! cmp -s '$D/tls.crt' '$tmp/before/tls.crt' && ! cmp -s '$D/tls.key' '$tmp/before/tls.key'"
check "changed --dns: the new SAN is in, the old one out" sh -c \
    "openssl x509 -noout -text -in '$D/tls.crt' | grep -q 'DNS:other.example' &&
     ! openssl x509 -noout -text -in '$D/tls.crt' | grep -q 'DNS:extra.example'"
check "changed --dns: verifies with the same ca.crt" verifies "$D"
check "changed --dns: key mode 600" [ "$(mode_of "$D/tls.key")" = 600 ]
check "no temporary files left" only_the_four "$D"

cp "$D/tls.crt" "$tmp/tls.crt.1"
run --out-dir "$D" --service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1 \
    --validity-days 10 --renew-before-days 400
check "--renew-before-days larger than the remaining validity renews" sh -c \
    "[ $rc -eq 0 ] && grep -q '^issued serving certificate.*within --renew-before-days 400' '$tmp/out' &&
     grep -q '^reused CA' '$tmp/out'"
check "... with the new --validity-days 10" sh -c \
    "openssl x509 -noout -checkend $((9 * 86400)) -in '$D/tls.crt' >/dev/null &&
     ! openssl x509 -noout -checkend $((11 * 86400)) -in '$D/tls.crt' >/dev/null"
check "... and it verifies" verifies "$D"
run --out-dir "$D" --service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1 \
    --renew-before-days 5
check "outside --renew-before-days: kept" sh -c "[ $rc -eq 0 ] && grep -q '^kept serving' '$tmp/out'"

cp "$D/ca.key" "$tmp/ca.key.1"
cp "$D/tls.key" "$tmp/tls.key.1"
cp "$D/tls.crt" "$tmp/tls.crt.2"
cp "$D/ca.key" "$D/tls.key"
run --out-dir "$D" --service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1
check "tls.key not matching tls.crt: a new serving certificate" sh -c \
    "[ $rc -eq 0 ] && grep -q '^issued serving.*does not match' '$tmp/out'"
pair_verifies() { pair_matches "$1" tls && verifies "$1"; }
check "... which verifies, with its key" pair_verifies "$D"

E=$tmp/elsewhere
run --out-dir "$E" --service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1
cp "$E/tls.crt" "$E/tls.key" "$D/"
run --out-dir "$D" --service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1
check "a serving certificate from another CA is replaced" sh -c \
    "[ $rc -eq 0 ] && grep -q '^issued serving.*not signed by the CA' '$tmp/out'"
check "... and the new one verifies with our CA" verifies "$D"

cp "$D/ca.crt" "$tmp/ca.crt.1"
run --out-dir "$D" --service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1 \
    --renew-before-days 4000 --ca-validity-days 5000
check "a CA within --renew-before-days is replaced, and says what to do" sh -c \
    "[ $rc -eq 0 ] && grep -q '^created CA' '$tmp/out' && grep -q '^note: the old CA serial .* expires on' '$tmp/out' &&
     grep -q 'caBundle' '$tmp/out' && grep -q '^issued serving certificate.*new CA' '$tmp/out'"
new_ca_verifies() { ! cmp -s "$D/ca.crt" "$tmp/ca.crt.1" && verifies "$D"; }
check "... a new ca.crt, and tls.crt verifies with it" new_ca_verifies
check "... the old CA no longer verifies the new tls.crt" sh -c \
    "! openssl verify -CAfile '$tmp/ca.crt.1' '$D/tls.crt' >/dev/null 2>&1"

# ---- unusable files and directories -----------------------------------------

mkdir "$tmp/before2" && cp -p "$D"/* "$tmp/before2/"
SANS2="--service gw --namespace gatecheck --dns other.example --ip 127.0.0.1 --ip ::1"
rm "$D/ca.key"
# shellcheck disable=SC2086
run --out-dir "$D" $SANS2
check "ca.crt without ca.key: exit 1, names the missing file and what to do" sh -c \
    "[ $rc -eq 1 ] && grep -qF '$D/ca.key does not' '$tmp/err' && grep -q 'restore the missing file' '$tmp/err'"
check "... and writes nothing" sh -c "[ ! -e '$D/ca.key' ] && cmp -s '$D/tls.crt' '$tmp/before2/tls.crt'"

cp "$tmp/before2/tls.key" "$D/ca.key"
# shellcheck disable=SC2086
run --out-dir "$D" $SANS2
check "ca.key of another certificate: exit 1, clear message" sh -c \
    "[ $rc -eq 1 ] && grep -qF '$D/ca.crt with $D/ca.key: private key does not match the certificate' '$tmp/err' &&
     grep -q 'restore the key of this CA, or remove both files' '$tmp/err'"

cp "$tmp/before2/ca.key" "$D/ca.key"
echo "not a certificate" >"$D/ca.crt"
# shellcheck disable=SC2086
run --out-dir "$D" $SANS2
check "unparsable ca.crt: exit 1, names the file and what to do" sh -c \
    "[ $rc -eq 1 ] && grep -qF 'error: $D/ca.crt: cannot parse the certificate' '$tmp/err' &&
     grep -q 'remove .* to create a new CA' '$tmp/err'"
check "... ca.key left alone" cmp -s "$D/ca.key" "$tmp/before2/ca.key"

cp "$tmp/before2/tls.crt" "$D/ca.crt"
cp "$tmp/before2/tls.key" "$D/ca.key"
# shellcheck disable=SC2086
run --out-dir "$D" $SANS2
check "a serving certificate as ca.crt: exit 1, not a CA" sh -c \
    "[ $rc -eq 1 ] && grep -qF '$D/ca.crt: not a CA certificate' '$tmp/err'"
cp -p "$tmp/before2/"* "$D/"

touch "$tmp/plainfile"
run --out-dir "$tmp/plainfile/sub" --dns a.example
check "--out-dir under a regular file: exit 1, names the directory" sh -c \
    "[ $rc -eq 1 ] && grep -qF 'cannot create directory $tmp/plainfile/sub' '$tmp/err'"
run --out-dir "$tmp/plainfile" --dns a.example
check "--out-dir is a regular file: exit 1" sh -c "[ $rc -eq 1 ] && grep -q 'not a directory' '$tmp/err'"

mkdir "$tmp/dirkey" && mkdir "$tmp/dirkey/ca.key"
run --out-dir "$tmp/dirkey" --dns a.example
check "a directory where ca.key should be: exit 1, names it" sh -c \
    "[ $rc -eq 1 ] && grep -qF '$tmp/dirkey/ca.key' '$tmp/err'"

if [ "$(id -u)" -ne 0 ]; then
    mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
    run --out-dir "$tmp/ro" --dns a.example
    check "read-only --out-dir: exit 1, names the file, asks if writable" sh -c \
        "[ $rc -eq 1 ] && grep -qF 'cannot write $tmp/ro/ca.key' '$tmp/err' && grep -q 'is --out-dir writable' '$tmp/err'"
    check "... leaves nothing behind" [ -z "$(ls -A "$tmp/ro")" ]
else
    ok "read-only --out-dir # SKIP running as root, which can write anywhere"
fi

check "no sanitizer report in $sanitizer_runs runs" [ "$sanitizer_reports" -eq 0 ]

echo "1..$n"
[ "$failures" -eq 0 ]

/*
 * Certificates with OpenSSL 3 (see include/certs.h): P-256 keys, a
 * self-signed CA, serving certificates signed by it, the checks made before
 * a certificate is used, and the caBundle merge for CA rotation.
 *
 * Every public function clears OpenSSL's error queue on the way out, so one
 * failure never shows up as the reason of the next.
 */
#include "certs.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util.h"

#define CLOCK_SKEW_S  300   /* notBefore is backdated this much */
#define MAX_DAYS      36525 /* 100 years */
#define MAX_CN_BYTES  64    /* ub-common-name, RFC 5280 */
#define MAX_DNS_BYTES 253
#define SERIAL_BYTES  16 /* 128 random bits */

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "what: <OpenSSL's reason>" for the last error in the queue. */
static void set_ssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;

    if (e && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        reason = "no PEM block found";
    else if (e && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_BAD_PASSWORD_READ)
        reason = "encrypted keys are not supported";
    else if (e && ERR_GET_LIB(e) == ERR_LIB_OSSL_DECODER)
        reason = "no PEM private key found, or one of an unsupported type";
    set_err(err, errlen, "%s: %s", what, reason ? reason : "unknown OpenSSL error");
}

static char *bio_string(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);

    return xstrndup(n > 0 ? p : "", n > 0 ? (size_t)n : 0);
}

/* Never prompt on a terminal for an encrypted key: fail instead. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static X509 *read_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;

    BIO_free(b);
    return x;
}

static EVP_PKEY *read_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;

    BIO_free(b);
    return k;
}

/* Append the certificates of one PEM block to sk (other blocks are skipped). */
static void push_block(STACK_OF(X509) * sk, const char *name, const unsigned char *data, long len)
{
    const unsigned char *p = data;
    X509 *x;

    if (strcmp(name, PEM_STRING_X509) != 0 && strcmp(name, PEM_STRING_X509_OLD) != 0)
        return;
    x = d2i_X509(NULL, &p, len);
    if (x && !sk_X509_push(sk, x))
        X509_free(x);
}

/*
 * Every certificate in a PEM text, in order; blocks that are not
 * certificates or do not parse are skipped. Caller frees with
 * sk_X509_pop_free(sk, X509_free). pem may be NULL.
 */
static STACK_OF(X509) * read_certs(const char *pem)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *b = pem && sk ? BIO_new_mem_buf(pem, -1) : NULL;

    while (b && BIO_pending(b) > 0) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        int before = BIO_pending(b);
        int got = PEM_read_bio(b, &name, &header, &data, &len);

        if (got)
            push_block(sk, name, data, len);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        /* A bad block is consumed and skipped; stop at the end or if stuck. */
        if (!got && (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE ||
                     BIO_pending(b) >= before))
            break;
    }
    BIO_free(b);
    ERR_clear_error();
    return sk;
}

static int to_time_t(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *out = timegm(&tm);
    return 0;
}

/* RFC 3339, UTC: "2026-01-02T03:04:05Z". */
static const char *fmt_time(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "@%lld", (long long)t);
    return buf;
}

static EVP_PKEY *new_key(char *err, size_t errlen)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    if (!k)
        set_ssl_err(err, errlen, "cannot generate a P-256 key");
    return k;
}

static int set_serial(X509 *x)
{
    unsigned char buf[SERIAL_BYTES];
    BIGNUM *bn = NULL;
    int rc = -1;

    if (RAND_bytes(buf, (int)sizeof(buf)) != 1)
        goto out;
    bn = BN_bin2bn(buf, (int)sizeof(buf), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto out;
    rc = 0;
out:
    BN_free(bn);
    return rc;
}

static int check_days(long days, char *err, size_t errlen)
{
    if (days >= 1 && days <= MAX_DAYS)
        return 0;
    set_err(err, errlen, "validity of %ld days: must be between 1 and %d", days, MAX_DAYS);
    return -1;
}

/*
 * notBefore now-5min+offset_s, notAfter now+days+offset_s; never after the
 * notAfter of ca (when not NULL).
 */
static int set_validity(X509 *x, long days, long offset_s, const X509 *ca)
{
    time_t now = time(NULL);

    if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, offset_s - CLOCK_SKEW_S, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, offset_s, &now))
        return -1;
    if (ca && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) > 0 &&
        X509_set1_notAfter(x, X509_get0_notAfter(ca)) != 1)
        return -1;
    return 0;
}

/* A v3 certificate for key with a random serial and subject CN=cn (if cn). */
static X509 *new_cert(EVP_PKEY *key, const char *cn, char *err, size_t errlen)
{
    X509 *x = X509_new();

    if (cn && (!*cn || strlen(cn) > MAX_CN_BYTES)) {
        set_err(err, errlen, "common name '%s': must be 1 to %d bytes long", cn, MAX_CN_BYTES);
        goto fail;
    }
    if (!x || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) != 0 ||
        X509_set_pubkey(x, key) != 1 ||
        (cn && X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                                          (const unsigned char *)cn, -1, -1, 0) != 1)) {
        set_ssl_err(err, errlen, "cannot build the certificate");
        goto fail;
    }
    return x;
fail:
    X509_free(x);
    return NULL;
}

/* Add one extension in openssl.cnf syntax, e.g. "critical,CA:TRUE". */
static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, char *err, size_t errlen)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1) == 1;

    if (!ok)
        set_ssl_err(err, errlen, OBJ_nid2ln(nid));
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int valid_dns_name(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > MAX_DNS_BYTES)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
            c != '-' && c != '.' && c != '*' && c != '_')
            return 0;
    }
    return 1;
}

/* A GENERAL_NAME for a DNS name or (ip) an IPv4/IPv6 address; NULL if invalid. */
static GENERAL_NAME *san_entry(const char *s, int ip)
{
    unsigned char addr[16];
    int len = 0;
    ASN1_STRING *v;
    GENERAL_NAME *gn;

    if (ip && inet_pton(AF_INET, s, addr) == 1)
        len = 4;
    else if (ip && inet_pton(AF_INET6, s, addr) == 1)
        len = 16;
    if (ip ? len == 0 : !valid_dns_name(s))
        return NULL;
    v = ip ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    gn = GENERAL_NAME_new();
    if (!v || !gn || (ip ? ASN1_OCTET_STRING_set(v, addr, len) : ASN1_STRING_set(v, s, -1)) != 1) {
        ASN1_STRING_free(v);
        GENERAL_NAME_free(gn);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, ip ? GEN_IPADD : GEN_DNS, v);
    return gn;
}

static int push_sans(GENERAL_NAMES *gens, const char *const *list, int ip, char *err, size_t errlen)
{
    for (; list && *list; list++) {
        GENERAL_NAME *gn = san_entry(*list, ip);

        if (!gn) {
            set_err(err, errlen, ip ? "invalid IP address '%s'" : "invalid DNS name '%s'", *list);
            return -1;
        }
        if (!sk_GENERAL_NAME_push(gens, gn)) {
            GENERAL_NAME_free(gn);
            set_err(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int add_sans(X509 *x, const struct certs_request *req, char *err, size_t errlen)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int rc = -1;

    if (!gens || push_sans(gens, req->dns, 0, err, errlen) != 0 ||
        push_sans(gens, req->ips, 1, err, errlen) != 0)
        goto out;
    if (sk_GENERAL_NAME_num(gens) == 0) {
        set_err(err, errlen, "no subjectAltName: give at least one DNS name or IP address");
        goto out;
    }
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) {
        set_ssl_err(err, errlen, "subjectAltName");
        goto out;
    }
    rc = 0;
out:
    GENERAL_NAMES_free(gens);
    return rc;
}

/* Sign x with key and hand both out as PEM. */
static int sign_to_pem(X509 *x, EVP_PKEY *key, EVP_PKEY *signer, struct certs_pem *out, char *err,
                       size_t errlen)
{
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    int rc = -1;

    if (X509_sign(x, signer, EVP_sha256()) <= 0) {
        set_ssl_err(err, errlen, "cannot sign the certificate");
        goto out;
    }
    if (!cb || !kb || PEM_write_bio_X509(cb, x) != 1 ||
        PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1) {
        set_ssl_err(err, errlen, "cannot encode PEM");
        goto out;
    }
    out->cert = bio_string(cb);
    out->key = bio_string(kb);
    rc = 0;
out:
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

int certs_create_ca(const char *common_name, long validity_days, struct certs_pem *out, char *err,
                    size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    X509V3_CTX ctx;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    set_err(err, errlen, "%s", "");
    if (check_days(validity_days, err, errlen) != 0)
        goto out;
    key = new_key(err, errlen);
    x = key ? new_cert(key, common_name ? common_name : "gatecheck-ca", err, errlen) : NULL;
    if (!x)
        goto out;
    if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
        set_validity(x, validity_days, 0, NULL) != 0) {
        set_ssl_err(err, errlen, "cannot build the CA certificate");
        goto out;
    }
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE", err, errlen) != 0 ||
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", err, errlen) != 0 ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash", err, errlen) != 0)
        goto out;
    rc = sign_to_pem(x, key, key, out, err, errlen);
out:
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* The CA's certificate and key, checked to belong together and to be a CA. */
static int load_ca(const struct certs_pem *ca, X509 **cert, EVP_PKEY **key, char *err,
                   size_t errlen)
{
    *cert = ca && ca->cert ? read_cert(ca->cert) : NULL;
    if (!*cert) {
        set_ssl_err(err, errlen, "cannot parse the CA certificate");
        return -1;
    }
    *key = ca->key ? read_key(ca->key) : NULL;
    if (!*key) {
        set_ssl_err(err, errlen, "cannot parse the CA private key");
        return -1;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(*cert), *key) != 1) {
        set_err(err, errlen, "the CA private key does not match the CA certificate");
        return -1;
    }
    if (!(X509_get_extension_flags(*cert) & EXFLAG_CA)) {
        set_err(err, errlen, "the CA certificate is not a CA (no basicConstraints CA:TRUE)");
        return -1;
    }
    return 0;
}

int certs_issue(const struct certs_pem *ca, const struct certs_request *req, struct certs_pem *out,
                char *err, size_t errlen)
{
    X509 *cacert = NULL, *x = NULL;
    EVP_PKEY *cakey = NULL, *key = NULL;
    X509V3_CTX ctx;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    set_err(err, errlen, "%s", "");
    if (load_ca(ca, &cacert, &cakey, err, errlen) != 0 ||
        check_days(req->validity_days, err, errlen) != 0)
        goto out;
    key = new_key(err, errlen);
    x = key ? new_cert(key, req->common_name, err, errlen) : NULL;
    if (!x)
        goto out;
    if (X509_set_issuer_name(x, X509_get_subject_name(cacert)) != 1 ||
        set_validity(x, req->validity_days, req->not_before_offset_s, cacert) != 0) {
        set_ssl_err(err, errlen, "cannot build the serving certificate");
        goto out;
    }
    X509V3_set_ctx(&ctx, cacert, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", err, errlen) != 0 ||
        add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature", err, errlen) != 0 ||
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth", err, errlen) != 0 ||
        add_sans(x, req, err, errlen) != 0 ||
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err, errlen) != 0)
        goto out;
    rc = sign_to_pem(x, key, cakey, out, err, errlen);
out:
    X509_free(cacert);
    X509_free(x);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* Printable ASCII copy of an IA5String (a hostile certificate may hold anything). */
static void put_ia5(struct sbuf *sb, const char *prefix, const ASN1_STRING *s)
{
    const unsigned char *p = ASN1_STRING_get0_data(s);
    int i, n = ASN1_STRING_length(s);

    sb_puts(sb, prefix);
    for (i = 0; i < n; i++) {
        if (p[i] > 0x20 && p[i] < 0x7f && p[i] != ',')
            sb_putc(sb, (char)p[i]);
        else
            sb_putc(sb, '?');
    }
}

static void put_ip(struct sbuf *sb, const ASN1_OCTET_STRING *s)
{
    char buf[INET6_ADDRSTRLEN];
    int n = ASN1_STRING_length(s);
    const unsigned char *p = ASN1_STRING_get0_data(s);

    if ((n == 4 || n == 16) && inet_ntop(n == 4 ? AF_INET : AF_INET6, p, buf, sizeof(buf)))
        sb_printf(sb, "IP:%s", buf);
    else
        sb_puts(sb, "IP:<invalid>");
}

/* "DNS:a, IP:1.2.3.4" into out; cut at an entry boundary with ", ..." if too long. */
static void sans_string(const X509 *x, char *out, size_t outlen)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    struct sbuf sb = {0};
    int i;

    out[0] = '\0';
    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        size_t mark = sb.len;

        if (i > 0)
            sb_puts(&sb, ", ");
        if (gn->type == GEN_DNS)
            put_ia5(&sb, "DNS:", gn->d.dNSName);
        else if (gn->type == GEN_IPADD)
            put_ip(&sb, gn->d.iPAddress);
        else if (gn->type == GEN_URI)
            put_ia5(&sb, "URI:", gn->d.uniformResourceIdentifier);
        else if (gn->type == GEN_EMAIL)
            put_ia5(&sb, "email:", gn->d.rfc822Name);
        else
            sb_puts(&sb, "other:<unsupported>");
        if (sb.len + sizeof(", ...") > outlen) {
            sb_truncate(&sb, mark);
            sb_puts(&sb, i > 0 ? ", ..." : "...");
            break;
        }
    }
    if (sb.len)
        memcpy(out, sb.buf, sb.len + 1);
    sb_release(&sb);
    GENERAL_NAMES_free(gens);
}

static int fill_info(X509 *x, struct certs_info *info, char *err, size_t errlen)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = -1;

    memset(info, 0, sizeof(*info));
    if (!hex || to_time_t(X509_get0_notBefore(x), &info->not_before) != 0 ||
        to_time_t(X509_get0_notAfter(x), &info->not_after) != 0) {
        set_ssl_err(err, errlen, "cannot read the certificate's serial or validity");
        goto out;
    }
    snprintf(info->serial, sizeof(info->serial), "%s", hex);
    sans_string(x, info->sans, sizeof(info->sans));
    info->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
    rc = 0;
out:
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

/* The key matches the certificate and now is within its validity. */
static int check_pair(const X509 *x, const char *key_pem, const struct certs_info *info, char *err,
                      size_t errlen)
{
    EVP_PKEY *key = read_key(key_pem);
    time_t now = time(NULL);
    char when[32];
    int rc = -1;

    if (!key) {
        set_ssl_err(err, errlen, "cannot parse the private key");
        goto out;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1) {
        set_err(err, errlen, "private key does not match the certificate");
        goto out;
    }
    if (now < info->not_before) {
        set_err(err, errlen, "certificate is not valid before %s (check the clock)",
                fmt_time(info->not_before, when, sizeof(when)));
        goto out;
    }
    if (now > info->not_after) {
        set_err(err, errlen, "certificate expired on %s",
                fmt_time(info->not_after, when, sizeof(when)));
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(key);
    return rc;
}

int certs_check(const char *cert_pem, const char *key_pem, struct certs_info *info, char *err,
                size_t errlen)
{
    struct certs_info local;
    X509 *x = cert_pem ? read_cert(cert_pem) : NULL;
    int rc = -1;

    set_err(err, errlen, "%s", "");
    if (!info)
        info = &local;
    if (!x) {
        set_ssl_err(err, errlen, "cannot parse the certificate");
        goto out;
    }
    if (fill_info(x, info, err, errlen) != 0)
        goto out;
    rc = key_pem ? check_pair(x, key_pem, info, err, errlen) : 0;
out:
    X509_free(x);
    ERR_clear_error();
    return rc;
}

int certs_verify(const char *cert_pem, const char *ca_pem, char *err, size_t errlen)
{
    STACK_OF(X509) *chain = read_certs(cert_pem), *cas = read_certs(ca_pem);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int i, rc = -1;

    set_err(err, errlen, "%s", "");
    if (sk_X509_num(chain) < 1 || sk_X509_num(cas) < 1) {
        set_err(err, errlen, "%s",
                sk_X509_num(chain) < 1 ? "no certificate to verify"
                                       : "no CA certificate to verify with");
        goto out;
    }
    for (i = 0; store && i < sk_X509_num(cas); i++)
        X509_STORE_add_cert(store, sk_X509_value(cas, i)); /* a duplicate is no error */
    if (!store || !ctx || X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), chain) != 1 ||
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1) {
        set_ssl_err(err, errlen, "cannot set up verification");
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        set_err(err, errlen, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(cas, X509_free);
    ERR_clear_error();
    return rc;
}

static int in_stack(STACK_OF(X509) * sk, const X509 *x)
{
    int i;

    for (i = 0; i < sk_X509_num(sk); i++)
        if (X509_cmp(sk_X509_value(sk, i), x) == 0)
            return 1;
    return 0;
}

char *certs_bundle_merge(const char *existing_bundle_pem, const char *new_ca_pem, time_t now)
{
    STACK_OF(X509) *old = read_certs(existing_bundle_pem), *add = read_certs(new_ca_pem);
    STACK_OF(X509) *keep = sk_X509_new_null(); /* borrowed pointers */
    BIO *b = BIO_new(BIO_s_mem());
    X509 *ca = sk_X509_num(add) > 0 ? sk_X509_value(add, 0) : NULL;
    char *res = NULL;
    int i, ok = 1;

    if (!ca || !keep || !b)
        goto out;
    for (i = 0; i < sk_X509_num(old); i++) {
        X509 *x = sk_X509_value(old, i);
        time_t not_after;

        if (to_time_t(X509_get0_notAfter(x), &not_after) != 0 || not_after < now ||
            X509_cmp(x, ca) == 0 || in_stack(keep, x))
            continue;
        ok &= sk_X509_push(keep, x) > 0;
    }
    ok &= sk_X509_push(keep, ca) > 0;
    for (i = 0; ok && i < sk_X509_num(keep); i++)
        ok &= PEM_write_bio_X509(b, sk_X509_value(keep, i)) == 1;
    if (ok)
        res = bio_string(b);
out:
    BIO_free(b);
    sk_X509_free(keep);
    sk_X509_pop_free(old, X509_free);
    sk_X509_pop_free(add, X509_free);
    ERR_clear_error();
    return res;
}

void certs_pem_release(struct certs_pem *p)
{
    if (!p)
        return;
    free(p->cert);
    free(p->key);
    p->cert = NULL;
    p->key = NULL;
}

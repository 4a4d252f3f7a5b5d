/*
 * Certificates (webhook/certs.c): the CA and serving certificates as
 * generated (checked with OpenSSL's own accessors, not with our parser),
 * certs_check on good and bad pairs, expired and not-yet-valid certificates
 * (made with the test-only not_before_offset_s), chains, verification, and
 * the caBundle merge.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../tap.h"
#include "certs.h"
#include "util.h"

#define DAY 86400L

static const char *const svc_dns[] = {"svc.ns.svc", "svc.ns.svc.cluster.local", NULL};
static const char *const loop_ips[] = {"127.0.0.1", "::1", NULL};

static X509 *parse(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

    BIO_free(b);
    return x;
}

static int ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);

    return i >= 0 ? X509_EXTENSION_get_critical(X509_get_ext(x, i)) : -1;
}

static int contains(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

static struct certs_pem make_ca(const char *cn, long days)
{
    struct certs_pem ca = {0};
    char err[256];

    if (certs_create_ca(cn, days, &ca, err, sizeof(err)) != 0)
        printf("# certs_create_ca: %s\n", err);
    return ca;
}

static struct certs_pem issue(const struct certs_pem *ca, long days, long offset_s)
{
    struct certs_request req = {.common_name = "svc.ns.svc",
                                .dns = svc_dns,
                                .ips = loop_ips,
                                .validity_days = days,
                                .not_before_offset_s = offset_s};
    struct certs_pem out = {0};
    char err[256];

    if (certs_issue(ca, &req, &out, err, sizeof(err)) != 0)
        printf("# certs_issue: %s\n", err);
    return out;
}

static void test_ca(void)
{
    struct certs_pem ca = make_ca("test-ca", 30);
    struct certs_info info;
    char err[256];
    time_t now = time(NULL);
    X509 *x = ca.cert ? parse(ca.cert) : NULL;
    EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
    char group[32] = "";
    size_t glen = 0;

    ok(x != NULL, "CA: certificate is PEM");
    ok(contains(ca.key, "-----BEGIN PRIVATE KEY-----"), "CA: key is PKCS#8 PEM");
    ok(pub && EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) == 1 &&
           !strcmp(group, "prime256v1"),
       "CA: key is ECDSA P-256 (%s)", group);
    ok(certs_check(ca.cert, ca.key, &info, err, sizeof(err)) == 0, "CA: certs_check with key: %s",
       err);
    ok(info.is_ca && !info.sans[0], "CA: is_ca, no SANs");
    ok(info.not_before <= now - 299 && info.not_before >= now - 310,
       "CA: notBefore is 5 minutes in the past");
    ok(info.not_after >= now + 30 * DAY - 10 && info.not_after <= now + 30 * DAY + 10,
       "CA: notAfter is validity_days ahead");
    ok(strlen(info.serial) >= 20 && strlen(info.serial) <= 32 &&
           strspn(info.serial, "0123456789ABCDEF") == strlen(info.serial),
       "CA: serial is up to 128 bits of hex (%s)", info.serial);
    ok(x && (X509_get_extension_flags(x) & EXFLAG_CA) &&
           ext_critical(x, NID_basic_constraints) == 1,
       "CA: basicConstraints CA:TRUE, critical");
    ok(x && X509_get_key_usage(x) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
       "CA: keyUsage keyCertSign, cRLSign");
    ok(x && X509_get0_subject_key_id(x) != NULL, "CA: subjectKeyIdentifier");
    ok(x && X509_check_issued(x, x) == X509_V_OK, "CA: self-signed");
    X509_free(x);
    certs_pem_release(&ca);
    ok(!ca.cert && !ca.key, "certs_pem_release clears the struct");
    certs_pem_release(&ca);
}

static void check_leaf_extensions(X509 *x, X509 *cax)
{
    char cn[80] = "";

    ok(!(X509_get_extension_flags(x) & EXFLAG_CA) && ext_critical(x, NID_basic_constraints) >= 0,
       "leaf: basicConstraints CA:FALSE");
    ok(X509_get_key_usage(x) == KU_DIGITAL_SIGNATURE, "leaf: keyUsage digitalSignature");
    ok((X509_get_extended_key_usage(x) & XKU_SSL_SERVER) &&
           X509_get_extended_key_usage(x) == XKU_SSL_SERVER,
       "leaf: extendedKeyUsage serverAuth only");
    ok(X509_get0_authority_key_id(x) &&
           !ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(cax)),
       "leaf: authorityKeyIdentifier is the CA's subjectKeyIdentifier");
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    is_str(cn, "svc.ns.svc", "leaf: subject CN");
    ok(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(cax)) == 0,
       "leaf: issuer is the CA's subject");
}

static void test_issue(void)
{
    struct certs_pem ca = make_ca("test-ca", 30), a = issue(&ca, 10, 0), b = issue(&ca, 10, 0);
    struct certs_info ia, ib;
    char err[256];
    time_t now = time(NULL);
    X509 *x = a.cert ? parse(a.cert) : NULL, *cax = ca.cert ? parse(ca.cert) : NULL;

    ok(certs_check(a.cert, a.key, &ia, err, sizeof(err)) == 0, "leaf: certs_check with key: %s",
       err);
    is_str(ia.sans, "DNS:svc.ns.svc, DNS:svc.ns.svc.cluster.local, IP:127.0.0.1, IP:::1",
           "leaf: SANs, DNS then IP, in order");
    ok(!ia.is_ca, "leaf: not a CA");
    ok(ia.not_after >= now + 10 * DAY - 10 && ia.not_after <= now + 10 * DAY + 10 &&
           ia.not_before <= now - 299,
       "leaf: validity now-5min .. now+validity_days");
    ok(certs_check(b.cert, b.key, &ib, err, sizeof(err)) == 0 && strcmp(ia.serial, ib.serial) != 0,
       "leaf: two issues get different serials (%s, %s)", ia.serial, ib.serial);
    ok(certs_verify(a.cert, ca.cert, err, sizeof(err)) == 0, "leaf verifies against the CA: %s",
       err);
    if (x && cax)
        check_leaf_extensions(x, cax);
    ok(certs_check(a.cert, b.key, NULL, err, sizeof(err)) == -1 &&
           contains(err, "private key does not match the certificate"),
       "mismatched key: %s", err);
    ok(certs_check(a.cert, ca.key, NULL, err, sizeof(err)) == -1 && contains(err, "does not match"),
       "the CA key does not match the leaf: %s", err);
    X509_free(x);
    X509_free(cax);
    certs_pem_release(&a);
    certs_pem_release(&b);
    certs_pem_release(&ca);
}

static void test_validity(void)
{
    struct certs_pem ca = make_ca("test-ca", 30);
    struct certs_pem old = issue(&ca, 1, -3 * DAY), future = issue(&ca, 10, 2 * DAY);
    struct certs_pem clamped = issue(&ca, 365, 0);
    struct certs_info info, cainfo;
    char err[256];

    ok(certs_check(old.cert, old.key, &info, err, sizeof(err)) == -1 &&
           contains(err, "certificate expired on 20") && contains(err, "Z"),
       "expired: %s", err);
    ok(info.not_after < time(NULL) && info.serial[0], "expired: info is filled anyway");
    ok(certs_check(old.cert, NULL, &info, err, sizeof(err)) == 0,
       "expired: without a key only parses");
    ok(certs_verify(old.cert, ca.cert, err, sizeof(err)) == -1 && contains(err, "expired"),
       "expired: does not verify: %s", err);
    ok(certs_check(future.cert, future.key, &info, err, sizeof(err)) == -1 &&
           contains(err, "not valid before"),
       "not yet valid: %s", err);
    certs_check(ca.cert, NULL, &cainfo, err, sizeof(err));
    ok(certs_check(clamped.cert, NULL, &info, err, sizeof(err)) == 0 &&
           info.not_after == cainfo.not_after,
       "a serving certificate never outlives its CA");
    certs_pem_release(&old);
    certs_pem_release(&future);
    certs_pem_release(&clamped);
    certs_pem_release(&ca);
}

static char *cat3(const char *a, const char *b, const char *c)
{
    return xasprintf("%s%s%s", a ? a : "", b ? b : "", c ? c : "");
}

static void test_chains(void)
{
    struct certs_pem ca = make_ca("test-ca", 30), other = make_ca("other-ca", 30);
    struct certs_pem leaf = issue(&ca, 10, 0);
    struct certs_info li, info;
    char err[256];
    char *chain = cat3(leaf.cert, ca.cert, NULL);
    char *keyfirst = cat3(leaf.key, leaf.cert, NULL);
    char *bundle = cat3(other.cert, ca.cert, NULL);

    certs_check(leaf.cert, NULL, &li, err, sizeof(err));
    ok(certs_check(chain, leaf.key, &info, err, sizeof(err)) == 0 &&
           !strcmp(info.serial, li.serial) && !info.is_ca,
       "chain: the first certificate is the one checked");
    ok(certs_check(keyfirst, leaf.key, &info, err, sizeof(err)) == 0 &&
           !strcmp(info.serial, li.serial),
       "a key block before the certificate is skipped");
    ok(certs_check("hello\n", NULL, &info, err, sizeof(err)) == -1 &&
           contains(err, "no PEM block found"),
       "no certificate: %s", err);
    ok(certs_check(leaf.cert, "junk", NULL, err, sizeof(err)) == -1 &&
           contains(err, "cannot parse the private key"),
       "bad key: %s", err);
    ok(certs_verify(chain, ca.cert, err, sizeof(err)) == 0, "chain verifies");
    ok(certs_verify(leaf.cert, bundle, err, sizeof(err)) == 0,
       "verifies against a bundle holding its CA");
    ok(certs_verify(leaf.cert, other.cert, err, sizeof(err)) == -1 &&
           contains(err, "unable to get local issuer certificate"),
       "another CA: %s", err);
    ok(certs_verify(ca.cert, ca.cert, err, sizeof(err)) == -1, "a CA is not a serving certificate");
    ok(certs_verify(leaf.cert, "", err, sizeof(err)) == -1 && contains(err, "no CA"), "no CA: %s",
       err);
    free(chain);
    free(keyfirst);
    free(bundle);
    certs_pem_release(&leaf);
    certs_pem_release(&other);
    certs_pem_release(&ca);
}

static void expect_issue_error(const struct certs_pem *ca, const struct certs_request *req,
                               const char *want, const char *name)
{
    struct certs_pem out = {0};
    char err[256];

    ok(certs_issue(ca, req, &out, err, sizeof(err)) == -1 && contains(err, want) && !out.cert,
       "%s: %s", name, err);
    certs_pem_release(&out);
}

static void test_issue_errors(void)
{
    static const char *const bad_ip[] = {"1.2.3.4x", NULL};
    static const char *const bad_dns[] = {"a b.example", NULL};
    struct certs_pem ca = make_ca("test-ca", 30), other = make_ca("other-ca", 30);
    struct certs_pem leaf = issue(&ca, 10, 0);
    struct certs_pem mixed = {ca.cert, other.key}, notca = {leaf.cert, leaf.key};
    struct certs_request req = {.dns = svc_dns, .validity_days = 10};
    struct certs_pem out = {0};
    char err[256];

    ok(certs_issue(&ca, &req, &out, err, sizeof(err)) == 0, "no common name is fine: %s", err);
    certs_pem_release(&out);
    expect_issue_error(&mixed, &req, "CA private key does not match", "CA key mismatch");
    expect_issue_error(&notca, &req, "not a CA", "issuer is not a CA");
    req.common_name = "0123456789012345678901234567890123456789012345678901234567890123456789";
    expect_issue_error(&ca, &req, "1 to 64 bytes", "common name too long");
    req.common_name = NULL;
    req.validity_days = 0;
    expect_issue_error(&ca, &req, "between 1 and", "validity 0");
    req.validity_days = 10;
    req.dns = NULL;
    expect_issue_error(&ca, &req, "no subjectAltName", "no SANs");
    req.ips = bad_ip;
    expect_issue_error(&ca, &req, "invalid IP address '1.2.3.4x'", "bad IP");
    req.ips = NULL;
    req.dns = bad_dns;
    expect_issue_error(&ca, &req, "invalid DNS name", "bad DNS name");
    ok(certs_create_ca("x", -1, &out, err, sizeof(err)) == -1 && !out.cert, "CA validity -1: %s",
       err);
    certs_pem_release(&leaf);
    certs_pem_release(&other);
    certs_pem_release(&ca);
}

/* An encrypted key must fail, not prompt for a passphrase on the terminal. */
static void test_encrypted_key(void)
{
    struct certs_pem ca = make_ca("test-ca", 30);
    EVP_PKEY *k = NULL;
    BIO *in = BIO_new_mem_buf(ca.key, -1), *out = BIO_new(BIO_s_mem());
    char *pem = NULL, err[256];
    long n;

    k = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    if (k && PEM_write_bio_PKCS8PrivateKey(out, k, EVP_aes_256_cbc(), "secret", 6, NULL, NULL)) {
        n = BIO_get_mem_data(out, &pem);
        pem = xstrndup(pem, (size_t)n);
    } else {
        pem = NULL;
    }
    ok(pem && certs_check(ca.cert, pem, NULL, err, sizeof(err)) == -1 &&
           contains(err, "encrypted keys are not supported"),
       "encrypted key fails without a prompt: %s", err);
    free(pem);
    EVP_PKEY_free(k);
    BIO_free(in);
    BIO_free(out);
    certs_pem_release(&ca);
}

static void merge_is(const char *existing, const char *new_ca, time_t now, const char *want,
                     const char *name)
{
    char *got = certs_bundle_merge(existing, new_ca, now);

    is_str(got, want, name);
    free(got);
}

static void test_merge(void)
{
    struct certs_pem c1 = make_ca("ca-1", 1), c2 = make_ca("ca-2", 30), c3 = make_ca("ca-3", 30);
    const char *badblock = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
    time_t now = time(NULL);
    char *c1c2 = cat3(c1.cert, c2.cert, NULL), *c2c1 = cat3(c2.cert, c1.cert, NULL);
    char *c1c2c3 = cat3(c1.cert, c2.cert, c3.cert), *c2c1c3 = cat3(c2.cert, c1.cert, c3.cert);
    char *c2c3 = cat3(c2.cert, c3.cert, NULL), *c1c2c1 = cat3(c1.cert, c2.cert, c1.cert);
    char *messy = xasprintf("junk line\n%s%s%s\n%s trailing", c1.cert, badblock, c3.key, c2.cert);
    char *once = certs_bundle_merge(c2c1, c2.cert, now), *twice = NULL;

    merge_is(NULL, c1.cert, now, c1.cert, "merge: no bundle yet gives the new CA");
    merge_is("", c1.cert, now, c1.cert, "merge: an empty bundle gives the new CA");
    merge_is(c1.cert, c2.cert, now, c1c2, "merge: the new CA is appended");
    merge_is(c2c1, c3.cert, now, c2c1c3, "merge: order kept");
    merge_is(c1c2c1, c3.cert, now, c1c2c3, "merge: duplicates dropped, first place kept");
    is_str(once, c1c2, "merge: a CA already there moves to the end");
    twice = certs_bundle_merge(once, c2.cert, now);
    is_str(twice, once, "merge: merging the same CA again changes nothing");
    merge_is(c1c2, c3.cert, now + 2 * DAY, c2c3, "merge: expired CAs dropped");
    merge_is(c1c2, c1.cert, now + 2 * DAY, c2c1,
             "merge: an expired new CA is still appended (the caller's choice)");
    merge_is(messy, c3.cert, now, c1c2c3, "merge: junk, bad blocks and keys skipped");
    merge_is(c1.cert, c2c3, now, c1c2, "merge: only the first certificate of new_ca_pem");
    merge_is(c1.cert, "no certificate", now, NULL, "merge: no new CA gives NULL");
    merge_is(c1.cert, NULL, now, NULL, "merge: NULL new CA gives NULL");
    free(once);
    free(twice);
    free(messy);
    free(c1c2);
    free(c2c1);
    free(c1c2c3);
    free(c2c1c3);
    free(c2c3);
    free(c1c2c1);
    certs_pem_release(&c1);
    certs_pem_release(&c2);
    certs_pem_release(&c3);
}

int main(void)
{
    util_init_cjson();
    test_ca();
    test_issue();
    test_validity();
    test_chains();
    test_issue_errors();
    test_encrypted_key();
    test_merge();
    return done_testing();
}

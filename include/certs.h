/*
 * Certificates with OpenSSL (spec ecosystem.md §3): a CA and a serving
 * certificate for the webhook (ECDSA P-256), and the checks the server makes
 * before it swaps a certificate in. PEM in, PEM out; no files here (the
 * files are `gwhook certs`'s business, webhook/cmd_certs.c).
 *
 * Errors: functions that take err/errlen return 0, or -1 with a one-line
 * message in err (always NUL-terminated when errlen > 0). Out of memory
 * aborts (util.h).
 */
#ifndef GC_CERTS_H
#define GC_CERTS_H

#include <stddef.h>
#include <time.h>

/* certs_pem_release() frees both strings (with free()); a zeroed struct is empty. */
struct certs_pem {
    char *cert; /* owned, PEM */
    char *key;  /* owned, PEM (PKCS#8 "PRIVATE KEY"), unencrypted */
};

struct certs_request {
    const char *common_name; /* e.g. "gatecheck-webhook.gatecheck.svc"; at most 64
                                bytes; NULL: none (clients only look at the SANs) */
    const char *const *dns;  /* SANs, NULL-terminated (may be NULL) */
    const char *const *ips;  /* IP SANs, IPv4 or IPv6 text, NULL-terminated (may be NULL) */
    long validity_days;      /* 1 to 36525 (100 years) */
    /*
     * Test-only, 0 in production: shifts the whole validity window by this
     * many seconds (negative: into the past), so tests can make expired and
     * not-yet-valid certificates without a clock.
     */
    long not_before_offset_s;
};

/*
 * Create a self-signed CA: a new P-256 key, basicConstraints CA:TRUE
 * (critical), keyUsage keyCertSign+cRLSign (critical), subjectKeyIdentifier,
 * a random 128-bit serial, valid from now-5min (clock skew) for
 * validity_days. On success the caller owns *out (certs_pem_release()).
 */
int certs_create_ca(const char *common_name, long validity_days, struct certs_pem *out, char *err,
                    size_t errlen);

/*
 * Issue a serving certificate signed by ca (whose key must match its
 * certificate): a new P-256 key, basicConstraints CA:FALSE, keyUsage
 * digitalSignature (critical), extendedKeyUsage serverAuth, subjectAltName
 * from req->dns and req->ips (at least one is required),
 * authorityKeyIdentifier, a random 128-bit serial, notBefore now-5min and
 * notAfter now+validity_days, but never after the CA's own notAfter (a
 * certificate that outlives its CA would stop verifying anyway). On success
 * the caller owns *out (certs_pem_release()).
 */
int certs_issue(const struct certs_pem *ca, const struct certs_request *req, struct certs_pem *out,
                char *err, size_t errlen);

/* What a certificate says, for logs, metrics and renewal decisions. */
struct certs_info {
    time_t not_before, not_after;
    char serial[80]; /* hex, upper case, as `openssl x509 -serial` prints it */
    char sans[1024]; /* "DNS:a, DNS:b, IP:127.0.0.1"; ends in ", ..." when cut short */
    int is_ca;       /* basicConstraints CA:TRUE */
};

/*
 * Parse a certificate (the first in a PEM chain) and, when key is not NULL,
 * check that the key matches it and that it is within its validity period.
 * Returns 0, or -1 with a message in err ("certificate expired on ...",
 * "private key does not match the certificate", ...). info may be NULL; it
 * is filled whenever the certificate parses, even when a later check fails.
 */
int certs_check(const char *cert_pem, const char *key_pem, struct certs_info *info, char *err,
                size_t errlen);

/*
 * Verify cert_pem (the first certificate; any further ones are untrusted
 * intermediates) against the CAs in ca_pem (one or more, e.g. a caBundle)
 * as a TLS client would, for the serverAuth purpose and at the current
 * time, without a host name check. Returns 0, or -1 with OpenSSL's reason
 * in err ("unable to get local issuer certificate", ...).
 */
int certs_verify(const char *cert_pem, const char *ca_pem, char *err, size_t errlen);

/*
 * The caBundle to install when the CA rotates (cf. cert-manager's cainjector
 * merge, spec ecosystem.md §3.1, §3.4): the certificates of
 * existing_bundle_pem (may be NULL or empty) that are still valid at now, in
 * their order, without duplicates and without new_ca_pem itself, then
 * new_ca_pem's first certificate. PEM blocks that are not certificates or do
 * not parse are dropped. Returns a new string (caller frees with free()), or
 * NULL when new_ca_pem holds no certificate.
 */
char *certs_bundle_merge(const char *existing_bundle_pem, const char *new_ca_pem, time_t now);

/* Free both strings and zero *p; safe on a zeroed struct. */
void certs_pem_release(struct certs_pem *p);

#endif

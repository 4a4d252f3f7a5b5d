/*
 * Certificates with OpenSSL (spec ecosystem.md §3): a CA and a serving
 * certificate for the webhook (ECDSA P-256), and the checks the server makes
 * before it swaps a certificate in. PEM in, PEM out; no files here.
 */
#ifndef GC_CERTS_H
#define GC_CERTS_H

#include <stddef.h>
#include <time.h>

struct certs_pem {
    char *cert; /* owned, PEM */
    char *key;  /* owned, PEM (PKCS#8) */
};

struct certs_request {
    const char *common_name;     /* e.g. "gatecheck-webhook.gatecheck.svc" */
    const char *const *dns;      /* SANs, NULL-terminated (may be NULL) */
    const char *const *ips;      /* IP SANs, NULL-terminated (may be NULL) */
    long validity_days;
};

/* Create a self-signed CA. Returns 0, or -1 with a message in err. */
int certs_create_ca(const char *common_name, long validity_days, struct certs_pem *out,
                    char *err, size_t errlen);

/* Issue a serving certificate (serverAuth, the SANs of req) signed by ca. */
int certs_issue(const struct certs_pem *ca, const struct certs_request *req,
                struct certs_pem *out, char *err, size_t errlen);

/* What a certificate says, for logs, metrics and renewal decisions. */
struct certs_info {
    time_t not_before, not_after;
    char serial[80];  /* hex */
    char sans[1024];  /* "DNS:a, DNS:b, IP:127.0.0.1" */
    int is_ca;
};

/*
 * Parse a certificate (the first in a PEM chain) and, when key is not NULL,
 * check that the key matches it and that it is within its validity period.
 * Returns 0, or -1 with a message in err ("certificate expired on ...",
 * "private key does not match the certificate", ...).
 */
int certs_check(const char *cert_pem, const char *key_pem, struct certs_info *info, char *err,
                size_t errlen);

void certs_pem_release(struct certs_pem *p);

#endif

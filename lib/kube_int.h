/*
 * Internals shared by lib/kube*.c, not part of the client's API (kube.h):
 * file reading, base64, PEM checks, the exec plugin runner and the
 * streaming request the watch uses.
 */
#ifndef GC_KUBE_INT_H
#define GC_KUBE_INT_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "kube.h"

#define KUBE_MAX_FILE ((size_t)16 << 20) /* kubeconfig, certificates, tokens */

/*
 * Read a whole file of at most max bytes into a NUL-terminated string.
 * Returns 0, or an errno value (EFBIG when larger than max).
 */
int kube_read_file(const char *path, size_t max, char **out, size_t *len);

/* Strip leading and trailing ASCII white space in place; returns s. */
char *kube_trim(char *s);

/*
 * Decode standard base64 (padding optional, CR/LF/space ignored) into a
 * NUL-terminated buffer. Returns 0, or -1 for invalid input.
 */
int kube_b64_decode(const char *in, char **out, size_t *len);
/* Encode as standard base64 with padding; free() the result. */
char *kube_b64_encode(const char *in, size_t len);

/* 0 when pem holds at least one X.509 certificate (resp. a private key). */
int kube_pem_check_cert(const char *pem, size_t len);
int kube_pem_check_key(const char *pem, size_t len);
/* 0 when the first certificate of cert matches the key. */
int kube_pem_check_pair(const char *cert, size_t cert_len, const char *key, size_t key_len);

/* What an exec plugin returned. */
struct kube_exec_cred {
    char *token;           /* or NULL */
    struct kube_blob cert; /* clientCertificateData, or empty */
    struct kube_blob key;  /* clientKeyData, or empty */
    time_t expiry;         /* 0: none (valid until a 401) */
};

/*
 * Run cfg->exec and read its ExecCredential. Returns 0, or -1 with a
 * message naming the command and the user.
 */
int kube_exec_run(const struct kube_config *cfg, long timeout_ms, struct kube_exec_cred *out,
                  char *err, size_t errlen);
void kube_exec_cred_release(struct kube_exec_cred *cred);

/* RFC 3339 date-time ("2024-05-01T10:00:00Z", fractions, offsets) to time_t; 0 or -1. */
int kube_parse_rfc3339(const char *s, time_t *out);

/* A watch stream: lines are handed to on_line as they complete. */
struct kube_stream {
    /* Called for each complete line (without '\n'); non-zero stops the transfer. */
    int (*on_line)(const char *line, size_t len, void *arg);
    void *arg;
    long timeout_ms; /* the transfer's total timeout */
    int started;     /* out: a 2xx answer began streaming */
    int stopped;     /* out: on_line asked to stop */
    int cancelled;   /* out: the client's cancel hook ended the transfer */
};

/*
 * GET path and stream the 2xx body line by line; a non-2xx answer is read
 * whole and reported in resp as kube_request() does (with the same retries).
 * Returns 0 when a 2xx stream ended (for whatever reason: see s->stopped),
 * -1 otherwise; a cancelled transfer (s->cancelled) returns -1 with
 * KUBE_FAIL_CANCELLED however far it got.
 */
int kube_request_stream(struct kube_client *c, const char *path, struct kube_stream *s,
                        struct kube_response *resp);

/* One group-version's discovery document, cached per client. */
struct kube_gv {
    char *gv;         /* "v1", "gateway.networking.k8s.io/v1" */
    cJSON *resources; /* APIResourceList.resources */
};

struct kube_client {
    struct kube_config *cfg;
    struct kube_client_opts o; /* defaults filled in */
    void *curl;                /* CURL *, reused: keeps the connection alive */
    char *url_base;            /* scheme://authority[/prefix]; tls-server-name as host */
    char *url_shown;           /* cfg->server, for messages */
    char *connect_to;          /* "sni:port:host:port" when tls-server-name is set */
    char *host_header;         /* "Host: host:port" then */
    char *proxy;               /* proxy-url as libcurl takes it */
    char *user_agent;
    char *file_token; /* last good read of cfg->token_file */
    time_t file_token_at;
    struct kube_exec_cred exec;
    int exec_ok;
    struct kube_gv *gv;
    size_t ngv;
};

/* Set resp->failure and resp->error (printf-style). */
void kube_fail(struct kube_response *resp, enum kube_failure f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

/*
 * The HTTPS admission server on libmicrohttpd (spec ecosystem.md §2, §4):
 * POST /validate and /mutate over TLS, handed to review_handle(); plain-HTTP
 * /healthz, /readyz and /metrics; the serving pair from a directory,
 * reloaded while running. Only transport lives here: the verdicts are
 * review.c's, the certificate checks certs.c's.
 *
 * Lifecycle: server_start(), then on SIGTERM server_drain_begin(),
 * server_quiesce(), wait while server_in_flight() > 0, server_stop().
 */
#ifndef GC_SERVER_H
#define GC_SERVER_H

#include <stddef.h>

#include "review.h"
#include "util.h"

struct server_config {
    const char *cert_dir;        /* holds tls.crt and tls.key (a mounted Secret) */
    const char *bind_addr;       /* IPv4 or IPv6 literal, for every port */
    unsigned port;               /* webhook, HTTPS */
    unsigned probe_port;         /* /healthz /readyz, plain HTTP; 0 = off */
    unsigned metrics_port;       /* /metrics, plain HTTP; 0 = off; may equal probe_port */
    unsigned threads;            /* webhook worker threads */
    size_t max_body;             /* bytes; larger bodies get 413 */
    unsigned conn_timeout;       /* seconds a connection may stay silent */
    unsigned conn_limit;         /* open webhook connections at most */
    unsigned cert_poll;          /* seconds between looks at cert_dir */
    struct review_config review; /* not owned: strings must outlive the server */
    /* More to readiness and /metrics (the watch cache of issue 8); NULL: none.
       not_ready returns 0 when ready, else 1 with the reason /readyz gives
       in why; metrics_extra appends exposition lines. Called from probe
       threads. */
    int (*not_ready)(void *arg, char *why, size_t len);
    void (*metrics_extra)(struct sbuf *out, void *arg);
    void *hook_arg;
};

struct server;

/*
 * Bind every port, load the certificate pair (a missing or broken pair is
 * logged and waited for: the server is not ready until one loads), start
 * the daemons and the certificate watcher. Returns 0 with *out set (free
 * with server_stop()), or -1 with a message in err naming what failed
 * ("cannot listen on 0.0.0.0:9443 (webhook): Address already in use").
 */
int server_start(const struct server_config *cfg, struct server **out, char *err, size_t errlen);

/* /readyz answers 503 from now on, and responses carry Connection: close. */
void server_drain_begin(struct server *s);

/* Stop accepting webhook connections (the listening sockets are closed). */
void server_quiesce(struct server *s);

/* Webhook requests begun and not yet completed. */
unsigned server_in_flight(const struct server *s);

/* Close every connection, stop all threads, free everything. NULL is fine. */
void server_stop(struct server *s);

#endif

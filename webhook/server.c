/*
 * libmicrohttpd glue (see include/server.h): sockets, limits, routing,
 * per-request state, responses, probes and metrics. What a review says is
 * review_handle()'s business; which certificate a handshake gets is
 * certstore's.
 *
 * Per-request state (struct request) is created on the first access-handler
 * call and freed in on_completed(), which libmicrohttpd calls for every
 * request it passed to the handler, aborted ones included.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "certstore.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* TLS 1.2 and 1.3 only (the API server's client has MinVersion TLS 1.2). */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* The API server's HTTP client gives up after 30 s whatever ?timeout= says. */
#define MAX_DEADLINE_S 30.0
/* Header bytes and read buffer per connection (bodies are copied out). */
#define CONN_MEMORY (64u * 1024)

/*
 * A webhook connection, from libmicrohttpd's connection notifications.
 * libmicrohttpd closes a connection that is silent for --conn-timeout, but
 * not one that trickles a byte at a time (slowloris): the watchdog thread
 * closes a connection that has had no request in hand for --conn-timeout,
 * i.e. that has not delivered a complete request head (TLS handshake, request
 * line and headers) within --conn-timeout of its start or of the end of its
 * previous request. Once the head is in, the request's deadline governs.
 */
struct conn {
    struct conn *prev, *next; /* in server.conns, under conns_lock */
    int fd;
    int cut;              /* shut down by the watchdog */
    atomic_int busy;      /* between the request head and the request's end */
    atomic_llong wait_ms; /* CLOCK_MONOTONIC ms since which it has had no request */
    void *cert_ctx;       /* certstore's per-connection state */
};

/* What a plain-HTTP port serves: probes, metrics or both. */
struct plain {
    struct server *srv;
    int probes, metrics;
};

struct server {
    struct server_config cfg;
    struct plain probe_ctx, metrics_ctx;
    struct metrics *metrics;
    struct certstore *certs;
    /*
     * One single-threaded TLS daemon per worker, each on its own listening
     * socket in one SO_REUSEPORT group: the kernel hashes new connections
     * across the sockets. (With MHD's thread pool every worker accepted
     * from one shared socket, and a burst could land on a single worker.)
     */
    struct MHD_Daemon **tls;
    int *tls_fd; /* the listening sockets until server_quiesce(); -1 after */
    unsigned ntls;
    struct MHD_Daemon *probe, *metricsd;
    atomic_int draining;
    atomic_uint in_flight;
    pthread_mutex_t conns_lock;
    struct conn *conns;
    pthread_t watchdog;
    int watchdog_started;
    atomic_int stopping;
};

struct request {
    struct server *srv;
    struct timespec start;
    int webhook; /* 1 for /validate and /mutate */
    enum metrics_webhook wh;
    double deadline_s; /* seconds after start */
    char timeout[32];  /* ?timeout= as given, for logs */
    struct sbuf body;
    size_t received; /* body bytes, stored or not */
    int too_big;
    int close; /* send Connection: close */
    int code;  /* HTTP status sent; 0 until then */
};

static double elapsed_s(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* ---- sockets ---- */

/* reuseport: join the port's SO_REUSEPORT group (see struct server). */
static int listen_on(const char *addr, unsigned port, const char *what, int reuseport, char *err,
                     size_t errlen)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    int fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof(*in6);
    } else {
        snprintf(err, errlen, "invalid bind address '%s'", addr);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "cannot listen on %s%s%s:%u (%s): %s",
                 ss.ss_family == AF_INET6 ? "[" : "", addr, ss.ss_family == AF_INET6 ? "]" : "",
                 port, what, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* ---- responses ---- */

/* Queue 'body' (malloc'd, taken in every case) with status 'code'. */
static enum MHD_Result send_body(struct MHD_Connection *c, struct request *r, int code, char *body,
                                 const char *type)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(strlen(body), body, free);
    enum MHD_Result ret;

    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r && r->webhook ? "POST" : "GET");
    if (r && (r->close || atomic_load(&r->srv->draining)))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, (unsigned)code, resp);
    MHD_destroy_response(resp);
    if (r && ret == MHD_YES) {
        r->code = code;
        if (r->webhook)
            metrics_response(r->srv->metrics, r->wh, code, elapsed_s(&r->start));
    }
    return ret;
}

/* {"error": msg}, logged with the request's path. */
static enum MHD_Result send_error(struct MHD_Connection *c, struct request *r, const char *url,
                                  int code, const char *msg)
{
    cJSON *o = cJSON_CreateObject(), *f;
    enum MHD_Result ret;

    cJSON_AddStringToObject(o, "error", msg);
    if (log_enabled(code == 404 ? LOGL_DEBUG : LOGL_INFO)) {
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", url);
        cJSON_AddNumberToObject(f, "code", code);
        cJSON_AddStringToObject(f, "error", msg);
        log_fields(code == 404 ? LOGL_DEBUG : LOGL_INFO, "request refused", f);
    }
    ret = send_body(c, r, code, cJSON_PrintUnformatted(o), "application/json");
    cJSON_Delete(o);
    return ret;
}

/* ---- ?timeout= ---- */

/* A Go duration ("10s", "1m30s", "500ms", "1.5h") in seconds; -1 if malformed. */
static double parse_go_duration(const char *s)
{
    static const struct {
        const char *unit;
        double secs;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
                 {"s", 1},     {"m", 60},    {"h", 3600}};
    double total = 0;
    size_t i;

    if (!strcmp(s, "0"))
        return 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        double v;

        if ((*s < '0' || *s > '9') && *s != '.')
            return -1;
        v = strtod(s, &end);
        if (end == s)
            return -1;
        for (i = 0; i < ARRAY_SIZE(units); i++) {
            size_t n = strlen(units[i].unit);

            /* "m" must not take the "m" of "ms" */
            if (!strncmp(end, units[i].unit, n) && (n > 1 || end[1] < 'a' || end[1] > 'z'))
                break;
        }
        if (i == ARRAY_SIZE(units))
            return -1;
        total += v * units[i].secs;
        s = end + strlen(units[i].unit);
    }
    return total;
}

static void set_deadline(struct MHD_Connection *c, struct request *r)
{
    const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout");
    double d = t ? parse_go_duration(t) : -1;

    r->deadline_s = MAX_DEADLINE_S;
    if (!t)
        return;
    snprintf(r->timeout, sizeof(r->timeout), "%s", t);
    if (d < 0) {
        log_msg(LOGL_WARN, "ignoring malformed ?timeout=%s", r->timeout);
        return;
    }
    if (d < r->deadline_s)
        r->deadline_s = d;
}

/* ---- the webhook handler ---- */

static int is_json(const char *ct)
{
    static const char want[] = "application/json";
    size_t n = sizeof(want) - 1;

    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The Content-Length and Transfer-Encoding fields of a request. */
struct framing {
    unsigned cl, te;
    const char *first_cl;
    int cl_differ;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (!value)
        value = "";
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        if (!f->cl++)
            f->first_cl = value;
        else if (strcmp(value, f->first_cl) != 0)
            f->cl_differ = 1;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->te++;
    }
    return MHD_YES;
}

/*
 * Framing that another HTTP parser could read differently, the stuff of
 * request smuggling; RFC 9112 §6.3 wants 400 and the connection closed.
 * libmicrohttpd 0.9.75 would take Transfer-Encoding over Content-Length
 * and keep the connection, take the first of several Content-Length
 * values, and read a body in any coding but chunked until the connection
 * closes. NULL when the framing is sound; *unframed is then 1 if neither
 * field is there (an obs-folded one, which libmicrohttpd 0.9.75 drops,
 * included).
 */
static const char *framing_error(struct MHD_Connection *c, int *unframed)
{
    struct framing f = {0};
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
    if (f.te > 1 || (te && strcasecmp(te, "chunked") != 0))
        return "bad framing: the only Transfer-Encoding accepted is a single chunked";
    if (f.te && f.cl)
        return "bad framing: both Content-Length and Transfer-Encoding";
    if (f.cl_differ)
        return "bad framing: Content-Length fields that differ";
    *unframed = !f.te && !f.cl;
    return NULL;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A request head is in (busy 1) or the request is over (busy 0): see struct conn. */
static void conn_busy(struct MHD_Connection *c, int busy)
{
    const union MHD_ConnectionInfo *ci =
        c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    struct conn *k = ci ? ci->socket_context : NULL;

    if (!k)
        return;
    if (!busy)
        atomic_store(&k->wait_ms, now_ms());
    atomic_store(&k->busy, busy);
}

/* The checks that need only the request line and headers. */
static enum MHD_Result begin_request(struct server *s, struct MHD_Connection *c, const char *url,
                                     const char *method, void **con_cls)
{
    struct request *r = xcalloc(1, sizeof(*r));
    const char *cl, *bad;
    char msg[128];
    int unframed = 0;

    r->srv = s;
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    *con_cls = r;
    atomic_fetch_add(&s->in_flight, 1);
    conn_busy(c, 1);
    if (!strcmp(url, "/validate") || !strcmp(url, "/mutate")) {
        r->webhook = 1;
        r->wh = url[1] == 'v' ? METRICS_VALIDATE : METRICS_MUTATE;
        metrics_request_begin(s->metrics, r->wh);
    }
    bad = framing_error(c, &unframed);
    if (bad) {
        r->close = 1;
        return send_error(c, r, url, 400, bad);
    }
    /* a POST without a length has an empty body: what follows it on the
       connection would be read as the next request, so answer and close */
    if (unframed && !strcmp(method, MHD_HTTP_METHOD_POST))
        r->close = 1;
    if (!r->webhook)
        return send_error(c, r, url, 404, "not found: the webhook serves /validate and /mutate");
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return send_error(c, r, url, 405, "method not allowed: use POST");
    if (!is_json(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return send_error(c, r, url, 415, "unsupported media type: want application/json");
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body) {
        snprintf(msg, sizeof(msg), "request body too large: more than %zu bytes", s->cfg.max_body);
        return send_error(c, r, url, 413, msg);
    }
    set_deadline(c, r);
    return MHD_YES;
}

/*
 * Append a piece of the body. Past the cap nothing is stored any more, only
 * counted: libmicrohttpd 0.9.75 cannot queue a response in the middle of a
 * body (MHD_queue_response() fails until the whole request is in), so a
 * chunked body (no Content-Length to refuse up front) that ends within one
 * more cap's worth still gets its 413, and a longer one is cut.
 */
static void collect(struct request *r, const char *data, size_t *size)
{
    r->received += *size;
    if (!r->too_big && r->body.len + *size > r->srv->cfg.max_body) {
        r->too_big = 1;
        sb_release(&r->body);
    }
    if (!r->too_big)
        sb_add(&r->body, data, *size);
    *size = 0;
}

/* One line per review; for a refused body (400) with the reason from 'out'. */
static void log_review(const struct request *r, const struct review_outcome *o, int status,
                       const char *out, double secs)
{
    cJSON *f, *e;

    if (!log_enabled(LOGL_INFO))
        return;
    f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "webhook", r->wh == METRICS_VALIDATE ? "/validate" : "/mutate");
    cJSON_AddStringToObject(f, "uid", o->uid);
    cJSON_AddStringToObject(f, "kind", o->kind);
    cJSON_AddStringToObject(f, "namespace", o->namespace_);
    cJSON_AddStringToObject(f, "name", o->name);
    cJSON_AddStringToObject(f, "operation", o->operation);
    if (o->dry_run)
        cJSON_AddBoolToObject(f, "dry_run", 1);
    cJSON_AddBoolToObject(f, "allowed", o->allowed);
    cJSON_AddNumberToObject(f, "code", o->allowed ? 200 : o->code);
    cJSON_AddNumberToObject(f, "warnings", (double)o->warnings);
    if (r->wh == METRICS_MUTATE)
        cJSON_AddBoolToObject(f, "patched", o->patched);
    cJSON_AddNumberToObject(f, "latency_ms", (double)(long)(secs * 1e6) / 1e3);
    if (status != 200) {
        e = cJSON_Parse(out);
        cJSON_AddNumberToObject(f, "http", status);
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "error")))
            cJSON_AddStringToObject(f, "error",
                                    cJSON_GetObjectItemCaseSensitive(e, "error")->valuestring);
        cJSON_Delete(e);
    }
    log_fields(LOGL_INFO, status == 200 ? "review" : "review refused", f);
}

/* The whole body is in: judge it, or refuse it. */
static enum MHD_Result finish(struct MHD_Connection *c, struct request *r, const char *url)
{
    struct server *s = r->srv;
    struct review_outcome o;
    char *out = NULL, msg[160];
    int status;

    if (r->too_big) {
        snprintf(msg, sizeof(msg), "request body too large: more than %zu bytes", s->cfg.max_body);
        return send_error(c, r, url, 413, msg);
    }
    if (elapsed_s(&r->start) > r->deadline_s) {
        metrics_deadline_exceeded(s->metrics);
        snprintf(msg, sizeof(msg), "deadline exceeded: the request took longer than %s to arrive",
                 r->timeout[0] ? r->timeout : "30s");
        return send_error(c, r, url, 504, msg);
    }
    memset(&o, 0, sizeof(o));
    status =
        review_handle(&s->cfg.review, r->wh == METRICS_VALIDATE ? REVIEW_VALIDATE : REVIEW_MUTATE,
                      r->body.buf ? r->body.buf : "", r->body.len, &out, &o);
    if (!out)
        return send_error(c, r, url, 500, "internal error: no response");
    if (elapsed_s(&r->start) > r->deadline_s) {
        /* the caller has given up; the answer still goes out, for the logs' sake */
        metrics_deadline_exceeded(s->metrics);
        log_msg(LOGL_WARN, "review of uid %s finished after the caller's timeout of %s", o.uid,
                r->timeout[0] ? r->timeout : "30s");
    }
    if (status == 200)
        metrics_decision(s->metrics, o.kind, o.operation, o.allowed);
    log_review(r, &o, status, out, elapsed_s(&r->start));
    return send_body(c, r, status, out, "application/json");
}

/* Body bytes still arriving after the deadline: the caller has given up, cut it. */
static enum MHD_Result cut_late(struct request *r, const char *url)
{
    cJSON *f = cJSON_CreateObject();

    metrics_deadline_exceeded(r->srv->metrics);
    cJSON_AddStringToObject(f, "path", url);
    cJSON_AddStringToObject(f, "timeout", r->timeout[0] ? r->timeout : "30s");
    cJSON_AddNumberToObject(f, "received", (double)r->received);
    log_fields(LOGL_WARN, "request body still arriving after the deadline, connection closed", f);
    return MHD_NO;
}

/* A chunked body far over the cap: count a 413, log it, close the connection. */
static enum MHD_Result cut_too_big(struct request *r, const char *url)
{
    cJSON *f = cJSON_CreateObject();

    r->code = 413;
    metrics_response(r->srv->metrics, r->wh, 413, elapsed_s(&r->start));
    cJSON_AddStringToObject(f, "path", url);
    cJSON_AddNumberToObject(f, "code", 413);
    cJSON_AddNumberToObject(f, "received", (double)r->received);
    log_fields(LOGL_INFO, "request body far over --max-body, connection closed", f);
    return MHD_NO;
}

static enum MHD_Result on_webhook(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct request *r = *con_cls;

    (void)version;
    if (!r)
        return begin_request(cls, c, url, method, con_cls);
    if (r->code) { /* refused on the first call: drop whatever still arrives */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (elapsed_s(&r->start) > r->deadline_s)
            return cut_late(r, url);
        collect(r, upload_data, upload_size);
        if (r->too_big && r->received > 2 * r->srv->cfg.max_body)
            return cut_too_big(r, url);
        return MHD_YES;
    }
    return finish(c, r, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct server *s = cls;
    struct request *r = *con_cls;

    if (!r)
        return;
    conn_busy(c, 0);
    if (!r->code)
        log_msg(LOGL_DEBUG, "request ended without a response (libmicrohttpd code %d)", (int)toe);
    if (r->webhook)
        metrics_request_end(s->metrics, r->wh);
    sb_release(&r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ---- probes and metrics (plain HTTP) ---- */

/* The webhook's metrics, then those of the hooks (the watch cache). */
static char *render_metrics(const struct server *s)
{
    struct sbuf sb = {0};
    char *base = metrics_render(s->metrics);

    sb_puts(&sb, base);
    free(base);
    if (s->cfg.metrics_extra)
        s->cfg.metrics_extra(&sb, s->cfg.hook_arg);
    return sb_detach(&sb);
}

static enum MHD_Result on_plain(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_size, void **con_cls)
{
    const struct plain *p = cls;
    struct server *s = p->srv;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    *upload_size = 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_body(c, NULL, 405, xstrdup("method not allowed\n"), "text/plain");
    if (p->probes && !strcmp(url, "/healthz"))
        return send_body(c, NULL, 200, xstrdup("ok\n"), "text/plain");
    if (p->probes && !strcmp(url, "/readyz")) {
        char why[512];

        if (atomic_load(&s->draining))
            return send_body(c, NULL, 503, xstrdup("shutting down\n"), "text/plain");
        if (!certstore_ready(s->certs, NULL))
            return send_body(c, NULL, 503, xstrdup("no valid serving certificate\n"), "text/plain");
        if (s->cfg.not_ready && s->cfg.not_ready(s->cfg.hook_arg, why, sizeof(why)))
            return send_body(c, NULL, 503, xasprintf("%s\n", why), "text/plain");
        return send_body(c, NULL, 200, xstrdup("ok\n"), "text/plain");
    }
    if (p->metrics && !strcmp(url, "/metrics"))
        return send_body(c, NULL, 200, render_metrics(s), METRICS_CONTENT_TYPE);
    return send_body(c, NULL, 404, xstrdup("not found\n"), "text/plain");
}

/* ---- webhook connections: the slowloris watchdog (struct conn) ---- */

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    struct conn *k = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        k = xcalloc(1, sizeof(*k));
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : -1;
        atomic_store(&k->wait_ms, now_ms());
        certstore_notify_connection(s->certs, c, &k->cert_ctx, code);
        pthread_mutex_lock(&s->conns_lock);
        k->next = s->conns;
        if (s->conns)
            s->conns->prev = k;
        s->conns = k;
        pthread_mutex_unlock(&s->conns_lock);
        *socket_context = k;
        return;
    }
    if (!k)
        return;
    /* libmicrohttpd closes the socket after this: the watchdog never sees a reused fd */
    pthread_mutex_lock(&s->conns_lock);
    if (k->prev)
        k->prev->next = k->next;
    else
        s->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    pthread_mutex_unlock(&s->conns_lock);
    certstore_notify_connection(s->certs, c, &k->cert_ctx, code);
    free(k);
    *socket_context = NULL;
}

/* Four times a second: shut down the connections with no request in hand for --conn-timeout. */
static void *watchdog(void *arg)
{
    struct server *s = arg;
    const struct timespec tick = {0, 250L * 1000 * 1000};
    struct conn *k;

    while (!atomic_load(&s->stopping)) {
        long long before;
        unsigned cut = 0;

        nanosleep(&tick, NULL);
        before = now_ms() - (long long)s->cfg.conn_timeout * 1000;
        pthread_mutex_lock(&s->conns_lock);
        for (k = s->conns; k; k = k->next) {
            if (k->cut || k->fd < 0 || atomic_load(&k->busy) || atomic_load(&k->wait_ms) > before)
                continue;
            /* libmicrohttpd sees the end of the stream and closes the connection itself */
            shutdown(k->fd, SHUT_RDWR);
            k->cut = 1;
            cut++;
        }
        pthread_mutex_unlock(&s->conns_lock);
        if (cut)
            log_msg(LOGL_INFO,
                    "closed %u webhook connections with no complete request head within "
                    "--conn-timeout (%us)",
                    cut, s->cfg.conn_timeout);
    }
    return NULL;
}

/* ---- start and stop ---- */

/* Daemon i of s->ntls, on s->tls_fd[i]; --conn-limit is split as MHD splits it over a pool. */
static struct MHD_Daemon *start_tls(struct server *s, unsigned i)
{
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    unsigned limit = s->cfg.conn_limit / s->ntls + (i < s->cfg.conn_limit % s->ntls);

    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_webhook, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_LISTEN_SOCKET, s->tls_fd[i], MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.conn_timeout,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
        MHD_OPTION_HTTPS_CERT_CALLBACK, certstore_retrieve, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_EXTERNAL_LOGGER,
        log_mhd, NULL, MHD_OPTION_END);
}

static struct MHD_Daemon *start_plain(struct plain *p, int fd)
{
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0,
                            NULL, NULL, on_plain, p, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
                            MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_END);
}

/* Bind the plain ports (one daemon when probes and metrics share a port). */
static int start_plain_ports(struct server *s, char *err, size_t errlen)
{
    const struct server_config *cfg = &s->cfg;
    int fd;

    s->probe_ctx.srv = s->metrics_ctx.srv = s;
    s->probe_ctx.probes = 1;
    s->probe_ctx.metrics = cfg->metrics_port == cfg->probe_port;
    s->metrics_ctx.metrics = 1;
    if (cfg->probe_port) {
        fd = listen_on(cfg->bind_addr, cfg->probe_port, "probes", 0, err, errlen);
        if (fd < 0)
            return -1;
        s->probe = start_plain(&s->probe_ctx, fd);
        if (!s->probe) {
            close(fd);
            snprintf(err, errlen, "cannot start the probe server on port %u", cfg->probe_port);
            return -1;
        }
    }
    if (cfg->metrics_port && cfg->metrics_port != cfg->probe_port) {
        fd = listen_on(cfg->bind_addr, cfg->metrics_port, "metrics", 0, err, errlen);
        if (fd < 0)
            return -1;
        s->metricsd = start_plain(&s->metrics_ctx, fd);
        if (!s->metricsd) {
            close(fd);
            snprintf(err, errlen, "cannot start the metrics server on port %u", cfg->metrics_port);
            return -1;
        }
    }
    return 0;
}

/*
 * The webhook port's SO_REUSEPORT group. A plain bind first: the port must
 * be free, and another process (another gwhook under the same user, say)
 * must not silently share it. Then one socket per worker.
 */
static int listen_webhook(struct server *s, char *err, size_t errlen)
{
    const struct server_config *cfg = &s->cfg;
    int fd = listen_on(cfg->bind_addr, cfg->port, "webhook", 0, err, errlen);
    unsigned i;

    if (fd < 0)
        return -1;
    close(fd);
    for (i = 0; i < s->ntls; i++) {
        s->tls_fd[i] = listen_on(cfg->bind_addr, cfg->port, "webhook", 1, err, errlen);
        if (s->tls_fd[i] < 0)
            return -1;
    }
    return 0;
}

int server_start(const struct server_config *cfg, struct server **out, char *err, size_t errlen)
{
    struct server *s = xcalloc(1, sizeof(*s));
    unsigned i;

    *out = NULL;
    s->cfg = *cfg;
    pthread_mutex_init(&s->conns_lock, NULL);
    /* no more daemons than connections, so each has a limit of at least one */
    s->ntls = cfg->threads < cfg->conn_limit ? cfg->threads : cfg->conn_limit;
    if (!s->ntls)
        s->ntls = 1;
    s->tls = xcalloc(s->ntls, sizeof(*s->tls));
    s->tls_fd = xcalloc(s->ntls, sizeof(*s->tls_fd));
    for (i = 0; i < s->ntls; i++)
        s->tls_fd[i] = -1;
    s->metrics = metrics_new();
    if (listen_webhook(s, err, errlen) != 0 || start_plain_ports(s, err, errlen) != 0)
        goto fail;
    s->certs = certstore_new(cfg->cert_dir, s->metrics);
    certstore_reload(s->certs);
    for (i = 0; i < s->ntls; i++) {
        s->tls[i] = start_tls(s, i);
        if (!s->tls[i]) {
            snprintf(err, errlen, "cannot start the TLS server on port %u", cfg->port);
            goto fail;
        }
    }
    if (certstore_watch_start(s->certs, cfg->cert_poll) != 0) {
        snprintf(err, errlen, "cannot start the certificate watcher thread");
        goto fail;
    }
    if (pthread_create(&s->watchdog, NULL, watchdog, s) != 0) {
        snprintf(err, errlen, "cannot start the connection watchdog thread");
        goto fail;
    }
    s->watchdog_started = 1;
    *out = s;
    return 0;
fail:
    for (i = 0; i < s->ntls; i++) {
        if (!s->tls[i] && s->tls_fd[i] >= 0)
            close(s->tls_fd[i]);
        s->tls_fd[i] = -1;
    }
    server_stop(s);
    return -1;
}

void server_drain_begin(struct server *s)
{
    atomic_store(&s->draining, 1);
}

void server_quiesce(struct server *s)
{
    MHD_socket fd;
    unsigned i;

    for (i = 0; i < s->ntls; i++) {
        if (!s->tls[i] || s->tls_fd[i] < 0)
            continue;
        fd = MHD_quiesce_daemon(s->tls[i]);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
        s->tls_fd[i] = -1;
    }
}

unsigned server_in_flight(const struct server *s)
{
    return atomic_load(&s->in_flight);
}

void server_stop(struct server *s)
{
    unsigned i;

    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    if (s->watchdog_started)
        pthread_join(s->watchdog, NULL);
    if (s->certs)
        certstore_watch_stop(s->certs);
    for (i = 0; i < s->ntls; i++)
        if (s->tls[i])
            MHD_stop_daemon(s->tls[i]);
    if (s->probe)
        MHD_stop_daemon(s->probe);
    if (s->metricsd)
        MHD_stop_daemon(s->metricsd);
    certstore_free(s->certs);
    metrics_free(s->metrics);
    pthread_mutex_destroy(&s->conns_lock);
    free(s->tls);
    free(s->tls_fd);
    free(s);
}

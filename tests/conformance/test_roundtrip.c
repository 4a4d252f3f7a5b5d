/*
 * The round tripper (spec conformance.md §1.10) against a small echo
 * server started here on loopback (libmicrohttpd, plain HTTP) that answers
 * as echo-basic does (§2.1: JSON with path = the raw request URI, host,
 * method, proto, headers as a map of arrays with Go's canonical names,
 * httpPort, namespace, ingress, service, pod; X-Echo-Set-Header applied)
 * and also answers redirects, non-JSON bodies, a 404, broken JSON, gzip,
 * slow answers; a closed port gives connection refused. Every request is
 * bounded by its timeout, the slow answer by the server's stop flag.
 * The same server also listens with TLS (GnuTLS in libmicrohttpd) with a
 * certificate for gateway.example.com from a CA made here (certs.h), for
 * https with a server name and CA (conf_roundtrip_tls).
 * Also: the pure helpers (CalculateHost, JoinHostPort, Go's request URI,
 * the echo JSON as Go's json.Unmarshal reads it).
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "certs.h"
#include "conform.h"
#include "roundtrip.h"
#include "runner.h"
#include "util.h"

#define NAMESPACE "gateway-conformance-infra"
#define POD       "infra-backend-v1-7d9c6b5f8-x2x9q"
#define TIMEOUT   5000L

/* ---- the echo server ---- */

static struct {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    int stopping, hits;
    unsigned client_port; /* of the last request */
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct rq {
    char *uri; /* raw request-target */
    struct sbuf body;
    int seen;
};

static const unsigned char gzip_echo[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0x2a, 0x48, 0x2c, 0xc9,
    0x50, 0xb2, 0x52, 0xd2, 0x4f, 0xaf, 0xca, 0x2c, 0x50, 0xd2, 0x51, 0xca, 0x4d, 0x2d, 0xc9, 0xc8,
    0x4f, 0x01, 0x0a, 0xb8, 0xbb, 0x86, 0x00, 0xb9, 0x79, 0x89, 0xb9, 0xa9, 0xc5, 0x05, 0x89, 0xc9,
    0xa9, 0x40, 0x91, 0xf4, 0x2a, 0xa5, 0x5a, 0x00, 0xf4, 0xd8, 0xa3, 0x0c, 0x30, 0x00, 0x00, 0x00,
}; /* {"path":"/gzip","method":"GET","namespace":"gz"} */

static int stopping(void)
{
    int s;

    pthread_mutex_lock(&srv.mu);
    s = srv.stopping;
    pthread_mutex_unlock(&srv.mu);
    return s;
}

static int hits(void)
{
    int h;

    pthread_mutex_lock(&srv.mu);
    h = srv.hits;
    pthread_mutex_unlock(&srv.mu);
    return h;
}

static unsigned client_port(void)
{
    unsigned p;

    pthread_mutex_lock(&srv.mu);
    p = srv.client_port;
    pthread_mutex_unlock(&srv.mu);
    return p;
}

/* Go's CanonicalMIMEHeaderKey, as echo-basic's http.Header has them. */
static char *canonical(const char *s)
{
    char *out = xstrdup(s), *p;
    int upper = 1;

    for (p = out; *p; p++) {
        if (upper && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
        else if (!upper && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
        upper = *p == '-';
    }
    return out;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    cJSON *headers = cls, *arr;
    char *name = canonical(key);

    (void)kind;
    if (strcmp(name, "Host") != 0) {
        arr = cJSON_GetObjectItemCaseSensitive(headers, name);
        if (!arr)
            arr = cJSON_AddArrayToObject(headers, name);
        cJSON_AddItemToArray(arr, cJSON_CreateString(value ? value : ""));
    }
    free(name);
    return MHD_YES;
}

/* X-Echo-Set-Header "n:v,n:v" -> response headers (repeated names joined). */
static enum MHD_Result collect_set(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    cJSON *set = cls;
    char *copy, *item, *save = NULL;

    (void)kind;
    if (strcasecmp(key, "X-Echo-Set-Header") != 0 || !value)
        return MHD_YES;
    copy = xstrdup(value);
    for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':');
        cJSON *old;

        while (*item == ' ')
            item++;
        if (!colon || colon == item)
            continue;
        *colon = '\0';
        old = cJSON_GetObjectItemCaseSensitive(set, item);
        if (old) {
            char *joined = xasprintf("%s,%s", old->valuestring, colon + 1);

            cJSON_SetValuestring(old, joined);
            free(joined);
        } else {
            cJSON_AddStringToObject(set, item, colon + 1);
        }
    }
    free(copy);
    return MHD_YES;
}

/* On the TLS server: "tls": {"serverName": the SNI the client sent}, as echo-basic. */
static void add_tls(struct MHD_Connection *c, cJSON *o)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    char name[256];
    size_t len = sizeof(name);
    unsigned type = 0;
    cJSON *t;

    if (!ci || !ci->tls_session)
        return;
    t = cJSON_AddObjectToObject(o, "tls");
    if (gnutls_server_name_get(ci->tls_session, name, &len, &type, 0) == GNUTLS_E_SUCCESS &&
        type == GNUTLS_NAME_DNS)
        cJSON_AddStringToObject(t, "serverName", name);
}

static char *echo_json(struct MHD_Connection *c, const struct rq *r, const char *method,
                       const char *version)
{
    cJSON *o = cJSON_CreateObject(), *h;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    char *text;

    cJSON_AddStringToObject(o, "path", r->uri);
    cJSON_AddStringToObject(o, "host", host ? host : "");
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddStringToObject(o, "proto", version);
    h = cJSON_AddObjectToObject(o, "headers");
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, h);
    cJSON_AddStringToObject(o, "httpPort", "3000");
    cJSON_AddStringToObject(o, "namespace", NAMESPACE);
    cJSON_AddStringToObject(o, "ingress", "");
    cJSON_AddStringToObject(o, "service", "");
    cJSON_AddStringToObject(o, "pod", POD);
    add_tls(c, o);
    text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             const void *body, size_t len, const char *const *extra)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (type)
        MHD_add_response_header(resp, "Content-Type", type);
    for (; extra && *extra; extra += 2)
        MHD_add_response_header(resp, extra[0], extra[1]);
    rc = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result reply_echo(struct MHD_Connection *c, const struct rq *r, const char *method,
                                  const char *version, const char *type, const char *const *extra)
{
    cJSON *set = cJSON_CreateObject(), *m;
    struct MHD_Response *resp;
    char *body = echo_json(c, r, method, version);
    enum MHD_Result rc;

    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_set, set);
    cJSON_ArrayForEach(m, set) {
        MHD_add_response_header(resp, m->string, m->valuestring);
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    for (; extra && *extra; extra += 2)
        MHD_add_response_header(resp, extra[0], extra[1]);
    rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    cJSON_Delete(set);
    cJSON_free(body);
    return rc;
}

static enum MHD_Result reply_redirect(struct MHD_Connection *c, const char *path)
{
    const char *to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
    const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
    const char *loc[] = {"Location", to, NULL};

    if (!strcmp(path, "/loop"))
        loc[1] = "/loop";
    if (!strcmp(path, "/noloc") || !loc[1])
        loc[0] = NULL;
    return reply(c, code ? (unsigned)strtoul(code, NULL, 10) : 302, "text/plain", "", 0, loc);
}

static void slow_wait(void)
{
    int i;

    for (i = 0; i < 300 && !stopping(); i++) /* 3 s at most */
        usleep(10000);
}

static enum MHD_Result route(struct MHD_Connection *c, const struct rq *r, const char *method,
                             const char *version)
{
    static const char *const dup[] = {"X-Dup", "a", "X-Dup", "b", NULL};
    static const char *const gz[] = {"Content-Encoding", "gzip", NULL};
    char *path = xstrndup(r->uri, strcspn(r->uri, "?"));
    enum MHD_Result rc;

    if (!strcmp(path, "/redirect") || !strcmp(path, "/noloc") || !strcmp(path, "/loop"))
        rc = reply_redirect(c, path);
    else if (!strcmp(path, "/text"))
        rc = reply(c, 200, "text/plain; charset=utf-8", "hello world\n", 12, NULL);
    else if (!strcmp(path, "/status/404"))
        rc = reply(c, 404, "text/plain", "404 page not found\n", 19, NULL);
    else if (!strcmp(path, "/badjson"))
        rc = reply(c, 200, "application/json", "{\"path\": 5}", 11, NULL);
    else if (!strcmp(path, "/notjson"))
        rc = reply(c, 200, "application/json", "{not json", 9, NULL);
    else if (!strcmp(path, "/gzip"))
        rc = reply(c, 200, "application/json", gzip_echo, sizeof(gzip_echo), gz);
    else if (!strcmp(path, "/charset"))
        rc = reply_echo(c, r, method, version, "application/json; charset=utf-8", NULL);
    else if (!strcmp(path, "/dup"))
        rc = reply_echo(c, r, method, version, "application/json", dup);
    else {
        if (!strcmp(path, "/slow"))
            slow_wait();
        rc = reply_echo(c, r, method, version, "application/json", NULL);
    }
    free(path);
    return rc;
}

static void count(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct sockaddr_in a;

    pthread_mutex_lock(&srv.mu);
    srv.hits++;
    if (ci && ci->client_addr) {
        memcpy(&a, ci->client_addr, sizeof(a));
        srv.client_port = ntohs(a.sin_port);
    }
    pthread_mutex_unlock(&srv.mu);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    struct rq *r = *req_cls;

    (void)cls;
    (void)url;
    if (!r->seen) {
        r->seen = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        sb_add(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    count(c);
    return route(c, r, method, version);
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct rq *r = xcalloc(1, sizeof(*r));

    (void)cls;
    (void)c;
    r->uri = xstrdup(uri);
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct rq *r = *req_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (r) {
        free(r->uri);
        sb_release(&r->body);
        free(r);
        *req_cls = NULL;
    }
}

/* The echo server on a loopback port (in *port); with TLS when key and cert are given. */
static struct MHD_Daemon *daemon_start(const char *key, const char *cert, unsigned *port)
{
    const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    struct sockaddr_in a;
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (key)
        d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
                             &a, MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_HTTPS_MEM_KEY,
                             key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &a,
                             MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    *port = 0;
    if (!d)
        return NULL;
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    return d;
}

static int server_start(void)
{
    srv.d = daemon_start(NULL, NULL, &srv.port);
    return srv.d && srv.port ? 0 : -1;
}

static void server_stop(void)
{
    pthread_mutex_lock(&srv.mu);
    srv.stopping = 1;
    pthread_mutex_unlock(&srv.mu);
    MHD_stop_daemon(srv.d);
}

/* A loopback port nobody listens on: bind port 0, read it back, close. */
static unsigned closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 0;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ---- helpers ---- */

static char *gw(void)
{
    return xasprintf("127.0.0.1:%u", srv.port);
}

static void kv_add(struct conf_kvlist *l, const char *name, const char *value)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n].name = xstrdup(name);
    l->v[l->n++].value = xstrdup(value);
}

static const char *kv_val(const struct conf_kvlist *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (!strcasecmp(l->v[i].name, name))
            return l->v[i].value;
    return NULL;
}

static void req_init(struct conf_request *r, const char *method, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->method = method ? xstrdup(method) : NULL;
    r->path = path ? xstrdup(path) : NULL;
}

/* Round trip to our server; the captured answer in *got. */
static int rt(const struct conf_request *req, struct conf_captured *got)
{
    char *addr = gw();
    int rc = conf_roundtrip(addr, "http", req, TIMEOUT, got);

    free(addr);
    return rc;
}

static const char *nz_str(const char *s)
{
    return s ? s : "(null)";
}

/* The server's address, in a static buffer. */
static const char *gw_str(void)
{
    static char buf[32];

    snprintf(buf, sizeof(buf), "127.0.0.1:%u", srv.port);
    return buf;
}

static int contains(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the pure helpers ---- */

static void test_hosts(void)
{
    static const struct {
        const char *addr, *scheme, *want;
    } calc[] = {
        {"192.0.2.1:80", "http", "192.0.2.1"},
        {"192.0.2.1:8080", "http", "192.0.2.1:8080"},
        {"192.0.2.1:443", "http", "192.0.2.1:443"},
        {"192.0.2.1:443", "https", "192.0.2.1"},
        {"192.0.2.1:80", "HTTP", "192.0.2.1"},
        {"[2001:db8::1]:80", "http", "[2001:db8::1]"},
        {"[2001:db8::1]:8080", "http", "[2001:db8::1]:8080"},
        {"2001:db8::1", "http", "[2001:db8::1]"},
        {"gw.example.com", "http", "gw.example.com"},
        {"gw.example.com:80", "http", "gw.example.com"},
    };
    static const struct {
        const char *host, *port, *want;
    } join[] = {
        {"192.0.2.1", "80", "192.0.2.1:80"},
        {"2001:db8::1", "8080", "[2001:db8::1]:8080"},
        {"gw.example.com", "443", "gw.example.com:443"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(calc); i++) {
        char *got = conf_calculate_host(calc[i].addr, calc[i].scheme), *name;

        name = xasprintf("CalculateHost(%s, %s)", calc[i].addr, calc[i].scheme);
        is_str(got, calc[i].want, name);
        free(name);
        free(got);
    }
    for (i = 0; i < ARRAY_SIZE(join); i++) {
        char *got = conf_host_port(join[i].host, join[i].port);

        is_str(got, join[i].want, "JoinHostPort");
        free(got);
    }
}

static void test_request_uri(void)
{
    static const struct {
        const char *path, *want;
    } rows[] = {
        {NULL, "/"},
        {"", "/"},
        {"/", "/"},
        {"/v2/example?animal=whale", "/v2/example?animal=whale"},
        {"/a b", "/a%20b"},
        {"/p%2F", "/p%252F"},               /* Path is unescaped: '%' itself is escaped */
        {"/\xc3\xbc", "/%C3%BC"},           /* non-ASCII */
        {"/a/../b", "/a/../b"},             /* no dot-segment removal */
        {"/$&+,:;=@-_.~", "/$&+,:;=@-_.~"}, /* what EscapedPath leaves */
        {"/x?", "/x"},                      /* an empty query is dropped */
        {"/x?a=1#frag", "/x?a=1"},          /* the fragment of the URL string */
        {"foo", "/foo"},
        {"/x?a=1?b", "/x?a=1?b"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        char *got = conf_request_uri(rows[i].path), *name;

        name = xasprintf("request URI of %s", rows[i].path ? rows[i].path : "NULL");
        is_str(got, rows[i].want, name);
        free(name);
        free(got);
    }
}

static int parse(const char *json, struct conf_echo *e, char **err)
{
    memset(e, 0, sizeof(*e));
    return conf_echo_parse(json, strlen(json), e, err);
}

static void test_echo_parse(void)
{
    static const struct {
        const char *json, *err; /* err NULL: parses */
    } rows[] = {
        {"null", NULL},
        {"{}", NULL},
        {" {\"message\": \"not found\"} \n", NULL},
        {"", "unexpected end of JSON input"},
        {"  ", "unexpected end of JSON input"},
        {"[]", "cannot unmarshal array into Go value of type roundtripper.CapturedRequest"},
        {"{} x", "invalid character 'x' after top-level value"},
        {"{\"path\": 5}",
         "json: cannot unmarshal number into Go struct field CapturedRequest.path of type string"},
        {"{\"headers\": {\"A\": \"b\"}}", "CapturedRequest.headers of type []string"},
        {"{\"headers\": [1]}", "of type map[string][]string"},
        {"{\"headers\": {\"A\": [1]}}", "cannot unmarshal number"},
        {"{\"tls\": {\"serverName\": true}}", "CapturedRequest.tls.serverName of type string"},
        {"{\"tls\": {\"version\": 1}}", "cannot unmarshal number"},
        {"{\"tls\": {\"peerCertificates\": \"x\"}}", "of type []string"},
        {"{\"ingress\": 5, \"service\": [], \"other\": {}}", NULL}, /* ignored fields */
        {"{not json", "invalid JSON at byte"},
    };
    struct conf_captured c;
    char *err = NULL;
    size_t i;
    int rc;

    memset(&c, 0, sizeof(c));
    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        rc = parse(rows[i].json, &c.echo, &err);
        if (!ok(rows[i].err ? rc == -1 && contains(err, rows[i].err) : rc == 0 && c.echo.parsed,
                "echo JSON row %zu: %s", i, rows[i].err ? rows[i].err : "parses"))
            printf("#   json %s\n#   rc %d, err %s\n", rows[i].json, rc, err ? err : "(none)");
        free(err);
        err = NULL;
        conf_captured_release(&c);
    }
    rc = parse("{\"path\":\"/v2?x=1\",\"host\":\"h\",\"method\":\"GET\",\"proto\":\"HTTP/1.1\","
               "\"headers\":{\"X-Multi\":[\"a\",null,\"b\"],\"X-None\":null,\"X-Empty\":[]},"
               "\"httpPort\":\"3000\",\"namespace\":\"ns\",\"pod\":\"p-1\","
               "\"tls\":{\"version\":\"TLSv1.3\",\"serverName\":\"sni.example\","
               "\"peerCertificates\":[\"PEM1\",\"PEM2\"]},"
               "\"PATH\":\"/last-wins\",\"Namespace\":null}",
               &c.echo, &err);
    ok(rc == 0, "a full echo body parses");
    is_str(c.echo.path, "/last-wins", "keys match case-insensitively, the last one wins");
    is_str(c.echo.namespace_, "ns", "null leaves a field as it is");
    is_str(kv_val(&c.echo.headers, "X-Multi"), "a,,b", "header values joined with ','");
    is_str(kv_val(&c.echo.headers, "X-None"), "", "a null header value list is present, empty");
    is_str(kv_val(&c.echo.headers, "X-Empty"), "", "an empty header value list is present, empty");
    is_str(c.echo.tls_server_name, "sni.example", "tls.serverName");
    ok(c.echo.tls_peer_certificates.n == 2 && !strcmp(c.echo.tls_peer_certificates.v[1], "PEM2"),
       "tls.peerCertificates");
    is_str(c.echo.http_port, "3000", "httpPort");
    conf_captured_release(&c);
    free(err);
}

/* ---- against the server ---- */

static void test_echo(void)
{
    struct conf_request req;
    struct conf_captured got;
    struct conf_expect want;
    char *host = gw(), *url, *why = NULL;

    req_init(&req, NULL, "/v2/example?animal=whale");
    kv_add(&req.headers, "version", "two");
    kv_add(&req.headers, "X-Padded", "  padded \t");
    kv_add(&req.headers, "x-dup", "1");
    kv_add(&req.headers, "X-Dup", "2");
    kv_add(&req.headers, "X-Empty", "");
    kv_add(&req.headers, "Host", "ignored.example");
    ok(rt(&req, &got) == 0 && !got.error, "GET: a round trip");
    ok(got.status == 200, "GET: status 200 (%ld)", got.status);
    is_str(got.proto, "HTTP/1.1", "GET: proto");
    url = xasprintf("http://%s/v2/example?animal=whale", host);
    is_str(got.url, url, "GET: the URL requested");
    ok(got.echo.parsed, "GET: application/json is parsed");
    is_str(got.echo.path, "/v2/example?animal=whale", "GET: echo path is the raw URI");
    is_str(got.echo.host, host, "GET: Host is the address with its port (CalculateHost)");
    is_str(got.echo.method, "GET", "GET: default method");
    is_str(got.echo.proto, "HTTP/1.1", "GET: echo proto");
    is_str(got.echo.namespace_, NAMESPACE, "GET: namespace");
    is_str(got.echo.pod, POD, "GET: pod");
    is_str(kv_val(&got.echo.headers, "X-Echo-Set-Header"), "", "X-Echo-Set-Header always sent");
    is_str(kv_val(&got.echo.headers, "User-Agent"), "Go-http-client/1.1", "Go's User-Agent");
    is_str(kv_val(&got.echo.headers, "Accept-Encoding"), "gzip", "Go's Accept-Encoding");
    is_str(kv_val(&got.echo.headers, "Connection"), "close", "Connection: close (no keep-alive)");
    ok(!kv_val(&got.echo.headers, "Accept"), "no Accept header (curl's default removed)");
    is_str(kv_val(&got.echo.headers, "Version"), "two", "a step header");
    is_str(kv_val(&got.echo.headers, "X-Padded"), "padded", "values trimmed as Go writes them");
    is_str(kv_val(&got.echo.headers, "X-Dup"), "2", "one value per canonical name");
    is_str(kv_val(&got.echo.headers, "X-Empty"), "", "an empty value is sent");
    ok(!kv_val(&got.echo.headers, "Content-Length"), "no Content-Length on a GET");
    is_str(kv_val(&got.headers, "content-type"), "application/json", "response Content-Type");
    is_str(kv_val(&got.headers, "X-Content-Type-Options"), "nosniff", "response headers kept");
    memset(&want, 0, sizeof(want));
    want.namespace_ = xstrdup(NAMESPACE);
    want.backend = xstrdup("infra-backend-v1");
    want.request.set = 1;
    kv_add(&want.request.headers, "version", "two");
    kv_add(&want.request.headers, "x-padded", "padded");
    ok(conf_compare(&req, "http", &got, &want, &why) == 1, "GET: conf_compare passes (%s)",
       why ? why : "");
    free(why);
    conf_expect_release(&want);
    conf_captured_release(&got);
    conf_request_release(&req);
    free(url);
    free(host);
}

static void test_host_and_set_headers(void)
{
    struct conf_request req;
    struct conf_captured got;

    req_init(&req, NULL, "/");
    req.host = xstrdup("example.com");
    kv_add(&req.backend_set_response_headers, "X-Header-Set", "set-overwrites-values");
    kv_add(&req.backend_set_response_headers, "X-Two", "a");
    ok(rt(&req, &got) == 0, "Host and X-Echo-Set-Header: a round trip");
    is_str(got.echo.host, "example.com", "the Host header is the step's host");
    is_str(kv_val(&got.echo.headers, "X-Echo-Set-Header"),
           "X-Header-Set:set-overwrites-values,X-Two:a", "X-Echo-Set-Header: name:value,...");
    is_str(kv_val(&got.headers, "X-Header-Set"), "set-overwrites-values",
           "the echo set the response header");
    conf_captured_release(&got);
    conf_request_release(&req);
}

static void test_uri_on_the_wire(void)
{
    struct conf_request req;
    struct conf_captured got;

    req_init(&req, NULL, "/a b/%2F/\xc3\xbc/../x?q=1&r=%20");
    ok(rt(&req, &got) == 0, "escaped path: a round trip");
    is_str(got.echo.path, "/a%20b/%252F/%C3%BC/../x?q=1&r=%20",
           "the path escaped as Go does, dot segments and query as given");
    conf_captured_release(&got);
    conf_request_release(&req);
}

static void test_methods(void)
{
    struct conf_request req;
    struct conf_captured got;
    int before;

    req_init(&req, "POST", "/post");
    req.body = xstrdup("ping");
    ok(rt(&req, &got) == 0, "POST with a body: a round trip");
    is_str(got.echo.method, "POST", "POST: the method");
    is_str(kv_val(&got.echo.headers, "Content-Length"), "4", "POST: Content-Length of the body");
    ok(!kv_val(&got.echo.headers, "Content-Type"), "POST: no Content-Type added");
    ok(!kv_val(&got.echo.headers, "Expect"), "POST: no Expect added");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, "PUT", "/put");
    ok(rt(&req, &got) == 0, "PUT without body: a round trip");
    is_str(got.echo.method, "PUT", "PUT: the method");
    is_str(kv_val(&got.echo.headers, "Content-Length"), "0", "PUT: Content-Length: 0, as Go");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, "DELETE", "/delete");
    ok(rt(&req, &got) == 0, "DELETE: a round trip");
    is_str(got.echo.method, "DELETE", "DELETE: the method");
    ok(!kv_val(&got.echo.headers, "Content-Length"), "DELETE: no Content-Length, as Go");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, "HEAD", "/head");
    rt(&req, &got);
    ok(got.status == 200 && contains(got.error, "unexpected end of JSON input"),
       "HEAD: an empty application/json body does not unmarshal (upstream's error)");
    conf_captured_release(&got);
    conf_request_release(&req);

    before = hits();
    req_init(&req, "GE T", "/");
    ok(conf_roundtrip("127.0.0.1:1", "http", &req, TIMEOUT, &got) == -1 &&
           contains(got.error, "invalid method"),
       "an invalid method is refused before sending");
    conf_captured_release(&got);
    conf_request_release(&req);
    ok(hits() == before, "nothing was sent");
}

static void test_follow(void)
{
    struct conf_request req;
    struct conf_captured got;
    char *referer = xasprintf("http://%s:%u/redirect?to=/landing", "127.0.0.1", srv.port);
    char *loc, *path, *hp = gw();

    req_init(&req, NULL, "/redirect?to=/landing");
    req.host = xstrdup("example.com");
    kv_add(&req.headers, "Authorization", "secret");
    ok(rt(&req, &got) == 0, "302 followed: a round trip");
    ok(got.status == 200 && !got.location.set, "302 followed: the final answer");
    is_str(got.echo.path, "/landing", "302 followed: to the Location");
    is_str(got.echo.host, "example.com", "302 to a relative Location: the Host override stays");
    is_str(kv_val(&got.echo.headers, "Referer"), referer, "302 followed: Referer as Go sets it");
    is_str(kv_val(&got.echo.headers, "X-Echo-Set-Header"), "", "302 followed: headers copied");
    is_str(kv_val(&got.echo.headers, "Authorization"), "secret", "same host: credentials kept");
    conf_captured_release(&got);
    conf_request_release(&req);

    loc = xasprintf("http://localhost:%u/elsewhere", srv.port);
    path = xasprintf("/redirect?to=%s", loc);
    req_init(&req, NULL, path);
    req.host = xstrdup("example.com");
    kv_add(&req.headers, "Authorization", "secret");
    ok(rt(&req, &got) == 0, "302 to an absolute Location: a round trip");
    is_str(got.echo.path, "/elsewhere", "302 absolute: followed");
    ok(contains(got.echo.host, "localhost:"), "302 absolute: the Host override is dropped (%s)",
       nz_str(got.echo.host));
    ok(!kv_val(&got.echo.headers, "Authorization"), "another host: credentials dropped");
    conf_captured_release(&got);
    conf_request_release(&req);
    free(path);
    free(loc);
    free(referer);
    free(hp);
}

static void test_redirect_methods(void)
{
    static const struct {
        const char *method, *code, *want_method, *want_length;
    } rows[] = {
        {"POST", "303", "GET", NULL}, /* 301/302/303: GET without the body */
        {"PUT", "301", "GET", NULL},    {"POST", "302", "GET", NULL},
        {"HEAD", "302", "HEAD", NULL}, /* GET and HEAD stay */
        {"POST", "307", "POST", "4"},  /* 307/308: method and body kept */
        {"PATCH", "308", "PATCH", "4"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        struct conf_request req;
        struct conf_captured got;
        char *path = xasprintf("/redirect?code=%s&to=/landing", rows[i].code);

        req_init(&req, rows[i].method, path);
        req.body = xstrdup("ping");
        conf_roundtrip(gw_str(), "http", &req, TIMEOUT, &got);
        if (!strcmp(rows[i].want_method, "HEAD")) {
            ok(got.status == 200 && contains(got.error, "unexpected end of JSON input"),
               "%s after %s: still HEAD (an empty body)", rows[i].method, rows[i].code);
        } else {
            ok(got.status == 200 && got.echo.parsed &&
                   !strcmp(nz_str(got.echo.method), rows[i].want_method) &&
                   !strcmp(nz_str(got.echo.path), "/landing"),
               "%s after %s: %s /landing (got %s %s)", rows[i].method, rows[i].code,
               rows[i].want_method, nz_str(got.echo.method), nz_str(got.echo.path));
            is_str(kv_val(&got.echo.headers, "Content-Length"), rows[i].want_length,
                   "the body follows only a 307/308");
        }
        conf_captured_release(&got);
        conf_request_release(&req);
        free(path);
    }
}

static void test_unfollow(void)
{
    static const struct {
        const char *to, *scheme, *host, *port, *path;
    } rows[] = {
        {"/landing", "http", "127.0.0.1", NULL, "/landing"}, /* port: the server's */
        {"http://example.org:8443/x%20y?q=1", "http", "example.org", "8443", "/x y"},
        {"https://example.org/secure", "https", "example.org", "", "/secure"},
        {"http://[2001:db8::1]:8080/v6", "http", "2001:db8::1", "8080", "/v6"},
        {"http://example.org", "http", "example.org", "", ""}, /* Go's Path is "" */
        {"other", "http", "127.0.0.1", NULL, "/other"},        /* relative to /redirect */
    };
    char port[16];
    size_t i;

    snprintf(port, sizeof(port), "%u", srv.port);
    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        struct conf_request req;
        struct conf_captured got;
        char *path = xasprintf("/redirect?to=%s", rows[i].to);

        req_init(&req, NULL, path);
        req.unfollow_redirect = 1;
        ok(rt(&req, &got) == 0 && got.status == 302 && got.location.set,
           "unfollowed 302 to %s: returned as it is", rows[i].to);
        ok(!strcmp(nz_str(got.location.scheme), rows[i].scheme) &&
               !strcmp(nz_str(got.location.host), rows[i].host) &&
               !strcmp(nz_str(got.location.port), rows[i].port ? rows[i].port : port) &&
               !strcmp(nz_str(got.location.path), rows[i].path),
           "Location %s parsed: %s %s %s %s", rows[i].to, nz_str(got.location.scheme),
           nz_str(got.location.host), nz_str(got.location.port), nz_str(got.location.path));
        conf_captured_release(&got);
        conf_request_release(&req);
        free(path);
    }
}

static void test_redirect_errors(void)
{
    struct conf_request req;
    struct conf_captured got;
    struct conf_expect want;
    char *why = NULL;
    int before;

    req_init(&req, NULL, "/noloc");
    req.unfollow_redirect = 1;
    rt(&req, &got);
    ok(got.status == 302 && contains(got.error, "no Location header"),
       "unfollowed 3xx without Location: an error");
    conf_captured_release(&got);
    req.unfollow_redirect = 0;
    rt(&req, &got);
    ok(got.status == 302 && contains(got.error, "no Location header"),
       "followed 3xx without Location: returned, then an error");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/redirect?code=300&to=/landing");
    ok(rt(&req, &got) == 0 && got.status == 300 && got.location.set,
       "a 300 is not followed (Go follows 301/302/303/307/308)");
    conf_captured_release(&got);
    conf_request_release(&req);

    before = hits();
    req_init(&req, NULL, "/loop");
    rt(&req, &got);
    ok(contains(got.error, "stopped after 10 redirects"), "a redirect loop stops");
    ok(hits() - before == 10, "after 10 requests (%d)", hits() - before);
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/redirect?to=/landing");
    req.unfollow_redirect = 1;
    rt(&req, &got);
    memset(&want, 0, sizeof(want));
    want.response.status_codes = xmalloc(sizeof(int));
    want.response.status_codes[0] = 302;
    want.response.nstatus = 1;
    want.redirect.set = 1;
    want.redirect.path = xstrdup("/landing");
    want.redirect.port = xasprintf("%u", srv.port);
    ok(conf_compare(&req, "http", &got, &want, &why) == 1, "a captured redirect passes (%s)",
       why ? why : "");
    free(why);
    conf_expect_release(&want);
    conf_captured_release(&got);
    conf_request_release(&req);
}

static void test_bodies(void)
{
    struct conf_request req;
    struct conf_captured got;

    req_init(&req, NULL, "/text");
    ok(rt(&req, &got) == 0 && got.status == 200, "text/plain: a round trip");
    ok(!got.echo.parsed, "text/plain: not parsed");
    is_str(got.echo.method, "GET", "not JSON: the echo method is the sent one");
    is_str(got.body_start, "hello world\n", "not JSON: body_start");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/charset");
    ok(rt(&req, &got) == 0 && !got.echo.parsed && got.body_start && got.body_start[0] == '{',
       "application/json; charset=utf-8 is not exactly application/json: not parsed");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/status/404");
    ok(rt(&req, &got) == 0 && got.status == 404 && !got.error, "404: an answer, not an error");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/badjson");
    ok(rt(&req, &got) == -1 && got.status == 200 &&
           contains(got.error, "unexpected error reading response: json: cannot unmarshal "
                               "number into Go struct field CapturedRequest.path of type string"),
       "JSON of the wrong shape: the attempt fails");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/notjson");
    ok(rt(&req, &got) == -1 && contains(got.error, "unexpected error reading response"),
       "broken JSON: the attempt fails");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/dup");
    ok(rt(&req, &got) == 0, "repeated response headers: a round trip");
    is_str(kv_val(&got.headers, "X-Dup"), "a,b", "repeated response headers joined with ','");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/gzip");
    ok(rt(&req, &got) == 0 && got.echo.parsed, "gzip: decoded as Go's transport decodes");
    is_str(got.echo.namespace_, "gz", "gzip: the decoded body");
    ok(!kv_val(&got.headers, "Content-Encoding") && !kv_val(&got.headers, "Content-Length"),
       "gzip: Content-Encoding and Content-Length dropped, as Go");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/");
    kv_add(&req.headers, "Accept-Encoding", "identity");
    ok(rt(&req, &got) == 0, "the step's Accept-Encoding: a round trip");
    is_str(kv_val(&got.echo.headers, "Accept-Encoding"), "identity",
           "the step's Accept-Encoding replaces Go's gzip");
    conf_captured_release(&got);
    conf_request_release(&req);
}

static void test_errors(void)
{
    static const struct {
        const char *name, *value, *err;
    } bad[] = {
        {"X-Injected", "a\r\nX-Evil: 1", "invalid header field value for \"X-Injected\""},
        {"Bad Name", "v", "invalid header field name \"Bad Name\""},
    };
    struct conf_request req;
    struct conf_captured got;
    char *addr, *why = NULL;
    double t0;
    size_t i;
    int before, rc;

    req_init(&req, NULL, "/slow");
    t0 = now_s();
    conf_roundtrip(gw_str(), "http", &req, 300, &got);
    ok(got.status == 0 && contains(got.error, "timed out"), "a slow answer: timeout (%s)",
       nz_str(got.error));
    ok(now_s() - t0 < 2.0, "the timeout bounds the wait (%.2f s)", now_s() - t0);
    conf_captured_release(&got);
    conf_request_release(&req);

    addr = xasprintf("127.0.0.1:%u", closed_port());
    req_init(&req, NULL, "/");
    rc = conf_roundtrip(addr, "http", &req, TIMEOUT, &got);
    ok(rc == -1 && got.status == 0 && contains(got.error, "Get \"http://127.0.0.1:") &&
           contains(got.error, "onnect"),
       "a closed port: connection refused (%s)", nz_str(got.error));
    ok(conf_compare(&req, "http", &got, &(struct conf_expect){0}, &why) == 0 &&
           contains(why, "got an error"),
       "a transport error fails the comparison");
    ok(conf_expect_failure(&got, NULL) == 0, "a transport error is 'not yet' for ExpectFailure");
    free(why);
    conf_captured_release(&got);
    conf_request_release(&req);
    free(addr);

    before = hits();
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        req_init(&req, NULL, "/");
        kv_add(&req.headers, bad[i].name, bad[i].value);
        ok(rt(&req, &got) == -1 && contains(got.error, bad[i].err), "refused: %s", bad[i].err);
        conf_captured_release(&got);
        conf_request_release(&req);
    }
    req_init(&req, NULL, "/");
    req.host = xstrdup("exa mple.com");
    ok(rt(&req, &got) == -1 && contains(got.error, "invalid Host header"),
       "refused: an invalid Host");
    conf_captured_release(&got);
    conf_request_release(&req);
    ok(hits() == before, "nothing invalid was sent");

    req_init(&req, NULL, "/");
    ok(conf_roundtrip(gw_str(), "ftp", &req, TIMEOUT, &got) == -1 &&
           contains(got.error, "unsupported protocol scheme \"ftp\""),
       "refused: another scheme");
    conf_captured_release(&got);
    conf_request_release(&req);
}

/* The kind of a transport error (runner faults, docs/RELIABILITY.md): a
   timeout, a refused connection, an answer (none). */
static void test_fault_kinds(void)
{
    struct conf_request req;
    struct conf_captured got;
    char *addr = xasprintf("127.0.0.1:%u", closed_port());
    int rc;

    req_init(&req, NULL, "/slow");
    conf_roundtrip(gw_str(), "http", &req, 300, &got);
    ok(got.fault == CONF_FAULT_TIMEOUT && conf_gateway_fault(&got) == CONF_FAULT_TIMEOUT,
       "a slow answer is a timeout fault (%s)", nz_str(got.error));
    conf_captured_release(&got);
    conf_request_release(&req);
    req_init(&req, NULL, "/");
    conf_roundtrip(addr, "http", &req, TIMEOUT, &got);
    ok(got.fault == CONF_FAULT_REFUSED, "a closed port is a refused connection (%s)",
       nz_str(got.error));
    conf_captured_release(&got);
    rc = rt(&req, &got);
    ok(rc == 0 && got.fault == CONF_FAULT_NONE && conf_gateway_fault(&got) == CONF_FAULT_NONE,
       "an answer is no fault (%ld)", got.status);
    conf_captured_release(&got);
    conf_request_release(&req);
    free(addr);
}

/* A signal to the runner abandons a request in flight within about a second. */
static void test_interrupted(void)
{
    struct conf_request req;
    struct conf_captured got;
    double t0;

    req_init(&req, NULL, "/slow");
    conf_interrupted = SIGTERM;
    t0 = now_s();
    conf_roundtrip(gw_str(), "http", &req, 8000, &got);
    conf_interrupted = 0;
    ok(got.status == 0 && contains(got.error, "interrupted by SIGTERM"),
       "SIGTERM: the request is abandoned (%s)", nz_str(got.error));
    ok(now_s() - t0 < 2.0, "... at once, not after its 8 s timeout (%.2f s)", now_s() - t0);
    conf_captured_release(&got);
    conf_request_release(&req);
}

static void test_new_connection_each_time(void)
{
    struct conf_request req;
    struct conf_captured got;
    unsigned first;

    req_init(&req, NULL, "/one");
    rt(&req, &got);
    first = client_port();
    conf_captured_release(&got);
    rt(&req, &got);
    ok(first && client_port() && client_port() != first,
       "each request on a new connection (client ports %u, %u)", first, client_port());
    conf_captured_release(&got);
    conf_request_release(&req);
}

/* ---- https (conf_roundtrip_tls) ---- */

#define TLS_NAME "gateway.example.com"

static struct {
    struct MHD_Daemon *d;
    unsigned port;
    struct certs_pem ca, other_ca, server, client;
} tsrv;

static int tls_material(void)
{
    /* "*" and "*.org" as upstream's listener certificate (spec §3.4):
       Go's verification lets "*.org" cover example.org, OpenSSL's does not */
    static const char *const dns[] = {TLS_NAME, "*", "*.org", NULL};
    static const char *const client_dns[] = {"client.example.com", NULL};
    struct certs_request server = {.dns = dns, .validity_days = 1};
    struct certs_request client = {.dns = client_dns, .validity_days = 1};
    char err[256] = "";

    if (certs_create_ca("gatecheck test CA", 1, &tsrv.ca, err, sizeof(err)) ||
        certs_create_ca("another CA", 1, &tsrv.other_ca, err, sizeof(err)) ||
        certs_issue(&tsrv.ca, &server, &tsrv.server, err, sizeof(err)) ||
        certs_issue(&tsrv.ca, &client, &tsrv.client, err, sizeof(err))) {
        printf("# certs: %s\n", err);
        return -1;
    }
    return 0;
}

static void tls_release(void)
{
    certs_pem_release(&tsrv.ca);
    certs_pem_release(&tsrv.other_ca);
    certs_pem_release(&tsrv.server);
    certs_pem_release(&tsrv.client);
}

/* https to the TLS server with 'tls'; the answer in *got. */
static int rt_tls(const struct conf_request *req, const struct conf_tls *tls,
                  struct conf_captured *got)
{
    char addr[32];

    snprintf(addr, sizeof(addr), "127.0.0.1:%u", tsrv.port);
    return conf_roundtrip_tls(addr, "https", req, tls, TIMEOUT, got);
}

static void test_tls_ok(void)
{
    struct conf_tls tls = {.server_name = TLS_NAME, .ca_pem = tsrv.ca.cert};
    struct conf_request req;
    struct conf_captured got;
    char *addr = xasprintf("127.0.0.1:%u", tsrv.port), *url;
    int rc;

    req_init(&req, NULL, "/tls?x=1");
    rc = rt_tls(&req, &tls, &got);
    ok(rc == 0 && got.status == 200,
       "https: the server name and CA verify the certificate (%ld, %s)", got.status,
       nz_str(got.error));
    url = xasprintf("https://%s/tls?x=1", addr);
    is_str(got.url, url, "https: the URL is the gateway address");
    is_str(got.echo.host, addr, "https: Host is the gateway address (the URL host)");
    is_str(got.echo.path, "/tls?x=1", "https: the path");
    is_str(got.proto, "HTTP/1.1", "https: HTTP/1.1 (no ALPN, as Go's transport)");
    is_str(got.echo.tls_server_name, TLS_NAME, "https: the server name is sent as SNI");
    conf_captured_release(&got);
    free(req.host);
    req.host = xstrdup(TLS_NAME);
    rc = rt_tls(&req, &tls, &got);
    ok(rc == 0, "https with a Host: a round trip (%s)", nz_str(got.error));
    is_str(got.echo.host, TLS_NAME, "https: the Host header is the step's host");
    conf_captured_release(&got);
    conf_request_release(&req);

    req_init(&req, NULL, "/redirect?to=/after-tls");
    rc = rt_tls(&req, &tls, &got);
    ok(rc == 0 && got.status == 200, "https: a redirect is followed (%s)", nz_str(got.error));
    is_str(got.echo.path, "/after-tls", "https: the redirect hop uses the same TLS config");
    is_str(got.echo.tls_server_name, TLS_NAME, "https: the redirect hop sends the same SNI");
    conf_captured_release(&got);
    conf_request_release(&req);

    tls.client_cert_pem = tsrv.client.cert;
    tls.client_key_pem = tsrv.client.key;
    req_init(&req, NULL, "/");
    rc = rt_tls(&req, &tls, &got);
    ok(rc == 0 && got.status == 200,
       "https with a client certificate the server does not ask for (%s)", nz_str(got.error));
    conf_captured_release(&got);
    conf_request_release(&req);
    free(url);
    free(addr);
}

/* Upstream's HTTPS listener certificate names "*.org": Go accepts it for
   example.org, and so must we (spec §3.4, HTTPRouteHTTPSListener). */
static void test_tls_go_names(void)
{
    static const char *const names[] = {"example.org", "second-example.org", "EXAMPLE.ORG."};
    struct conf_request req;
    struct conf_captured got;
    size_t i;

    req_init(&req, NULL, "/");
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct conf_tls tls = {.server_name = names[i], .ca_pem = tsrv.ca.cert};
        int rc = rt_tls(&req, &tls, &got);

        ok(rc == 0 && got.status == 200, "https: \"*.org\" covers %s, as in Go (%s)", names[i],
           nz_str(got.error));
        conf_captured_release(&got);
    }
    conf_request_release(&req);
}

/* Go's crypto/x509 matchHostnames, table-driven. */
static void test_name_matches(void)
{
    static const struct {
        const char *pattern, *host;
        int want;
    } t[] = {
        {"example.org", "example.org", 1},
        {"EXAMPLE.org", "example.ORG", 1},
        {"example.org.", "example.org", 0},
        {"example.org.", "example.org.", 1},
        {"example.org", "example.org.", 1},
        {"*.org", "example.org", 1},
        {"*.org", "a.example.org", 0},
        {"*.example.org", "a.example.org", 1},
        {"*.example.org", "example.org", 0},
        {"*", "example.org", 0},
        {"*", "localhost", 0},
        {"*", "*", 1},
        {"a..org", "a..org", 1},
        {"*.a..org", "x.a..org", 0},
        {"a*.org", "ab.org", 0},
        {"*.*.org", "a.b.org", 0},
        {"example.org", "example.com", 0},
        {"", "example.org", 0},
        {"example.org", "", 0},
        {"example.org", "xexample.org", 0},
        {"org", "example.org", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ok(conf_tls_name_matches(t[i].pattern, t[i].host) == t[i].want,
           "name check: \"%s\" %s \"%s\"", t[i].pattern, t[i].want ? "covers" : "does not cover",
           t[i].host);
}

static void test_tls_refused(void)
{
    struct conf_tls wrong_name = {.server_name = "other.example.com", .ca_pem = tsrv.ca.cert};
    struct conf_tls wrong_ca = {.server_name = TLS_NAME, .ca_pem = tsrv.other_ca.cert};
    struct conf_request req;
    struct conf_captured got;
    int before = hits(), rc;

    req_init(&req, NULL, "/");
    rc = rt_tls(&req, &wrong_name, &got);
    ok(rc == -1 && got.status == 0 && contains(got.error, "certificate") &&
           contains(got.error, "other.example.com"),
       "https: a wrong server name fails verification (%s)", nz_str(got.error));
    conf_captured_release(&got);
    rc = rt_tls(&req, &wrong_ca, &got);
    ok(rc == -1 && got.status == 0 && contains(got.error, "certificate"),
       "https: another CA fails verification (%s)", nz_str(got.error));
    conf_captured_release(&got);
    ok(hits() == before, "no request passed a failed verification");
    conf_request_release(&req);
}

static void test_tls_config(void)
{
    struct conf_tls no_name = {.ca_pem = "x"}, half = {.server_name = TLS_NAME};
    struct conf_request req;
    struct conf_captured got;
    int before = hits(), rc;

    half.ca_pem = tsrv.ca.cert;
    half.client_cert_pem = tsrv.client.cert;
    req_init(&req, NULL, "/");
    rc = rt_tls(&req, NULL, &got);
    ok(rc == -1 && contains(got.error, "server name and CA"), "https without a TLS config: %s",
       nz_str(got.error));
    conf_captured_release(&got);
    rc = conf_roundtrip(gw_str(), "https", &req, TIMEOUT, &got);
    ok(rc == -1 && contains(got.error, "server name and CA"), "conf_roundtrip refuses https");
    conf_captured_release(&got);
    rc = rt_tls(&req, &no_name, &got);
    ok(rc == -1 && contains(got.error, "server name and CA"),
       "https without a server name is refused");
    conf_captured_release(&got);
    rc = rt_tls(&req, &half, &got);
    ok(rc == -1 && contains(got.error, "client certificate needs its key"),
       "a client certificate without its key is refused");
    conf_captured_release(&got);
    ok(hits() == before, "nothing was sent");
    rc = conf_roundtrip_tls(gw_str(), "http", &req, &half, TIMEOUT, &got);
    ok(rc == 0 && got.status == 200, "http: a TLS config is not used (%s)", nz_str(got.error));
    conf_captured_release(&got);
    conf_request_release(&req);
}

static void test_tls(void)
{
    if (!ok(tls_material() == 0, "a CA and a certificate for " TLS_NAME)) {
        tls_release();
        return;
    }
    tsrv.d = daemon_start(tsrv.server.key, tsrv.server.cert, &tsrv.port);
    if (ok(tsrv.d && tsrv.port, "the TLS echo server starts on loopback (port %u)", tsrv.port)) {
        test_tls_ok();
        test_tls_go_names();
        test_tls_refused();
        test_tls_config();
    }
    if (tsrv.d)
        MHD_stop_daemon(tsrv.d);
    tls_release();
}

int main(void)
{
    util_init_cjson();
    test_name_matches();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_hosts();
    test_request_uri();
    test_echo_parse();
    if (ok(server_start() == 0, "the echo server starts on loopback (port %u)", srv.port)) {
        test_echo();
        test_host_and_set_headers();
        test_uri_on_the_wire();
        test_methods();
        test_follow();
        test_redirect_methods();
        test_unfollow();
        test_redirect_errors();
        test_bodies();
        test_errors();
        test_fault_kinds();
        test_interrupted();
        test_new_connection_each_time();
        test_tls();
        server_stop();
    }
    curl_global_cleanup();
    return done_testing();
}

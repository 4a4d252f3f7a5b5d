/*
 * The Kubernetes client's requests (include/kube.h), two ways:
 *  1. against a scripted fake API server on loopback (a forked child, plain
 *     HTTP or TLS with the certificates in tests/data/kubeconfig/pki):
 *     headers, retries, timeouts, size caps, Warning headers, credentials,
 *     TLS verification, proxies, discovery, every verb and watch;
 *  2. against a real kube-apiserver when GATECHECK_KUBECONFIG names a
 *     kubeconfig, or build/cluster/kubeconfig exists and the server answers
 *     (`make cluster-up`); otherwise "ok N # SKIP no cluster".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../tap.h"
#include "../../lib/kube_int.h"
#include "kube.h"
#include "util.h"

#define PKI "tests/data/kubeconfig/pki"

static char top[PATH_MAX]; /* the repository: absolute paths for generated kubeconfigs */

/* ------------------------------------------------------------------------ */
/* The fake API server                                                      */
/* ------------------------------------------------------------------------ */

struct reply {
    int status;
    const char *headers; /* extra "Name: value\r\n" lines, or NULL */
    const char *body;    /* or NULL */
    /* A chunked body instead: parts in order; a part starting with "\001" is
       sent only after the test wrote a byte to fake.go (the rest of the part). */
    const char *const *chunks;
    int hang_ms; /* wait this long before answering */
};

enum fake_tls { FAKE_PLAIN, FAKE_TLS, FAKE_TLS_CLIENT_CERT };

struct fake {
    pid_t pid;
    int port;
    int go;       /* write end: lets the next chunk go */
    char log[64]; /* what the server received, one block per request */
};

struct conn {
    int fd;
    SSL *ssl;
};

static ssize_t conn_read(struct conn *c, char *buf, size_t n)
{
    if (c->ssl)
        return SSL_read(c->ssl, buf, (int)n);
    return read(c->fd, buf, n);
}

static void conn_write(struct conn *c, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = c->ssl ? SSL_write(c->ssl, buf, (int)n) : write(c->fd, buf, n);

        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

static void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_printf(struct conn *c, const char *fmt, ...)
{
    struct sbuf sb = {0};
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    conn_write(c, sb.buf, sb.len);
    sb_release(&sb);
}

/* Read one request (head and Content-Length body) into sb. */
static int read_request(struct conn *c, struct sbuf *sb)
{
    char buf[4096];
    const char *end, *cl;
    size_t want = 0;
    ssize_t n;

    while (!(end = sb->buf ? strstr(sb->buf, "\r\n\r\n") : NULL)) {
        n = conn_read(c, buf, sizeof(buf));
        if (n <= 0 || sb->len > (1 << 20))
            return -1;
        sb_add(sb, buf, (size_t)n);
    }
    cl = strcasestr(sb->buf, "\r\nContent-Length:");
    if (cl && cl < end)
        want = strtoul(cl + 17, NULL, 10);
    while (sb->len < (size_t)(end - sb->buf) + 4 + want) {
        size_t off = (size_t)(end - sb->buf);

        n = conn_read(c, buf, sizeof(buf));
        if (n <= 0)
            return -1;
        sb_add(sb, buf, (size_t)n);
        end = sb->buf + off;
    }
    return 0;
}

static void log_append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

    if (fd < 0)
        return;
    if (write(fd, text, strlen(text)) < 0)
        _exit(3);
    close(fd);
}

static void send_reply(struct conn *c, const struct reply *r, int go)
{
    size_t i;

    if (r->hang_ms)
        usleep((useconds_t)r->hang_ms * 1000);
    conn_printf(c, "HTTP/1.1 %d Scripted\r\nConnection: close\r\n%s", r->status,
                r->headers ? r->headers : "");
    if (!r->chunks) {
        const char *body = r->body ? r->body : "";

        conn_printf(c, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                    strlen(body), body);
        return;
    }
    conn_printf(c, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (i = 0; r->chunks[i]; i++) {
        const char *part = r->chunks[i];
        char b;

        if (part[0] == '\001') {
            if (read(go, &b, 1) != 1)
                return;
            part++;
        }
        conn_printf(c, "%zx\r\n%s\r\n", strlen(part), part);
    }
    conn_printf(c, "0\r\n\r\n");
}

static SSL_CTX *server_ctx(enum fake_tls tls)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx || SSL_CTX_use_certificate_file(ctx, PKI "/server.crt", SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, PKI "/server.key", SSL_FILETYPE_PEM) != 1)
        _exit(4);
    if (tls == FAKE_TLS_CLIENT_CERT) {
        if (SSL_CTX_load_verify_locations(ctx, PKI "/ca.crt", NULL) != 1)
            _exit(4);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
}

/* TLS accept; logs the client certificate's CN. 0 or -1. */
static int tls_accept(SSL_CTX *ctx, struct conn *c, struct sbuf *log)
{
    X509 *peer;
    char cn[256];

    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_accept(c->ssl) != 1) {
        sb_puts(log, "=== TLS HANDSHAKE FAILED\n");
        return -1;
    }
    peer = SSL_get_peer_certificate(c->ssl);
    if (peer) {
        cn[0] = '\0';
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
        sb_printf(log, "=== CLIENT CN: %s\n", cn);
        X509_free(peer);
    }
    return 0;
}

static void fake_serve(int lfd, int go, const char *logpath, const struct reply *r, size_t n,
                       enum fake_tls tls)
{
    SSL_CTX *ctx = tls == FAKE_PLAIN ? NULL : server_ctx(tls);
    size_t i;

    alarm(60); /* never outlive a broken test */
    for (i = 0; i < n; i++) {
        struct conn c = {accept(lfd, NULL, NULL), NULL};
        struct sbuf log = {0}, req = {0};

        if (c.fd < 0)
            _exit(5);
        if (!ctx || tls_accept(ctx, &c, &log) == 0) {
            if (read_request(&c, &req) == 0)
                sb_printf(&log, "=== REQUEST\n%s\n", req.buf);
            log_append(logpath, log.buf ? log.buf : "");
            send_reply(&c, &r[i], go);
        } else {
            log_append(logpath, log.buf);
        }
        if (c.ssl) {
            SSL_shutdown(c.ssl);
            SSL_free(c.ssl);
        }
        close(c.fd);
        sb_release(&log);
        sb_release(&req);
    }
    _exit(0);
}

static int fake_start_at(struct fake *f, const char *addr, const struct reply *r, size_t n,
                         enum fake_tls tls)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), go[2], logfd;

    memset(f, 0, sizeof(*f));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, addr, &sa.sin_addr);
    snprintf(f->log, sizeof(f->log), "/tmp/gc-fake-XXXXXX");
    logfd = mkstemp(f->log);
    if (lfd < 0 || logfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(lfd, 16) != 0 || getsockname(lfd, (struct sockaddr *)&sa, &len) != 0 ||
        pipe(go) != 0)
        return -1;
    close(logfd);
    f->port = ntohs(sa.sin_port);
    fflush(stdout);
    f->pid = fork();
    if (f->pid == 0) {
        close(go[1]);
        fake_serve(lfd, go[0], f->log, r, n, tls);
    }
    close(lfd);
    close(go[0]);
    f->go = go[1];
    return f->pid > 0 ? 0 : -1;
}

static int fake_start(struct fake *f, const struct reply *r, size_t n, enum fake_tls tls)
{
    return fake_start_at(f, "127.0.0.1", r, n, tls);
}

/* Stop the server; returns what it logged (free it). */
static char *fake_stop(struct fake *f)
{
    char *log = NULL;
    size_t len;

    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    close(f->go);
    if (kube_read_file(f->log, 1 << 24, &log, &len) != 0)
        log = xstrdup("");
    unlink(f->log);
    return log;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* Print text as TAP diagnostics, line by line (at most 4000 bytes). */
static void diag(const char *text)
{
    const char *p = text ? text : "(null)", *end = p + strnlen(p, 4000);

    while (p < end) {
        size_t n = strcspn(p, "\n");

        if (p + n > end)
            n = (size_t)(end - p);
        printf("#   %.*s\n", (int)n, p);
        p += n + 1;
    }
}

/* A label without CR/LF: they would break the TAP line. */
static char *one_line(const char *s)
{
    struct sbuf sb = {0};

    for (; *s; s++) {
        if (*s == '\r')
            sb_puts(&sb, "\\r");
        else if (*s == '\n')
            sb_puts(&sb, "\\n");
        else
            sb_putc(&sb, *s);
    }
    return sb_detach(&sb);
}

static void has(const char *log, const char *needle, const char *what)
{
    char *label = one_line(needle);

    if (!ok(log && strstr(log, needle) != NULL, "%s: has '%s'", what, label))
        diag(log);
    free(label);
}

/* ------------------------------------------------------------------------ */
/* Clients from generated kubeconfigs                                       */
/* ------------------------------------------------------------------------ */

/* Append tmpl with each "%s" replaced by the repository's path. */
static void put_with_top(struct sbuf *sb, const char *tmpl)
{
    const char *p;

    while (tmpl && (p = strstr(tmpl, "%s")) != NULL) {
        sb_add(sb, tmpl, (size_t)(p - tmpl));
        sb_puts(sb, top);
        tmpl = p + 2;
    }
    if (tmpl)
        sb_puts(sb, tmpl);
}

/*
 * A client for server with extra cluster lines (e.g. "    insecure-skip-tls-verify: true\n")
 * and user lines ("    token: t\n"); %s in them is replaced by the repository path.
 */
static struct kube_client *client_for(const char *server, const char *cluster, const char *user,
                                      const struct kube_client_opts *o)
{
    char path[] = "/tmp/gc-kubeconfig-XXXXXX", err[KUBE_ERR_MAX];
    struct kube_load_opts lo = {path, NULL, NULL};
    struct kube_config *cfg;
    struct kube_client *c = NULL;
    struct sbuf y = {0};
    int fd = mkstemp(path);

    sb_printf(&y,
              "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n"
              "  cluster:\n    server: %s\n",
              server);
    put_with_top(&y, cluster);
    sb_puts(&y, "users:\n- name: u\n  user:\n");
    put_with_top(&y, user);
    sb_puts(&y, "contexts:\n- {name: t, context: {cluster: c, user: u}}\n");
    if (fd < 0 || write(fd, y.buf, y.len) != (ssize_t)y.len) {
        ok(0, "write a kubeconfig");
    } else if (kube_config_load(&lo, &cfg, err, sizeof(err)) != 0) {
        ok(0, "load the generated kubeconfig: %s", err);
    } else {
        c = kube_client_new(cfg, o, err, sizeof(err));
        if (!c)
            ok(0, "client: %s", err);
    }
    if (fd >= 0)
        close(fd);
    unlink(path);
    sb_release(&y);
    return c;
}

static char *url_of(const char *scheme, int port)
{
    return xasprintf("%s://127.0.0.1:%d", scheme, port);
}

/* Run one GET /version against replies; the log in *log. */
static int one_get(const struct reply *r, size_t n, enum fake_tls tls, const char *cluster,
                   const char *user, const struct kube_client_opts *o, struct kube_response *resp,
                   char **log)
{
    struct fake f;
    struct kube_client *c;
    char *url;
    int rc = -1;

    *log = NULL;
    if (fake_start(&f, r, n, tls) != 0) {
        ok(0, "fake server starts");
        return -1;
    }
    url = url_of(tls == FAKE_PLAIN ? "http" : "https", f.port);
    c = client_for(url, cluster, user, o);
    if (c)
        rc = kube_request(c, "GET", "/version", NULL, NULL, 0, resp);
    kube_client_free(&c);
    *log = fake_stop(&f);
    free(url);
    return rc;
}

#define VERSION_BODY "{\"major\":\"1\",\"minor\":\"37\"}"

/* ------------------------------------------------------------------------ */
/* Transport: headers, retries, caps, errors                                */
/* ------------------------------------------------------------------------ */

static void test_headers_and_warnings(void)
{
    static const struct reply r[] = {
        {200,
         "Warning: 299 - \"first\"\r\nWarning: 299 - \"second\", 299 - \"first\"\r\n"
         "Warning: 199 - \"not a deprecation\"\r\n",
         VERSION_BODY, NULL, 0},
    };
    struct kube_client_opts o = {.user_agent = "gwconform/test"};
    struct kube_response resp = {0};
    char *log;
    int rc = one_get(r, 1, FAKE_PLAIN, NULL,
                     "    token: static-token\n    as: jane\n    as-groups: [devs, ops]\n"
                     "    as-user-extra: {\"acme.com/scope\": [read]}\n",
                     &o, &resp, &log);

    ok(rc == 0 && resp.status == 200 && resp.failure == KUBE_OK, "GET /version: 200");
    ok(cJSON_IsString(cJSON_GetObjectItem(resp.body, "minor")), "the body is parsed");
    ok(resp.nwarnings == 2 && !strcmp(resp.warnings[0], "first") &&
           !strcmp(resp.warnings[1], "second"),
       "Warning headers: 299 texts, deduplicated, in order (%zu)", resp.nwarnings);
    has(log, "GET /version HTTP/1.1", "request line");
    has(log, "Authorization: Bearer static-token", "bearer token");
    has(log, "Accept: application/json", "accept");
    has(log, "User-Agent: gwconform/test", "user agent from the options");
    has(log, "Impersonate-User: jane", "impersonation");
    has(log, "Impersonate-Group: devs\r\nImpersonate-Group: ops", "impersonated groups");
    has(log, "Impersonate-Extra-acme.com%2Fscope: read", "impersonated extra, key escaped");
    kube_response_release(&resp);
    free(log);
}

static void test_basic_auth_and_methods(void)
{
    static const struct reply r[] = {{201, NULL, "{\"kind\":\"ConfigMap\"}", NULL, 0}};
    struct kube_response resp = {0};
    struct kube_client *c;
    struct fake f;
    char *url, *log;

    if (fake_start(&f, r, 1, FAKE_PLAIN) != 0)
        return;
    url = url_of("http", f.port);
    c = client_for(url, NULL, "    username: admin\n    password: s3cret\n", NULL);
    ok(c &&
           kube_request(c, "POST", "/api/v1/namespaces/x/configmaps", "application/json",
                        "{\"a\":1}", 7, &resp) == 0 &&
           resp.status == 201,
       "POST with a body: 201");
    kube_client_free(&c);
    log = fake_stop(&f);
    has(log, "POST /api/v1/namespaces/x/configmaps HTTP/1.1", "post");
    has(log, "Authorization: Basic YWRtaW46czNjcmV0", "basic auth");
    has(log, "Content-Type: application/json", "content type");
    has(log, "\r\n\r\n{\"a\":1}", "body sent");
    ok(!strstr(log, "Expect:"), "no Expect: 100-continue");
    kube_response_release(&resp);
    free(log);
    free(url);
}

static void test_retries(void)
{
    static const struct reply r[] = {
        {429, "Retry-After: 0\r\n", "{\"kind\":\"Status\",\"code\":429}", NULL, 0},
        {503, "Retry-After: 0\r\n", "", NULL, 0},
        {200, NULL, VERSION_BODY, NULL, 0},
    };
    static const struct reply no_header[] = {
        {500, NULL,
         "{\"kind\":\"Status\",\"message\":\"Internal error occurred: boom\",\"reason\":"
         "\"InternalError\",\"code\":500}",
         NULL, 0},
        {200, NULL, VERSION_BODY, NULL, 0},
    };
    static const struct reply many[] = {
        {429, "Retry-After: 0\r\n", "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}", NULL,
         0},
        {429, "Retry-After: 0\r\n", "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}", NULL,
         0},
        {429, "Retry-After: 0\r\n", "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}", NULL,
         0},
        {200, NULL, VERSION_BODY, NULL, 0},
    };
    static const struct reply capped[] = {
        {503, "Retry-After: 5\r\n", "", NULL, 0},
        {200, NULL, VERSION_BODY, NULL, 0},
    };
    struct kube_client_opts two = {.max_retries = 2}, cap = {.max_retry_wait_ms = 100};
    struct kube_response resp = {0};
    struct timespec t0, t1;
    char *log;

    ok(one_get(r, 3, FAKE_PLAIN, NULL, NULL, NULL, &resp, &log) == 0 && resp.retries == 2,
       "429 and 503 with Retry-After are retried (%d retries)", resp.retries);
    free(log);
    ok(one_get(no_header, 2, FAKE_PLAIN, NULL, NULL, NULL, &resp, &log) == -1 &&
           resp.retries == 0 && resp.failure == KUBE_FAIL_HTTP,
       "a 500 without Retry-After is not retried");
    is_str(resp.error, "Internal error occurred: boom (HTTP 500 InternalError)",
           "500's Status message");
    is_str(resp.reason, "InternalError", "500's reason");
    ok(count_of(log, "=== REQUEST") == 1, "one request only");
    free(log);
    ok(one_get(many, 4, FAKE_PLAIN, NULL, NULL, &two, &resp, &log) == -1 && resp.retries == 2 &&
           resp.status == 429,
       "max_retries 2: the third 429 is returned");
    free(log);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ok(one_get(capped, 2, FAKE_PLAIN, NULL, NULL, &cap, &resp, &log) == 0 && resp.retries == 1,
       "Retry-After: 5 retried");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ok(t1.tv_sec - t0.tv_sec < 3, "the wait is capped by max_retry_wait_ms");
    free(log);
    kube_response_release(&resp);
}

static void test_bad_answers(void)
{
    static char big[5001];
    static const struct reply not_json[] = {{200, NULL, "<html>hello</html>", NULL, 0}};
    static const struct reply proxy_error[] = {
        {502, "Content-Type: text/html\r\n", "<html>\r\n<b>Bad gateway</b></html>", NULL, 0}};
    struct reply too_big[] = {{200, NULL, big, NULL, 0}};
    struct kube_client_opts small = {.max_body = 1000};
    struct kube_response resp = {0};
    char *log;
    int rc;

    memset(big, 'x', sizeof(big) - 1);
    rc = one_get(too_big, 1, FAKE_PLAIN, NULL, NULL, &small, &resp, &log);
    ok(rc == -1 && resp.failure == KUBE_FAIL_RESPONSE &&
           strstr(resp.error, "is larger than 1000 bytes"),
       "a body over max_body is refused");
    diag(resp.error);
    free(log);
    rc = one_get(not_json, 1, FAKE_PLAIN, NULL, NULL, NULL, &resp, &log);
    ok(rc == -1 && resp.failure == KUBE_FAIL_RESPONSE &&
           strstr(resp.error, "(HTTP 200) is not JSON"),
       "a 200 that is not JSON");
    diag(resp.error);
    free(log);
    ok(one_get(proxy_error, 1, FAKE_PLAIN, NULL, NULL, NULL, &resp, &log) == -1, "a 502 page");
    is_str(resp.error,
           "the server answered: <html>  <b>Bad gateway</b></html> (HTTP 502 Bad Gateway)",
           "a non-Status error body is quoted on one line");
    free(log);
    kube_response_release(&resp);
}

static void test_unreachable_and_timeout(void)
{
    static const struct reply slow[] = {{200, NULL, VERSION_BODY, NULL, 3000}};
    struct kube_client_opts quick = {.timeout_ms = 300};
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct kube_response resp = {0};
    struct kube_client *c;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;
    char *url, *log;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return;
    url = url_of("https", ntohs(sa.sin_port));
    close(fd); /* nobody listens there now */
    c = client_for(url, "    insecure-skip-tls-verify: true\n", NULL, NULL);
    ok(c && kube_request(c, "GET", "/version", NULL, NULL, 0, &resp) == -1 &&
           resp.failure == KUBE_FAIL_TRANSPORT && resp.status == 0,
       "an unreachable server is a transport failure");
    has(resp.error ? resp.error : "", "cannot reach the API server at ", "unreachable");
    has(resp.error ? resp.error : "", url, "unreachable: the URL");
    has(resp.error ? resp.error : "", "Couldn't connect to server", "unreachable: curl's error");
    has(resp.error ? resp.error : "", "check the server address of cluster 'c' of kubeconfig",
        "unreachable: what to do");
    diag(resp.error);
    kube_client_free(&c);
    free(url);
    rc = one_get(slow, 1, FAKE_PLAIN, NULL, NULL, &quick, &resp, &log);
    ok(rc == -1 && resp.failure == KUBE_FAIL_TRANSPORT && strstr(resp.error, "timed out"),
       "a slow answer times out");
    diag(resp.error);
    free(log);
    kube_response_release(&resp);
}

/* A 401 re-reads tokenFile and re-runs exec plugins, once. */
static void test_401_refresh(void)
{
    static const struct reply r[] = {
        {401, NULL,
         "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\"}", NULL, 0},
        {200, NULL, VERSION_BODY, NULL, 0},
    };
    static const struct reply twice[] = {
        {401, NULL, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\"}", NULL, 0},
        {401, NULL, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\"}", NULL, 0},
        {200, NULL, VERSION_BODY, NULL, 0},
    };
    char tokfile[] = "/tmp/gc-token-XXXXXX", count[] = "/tmp/gc-count-XXXXXX";
    int tfd = mkstemp(tokfile), cfd = mkstemp(count);
    struct kube_response resp = {0};
    struct kube_client *c;
    struct fake f;
    char *url, *log, *user;

    if (tfd < 0 || cfd < 0 || write(tfd, "t1\n", 3) != 3 || fake_start(&f, r, 2, FAKE_PLAIN))
        return;
    url = url_of("http", f.port);
    user = xasprintf("    tokenFile: %s\n", tokfile);
    c = client_for(url, NULL, user, NULL);
    /* the token rotates after the client read it */
    if (pwrite(tfd, "t2\n", 3, 0) != 3)
        ok(0, "rotate the token");
    ok(c && kube_request(c, "GET", "/version", NULL, NULL, 0, &resp) == 0,
       "tokenFile: 401, re-read, 200");
    kube_client_free(&c);
    log = fake_stop(&f);
    has(log, "Bearer t1", "the first token");
    has(log, "Bearer t2", "the re-read token");
    free(log);
    free(url);
    free(user);

    setenv("GC_EXEC_COUNT", count, 1);
    if (fake_start(&f, r, 2, FAKE_PLAIN))
        return;
    url = url_of("http", f.port);
    c = client_for(url, NULL,
                   "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                   "      command: %s/tests/data/kubeconfig/exec-cred.sh\n      args: [counter]\n"
                   "      interactiveMode: Never\n",
                   NULL);
    ok(c && kube_request(c, "GET", "/version", NULL, NULL, 0, &resp) == 0,
       "exec: 401, run again, 200");
    kube_client_free(&c);
    log = fake_stop(&f);
    has(log, "Bearer exec-token-1", "the first credential");
    has(log, "Bearer exec-token-2", "the new credential");
    free(log);
    free(url);
    unsetenv("GC_EXEC_COUNT");

    ok(one_get(twice, 3, FAKE_PLAIN, NULL, "    token: static\n", NULL, &resp, &log) == -1 &&
           resp.status == 401 && count_of(log, "=== REQUEST") == 1,
       "a static token is not retried on 401");
    has(resp.error ? resp.error : "", "the server did not accept the credentials of user 'u'",
        "401 message");
    free(log);
    kube_response_release(&resp);
    close(tfd);
    close(cfd);
    unlink(tokfile);
    unlink(count);
}

static void test_proxy(void)
{
    static const struct reply r[] = {{200, NULL, VERSION_BODY, NULL, 0}};
    struct kube_response resp = {0};
    struct kube_client *c;
    struct fake f;
    char *proxy, *log;

    if (fake_start(&f, r, 1, FAKE_PLAIN) != 0)
        return;
    proxy = xasprintf("    proxy-url: http://127.0.0.1:%d\n", f.port);
    c = client_for("http://kube.invalid:8080", proxy, NULL, NULL);
    ok(c && kube_request(c, "GET", "/version", NULL, NULL, 0, &resp) == 0,
       "through proxy-url to a server with an unresolvable name");
    kube_client_free(&c);
    log = fake_stop(&f);
    has(log, "GET http://kube.invalid:8080/version HTTP/1.1", "the proxy got an absolute URL");
    free(log);
    free(proxy);
    kube_response_release(&resp);
}

/* ------------------------------------------------------------------------ */
/* TLS                                                                      */
/* ------------------------------------------------------------------------ */

struct tls_case {
    const char *name;
    enum fake_tls tls;
    const char *host; /* in the server URL */
    const char *cluster, *user;
    int want_ok;
    const char *log_has; /* or NULL */
};

static void run_tls_case(const struct tls_case *t)
{
    static const struct reply r[] = {{200, NULL, VERSION_BODY, NULL, 0}};
    struct kube_response resp = {0};
    struct kube_client *c;
    struct fake f;
    char *url, *log;
    int rc = -1;

    if (fake_start_at(&f, t->host, r, 1, t->tls) != 0)
        return;
    url = xasprintf("https://%s:%d", t->host, f.port);
    c = client_for(url, t->cluster, t->user, NULL);
    if (c)
        rc = kube_request(c, "GET", "/version", NULL, NULL, 0, &resp);
    kube_client_free(&c);
    log = fake_stop(&f);
    if (t->want_ok) {
        ok(rc == 0 && resp.status == 200, "TLS %s: succeeds", t->name);
    } else {
        ok(rc == -1 && resp.failure == KUBE_FAIL_TRANSPORT, "TLS %s: refused", t->name);
        diag(resp.error);
    }
    if (!t->want_ok && t->tls == FAKE_TLS)
        has(resp.error ? resp.error : "", "check the certificate-authority and tls-server-name",
            t->name);
    if (t->log_has)
        has(log, t->log_has, t->name);
    kube_response_release(&resp);
    free(log);
    free(url);
}

static void test_tls(void)
{
    static const struct tls_case cases[] = {
        {"the cluster's CA verifies the server", FAKE_TLS, "127.0.0.1",
         "    certificate-authority: %s/" PKI "/ca.crt\n", NULL, 1, NULL},
        {"another CA does not", FAKE_TLS, "127.0.0.1",
         "    certificate-authority: %s/" PKI "/other-ca.crt\n", NULL, 0, NULL},
        {"no CA: the system's trust store does not know ours", FAKE_TLS, "127.0.0.1", NULL, NULL, 0,
         NULL},
        {"insecure-skip-tls-verify accepts it", FAKE_TLS, "127.0.0.1",
         "    insecure-skip-tls-verify: true\n", NULL, 1, NULL},
        {"tls-server-name kube.test (in the certificate)", FAKE_TLS, "127.0.0.1",
         "    certificate-authority: %s/" PKI "/ca.crt\n    tls-server-name: kube.test\n", NULL, 1,
         "Host: 127.0.0.1:"},
        {"tls-server-name wrong.test (not in the certificate)", FAKE_TLS, "127.0.0.1",
         "    certificate-authority: %s/" PKI "/ca.crt\n    tls-server-name: wrong.test\n", NULL, 0,
         NULL},
        {"a host name the certificate does not hold", FAKE_TLS, "127.0.0.2",
         "    certificate-authority: %s/" PKI "/ca.crt\n", NULL, 0, NULL},
        {"client certificate from files", FAKE_TLS_CLIENT_CERT, "127.0.0.1",
         "    certificate-authority: %s/" PKI "/ca.crt\n",
         "    client-certificate: %s/" PKI "/client.crt\n    client-key: %s/" PKI "/client.key\n",
         1, "CLIENT CN: test-user"},
        {"client certificate from an exec plugin", FAKE_TLS_CLIENT_CERT, "127.0.0.1",
         "    certificate-authority: %s/" PKI "/ca.crt\n",
         "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
         "      command: %s/tests/data/kubeconfig/exec-cred.sh\n      args: [cert]\n"
         "      interactiveMode: Never\n",
         1, "CLIENT CN: test-user"},
        {"no client certificate where one is required", FAKE_TLS_CLIENT_CERT, "127.0.0.1",
         "    certificate-authority: %s/" PKI "/ca.crt\n", NULL, 0, NULL},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++)
        run_tls_case(&cases[i]);
}

/* ------------------------------------------------------------------------ */
/* Discovery and the verbs                                                  */
/* ------------------------------------------------------------------------ */

#define DISCOVERY                                                                       \
    "{\"kind\":\"APIResourceList\",\"groupVersion\":\"example.com/v1\",\"resources\":[" \
    "{\"name\":\"widgets\",\"namespaced\":true,\"kind\":\"Widget\"},"                   \
    "{\"name\":\"widgets/status\",\"namespaced\":true,\"kind\":\"Widget\"},"            \
    "{\"name\":\"gadgets\",\"namespaced\":false,\"kind\":\"Gadget\"}]}"
#define WIDGET                                                                             \
    "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"," \
    "\"namespace\":\"team\",\"resourceVersion\":\"7\"},\"spec\":{\"size\":1}}"

static cJSON *widget(void)
{
    return cJSON_Parse(WIDGET);
}

static void check_verbs(struct kube_client *c)
{
    struct kube_write_opts strict = {.field_validation = "Strict"}, dry = {.dry_run = 1};
    struct kube_delete_opts fg = {.propagation_policy = "Foreground"};
    struct kube_list_opts lo = {.limit = 2};
    struct kube_response resp = {0};
    cJSON *w = widget(), *patch = cJSON_Parse("{\"spec\":{\"size\":2}}");
    char *path;

    path = kube_path(c, "example.com/v1", "Widget", NULL, "w", "status", &resp);
    is_str(path, "/apis/example.com/v1/namespaces/default/widgets/w/status",
           "kube_path: the client's namespace, a subresource");
    free(path);
    ok(kube_get(c, "example.com/v1", "Widget", NULL, "w", &resp) == 0, "get");
    ok(kube_apply(c, w, "gwconform", &dry, &resp) == 0, "apply (dry run)");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(w, "metadata"), "namespace");
    ok(kube_create(c, w, &strict, &resp) == 0, "create");
    ok(kube_update_status(c, w, NULL, &resp) == 0, "update status");
    ok(kube_merge_patch(c, "example.com/v1", "Widget", "team", "w", patch, NULL, &resp) == 0,
       "merge patch");
    ok(kube_delete(c, "example.com/v1", "Widget", NULL, "w", &fg, &resp) == 0, "delete");
    ok(kube_get(c, "example.com/v1", "Gadget", "ignored", "g", &resp) == 0,
       "get a cluster-scoped kind");
    ok(kube_list_all(c, "example.com/v1", "Widget", "", &lo, &resp) == 0 &&
           cJSON_GetArraySize(cJSON_GetObjectItem(resp.body, "items")) == 3,
       "list_all gathers two pages");
    is_str(cJSON_GetStringValue(
               cJSON_GetObjectItem(cJSON_GetObjectItem(resp.body, "metadata"), "resourceVersion")),
           "11", "list_all: the last page's resourceVersion");
    ok(!cJSON_GetObjectItem(cJSON_GetObjectItem(resp.body, "metadata"), "continue"),
       "list_all: no continue left");
    ok(kube_get(c, "example.com/v1", "Sprocket", NULL, "s", &resp) == -1 &&
           resp.failure == KUBE_FAIL_NOT_SERVED,
       "an unknown kind (discovery asked again)");
    is_str(resp.error,
           "the server does not serve kind Sprocket in apiVersion example.com/v1: are the CRDs "
           "installed?",
           "not served: message");
    ok(kube_get(c, "nope.example/v1", "Thing", NULL, "t", &resp) == -1 &&
           resp.failure == KUBE_FAIL_NOT_SERVED,
       "an unknown group version (404)");
    ok(kube_get(c, "bad version", "Thing", NULL, "t", &resp) == -1 &&
           resp.failure == KUBE_FAIL_USAGE,
       "an invalid apiVersion is a usage error");
    cJSON_DeleteItemFromObject(w, "kind");
    ok(kube_create(c, w, NULL, &resp) == -1 && resp.failure == KUBE_FAIL_USAGE,
       "an object without kind");
    diag(resp.error);
    cJSON_Delete(w);
    w = widget();
    ok(kube_apply(c, w, "", NULL, &resp) == -1 && resp.failure == KUBE_FAIL_USAGE,
       "apply without a fieldManager");
    kube_response_release(&resp);
    cJSON_Delete(w);
    cJSON_Delete(patch);
}

static void test_verbs(void)
{
    static const struct reply r[] = {
        {200, NULL, DISCOVERY, NULL, 0},
        {200, NULL, WIDGET, NULL, 0},
        {200, NULL, WIDGET, NULL, 0},
        {201, NULL, WIDGET, NULL, 0},
        {200, NULL, WIDGET, NULL, 0},
        {200, NULL, WIDGET, NULL, 0},
        {200, NULL, "{\"kind\":\"Status\",\"status\":\"Success\"}", NULL, 0},
        {200, NULL, "{\"kind\":\"Gadget\"}", NULL, 0},
        {200, NULL,
         "{\"kind\":\"WidgetList\",\"metadata\":{\"continue\":\"tok/1=\",\"resourceVersion\":"
         "\"10\"},\"items\":[{\"a\":1},{\"b\":2}]}",
         NULL, 0},
        {200, NULL,
         "{\"kind\":\"WidgetList\",\"metadata\":{\"resourceVersion\":\"11\"},"
         "\"items\":[{\"c\":3}]}",
         NULL, 0},
        {200, NULL, DISCOVERY, NULL, 0}, /* Sprocket: asked again */
        {404, NULL, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}", NULL, 0},
    };
    struct kube_client *c;
    struct fake f;
    char *url, *log;

    if (fake_start(&f, r, ARRAY_SIZE(r), FAKE_PLAIN) != 0)
        return;
    url = url_of("http", f.port);
    c = client_for(url, NULL, NULL, NULL);
    if (c)
        check_verbs(c);
    kube_client_free(&c);
    log = fake_stop(&f);
    ok(count_of(log, "GET /apis/example.com/v1 HTTP") == 2,
       "discovery cached, asked again on a miss");
    has(log, "GET /apis/example.com/v1/namespaces/default/widgets/w HTTP", "get");
    has(log,
        "PATCH "
        "/apis/example.com/v1/namespaces/team/widgets/"
        "w?fieldManager=gwconform&force=true&dryRun=All HTTP",
        "apply");
    has(log, "Content-Type: application/apply-patch+yaml", "apply content type");
    has(log, "POST /apis/example.com/v1/namespaces/default/widgets?fieldValidation=Strict HTTP",
        "create");
    has(log, "PUT /apis/example.com/v1/namespaces/default/widgets/w/status HTTP", "update status");
    has(log, "Content-Type: application/merge-patch+json", "merge patch content type");
    has(log, "\r\n\r\n{\"spec\":{\"size\":2}}", "merge patch body");
    has(log,
        "DELETE /apis/example.com/v1/namespaces/default/widgets/w?propagationPolicy=Foreground "
        "HTTP",
        "delete");
    has(log, "GET /apis/example.com/v1/gadgets/g HTTP", "cluster-scoped get");
    has(log, "GET /apis/example.com/v1/widgets?limit=2 HTTP", "list page 1, all namespaces");
    has(log, "GET /apis/example.com/v1/widgets?limit=2&continue=tok%2F1%3D HTTP", "list page 2");
    has(log, "GET /apis/nope.example/v1 HTTP", "discovery of an unknown group");
    free(log);
    free(url);
}

/* ------------------------------------------------------------------------ */
/* Watch                                                                    */
/* ------------------------------------------------------------------------ */

struct seen {
    struct sbuf types;
    int go;      /* the fake's go pipe */
    int stop_at; /* stop after this many events (0: never) */
    int n;
};

static int on_event(const char *type, const cJSON *object, void *arg)
{
    struct seen *s = arg;
    const cJSON *meta = cJSON_GetObjectItem(object, "metadata");
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "resourceVersion"));

    sb_printf(&s->types, "%s%s@%s", s->types.len ? "," : "", type, rv ? rv : "?");
    s->n++;
    /* the server may send the next part (or has finished: EPIPE is fine) */
    if (s->go >= 0 && write(s->go, "g", 1) != 1)
        s->go = -1;
    return s->stop_at && s->n >= s->stop_at;
}

#define EV(type, rv)                                                                       \
    "{\"type\":\"" type "\",\"object\":{\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"," \
    "\"resourceVersion\":\"" rv "\"}}}\n"

static int run_watch(const struct reply *r, size_t n, const struct kube_client_opts *o, int stop_at,
                     struct seen *s, struct kube_response *resp, char **log)
{
    struct kube_watch_opts wo = {"5", NULL, "metadata.name=w", 7};
    struct kube_client *c;
    struct fake f;
    char *url;
    int rc = -9;

    memset(s, 0, sizeof(*s));
    s->stop_at = stop_at;
    if (fake_start(&f, r, n, FAKE_PLAIN) != 0)
        return rc;
    s->go = f.go;
    url = url_of("http", f.port);
    c = client_for(url, NULL, NULL, o);
    if (c)
        rc = kube_watch(c, "example.com/v1", "Widget", NULL, &wo, on_event, s, resp);
    kube_client_free(&c);
    *log = fake_stop(&f);
    free(url);
    return rc;
}

static void test_watch(void)
{
    /* each part after the first waits until the callback saw an event: a
       client that buffered the stream would never see the second one */
    static const char *const stream[] = {EV("ADDED", "6"), "\001" EV("MODIFIED", "7"),
                                         "\001" EV("BOOKMARK", "8") "{\"type\":\"DELETED\",",
                                         "\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}",
                                         NULL};
    static const char *const expired[] = {
        EV("ADDED", "6"),
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"too old resource "
        "version: 5 (20)\",\"reason\":\"Expired\",\"code\":410}}\n",
        NULL};
    static const char *const garbage[] = {"not json\n", NULL};
    static const char *const failed[] = {
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"internal error\","
        "\"reason\":\"InternalError\",\"code\":500}}\n",
        NULL};
    static const struct reply ok_r[] = {{200, NULL, DISCOVERY, NULL, 0},
                                        {200, NULL, NULL, stream, 0}};
    static const struct reply exp_r[] = {{200, NULL, DISCOVERY, NULL, 0},
                                         {200, NULL, NULL, expired, 0}};
    static const struct reply gone_r[] = {
        {200, NULL, DISCOVERY, NULL, 0},
        {410, NULL,
         "{\"kind\":\"Status\",\"message\":\"too old\",\"reason\":\"Gone\",\"code\":410}", NULL,
         0}};
    static const struct reply garbage_r[] = {{200, NULL, DISCOVERY, NULL, 0},
                                             {200, NULL, NULL, garbage, 0}};
    static const struct reply failed_r[] = {{200, NULL, DISCOVERY, NULL, 0},
                                            {200, NULL, NULL, failed, 0}};
    const char *long_line[] = {EV("ADDED", "6"), NULL, NULL};
    struct reply long_r[] = {{200, NULL, DISCOVERY, NULL, 0}, {200, NULL, NULL, long_line, 0}};
    char *big = xasprintf("{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{"
                          "\"resourceVersion\":\"7\"},\"data\":\"%02000d\"}}\n",
                          0);
    struct kube_client_opts small = {.max_body = 4000};
    struct kube_response resp = {0};
    struct seen s;
    char *log;
    int rc;

    long_line[1] = big;
    rc = run_watch(ok_r, 2, NULL, 0, &s, &resp, &log);
    ok(rc == KUBE_WATCH_END, "watch: the stream ends (%d)", rc);
    is_str(s.types.buf, "ADDED@6,MODIFIED@7,BOOKMARK@8,DELETED@9",
           "watch: events as they arrive, bookmarks, a line split across chunks");
    has(log,
        "GET /apis/example.com/v1/namespaces/default/widgets?watch=1&allowWatchBookmarks=true&"
        "resourceVersion=5&fieldSelector=metadata.name%3Dw&timeoutSeconds=7 HTTP",
        "watch query");
    sb_release(&s.types);
    free(log);

    rc = run_watch(ok_r, 2, NULL, 2, &s, &resp, &log);
    ok(rc == KUBE_WATCH_STOPPED && s.n == 2, "watch: the callback stops it (%d)", rc);
    sb_release(&s.types);
    free(log);

    rc = run_watch(exp_r, 2, NULL, 0, &s, &resp, &log);
    ok(rc == KUBE_WATCH_GONE && resp.status == 410, "watch: an ERROR 410 event is GONE (%d)", rc);
    is_str(resp.reason, "Expired", "watch: the reason");
    has(resp.error ? resp.error : "", "list again", "watch gone message");
    sb_release(&s.types);
    free(log);

    rc = run_watch(gone_r, 2, NULL, 0, &s, &resp, &log);
    ok(rc == KUBE_WATCH_GONE && resp.status == 410 && s.n == 0, "watch: HTTP 410 is GONE (%d)", rc);
    sb_release(&s.types);
    free(log);

    rc = run_watch(garbage_r, 2, NULL, 0, &s, &resp, &log);
    ok(rc == KUBE_WATCH_ERROR && strstr(resp.error, "not a watch event"),
       "watch: a line that is not an event is an error (%d)", rc);
    sb_release(&s.types);
    free(log);

    rc = run_watch(failed_r, 2, NULL, 0, &s, &resp, &log);
    ok(rc == KUBE_WATCH_ERROR, "watch: an ERROR 500 event is an error (%d)", rc);
    is_str(resp.error, "watch: internal error (HTTP 500 InternalError)", "watch error message");
    sb_release(&s.types);
    free(log);

    rc = run_watch(long_r, 2, &small, 0, &s, &resp, &log);
    ok(rc == KUBE_WATCH_END && s.n == 2, "watch: events under max_body pass (%d)", rc);
    sb_release(&s.types);
    free(log);
    small.max_body = 1000;
    rc = run_watch(long_r, 2, &small, 0, &s, &resp, &log);
    ok(rc == KUBE_WATCH_ERROR && resp.failure == KUBE_FAIL_RESPONSE,
       "watch: an event over max_body is refused (%d)", rc);
    sb_release(&s.types);
    free(log);
    free(big);
    kube_response_release(&resp);
}

/* ------------------------------------------------------------------------ */
/* A real API server                                                        */
/* ------------------------------------------------------------------------ */

struct cluster {
    struct kube_client *c;
    char ns[64];
};

static const char *jpath(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItem(o, a);

    if (b)
        v = cJSON_GetObjectItem(v, b);
    return cJSON_GetStringValue(v);
}

static char *rv_of(const cJSON *obj)
{
    const char *rv = jpath(cJSON_GetObjectItem(obj, "metadata"), "resourceVersion", NULL);

    return xstrdup(rv ? rv : "");
}

/* A JSON object template with metadata.name and metadata.namespace set. */
static cJSON *parsef(const char *tmpl, const char *ns, const char *name)
{
    cJSON *j = cJSON_Parse(tmpl), *meta = cJSON_GetObjectItem(j, "metadata");

    if (!meta)
        meta = cJSON_AddObjectToObject(j, "metadata");
    cJSON_DeleteItemFromObject(meta, "name");
    cJSON_DeleteItemFromObject(meta, "namespace");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", ns);
    return j;
}

/* ok() with the response's error as a diagnostic. */
static int ok_resp(int cond, const struct kube_response *r, const char *what)
{
    if (!ok(cond, "cluster: %s", what))
        printf("#   status %ld, error: %s\n", r->status, r->error ? r->error : "(none)");
    return cond;
}

#define CM_FMT                                                                           \
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"labels\":{\"suite\":" \
    "\"kube-test\"}},\"data\":{\"a\":\"1\"}}"

static void cluster_configmap_errors(struct cluster *k)
{
    struct kube_write_opts warn = {.field_validation = "Warn"},
                           strict = {.field_validation = "Strict"};
    struct kube_response r = {0};
    cJSON *o = parsef(CM_FMT, k->ns, "cm-warn");
    size_t i;
    int found = 0;

    cJSON_AddNumberToObject(o, "bogus", 1);
    ok_resp(kube_create(k->c, o, &warn, &r) == 0, &r, "create with an unknown field (Warn)");
    for (i = 0; i < r.nwarnings; i++)
        found |= strstr(r.warnings[i], "unknown field \"bogus\"") != NULL;
    ok(found, "cluster: the server's Warning header is surfaced (%zu warnings)", r.nwarnings);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "metadata"), "name",
                              cJSON_CreateString("cm-strict"));
    ok_resp(kube_create(k->c, o, &strict, &r) == -1 && r.status == 400 &&
                strstr(r.error, "unknown field \"bogus\""),
            &r, "Strict field validation refuses it");
    printf("#   strict: %s\n", r.error ? r.error : "");
    cJSON_Delete(o);
    o = parsef(CM_FMT, k->ns, "Bad_Name");
    ok_resp(kube_create(k->c, o, NULL, &r) == -1 && r.status == 422, &r, "422 for a bad name");
    is_str(r.reason, "Invalid", "cluster: 422 reason");
    has(r.error ? r.error : "",
        "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"",
        "cluster: 422 message");
    has(r.error ? r.error : "", "(HTTP 422 Invalid)", "cluster: 422 suffix");
    cJSON_Delete(o);
    ok_resp(kube_get(k->c, "v1", "ConfigMap", k->ns, "missing", &r) == -1 && r.status == 404, &r,
            "404 for a missing object");
    is_str(r.error, "configmaps \"missing\" not found (HTTP 404 NotFound)", "cluster: 404 message");
    is_str(r.reason, "NotFound", "cluster: 404 reason");
    kube_response_release(&r);
}

static void cluster_configmap_writes(struct cluster *k)
{
    struct kube_write_opts dry = {.dry_run = 1};
    struct kube_response r = {0};
    cJSON *o = parsef(CM_FMT, k->ns, "cm1"), *patch = cJSON_Parse("{\"data\":{\"b\":\"3\"}}");
    char *rv1, *rv2;

    ok_resp(kube_create(k->c, o, &dry, &r) == 0 && r.status == 201, &r, "dry-run create");
    ok_resp(kube_get(k->c, "v1", "ConfigMap", k->ns, "cm1", &r) == -1 && r.status == 404, &r,
            "dry-run create left nothing");
    ok_resp(kube_create(k->c, o, NULL, &r) == 0 && r.status == 201, &r, "create");
    ok_resp(kube_create(k->c, o, NULL, &r) == -1 && r.status == 409, &r, "create again: 409");
    is_str(r.reason, "AlreadyExists", "cluster: 409 reason");
    ok_resp(kube_get(k->c, "v1", "ConfigMap", k->ns, "cm1", &r) == 0, &r, "get");
    is_str(jpath(r.body, "data", "a"), "1", "cluster: get returns the data");
    rv1 = rv_of(r.body);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r.body, "data"), "a", cJSON_CreateString("2"));
    cJSON_Delete(o);
    o = cJSON_Duplicate(r.body, 1);
    ok_resp(kube_update(k->c, o, NULL, &r) == 0, &r, "update (PUT)");
    rv2 = rv_of(r.body);
    ok(strcmp(rv1, rv2) != 0, "cluster: update changes the resourceVersion");
    ok_resp(kube_update(k->c, o, NULL, &r) == -1 && r.status == 409, &r,
            "update with a stale resourceVersion: 409 Conflict");
    ok_resp(kube_merge_patch(k->c, "v1", "ConfigMap", k->ns, "cm1", patch, NULL, &r) == 0, &r,
            "merge patch");
    ok(jpath(r.body, "data", "a") && !strcmp(jpath(r.body, "data", "a"), "2") &&
           jpath(r.body, "data", "b") && !strcmp(jpath(r.body, "data", "b"), "3"),
       "cluster: merge patch merged");
    free(rv1);
    free(rv2);
    cJSON_Delete(o);
    cJSON_Delete(patch);
    kube_response_release(&r);
}

static void cluster_apply(struct kube_client *c, const cJSON *obj, const char *what)
{
    struct kube_write_opts dry = {.dry_run = 1};
    struct kube_response r = {0};
    const char *ns = jpath(obj, "metadata", "namespace"), *name = jpath(obj, "metadata", "name");
    const char *av = jpath(obj, "apiVersion", NULL), *kind = jpath(obj, "kind", NULL);
    char *rv1 = NULL, *rv2 = NULL, label[128];
    cJSON *changed = cJSON_Duplicate(obj, 1);

    snprintf(label, sizeof(label), "%s: apply", what);
    ok_resp(kube_apply(c, obj, "gwconform", NULL, &r) == 0, &r, label);
    rv1 = rv_of(r.body);
    snprintf(label, sizeof(label), "%s: apply again", what);
    ok_resp(kube_apply(c, obj, "gwconform", NULL, &r) == 0, &r, label);
    rv2 = rv_of(r.body);
    ok(*rv1 && strcmp(rv1, rv2) == 0, "cluster: %s: applying the same object is a no-op (%s, %s)",
       what, rv1, rv2);
    cJSON_AddItemToObject(cJSON_GetObjectItem(changed, "metadata"), "annotations",
                          cJSON_Parse("{\"gatecheck.dev/dry\":\"yes\"}"));
    snprintf(label, sizeof(label), "%s: apply a change with dryRun", what);
    ok_resp(kube_apply(c, changed, "gwconform", &dry, &r) == 0 &&
                jpath(cJSON_GetObjectItem(r.body, "metadata"), "annotations", "gatecheck.dev/dry"),
            &r, label);
    snprintf(label, sizeof(label), "%s: the dry-run apply changed nothing", what);
    ok_resp(kube_get(c, av, kind, ns, name, &r) == 0 &&
                !cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "metadata"), "annotations"),
            &r, label);
    free(rv1);
    free(rv2);
    cJSON_Delete(changed);
    kube_response_release(&r);
}

static void cluster_lists(struct cluster *k)
{
    struct kube_list_opts one = {.label_selector = "suite=kube-test", .limit = 1};
    struct kube_response r = {0};
    cJSON *o = parsef(CM_FMT, k->ns, "cm2");
    const char *cont;

    kube_create(k->c, o, NULL, &r);
    cJSON_Delete(o);
    ok_resp(kube_list(k->c, "v1", "ConfigMap", k->ns, &one, &r) == 0, &r, "list, limit 1");
    cont = jpath(r.body, "metadata", "continue");
    ok(cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "items")) == 1 && cont && *cont,
       "cluster: one item and a continue token");
    ok_resp(kube_list_all(k->c, "v1", "ConfigMap", k->ns, &one, &r) == 0, &r,
            "list_all, pages of 1");
    ok(cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "items")) == 4,
       "cluster: list_all sees cm1, cm2, cm-applied, cm-warn (%d)",
       cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "items")));
    kube_response_release(&r);
}

struct live {
    struct cluster *k;
    struct kube_client *other; /* the callback cannot use the watching client */
    const char *kind, *av, *name;
    struct sbuf seen;
    int patched;
};

static int on_live_event(const char *type, const cJSON *object, void *arg)
{
    struct live *l = arg;
    const char *name = jpath(object, "metadata", "name");
    cJSON *patch;
    struct kube_response r = {0};

    if (!name || strcmp(name, l->name) != 0)
        return 0;
    sb_printf(&l->seen, "%s%s", l->seen.len ? "," : "", type);
    if (strcmp(type, "ADDED") == 0 && !l->patched) {
        l->patched = 1; /* now, while watching: a MODIFIED must arrive live */
        patch = cJSON_Parse("{\"metadata\":{\"labels\":{\"watched\":\"yes\"}}}");
        if (kube_merge_patch(l->other, l->av, l->kind, l->k->ns, l->name, patch, NULL, &r) != 0)
            printf("#   patch during the watch: %s\n", r.error);
        cJSON_Delete(patch);
        kube_response_release(&r);
    }
    return strcmp(type, "MODIFIED") == 0;
}

/* Create obj, then watch from before its creation: ADDED (replayed), then a
   MODIFIED made from the callback, delivered while the stream is open. */
static void cluster_watch(struct cluster *k, struct kube_client *other, const cJSON *obj,
                          const char *what)
{
    struct live l = {k,
                     other,
                     jpath(obj, "kind", NULL),
                     jpath(obj, "apiVersion", NULL),
                     jpath(obj, "metadata", "name"),
                     {0},
                     0};
    struct kube_watch_opts wo = {.timeout_seconds = 20};
    struct kube_response r = {0};
    char *rv, label[128];
    int rc;

    kube_list(k->c, l.av, l.kind, k->ns, NULL, &r);
    rv = xstrdup(jpath(r.body, "metadata", "resourceVersion")
                     ? jpath(r.body, "metadata", "resourceVersion")
                     : "");
    snprintf(label, sizeof(label), "%s: create for the watch", what);
    ok_resp(kube_create(k->c, obj, NULL, &r) == 0, &r, label);
    wo.resource_version = rv;
    rc = kube_watch(k->c, l.av, l.kind, k->ns, &wo, on_live_event, &l, &r);
    ok(rc == KUBE_WATCH_STOPPED, "cluster: %s: watch stopped by the callback (%d: %s)", what, rc,
       r.error ? r.error : "");
    is_str(l.seen.buf, "ADDED,MODIFIED", "cluster: watch saw ADDED then MODIFIED");
    sb_release(&l.seen);
    free(rv);
    kube_response_release(&r);
}

#define ROUTE_FMT                                                               \
    "{\"apiVersion\":\"gateway.networking.k8s.io/"                              \
    "v1\",\"kind\":\"HTTPRoute\",\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}]," \
    "\"rules\":[{\"backendRefs\":[{\"name\":\"svc\",\"port\":80}]}]}}"
#define GW_V1 "gateway.networking.k8s.io/v1"

static void cluster_route_status(struct cluster *k)
{
    struct kube_response r = {0};
    cJSON *st;

    ok_resp(kube_get(k->c, GW_V1, "HTTPRoute", k->ns, "route1", &r) == 0, &r, "get route1");
    st = cJSON_Parse("{\"parents\":[{\"parentRef\":{\"name\":\"gw\"},\"controllerName\":"
                     "\"gatecheck.dev/test\",\"conditions\":[{\"type\":\"Accepted\",\"status\":"
                     "\"True\",\"reason\":\"Accepted\",\"message\":\"ok\",\"observedGeneration\":"
                     "1,\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}]}");
    cJSON_DeleteItemFromObject(r.body, "status");
    cJSON_AddItemToObject(r.body, "status", st);
    st = cJSON_Duplicate(r.body, 1);
    ok_resp(kube_update_status(k->c, st, NULL, &r) == 0, &r, "update the status subresource");
    ok_resp(kube_get(k->c, GW_V1, "HTTPRoute", k->ns, "route1", &r) == 0, &r, "get after status");
    is_str(jpath(cJSON_GetArrayItem(
                     cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "status"), "parents"), 0),
                 "controllerName", NULL),
           "gatecheck.dev/test", "cluster: the status was stored");
    cJSON_Delete(st);
    kube_response_release(&r);
}

static void cluster_routes(struct cluster *k, struct kube_client *other)
{
    struct kube_write_opts dry = {.dry_run = 1};
    struct kube_response r = {0};
    cJSON *o = parsef(ROUTE_FMT, k->ns, "route1"), *patch;

    ok_resp(kube_create(k->c, o, &dry, &r) == 0, &r, "HTTPRoute: dry-run create");
    ok_resp(kube_get(k->c, GW_V1, "HTTPRoute", k->ns, "route1", &r) == -1 && r.status == 404, &r,
            "HTTPRoute: dry-run create left nothing");
    ok_resp(kube_create(k->c, o, NULL, &r) == 0 && r.status == 201, &r, "HTTPRoute: create");
    cJSON_AddItemToObject(cJSON_GetObjectItem(r.body, "spec"), "hostnames",
                          cJSON_Parse("[\"example.com\"]"));
    cJSON_Delete(o);
    o = cJSON_Duplicate(r.body, 1);
    ok_resp(kube_update(k->c, o, NULL, &r) == 0 &&
                cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "spec"), "hostnames"),
            &r, "HTTPRoute: update");
    patch = cJSON_Parse("{\"metadata\":{\"labels\":{\"patched\":\"yes\"}}}");
    ok_resp(kube_merge_patch(k->c, GW_V1, "HTTPRoute", k->ns, "route1", patch, NULL, &r) == 0 &&
                jpath(cJSON_GetObjectItem(r.body, "metadata"), "labels", "patched"),
            &r, "HTTPRoute: merge patch");
    ok_resp(kube_list(k->c, GW_V1, "HTTPRoute", k->ns, NULL, &r) == 0 &&
                cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "items")) == 1,
            &r, "HTTPRoute: list");
    cluster_route_status(k);
    cJSON_Delete(o);
    o = parsef(ROUTE_FMT, k->ns, "route-applied");
    cluster_apply(k->c, o, "HTTPRoute");
    cJSON_Delete(o);
    o = parsef(ROUTE_FMT, k->ns, "route-watched");
    cluster_watch(k, other, o, "HTTPRoute");
    cJSON_Delete(o);
    o = parsef(ROUTE_FMT, k->ns, "route-bad");
    cJSON_ReplaceItemInObject(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "parentRefs"), 0),
        "name", cJSON_CreateString(""));
    ok_resp(kube_create(k->c, o, NULL, &r) == -1 && r.status == 422, &r,
            "HTTPRoute: 422 from the CRD's schema");
    printf("#   422: %s\n", r.error ? r.error : "");
    ok_resp(kube_delete(k->c, GW_V1, "HTTPRoute", k->ns, "route1", NULL, &r) == 0, &r,
            "HTTPRoute: delete");
    ok_resp(kube_get(k->c, GW_V1, "HTTPRoute", k->ns, "route1", &r) == -1 && r.status == 404, &r,
            "HTTPRoute: gone after delete");
    ok_resp(kube_get(k->c, GW_V1, "Bogus", k->ns, "x", &r) == -1 &&
                r.failure == KUBE_FAIL_NOT_SERVED,
            &r, "an unknown kind of a served group");
    is_str(r.error,
           "the server does not serve kind Bogus in apiVersion gateway.networking.k8s.io/v1: are "
           "the CRDs installed?",
           "cluster: not served message");
    cJSON_Delete(o);
    cJSON_Delete(patch);
    kube_response_release(&r);
}

static void cluster_configmaps(struct cluster *k, struct kube_client *other)
{
    struct kube_delete_opts fg = {.propagation_policy = "Foreground"};
    struct kube_delete_opts dry = {.dry_run = 1};
    struct kube_response r = {0};
    cJSON *o;

    cluster_configmap_writes(k);
    o = parsef(CM_FMT, k->ns, "cm-applied");
    cluster_apply(k->c, o, "ConfigMap");
    cJSON_Delete(o);
    cluster_configmap_errors(k);
    cluster_lists(k);
    o = parsef(CM_FMT, k->ns, "cm-watched");
    cluster_watch(k, other, o, "ConfigMap");
    cJSON_Delete(o);
    ok_resp(kube_delete(k->c, "v1", "ConfigMap", k->ns, "cm-applied", &dry, &r) == 0, &r,
            "dry-run delete");
    ok_resp(kube_get(k->c, "v1", "ConfigMap", k->ns, "cm-applied", &r) == 0, &r,
            "dry-run delete left it");
    ok_resp(kube_delete(k->c, "v1", "ConfigMap", k->ns, "cm2", NULL, &r) == 0, &r, "delete");
    ok_resp(kube_get(k->c, "v1", "ConfigMap", k->ns, "cm2", &r) == -1 && r.status == 404, &r,
            "gone after delete");
    /* Foreground: the object stays, with a deletionTimestamp, until the
       garbage collector (kube-controller-manager, if running) removes it */
    ok_resp(kube_delete(k->c, "v1", "ConfigMap", k->ns, "cm1", &fg, &r) == 0, &r,
            "delete (propagationPolicy Foreground)");
    ok_resp((kube_get(k->c, "v1", "ConfigMap", k->ns, "cm1", &r) == -1 && r.status == 404) ||
                jpath(cJSON_GetObjectItem(r.body, "metadata"), "deletionTimestamp", NULL),
            &r, "deleted or being deleted (Foreground)");
    kube_response_release(&r);
}

/* Delete every object of a kind in the test namespace (without a namespace
   controller, deleting the namespace would not delete them). */
static void cluster_cleanup(struct cluster *k, const char *av, const char *kind)
{
    struct kube_response r = {0}, d = {0};
    cJSON *no_finalizers = cJSON_Parse("{\"metadata\":{\"finalizers\":null}}");
    const cJSON *item;
    int failed = 0;

    if (kube_list_all(k->c, av, kind, k->ns, NULL, &r) != 0) {
        ok_resp(0, &r, "list for the clean-up");
        cJSON_Delete(no_finalizers);
        return;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(r.body, "items")) {
        const char *name = jpath(cJSON_GetObjectItem(item, "metadata"), "name", NULL);

        failed |= kube_delete(k->c, av, kind, k->ns, name, NULL, &d) != 0 && d.status != 404;
        if (cJSON_GetObjectItem(cJSON_GetObjectItem(item, "metadata"), "finalizers"))
            failed |= kube_merge_patch(k->c, av, kind, k->ns, name, no_finalizers, NULL, &d) != 0 &&
                      d.status != 404;
    }
    ok(!failed, "cluster: clean-up of the %ss", kind);
    cJSON_Delete(no_finalizers);
    kube_response_release(&r);
    kube_response_release(&d);
}

/* Without a namespace controller a deleted namespace stays Terminating:
   empty its spec.finalizers through the finalize subresource, as the
   controller would once the namespace is empty. */
static void finalize_namespace(struct kube_client *c, const char *ns)
{
    struct kube_write_opts fin = {.subresource = "finalize"};
    struct kube_response r = {0};
    cJSON *spec;

    if (kube_get(c, "v1", "Namespace", NULL, ns, &r) == 0) {
        spec = cJSON_GetObjectItem(r.body, "spec");
        if (spec)
            cJSON_ReplaceItemInObject(spec, "finalizers", cJSON_CreateArray());
        spec = cJSON_Duplicate(r.body, 1);
        ok_resp(kube_update(c, spec, &fin, &r) == 0, &r, "finalize the test namespace");
        cJSON_Delete(spec);
    }
    kube_response_release(&r);
}

static struct kube_client *cluster_client(const char *kubeconfig, const char *context, char *err,
                                          size_t errlen)
{
    struct kube_load_opts lo = {kubeconfig, context, NULL};
    struct kube_client_opts o = {.connect_timeout_ms = 3000, .timeout_ms = 30000};
    struct kube_config *cfg;

    if (kube_config_load(&lo, &cfg, err, errlen) != 0)
        return NULL;
    return kube_client_new(cfg, &o, err, errlen);
}

/* The cluster's kubeconfig, and whether it was asked for (then it must work). */
static const char *cluster_kubeconfig(int *required)
{
    const char *env = getenv("GATECHECK_KUBECONFIG");

    *required = env && *env;
    if (*required)
        return env;
    return access("build/cluster/kubeconfig", R_OK) == 0 ? "build/cluster/kubeconfig" : NULL;
}

/* One skipped check, and a "# report:" line tools/run-tests.sh shows in its summary. */
static void skip_cluster(const char *why)
{
    tap_n++;
    printf("ok %d # SKIP no cluster: %s\n", tap_n, why);
    printf("# report: test_kube: real API server tests SKIPPED (no cluster: %s)\n", why);
}

static void cluster_tests(void)
{
    struct cluster k = {0};
    struct kube_client *other, *tok;
    struct kube_response r = {0};
    char err[KUBE_ERR_MAX], *nsobj;
    int required;
    const char *kc = cluster_kubeconfig(&required);
    cJSON *ns;

    if (getenv("SKIP_CLUSTER") && !strcmp(getenv("SKIP_CLUSTER"), "1")) {
        skip_cluster("SKIP_CLUSTER=1");
        return;
    }
    if (!kc) {
        skip_cluster("set GATECHECK_KUBECONFIG or run `make cluster-up`");
        return;
    }
    k.c = cluster_client(kc, NULL, err, sizeof(err));
    if (k.c && kube_request(k.c, "GET", "/version", NULL, NULL, 0, &r) != 0)
        snprintf(err, sizeof(err), "%s", r.error);
    if (!k.c || r.status != 200) {
        if (required)
            ok(0, "cluster: %s answers: %s", kc, err);
        else
            skip_cluster(err);
        kube_client_free(&k.c);
        kube_response_release(&r);
        return;
    }
    printf("# cluster: %s, Kubernetes %s.%s\n", kc, jpath(r.body, "major", NULL),
           jpath(r.body, "minor", NULL));
    other = cluster_client(kc, NULL, err, sizeof(err));
    snprintf(k.ns, sizeof(k.ns), "gatecheck-kube-test-%ld", (long)getpid());
    nsobj = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                      "\"%s\"}}",
                      k.ns);
    ns = cJSON_Parse(nsobj);
    if (ok_resp(kube_create(k.c, ns, NULL, &r) == 0, &r, "create the test namespace")) {
        cluster_configmaps(&k, other);
        cluster_routes(&k, other);
        cluster_cleanup(&k, "v1", "ConfigMap");
        cluster_cleanup(&k, GW_V1, "HTTPRoute");
        ok_resp(kube_delete(k.c, "v1", "Namespace", NULL, k.ns, NULL, &r) == 0, &r,
                "delete the test namespace");
        finalize_namespace(k.c, k.ns);
    }
    tok = cluster_client(kc, "gatecheck-local-token", err, sizeof(err));
    if (tok)
        ok_resp(kube_get(tok, "v1", "Namespace", NULL, "default", &r) == 0, &r,
                "bearer token context");
    kube_client_free(&tok);
    cJSON_Delete(ns);
    free(nsobj);
    kube_client_free(&other);
    kube_client_free(&k.c);
    kube_response_release(&r);
}

int main(void)
{
    util_init_cjson();
    signal(SIGPIPE, SIG_IGN);
    if (!getcwd(top, sizeof(top)))
        return 2;
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    test_headers_and_warnings();
    test_basic_auth_and_methods();
    test_retries();
    test_bad_answers();
    test_unreachable_and_timeout();
    test_401_refresh();
    test_proxy();
    test_tls();
    test_verbs();
    test_watch();
    cluster_tests();
    return done_testing();
}

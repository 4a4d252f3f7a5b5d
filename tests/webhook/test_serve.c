/*
 * `gwhook serve` end to end, over real TLS on loopback. The server is the
 * sanitized binary (build/san/gwhook) run as a child process with a CA and
 * serving certificate made with certs.h, in the layout the kubelet gives a
 * mounted Secret (tls.crt -> ..data/tls.crt, ..data -> ..vN). Clients:
 * libcurl verifying against the CA (no insecure options anywhere), GnuTLS
 * for what libcurl will not do (TLS 1.1, a Content-Length the body does not
 * match, a request that stops half way), a raw socket for garbage.
 *
 * Every wait is bounded; a watchdog ends the run after WATCHDOG_S. The
 * server's stderr goes to a file, printed when a check failed. The server
 * must exit 0 after SIGTERM, which under ASan also means no leak report.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../jsonpatch.h"
#include "../tap.h"
#include "certs.h"
#include "defaults.h"
#include "schema.h"
#include "util.h"

#define GWHOOK           "build/san/gwhook"
#define DATA             "tests/data/serve/"
#define WATCHDOG_S       300
#define CONN_TIMEOUT_S   2
#define SHUTDOWN_DELAY_S 2

struct srv {
    pid_t pid;
    unsigned port, probe, metrics;
};

static char tmp[128];                   /* everything the test writes */
static char ca_file[192];               /* the CA, for CURLOPT_CAINFO and GnuTLS */
static char cert_dir[192];              /* --cert-dir */
static char log_file[192];              /* the server's stderr */
static struct certs_pem ca;             /* signs every serving certificate */
static atomic_int child_pid;            /* for the watchdog */
static unsigned long exp_count[2][600]; /* [validate, mutate][HTTP code]: what /metrics must say */

/* ---- small helpers ---- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static char *read_text(const char *path)
{
    struct sbuf sb = {0};
    char buf[8192];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        return xstrdup("");
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_add(&sb, buf, n);
    fclose(f);
    if (!sb.buf)
        sb_puts(&sb, "");
    return sb_detach(&sb);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
}

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* A port nobody listens on now: bind port 0, read it back, close. */
static unsigned free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void print_log(void)
{
    char *text = read_text(log_file);
    char *line, *save = NULL;

    printf("# --- server log (%s) ---\n", log_file);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        printf("#   %s\n", line);
    free(text);
}

static void *watchdog(void *arg)
{
    (void)arg;
    sleep(WATCHDOG_S);
    printf("not ok - watchdog: the test ran for more than %d s\n", WATCHDOG_S);
    if (atomic_load(&child_pid) > 0)
        kill(atomic_load(&child_pid), SIGKILL);
    print_log();
    fflush(stdout);
    _exit(1);
}

/* ---- certificates ---- */

/*
 * A serving certificate for localhost and 127.0.0.1, signed by the test CA,
 * valid for 30 days from now + shift_s (negative: in the past, checked only
 * when shift_s is 0).
 */
static void issue_at(struct certs_pem *out, struct certs_info *info, long shift_s)
{
    static const char *const dns[] = {"localhost", NULL};
    static const char *const ips[] = {"127.0.0.1", NULL};
    struct certs_request req = {NULL, dns, ips, 30, shift_s};
    char err[256];

    if (certs_issue(&ca, &req, out, err, sizeof(err)) != 0 ||
        certs_check(out->cert, shift_s ? NULL : out->key, info, err, sizeof(err)) != 0) {
        fprintf(stderr, "certs: %s\n", err);
        exit(2);
    }
}

static void issue(struct certs_pem *out, struct certs_info *info)
{
    issue_at(out, info, 0);
}

/*
 * Put a pair into dir as the kubelet updates a Secret volume: files in a
 * new ..vN directory, then an atomic rename of the ..data symlink onto it.
 */
static void install_pair(const char *dir, const char *cert, const char *key, int version)
{
    char path[320], data[64], tmplink[256], link[256];

    snprintf(data, sizeof(data), "..v%d", version);
    snprintf(path, sizeof(path), "%s/%s", dir, data);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/tls.crt", dir, data);
    write_text(path, cert);
    snprintf(path, sizeof(path), "%s/%s/tls.key", dir, data);
    write_text(path, key);
    snprintf(tmplink, sizeof(tmplink), "%s/..data_tmp", dir);
    snprintf(link, sizeof(link), "%s/..data", dir);
    unlink(tmplink);
    if (symlink(data, tmplink) != 0 || rename(tmplink, link) != 0) {
        fprintf(stderr, "cannot swap %s: %s\n", link, strerror(errno));
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/tls.crt", dir);
    if (symlink("..data/tls.crt", path) != 0 && errno != EEXIST)
        exit(2);
    snprintf(path, sizeof(path), "%s/tls.key", dir);
    if (symlink("..data/tls.key", path) != 0 && errno != EEXIST)
        exit(2);
}

/* "2A:0B:..." or "2a0b..." -> "2A0B..." without leading zeros, for comparing serials. */
static void norm_serial(const char *in, char *out, size_t len)
{
    size_t n = 0;

    for (; *in && n + 1 < len; in++) {
        if (*in == ':' || *in == ' ' || (*in == '0' && n == 0))
            continue;
        out[n++] = (char)(*in >= 'a' && *in <= 'f' ? *in - 32 : *in);
    }
    out[n] = '\0';
}

/* ---- the server process ---- */

/* Run argv with stdout and stderr appended to 'log'. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();

    if (pid == 0) {
        FILE *f = fopen(log, "ab");

        if (!f)
            _exit(127);
        dup2(fileno(f), STDOUT_FILENO);
        dup2(fileno(f), STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Wait up to secs for pid; its exit status (or 128+signal), -1 when still running. */
static int wait_exit(pid_t pid, double secs)
{
    double end = now_s() + secs;
    int st;

    do {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -2;
        sleep_ms(20);
    } while (now_s() < end);
    return -1;
}

/* Run gwhook with args to completion (at most 20 s); its exit status. */
static int run_gwhook(const char *const *args)
{
    char *argv[32];
    size_t n = 0;
    int rc;
    pid_t pid;

    argv[n++] = (char *)GWHOOK;
    while (*args && n + 1 < ARRAY_SIZE(argv))
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    pid = spawn(argv, log_file);
    rc = wait_exit(pid, 20);
    if (rc == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return rc;
}

/*
 * Start gwhook serve on free loopback ports with certificates from dir,
 * stderr to log; probes and metrics on one port when 'shared'.
 */
static void start_server(struct srv *s, const char *dir, const char *log, int shared)
{
    char port[16], probe[16], metrics[16], delay[16], ctimeout[16];
    char *argv[] = {(char *)GWHOOK,
                    (char *)"serve",
                    (char *)"--cert-dir",
                    (char *)dir,
                    (char *)"--bind",
                    (char *)"127.0.0.1",
                    (char *)"--port",
                    port,
                    (char *)"--probe-port",
                    probe,
                    (char *)"--metrics-port",
                    metrics,
                    (char *)"--cert-poll",
                    (char *)"1",
                    (char *)"--conn-timeout",
                    ctimeout,
                    (char *)"--shutdown-delay",
                    delay,
                    (char *)"--grace",
                    (char *)"15",
                    (char *)"--threads",
                    (char *)"4",
                    (char *)"--check", /* no API server here: the server alone */
                    (char *)"all=off",
                    NULL};

    s->port = free_port();
    do
        s->probe = free_port();
    while (s->probe == s->port);
    do
        s->metrics = shared ? s->probe : free_port();
    while (!shared && (s->metrics == s->probe || s->metrics == s->port));
    snprintf(port, sizeof(port), "%u", s->port);
    snprintf(probe, sizeof(probe), "%u", s->probe);
    snprintf(metrics, sizeof(metrics), "%u", s->metrics);
    snprintf(delay, sizeof(delay), "%d", shared ? 0 : SHUTDOWN_DELAY_S);
    snprintf(ctimeout, sizeof(ctimeout), "%d", CONN_TIMEOUT_S);
    s->pid = spawn(argv, log);
    atomic_store(&child_pid, s->pid);
}

/* ---- HTTP with libcurl ---- */

struct req {
    const char *method; /* NULL: POST when there is a body, else GET */
    const char *url;    /* full URL */
    const char *ctype;  /* Content-Type, or NULL for none */
    const char *body;
    size_t len;
    int chunked;
    int fresh;     /* a new connection, and no reuse after */
    int certinfo;  /* fill resp.serial */
    int expect100; /* let libcurl send Expect: 100-continue (it does for big bodies) */
    CURL *h;       /* a handle to reuse (keep-alive), or NULL for a new one */
};

struct resp {
    CURLcode rc;
    long code;
    struct sbuf body, headers;
    char serial[128];
};

static size_t collect_cb(char *p, size_t size, size_t n, void *sb)
{
    sb_add(sb, p, size * n);
    return size * n;
}

static void resp_release(struct resp *r)
{
    sb_release(&r->body);
    sb_release(&r->headers);
}

static void get_serial(CURL *h, struct resp *r)
{
    struct curl_certinfo *ci = NULL;
    const struct curl_slist *l;

    r->serial[0] = '\0';
    if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        return;
    for (l = ci->certinfo[0]; l; l = l->next)
        if (!strncmp(l->data, "Serial Number:", 14))
            norm_serial(l->data + 14, r->serial, sizeof(r->serial));
}

static void setup(CURL *h, const struct req *q, struct resp *r, struct curl_slist **hdrs)
{
    char ct[128];

    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, q->fresh ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, q->fresh ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_CERTINFO, q->certinfo ? 1L : 0L);
    *hdrs = curl_slist_append(NULL, q->expect100 ? "X-Test: 1" : "Expect:");
    if (q->ctype) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", q->ctype);
        *hdrs = curl_slist_append(*hdrs, ct);
    }
    if (q->chunked)
        *hdrs = curl_slist_append(*hdrs, "Transfer-Encoding: chunked");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    if (q->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         q->chunked ? (curl_off_t)-1 : (curl_off_t)q->len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
}

static void http(const struct req *q, struct resp *r)
{
    CURL *h = q->h ? q->h : curl_easy_init();
    struct curl_slist *hdrs = NULL;

    memset(r, 0, sizeof(*r));
    setup(h, q, r, &hdrs);
    r->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
    if (q->certinfo)
        get_serial(h, r);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (!q->h)
        curl_easy_cleanup(h);
    if (!r->body.buf)
        sb_puts(&r->body, "");
    if (!r->headers.buf)
        sb_puts(&r->headers, "");
}

static char *url_of(const struct srv *s, unsigned port, const char *path)
{
    return xasprintf("%s://127.0.0.1:%u%s", port == s->port ? "https" : "http", port, path);
}

/* GET a plain-HTTP path; the status (0 when unreachable), body in *body if not NULL. */
static long get_plain(const struct srv *s, unsigned port, const char *path, char **body)
{
    struct req q = {0};
    struct resp r;
    long code;

    q.url = url_of(s, port, path);
    http(&q, &r);
    free((char *)q.url);
    code = r.rc == CURLE_OK ? r.code : 0;
    if (body)
        *body = sb_detach(&r.body);
    resp_release(&r);
    return code;
}

/* The value of one series ("name{labels}") in /metrics, or -1 when absent. */
static double metric(const struct srv *s, const char *series)
{
    char *text = NULL, *p;
    size_t n = strlen(series);
    double v = -1;

    get_plain(s, s->metrics, "/metrics", &text);
    for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, series, n) && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
    free(text);
    return v;
}

static int wait_metric(const struct srv *s, const char *series, double want, double secs)
{
    double end = now_s() + secs;

    do {
        if (metric(s, series) >= want)
            return 1;
        sleep_ms(50);
    } while (now_s() < end);
    return 0;
}

static int wait_ready(const struct srv *s, long want, double secs)
{
    double end = now_s() + secs;

    do {
        if (get_plain(s, s->probe, "/readyz", NULL) == want)
            return 1;
        sleep_ms(50);
    } while (now_s() < end);
    return 0;
}

/* ---- reviews ---- */

static const char *str_at(const cJSON *o, const char *path);

/* An AdmissionReview of the object in 'file' (for DELETE as oldObject). Caller frees. */
static char *make_review(const char *api, const char *uid, const char *op, const char *file)
{
    char *text = read_text(file), *out, plural[64], *p;
    cJSON *obj = cJSON_Parse(text), *root = cJSON_CreateObject(), *req, *k, *res;

    free(text);
    cJSON_AddStringToObject(root, "apiVersion", api);
    cJSON_AddStringToObject(root, "kind", "AdmissionReview");
    req = cJSON_AddObjectToObject(root, "request");
    cJSON_AddStringToObject(req, "uid", uid);
    k = cJSON_AddObjectToObject(req, "kind");
    cJSON_AddStringToObject(k, "group", "gateway.networking.k8s.io");
    cJSON_AddStringToObject(k, "version", "v1");
    cJSON_AddStringToObject(k, "kind", str_at(obj, "kind"));
    res = cJSON_AddObjectToObject(req, "resource");
    cJSON_AddStringToObject(res, "group", "gateway.networking.k8s.io");
    cJSON_AddStringToObject(res, "version", "v1");
    snprintf(plural, sizeof(plural), "%ss", str_at(obj, "kind"));
    for (p = plural; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    cJSON_AddStringToObject(res, "resource", plural);
    cJSON_AddStringToObject(req, "name", str_at(obj, "metadata.name"));
    cJSON_AddStringToObject(req, "namespace", "default");
    cJSON_AddStringToObject(req, "operation", op);
    cJSON_AddObjectToObject(req, "userInfo");
    if (!strcmp(op, "DELETE")) {
        cJSON_AddNullToObject(req, "object");
        cJSON_AddItemToObject(req, "oldObject", obj);
    } else {
        cJSON_AddItemToObject(req, "object", obj);
    }
    cJSON_AddBoolToObject(req, "dryRun", 0);
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* POST body to path; the parsed answer (NULL if not JSON), status in *code. */
static cJSON *post(const struct srv *s, const char *path, const char *ctype, const char *body,
                   size_t len, long *code)
{
    struct req q = {0};
    struct resp r;
    cJSON *out;

    q.url = url_of(s, s->port, path);
    q.ctype = ctype;
    q.body = body;
    q.len = len;
    http(&q, &r);
    free((char *)q.url);
    *code = r.rc == CURLE_OK ? r.code : 0;
    if (r.rc != CURLE_OK)
        printf("#   curl: %s\n", curl_easy_strerror(r.rc));
    out = cJSON_Parse(r.body.buf);
    resp_release(&r);
    return out;
}

static const cJSON *at(const cJSON *o, const char *path)
{
    char key[64];
    const char *dot;

    while (o && *path) {
        dot = strchr(path, '.');
        snprintf(key, sizeof(key), "%.*s", (int)(dot ? (size_t)(dot - path) : strlen(path)), path);
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path = dot ? dot + 1 : "";
    }
    return o;
}

static const char *str_at(const cJSON *o, const char *path)
{
    const cJSON *v = at(o, path);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Decode base64 (OpenSSL); caller frees. */
static char *unbase64(const char *in, size_t *len)
{
    size_t n = strlen(in), pad = 0;
    unsigned char *out = xmalloc(n / 4 * 3 + 1);
    int got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);

    if (got < 0) {
        free(out);
        return NULL;
    }
    while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
        pad++;
    *len = (size_t)got - pad;
    out[*len] = '\0';
    return (char *)out;
}

/* ---- the checks ---- */

static void test_cli(void)
{
    static const char *const help[] = {"serve", "--help", NULL};
    static const char *const bad[] = {"serve", "--port", "70000", NULL};
    static const char *const extra[] = {"serve", "stray", NULL};
    static const char *const badbind[] = {"serve", "--bind", "localhost", NULL};
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    char port[16], *text;
    const char *busy[] = {"serve",        "--bind",  "127.0.0.1",      "--port", port,
                          "--probe-port", "0",       "--metrics-port", "0",      "--cert-dir",
                          cert_dir,       "--check", "all=off",        NULL};
    static const char *const badcheck[] = {"serve", "--check", "parent-lisener=deny", NULL};
    static const char *const advice[] = {"serve", "--check", "backend-exists=deny", NULL};
    static const char *const noconf[] = {"serve", "--config", "/nonexistent/gatecheck.yaml", NULL};
    static const char *const nokube[] = {"serve",
                                         "--probe-port",
                                         "0",
                                         "--metrics-port",
                                         "0",
                                         "--kubeconfig",
                                         "/nonexistent/kubeconfig",
                                         NULL};
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

    ok(run_gwhook(help) == 0, "serve --help exits 0");
    ok(run_gwhook(bad) == 2, "serve --port 70000 is a usage error (exit 2)");
    ok(run_gwhook(extra) == 2, "serve with a stray argument is a usage error (exit 2)");
    ok(run_gwhook(badbind) == 2, "serve --bind with a host name is a usage error (exit 2)");
    truncate(log_file, 0);
    ok(run_gwhook(badcheck) == 2, "serve --check with an unknown check is a usage error (exit 2)");
    text = read_text(log_file);
    ok(contains(text, "parent-lisener") && contains(text, "parent-listener"),
       "the error names the bad check and the valid ones");
    free(text);
    ok(run_gwhook(advice) == 2, "serve --check backend-exists=deny is refused (advice only)");
    ok(run_gwhook(noconf) == 2, "serve --config with a missing file is a usage error (exit 2)");
    truncate(log_file, 0);
    ok(run_gwhook(nokube) == 1,
       "checks on without an API server configuration: a runtime failure (exit 1)");
    text = read_text(log_file);
    ok(contains(text, "cross-object checks need the API server") && contains(text, "all=off"),
       "the error says what is missing and how to run without the checks");
    free(text);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        exit(2);
    snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
    truncate(log_file, 0);
    rc = run_gwhook(busy);
    close(fd);
    text = read_text(log_file);
    ok(rc == 1, "a webhook port in use is a runtime failure (exit 1, got %d)", rc);
    ok(contains(text, port) && contains(text, "Address already in use"),
       "the error names the port and the reason");
    free(text);
    truncate(log_file, 0);
}

static void test_probes(const struct srv *s)
{
    char *body = NULL;
    struct req q = {0};
    struct resp r;

    ok(get_plain(s, s->probe, "/healthz", NULL) == 200, "/healthz 200");
    ok(get_plain(s, s->probe, "/readyz", NULL) == 200, "/readyz 200 once a certificate is loaded");
    ok(get_plain(s, s->probe, "/metrics", NULL) == 404, "/metrics is not on the probe port");
    ok(get_plain(s, s->metrics, "/readyz", NULL) == 404, "probes are not on the metrics port");
    q.url = url_of(s, s->metrics, "/metrics");
    http(&q, &r);
    free((char *)q.url);
    ok(r.code == 200 && contains(r.headers.buf, "text/plain; version=0.0.4"),
       "/metrics 200, Prometheus text format 0.0.4");
    body = r.body.buf;
    ok(contains(body, "# TYPE controller_runtime_webhook_latency_seconds histogram\n") &&
           contains(body, "# HELP controller_runtime_webhook_requests_total ") &&
           body[strlen(body) - 1] == '\n',
       "/metrics has HELP and TYPE lines and ends in a newline");
    resp_release(&r);
}

static void test_allowed(const struct srv *s)
{
    static const char *const apis[] = {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"};
    size_t i;
    long code;

    for (i = 0; i < ARRAY_SIZE(apis); i++) {
        char *body = make_review(apis[i], "uid-allowed", "CREATE", DATA "route-defaults.json");
        cJSON *out = post(s, "/validate", "application/json", body, strlen(body), &code);

        exp_count[0][200]++;
        ok(code == 200 && cJSON_IsTrue(at(out, "response.allowed")) &&
               !strcmp(str_at(out, "apiVersion") ? str_at(out, "apiVersion") : "", apis[i]) &&
               !strcmp(str_at(out, "kind") ? str_at(out, "kind") : "", "AdmissionReview") &&
               !strcmp(str_at(out, "response.uid") ? str_at(out, "response.uid") : "",
                       "uid-allowed"),
           "allowed: 200, %s answered in kind, uid echoed", apis[i]);
        cJSON_Delete(out);
        free(body);
    }
}

static void test_denied(const struct srv *s)
{
    char *body =
        make_review("admission.k8s.io/v1", "uid-denied", "CREATE", DATA "route-invalid.json");
    char *want_text = read_text(DATA "route-invalid.status.json");
    cJSON *want = cJSON_Parse(want_text), *out;
    long code;
    int same;

    out = post(s, "/validate", "application/json; charset=utf-8", body, strlen(body), &code);
    exp_count[0][200]++;
    same = cJSON_Compare(at(out, "response.status"), want, 1);
    ok(code == 200 && cJSON_IsFalse(at(out, "response.allowed")) && same,
       "denied: 200, allowed:false, status with the exact message and causes");
    if (!same) {
        char *got = cJSON_PrintUnformatted(at(out, "response.status"));

        printf("#   got:  %s\n#   want: %s\n", got ? got : "(none)", want_text);
        free(got);
    }
    cJSON_Delete(out);
    cJSON_Delete(want);
    free(want_text);
    free(body);
}

static void test_warnings(const struct srv *s)
{
    char *body =
        make_review("admission.k8s.io/v1", "uid-warn", "CREATE", DATA "route-unknown-field.json");
    long code;
    cJSON *out = post(s, "/validate", "application/json", body, strlen(body), &code);
    const cJSON *w = at(out, "response.warnings");

    exp_count[0][200]++;
    ok(code == 200 && cJSON_IsTrue(at(out, "response.allowed")) && cJSON_GetArraySize(w) == 1 &&
           !strcmp(cJSON_GetArrayItem(w, 0)->valuestring, "unknown field \"spec.retries\""),
       "warnings: allowed, with 'unknown field \"spec.retries\"'");
    cJSON_Delete(out);
    free(body);
}

/* The object of 'file' with the CRD defaults applied, as the API server would. */
static cJSON *defaulted(const char *file)
{
    char *text = read_text(file);
    cJSON *obj = cJSON_Parse(text);

    free(text);
    defaults_apply(schema_lookup("HTTPRoute", "v1", SCH_STANDARD, NULL), obj);
    return obj;
}

static void test_mutate(const struct srv *s)
{
    char *body =
        make_review("admission.k8s.io/v1", "uid-mutate", "CREATE", DATA "route-defaults.json");
    char *text = read_text(DATA "route-defaults.json"), *patch;
    cJSON *obj = cJSON_Parse(text), *want = defaulted(DATA "route-defaults.json"), *out, *ops;
    const char *b64;
    size_t len = 0;
    long code;

    out = post(s, "/mutate", "application/json", body, strlen(body), &code);
    exp_count[1][200]++;
    b64 = str_at(out, "response.patch");
    patch = b64 ? unbase64(b64, &len) : NULL;
    ops = patch ? cJSON_ParseWithLength(patch, len) : NULL;
    ok(code == 200 && cJSON_IsTrue(at(out, "response.allowed")) &&
           !strcmp(str_at(out, "response.patchType") ? str_at(out, "response.patchType") : "",
                   "JSONPatch") &&
           cJSON_GetArraySize(ops) > 0,
       "mutate: 200, allowed, a base64 JSON Patch with patchType JSONPatch");
    ok(ops && jsonpatch_apply_adds(obj, ops) == 0 && cJSON_Compare(obj, want, 1),
       "mutate: the patch, applied, gives the defaulted object");
    cJSON_Delete(out);
    cJSON_Delete(ops);
    free(patch);
    free(body);
    body = make_review("admission.k8s.io/v1", "uid-delete", "DELETE", DATA "route-defaults.json");
    out = post(s, "/mutate", "application/json", body, strlen(body), &code);
    exp_count[1][200]++;
    ok(code == 200 && cJSON_IsTrue(at(out, "response.allowed")) && !at(out, "response.patch"),
       "mutate: no patch on DELETE");
    cJSON_Delete(out);
    cJSON_Delete(obj);
    cJSON_Delete(want);
    free(text);
    free(body);
}

/* One refused request: the status, a JSON {"error"} body, Allow: POST on 405. */
static void refused(const struct srv *s, struct req *q, const char *path, long want,
                    const char *name)
{
    struct resp r;
    cJSON *o;
    int webhook = !strcmp(path, "/validate") || !strcmp(path, "/mutate");

    q->url = url_of(s, s->port, path);
    http(q, &r);
    free((char *)q->url);
    o = cJSON_Parse(r.body.buf);
    ok(r.rc == CURLE_OK && r.code == want && cJSON_IsString(at(o, "error")),
       "%s: %ld with a JSON error body", name, want);
    if (r.rc != CURLE_OK || r.code != want)
        printf("#   got %ld (%s) %s\n", r.code, curl_easy_strerror(r.rc), r.body.buf);
    if (want == 405)
        ok(contains(r.headers.buf, "Allow: POST\r\n"), "%s: Allow: POST", name);
    if (webhook)
        exp_count[path[1] == 'm'][want]++;
    cJSON_Delete(o);
    resp_release(&r);
}

static char *repeat(const char *a, size_t n, const char *mid, const char *b)
{
    struct sbuf sb = {0};
    size_t i;

    for (i = 0; i < n; i++)
        sb_puts(&sb, a);
    sb_puts(&sb, mid);
    for (i = 0; i < n; i++)
        sb_puts(&sb, b);
    return sb_detach(&sb);
}

static void test_hostile_http(const struct srv *s)
{
    char *review = make_review("admission.k8s.io/v1", "u", "CREATE", DATA "route-defaults.json");
    char *deep = repeat("{\"a\":", 200, "1", "}"), *big = xcalloc(1, (7u << 20) + 4097);
    struct req q;

    memset(big, ' ', (7u << 20) + 4096);
    big[0] = '{';
    memset(&q, 0, sizeof(q));
    q.method = "GET";
    refused(s, &q, "/validate", 405, "GET /validate");
    memset(&q, 0, sizeof(q));
    q.method = "PUT", q.ctype = "application/json", q.body = review, q.len = strlen(review);
    refused(s, &q, "/mutate", 405, "PUT /mutate");
    memset(&q, 0, sizeof(q));
    q.ctype = "text/plain", q.body = review, q.len = strlen(review);
    refused(s, &q, "/validate", 415, "Content-Type text/plain");
    memset(&q, 0, sizeof(q));
    q.ctype = "application/jsonx", q.body = review, q.len = strlen(review);
    refused(s, &q, "/validate", 415, "Content-Type application/jsonx");
    memset(&q, 0, sizeof(q));
    q.ctype = "application/json", q.body = review, q.len = strlen(review);
    refused(s, &q, "/validate/", 404, "POST /validate/");
    memset(&q, 0, sizeof(q));
    refused(s, &q, "/", 404, "GET /");
    memset(&q, 0, sizeof(q));
    q.ctype = "application/json", q.body = "{\"apiVersion\": ", q.len = 15;
    refused(s, &q, "/validate", 400, "malformed JSON");
    memset(&q, 0, sizeof(q));
    q.ctype = "application/json", q.body = "{\"kind\":\"ConfigMap\"}", q.len = 20;
    refused(s, &q, "/mutate", 400, "JSON that is not an AdmissionReview");
    memset(&q, 0, sizeof(q));
    q.ctype = "application/json", q.body = deep, q.len = strlen(deep);
    refused(s, &q, "/validate", 400, "JSON nested 200 deep");
    memset(&q, 0, sizeof(q));
    q.ctype = "application/json", q.body = big, q.len = strlen(big), q.expect100 = 1;
    refused(s, &q, "/validate", 413, "7 MiB + 4 KiB body (Content-Length)");
    memset(&q, 0, sizeof(q));
    q.ctype = "application/json", q.body = big, q.len = strlen(big), q.chunked = 1;
    refused(s, &q, "/validate", 413, "7 MiB + 4 KiB body (chunked)");
    free(review);
    free(deep);
    free(big);
}

/* ---- raw TLS (GnuTLS) and raw TCP ---- */

static gnutls_certificate_credentials_t gcred;

static int tcp_connect(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Handshake with 'prio', verifying the server as "localhost"; GnuTLS's result. */
static int tls_open(unsigned port, const char *prio, gnutls_session_t *out, int *fdp)
{
    gnutls_datum_t alpn[2] = {{(unsigned char *)"h2", 2}, {(unsigned char *)"http/1.1", 8}};
    gnutls_session_t ss;
    int rc;

    *fdp = tcp_connect(port);
    gnutls_init(&ss, GNUTLS_CLIENT);
    rc = gnutls_priority_set_direct(ss, prio, NULL);
    gnutls_credentials_set(ss, GNUTLS_CRD_CERTIFICATE, gcred);
    gnutls_server_name_set(ss, GNUTLS_NAME_DNS, "localhost", 9);
    gnutls_session_set_verify_cert(ss, "localhost", 0);
    gnutls_alpn_set_protocols(ss, alpn, 2, 0);
    gnutls_transport_set_int(ss, *fdp);
    gnutls_handshake_set_timeout(ss, 5000);
    gnutls_record_set_timeout(ss, 8000);
    if (rc >= 0)
        do
            rc = gnutls_handshake(ss);
        while (rc < 0 && !gnutls_error_is_fatal(rc));
    *out = ss;
    return rc;
}

static void tls_close(gnutls_session_t ss, int fd)
{
    gnutls_deinit(ss);
    close(fd);
}

static int tls_send(gnutls_session_t ss, const char *text)
{
    size_t len = strlen(text);

    while (len) {
        ssize_t n = gnutls_record_send(ss, text, len);

        if (n < 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read until the peer closes (or 8 s pass); what arrived, NUL-terminated. */
static char *tls_read_all(gnutls_session_t ss, int *closed)
{
    struct sbuf sb = {0};
    char buf[4096];
    ssize_t n;

    *closed = 0;
    while ((n = gnutls_record_recv(ss, buf, sizeof(buf))) != 0) {
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n < 0)
            break;
        sb_add(&sb, buf, (size_t)n);
    }
    *closed = n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION || n == GNUTLS_E_PULL_ERROR;
    if (!sb.buf)
        sb_puts(&sb, "");
    return sb_detach(&sb);
}

/* The handshake failed on the server's side (an alert or a hang-up), not in our own setup. */
static int refused_by_peer(int rc)
{
    return rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
           rc == GNUTLS_E_PREMATURE_TERMINATION;
}

static void test_tls(const struct srv *s)
{
    gnutls_session_t ss;
    gnutls_datum_t alpn = {NULL, 0};
    int fd, rc;

    rc = tls_open(s->port, "NORMAL:-VERS-ALL:+VERS-TLS1.1", &ss, &fd);
    ok(refused_by_peer(rc), "TLS 1.1 is refused by the server (%s)", gnutls_strerror(rc));
    tls_close(ss, fd);
    rc = tls_open(s->port, "NORMAL:-VERS-ALL:+VERS-TLS1.0", &ss, &fd);
    ok(refused_by_peer(rc), "TLS 1.0 is refused by the server (%s)", gnutls_strerror(rc));
    tls_close(ss, fd);
    rc = tls_open(s->port, "NORMAL:-VERS-ALL:+VERS-TLS1.2", &ss, &fd);
    ok(rc == 0 && gnutls_protocol_get_version(ss) == GNUTLS_TLS1_2,
       "TLS 1.2 handshake, certificate verified for localhost (%s)", gnutls_strerror(rc));
    ok(rc == 0 && gnutls_alpn_get_selected_protocol(ss, &alpn) == 0 && alpn.size == 8 &&
           !memcmp(alpn.data, "http/1.1", 8),
       "ALPN: offered h2 and http/1.1, got http/1.1");
    tls_close(ss, fd);
    rc = tls_open(s->port, "NORMAL:-VERS-ALL:+VERS-TLS1.3", &ss, &fd);
    ok(rc == 0 && gnutls_protocol_get_version(ss) == GNUTLS_TLS1_3, "TLS 1.3 handshake (%s)",
       gnutls_strerror(rc));
    tls_close(ss, fd);
}

/* Content-Length of 100 MB, then a few bytes: 413 at once, the rest never read. */
static void test_huge_length(const struct srv *s)
{
    gnutls_session_t ss;
    double t0;
    char *got;
    int fd, closed = 0;
    int rc = tls_open(s->port, "NORMAL", &ss, &fd);

    t0 = now_s();
    if (rc == 0)
        tls_send(ss, "POST /validate HTTP/1.1\r\nHost: localhost\r\n"
                     "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{}");
    got = rc == 0 ? tls_read_all(ss, &closed) : xstrdup("");
    exp_count[0][413]++;
    ok(!strncmp(got, "HTTP/1.1 413 ", 13) && contains(got, "{\"error\":") && closed &&
           now_s() - t0 < 3,
       "Content-Length 100 MB with a 2-byte body: 413 and close within 3 s, body not awaited");
    free(got);
    tls_close(ss, fd);
}

/* An allowed review over a new connection: 1 when it got 200 and allowed. */
static int one_review(const struct srv *s)
{
    char *body = make_review("admission.k8s.io/v1", "u-one", "CREATE", DATA "route-defaults.json");
    long code;
    cJSON *out = post(s, "/validate", "application/json", body, strlen(body), &code);
    int good = code == 200 && cJSON_IsTrue(at(out, "response.allowed"));

    exp_count[0][200]++;
    cJSON_Delete(out);
    free(body);
    return good;
}

/* Wait for the peer to close fd (EOF or reset); seconds it took, or -1 after 'secs'. */
static double wait_closed(int fd, double t0, double secs)
{
    char buf[512];
    double end = t0 + secs;

    while (now_s() < end) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return now_s() - t0;
    }
    return -1;
}

static void test_garbage(const struct srv *s)
{
    unsigned char junk[4096];
    size_t i;
    double took;
    int fd = tcp_connect(s->port), sent;

    srand(7);
    for (i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(rand() & 0xff);
    junk[0] = 0x16; /* looks like a TLS handshake record for one byte */
    sent = fd >= 0 && send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0;
    ok(one_review(s), "a request on another connection succeeds meanwhile");
    took = sent ? wait_closed(fd, now_s(), 5) : -1;
    ok(sent && took >= 0, "TCP garbage on the TLS port: the connection is dropped (%.2f s)", took);
    if (fd >= 0)
        close(fd);
}

static void test_slow_clients(const struct srv *s)
{
    gnutls_session_t ss;
    double t0 = now_s(), took;
    int fd, closed;
    int rc = tls_open(s->port, "NORMAL", &ss, &fd);
    char *got;

    if (rc == 0)
        tls_send(ss, "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Ty");
    got = rc == 0 ? tls_read_all(ss, &closed) : xstrdup("x");
    took = now_s() - t0;
    ok(rc == 0 && closed && !*got && took > CONN_TIMEOUT_S - 0.5 && took < CONN_TIMEOUT_S + 3,
       "a TLS client stopping mid-headers is cut after --conn-timeout %d s (%.2f s)",
       CONN_TIMEOUT_S, took);
    free(got);
    tls_close(ss, fd);
    fd = tcp_connect(s->port);
    took = fd >= 0 ? wait_closed(fd, now_s(), CONN_TIMEOUT_S + 3) : -1;
    ok(took > CONN_TIMEOUT_S - 0.5, "a TCP client that never says hello is cut (%.2f s)", took);
    if (fd >= 0)
        close(fd);
}

/* ?timeout=1s, half the body, 1.3 s of silence, the rest: cut, never judged. */
static void test_deadline(const struct srv *s)
{
    char *body = make_review("admission.k8s.io/v1", "u-late", "CREATE", DATA "route-defaults.json");
    char *head = xasprintf("POST /validate?timeout=1s HTTP/1.1\r\nHost: localhost\r\n"
                           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                           strlen(body));
    size_t half = strlen(body) / 2;
    char *first = xstrndup(body, half), *got;
    gnutls_session_t ss;
    int fd, closed = 0;
    int rc = tls_open(s->port, "NORMAL", &ss, &fd);

    if (rc == 0 && tls_send(ss, head) == 0 && tls_send(ss, first) == 0) {
        sleep_ms(1300);
        tls_send(ss, body + half);
    }
    got = rc == 0 ? tls_read_all(ss, &closed) : xstrdup("x");
    ok(rc == 0 && closed && !*got,
       "?timeout=1s: a body still arriving after 1 s is cut without an answer");
    ok(wait_metric(s, "gatecheck_admission_deadline_exceeded_total", 1, 2),
       "... and counted in gatecheck_admission_deadline_exceeded_total");
    free(got);
    tls_close(ss, fd);
    free(first);
    free(head);
    free(body);
}

static void test_unknown_kind(const struct srv *s)
{
    char *body = make_review("admission.k8s.io/v1", "uid-mesh", "CREATE", DATA "unknown-kind.json");
    long code;
    cJSON *out = post(s, "/validate", "application/json", body, strlen(body), &code);

    exp_count[0][200]++;
    ok(code == 200 && cJSON_IsTrue(at(out, "response.allowed")) &&
           cJSON_GetArraySize(at(out, "response.warnings")) == 1,
       "a kind without a schema: allowed, with a warning");
    cJSON_Delete(out);
    free(body);
}

static void test_metrics(const struct srv *s, const struct certs_info *info)
{
    static const char *const paths[] = {"/validate", "/mutate"};
    char series[200];
    unsigned long total200 = 0;
    size_t w, code;
    int all = 1, i;

    for (w = 0; w < 2; w++) {
        total200 += exp_count[w][200];
        for (code = 200; code < 600; code++) {
            double got;

            if (!exp_count[w][code] && code != 500)
                continue;
            snprintf(series, sizeof(series),
                     "controller_runtime_webhook_requests_total{webhook=\"%s\",code=\"%zu\"}",
                     paths[w], code);
            got = metric(s, series);
            if (got != (double)exp_count[w][code]) {
                printf("#   %s = %g, want %lu\n", series, got, exp_count[w][code]);
                all = 0;
            }
        }
    }
    ok(all, "requests_total counts every answer by webhook and code (500 present at 0)");
    /* the gauge drops in the completion callback, which libmicrohttpd runs
       after the last byte is sent: a client can read its answer first */
    for (i = 0; i < 40; i++) {
        if (metric(s, "controller_runtime_webhook_requests_in_flight{webhook=\"/validate\"}") ==
                0 &&
            metric(s, "controller_runtime_webhook_requests_in_flight{webhook=\"/mutate\"}") == 0)
            break;
        usleep(50 * 1000);
    }
    ok(i < 40, "requests_in_flight is back to 0 (within 2 s of the last answer)");
    ok(metric(s, "controller_runtime_webhook_latency_seconds_count{webhook=\"/validate\"}") ==
               metric(s, "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/validate\","
                         "le=\"+Inf\"}") &&
           metric(s, "controller_runtime_webhook_latency_seconds_count{webhook=\"/mutate\"}") > 0,
       "latency histogram: count equals the +Inf bucket");
    ok(metric(s, "gatecheck_admission_decisions_total{kind=\"HTTPRoute\",operation=\"CREATE\","
                 "allowed=\"false\"}") == 1 &&
           metric(s, "gatecheck_admission_decisions_total{kind=\"HTTPRoute\",operation=\"DELETE\","
                     "allowed=\"true\"}") == 1 &&
           metric(s, "gatecheck_admission_decisions_total{kind=\"HTTPRoute\",operation=\"CREATE\","
                     "allowed=\"true\"}") == (double)(total200 - 3) &&
           metric(s, "gatecheck_admission_decisions_total{kind=\"other\",operation=\"CREATE\","
                     "allowed=\"true\"}") == 1,
       "decisions by kind, operation and verdict; kinds without a schema as \"other\"");
    ok(metric(s, "gatecheck_admission_unknown_kind_total") == 1, "unknown-kind counter");
    ok(metric(s, "gatecheck_certificate_expiry_timestamp_seconds") == (double)info->not_after &&
           metric(s, "gatecheck_certificate_reloads_total{result=\"success\"}") == 1 &&
           metric(s, "gatecheck_certificate_reloads_total{result=\"failure\"}") == 0,
       "certificate expiry gauge and reload counters");
}

/* The serial a new connection is served, normalised. */
static void served_serial(const struct srv *s, char *out, size_t len)
{
    struct req q = {0};
    struct resp r;

    q.url = url_of(s, s->port, "/nothing-here");
    q.fresh = 1;
    q.certinfo = 1;
    http(&q, &r);
    free((char *)q.url);
    snprintf(out, len, "%s", r.rc == CURLE_OK ? r.serial : "");
    resp_release(&r);
}

struct loop {
    const struct srv *s;
    atomic_int stop;
    unsigned long good, bad;
};

/* Reviews back to back, keep-alive, a new connection every fourth. */
static void *client_loop(void *arg)
{
    struct loop *l = arg;
    char *body = make_review("admission.k8s.io/v1", "u-loop", "CREATE", DATA "route-defaults.json");
    CURL *h = curl_easy_init();
    unsigned long i;

    for (i = 0; !atomic_load(&l->stop); i++) {
        struct req q = {0};
        struct resp r;

        q.url = url_of(l->s, l->s->port, "/validate");
        q.ctype = "application/json", q.body = body, q.len = strlen(body);
        q.fresh = i % 4 == 0;
        q.h = h;
        http(&q, &r);
        if (r.rc == CURLE_OK && r.code == 200 && contains(r.body.buf, "\"allowed\":true")) {
            l->good++;
        } else {
            l->bad++;
            printf("#   loop request %lu: %s, %ld\n", i, curl_easy_strerror(r.rc), r.code);
        }
        free((char *)q.url);
        resp_release(&r);
    }
    curl_easy_cleanup(h);
    free(body);
    return NULL;
}

static int wait_serial(const struct srv *s, const char *want, double secs)
{
    double end = now_s() + secs;
    char got[128];

    do {
        served_serial(s, got, sizeof(got));
        if (!strcmp(got, want))
            return 1;
        sleep_ms(100);
    } while (now_s() < end);
    return 0;
}

static void test_rotation(const struct srv *s, struct certs_info *now_serving)
{
    struct loop l = {.s = s};
    struct certs_pem pair = {0};
    struct certs_info info;
    char want[128];
    pthread_t t;
    int seen;

    issue(&pair, &info);
    norm_serial(info.serial, want, sizeof(want));
    pthread_create(&t, NULL, client_loop, &l);
    sleep_ms(300);
    install_pair(cert_dir, pair.cert, pair.key, 2);
    seen = wait_serial(s, want, 10);
    sleep_ms(300);
    atomic_store(&l.stop, 1);
    pthread_join(t, NULL);
    ok(seen, "rotation: a new connection is served the new certificate (serial %s)", want);
    ok(l.good > 0 && l.bad == 0,
       "rotation under load: %lu requests, %lu failed, on reused and new connections", l.good,
       l.bad);
    ok(wait_metric(s, "gatecheck_certificate_reloads_total{result=\"success\"}", 2, 2) &&
           metric(s, "gatecheck_certificate_expiry_timestamp_seconds") == (double)info.not_after,
       "rotation: reload counted, expiry gauge follows the new certificate");
    *now_serving = info;
    certs_pem_release(&pair);
}

static void test_bad_pair(const struct srv *s, const struct certs_info *serving)
{
    struct certs_pem a = {0}, b = {0};
    struct certs_info ia, ib;
    char want[128], *text;

    issue(&a, &ia);
    issue(&b, &ib);
    install_pair(cert_dir, a.cert, b.key, 3); /* a's certificate with b's key */
    ok(wait_metric(s, "gatecheck_certificate_reloads_total{result=\"failure\"}", 1, 10),
       "a pair whose key does not match is refused (reload failure counted)");
    norm_serial(serving->serial, want, sizeof(want));
    ok(wait_serial(s, want, 1), "... and the previous certificate keeps serving");
    ok(get_plain(s, s->probe, "/readyz", NULL) == 200, "... and the server stays ready");
    text = read_text(log_file);
    ok(contains(
           text,
           "\"level\":\"error\",\"msg\":\"serving certificate rejected, keeping the one in use\""),
       "... and the log says why, at level error");
    free(text);
    certs_pem_release(&a);
    certs_pem_release(&b);
}

/* ---- drain ---- */

struct slow_post {
    const struct srv *s;
    char *body;
    size_t len, sent;
    double gate_deadline; /* give up waiting for the gate then */
    long code;
    int allowed;
};

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;

/*
 * Half the body at once; then, until the gate opens (at most 10 s), one byte
 * every 300 ms, so the server sees a live client and not one to time out;
 * then the rest.
 */
static size_t slow_read(char *buf, size_t size, size_t n, void *arg)
{
    struct slow_post *p = arg;
    size_t want = p->len / 2 - p->sent;
    struct timespec until;
    int open;

    if (p->sent >= p->len / 2) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 300000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&gate_lock);
        while (!gate_open && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
            ;
        open = gate_open || now_s() > p->gate_deadline;
        pthread_mutex_unlock(&gate_lock);
        want = open || p->len - p->sent < 2 ? p->len - p->sent : 1;
    }
    if (want > size * n)
        want = size * n;
    memcpy(buf, p->body + p->sent, want);
    p->sent += want;
    return want;
}

static void *slow_post_main(void *arg)
{
    struct slow_post *p = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    struct sbuf out = {0};
    char *url = url_of(p->s, p->s->port, "/validate");

    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, slow_read);
    curl_easy_setopt(h, CURLOPT_READDATA, p);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &p->code);
    p->allowed = contains(out.buf, "\"allowed\":true");
    sb_release(&out);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(url);
    return NULL;
}

#define NSLOW 4

static void open_gate(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

/* During --shutdown-delay: still answered, but the connection is not kept. */
static void check_delay_answer(const struct srv *s)
{
    char *body =
        make_review("admission.k8s.io/v1", "u-delay", "CREATE", DATA "route-defaults.json");
    struct req q = {0};
    struct resp r;

    q.url = url_of(s, s->port, "/validate");
    q.ctype = "application/json", q.body = body, q.len = strlen(body);
    http(&q, &r);
    ok(r.rc == CURLE_OK && r.code == 200 && contains(r.headers.buf, "Connection: close\r\n"),
       "during --shutdown-delay a new request is still answered, with Connection: close");
    free((char *)q.url);
    resp_release(&r);
    free(body);
}

static void test_drain(struct srv *s)
{
    struct slow_post p[NSLOW];
    pthread_t t[NSLOW];
    double t0;
    int i, all = 1, fd, rc;

    for (i = 0; i < NSLOW; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].s = s;
        p[i].body =
            make_review("admission.k8s.io/v1", "u-drain", "CREATE", DATA "route-defaults.json");
        p[i].len = strlen(p[i].body);
        p[i].gate_deadline = now_s() + 10;
        pthread_create(&t[i], NULL, slow_post_main, &p[i]);
    }
    ok(wait_metric(s, "controller_runtime_webhook_requests_in_flight{webhook=\"/validate\"}", NSLOW,
                   5),
       "%d requests in flight, each waiting for the rest of its body", NSLOW);
    t0 = now_s();
    kill(s->pid, SIGTERM);
    ok(wait_ready(s, 503, 3), "SIGTERM: /readyz turns 503");
    ok(get_plain(s, s->probe, "/healthz", NULL) == 200, "... while /healthz stays 200");
    check_delay_answer(s);
    while (now_s() < t0 + SHUTDOWN_DELAY_S + 1.0)
        sleep_ms(50);
    fd = tcp_connect(s->port);
    ok(fd < 0, "after --shutdown-delay the webhook port accepts no new connection");
    if (fd >= 0)
        close(fd);
    open_gate();
    for (i = 0; i < NSLOW; i++) {
        pthread_join(t[i], NULL);
        if (p[i].code != 200 || !p[i].allowed)
            printf("#   request %d: %ld, sent %zu of %zu\n", i, p[i].code, p[i].sent, p[i].len);
        all &= p[i].code == 200 && p[i].allowed;
        free(p[i].body);
    }
    ok(all, "every request in flight at SIGTERM completes with 200");
    rc = wait_exit(s->pid, 20);
    ok(rc == 0, "the server exits 0, LeakSanitizer silent (status %d)", rc);
    if (rc == -1)
        kill(s->pid, SIGKILL), waitpid(s->pid, NULL, 0);
    atomic_store(&child_pid, 0);
}

/* "2026-01-02T03:04:05.678Z" */
static int is_rfc3339_ms(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t i;

    for (i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? t[i] < '0' || t[i] > '9' : t[i] != shape[i])
            return 0;
    return t[i] == '\0';
}

/* Every line of the server's stderr is a JSON log line; review lines carry the request. */
static void test_logs(void)
{
    static const char *const review_keys[] = {"uid",       "kind",    "namespace", "name",
                                              "operation", "allowed", "code",      "latency_ms"};
    char *text = read_text(log_file), *line, *save = NULL;
    size_t lines = 0, bad = 0, reviews = 0, i;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        const char *lvl = str_at(o, "level");

        lines++;
        if (!str_at(o, "ts") || !is_rfc3339_ms(str_at(o, "ts")) || !lvl || !str_at(o, "msg") ||
            (strcmp(lvl, "debug") && strcmp(lvl, "info") && strcmp(lvl, "warn") &&
             strcmp(lvl, "error"))) {
            if (bad++ < 3)
                printf("#   not a log line: %s\n", line);
        } else if (!strcmp(str_at(o, "msg"), "review")) {
            reviews++;
            for (i = 0; i < ARRAY_SIZE(review_keys); i++)
                if (!at(o, review_keys[i]) && bad++ < 3)
                    printf("#   review line without %s: %s\n", review_keys[i], line);
        }
        cJSON_Delete(o);
    }
    ok(lines > 0 && reviews > 0 && bad == 0,
       "stderr: %zu JSON lines with ts (RFC 3339, ms), level, msg; %zu review lines with uid, "
       "kind, namespace, name, operation, allowed, code, latency_ms",
       lines, reviews);
    free(text);
}

/*
 * A server started before its Secret is filled: alive, not ready, no TLS;
 * an expired pair is refused; a valid one makes it ready. Probes and
 * metrics share a port here, and --shutdown-delay is 0.
 */
static void test_cold_start(void)
{
    char dir[192], log[192], *text;
    struct certs_pem old = {0}, good = {0};
    struct certs_info io, ig;
    struct srv s;
    int rc;

    snprintf(dir, sizeof(dir), "%s/certs2", tmp);
    snprintf(log, sizeof(log), "%s/serve2.log", tmp);
    mkdir(dir, 0700);
    start_server(&s, dir, log, 1);
    ok(wait_ready(&s, 503, 20) && get_plain(&s, s.probe, "/healthz", NULL) == 200,
       "cold start without a certificate: /healthz 200, /readyz 503");
    ok(!one_review(&s), "... and no TLS handshake succeeds");
    issue_at(&old, &io, -31L * 86400);
    install_pair(dir, old.cert, old.key, 1);
    ok(wait_metric(&s, "gatecheck_certificate_reloads_total{result=\"failure\"}", 2, 5) &&
           get_plain(&s, s.probe, "/readyz", NULL) == 503,
       "an expired pair is refused; still not ready");
    issue(&good, &ig);
    install_pair(dir, good.cert, good.key, 2);
    ok(wait_ready(&s, 200, 5), "a valid pair appears: ready");
    ok(one_review(&s), "... and serving");
    kill(s.pid, SIGTERM);
    rc = wait_exit(s.pid, 10);
    ok(rc == 0, "SIGTERM with nothing in flight: exit 0 (status %d)", rc);
    if (rc == -1)
        kill(s.pid, SIGKILL), waitpid(s.pid, NULL, 0);
    atomic_store(&child_pid, 0);
    text = read_text(log);
    ok(contains(text, "expired"), "the log says the refused certificate expired");
    if (tap_failed)
        printf("# --- %s ---\n%s", log, text);
    free(text);
    certs_pem_release(&old);
    certs_pem_release(&good);
}

static void setup_files(struct certs_info *info)
{
    struct certs_pem pair = {0};
    char err[256];

    snprintf(tmp, sizeof(tmp), "/tmp/gatecheck-serve.XXXXXX");
    if (!mkdtemp(tmp))
        exit(2);
    snprintf(ca_file, sizeof(ca_file), "%s/ca.crt", tmp);
    snprintf(cert_dir, sizeof(cert_dir), "%s/certs", tmp);
    snprintf(log_file, sizeof(log_file), "%s/serve.log", tmp);
    mkdir(cert_dir, 0700);
    if (certs_create_ca("gatecheck test CA", 30, &ca, err, sizeof(err)) != 0) {
        fprintf(stderr, "certs: %s\n", err);
        exit(2);
    }
    write_text(ca_file, ca.cert);
    write_text(log_file, "");
    gnutls_certificate_allocate_credentials(&gcred);
    gnutls_certificate_set_x509_trust_file(gcred, ca_file, GNUTLS_X509_FMT_PEM);
    issue(&pair, info);
    install_pair(cert_dir, pair.cert, pair.key, 1);
    certs_pem_release(&pair);
}

int main(void)
{
    struct certs_info info;
    struct srv s;
    pthread_t wd;

    util_init_cjson();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gnutls_global_init();
    signal(SIGPIPE, SIG_IGN);
    pthread_create(&wd, NULL, watchdog, NULL);
    pthread_detach(wd);
    setup_files(&info);
    test_cli();
    start_server(&s, cert_dir, log_file, 0);
    if (ok(wait_ready(&s, 200, 20), "the server comes up and reports ready")) {
        test_probes(&s);
        test_allowed(&s);
        test_denied(&s);
        test_warnings(&s);
        test_mutate(&s);
        test_hostile_http(&s);
        test_tls(&s);
        test_huge_length(&s);
        test_garbage(&s);
        test_slow_clients(&s);
        test_deadline(&s);
        test_unknown_kind(&s);
        test_metrics(&s, &info);
        test_rotation(&s, &info);
        test_bad_pair(&s, &info);
        test_drain(&s);
        test_logs();
    }
    test_cold_start();
    if (atomic_load(&child_pid) > 0) {
        kill(s.pid, SIGKILL);
        waitpid(s.pid, NULL, 0);
    }
    if (tap_failed)
        print_log();
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    certs_pem_release(&ca);
    gnutls_certificate_free_credentials(gcred);
    gnutls_global_deinit();
    curl_global_cleanup();
    schema_shutdown();
    return done_testing();
}

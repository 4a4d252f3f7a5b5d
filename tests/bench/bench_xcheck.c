/*
 * What the cross-object checks (issue 8) cost a review, and what the watch
 * cache costs per object. The cache is filled in memory, as the watchers
 * would fill it: 1,000 Gateways (two listeners each) over 100 namespaces,
 * 10,000 HTTPRoutes (ten per Gateway, each with a Service), the Services,
 * the Namespaces and 100 ReferenceGrants. Then a typical HTTPRoute review
 * (bytes in, bytes out: review_handle()) is timed without the checks and
 * with every check on (warn), in alternating rounds, and once more against a
 * "hot" Gateway with 1,000 routes. Then the review latency the API server
 * sees: the same review POSTed over HTTPS with keep-alive (libcurl) to two
 * `gwhook serve` servers (webhook/server.c) in this process, one without the
 * checks and one with them, p50 and p99 of each. Memory: what malloc handed
 * out for the cache (mallinfo2) and what the cache counts itself, per
 * object.
 * Not a test: nothing is asserted. `make bench` runs it.
 *
 * Usage: bench_xcheck [ROUNDS [typical]]   (default 5 rounds of ~0.4 s per
 *        side; "typical" skips the hot Gateway, for a profiler)
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <malloc.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "log.h"
#include "review.h"
#include "server.h"
#include "util.h"
#include "wcache.h"
#include "xcheck.h"

#define NNS        100
#define NGW        1000
#define NROUTES    10000
#define HOT_ROUTES 1000

struct ctx {
    struct xcheck_config cfg;
    struct wcache *wc;
};

static size_t cross(void *arg, const cJSON *obj, const cJSON *old, enum validate_op op,
                    struct verr_list *out)
{
    const struct ctx *c = arg;

    return xcheck_run(&c->cfg, c->wc, obj, old, op, out);
}

/* The served measurement's switch: one server, one connection, the checks
   on for every other request (two servers would differ by where the
   scheduler puts their threads, which is more than what is measured). */
static atomic_int served_checks;

static size_t cross_switched(void *arg, const cJSON *obj, const cJSON *old, enum validate_op op,
                             struct verr_list *out)
{
    return atomic_load(&served_checks) ? cross(arg, obj, old, op, out) : 0;
}

static void put(struct wcache *wc, const char *json)
{
    cJSON *o = cJSON_Parse(json);

    if (!o || wcache_put(wc, o) != 0) {
        fprintf(stderr, "bench_xcheck: bad object %s\n", json);
        exit(2);
    }
}

static void gateway(struct wcache *wc, int g)
{
    char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
             "\"metadata\":{\"name\":\"gw-%d\",\"namespace\":\"ns-%d\",\"uid\":\"u-gw-%d\","
             "\"resourceVersion\":\"%d\",\"generation\":1,"
             "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
             "\"spec\":{\"gatewayClassName\":\"c\",\"listeners\":["
             "{\"name\":\"http\",\"port\":80,\"protocol\":\"HTTP\",\"hostname\":\"*.example.com\","
             "\"allowedRoutes\":{\"namespaces\":{\"from\":\"All\"}}},"
             "{\"name\":\"https\",\"port\":443,\"protocol\":\"HTTPS\",\"hostname\":"
             "\"*.example.com\",\"tls\":{\"mode\":\"Terminate\",\"certificateRefs\":[{\"name\":"
             "\"cert\"}]},\"allowedRoutes\":{\"namespaces\":{\"from\":\"Selector\",\"selector\":"
             "{\"matchLabels\":{\"gw-access\":\"yes\"}}}}}]}}",
             g, g % NNS, g, g);
    put(wc, buf);
}

static void route(struct wcache *wc, int r, int g)
{
    char buf[2048];

    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
             "\"metadata\":{\"name\":\"route-%d\",\"namespace\":\"ns-%d\",\"uid\":\"u-r-%d\","
             "\"resourceVersion\":\"%d\",\"generation\":1,\"labels\":{\"app\":\"app-%d\"},"
             "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
             "\"spec\":{\"parentRefs\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":"
             "\"Gateway\",\"name\":\"gw-%d\",\"namespace\":\"ns-%d\",\"sectionName\":\"http\"}],"
             "\"hostnames\":[\"app-%d.example.com\"],"
             "\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/api\"}}],"
             "\"filters\":[{\"type\":\"RequestHeaderModifier\",\"requestHeaderModifier\":"
             "{\"set\":[{\"name\":\"X-Env\",\"value\":\"prod\"}]}}],"
             "\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"svc-%d\","
             "\"port\":8080,\"weight\":1}]},"
             "{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/\"}}],"
             "\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"svc-%d\","
             "\"port\":80,\"weight\":1}]}]}}",
             r, r % NNS, r, r, r, g, g % NNS, r, r, r);
    put(wc, buf);
}

static void service(struct wcache *wc, int r)
{
    char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-%d\","
             "\"namespace\":\"ns-%d\",\"uid\":\"u-s-%d\",\"resourceVersion\":\"%d\"},"
             "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.%d.%d\",\"ports\":[{\"name\":"
             "\"http\",\"port\":8080,\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":"
             "{\"app\":\"app-%d\"}}}",
             r, r % NNS, r, r, (r / 250) % 256, r % 250, r);
    put(wc, buf);
}

static void others(struct wcache *wc)
{
    char buf[1024];
    int i;

    for (i = 0; i < NNS; i++) {
        snprintf(buf, sizeof(buf),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ns-%d\","
                 "\"labels\":{\"kubernetes.io/metadata.name\":\"ns-%d\",\"gw-access\":\"yes\"}}}",
                 i, i);
        put(wc, buf);
        snprintf(
            buf, sizeof(buf),
            "{\"apiVersion\":\"gateway.networking.k8s.io/v1beta1\",\"kind\":\"ReferenceGrant\","
            "\"metadata\":{\"name\":\"grant\",\"namespace\":\"ns-%d\"},\"spec\":{\"from\":"
            "[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\",\"namespace\":"
            "\"ns-%d\"}],\"to\":[{\"group\":\"\",\"kind\":\"Service\"}]}}",
            i, (i + 1) % NNS);
        put(wc, buf);
    }
}

static size_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

/* The review of a new route in ns-1 on Gateway gw (ns gw % NNS), listener http. */
static char *review_body(int gw)
{
    return xasprintf(
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"b1\",\"kind\":{\"group\":\"gateway.networking.k8s.io\",\"version\":\"v1\","
        "\"kind\":\"HTTPRoute\"},\"resource\":{\"group\":\"gateway.networking.k8s.io\","
        "\"version\":\"v1\",\"resource\":\"httproutes\"},\"name\":\"new\",\"namespace\":"
        "\"ns-1\",\"operation\":\"CREATE\",\"object\":{\"apiVersion\":"
        "\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":"
        "\"new\",\"namespace\":\"ns-1\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw-%d\","
        "\"namespace\":\"ns-%d\",\"sectionName\":\"http\"}],\"hostnames\":"
        "[\"new.example.com\"],\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\","
        "\"value\":\"/api\"}}],\"filters\":[{\"type\":\"RequestHeaderModifier\","
        "\"requestHeaderModifier\":{\"set\":[{\"name\":\"X-Env\",\"value\":\"prod\"}]}}],"
        "\"backendRefs\":[{\"name\":\"svc-1\",\"port\":8080}]}]}}}}",
        gw, gw % NNS);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds per review over ~budget seconds. */
static double time_reviews(const struct review_config *cfg, const char *body, double budget)
{
    double start = now(), t;
    long n = 0;

    do {
        char *out = NULL;
        int i;

        for (i = 0; i < 50; i++, n++) {
            review_handle(cfg, REVIEW_VALIDATE, body, strlen(body), &out, NULL);
            free(out);
        }
    } while ((t = now() - start) < budget);
    return t / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median per-review time without and with the checks, rounds alternating. */
static void compare(const char *what, const struct ctx *c, const char *body, int rounds)
{
    struct review_config off = {0}, on = {0};
    double a[32], b[32];
    int i;

    on.cross = cross;
    on.cross_arg = (void *)c;
    time_reviews(&on, body, 0.1); /* warm caches */
    for (i = 0; i < rounds; i++) {
        a[i] = time_reviews(&off, body, 0.4);
        b[i] = time_reviews(&on, body, 0.4);
    }
    qsort(a, (size_t)rounds, sizeof(double), cmp_double);
    qsort(b, (size_t)rounds, sizeof(double), cmp_double);
    printf("bench-xcheck: %-34s review %7.1f us without checks, %7.1f us with: %+5.1f%% "
           "(target <= +10%%)\n",
           what, a[rounds / 2] * 1e6, b[rounds / 2] * 1e6,
           (b[rounds / 2] / a[rounds / 2] - 1) * 100);
}

/* ---- served: HTTPS round trips to two servers in this process ---- */

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

static int write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    int rc = f && fputs(text, f) >= 0 ? 0 : -1;

    if (f && fclose(f) != 0)
        rc = -1;
    free(path);
    return rc;
}

/* tls.crt, tls.key and ca.crt for 127.0.0.1 in dir. */
static int make_certs(const char *dir)
{
    static const char *const ips[] = {"127.0.0.1", NULL};
    struct certs_pem ca = {0}, leaf = {0};
    struct certs_request req = {NULL, NULL, ips, 1, 0};
    char err[256];
    int rc = -1;

    if (certs_create_ca("bench", 1, &ca, err, sizeof(err)) == 0 &&
        certs_issue(&ca, &req, &leaf, err, sizeof(err)) == 0)
        rc = write_file(dir, "tls.crt", leaf.cert) | write_file(dir, "tls.key", leaf.key) |
             write_file(dir, "ca.crt", ca.cert);
    else
        fprintf(stderr, "bench_xcheck: %s\n", err);
    certs_pem_release(&ca);
    certs_pem_release(&leaf);
    return rc;
}

static struct server *serve(const char *dir, const struct ctx *c, unsigned *port)
{
    struct server_config cfg = {0};
    struct server *s = NULL;
    char err[256];

    cfg.cert_dir = dir;
    cfg.bind_addr = "127.0.0.1";
    cfg.port = *port = free_port();
    cfg.threads = 1;
    cfg.max_body = 7u << 20;
    cfg.conn_timeout = 30;
    cfg.conn_limit = 16;
    cfg.cert_poll = 60;
    cfg.review.cross = cross_switched;
    cfg.review.cross_arg = (void *)c;
    if (server_start(&cfg, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_xcheck: %s\n", err);
        return NULL;
    }
    return s;
}

static void remove_dir(const char *dir)
{
    static const char *const files[] = {"tls.crt", "tls.key", "ca.crt"};
    size_t k;

    for (k = 0; k < ARRAY_SIZE(files); k++) {
        char *p = xasprintf("%s/%s", dir, files[k]);

        unlink(p);
        free(p);
    }
    rmdir(dir);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static CURL *client(const char *dir, unsigned port, const char *body, struct curl_slist *hdr)
{
    CURL *h = curl_easy_init();
    char *url = xasprintf("https://127.0.0.1:%u/validate", port);
    char *ca = xasprintf("%s/ca.crt", dir);

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    free(url);
    free(ca); /* libcurl copies string options */
    return h;
}

/* One round trip's seconds, or -1 on failure. */
static double round_trip(CURL *h)
{
    double t0 = now();
    long code = 0;

    if (curl_easy_perform(h) != CURLE_OK)
        return -1;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 ? now() - t0 : -1;
}

static void served(const struct ctx *c, const char *body, int n)
{
    char dir[] = "/tmp/bench-xcheck.XXXXXX";
    struct server *srv = NULL;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    double *a = xcalloc((size_t)n, sizeof(double)), *b = xcalloc((size_t)n, sizeof(double));
    unsigned port;
    CURL *h = NULL;
    int i, bad = 0;

    if (!mkdtemp(dir) || make_certs(dir) != 0 || !(srv = serve(dir, c, &port))) {
        printf("bench-xcheck: served latency not measured (see the error above)\n");
        goto out;
    }
    h = client(dir, port, body, hdr);
    for (i = 0; i < 400; i++) { /* connect, handshake, warm up */
        atomic_store(&served_checks, i & 1);
        bad += round_trip(h) < 0;
    }
    for (i = 0; i < n; i++) {
        atomic_store(&served_checks, 0);
        a[i] = round_trip(h);
        atomic_store(&served_checks, 1);
        b[i] = round_trip(h);
        bad += (a[i] < 0) + (b[i] < 0);
    }
    qsort(a, (size_t)n, sizeof(double), cmp_double);
    qsort(b, (size_t)n, sizeof(double), cmp_double);
    printf("bench-xcheck: served over HTTPS (keep-alive), %d reviews each: p50 %.1f us without "
           "checks, %.1f us with: %+.1f%% (target <= +10%%); p99 %.1f / %.1f us%s\n",
           n, a[n / 2] * 1e6, b[n / 2] * 1e6, (b[n / 2] / a[n / 2] - 1) * 100,
           a[n * 99 / 100] * 1e6, b[n * 99 / 100] * 1e6, bad ? " (SOME REQUESTS FAILED)" : "");
out:
    if (h)
        curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    server_stop(srv);
    free(a);
    free(b);
    remove_dir(dir);
}

int main(int argc, char **argv)
{
    struct ctx c;
    size_t before, after, objects;
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5, r;
    char *body;

    if (rounds < 1 || rounds > 31)
        rounds = 5;
    util_init_cjson();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    log_set_level("warn"); /* no line per review */
    xcheck_defaults(&c.cfg);
    before = heap_used();
    c.wc = wcache_new();
    for (r = 0; r < NGW; r++)
        gateway(c.wc, r);
    for (r = 0; r < NROUTES; r++) {
        route(c.wc, r, r % NGW);
        service(c.wc, r);
    }
    others(c.wc);
    after = heap_used();
    objects = wcache_count(c.wc, NULL);
    printf("bench-xcheck: cache of %zu objects (%d Gateways, %d HTTPRoutes, %d Services, "
           "%d Namespaces, %d ReferenceGrants)\n",
           objects, NGW, NROUTES, NROUTES, NNS, NNS);
    printf("bench-xcheck: memory %.1f MiB malloc'd (mallinfo2), %zu bytes per cached object; "
           "the cache counts %zu bytes per object\n",
           (double)(after - before) / 1048576.0, (after - before) / objects,
           wcache_bytes(c.wc) / objects);
    body = review_body(7);
    compare("typical (Gateway with 10 routes)", &c, body, rounds);
    served(&c, body, 4000);
    free(body);
    if (argc > 2 && strcmp(argv[2], "typical") == 0) { /* for a profiler */
        wcache_free(&c.wc);
        return 0;
    }
    for (r = 0; r < HOT_ROUTES; r++)
        route(c.wc, NROUTES + r, 3);
    body = review_body(3);
    compare("hot Gateway (1,010 routes)", &c, body, rounds);
    free(body);
    wcache_free(&c.wc);
    curl_global_cleanup();
    return 0;
}

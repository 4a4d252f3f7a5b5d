/*
 * The watch cache's watchers (include/wcache.h, issue 8) and the client's
 * cancel hooks (include/kube.h), no mocks:
 *  1. without a cluster: a configuration that does not load, an API server
 *     port that refuses connections and one that accepts and never answers:
 *     start returns 0, failures are logged, counted and backed off, synced
 *     stays 0, stop is prompt;
 *  2. against the kube-apiserver of GATECHECK_KUBECONFIG: sync, objects
 *     made before the start, Gateways, HTTPRoutes, Services and a Namespace
 *     label changed while watching, watches restarting every 2 s, the
 *     stats, a kube_watch() cancelled by its hook, a prompt stop; otherwise
 *     one "# SKIP" check;
 *  3. when GATECHECK_CLUSTER_DIR names that cluster's directory (a cluster
 *     this test may disrupt): the API server restarted under the watchers
 *     (tools/cluster.sh apiserver-restart) and the UDPRoute CRD deleted and
 *     put back (the kind goes unserved, then is found again within the
 *     minute).
 * WCACHE_TEST_VERBOSE=1 prints the watchers' log as it comes.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "kube.h"
#include "util.h"
#include "wcache.h"

#define GW_V1            "gateway.networking.k8s.io/v1"
#define CRD_V1           "apiextensions.k8s.io/v1"
#define SYNC_TIMEOUT_S   30.0
#define CHANGE_TIMEOUT_S 15.0
#define STOP_LIMIT_S     3.0

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- the watchers' log ---- */

struct logbook {
    pthread_mutex_t lock;
    struct sbuf text;
    int n[WCACHE_LOG_ERROR + 1];
};

static void logbook_fn(void *arg, int level, const char *kind, const char *msg)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    struct logbook *l = arg;
    const char *name = level >= 0 && level <= WCACHE_LOG_ERROR ? names[level] : "?";

    pthread_mutex_lock(&l->lock);
    if (level >= 0 && level <= WCACHE_LOG_ERROR)
        l->n[level]++;
    sb_printf(&l->text, "%s %s: %s\n", name, kind, msg);
    if (getenv("WCACHE_TEST_VERBOSE"))
        printf("#   log: %s %s: %s\n", name, kind, msg);
    pthread_mutex_unlock(&l->lock);
}

static void logbook_init(struct logbook *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
}

static void logbook_release(struct logbook *l)
{
    sb_release(&l->text);
    pthread_mutex_destroy(&l->lock);
}

static int logbook_has(struct logbook *l, const char *text)
{
    int found;

    pthread_mutex_lock(&l->lock);
    found = l->text.buf && strstr(l->text.buf, text);
    pthread_mutex_unlock(&l->lock);
    return found;
}

static int logbook_count(struct logbook *l, int level)
{
    int n;

    pthread_mutex_lock(&l->lock);
    n = l->n[level];
    pthread_mutex_unlock(&l->lock);
    return n;
}

/* The first line of the log holding text, as a TAP diagnostic. */
static void logbook_show(struct logbook *l, const char *text)
{
    const char *p, *start;

    pthread_mutex_lock(&l->lock);
    p = l->text.buf ? strstr(l->text.buf, text) : NULL;
    if (p) {
        for (start = p; start > l->text.buf && start[-1] != '\n'; start--)
            ;
        printf("#   log: %.*s\n", (int)strcspn(start, "\n"), start);
    }
    pthread_mutex_unlock(&l->lock);
}

/* ---- stats ---- */

struct totals {
    unsigned long events, lists, gone, restarts, errors;
    int served, unserved, synced, connected;
};

static struct totals totals(const struct wcache *wc)
{
    struct totals t = {0};
    struct wcache_kind_stats st;
    int k;

    for (k = 0; k < WCACHE_NKINDS; k++) {
        if (wcache_stats(wc, (enum wcache_kind)k, &st) != 0)
            continue;
        t.events += st.events;
        t.lists += st.lists;
        t.gone += st.relists_gone;
        t.restarts += st.restarts;
        t.errors += st.errors;
        t.served += st.served == 1;
        t.unserved += st.served == 0;
        t.synced += st.synced;
        t.connected += st.connected;
    }
    return t;
}

static struct wcache_kind_stats stats_of(const struct wcache *wc, enum wcache_kind k)
{
    struct wcache_kind_stats st;

    if (wcache_stats(wc, k, &st) != 0)
        memset(&st, 0, sizeof(st));
    return st;
}

/* Time wcache_stop(), in seconds. */
static double timed_stop(struct wcache *wc)
{
    double t0 = now_s();

    wcache_stop(wc);
    return now_s() - t0;
}

/* ---- without a cluster ---- */

static char *write_kubeconfig(const char *dir, const char *name, int port)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    if (!f) {
        perror(path);
        exit(2);
    }
    fprintf(f,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
            "    server: https://127.0.0.1:%d\n    insecure-skip-tls-verify: true\n"
            "users:\n- name: u\n  user:\n    token: t\n"
            "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
            "current-context: x\n",
            port);
    fclose(f);
    return path;
}

/* A loopback socket on a free port; listening (never accepting) or closed. */
static int loopback_port(int listening, int *fd_out)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0 || (listening && listen(fd, 64) != 0)) {
        perror("loopback socket");
        exit(2);
    }
    if (listening)
        *fd_out = fd;
    else
        close(fd);
    return ntohs(a.sin_port);
}

static void test_not_started(void)
{
    struct wcache *wc = wcache_new();
    struct wcache_kind_stats st;
    char err[KUBE_ERR_MAX];
    struct wcache_opts o = {.load = {"/nonexistent/gatecheck/kubeconfig", NULL, NULL}};

    wcache_stop(wc);
    wcache_stop(wc);
    ok(1, "stop without start, twice: nothing to do");
    ok(!wcache_synced(wc), "not started: not synced");
    ok(wcache_stats(wc, WCACHE_HTTPROUTE, &st) == 0 && st.served == -1 && st.lists == 0 &&
           !strcmp(st.kind, "HTTPRoute") && !strcmp(st.group, "gateway.networking.k8s.io"),
       "not started: stats say served unknown, nothing listed");
    ok(wcache_stats(wc, WCACHE_NKINDS, &st) == -1, "stats of a kind out of range: -1");
    ok(wcache_start(wc, &o, err, sizeof(err)) == -1 && strstr(err, "/nonexistent/gatecheck"),
       "a configuration that does not load: start fails with its message");
    printf("#   %s\n", err);
    ok(!wcache_synced(wc) && timed_stop(wc) < 0.1,
       "after a failed start: not synced, stop at once");
    wcache_free(&wc);
}

static void test_refused(const char *dir)
{
    struct logbook lb;
    char *kc = write_kubeconfig(dir, "refused", loopback_port(0, NULL));
    struct wcache_opts o = {.load = {kc, NULL, NULL}, .backoff_min_ms = 50, .backoff_max_ms = 400};
    struct wcache *wc = wcache_new();
    unsigned long lo = ULONG_MAX, hi = 0;
    char err[KUBE_ERR_MAX];
    struct totals t;
    double took;
    int k;

    logbook_init(&lb);
    o.log = logbook_fn;
    o.log_arg = &lb;
    ok(wcache_start(wc, &o, err, sizeof(err)) == 0,
       "refused: start returns 0 (the configuration loads) %s", err);
    sleep_ms(1500);
    for (k = 0; k < WCACHE_NKINDS; k++) {
        struct wcache_kind_stats st = stats_of(wc, (enum wcache_kind)k);

        lo = st.errors < lo ? st.errors : lo;
        hi = st.errors > hi ? st.errors : hi;
    }
    t = totals(wc);
    ok(!wcache_synced(wc) && t.synced == 0 && t.served == 0 && t.unserved == 0,
       "refused: not synced, served unknown");
    ok(lo >= 3, "refused: every watcher tried again (fewest errors: %lu)", lo);
    ok(hi <= 12, "refused: with backoff, 50 ms doubling to 400 ms (most errors in 1.5 s: %lu)", hi);
    ok(logbook_count(&lb, WCACHE_LOG_WARN) >= WCACHE_NKINDS &&
           logbook_has(&lb, "discovery failed: cannot reach the API server at https://127.0.0.1:"),
       "refused: warnings with the message");
    logbook_show(&lb, "discovery failed");
    took = timed_stop(wc);
    ok(took < STOP_LIMIT_S, "refused: stop took %.0f ms", took * 1000);
    wcache_free(&wc);
    logbook_release(&lb);
    unlink(kc);
    free(kc);
}

/* A port that accepts connections and never answers: every request hangs
   in the TLS handshake until stop cancels it (the client's cancel hook). */
static void test_black_hole(const char *dir)
{
    struct logbook lb;
    int fd = -1;
    char *kc = write_kubeconfig(dir, "black-hole", loopback_port(1, &fd));
    struct wcache_opts o = {.load = {kc, NULL, NULL}, .log = logbook_fn, .log_arg = &lb};
    struct wcache *wc = wcache_new();
    char err[KUBE_ERR_MAX];
    struct totals t;
    double took;

    logbook_init(&lb);
    ok(wcache_start(wc, &o, err, sizeof(err)) == 0, "black hole: start returns 0 %s", err);
    sleep_ms(700);
    t = totals(wc);
    ok(!wcache_synced(wc) && t.errors == 0 && t.lists == 0,
       "black hole: requests hang (no answer, no error yet), not synced");
    took = timed_stop(wc);
    ok(took < STOP_LIMIT_S, "black hole: stop cancels the hanging requests: %.0f ms", took * 1000);
    ok(logbook_count(&lb, WCACHE_LOG_WARN) == 0 && logbook_count(&lb, WCACHE_LOG_ERROR) == 0,
       "black hole: a stop is not logged as a failure");
    wcache_free(&wc);
    close(fd);
    logbook_release(&lb);
    unlink(kc);
    free(kc);
}

/* ---- against a cluster ---- */

struct cl {
    const char *kc;
    const char *dir; /* GATECHECK_CLUSTER_DIR, or NULL */
    struct kube_client *c;
    char ns[64], gc[64];
    struct wcache *wc;
    struct logbook lb;
    double worst_change; /* seconds, the slowest change to arrive */
};

static const char *jpath(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct kube_client *client(const char *kubeconfig, char *err, size_t errlen)
{
    struct kube_load_opts lo = {kubeconfig, NULL, NULL};
    struct kube_client_opts o = {.connect_timeout_ms = 3000, .timeout_ms = 30000};
    struct kube_config *cfg;

    if (kube_config_load(&lo, &cfg, err, errlen) != 0)
        return NULL;
    return kube_client_new(cfg, &o, err, errlen);
}

static cJSON *parsef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *parsef(const char *fmt, ...)
{
    struct sbuf sb = {0};
    va_list ap;
    cJSON *o;

    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    o = cJSON_Parse(sb.buf);
    if (!o) {
        fprintf(stderr, "bad test JSON: %s\n", sb.buf);
        abort();
    }
    sb_release(&sb);
    return o;
}

static int create(struct cl *k, cJSON *obj, const char *what)
{
    struct kube_response r = {0};
    int rc = kube_create(k->c, obj, NULL, &r);

    if (rc != 0)
        printf("#   create %s: %s\n", what, r.error);
    kube_response_release(&r);
    cJSON_Delete(obj);
    return rc == 0;
}

/* A JSON merge patch. */
static int patch(struct cl *k, const char *av, const char *kind, const char *ns, const char *name,
                 const char *json)
{
    cJSON *p = parsef("%s", json);
    struct kube_response r = {0};
    int rc = kube_merge_patch(k->c, av, kind, ns, name, p, NULL, &r);

    if (rc != 0)
        printf("#   patch %s %s: %s\n", kind, name, r.error);
    cJSON_Delete(p);
    kube_response_release(&r);
    return rc == 0;
}

/* Set label gatecheck.dev/phase of the test namespace. */
static int ns_phase(struct cl *k, const char *value)
{
    char *json = xasprintf("{\"metadata\":{\"labels\":{\"gatecheck.dev/phase\":\"%s\"}}}", value);
    int rc = patch(k, "v1", "Namespace", NULL, k->ns, json);

    free(json);
    return rc;
}

static int remove_obj(struct cl *k, const char *av, const char *kind, const char *ns,
                      const char *name)
{
    struct kube_response r = {0};
    int rc = kube_delete(k->c, av, kind, ns, name, NULL, &r);

    if (rc != 0 && r.status != 404)
        printf("#   delete %s %s: %s\n", kind, name, r.error);
    kube_response_release(&r);
    return rc == 0;
}

/*
 * What a cached object shows of a change. The store keeps only what the
 * checks read (wcache_trim()): a Namespace's labels, a route's hostnames, a
 * Gateway's listeners; nothing of a Service but its existence.
 */
typedef const char *(*field_fn)(const cJSON *obj, char *buf, size_t len);

static const char *phase_label(const cJSON *o, char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return jpath(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels", "gatecheck.dev/phase");
}

static const char *first_hostname(const cJSON *o, char *buf, size_t len)
{
    const cJSON *h =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"), "hostnames");

    (void)buf;
    (void)len;
    h = cJSON_GetArrayItem(h, 0);
    return cJSON_IsString(h) ? h->valuestring : NULL;
}

static const char *first_port(const cJSON *o, char *buf, size_t len)
{
    const cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"), "listeners");
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(l, 0), "port");

    if (!cJSON_IsNumber(port))
        return NULL;
    snprintf(buf, len, "%d", port->valueint);
    return buf;
}

/* Is kind/ns/name in the cache (showing want in field, when field is set),
   or gone (present 0)? Polled until CHANGE_TIMEOUT_S. */
static int await_obj(struct cl *k, const char *kind, const char *ns, const char *name,
                     field_fn field, const char *want, int present)
{
    double t0 = now_s(), took;
    char buf[32];

    for (;;) {
        const cJSON *o;
        const char *v;
        int done;

        wcache_read_begin(k->wc);
        o = wcache_get(k->wc, kind, ns, name);
        v = o && field ? field(o, buf, sizeof(buf)) : NULL;
        done = present ? o && (!field || (v && !strcmp(v, want))) : !o;
        took = now_s() - t0;
        if (!done && took > CHANGE_TIMEOUT_S) {
            char *text = o ? cJSON_PrintUnformatted(o) : NULL;

            printf("#   cached %s %s/%s: %s\n", kind, ns, name, text ? text : "(none)");
            free(text);
        }
        wcache_read_end(k->wc);
        if (done)
            break;
        if (took > CHANGE_TIMEOUT_S)
            return 0;
        sleep_ms(20);
    }
    if (took > k->worst_change)
        k->worst_change = took;
    return 1;
}

/* Until kind's watcher counted more than before events. */
static int await_events(struct cl *k, enum wcache_kind kind, unsigned long before)
{
    double t0 = now_s();

    while (stats_of(k->wc, kind).events <= before) {
        if (now_s() - t0 > CHANGE_TIMEOUT_S)
            return 0;
        sleep_ms(20);
    }
    return 1;
}

static int count_fn(const cJSON *obj, void *arg)
{
    (void)obj;
    (*(int *)arg)++;
    return 0;
}

/* Routes of the cache naming Gateway gw of the test namespace. */
static int children(struct cl *k, const char *gw)
{
    int n = 0;

    wcache_read_begin(k->wc);
    wcache_each_child(k->wc, "Gateway", k->ns, gw, count_fn, &n);
    wcache_read_end(k->wc);
    return n;
}

#define SVC_FMT                                                                                \
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\",\"namespace\":" \
    "\"%s\"},\"spec\":{\"ports\":[{\"port\":80}]}}"
#define GW_FMT                                                                              \
    "{\"apiVersion\":\"" GW_V1 "\",\"kind\":\"Gateway\",\"metadata\":{\"name\":\"%s\","     \
    "\"namespace\":\"%s\"},\"spec\":{\"gatewayClassName\":\"%s\",\"listeners\":[{\"name\":" \
    "\"http\",\"port\":80,\"protocol\":\"HTTP\"}]}}"
#define ROUTE_FMT                                                                         \
    "{\"apiVersion\":\"" GW_V1 "\",\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"%s\"," \
    "\"namespace\":\"%s\"},\"spec\":{\"parentRefs\":[{\"name\":\"%s\"}],\"rules\":[{"     \
    "\"backendRefs\":[{\"name\":\"svc-pre\",\"port\":80}]}]}}"

/* The namespace and the objects that exist before the start. 0: no namespace. */
static int cluster_setup(struct cl *k)
{
    int good;

    snprintf(k->ns, sizeof(k->ns), "gatecheck-wcw-%ld", (long)getpid());
    snprintf(k->gc, sizeof(k->gc), "gatecheck-wcw-%ld", (long)getpid());
    good = create(k,
                  parsef("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                         "\"%s\",\"labels\":{\"gatecheck.dev/test\":\"wcache-watch\"}}}",
                         k->ns),
                  "namespace");
    if (!ok(good, "cluster: create the test namespace %s", k->ns))
        return 0;
    good = create(k,
                  parsef("{\"apiVersion\":\"" GW_V1 "\",\"kind\":\"GatewayClass\",\"metadata\":"
                         "{\"name\":\"%s\"},\"spec\":{\"controllerName\":\"gatecheck.dev/wcw\"}}",
                         k->gc),
                  "GatewayClass");
    good &= create(k, parsef(SVC_FMT, "svc-pre", k->ns), "Service");
    good &= create(k, parsef(GW_FMT, "gw-pre", k->ns, k->gc), "Gateway");
    good &= create(k, parsef(ROUTE_FMT, "route-pre", k->ns, "gw-pre"), "HTTPRoute");
    ok(good, "cluster: objects made before the start: GatewayClass, Service, Gateway, HTTPRoute");
    return 1;
}

static int cluster_start(struct cl *k)
{
    struct wcache_opts o = {.load = {k->kc, NULL, NULL},
                            .watch_timeout_s = 2,    /* streams end and restart all the time */
                            .unserved_recheck_s = 2, /* a CRD put back is found soon */
                            .backoff_min_ms = 100,
                            .backoff_max_ms = 1000,
                            .log = logbook_fn,
                            .log_arg = &k->lb};
    char err[KUBE_ERR_MAX];
    double t0 = now_s(), took;

    k->wc = wcache_new();
    if (!ok(wcache_start(k->wc, &o, err, sizeof(err)) == 0, "cluster: start %s", err))
        return 0;
    while (!wcache_synced(k->wc) && now_s() - t0 < SYNC_TIMEOUT_S)
        sleep_ms(5);
    took = now_s() - t0;
    ok(wcache_synced(k->wc), "cluster: synced in %.0f ms", took * 1000);
    printf("# report: test_wcache_watch: synced in %.0f ms\n", took * 1000);
    return wcache_synced(k->wc);
}

static void cluster_listed(struct cl *k)
{
    const cJSON *svc, *gw, *route, *ns, *gc;

    wcache_read_begin(k->wc);
    svc = wcache_get(k->wc, "Service", k->ns, "svc-pre");
    gw = wcache_get(k->wc, "Gateway", k->ns, "gw-pre");
    route = wcache_get(k->wc, "HTTPRoute", k->ns, "route-pre");
    ns = wcache_get(k->wc, "Namespace", "", k->ns);
    gc = wcache_get(k->wc, "GatewayClass", "", k->gc);
    ok(svc && gw && route && ns && gc,
       "cluster: the objects made before the start are in the cache after the sync");
    ok(svc && route && jpath(svc, "kind", NULL) && !strcmp(jpath(svc, "kind", NULL), "Service") &&
           jpath(route, "kind", NULL) && !strcmp(jpath(route, "kind", NULL), "HTTPRoute"),
       "cluster: listed items carry their kind");
    ok(svc && !cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "metadata"),
                                                "managedFields"),
       "cluster: listed items are trimmed (no managedFields)");
    wcache_read_end(k->wc);
    ok(children(k, "gw-pre") == 1, "cluster: the parent index knows route-pre");
}

/* Create, modify (patch, seen through field as want) and delete one object. */
static void cycle(struct cl *k, const char *av, const char *kind, cJSON *obj, const char *json,
                  field_fn field, const char *want)
{
    const char *ns = k->ns, *name = jpath(obj, "metadata", "name");
    char *nm = xstrdup(name ? name : "");

    ok(create(k, obj, kind) && await_obj(k, kind, ns, nm, NULL, NULL, 1),
       "cluster: %s created while watching arrives", kind);
    ok(patch(k, av, kind, ns, nm, json) && await_obj(k, kind, ns, nm, field, want, 1),
       "cluster: %s modified arrives", kind);
    ok(remove_obj(k, av, kind, ns, nm) && await_obj(k, kind, ns, nm, NULL, NULL, 0),
       "cluster: %s deleted leaves the cache", kind);
    free(nm);
}

static void cluster_changes(struct cl *k)
{
    const char *ns = k->ns;
    unsigned long events;

    cycle(k, GW_V1, "Gateway", parsef(GW_FMT, "gw-2", ns, k->gc),
          "{\"spec\":{\"listeners\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"HTTP\"}]}}",
          first_port, "8080");
    cycle(k, GW_V1, "HTTPRoute", parsef(ROUTE_FMT, "route-2", ns, "gw-pre"),
          "{\"spec\":{\"hostnames\":[\"modified.example.com\"]}}", first_hostname,
          "modified.example.com");
    ok(create(k, parsef(ROUTE_FMT, "route-3", ns, "gw-pre"), "HTTPRoute") &&
           await_obj(k, "HTTPRoute", ns, "route-3", NULL, NULL, 1) && children(k, "gw-pre") == 2,
       "cluster: an HTTPRoute created while watching enters the parent index");
    ok(remove_obj(k, GW_V1, "HTTPRoute", ns, "route-3") &&
           await_obj(k, "HTTPRoute", ns, "route-3", NULL, NULL, 0) && children(k, "gw-pre") == 1,
       "cluster: ... and leaves it when deleted");
    ok(create(k, parsef(SVC_FMT, "svc-2", ns), "Service") &&
           await_obj(k, "Service", ns, "svc-2", NULL, NULL, 1),
       "cluster: Service created while watching arrives");
    events = stats_of(k->wc, WCACHE_SERVICE).events;
    ok(patch(k, "v1", "Service", ns, "svc-2", "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}") &&
           await_events(k, WCACHE_SERVICE, events) &&
           await_obj(k, "Service", ns, "svc-2", NULL, NULL, 1),
       "cluster: Service modified: an event (nothing of it is cached but its existence)");
    ok(remove_obj(k, "v1", "Service", ns, "svc-2") &&
           await_obj(k, "Service", ns, "svc-2", NULL, NULL, 0),
       "cluster: Service deleted leaves the cache");
    ok(ns_phase(k, "two") && await_obj(k, "Namespace", "", ns, phase_label, "two", 1),
       "cluster: a Namespace label change arrives");
}

/* Watches last 2 s: changes made across their restarts must all arrive. */
static void cluster_restarts(struct cl *k)
{
    struct wcache_kind_stats before = stats_of(k->wc, WCACHE_HTTPROUTE), after;
    char json[128];
    int i, good = 1;

    for (i = 1; i <= 4; i++) {
        snprintf(json, sizeof(json), "{\"spec\":{\"hostnames\":[\"r%d.example.com\"]}}", i);
        good &= patch(k, GW_V1, "HTTPRoute", k->ns, "route-pre", json);
        sleep_ms(1200);
    }
    ok(good && await_obj(k, "HTTPRoute", k->ns, "route-pre", first_hostname, "r4.example.com", 1),
       "cluster: changes made across watch restarts arrive");
    after = stats_of(k->wc, WCACHE_HTTPROUTE);
    ok(after.restarts >= before.restarts + 2,
       "cluster: the HTTPRoute watch restarted as its streams ended (restarts %lu -> %lu)",
       before.restarts, after.restarts);
    ok(after.events >= before.events + 4, "cluster: the HTTPRoute events were counted (%lu -> %lu)",
       before.events, after.events);
    ok(logbook_has(&k->lb, "watch ended after"), "cluster: restarts are logged (debug)");
    logbook_show(&k->lb, "watch ended after");
}

static void cluster_stats(struct cl *k)
{
    struct totals t = totals(k->wc);
    struct wcache_kind_stats svc = stats_of(k->wc, WCACHE_SERVICE);
    struct wcache_kind_stats rt = stats_of(k->wc, WCACHE_HTTPROUTE);
    size_t n = wcache_count(k->wc, "Service");
    double t0 = now_s();

    printf("#   stats: %d served, %d not served, %d synced; events %lu, lists %lu, restarts %lu, "
           "relists_gone %lu, errors %lu\n",
           t.served, t.unserved, t.synced, t.events, t.lists, t.restarts, t.gone, t.errors);
    ok(t.served + t.unserved == WCACHE_NKINDS && t.synced == t.served,
       "cluster: every kind is found served or not; every served kind listed");
    ok(svc.served == 1 && rt.served == 1 && stats_of(k->wc, WCACHE_NAMESPACE).served == 1,
       "cluster: Service, HTTPRoute and Namespace are served");
    ok(svc.lists >= 1 && svc.events >= 3 && svc.last_event > 0 && svc.last_event <= time(NULL),
       "cluster: Service: lists %lu, events %lu, a last event time", svc.lists, svc.events);
    ok(rt.events >= 9, "cluster: HTTPRoute events %lu", rt.events);
    ok(svc.objects == n && n >= 1, "cluster: objects is the store's count (%zu)", n);
    ok(t.errors == 0, "cluster: no errors on a healthy cluster");
    while (totals(k->wc).connected == 0 && now_s() - t0 < 3)
        sleep_ms(10);
    ok(totals(k->wc).connected > 0, "cluster: watch streams are open (connected)");
    ok(logbook_count(&k->lb, WCACHE_LOG_INFO) >= t.served && logbook_has(&k->lb, "listed "),
       "cluster: lists are logged (info)");
    logbook_show(&k->lb, "listed ");
}

static int past(void *arg)
{
    return now_s() >= *(const double *)arg;
}

static int any_event(const char *type, const cJSON *obj, void *arg)
{
    (void)type;
    (void)obj;
    (*(int *)arg)++;
    return 0;
}

/* The client's cancel hook (kube_client_opts.cancel): a watch with nothing to
   say ends when the hook says so; a request of a cancelled client fails. */
static void cluster_watch_cancel(struct cl *k)
{
    struct kube_load_opts lo = {k->kc, NULL, NULL};
    double at = 1e18, took;
    struct kube_client_opts co = {.cancel = past, .cancel_arg = &at};
    struct kube_response r = {0};
    char *sel = xasprintf("metadata.name=%s", k->ns), *rv = NULL, err[KUBE_ERR_MAX];
    struct kube_watch_opts wo = {.field_selector = sel, .timeout_seconds = 60};
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    int rc = -1, events = 0;

    if (kube_config_load(&lo, &cfg, err, sizeof(err)) == 0)
        c = kube_client_new(cfg, &co, err, sizeof(err));
    if (c)
        rc = kube_list(c, "v1", "Namespace", NULL, NULL, &r);
    if (!ok(rc == 0, "cluster: a client with a cancel hook lists %s",
            c ? r.error ? r.error : "" : err))
        goto out;
    rv = xstrdup(jpath(r.body, "metadata", "resourceVersion"));
    wo.resource_version = rv;
    at = now_s() + 0.3;
    rc = kube_watch(c, "v1", "Namespace", NULL, &wo, any_event, &events, &r);
    took = now_s() - at + 0.3;
    ok(rc == KUBE_WATCH_STOPPED && r.failure == KUBE_FAIL_CANCELLED,
       "cluster: kube_watch ends with KUBE_WATCH_STOPPED when the cancel hook fires (%d: %s)", rc,
       r.error ? r.error : "");
    ok(took < 2.0 && events == 0, "cluster: ... %.0f ms after the start (hook true at 300 ms)",
       took * 1000);
    rc = kube_list(c, "v1", "Namespace", NULL, NULL, &r);
    ok(rc == -1 && r.failure == KUBE_FAIL_CANCELLED,
       "cluster: a request while the hook says stop fails: %s", r.error ? r.error : "");
    at = 1e18;
    ok(kube_get(c, "v1", "Namespace", NULL, k->ns, &r) == 0,
       "cluster: the client works again when the hook says go on");
out:
    kube_response_release(&r);
    kube_client_free(&c);
    free(rv);
    free(sel);
}

/* tools/cluster.sh CMD with CLUSTER_DIR=dir (posix_spawn: system() is
   banned; no setenv() either, the watchers read the environment). */
static int cluster_sh(const char *dir, const char *cmd)
{
    char *argv[] = {xstrdup("sh"), xstrdup("tools/cluster.sh"), xstrdup(cmd), NULL};
    char *cd = xasprintf("CLUSTER_DIR=%s", dir), **envp;
    size_t n = 0, i, j = 0;
    int status = -1;
    pid_t pid;

    while (environ[n])
        n++;
    envp = xcalloc(n + 2, sizeof(*envp));
    for (i = 0; i < n; i++)
        if (strncmp(environ[i], "CLUSTER_DIR=", 12) != 0)
            envp[j++] = environ[i];
    envp[j] = cd;
    fflush(stdout);
    if (posix_spawnp(&pid, "sh", NULL, NULL, argv, envp) == 0)
        waitpid(pid, &status, 0);
    for (i = 0; argv[i]; i++)
        free(argv[i]);
    free(envp);
    free(cd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The API server goes away and comes back under the watchers. */
static void cluster_apiserver_restart(struct cl *k)
{
    struct totals before = totals(k->wc), after;
    double t0 = now_s();
    int rc = cluster_sh(k->dir, "apiserver-restart"), patched = 0, arrived;

    ok(rc == 0, "cluster: tools/cluster.sh apiserver-restart (%.1f s)", now_s() - t0);
    t0 = now_s();
    while (!patched && now_s() - t0 < 30) { /* our own client reconnects too */
        patched = ns_phase(k, "after-restart");
        if (!patched)
            sleep_ms(500);
    }
    t0 = now_s();
    arrived = patched && await_obj(k, "Namespace", "", k->ns, phase_label, "after-restart", 1);
    ok(arrived, "cluster: a change made after the API server restart arrives (%.0f ms)",
       (now_s() - t0) * 1000);
    after = totals(k->wc);
    ok(after.errors + after.restarts + after.gone > before.errors + before.restarts + before.gone,
       "cluster: the restart was seen: errors %lu -> %lu, restarts %lu -> %lu, relists_gone %lu "
       "-> %lu",
       before.errors, after.errors, before.restarts, after.restarts, before.gone, after.gone);
    ok(wcache_synced(k->wc), "cluster: still synced after the restart");
    logbook_show(&k->lb, "watch failed");
}

/* The CRD as it can be created again: metadata.name, labels, annotations, spec. */
static cJSON *crd_for_create(cJSON *got)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(got, "metadata");
    cJSON *keep = cJSON_CreateObject();
    const char *fields[] = {"name", "labels", "annotations"};
    size_t i;

    for (i = 0; i < ARRAY_SIZE(fields); i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(md, fields[i]);

        if (v)
            cJSON_AddItemToObject(keep, fields[i], cJSON_Duplicate(v, 1));
    }
    cJSON_ReplaceItemInObjectCaseSensitive(got, "metadata", keep);
    cJSON_DeleteItemFromObjectCaseSensitive(got, "status");
    return got;
}

/* Poll the UDPRoute watcher until served is want (and, for 1, it listed again). */
static double await_served(struct cl *k, int want, unsigned long lists_before, double limit)
{
    double t0 = now_s();

    for (;;) {
        struct wcache_kind_stats st = stats_of(k->wc, WCACHE_UDPROUTE);

        if (st.served == want && (want == 0 || st.lists > lists_before))
            return now_s() - t0;
        if (now_s() - t0 > limit)
            return -1;
        sleep_ms(50);
    }
}

/* A CRD deleted: the kind goes unserved (and empty); put back: found again. */
static void cluster_crd(struct cl *k)
{
    const char *name = "udproutes.gateway.networking.k8s.io";
    struct wcache_kind_stats st = stats_of(k->wc, WCACHE_UDPROUTE);
    struct kube_response r = {0};
    cJSON *crd;
    double took, t0;
    int made = 0;

    if (st.served != 1 || kube_get(k->c, CRD_V1, "CustomResourceDefinition", NULL, name, &r)) {
        printf("ok %d # SKIP UDPRoute not served here\n", ++tap_n);
        kube_response_release(&r);
        return;
    }
    crd = crd_for_create(r.body);
    r.body = NULL;
    ok(remove_obj(k, CRD_V1, "CustomResourceDefinition", NULL, name), "cluster: delete the %s CRD",
       name);
    took = await_served(k, 0, 0, 60);
    ok(took >= 0, "cluster: UDPRoute found not served after its CRD went (%.1f s)", took);
    ok(wcache_synced(k->wc) && logbook_has(&k->lb, "no longer served"),
       "cluster: still synced; logged (info)");
    logbook_show(&k->lb, "no longer served");
    t0 = now_s();
    while (!made && now_s() - t0 < 60) { /* 409 while the old one is still terminating */
        made = kube_create(k->c, crd, NULL, &r) == 0;
        if (!made)
            sleep_ms(500);
    }
    ok(made, "cluster: create the CRD again %s", made ? "" : r.error);
    took = await_served(k, 1, stats_of(k->wc, WCACHE_UDPROUTE).lists, 30);
    ok(took >= 0, "cluster: UDPRoute served and listed again (%.1f s; looked for every 2 s)", took);
    cJSON_Delete(crd);
    kube_response_release(&r);
}

static void cluster_stop(struct cl *k)
{
    struct wcache_opts o = {.load = {k->kc, NULL, NULL}};
    char err[KUBE_ERR_MAX];
    double t0 = now_s(), took;

    while (totals(k->wc).connected < WCACHE_NKINDS / 2 && now_s() - t0 < 5)
        sleep_ms(10);
    printf("#   %d watch streams open at the stop\n", totals(k->wc).connected);
    took = timed_stop(k->wc);
    ok(took < STOP_LIMIT_S, "cluster: stop with the watches open took %.0f ms", took * 1000);
    printf("# report: test_wcache_watch: stop with watches open %.0f ms\n", took * 1000);
    ok(totals(k->wc).connected == 0, "cluster: after the stop, no stream is open");
    ok(wcache_count(k->wc, "Service") >= 1 && wcache_synced(k->wc),
       "cluster: after the stop the store stays readable and synced");
    wcache_stop(k->wc);
    ok(wcache_start(k->wc, &o, err, sizeof(err)) == -1, "cluster: no second start (%s)", err);
}

/* Without a namespace controller a deleted namespace stays Terminating:
   empty its finalizers through the finalize subresource (as test_kube). */
static void cluster_cleanup(struct cl *k)
{
    struct kube_write_opts fin = {.subresource = "finalize"};
    struct kube_response r = {0};
    const char *ns = k->ns;
    int good = 1;

    remove_obj(k, GW_V1, "HTTPRoute", ns, "route-2");
    remove_obj(k, GW_V1, "HTTPRoute", ns, "route-3");
    remove_obj(k, GW_V1, "Gateway", ns, "gw-2");
    remove_obj(k, "v1", "Service", ns, "svc-2");
    good &= remove_obj(k, GW_V1, "HTTPRoute", ns, "route-pre");
    good &= remove_obj(k, GW_V1, "Gateway", ns, "gw-pre");
    good &= remove_obj(k, "v1", "Service", ns, "svc-pre");
    good &= remove_obj(k, GW_V1, "GatewayClass", NULL, k->gc);
    good &= remove_obj(k, "v1", "Namespace", NULL, ns);
    if (kube_get(k->c, "v1", "Namespace", NULL, ns, &r) == 0) {
        cJSON *spec = cJSON_GetObjectItemCaseSensitive(r.body, "spec"), *obj;

        if (spec)
            cJSON_ReplaceItemInObjectCaseSensitive(spec, "finalizers", cJSON_CreateArray());
        obj = cJSON_Duplicate(r.body, 1);
        good &= kube_update(k->c, obj, &fin, &r) == 0;
        cJSON_Delete(obj);
    }
    ok(good, "cluster: clean-up of the test objects and namespace");
    kube_response_release(&r);
}

static void skip_cluster(const char *why)
{
    printf("ok %d # SKIP no cluster: %s\n", ++tap_n, why);
    printf("# report: test_wcache_watch: real API server tests SKIPPED (no cluster: %s)\n", why);
}

static void cluster_run(struct cl *k)
{
    if (!cluster_setup(k))
        return;
    if (cluster_start(k)) {
        cluster_listed(k);
        cluster_changes(k);
        cluster_restarts(k);
        cluster_stats(k);
        cluster_watch_cancel(k);
        if (k->dir) {
            cluster_apiserver_restart(k);
            cluster_crd(k);
        } else {
            printf("ok %d # SKIP API server restart and CRD removal: set GATECHECK_CLUSTER_DIR "
                   "to the directory of a cluster this test may disrupt\n",
                   ++tap_n);
        }
        cluster_stop(k);
        printf("#   slowest change to arrive: %.0f ms\n", k->worst_change * 1000);
    }
    wcache_free(&k->wc);
    cluster_cleanup(k);
}

static void cluster_tests(void)
{
    struct cl k = {0};
    struct kube_response r = {0};
    char err[KUBE_ERR_MAX] = "";
    const char *skip = getenv("SKIP_CLUSTER");

    k.kc = getenv("GATECHECK_KUBECONFIG");
    k.dir = getenv("GATECHECK_CLUSTER_DIR");
    if (k.dir && !*k.dir)
        k.dir = NULL;
    if ((skip && !strcmp(skip, "1")) || !k.kc || !*k.kc) {
        skip_cluster(skip && !strcmp(skip, "1") ? "SKIP_CLUSTER=1" : "set GATECHECK_KUBECONFIG");
        return;
    }
    k.c = client(k.kc, err, sizeof(err));
    if (k.c && kube_request(k.c, "GET", "/version", NULL, NULL, 0, &r) != 0)
        snprintf(err, sizeof(err), "%s", r.error);
    if (ok(k.c && r.status == 200, "cluster: %s answers %s", k.kc, err)) {
        logbook_init(&k.lb);
        cluster_run(&k);
        logbook_release(&k.lb);
    }
    kube_response_release(&r);
    kube_client_free(&k.c);
}

int main(void)
{
    char dir[] = "/tmp/gatecheck-wcw-XXXXXX";

    util_init_cjson();
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_not_started();
    test_refused(dir);
    test_black_hole(dir);
    rmdir(dir);
    cluster_tests();
    curl_global_cleanup();
    return done_testing();
}

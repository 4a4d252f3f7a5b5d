/*
 * The cross-object checks (xcheck.h). Table-driven first: every YAML file
 * under tests/data/xcheck/ (or the files named on the command line) is a
 * list of cases:
 *
 *   - name: "parent-listener: ..."
 *     checks: {parent-listener: deny}   # modes; checks not listed are off
 *     world: [...]                      # objects put in a fresh watch cache
 *     operation: CREATE                 # or UPDATE (with old:) or DELETE
 *     object: {...}
 *     old: {...}
 *     expect:
 *       errors: ["..."]                 # exact verr_format() lines, in order
 *       warnings: ["..."]               # the same for warnings; absent: none
 *       refs: ["Gateway infra/gw", ...] # optional: what xcheck_refs() lists
 *
 * Then unit tests of the configuration (xcheck_set, xcheck_load_file), of
 * xcheck_run()'s edges, of readers running side by side with a writer, and
 * of the cost of a review against a large cache.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../testdata.h"
#include "util.h"
#include "verr.h"
#include "wcache.h"
#include "xcheck.h"

static const char *str_of(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : def;
}

/* The case's "checks" mapping over an all-off configuration; -1 on a bad one. */
static int case_config(const cJSON *c, struct xcheck_config *cfg, char *err, size_t errlen)
{
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(c, "checks"), *m;
    size_t i;

    for (i = 0; i < XCHECK_N; i++)
        cfg->mode[i] = XCHECK_OFF;
    cJSON_ArrayForEach(m, checks) {
        const char *mode = cJSON_IsFalse(m) ? "off" : cJSON_IsString(m) ? m->valuestring : "?";
        char setting[256];

        snprintf(setting, sizeof(setting), "%s=%s", m->string, mode);
        if (xcheck_set(cfg, setting, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static struct wcache *case_world(const cJSON *c)
{
    const cJSON *world = cJSON_GetObjectItemCaseSensitive(c, "world"), *o;
    struct wcache *wc = wcache_new();

    cJSON_ArrayForEach(o, world) {
        wcache_put(wc, cJSON_Duplicate(o, 1));
    }
    return wc;
}

/* Compare the findings of one level with the exact lines of expect[key] (absent: none). */
static int check_lines(const cJSON *expect, const char *key, const struct verr_list *errs,
                       enum verr_level level)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, key),
                *w = want ? want->child : NULL;
    size_t i;
    int good = 1;

    for (i = 0; i < errs->len; i++) {
        char *got;

        if (errs->item[i].level != level)
            continue;
        got = verr_format(&errs->item[i]);
        if (!w || !cJSON_IsString(w) || strcmp(got, w->valuestring) != 0) {
            printf("#   %s got:  %s\n#   %s want: %s\n", key, got, key,
                   w && cJSON_IsString(w) ? w->valuestring : "(no more)");
            good = 0;
        }
        free(got);
        if (w)
            w = w->next;
    }
    for (; w; w = w->next) {
        printf("#   %s missing: %s\n", key, cJSON_IsString(w) ? w->valuestring : "?");
        good = 0;
    }
    return good;
}

/* Every finding names its check, at the level of the check's mode. */
static int check_tags(const struct xcheck_config *cfg, const struct verr_list *errs)
{
    size_t i, id;
    int good = 1;

    for (i = 0; i < errs->len; i++) {
        const struct verr *e = &errs->item[i];

        for (id = 0; id < XCHECK_N; id++) {
            if (e->rule && strcmp(e->rule, xcheck_name((enum xcheck_id)id)) == 0)
                break;
        }
        if (id == XCHECK_N || cfg->mode[id] == XCHECK_OFF ||
            (cfg->mode[id] == XCHECK_DENY) != (e->level == VERR_ERROR)) {
            printf("#   finding %s tagged %s at the wrong level\n", e->field,
                   e->rule ? e->rule : "(none)");
            good = 0;
        }
    }
    return good;
}

static void ref_collect(const char *kind, const char *ns, const char *name, void *arg)
{
    cJSON *list = arg;
    char *s;

    if (!name)
        s = xasprintf("%s %s", kind, ns);
    else if (!*ns)
        s = xasprintf("%s %s", kind, name);
    else
        s = xasprintf("%s %s/%s", kind, ns, name);
    cJSON_AddItemToArray(list, cJSON_CreateString(s));
    free(s);
}

/* expect.refs, when given: exactly what xcheck_refs() lists, in order. */
static int check_refs(const cJSON *expect, const cJSON *obj)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "refs");
    cJSON *got;
    int good;

    if (!want)
        return 1;
    got = cJSON_CreateArray();
    xcheck_refs(obj, ref_collect, got);
    good = cJSON_Compare(got, want, 1);
    if (!good) {
        char *g = cJSON_PrintUnformatted(got), *w = cJSON_PrintUnformatted(want);

        printf("#   refs got:  %s\n#   refs want: %s\n", g, w);
        free(g);
        free(w);
    }
    cJSON_Delete(got);
    return good;
}

static enum validate_op case_op(const cJSON *c)
{
    const char *op = str_of(c, "operation", "CREATE");

    if (strcmp(op, "UPDATE") == 0)
        return VALIDATE_UPDATE;
    return strcmp(op, "DELETE") == 0 ? VALIDATE_DELETE : VALIDATE_CREATE;
}

static void run_case(const cJSON *c, const char *file, int line)
{
    const char *name = str_of(c, "name", "(unnamed)");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(c, "object");
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(c, "old");
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
    struct verr_list errs = VERR_LIST_INIT;
    struct xcheck_config cfg;
    struct wcache *wc;
    char err[512];
    size_t n;
    int good;

    if (case_config(c, &cfg, err, sizeof(err)) != 0) {
        ok(0, "%s:%d: %s: checks: %s", file, line, name, err);
        return;
    }
    if (!cJSON_IsObject(obj) || !cJSON_IsObject(expect)) {
        ok(0, "%s:%d: %s: object and expect are required", file, line, name);
        return;
    }
    wc = case_world(c);
    n = xcheck_run(&cfg, wc, obj, old, case_op(c), &errs);
    good = check_lines(expect, "errors", &errs, VERR_ERROR);
    good &= check_lines(expect, "warnings", &errs, VERR_WARNING);
    good &= check_tags(&cfg, &errs);
    good &= check_refs(expect, obj);
    if (n != errs.len) {
        printf("#   xcheck_run returned %zu for %zu findings\n", n, errs.len);
        good = 0;
    }
    ok(good, "%s:%d: %s", file, line, name);
    verr_list_release(&errs);
    wcache_free(&wc);
}

/* ---- configuration ------------------------------------------------------ */

static void modes_str(const struct xcheck_config *cfg, char *buf, size_t len)
{
    size_t i, at = 0;

    buf[0] = 0;
    for (i = 0; i < XCHECK_N && at < len; i++) {
        int n = snprintf(buf + at, len - at, "%s%s", i ? " " : "", xcheck_mode_name(cfg->mode[i]));

        at += n > 0 ? (size_t)n : 0;
    }
}

static void test_names(void)
{
    struct xcheck_config cfg;
    char buf[256];

    xcheck_defaults(&cfg);
    modes_str(&cfg, buf, sizeof(buf));
    is_str(buf, "warn warn warn warn warn warn", "xcheck_defaults: every check warns");
    ok(xcheck_any(&cfg), "xcheck_any: defaults need the cache");
    memset(&cfg, 0, sizeof(cfg));
    ok(!xcheck_any(&cfg), "xcheck_any: all off needs no cache");
    is_str(xcheck_name(XCHECK_PARENT_LISTENER), "parent-listener", "xcheck_name first");
    is_str(xcheck_name(XCHECK_GATEWAY_DETACH), "gateway-detach", "xcheck_name last");
    ok(xcheck_name(XCHECK_N) == NULL, "xcheck_name out of range is NULL");
    is_str(xcheck_mode_name(XCHECK_DENY), "deny", "xcheck_mode_name deny");
    ok(xcheck_mode_name((enum xcheck_mode)7) == NULL, "xcheck_mode_name out of range is NULL");
}

struct set_case {
    const char *setting;
    int rc;
    const char *want; /* the modes after it, or the error message */
};

static const struct set_case set_cases[] = {
    {"parent-listener=deny", 0, "deny warn warn warn warn warn"},
    {"route-conflict=off", 0, "warn warn warn warn off warn"},
    {"backend-exists=warn", 0, "warn warn warn warn warn warn"},
    {"all=off", 0, "off off off off off off"},
    {"all=deny", 0, "deny deny warn warn deny warn"},
    {"foo=deny", -1,
     "unknown check \"foo\" (choose parent-listener, reference-grant, backend-exists, "
     "parent-exists, route-conflict, gateway-detach or all)"},
    {"=deny", -1,
     "unknown check \"\" (choose parent-listener, reference-grant, backend-exists, "
     "parent-exists, route-conflict, gateway-detach or all)"},
    {"parent-listener=maybe", -1,
     "unknown mode \"maybe\" for check parent-listener (choose off, warn or deny)"},
    {"parent-listener=", -1,
     "unknown mode \"\" for check parent-listener (choose off, warn or deny)"},
    {"parent-listener", -1,
     "bad check setting \"parent-listener\" (want NAME=MODE, e.g. parent-listener=deny)"},
    {"backend-exists=deny", -1,
     "check backend-exists cannot deny (it is advice: the Service may be created later); use "
     "warn or off"},
    {"parent-exists=deny", -1,
     "check parent-exists cannot deny (it is advice: the parent may be created later); use warn "
     "or off"},
    {"gateway-detach=deny", -1,
     "check gateway-detach cannot deny (it is advice: detaching routes may be the point of the "
     "change); use warn or off"},
    {"Parent-Listener=deny", -1,
     "unknown check \"Parent-Listener\" (choose parent-listener, reference-grant, "
     "backend-exists, parent-exists, route-conflict, gateway-detach or all)"},
};

static void test_set(void)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(set_cases); i++) {
        const struct set_case *t = &set_cases[i];
        struct xcheck_config cfg;
        char err[512] = "", modes[256], name[300];
        int rc;

        xcheck_defaults(&cfg);
        rc = xcheck_set(&cfg, t->setting, err, sizeof(err));
        modes_str(&cfg, modes, sizeof(modes));
        snprintf(name, sizeof(name), "xcheck_set \"%s\"", t->setting);
        if (rc != t->rc) {
            ok(0, "%s: returns %d", name, rc);
            continue;
        }
        is_str(rc == 0 ? modes : err, t->want, name);
        if (rc != 0)
            is_str(modes, "warn warn warn warn warn warn", "  ... and leaves the config alone");
    }
}

struct load_case {
    const char *text;
    int rc;
    const char *want; /* modes, or the message after "PATH" */
};

static const struct load_case load_cases[] = {
    {"checks:\n  parent-listener: deny\n  route-conflict: off\n", 0,
     "deny warn warn warn off warn"},
    {"checks:\n  all: off\n  reference-grant: deny\n", 0, "off deny off off off off"},
    {"{\"checks\": {\"backend-exists\": \"off\", \"gateway-detach\": \"warn\"}}\n", 0,
     "warn warn off warn warn warn"},
    {"", 0, "warn warn warn warn warn warn"},
    {"checks: {}\n", 0, "warn warn warn warn warn warn"},
    {"# comment\nchecks:\n  parent-listener: deny\n  foo: warn\n", -1,
     ":3: unknown check \"foo\" (choose parent-listener, reference-grant, backend-exists, "
     "parent-exists, route-conflict, gateway-detach or all)"},
    {"checks:\n  parent-listener: deny\n  backend-exists: deny\n", -1,
     ":2: check backend-exists cannot deny (it is advice: the Service may be created later); "
     "use warn or off"},
    {"checks:\n  route-conflict: maybe\n", -1,
     ":2: unknown mode \"maybe\" for check route-conflict (choose off, warn or deny)"},
    {"checks:\n  route-conflict: on\n", -1,
     ":2: check route-conflict: mode must be off, warn or deny"},
    {"checks:\n  route-conflict: 1\n", -1,
     ":2: check route-conflict: mode must be off, warn or deny"},
    {"chekcs:\n  route-conflict: off\n", -1, ":1: unknown key \"chekcs\" (want checks)"},
    {"checks: deny\n", -1, ":1: checks must map check names to off, warn or deny"},
    {"- checks\n", -1, ":1: want a mapping with the key \"checks\""},
    {"checks:\n  parent-listener: deny\n---\nchecks: {}\n", -1, ":4: want one document, not 2"},
    {"checks: [\n", -1, ": line 2, column 1: did not find expected node content"},
};

static char *write_temp(const char *text)
{
    char tmpl[] = "/tmp/test_xcheck_XXXXXX";
    int fd = mkstemp(tmpl);
    size_t len = strlen(text);

    if (fd < 0)
        return NULL;
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        unlink(tmpl);
        return NULL;
    }
    close(fd);
    return xstrdup(tmpl);
}

static void test_load_file(void)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(load_cases); i++) {
        const struct load_case *t = &load_cases[i];
        char *path = write_temp(t->text), *want;
        struct xcheck_config cfg;
        char err[512] = "", modes[256], name[64];
        int rc;

        if (!path) {
            ok(0, "xcheck_load_file case %zu: cannot write a temp file", i);
            continue;
        }
        xcheck_defaults(&cfg);
        rc = xcheck_load_file(&cfg, path, err, sizeof(err));
        modes_str(&cfg, modes, sizeof(modes));
        want = rc == 0 ? xstrdup(t->want) : xasprintf("%s%s", path, t->want);
        snprintf(name, sizeof(name), "xcheck_load_file case %zu", i);
        if (rc != t->rc)
            ok(0, "%s: returns %d (%s)", name, rc, err);
        else
            is_str(rc == 0 ? modes : err, want, name);
        if (rc != 0)
            is_str(modes, "warn warn warn warn warn warn", "  ... and leaves the config alone");
        free(want);
        unlink(path);
        free(path);
    }
}

static void test_load_missing(void)
{
    struct xcheck_config cfg;
    char err[512] = "";

    xcheck_defaults(&cfg);
    ok(xcheck_load_file(&cfg, "/tmp/test_xcheck.does-not-exist", err, sizeof(err)) == -1,
       "xcheck_load_file: a missing file fails");
    is_str(err, "cannot read /tmp/test_xcheck.does-not-exist: No such file or directory",
           "xcheck_load_file: ... saying why");
}

/* ---- xcheck_run edges ---------------------------------------------------- */

static cJSON *parse(const char *json)
{
    cJSON *v = cJSON_Parse(json);

    if (!v) {
        fprintf(stderr, "bad JSON in test: %s\n", json);
        abort();
    }
    return v;
}

static const char *const route_json =
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
    "\"metadata\":{\"name\":\"r\",\"namespace\":\"default\"},"
    "\"spec\":{\"parentRefs\":[{\"name\":\"gw\",\"namespace\":\"infra\"}]}}";

static void test_run_edges(void)
{
    struct xcheck_config cfg;
    struct verr_list errs = VERR_LIST_INIT;
    struct wcache *wc = wcache_new();
    cJSON *route = parse(route_json);
    cJSON *svc = parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\","
                       "\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"}}");

    xcheck_defaults(&cfg);
    ok(xcheck_run(&cfg, NULL, route, NULL, VALIDATE_CREATE, &errs) == 0 && errs.len == 0,
       "xcheck_run: no cache, no findings");
    ok(xcheck_run(&cfg, wc, route, NULL, VALIDATE_DELETE, &errs) == 0 && errs.len == 0,
       "xcheck_run: DELETE is not judged");
    ok(xcheck_run(&cfg, wc, svc, NULL, VALIDATE_CREATE, &errs) == 0 && errs.len == 0,
       "xcheck_run: kinds no check concerns are skipped");
    ok(xcheck_run(&cfg, wc, NULL, NULL, VALIDATE_CREATE, &errs) == 0,
       "xcheck_run: a NULL object is skipped");
    ok(xcheck_run(&cfg, wc, route, NULL, VALIDATE_CREATE, &errs) == 1 && errs.len == 1,
       "xcheck_run: the missing parent is one finding");
    verr_list_release(&errs);
    cJSON_Delete(route);
    cJSON_Delete(svc);
    wcache_free(&wc);
}

/* ---- readers side by side with a writer ---------------------------------- */

struct reader {
    const struct wcache *wc;
    const cJSON *route;
    int bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct xcheck_config cfg;
    int i;

    xcheck_defaults(&cfg);
    cfg.mode[XCHECK_PARENT_LISTENER] = XCHECK_DENY;
    for (i = 0; i < 300; i++) {
        struct verr_list errs = VERR_LIST_INIT;
        size_t n = xcheck_run(&cfg, r->wc, r->route, NULL, VALIDATE_CREATE, &errs);

        /* the Gateway admits only its own namespace: always one finding */
        if (n != 1 || verr_count(&errs, VERR_ERROR) != 1)
            r->bad++;
        verr_list_release(&errs);
    }
    return NULL;
}

static void test_threads(void)
{
    struct wcache *wc = wcache_new();
    cJSON *route = parse(route_json);
    pthread_t t[4];
    struct reader rd[4];
    int i, bad = 0;

    wcache_put(wc, parse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                         "\"metadata\":{\"name\":\"gw\",\"namespace\":\"infra\"},"
                         "\"spec\":{\"listeners\":[{\"name\":\"http\",\"port\":80,"
                         "\"protocol\":\"HTTP\"}]}}"));
    for (i = 0; i < 4; i++) {
        rd[i] = (struct reader){wc, route, 0};
        pthread_create(&t[i], NULL, reader_main, &rd[i]);
    }
    for (i = 0; i < 300; i++) { /* a watcher's updates meanwhile */
        char *svc = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Service\","
                              "\"metadata\":{\"name\":\"s%d\",\"namespace\":\"default\"}}",
                              i % 20);

        wcache_put(wc, parse(svc));
        free(svc);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        bad += rd[i].bad;
    }
    ok(bad == 0, "xcheck_run: 4 readers and a writer side by side agree (%d bad)", bad);
    cJSON_Delete(route);
    wcache_free(&wc);
}

/* ---- cost against a large cache ------------------------------------------ */

static void put_json(struct wcache *wc, char *json)
{
    wcache_put(wc, parse(json));
    free(json);
}

/* 1,000 Gateways in 100 namespaces, 10,000 HTTPRoutes, their Services and Namespaces. */
static struct wcache *big_world(void)
{
    struct wcache *wc = wcache_new();
    int i;

    for (i = 0; i < 100; i++) {
        put_json(wc, xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
                               "{\"name\":\"ns%d\",\"labels\":{\"team\":\"t%d\"}}}",
                               i, i));
        put_json(wc, xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":"
                               "{\"name\":\"svc\",\"namespace\":\"ns%d\"}}",
                               i));
    }
    for (i = 0; i < 1000; i++)
        put_json(wc, xasprintf("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
                               "\"Gateway\",\"metadata\":{\"name\":\"gw%d\",\"namespace\":"
                               "\"ns%d\"},\"spec\":{\"listeners\":[{\"name\":\"http\",\"port\":80,"
                               "\"protocol\":\"HTTP\",\"allowedRoutes\":{\"namespaces\":{\"from\":"
                               "\"All\"}}},{\"name\":\"https\",\"port\":443,\"protocol\":"
                               "\"HTTPS\",\"hostname\":\"*.example.com\"}]}}",
                               i, i % 100));
    for (i = 0; i < 10000; i++)
        put_json(wc, xasprintf("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
                               "\"HTTPRoute\",\"metadata\":{\"name\":\"r%d\",\"namespace\":"
                               "\"ns%d\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\"},"
                               "\"spec\":{\"parentRefs\":[{\"name\":\"gw%d\"}],\"hostnames\":"
                               "[\"a.example.com\"],\"rules\":[{\"matches\":[{\"path\":{\"type\":"
                               "\"PathPrefix\",\"value\":\"/r\"}}],\"backendRefs\":[{\"name\":"
                               "\"svc\",\"port\":80}]}]}}",
                               i, i % 100, i % 1000));
    return wc;
}

static void test_cost(void)
{
    struct wcache *wc = big_world();
    cJSON *route = parse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                         "\"metadata\":{\"name\":\"new\",\"namespace\":\"ns7\"},\"spec\":{"
                         "\"parentRefs\":[{\"name\":\"gw7\"}],\"hostnames\":[\"b.example.com\"],"
                         "\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
                         "\"/new\"}}],\"backendRefs\":[{\"name\":\"svc\",\"port\":80},{\"name\":"
                         "\"svc\",\"namespace\":\"ns8\",\"port\":80}]}]}}");
    struct xcheck_config cfg;
    const int rounds = 2000;
    size_t found = 0;
    int i;

    xcheck_defaults(&cfg);
    for (i = 0; i < rounds; i++) {
        struct verr_list errs = VERR_LIST_INIT;

        found += xcheck_run(&cfg, wc, route, NULL, VALIDATE_CREATE, &errs);
        verr_list_release(&errs);
    }
    /* what it costs is measured by `make bench` (build/bench_xcheck), not here */
    ok(found == (size_t)rounds, "scale: one finding per review (the ungranted backendRef)");
    cJSON_Delete(route);
    wcache_free(&wc);
}

/* One Gateway with 1,000 HTTPRoutes on one hostname: route-conflict walks them all. */
static void test_cost_hot(void)
{
    struct wcache *wc = wcache_new();
    cJSON *route = parse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                         "\"metadata\":{\"name\":\"new\",\"namespace\":\"apps\"},\"spec\":{"
                         "\"parentRefs\":[{\"name\":\"gw\",\"namespace\":\"infra\"}],\"hostnames\":"
                         "[\"a.example.com\"],\"rules\":[{\"matches\":[{\"path\":{\"value\":"
                         "\"/r7\"},\"method\":\"POST\"}]}]}}");
    struct xcheck_config cfg;
    const int rounds = 50;
    size_t hot_found = 0;
    int i;

    put_json(wc, xstrdup("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                         "\"metadata\":{\"name\":\"gw\",\"namespace\":\"infra\"},\"spec\":{"
                         "\"listeners\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"HTTP\","
                         "\"allowedRoutes\":{\"namespaces\":{\"from\":\"All\"}}}]}}"));
    for (i = 0; i < 1000; i++)
        put_json(wc,
                 xasprintf("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
                           "\"HTTPRoute\",\"metadata\":{\"name\":\"r%d\",\"namespace\":"
                           "\"apps\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw\",\"namespace\":"
                           "\"infra\"}],\"hostnames\":[\"a.example.com\"],\"rules\":[{\"matches\":"
                           "[{\"path\":{\"value\":\"/r%d\"}}]}]}}",
                           i, i));
    xcheck_defaults(&cfg);
    for (i = 0; i < rounds; i++) {
        struct verr_list errs = VERR_LIST_INIT;

        hot_found += xcheck_run(&cfg, wc, route, NULL, VALIDATE_CREATE, &errs);
        verr_list_release(&errs);
    }
    /* what it costs is measured by `make bench` (build/bench_xcheck), not here */
    ok(hot_found == 0, "scale: no duplicate among 1,000 routes of one hostname with other matches");
    cJSON_Delete(route);
    wcache_free(&wc);
}

int main(int argc, char **argv)
{
    testdata_run(argc, argv, "tests/data/xcheck", run_case);
    if (argc > 1)
        return done_testing();
    test_names();
    test_set();
    test_load_file();
    test_load_missing();
    test_run_edges();
    test_threads();
    test_cost();
    test_cost_hot();
    return done_testing();
}

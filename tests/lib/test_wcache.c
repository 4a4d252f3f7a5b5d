/*
 * The watch cache's store (include/wcache.h, issue 8): keys, replacement,
 * the namespace walk, the parent index as routes come, change parents and
 * go, re-lists, trimming, the byte count, and readers beside a writer.
 * The watchers are tested against a real API server in tests/cluster.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "util.h"
#include "wcache.h"

static cJSON *obj(const char *json)
{
    cJSON *o = cJSON_Parse(json);

    if (!o) {
        fprintf(stderr, "bad test JSON: %s\n", json);
        abort();
    }
    return o;
}

static cJSON *route(const char *ns, const char *name, const char *parents_json)
{
    char *s = xasprintf("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                        "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},"
                        "\"spec\":{\"parentRefs\":%s}}",
                        name, ns, parents_json);
    cJSON *o = obj(s);

    free(s);
    return o;
}

static int count_fn(const cJSON *o, void *arg)
{
    (void)o;
    (*(int *)arg)++;
    return 0;
}

static int children(const struct wcache *wc, const char *kind, const char *ns, const char *name)
{
    int n = 0;

    wcache_read_begin(wc);
    wcache_each_child(wc, kind, ns, name, count_fn, &n);
    wcache_read_end(wc);
    return n;
}

static int in_ns(const struct wcache *wc, const char *kind, const char *ns)
{
    int n = 0;

    wcache_read_begin(wc);
    wcache_each(wc, kind, ns, count_fn, &n);
    wcache_read_end(wc);
    return n;
}

static void test_keys(void)
{
    struct wcache *wc = wcache_new();
    const cJSON *g;

    ok(wcache_put(wc, obj("{\"kind\":\"Gateway\",\"metadata\":{\"name\":\"gw\",\"namespace\":"
                          "\"infra\"},\"spec\":{\"allowedListeners\":1}}")) == 0,
       "put a Gateway");
    ok(wcache_put(wc, obj("{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"infra\"}}")) == 0,
       "put a cluster-scoped Namespace");
    ok(wcache_put(wc, obj("{\"kind\":\"Gateway\",\"metadata\":{}}")) == -1,
       "an object without a name is refused");
    ok(wcache_put(wc, obj("{\"metadata\":{\"name\":\"x\"}}")) == -1,
       "an object without a kind is refused");
    wcache_read_begin(wc);
    g = wcache_get(wc, "Gateway", "infra", "gw");
    ok(g && cJSON_GetObjectItem(cJSON_GetObjectItem(g, "spec"), "allowedListeners")->valueint == 1,
       "get by kind/ns/name");
    ok(wcache_get(wc, "Gateway", "other", "gw") == NULL, "another namespace misses");
    ok(wcache_get(wc, "HTTPRoute", "infra", "gw") == NULL, "another kind misses");
    ok(wcache_get(wc, "Namespace", "", "infra") != NULL, "a cluster-scoped object under ns \"\"");
    ok(wcache_get(wc, "Namespace", NULL, "infra") != NULL, "ns NULL is \"\"");
    wcache_read_end(wc);
    wcache_put(wc, obj("{\"kind\":\"Gateway\",\"metadata\":{\"name\":\"gw\",\"namespace\":"
                       "\"infra\"},\"spec\":{\"allowedListeners\":2}}"));
    wcache_read_begin(wc);
    g = wcache_get(wc, "Gateway", "infra", "gw");
    ok(g && cJSON_GetObjectItem(cJSON_GetObjectItem(g, "spec"), "allowedListeners")->valueint == 2,
       "a second put replaces");
    wcache_read_end(wc);
    ok(wcache_count(wc, "Gateway") == 1 && wcache_count(wc, NULL) == 2,
       "counts: 1 Gateway, 2 in all");
    ok(wcache_remove(wc, "Gateway", "infra", "gw") == 0, "remove");
    ok(wcache_remove(wc, "Gateway", "infra", "gw") == -1, "remove again: not there");
    ok(wcache_count(wc, "Gateway") == 0, "count after remove");
    wcache_free(&wc);
    ok(wc == NULL, "wcache_free clears the pointer");
    wcache_free(&wc);
}

static void test_parent_index(void)
{
    struct wcache *wc = wcache_new();

    wcache_put(wc, route("app", "r1", "[{\"name\":\"gw\",\"namespace\":\"infra\"}]"));
    wcache_put(wc, route("app", "r2",
                         "[{\"name\":\"gw\",\"namespace\":\"infra\",\"sectionName\":\"a\"},"
                         "{\"name\":\"gw\",\"namespace\":\"infra\",\"sectionName\":\"b\"}]"));
    wcache_put(wc, route("infra", "r3", "[{\"name\":\"gw\"}]"));
    wcache_put(wc, route("app", "r4",
                         "[{\"name\":\"ls\",\"kind\":\"ListenerSet\","
                         "\"group\":\"gateway.networking.k8s.io\"}]"));
    wcache_put(wc, route("app", "r5", "[{\"name\":\"svc\",\"kind\":\"Service\",\"group\":\"\"}]"));
    ok(children(wc, "Gateway", "infra", "gw") == 3,
       "three routes name Gateway infra/gw (one twice, one by default namespace)");
    ok(children(wc, "ListenerSet", "app", "ls") == 1, "a ListenerSet parent is indexed");
    ok(children(wc, "Service", "app", "svc") == 0, "a core-group parent is not indexed");
    wcache_put(wc, route("app", "r1", "[{\"name\":\"other\",\"namespace\":\"infra\"}]"));
    ok(children(wc, "Gateway", "infra", "gw") == 2 &&
           children(wc, "Gateway", "infra", "other") == 1,
       "a route that changes parent moves in the index");
    wcache_remove(wc, "HTTPRoute", "app", "r2");
    ok(children(wc, "Gateway", "infra", "gw") == 1, "a removed route leaves the index");
    ok(in_ns(wc, "HTTPRoute", "app") == 3 && in_ns(wc, "HTTPRoute", "infra") == 1 &&
           in_ns(wc, "HTTPRoute", NULL) == 4,
       "the namespace walk: 3 in app, 1 in infra, 4 in all");
    wcache_free(&wc);
}

static void test_replace_and_trim(void)
{
    struct wcache *wc = wcache_new();
    const cJSON *g, *md;
    size_t before, after;

    wcache_put(wc, obj("{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"}}"));
    wcache_put(wc, obj("{\"kind\":\"Service\",\"metadata\":{\"name\":\"b\",\"namespace\":\"n\"}}"));
    wcache_put(wc, obj("{\"kind\":\"Gateway\",\"metadata\":{\"name\":\"b\",\"namespace\":\"n\"}}"));
    wcache_replace_kind(
        wc, "Service",
        obj("{\"kind\":\"ServiceList\",\"items\":[{\"metadata\":{\"name\":\"b\",\"namespace\":"
            "\"n\","
            "\"managedFields\":[{\"manager\":\"x\"}],\"annotations\":{\"kubectl.kubernetes.io/"
            "last-applied-configuration\":\"{}\"}},\"status\":{\"x\":1}},"
            "{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"}}]}"));
    wcache_read_begin(wc);
    ok(!wcache_get(wc, "Service", "n", "a") && wcache_get(wc, "Service", "n", "b") &&
           wcache_get(wc, "Service", "n", "c"),
       "a re-list removes what is gone and adds what is new");
    ok(wcache_get(wc, "Gateway", "n", "b") != NULL, "a re-list leaves other kinds alone");
    g = wcache_get(wc, "Service", "n", "b");
    md = cJSON_GetObjectItem(g, "metadata");
    ok(g && !cJSON_GetObjectItem(g, "status") && !cJSON_GetObjectItem(md, "managedFields") &&
           !cJSON_GetObjectItem(md, "annotations"),
       "trimmed: status, managedFields and the last-applied annotation dropped");
    ok(g && cJSON_IsString(cJSON_GetObjectItem(g, "kind")), "a List item gets its kind");
    wcache_read_end(wc);
    before = wcache_bytes(wc);
    wcache_remove(wc, "Service", "n", "c");
    after = wcache_bytes(wc);
    ok(before > after && after > 0, "the byte count follows removals (%zu -> %zu)", before, after);
    wcache_replace_kind(wc, "Service", obj("{\"items\":[]}"));
    ok(wcache_count(wc, "Service") == 0, "an empty re-list empties the kind");
    wcache_free(&wc);
}

static const cJSON *at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static void test_trim_by_kind(void)
{
    cJSON *svc = obj("{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\",\"uid\":\"u\","
                     "\"labels\":{\"a\":\"b\"}},\"spec\":{\"ports\":[]},\"status\":{}}");
    cJSON *ns = obj("{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"n\",\"labels\":{\"team\":"
                    "\"a\"},\"annotations\":{\"x\":\"y\"}},\"spec\":{\"finalizers\":[]}}");
    cJSON *rt = obj("{\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"r\",\"creationTimestamp\":"
                    "\"t\",\"generation\":3},\"spec\":{\"parentRefs\":[],\"hostnames\":[\"h\"],"
                    "\"rules\":[{\"matches\":[{}],\"filters\":[],\"backendRefs\":[]}]}}");
    cJSON *gw = obj("{\"kind\":\"Gateway\",\"metadata\":{\"name\":\"g\"},\"spec\":{"
                    "\"gatewayClassName\":\"c\",\"addresses\":[],\"listeners\":[{\"name\":\"l\","
                    "\"port\":443,\"protocol\":\"HTTPS\",\"tls\":{},\"allowedRoutes\":{}}]}}");

    wcache_trim(svc);
    wcache_trim(ns);
    wcache_trim(rt);
    wcache_trim(gw);
    ok(!at(svc, "spec", NULL) && !at(svc, "status", NULL) && !at(svc, "metadata", "uid") &&
           !at(svc, "metadata", "labels") && at(svc, "metadata", "name"),
       "a Service keeps its name only (existence is all backend-exists reads)");
    ok(at(ns, "metadata", "labels") && !at(ns, "metadata", "annotations") && !at(ns, "spec", NULL),
       "a Namespace keeps its labels (allowedRoutes selectors)");
    ok(at(rt, "spec", "hostnames") && at(rt, "spec", "parentRefs") &&
           at(rt, "metadata", "creationTimestamp") && !at(rt, "metadata", "generation") &&
           cJSON_GetArraySize(at(rt, "spec", "rules")) == 1,
       "a route keeps parentRefs, hostnames, rules and its creation time");
    ok(at(cJSON_GetArrayItem(at(rt, "spec", "rules"), 0), "matches", NULL) &&
           !at(cJSON_GetArrayItem(at(rt, "spec", "rules"), 0), "filters", NULL) &&
           !at(cJSON_GetArrayItem(at(rt, "spec", "rules"), 0), "backendRefs", NULL),
       "a route's rules keep their matches only");
    ok(!at(gw, "spec", "gatewayClassName") && !at(gw, "spec", "addresses") &&
           !at(cJSON_GetArrayItem(at(gw, "spec", "listeners"), 0), "tls", NULL) &&
           at(cJSON_GetArrayItem(at(gw, "spec", "listeners"), 0), "allowedRoutes", NULL),
       "a Gateway keeps its listeners' name, port, protocol, hostname, allowedRoutes");
    cJSON_Delete(svc);
    cJSON_Delete(ns);
    cJSON_Delete(rt);
    cJSON_Delete(gw);
}

static cJSON *hosted(const char *name, const char *hostnames_json)
{
    char *s = xasprintf("{\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"%s\",\"namespace\":"
                        "\"app\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],\"hostnames\":%s}}",
                        name, hostnames_json);
    cJSON *o = obj(s);

    free(s);
    return o;
}

static int visited(const struct wcache *wc, const char *hostnames_json)
{
    cJSON *h = obj(hostnames_json);
    int n = 0;

    wcache_read_begin(wc);
    wcache_each_child_host(wc, "Gateway", "app", "gw", wcache_host_filter(h), count_fn, &n);
    wcache_read_end(wc);
    cJSON_Delete(h);
    return n;
}

static void test_host_filter(void)
{
    struct wcache *wc = wcache_new();
    cJSON *none = obj("[]"), *wild = obj("[\"a.example\",\"*.example\"]");

    ok(wcache_host_filter(none) == WCACHE_ANY_HOST && wcache_host_filter(NULL) == WCACHE_ANY_HOST,
       "no hostnames: the filter lets every route through");
    ok(wcache_host_filter(wild) == WCACHE_ANY_HOST, "a wildcard among them: every route too");
    cJSON_Delete(none);
    cJSON_Delete(wild);
    wcache_put(wc, hosted("a", "[\"a.example\"]"));
    wcache_put(wc, hosted("b", "[\"b.example\",\"c.example\"]"));
    wcache_put(wc, hosted("any", "[]"));
    wcache_put(wc, hosted("wild", "[\"*.example\"]"));
    ok(visited(wc, "[\"a.example\"]") >= 3 && visited(wc, "[\"a.example\"]") <= 4,
       "a.example: a, the route without hostnames and the wildcard one (b only by a collision)");
    ok(visited(wc, "[\"c.example\"]") >= 3, "c.example: b (its second hostname) and the open ones");
    ok(visited(wc, "[]") == 4, "a caller without hostnames sees every route");
    ok(visited(wc, "[\"*.example\"]") == 4, "a wildcard caller sees every route");
    wcache_free(&wc);
}

/* ---- readers beside a writer (run under ASan/TSan-friendly locking) ---- */

struct race {
    struct wcache *wc;
    int rounds;
    int misses;
};

static void *writer(void *arg)
{
    struct race *r = arg;
    int i;

    for (i = 0; i < r->rounds; i++) {
        char *name = xasprintf("r%d", i % 50);

        wcache_put(r->wc, route("app", name, "[{\"name\":\"gw\"}]"));
        if (i % 3 == 0)
            wcache_remove(r->wc, "HTTPRoute", "app", name);
        free(name);
    }
    return NULL;
}

static void *reader(void *arg)
{
    struct race *r = arg;
    int i;

    for (i = 0; i < r->rounds; i++) {
        int n = 0;

        wcache_read_begin(r->wc);
        wcache_each_child(r->wc, "Gateway", "app", "gw", count_fn, &n);
        if (!wcache_get(r->wc, "Gateway", "app", "gw"))
            r->misses++;
        wcache_read_end(r->wc);
        if (n > 50)
            r->misses++;
    }
    return NULL;
}

static void test_concurrency(void)
{
    struct race r = {wcache_new(), 2000, 0};
    pthread_t w, rd[2];
    int i;

    wcache_put(r.wc, obj("{\"kind\":\"Gateway\",\"metadata\":{\"name\":\"gw\",\"namespace\":"
                         "\"app\"}}"));
    pthread_create(&w, NULL, writer, &r);
    for (i = 0; i < 2; i++)
        pthread_create(&rd[i], NULL, reader, &r);
    pthread_join(w, NULL);
    for (i = 0; i < 2; i++)
        pthread_join(rd[i], NULL);
    ok(r.misses == 0, "readers beside a writer always see a whole store");
    ok(children(r.wc, "Gateway", "app", "gw") == (int)wcache_count(r.wc, "HTTPRoute"),
       "the parent index agrees with the table after the race");
    wcache_free(&r.wc);
}

int main(void)
{
    util_init_cjson();
    test_keys();
    test_parent_index();
    test_replace_and_trim();
    test_trim_by_kind();
    test_host_filter();
    test_concurrency();
    return done_testing();
}

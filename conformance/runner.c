/*
 * gwconform's runner: upstream's suite semantics (spec conformance.md §1.3
 * feature resolution, §1.4 setup, §1.5 selection, §1.6 applying, §1.7
 * waits, §1.9 requests) over lib/kube and conformance/roundtrip.c.
 *
 * Output: one progress line per scenario and per case on stdout, with the
 * elapsed time; errors that end the run are returned to main.c.
 */
#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "certs.h"
#include "kube.h"
#include "report.h"
#include "roundtrip.h"
#include "scenario.h"
#include "util.h"

volatile sig_atomic_t conf_interrupted;

#define FIELD_MANAGER "gwconform"
#define GROUP         "gateway.networking.k8s.io"
#define SUITE_VERSION "v1.6.1" /* the Gateway API release the scenarios follow */

/* ---- small helpers --------------------------------------------------------- */

static double t0;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line, written with one call: worker threads do not interleave. */
__attribute__((format(printf, 1, 2))) static void progress(const char *fmt, ...)
{
    struct sbuf sb = {0};
    va_list ap;

    sb_printf(&sb, "[%7.1fs] ", now_s() - t0);
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    sb_putc(&sb, '\n');
    fputs(sb.buf, stdout);
    fflush(stdout);
    sb_release(&sb);
}

static void sleep_s(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !conf_interrupted)
        ;
}

static int sl_has(const struct conf_strlist *l, const char *s)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return 1;
    return 0;
}

static void sl_add_unique(struct conf_strlist *l, const char *s)
{
    if (!sl_has(l, s))
        conf_strlist_add(l, s);
}

static void sl_remove(struct conf_strlist *l, const char *s)
{
    size_t i, o = 0;

    for (i = 0; i < l->n; i++) {
        if (!strcmp(l->v[i], s))
            free(l->v[i]);
        else
            l->v[o++] = l->v[i];
    }
    l->n = o;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sl_sort(struct conf_strlist *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* ---- options ------------------------------------------------------------ */

void conf_timeouts_default(struct conf_timeouts *t)
{
    t->create = 60;
    t->del = 30;
    t->get = 10;
    t->gateway_must_have_address = 180;
    t->gateway_must_have_condition = 180;
    t->gateway_status_must_have_listeners = 60;
    t->gateway_listeners_must_have_conditions = 60;
    t->gwc_must_be_accepted = 180;
    t->http_route_must_not_have_parents = 60;
    t->http_route_must_have_condition = 60;
    t->route_must_have_parents = 60;
    t->max_time_to_consistency = 30;
    t->namespaces_must_be_ready = 300;
    t->request_timeout = 10;
    t->latest_observed_generation_set = 60;
    t->default_test_timeout = 60;
    t->default_poll_interval = 0.1;
    t->required_consecutive_successes = 3;
    t->api_server_retry = 30;
}

void conf_opts_init(struct conf_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->gateway_class = "gateway-conformance";
    o->cleanup_base = 1;
    o->cleanup_test = 1;
    o->mode = "default";
    o->echo_image = CONF_DEFAULT_ECHO_IMAGE;
    conf_timeouts_default(&o->timeouts);
}

/* Where upstream's timeout 'name' lives in struct conf_timeouts; -1 unknown. */
static long timeout_offset(const char *name)
{
    static const struct {
        const char *name;
        size_t off;
    } map[] = {
        {"CreateTimeout", offsetof(struct conf_timeouts, create)},
        {"DeleteTimeout", offsetof(struct conf_timeouts, del)},
        {"GetTimeout", offsetof(struct conf_timeouts, get)},
        {"GatewayMustHaveAddress", offsetof(struct conf_timeouts, gateway_must_have_address)},
        {"GatewayMustHaveCondition", offsetof(struct conf_timeouts, gateway_must_have_condition)},
        {"GatewayStatusMustHaveListeners",
         offsetof(struct conf_timeouts, gateway_status_must_have_listeners)},
        {"GatewayListenersMustHaveConditions",
         offsetof(struct conf_timeouts, gateway_listeners_must_have_conditions)},
        {"GWCMustBeAccepted", offsetof(struct conf_timeouts, gwc_must_be_accepted)},
        {"HTTPRouteMustNotHaveParents",
         offsetof(struct conf_timeouts, http_route_must_not_have_parents)},
        {"HTTPRouteMustHaveCondition",
         offsetof(struct conf_timeouts, http_route_must_have_condition)},
        {"RouteMustHaveParents", offsetof(struct conf_timeouts, route_must_have_parents)},
        {"MaxTimeToConsistency", offsetof(struct conf_timeouts, max_time_to_consistency)},
        {"NamespacesMustBeReady", offsetof(struct conf_timeouts, namespaces_must_be_ready)},
        {"RequestTimeout", offsetof(struct conf_timeouts, request_timeout)},
        {"LatestObservedGenerationSet",
         offsetof(struct conf_timeouts, latest_observed_generation_set)},
        {"DefaultTestTimeout", offsetof(struct conf_timeouts, default_test_timeout)},
        {"DefaultPollInterval", offsetof(struct conf_timeouts, default_poll_interval)},
        /* gwconform's own (docs/RELIABILITY.md) */
        {"APIServerRetryTimeout", offsetof(struct conf_timeouts, api_server_retry)},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(map); i++)
        if (!strcmp(map[i].name, name))
            return (long)map[i].off;
    return -1;
}

int conf_timeouts_override(struct conf_timeouts *t, const char *spec, char *err, size_t errlen)
{
    char *copy = xstrdup(spec), *pair, *save = NULL;
    int rc = 0;

    for (pair = strtok_r(copy, ";", &save); pair && !rc; pair = strtok_r(NULL, ";", &save)) {
        char *colon = strchr(pair, ':'), *end;
        long v, off;

        if (!colon) {
            snprintf(err, errlen, "--timeout-config-overrides: '%s' is not Name:SECONDS", pair);
            rc = -1;
            break;
        }
        *colon = '\0';
        errno = 0;
        v = strtol(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || v < 0) {
            snprintf(err, errlen, "--timeout-config-overrides: '%s:%s': want whole seconds", pair,
                     colon + 1);
            rc = -1;
        } else if (!strcmp(pair, "RequiredConsecutiveSuccesses")) {
            t->required_consecutive_successes = (int)(v > 0 ? v : 1);
        } else if ((off = timeout_offset(pair)) >= 0) {
            memcpy((char *)t + off, &(double){(double)v}, sizeof(double));
        } else {
            snprintf(err, errlen, "--timeout-config-overrides: unknown timeout '%s'", pair);
            rc = -1;
        }
    }
    free(copy);
    return rc;
}

static double timeout_of(const struct conf_timeouts *t, const char *name)
{
    long off = name ? timeout_offset(name) : -1;
    double v;

    if (off < 0) /* TLS/TCP/UDPRouteMustHaveCondition and others: 60 s as upstream */
        return name && strstr(name, "RouteMustHaveCondition") ? t->http_route_must_have_condition
                                                              : t->default_test_timeout;
    memcpy(&v, (const char *)t + off, sizeof(v));
    return v;
}

/* ---- profiles and features (spec §1.3) ------------------------------------ */

/* ---- the cluster -------------------------------------------------------- */

struct run {
    const struct conf_opts *o;
    struct kube_client *kc;
    struct conf_run_info *info;
    char *controller_name;
    struct conf_manifests base;
    /* objects created by the current scenario (and the base), for cleanup */
    struct created {
        char *api_version, *kind, *ns, *name;
    } * created;
    size_t ncreated, base_created;
    /* addresses yielded by waits: Gateway "ns/name" -> address */
    struct conf_kvlist addr;
    char *last_addr;
    long long generation_before;
    /* runner faults: where they are counted now (the run's, a scenario's or
       a case's), whether the API server has answered yet (before that no
       request is retried: a wrong kubeconfig fails at once), cleaning up
       (requests are retried even after a signal) */
    struct conf_faults own, *acc;
    int api_seen, cleaning;
};

/* ---- requests to the API server, retried through outages ------------------- */

enum kverb { KV_GET, KV_LIST, KV_APPLY, KV_CREATE, KV_MERGE, KV_UPDATE, KV_DELETE };

/* One request of the runner: obj is the object (apply, create, update) or the patch. */
struct kreq {
    enum kverb verb;
    const char *api_version, *kind, *ns, *name;
    const cJSON *obj;
    const struct kube_list_opts *list;
};

static int kreq_once(struct run *r, const struct kreq *k, struct kube_response *resp)
{
    switch (k->verb) {
    case KV_GET:
        return kube_get(r->kc, k->api_version, k->kind, k->ns, k->name, resp);
    case KV_LIST:
        return kube_list_all(r->kc, k->api_version, k->kind, k->ns, k->list, resp);
    case KV_APPLY:
        return kube_apply(r->kc, k->obj, FIELD_MANAGER, NULL, resp);
    case KV_CREATE:
        return kube_create(r->kc, k->obj, NULL, resp);
    case KV_MERGE:
        return kube_merge_patch(r->kc, k->api_version, k->kind, k->ns, k->name, k->obj, NULL, resp);
    case KV_UPDATE:
        return kube_update(r->kc, k->obj, NULL, resp);
    default:
        return kube_delete(r->kc, k->api_version, k->kind, k->ns, k->name, NULL, resp);
    }
}

static enum conf_api_op kreq_op(enum kverb v)
{
    static const enum conf_api_op ops[] = {
        [KV_GET] = CONF_API_READ,      [KV_LIST] = CONF_API_READ,   [KV_APPLY] = CONF_API_APPLY,
        [KV_CREATE] = CONF_API_CREATE, [KV_MERGE] = CONF_API_PATCH, [KV_UPDATE] = CONF_API_UPDATE,
        [KV_DELETE] = CONF_API_DELETE,
    };

    return ops[v];
}

/* "get Gateway ns/name", for progress lines and the reports' event lines */
static char *kreq_text(const struct kreq *k)
{
    static const char *const verbs[] = {"get",   "list",   "apply", "create",
                                        "patch", "update", "delete"};
    const cJSON *md = jget(k->obj, "metadata");
    const char *kind = k->kind ? k->kind : jstr(k->obj, "kind");
    const char *ns = k->ns ? k->ns : jstr(md, "namespace");
    const char *name = k->name ? k->name : jstr(md, "name");
    struct sbuf sb = {0};

    sb_printf(&sb, "%s %s", verbs[k->verb], kind ? kind : "?");
    if (ns && *ns)
        sb_printf(&sb, " %s%s", ns, name ? "/" : "");
    if (name)
        sb_printf(&sb, "%s%s", ns && *ns ? "" : " ", name);
    return sb_detach(&sb);
}

/* Whether another attempt may start: the API server answered before in this
   run, the fault allows it, time is left, and no signal stops the run. */
static int kreq_may_retry(const struct run *r, const struct kreq *k, enum conf_fault f,
                          double started, unsigned retries)
{
    double budget = r->o->timeouts.api_server_retry;

    if (!r->api_seen || budget <= 0 || !conf_api_retryable(f, kreq_op(k->verb)))
        return 0;
    if (conf_interrupted && !r->cleaning)
        return 0;
    return now_s() + conf_api_backoff(retries + 1) - started <= budget;
}

/* Count a request that met faults: the counts, a progress line, an event.
   last is the fault of the last attempt (CONF_FAULT_NONE: it was answered). */
static void kreq_record(struct run *r, const struct kreq *k, const unsigned *by_fault,
                        unsigned retries, enum conf_fault last, double started,
                        const struct kube_response *resp)
{
    struct conf_faults *acc = r->acc ? r->acc : &r->own;
    struct sbuf sb = {0};
    char *what = kreq_text(k);
    double took = now_s() - started;
    int i, n = 0;

    sb_printf(&sb, "%s: ", what);
    for (i = 1; i < CONF_FAULT_COUNT; i++) {
        if (!by_fault[i])
            continue;
        acc->api_by_fault[i] += by_fault[i];
        sb_printf(&sb, "%s%s x%u", n++ ? ", " : "", conf_fault_name((enum conf_fault)i),
                  by_fault[i]);
    }
    if (!n)
        sb_puts(&sb, "HTTP 429 or 5xx with Retry-After");
    if (retries) {
        acc->api_retried++;
        acc->api_retries += retries;
        acc->api_seconds += took;
    }
    if (retries && last == CONF_FAULT_NONE)
        sb_printf(&sb, "; answered after %u retr%s in %.1f s", retries, retries == 1 ? "y" : "ies",
                  took);
    else if (retries)
        sb_printf(&sb, "; gave up after %u retr%s in %.1f s: %s", retries,
                  retries == 1 ? "y" : "ies", took, resp->error ? resp->error : "?");
    else
        sb_printf(&sb, "; not retried: %s", resp->error ? resp->error : "?");
    acc->api_gave_up += retries && last != CONF_FAULT_NONE;
    conf_faults_event(acc, sb.buf);
    progress("  API server: %s", sb.buf);
    sb_release(&sb);
    free(what);
}

/*
 * One request of the runner, sent again with backoff while it meets a
 * fault that allows it (conf_api_retryable()), for up to
 * APIServerRetryTimeout in all. The last answer is in resp.
 */
static int kcall(struct run *r, const struct kreq *k, struct kube_response *resp)
{
    unsigned by_fault[CONF_FAULT_COUNT] = {0}, retries = 0, client = 0, faults = 0;
    double started = now_s();
    enum conf_fault f;
    int rc;

    for (;;) {
        rc = kreq_once(r, k, resp);
        client += (unsigned)(resp->retries > 0 ? resp->retries : 0);
        f = rc == 0 ? CONF_FAULT_NONE : conf_api_fault(resp);
        if (f == CONF_FAULT_NONE)
            break;
        by_fault[f]++;
        faults++;
        if (!kreq_may_retry(r, k, f, started, retries))
            break;
        if (retries++ == 0) {
            char *what = kreq_text(k);

            progress("  API server: %s: %s (%s); retrying for up to %.0f s", what,
                     conf_fault_name(f), resp->error ? resp->error : "?",
                     r->o->timeouts.api_server_retry);
            free(what);
        }
        sleep_s(conf_api_backoff(retries));
    }
    if (resp->status != 0)
        r->api_seen = 1;
    if (retries + client + faults > 0)
        kreq_record(r, k, by_fault, retries + client, f, started, resp);
    return rc;
}

static int kget(struct run *r, const char *av, const char *kind, const char *ns, const char *name,
                struct kube_response *resp)
{
    struct kreq k = {KV_GET, av, kind, ns, name, NULL, NULL};

    return kcall(r, &k, resp);
}

static int klist(struct run *r, const char *av, const char *kind, const char *ns,
                 const struct kube_list_opts *lo, struct kube_response *resp)
{
    struct kreq k = {KV_LIST, av, kind, ns, NULL, NULL, lo};

    return kcall(r, &k, resp);
}

/* apply, create or update of a whole object */
static int kobj(struct run *r, enum kverb v, const cJSON *obj, struct kube_response *resp)
{
    struct kreq k = {v, NULL, NULL, NULL, NULL, obj, NULL};

    return kcall(r, &k, resp);
}

static int kmerge(struct run *r, const char *av, const char *kind, const char *ns, const char *name,
                  const cJSON *patch, struct kube_response *resp)
{
    struct kreq k = {KV_MERGE, av, kind, ns, name, patch, NULL};

    return kcall(r, &k, resp);
}

static int kdelete(struct run *r, const char *av, const char *kind, const char *ns,
                   const char *name, struct kube_response *resp)
{
    struct kreq k = {KV_DELETE, av, kind, ns, name, NULL, NULL};

    return kcall(r, &k, resp);
}

/* NotFound as the API server says it (a Status), not a path it does not serve yet */
static int not_found(const struct kube_response *resp)
{
    return resp->status == 404 && conf_api_fault(resp) == CONF_FAULT_NONE;
}

static void created_add(struct run *r, const cJSON *obj)
{
    const cJSON *md = jget(obj, "metadata");
    struct created *c;
    size_t i;

    for (i = 0; i < r->ncreated; i++) {
        c = &r->created[i];
        if (!strcmp(c->kind, jstr(obj, "kind")) && !strcmp(c->name, jstr(md, "name")) &&
            !strcmp(c->ns, jstr(md, "namespace") ? jstr(md, "namespace") : ""))
            return;
    }
    r->created = xrealloc(r->created, (r->ncreated + 1) * sizeof(*r->created));
    c = &r->created[r->ncreated++];
    c->api_version = xstrdup(jstr(obj, "apiVersion"));
    c->kind = xstrdup(jstr(obj, "kind"));
    c->ns = xstrdup(jstr(md, "namespace") ? jstr(md, "namespace") : "");
    c->name = xstrdup(jstr(md, "name"));
}

/* GET until NotFound, bounded by DeleteTimeout (upstream's deleteAndWait). */
static int delete_and_wait(struct run *r, const struct created *c, char **why)
{
    struct kube_response resp = {0};
    const char *ns = c->ns[0] ? c->ns : NULL;
    double deadline;

    if (kdelete(r, c->api_version, c->kind, ns, c->name, &resp) != 0 && !not_found(&resp)) {
        *why = xasprintf("delete %s %s: %s", c->kind, c->name, resp.error);
        kube_response_release(&resp);
        return -1;
    }
    kube_response_release(&resp);
    deadline = now_s() + r->o->timeouts.del;
    for (;;) {
        int gone = kget(r, c->api_version, c->kind, ns, c->name, &resp) != 0 && not_found(&resp);

        kube_response_release(&resp);
        if (gone)
            return 0;
        if (now_s() > deadline) {
            *why = xasprintf("%s %s%s%s still exists %.0f s after its deletion", c->kind, c->ns,
                             c->ns[0] ? "/" : "", c->name, r->o->timeouts.del);
            return -1;
        }
        sleep_s(r->o->timeouts.default_poll_interval);
    }
}

/* Delete what was created after index 'from', newest first. */
static void cleanup_from(struct run *r, size_t from, struct conf_scenario_result *res)
{
    r->cleaning = 1;
    while (r->ncreated > from) {
        struct created *c = &r->created[--r->ncreated];
        char *why = NULL;

        if (delete_and_wait(r, c, &why) != 0) {
            progress("  cleanup: %s", why);
            if (res && !res->message)
                res->message = xasprintf("cleanup: %s", why);
        }
        free(why);
        free(c->api_version);
        free(c->kind);
        free(c->ns);
        free(c->name);
    }
    r->cleaning = 0;
}

/* Server-side apply of one object (placeholders substituted in a copy). */
static int apply_one(struct run *r, const struct conf_manifest *m, char **why)
{
    struct kube_response resp = {0};
    cJSON *obj = cJSON_Duplicate(m->obj, 1);
    const char *kind = jstr(obj, "kind");
    int rc;

    conf_manifest_subst(obj, CONF_PLACEHOLDER_GATEWAY_CLASS, r->o->gateway_class);
    conf_manifest_subst(obj, CONF_PLACEHOLDER_ECHO_IMAGE, r->o->echo_image);
    if (kind && !strcmp(kind, "GatewayClass") && r->controller_name) {
        cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");

        if (cJSON_IsObject(spec)) {
            cJSON_DeleteItemFromObjectCaseSensitive(spec, "controllerName");
            cJSON_AddStringToObject(spec, "controllerName", r->controller_name);
        }
    }
    rc = kobj(r, KV_APPLY, obj, &resp);
    if (rc != 0)
        *why = xasprintf("%s:%d: apply %s %s: %s", m->file, m->line, kind ? kind : "?",
                         jstr(jget(obj, "metadata"), "name"), resp.error);
    else
        created_add(r, obj);
    kube_response_release(&resp);
    cJSON_Delete(obj);
    return rc;
}

/* ---- waits ---------------------------------------------------------------- */

static void remember_address(struct run *r, const struct conf_target *gw, const char *addr)
{
    char *key = xasprintf("%s/%s", gw->namespace_ ? gw->namespace_ : "", gw->name);
    size_t i;

    for (i = 0; i < r->addr.n; i++)
        if (!strcmp(r->addr.v[i].name, key))
            break;
    if (i == r->addr.n) {
        r->addr.v = xrealloc(r->addr.v, (r->addr.n + 1) * sizeof(*r->addr.v));
        r->addr.v[r->addr.n].name = key;
        r->addr.v[r->addr.n++].value = xstrdup(addr);
    } else {
        free(key);
        free(r->addr.v[i].value);
        r->addr.v[i].value = xstrdup(addr);
    }
    free(r->last_addr);
    r->last_addr = xstrdup(addr);
}

/* One poll of a wait: fetch what it asks for, judge. */
static enum conf_wait_verdict poll_once(struct run *r, const struct conf_wait *w,
                                        struct conf_wait_state *st, char **why, char **yield)
{
    struct conf_fetch *f = NULL;
    size_t n = conf_wait_fetches(w, st, &f), i;
    struct conf_fetched *got = xcalloc(n ? n : 1, sizeof(*got));
    struct kube_response *resp = xcalloc(n ? n : 1, sizeof(*resp));
    struct conf_objects objs = {.v = got,
                                .n = n,
                                .controller_name = r->controller_name,
                                .generation_before = r->generation_before};
    enum conf_wait_verdict v;

    for (i = 0; i < n; i++) {
        int ok = f[i].name
                     ? kget(r, f[i].api_version, f[i].kind, f[i].namespace_, f[i].name, &resp[i])
                     : klist(r, f[i].api_version, f[i].kind, f[i].namespace_ ? f[i].namespace_ : "",
                             NULL, &resp[i]);

        got[i].obj = ok == 0 ? resp[i].body : NULL;
        got[i].error = ok == 0 ? NULL : resp[i].error;
    }
    v = conf_wait_check(w, &objs, st, why, yield);
    for (i = 0; i < n; i++)
        kube_response_release(&resp[i]);
    free(resp);
    free(got);
    free(f);
    return v;
}

/* Replace *why by "prefix: *why". */
static void why_prefix(char **why, const char *prefix)
{
    char *m = xasprintf("%s: %s", prefix, *why ? *why : "");

    free(*why);
    *why = m;
}

/*
 * The poll loop of include/scenario.h. Returns 0 satisfied (*yield set for
 * the waits that yield), -1 failed with *why.
 */
static int run_wait(struct run *r, const struct conf_wait *w, char **why, char **yield)
{
    const struct conf_timeouts *t = &r->o->timeouts;
    struct conf_wait_state st;
    double deadline;
    int rc = -1;

    *why = NULL;
    *yield = NULL;
    conf_wait_state_init(&st);
    deadline = now_s() + timeout_of(t, conf_wait_timeout_name(w, &st));
    for (;;) {
        char *msg = NULL, *y = NULL;
        enum conf_wait_verdict v = poll_once(r, w, &st, &msg, &y);

        free(*why);
        *why = msg;
        if (v == CONF_WAIT_DONE) {
            *yield = y;
            rc = 0;
            break;
        }
        free(y);
        if (v == CONF_WAIT_FATAL)
            break;
        if (v == CONF_WAIT_ADVANCED) {
            deadline = now_s() + timeout_of(t, conf_wait_timeout_name(w, &st));
            continue;
        }
        if (conf_interrupted) {
            why_prefix(why, "interrupted while waiting");
            break;
        }
        if (now_s() > deadline) {
            char *pre = xasprintf("timed out after %.0f s (%s)",
                                  timeout_of(t, conf_wait_timeout_name(w, &st)),
                                  conf_wait_timeout_name(w, &st));

            why_prefix(why, pre);
            free(pre);
            break;
        }
        sleep_s(conf_wait_poll_ms(w) > 0 ? (double)conf_wait_poll_ms(w) / 1000.0
                                         : t->default_poll_interval);
    }
    conf_wait_state_release(&st);
    return rc;
}

static int wait_step(struct run *r, const struct conf_wait *w, char **why)
{
    char *yield = NULL;
    int rc = run_wait(r, w, why, &yield);

    if (rc == 0 && yield) {
        if (w->kind == CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED ||
            w->kind == CONF_WAIT_GATEWAY_ADDRESS)
            remember_address(r, &w->gateway, yield);
    }
    free(yield);
    return rc;
}

/* ---- requests ------------------------------------------------------------- */

static const char *address_for(struct run *r, const struct conf_target *gw)
{
    size_t i;
    char *key;

    if (!gw->name)
        return r->last_addr;
    key = xasprintf("%s/%s", gw->namespace_ ? gw->namespace_ : "", gw->name);
    for (i = 0; i < r->addr.n; i++)
        if (!strcmp(r->addr.v[i].name, key))
            break;
    free(key);
    return i < r->addr.n ? r->addr.v[i].value : NULL;
}

/* host of "host:port", "[v6]:port", "host" */
static char *host_of(const char *addr)
{
    const char *colon;

    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');

        return end ? xstrndup(addr + 1, (size_t)(end - addr - 1)) : xstrdup(addr);
    }
    colon = strchr(addr, ':');
    if (colon && !strchr(colon + 1, ':'))
        return xstrndup(addr, (size_t)(colon - addr));
    return xstrdup(addr);
}

/* tls.crt of the Secret a request step trusts (PEM), or NULL with *why. */
static char *secret_cert(struct run *r, const struct conf_target *t, char **why)
{
    struct kube_response resp = {0};
    const char *b64;
    unsigned char *pem = NULL;
    size_t len;
    int n;

    if (!t->name) {
        *why = xstrdup("an https request needs ca_secret: the Secret whose tls.crt is trusted");
        return NULL;
    }
    if (kget(r, "v1", "Secret", t->namespace_, t->name, &resp) != 0) {
        *why = xasprintf("ca_secret %s: %s", t->name, resp.error);
        kube_response_release(&resp);
        return NULL;
    }
    b64 = jstr(jget(resp.body, "data"), "tls.crt");
    len = b64 ? strlen(b64) : 0;
    if (len) {
        pem = xmalloc(len / 4 * 3 + 4);
        n = EVP_DecodeBlock(pem, (const unsigned char *)b64, (int)len);
        if (n < 0) {
            free(pem);
            pem = NULL;
        } else {
            while (len > 0 && b64[len - 1] == '=' && n > 0) {
                len--;
                n--;
            }
            pem[n] = '\0';
        }
    }
    if (!pem)
        *why = xasprintf("ca_secret %s: no tls.crt (or not base64)", t->name);
    kube_response_release(&resp);
    return (char *)pem;
}

/* The "host:port" a request step goes to (port override applied), or NULL with *why. */
static char *request_target(struct run *r, const struct conf_step_request *q, char **why)
{
    const char *addr = address_for(r, &q->gateway);
    char *h, *target;

    if (!addr && q->gateway.name) {
        struct conf_wait w;

        memset(&w, 0, sizeof(w));
        w.kind = CONF_WAIT_GATEWAY_ADDRESS;
        w.gateway = q->gateway;
        if (wait_step(r, &w, why) != 0)
            return NULL;
        free(*why);
        *why = NULL;
        addr = address_for(r, &q->gateway);
    }
    if (!addr) {
        *why = xstrdup("no gateway address: no earlier wait yielded one and the step names no "
                       "gateway");
        return NULL;
    }
    if (!q->port)
        return xstrdup(addr);
    h = host_of(addr);
    target = conf_host_port(h, q->port);
    free(h);
    return target;
}

/* Whether the step expects an answer with this status (a 5xx it expects is no fault). */
static int status_expected(const struct conf_step_request *q, long status)
{
    const struct conf_expected_response *e = &q->expect.response;
    size_t i;

    if (q->expect_failure)
        return status != 200;
    if (!e->nstatus)
        return status == 200;
    for (i = 0; i < e->nstatus; i++)
        if (e->status_codes[i] == status ||
            (conf_is_timeout_status(status) && conf_is_timeout_status(e->status_codes[i])))
            return 1;
    return 0;
}

/* One attempt: 1 good, 0 not yet, -1 fatal; *why replaced on 0 and -1; counted in *f. */
static int attempt(struct run *r, const struct conf_step_request *q, const char *target,
                   const char *scheme, const struct conf_tls *tls, char **last,
                   struct conf_faults *f)
{
    struct conf_captured got;
    char *w = NULL;
    int ok;

    conf_roundtrip_tls(target, scheme, &q->request, tls,
                       (long)(r->o->timeouts.request_timeout * 1000), &got);
    conf_gateway_count(f, &got, status_expected(q, got.status));
    if (q->expect_failure)
        ok = conf_expect_failure(&got, &w);
    else
        ok = conf_compare(&q->request, scheme, &got, &q->expect, &w);
    conf_captured_release(&got);
    if (ok != 1) {
        free(*last);
        *last = w;
    } else {
        free(w);
    }
    return ok;
}

/* One sample of CONF_WEIGHT_SAMPLES requests, judged (upstream's utils/weight). */
static int weights_once(struct run *r, const struct conf_step_request *q, const char *target,
                        const char *scheme, const struct conf_tls *tls, char **why,
                        struct conf_faults *f)
{
    char **pods = xcalloc(CONF_WEIGHT_SAMPLES, sizeof(*pods));
    size_t n, i;
    int ok = 1;

    for (n = 0; n < CONF_WEIGHT_SAMPLES && ok && !conf_interrupted; n++) {
        struct conf_captured got;

        conf_roundtrip_tls(target, scheme, &q->request, tls,
                           (long)(r->o->timeouts.request_timeout * 1000), &got);
        conf_gateway_count(f, &got, 0);
        if (got.status != 200 || !got.echo.parsed) {
            *why = xasprintf("request %zu of the sample: %s", n + 1,
                             got.error ? got.error : "no 200 from an echo backend");
            ok = 0;
        } else {
            pods[n] = xstrdup(got.echo.pod ? got.echo.pod : "");
        }
        conf_captured_release(&got);
    }
    if (ok && !conf_interrupted)
        ok = conf_weights_judge(q->weights, q->nweights, pods, n, CONF_WEIGHT_TOLERANCE, why);
    for (i = 0; i < n; i++)
        free(pods[i]);
    free(pods);
    return ok && !conf_interrupted;
}

/* The distribution check of a weighted request step, retried as upstream does. */
static int weights_step(struct run *r, const struct conf_step_request *q, const char *target,
                        const char *scheme, const struct conf_tls *tls, char **why,
                        struct conf_faults *f)
{
    int attempt_no;

    for (attempt_no = 1; attempt_no <= CONF_WEIGHT_ATTEMPTS && !conf_interrupted; attempt_no++) {
        free(*why);
        *why = NULL;
        if (weights_once(r, q, target, scheme, tls, why, f))
            return 0;
        progress("    weights, attempt %d of %d: %s", attempt_no, CONF_WEIGHT_ATTEMPTS,
                 *why ? *why : "interrupted");
    }
    return -1;
}

/* MakeRequestAndExpectEventuallyConsistentResponse (or ...Failure), spec §1.9. */
/*
 * One request case. prepare runs on the scenario's thread (it may ask the
 * API server for the address or the CA); converge only sends requests, so
 * consecutive cases converge side by side, as upstream's parallel subtests
 * do.
 */
struct req_job {
    struct run *r;
    const struct conf_step_request *q;
    const char *scheme;
    char *target, *ca;
    struct conf_tls tls;
    int rc;
    char *why;
    struct conf_faults faults; /* the case's: API requests of prepare, then attempts */
};

static int request_prepare(struct run *r, const struct conf_step_request *q, struct req_job *j)
{
    struct conf_faults *acc = r->acc;

    memset(j, 0, sizeof(*j));
    j->r = r;
    j->q = q;
    j->rc = -1;
    j->scheme = q->scheme ? q->scheme : "http";
    r->acc = &j->faults;
    if (!strcmp(j->scheme, "https")) {
        j->ca = secret_cert(r, &q->ca_secret, &j->why);
        j->tls.server_name = q->server_name;
        j->tls.ca_pem = j->ca;
    }
    if (j->ca || strcmp(j->scheme, "https") != 0)
        j->target = request_target(r, q, &j->why);
    r->acc = acc;
    return j->target ? 0 : -1;
}

/* Why a case found no consistent answer: a signal, what the gateway did, the last attempt. */
static char *converge_why(const struct req_job *j, const struct conf_faults *mine, int attempts,
                          double seconds, const char *last)
{
    const struct conf_timeouts *t = &j->r->o->timeouts;
    char *head, *why;

    if (conf_interrupted)
        return xasprintf("interrupted by %s after %d attempts in %.0f s\n%s",
                         conf_signal_name(conf_interrupted), attempts, seconds,
                         last ? last : "(no attempt)");
    head = conf_gateway_verdict(mine, seconds, t->request_timeout);
    why = xasprintf("%s; last attempt: %s", head, last ? last : "(no attempt)");
    free(head);
    return why;
}

static void request_converge(struct req_job *j)
{
    const struct conf_timeouts *t = &j->r->o->timeouts;
    struct conf_converge cv;
    struct conf_faults mine = {0}; /* these attempts' */
    double start = now_s();
    char *last = NULL;

    conf_converge_start(&cv, start, t->max_time_to_consistency);
    cv.required = t->required_consecutive_successes;
    cv.poll_seconds = t->default_poll_interval;
    for (;;) {
        int ok = attempt(j->r, j->q, j->target, j->scheme, j->ca ? &j->tls : NULL, &last, &mine);
        enum conf_converge_next next;

        if (ok < 0)
            break; /* a 200 where a failure was expected: at once */
        next = conf_converge_step(&cv, now_s(), ok);
        if (next == CONF_CONVERGED) {
            j->rc = 0;
            break;
        }
        if (next == CONF_TIMED_OUT || conf_interrupted)
            break;
        if (next == CONF_CONTINUE_AFTER_POLL)
            sleep_s(cv.poll_seconds);
    }
    if (j->rc != 0)
        j->why = converge_why(j, &mine, cv.attempts, now_s() - start, last);
    conf_faults_add(&j->faults, &mine);
    conf_faults_release(&mine);
    free(last);
}

static void request_release(struct req_job *j)
{
    free(j->target);
    free(j->ca);
    free(j->why);
    conf_faults_release(&j->faults);
}

static int request_step(struct run *r, const struct conf_step_request *q, char **why)
{
    struct req_job j;

    if (request_prepare(r, q, &j) == 0) {
        request_converge(&j);
        if (j.rc == 0 && q->nweights)
            j.rc = weights_step(r, q, j.target, j.scheme, j.ca ? &j.tls : NULL, &j.why, &j.faults);
    }
    *why = j.why;
    j.why = NULL;
    conf_faults_add(r->acc ? r->acc : &r->own, &j.faults);
    request_release(&j);
    return j.rc;
}

/* ---- other steps ------------------------------------------------------------ */

static long long generation_of(struct run *r, const struct conf_target *t)
{
    struct kube_response resp = {0};
    long long g = -1;

    if (kget(r, t->api_version, t->kind, t->namespace_, t->name, &resp) == 0) {
        const cJSON *v = jget(jget(resp.body, "metadata"), "generation");

        if (cJSON_IsNumber(v))
            g = (long long)v->valuedouble;
    }
    kube_response_release(&resp);
    return g;
}

static int patch_step(struct run *r, const struct conf_step_patch *p, char **why)
{
    struct kube_response resp = {0};
    int rc;

    r->generation_before = generation_of(r, &p->target);
    rc = kmerge(r, p->target.api_version, p->target.kind, p->target.namespace_, p->target.name,
                p->merge, &resp);
    if (rc != 0)
        *why = xasprintf("patch %s %s: %s", p->target.kind, p->target.name, resp.error);
    kube_response_release(&resp);
    return rc;
}

static int update_step(struct run *r, const struct conf_manifest *m, char **why)
{
    struct kube_response resp = {0};
    cJSON *obj = cJSON_Duplicate(m->obj, 1);
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *av = jstr(obj, "apiVersion"), *kind = jstr(obj, "kind");
    const char *ns = jstr(md, "namespace"), *name = jstr(md, "name");
    int rc = -1;

    conf_manifest_subst(obj, CONF_PLACEHOLDER_GATEWAY_CLASS, r->o->gateway_class);
    if (kget(r, av, kind, ns, name, &resp) != 0) {
        *why = xasprintf("%s:%d: update %s %s: %s", m->file, m->line, kind, name, resp.error);
        goto out;
    }
    {
        const cJSON *g = jget(jget(resp.body, "metadata"), "generation");
        const char *rv = jstr(jget(resp.body, "metadata"), "resourceVersion");

        r->generation_before = cJSON_IsNumber(g) ? (long long)g->valuedouble : -1;
        if (rv && md) {
            cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
            cJSON_AddStringToObject(md, "resourceVersion", rv);
        }
    }
    kube_response_release(&resp);
    rc = kobj(r, KV_UPDATE, obj, &resp);
    if (rc != 0)
        *why = xasprintf("%s:%d: update %s %s: %s", m->file, m->line, kind, name, resp.error);
out:
    kube_response_release(&resp);
    cJSON_Delete(obj);
    return rc;
}

static int delete_step(struct run *r, const struct conf_target *t, char **why)
{
    struct kube_response resp = {0};
    int rc = 0;

    if (kdelete(r, t->api_version, t->kind, t->namespace_, t->name, &resp) != 0 &&
        !not_found(&resp)) {
        *why = xasprintf("delete %s %s: %s", t->kind, t->name, resp.error);
        rc = -1;
    }
    kube_response_release(&resp);
    return rc;
}

/* "k1=v1,k2=v2" of a Deployment's spec.selector.matchLabels, or NULL. */
static char *selector_of(const cJSON *deploy)
{
    const cJSON *sel = jget(jget(deploy, "spec"), "selector"), *l;
    struct sbuf sb = {0};

    if (jget(sel, "matchExpressions"))
        return NULL;
    cJSON_ArrayForEach(l, jget(sel, "matchLabels")) {
        if (!cJSON_IsString(l))
            continue;
        sb_printf(&sb, "%s%s=%s", sb.len ? "," : "", l->string, l->valuestring);
    }
    if (!sb.len) {
        sb_release(&sb);
        return NULL;
    }
    return sb_detach(&sb);
}

/* One ready endpoint per Pod IP of the slice's address family. */
static cJSON *endpoints_for(const cJSON *pods, const char *family)
{
    cJSON *eps = cJSON_CreateArray();
    const cJSON *pod, *ip;

    cJSON_ArrayForEach(pod, jget(pods, "items")) {
        const cJSON *md = jget(pod, "metadata");

        cJSON_ArrayForEach(ip, jget(jget(pod, "status"), "podIPs")) {
            const char *a = jstr(ip, "ip");
            cJSON *ep, *cond, *ref;

            if (!a || (strchr(a, ':') != NULL) != !strcmp(family, "IPv6"))
                continue;
            ep = cJSON_CreateObject();
            cJSON_AddItemToObject(ep, "addresses", cJSON_CreateStringArray(&a, 1));
            cond = cJSON_AddObjectToObject(ep, "conditions");
            cJSON_AddBoolToObject(cond, "ready", 1);
            cJSON_AddBoolToObject(cond, "serving", 1);
            cJSON_AddBoolToObject(cond, "terminating", 0);
            if (jstr(jget(pod, "spec"), "nodeName"))
                cJSON_AddStringToObject(ep, "nodeName", jstr(jget(pod, "spec"), "nodeName"));
            ref = cJSON_AddObjectToObject(ep, "targetRef");
            cJSON_AddStringToObject(ref, "kind", "Pod");
            cJSON_AddStringToObject(ref, "name", jstr(md, "name") ? jstr(md, "name") : "");
            cJSON_AddStringToObject(ref, "namespace",
                                    jstr(md, "namespace") ? jstr(md, "namespace") : "");
            cJSON_AddStringToObject(ref, "uid", jstr(md, "uid") ? jstr(md, "uid") : "");
            cJSON_AddItemToArray(eps, ep);
        }
    }
    return eps;
}

static int fill_slice(struct run *r, const char *ns, const char *name, const cJSON *pods,
                      char **why)
{
    struct kube_response resp = {0};
    cJSON *patch = NULL, *eps;
    const char *family;
    int rc = -1;

    if (kget(r, "discovery.k8s.io/v1", "EndpointSlice", ns, name, &resp) != 0) {
        *why = xasprintf("get EndpointSlice %s/%s: %s", ns, name, resp.error);
        goto out;
    }
    family = jstr(resp.body, "addressType");
    eps = endpoints_for(pods, family ? family : "IPv4");
    if (!cJSON_GetArraySize(eps)) { /* no Pod IP of this family: as upstream, leave it */
        cJSON_Delete(eps);
        rc = 0;
        goto out;
    }
    patch = cJSON_CreateObject();
    cJSON_AddItemToObject(patch, "endpoints", eps);
    kube_response_release(&resp);
    rc = kmerge(r, "discovery.k8s.io/v1", "EndpointSlice", ns, name, patch, &resp);
    if (rc != 0)
        *why = xasprintf("patch EndpointSlice %s/%s: %s", ns, name, resp.error);
out:
    cJSON_Delete(patch);
    kube_response_release(&resp);
    return rc;
}

static int endpoints_step(struct run *r, const struct conf_step_endpoints *e, char **why)
{
    const struct conf_target *d = &e->deployment;
    struct kube_response resp = {0};
    struct kube_list_opts lo = {0};
    char *sel = NULL;
    size_t i;
    int rc = -1;

    if (kget(r, d->api_version, d->kind, d->namespace_, d->name, &resp) != 0) {
        *why = xasprintf("get Deployment %s/%s: %s", d->namespace_, d->name, resp.error);
        goto out;
    }
    sel = selector_of(resp.body);
    if (!sel) {
        *why = xasprintf("Deployment %s/%s: no spec.selector.matchLabels to find its Pods",
                         d->namespace_, d->name);
        goto out;
    }
    lo.label_selector = sel;
    kube_response_release(&resp);
    if (klist(r, "v1", "Pod", d->namespace_, &lo, &resp) != 0) {
        *why = xasprintf("list Pods of %s/%s: %s", d->namespace_, d->name, resp.error);
        goto out;
    }
    if (!cJSON_GetArraySize(jget(resp.body, "items"))) {
        *why = xasprintf("Deployment %s/%s has no Pods", d->namespace_, d->name);
        goto out;
    }
    rc = 0;
    for (i = 0; i < e->slices.n && rc == 0; i++)
        rc = fill_slice(r, d->namespace_, e->slices.v[i], resp.body, why);
out:
    free(sel);
    kube_response_release(&resp);
    return rc;
}

/* ---- one scenario ----------------------------------------------------------- */

static int is_case(const struct conf_step *s)
{
    return s->kind == CONF_STEP_REQUEST || s->name != NULL;
}

static struct conf_case_result *add_case(struct conf_scenario_result *res, char *name)
{
    struct conf_case_result *c;

    res->cases = xrealloc(res->cases, (res->ncases + 1) * sizeof(*res->cases));
    c = &res->cases[res->ncases++];
    memset(c, 0, sizeof(*c));
    c->name = name;
    return c;
}

static const char *result_word(enum conf_result r)
{
    switch (r) {
    case CONF_PASS:
        return "PASS";
    case CONF_FAIL:
        return "FAIL";
    case CONF_ERROR:
        return "ERROR";
    case CONF_SKIP:
        return "SKIP";
    default:
        return "NOT SUPPORTED";
    }
}

static void worst(enum conf_result *acc, enum conf_result r)
{
    static const int rank[] = {[CONF_PASS] = 0,
                               [CONF_SKIP] = 1,
                               [CONF_NOT_SUPPORTED] = 1,
                               [CONF_FAIL] = 3,
                               [CONF_ERROR] = 2};

    if (rank[r] > rank[*acc])
        *acc = r;
}

static char *first_line(const char *s)
{
    const char *nl = strchr(s, '\n');

    return nl ? xstrndup(s, (size_t)(nl - s)) : xstrdup(s);
}

/*
 * Run one step: 0 passed, 1 failed but the scenario goes on (a request
 * case, a wait upstream only marks failed), -1 failed and the scenario
 * stops. *cr is the case result, *why the reason.
 */
static int exec_step(struct run *r, const struct conf_step *s, char **why, enum conf_result *cr)
{
    size_t k;
    int rc = 0;

    switch (s->kind) {
    case CONF_STEP_APPLY:
        for (k = 0; k < s->apply.n && rc == 0; k++)
            rc = apply_one(r, &s->apply.v[k], why);
        *cr = rc ? CONF_ERROR : CONF_PASS;
        return rc;
    case CONF_STEP_WAIT:
        rc = wait_step(r, &s->wait, why);
        *cr = rc ? CONF_FAIL : CONF_PASS;
        return rc && conf_wait_timeout_continues(&s->wait) ? 1 : rc;
    case CONF_STEP_REQUEST:
        rc = request_step(r, &s->request, why);
        *cr = rc ? CONF_FAIL : CONF_PASS;
        return rc ? 1 : 0; /* a failed request case does not stop the others */
    case CONF_STEP_PATCH:
        rc = patch_step(r, &s->patch, why);
        break;
    case CONF_STEP_UPDATE:
        rc = update_step(r, &s->update, why);
        break;
    case CONF_STEP_DELETE:
        rc = delete_step(r, &s->del, why);
        break;
    case CONF_STEP_ENDPOINTS:
        rc = endpoints_step(r, &s->endpoints, why);
        break;
    }
    *cr = rc ? CONF_ERROR : CONF_PASS;
    return rc;
}

/* "not run: interrupted by SIGTERM" */
static char *not_run_interrupted(void)
{
    return xasprintf("not run: interrupted by %s", conf_signal_name(conf_interrupted));
}

/* A step that failed while a signal stopped the run could not be judged:
   ERROR, "interrupted by SIGTERM", then what it was doing. */
static void mark_interrupted(enum conf_result *cr, char **why)
{
    const char *pre = "interrupted by ";
    char *w;

    *cr = CONF_ERROR;
    if (*why && !strncmp(*why, pre, strlen(pre)))
        return;
    w = xasprintf("%s%s%s%s", pre, conf_signal_name(conf_interrupted), *why ? "\n" : "",
                  *why ? *why : "");
    free(*why);
    *why = w;
}

/* Record a case's result (taking over *f, the faults it met) and print its line. */
static void record_case(struct conf_scenario_result *res, const struct conf_scenario *sc,
                        char *name, enum conf_result cr, const char *why, double seconds,
                        struct conf_faults *f)
{
    struct conf_case_result *c = add_case(res, name);

    c->result = cr;
    c->seconds = seconds;
    if (why && cr != CONF_PASS) {
        c->message = first_line(why);
        c->detail = xstrdup(why);
    }
    c->faults = *f;
    memset(f, 0, sizeof(*f));
    conf_faults_add(&res->faults, &c->faults);
    /* named by scenario too: parallel scenarios' lines interleave */
    progress("  %-4s %s: %s (%.1fs)%s%s", result_word(cr), sc->name, c->name, c->seconds,
             cr != CONF_PASS ? ": " : "", cr != CONF_PASS ? c->message : "");
    worst(&res->result, cr);
}

/* A case step not run (a signal, or an earlier step failed): skipped. */
static void skip_step(const struct conf_scenario *sc, size_t i, struct conf_scenario_result *res)
{
    const struct conf_step *s = &sc->steps[i];
    struct conf_case_result *c;

    if (!is_case(s))
        return;
    c = add_case(res, s->name ? xstrdup(s->name) : conf_step_default_name(sc, i));
    c->result = CONF_SKIP;
    c->message =
        conf_interrupted ? not_run_interrupted() : xstrdup("not run: an earlier step failed");
}

static int plain_request(const struct conf_step *s)
{
    return s->kind == CONF_STEP_REQUEST && !s->request.nweights;
}

#define REQ_BATCH 16 /* request cases converging at once */

static void *converge_thread(void *arg)
{
    request_converge(arg);
    return NULL;
}

/* Steps [from, to) are plain request cases: converge them side by side
   (REQ_BATCH at a time), then record them in order. */
static void run_request_group(struct run *r, const struct conf_scenario *sc, size_t from, size_t to,
                              struct conf_scenario_result *res)
{
    struct req_job jobs[REQ_BATCH];
    pthread_t tids[REQ_BATCH];
    int started[REQ_BATCH], prepared[REQ_BATCH];
    size_t k, n = to - from;
    double start = now_s();

    memset(jobs, 0, sizeof(jobs));
    for (k = 0; k < n; k++) {
        started[k] = 0;
        /* interrupted: the cases not started are skipped, as one by one */
        prepared[k] =
            !conf_interrupted && request_prepare(r, &sc->steps[from + k].request, &jobs[k]) == 0;
        if (!prepared[k])
            continue;
        started[k] = pthread_create(&tids[k], NULL, converge_thread, &jobs[k]) == 0;
        if (!started[k])
            request_converge(&jobs[k]); /* no thread: in turn, then */
    }
    for (k = 0; k < n; k++) {
        const struct conf_step *s = &sc->steps[from + k];
        char *name = s->name ? xstrdup(s->name) : conf_step_default_name(sc, from + k);
        enum conf_result cr;

        if (started[k])
            pthread_join(tids[k], NULL);
        cr = jobs[k].rc == 0 ? CONF_PASS : CONF_FAIL;
        if (!prepared[k] && conf_interrupted && !jobs[k].why) {
            struct conf_case_result *c = add_case(res, name);

            c->result = CONF_SKIP;
            c->message = not_run_interrupted();
            continue;
        }
        if (cr != CONF_PASS && conf_interrupted)
            mark_interrupted(&cr, &jobs[k].why);
        record_case(res, sc, name, cr, jobs[k].why, now_s() - start, &jobs[k].faults);
        request_release(&jobs[k]);
    }
}

/* The end of the run of plain request cases starting at i (at most REQ_BATCH). */
static size_t request_group_end(const struct conf_scenario *sc, size_t i)
{
    size_t j = i;

    while (j < sc->nsteps && j - i < REQ_BATCH && plain_request(&sc->steps[j]))
        j++;
    return j;
}

/* Run step i; its result is recorded. The step's exec_step() value. */
static int run_one_step(struct run *r, const struct conf_scenario *sc, size_t i,
                        struct conf_scenario_result *res)
{
    const struct conf_step *s = &sc->steps[i];
    struct conf_faults cf = {0};
    enum conf_result cr = CONF_PASS;
    double start = now_s();
    char *why = NULL;
    int rc;

    r->acc = is_case(s) ? &cf : &res->faults;
    rc = exec_step(r, s, &why, &cr);
    r->acc = &res->faults;
    if (rc && conf_interrupted)
        mark_interrupted(&cr, &why);
    if (is_case(s)) {
        record_case(res, sc, s->name ? xstrdup(s->name) : conf_step_default_name(sc, i), cr, why,
                    now_s() - start, &cf);
    } else if (rc) {
        progress("  %s %s: step %zu (line %d): %s", result_word(cr), sc->name, i + 1, s->line,
                 why ? why : "");
        worst(&res->result, cr);
        if (!res->message)
            res->message = conf_interrupted
                               ? xstrdup(why)
                               : xasprintf("%s:%d: %s", sc->file, s->line, why ? why : "failed");
    }
    free(why);
    conf_faults_release(&cf);
    return rc;
}

static void run_steps(struct run *r, const struct conf_scenario *sc,
                      struct conf_scenario_result *res)
{
    size_t i;
    int aborted = 0;

    for (i = 0; i < sc->nsteps; i++) {
        size_t end = request_group_end(sc, i);

        if (!conf_interrupted && !aborted && end - i > 1) {
            run_request_group(r, sc, i, end, res);
            i = end - 1;
        } else if (conf_interrupted || aborted) {
            skip_step(sc, i, res);
        } else if (run_one_step(r, sc, i, res) < 0) {
            aborted = 1;
        }
    }
}

/* Pre-result of a scenario (spec §1.5): PASS means "run it". */
static enum conf_result selection(const struct run *r, const struct conf_scenario *sc, char **why)
{
    const struct conf_opts *o = r->o;
    size_t i;

    if (o->run_test && strcmp(o->run_test, sc->name) != 0) {
        *why = xstrdup("not the --run-test target");
        return CONF_SKIP;
    }
    if (sl_has(&o->skip_tests, sc->name)) {
        *why = xstrdup("listed in --skip-tests");
        return CONF_SKIP;
    }
    if (o->run_test)
        return CONF_PASS; /* --run-test bypasses the feature check */
    for (i = 0; i < sc->features.n; i++)
        if (!sl_has(&r->info->supported_features, sc->features.v[i])) {
            *why = xasprintf("the implementation does not support %s", sc->features.v[i]);
            return CONF_NOT_SUPPORTED;
        }
    return CONF_PASS;
}

/* The scenario's own fields of its result. */
static void result_header(const struct conf_scenario *sc, struct conf_scenario_result *res)
{
    size_t i;

    res->name = xstrdup(sc->name);
    res->description = sc->description ? xstrdup(sc->description) : NULL;
    res->profile = sc->profile ? xstrdup(sc->profile) : NULL;
    res->extended = sc->extended;
    res->provisional = sc->provisional;
    for (i = 0; i < sc->features.n; i++)
        conf_strlist_add(&res->features, sc->features.v[i]);
}

/* Apply the scenario's manifests: 0, or -1 with the scenario's ERROR recorded. */
static int apply_manifests(struct run *r, const struct conf_scenario *sc,
                           struct conf_scenario_result *res)
{
    enum conf_result cr = CONF_ERROR;
    char *why = NULL;
    size_t i;

    for (i = 0; i < sc->manifests.n; i++) {
        if (apply_one(r, &sc->manifests.v[i], &why) == 0)
            continue;
        if (conf_interrupted)
            mark_interrupted(&cr, &why);
        res->result = cr;
        res->message = why;
        progress("  ERROR %s: %s", sc->name, why);
        return -1;
    }
    return 0;
}

static void run_scenario(struct run *r, const struct conf_scenario *sc,
                         struct conf_scenario_result *res)
{
    double start = now_s();
    size_t mark = r->ncreated;
    char *why = NULL;
    enum conf_result pre;

    result_header(sc, res);
    pre = conf_interrupted ? CONF_SKIP : selection(r, sc, &why);
    if (conf_interrupted)
        why = not_run_interrupted();
    if (pre != CONF_PASS) {
        res->result = pre;
        res->message = why;
        progress("%s: %s (%s)", sc->name, result_word(pre), why);
        return;
    }
    progress("%s: %s", sc->name, sc->description ? sc->description : "");
    res->result = CONF_PASS;
    r->acc = &res->faults;
    r->generation_before = -1;
    free(r->last_addr);
    r->last_addr = NULL;
    if (apply_manifests(r, sc, res) == 0)
        run_steps(r, sc, res);
    if (r->o->cleanup_test)
        cleanup_from(r, mark, res);
    if (conf_interrupted && res->result == CONF_ERROR && !res->message)
        res->message = xasprintf("interrupted by %s", conf_signal_name(conf_interrupted));
    r->acc = &r->own;
    res->seconds = now_s() - start;
    progress("%s: %s (%.1fs)", sc->name, result_word(res->result), res->seconds);
}

/* ---- setup (spec §1.3, §1.4) --------------------------------------------- */

static int crd_gate(struct run *r, char *err, size_t errlen)
{
    struct kube_response resp = {0};
    const cJSON *item;
    char *version = NULL, *channel = NULL;
    int rc = -1, found = 0;

    if (klist(r, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", NULL, &resp) != 0) {
        snprintf(err, errlen, "cannot list CRDs: %s", resp.error);
        goto out;
    }
    cJSON_ArrayForEach(item, jget(resp.body, "items")) {
        const cJSON *an = jget(jget(item, "metadata"), "annotations");
        const char *v = jstr(an, GROUP "/bundle-version"), *c = jstr(an, GROUP "/channel");

        if (!v && !c)
            continue;
        if (!v || !c) {
            snprintf(err, errlen, "detected CRDs with partial version and channel annotations");
            goto mismatch;
        }
        found++;
        if (version && strcmp(version, v) != 0) {
            snprintf(err, errlen, "multiple gateway API CRDs versions detected (%s, %s)", version,
                     v);
            goto mismatch;
        }
        if (channel && strcmp(channel, c) != 0) {
            snprintf(err, errlen, "multiple gateway API CRDs channels detected (%s, %s)", channel,
                     c);
            goto mismatch;
        }
        if (!version)
            version = xstrdup(v);
        if (!channel)
            channel = xstrdup(c);
    }
    if (!found) {
        snprintf(err, errlen,
                 "no Gateway API CRDs with the proper annotations found in the "
                 "cluster: install the Gateway API CRDs first");
        goto mismatch;
    }
    if (strcmp(version, SUITE_VERSION) != 0) {
        snprintf(err, errlen,
                 "the installed CRDs version is different from the suite version (%s, scenarios "
                 "follow %s); --allow-crds-mismatch runs anyway",
                 version, SUITE_VERSION);
        goto mismatch;
    }
    r->info->gateway_api_version = version;
    r->info->gateway_api_channel = channel;
    version = channel = NULL;
    rc = 0;
    goto out;
mismatch:
    if (r->o->allow_crds_mismatch) {
        progress("warning: %s (--allow-crds-mismatch: the report says UNDEFINED)", err);
        r->info->gateway_api_version = xstrdup("UNDEFINED");
        r->info->gateway_api_channel = xstrdup("UNDEFINED");
        rc = 0;
    }
out:
    free(version);
    free(channel);
    kube_response_release(&resp);
    return rc;
}

/* Upstream's inference: the GatewayClass's status.supportedFeatures (spec §1.3 step 4). */
static int infer_features(struct run *r, char *err, size_t errlen)
{
    struct kube_response resp = {0};
    struct conf_strlist *sup = &r->info->supported_features;
    const cJSON *f;

    if (kget(r, GROUP "/v1", "GatewayClass", NULL, r->o->gateway_class, &resp) == 0)
        cJSON_ArrayForEach(f, jget(jget(resp.body, "status"), "supportedFeatures")) {
            const char *n = jstr(f, "name");

            if (n)
                sl_add_unique(sup, n);
        }
    kube_response_release(&resp);
    if (!sup->n && !r->o->profiles.n) {
        snprintf(err, errlen,
                 "no supported features were determined for test suite: GatewayClass %s lists "
                 "none in status.supportedFeatures; give --supported-features or "
                 "--conformance-profiles",
                 r->o->gateway_class);
        return -1;
    }
    return 0;
}

/* A --conformance-profiles entry: its core features become supported (spec §1.3 step 5). */
static int enable_profile(struct run *r, const char *name, char *err, size_t errlen)
{
    struct conf_strlist core = {NULL, 0}, ext = {NULL, 0};
    size_t j;

    if (!conf_profile_features(name, &core, &ext)) {
        snprintf(err, errlen,
                 "--conformance-profiles: unknown profile %s (GATEWAY-HTTP, GATEWAY-TLS, "
                 "GATEWAY-TCP, GATEWAY-UDP, GATEWAY-GRPC, MESH-HTTP, MESH-GRPC)",
                 name);
        return -1;
    }
    for (j = 0; j < core.n; j++)
        sl_add_unique(&r->info->supported_features, core.v[j]);
    for (j = 0; j < ext.n; j++)
        sl_add_unique(&r->info->all_extended_features_of_profiles, ext.v[j]);
    sl_add_unique(&r->info->profiles, name);
    conf_strlist_release(&core);
    conf_strlist_release(&ext);
    return 0;
}

static int resolve_features(struct run *r, const struct conf_scenario_list *l, char *err,
                            size_t errlen)
{
    const struct conf_opts *o = r->o;
    struct conf_strlist *sup = &r->info->supported_features;
    size_t i, j;

    for (i = 0; i < o->supported.n; i++)
        sl_add_unique(sup, o->supported.v[i]);
    if (o->all_features) {
        for (i = 0; i < l->n; i++)
            for (j = 0; j < l->v[i]->features.n; j++)
                sl_add_unique(sup, l->v[i]->features.v[j]);
        for (i = 0; conf_profile_name(i); i++) {
            struct conf_strlist ext = {NULL, 0};

            conf_profile_features(conf_profile_name(i), NULL, &ext);
            for (j = 0; j < ext.n; j++)
                sl_add_unique(sup, ext.v[j]);
            conf_strlist_release(&ext);
        }
    } else if (!o->supported.n && !o->exempt.n && !o->run_test &&
               infer_features(r, err, errlen) != 0) {
        return -1;
    }
    for (i = 0; i < o->exempt.n; i++)
        sl_remove(sup, o->exempt.v[i]);
    for (i = 0; i < o->profiles.n; i++)
        if (enable_profile(r, o->profiles.v[i], err, errlen) != 0)
            return -1;
    sl_sort(sup);
    return 0;
}

static int gatewayclass_accepted(struct run *r, char *err, size_t errlen)
{
    struct conf_wait w;
    char *why = NULL, *yield = NULL;
    int rc;

    memset(&w, 0, sizeof(w));
    w.kind = CONF_WAIT_GATEWAYCLASS_ACCEPTED;
    w.gateway_class = xstrdup(r->o->gateway_class);
    progress("waiting for GatewayClass %s to be Accepted", r->o->gateway_class);
    rc = run_wait(r, &w, &why, &yield);
    if (rc == 0 && yield) {
        r->controller_name = yield;
        yield = NULL;
        progress("GatewayClass %s accepted, controller %s", r->o->gateway_class,
                 r->controller_name);
    } else {
        snprintf(err, errlen, "GatewayClass %s is not Accepted: %s", r->o->gateway_class,
                 why ? why : "no answer");
        rc = -1;
    }
    free(w.gateway_class);
    free(why);
    free(yield);
    return rc;
}

/*
 * One kubernetes.io/tls Secret of spec §3.4: a leaf for dns, with its CA
 * appended to tls.crt (trusting tls.crt as the roots, as upstream's tests
 * do with their self-signed leaf, then verifies the chain). Created once: a
 * re-run keeps the old material, as upstream.
 */
static int tls_secret(struct run *r, const char *ns, const char *name, const char *const *dns,
                      char *err, size_t errlen)
{
    struct certs_pem ca = {0}, leaf = {0};
    struct certs_request req = {.common_name = "default", .dns = dns, .validity_days = 365};
    struct kube_response resp = {0};
    cJSON *sec, *data, *md;
    char cerr[256], *chain;
    int rc = -1;

    if (certs_create_ca("gatewayapi", 365, &ca, cerr, sizeof(cerr)) != 0 ||
        certs_issue(&ca, &req, &leaf, cerr, sizeof(cerr)) != 0) {
        snprintf(err, errlen, "cannot make the certificate of Secret %s/%s: %s", ns, name, cerr);
        goto out;
    }
    sec = cJSON_CreateObject();
    cJSON_AddStringToObject(sec, "apiVersion", "v1");
    cJSON_AddStringToObject(sec, "kind", "Secret");
    md = cJSON_AddObjectToObject(sec, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON_AddStringToObject(sec, "type", "kubernetes.io/tls");
    data = cJSON_AddObjectToObject(sec, "stringData");
    chain = xasprintf("%s%s", leaf.cert, ca.cert);
    cJSON_AddStringToObject(data, "tls.crt", chain);
    free(chain);
    cJSON_AddStringToObject(data, "tls.key", leaf.key);
    if (kobj(r, KV_CREATE, sec, &resp) != 0 && resp.status != 409) {
        snprintf(err, errlen, "cannot create Secret %s/%s: %s", ns, name, resp.error);
    } else {
        if (resp.status != 409)
            created_add(r, sec);
        rc = 0;
    }
    kube_response_release(&resp);
    cJSON_Delete(sec);
out:
    certs_pem_release(&ca);
    certs_pem_release(&leaf);
    return rc;
}

/* The TLS material of spec §3.4 that the base Gateways and the core
   scenarios use: the HTTPS listener's certificate, and the Secret in
   another namespace that the GatewaySecret* scenarios reference. */
static int base_certificates(struct run *r, char *err, size_t errlen)
{
    static const char *const listener[] = {"*", "*.org", "*.wildcard.org", NULL};
    static const char *const web[] = {"*", NULL};

    if (tls_secret(r, CONF_DEFAULT_NAMESPACE, "tls-validity-checks-certificate", listener, err,
                   errlen) != 0)
        return -1;
    return tls_secret(r, "gateway-conformance-web-backend", "certificate", web, err, errlen);
}

static int load_base(struct run *r, char *err, size_t errlen)
{
    char *path = xasprintf("%s/manifests.yaml", r->o->base_dir);
    int rc = conf_manifests_load_file(path, &r->base, err, errlen);

    free(path);
    return rc;
}

static int setup_base(struct run *r, char *err, size_t errlen)
{
    struct conf_wait w;
    char *why = NULL, *yield = NULL;
    size_t i;

    progress("applying the base environment (%zu objects from %s)", r->base.n, r->o->base_dir);
    for (i = 0; i < r->base.n; i++) {
        if (apply_one(r, &r->base.v[i], &why) != 0) {
            snprintf(err, errlen, "%s", why);
            free(why);
            return -1;
        }
    }
    if (base_certificates(r, err, errlen) != 0)
        return -1;
    memset(&w, 0, sizeof(w));
    w.kind = CONF_WAIT_NAMESPACES_READY;
    conf_strlist_add(&w.namespaces, "gateway-conformance-infra");
    conf_strlist_add(&w.namespaces, "gateway-conformance-app-backend");
    conf_strlist_add(&w.namespaces, "gateway-conformance-web-backend");
    progress("waiting for the base namespaces to be ready (Gateways programmed, Pods ready)");
    if (run_wait(r, &w, &why, &yield) != 0) {
        snprintf(err, errlen, "base namespaces not ready: %s", why ? why : "");
        free(why);
        free(yield);
        for (i = 0; i < w.namespaces.n; i++)
            free(w.namespaces.v[i]);
        free(w.namespaces.v);
        return -1;
    }
    free(why);
    free(yield);
    for (i = 0; i < w.namespaces.n; i++)
        free(w.namespaces.v[i]);
    free(w.namespaces.v);
    progress("base environment ready");
    return 0;
}

/* Scenarios, base manifests and the --run-test target: all input, before the cluster. */
static int load_input(struct run *r, struct conf_scenario_list *list, char *err, size_t errlen)
{
    size_t i;

    if (conf_scenarios_load_dir(r->o->scenarios_dir, list, err, errlen) != 0 ||
        load_base(r, err, errlen) != 0)
        return -1;
    if (r->o->run_test) {
        for (i = 0; i < list->n && strcmp(list->v[i]->name, r->o->run_test) != 0; i++)
            ;
        if (i == list->n) {
            snprintf(err, errlen, "--run-test: test %s does not exist (gwconform list)",
                     r->o->run_test);
            return -1;
        }
    }
    return 0;
}

/* The client, the CRD gate, the features, the GatewayClass. */
static int open_cluster(struct run *r, const struct conf_scenario_list *list, char *err,
                        size_t errlen)
{
    struct kube_load_opts lo = {.kubeconfig = r->o->kubeconfig, .context = r->o->context};
    struct kube_config *kcfg = NULL;
    struct sbuf sb = {0};
    char kerr[KUBE_ERR_MAX];
    size_t i;

    if (kube_config_load(&lo, &kcfg, kerr, sizeof(kerr)) != 0 ||
        !(r->kc = kube_client_new(kcfg, NULL, kerr, sizeof(kerr)))) {
        snprintf(err, errlen, "%s", kerr);
        return -1;
    }
    progress("gwconform: %zu scenarios from %s; cluster %s", list->n, r->o->scenarios_dir,
             kube_client_config(r->kc)->server);
    if (crd_gate(r, err, errlen) != 0 || resolve_features(r, list, err, errlen) != 0 ||
        gatewayclass_accepted(r, err, errlen) != 0)
        return -1;
    for (i = 0; i < r->info->supported_features.n; i++)
        sb_printf(&sb, "%s%s", i ? "," : "", r->info->supported_features.v[i]);
    progress("supported features: %s", sb.buf ? sb.buf : "(none)");
    sb_release(&sb);
    return 0;
}

static void forget_created(struct run *r)
{
    while (r->ncreated > 0) {
        struct created *c = &r->created[--r->ncreated];

        free(c->api_version);
        free(c->kind);
        free(c->ns);
        free(c->name);
    }
}

static void run_release(struct run *r)
{
    size_t i;

    kube_client_free(&r->kc);
    conf_manifests_release(&r->base);
    forget_created(r);
    free(r->created);
    for (i = 0; i < r->addr.n; i++) {
        free(r->addr.v[i].name);
        free(r->addr.v[i].value);
    }
    free(r->addr.v);
    free(r->last_addr);
    free(r->controller_name);
    conf_faults_release(&r->own);
}

/* ---- parallel scenarios (--parallel N) ------------------------------------ */

struct pool {
    struct run *main;
    const struct conf_scenario_list *list;
    struct conf_scenario_result *results;
    pthread_mutex_t lock;
    size_t next;
    int failed; /* a worker could not make its client */
    char err[KUBE_ERR_MAX];
};

/* The next parallel scenario's index, or list->n when none is left. */
static size_t pool_take(struct pool *p)
{
    size_t i;

    pthread_mutex_lock(&p->lock);
    while (p->next < p->list->n && !p->list->v[p->next]->parallel)
        p->next++;
    i = p->next < p->list->n ? p->next++ : p->list->n;
    pthread_mutex_unlock(&p->lock);
    return i;
}

/* A worker: its own client, created objects and addresses; shared options,
   run info and controller name, which no scenario writes. */
static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    struct run w;
    struct kube_load_opts lo = {.kubeconfig = p->main->o->kubeconfig,
                                .context = p->main->o->context};
    struct kube_config *kcfg = NULL;
    char kerr[KUBE_ERR_MAX];
    size_t i;

    memset(&w, 0, sizeof(w));
    w.o = p->main->o;
    w.info = p->main->info;
    if (kube_config_load(&lo, &kcfg, kerr, sizeof(kerr)) != 0 ||
        !(w.kc = kube_client_new(kcfg, NULL, kerr, sizeof(kerr)))) {
        pthread_mutex_lock(&p->lock);
        p->failed = 1;
        snprintf(p->err, sizeof(p->err), "%s", kerr);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    w.controller_name = p->main->controller_name; /* read only; the main run frees it */
    w.api_seen = 1;                               /* the main run's client reached it */
    w.acc = &w.own;
    while ((i = pool_take(p)) < p->list->n)
        run_scenario(&w, p->list->v[i], &p->results[i]);
    w.controller_name = NULL;
    run_release(&w);
    return NULL;
}

static int run_parallel(struct run *r, const struct conf_scenario_list *list,
                        struct conf_scenario_result *results, char *err, size_t errlen)
{
    struct pool p;
    pthread_t *t;
    size_t i, n = 0, want = 0;

    for (i = 0; i < list->n; i++)
        want += list->v[i]->parallel != 0;
    if (!want)
        return 0;
    memset(&p, 0, sizeof(p));
    p.main = r;
    p.list = list;
    p.results = results;
    pthread_mutex_init(&p.lock, NULL);
    if ((size_t)r->o->parallel < want)
        want = (size_t)r->o->parallel;
    progress("running the parallel scenarios, %zu at a time", want);
    t = xcalloc(want, sizeof(*t));
    for (i = 0; i < want; i++)
        if (pthread_create(&t[n], NULL, pool_worker, &p) == 0)
            n++;
    for (i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&p.lock);
    if (p.failed || n == 0) {
        snprintf(err, errlen, "parallel workers: %s", n ? p.err : "cannot start a thread");
        return -1;
    }
    return 0;
}

/* A signal stopped the setup: every scenario is reported skipped, not run. */
static void results_not_run(const struct conf_scenario_list *list,
                            struct conf_scenario_result **results, size_t *n)
{
    size_t i;

    *results = xcalloc(list->n ? list->n : 1, sizeof(**results));
    *n = list->n;
    for (i = 0; i < list->n; i++) {
        result_header(list->v[i], &(*results)[i]);
        (*results)[i].result = CONF_SKIP;
        (*results)[i].message = xasprintf("not run: interrupted by %s during the setup",
                                          conf_signal_name(conf_interrupted));
    }
}

/* The scenarios, once the base environment is ready: 0, or -1 when the parallel pool failed. */
static int run_scenarios(struct run *r, const struct conf_scenario_list *list,
                         struct conf_scenario_result **results, size_t *n, char *err, size_t errlen)
{
    const struct conf_opts *o = r->o;
    size_t i;
    int rc;

    *results = xcalloc(list->n ? list->n : 1, sizeof(**results));
    *n = list->n;
    /* serial scenarios first, in order; then the parallel ones, as
       upstream's paused t.Parallel() subtests run after the loop */
    for (i = 0; i < list->n; i++)
        if (o->parallel <= 1 || !list->v[i]->parallel)
            run_scenario(r, list->v[i], &(*results)[i]);
    rc = o->parallel > 1 ? run_parallel(r, list, *results, err, errlen) : 0;
    for (i = 0; i < list->n; i++) /* what a failed pool did not reach */
        if (!(*results)[i].name) {
            (*results)[i].name = xstrdup(list->v[i]->name);
            (*results)[i].result = CONF_ERROR;
            (*results)[i].message = xasprintf("not run: %s", err);
        }
    return rc;
}

/* The run's faults: setup and cleanup's, and every scenario's; the signal, if any. */
static void sum_faults(const struct run *r, struct conf_run_info *info,
                       const struct conf_scenario_result *results, size_t n)
{
    size_t i;

    conf_faults_add(&info->faults, &r->own);
    for (i = 0; i < n; i++)
        conf_faults_add(&info->faults, &results[i].faults);
    info->interrupted = conf_interrupted;
}

int conf_run(const struct conf_opts *o, struct conf_run_info *info,
             struct conf_scenario_result **results, size_t *nresults, char *err, size_t errlen)
{
    struct run r;
    struct conf_scenario_list list = {NULL, 0};
    int rc = -1;

    t0 = now_s();
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.info = info;
    r.acc = &r.own;
    *results = NULL;
    *nresults = 0;
    info->started = time(NULL);
    info->mode = xstrdup(o->mode);
    info->gateway_class = xstrdup(o->gateway_class);
    if (load_input(&r, &list, err, errlen) != 0)
        goto out;
    if (open_cluster(&r, &list, err, errlen) != 0 || setup_base(&r, err, errlen) != 0) {
        if (conf_interrupted)
            results_not_run(&list, results, nresults);
    } else {
        r.base_created = r.ncreated;
        rc = run_scenarios(&r, &list, results, nresults, err, errlen);
    }
    if (o->cleanup_base && r.ncreated > 0) {
        progress("removing the base environment");
        cleanup_from(&r, 0, NULL);
    }
out:
    sum_faults(&r, info, *results, *nresults);
    info->seconds = now_s() - t0;
    run_release(&r);
    conf_scenario_list_release(&list);
    return rc;
}

int conf_list(const char *dir, char *err, size_t errlen)
{
    struct conf_scenario_list list = {NULL, 0};
    size_t i, j;

    if (conf_scenarios_load_dir(dir, &list, err, errlen) != 0)
        return -1;
    printf("%-52s %-13s %-9s %s\n", "SCENARIO", "PROFILE", "LEVEL", "FEATURES");
    for (i = 0; i < list.n; i++) {
        const struct conf_scenario *s = list.v[i];

        printf("%-52s %-13s %-9s ", s->name, s->profile ? s->profile : "-",
               s->extended ? "extended" : "core");
        for (j = 0; j < s->features.n; j++)
            printf("%s%s", j ? "," : "", s->features.v[j]);
        printf("%s\n", s->provisional ? " (provisional)" : "");
    }
    printf("%zu scenarios\n", list.n);
    conf_scenario_list_release(&list);
    return 0;
}

/*
 * `gwhook serve`'s cross-object checks (include/crosscheck.h): the watch
 * cache, the checks on it, the confirmation of findings by fresh reads, and
 * the metrics of both.
 */
#include "crosscheck.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"
#include "log.h"
#include "util.h"

#define CONFIRM_TIMEOUT_MS 2000 /* the API server gives the whole review 5 s */

enum confirm_result { CONFIRMED, OVERTURNED, CONFIRM_FAILED, NCONFIRM };

struct crosscheck {
    struct xcheck_config cfg;
    struct wcache_opts wopts;
    struct wcache *wc;
    pthread_mutex_t live_lock;
    struct kube_client *live;           /* fresh reads, under live_lock; made at first use */
    atomic_ulong findings[XCHECK_N][2]; /* [check][0 warn, 1 deny] */
    atomic_ulong confirm[NCONFIRM];
    atomic_ulong skipped; /* reviews before the first sync */
};

/* The checks whose findings rest on objects a fresh read can confirm. */
static int confirmable(enum xcheck_id id)
{
    return id == XCHECK_PARENT_LISTENER || id == XCHECK_REFERENCE_GRANT ||
           id == XCHECK_BACKEND_EXISTS || id == XCHECK_PARENT_EXISTS;
}

static int check_of(const struct verr *e)
{
    int i;

    for (i = 0; i < XCHECK_N; i++)
        if (e->rule && strcmp(e->rule, xcheck_name((enum xcheck_id)i)) == 0)
            return i;
    return -1;
}

static void watch_log(void *arg, int level, const char *kind, const char *msg)
{
    static const enum log_level map[] = {LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR};

    (void)arg;
    if (level < 0 || level > WCACHE_LOG_ERROR)
        level = WCACHE_LOG_ERROR;
    log_msg(map[level], "watch %s: %s", kind ? kind : "-", msg);
}

struct crosscheck *crosscheck_start(const struct xcheck_config *cfg,
                                    const struct wcache_opts *wopts, char *err, size_t errlen)
{
    struct crosscheck *cc = xcalloc(1, sizeof(*cc));

    cc->cfg = *cfg;
    cc->wopts = *wopts;
    if (!cc->wopts.log)
        cc->wopts.log = watch_log;
    cc->wc = wcache_new();
    pthread_mutex_init(&cc->live_lock, NULL);
    if (wcache_start(cc->wc, &cc->wopts, err, errlen) != 0) {
        crosscheck_free(&cc);
        return NULL;
    }
    return cc;
}

void crosscheck_free(struct crosscheck **pcc)
{
    struct crosscheck *cc = pcc ? *pcc : NULL;

    if (!cc)
        return;
    wcache_free(&cc->wc);
    kube_client_free(&cc->live);
    pthread_mutex_destroy(&cc->live_lock);
    free(cc);
    *pcc = NULL;
}

int crosscheck_not_ready(void *arg, char *why, size_t len)
{
    const struct crosscheck *cc = arg;
    struct sbuf sb = {0};
    size_t k;

    if (wcache_synced(cc->wc))
        return 0;
    sb_puts(&sb, "watch cache not synced yet (cross-object checks): not listed yet:");
    for (k = 0; k < WCACHE_NKINDS; k++) {
        struct wcache_kind_stats st;

        if (wcache_stats(cc->wc, (enum wcache_kind)k, &st) == 0 && st.served != 0 && !st.synced)
            sb_printf(&sb, " %s%s", st.kind, st.errors ? " (failing: see the log)" : "");
    }
    snprintf(why, len, "%s", sb.buf);
    sb_release(&sb);
    return 1;
}

/* ---- confirmation: the objects a finding rests on, read fresh ---- */

struct ref {
    char *kind, *ns, *name; /* name NULL: every ReferenceGrant of ns */
};

struct refs {
    struct ref *item;
    size_t len, alloc;
};

static void ref_add(const char *kind, const char *ns, const char *name, void *arg)
{
    struct refs *r = arg;
    size_t i;

    for (i = 0; i < r->len; i++) {
        const struct ref *x = &r->item[i];

        if (!strcmp(x->kind, kind) && !strcmp(x->ns, ns ? ns : "") &&
            (x->name == name || (x->name && name && !strcmp(x->name, name))))
            return;
    }
    if (r->len == r->alloc) {
        r->alloc = r->alloc ? r->alloc * 2 : 8;
        r->item = xrealloc(r->item, r->alloc * sizeof(*r->item));
    }
    r->item[r->len].kind = xstrdup(kind);
    r->item[r->len].ns = xstrdup(ns ? ns : "");
    r->item[r->len].name = name ? xstrdup(name) : NULL;
    r->len++;
}

static void refs_release(struct refs *r)
{
    size_t i;

    for (i = 0; i < r->len; i++) {
        free(r->item[i].kind);
        free(r->item[i].ns);
        free(r->item[i].name);
    }
    free(r->item);
}

static int core_kind(const char *kind)
{
    return !strcmp(kind, "Service") || !strcmp(kind, "Namespace");
}

/* Put what a GET or LIST answered into tmp. */
static void keep(struct wcache *tmp, const char *kind, const cJSON *body, struct refs *more)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(body, "items"), *it;

    if (!items) {
        cJSON *o = cJSON_Duplicate(body, 1);

        if (!strcmp(kind, "ListenerSet"))
            xcheck_refs(o, ref_add, more); /* and its Gateway */
        wcache_put(tmp, o);
        return;
    }
    cJSON_ArrayForEach(it, items) {
        cJSON *o = cJSON_Duplicate(it, 1);

        if (!cJSON_GetObjectItemCaseSensitive(o, "kind"))
            cJSON_AddStringToObject(o, "kind", kind);
        wcache_put(tmp, o);
    }
}

/* One fresh read into tmp: 0 (found or not found), -1 with err. */
static int fetch(struct kube_client *c, const struct ref *r, struct wcache *tmp, struct refs *more,
                 char *err, size_t errlen)
{
    static const char *const gw_versions[] = {"gateway.networking.k8s.io/v1",
                                              "gateway.networking.k8s.io/v1beta1"};
    struct kube_response resp = {0};
    size_t v, nv = core_kind(r->kind) ? 1 : ARRAY_SIZE(gw_versions);
    int rc = 0;

    for (v = 0; v < nv; v++) {
        const char *av = core_kind(r->kind) ? "v1" : gw_versions[v];

        if (r->name)
            rc = kube_get(c, av, r->kind, r->ns, r->name, &resp);
        else
            rc = kube_list_all(c, av, r->kind, r->ns, NULL, &resp);
        if (rc == 0 || resp.failure != KUBE_FAIL_NOT_SERVED)
            break;
    }
    if (rc == 0)
        keep(tmp, r->kind, resp.body, more);
    else if (resp.failure == KUBE_FAIL_NOT_SERVED || resp.status == 404)
        rc = 0; /* does not exist: the checks will say so */
    else
        snprintf(err, errlen, "%s", resp.error ? resp.error : "request failed");
    kube_response_release(&resp);
    return rc;
}

static struct kube_client *live_client(struct crosscheck *cc, char *err, size_t errlen)
{
    struct kube_client_opts o = {0};
    struct kube_config *cfg = NULL;

    if (cc->live)
        return cc->live;
    o.connect_timeout_ms = CONFIRM_TIMEOUT_MS;
    o.timeout_ms = CONFIRM_TIMEOUT_MS;
    o.max_retries = -1;
    if (kube_config_load(&cc->wopts.load, &cfg, err, errlen) != 0)
        return NULL;
    cc->live = kube_client_new(cfg, &o, err, errlen);
    return cc->live;
}

/* Read every object obj's confirmable findings rest on into tmp. */
static int fetch_all(struct crosscheck *cc, const cJSON *obj, struct wcache *tmp, char *err,
                     size_t errlen)
{
    struct refs r = {0};
    struct kube_client *c;
    size_t i;
    int rc = 0;

    xcheck_refs(obj, ref_add, &r);
    pthread_mutex_lock(&cc->live_lock);
    c = live_client(cc, err, errlen);
    if (!c)
        rc = -1;
    for (i = 0; c && i < r.len && rc == 0; i++) /* r grows as ListenerSets name Gateways */
        rc = fetch(c, &r.item[i], tmp, &r, err, errlen);
    pthread_mutex_unlock(&cc->live_lock);
    refs_release(&r);
    return rc;
}

/* Move found's items into out, except the confirmable ones when drop_confirmable. */
static void take(struct verr_list *out, struct verr_list *found, int drop_confirmable)
{
    struct verr_list keep_list = VERR_LIST_INIT;
    size_t i;

    for (i = 0; i < found->len; i++) {
        struct verr *e = &found->item[i];
        int id = check_of(e);

        if (drop_confirmable && id >= 0 && confirmable((enum xcheck_id)id))
            continue;
        verr_add(&keep_list, e->type, e->field, e->value, "%s", e->detail)->rule = e->rule;
        keep_list.item[keep_list.len - 1].level = e->level;
    }
    verr_splice(out, &keep_list);
    verr_list_release(&keep_list);
}

/* The read failed: a cached finding may be stale, so it only warns, and says why. */
static void downgrade(struct verr_list *found, const char *why)
{
    size_t i;

    for (i = 0; i < found->len; i++) {
        struct verr *e = &found->item[i];
        int id = check_of(e);

        if (id < 0 || !confirmable((enum xcheck_id)id))
            continue;
        if (e->level == VERR_ERROR) {
            char *d = xasprintf("%s (not denied: the watch cache could not be confirmed with the "
                                "API server: %s)",
                                e->detail, why);

            free(e->detail);
            e->detail = d;
            e->level = VERR_WARNING;
        }
    }
}

static int any_confirmable(const struct verr_list *l)
{
    size_t i;

    for (i = 0; i < l->len; i++) {
        int id = check_of(&l->item[i]);

        if (id >= 0 && confirmable((enum xcheck_id)id))
            return 1;
    }
    return 0;
}

/* Re-run the confirmable checks on fresh objects; their findings replace the cache's. */
static void confirm(struct crosscheck *cc, const cJSON *obj, const cJSON *old, enum validate_op op,
                    struct verr_list *found)
{
    struct wcache *tmp = wcache_new();
    struct xcheck_config only = cc->cfg;
    struct verr_list fresh = VERR_LIST_INIT;
    char err[512] = "";
    int i;

    if (fetch_all(cc, obj, tmp, err, sizeof(err)) != 0) {
        atomic_fetch_add(&cc->confirm[CONFIRM_FAILED], 1);
        log_msg(LOGL_WARN, "cross-object checks: cannot confirm a finding: %s", err);
        downgrade(found, err);
        wcache_free(&tmp);
        return;
    }
    for (i = 0; i < XCHECK_N; i++)
        if (!confirmable((enum xcheck_id)i))
            only.mode[i] = XCHECK_OFF;
    xcheck_run(&only, tmp, obj, old, op, &fresh);
    atomic_fetch_add(&cc->confirm[any_confirmable(&fresh) ? CONFIRMED : OVERTURNED], 1);
    take(&fresh, found, 1); /* the other checks' findings, after the fresh ones */
    verr_list_release(found);
    *found = fresh;
    wcache_free(&tmp);
}

size_t crosscheck_review(void *arg, const cJSON *obj, const cJSON *old, enum validate_op op,
                         struct verr_list *out)
{
    struct crosscheck *cc = arg;
    struct verr_list found = VERR_LIST_INIT;
    size_t i, n;

    if (!wcache_synced(cc->wc)) { /* /readyz says so: the API server should not be here */
        atomic_fetch_add(&cc->skipped, 1);
        return 0;
    }
    if (xcheck_run(&cc->cfg, cc->wc, obj, old, op, &found) == 0)
        return 0;
    if (any_confirmable(&found))
        confirm(cc, obj, old, op, &found);
    for (i = 0; i < found.len; i++) {
        int id = check_of(&found.item[i]);

        if (id >= 0)
            atomic_fetch_add(&cc->findings[id][found.item[i].level == VERR_ERROR], 1);
    }
    n = found.len;
    take(out, &found, 0);
    verr_list_release(&found);
    return n;
}

/* ---- metrics ---- */

static void help(struct sbuf *sb, const char *name, const char *type, const char *text)
{
    sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void kind_metric(struct sbuf *sb, const struct wcache_kind_stats *st, size_t n,
                        const char *name, const char *type, const char *text, size_t off,
                        int is_size)
{
    size_t k;

    help(sb, name, type, text);
    for (k = 0; k < n; k++) {
        const char *p = (const char *)&st[k] + off;
        unsigned long v = is_size ? (unsigned long)*(const size_t *)(const void *)p
                                  : *(const unsigned long *)(const void *)p;

        sb_printf(sb, "%s{kind=\"%s\"} %lu\n", name, st[k].kind, v);
    }
}

static void watch_metrics(struct sbuf *sb, const struct crosscheck *cc)
{
    struct wcache_kind_stats st[WCACHE_NKINDS];
    size_t k, n = 0;

    for (k = 0; k < WCACHE_NKINDS; k++)
        if (wcache_stats(cc->wc, (enum wcache_kind)k, &st[n]) == 0 && st[n].served != 0)
            n++;
    help(sb, "gatecheck_cache_synced", "gauge",
         "1 once the watch cache has listed every served kind (readiness waits for it).");
    sb_printf(sb, "gatecheck_cache_synced %d\n", wcache_synced(cc->wc));
    help(sb, "gatecheck_cache_bytes", "gauge", "Bytes held by the watch cache (objects, indexes).");
    sb_printf(sb, "gatecheck_cache_bytes %zu\n", wcache_bytes(cc->wc));
    kind_metric(sb, st, n, "gatecheck_cache_objects", "gauge", "Objects in the watch cache.",
                offsetof(struct wcache_kind_stats, objects), 1);
    help(sb, "gatecheck_watch_up", "gauge", "1 while a watch stream is open for the kind.");
    for (k = 0; k < n; k++)
        sb_printf(sb, "gatecheck_watch_up{kind=\"%s\"} %d\n", st[k].kind, st[k].connected);
    kind_metric(sb, st, n, "gatecheck_watch_events_total", "counter", "Watch events received.",
                offsetof(struct wcache_kind_stats, events), 0);
    kind_metric(sb, st, n, "gatecheck_watch_lists_total", "counter",
                "Full lists (the first and re-lists).", offsetof(struct wcache_kind_stats, lists),
                0);
    kind_metric(sb, st, n, "gatecheck_watch_relists_gone_total", "counter",
                "Re-lists because the resourceVersion was too old (410 Gone).",
                offsetof(struct wcache_kind_stats, relists_gone), 0);
    kind_metric(sb, st, n, "gatecheck_watch_restarts_total", "counter",
                "Watches started again after the stream ended.",
                offsetof(struct wcache_kind_stats, restarts), 0);
    kind_metric(sb, st, n, "gatecheck_watch_errors_total", "counter",
                "Failed lists and watches (each followed by a backoff).",
                offsetof(struct wcache_kind_stats, errors), 0);
    help(sb, "gatecheck_watch_last_event_timestamp_seconds", "gauge",
         "Unix time of the last watch event (0: none yet).");
    for (k = 0; k < n; k++)
        sb_printf(sb, "gatecheck_watch_last_event_timestamp_seconds{kind=\"%s\"} %lld\n",
                  st[k].kind, (long long)st[k].last_event);
}

void crosscheck_metrics(struct sbuf *out, void *arg)
{
    static const char *const results[NCONFIRM] = {"confirmed", "overturned", "failed"};
    struct crosscheck *cc = arg;
    int i;

    watch_metrics(out, cc);
    help(out, "gatecheck_crosscheck_findings_total", "counter",
         "Cross-object findings reported, by check and mode (deny or warn).");
    for (i = 0; i < XCHECK_N; i++) {
        const char *name = xcheck_name((enum xcheck_id)i);

        sb_printf(out, "gatecheck_crosscheck_findings_total{check=\"%s\",mode=\"warn\"} %lu\n",
                  name, atomic_load(&cc->findings[i][0]));
        sb_printf(out, "gatecheck_crosscheck_findings_total{check=\"%s\",mode=\"deny\"} %lu\n",
                  name, atomic_load(&cc->findings[i][1]));
    }
    help(out, "gatecheck_crosscheck_confirmations_total", "counter",
         "Findings of the cache re-checked against fresh reads, by result.");
    for (i = 0; i < NCONFIRM; i++)
        sb_printf(out, "gatecheck_crosscheck_confirmations_total{result=\"%s\"} %lu\n", results[i],
                  atomic_load(&cc->confirm[i]));
    help(out, "gatecheck_crosscheck_skipped_total", "counter",
         "Reviews before the cache's first sync, judged without cross-object checks.");
    sb_printf(out, "gatecheck_crosscheck_skipped_total %lu\n", atomic_load(&cc->skipped));
}

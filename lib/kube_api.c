/* Kinds to REST paths through discovery, and the verbs on them: get, list,
   create, update, merge patch, server-side apply, delete, watch (spec
   ecosystem.md §6.3-§6.7). The transport is lib/kube.c's. */
#include "kube.h"
#include "kube_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_ALL_PAGE      500
#define LIST_ALL_MAX_PAGES 100000
#define WATCH_TIMEOUT_S    300
#define WATCH_SLACK_S      30

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

/* Percent-encode all but RFC 3986's unreserved characters. */
static void put_escaped(struct sbuf *sb, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~')
            sb_putc(sb, (char)ch);
        else
            sb_printf(sb, "%%%02X", ch);
    }
}

static void put_segment(struct sbuf *sb, const char *s)
{
    sb_putc(sb, '/');
    put_escaped(sb, s);
}

char *kube_rest_path(const char *api_version, const char *resource, int namespaced, const char *ns,
                     const char *name, const char *subresource)
{
    const char *slash = strchr(api_version, '/');
    struct sbuf sb = {0};

    if (slash) {
        char *group = xstrndup(api_version, (size_t)(slash - api_version));

        sb_puts(&sb, "/apis");
        put_segment(&sb, group);
        put_segment(&sb, slash + 1);
        free(group);
    } else {
        sb_puts(&sb, "/api");
        put_segment(&sb, api_version);
    }
    if (namespaced && ns && *ns) {
        sb_puts(&sb, "/namespaces");
        put_segment(&sb, ns);
    }
    put_segment(&sb, resource);
    if (name && *name)
        put_segment(&sb, name);
    if (subresource && *subresource)
        put_segment(&sb, subresource);
    return sb_detach(&sb);
}

static void query_add(struct sbuf *path, const char *key, const char *value)
{
    sb_putc(path, strchr(path->buf, '?') ? '&' : '?');
    put_escaped(path, key);
    sb_putc(path, '=');
    put_escaped(path, value);
}

/* ---- discovery ---- */

static int valid_api_version(const char *v)
{
    const char *slash = strchr(v, '/');

    if (!*v || slash == v || (slash && (!slash[1] || strchr(slash + 1, '/'))))
        return 0;
    return strcspn(v, " \t\r\n?#%") == strlen(v);
}

static struct kube_gv *gv_slot(struct kube_client *c, const char *gv)
{
    size_t i;

    for (i = 0; i < c->ngv; i++)
        if (strcmp(c->gv[i].gv, gv) == 0)
            return &c->gv[i];
    c->gv = xrealloc(c->gv, (c->ngv + 1) * sizeof(*c->gv));
    c->gv[c->ngv].gv = xstrdup(gv);
    c->gv[c->ngv].resources = NULL;
    return &c->gv[c->ngv++];
}

static void not_served(struct kube_response *resp, const char *api_version, const char *kind)
{
    kube_fail(resp, KUBE_FAIL_NOT_SERVED,
              "the server does not serve kind %s in apiVersion %s: are the CRDs installed?", kind,
              api_version);
}

/* GET the group-version's APIResourceList into the cache. */
static int gv_fetch(struct kube_client *c, struct kube_gv *g, const char *kind,
                    struct kube_response *resp)
{
    char *path = strchr(g->gv, '/') ? xasprintf("/apis/%s", g->gv) : xasprintf("/api/%s", g->gv);
    cJSON *res;
    int rc = kube_request(c, "GET", path, NULL, NULL, 0, resp);

    free(path);
    if (rc != 0) {
        if (resp->status == 404)
            not_served(resp, g->gv, kind);
        return -1;
    }
    res = cJSON_DetachItemFromObjectCaseSensitive(resp->body, "resources");
    if (!cJSON_IsArray(res)) {
        cJSON_Delete(res);
        kube_fail(resp, KUBE_FAIL_RESPONSE, "the discovery document of %s has no resources list",
                  g->gv);
        return -1;
    }
    cJSON_Delete(g->resources);
    g->resources = res;
    kube_response_release(resp);
    return 0;
}

static const cJSON *gv_lookup(const struct kube_gv *g, const char *kind)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, g->resources) {
        const char *name = jstr(r, "name"), *k = jstr(r, "kind");

        if (name && k && !strchr(name, '/') && strcmp(k, kind) == 0)
            return r;
    }
    return NULL;
}

/* The plural resource name and scope of a kind; a cache miss fetches again once. */
static int resolve_kind(struct kube_client *c, const char *api_version, const char *kind,
                        char **resource, int *namespaced, struct kube_response *resp)
{
    struct kube_gv *g;
    const cJSON *r;
    int attempt;

    if (!api_version || !kind || !*kind || !valid_api_version(api_version)) {
        kube_fail(resp, KUBE_FAIL_USAGE, "invalid apiVersion '%s' or kind '%s'",
                  api_version ? api_version : "", kind ? kind : "");
        return -1;
    }
    g = gv_slot(c, api_version);
    for (attempt = 0; attempt < 2; attempt++) {
        if ((!g->resources || attempt == 1) && gv_fetch(c, g, kind, resp) != 0)
            return -1;
        r = gv_lookup(g, kind);
        if (r) {
            *resource = xstrdup(jstr(r, "name"));
            *namespaced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "namespaced"));
            return 0;
        }
    }
    not_served(resp, api_version, kind);
    return -1;
}

char *kube_path(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
                const char *name, const char *subresource, struct kube_response *resp)
{
    char *resource, *path;
    int namespaced;

    kube_response_release(resp);
    if (resolve_kind(c, api_version, kind, &resource, &namespaced, resp) != 0)
        return NULL;
    if (namespaced && !ns)
        ns = kube_client_namespace(c);
    path = kube_rest_path(api_version, resource, namespaced, ns, name, subresource);
    free(resource);
    return path;
}

/* ---- reading ---- */

int kube_get(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
             const char *name, struct kube_response *resp)
{
    char *path;
    int rc;

    if (!name || !*name) {
        kube_response_release(resp);
        kube_fail(resp, KUBE_FAIL_USAGE, "get %s: no name given", kind ? kind : "");
        return -1;
    }
    path = kube_path(c, api_version, kind, ns, name, NULL, resp);
    if (!path)
        return -1;
    rc = kube_request(c, "GET", path, NULL, NULL, 0, resp);
    free(path);
    return rc;
}

int kube_list(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
              const struct kube_list_opts *opts, struct kube_response *resp)
{
    static const struct kube_list_opts none;
    struct sbuf path = {0};
    char *p = kube_path(c, api_version, kind, ns, NULL, NULL, resp);
    int rc;

    if (!p)
        return -1;
    if (!opts)
        opts = &none;
    sb_puts(&path, p);
    free(p);
    if (opts->label_selector)
        query_add(&path, "labelSelector", opts->label_selector);
    if (opts->field_selector)
        query_add(&path, "fieldSelector", opts->field_selector);
    if (opts->limit > 0)
        sb_printf(&path, "%climit=%ld", strchr(path.buf, '?') ? '&' : '?', opts->limit);
    if (opts->continue_token && *opts->continue_token)
        query_add(&path, "continue", opts->continue_token);
    rc = kube_request(c, "GET", path.buf, NULL, NULL, 0, resp);
    sb_release(&path);
    return rc;
}

/* Move page's items to the end of all's items. */
static void gather_items(cJSON *all, cJSON *page)
{
    cJSON *dst = cJSON_GetObjectItemCaseSensitive(all, "items");
    cJSON *src = cJSON_GetObjectItemCaseSensitive(page, "items");

    if (!cJSON_IsArray(dst)) {
        cJSON_DeleteItemFromObjectCaseSensitive(all, "items");
        dst = cJSON_AddArrayToObject(all, "items");
    }
    while (cJSON_IsArray(src) && cJSON_GetArraySize(src) > 0)
        cJSON_AddItemToArray(dst, cJSON_DetachItemFromArray(src, 0));
}

static char *continue_of(const cJSON *list)
{
    const char *s = jstr(cJSON_GetObjectItemCaseSensitive(list, "metadata"), "continue");

    return s ? xstrdup(s) : NULL;
}

/* The next page into page; on failure page's error moves to all. */
static int next_page(struct kube_client *c, const char *api_version, const char *kind,
                     const char *ns, struct kube_list_opts *o, long pages,
                     struct kube_response *all, struct kube_response *page)
{
    if (pages > LIST_ALL_MAX_PAGES) {
        kube_response_release(all);
        kube_fail(all, KUBE_FAIL_RESPONSE, "list %s: more than %d pages", kind, LIST_ALL_MAX_PAGES);
        return -1;
    }
    if (kube_list(c, api_version, kind, ns, o, page) != 0) {
        kube_response_release(all);
        *all = *page;
        memset(page, 0, sizeof(*page));
        return -1;
    }
    return 0;
}

int kube_list_all(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
                  const struct kube_list_opts *opts, struct kube_response *resp)
{
    struct kube_list_opts o = {0};
    struct kube_response page = {0};
    char *token;
    long pages = 1;

    if (opts)
        o = *opts;
    if (o.limit <= 0)
        o.limit = LIST_ALL_PAGE;
    if (kube_list(c, api_version, kind, ns, &o, resp) != 0)
        return -1;
    while ((token = continue_of(resp->body)) != NULL) {
        cJSON *meta;

        o.continue_token = token;
        if (next_page(c, api_version, kind, ns, &o, ++pages, resp, &page) != 0) {
            free(token);
            return -1;
        }
        free(token);
        gather_items(resp->body, page.body);
        /* the last page's metadata: its resourceVersion and continue */
        meta = cJSON_DetachItemFromObjectCaseSensitive(page.body, "metadata");
        if (!meta)
            meta = cJSON_CreateObject();
        cJSON_DeleteItemFromObjectCaseSensitive(resp->body, "metadata");
        cJSON_AddItemToObject(resp->body, "metadata", meta);
        kube_response_release(&page);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(resp->body, "metadata"), "continue");
    return 0;
}

/* ---- writing ---- */

struct objref {
    const char *api_version, *kind, *ns, *name;
};

static int obj_ref(const cJSON *obj, const char *verb, int need_name, struct objref *r,
                   struct kube_response *resp)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

    kube_response_release(resp);
    r->api_version = jstr(obj, "apiVersion");
    r->kind = jstr(obj, "kind");
    r->ns = jstr(meta, "namespace");
    r->name = jstr(meta, "name");
    if (!cJSON_IsObject(obj) || !r->api_version || !r->kind) {
        kube_fail(resp, KUBE_FAIL_USAGE, "%s: the object has no apiVersion or kind", verb);
        return -1;
    }
    if (!r->name && (need_name || !jstr(meta, "generateName"))) {
        kube_fail(resp, KUBE_FAIL_USAGE, "%s %s: the object has no metadata.name", verb, r->kind);
        return -1;
    }
    return 0;
}

static void write_query(struct sbuf *path, const struct kube_write_opts *o)
{
    if (o->dry_run)
        query_add(path, "dryRun", "All");
    if (o->field_validation)
        query_add(path, "fieldValidation", o->field_validation);
}

static int send_json(struct kube_client *c, const char *method, const char *path, const char *ctype,
                     const cJSON *body, struct kube_response *resp)
{
    char *text = cJSON_PrintUnformatted(body);
    int rc = kube_request(c, method, path, ctype, text, strlen(text), resp);

    cJSON_free(text);
    return rc;
}

/*
 * method the object at its path (with name unless create without a
 * subresource), with the write options and extra query (may be NULL).
 */
static int write_object(struct kube_client *c, const char *method, const struct objref *r,
                        const cJSON *body, const char *ctype, const struct kube_write_opts *o,
                        const char *extra_query, struct kube_response *resp)
{
    static const struct kube_write_opts none;
    int create = strcmp(method, "POST") == 0;
    struct sbuf path = {0};
    char *p;
    int rc;

    if (!o)
        o = &none;
    p = kube_path(c, r->api_version, r->kind, r->ns, create && !o->subresource ? NULL : r->name,
                  o->subresource, resp);
    if (!p)
        return -1;
    sb_puts(&path, p);
    free(p);
    if (extra_query)
        sb_printf(&path, "%c%s", strchr(path.buf, '?') ? '&' : '?', extra_query);
    write_query(&path, o);
    rc = send_json(c, method, path.buf, ctype, body, resp);
    sb_release(&path);
    return rc;
}

int kube_create(struct kube_client *c, const cJSON *obj, const struct kube_write_opts *opts,
                struct kube_response *resp)
{
    struct objref r;

    if (obj_ref(obj, "create", 0, &r, resp) != 0)
        return -1;
    return write_object(c, "POST", &r, obj, "application/json", opts, NULL, resp);
}

int kube_update(struct kube_client *c, const cJSON *obj, const struct kube_write_opts *opts,
                struct kube_response *resp)
{
    struct objref r;

    if (obj_ref(obj, "update", 1, &r, resp) != 0)
        return -1;
    return write_object(c, "PUT", &r, obj, "application/json", opts, NULL, resp);
}

int kube_update_status(struct kube_client *c, const cJSON *obj, const struct kube_write_opts *opts,
                       struct kube_response *resp)
{
    struct kube_write_opts o = {0};

    if (opts)
        o = *opts;
    o.subresource = "status";
    return kube_update(c, obj, &o, resp);
}

int kube_merge_patch(struct kube_client *c, const char *api_version, const char *kind,
                     const char *ns, const char *name, const cJSON *patch,
                     const struct kube_write_opts *opts, struct kube_response *resp)
{
    struct objref r = {api_version, kind, ns, name};

    kube_response_release(resp);
    if (!name || !*name || !cJSON_IsObject(patch)) {
        kube_fail(resp, KUBE_FAIL_USAGE, "merge patch %s: no name, or the patch is not an object",
                  kind ? kind : "");
        return -1;
    }
    return write_object(c, "PATCH", &r, patch, "application/merge-patch+json", opts, NULL, resp);
}

int kube_apply(struct kube_client *c, const cJSON *obj, const char *field_manager,
               const struct kube_write_opts *opts, struct kube_response *resp)
{
    struct objref r;
    struct sbuf q = {0};
    int rc;

    if (obj_ref(obj, "apply", 1, &r, resp) != 0)
        return -1;
    if (!field_manager || !*field_manager) {
        kube_fail(resp, KUBE_FAIL_USAGE, "apply %s: a fieldManager is required", r.kind);
        return -1;
    }
    sb_puts(&q, "fieldManager=");
    put_escaped(&q, field_manager);
    sb_puts(&q, "&force=true");
    rc = write_object(c, "PATCH", &r, obj, "application/apply-patch+yaml", opts, q.buf, resp);
    sb_release(&q);
    return rc;
}

int kube_delete(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
                const char *name, const struct kube_delete_opts *opts, struct kube_response *resp)
{
    struct sbuf path = {0};
    char *p;
    int rc;

    kube_response_release(resp);
    if (!name || !*name) {
        kube_fail(resp, KUBE_FAIL_USAGE, "delete %s: no name given", kind ? kind : "");
        return -1;
    }
    p = kube_path(c, api_version, kind, ns, name, NULL, resp);
    if (!p)
        return -1;
    sb_puts(&path, p);
    free(p);
    if (opts && opts->propagation_policy)
        query_add(&path, "propagationPolicy", opts->propagation_policy);
    if (opts && opts->dry_run)
        query_add(&path, "dryRun", "All");
    rc = kube_request(c, "DELETE", path.buf, NULL, NULL, 0, resp);
    sb_release(&path);
    return rc;
}

/* ---- watch ---- */

struct watch_ctx {
    kube_watch_fn fn;
    void *arg;
    int gone;
    char *error; /* a bad line or an ERROR event other than 410 */
    long code;
    char *reason;
};

/* An ERROR event carries a Status: 410 means list again. */
static void watch_error_event(struct watch_ctx *w, const cJSON *status)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "code");
    const char *reason = jstr(status, "reason");

    w->code = cJSON_IsNumber(code) ? (long)code->valuedouble : 0;
    w->reason = reason ? xstrdup(reason) : NULL;
    if (w->code == 410 || (reason && (!strcmp(reason, "Expired") || !strcmp(reason, "Gone"))))
        w->gone = 1;
    w->error = kube_status_message(w->code, status, NULL, 0);
}

static int on_event_line(const char *line, size_t len, void *arg)
{
    struct watch_ctx *w = arg;
    cJSON *ev = cJSON_ParseWithLength(line, len);
    const char *type = jstr(ev, "type");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
    int stop = 1;

    if (!type || !cJSON_IsObject(obj))
        w->error = xstrdup("the watch stream sent a line that is not a watch event");
    else if (strcmp(type, "ERROR") == 0)
        watch_error_event(w, obj);
    else
        stop = w->fn(type, obj, w->arg) != 0;
    cJSON_Delete(ev);
    return stop;
}

static char *watch_path(struct kube_client *c, const char *api_version, const char *kind,
                        const char *ns, const struct kube_watch_opts *o, long timeout_s,
                        struct kube_response *resp)
{
    struct sbuf path = {0};
    char *p = kube_path(c, api_version, kind, ns, NULL, NULL, resp);

    if (!p)
        return NULL;
    sb_printf(&path, "%s?watch=1&allowWatchBookmarks=true", p);
    free(p);
    if (o->resource_version)
        query_add(&path, "resourceVersion", o->resource_version);
    if (o->label_selector)
        query_add(&path, "labelSelector", o->label_selector);
    if (o->field_selector)
        query_add(&path, "fieldSelector", o->field_selector);
    sb_printf(&path, "&timeoutSeconds=%ld", timeout_s);
    return sb_detach(&path);
}

static int watch_outcome(struct watch_ctx *w, const struct kube_stream *s,
                         struct kube_response *resp)
{
    if (w->gone) {
        resp->status = 410;
        free(resp->reason);
        resp->reason = w->reason;
        w->reason = NULL;
        kube_fail(resp, KUBE_FAIL_HTTP, "%s: the resourceVersion is too old, list again", w->error);
        return KUBE_WATCH_GONE;
    }
    if (w->error) {
        free(resp->reason);
        resp->reason = w->reason;
        w->reason = NULL;
        kube_fail(resp, w->code ? KUBE_FAIL_HTTP : KUBE_FAIL_RESPONSE, "watch: %s", w->error);
        return KUBE_WATCH_ERROR;
    }
    return s->stopped ? KUBE_WATCH_STOPPED : KUBE_WATCH_END;
}

int kube_watch(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
               const struct kube_watch_opts *opts, kube_watch_fn fn, void *arg,
               struct kube_response *resp)
{
    static const struct kube_watch_opts none;
    struct watch_ctx w = {fn, arg, 0, NULL, 0, NULL};
    struct kube_stream s = {.on_line = on_event_line, .arg = &w};
    long timeout_s;
    char *path;
    int rc;

    if (!opts)
        opts = &none;
    if (!fn) {
        kube_response_release(resp);
        kube_fail(resp, KUBE_FAIL_USAGE, "watch %s: no callback", kind ? kind : "");
        return KUBE_WATCH_ERROR;
    }
    timeout_s = opts->timeout_seconds > 0 ? opts->timeout_seconds : WATCH_TIMEOUT_S;
    path = watch_path(c, api_version, kind, ns, opts, timeout_s, resp);
    if (!path)
        return KUBE_WATCH_ERROR;
    s.timeout_ms = (timeout_s + WATCH_SLACK_S) * 1000;
    rc = kube_request_stream(c, path, &s, resp);
    free(path);
    if (s.cancelled)
        rc = KUBE_WATCH_STOPPED; /* resp says KUBE_FAIL_CANCELLED */
    else if (rc != 0)
        rc = resp->status == 410 ? KUBE_WATCH_GONE : KUBE_WATCH_ERROR;
    else
        rc = watch_outcome(&w, &s, resp);
    free(w.error);
    free(w.reason);
    return rc;
}

/*
 * The watch cache's store (include/wcache.h): objects in a chained hash
 * table keyed by "kind/namespace/name", plus two multimaps of the same
 * entries: by "kind/namespace" (the walk of one namespace) and by parent
 * ("Gateway/ns/name" -> the routes whose parentRefs name it). One
 * pthread rwlock guards all three. The watchers live in wcache_watch.c.
 */
#include "wcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "wcache_int.h"

#define GW_GROUP "gateway.networking.k8s.io"

/* ---- hashing ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static char *key3(const char *a, const char *b, const char *c)
{
    return c ? xasprintf("%s/%s/%s", a, b, c) : xasprintf("%s/%s", a, b);
}

/* A look-up key, on the stack: the look-ups of every review make no
   allocation. Kinds, namespaces and names are short (63 + 63 + 253
   bytes at most), so only a bad argument misses the buffer (NULL). */
#define LKEY_MAX 512

static const char *lkey(char *buf, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    char *p = buf;

    if (la + lb + lc + 3 > LKEY_MAX)
        return NULL;
    memcpy(p, a, la);
    p += la;
    *p++ = '/';
    memcpy(p, b, lb);
    p += lb;
    if (c) {
        *p++ = '/';
        memcpy(p, c, lc);
        p += lc;
    }
    *p = 0;
    return buf;
}

/* ---- the object table ---- */

static struct wc_entry *table_find(const struct wcache *wc, const char *key)
{
    struct wc_entry *e;

    if (!wc->nslots)
        return NULL;
    for (e = wc->slots[hash_str(key) & (wc->nslots - 1)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void table_grow(struct wcache *wc)
{
    size_t n = wc->nslots ? wc->nslots * 2 : 64, i;
    struct wc_entry **slots = xcalloc(n, sizeof(*slots));

    for (i = 0; i < wc->nslots; i++) {
        struct wc_entry *e = wc->slots[i], *next;

        for (; e; e = next) {
            size_t h = hash_str(e->key) & (n - 1);

            next = e->next;
            e->next = slots[h];
            slots[h] = e;
        }
    }
    free(wc->slots);
    wc->slots = slots;
    wc->nslots = n;
}

static void table_insert(struct wcache *wc, struct wc_entry *e)
{
    size_t h;

    if (wc->count + 1 > wc->nslots)
        table_grow(wc);
    h = hash_str(e->key) & (wc->nslots - 1);
    e->next = wc->slots[h];
    wc->slots[h] = e;
    wc->count++;
}

static void table_unlink(struct wcache *wc, struct wc_entry *e)
{
    struct wc_entry **p = &wc->slots[hash_str(e->key) & (wc->nslots - 1)];

    while (*p && *p != e)
        p = &(*p)->next;
    if (*p) {
        *p = e->next;
        wc->count--;
    }
}

/* ---- multimaps: key -> entries ---- */

static struct wc_bucket *mm_find(const struct wc_multimap *m, const char *key)
{
    struct wc_bucket *b;

    if (!m->nslots)
        return NULL;
    for (b = m->slots[hash_str(key) & (m->nslots - 1)]; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            return b;
    return NULL;
}

static void mm_grow(struct wc_multimap *m)
{
    size_t n = m->nslots ? m->nslots * 2 : 64, i;
    struct wc_bucket **slots = xcalloc(n, sizeof(*slots));

    for (i = 0; i < m->nslots; i++) {
        struct wc_bucket *b = m->slots[i], *next;

        for (; b; b = next) {
            size_t h = hash_str(b->key) & (n - 1);

            next = b->next;
            b->next = slots[h];
            slots[h] = b;
        }
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
}

static void mm_add(struct wc_multimap *m, const char *key, struct wc_entry *e, uint64_t hosts)
{
    struct wc_bucket *b = mm_find(m, key);

    if (!b) {
        size_t h;

        if (m->count + 1 > m->nslots)
            mm_grow(m);
        b = xcalloc(1, sizeof(*b));
        b->key = xstrdup(key);
        h = hash_str(key) & (m->nslots - 1);
        b->next = m->slots[h];
        m->slots[h] = b;
        m->count++;
    }
    if (b->len == b->alloc) {
        b->alloc = b->alloc ? b->alloc * 2 : 4;
        b->item = xrealloc(b->item, b->alloc * sizeof(*b->item));
    }
    b->item[b->len].e = e;
    b->item[b->len++].hosts = hosts;
}

static void mm_del(struct wc_multimap *m, const char *key, const struct wc_entry *e)
{
    struct wc_bucket **p, *b;
    size_t i;

    if (!m->nslots)
        return;
    p = &m->slots[hash_str(key) & (m->nslots - 1)];
    while ((b = *p) != NULL && strcmp(b->key, key) != 0)
        p = &b->next;
    if (!b)
        return;
    for (i = 0; i < b->len; i++)
        if (b->item[i].e == e) {
            b->item[i] = b->item[--b->len]; /* order does not matter */
            break;
        }
    if (b->len == 0) {
        *p = b->next;
        m->count--;
        free(b->item);
        free(b->key);
        free(b);
    }
}

static void mm_release(struct wc_multimap *m)
{
    size_t i;

    for (i = 0; i < m->nslots; i++) {
        struct wc_bucket *b = m->slots[i], *next;

        for (; b; b = next) {
            next = b->next;
            free(b->item);
            free(b->key);
            free(b);
        }
    }
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* ---- trimming and sizing ---- */

/* Delete every member of o whose name is not in keep (NULL-terminated). */
static void keep_only(cJSON *o, const char *const *keep)
{
    cJSON *m = cJSON_IsObject(o) ? o->child : NULL, *next;

    for (; m; m = next) {
        size_t i;
        int kept = 0;

        next = m->next;
        for (i = 0; keep[i] && !kept; i++)
            kept = m->string && strcmp(m->string, keep[i]) == 0;
        if (!kept)
            cJSON_Delete(cJSON_DetachItemViaPointer(o, m));
    }
}

/* Of a route's spec: what route-conflict and gateway-detach read of
   routes other than the one under review. */
static void trim_route_spec(cJSON *spec)
{
    static const char *const keep[] = {"parentRefs", "hostnames", "rules", NULL};
    static const char *const rule_keep[] = {"matches", NULL};
    cJSON *rule;

    keep_only(spec, keep);
    cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(spec, "rules")) {
        keep_only(rule, rule_keep);
    }
}

/* Of a Gateway's or ListenerSet's spec: the listeners as the checks see them. */
static void trim_gateway_spec(cJSON *spec)
{
    static const char *const keep[] = {"listeners", "allowedListeners", "parentRef", NULL};
    static const char *const listener_keep[] = {"name",     "port",          "protocol",
                                                "hostname", "allowedRoutes", NULL};
    cJSON *l;

    keep_only(spec, keep);
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(spec, "listeners")) {
        keep_only(l, listener_keep);
    }
}

void wcache_trim(cJSON *obj)
{
    static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", NULL};
    static const char *const md_keep[] = {"name", "namespace", "labels", "creationTimestamp", NULL};
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");

    keep_only(obj, top);
    keep_only(md, md_keep);
    if (!kind)
        return;
    if (strcmp(kind, "Namespace") != 0) /* only a Namespace's labels are read */
        cJSON_DeleteItemFromObjectCaseSensitive(md, "labels");
    if (!strcmp(kind, "Service") || !strcmp(kind, "Namespace")) /* existence, labels */
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "spec");
    else if (wc_is_route_kind(kind))
        trim_route_spec(spec);
    else if (!strcmp(kind, "Gateway") || !strcmp(kind, "ListenerSet"))
        trim_gateway_spec(spec);
}

/* What cJSON allocated for v: its nodes and their strings. */
static size_t json_bytes(const cJSON *v)
{
    size_t n = 0;

    for (; v; v = v->next) {
        n += sizeof(cJSON);
        if (v->string)
            n += strlen(v->string) + 1;
        if (v->valuestring)
            n += strlen(v->valuestring) + 1;
        if (v->child)
            n += json_bytes(v->child);
    }
    return n;
}

/* ---- parents of a route ---- */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int wc_is_route_kind(const char *kind)
{
    static const char *const routes[] = {"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute",
                                         "UDPRoute"};
    size_t i;

    for (i = 0; i < ARRAY_SIZE(routes); i++)
        if (strcmp(kind, routes[i]) == 0)
            return 1;
    return 0;
}

/* "Gateway/ns/name" keys of the route's parentRefs, without repeats. */
static void parent_keys(struct wc_entry *e)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(e->obj, "spec");
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(spec, "parentRefs"), *r;
    size_t i;

    cJSON_ArrayForEach(r, refs) {
        const char *group = jstr(r, "group"), *kind = jstr(r, "kind");
        const char *ns = jstr(r, "namespace"), *name = jstr(r, "name");
        char *k;
        int dup = 0;

        if (!name || (group && strcmp(group, GW_GROUP) != 0))
            continue;
        k = key3(kind ? kind : "Gateway", ns ? ns : e->ns, name);
        for (i = 0; i < e->nparents && !dup; i++)
            dup = strcmp(e->parents[i], k) == 0;
        if (dup) {
            free(k);
            continue;
        }
        e->parents = xrealloc(e->parents, (e->nparents + 1) * sizeof(*e->parents));
        e->parents[e->nparents++] = k;
    }
}

/* ---- entries ---- */

static void entry_unindex(struct wcache *wc, struct wc_entry *e)
{
    char *g = key3(e->kind, e->ns, NULL);
    size_t i;

    table_unlink(wc, e);
    mm_del(&wc->by_ns, g, e);
    free(g);
    for (i = 0; i < e->nparents; i++)
        mm_del(&wc->by_parent, e->parents[i], e);
    wc->bytes -= e->bytes;
}

static void entry_free(struct wc_entry *e)
{
    size_t i;

    for (i = 0; i < e->nparents; i++)
        free(e->parents[i]);
    free(e->parents);
    cJSON_Delete(e->obj);
    free(e->parts);
    free(e->key);
    free(e);
}

static void entry_index(struct wcache *wc, struct wc_entry *e)
{
    char *g = key3(e->kind, e->ns, NULL);
    size_t i;

    table_insert(wc, e);
    mm_add(&wc->by_ns, g, e, WCACHE_ANY_HOST);
    free(g);
    for (i = 0; i < e->nparents; i++)
        mm_add(&wc->by_parent, e->parents[i], e, e->hosts);
    e->bytes = sizeof(*e) + json_bytes(e->obj) + 3 * (strlen(e->key) + 1);
    for (i = 0; i < e->nparents; i++)
        e->bytes += strlen(e->parents[i]) + 1 + 2 * sizeof(void *);
    wc->bytes += e->bytes;
}

/* A new entry for obj (taken), or NULL (obj freed) without kind or name. */
static struct wc_entry *entry_new(cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *kind = jstr(obj, "kind"), *name = jstr(md, "name"), *ns = jstr(md, "namespace");
    struct wc_entry *e;
    size_t kl, nl;

    if (!kind || !*kind || !name || !*name) {
        cJSON_Delete(obj);
        return NULL;
    }
    wcache_trim(obj);
    e = xcalloc(1, sizeof(*e));
    e->obj = obj;
    e->key = key3(kind, ns ? ns : "", name);
    /* kind, ns and name point into a second copy of the key, split at '/' */
    kl = strlen(kind);
    nl = strlen(ns ? ns : "");
    e->parts = xasprintf("%s%c%s%c%s", kind, 0, ns ? ns : "", 0, name);
    e->kind = e->parts;
    e->ns = e->parts + kl + 1;
    e->name = e->parts + kl + 1 + nl + 1;
    if (wc_is_route_kind(kind)) {
        parent_keys(e);
        e->hosts = wcache_host_filter(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "spec"), "hostnames"));
    }
    return e;
}

/* ---- the public store ---- */

struct wcache *wcache_new(void)
{
    struct wcache *wc = xcalloc(1, sizeof(*wc));

    pthread_rwlock_init(&wc->lock, NULL);
    wc_watch_init(wc);
    return wc;
}

static void store_clear(struct wcache *wc)
{
    size_t i;

    for (i = 0; i < wc->nslots; i++) {
        struct wc_entry *e = wc->slots[i], *next;

        for (; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    }
    free(wc->slots);
    wc->slots = NULL;
    wc->nslots = wc->count = wc->bytes = 0;
    mm_release(&wc->by_ns);
    mm_release(&wc->by_parent);
}

void wcache_free(struct wcache **pwc)
{
    struct wcache *wc = pwc ? *pwc : NULL;

    if (!wc)
        return;
    wcache_stop(wc);
    wc_watch_release(wc);
    store_clear(wc);
    pthread_rwlock_destroy(&wc->lock);
    free(wc);
    *pwc = NULL;
}

/* Replace or insert e; the write lock is held. */
static void put_locked(struct wcache *wc, struct wc_entry *e)
{
    struct wc_entry *old = table_find(wc, e->key);

    if (old) {
        entry_unindex(wc, old);
        entry_free(old);
    }
    entry_index(wc, e);
}

int wcache_put(struct wcache *wc, cJSON *obj)
{
    struct wc_entry *e = entry_new(obj);

    if (!e)
        return -1;
    pthread_rwlock_wrlock(&wc->lock);
    put_locked(wc, e);
    pthread_rwlock_unlock(&wc->lock);
    return 0;
}

int wcache_remove(struct wcache *wc, const char *kind, const char *ns, const char *name)
{
    char *key = key3(kind, ns ? ns : "", name);
    struct wc_entry *e;

    pthread_rwlock_wrlock(&wc->lock);
    e = table_find(wc, key);
    if (e)
        entry_unindex(wc, e);
    pthread_rwlock_unlock(&wc->lock);
    free(key);
    if (!e)
        return -1;
    entry_free(e);
    return 0;
}

/* Entries of kind not marked seen are removed; marks are cleared. */
static void sweep_kind(struct wcache *wc, const char *kind)
{
    size_t i;

    for (i = 0; i < wc->nslots; i++) {
        struct wc_entry *e = wc->slots[i], *next;

        for (; e; e = next) {
            next = e->next;
            if (strcmp(e->kind, kind) != 0)
                continue;
            if (e->seen) {
                e->seen = 0;
                continue;
            }
            entry_unindex(wc, e);
            entry_free(e);
        }
    }
}

void wcache_replace_kind(struct wcache *wc, const char *kind, cJSON *list)
{
    cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(list, "items"), *it;

    cJSON_Delete(list);
    pthread_rwlock_wrlock(&wc->lock);
    while (items && (it = cJSON_DetachItemViaPointer(items, items->child)) != NULL) {
        struct wc_entry *e;

        /* a List's items carry neither kind nor apiVersion */
        if (!cJSON_GetObjectItemCaseSensitive(it, "kind"))
            cJSON_AddStringToObject(it, "kind", kind);
        e = entry_new(it);
        if (!e)
            continue;
        e->seen = 1;
        put_locked(wc, e);
    }
    sweep_kind(wc, kind);
    pthread_rwlock_unlock(&wc->lock);
    cJSON_Delete(items);
}

void wcache_read_begin(const struct wcache *wc)
{
    pthread_rwlock_rdlock(&((struct wcache *)wc)->lock);
}

void wcache_read_end(const struct wcache *wc)
{
    pthread_rwlock_unlock(&((struct wcache *)wc)->lock);
}

const cJSON *wcache_get(const struct wcache *wc, const char *kind, const char *ns, const char *name)
{
    char k[LKEY_MAX];
    const char *key;
    const struct wc_entry *e;

    if (!kind || !name)
        return NULL;
    key = lkey(k, kind, ns ? ns : "", name);
    e = key ? table_find(wc, key) : NULL;
    return e ? e->obj : NULL;
}

int wcache_each(const struct wcache *wc, const char *kind, const char *ns, wcache_each_fn fn,
                void *arg)
{
    size_t i;
    int rc;

    if (ns) {
        char k[LKEY_MAX];
        const char *g = lkey(k, kind, ns, NULL);
        const struct wc_bucket *b = g ? mm_find(&wc->by_ns, g) : NULL;

        for (i = 0; b && i < b->len; i++)
            if ((rc = fn(b->item[i].e->obj, arg)) != 0)
                return rc;
        return 0;
    }
    for (i = 0; i < wc->nslots; i++) {
        const struct wc_entry *e;

        for (e = wc->slots[i]; e; e = e->next)
            if (strcmp(e->kind, kind) == 0 && (rc = fn(e->obj, arg)) != 0)
                return rc;
    }
    return 0;
}

int wcache_each_child(const struct wcache *wc, const char *parent_kind, const char *parent_ns,
                      const char *parent_name, wcache_each_fn fn, void *arg)
{
    return wcache_each_child_host(wc, parent_kind, parent_ns, parent_name, WCACHE_ANY_HOST, fn,
                                  arg);
}

int wcache_each_child_host(const struct wcache *wc, const char *parent_kind, const char *parent_ns,
                           const char *parent_name, uint64_t hosts, wcache_each_fn fn, void *arg)
{
    char lk[LKEY_MAX];
    const char *k = lkey(lk, parent_kind, parent_ns, parent_name);
    const struct wc_bucket *b = k ? mm_find(&wc->by_parent, k) : NULL;
    size_t i;
    int rc;

    for (i = 0; b && i < b->len; i++) {
        uint64_t it = b->item[i].hosts;

        if (hosts != WCACHE_ANY_HOST && it != WCACHE_ANY_HOST && !(it & hosts))
            continue; /* exact hostnames on both sides, none in common */
        if ((rc = fn(b->item[i].e->obj, arg)) != 0)
            return rc;
    }
    return 0;
}

uint64_t wcache_host_filter(const cJSON *hostnames)
{
    const cJSON *h;
    uint64_t f = 0;

    if (cJSON_GetArraySize(hostnames) == 0)
        return WCACHE_ANY_HOST; /* the listener's hostname: may be anyone's */
    cJSON_ArrayForEach(h, hostnames) {
        if (!cJSON_IsString(h) || h->valuestring[0] == '*')
            return WCACHE_ANY_HOST; /* a wildcard may cover anyone's */
        f |= 1ULL << (hash_str(h->valuestring) % 63);
    }
    return f; /* bit 63 never set: not WCACHE_ANY_HOST */
}

size_t wcache_count(const struct wcache *wc, const char *kind)
{
    size_t i, n = 0;

    wcache_read_begin(wc);
    if (!kind) {
        n = wc->count;
    } else {
        for (i = 0; i < wc->nslots; i++) {
            const struct wc_entry *e;

            for (e = wc->slots[i]; e; e = e->next)
                n += strcmp(e->kind, kind) == 0;
        }
    }
    wcache_read_end(wc);
    return n;
}

size_t wcache_bytes(const struct wcache *wc)
{
    size_t n;

    wcache_read_begin(wc);
    n = wc->bytes + wc->nslots * sizeof(void *) +
        (wc->by_ns.nslots + wc->by_parent.nslots) * sizeof(void *) +
        (wc->by_ns.count + wc->by_parent.count) * sizeof(struct wc_bucket);
    wcache_read_end(wc);
    return n;
}

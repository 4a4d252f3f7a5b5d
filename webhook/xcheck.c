/*
 * Checks across objects (issue 8; the contract is in xcheck.h): the object
 * under review judged against the watch cache. Look-ups go through
 * wcache_get() and the cache's two indexes (the objects of one namespace,
 * the routes of one parent) under the one read lock xcheck_run() takes;
 * nothing here walks every route. No globals; the only I/O is
 * xcheck_load_file().
 *
 * The API defaults are applied here, as objects may come without them:
 * parentRef group gateway.networking.k8s.io, kind Gateway, namespace the
 * route's; backendRef group "" (core), kind Service, namespace the route's;
 * allowedRoutes.namespaces.from Same; allowedListeners.namespaces.from None.
 */
#include "xcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpath.h"
#include "util.h"
#include "yamlj.h"

#define GW_GROUP "gateway.networking.k8s.io"
/* The label the API server sets on every Namespace. */
#define NS_NAME_LABEL "kubernetes.io/metadata.name"
/* Listeners a parent-listener finding explains, routes a gateway-detach finding names. */
#define MAX_REASONS 3
#define MAX_NAMES   5

static const char *const check_names[XCHECK_N] = {
    "parent-listener", "reference-grant", "backend-exists",
    "parent-exists",   "route-conflict",  "gateway-detach",
};

/* Why a check may not deny (it is advice), or NULL when it may. */
static const char *const advice[XCHECK_N] = {
    NULL,
    NULL,
    "the Service may be created later",
    "the parent may be created later",
    NULL,
    "detaching routes may be the point of the change",
};

static const char *const mode_names[] = {"off", "warn", "deny"};

/* ---- reading objects ---------------------------------------------------- */

static const cJSON *jget(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A string member, or NULL. */
static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = jget(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A string member, or def when it is absent (a present "" stays ""). */
static const char *jstr_or(const cJSON *o, const char *key, const char *def)
{
    const char *s = jstr(o, key);

    return s ? s : def;
}

/* A namespace member, or def when absent or empty. */
static const char *jns_or(const cJSON *o, const char *key, const char *def)
{
    const char *s = jstr(o, key);

    return s && *s ? s : def;
}

/* A number member (cJSON's valueint saturates, so no float overflow), or 0. */
static long jlong(const cJSON *o, const char *key)
{
    const cJSON *v = jget(o, key);

    return cJSON_IsNumber(v) ? (long)v->valueint : 0;
}

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const cJSON *spec_of(const cJSON *o, const char *key)
{
    return jget(jget(o, "spec"), key);
}

static const char *meta_str(const cJSON *o, const char *key)
{
    return jstr(jget(o, "metadata"), key);
}

/* metadata.namespace; "default" when unset, where kubectl would send it. */
static const char *obj_ns(const cJSON *o)
{
    return jns_or(jget(o, "metadata"), "namespace", "default");
}

static const char *obj_name(const cJSON *o)
{
    return jstr_or(jget(o, "metadata"), "name", "");
}

/* Whether obj belongs to the Gateway API group (any version), or says no apiVersion. */
static int in_gw_group(const cJSON *obj)
{
    const char *av = jstr(obj, "apiVersion");
    size_t n = strlen(GW_GROUP);

    return !av || (strncmp(av, GW_GROUP, n) == 0 && av[n] == '/');
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "Service" for the core group, else Go's GroupKind.String(): "Kind.group". */
static void put_kind(struct sbuf *sb, const char *group, const char *kind)
{
    sb_puts(sb, kind);
    if (*group)
        sb_printf(sb, ".%s", group);
}

/* ---- routes and their parents ------------------------------------------ */

static const char *const route_kinds[] = {"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute",
                                          "UDPRoute"};

struct route {
    const cJSON *obj;
    const char *kind, *ns, *name;
    const cJSON *hostnames; /* a non-empty spec.hostnames of a kind that has them, else NULL */
};

/* Fill r when obj is a route; 0 otherwise. */
static int route_of(const cJSON *obj, struct route *r)
{
    const char *kind = jstr(obj, "kind");
    const cJSON *h;
    size_t i;

    for (i = 0; kind && i < ARRAY_SIZE(route_kinds); i++) {
        if (strcmp(kind, route_kinds[i]) == 0)
            break;
    }
    if (!kind || i == ARRAY_SIZE(route_kinds) || !in_gw_group(obj))
        return 0;
    r->obj = obj;
    r->kind = kind;
    r->ns = obj_ns(obj);
    r->name = obj_name(obj);
    h = spec_of(obj, "hostnames");
    /* TCPRoute and UDPRoute have no hostnames */
    r->hostnames = i <= 2 && cJSON_GetArraySize(h) > 0 ? h : NULL;
    return 1;
}

/* A parentRef naming a Gateway or ListenerSet, with the API defaults applied. */
struct pref {
    const char *kind, *ns, *name;
    const char *section; /* NULL: any listener */
    long port;           /* 0: any port */
};

/* Resolve a parentRef of an object in namespace ns; 0 when it names no Gateway or ListenerSet. */
static int pref_of(const cJSON *ref, const char *ns, struct pref *p)
{
    const char *section = jstr(ref, "sectionName");

    p->kind = jstr_or(ref, "kind", "Gateway");
    p->name = jstr(ref, "name");
    if (!p->name || strcmp(jstr_or(ref, "group", GW_GROUP), GW_GROUP) != 0)
        return 0;
    if (strcmp(p->kind, "Gateway") != 0 && strcmp(p->kind, "ListenerSet") != 0)
        return 0;
    p->ns = jns_or(ref, "namespace", ns);
    p->section = section && *section ? section : NULL;
    p->port = jlong(ref, "port");
    return 1;
}

static int pref_names(const struct pref *p, const char *kind, const char *ns, const char *name)
{
    return strcmp(p->kind, kind) == 0 && strcmp(p->ns, ns) == 0 && strcmp(p->name, name) == 0;
}

/* ---- does a listener admit a route ------------------------------------- */

/* The value of a Namespace label; the name label is implied when absent. */
static const char *label_value(const cJSON *labels, const char *ns, const char *key)
{
    const char *v = jstr(labels, key);

    return !v && strcmp(key, NS_NAME_LABEL) == 0 ? ns : v;
}

static int str_in(const cJSON *arr, const char *s)
{
    const cJSON *v;

    cJSON_ArrayForEach(v, arr) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, s) == 0)
            return 1;
    }
    return 0;
}

static int expr_matches(const cJSON *e, const cJSON *labels, const char *ns)
{
    const char *op = jstr(e, "operator"), *key = jstr(e, "key");
    const cJSON *values = jget(e, "values");
    const char *v;

    if (!op || !key)
        return 0;
    v = label_value(labels, ns, key);
    if (strcmp(op, "In") == 0)
        return v && str_in(values, v);
    if (strcmp(op, "NotIn") == 0)
        return !v || !str_in(values, v);
    if (strcmp(op, "Exists") == 0)
        return v != NULL;
    if (strcmp(op, "DoesNotExist") == 0)
        return v == NULL;
    return 0; /* an operator LabelSelectorAsSelector refuses selects nothing */
}

/* A metav1.LabelSelector against namespace ns's labels; no selector selects nothing. */
static int selector_matches(const cJSON *sel, const cJSON *labels, const char *ns)
{
    const cJSON *want = jget(sel, "matchLabels"), *exprs = jget(sel, "matchExpressions");
    const cJSON *it;

    if (!cJSON_IsObject(sel))
        return 0;
    cJSON_ArrayForEach(it, want) {
        if (!cJSON_IsString(it) || !streq(label_value(labels, ns, it->string), it->valuestring))
            return 0;
    }
    cJSON_ArrayForEach(it, exprs) {
        if (!expr_matches(it, labels, ns))
            return 0;
    }
    return 1;
}

/* The labels of a cached Namespace (NULL when it or its labels are unknown). */
static const cJSON *ns_labels(const struct wcache *wc, const char *ns)
{
    return jget(jget(wcache_get(wc, "Namespace", "", ns), "metadata"), "labels");
}

/*
 * The hostname two hostnames have in common, or NULL: equal, or one a
 * wildcard "*.example.com" whose suffix ".example.com" the other (itself
 * possibly a wildcard) extends by one or more labels. Returns one of a, b.
 */
static const char *host_intersect(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (strcmp(a, b) == 0)
        return a;
    if (a[0] == '*' && lb > la - 1 && strcmp(b + lb - (la - 1), a + 1) == 0)
        return b;
    if (b[0] == '*' && la > lb - 1 && strcmp(a + la - (lb - 1), b + 1) == 0)
        return a;
    return NULL;
}

enum admit { ADMIT_YES, ADMIT_NOT_SAME, ADMIT_NOT_SELECTED, ADMIT_NOT_KIND, ADMIT_NOT_HOST };

static enum admit admit_namespace(const struct wcache *wc, const cJSON *l, const char *owner_ns,
                                  const struct route *r)
{
    const cJSON *nss = jget(jget(l, "allowedRoutes"), "namespaces");
    const char *from = jstr_or(nss, "from", "Same");

    if (strcmp(from, "Same") == 0)
        return strcmp(r->ns, owner_ns) == 0 ? ADMIT_YES : ADMIT_NOT_SAME;
    if (strcmp(from, "Selector") == 0)
        return selector_matches(jget(nss, "selector"), ns_labels(wc, r->ns), r->ns)
                   ? ADMIT_YES
                   : ADMIT_NOT_SELECTED;
    return ADMIT_YES; /* All, or a value the schema refuses */
}

/* The route kinds a protocol admits when allowedRoutes.kinds is empty; NULL: unknown. */
static const char *const *protocol_kinds(const char *proto)
{
    static const char *const http[] = {"HTTPRoute", "GRPCRoute", NULL};
    static const char *const tls[] = {"TLSRoute", NULL};
    static const char *const tcp[] = {"TCPRoute", NULL};
    static const char *const udp[] = {"UDPRoute", NULL};

    if (streq(proto, "HTTP") || streq(proto, "HTTPS"))
        return http;
    if (streq(proto, "TLS"))
        return tls;
    if (streq(proto, "TCP"))
        return tcp;
    if (streq(proto, "UDP"))
        return udp;
    return NULL; /* an implementation's own protocol: not judged */
}

static int kind_admitted(const cJSON *l, const char *kind)
{
    const cJSON *kinds = jget(jget(l, "allowedRoutes"), "kinds"), *k;
    const char *const *pk;

    if (cJSON_GetArraySize(kinds) > 0) {
        cJSON_ArrayForEach(k, kinds) {
            if (streq(jstr_or(k, "group", GW_GROUP), GW_GROUP) && streq(jstr(k, "kind"), kind))
                return 1;
        }
        return 0;
    }
    pk = protocol_kinds(jstr(l, "protocol"));
    for (; pk && *pk; pk++) {
        if (strcmp(*pk, kind) == 0)
            return 1;
    }
    return !pk;
}

static int host_admitted(const cJSON *l, const struct route *r)
{
    const char *lh = jstr(l, "hostname");
    const cJSON *h;

    if (!r->hostnames || !lh || !*lh)
        return 1;
    cJSON_ArrayForEach(h, r->hostnames) {
        if (cJSON_IsString(h) && host_intersect(h->valuestring, lh))
            return 1;
    }
    return 0;
}

/*
 * Whether listener l of a Gateway or ListenerSet in owner_ns admits route r
 * (namespaces, then kinds, then hostnames), or the first reason it does not.
 */
static enum admit listener_admits(const struct wcache *wc, const cJSON *l, const char *owner_ns,
                                  const struct route *r)
{
    enum admit a = admit_namespace(wc, l, owner_ns, r);

    if (a != ADMIT_YES)
        return a;
    if (!kind_admitted(l, r->kind))
        return ADMIT_NOT_KIND;
    if (!host_admitted(l, r))
        return ADMIT_NOT_HOST;
    return ADMIT_YES;
}

/* Whether parentRef p targets listener l (sectionName and port, when set). */
static int listener_targeted(const cJSON *l, const struct pref *p)
{
    if (p->section && !streq(jstr(l, "name"), p->section))
        return 0;
    return !p->port || jlong(l, "port") == p->port;
}

static size_t count_targeted(const cJSON *listeners, const struct pref *p)
{
    const cJSON *l;
    size_t n = 0;

    cJSON_ArrayForEach(l, listeners)
        n += (size_t)listener_targeted(l, p);
    return n;
}

/* Whether a listener of parent (a Gateway or ListenerSet) that p targets admits r. */
static int parent_admits(const struct wcache *wc, const cJSON *parent, const struct pref *p,
                         const struct route *r)
{
    const cJSON *listeners = spec_of(parent, "listeners"), *l;
    const char *owner_ns = obj_ns(parent);

    cJSON_ArrayForEach(l, listeners) {
        if (listener_targeted(l, p) && listener_admits(wc, l, owner_ns, r) == ADMIT_YES)
            return 1;
    }
    return 0;
}

/* ---- does a Gateway admit a ListenerSet -------------------------------- */

enum lsadmit { LS_YES, LS_NONE, LS_NOT_SAME, LS_NOT_SELECTED };

static enum lsadmit gateway_admits_ls(const struct wcache *wc, const cJSON *gw, const char *ls_ns)
{
    const cJSON *nss = jget(spec_of(gw, "allowedListeners"), "namespaces");
    const char *from = jstr_or(nss, "from", "None");

    if (strcmp(from, "None") == 0)
        return LS_NONE;
    if (strcmp(from, "Same") == 0)
        return strcmp(ls_ns, obj_ns(gw)) == 0 ? LS_YES : LS_NOT_SAME;
    if (strcmp(from, "Selector") == 0)
        return selector_matches(jget(nss, "selector"), ns_labels(wc, ls_ns), ls_ns)
                   ? LS_YES
                   : LS_NOT_SELECTED;
    return LS_YES; /* All, or a value the schema refuses */
}

/* The ListenerSet's Gateway (spec.parentRef) as a pref; 0 when it names no Gateway. */
static int ls_parent_of(const cJSON *ls, struct pref *p)
{
    return pref_of(spec_of(ls, "parentRef"), obj_ns(ls), p) && strcmp(p->kind, "Gateway") == 0;
}

/* ---- findings ----------------------------------------------------------- */

struct xc {
    const struct xcheck_config *cfg;
    const struct wcache *wc;
    struct verr_list *out;
    size_t found;
};

static int check_on(const struct xc *x, enum xcheck_id id)
{
    return x->cfg->mode[id] != XCHECK_OFF;
}

/* Add a finding of check id with the detail in sb (released). */
static void finding(struct xc *x, enum xcheck_id id, enum verr_type type, const char *at,
                    const char *value, struct sbuf *sb)
{
    struct verr *e = verr_add(x->out, type, at, value, "%s", sb->buf ? sb->buf : "");

    e->level = x->cfg->mode[id] == XCHECK_DENY ? VERR_ERROR : VERR_WARNING;
    e->rule = check_names[id];
    x->found++;
    sb_release(sb);
}

static void put_q(struct sbuf *sb, const char *s)
{
    sb_goquote(sb, s);
}

/* "namespace "dev" has labels {team: dev}" (sorted; the implied name label left out). */
static void put_ns_labels(struct sbuf *sb, const struct wcache *wc, const char *ns)
{
    const cJSON *labels = ns_labels(wc, ns), *l;
    const char **keys = xcalloc((size_t)cJSON_GetArraySize(labels) + 1, sizeof(*keys));
    size_t n = 0, i;

    cJSON_ArrayForEach(l, labels) {
        if (cJSON_IsString(l) && strcmp(l->string, NS_NAME_LABEL) != 0)
            keys[n++] = l->string;
    }
    sb_puts(sb, "namespace ");
    put_q(sb, ns);
    if (n == 0)
        sb_puts(sb, " has no labels");
    else
        sb_puts(sb, " has labels {");
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n; i++)
        sb_printf(sb, "%s%s: %s", i ? ", " : "", keys[i], jstr(labels, keys[i]));
    if (n)
        sb_putc(sb, '}');
    free(keys);
}

/* "a TCPRoute", "an HTTPRoute": the article as the acronym is read aloud. */
static void put_a_kind(struct sbuf *sb, const char *kind)
{
    sb_printf(sb, "%s %s", strchr("AEFHILMNORSX", kind[0]) ? "an" : "a", kind);
}

static void put_kinds_reason(struct sbuf *sb, const cJSON *l, const struct route *r)
{
    const cJSON *kinds = jget(jget(l, "allowedRoutes"), "kinds"), *k;
    const char *const *pk;
    int n = 0;

    sb_puts(sb, " admits only kinds ");
    if (cJSON_GetArraySize(kinds) > 0) {
        cJSON_ArrayForEach(k, kinds) {
            const char *group = jstr_or(k, "group", GW_GROUP);

            sb_puts(sb, n++ ? ", " : "");
            if (!*group)
                sb_printf(sb, "%s (core group)", jstr_or(k, "kind", "?"));
            else
                put_kind(sb, strcmp(group, GW_GROUP) == 0 ? "" : group, jstr_or(k, "kind", "?"));
        }
        sb_puts(sb, " (allowedRoutes.kinds)");
    } else {
        for (pk = protocol_kinds(jstr(l, "protocol")); pk && *pk; pk++)
            sb_printf(sb, "%s%s", n++ ? ", " : "", *pk);
        sb_printf(sb, " (protocol %s)", jstr_or(l, "protocol", "?"));
    }
    sb_puts(sb, "; this route is ");
    put_a_kind(sb, r->kind);
}

/* "listener "web" <why it does not admit r>". */
static void put_reason(struct sbuf *sb, const struct wcache *wc, const cJSON *l, enum admit a,
                       const struct route *r)
{
    sb_puts(sb, "listener ");
    put_q(sb, jstr_or(l, "name", ""));
    switch (a) {
    case ADMIT_NOT_SAME:
        sb_puts(sb, " admits routes only from its own namespace "
                    "(allowedRoutes.namespaces.from=Same); this route is in ");
        put_q(sb, r->ns);
        break;
    case ADMIT_NOT_SELECTED:
        sb_puts(sb, " admits routes only from namespaces matching the selector "
                    "(allowedRoutes.namespaces.from=Selector); ");
        put_ns_labels(sb, wc, r->ns);
        break;
    case ADMIT_NOT_KIND:
        put_kinds_reason(sb, l, r);
        break;
    case ADMIT_NOT_HOST:
        sb_puts(sb, " has hostname ");
        put_q(sb, jstr_or(l, "hostname", ""));
        sb_puts(sb, ", which matches none of this route's hostnames");
        break;
    case ADMIT_YES:
        sb_puts(sb, " admits this route");
        break;
    }
}

/* "Gateway infra/gw admits no ListenerSets (...)": why gw does not admit a ListenerSet in ls_ns. */
static void put_ls_reason(struct sbuf *sb, const struct wcache *wc, const cJSON *gw, enum lsadmit a,
                          const char *ls_ns, const char *who)
{
    sb_printf(sb, "Gateway %s/%s admits ", obj_ns(gw), obj_name(gw));
    switch (a) {
    case LS_NONE:
        sb_puts(sb, "no ListenerSets (allowedListeners.namespaces.from=None)");
        break;
    case LS_NOT_SAME:
        sb_printf(sb,
                  "ListenerSets only from its own namespace "
                  "(allowedListeners.namespaces.from=Same); %s is in ",
                  who);
        put_q(sb, ls_ns);
        break;
    case LS_NOT_SELECTED:
        sb_puts(sb, "ListenerSets only from namespaces matching the selector "
                    "(allowedListeners.namespaces.from=Selector); ");
        put_ns_labels(sb, wc, ls_ns);
        break;
    case LS_YES:
        sb_puts(sb, "this ListenerSet");
        break;
    }
}

/* ---- parent-listener ---------------------------------------------------- */

static long listener_port(const cJSON *listeners, const char *name)
{
    const cJSON *l;

    cJSON_ArrayForEach(l, listeners) {
        if (streq(jstr(l, "name"), name))
            return jlong(l, "port");
    }
    return 0;
}

/* No listener of parent is targeted by p: a Not found finding at the sectionName or port. */
static void report_untargeted(struct xc *x, const cJSON *parent, const struct pref *p,
                              struct fpath *fp)
{
    const cJSON *listeners = spec_of(parent, "listeners");
    struct pref by_name = *p;
    struct sbuf sb = {0};
    char *value;

    by_name.port = 0;
    sb_printf(&sb, "%s %s/%s ", p->kind, p->ns, p->name);
    if (!p->section && !p->port) {
        sb_puts(&sb, "has no listeners");
        finding(x, XCHECK_PARENT_LISTENER, VERR_FORBIDDEN, fpath_str(fp), NULL, &sb);
        return;
    }
    if (p->section && count_targeted(listeners, &by_name) == 0) {
        sb_puts(&sb, "has no listener named ");
        put_q(&sb, p->section);
        value = verr_value_str(p->section);
        fpath_child(fp, "sectionName");
    } else {
        if (p->section) {
            sb_puts(&sb, "listener ");
            put_q(&sb, p->section);
            sb_printf(&sb, " is on port %ld, not %ld", listener_port(listeners, p->section),
                      p->port);
        } else {
            sb_printf(&sb, "has no listener on port %ld", p->port);
        }
        value = xasprintf("%ld", p->port);
        fpath_child(fp, "port");
    }
    finding(x, XCHECK_PARENT_LISTENER, VERR_NOT_FOUND, fpath_str(fp), value, &sb);
    free(value);
}

/* No listener that p targets admits r: one Forbidden finding naming why, per listener. */
static void report_rejected(struct xc *x, const cJSON *parent, const struct pref *p,
                            const struct route *r, const char *at)
{
    const cJSON *listeners = spec_of(parent, "listeners"), *l;
    size_t n = count_targeted(listeners, p), shown = 0;
    struct sbuf sb = {0};

    sb_printf(&sb, "%s %s/%s ", p->kind, p->ns, p->name);
    if (n > 1)
        sb_puts(&sb, "has no listener that admits this route: ");
    cJSON_ArrayForEach(l, listeners) {
        if (!listener_targeted(l, p))
            continue;
        if (shown == MAX_REASONS)
            break;
        sb_puts(&sb, shown++ ? "; " : "");
        put_reason(&sb, x->wc, l, listener_admits(x->wc, l, obj_ns(parent), r), r);
    }
    if (n > shown)
        sb_printf(&sb, "; and %zu more", n - shown);
    finding(x, XCHECK_PARENT_LISTENER, VERR_FORBIDDEN, at, NULL, &sb);
}

/*
 * Whether a ListenerSet's own Gateway (when cached) admits it; a finding at
 * 'at' otherwise. A route's parent (route_parent) opens the message with
 * the ListenerSet's name; who names the ListenerSet in the reason.
 */
static void ls_attached(struct xc *x, const cJSON *ls, const char *at, int route_parent,
                        const char *who)
{
    struct pref gp;
    const cJSON *gw;
    enum lsadmit a;
    struct sbuf sb = {0};

    if (!ls_parent_of(ls, &gp))
        return;
    gw = wcache_get(x->wc, "Gateway", gp.ns, gp.name);
    if (!gw)
        return;
    a = gateway_admits_ls(x->wc, gw, obj_ns(ls));
    if (a == LS_YES)
        return;
    if (route_parent)
        sb_printf(&sb, "ListenerSet %s/%s is not attached to its Gateway: ", obj_ns(ls),
                  obj_name(ls));
    put_ls_reason(&sb, x->wc, gw, a, obj_ns(ls), who);
    finding(x, XCHECK_PARENT_LISTENER, VERR_FORBIDDEN, at, NULL, &sb);
}

/* A route's parent is a ListenerSet: does the ListenerSet's own Gateway admit it? */
static void check_ls_attached(struct xc *x, const cJSON *ls, const char *at)
{
    ls_attached(x, ls, at, 1, "the ListenerSet");
}

static void parent_listener_ref(struct xc *x, const struct route *r, const cJSON *ref,
                                struct fpath *fp)
{
    struct pref p;
    const cJSON *parent;

    if (!pref_of(ref, r->ns, &p))
        return;
    parent = wcache_get(x->wc, p.kind, p.ns, p.name);
    if (!parent) /* parent-exists reports it */
        return;
    if (count_targeted(spec_of(parent, "listeners"), &p) == 0)
        report_untargeted(x, parent, &p, fp);
    else if (!parent_admits(x->wc, parent, &p, r))
        report_rejected(x, parent, &p, r, fpath_str(fp));
    else if (strcmp(p.kind, "ListenerSet") == 0)
        check_ls_attached(x, parent, fpath_str(fp));
}

static void check_parent_listener(struct xc *x, const struct route *r)
{
    const cJSON *refs = spec_of(r->obj, "parentRefs"), *ref;
    struct fpath fp = FPATH_INIT;
    size_t i = 0;

    cJSON_ArrayForEach(ref, refs) {
        fpath_child(&fp, "spec");
        fpath_child(&fp, "parentRefs");
        fpath_index(&fp, i++);
        parent_listener_ref(x, r, ref, &fp);
        fpath_truncate(&fp, 0);
    }
    fpath_release(&fp);
}

/* The ListenerSet under review: does its Gateway (when cached) admit it? */
static void check_ls_parent(struct xc *x, const cJSON *ls)
{
    ls_attached(x, ls, "spec.parentRef", 0, "this ListenerSet");
}

/* ---- references to other objects --------------------------------------- */

/* A reference to an object, with the API defaults applied. */
struct oref {
    const char *group, *kind, *ns, *name;
    const char *at; /* the printed field path */
    int mirror;     /* a RequestMirror filter's backendRef */
};

typedef void (*oref_fn)(const struct oref *o, void *arg);

struct refwalk {
    const char *ns; /* the referring object's */
    oref_fn fn;
    void *arg;
    struct fpath fp;
};

static void ref_emit(struct refwalk *w, const cJSON *ref, const char *kind, int mirror)
{
    struct oref o;

    o.name = jstr(ref, "name");
    if (!o.name)
        return;
    o.group = jstr_or(ref, "group", "");
    o.kind = jstr_or(ref, "kind", kind);
    o.ns = jns_or(ref, "namespace", w->ns);
    o.at = fpath_str(&w->fp);
    o.mirror = mirror;
    w->fn(&o, w->arg);
}

/* The RequestMirror backendRefs of filters at fp ("...filters"). */
static void walk_mirrors(struct refwalk *w, const cJSON *filters)
{
    size_t mark = fpath_len(&w->fp), i = 0;
    const cJSON *f;

    cJSON_ArrayForEach(f, filters) {
        const cJSON *ref = jget(jget(f, "requestMirror"), "backendRef");

        if (streq(jstr(f, "type"), "RequestMirror") && ref) {
            fpath_index(&w->fp, i);
            fpath_child(&w->fp, "requestMirror");
            fpath_child(&w->fp, "backendRef");
            ref_emit(w, ref, "Service", 1);
            fpath_truncate(&w->fp, mark);
        }
        i++;
    }
}

static void walk_rule(struct refwalk *w, const cJSON *rule)
{
    const cJSON *refs = jget(rule, "backendRefs"), *b;
    size_t mark = fpath_len(&w->fp), i = 0;

    fpath_child(&w->fp, "backendRefs");
    cJSON_ArrayForEach(b, refs) {
        size_t bmark = fpath_len(&w->fp);

        fpath_index(&w->fp, i++);
        ref_emit(w, b, "Service", 0);
        fpath_child(&w->fp, "filters");
        walk_mirrors(w, jget(b, "filters"));
        fpath_truncate(&w->fp, bmark);
    }
    fpath_truncate(&w->fp, mark);
    fpath_child(&w->fp, "filters");
    walk_mirrors(w, jget(rule, "filters"));
    fpath_truncate(&w->fp, mark);
}

/* Every backendRef of a route: spec.rules[].backendRefs[] and RequestMirror filters. */
static void each_backend_ref(const cJSON *obj, const char *ns, oref_fn fn, void *arg)
{
    struct refwalk w = {ns, fn, arg, FPATH_INIT};
    const cJSON *rules = spec_of(obj, "rules"), *rule;
    size_t i = 0;

    cJSON_ArrayForEach(rule, rules) {
        fpath_child(&w.fp, "spec");
        fpath_child(&w.fp, "rules");
        fpath_index(&w.fp, i++);
        walk_rule(&w, rule);
        fpath_truncate(&w.fp, 0);
    }
    fpath_release(&w.fp);
}

/* Every spec.listeners[].tls.certificateRefs[] of a Gateway or ListenerSet. */
static void each_cert_ref(const cJSON *obj, const char *ns, oref_fn fn, void *arg)
{
    struct refwalk w = {ns, fn, arg, FPATH_INIT};
    const cJSON *listeners = spec_of(obj, "listeners"), *l;
    size_t i = 0;

    cJSON_ArrayForEach(l, listeners) {
        const cJSON *certs = jget(jget(l, "tls"), "certificateRefs"), *c;
        size_t j = 0;

        cJSON_ArrayForEach(c, certs) {
            fpath_truncate(&w.fp, 0);
            fpath_child(&w.fp, "spec");
            fpath_child(&w.fp, "listeners");
            fpath_index(&w.fp, i);
            fpath_child(&w.fp, "tls");
            fpath_child(&w.fp, "certificateRefs");
            fpath_index(&w.fp, j++);
            ref_emit(&w, c, "Secret", 0);
        }
        i++;
    }
    fpath_release(&w.fp);
}

/* ---- reference-grant ---------------------------------------------------- */

struct grant_q {
    const char *from_kind, *from_ns; /* the referrer, of group gateway.networking.k8s.io */
    const struct oref *to;
};

static int grant_from_matches(const cJSON *grant, const struct grant_q *q)
{
    const cJSON *from = spec_of(grant, "from"), *f;

    cJSON_ArrayForEach(f, from) {
        if (streq(jstr(f, "group"), GW_GROUP) && streq(jstr(f, "kind"), q->from_kind) &&
            streq(jstr(f, "namespace"), q->from_ns))
            return 1;
    }
    return 0;
}

static int grant_to_matches(const cJSON *grant, const struct oref *o)
{
    const cJSON *to = spec_of(grant, "to"), *t;

    cJSON_ArrayForEach(t, to) {
        const char *name = jstr(t, "name");

        if (streq(jstr_or(t, "group", ""), o->group) && streq(jstr(t, "kind"), o->kind) &&
            (!name || !*name || strcmp(name, o->name) == 0))
            return 1;
    }
    return 0;
}

/* wcache_each() callback: does this ReferenceGrant permit the reference? */
static int grant_allows(const cJSON *grant, void *arg)
{
    const struct grant_q *q = arg;

    return grant_from_matches(grant, q) && grant_to_matches(grant, q->to);
}

struct grant_walk {
    struct xc *x;
    const char *kind, *ns; /* the referrer */
};

static void grant_ref(const struct oref *o, void *arg)
{
    const struct grant_walk *g = arg;
    struct grant_q q = {g->kind, g->ns, o};
    struct sbuf sb = {0};

    if (strcmp(o->ns, g->ns) == 0 ||
        wcache_each(g->x->wc, "ReferenceGrant", o->ns, grant_allows, &q))
        return;
    put_kind(&sb, o->group, o->kind);
    sb_printf(&sb, " %s/%s is in another namespace and no ReferenceGrant in ", o->ns, o->name);
    put_q(&sb, o->ns);
    sb_printf(&sb, " allows %s from namespace ", g->kind);
    put_q(&sb, g->ns);
    sb_puts(&sb, " to reference it");
    finding(g->x, XCHECK_REFERENCE_GRANT, VERR_FORBIDDEN, o->at, NULL, &sb);
}

/* ---- backend-exists ----------------------------------------------------- */

static void backend_ref(const struct oref *o, void *arg)
{
    const struct grant_walk *g = arg;
    struct sbuf sb = {0};

    if (*o->group || strcmp(o->kind, "Service") != 0 ||
        wcache_get(g->x->wc, "Service", o->ns, o->name))
        return;
    sb_printf(&sb, "Service %s/%s does not exist (yet): ", o->ns, o->name);
    if (o->mirror)
        sb_puts(&sb, "no requests are mirrored to it until it does");
    else if (strcmp(g->kind, "HTTPRoute") == 0)
        sb_puts(&sb, "requests to this backend will get 500 until it does");
    else
        sb_puts(&sb, "traffic to this backend fails until it does");
    finding(g->x, XCHECK_BACKEND_EXISTS, VERR_NOT_FOUND, o->at, NULL, &sb);
}

/* ---- parent-exists ------------------------------------------------------ */

static void check_parent_exists(struct xc *x, const struct route *r)
{
    const cJSON *refs = spec_of(r->obj, "parentRefs"), *ref;
    size_t i = 0;

    cJSON_ArrayForEach(ref, refs) {
        struct pref p;
        struct sbuf sb = {0};
        char at[64];

        snprintf(at, sizeof(at), "spec.parentRefs[%zu]", i++);
        if (!pref_of(ref, r->ns, &p) || wcache_get(x->wc, p.kind, p.ns, p.name))
            continue;
        sb_printf(&sb, "%s %s/%s does not exist (yet): this route is not served until it does",
                  p.kind, p.ns, p.name);
        finding(x, XCHECK_PARENT_EXISTS, VERR_NOT_FOUND, at, NULL, &sb);
    }
}

static void check_ls_parent_exists(struct xc *x, const cJSON *ls)
{
    struct pref gp;
    struct sbuf sb = {0};

    if (!ls_parent_of(ls, &gp) || wcache_get(x->wc, "Gateway", gp.ns, gp.name))
        return;
    sb_printf(&sb,
              "Gateway %s/%s does not exist (yet): the listeners of this ListenerSet are not "
              "served until it does",
              gp.ns, gp.name);
    finding(x, XCHECK_PARENT_EXISTS, VERR_NOT_FOUND, "spec.parentRef", NULL, &sb);
}

/* ---- route-conflict ----------------------------------------------------- */

/* One match of a route, normalised so that equal keys mean equal matches. */
struct mkey {
    size_t rule, match;
    int implicit;               /* the rule has no matches: PathPrefix "/" */
    const char *ptype, *pvalue; /* its path, with the defaults: a cheap first comparison */
    char *key;                  /* NULL until needed: most routes differ by path or host */
    const cJSON *m;             /* the match the key is made from (NULL: implicit) */
};

/* The best conflict found for one match of the route under review. */
struct mbest {
    const cJSON *other; /* the route it conflicts with, NULL: none yet */
    char *detail;
};

static void key_str(struct sbuf *sb, char tag, const char *s)
{
    sb_printf(sb, "%c%zu:%s", tag, strlen(s), s);
}

/* Headers (names folded, case-insensitive) or query params, sorted by name. */
static void key_pairs(struct sbuf *sb, char tag, const cJSON *arr, int fold)
{
    size_t n = (size_t)cJSON_GetArraySize(arr), k = 0, i;
    char **items = xcalloc(n + 1, sizeof(*items));
    const cJSON *h;

    cJSON_ArrayForEach(h, arr) {
        struct sbuf one = {0};
        char *name = xstrdup(jstr_or(h, "name", ""));

        for (i = 0; fold && name[i]; i++)
            name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
        key_str(&one, 'n', name);
        key_str(&one, 't', jstr_or(h, "type", "Exact"));
        key_str(&one, 'v', jstr_or(h, "value", ""));
        items[k++] = sb_detach(&one);
        free(name);
    }
    qsort(items, k, sizeof(*items), cmp_str);
    for (i = 0; i < k; i++) {
        key_str(sb, tag, items[i]);
        free(items[i]);
    }
    free(items);
}

static void match_path(const cJSON *m, const char **type, const char **value)
{
    const cJSON *path = jget(m, "path");

    *type = jstr_or(path, "type", "PathPrefix");
    *value = jstr_or(path, "value", "/");
}

/* The normalised key of an HTTPRouteMatch (NULL: the default match). */
static char *match_key(const cJSON *m)
{
    const cJSON *path = jget(m, "path");
    struct sbuf sb = {0};

    key_str(&sb, 'P', jstr_or(path, "type", "PathPrefix"));
    key_str(&sb, 'V', jstr_or(path, "value", "/"));
    key_str(&sb, 'M', jstr_or(m, "method", ""));
    key_pairs(&sb, 'H', jget(m, "headers"), 1);
    key_pairs(&sb, 'Q', jget(m, "queryParams"), 0);
    return sb_detach(&sb);
}

/* The matches of every rule of the route under review, normalised. */
static struct mkey *route_keys(const cJSON *obj, size_t *n)
{
    const cJSON *rules = spec_of(obj, "rules"), *rule, *m;
    struct mkey *k = NULL;
    size_t alloc = 0, r = 0;

    *n = 0;
    cJSON_ArrayForEach(rule, rules) {
        const cJSON *matches = jget(rule, "matches");
        size_t j = 0, want = (size_t)cJSON_GetArraySize(matches);

        if (*n + want + 1 > alloc) {
            alloc = (*n + want + 1) * 2;
            k = xrealloc(k, alloc * sizeof(*k));
        }
        if (want == 0)
            k[(*n)++] = (struct mkey){r, 0, 1, "PathPrefix", "/", NULL, NULL};
        cJSON_ArrayForEach(m, matches) {
            k[*n] = (struct mkey){r, j++, 0, NULL, NULL, NULL, m};
            match_path(m, &k[*n].ptype, &k[*n].pvalue);
            ++*n;
        }
        r++;
    }
    return k;
}

static void keys_free(struct mkey *k, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(k[i].key);
    free(k);
}

static void put_match_at(struct sbuf *sb, const struct mkey *k)
{
    sb_printf(sb, "spec.rules[%zu]", k->rule);
    if (!k->implicit)
        sb_printf(sb, ".matches[%zu]", k->match);
}

/* <0 when route a takes precedence over b: the older, then first by "namespace/name". */
static int precedence(const cJSON *a, const cJSON *b, int *by_age)
{
    const char *ta = meta_str(a, "creationTimestamp"), *tb = meta_str(b, "creationTimestamp");
    char *ka, *kb;
    int c;

    *by_age = 1;
    if (ta && tb && strcmp(ta, tb) != 0)
        return strcmp(ta, tb);
    if (!ta != !tb) /* no creationTimestamp: a CREATE, younger than any */
        return ta ? -1 : 1;
    *by_age = 0;
    ka = xasprintf("%s/%s", obj_ns(a), obj_name(a));
    kb = xasprintf("%s/%s", obj_ns(b), obj_name(b));
    c = strcmp(ka, kb);
    free(ka);
    free(kb);
    return c;
}

/* The listeners of one parent that admit the route under review. */
struct lview {
    const cJSON *l;
    const char **host; /* its effective hostnames: the route's intersected with the listener's */
    size_t nhost;
};

struct conflict {
    struct xc *x;
    const struct route *self;
    const struct pref *p;
    const char *owner_ns;
    struct lview *lv;
    size_t nlv;
    struct mkey *mine; /* keys made on first use */
    struct mbest *best;
    size_t nmine;
};

/* The hostnames r gets on listener l; "*" for none at all. Caller frees the array. */
static const char **effective_hosts(const cJSON *l, const struct route *r, size_t *n)
{
    const char *lh = jstr(l, "hostname");
    const char **out = xcalloc((size_t)cJSON_GetArraySize(r->hostnames) + 1, sizeof(*out));
    const cJSON *h;

    *n = 0;
    if (lh && !*lh)
        lh = NULL;
    cJSON_ArrayForEach(h, r->hostnames) {
        const char *e = !cJSON_IsString(h) ? NULL
                        : lh               ? host_intersect(h->valuestring, lh)
                                           : h->valuestring;

        if (e)
            out[(*n)++] = e;
    }
    if (!r->hostnames)
        out[(*n)++] = lh ? lh : "*";
    return out;
}

/* Whether route o gets hostname h on listener l (as effective_hosts() would list it). */
static int route_gets_host(const cJSON *l, const struct route *o, const char *h)
{
    const char *lh = jstr(l, "hostname");
    const cJSON *oh;

    if (lh && !*lh)
        lh = NULL;
    if (!o->hostnames)
        return strcmp(lh ? lh : "*", h) == 0;
    cJSON_ArrayForEach(oh, o->hostnames) {
        const char *e = !cJSON_IsString(oh) ? NULL
                        : lh                ? host_intersect(oh->valuestring, lh)
                                            : oh->valuestring;

        if (e && strcmp(e, h) == 0)
            return 1;
    }
    return 0;
}

/* The first hostname the route under review gets on v that route o gets too, or NULL. */
static const char *common_host(const struct lview *v, const struct route *o)
{
    size_t i;

    for (i = 0; i < v->nhost; i++) {
        if (route_gets_host(v->l, o, v->host[i]))
            return v->host[i];
    }
    return NULL;
}

static void put_conflict(struct sbuf *sb, const struct conflict *c, const struct mkey *mine,
                         const struct route *o, const struct mkey *theirs, const cJSON *l,
                         const char *host)
{
    int by_age, self_first = precedence(c->self->obj, o->obj, &by_age) < 0;

    sb_puts(sb, mine->implicit ? "this rule (no matches: PathPrefix \"/\")" : "this match");
    sb_printf(sb, " duplicates HTTPRoute %s/%s (", o->ns, o->name);
    put_match_at(sb, theirs);
    sb_printf(sb, ") on %s %s/%s listener ", c->p->kind, c->p->ns, c->p->name);
    put_q(sb, jstr_or(l, "name", ""));
    if (strcmp(host, "*") == 0) {
        sb_puts(sb, " for any hostname; ");
    } else {
        sb_puts(sb, " for hostname ");
        put_q(sb, host);
        sb_puts(sb, "; ");
    }
    if (!self_first)
        sb_puts(sb, by_age ? "the older route wins"
                           : "both are as old and the other route is first by namespace/name");
    else
        sb_puts(sb, by_age ? "this route is older and wins"
                           : "both are as old and this route is first by namespace/name");
    if (!self_first)
        sb_puts(sb, ", so this match never receives traffic");
    else
        sb_printf(sb, ", so that match of HTTPRoute %s/%s stops receiving traffic", o->ns, o->name);
}

/* Record a conflict of mine[i] unless one with a route of higher precedence is known. */
static void consider(struct conflict *c, size_t i, const struct route *o, const struct mkey *theirs,
                     const cJSON *l, const char *host)
{
    struct mbest *b = &c->best[i];
    struct sbuf sb = {0};
    int by_age;

    if (b->other && (b->other == o->obj || precedence(b->other, o->obj, &by_age) <= 0))
        return;
    put_conflict(&sb, c, &c->mine[i], o, theirs, l, host);
    free(b->detail);
    b->detail = sb_detach(&sb);
    b->other = o->obj;
}

/*
 * One match of route o (theirs->key still NULL) against ours: the paths
 * first, which allocate nothing, then the whole normalised match.
 */
static void compare_match(struct conflict *c, const struct lview *v, const struct route *o,
                          const char *host, const cJSON *m, struct mkey *theirs)
{
    size_t i;

    match_path(m, &theirs->ptype, &theirs->pvalue);
    for (i = 0; i < c->nmine; i++) {
        struct mkey *k = &c->mine[i];

        if (strcmp(k->pvalue, theirs->pvalue) != 0 || strcmp(k->ptype, theirs->ptype) != 0)
            continue;
        if (!k->key)
            k->key = match_key(k->m);
        if (!theirs->key)
            theirs->key = match_key(m);
        if (strcmp(k->key, theirs->key) == 0)
            consider(c, i, o, theirs, v->l, host);
    }
    free(theirs->key);
    theirs->key = NULL;
}

/* Route o is on listener view v too: compare hostnames, then each of its matches. */
static void compare_on(struct conflict *c, const struct lview *v, const struct route *o)
{
    const cJSON *rules = spec_of(o->obj, "rules"), *rule, *m;
    const char *host = common_host(v, o);
    size_t r = 0;

    for (rule = host && rules ? rules->child : NULL; rule; rule = rule->next, r++) {
        const cJSON *matches = jget(rule, "matches");
        struct mkey theirs = {r, 0, 1, NULL, NULL, NULL, NULL};

        if (cJSON_GetArraySize(matches) == 0)
            compare_match(c, v, o, host, NULL, &theirs);
        theirs.implicit = 0;
        cJSON_ArrayForEach(m, matches) {
            compare_match(c, v, o, host, m, &theirs);
            theirs.match++;
        }
    }
}

/* One parentRef of another route: on which of our listeners is it too? */
static void conflict_ref(struct conflict *c, const struct route *o, const struct pref *op)
{
    size_t i;

    for (i = 0; i < c->nlv; i++) {
        const cJSON *l = c->lv[i].l;

        if (listener_targeted(l, op) && listener_admits(c->x->wc, l, c->owner_ns, o) == ADMIT_YES)
            compare_on(c, &c->lv[i], o);
    }
}

/* Whether a match of route o has the path of one of ours: the cheap test that rules most out. */
static int shares_path(const struct conflict *c, const cJSON *o)
{
    const cJSON *rules = spec_of(o, "rules"), *rule, *m;
    const char *type, *value;
    size_t i;

    cJSON_ArrayForEach(rule, rules) {
        const cJSON *matches = jget(rule, "matches");

        m = cJSON_GetArraySize(matches) > 0 ? matches->child : NULL;
        do {
            match_path(m, &type, &value);
            for (i = 0; i < c->nmine; i++) {
                if (strcmp(c->mine[i].pvalue, value) == 0 && strcmp(c->mine[i].ptype, type) == 0)
                    return 1;
            }
            m = m ? m->next : NULL;
        } while (m);
    }
    return 0;
}

/* 1 when hostnames lists exact names only (no wildcard): then two routes
   that share none of them cannot share an effective hostname. */
static int exact_hosts(const cJSON *hostnames)
{
    const cJSON *h;

    if (cJSON_GetArraySize(hostnames) == 0)
        return 0; /* none: the listener's hostname, whatever it is */
    cJSON_ArrayForEach(h, hostnames) {
        if (!cJSON_IsString(h) || h->valuestring[0] == '*')
            return 0;
    }
    return 1;
}

/* Whether route o may share a hostname with ours: the second cheap test
   (routes of one shared Gateway mostly differ by hostname). */
static int may_share_host(const struct conflict *c, const cJSON *o)
{
    const cJSON *mine = c->self->hostnames, *theirs = spec_of(o, "hostnames"), *a, *b;

    if (!exact_hosts(mine) || !exact_hosts(theirs))
        return 1;
    cJSON_ArrayForEach(a, mine) {
        cJSON_ArrayForEach(b, theirs) {
            if (strcmp(a->valuestring, b->valuestring) == 0)
                return 1;
        }
    }
    return 0;
}

/* wcache_each_child() callback: another route of the parent. */
static int conflict_child(const cJSON *obj, void *arg)
{
    struct conflict *c = arg;
    const cJSON *refs = spec_of(obj, "parentRefs"), *ref;
    struct route o;

    /* the cheapest tests that rule most routes out first: this walk is per attached route */
    if (!streq(jstr(obj, "kind"), "HTTPRoute") || !may_share_host(c, obj) || !shares_path(c, obj) ||
        !route_of(obj, &o) ||
        (strcmp(o.ns, c->self->ns) == 0 && strcmp(o.name, c->self->name) == 0))
        return 0;
    cJSON_ArrayForEach(ref, refs) {
        struct pref op;

        if (pref_of(ref, o.ns, &op) && pref_names(&op, c->p->kind, c->p->ns, c->p->name))
            conflict_ref(c, &o, &op);
    }
    return 0;
}

/* The conflicts of the route under review on one parent (a cached Gateway). */
static void conflicts_on_parent(struct conflict *c, const cJSON *gw)
{
    const cJSON *listeners = spec_of(gw, "listeners"), *l;
    size_t i;

    c->owner_ns = obj_ns(gw);
    c->lv = xcalloc((size_t)cJSON_GetArraySize(listeners) + 1, sizeof(*c->lv));
    c->nlv = 0;
    cJSON_ArrayForEach(l, listeners) {
        if (!listener_targeted(l, c->p) ||
            listener_admits(c->x->wc, l, c->owner_ns, c->self) != ADMIT_YES)
            continue;
        c->lv[c->nlv].l = l;
        c->lv[c->nlv].host = effective_hosts(l, c->self, &c->lv[c->nlv].nhost);
        c->nlv++;
    }
    if (c->nlv)
        wcache_each_child_host(c->x->wc, c->p->kind, c->p->ns, c->p->name,
                               wcache_host_filter(c->self->hostnames), conflict_child, c);
    for (i = 0; i < c->nlv; i++)
        free(c->lv[i].host);
    free(c->lv);
}

static void report_conflicts(struct xc *x, const struct conflict *c)
{
    size_t i;

    for (i = 0; i < c->nmine; i++) {
        struct sbuf at = {0}, sb = {0};

        if (!c->best[i].detail)
            continue;
        put_match_at(&at, &c->mine[i]);
        sb_puts(&sb, c->best[i].detail);
        finding(x, XCHECK_ROUTE_CONFLICT, VERR_FORBIDDEN, at.buf, NULL, &sb);
        sb_release(&at);
        free(c->best[i].detail);
    }
}

static void check_route_conflict(struct xc *x, const struct route *r)
{
    const cJSON *refs = spec_of(r->obj, "parentRefs"), *ref;
    struct conflict c = {0};
    struct mkey *mine;
    struct pref p;

    c.x = x;
    c.self = r;
    c.p = &p;
    mine = route_keys(r->obj, &c.nmine);
    c.mine = mine;
    c.best = xcalloc(c.nmine + 1, sizeof(*c.best));
    cJSON_ArrayForEach(ref, refs) {
        const cJSON *gw;

        if (!pref_of(ref, r->ns, &p) || strcmp(p.kind, "Gateway") != 0)
            continue;
        gw = wcache_get(x->wc, "Gateway", p.ns, p.name);
        if (gw)
            conflicts_on_parent(&c, gw);
    }
    report_conflicts(x, &c);
    free(c.best);
    keys_free(mine, c.nmine);
}

/* ---- gateway-detach ----------------------------------------------------- */

struct detached {
    char *key; /* "namespace/name" */
    const char *kind;
};

struct detach {
    const struct wcache *wc;
    const cJSON *old_gw, *new_gw;
    const char *ns, *name;
    struct detached *d;
    size_t n, alloc;
};

/* wcache_each_child() callback: did the old Gateway admit this route and the new one not? */
static int detach_child(const cJSON *obj, void *arg)
{
    struct detach *w = arg;
    const cJSON *refs = spec_of(obj, "parentRefs"), *ref;
    struct route r;

    if (!route_of(obj, &r))
        return 0;
    cJSON_ArrayForEach(ref, refs) {
        struct pref p;

        if (!pref_of(ref, r.ns, &p) || !pref_names(&p, "Gateway", w->ns, w->name))
            continue;
        if (parent_admits(w->wc, w->old_gw, &p, &r) && !parent_admits(w->wc, w->new_gw, &p, &r))
            break;
    }
    if (!ref)
        return 0;
    if (w->n == w->alloc) {
        w->alloc = w->alloc ? w->alloc * 2 : 8;
        w->d = xrealloc(w->d, w->alloc * sizeof(*w->d));
    }
    w->d[w->n].key = xasprintf("%s/%s", r.ns, r.name);
    w->d[w->n++].kind = r.kind;
    return 0;
}

static int cmp_detached(const void *a, const void *b)
{
    const struct detached *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c ? c : strcmp(x->kind, y->kind);
}

static void check_gateway_detach(struct xc *x, const cJSON *gw, const cJSON *old)
{
    struct detach w = {x->wc, old, gw, obj_ns(gw), obj_name(gw), NULL, 0, 0};
    struct sbuf sb = {0};
    size_t i;

    wcache_each_child(x->wc, "Gateway", w.ns, w.name, detach_child, &w);
    if (w.n == 0)
        return;
    qsort(w.d, w.n, sizeof(*w.d), cmp_detached);
    sb_printf(&sb, "this change detaches %zu route%s now attached: ", w.n, w.n == 1 ? "" : "s");
    for (i = 0; i < w.n; i++) {
        if (i < MAX_NAMES) {
            sb_puts(&sb, i ? ", " : "");
            if (strcmp(w.d[i].kind, "HTTPRoute") != 0)
                sb_printf(&sb, "%s ", w.d[i].kind);
            sb_puts(&sb, w.d[i].key);
        }
        free(w.d[i].key);
    }
    if (w.n > MAX_NAMES)
        sb_printf(&sb, " and %zu more", w.n - MAX_NAMES);
    free(w.d);
    finding(x, XCHECK_GATEWAY_DETACH, VERR_FORBIDDEN, "spec.listeners", NULL, &sb);
}

/* ---- running the checks ------------------------------------------------- */

static void run_route(struct xc *x, const struct route *r)
{
    struct grant_walk g = {x, r->kind, r->ns};

    if (check_on(x, XCHECK_PARENT_LISTENER))
        check_parent_listener(x, r);
    if (check_on(x, XCHECK_REFERENCE_GRANT))
        each_backend_ref(r->obj, r->ns, grant_ref, &g);
    if (check_on(x, XCHECK_BACKEND_EXISTS))
        each_backend_ref(r->obj, r->ns, backend_ref, &g);
    if (check_on(x, XCHECK_PARENT_EXISTS))
        check_parent_exists(x, r);
    if (check_on(x, XCHECK_ROUTE_CONFLICT) && strcmp(r->kind, "HTTPRoute") == 0)
        check_route_conflict(x, r);
}

static void run_gateway(struct xc *x, const cJSON *gw, const cJSON *old, enum validate_op op)
{
    struct grant_walk g = {x, "Gateway", obj_ns(gw)};

    if (check_on(x, XCHECK_REFERENCE_GRANT))
        each_cert_ref(gw, g.ns, grant_ref, &g);
    if (check_on(x, XCHECK_GATEWAY_DETACH) && op == VALIDATE_UPDATE && old)
        check_gateway_detach(x, gw, old);
}

static void run_listenerset(struct xc *x, const cJSON *ls)
{
    struct grant_walk g = {x, "ListenerSet", obj_ns(ls)};

    if (check_on(x, XCHECK_PARENT_LISTENER))
        check_ls_parent(x, ls);
    if (check_on(x, XCHECK_REFERENCE_GRANT))
        each_cert_ref(ls, g.ns, grant_ref, &g);
    if (check_on(x, XCHECK_PARENT_EXISTS))
        check_ls_parent_exists(x, ls);
}

size_t xcheck_run(const struct xcheck_config *cfg, const struct wcache *wc, const cJSON *obj,
                  const cJSON *old, enum validate_op op, struct verr_list *out)
{
    struct xc x = {cfg, wc, out, 0};
    const char *kind = jstr(obj, "kind");
    struct route r;

    if (!cfg || !wc || !kind || op == VALIDATE_DELETE || !xcheck_any(cfg) || !in_gw_group(obj))
        return 0;
    wcache_read_begin(wc);
    if (route_of(obj, &r))
        run_route(&x, &r);
    else if (strcmp(kind, "Gateway") == 0)
        run_gateway(&x, obj, old, op);
    else if (strcmp(kind, "ListenerSet") == 0)
        run_listenerset(&x, obj);
    wcache_read_end(wc);
    return x.found;
}

/* ---- what the checks read ----------------------------------------------- */

struct refs_walk {
    const char *ns; /* the referrer's */
    xcheck_ref_fn fn;
    void *arg;
};

static void refs_backend(const struct oref *o, void *arg)
{
    const struct refs_walk *w = arg;

    if (strcmp(o->ns, w->ns) != 0)
        w->fn("ReferenceGrant", o->ns, NULL, w->arg);
    if (!*o->group && strcmp(o->kind, "Service") == 0)
        w->fn("Service", o->ns, o->name, w->arg);
}

static void refs_cert(const struct oref *o, void *arg)
{
    const struct refs_walk *w = arg;

    if (strcmp(o->ns, w->ns) != 0)
        w->fn("ReferenceGrant", o->ns, NULL, w->arg);
}

static void refs_route(const struct route *r, struct refs_walk *w)
{
    const cJSON *refs = spec_of(r->obj, "parentRefs"), *ref;

    cJSON_ArrayForEach(ref, refs) {
        struct pref p;

        if (pref_of(ref, r->ns, &p))
            w->fn(p.kind, p.ns, p.name, w->arg);
    }
    w->fn("Namespace", "", r->ns, w->arg);
    each_backend_ref(r->obj, r->ns, refs_backend, w);
}

void xcheck_refs(const cJSON *obj, xcheck_ref_fn fn, void *arg)
{
    const char *kind = jstr(obj, "kind");
    struct refs_walk w = {obj_ns(obj), fn, arg};
    struct route r;
    struct pref gp;

    if (!kind || !fn || !in_gw_group(obj))
        return;
    if (route_of(obj, &r)) {
        refs_route(&r, &w);
    } else if (strcmp(kind, "Gateway") == 0) {
        each_cert_ref(obj, w.ns, refs_cert, &w);
    } else if (strcmp(kind, "ListenerSet") == 0) {
        if (ls_parent_of(obj, &gp))
            fn("Gateway", gp.ns, gp.name, arg);
        fn("Namespace", "", w.ns, arg);
        each_cert_ref(obj, w.ns, refs_cert, &w);
    }
}

/* ---- configuration ------------------------------------------------------ */

void xcheck_defaults(struct xcheck_config *cfg)
{
    size_t i;

    for (i = 0; i < XCHECK_N; i++)
        cfg->mode[i] = XCHECK_WARN;
}

const char *xcheck_name(enum xcheck_id id)
{
    return (unsigned)id < XCHECK_N ? check_names[id] : NULL;
}

const char *xcheck_mode_name(enum xcheck_mode m)
{
    return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : NULL;
}

int xcheck_any(const struct xcheck_config *cfg)
{
    size_t i;

    for (i = 0; cfg && i < XCHECK_N; i++) {
        if (cfg->mode[i] != XCHECK_OFF)
            return 1;
    }
    return 0;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The check named name (XCHECK_N for "all"), or -1. */
static int check_of(const char *name)
{
    size_t i;

    for (i = 0; i < XCHECK_N; i++) {
        if (strcmp(name, check_names[i]) == 0)
            return (int)i;
    }
    return strcmp(name, "all") == 0 ? XCHECK_N : -1;
}

static int mode_of(const char *s)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(mode_names); i++) {
        if (strcmp(s, mode_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* Set check name to mode; cfg unchanged on error. */
static int set_one(struct xcheck_config *cfg, const char *name, const char *mode, char *err,
                   size_t errlen)
{
    int id = check_of(name), m = mode_of(mode);
    size_t i;

    if (id < 0)
        return fail(err, errlen,
                    "unknown check \"%s\" (choose parent-listener, reference-grant, "
                    "backend-exists, parent-exists, route-conflict, gateway-detach or all)",
                    name);
    if (m < 0)
        return fail(err, errlen, "unknown mode \"%s\" for check %s (choose off, warn or deny)",
                    mode, name);
    if (id < XCHECK_N && m == XCHECK_DENY && advice[id])
        return fail(err, errlen, "check %s cannot deny (it is advice: %s); use warn or off", name,
                    advice[id]);
    for (i = 0; i < XCHECK_N; i++) {
        /* all=deny: deny with the checks that can, warn with the advice */
        if (id == XCHECK_N || (size_t)id == i)
            cfg->mode[i] = m == XCHECK_DENY && advice[i] ? XCHECK_WARN : (enum xcheck_mode)m;
    }
    return 0;
}

int xcheck_set(struct xcheck_config *cfg, const char *setting, char *err, size_t errlen)
{
    const char *eq = setting ? strchr(setting, '=') : NULL;
    char *name;
    int rc;

    if (!eq)
        return fail(err, errlen,
                    "bad check setting \"%s\" (want NAME=MODE, e.g. parent-listener=deny)",
                    setting ? setting : "");
    name = xstrndup(setting, (size_t)(eq - setting));
    rc = set_one(cfg, name, eq + 1, err, errlen);
    free(name);
    return rc;
}

/* Apply the "checks" mapping of a configuration file to cfg. */
static int load_checks(struct xcheck_config *cfg, const struct yamlj_doc *doc, const cJSON *checks,
                       const char *path, char *err, size_t errlen)
{
    int line = yamlj_line_of(doc, checks);
    char msg[512];
    const cJSON *c;

    if (!cJSON_IsObject(checks))
        return fail(err, errlen, "%s:%d: checks must map check names to off, warn or deny", path,
                    line);
    cJSON_ArrayForEach(c, checks) {
        /* YAML 1.1 reads a bare off as false */
        const char *mode = cJSON_IsFalse(c) ? "off" : cJSON_IsString(c) ? c->valuestring : NULL;

        if (!mode)
            return fail(err, errlen, "%s:%d: check %s: mode must be off, warn or deny", path, line,
                        c->string);
        if (set_one(cfg, c->string, mode, msg, sizeof(msg)) != 0)
            return fail(err, errlen, "%s:%d: %s", path, line, msg);
    }
    return 0;
}

static int load_doc(struct xcheck_config *cfg, const struct yamlj_stream *s, const char *path,
                    char *err, size_t errlen)
{
    const struct yamlj_doc *doc = &s->doc[0];
    const cJSON *k;

    if (s->len > 1)
        return fail(err, errlen, "%s:%d: want one document, not %zu", path, s->doc[1].line, s->len);
    if (!cJSON_IsObject(doc->json))
        return fail(err, errlen, "%s:%d: want a mapping with the key \"checks\"", path, doc->line);
    cJSON_ArrayForEach(k, doc->json) {
        if (strcmp(k->string, "checks") != 0)
            return fail(err, errlen, "%s:%d: unknown key \"%s\" (want checks)", path,
                        yamlj_line_of(doc, doc->json), k->string);
        if (load_checks(cfg, doc, k, path, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct sbuf sb = {0};
    char buf[8192];
    size_t n;

    if (!f)
        return NULL;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_add(&sb, buf, n);
    if (ferror(f)) {
        fclose(f);
        sb_release(&sb);
        return NULL;
    }
    fclose(f);
    *len = sb.len;
    return sb.buf ? sb_detach(&sb) : xstrdup("");
}

int xcheck_load_file(struct xcheck_config *cfg, const char *path, char *err, size_t errlen)
{
    struct xcheck_config next = *cfg;
    struct yamlj_stream s = {0};
    char msg[256];
    size_t len = 0;
    char *buf;
    int rc = 0;

    errno = 0;
    buf = slurp(path, &len);
    if (!buf)
        return fail(err, errlen, "cannot read %s: %s", path, strerror(errno ? errno : EIO));
    if (yamlj_parse(buf, len, NULL, &s, msg, sizeof(msg)) != 0)
        rc = fail(err, errlen, "%s: %s", path, msg);
    else if (s.len > 0)
        rc = load_doc(&next, &s, path, err, errlen);
    free(buf);
    yamlj_stream_release(&s);
    if (rc == 0)
        *cfg = next;
    return rc;
}

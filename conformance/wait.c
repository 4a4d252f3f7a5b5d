/*
 * The wait helpers of upstream's suite (spec conformance.md §1.7, §1.8) as
 * pure functions: the runner fetches, these judge (include/scenario.h).
 * Each check mirrors one helper of conformance/utils/kubernetes/helpers.go:
 * what makes it pass, what keeps it polling, and what aborts it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "util.h"

#define GW_GROUP       "gateway.networking.k8s.io"
#define SKIP_READINESS "gateway-api/skip-this-for-readiness"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(get(o, k));
}

static int streq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

__attribute__((format(printf, 2, 3))) static void say(char **why, const char *fmt, ...)
{
    struct sbuf sb = {0};
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    free(*why);
    *why = sb_detach(&sb);
}

static long long num(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);

    /* beyond long long (no int64 field holds that) does not convert (UB): 0 as for none */
    return cJSON_IsNumber(v) && v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18
               ? (long long)v->valuedouble
               : 0;
}

static long long generation(const cJSON *obj)
{
    return num(get(obj, "metadata"), "generation");
}

static const cJSON *status_of(const cJSON *obj, const char *k)
{
    return get(get(obj, "status"), k);
}

/* "Gateway gateway-conformance-infra/same-namespace" */
static char *target_text(const struct conf_target *t)
{
    if (t->namespace_)
        return xasprintf("%s %s/%s", t->kind, t->namespace_, t->name);
    return xasprintf("%s %s", t->kind, t->name);
}

/* ---- conditions (findConditionInList, conditionsMatch) ------------------ */

/* A condition to look for; status or reason NULL match anything. */
struct want {
    const char *type;
    const char *status;
    const char *reason;
};

static struct want want_of(const struct conf_condition *c)
{
    struct want w = {c->type, c->status, c->reason};

    return w;
}

/* Same type; status equal unless expected status is empty; same for reason. */
static int cond_find(const cJSON *conds, const struct want *want)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, conds) {
        if (!streq(str(c, "type"), want->type))
            continue;
        if (want->status && !streq(str(c, "status"), want->status))
            continue;
        if (want->reason && !streq(str(c, "reason"), want->reason))
            continue;
        return 1;
    }
    return 0;
}

static void cond_want_text(struct sbuf *sb, const struct want *c)
{
    sb_printf(sb, "%s=%s", c->type, c->status ? c->status : "<any>");
    if (c->reason)
        sb_printf(sb, " reason %s", c->reason);
}

/* What the list has of that type: "Accepted=False reason X" or "no Accepted condition". */
static void cond_got_text(struct sbuf *sb, const cJSON *conds, const char *type)
{
    const cJSON *c;
    int n = 0;

    cJSON_ArrayForEach(c, conds) {
        if (!streq(str(c, "type"), type))
            continue;
        sb_printf(sb, "%s%s=%s reason %s", n++ ? ", " : "", type,
                  str(c, "status") ? str(c, "status") : "?",
                  str(c, "reason") ? str(c, "reason") : "?");
    }
    if (!n)
        sb_printf(sb, "no %s condition", type);
}

/* "expected A=True reason R, got A=False reason S" */
static char *cond_mismatch(const cJSON *conds, const struct want *want)
{
    struct sbuf sb = {0};

    sb_puts(&sb, "expected ");
    cond_want_text(&sb, want);
    sb_puts(&sb, ", got ");
    cond_got_text(&sb, conds, want->type);
    return sb_detach(&sb);
}

/*
 * conditionsMatch(): at least as many conditions as expected, and each
 * expected one found. NULL when they match, else why not.
 */
static char *conds_match(const struct want *want, size_t n, const cJSON *conds)
{
    size_t i;
    int have = cJSON_GetArraySize(conds);

    if ((size_t)(have < 0 ? 0 : have) < n)
        return xasprintf("expected at least %zu conditions, got %d", n, have);
    for (i = 0; i < n; i++) {
        if (!cond_find(conds, &want[i]))
            return cond_mismatch(conds, &want[i]);
    }
    return NULL;
}

/* conds_match() of the conditions a scenario wrote. */
static char *conds_match_list(const struct conf_conditions *cs, const cJSON *conds)
{
    struct want *v = xcalloc(cs->n + 1, sizeof(*v));
    size_t i;
    char *m;

    for (i = 0; i < cs->n; i++)
        v[i] = want_of(&cs->v[i]);
    m = conds_match(v, cs->n, conds);
    free(v);
    return m;
}

/*
 * ConditionsHaveLatestObservedGeneration(): NULL when every condition's
 * observedGeneration equals the object's metadata.generation, else
 * upstream's message.
 */
static char *stale_text(const cJSON *obj, const cJSON *conds)
{
    long long gen = generation(obj);
    const cJSON *c;
    struct sbuf list = {0};
    int n = 0, total = 0;
    char *out;

    cJSON_ArrayForEach(c, conds) {
        total++;
        if (num(c, "observedGeneration") == gen)
            continue;
        sb_printf(&list, "%s%s (generation %lld)", n++ ? ", " : "",
                  str(c, "type") ? str(c, "type") : "?", num(c, "observedGeneration"));
    }
    if (!n)
        return NULL;
    out = xasprintf("expected observedGeneration to be updated to %lld for all conditions, only "
                    "%d/%d were updated. stale conditions are: %s",
                    gen, total - n, total, list.buf);
    sb_release(&list);
    return out;
}

/* ---- state, fetches ------------------------------------------------------ */

void conf_wait_state_init(struct conf_wait_state *st)
{
    memset(st, 0, sizeof(*st));
}

void conf_wait_state_release(struct conf_wait_state *st)
{
    cJSON_Delete(st->prev_parents);
    free(st->address);
    memset(st, 0, sizeof(*st));
}

static int last_phase(const struct conf_wait *w)
{
    return (int)w->nroutes + 1;
}

static void fetch_target(struct conf_fetch *f, const struct conf_target *t)
{
    f->api_version = t->api_version;
    f->kind = t->kind;
    f->namespace_ = t->namespace_;
    f->name = t->name;
}

static size_t namespaces_fetches(const struct conf_wait *w, struct conf_fetch **out)
{
    size_t i;

    *out = xcalloc(2 * w->namespaces.n + 1, sizeof(**out));
    for (i = 0; i < w->namespaces.n; i++) {
        (*out)[2 * i] = (struct conf_fetch){GW_GROUP "/v1", "Gateway", w->namespaces.v[i], NULL};
        (*out)[2 * i + 1] = (struct conf_fetch){"v1", "Pod", w->namespaces.v[i], NULL};
    }
    return 2 * w->namespaces.n;
}

size_t conf_wait_fetches(const struct conf_wait *w, const struct conf_wait_state *st,
                         struct conf_fetch **out)
{
    const struct conf_target *t = &w->gateway;

    if (w->kind == CONF_WAIT_NAMESPACES_READY)
        return namespaces_fetches(w, out);
    *out = xcalloc(1, sizeof(**out));
    switch (w->kind) {
    case CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED:
        if (st->phase >= 1 && st->phase < last_phase(w))
            t = &w->routes[st->phase - 1];
        break;
    case CONF_WAIT_ROUTE_CONDITION:
    case CONF_WAIT_ROUTE_NO_ACCEPTED_PARENTS:
    case CONF_WAIT_ROUTE_PARENTS:
        t = &w->route;
        break;
    case CONF_WAIT_LATEST_GENERATION:
        t = &w->object;
        break;
    case CONF_WAIT_GATEWAYCLASS_ACCEPTED:
        (*out)[0] = (struct conf_fetch){GW_GROUP "/v1", "GatewayClass", NULL, w->gateway_class};
        return 1;
    default:
        break;
    }
    fetch_target(&(*out)[0], t);
    return 1;
}

/* The single fetched object, or NULL with *why "error fetching ...". */
static const cJSON *the_object(const struct conf_wait *w, const struct conf_wait_state *st,
                               const struct conf_objects *objs, char **why)
{
    struct conf_fetch *f = NULL;
    const cJSON *obj = NULL;

    conf_wait_fetches(w, st, &f);
    if (objs->n >= 1 && objs->v[0].obj)
        obj = objs->v[0].obj;
    else
        say(why, "error fetching %s %s%s%s: %s", f[0].kind, f[0].namespace_ ? f[0].namespace_ : "",
            f[0].namespace_ ? "/" : "", f[0].name,
            objs->n >= 1 && objs->v[0].error ? objs->v[0].error : "not fetched");
    free(f);
    return obj;
}

/* ---- the gateway address (WaitForGatewayAddress, §1.8) ------------------- */

/* net.JoinHostPort: brackets a host holding a ':' (IPv6). */
static char *join_host_port(const char *host, long long port)
{
    if (strchr(host, ':'))
        return xasprintf("[%s]:%lld", host, port);
    return xasprintf("%s:%lld", host, port);
}

static const cJSON *address_listener(const struct conf_wait *w, const cJSON *gw)
{
    const cJSON *ls = get(get(gw, "spec"), "listeners"), *l;

    if (w->listeners.n) {
        cJSON_ArrayForEach(l, ls) {
            if (streq(str(l, "name"), w->listeners.v[0]))
                return l;
        }
    }
    return cJSON_GetArrayItem(ls, 0);
}

static enum conf_wait_verdict check_address(const struct conf_wait *w, const cJSON *gw,
                                            int use_port, char **why, char **addr)
{
    const cJSON *l, *a;
    char *gws = target_text(&w->gateway), *stale;

    stale = stale_text(gw, status_of(gw, "conditions"));
    if (stale) {
        say(why, "%s: %s", gws, stale);
        free(stale);
        free(gws);
        return CONF_WAIT_PENDING;
    }
    l = address_listener(w, gw);
    if (!l) {
        say(why, "%s has no listeners in spec", gws);
        free(gws);
        return CONF_WAIT_FATAL;
    }
    cJSON_ArrayForEach(a, status_of(gw, "addresses")) {
        const cJSON *type = get(a, "type");

        if (!type || cJSON_IsNull(type))
            continue;
        *addr = use_port ? join_host_port(str(a, "value") ? str(a, "value") : "", num(l, "port"))
                         : xstrdup(str(a, "value") ? str(a, "value") : "");
        say(why, "%s has address %s", gws, *addr);
        free(gws);
        return CONF_WAIT_DONE;
    }
    say(why, "%s has no typed address in status.addresses yet", gws);
    free(gws);
    return CONF_WAIT_PENDING;
}

/* ---- route parents (RouteMustHaveParents, parentsForRouteMatch) ---------- */

/* One expected entry of status.parents (parentsForRouteMatch). */
struct parent_want {
    const struct conf_target *gateway;
    const struct want *conds;
    size_t nconds;
    int ns_required;
};

/* Why this parent status entry is not the expected one, or NULL. */
static char *parent_mismatch(const struct parent_want *pw, const cJSON *p, const char *controller)
{
    const cJSON *ref = get(p, "parentRef"), *ns = get(ref, "namespace");
    const char *gwns = pw->gateway->namespace_;

    if (!streq(str(p, "controllerName"), controller))
        return xasprintf("controllerName is '%s', expected '%s'",
                         str(p, "controllerName") ? str(p, "controllerName") : "",
                         controller ? controller : "");
    if (!streq(str(ref, "group"), GW_GROUP))
        return xasprintf("parentRef.group is %s, expected %s",
                         str(ref, "group") ? str(ref, "group") : "unset", GW_GROUP);
    if (!streq(str(ref, "kind"), "Gateway"))
        return xasprintf("parentRef.kind is %s, expected Gateway",
                         str(ref, "kind") ? str(ref, "kind") : "unset");
    if (ns && !cJSON_IsNull(ns) && !streq(cJSON_GetStringValue(ns), gwns))
        return xasprintf("parentRef.namespace is %s, expected %s",
                         cJSON_GetStringValue(ns) ? cJSON_GetStringValue(ns) : "?", gwns);
    if ((!ns || cJSON_IsNull(ns)) && pw->ns_required)
        return xasprintf("parentRef.namespace is unset, expected %s (namespace required)", gwns);
    return conds_match(pw->conds, pw->nconds, get(p, "conditions"));
}

/* NULL when an entry of parents (sectionName not compared) matches pw, else why not. */
static char *parents_match_one(const struct parent_want *pw, const cJSON *parents,
                               const char *controller)
{
    const cJSON *p;
    char *problem = NULL;

    cJSON_ArrayForEach(p, parents) {
        char *m;

        if (!streq(str(get(p, "parentRef"), "name"), pw->gateway->name))
            continue;
        m = parent_mismatch(pw, p, controller);
        free(problem);
        if (!m)
            return NULL;
        problem = m;
    }
    if (problem) {
        char *out = xasprintf("parent %s: %s", pw->gateway->name, problem);

        free(problem);
        return out;
    }
    return xasprintf("has no parent status for Gateway %s/%s (%d parents)", pw->gateway->namespace_,
                     pw->gateway->name, cJSON_GetArraySize(parents));
}

/*
 * RouteMustHaveParents: every expected parent matches an entry. Upstream
 * judges staleness on the previous poll's parents (§1.7), and keeps them
 * (does not look at this poll's) while they are stale.
 */
static enum conf_wait_verdict route_parents_poll(const struct conf_target *route, const cJSON *obj,
                                                 const struct conf_objects *objs,
                                                 struct conf_wait_state *st,
                                                 const struct parent_want *pws, size_t n,
                                                 char **why)
{
    const cJSON *parents = status_of(obj, "parents"), *p;
    char *rs = target_text(route), *problem = NULL;
    size_t i;

    cJSON_ArrayForEach(p, st->prev_parents) {
        problem = stale_text(obj, get(p, "conditions"));
        if (problem)
            break;
    }
    if (!problem) {
        cJSON_Delete(st->prev_parents);
        st->prev_parents = parents ? cJSON_Duplicate(parents, 1) : NULL;
    }
    for (i = 0; !problem && i < n; i++)
        problem = parents_match_one(&pws[i], parents, objs->controller_name);
    if (problem) {
        say(why, "%s %s", rs, problem);
        free(problem);
        free(rs);
        return CONF_WAIT_PENDING;
    }
    say(why, "%s has the expected parents", rs);
    free(rs);
    return CONF_WAIT_DONE;
}

/* The route phase of gateway-and-routes-accepted: Accepted=True reason Accepted. */
static enum conf_wait_verdict check_route_parents(const struct conf_wait *w,
                                                  const struct conf_target *route, const cJSON *obj,
                                                  const struct conf_objects *objs,
                                                  struct conf_wait_state *st, char **why)
{
    static const struct want accepted = {"Accepted", "True", "Accepted"};
    struct parent_want pw = {&w->gateway, &accepted, 1, 0};

    pw.ns_required = !streq(route->namespace_, w->gateway.namespace_);
    return route_parents_poll(route, obj, objs, st, &pw, 1, why);
}

/* route-parents: the parents the scenario lists. */
static enum conf_wait_verdict check_parents_wait(const struct conf_wait *w, const cJSON *obj,
                                                 const struct conf_objects *objs,
                                                 struct conf_wait_state *st, char **why)
{
    struct parent_want *pws = xcalloc(w->nexpect_parents + 1, sizeof(*pws));
    struct want *conds;
    size_t i, k, total = 0;
    enum conf_wait_verdict v;

    for (i = 0; i < w->nexpect_parents; i++)
        total += w->expect_parents[i].conditions.n;
    conds = xcalloc(total + 1, sizeof(*conds));
    for (i = 0, total = 0; i < w->nexpect_parents; i++) {
        const struct conf_parent_expect *pe = &w->expect_parents[i];

        pws[i].gateway = &pe->gateway;
        pws[i].conds = &conds[total];
        pws[i].nconds = pe->conditions.n;
        pws[i].ns_required = w->namespace_required;
        for (k = 0; k < pe->conditions.n; k++)
            conds[total++] = want_of(&pe->conditions.v[k]);
    }
    v = route_parents_poll(&w->route, obj, objs, st, pws, w->nexpect_parents, why);
    free(conds);
    free(pws);
    return v;
}

/* ---- listeners ----------------------------------------------------------- */

static int wanted_listener(const struct conf_strlist *names, const char *name)
{
    size_t i;

    if (!names->n)
        return 1;
    for (i = 0; i < names->n; i++)
        if (streq(names->v[i], name))
            return 1;
    return 0;
}

/* GatewayListenersMustHaveConditions: no staleness check; empty status passes. */
static enum conf_wait_verdict listeners_have(const struct conf_target *gw,
                                             const struct conf_strlist *names,
                                             const struct want *want, size_t nwant,
                                             const cJSON *obj, char **why)
{
    const cJSON *l;
    size_t i, seen = 0;
    char *gws = target_text(gw);

    for (i = 0; i < names->n; i++) {
        cJSON_ArrayForEach(l, status_of(obj, "listeners")) {
            if (streq(str(l, "name"), names->v[i])) {
                seen++;
                break;
            }
        }
    }
    cJSON_ArrayForEach(l, status_of(obj, "listeners")) {
        char *m;

        if (!wanted_listener(names, str(l, "name")))
            continue;
        m = conds_match(want, nwant, get(l, "conditions"));
        if (m) {
            say(why, "%s listener %s: %s", gws, str(l, "name") ? str(l, "name") : "?", m);
            free(m);
            free(gws);
            return CONF_WAIT_PENDING;
        }
    }
    if (seen < names->n) {
        say(why, "%s: not every listener of [%s...] is in status.listeners", gws, names->v[0]);
        free(gws);
        return CONF_WAIT_PENDING;
    }
    say(why, "%s listeners have the conditions", gws);
    free(gws);
    return CONF_WAIT_DONE;
}

static int kind_found(const struct conf_route_kind *k, const cJSON *kinds)
{
    const cJSON *a;
    const char *eg = k->group ? k->group : GW_GROUP;

    cJSON_ArrayForEach(a, kinds) {
        const char *ag = str(a, "group") ? str(a, "group") : GW_GROUP;

        if (streq(eg, ag) && streq(k->kind, str(a, "kind")))
            return 1;
    }
    return 0;
}

/* gatewayListenersMatch() for one expected listener: NULL, or why not. */
static char *listener_mismatch(const struct conf_listener_expect *e, const cJSON *a)
{
    const cJSON *kinds = get(a, "supportedKinds");
    size_t k;

    if (!e->nkinds && cJSON_GetArraySize(kinds) != 0)
        return xasprintf("expected no supportedKinds, got %d", cJSON_GetArraySize(kinds));
    for (k = 0; k < e->nkinds; k++) {
        if (!kind_found(&e->kinds[k], kinds))
            return xasprintf("expected %s/%s in supportedKinds",
                             e->kinds[k].group ? e->kinds[k].group : GW_GROUP, e->kinds[k].kind);
    }
    if (num(a, "attachedRoutes") != e->attached_routes)
        return xasprintf("expected attachedRoutes %lld, got %lld", e->attached_routes,
                         num(a, "attachedRoutes"));
    return conds_match_list(&e->conditions, get(a, "conditions"));
}

static const cJSON *listener_named(const cJSON *ls, const char *name)
{
    const cJSON *l;

    cJSON_ArrayForEach(l, ls) {
        if (streq(str(l, "name"), name))
            return l;
    }
    return NULL;
}

static enum conf_wait_verdict check_listener_status(const struct conf_wait *w, const cJSON *gw,
                                                    char **why)
{
    const cJSON *ls = status_of(gw, "listeners");
    char *gws = target_text(&w->gateway), *m = stale_text(gw, status_of(gw, "conditions"));
    size_t i;

    if (!m && (size_t)cJSON_GetArraySize(ls) != w->nexpect_listeners)
        m = xasprintf("expected %zu listeners in status, got %d", w->nexpect_listeners,
                      cJSON_GetArraySize(ls));
    for (i = 0; !m && i < w->nexpect_listeners; i++) {
        const struct conf_listener_expect *e = &w->expect_listeners[i];
        const cJSON *a = listener_named(ls, e->name);
        char *lm = a ? listener_mismatch(e, a) : xasprintf("not in status.listeners");

        if (lm) {
            m = xasprintf("listener %s: %s", e->name, lm);
            free(lm);
        }
    }
    if (m) {
        say(why, "%s: %s", gws, m);
        free(m);
        free(gws);
        return CONF_WAIT_PENDING;
    }
    say(why, "%s listener status matches", gws);
    free(gws);
    return CONF_WAIT_DONE;
}

static enum conf_wait_verdict check_zero_routes(const struct conf_wait *w, const cJSON *gw,
                                                char **why)
{
    const cJSON *ls = status_of(gw, "listeners");
    char *gws = target_text(&w->gateway), *m = stale_text(gw, status_of(gw, "conditions"));
    int n = cJSON_GetArraySize(ls);
    enum conf_wait_verdict v = CONF_WAIT_PENDING;

    if (m) {
        say(why, "%s: %s", gws, m);
    } else if (n == 0 || (n == 1 && num(cJSON_GetArrayItem(ls, 0), "attachedRoutes") == 0)) {
        say(why, "%s has no routes attached", gws);
        v = CONF_WAIT_DONE;
    } else {
        struct sbuf sb = {0};
        const cJSON *l;

        cJSON_ArrayForEach(l, ls) {
            sb_printf(&sb, "%s%s=%lld", sb.len ? ", " : "", str(l, "name") ? str(l, "name") : "?",
                      num(l, "attachedRoutes"));
        }
        say(why,
            "%s: want no listeners in status or exactly one with 0 attachedRoutes, got %d "
            "(attachedRoutes %s)",
            gws, n, sb.buf);
        sb_release(&sb);
    }
    free(m);
    free(gws);
    return v;
}

/* ---- the waits ----------------------------------------------------------- */

static enum conf_wait_verdict check_and_routes(const struct conf_wait *w,
                                               const struct conf_objects *objs,
                                               struct conf_wait_state *st, char **why)
{
    static const struct want ready[] = {
        {"ResolvedRefs", "True", NULL}, {"Accepted", "True", NULL}, {"Programmed", "True", NULL}};
    static const struct conf_strlist all = {NULL, 0};
    const cJSON *obj = the_object(w, st, objs, why);
    enum conf_wait_verdict v;
    char *addr = NULL;

    if (!obj)
        return CONF_WAIT_FATAL;
    if (st->phase == 0) {
        v = check_address(w, obj, w->use_port, why, &addr);
        if (v == CONF_WAIT_DONE) {
            free(st->address);
            st->address = addr;
        }
    } else if (st->phase < last_phase(w)) {
        v = check_route_parents(w, &w->routes[st->phase - 1], obj, objs, st, why);
    } else {
        return listeners_have(&w->gateway, &all, ready, ARRAY_SIZE(ready), obj, why);
    }
    if (v != CONF_WAIT_DONE)
        return v;
    st->phase++;
    st->polls = 0;
    cJSON_Delete(st->prev_parents);
    st->prev_parents = NULL;
    return CONF_WAIT_ADVANCED;
}

/* HTTPRouteMustHaveCondition: every parent fresh; a parent for the gateway has it. */
static enum conf_wait_verdict check_route_condition(const struct conf_wait *w, const cJSON *obj,
                                                    char **why)
{
    const cJSON *p;
    struct want wt = want_of(&w->conditions.v[0]);
    const struct want *want = &wt;
    char *rs = target_text(&w->route), *m = NULL;

    cJSON_ArrayForEach(p, status_of(obj, "parents")) {
        const cJSON *ref = get(p, "parentRef"), *ns = get(ref, "namespace");
        char *stale = stale_text(obj, get(p, "conditions"));

        if (stale) {
            say(why, "%s parent %s: %s", rs, str(ref, "name") ? str(ref, "name") : "?", stale);
            free(stale);
            free(m);
            free(rs);
            return CONF_WAIT_PENDING;
        }
        if (!streq(str(ref, "name"), w->gateway.name) ||
            (ns && !cJSON_IsNull(ns) && !streq(cJSON_GetStringValue(ns), w->gateway.namespace_)))
            continue;
        if (cond_find(get(p, "conditions"), want)) {
            say(why, "%s has the condition on parent %s", rs, w->gateway.name);
            free(m);
            free(rs);
            return CONF_WAIT_DONE;
        }
        free(m);
        m = cond_mismatch(get(p, "conditions"), want);
    }
    if (m)
        say(why, "%s: %s on parent %s", rs, m, w->gateway.name);
    else
        say(why, "%s has no parent status for Gateway %s/%s", rs, w->gateway.namespace_,
            w->gateway.name);
    free(m);
    free(rs);
    return CONF_WAIT_PENDING;
}

/* HTTPRouteMustHaveNoAcceptedParents. */
static enum conf_wait_verdict check_no_accepted(const struct conf_wait *w, const cJSON *obj,
                                                struct conf_wait_state *st, char **why)
{
    static const struct want not_accepted = {"Accepted", "False", NULL};
    const cJSON *parents = status_of(obj, "parents");
    int n = cJSON_GetArraySize(parents);
    char *rs = target_text(&w->route), *m;
    enum conf_wait_verdict v = CONF_WAIT_PENDING;

    if (n == 0) {
        if (st->empty_seen) {
            say(why, "%s has no parents in status", rs);
            v = CONF_WAIT_DONE;
        } else {
            st->empty_seen = 1;
            say(why, "%s has no parents in status yet: checking once more", rs);
        }
    } else if (n > 1) {
        say(why, "%s has %d parents in status, expected none or one not accepted", rs, n);
    } else {
        const cJSON *conds = get(cJSON_GetArrayItem(parents, 0), "conditions");

        m = stale_text(obj, conds);
        if (!m)
            m = conds_match(&not_accepted, 1, conds);
        if (m)
            say(why, "%s: %s", rs, m);
        else
            say(why, "%s has one parent, not accepted", rs);
        v = m ? CONF_WAIT_PENDING : CONF_WAIT_DONE;
        free(m);
    }
    free(rs);
    return v;
}

/* GatewayMustHaveCondition: stale conditions abort (upstream returns the error). */
static enum conf_wait_verdict check_gateway_condition(const struct conf_wait *w, const cJSON *gw,
                                                      char **why)
{
    const cJSON *conds = status_of(gw, "conditions");
    char *gws = target_text(&w->gateway), *m = stale_text(gw, conds);
    enum conf_wait_verdict v = CONF_WAIT_FATAL;

    struct want want = want_of(&w->conditions.v[0]);

    if (!m && cond_find(conds, &want)) {
        say(why, "%s has the condition", gws);
        v = CONF_WAIT_DONE;
    } else {
        if (!m) {
            m = cond_mismatch(conds, &want);
            v = CONF_WAIT_PENDING;
        }
        say(why, "%s: %s", gws, m);
    }
    free(m);
    free(gws);
    return v;
}

/* {Gateway,GatewayClass,HTTPRoute}MustHaveLatestConditions, then the generation check. */
static enum conf_wait_verdict check_latest(const struct conf_wait *w, const cJSON *obj,
                                           const struct conf_objects *objs, char **why)
{
    const cJSON *p;
    char *os = target_text(&w->object), *m = NULL;
    long long gen = generation(obj);
    enum conf_wait_verdict v = CONF_WAIT_DONE;

    if (streq(w->object.kind, "Gateway") || streq(w->object.kind, "GatewayClass")) {
        m = stale_text(obj, status_of(obj, "conditions"));
    } else {
        cJSON_ArrayForEach(p, status_of(obj, "parents")) {
            m = stale_text(obj, get(p, "conditions"));
            if (m)
                break;
        }
    }
    if (m) {
        say(why, "%s: %s", os, m);
        v = CONF_WAIT_PENDING;
    } else if (w->generation_changed && objs->generation_before < 0) {
        say(why, "%s: no generation recorded before a patch or update", os);
        v = CONF_WAIT_FATAL;
    } else if (w->generation_changed && gen == objs->generation_before) {
        say(why, "%s: metadata.generation is still %lld after the change", os, gen);
        v = CONF_WAIT_FATAL;
    } else {
        say(why, "%s: every condition has observedGeneration %lld", os, gen);
    }
    free(m);
    free(os);
    return v;
}

/* GWCMustHaveAcceptedCondition{True,Any}; yields spec.controllerName. */
static enum conf_wait_verdict check_gwc(const struct conf_wait *w, const cJSON *gwc, char **why,
                                        char **yield)
{
    struct want want = {"Accepted", w->any_status ? NULL : "True", NULL};
    const cJSON *conds = status_of(gwc, "conditions");
    char *m = stale_text(gwc, conds);

    if (!m && cond_find(conds, &want)) {
        const char *cn = str(get(gwc, "spec"), "controllerName");

        *yield = xstrdup(cn ? cn : "");
        say(why, "GatewayClass %s is accepted (controllerName %s)", w->gateway_class, *yield);
        return CONF_WAIT_DONE;
    }
    if (!m)
        m = cond_mismatch(conds, &want);
    say(why, "GatewayClass %s: %s", w->gateway_class, m);
    free(m);
    return CONF_WAIT_PENDING;
}

/* NamespacesMustBeReady for one Gateway: NULL when ready, else why not. */
static char *gateway_unready(const cJSON *gw)
{
    static const struct want acc = {"Accepted", "True", NULL};
    static const struct want prog = {"Programmed", "True", NULL};
    const cJSON *conds = status_of(gw, "conditions");
    char *m = stale_text(gw, conds);

    if (!m && !cond_find(conds, &acc))
        m = cond_mismatch(conds, &acc);
    if (!m && !cond_find(conds, &prog))
        m = cond_mismatch(conds, &prog);
    return m;
}

static int pod_ready(const cJSON *pod)
{
    const cJSON *c, *dt = get(get(pod, "metadata"), "deletionTimestamp");

    cJSON_ArrayForEach(c, status_of(pod, "conditions")) {
        if (streq(str(c, "type"), "Ready") && streq(str(c, "status"), "True"))
            return 1;
    }
    return streq(str(get(pod, "status"), "phase"), "Succeeded") || (dt && !cJSON_IsNull(dt));
}

static char *namespace_unready(const char *ns, const struct conf_fetched *gws,
                               const struct conf_fetched *pods)
{
    const cJSON *o;

    if (!gws->obj)
        return xasprintf("error listing Gateways in %s: %s", ns, gws->error ? gws->error : "?");
    cJSON_ArrayForEach(o, get(gws->obj, "items")) {
        const char *name = str(get(o, "metadata"), "name");
        char *m;

        if (streq(str(get(get(o, "metadata"), "annotations"), SKIP_READINESS), "true"))
            continue;
        m = gateway_unready(o);
        if (m) {
            char *out = xasprintf("Gateway %s/%s: %s", ns, name ? name : "?", m);

            free(m);
            return out;
        }
    }
    if (!pods->obj)
        return xasprintf("error listing Pods in %s: %s", ns, pods->error ? pods->error : "?");
    if (!cJSON_GetArraySize(get(pods->obj, "items")))
        return xasprintf("no Pods in %s yet", ns);
    cJSON_ArrayForEach(o, get(pods->obj, "items")) {
        if (!pod_ready(o))
            return xasprintf("Pod %s/%s not ready yet", ns,
                             str(get(o, "metadata"), "name") ? str(get(o, "metadata"), "name")
                                                             : "?");
    }
    return NULL;
}

static enum conf_wait_verdict check_namespaces(const struct conf_wait *w,
                                               const struct conf_objects *objs, char **why)
{
    size_t i;

    for (i = 0; i < w->namespaces.n; i++) {
        char *m;

        if (objs->n < 2 * (i + 1)) {
            say(why, "namespace %s: not fetched", w->namespaces.v[i]);
            return CONF_WAIT_FATAL;
        }
        m = namespace_unready(w->namespaces.v[i], &objs->v[2 * i], &objs->v[2 * i + 1]);
        if (m) {
            say(why, "%s", m);
            free(m);
            return CONF_WAIT_PENDING;
        }
    }
    say(why, "Gateways and Pods in %zu namespaces ready", w->namespaces.n);
    return CONF_WAIT_DONE;
}

static enum conf_wait_verdict check_listener_conditions(const struct conf_wait *w, const cJSON *obj,
                                                        char **why)
{
    struct want *v = xcalloc(w->conditions.n + 1, sizeof(*v));
    enum conf_wait_verdict r;
    size_t i;

    for (i = 0; i < w->conditions.n; i++)
        v[i] = want_of(&w->conditions.v[i]);
    r = listeners_have(&w->gateway, &w->listeners, v, w->conditions.n, obj, why);
    free(v);
    return r;
}

static enum conf_wait_verdict check_one_object(const struct conf_wait *w,
                                               const struct conf_objects *objs,
                                               struct conf_wait_state *st, char **why, char **yield)
{
    const cJSON *obj = the_object(w, st, objs, why);

    if (!obj)
        return CONF_WAIT_FATAL;
    switch (w->kind) {
    case CONF_WAIT_GATEWAY_ADDRESS:
        return check_address(w, obj, 1, why, yield);
    case CONF_WAIT_ROUTE_CONDITION:
        return check_route_condition(w, obj, why);
    case CONF_WAIT_ROUTE_NO_ACCEPTED_PARENTS:
        return check_no_accepted(w, obj, st, why);
    case CONF_WAIT_GATEWAY_CONDITION:
        return check_gateway_condition(w, obj, why);
    case CONF_WAIT_GATEWAY_LISTENERS:
        return check_listener_status(w, obj, why);
    case CONF_WAIT_LISTENER_CONDITIONS:
        return check_listener_conditions(w, obj, why);
    case CONF_WAIT_GATEWAY_ZERO_ROUTES:
        return check_zero_routes(w, obj, why);
    case CONF_WAIT_LATEST_GENERATION:
        return check_latest(w, obj, objs, why);
    case CONF_WAIT_GATEWAYCLASS_ACCEPTED:
        return check_gwc(w, obj, why, yield);
    case CONF_WAIT_ROUTE_PARENTS:
        return check_parents_wait(w, obj, objs, st, why);
    default:
        say(why, "unknown wait kind %d", (int)w->kind);
        return CONF_WAIT_FATAL;
    }
}

enum conf_wait_verdict conf_wait_check(const struct conf_wait *w,
                                       const struct conf_objects *fetched,
                                       struct conf_wait_state *st, char **why, char **yield)
{
    enum conf_wait_verdict v;

    *why = NULL;
    *yield = NULL;
    st->polls++;
    if (w->kind == CONF_WAIT_NAMESPACES_READY)
        v = check_namespaces(w, fetched, why);
    else if (w->kind == CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED)
        v = check_and_routes(w, fetched, st, why);
    else
        v = check_one_object(w, fetched, st, why, yield);
    if (v == CONF_WAIT_DONE && w->kind == CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED)
        *yield = xstrdup(st->address ? st->address : "");
    if (!*why)
        *why = xstrdup("");
    return v;
}

/* ---- metadata ------------------------------------------------------------ */

static const char *route_timeout(const char *kind)
{
    if (streq(kind, "TLSRoute"))
        return "TLSRouteMustHaveCondition";
    if (streq(kind, "TCPRoute"))
        return "TCPRouteMustHaveCondition";
    if (streq(kind, "UDPRoute"))
        return "UDPRouteMustHaveCondition";
    return "HTTPRouteMustHaveCondition";
}

const char *conf_wait_timeout_name(const struct conf_wait *w, const struct conf_wait_state *st)
{
    switch (w->kind) {
    case CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED:
        if (st->phase == 0)
            return "GatewayMustHaveAddress";
        return st->phase < last_phase(w) ? "RouteMustHaveParents"
                                         : "GatewayListenersMustHaveConditions";
    case CONF_WAIT_GATEWAY_ADDRESS:
        return "GatewayMustHaveAddress";
    case CONF_WAIT_ROUTE_CONDITION:
        return route_timeout(w->route.kind);
    case CONF_WAIT_ROUTE_NO_ACCEPTED_PARENTS:
        return "HTTPRouteMustNotHaveParents";
    case CONF_WAIT_GATEWAY_CONDITION:
        return "GatewayMustHaveCondition";
    case CONF_WAIT_GATEWAY_LISTENERS:
    case CONF_WAIT_GATEWAY_ZERO_ROUTES:
        return "GatewayStatusMustHaveListeners";
    case CONF_WAIT_LISTENER_CONDITIONS:
        return "GatewayListenersMustHaveConditions";
    case CONF_WAIT_LATEST_GENERATION:
        return "LatestObservedGenerationSet";
    case CONF_WAIT_GATEWAYCLASS_ACCEPTED:
        return "GWCMustBeAccepted";
    case CONF_WAIT_NAMESPACES_READY:
        return "NamespacesMustBeReady";
    case CONF_WAIT_ROUTE_PARENTS:
        return "RouteMustHaveParents";
    }
    return "DefaultTestTimeout";
}

long conf_wait_poll_ms(const struct conf_wait *w)
{
    return w->kind == CONF_WAIT_ROUTE_NO_ACCEPTED_PARENTS ? 1000 : 0;
}

int conf_wait_timeout_continues(const struct conf_wait *w)
{
    return w->kind == CONF_WAIT_GATEWAY_ZERO_ROUTES;
}

static void describe_conditions(struct sbuf *sb, const struct conf_conditions *cs)
{
    size_t i;

    for (i = 0; i < cs->n; i++) {
        struct want wt = want_of(&cs->v[i]);

        sb_puts(sb, i ? ", " : " ");
        cond_want_text(sb, &wt);
    }
}

static void describe_target(struct sbuf *sb, const char *prefix, const struct conf_target *t)
{
    char *s;

    if (!t->name)
        return;
    s = target_text(t);
    sb_printf(sb, "%s%s", prefix, s);
    free(s);
}

char *conf_wait_describe(const struct conf_wait *w)
{
    struct sbuf sb = {0};
    size_t i;

    sb_puts(&sb, conf_wait_kind_name(w->kind) ? conf_wait_kind_name(w->kind) : "wait");
    for (i = 0; i < w->nroutes; i++)
        describe_target(&sb, " ", &w->routes[i]);
    describe_target(&sb, " ", &w->route);
    describe_target(&sb, " ", &w->object);
    describe_target(&sb, w->route.name || w->nroutes ? " parent " : " ", &w->gateway);
    if (w->gateway_class)
        sb_printf(&sb, " GatewayClass %s", w->gateway_class);
    for (i = 0; i < w->listeners.n; i++)
        sb_printf(&sb, "%s%s", i ? "," : " listeners ", w->listeners.v[i]);
    for (i = 0; i < w->nexpect_listeners; i++)
        sb_printf(&sb, "%s%s", i ? "," : " listeners ", w->expect_listeners[i].name);
    for (i = 0; i < w->nexpect_parents; i++)
        describe_target(&sb, " parent ", &w->expect_parents[i].gateway);
    for (i = 0; i < w->namespaces.n; i++)
        sb_printf(&sb, "%s%s", i ? "," : " ", w->namespaces.v[i]);
    describe_conditions(&sb, &w->conditions);
    if (w->generation_changed)
        sb_puts(&sb, " (generation changed)");
    return sb_detach(&sb);
}

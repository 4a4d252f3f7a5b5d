/*
 * Loading scenario files (include/scenario.h, docs/SCENARIOS.md). Every
 * field is checked; the first mistake is reported as "FILE:LINE: FIELD:
 * message" and the partly built scenario is freed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario.h"
#include "util.h"
#include "yamlj.h"

#define PATHMAX        256
#define MAX_FILE_BYTES ((size_t)4 << 20)

/* Where we are: the file and YAML document being read, and the error sink. */
struct ld {
    const char *file;
    const struct yamlj_doc *doc;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 4, 5))) static int fail(const struct ld *ld, const cJSON *node,
                                                      const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (path[0])
        snprintf(ld->err, ld->errlen, "%s:%d: %s: %s", ld->file, yamlj_line_of(ld->doc, node), path,
                 msg);
    else
        snprintf(ld->err, ld->errlen, "%s:%d: %s", ld->file, yamlj_line_of(ld->doc, node), msg);
    return -1;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int nonempty_string(const cJSON *v)
{
    return v && cJSON_IsString(v) && v->valuestring && v->valuestring[0];
}

/* Field paths for messages; a path longer than PATHMAX is cut (it stays readable). */
static void subpath(char *out, const char *path, const char *key)
{
    int n =
        path[0] ? snprintf(out, PATHMAX, "%s.%s", path, key) : snprintf(out, PATHMAX, "%s", key);

    if (n < 0 || n >= PATHMAX)
        out[PATHMAX - 1] = '\0';
}

static void itempath(char *out, const char *path, size_t i)
{
    int n = snprintf(out, PATHMAX, "%s[%zu]", path, i);

    if (n < 0 || n >= PATHMAX)
        out[PATHMAX - 1] = '\0';
}

/* Is word one of the space-separated words of list? */
static int in_list(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p = list;

    while (p && *p) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);

        if (l == n && !strncmp(p, word, n))
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* obj must be a mapping whose keys are all in allowed (space-separated). */
static int check_keys(const struct ld *ld, const cJSON *obj, const char *path, const char *allowed)
{
    const cJSON *c;
    char p[PATHMAX];

    if (!cJSON_IsObject(obj))
        return fail(ld, obj, path, path[0] ? "must be a mapping" : "a scenario is a mapping");
    cJSON_ArrayForEach(c, obj) {
        if (!in_list(allowed, c->string)) {
            subpath(p, path, c->string);
            return fail(ld, obj, p, "unknown field");
        }
    }
    return 0;
}

static int need(const struct ld *ld, const cJSON *obj, const char *path, const char *key)
{
    char p[PATHMAX];

    if (get(obj, key))
        return 0;
    subpath(p, path, key);
    return fail(ld, obj, p, "is required");
}

/* Every space-separated key of list must be present. */
static int need_all(const struct ld *ld, const cJSON *obj, const char *path, const char *list)
{
    char word[64];
    const char *p = list;

    while (*p) {
        size_t n = strcspn(p, " ");

        if (n > 0 && n < sizeof(word)) {
            memcpy(word, p, n);
            word[n] = '\0';
            if (need(ld, obj, path, word) != 0)
                return -1;
        }
        p += n;
        if (*p == ' ')
            p++;
    }
    return 0;
}

/* ---- scalars ------------------------------------------------------------ */

/*
 * A string field: strings as they are; numbers too when numbers_ok (a
 * port, a header value such as 1). Absent: *out stays NULL.
 */
static int str_field(const struct ld *ld, const cJSON *obj, const char *key, const char *path,
                     int numbers_ok, char **out)
{
    const cJSON *v = get(obj, key);
    char p[PATHMAX];

    if (!v)
        return 0;
    subpath(p, path, key);
    if (cJSON_IsString(v)) {
        *out = xstrdup(v->valuestring);
        return 0;
    }
    if (numbers_ok && cJSON_IsNumber(v) && v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 &&
        v->valuedouble == (double)(long long)v->valuedouble) {
        *out = xasprintf("%lld", (long long)v->valuedouble);
        return 0;
    }
    return fail(ld, obj, p, "must be a string");
}

static int nonempty_str_field(const struct ld *ld, const cJSON *obj, const char *key,
                              const char *path, char **out)
{
    char p[PATHMAX];

    if (str_field(ld, obj, key, path, 0, out) != 0)
        return -1;
    if (*out && !**out) {
        subpath(p, path, key);
        return fail(ld, obj, p, "must not be empty");
    }
    return 0;
}

static int bool_field(const struct ld *ld, const cJSON *obj, const char *key, const char *path,
                      int *out)
{
    const cJSON *v = get(obj, key);
    char p[PATHMAX];

    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        subpath(p, path, key);
        return fail(ld, obj, p, "must be true or false");
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

static int int_value(const cJSON *v, long long lo, long long hi, long long *out)
{
    /* the range first: a double beyond long long does not convert (UB) */
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return -1;
    if (v->valuedouble != (double)(long long)v->valuedouble)
        return -1;
    *out = (long long)v->valuedouble;
    return 0;
}

static void strlist_add(struct conf_strlist *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = xstrdup(s);
}

/* A list of non-empty strings. */
static int strlist_field(const struct ld *ld, const cJSON *obj, const char *key, const char *path,
                         struct conf_strlist *out)
{
    const cJSON *v = get(obj, key), *c;
    char p[PATHMAX], ip[PATHMAX];
    size_t i = 0;

    if (!v)
        return 0;
    subpath(p, path, key);
    if (!cJSON_IsArray(v))
        return fail(ld, obj, p, "must be a list of strings");
    cJSON_ArrayForEach(c, v) {
        itempath(ip, p, i++);
        if (!cJSON_IsString(c) || !c->valuestring[0])
            return fail(ld, v, ip, "must be a non-empty string");
        strlist_add(out, c->valuestring);
    }
    return 0;
}

static void kv_add(struct conf_kvlist *l, const char *name, const char *value)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n].name = xstrdup(name);
    l->v[l->n].value = xstrdup(value);
    l->n++;
}

/* A mapping of header names to string (or number) values, in file order. */
static int kv_field(const struct ld *ld, const cJSON *obj, const char *key, const char *path,
                    struct conf_kvlist *out)
{
    const cJSON *v = get(obj, key), *c;
    char p[PATHMAX], ip[PATHMAX];

    if (!v)
        return 0;
    subpath(p, path, key);
    if (!cJSON_IsObject(v))
        return fail(ld, obj, p, "must be a mapping of names to values");
    cJSON_ArrayForEach(c, v) {
        char *val = NULL;

        subpath(ip, p, c->string);
        if (!c->string[0])
            return fail(ld, v, ip, "empty name");
        if (str_field(ld, v, c->string, p, 1, &val) != 0)
            return -1;
        kv_add(out, c->string, val);
        free(val);
    }
    return 0;
}

/* ---- objects and references --------------------------------------------- */

struct kind_default {
    const char *kind;
    const char *api_version;
    int cluster_scoped;
};

static const struct kind_default kind_defaults[] = {
    {"Gateway", "gateway.networking.k8s.io/v1", 0},
    {"GatewayClass", "gateway.networking.k8s.io/v1", 1},
    {"HTTPRoute", "gateway.networking.k8s.io/v1", 0},
    {"GRPCRoute", "gateway.networking.k8s.io/v1", 0},
    {"ReferenceGrant", "gateway.networking.k8s.io/v1beta1", 0},
    {"Service", "v1", 0},
    {"Namespace", "v1", 1},
    {"Pod", "v1", 0},
    {"Secret", "v1", 0},
    {"ConfigMap", "v1", 0},
    {"Deployment", "apps/v1", 0},
};

static const struct kind_default *kind_default_of(const char *kind)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(kind_defaults); i++)
        if (!strcmp(kind_defaults[i].kind, kind))
            return &kind_defaults[i];
    return NULL;
}

static void target_release(struct conf_target *t)
{
    free(t->api_version);
    free(t->kind);
    free(t->namespace_);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

/* Fill api_version and namespace_ from the kind where the file left them out. */
static int target_defaults(const struct ld *ld, const cJSON *node, const char *path,
                           struct conf_target *t)
{
    const struct kind_default *d = kind_default_of(t->kind);

    if (!t->api_version) {
        if (!d)
            return fail(ld, node, path,
                        "apiVersion is required for kind '%s' (known kinds get a default)",
                        t->kind);
        t->api_version = xstrdup(d->api_version);
    }
    if (d && d->cluster_scoped) {
        if (t->namespace_)
            return fail(ld, node, path, "%s is cluster-scoped: no namespace", t->kind);
    } else if (!t->namespace_) {
        t->namespace_ = xstrdup(CONF_DEFAULT_NAMESPACE);
    }
    return 0;
}

/* "namespace/name" or "name" (the default namespace) as a reference of kind. */
static int ref_value(const struct ld *ld, const cJSON *holder, const cJSON *v, const char *path,
                     const char *kind, struct conf_target *out)
{
    const char *s, *slash;

    if (!v || !cJSON_IsString(v) || !v->valuestring[0])
        return fail(ld, holder, path, "must be a reference 'namespace/name' or 'name'");
    s = v->valuestring;
    slash = strchr(s, '/');
    if (slash && (slash == s || !slash[1] || strchr(slash + 1, '/')))
        return fail(ld, holder, path, "'%s' is not a reference 'namespace/name' or 'name'", s);
    out->kind = xstrdup(kind);
    out->line = yamlj_line_of(ld->doc, holder);
    if (slash) {
        out->namespace_ = xstrndup(s, (size_t)(slash - s));
        out->name = xstrdup(slash + 1);
    } else {
        out->name = xstrdup(s);
    }
    return target_defaults(ld, holder, path, out);
}

static int ref_field(const struct ld *ld, const cJSON *obj, const char *key, const char *path,
                     const char *kind, struct conf_target *out)
{
    char p[PATHMAX];
    const cJSON *v = get(obj, key);

    if (!v)
        return 0;
    subpath(p, path, key);
    return ref_value(ld, obj, v, p, kind, out);
}

/* {apiVersion?, kind, namespace?, name} as used by patch and delete. */
static int target_map(const struct ld *ld, const cJSON *obj, const char *path, const char *extra,
                      struct conf_target *t)
{
    char allowed[128];

    snprintf(allowed, sizeof(allowed), "apiVersion kind namespace name %s", extra);
    if (check_keys(ld, obj, path, allowed) != 0 || need(ld, obj, path, "kind") != 0 ||
        need(ld, obj, path, "name") != 0)
        return -1;
    if (nonempty_str_field(ld, obj, "apiVersion", path, &t->api_version) != 0 ||
        nonempty_str_field(ld, obj, "kind", path, &t->kind) != 0 ||
        nonempty_str_field(ld, obj, "namespace", path, &t->namespace_) != 0 ||
        nonempty_str_field(ld, obj, "name", path, &t->name) != 0)
        return -1;
    t->line = yamlj_line_of(ld->doc, obj);
    return target_defaults(ld, obj, path, t);
}

/* ---- manifests ---------------------------------------------------------- */

void conf_manifests_release(struct conf_manifests *m)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        cJSON_Delete(m->v[i].obj);
        free(m->v[i].file);
    }
    free(m->v);
    memset(m, 0, sizeof(*m));
}

static void manifests_add(struct conf_manifests *m, const cJSON *obj, const char *file, int line)
{
    m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
    m->v[m->n].obj = cJSON_Duplicate(obj, 1);
    m->v[m->n].file = xstrdup(file);
    m->v[m->n].line = line;
    m->n++;
}

/* apiVersion, kind and metadata.name must be non-empty strings. */
static const char *object_problem(const cJSON *obj)
{
    const cJSON *md = get(obj, "metadata"), *v;

    if (!cJSON_IsObject(obj))
        return "must be a Kubernetes object (a mapping)";
    v = get(obj, "apiVersion");
    if (!nonempty_string(v))
        return "the object needs an apiVersion";
    v = get(obj, "kind");
    if (!nonempty_string(v))
        return "the object needs a kind";
    v = cJSON_IsObject(md) ? get(md, "name") : NULL;
    if (!nonempty_string(v))
        return "the object needs metadata.name";
    return NULL;
}

static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct sbuf sb = {0};
    char buf[16384];
    size_t n;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        sb_add(&sb, buf, n);
        if (sb.len > MAX_FILE_BYTES) {
            fclose(f);
            sb_release(&sb);
            snprintf(err, errlen, "%s: larger than %zu bytes", path, MAX_FILE_BYTES);
            return NULL;
        }
    }
    fclose(f);
    *len = sb.len;
    if (!sb.buf)
        return xstrdup("");
    return sb_detach(&sb);
}

/* Read and parse a YAML file; errors are "FILE:LINE: message" or "FILE: message". */
static int parse_file(const char *path, struct yamlj_stream *st, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = slurp(path, &len, err, errlen);
    char perr[400];

    if (!buf)
        return -1;
    if (yamlj_parse(buf, len, NULL, st, perr, sizeof(perr)) != 0) {
        int line = 0, col = 0, used = 0;

        free(buf);
        if (sscanf(perr, "line %d, column %d: %n", &line, &col, &used) == 2 && used > 0)
            snprintf(err, errlen, "%s:%d:%d: %s", path, line, col, perr + used);
        else
            snprintf(err, errlen, "%s: %s", path, perr);
        return -1;
    }
    free(buf);
    return 0;
}

int conf_manifests_load_file(const char *path, struct conf_manifests *out, char *err, size_t errlen)
{
    struct yamlj_stream st;
    size_t d;

    if (parse_file(path, &st, err, errlen) != 0)
        return -1;
    for (d = 0; d < st.len; d++) {
        const struct yamlj_doc *doc = &st.doc[d];
        const char *why = object_problem(doc->json);

        if (why) {
            snprintf(err, errlen, "%s:%d: %s", path, doc->line, why);
            yamlj_stream_release(&st);
            return -1;
        }
        manifests_add(out, doc->json, path, doc->line);
    }
    yamlj_stream_release(&st);
    return 0;
}

/* The directory part of path ("." when none), for `file:` references. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

static int manifest_file(const struct ld *ld, const cJSON *item, const char *path,
                         struct conf_manifests *out)
{
    char p[PATHMAX], inner[512];
    const cJSON *f = get(item, "file");
    char *dir, *full;
    size_t before = out->n;
    int rc;

    subpath(p, path, "file");
    if (check_keys(ld, item, path, "file") != 0)
        return -1;
    if (!cJSON_IsString(f) || !f->valuestring[0])
        return fail(ld, item, p, "must be a path relative to the scenario file");
    dir = dir_of(ld->file);
    full = f->valuestring[0] == '/' ? xstrdup(f->valuestring)
                                    : xasprintf("%s/%s", dir, f->valuestring);
    free(dir);
    rc = conf_manifests_load_file(full, out, inner, sizeof(inner));
    free(full);
    if (rc != 0)
        return fail(ld, item, p, "%s", inner);
    if (out->n == before)
        return fail(ld, item, p, "'%s' holds no objects", f->valuestring);
    return 0;
}

/* A list of inline objects and {file: ...} entries. */
static int manifest_list(const struct ld *ld, const cJSON *list, const char *path,
                         struct conf_manifests *out)
{
    const cJSON *c;
    char ip[PATHMAX];
    size_t i = 0;

    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return fail(ld, list, path, "must be a non-empty list of objects or {file: PATH}");
    cJSON_ArrayForEach(c, list) {
        const char *why;

        itempath(ip, path, i++);
        if (cJSON_IsObject(c) && get(c, "file") && !get(c, "kind")) {
            if (manifest_file(ld, c, ip, out) != 0)
                return -1;
            continue;
        }
        why = object_problem(c);
        if (why)
            return fail(ld, cJSON_IsObject(c) ? c : list, ip, "%s", why);
        manifests_add(out, c, ld->file, yamlj_line_of(ld->doc, c));
    }
    return 0;
}

/* ---- waits -------------------------------------------------------------- */

struct wait_spec {
    const char *name;
    enum conf_wait_kind kind;
    const char *required;
    const char *optional;
};

static const struct wait_spec wait_specs[] = {
    {"gateway-and-routes-accepted", CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED, "gateway",
     "routes listeners route_kind use_port"},
    {"gateway-address", CONF_WAIT_GATEWAY_ADDRESS, "gateway", "listeners"},
    {"route-condition", CONF_WAIT_ROUTE_CONDITION, "route gateway condition", "route_kind"},
    {"route-no-accepted-parents", CONF_WAIT_ROUTE_NO_ACCEPTED_PARENTS, "route", "route_kind"},
    {"gateway-condition", CONF_WAIT_GATEWAY_CONDITION, "gateway condition", ""},
    {"gateway-listeners", CONF_WAIT_GATEWAY_LISTENERS, "gateway listeners", ""},
    {"listener-conditions", CONF_WAIT_LISTENER_CONDITIONS, "gateway conditions", "listeners"},
    {"gateway-zero-routes", CONF_WAIT_GATEWAY_ZERO_ROUTES, "gateway", ""},
    {"latest-generation", CONF_WAIT_LATEST_GENERATION, "",
     "gateway gatewayclass route route_kind generation_changed"},
    {"gatewayclass-accepted", CONF_WAIT_GATEWAYCLASS_ACCEPTED, "gatewayclass", "any_status"},
    {"namespaces-ready", CONF_WAIT_NAMESPACES_READY, "namespaces", ""},
    {"route-parents", CONF_WAIT_ROUTE_PARENTS, "route parents", "route_kind namespace_required"},
};

const char *conf_wait_kind_name(enum conf_wait_kind kind)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(wait_specs); i++)
        if (wait_specs[i].kind == kind)
            return wait_specs[i].name;
    return NULL;
}

static void conditions_release(struct conf_conditions *cs)
{
    size_t i;

    for (i = 0; i < cs->n; i++) {
        free(cs->v[i].type);
        free(cs->v[i].status);
        free(cs->v[i].reason);
    }
    free(cs->v);
    memset(cs, 0, sizeof(*cs));
}

/* {type, status?, reason?}; status True/False/Unknown (YAML booleans too). */
static int condition_value(const struct ld *ld, const cJSON *c, const char *path,
                           struct conf_conditions *out)
{
    struct conf_condition *cd;
    const cJSON *st = get(c, "status");
    char p[PATHMAX];

    if (check_keys(ld, c, path, "type status reason") != 0 || need(ld, c, path, "type") != 0)
        return -1;
    out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    cd = &out->v[out->n++];
    memset(cd, 0, sizeof(*cd));
    cd->line = yamlj_line_of(ld->doc, c);
    if (nonempty_str_field(ld, c, "type", path, &cd->type) != 0 ||
        nonempty_str_field(ld, c, "reason", path, &cd->reason) != 0)
        return -1;
    subpath(p, path, "status");
    if (cJSON_IsBool(st))
        cd->status = xstrdup(cJSON_IsTrue(st) ? "True" : "False");
    else if (cJSON_IsString(st) &&
             (!strcmp(st->valuestring, "True") || !strcmp(st->valuestring, "False") ||
              !strcmp(st->valuestring, "Unknown")))
        cd->status = xstrdup(st->valuestring);
    else if (st)
        return fail(ld, c, p, "must be True, False or Unknown");
    return 0;
}

static int conditions_field(const struct ld *ld, const cJSON *obj, const char *key,
                            const char *path, struct conf_conditions *out)
{
    const cJSON *v = get(obj, key), *c;
    char p[PATHMAX], ip[PATHMAX];
    size_t i = 0;

    if (!v)
        return 0;
    subpath(p, path, key);
    if (!strcmp(key, "condition"))
        return condition_value(ld, v, p, out);
    if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
        return fail(ld, obj, p, "must be a non-empty list of conditions");
    cJSON_ArrayForEach(c, v) {
        itempath(ip, p, i++);
        if (!cJSON_IsObject(c))
            return fail(ld, v, ip, "must be a condition {type, status, reason}");
        if (condition_value(ld, c, ip, out) != 0)
            return -1;
    }
    return 0;
}

static int route_kind_value(const struct ld *ld, const cJSON *c, const char *path,
                            struct conf_route_kind *k)
{
    if (check_keys(ld, c, path, "group kind") != 0 || need(ld, c, path, "kind") != 0)
        return -1;
    if (str_field(ld, c, "group", path, 0, &k->group) != 0 ||
        nonempty_str_field(ld, c, "kind", path, &k->kind) != 0)
        return -1;
    return 0;
}

static int listener_expect_value(const struct ld *ld, const cJSON *c, const char *path,
                                 struct conf_listener_expect *le)
{
    const cJSON *kinds = get(c, "supported_kinds"), *k, *ar = get(c, "attached_routes");
    char p[PATHMAX], ip[PATHMAX];
    size_t i = 0;

    if (check_keys(ld, c, path, "name supported_kinds attached_routes conditions") != 0 ||
        need(ld, c, path, "name") != 0 || need(ld, c, path, "supported_kinds") != 0 ||
        need(ld, c, path, "attached_routes") != 0)
        return -1;
    le->line = yamlj_line_of(ld->doc, c);
    if (nonempty_str_field(ld, c, "name", path, &le->name) != 0 ||
        conditions_field(ld, c, "conditions", path, &le->conditions) != 0)
        return -1;
    subpath(p, path, "attached_routes");
    if (int_value(ar, 0, 1000000, &le->attached_routes) != 0)
        return fail(ld, c, p, "must be a non-negative integer");
    subpath(p, path, "supported_kinds");
    if (!cJSON_IsArray(kinds))
        return fail(ld, c, p, "must be a list of {group, kind} ([] for none)");
    le->kinds = xcalloc((size_t)cJSON_GetArraySize(kinds) + 1, sizeof(*le->kinds));
    cJSON_ArrayForEach(k, kinds) {
        itempath(ip, p, i);
        if (route_kind_value(ld, k, ip, &le->kinds[i++]) != 0)
            return -1;
        le->nkinds = i;
    }
    return 0;
}

static int listener_expects(const struct ld *ld, const cJSON *obj, const char *path,
                            struct conf_wait *w)
{
    const cJSON *v = get(obj, "listeners"), *c;
    char p[PATHMAX], ip[PATHMAX];
    size_t i = 0;

    subpath(p, path, "listeners");
    if (!cJSON_IsArray(v))
        return fail(ld, obj, p, "must be a list of expected listener statuses");
    w->expect_listeners = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*w->expect_listeners));
    cJSON_ArrayForEach(c, v) {
        itempath(ip, p, i);
        w->nexpect_listeners = ++i;
        if (listener_expect_value(ld, c, ip, &w->expect_listeners[i - 1]) != 0)
            return -1;
    }
    return 0;
}

static int routes_field(const struct ld *ld, const cJSON *obj, const char *path,
                        const char *route_kind, struct conf_wait *w)
{
    const cJSON *v = get(obj, "routes"), *c;
    char p[PATHMAX], ip[PATHMAX];
    size_t i = 0;

    subpath(p, path, "routes");
    if (!cJSON_IsArray(v))
        return fail(ld, obj, p, "must be a list of route references");
    w->routes = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*w->routes));
    cJSON_ArrayForEach(c, v) {
        itempath(ip, p, i);
        w->nroutes = ++i;
        if (ref_value(ld, v, c, ip, route_kind, &w->routes[i - 1]) != 0)
            return -1;
    }
    return 0;
}

/* latest-generation: exactly one of gateway, gatewayclass, route. */
static int latest_generation_object(const struct ld *ld, const cJSON *obj, const char *path,
                                    const char *route_kind, struct conf_wait *w)
{
    int n = !!get(obj, "gateway") + !!get(obj, "gatewayclass") + !!get(obj, "route");
    const cJSON *gc = get(obj, "gatewayclass");
    char p[PATHMAX];

    if (n != 1)
        return fail(ld, obj, path, "needs exactly one of gateway, gatewayclass, route");
    if (get(obj, "gateway"))
        return ref_field(ld, obj, "gateway", path, "Gateway", &w->object);
    if (get(obj, "route"))
        return ref_field(ld, obj, "route", path, route_kind, &w->object);
    subpath(p, path, "gatewayclass");
    if (!cJSON_IsString(gc) || !gc->valuestring[0] || strchr(gc->valuestring, '/'))
        return fail(ld, obj, p, "must be a GatewayClass name");
    w->object.kind = xstrdup("GatewayClass");
    w->object.name = xstrdup(gc->valuestring);
    w->object.line = yamlj_line_of(ld->doc, obj);
    return target_defaults(ld, obj, p, &w->object);
}

static int parent_expect_value(const struct ld *ld, const cJSON *c, const char *path,
                               struct conf_parent_expect *pe)
{
    if (check_keys(ld, c, path, "gateway conditions") != 0 ||
        need_all(ld, c, path, "gateway conditions") != 0)
        return -1;
    pe->line = yamlj_line_of(ld->doc, c);
    if (ref_field(ld, c, "gateway", path, "Gateway", &pe->gateway) != 0 ||
        conditions_field(ld, c, "conditions", path, &pe->conditions) != 0)
        return -1;
    return 0;
}

/* route-parents: [{gateway, conditions}] */
static int parent_expects(const struct ld *ld, const cJSON *obj, const char *path,
                          struct conf_wait *w)
{
    const cJSON *v = get(obj, "parents"), *c;
    char p[PATHMAX], ip[PATHMAX];
    size_t i = 0;

    subpath(p, path, "parents");
    if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
        return fail(ld, obj, p, "must be a non-empty list of {gateway, conditions}");
    w->expect_parents = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(*w->expect_parents));
    cJSON_ArrayForEach(c, v) {
        itempath(ip, p, i);
        w->nexpect_parents = ++i;
        if (parent_expect_value(ld, c, ip, &w->expect_parents[i - 1]) != 0)
            return -1;
    }
    return 0;
}

static int wait_fields(const struct ld *ld, const cJSON *obj, const char *path, struct conf_wait *w)
{
    char *route_kind = NULL;
    int rc = -1;

    if (nonempty_str_field(ld, obj, "route_kind", path, &route_kind) != 0)
        return -1;
    if (!route_kind)
        route_kind = xstrdup("HTTPRoute");
    w->use_port = 1;
    if (w->kind == CONF_WAIT_LATEST_GENERATION) {
        if (latest_generation_object(ld, obj, path, route_kind, w) != 0)
            goto out;
    } else if (ref_field(ld, obj, "gateway", path, "Gateway", &w->gateway) != 0 ||
               ref_field(ld, obj, "route", path, route_kind, &w->route) != 0) {
        goto out;
    }
    if (get(obj, "routes") && routes_field(ld, obj, path, route_kind, w) != 0)
        goto out;
    if (get(obj, "parents") && parent_expects(ld, obj, path, w) != 0)
        goto out;
    if (w->kind == CONF_WAIT_GATEWAY_LISTENERS) {
        if (listener_expects(ld, obj, path, w) != 0)
            goto out;
    } else if (strlist_field(ld, obj, "listeners", path, &w->listeners) != 0) {
        goto out;
    }
    if (bool_field(ld, obj, "use_port", path, &w->use_port) != 0 ||
        bool_field(ld, obj, "generation_changed", path, &w->generation_changed) != 0 ||
        bool_field(ld, obj, "any_status", path, &w->any_status) != 0 ||
        bool_field(ld, obj, "namespace_required", path, &w->namespace_required) != 0 ||
        conditions_field(ld, obj, "condition", path, &w->conditions) != 0 ||
        conditions_field(ld, obj, "conditions", path, &w->conditions) != 0 ||
        strlist_field(ld, obj, "namespaces", path, &w->namespaces) != 0)
        goto out;
    if (w->kind == CONF_WAIT_GATEWAYCLASS_ACCEPTED &&
        nonempty_str_field(ld, obj, "gatewayclass", path, &w->gateway_class) != 0)
        goto out;
    rc = 0;
out:
    free(route_kind);
    return rc;
}

static int wait_value(const struct ld *ld, const cJSON *obj, const char *path, struct conf_wait *w)
{
    const struct wait_spec *spec = NULL;
    const cJSON *f = get(obj, "for");
    char p[PATHMAX], allowed[256], names[512] = "";
    size_t i;

    if (!cJSON_IsObject(obj))
        return fail(ld, obj, path, "must be a mapping with 'for: <kind of wait>'");
    if (need(ld, obj, path, "for") != 0)
        return -1;
    subpath(p, path, "for");
    for (i = 0; i < ARRAY_SIZE(wait_specs); i++) {
        if (cJSON_IsString(f) && !strcmp(f->valuestring, wait_specs[i].name))
            spec = &wait_specs[i];
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                 wait_specs[i].name);
    }
    if (!spec)
        return fail(ld, obj, p, "unknown wait '%s' (one of: %s)",
                    cJSON_IsString(f) ? f->valuestring : "?", names);
    w->kind = spec->kind;
    w->line = yamlj_line_of(ld->doc, obj);
    snprintf(allowed, sizeof(allowed), "for %s %s", spec->required, spec->optional);
    if (check_keys(ld, obj, path, allowed) != 0)
        return -1;
    if (need_all(ld, obj, path, spec->required) != 0)
        return -1;
    return wait_fields(ld, obj, path, w);
}

static void wait_release(struct conf_wait *w)
{
    size_t i, k;

    target_release(&w->gateway);
    target_release(&w->route);
    for (i = 0; i < w->nroutes; i++)
        target_release(&w->routes[i]);
    free(w->routes);
    conf_strlist_release(&w->listeners);
    conditions_release(&w->conditions);
    for (i = 0; i < w->nexpect_listeners; i++) {
        struct conf_listener_expect *le = &w->expect_listeners[i];

        free(le->name);
        for (k = 0; k < le->nkinds; k++) {
            free(le->kinds[k].group);
            free(le->kinds[k].kind);
        }
        free(le->kinds);
        conditions_release(&le->conditions);
    }
    free(w->expect_listeners);
    for (i = 0; i < w->nexpect_parents; i++) {
        target_release(&w->expect_parents[i].gateway);
        conditions_release(&w->expect_parents[i].conditions);
    }
    free(w->expect_parents);
    target_release(&w->object);
    free(w->gateway_class);
    conf_strlist_release(&w->namespaces);
    memset(w, 0, sizeof(*w));
}

/* ---- requests ----------------------------------------------------------- */

static int status_field(const struct ld *ld, const cJSON *obj, const char *path,
                        struct conf_expected_response *r)
{
    const cJSON *v = get(obj, "status"), *c;
    char p[PATHMAX], ip[PATHMAX];
    size_t i = 0;
    long long code;

    if (!v)
        return 0;
    subpath(p, path, "status");
    if (cJSON_IsNumber(v)) {
        if (int_value(v, 100, 599, &code) != 0)
            return fail(ld, obj, p, "must be an HTTP status code (100-599)");
        r->status_codes = xmalloc(sizeof(*r->status_codes));
        r->status_codes[0] = (int)code;
        r->nstatus = 1;
        return 0;
    }
    if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
        return fail(ld, obj, p, "must be a status code or a non-empty list of them");
    r->status_codes = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(*r->status_codes));
    cJSON_ArrayForEach(c, v) {
        itempath(ip, p, i);
        if (int_value(c, 100, 599, &code) != 0)
            return fail(ld, v, ip, "must be an HTTP status code (100-599)");
        r->status_codes[i++] = (int)code;
        r->nstatus = i;
    }
    return 0;
}

static int expect_request_value(const struct ld *ld, const cJSON *obj, const char *path,
                                struct conf_expected_request *er)
{
    if (check_keys(ld, obj, path, "host method path headers absent_headers") != 0)
        return -1;
    er->set = 1;
    if (str_field(ld, obj, "host", path, 0, &er->host) != 0 ||
        nonempty_str_field(ld, obj, "method", path, &er->method) != 0 ||
        str_field(ld, obj, "path", path, 0, &er->path) != 0 ||
        kv_field(ld, obj, "headers", path, &er->headers) != 0 ||
        strlist_field(ld, obj, "absent_headers", path, &er->absent_headers) != 0)
        return -1;
    return 0;
}

/* valid_header_values: {name: [value, ...]} */
static int valid_values_field(const struct ld *ld, const cJSON *obj, const char *path,
                              struct conf_expected_response *r)
{
    const cJSON *v = get(obj, "valid_header_values"), *c;
    char p[PATHMAX];

    if (!v)
        return 0;
    subpath(p, path, "valid_header_values");
    if (!cJSON_IsObject(v))
        return fail(ld, obj, p, "must be a mapping of header names to lists of values");
    r->valid = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*r->valid));
    cJSON_ArrayForEach(c, v) {
        struct conf_valid_values *vv = &r->valid[r->nvalid++];

        vv->name = xstrdup(c->string);
        if (strlist_field(ld, v, c->string, p, &vv->values) != 0)
            return -1;
        if (!vv->values.n)
            return fail(ld, v, p, "'%s' needs at least one value", c->string);
    }
    return 0;
}

static int expect_response_value(const struct ld *ld, const cJSON *obj, const char *path,
                                 struct conf_expected_response *r)
{
    if (check_keys(ld, obj, path,
                   "headers valid_header_values absent_headers ignore_whitespace protocol") != 0)
        return -1;
    if (kv_field(ld, obj, "headers", path, &r->headers) != 0 ||
        valid_values_field(ld, obj, path, r) != 0 ||
        strlist_field(ld, obj, "absent_headers", path, &r->absent_headers) != 0 ||
        bool_field(ld, obj, "ignore_whitespace", path, &r->ignore_whitespace) != 0 ||
        nonempty_str_field(ld, obj, "protocol", path, &r->protocol) != 0)
        return -1;
    return 0;
}

static int expect_redirect_value(const struct ld *ld, const cJSON *obj, const char *path,
                                 struct conf_redirect *rd)
{
    if (check_keys(ld, obj, path, "scheme host port path") != 0)
        return -1;
    rd->set = 1;
    if (nonempty_str_field(ld, obj, "scheme", path, &rd->scheme) != 0 ||
        nonempty_str_field(ld, obj, "host", path, &rd->host) != 0 ||
        str_field(ld, obj, "port", path, 1, &rd->port) != 0 ||
        nonempty_str_field(ld, obj, "path", path, &rd->path) != 0)
        return -1;
    return 0;
}

static int expect_value(const struct ld *ld, const cJSON *obj, const char *path,
                        struct conf_expect *e)
{
    char p[PATHMAX];
    const cJSON *v;

    if (check_keys(ld, obj, path, "status backend namespace request response redirect") != 0)
        return -1;
    if (status_field(ld, obj, path, &e->response) != 0 ||
        str_field(ld, obj, "backend", path, 0, &e->backend) != 0 ||
        str_field(ld, obj, "namespace", path, 0, &e->namespace_) != 0)
        return -1;
    v = get(obj, "request");
    subpath(p, path, "request");
    if (v && expect_request_value(ld, v, p, &e->request) != 0)
        return -1;
    v = get(obj, "response");
    subpath(p, path, "response");
    if (v && expect_response_value(ld, v, p, &e->response) != 0)
        return -1;
    v = get(obj, "redirect");
    subpath(p, path, "redirect");
    if (v && expect_redirect_value(ld, v, p, &e->redirect) != 0)
        return -1;
    return 0;
}

static int request_value(const struct ld *ld, const cJSON *obj, const char *path,
                         struct conf_step_request *r)
{
    struct conf_request *q = &r->request;
    char p[PATHMAX];

    if (check_keys(ld, obj, path,
                   "gateway port scheme server_name ca_secret host method path headers "
                   "backend_set_response_headers unfollow_redirect body") != 0)
        return -1;
    if (ref_field(ld, obj, "gateway", path, "Gateway", &r->gateway) != 0 ||
        str_field(ld, obj, "port", path, 1, &r->port) != 0 ||
        nonempty_str_field(ld, obj, "scheme", path, &r->scheme) != 0 ||
        nonempty_str_field(ld, obj, "server_name", path, &r->server_name) != 0 ||
        ref_field(ld, obj, "ca_secret", path, "Secret", &r->ca_secret) != 0 ||
        str_field(ld, obj, "host", path, 0, &q->host) != 0 ||
        nonempty_str_field(ld, obj, "method", path, &q->method) != 0 ||
        nonempty_str_field(ld, obj, "path", path, &q->path) != 0 ||
        kv_field(ld, obj, "headers", path, &q->headers) != 0 ||
        kv_field(ld, obj, "backend_set_response_headers", path, &q->backend_set_response_headers) !=
            0 ||
        bool_field(ld, obj, "unfollow_redirect", path, &q->unfollow_redirect) != 0 ||
        str_field(ld, obj, "body", path, 0, &q->body) != 0)
        return -1;
    subpath(p, path, "scheme");
    if (r->scheme && strcmp(r->scheme, "http") != 0 && strcmp(r->scheme, "https") != 0)
        return fail(ld, obj, p, "must be http or https");
    if ((r->server_name || r->ca_secret.name) && !(r->scheme && !strcmp(r->scheme, "https"))) {
        subpath(p, path, r->server_name ? "server_name" : "ca_secret");
        return fail(ld, obj, p, "only with scheme: https");
    }
    if (q->path && q->path[0] != '/') {
        subpath(p, path, "path");
        return fail(ld, obj, p, "must start with '/'");
    }
    return 0;
}

static void step_request_release(struct conf_step_request *r)
{
    target_release(&r->gateway);
    free(r->port);
    free(r->scheme);
    free(r->server_name);
    target_release(&r->ca_secret);
    conf_request_release(&r->request);
    conf_expect_release(&r->expect);
    while (r->nweights > 0)
        free(r->weights[--r->nweights].backend);
    free(r->weights);
    r->weights = NULL;
}

/* ---- steps -------------------------------------------------------------- */

static const char step_actions[] = "apply wait request patch update delete endpoints";

static void step_release(struct conf_step *s)
{
    free(s->name);
    conf_manifests_release(&s->apply);
    wait_release(&s->wait);
    step_request_release(&s->request);
    target_release(&s->patch.target);
    cJSON_Delete(s->patch.merge);
    cJSON_Delete(s->update.obj);
    free(s->update.file);
    target_release(&s->del);
    target_release(&s->endpoints.deployment);
    conf_strlist_release(&s->endpoints.slices);
    memset(s, 0, sizeof(*s));
}

static int update_value(const struct ld *ld, const cJSON *holder, const cJSON *v, const char *path,
                        struct conf_manifest *out)
{
    struct conf_manifests m = {0};
    cJSON *wrap;
    int rc;

    if (!cJSON_IsObject(v))
        return fail(ld, holder, path, "must be one object or {file: PATH}");
    wrap = cJSON_CreateArray();
    cJSON_AddItemReferenceToArray(wrap, (cJSON *)v);
    rc = manifest_list(ld, wrap, path, &m);
    cJSON_Delete(wrap);
    if (rc == 0 && m.n == 1 && m.v) {
        *out = m.v[0];
        m.n = 0;
    } else if (rc == 0) {
        rc = fail(ld, v, path, "must hold exactly one object, not %zu", m.n);
    }
    conf_manifests_release(&m);
    return rc;
}

static int patch_value(const struct ld *ld, const cJSON *v, const char *path,
                       struct conf_step_patch *pt)
{
    char p[PATHMAX];
    const cJSON *merge;

    if (!cJSON_IsObject(v))
        return fail(ld, v, path, "must be {kind, name, merge, ...}");
    if (target_map(ld, v, path, "merge", &pt->target) != 0 || need(ld, v, path, "merge") != 0)
        return -1;
    merge = get(v, "merge");
    subpath(p, path, "merge");
    if (!cJSON_IsObject(merge))
        return fail(ld, v, p, "must be a JSON merge patch (a mapping)");
    pt->merge = cJSON_Duplicate(merge, 1);
    return 0;
}

/* Which action key the step has; exactly one. */
static int step_action(const struct ld *ld, const cJSON *c, const char *path, const char **action)
{
    const cJSON *k;
    int n = 0;

    *action = NULL;
    cJSON_ArrayForEach(k, c) {
        if (in_list(step_actions, k->string)) {
            *action = k->string;
            n++;
        }
    }
    if (n != 1)
        return fail(ld, c, path,
                    "needs exactly one of: apply, wait, request, patch, update, delete, endpoints");
    return 0;
}

/* weights: {backend: share, ...}, shares from 0 to 1 adding up to 1 */
static int weights_value(const struct ld *ld, const cJSON *v, const char *path,
                         struct conf_step_request *r)
{
    const cJSON *w;
    double sum = 0;
    char p[PATHMAX];

    if (!cJSON_IsObject(v) || !v->child)
        return fail(ld, v, path, "must be a non-empty mapping of backend to weight");
    cJSON_ArrayForEach(w, v) {
        subpath(p, path, w->string);
        if (!cJSON_IsNumber(w) || w->valuedouble < 0 || w->valuedouble > 1)
            return fail(ld, v, p, "must be a number from 0 to 1");
        r->weights = xrealloc(r->weights, (r->nweights + 1) * sizeof(*r->weights));
        r->weights[r->nweights].backend = xstrdup(w->string);
        r->weights[r->nweights++].weight = w->valuedouble;
        sum += w->valuedouble;
    }
    if (sum < 0.999 || sum > 1.001)
        return fail(ld, v, path, "the weights must add up to 1");
    return 0;
}

static int step_request(const struct ld *ld, const cJSON *c, const char *path, struct conf_step *s)
{
    char p[PATHMAX];
    const cJSON *e = get(c, "expect");

    subpath(p, path, "request");
    if (request_value(ld, get(c, "request"), p, &s->request) != 0 ||
        bool_field(ld, c, "expect_failure", path, &s->request.expect_failure) != 0)
        return -1;
    if (s->request.expect_failure && e) {
        subpath(p, path, "expect");
        return fail(ld, c, p, "not with expect_failure (any non-200 answer passes)");
    }
    if (!s->request.expect_failure && !e) {
        subpath(p, path, "expect");
        return fail(ld, c, p, "is required (or expect_failure: true)");
    }
    subpath(p, path, "expect");
    if (e && expect_value(ld, e, p, &s->request.expect) != 0)
        return -1;
    subpath(p, path, "weights");
    if (get(c, "weights") && s->request.expect_failure)
        return fail(ld, c, p, "not with expect_failure");
    if (get(c, "weights") && weights_value(ld, get(c, "weights"), p, &s->request) != 0)
        return -1;
    return 0;
}

/* endpoints: {kind: Deployment, name, namespace?, slices: [EndpointSlice names]} */
static int endpoints_value(const struct ld *ld, const cJSON *v, const char *path,
                           struct conf_step *s)
{
    char p[PATHMAX];

    s->kind = CONF_STEP_ENDPOINTS;
    if (!cJSON_IsObject(v))
        return fail(ld, v, path, "must be {kind: Deployment, name, slices: [...]}");
    if (target_map(ld, v, path, "slices", &s->endpoints.deployment) != 0 ||
        need(ld, v, path, "slices") != 0 ||
        strlist_field(ld, v, "slices", path, &s->endpoints.slices) != 0)
        return -1;
    subpath(p, path, "kind");
    if (strcmp(s->endpoints.deployment.kind, "Deployment") != 0)
        return fail(ld, v, p, "must be Deployment (the Pods of its selector give the IPs)");
    subpath(p, path, "slices");
    if (!s->endpoints.slices.n)
        return fail(ld, v, p, "must name at least one EndpointSlice");
    return 0;
}

static int step_body(const struct ld *ld, const cJSON *c, const char *path, const char *action,
                     struct conf_step *s)
{
    char p[PATHMAX];
    const cJSON *v = get(c, action);

    subpath(p, path, action);
    if (!strcmp(action, "apply")) {
        s->kind = CONF_STEP_APPLY;
        return manifest_list(ld, v, p, &s->apply);
    }
    if (!strcmp(action, "wait")) {
        s->kind = CONF_STEP_WAIT;
        return wait_value(ld, v, p, &s->wait);
    }
    if (!strcmp(action, "request")) {
        s->kind = CONF_STEP_REQUEST;
        return step_request(ld, c, path, s);
    }
    if (!strcmp(action, "patch")) {
        s->kind = CONF_STEP_PATCH;
        return patch_value(ld, v, p, &s->patch);
    }
    if (!strcmp(action, "update")) {
        s->kind = CONF_STEP_UPDATE;
        return update_value(ld, c, v, p, &s->update);
    }
    if (!strcmp(action, "endpoints"))
        return endpoints_value(ld, v, p, s);
    s->kind = CONF_STEP_DELETE;
    if (!cJSON_IsObject(v))
        return fail(ld, c, p, "must be {kind, name, ...}");
    return target_map(ld, v, p, "", &s->del);
}

static int step_value(const struct ld *ld, const cJSON *c, const char *path, struct conf_step *s)
{
    const char *action;
    char p[PATHMAX];

    if (!cJSON_IsObject(c))
        return fail(ld, c, path, "must be a mapping");
    if (step_action(ld, c, path, &action) != 0 || !action)
        return -1;
    if (strcmp(action, "request") != 0 &&
        (get(c, "expect") || get(c, "expect_failure") || get(c, "weights"))) {
        subpath(p, path,
                get(c, "expect")           ? "expect"
                : get(c, "expect_failure") ? "expect_failure"
                                           : "weights");
        return fail(ld, c, p, "only in a request step");
    }
    if (check_keys(ld, c, path,
                   "name apply wait request expect expect_failure weights patch update delete "
                   "endpoints"))
        return -1;
    s->line = yamlj_line_of(ld->doc, c);
    if (nonempty_str_field(ld, c, "name", path, &s->name) != 0)
        return -1;
    return step_body(ld, c, path, action, s);
}

/* ---- scenarios ---------------------------------------------------------- */

void conf_scenario_free(struct conf_scenario **psc)
{
    struct conf_scenario *sc = psc ? *psc : NULL;
    size_t i;

    if (!sc)
        return;
    free(sc->file);
    free(sc->name);
    free(sc->description);
    conf_strlist_release(&sc->features);
    free(sc->profile);
    conf_manifests_release(&sc->manifests);
    for (i = 0; i < sc->nsteps; i++)
        step_release(&sc->steps[i]);
    free(sc->steps);
    free(sc);
    *psc = NULL;
}

static int yields_address(const struct conf_step *s)
{
    return s->kind == CONF_STEP_WAIT && (s->wait.kind == CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED ||
                                         s->wait.kind == CONF_WAIT_GATEWAY_ADDRESS);
}

/* Cross-step checks: unique names; a request knows whose address it uses. */
static int steps_check(const struct ld *ld, const cJSON *list, const struct conf_scenario *sc)
{
    size_t i, j;
    int have_address = 0;
    char p[PATHMAX];

    for (i = 0; i < sc->nsteps; i++) {
        const struct conf_step *s = &sc->steps[i];
        const cJSON *item = cJSON_GetArrayItem(list, (int)i);

        itempath(p, "steps", i);
        for (j = 0; s->name && j < i; j++) {
            if (sc->steps[j].name && !strcmp(sc->steps[j].name, s->name))
                return fail(ld, item, p, "name '%s' already used by steps[%zu]", s->name, j);
        }
        if (s->kind == CONF_STEP_REQUEST && !s->request.gateway.name && !have_address)
            return fail(ld, item, p,
                        "no earlier wait yields a gateway address: name request.gateway");
        have_address |= yields_address(s);
    }
    return 0;
}

static int steps_field(const struct ld *ld, const cJSON *root, struct conf_scenario *sc)
{
    const cJSON *list = get(root, "steps"), *c;
    char ip[PATHMAX];
    size_t i = 0;

    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return fail(ld, root, "steps", "must be a non-empty list");
    sc->steps = xcalloc((size_t)cJSON_GetArraySize(list), sizeof(*sc->steps));
    cJSON_ArrayForEach(c, list) {
        itempath(ip, "steps", i);
        sc->nsteps = ++i;
        if (step_value(ld, c, ip, &sc->steps[i - 1]) != 0)
            return -1;
    }
    return steps_check(ld, list, sc);
}

static int header_fields(const struct ld *ld, const cJSON *root, struct conf_scenario *sc)
{
    const cJSON *lv = get(root, "level");
    size_t i;

    if (nonempty_str_field(ld, root, "name", "", &sc->name) != 0 ||
        nonempty_str_field(ld, root, "description", "", &sc->description) != 0 ||
        nonempty_str_field(ld, root, "profile", "", &sc->profile) != 0 ||
        strlist_field(ld, root, "features", "", &sc->features) != 0 ||
        bool_field(ld, root, "provisional", "", &sc->provisional) != 0 ||
        bool_field(ld, root, "parallel", "", &sc->parallel) != 0)
        return -1;
    for (i = 0; sc->name[i]; i++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
                    sc->name[i]))
            return fail(ld, root, "name", "'%s': only letters, digits, '-' and '_'", sc->name);
    }
    if (!sc->features.n)
        return fail(ld, root, "features", "must list at least one feature");
    if (!cJSON_IsString(lv) ||
        (strcmp(lv->valuestring, "core") != 0 && strcmp(lv->valuestring, "extended") != 0))
        return fail(ld, root, "level", "must be core or extended");
    sc->extended = !strcmp(lv->valuestring, "extended");
    return 0;
}

static int scenario_doc(const struct ld *ld, const cJSON *root, struct conf_scenario *sc)
{
    if (check_keys(ld, root, "",
                   "name description features profile level provisional parallel manifests "
                   "steps") != 0 ||
        need_all(ld, root, "", "name description features profile level steps") != 0)
        return -1;
    if (header_fields(ld, root, sc) != 0)
        return -1;
    if (get(root, "manifests") &&
        manifest_list(ld, get(root, "manifests"), "manifests", &sc->manifests) != 0)
        return -1;
    return steps_field(ld, root, sc);
}

int conf_scenario_load(const char *path, struct conf_scenario **out, char *err, size_t errlen)
{
    struct yamlj_stream st;
    struct conf_scenario *sc;
    struct ld ld = {path, NULL, err, errlen};
    int rc;

    *out = NULL;
    if (parse_file(path, &st, err, errlen) != 0)
        return -1;
    if (st.len != 1) {
        snprintf(err, errlen, "%s:%d: %s", path, st.len ? st.doc[1].line : 1,
                 "a scenario file holds exactly one YAML document");
        yamlj_stream_release(&st);
        return -1;
    }
    ld.doc = &st.doc[0];
    sc = xcalloc(1, sizeof(*sc));
    sc->file = xstrdup(path);
    sc->line = ld.doc->line;
    rc = scenario_doc(&ld, ld.doc->json, sc);
    yamlj_stream_release(&st);
    if (rc != 0) {
        conf_scenario_free(&sc);
        return -1;
    }
    *out = sc;
    return 0;
}

void conf_scenario_list_release(struct conf_scenario_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        conf_scenario_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int cmp_scenario(const void *a, const void *b)
{
    const struct conf_scenario *x = *(struct conf_scenario *const *)a;
    const struct conf_scenario *y = *(struct conf_scenario *const *)b;

    return strcmp(x->name, y->name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yaml files directly in dir, sorted. */
static int list_yaml(const char *dir, struct conf_strlist *files, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    const struct dirent *e;

    if (!d) {
        snprintf(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);

        if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml") && e->d_name[0] != '.') {
            char *full = xasprintf("%s/%s", dir, e->d_name);

            strlist_add(files, full);
            free(full);
        }
    }
    closedir(d);
    if (files->n)
        qsort(files->v, files->n, sizeof(*files->v), cmp_str);
    return 0;
}

int conf_scenarios_load_dir(const char *dir, struct conf_scenario_list *out, char *err,
                            size_t errlen)
{
    struct conf_strlist files = {0};
    size_t i;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (list_yaml(dir, &files, err, errlen) != 0)
        return -1;
    out->v = xcalloc(files.n + 1, sizeof(*out->v));
    for (i = 0; i < files.n && rc == 0; i++) {
        rc = conf_scenario_load(files.v[i], &out->v[out->n], err, errlen);
        if (rc == 0)
            out->n++;
    }
    conf_strlist_release(&files);
    if (rc == 0 && out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_scenario);
    for (i = 1; rc == 0 && i < out->n; i++) {
        if (!strcmp(out->v[i - 1]->name, out->v[i]->name)) {
            snprintf(err, errlen, "%s:%d: name: scenario '%s' is also defined in %s:%d",
                     out->v[i]->file, out->v[i]->line, out->v[i]->name, out->v[i - 1]->file,
                     out->v[i - 1]->line);
            rc = -1;
        }
    }
    if (rc != 0)
        conf_scenario_list_release(out);
    return rc;
}

/* ---- helpers for the runner --------------------------------------------- */

static char *replace_all(const char *s, const char *from, const char *to)
{
    struct sbuf sb = {0};
    size_t fl = strlen(from);
    const char *hit;

    while ((hit = strstr(s, from)) != NULL) {
        sb_add(&sb, s, (size_t)(hit - s));
        sb_puts(&sb, to);
        s = hit + fl;
    }
    sb_puts(&sb, s);
    return sb_detach(&sb);
}

size_t conf_manifest_subst(cJSON *obj, const char *placeholder, const char *value)
{
    cJSON *c;
    size_t n = 0;

    if (!obj || !placeholder[0])
        return 0;
    if (cJSON_IsString(obj)) {
        char *s;

        if (!strstr(obj->valuestring, placeholder))
            return 0;
        s = replace_all(obj->valuestring, placeholder, value);
        cJSON_SetValuestring(obj, s);
        free(s);
        return 1;
    }
    cJSON_ArrayForEach(c, obj)
        n += conf_manifest_subst(c, placeholder, value);
    return n;
}

static char *request_default_name(const struct conf_scenario *sc, size_t i)
{
    const struct conf_step_request *r = &sc->steps[i].request;
    const struct conf_expect *e = &r->expect;
    struct sbuf sb = {0};
    size_t k, j;

    for (k = 0, j = 0; j < i; j++)
        k += sc->steps[j].kind == CONF_STEP_REQUEST;
    sb_printf(&sb, "%zu request to '%s%s'%s", k, r->request.host ? r->request.host : "",
              r->request.path ? r->request.path : "", r->request.headers.n ? " with headers" : "");
    if (r->expect_failure) {
        sb_puts(&sb, " should fail");
    } else if (e->backend && e->backend[0]) {
        sb_printf(&sb, " should go to %s", e->backend);
    } else {
        sb_puts(&sb, " should receive one of [");
        for (j = 0; j < e->response.nstatus; j++)
            sb_printf(&sb, "%s%d", j ? " " : "", e->response.status_codes[j]);
        if (!e->response.nstatus)
            sb_puts(&sb, "200");
        sb_putc(&sb, ']');
    }
    return sb_detach(&sb);
}

static char *target_text(const struct conf_target *t)
{
    if (t->namespace_)
        return xasprintf("%s %s/%s", t->kind, t->namespace_, t->name);
    return xasprintf("%s %s", t->kind, t->name);
}

char *conf_step_default_name(const struct conf_scenario *sc, size_t i)
{
    const struct conf_step *s = &sc->steps[i];
    const char *kind, *name;
    char *what, *out;

    switch (s->kind) {
    case CONF_STEP_REQUEST:
        return request_default_name(sc, i);
    case CONF_STEP_WAIT:
        what = conf_wait_describe(&s->wait);
        out = xasprintf("wait: %s", what);
        free(what);
        return out;
    case CONF_STEP_APPLY:
        return xasprintf("apply: %zu object%s", s->apply.n, s->apply.n == 1 ? "" : "s");
    case CONF_STEP_PATCH:
        what = target_text(&s->patch.target);
        out = xasprintf("patch: %s", what);
        break;
    case CONF_STEP_UPDATE:
        kind = cJSON_GetStringValue(get(s->update.obj, "kind"));
        name = cJSON_GetStringValue(get(get(s->update.obj, "metadata"), "name"));
        return xasprintf("update: %s %s", kind ? kind : "object", name ? name : "");
    default:
        what = target_text(&s->del);
        out = xasprintf("delete: %s", what);
        break;
    }
    free(what);
    return out;
}

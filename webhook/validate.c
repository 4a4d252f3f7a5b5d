/*
 * The API server's judgement of one custom resource (spec validation.md
 * §1.2-§1.5): defaulting, ObjectMeta, OpenAPI schema, list-type uniqueness,
 * CEL (through cel.c), ratcheting on UPDATE; then our strict checks. Pure:
 * no I/O, no globals but the read-only schema trees.
 */
#include "validate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"
#include "defaults.h"
#include "schema.h"
#include "util.h"

#define GROUP "gateway.networking.k8s.io"

struct vstate {
    const struct validate_opts *o;
    const char *kind;
    enum validate_op op;
    struct verr_list schema; /* schema errors, in walk order */
    struct verr_list lists;  /* list-type duplicates, after the schema's */
    struct verr_list cel;    /* CEL errors */
    struct verr_list extra;  /* strict findings, unknown fields, warnings */
    struct fpath at;
};

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNumber(v))
        return v->valuedouble == floor(v->valuedouble) ? "integer" : "number";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "null";
}

static const char *sch_type_name(enum sch_type t)
{
    static const char *const names[] = {"object",  "array",   "string",
                                        "integer", "boolean", "number"};
    return names[t];
}

static int type_ok(enum sch_type t, const cJSON *v)
{
    switch (t) {
    case SCH_OBJECT:
        return cJSON_IsObject(v);
    case SCH_ARRAY:
        return cJSON_IsArray(v);
    case SCH_STRING:
        return cJSON_IsString(v);
    case SCH_INTEGER:
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    case SCH_BOOLEAN:
        return cJSON_IsBool(v);
    case SCH_NUMBER:
        return cJSON_IsNumber(v);
    }
    return 0;
}

/* Add an error with a printed JSON value, tagged with its spec row. */
static struct verr *add_v(struct verr_list *l, enum verr_type t, const char *at, const cJSON *v,
                          const char *rule, const char *detail)
{
    char *val = v ? verr_value_json(v) : NULL;
    struct verr *e = verr_add(l, t, at, val, "%s", detail);

    free(val);
    e->rule = rule;
    return e;
}

static int64_t num(const cJSON *v)
{
    return (int64_t)v->valuedouble;
}

/* ---- the schema pass ---- */

static void check_string(struct vstate *s, const struct schema_row *r, const cJSON *v)
{
    const char *at = fpath_str(&s->at);
    int64_t len = (int64_t)utf8_len(v->valuestring);
    char buf[512];

    if (r->max_len != SCH_UNSET && len > r->max_len) {
        snprintf(buf, sizeof(buf), "may not be more than %lld %s", (long long)r->max_len,
                 r->max_len == 1 ? "byte" : "bytes");
        add_v(&s->schema, VERR_TOO_LONG, at, NULL, r->path, buf);
    } else if (r->min_len != SCH_UNSET && len < r->min_len) {
        snprintf(buf, sizeof(buf), "%s in body should be at least %lld chars long", at,
                 (long long)r->min_len);
        add_v(&s->schema, VERR_INVALID, at, v, r->path, buf);
    } else if (r->pattern && !rx_search(r->pattern, v->valuestring)) {
        char *d = xasprintf("%s in body should match '%s'", at, schema_rx_text[r->pattern]);

        add_v(&s->schema, VERR_INVALID, at, v, r->path, d);
        free(d);
    }
}

static void check_enum(struct vstate *s, const struct schema_row *r, const cJSON *v)
{
    struct sbuf sb = {0};
    char *printed = NULL;
    size_t i;

    if (!r->enums)
        return;
    printed = cJSON_IsString(v) ? xstrdup(v->valuestring) : xasprintf("%lld", (long long)num(v));
    for (i = 0; r->enums[i]; i++)
        if (!strcmp(r->enums[i], printed))
            goto out;
    sb_puts(&sb, "supported values: ");
    for (i = 0; r->enums[i]; i++) {
        if (i)
            sb_puts(&sb, ", ");
        sb_goquote(&sb, r->enums[i]);
    }
    add_v(&s->schema, VERR_NOT_SUPPORTED, fpath_str(&s->at), v, r->path, sb.buf);
out:
    sb_release(&sb);
    free(printed);
}

static void check_number(struct vstate *s, const struct schema_row *r, const cJSON *v)
{
    const char *at = fpath_str(&s->at);
    char buf[512];

    if (r->has_max && num(v) > r->max) {
        snprintf(buf, sizeof(buf), "%s in body should be less than or equal to %lld", at,
                 (long long)r->max);
        add_v(&s->schema, VERR_INVALID, at, v, r->path, buf);
    }
    if (r->has_min && num(v) < r->min) {
        snprintf(buf, sizeof(buf), "%s in body should be greater than or equal to %lld", at,
                 (long long)r->min);
        add_v(&s->schema, VERR_INVALID, at, v, r->path, buf);
    }
}

static void check_count(struct vstate *s, const struct schema_row *r, const cJSON *v)
{
    const char *at = fpath_str(&s->at);
    int64_t n = cJSON_GetArraySize(v);
    int64_t max = cJSON_IsArray(v) ? r->max_items : r->max_props;
    char buf[512];

    if (max != SCH_UNSET && n > max) {
        char *val = xasprintf("%lld", (long long)n);
        struct verr *e;

        e = verr_add(&s->schema, VERR_TOO_MANY, at, val, "must have at most %lld %s",
                     (long long)max, max == 1 ? "item" : "items");
        e->rule = r->path;
        free(val);
    } else if (cJSON_IsArray(v) && r->min_items != SCH_UNSET && n < r->min_items) {
        char *val = xasprintf("%lld", (long long)n);
        struct verr *e;

        snprintf(buf, sizeof(buf), "%s in body should have at least %lld items", at,
                 (long long)r->min_items);
        e = verr_add(&s->schema, VERR_INVALID, at, val, "%s", buf);
        e->rule = r->path;
        free(val);
    }
}

/* Go's net.ParseIP plus kube-openapi's "contains . / :" (§1.3). */
static int format_ip(const char *s, int v6)
{
    unsigned char buf[16];
    const char *p;

    if (!v6) {
        if (!strchr(s, '.'))
            return 0;
        if (inet_pton(AF_INET, s, buf) == 1) {
            for (p = s; *p; p++)
                if (*p == '0' && (p == s || p[-1] == '.') && isdigit((unsigned char)p[1]))
                    return 0;
            return 1;
        }
        return strchr(s, ':') && inet_pton(AF_INET6, s, buf) == 1;
    }
    return strchr(s, ':') && inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * Gateway addresses: oneOf {type IPAddress, value ipv4|ipv6} | {type not
 * IPAddress}. kube-openapi keeps the best failing anyOf branch, the first
 * (ipv4); the composite oneOf/anyOf summaries are not reproduced (§1.3).
 */
static void check_oneof_ip(struct vstate *s, const struct schema_row *r, const cJSON *v)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(v, "value");
    size_t mark = fpath_len(&s->at);
    const char *at;
    char *d;

    if (!cJSON_IsString(type) || strcmp(type->valuestring, "IPAddress") != 0 ||
        !cJSON_IsString(value) || format_ip(value->valuestring, 0) ||
        format_ip(value->valuestring, 1))
        return;
    fpath_child(&s->at, "value");
    at = fpath_str(&s->at);
    d = xasprintf("%s in body must be of type ipv4: \"%s\"", at, value->valuestring);
    add_v(&s->schema, VERR_TYPE_INVALID, at, value, r->path, d);
    free(d);
    fpath_truncate(&s->at, mark);
}

static const cJSON *correlate_item(const struct schema_node *n, const cJSON *item,
                                   const cJSON *old_list);
static void strict_check(struct vstate *s, const struct schema_row *r, const cJSON *v);
static void check_list_unique(struct vstate *s, const struct schema_row *r, const cJSON *v,
                              const cJSON *old);
static void walk_schema(struct vstate *s, const struct schema_node *n, const cJSON *v,
                        const cJSON *old);

static void walk_props(struct vstate *s, const struct schema_node *n, const cJSON *v,
                       const cJSON *old)
{
    size_t i, mark = fpath_len(&s->at);
    const cJSON *item;

    for (i = 0; i < n->nchild; i++) {
        const struct schema_node *c = n->child[i];

        if (c->row->required && !cJSON_GetObjectItemCaseSensitive(v, c->name)) {
            fpath_child(&s->at, c->name);
            add_v(&s->schema, VERR_REQUIRED, fpath_str(&s->at), NULL, c->row->path, "");
            fpath_truncate(&s->at, mark);
        }
    }
    cJSON_ArrayForEach(item, v) {
        const struct schema_node *c = schema_child(n, item->string);
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(old, item->string);

        fpath_child(&s->at, item->string);
        if (c)
            walk_schema(s, c, item, o);
        else if (n->values)
            walk_schema(s, n->values, item, o);
        else
            add_v(&s->extra, VERR_UNKNOWN_FIELD, fpath_str(&s->at), NULL, NULL, "")->level =
                s->o->unknown_strict ? VERR_ERROR : VERR_WARNING;
        fpath_truncate(&s->at, mark);
    }
}

static void walk_items(struct vstate *s, const struct schema_node *n, const cJSON *v,
                       const cJSON *old)
{
    size_t i = 0, mark = fpath_len(&s->at);
    const cJSON *item;

    cJSON_ArrayForEach(item, v) {
        fpath_index(&s->at, i++);
        walk_schema(s, n->items, item, correlate_item(n, item, old));
        fpath_truncate(&s->at, mark);
    }
}

static void walk_schema(struct vstate *s, const struct schema_node *n, const cJSON *v,
                        const cJSON *old)
{
    const struct schema_row *r = n->row;

    if (old && s->op == VALIDATE_UPDATE && cel_equal(v, old))
        return; /* ratcheting: an unchanged value keeps whatever it had (§1.2 6) */
    if (r && !type_ok(r->type, v)) {
        const char *at = fpath_str(&s->at);
        char *d = xasprintf("%s in body must be of type %s: \"%s\"", at, sch_type_name(r->type),
                            json_type_name(v));
        char *val = verr_value_str(json_type_name(v));

        verr_add(&s->schema, VERR_TYPE_INVALID, at, val, "%s", d)->rule = r->path;
        free(val);
        free(d);
        return;
    }
    if (r && r->type == SCH_STRING) {
        check_string(s, r, v);
        check_enum(s, r, v);
        strict_check(s, r, v);
    } else if (r && (r->type == SCH_INTEGER || r->type == SCH_NUMBER)) {
        check_enum(s, r, v);
        check_number(s, r, v);
    } else if (r && (r->type == SCH_ARRAY || r->type == SCH_OBJECT)) {
        check_count(s, r, v);
    }
    if (r && r->oneof_ip)
        check_oneof_ip(s, r, v);
    if (cJSON_IsObject(v))
        walk_props(s, n, v, old);
    else if (cJSON_IsArray(v) && n->items)
        walk_items(s, n, v, old);
    if (r && r->type == SCH_ARRAY)
        check_list_unique(s, r, v, old);
}

/* ---- list-type uniqueness (§1.2 4c, §1.4) ---- */

/*
 * The key of a map-list item as the API server prints the Duplicate's bad
 * value: a map of the key fields the item has, through json.Marshal
 * (keys sorted), e.g. {"name":"same"}; {} when it has none.
 */
static char *list_key(const struct schema_row *r, const cJSON *item)
{
    struct sbuf sb = {0};
    cJSON *key = cJSON_CreateObject();
    const char *k = r->list_keys;

    while (k && *k) {
        const char *comma = strchr(k, ',');
        size_t len = comma ? (size_t)(comma - k) : strlen(k);
        char name[64];
        const cJSON *v;

        snprintf(name, sizeof(name), "%.*s", (int)len, k);
        v = cJSON_GetObjectItemCaseSensitive(item, name);
        if (v)
            cJSON_AddItemToObject(key, name, cJSON_Duplicate(v, 1));
        k = comma ? comma + 1 : NULL;
    }
    sb_gojson(&sb, key);
    cJSON_Delete(key);
    return sb_detach(&sb);
}

/* Do two items have the same identity: equal key fields (an absent key
   equals only an absent key) for map lists, equal values for set lists? */
static int same_item(const struct schema_row *r, const cJSON *a, const cJSON *b)
{
    const char *k = r->list_keys;

    if (r->list != SCH_LIST_MAP)
        return cel_equal(a, b);
    while (k && *k) {
        const char *comma = strchr(k, ',');
        size_t len = comma ? (size_t)(comma - k) : strlen(k);
        char key[64];
        const cJSON *va, *vb;

        snprintf(key, sizeof(key), "%.*s", (int)len, k);
        va = cJSON_GetObjectItemCaseSensitive(a, key);
        vb = cJSON_GetObjectItemCaseSensitive(b, key);
        if ((va || vb) && !cel_equal(va, vb))
            return 0;
        k = comma ? comma + 1 : NULL;
    }
    return 1;
}

static int has_duplicates(const struct schema_row *r, const cJSON *v)
{
    const cJSON *a, *b;

    cJSON_ArrayForEach(a, v)
    {
        for (b = v->child; b != a; b = b->next)
            if (same_item(r, a, b))
                return 1;
    }
    return 0;
}

static void check_list_unique(struct vstate *s, const struct schema_row *r, const cJSON *v,
                              const cJSON *old)
{
    size_t mark = fpath_len(&s->at), i = 0;
    const cJSON *item, *prev;

    if (r->list != SCH_LIST_MAP && r->list != SCH_LIST_SET)
        return;
    if (old && s->op == VALIDATE_UPDATE && cJSON_IsArray(old) && has_duplicates(r, old))
        return; /* only checked on update when the old list had none */
    cJSON_ArrayForEach(item, v)
    {
        int seen = 0;

        for (prev = v->child; prev != item; prev = prev->next)
            seen += same_item(r, item, prev);
        if (seen == 1) { /* reported at the 2nd occurrence only */
            char *val = r->list == SCH_LIST_MAP ? list_key(r, item)
                        : cJSON_IsString(item)  ? verr_value_str(item->valuestring)
                                                : verr_value_json(item);

            fpath_index(&s->at, i);
            verr_add(&s->lists, VERR_DUPLICATE, fpath_str(&s->at), val, "%s", "")->rule = r->path;
            fpath_truncate(&s->at, mark);
            free(val);
        }
        i++;
    }
}

/* The old element a new list element corresponds to: by key for map
   lists, none otherwise (ratcheting correlates only what it can). */
static const cJSON *correlate_item(const struct schema_node *n, const cJSON *item,
                                   const cJSON *old_list)
{
    const struct schema_row *r = n->row;
    const cJSON *o;
    char *want;
    const cJSON *found = NULL;

    if (!old_list || !r || r->list != SCH_LIST_MAP || !cJSON_IsArray(old_list))
        return NULL;
    want = list_key(r, item);
    cJSON_ArrayForEach(o, old_list) {
        char *k = list_key(r, o);

        if (!found && !strcmp(k, want))
            found = o;
        free(k);
    }
    free(want);
    return found;
}

/* ---- the CEL pass ---- */

static void run_rules(struct vstate *s, const struct schema_node *n, const cJSON *v,
                      const cJSON *old)
{
    size_t i;
    int unchanged = old && cel_equal(v, old);

    for (i = 0; i < n->ncel; i++) {
        const struct schema_cel *rule = n->cel[i];
        struct cel_ctx c = {v, old, {0}};
        cel_fn fn = cel_lookup(rule->canon);
        enum cel_result res;
        const char *type = n->row ? sch_type_name(n->row->type) : "object";
        struct verr *e;

        if (rule->transition && (s->op != VALIDATE_UPDATE || !old))
            continue; /* transition rules need both values */
        if (!rule->transition && unchanged && s->op == VALIDATE_UPDATE)
            continue; /* ratcheting */
        if (!fn) {
            e = verr_add(&s->extra, VERR_INVALID, fpath_str(&s->at), "\"object\"",
                         "rule %s is not implemented by this build: %s", rule->id, rule->message);
            e->level = VERR_WARNING;
            e->rule = rule->id;
            continue;
        }
        res = fn(&c);
        if (res == CEL_TRUE)
            continue;
        if (res == CEL_ERROR) { /* the value is the node's OpenAPI type name */
            e = verr_add(&s->cel, VERR_INVALID, fpath_str(&s->at), NULL,
                         "%s evaluating rule: %s", c.err, rule->message);
            e->value = verr_value_str(type);
        } else { /* objects and arrays omit the value; scalars print it */
            e = verr_add(&s->cel, VERR_INVALID, fpath_str(&s->at), NULL, "%s", rule->message);
            if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
                e->value = verr_value_json(v);
        }
        e->rule = rule->id;
    }
}

static void walk_cel(struct vstate *s, const struct schema_node *n, const cJSON *v,
                     const cJSON *old)
{
    size_t mark = fpath_len(&s->at), i;
    const cJSON *item;

    run_rules(s, n, v, old);
    if (cJSON_IsObject(v)) {
        cJSON_ArrayForEach(item, v) {
            const struct schema_node *c = schema_child(n, item->string);

            if (!c)
                c = n->values;
            if (!c)
                continue;
            fpath_child(&s->at, item->string);
            walk_cel(s, c, item, cJSON_GetObjectItemCaseSensitive(old, item->string));
            fpath_truncate(&s->at, mark);
        }
    } else if (cJSON_IsArray(v) && n->items) {
        i = 0;
        cJSON_ArrayForEach(item, v) {
            fpath_index(&s->at, i++);
            walk_cel(s, n->items, item, correlate_item(n, item, old));
            fpath_truncate(&s->at, mark);
        }
    }
}

/* ---- strict checks: where upstream's patterns are looser than they look ---- */

static const char *const strict_header_value_suffixes[] = {
    "HeaderModifier.add[].value", "HeaderModifier.set[].value", "matches[].headers[].value"};

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && !strcmp(s + a - b, suffix);
}

static void strict_add(struct vstate *s, const struct schema_row *r, const cJSON *v,
                       const char *detail)
{
    struct verr *e = add_v(&s->extra, VERR_INVALID, fpath_str(&s->at), v, r->path, detail);

    e->level = s->o->strict ? VERR_ERROR : VERR_WARNING;
}

static void strict_check(struct vstate *s, const struct schema_row *r, const cJSON *v)
{
    const char *str = v->valuestring;
    size_t i;

    if (r->pattern == RX_P12 && rx_search(RX_P12, str)) {
        static const char *const exact[] = {"Hostname", "IPAddress", "NamedAddress"};
        int ok = 0;

        for (i = 0; i < ARRAY_SIZE(exact); i++)
            ok |= !strcmp(str, exact[i]);
        if (!ok && !(rx_search(RX_P08, str) && !strchr(str, ' ')))
            strict_add(s, r, v,
                       "strict: accepted only because upstream's AddressType pattern "
                       "(P12) is an unanchored alternation; use Hostname, IPAddress, "
                       "NamedAddress or a domain-prefixed name such as example.com/custom");
    }
    if (r->pattern == RX_P14 && rx_search(RX_P14, str) && !rx_search(RX_STRICT_PROTO_NAME, str) &&
        !rx_search(RX_STRICT_PROTO_DOMAIN, str))
        strict_add(s, r, v,
                   "strict: accepted only because the second alternative of upstream's "
                   "ProtocolType pattern (P14) has no '^'; use a protocol name such as HTTPS "
                   "or a domain-prefixed name such as example.com/proto");
    if (r->pattern == RX_P15 && rx_search(RX_P15, str)) {
        for (i = 0; str[i]; i++)
            if ((unsigned char)str[i] <= 0x20 || str[i] == 0x7F || strchr("<>\"{}|\\^`", str[i]))
                break;
        if (str[i])
            strict_add(s, r, v,
                       "strict: upstream's AbsoluteURI pattern (P15) checks only a "
                       "'scheme://authority' prefix; this URI has characters RFC 3986 forbids");
    }
    if (r->pattern == RX_NONE && s->o->channel != SCH_EXPERIMENTAL)
        for (i = 0; i < ARRAY_SIZE(strict_header_value_suffixes); i++)
            if (ends_with(r->path, strict_header_value_suffixes[i]) && !rx_search(RX_P09, str))
                strict_add(s, r, v,
                           "strict: header value has a control character or leading, trailing "
                           "or repeated white space (CR/LF allow header injection); the "
                           "standard channel does not check header values, the experimental "
                           "channel's pattern P09 does");
}

/* ---- metadata, identity ---- */

static void check_metadata(struct vstate *s, const cJSON *obj, int namespaced)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(md, "generateName");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");

    if (!cJSON_IsString(name) || !name->valuestring[0]) {
        if (!cJSON_IsString(gen) || !gen->valuestring[0])
            verr_add(&s->schema, VERR_REQUIRED, "metadata.name", NULL,
                     "name or generateName is required")
                ->rule = "metadata.name";
    } else {
        /* IsDNS1123Subdomain: both findings when both apply */
        if (strlen(name->valuestring) > 253)
            add_v(&s->schema, VERR_INVALID, "metadata.name", name, "metadata.name",
                  "must be no more than 253 characters");
        if (!rx_search(RX_P04, name->valuestring))
            add_v(&s->schema, VERR_INVALID, "metadata.name", name, "metadata.name",
                  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric "
                  "character (e.g. 'example.com', regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    }
    if (cJSON_IsString(ns) && ns->valuestring[0] && !namespaced)
        verr_add(&s->schema, VERR_FORBIDDEN, "metadata.namespace", NULL, "not allowed on this type")
            ->rule = "metadata.namespace";
}

void validate_gvk(const cJSON *obj, char *group, size_t glen, char *version, size_t vlen,
                  const char **kind)
{
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    const char *slash;

    group[0] = version[0] = '\0';
    *kind = cJSON_IsString(k) ? k->valuestring : NULL;
    if (!cJSON_IsString(av))
        return;
    slash = strchr(av->valuestring, '/');
    if (slash) {
        snprintf(group, glen, "%.*s", (int)(slash - av->valuestring), av->valuestring);
        snprintf(version, vlen, "%s", slash + 1);
    } else {
        snprintf(version, vlen, "%s", av->valuestring);
    }
}

static void state_release(struct vstate *s)
{
    verr_list_release(&s->schema);
    verr_list_release(&s->lists);
    verr_list_release(&s->cel);
    verr_list_release(&s->extra);
    fpath_release(&s->at);
}

static int blocking(const struct verr_list *l)
{
    size_t i;

    for (i = 0; i < l->len; i++)
        if (verr_type_blocking(l->item[i].type))
            return 1;
    return 0;
}

static void judge(struct vstate *s, const struct schema_set *set, const struct schema_node *root,
                  const cJSON *obj, const cJSON *old)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    const cJSON *ospec = cJSON_GetObjectItemCaseSensitive(old, "spec");
    const struct schema_node *sn = schema_child(root, "spec");

    check_metadata(s, obj, strcmp(set->kind, "GatewayClass") != 0);
    if (!spec && sn && sn->row->required) {
        verr_add(&s->schema, VERR_REQUIRED, "spec", NULL, "%s", "")->rule = "spec";
    } else if (spec && sn) {
        fpath_child(&s->at, "spec");
        walk_schema(s, sn, spec, ospec);
        fpath_truncate(&s->at, 0);
    }
    if (blocking(&s->schema) || blocking(&s->lists)) {
        if (set->ncel)
            verr_add(&s->cel, VERR_INVALID, "<nil>", "null",
                     "some validation rules were not checked because the object was invalid; "
                     "correct the existing errors to complete validation")
                ->rule = "§1.2";
    } else if (spec && sn) {
        fpath_child(&s->at, "spec");
        walk_cel(s, sn, spec, ospec);
        fpath_truncate(&s->at, 0);
    }
}

enum validate_status validate_object(const struct validate_opts *o, const cJSON *obj,
                                     const cJSON *old, enum validate_op op, struct verr_list *out)
{
    struct validate_opts defopts = {0};
    struct vstate s = {0};
    const struct schema_set *set = NULL;
    const struct schema_node *root;
    char group[256], version[64];
    const char *kind;
    cJSON *copy = NULL, *ocopy = NULL;

    if (!o)
        o = &defopts;
    if (!cJSON_IsObject(obj))
        return VALIDATE_NOT_GATEWAY; /* no apiVersion, so no group of ours */
    validate_gvk(obj, group, sizeof(group), version, sizeof(version), &kind);
    if (strcmp(group, GROUP) != 0)
        return VALIDATE_NOT_GATEWAY;
    if (!kind || !version[0]) {
        verr_add(out, VERR_REQUIRED, kind ? "apiVersion" : "kind", NULL, "%s", "");
        return VALIDATE_BAD_OBJECT;
    }
    root = schema_lookup_bundle(o->bundle, kind, version, o->channel ? o->channel : SCH_STANDARD,
                                &set);
    if (!root || !set->served) {
        char *av = xasprintf("\"%s/%s\"", GROUP, version);

        verr_add(out, VERR_NOT_SUPPORTED, "apiVersion", av,
                 "%s %s is not served in the %s channel of Gateway API %s", kind, version,
                 schema_channel_name(o->channel ? o->channel : SCH_STANDARD),
                 o->bundle ? o->bundle : "v1.6")
            ->rule = "§1.1";
        free(av);
        return VALIDATE_UNKNOWN;
    }
    if (op == VALIDATE_DELETE)
        return VALIDATE_OK; /* never validated (§5) */
    s.o = o;
    s.kind = set->kind;
    s.op = op;
    copy = cJSON_Duplicate(obj, 1);
    defaults_apply(root, copy);
    if (old && op == VALIDATE_UPDATE) {
        ocopy = cJSON_Duplicate(old, 1);
        defaults_apply(root, ocopy);
    }
    judge(&s, set, root, copy, ocopy);
    if (set->deprecated) {
        verr_add(out, VERR_NOTE, "apiVersion", NULL,
                 "The %s version of %s has been deprecated and will be removed in a future "
                 "release of the API. Please upgrade to v1.",
                 version, set->kind)
            ->level = VERR_WARNING;
    }
    verr_splice(out, &s.schema);
    verr_splice(out, &s.lists);
    verr_splice(out, &s.cel);
    verr_splice(out, &s.extra);
    state_release(&s);
    cJSON_Delete(copy);
    cJSON_Delete(ocopy);
    return VALIDATE_OK;
}

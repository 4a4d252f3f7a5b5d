/*
 * The OpenAPI checks of a custom resource as Kubernetes 1.37 makes them:
 * pruning of unknown fields (apiextensions' pruning), kube-openapi's schema
 * validator (type, oneOf/anyOf, string, format, number, slice, enum, object,
 * in that order at every node) and the list-type invariants. Each error
 * carries the generic path of its schema row as its rule. Pure.
 */
#include "openapi.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"
#include "util.h"

/* How the API server's JSON decoder sees a number: an int64 when it is
   integral and fits, else a float64. */
static int is_int64(const cJSON *v)
{
    double d = v->valuedouble;

    return d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0;
}

/* kube-openapi's schemaInfoForType(): the JSON type and format of data. */
static const char *data_type(const cJSON *v, const char **format)
{
    *format = "";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsNumber(v)) {
        *format = is_int64(v) ? "int64" : "float64";
        return is_int64(v) ? "integer" : "number";
    }
    return "null";
}

static const char *const type_names[] = {"object",  "array",   "string",
                                         "integer", "boolean", "number"};
static const char *const format_names[] = {"", "int32", "int64", "date-time"};

static struct verr *add(struct verr_list *l, enum verr_type t, const char *at, char *value,
                        const char *rule, const char *detail)
{
    struct verr *e = verr_add(l, t, at, value, "%s", detail);

    free(value); /* verr_add copied it */
    e->rule = rule;
    return e;
}

/* ---- type (kube-openapi typeValidator) ---- */

/* Returns 1 when v has the wrong type for r (and reports it). */
static int check_type(struct openapi_walk *w, const struct schema_row *r, const cJSON *v)
{
    const char *at = fpath_str(&w->at), *fmt, *t = data_type(v, &fmt);
    const char *want = type_names[r->type], *rfmt = format_names[r->format];
    int container = cJSON_IsString(v) || cJSON_IsArray(v);
    int same = !strcmp(t, want) || (!strcmp(t, "integer") && r->type == SCH_NUMBER);
    char *d;

    if (!container && rfmt[0] && !same && strcmp(fmt, rfmt) != 0 &&
        !(!strcmp(fmt, "int32") && !strcmp(rfmt, "int64"))) {
        /* a format is declared: the error names it, with the data's format */
        d = xasprintf("%s in body must be of type %s: \"%s\"", at, rfmt, fmt);
        add(&w->schema, VERR_TYPE_INVALID, at, verr_value_str(fmt), r->path, d);
        free(d);
        return 1;
    }
    if (same)
        return 0;
    d = xasprintf("%s in body must be of type %s: \"%s\"", at, want, t);
    add(&w->schema, VERR_TYPE_INVALID, at, verr_value_str(t), r->path, d);
    free(d);
    return 1;
}

/* ---- oneOf / anyOf (schemaPropsValidator): Gateway addresses only ---- */

/* kube-openapi's ipv4 format: net.ParseIP "sloppy" (leading zeros allowed)
   and a dot; ipv6: a colon. */
static int format_ipv4(const char *s)
{
    unsigned long part;
    int n = 0;
    char *end;

    if (strchr(s, ':'))
        return strchr(s, '.') && strncmp(s, "::ffff:", 7) == 0 && format_ipv4(s + 7);
    while (n < 4) {
        if (!isdigit((unsigned char)*s))
            return 0;
        part = strtoul(s, &end, 10);
        if (part > 255 || end - s > 8)
            return 0;
        s = end;
        n++;
        if (n < 4 && *s++ != '.')
            return 0;
    }
    return *s == '\0';
}

static int format_ipv6(const char *s)
{
    unsigned char buf[16];

    return strchr(s, ':') && inet_pton(AF_INET6, s, buf) == 1;
}

static void check_oneof_ip(struct openapi_walk *w, const struct schema_row *r, const cJSON *v)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(v, "value");
    size_t mark = fpath_len(&w->at);
    char *d;

    if (!cJSON_IsString(type) || strcmp(type->valuestring, "IPAddress") != 0 ||
        !cJSON_IsString(value) || format_ipv4(value->valuestring) ||
        format_ipv6(value->valuestring))
        return;
    /* composite errors print at <nil> with an empty value, then the best
       failing branch: the first (ipv4) */
    d = xasprintf("\"%s\" must validate one and only one schema (oneOf). Found none valid",
                  fpath_str(&w->at));
    add(&w->schema, VERR_INVALID, "<nil>", xstrdup("\"\""), r->path, d);
    free(d);
    fpath_child(&w->at, "value");
    d = xasprintf("\"%s\" must validate at least one schema (anyOf)", fpath_str(&w->at));
    add(&w->schema, VERR_INVALID, "<nil>", xstrdup("\"\""), r->path, d);
    free(d);
    d = xasprintf("%s in body must be of type ipv4: \"%s\"", fpath_str(&w->at), value->valuestring);
    add(&w->schema, VERR_TYPE_INVALID, fpath_str(&w->at), verr_value_json(value), r->path, d);
    free(d);
    fpath_truncate(&w->at, mark);
}

/* ---- strings, numbers, enums, counts ---- */

static void check_string(struct openapi_walk *w, const struct schema_row *r, const cJSON *v)
{
    const char *at = fpath_str(&w->at);
    int64_t len = (int64_t)utf8_len(v->valuestring);
    char *d = NULL;

    if (r->max_len != SCH_UNSET && len > r->max_len) {
        d = xasprintf("may not be more than %lld %s", (long long)r->max_len,
                      r->max_len == 1 ? "byte" : "bytes");
        add(&w->schema, VERR_TOO_LONG, at, NULL, r->path, d);
    } else if (r->min_len != SCH_UNSET && len < r->min_len) {
        d = xasprintf("%s in body should be at least %lld chars long", at, (long long)r->min_len);
        add(&w->schema, VERR_INVALID, at, verr_value_json(v), r->path, d);
    } else if (r->pattern && !rx_search(r->pattern, v->valuestring)) {
        d = xasprintf("%s in body should match '%s'", at, schema_rx_text[r->pattern]);
        add(&w->schema, VERR_INVALID, at, verr_value_json(v), r->path, d);
    }
    free(d);
}

/* IsValueValidAgainstRange(): integral and within the format's range. */
static void check_number_range(struct openapi_walk *w, const struct schema_row *r, const cJSON *v)
{
    double d = v->valuedouble;
    int ok = is_int64(v);
    char *msg;

    if (r->type != SCH_INTEGER)
        return;
    if (ok && r->format == SCH_FMT_INT32)
        ok = d >= -2147483648.0 && d <= 2147483647.0;
    if (ok)
        return;
    if (r->format == SCH_FMT_INT32 || r->format == SCH_FMT_INT64)
        msg = xasprintf("Checked value must be of type integer with format %s in %s",
                        format_names[r->format], fpath_str(&w->at));
    else
        msg = xasprintf("Checked value must be of type integer (default format) in %s",
                        fpath_str(&w->at));
    add(&w->schema, VERR_INVALID, "<nil>", xstrdup("\"\""), r->path, msg);
    free(msg);
}

static void check_number(struct openapi_walk *w, const struct schema_row *r, const cJSON *v)
{
    const char *at = fpath_str(&w->at);
    char *d;

    check_number_range(w, r, v);
    /* kube-openapi prints the bound in the data's type: an int64 as such,
       a float64 (1e20, 1.5) with %v ("1e+06") */
    if (r->has_min && v->valuedouble < (double)r->min) {
        char *b = verr_go_is_float(v) ? verr_go_float((double)r->min)
                                      : xasprintf("%lld", (long long)r->min);

        d = xasprintf("%s in body should be greater than or equal to %s", at, b);
        add(&w->schema, VERR_INVALID, at, verr_value_json(v), r->path, d);
        free(b);
        free(d);
    }
    if (r->has_max && v->valuedouble > (double)r->max) {
        char *b = verr_go_is_float(v) ? verr_go_float((double)r->max)
                                      : xasprintf("%lld", (long long)r->max);

        d = xasprintf("%s in body should be less than or equal to %s", at, b);
        add(&w->schema, VERR_INVALID, at, verr_value_json(v), r->path, d);
        free(b);
        free(d);
    }
}

/* The common validator: enum, whatever the data's type. */
/*
 * The string Go's reflect conversion makes of an int64 n: string(rune(n)),
 * UTF-8, with U+FFFD for what is not a valid rune. kube-openapi's enum check
 * converts the data to the enum values' type when it can, so the integer
 * 42 matches the string enum value "*".
 */
static void int_as_go_string(double n, char out[5])
{
    unsigned long c =
        n >= 0 && n <= 0x10FFFF && !(n >= 0xD800 && n <= 0xDFFF) ? (unsigned long)n : 0xFFFDul;

    if (c < 0x80) {
        out[0] = (char)c;
        out[1] = '\0';
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        out[2] = '\0';
    } else if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        out[3] = '\0';
    } else {
        out[0] = (char)(0xF0 | (c >> 18));
        out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[3] = (char)(0x80 | (c & 0x3F));
        out[4] = '\0';
    }
}

static void check_enum(struct openapi_walk *w, const struct schema_row *r, const cJSON *v)
{
    struct sbuf sb = {0};
    char as_string[5] = "";
    size_t i;

    if (!r->enums)
        return;
    if (cJSON_IsNumber(v) && r->type == SCH_STRING && is_int64(v))
        int_as_go_string(v->valuedouble, as_string);
    for (i = 0; r->enums[i]; i++) {
        if (cJSON_IsString(v) && r->type == SCH_STRING && !strcmp(r->enums[i], v->valuestring))
            return;
        if (as_string[0] && !strcmp(r->enums[i], as_string))
            return;
        if (cJSON_IsNumber(v) && r->type != SCH_STRING && is_int64(v) &&
            strtod(r->enums[i], NULL) == v->valuedouble)
            return;
    }
    sb_puts(&sb, "supported values: ");
    for (i = 0; r->enums[i]; i++) {
        if (i)
            sb_puts(&sb, ", ");
        sb_goquote(&sb, r->enums[i]);
    }
    add(&w->schema, VERR_NOT_SUPPORTED, fpath_str(&w->at), verr_value_json(v), r->path, sb.buf);
    sb_release(&sb);
}

/* maxItems / maxProperties -> TooMany; minItems -> Invalid with the count. */
static void check_count(struct openapi_walk *w, const struct schema_row *r, const cJSON *v,
                        int maximum)
{
    const char *at = fpath_str(&w->at);
    int64_t n = cJSON_GetArraySize(v);
    int64_t max = cJSON_IsArray(v) ? r->max_items : r->max_props;
    char *d = NULL;

    if (maximum && max != SCH_UNSET && n > max) {
        d = xasprintf("must have at most %lld %s", (long long)max, max == 1 ? "item" : "items");
        add(&w->schema, VERR_TOO_MANY, at, xasprintf("%lld", (long long)n), r->path, d);
    } else if (!maximum && cJSON_IsArray(v) && r->min_items != SCH_UNSET && n < r->min_items) {
        d = xasprintf("%s in body should have at least %lld items", at, (long long)r->min_items);
        add(&w->schema, VERR_INVALID, at, xasprintf("%lld", (long long)n), r->path, d);
    }
    free(d);
}

/* ---- list types (apiextensions listtype) ---- */

/* The key of a map-list item as the Duplicate error prints it: a map of the
   key fields the item has, through json.Marshal (keys sorted). */
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

/* Same identity: equal key fields (absent equals only absent) for map
   lists, equal values for set lists. */
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

    if (!cJSON_IsArray(v))
        return 0;
    cJSON_ArrayForEach(a, v) {
        for (b = v->child; b != a; b = b->next)
            if (same_item(r, a, b))
                return 1;
    }
    return 0;
}

static void check_list_unique(struct openapi_walk *w, const struct schema_row *r, const cJSON *v,
                              const cJSON *old)
{
    size_t mark = fpath_len(&w->at), i = 0;
    const cJSON *item, *prev;

    if (r->list != SCH_LIST_MAP && r->list != SCH_LIST_SET)
        return;
    if (r->list == SCH_LIST_MAP) {
        /* listtype.validateListMap: the first item that is neither an
           object nor null is the only error; keys are not compared then */
        cJSON_ArrayForEach(item, v) {
            if (!cJSON_IsObject(item) && !cJSON_IsNull(item)) {
                fpath_index(&w->at, i);
                add(&w->lists, VERR_INVALID, fpath_str(&w->at), verr_value_json(item), r->path,
                    "must be an object for an array of list-type map");
                fpath_truncate(&w->at, mark);
                return;
            }
            i++;
        }
        i = 0;
    }
    if (old && w->op == OPENAPI_UPDATE && has_duplicates(r, old))
        return; /* only checked on update when the old list had none */
    cJSON_ArrayForEach(item, v) {
        int seen = 0;

        for (prev = v->child; prev != item; prev = prev->next)
            seen += same_item(r, item, prev);
        if (seen == 1) { /* reported at the 2nd occurrence only */
            char *val = r->list == SCH_LIST_MAP ? list_key(r, item) : verr_value_json(item);

            fpath_index(&w->at, i);
            add(&w->lists, VERR_DUPLICATE, fpath_str(&w->at), val, r->path, "");
            fpath_truncate(&w->at, mark);
        }
        i++;
    }
}

const cJSON *openapi_ratchet_old(const struct schema_node *n, const cJSON *v, const cJSON *old)
{
    if (old && n->row && n->row->list == SCH_LIST_MAP &&
        (has_duplicates(n->row, v) || has_duplicates(n->row, old)))
        return NULL;
    return old;
}

const cJSON *openapi_correlate(const struct schema_node *list, const cJSON *item,
                               const cJSON *old_list)
{
    const struct schema_row *r = list->row;
    const cJSON *o;

    if (!old_list || !r || r->list != SCH_LIST_MAP || !cJSON_IsArray(old_list))
        return NULL;
    cJSON_ArrayForEach(o, old_list) {
        if (same_item(r, item, o))
            return o;
    }
    return NULL;
}

/* ---- the walk ---- */

static void walk_object(struct openapi_walk *w, const struct schema_node *n, const cJSON *v,
                        const cJSON *old)
{
    size_t i, mark = fpath_len(&w->at);
    const cJSON *item;

    if (n->row)
        check_count(w, n->row, v, 1); /* maxProperties first */
    cJSON_ArrayForEach(item, v) {
        const struct schema_node *c = n->values ? n->values : schema_child(n, item->string);

        if (!c)
            continue; /* pruned already; nothing else reaches here */
        fpath_child(&w->at, item->string);
        openapi_validate(w, c, item, cJSON_GetObjectItemCaseSensitive(old, item->string));
        fpath_truncate(&w->at, mark);
    }
    for (i = 0; i < n->nchild; i++) { /* required, after the properties */
        const struct schema_node *c = n->child[i];

        if (c->row->required && !cJSON_GetObjectItemCaseSensitive(v, c->name)) {
            fpath_child(&w->at, c->name);
            add(&w->schema, VERR_REQUIRED, fpath_str(&w->at), NULL, c->row->path, "");
            fpath_truncate(&w->at, mark);
        }
    }
}

static void walk_array(struct openapi_walk *w, const struct schema_node *n, const cJSON *v,
                       const cJSON *old, const cJSON *raw_old)
{
    size_t i = 0, mark = fpath_len(&w->at);
    const cJSON *item;

    if (n->items) {
        cJSON_ArrayForEach(item, v) {
            fpath_index(&w->at, i++);
            openapi_validate(w, n->items, item, openapi_correlate(n, item, old));
            fpath_truncate(&w->at, mark);
        }
    }
    if (n->row) {
        check_count(w, n->row, v, 0); /* minItems, then maxItems */
        check_count(w, n->row, v, 1);
        check_list_unique(w, n->row, v, raw_old); /* raw: duplicates in old count */
    }
}

void openapi_validate(struct openapi_walk *w, const struct schema_node *n, const cJSON *v,
                      const cJSON *old)
{
    const struct schema_row *r = n->row;
    const cJSON *raw_old = old;

    old = openapi_ratchet_old(n, v, old);
    if (old && w->op == OPENAPI_UPDATE && cel_equal(v, old))
        return; /* ratcheting: an unchanged value keeps whatever it had */
    if (!r) {
        if (cJSON_IsObject(v))
            walk_object(w, n, v, old);
        return;
    }
    check_type(w, r, v);
    if (r->oneof_ip && cJSON_IsObject(v))
        check_oneof_ip(w, r, v);
    if (cJSON_IsString(v)) {
        check_string(w, r, v);
        if (w->on_string && r->type == SCH_STRING)
            w->on_string(w->ctx, r, v, fpath_str(&w->at));
    }
    if (cJSON_IsNumber(v))
        check_number(w, r, v);
    if (cJSON_IsArray(v))
        walk_array(w, n, v, old, raw_old);
    check_enum(w, r, v);
    if (cJSON_IsObject(v))
        walk_object(w, n, v, old);
}

/* ---- pruning ---- */

static void prune(const struct schema_node *n, cJSON *v, struct fpath *at,
                  struct verr_list *unknown, int root)
{
    size_t mark = fpath_len(at), i = 0;
    cJSON *item, *next;

    if (cJSON_IsObject(v)) {
        for (item = v->child; item; item = next) {
            const struct schema_node *c = !n          ? NULL
                                          : n->values ? n->values
                                                      : schema_child(n, item->string);

            next = item->next;
            if (root && (!strcmp(item->string, "apiVersion") || !strcmp(item->string, "kind") ||
                         !strcmp(item->string, "metadata")))
                continue;
            fpath_child(at, item->string);
            if (c)
                prune(c, item, at, unknown, 0);
            else
                verr_add(unknown, VERR_UNKNOWN_FIELD, fpath_str(at), NULL, "%s", "");
            fpath_truncate(at, mark);
            if (!c)
                cJSON_Delete(cJSON_DetachItemViaPointer(v, item));
        }
    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(item, v) {
            fpath_index(at, i++);
            prune(n ? n->items : NULL, item, at, unknown, 0);
            fpath_truncate(at, mark);
        }
    }
}

void openapi_prune(const struct schema_node *root, cJSON *obj, struct verr_list *unknown)
{
    struct fpath at = FPATH_INIT;

    prune(root, obj, &at, unknown, 1);
    fpath_release(&at);
}

void openapi_walk_release(struct openapi_walk *w)
{
    verr_list_release(&w->schema);
    verr_list_release(&w->lists);
    fpath_release(&w->at);
}

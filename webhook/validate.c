/*
 * The API server's judgement of one custom resource (spec validation.md
 * §1.2-§1.5): defaulting, ObjectMeta, OpenAPI schema, list-type uniqueness,
 * CEL (through cel.c), ratcheting on UPDATE; then our strict checks. Pure:
 * no I/O, no globals but the read-only schema trees.
 */
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"
#include "defaults.h"
#include "objectmeta.h"
#include "openapi.h"
#include "schema.h"
#include "util.h"

#define GROUP "gateway.networking.k8s.io"

struct vstate {
    const struct validate_opts *o;
    const char *kind;
    enum validate_op op;
    struct openapi_walk oa;   /* schema errors and list duplicates (openapi.c) */
    struct verr_list cel;     /* CEL errors */
    struct verr_list extra;   /* strict findings and warnings */
    struct verr_list unknown; /* pruned fields */
    struct fpath at;          /* the CEL walk's path */
};

static const char *sch_type_name(enum sch_type t)
{
    static const char *const names[] = {"object",  "array",   "string",
                                        "integer", "boolean", "number"};
    return names[t];
}

static struct verr *add_v(struct verr_list *l, enum verr_type t, const char *at, const cJSON *v,
                          const char *rule, const char *detail)
{
    char *val = v ? verr_value_json(v) : NULL;
    struct verr *e = verr_add(l, t, at, val, "%s", detail);

    free(val);
    e->rule = rule;
    return e;
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
        struct verr_list *dest;
        struct verr *e;

        if (rule->transition && (s->op != VALIDATE_UPDATE || !old))
            continue; /* transition rules need both values */
        if (!fn) {
            e = verr_add(&s->extra, VERR_INVALID, fpath_str(&s->at), "\"object\"",
                         "rule %s has no check in this build: %s", rule->id, rule->message);
            e->level = VERR_WARNING;
            e->rule = rule->id;
            continue;
        }
        res = fn(&c);
        if (res == CEL_TRUE)
            continue;
        /* ratcheting: on an unchanged value the error becomes a warning */
        dest = !rule->transition && unchanged && s->op == VALIDATE_UPDATE ? &s->extra : &s->cel;
        if (res == CEL_ERROR) { /* the value is the node's OpenAPI type name */
            e = verr_add(dest, VERR_INVALID, fpath_str(&s->at), NULL, "%s evaluating rule: %s",
                         c.err, rule->message);
            e->value = verr_value_str(type);
        } else { /* objects and arrays omit the value; scalars print it */
            e = verr_add(dest, VERR_INVALID, fpath_str(&s->at), NULL, "%s", rule->message);
            if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
                e->value = verr_value_json(v);
        }
        e->rule = rule->id;
        if (dest == &s->extra)
            e->level = VERR_WARNING;
    }
}

static void walk_cel(struct vstate *s, const struct schema_node *n, const cJSON *v,
                     const cJSON *old)
{
    size_t mark = fpath_len(&s->at), i;
    const cJSON *item;

    old = openapi_ratchet_old(n, v, old);
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
            walk_cel(s, n->items, item, openapi_correlate(n, item, old));
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

static void strict_add(struct vstate *s, const char *at, const struct schema_row *r, const cJSON *v,
                       const char *detail)
{
    struct verr *e = add_v(&s->extra, VERR_INVALID, at, v, r->path, detail);

    e->level = s->o->strict ? VERR_ERROR : VERR_WARNING;
}

static void strict_check(void *ctx, const struct schema_row *r, const cJSON *v, const char *at)
{
    struct vstate *s = ctx;

    const char *str = v->valuestring;
    size_t i;

    if (r->pattern == RX_P12 && rx_search(RX_P12, str)) {
        static const char *const exact[] = {"Hostname", "IPAddress", "NamedAddress"};
        int ok = 0;

        for (i = 0; i < ARRAY_SIZE(exact); i++)
            ok |= !strcmp(str, exact[i]);
        if (!ok && !(rx_search(RX_P08, str) && !strchr(str, ' ')))
            strict_add(s, at, r, v,
                       "strict: accepted only because upstream's AddressType pattern "
                       "(P12) is an unanchored alternation; use Hostname, IPAddress, "
                       "NamedAddress or a domain-prefixed name such as example.com/custom");
    }
    if (r->pattern == RX_P14 && rx_search(RX_P14, str) && !rx_search(RX_STRICT_PROTO_NAME, str) &&
        !rx_search(RX_STRICT_PROTO_DOMAIN, str))
        strict_add(s, at, r, v,
                   "strict: accepted only because the second alternative of upstream's "
                   "ProtocolType pattern (P14) has no '^'; use a protocol name such as HTTPS "
                   "or a domain-prefixed name such as example.com/proto");
    if (r->pattern == RX_P15 && rx_search(RX_P15, str)) {
        for (i = 0; str[i]; i++)
            if ((unsigned char)str[i] <= 0x20 || str[i] == 0x7F || strchr("<>\"{}|\\^`", str[i]))
                break;
        if (str[i])
            strict_add(s, at, r, v,
                       "strict: upstream's AbsoluteURI pattern (P15) checks only a "
                       "'scheme://authority' prefix; this URI has characters RFC 3986 forbids");
    }
    if (r->pattern == RX_NONE && s->o->channel != SCH_EXPERIMENTAL)
        for (i = 0; i < ARRAY_SIZE(strict_header_value_suffixes); i++)
            if (ends_with(r->path, strict_header_value_suffixes[i]) && !rx_search(RX_P09, str))
                strict_add(s, at, r, v,
                           "strict: header value has a control character or leading, trailing "
                           "or repeated white space (CR/LF allow header injection); the "
                           "standard channel does not check header values, the experimental "
                           "channel's pattern P09 does");
}

/* ---- identity ---- */

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

/* Move the warning-level items of 'from' to the end of 'to'. */
static void move_warnings(struct verr_list *from, struct verr_list *to)
{
    struct verr_list keep = VERR_LIST_INIT, warn = VERR_LIST_INIT;
    size_t i;

    for (i = 0; i < from->len; i++) {
        struct verr_list *dst = from->item[i].level == VERR_WARNING ? &warn : &keep;

        if (dst->len == dst->alloc) {
            dst->alloc = dst->alloc ? dst->alloc * 2 : 8;
            dst->item = xrealloc(dst->item, dst->alloc * sizeof(*dst->item));
        }
        dst->item[dst->len++] = from->item[i];
    }
    free(from->item);
    *from = keep;
    verr_splice(to, &warn);
}

/*
 * Unknown fields: under strict field validation (kubectl's default) the
 * API server answers with them alone (400, before any validation); else
 * they are warnings next to the verdict.
 */
static void settle_unknown(struct vstate *s)
{
    size_t i;

    move_warnings(&s->oa.schema, &s->extra); /* ObjectMeta's finalizer notes */
    for (i = 0; i < s->unknown.len; i++)
        s->unknown.item[i].level = s->o->unknown_strict ? VERR_ERROR : VERR_WARNING;
    if (s->o->unknown_strict && s->unknown.len) {
        verr_list_release(&s->oa.schema);
        verr_list_release(&s->oa.lists);
        verr_list_release(&s->cel);
        verr_list_release(&s->extra);
    }
}

static void state_release(struct vstate *s)
{
    openapi_walk_release(&s->oa);
    verr_list_release(&s->unknown);
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

    objectmeta_validate(obj, strcmp(set->kind, "GatewayClass") != 0, &s->oa.schema);
    if (!spec && sn && sn->row->required) {
        verr_add(&s->oa.schema, VERR_REQUIRED, "spec", NULL, "%s", "")->rule = "spec";
    } else if (spec && sn) {
        fpath_child(&s->oa.at, "spec");
        openapi_validate(&s->oa, sn, spec, ospec);
        fpath_truncate(&s->oa.at, 0);
    }
    if (blocking(&s->oa.schema) || blocking(&s->oa.lists)) {
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

/*
 * Which schema judges obj: its group, version and kind in the channel and
 * bundle. Returns VALIDATE_OK with *root and *set, or the status to return
 * (an error added to out where the object is ours but unservable).
 */
static enum validate_status identify(const struct validate_opts *o, const cJSON *obj,
                                     struct verr_list *out, const struct schema_node **root,
                                     const struct schema_set **set, char *version, size_t vlen)
{
    unsigned channel = o->channel ? o->channel : SCH_STANDARD;
    char group[256];
    const char *kind;
    char *av;

    if (!cJSON_IsObject(obj))
        return VALIDATE_NOT_GATEWAY; /* no apiVersion, so no group of ours */
    validate_gvk(obj, group, sizeof(group), version, vlen, &kind);
    if (strcmp(group, GROUP) != 0)
        return VALIDATE_NOT_GATEWAY;
    if (!kind || !version[0]) {
        verr_add(out, VERR_REQUIRED, kind ? "apiVersion" : "kind", NULL, "%s", "");
        return VALIDATE_BAD_OBJECT;
    }
    *root = schema_lookup_bundle(o->bundle, kind, version, channel, set);
    if (*root && (*set)->served)
        return VALIDATE_OK;
    av = xasprintf("\"%s/%s\"", GROUP, version);
    verr_add(out, VERR_NOT_SUPPORTED, "apiVersion", av,
             "%s %s is not served in the %s channel of Gateway API %s", kind, version,
             schema_channel_name(channel), o->bundle ? o->bundle : SCHEMA_DEFAULT_BUNDLE)
        ->rule = "§1.1";
    free(av);
    return VALIDATE_UNKNOWN;
}

/* obj as the API server holds it after decoding, in place: unknown fields
   pruned (and reported to 'unknown' when not NULL), defaults applied. */
static void decode_inplace(const struct schema_node *root, cJSON *obj, struct verr_list *unknown)
{
    struct verr_list ignored = VERR_LIST_INIT;

    if (unknown)
        objectmeta_unknown_fields(obj, unknown);
    openapi_prune(root, obj, unknown ? unknown : &ignored);
    verr_list_release(&ignored);
    defaults_apply(root, obj);
}

/* in_place: obj and old are the caller's to change (validate_object_inplace) */
static enum validate_status validate_impl(const struct validate_opts *o, const cJSON *obj,
                                          const cJSON *old, enum validate_op op,
                                          struct verr_list *out, cJSON *obj_mut, cJSON *old_mut)
{
    static const struct validate_opts defopts = {0};
    struct vstate s = {0};
    const struct schema_set *set = NULL;
    const struct schema_node *root = NULL;
    char version[64];
    cJSON *copy, *ocopy = NULL;
    char *decode_err;
    enum validate_status st;

    o = o ? o : &defopts;
    st = identify(o, obj, out, &root, &set, version, sizeof(version));
    if (st != VALIDATE_OK || op == VALIDATE_DELETE)
        return st; /* DELETE is never validated (§5) */
    decode_err = objectmeta_decode_error(obj, set->kind, version);
    if (decode_err) { /* the API server cannot decode it: 400, nothing else is judged */
        verr_add(out, VERR_NOTE, "metadata", NULL, "%s", decode_err)->rule = "metadata";
        free(decode_err);
        return VALIDATE_OK;
    }
    s.o = o;
    s.kind = set->kind;
    s.op = op;
    s.oa.op = op == VALIDATE_UPDATE ? OPENAPI_UPDATE : OPENAPI_CREATE;
    s.oa.on_string = strict_check;
    s.oa.ctx = &s;
    copy = obj_mut ? obj_mut : cJSON_Duplicate(obj, 1);
    decode_inplace(root, copy, &s.unknown);
    if (old && op == VALIDATE_UPDATE) {
        ocopy = old_mut ? old_mut : cJSON_Duplicate(old, 1);
        decode_inplace(root, ocopy, NULL);
    }
    judge(&s, set, root, copy, ocopy);
    settle_unknown(&s);
    if (set->deprecated)
        verr_add(out, VERR_NOTE, "apiVersion", NULL,
                 "The %s version of %s has been deprecated and will be removed in a future "
                 "release of the API. Please upgrade to v1.",
                 version, set->kind)
            ->level = VERR_WARNING;
    verr_splice(out, &s.unknown);
    verr_splice(out, &s.oa.schema);
    verr_splice(out, &s.oa.lists);
    verr_splice(out, &s.cel);
    verr_splice(out, &s.extra);
    state_release(&s);
    if (copy != obj_mut)
        cJSON_Delete(copy);
    if (ocopy != old_mut)
        cJSON_Delete(ocopy);
    return VALIDATE_OK;
}

enum validate_status validate_object(const struct validate_opts *o, const cJSON *obj,
                                     const cJSON *old, enum validate_op op, struct verr_list *out)
{
    return validate_impl(o, obj, old, op, out, NULL, NULL);
}

enum validate_status validate_object_inplace(const struct validate_opts *o, cJSON *obj, cJSON *old,
                                             enum validate_op op, struct verr_list *out)
{
    return validate_impl(o, obj, old, op, out, obj, old);
}

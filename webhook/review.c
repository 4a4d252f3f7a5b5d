/*
 * AdmissionReview in and out (spec ecosystem.md §1, checklist §10). One
 * body in, one body out: decode the review, judge request.object with
 * validate_object() (/validate) or defaults_patch() (/mutate), and encode
 * the response as the API server verifies it (admissionreview.go
 * VerifyAdmissionResponse): same apiVersion and kind, uid echoed, a patch
 * only from /mutate and always with patchType JSONPatch.
 *
 * Pure: no I/O, no globals but the read-only schema trees. dryRun needs no
 * handling: nothing here has side effects (sideEffects: None is true).
 *
 * One caveat on threads: cJSON records the position of a parse error in a
 * static (cJSON_GetErrorPtr), so two threads failing to parse at once race
 * on that static. We read the position from return_parse_end instead, so
 * the race cannot reach our answers; it is cJSON's, and harmless.
 */
#include "review.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "schema.h"
#include "util.h"
#include "verr.h"

#define GROUP "gateway.networking.k8s.io"

/*
 * Bodies nested deeper than this are refused (400) before cJSON sees them.
 * The deepest Gateway API object, managedFields included, is about 20
 * levels under the review; cJSON's own CJSON_NESTING_LIMIT (1000) would let
 * a 7 MiB body drive our recursive walks (validation, defaulting, copies)
 * a thousand frames deep for nothing.
 */
#define REVIEW_MAX_DEPTH 64

/* The API server's warning limits (apiserver pkg/endpoints/filters/warning.go). */
#define WARN_TOTAL_RUNES 4096
#define WARN_ITEM_RUNES  256

#define V1      "admission.k8s.io/v1"
#define V1BETA1 "admission.k8s.io/v1beta1"

/* The decoded request. Pointers into 'root' unless noted. */
struct review {
    cJSON *root; /* owned */
    const char *api_version;
    const char *uid;
    const char *operation;
    const char *sub_resource; /* "" for the main resource */
    const char *namespace_;   /* "" when cluster-scoped */
    const char *name;         /* request.name, else the object's metadata.name, else "" */
    int dry_run;              /* request.dryRun: logged; nothing here has side effects */
    const cJSON *object;      /* NULL when absent or null */
    const cJSON *old;         /* NULL when absent or null */
    /* The group, version and kind the object is judged as: request.kind,
       else the object's own apiVersion and kind. */
    const char *group, *version, *kind; /* never NULL; "" when unknown */
    char gbuf[256], vbuf[64];           /* for the fallback */
};

struct warnings {
    char **item; /* owned, sanitized, distinct */
    size_t len;
};

/* What the response says. */
struct verdict {
    int allowed;
    cJSON *status; /* owned: the denial's metav1.Status, or NULL */
    char *patch;   /* owned: base64 of the JSON Patch, or NULL */
    struct warnings warn;
};

/* ---- small helpers ---- */

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *json_type(const cJSON *v)
{
    if (!v)
        return "missing";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    return cJSON_IsArray(v) ? "an array" : "an object";
}

/* Write the reason a body is refused; returns -1. */
__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_op(const struct review *rv, const char *op)
{
    return rv->operation && strcmp(rv->operation, op) == 0;
}

/* Standard base64 (RFC 4648 §4) with padding, as Go's encoding/json
   marshals the []byte of response.patch. */
static char *base64(const unsigned char *in, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc(4 * ((n + 2) / 3) + 1), *p = out;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];

        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];
        *p++ = tab[v >> 6 & 63];
        *p++ = tab[v & 63];
    }
    if (i < n) {
        unsigned long v = (unsigned long)in[i] << 16;

        if (i + 1 < n)
            v |= (unsigned long)in[i + 1] << 8;
        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];
        if (i + 1 < n)
            *p++ = tab[v >> 6 & 63];
        else
            *p++ = '=';
        *p++ = '=';
    }
    *p = '\0';
    return out;
}

/* ---- warnings within the API server's limits ---- */

/* One UTF-8 rune of the NUL-terminated s: its length (1..4), and *r, or
   -1 for an invalid byte (which then has length 1), as Go decodes. */
static size_t rune_at(const unsigned char *s, long *r)
{
    size_t n, i;
    long v, min;

    *r = -1;
    if (s[0] < 0x80) {
        *r = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0)
        n = 2, v = s[0] & 0x1F, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3, v = s[0] & 0x0F, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        n = 4, v = s[0] & 0x07, min = 0x10000;
    else
        return 1;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 1;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 1;
    *r = v;
    return n;
}

/*
 * The API server drops a warning that is not valid UTF-8 or holds a
 * control character (Go's unicode.IsControl: C0, DEL, C1), silently
 * (apimachinery util/net NewWarningHeader). So: white-space controls
 * become a space, other controls and invalid bytes U+FFFD.
 */
static char *sanitize(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    struct sbuf sb = {0};

    while (*p) {
        long r;
        size_t n = rune_at(p, &r);

        if (r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r')
            sb_putc(&sb, ' ');
        else if (r < 0 || r < 0x20 || (r >= 0x7F && r <= 0x9F))
            sb_puts(&sb, "\xEF\xBF\xBD");
        else
            sb_add(&sb, (const char *)p, n);
        p += n;
    }
    return sb_detach(&sb);
}

/* Add a warning, sanitized; empty and repeated texts are dropped as the
   API server drops them. */
static void warn_add(struct warnings *w, const char *text)
{
    char *s = sanitize(text);
    size_t i;

    for (i = 0; i < w->len && s[0]; i++)
        if (!strcmp(w->item[i], s))
            break;
    if (!s[0] || i < w->len) {
        free(s);
        return;
    }
    w->item = xrealloc(w->item, (w->len + 1) * sizeof(*w->item));
    w->item[w->len++] = s;
}

static void warn_release(struct warnings *w)
{
    size_t i;

    for (i = 0; i < w->len; i++)
        free(w->item[i]);
    free(w->item);
}

/* The first WARN_ITEM_RUNES runes of s, the last of them an ellipsis when
   cut, so the API server never cuts it again and the reader sees the cut. */
static char *truncated(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t runes = 0;
    long r;

    if (utf8_len(s) <= WARN_ITEM_RUNES)
        return xstrdup(s);
    while (*p && runes < WARN_ITEM_RUNES - 1) {
        p += rune_at(p, &r);
        runes++;
    }
    return xasprintf("%.*s\xE2\x80\xA6", (int)(p - (const unsigned char *)s), s);
}

/*
 * response.warnings as the API server will pass them all on (warning.go):
 * once the total passes 4096 runes it cuts every warning to 256 runes, and
 * then drops any warning that arrives after 4096 runes were written. We cut
 * first, and where the rest would be dropped we end with one warning that
 * counts them, so nothing disappears without a trace. (Warnings the API
 * server or other webhooks add to the same request share its budget; we
 * cannot see those.)
 */
static cJSON *warn_finish(const struct warnings *w, size_t *count)
{
    cJSON *a = cJSON_CreateArray();
    size_t i, total = 0, written = 0;
    int cut;

    for (i = 0; i < w->len; i++)
        total += utf8_len(w->item[i]);
    cut = total > WARN_TOTAL_RUNES;
    for (i = 0; i < w->len; i++) {
        char *t = cut ? truncated(w->item[i]) : xstrdup(w->item[i]);
        size_t runes = utf8_len(t);

        if (cut && i + 1 < w->len && written + runes >= WARN_TOTAL_RUNES) {
            char *more = xasprintf("gatecheck: %zu more warnings not shown (the API server "
                                   "passes on about %d characters of warnings)",
                                   w->len - i, WARN_TOTAL_RUNES);

            cJSON_AddItemToArray(a, cJSON_CreateString(more));
            free(more);
            free(t);
            break;
        }
        written += runes;
        cJSON_AddItemToArray(a, cJSON_CreateString(t));
        free(t);
    }
    *count = (size_t)cJSON_GetArraySize(a);
    return a;
}

/* ---- decoding ---- */

/* How deep [ and { nest in body, outside strings; stops counting past the limit. */
static size_t json_depth(const char *s, size_t len)
{
    size_t i, depth = 0, max = 0;
    int in_str = 0;

    for (i = 0; i < len && max <= REVIEW_MAX_DEPTH; i++) {
        if (in_str) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_str = 0;
        } else if (s[i] == '"') {
            in_str = 1;
        } else if (s[i] == '{' || s[i] == '[') {
            if (++depth > max)
                max = depth;
        } else if ((s[i] == '}' || s[i] == ']') && depth) {
            depth--;
        }
    }
    return max;
}

static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parse body into rv->root; on failure write the reason to err. */
static int parse_body(const char *body, size_t len, struct review *rv, char *err, size_t errlen)
{
    const char *end = NULL;
    size_t at;

    while (body && len && is_json_space(body[len - 1]))
        len--;
    if (!body || len == 0)
        return bad(err, errlen, "empty request body: expected an AdmissionReview");
    if (json_depth(body, len) > REVIEW_MAX_DEPTH)
        return bad(err, errlen, "request body nested deeper than %d levels", REVIEW_MAX_DEPTH);
    rv->root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    at = end && end >= body ? (size_t)(end - body) : 0;
    if (!rv->root)
        return bad(err, errlen, "malformed JSON at byte %zu of %zu", at, len);
    while (at < len && is_json_space(body[at]))
        at++;
    if (at < len)
        return bad(err, errlen, "malformed JSON: data after the top-level value at byte %zu", at);
    return 0;
}

/* apiVersion, kind and request of the envelope. */
static int decode_envelope(struct review *rv, char *err, size_t errlen)
{
    const cJSON *av = get(rv->root, "apiVersion"), *k = get(rv->root, "kind");
    const cJSON *req = get(rv->root, "request");

    if (!cJSON_IsObject(rv->root))
        return bad(err, errlen, "request body is %s, not an AdmissionReview object",
                   json_type(rv->root));
    if (!cJSON_IsString(av))
        return bad(err, errlen, "apiVersion is %s, expected %s or %s", json_type(av), V1, V1BETA1);
    if (strcmp(av->valuestring, V1) != 0 && strcmp(av->valuestring, V1BETA1) != 0)
        return bad(err, errlen, "unsupported apiVersion \"%.64s\": expected %s or %s",
                   av->valuestring, V1, V1BETA1);
    rv->api_version = av->valuestring;
    if (cJSON_IsString(k) && strcmp(k->valuestring, "AdmissionReview") != 0)
        return bad(err, errlen, "kind is \"%.64s\", expected AdmissionReview", k->valuestring);
    if (!cJSON_IsString(k))
        return bad(err, errlen, "kind is %s, expected AdmissionReview", json_type(k));
    if (!req || cJSON_IsNull(req))
        return bad(err, errlen, "AdmissionReview has no request%s",
                   get(rv->root, "response") ? " (it holds a response)" : "");
    if (!cJSON_IsObject(req))
        return bad(err, errlen, "request is %s, expected an object", json_type(req));
    return 0;
}

/* request.<key>: a string, or "" when absent or null; -1 for another type. */
static int opt_string(const cJSON *req, const char *key, const char **out, char *err, size_t errlen)
{
    const cJSON *v = get(req, key);

    *out = "";
    if (cJSON_IsString(v))
        *out = v->valuestring;
    else if (v && !cJSON_IsNull(v))
        return bad(err, errlen, "request.%s is %s, expected a string", key, json_type(v));
    return 0;
}

/*
 * request.kind: the GVK the API server sent the object as (after any
 * conversion for matchPolicy Equivalent). When absent, the object's own
 * apiVersion and kind.
 */
static int decode_gvk(struct review *rv, const cJSON *req, char *err, size_t errlen)
{
    const cJSON *k = get(req, "kind");
    const cJSON *g = get(k, "group"), *v = get(k, "version"), *kk = get(k, "kind");

    rv->group = rv->version = rv->kind = "";
    if (!k || cJSON_IsNull(k)) {
        const char *kind = NULL;

        validate_gvk(rv->object, rv->gbuf, sizeof(rv->gbuf), rv->vbuf, sizeof(rv->vbuf), &kind);
        rv->group = rv->gbuf;
        rv->version = rv->vbuf;
        rv->kind = kind ? kind : "";
        return 0;
    }
    if (!cJSON_IsObject(k) || !cJSON_IsString(v) || !cJSON_IsString(kk) || !v->valuestring[0] ||
        !kk->valuestring[0] || (g && !cJSON_IsString(g) && !cJSON_IsNull(g)))
        return bad(err, errlen,
                   "request.kind must be an object {group, version, kind} of strings, "
                   "version and kind not empty");
    rv->group = g && cJSON_IsString(g) ? g->valuestring : "";
    rv->version = v->valuestring;
    rv->kind = kk->valuestring;
    return 0;
}

/* request.object and request.oldObject: objects where the operation needs them. */
static int decode_objects(struct review *rv, const cJSON *req, char *err, size_t errlen)
{
    const cJSON *o = get(req, "object"), *old = get(req, "oldObject");
    int needs = (is_op(rv, "CREATE") || is_op(rv, "UPDATE")) && !rv->sub_resource[0];

    if (o && !cJSON_IsNull(o) && !cJSON_IsObject(o) && needs)
        return bad(err, errlen, "request.object is %s, expected an object for %s", json_type(o),
                   rv->operation);
    if (needs && !cJSON_IsObject(o))
        return bad(err, errlen, "request.object is missing for %s", rv->operation);
    if (old && !cJSON_IsNull(old) && !cJSON_IsObject(old) && needs)
        return bad(err, errlen, "request.oldObject is %s, expected an object or null",
                   json_type(old));
    rv->object = cJSON_IsObject(o) ? o : NULL;
    rv->old = cJSON_IsObject(old) ? old : NULL;
    return 0;
}

static int decode_request(struct review *rv, char *err, size_t errlen)
{
    const cJSON *req = get(rv->root, "request");
    const cJSON *uid = get(req, "uid"), *op = get(req, "operation");
    const cJSON *meta_name;

    if (!cJSON_IsString(uid) || !uid->valuestring[0])
        return bad(err, errlen, "request.uid is %s, expected a non-empty string",
                   cJSON_IsString(uid) ? "empty" : json_type(uid));
    rv->uid = uid->valuestring;
    if (!cJSON_IsString(op) || !op->valuestring[0])
        return bad(err, errlen,
                   "request.operation is %s, expected CREATE, UPDATE, DELETE or CONNECT",
                   cJSON_IsString(op) ? "empty" : json_type(op));
    rv->operation = op->valuestring;
    rv->dry_run = cJSON_IsTrue(get(req, "dryRun"));
    if (opt_string(req, "subResource", &rv->sub_resource, err, errlen) ||
        opt_string(req, "namespace", &rv->namespace_, err, errlen) ||
        opt_string(req, "name", &rv->name, err, errlen) || decode_objects(rv, req, err, errlen) ||
        decode_gvk(rv, req, err, errlen))
        return -1;
    meta_name = get(get(rv->object, "metadata"), "name");
    if (!rv->name[0] && cJSON_IsString(meta_name))
        rv->name = meta_name->valuestring; /* empty with generateName on CREATE */
    return 0;
}

/* ---- judging ---- */

static void no_rules(const struct review *rv, struct verdict *vd)
{
    char *w = xasprintf("gatecheck: no rules for %s%s%s %s; allowed", rv->group,
                        rv->group[0] ? "/" : "", rv->version[0] ? rv->version : "(no version)",
                        rv->kind[0] ? rv->kind : "(no kind)");

    warn_add(&vd->warn, w);
    free(w);
}

/*
 * obj as request.kind names it: obj itself when its apiVersion and kind
 * agree, else a copy (*owned) with them set. The API server sends the
 * object in request.kind's version, so they agree unless the body was
 * written by hand.
 */
static cJSON *as_gvk(const struct review *rv, cJSON *obj, cJSON **owned)
{
    char *av = rv->group[0] ? xasprintf("%s/%s", rv->group, rv->version) : xstrdup(rv->version);
    const cJSON *a = get(obj, "apiVersion"), *k = get(obj, "kind");

    *owned = NULL;
    if (!rv->kind[0] || (cJSON_IsString(a) && !strcmp(a->valuestring, av) && cJSON_IsString(k) &&
                         !strcmp(k->valuestring, rv->kind))) {
        free(av);
        return obj;
    }
    *owned = cJSON_Duplicate(obj, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(*owned, "apiVersion");
    cJSON_DeleteItemFromObjectCaseSensitive(*owned, "kind");
    cJSON_AddStringToObject(*owned, "apiVersion", av);
    cJSON_AddStringToObject(*owned, "kind", rv->kind);
    free(av);
    return *owned;
}

/* The cause message: the error without its field path (field.Error.ErrorBody). */
static char *error_body(const struct verr *e)
{
    char *m = verr_format(e);
    size_t fl = strlen(e->field);

    if (e->type != VERR_NOTE && e->type != VERR_UNKNOWN_FIELD && !strncmp(m, e->field, fl) &&
        !strncmp(m + fl, ": ", 2))
        memmove(m, m + fl + 2, strlen(m + fl + 2) + 1);
    return m;
}

/* A metav1.Status up to its reason; details and code follow, in Go's field order. */
static cJSON *status_new(const char *message, const char *reason)
{
    cJSON *st = cJSON_CreateObject();

    cJSON_AddItemToObject(st, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(st, "status", "Failure");
    cJSON_AddStringToObject(st, "message", message);
    cJSON_AddStringToObject(st, "reason", reason);
    return st;
}

static cJSON *causes_of(const struct verr_list *errs)
{
    cJSON *causes = cJSON_CreateArray();
    size_t i;

    for (i = 0; i < errs->len; i++) {
        const struct verr *e = &errs->item[i];
        cJSON *c;
        char *body;

        if (e->level != VERR_ERROR)
            continue;
        c = cJSON_CreateObject();
        body = error_body(e);
        if (verr_type_reason(e->type)[0])
            cJSON_AddStringToObject(c, "reason", verr_type_reason(e->type));
        if (body[0])
            cJSON_AddStringToObject(c, "message", body);
        if (e->field[0])
            cJSON_AddStringToObject(c, "field", e->field);
        cJSON_AddItemToArray(causes, c);
        free(body);
    }
    return causes;
}

/* The Status of apierrors.NewInvalid(GroupKind, name, errs): 422 Invalid. */
static cJSON *invalid_status(const struct review *rv, const struct verr_list *errs)
{
    char *agg = verr_join(errs, VERR_ERROR), *qname = verr_value_str(rv->name);
    char *msg = xasprintf("%s%s%s %s is invalid: %s", rv->kind, rv->group[0] ? "." : "", rv->group,
                          qname, agg ? agg : "");
    cJSON *st = status_new(msg, "Invalid"), *det = cJSON_CreateObject();

    if (rv->name[0])
        cJSON_AddStringToObject(det, "name", rv->name);
    if (rv->group[0])
        cJSON_AddStringToObject(det, "group", rv->group);
    cJSON_AddStringToObject(det, "kind", rv->kind);
    cJSON_AddItemToObject(det, "causes", causes_of(errs));
    cJSON_AddItemToObject(st, "details", det);
    cJSON_AddNumberToObject(st, "code", 422);
    free(msg);
    free(qname);
    free(agg);
    return st;
}

/* A body the API server could not decode (validate_object's error-level
   note): what it answers itself, apierrors.NewBadRequest(text). */
static const struct verr *decode_error(const struct verr_list *errs)
{
    size_t i;

    for (i = 0; i < errs->len; i++)
        if (errs->item[i].type == VERR_NOTE && errs->item[i].level == VERR_ERROR)
            return &errs->item[i];
    return NULL;
}

static void settle(const struct review *rv, const struct verr_list *errs, struct verdict *vd)
{
    const struct verr *bad = decode_error(errs);
    size_t i;

    if (bad) {
        vd->allowed = 0;
        vd->status = status_new(bad->detail, "BadRequest");
        cJSON_AddNumberToObject(vd->status, "code", 400);
    } else if (verr_count(errs, VERR_ERROR)) {
        vd->allowed = 0;
        vd->status = invalid_status(rv, errs);
    }
    for (i = 0; i < errs->len; i++) { /* the API server passes them on for denials too */
        if (errs->item[i].level == VERR_WARNING) {
            char *m = verr_format(&errs->item[i]);

            warn_add(&vd->warn, m);
            free(m);
        }
    }
}

static void judge_validate(const struct review_config *cfg, const struct review *rv,
                           struct verdict *vd)
{
    struct validate_opts opts = cfg->opts;
    struct verr_list errs = VERR_LIST_INIT;
    cJSON *obj_copy = NULL, *old_copy = NULL;
    int update = is_op(rv, "UPDATE");
    /* the objects belong to the parsed review (rv->root, ours, freed after
       the answer): validation may decode them in place instead of copying.
       Only the object's metadata.name (rv->name) is read afterwards, and
       decoding keeps it. */
    cJSON *obj = as_gvk(rv, (cJSON *)rv->object, &obj_copy);
    cJSON *old = update && rv->old ? as_gvk(rv, (cJSON *)rv->old, &old_copy) : NULL;

    /* The API server pruned and defaulted the object before calling us: an
       unknown field here can only come from a hand-written review, so it
       warns rather than fails. On UPDATE without oldObject (the API server
       always sends one) nothing ratchets. */
    opts.unknown_strict = 0;
    if (validate_object_inplace(&opts, obj, old, update ? VALIDATE_UPDATE : VALIDATE_CREATE,
                                &errs) == VALIDATE_OK) {
        /* what no CRD rule can see, once the object itself is valid */
        if (cfg->cross && !verr_count(&errs, VERR_ERROR))
            cfg->cross(cfg->cross_arg, obj, old, update ? VALIDATE_UPDATE : VALIDATE_CREATE, &errs);
        settle(rv, &errs, vd);
    } else
        no_rules(rv, vd); /* other groups, unknown kinds or versions: allowed, said so */
    verr_list_release(&errs);
    cJSON_Delete(obj_copy);
    cJSON_Delete(old_copy);
}

/* /mutate: the CRD defaults as a JSON Patch. Never denies. */
static void judge_mutate(const struct review_config *cfg, const struct review *rv,
                         struct verdict *vd)
{
    unsigned channel = cfg->opts.channel ? cfg->opts.channel : SCH_STANDARD;
    const struct schema_set *set = NULL;
    const struct schema_node *root = NULL;
    cJSON *patch;

    if (!strcmp(rv->group, GROUP) && rv->kind[0] && rv->version[0])
        root = schema_lookup_bundle(cfg->opts.bundle, rv->kind, rv->version, channel, &set);
    if (!root || !set || !set->served) {
        no_rules(rv, vd); /* the same text as /validate's, so the API server shows it once */
        return;
    }
    patch = defaults_patch(root, rv->object);
    if (cJSON_GetArraySize(patch) > 0) {
        char *json = cJSON_PrintUnformatted(patch);

        vd->patch = base64((const unsigned char *)json, strlen(json));
        cJSON_free(json);
    }
    cJSON_Delete(patch);
}

static void judge(const struct review_config *cfg, enum review_endpoint ep, const struct review *rv,
                  struct verdict *vd)
{
    vd->allowed = 1;
    if (is_op(rv, "DELETE") || is_op(rv, "CONNECT"))
        return; /* nothing to judge, nothing to default (§10: never patch on DELETE) */
    if (!is_op(rv, "CREATE") && !is_op(rv, "UPDATE")) {
        char *w = xasprintf("gatecheck: unknown operation \"%.32s\"; allowed", rv->operation);

        warn_add(&vd->warn, w);
        free(w);
        return;
    }
    /* The status subresource is judged by the API server's own schema: the
       CRDs give status no CEL rules of interest, and we do not validate
       status yet. Gateway API CRDs have no other subresource. */
    if (rv->sub_resource[0]) {
        if (strcmp(rv->sub_resource, "status") != 0)
            no_rules(rv, vd);
        return;
    }
    if (ep == REVIEW_MUTATE)
        judge_mutate(cfg, rv, vd);
    else
        judge_validate(cfg, rv, vd);
}

/* ---- encoding ---- */

static cJSON *response_of(const struct review *rv, struct verdict *vd, size_t *nwarn)
{
    cJSON *r = cJSON_CreateObject();

    /* admission/v1 AdmissionResponse field order */
    cJSON_AddStringToObject(r, "uid", rv->uid);
    cJSON_AddBoolToObject(r, "allowed", vd->allowed);
    if (vd->status) {
        cJSON_AddItemToObject(r, "status", vd->status);
        vd->status = NULL;
    }
    if (vd->patch) {
        cJSON_AddStringToObject(r, "patch", vd->patch);
        cJSON_AddStringToObject(r, "patchType", "JSONPatch");
    }
    *nwarn = 0;
    if (vd->warn.len)
        cJSON_AddItemToObject(r, "warnings", warn_finish(&vd->warn, nwarn));
    return r;
}

static char *print_json(cJSON *doc)
{
    char *s = cJSON_PrintUnformatted(doc), *copy;

    cJSON_Delete(doc);
    if (!s)
        return NULL;
    copy = xstrdup(s); /* the caller frees with free(), whatever cJSON's hooks */
    cJSON_free(s);
    return copy;
}

static char *error_json(const char *msg)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "error", msg);
    return print_json(o);
}

static void fill_outcome(struct review_outcome *oc, const struct review *rv,
                         const struct verdict *vd)
{
    const cJSON *code = get(vd->status, "code");

    snprintf(oc->uid, sizeof(oc->uid), "%s", rv->uid ? rv->uid : "");
    snprintf(oc->kind, sizeof(oc->kind), "%s", rv->kind ? rv->kind : "");
    snprintf(oc->namespace_, sizeof(oc->namespace_), "%s", rv->namespace_ ? rv->namespace_ : "");
    snprintf(oc->name, sizeof(oc->name), "%s", rv->name ? rv->name : "");
    snprintf(oc->operation, sizeof(oc->operation), "%s", rv->operation ? rv->operation : "");
    oc->allowed = vd->allowed;
    oc->code = cJSON_IsNumber(code) ? code->valueint : 0;
    oc->patched = vd->patch != NULL;
    oc->dry_run = rv->dry_run;
}

static int decode(const char *body, size_t len, struct review *rv, char *err, size_t errlen)
{
    if (parse_body(body, len, rv, err, errlen) || decode_envelope(rv, err, errlen) ||
        decode_request(rv, err, errlen))
        return -1;
    return 0;
}

int review_handle(const struct review_config *cfg, enum review_endpoint ep, const char *body,
                  size_t len, char **out, struct review_outcome *outcome)
{
    static const struct review_config defcfg;
    struct review rv;
    struct verdict vd;
    struct review_outcome oc;
    char err[512];
    cJSON *doc;
    int http = 200;

    memset(&rv, 0, sizeof(rv));
    memset(&vd, 0, sizeof(vd));
    memset(&oc, 0, sizeof(oc));
    if (decode(body, len, &rv, err, sizeof(err)) != 0) {
        *out = error_json(err);
        fill_outcome(&oc, &rv, &vd);
        oc.code = http = 400;
    } else {
        judge(cfg ? cfg : &defcfg, ep, &rv, &vd);
        fill_outcome(&oc, &rv, &vd);
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "apiVersion", rv.api_version);
        cJSON_AddStringToObject(doc, "kind", "AdmissionReview");
        cJSON_AddItemToObject(doc, "response", response_of(&rv, &vd, &oc.warnings));
        *out = print_json(doc);
    }
    if (!*out) { /* cJSON could not allocate (only without util_init_cjson's hooks) */
        *out = xstrdup("{\"error\":\"out of memory\"}");
        http = 500;
    }
    if (outcome)
        *outcome = oc;
    cJSON_Delete(vd.status);
    free(vd.patch);
    warn_release(&vd.warn);
    cJSON_Delete(rv.root);
    return http;
}

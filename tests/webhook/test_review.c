/*
 * AdmissionReview handling (spec ecosystem.md §1): every file under
 * tests/data/reviews/ is a list of cases, each a request body and what the
 * answer must say (format in tests/data/reviews/README.md). Besides each case's own
 * expectations, every answer is held to what the API server verifies and
 * does with it: apiVersion, kind and uid echoed, patch only from /mutate and
 * with patchType, a patch that is valid base64 and reproduces
 * defaults_apply(), warnings the API server passes on unchanged (its
 * warning recorder is simulated here). A few cases that YAML cannot carry
 * (NUL bytes, invalid UTF-8) are written in C below.
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jsonpatch.h"
#include "../tap.h"
#include "../testdata.h"
#include "defaults.h"
#include "review.h"
#include "schema.h"
#include "validate.h"

#define GROUP "gateway.networking.k8s.io"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str_of(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = get(o, k);

    return cJSON_IsString(v) ? v->valuestring : def;
}

static void diag_json(const char *what, const cJSON *v)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;

    printf("#   %s: %s\n", what, s ? s : "(none)");
    cJSON_free(s);
}

/* ---- the case's input ---- */

static struct review_config config_of(const cJSON *c)
{
    const cJSON *cfg = get(c, "config");
    struct review_config rc;

    memset(&rc, 0, sizeof(rc));
    rc.opts.channel = !strcmp(str_of(cfg, "channel", "standard"), "experimental") ? SCH_EXPERIMENTAL
                                                                                  : SCH_STANDARD;
    rc.opts.strict = cJSON_IsTrue(get(cfg, "strict"));
    rc.opts.unknown_strict = 1; /* review_handle must turn it off itself */
    rc.opts.bundle = str_of(cfg, "bundle", NULL);
    rc.webhook_name = "gatecheck.test";
    return rc;
}

/* {"a":{"a":...1...}} or [[...1...]] n levels deep inside a review. */
static char *deep_body(int n, int arrays)
{
    struct sbuf sb = {0};
    int i;

    sb_puts(&sb, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                 "\"request\":{\"uid\":\"deep\",\"operation\":\"CREATE\",\"object\":");
    for (i = 0; i < n; i++)
        sb_puts(&sb, arrays ? "[" : "{\"a\":");
    sb_puts(&sb, "1");
    for (i = 0; i < n; i++)
        sb_putc(&sb, arrays ? ']' : '}');
    sb_puts(&sb, "}}");
    return sb_detach(&sb);
}

/* Add 'count' distinct unknown properties of 'length' characters to spec. */
static void add_unknown_keys(cJSON *review, const cJSON *gen)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(review, "request"),
                                         "object"),
        "spec");
    int count = cJSON_GetObjectItemCaseSensitive(gen, "count")->valueint;
    int length = cJSON_GetObjectItemCaseSensitive(gen, "length")->valueint;
    int i;

    for (i = 0; i < count && spec; i++) {
        char *key = xmalloc((size_t)length + 1);

        memset(key, 'x', (size_t)length);
        snprintf(key, (size_t)length + 1, "u%04d", i);
        key[5] = 'x';
        key[length] = '\0';
        cJSON_AddNumberToObject(spec, key, i);
        free(key);
    }
}

/* The review the case sends: 'review' verbatim, or 'request' wrapped in an
   envelope of 'review_version' (default v1). NULL for raw bodies. */
static cJSON *review_of(const cJSON *c)
{
    const cJSON *full = get(c, "review"), *req = get(c, "request");
    cJSON *r;

    if (full)
        return cJSON_Duplicate(full, 1);
    if (!req)
        return NULL;
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "apiVersion", str_of(c, "review_version", "admission.k8s.io/v1"));
    cJSON_AddStringToObject(r, "kind", "AdmissionReview");
    cJSON_AddItemToObject(r, "request", cJSON_Duplicate(req, 1));
    if (get(c, "unknown_keys"))
        add_unknown_keys(r, get(c, "unknown_keys"));
    return r;
}

/* The body, in a buffer of exactly *len bytes: no NUL after it, so a read
   past the end trips ASan. */
static char *body_of(const cJSON *c, const cJSON *review, size_t *len)
{
    const cJSON *raw = get(c, "raw_body"), *deep = get(c, "deep");
    char *text, *exact;

    if (cJSON_IsString(raw))
        text = xstrdup(raw->valuestring);
    else if (cJSON_IsNumber(deep))
        text = deep_body(deep->valueint, cJSON_IsTrue(get(c, "deep_arrays")));
    else {
        char *p = cJSON_PrintUnformatted(review);

        text = xstrdup(p ? p : "");
        cJSON_free(p);
    }
    *len = strlen(text);
    exact = xmalloc(*len ? *len : 1);
    memcpy(exact, text, *len);
    free(text);
    return exact;
}

/* ---- what the API server does with the answer ---- */

/* Go's unicode.IsControl, or a byte that is not valid UTF-8. */
static int bad_warning_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            return 1;
        if (*p >= 0x80) {
            int n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
            int i;

            if (!n)
                return 1;
            for (i = 1; i < n; i++)
                if ((p[i] & 0xC0) != 0x80)
                    return 1;
            p += n;
        } else {
            p++;
        }
    }
    return 0;
}

/*
 * apiserver pkg/endpoints/filters/warning.go's recorder, replayed over our
 * warnings: returns 1 when it would pass every one on unchanged (none
 * dropped as invalid, deduplicated away, truncated, or over the budget).
 */
static int recorder_keeps_all(const cJSON *warnings)
{
    size_t written = 0;
    int truncating = 0, all = 1;
    const cJSON *w, *x;

    cJSON_ArrayForEach(w, warnings) {
        size_t runes;

        if (!cJSON_IsString(w) || !w->valuestring[0] || bad_warning_text(w->valuestring))
            return 0;
        runes = utf8_len(w->valuestring);
        if (written >= 4096 && truncating)
            return 0; /* dropped */
        for (x = warnings->child; x != w; x = x->next)
            if (!strcmp(x->valuestring, w->valuestring))
                return 0; /* deduplicated */
        if (truncating && runes > 256)
            return 0;
        if (written + runes <= 4096 || truncating) {
            written += runes;
        } else {
            truncating = 1;
            written = 0;
            for (x = warnings->child; x; x = x->next) {
                all &= utf8_len(x->valuestring) <= 256;
                written += utf8_len(x->valuestring) > 256 ? 256 : utf8_len(x->valuestring);
                if (x == w)
                    break;
            }
        }
    }
    return all;
}

/* Strict base64 decoding through OpenSSL; also re-encodes and compares, so
   padding and alphabet are exactly the standard's. NULL when malformed. */
static char *b64_decode(const char *in)
{
    size_t len = strlen(in), pad = 0;
    unsigned char *out, *again;
    int n;

    if (len % 4 != 0)
        return NULL;
    pad = len && in[len - 1] == '=' ? (len > 1 && in[len - 2] == '=' ? 2 : 1) : 0;
    out = xmalloc(len / 4 * 3 + 1);
    n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0) {
        free(out);
        return NULL;
    }
    n -= (int)pad;
    out[n] = '\0';
    again = xmalloc(len + 1);
    EVP_EncodeBlock(again, out, n);
    if (strcmp((char *)again, in) != 0) {
        free(out);
        out = NULL;
    }
    free(again);
    return (char *)out;
}

static const struct schema_node *root_for(const struct review_config *rc, const cJSON *req)
{
    const cJSON *k = get(req, "kind");

    return schema_lookup_bundle(rc->opts.bundle, str_of(k, "kind", ""), str_of(k, "version", ""),
                                rc->opts.channel, NULL);
}

/*
 * The patch applied to request.object gives what defaults_apply() gives,
 * and asking again with the patched object gives no patch (the API server
 * reinvokes mutating webhooks).
 */
static int patch_round_trip(const struct review_config *rc, const cJSON *review, const cJSON *ops)
{
    const cJSON *req = get(review, "request");
    const struct schema_node *root = root_for(rc, req);
    cJSON *applied = cJSON_Duplicate(get(req, "object"), 1);
    cJSON *defaulted = cJSON_Duplicate(get(req, "object"), 1), *again;
    char *body, *out = NULL;
    int good = root && jsonpatch_apply_adds(applied, ops) == 0, http;

    if (root)
        defaults_apply(root, defaulted);
    jsonpatch_prune_nulls(applied);
    if (good && !cJSON_Compare(applied, defaulted, 1)) {
        printf("#   the patch does not reproduce defaults_apply()\n");
        good = 0;
    }
    again = cJSON_Duplicate(review, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(again, "request"),
                                           "object", applied);
    body = cJSON_PrintUnformatted(again);
    http = review_handle(rc, REVIEW_MUTATE, body, strlen(body), &out, NULL);
    if (good && (http != 200 || strstr(out, "\"patch\""))) {
        printf("#   not idempotent: %s\n", out);
        good = 0;
    }
    free(out);
    cJSON_free(body);
    cJSON_Delete(again);
    cJSON_Delete(defaulted);
    return good;
}

/* ---- checks ---- */

struct ctx {
    const cJSON *c, *expect, *review;
    const struct review_config *rc;
    enum review_endpoint ep;
    const char *name;
    int good;
};

__attribute__((format(printf, 2, 3))) static void fail(struct ctx *x, const char *fmt, ...)
{
    va_list ap;

    printf("#   ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    x->good = 0;
}

static void check_str(struct ctx *x, const char *what, const char *got, const char *want)
{
    if (want && (!got || strcmp(got, want) != 0)) {
        printf("#   %s:\n", what);
        fail(x, "got:  %s\n#   want: %s", got ? got : "(null)", want);
    }
}

/* What the API server verifies of every answer, and what we promise. */
static void check_envelope(struct ctx *x, const cJSON *doc, const cJSON *resp)
{
    const cJSON *req = get(x->review, "request");
    const cJSON *patch = get(resp, "patch"), *pt = get(resp, "patchType");
    const char *want_av =
        str_of(x->expect, "api_version", str_of(x->review, "apiVersion", "admission.k8s.io/v1"));

    check_str(x, "apiVersion", str_of(doc, "apiVersion", NULL), want_av);
    check_str(x, "kind", str_of(doc, "kind", NULL), "AdmissionReview");
    if (req)
        check_str(x, "response.uid", str_of(resp, "uid", NULL), str_of(req, "uid", NULL));
    if (!cJSON_IsBool(get(resp, "allowed")))
        fail(x, "response.allowed is not a boolean");
    if ((patch != NULL) != (pt != NULL) ||
        (pt && strcmp(str_of(resp, "patchType", ""), "JSONPatch") != 0))
        fail(x, "patch and patchType must come together, patchType JSONPatch");
    if (patch && x->ep == REVIEW_VALIDATE)
        fail(x, "a validating webhook may not return a patch");
    if (cJSON_IsFalse(get(resp, "allowed"))) {
        const cJSON *st = get(resp, "status");

        if (!cJSON_IsNumber(get(st, "code")) || get(st, "code")->valueint < 400)
            fail(x, "a denial needs status.code >= 400");
        check_str(x, "status.status", str_of(st, "status", NULL), "Failure");
    }
    if (get(resp, "warnings") && !recorder_keeps_all(get(resp, "warnings"))) {
        diag_json("warnings", get(resp, "warnings"));
        fail(x, "the API server would drop or alter some warning");
    }
}

static void check_status(struct ctx *x, const cJSON *resp)
{
    const cJSON *e = x->expect, *st = get(resp, "status"), *det = get(st, "details");
    const cJSON *want, *w;

    if (get(e, "allowed") && cJSON_IsTrue(get(e, "allowed")) != cJSON_IsTrue(get(resp, "allowed")))
        fail(x, "allowed: got %s, want %s", cJSON_IsTrue(get(resp, "allowed")) ? "true" : "false",
             cJSON_IsTrue(get(e, "allowed")) ? "true" : "false");
    if (cJSON_IsNumber(get(e, "code")) &&
        (!cJSON_IsNumber(get(st, "code")) || get(st, "code")->valueint != get(e, "code")->valueint))
        fail(x, "status.code differs");
    check_str(x, "status.reason", str_of(st, "reason", NULL), str_of(e, "reason", NULL));
    check_str(x, "status.message", str_of(st, "message", NULL), str_of(e, "message", NULL));
    if (get(e, "message_contains") &&
        !strstr(str_of(st, "message", ""), str_of(e, "message_contains", "")))
        fail(x, "status.message lacks %s", str_of(e, "message_contains", ""));
    want = get(e, "causes");
    if (want && !cJSON_Compare(want, get(det, "causes"), 1)) {
        diag_json("got causes ", get(det, "causes"));
        diag_json("want causes", want);
        fail(x, "causes differ");
    }
    cJSON_ArrayForEach(w, get(e, "details")) { /* null: must be absent */
        const cJSON *g = get(det, w->string);

        if (cJSON_IsNull(w) ? g != NULL : !cJSON_Compare(w, g, 1))
            fail(x, "details.%s differs", w->string);
    }
}

static void check_warnings(struct ctx *x, const cJSON *resp)
{
    const cJSON *e = x->expect, *got = get(resp, "warnings"), *w, *g;

    if (get(e, "warnings") && (got ? !cJSON_Compare(get(e, "warnings"), got, 1)
                                   : cJSON_GetArraySize(get(e, "warnings")) != 0)) {
        diag_json("got warnings ", got);
        diag_json("want warnings", get(e, "warnings"));
        fail(x, "warnings differ");
    }
    cJSON_ArrayForEach(w, get(e, "warnings_contain")) {
        int found = 0;

        cJSON_ArrayForEach(g, got) {
            found |= strstr(g->valuestring, w->valuestring) != NULL;
        }
        if (!found) {
            diag_json("warnings", got);
            fail(x, "no warning contains %s", w->valuestring);
        }
    }
    if (cJSON_IsNumber(get(e, "warnings_count")) &&
        cJSON_GetArraySize(got) != get(e, "warnings_count")->valueint) {
        diag_json("warnings", got);
        fail(x, "warning count differs");
    }
    cJSON_ArrayForEach(g, got) {
        if (cJSON_IsNumber(get(e, "max_warning_runes")) &&
            utf8_len(g->valuestring) > (size_t)get(e, "max_warning_runes")->valueint)
            fail(x, "warning longer than allowed: %s", g->valuestring);
    }
}

/* Which residues of the decoded patch length mod 3 the cases reached: all
   three paddings of base64 ("", "=", "==") must be exercised. */
static unsigned b64_residues;

static void check_patch(struct ctx *x, const cJSON *resp)
{
    const cJSON *want = get(x->expect, "patch");
    const char *b64 = str_of(resp, "patch", NULL);
    char *json = b64 ? b64_decode(b64) : NULL;
    cJSON *ops = json ? cJSON_Parse(json) : NULL;

    if (b64 && !json)
        fail(x, "response.patch is not standard padded base64: %s", b64);
    else if (b64 && !cJSON_IsArray(ops))
        fail(x, "the patch is not a JSON array: %s", json);
    if (json)
        b64_residues |= 1u << (strlen(json) % 3);
    if (want && cJSON_GetArraySize(want) && !cJSON_Compare(want, ops, 1)) {
        diag_json("got patch ", ops);
        diag_json("want patch", want);
        fail(x, "patch differs");
    }
    if (want && !cJSON_GetArraySize(want) && b64)
        fail(x, "no patch expected (an empty patch must be left out): %s", json);
    if (cJSON_IsArray(ops) && !patch_round_trip(x->rc, x->review, ops))
        x->good = 0;
    cJSON_Delete(ops);
    free(json);
}

/* A numeric member of the outcome by name; -1 for an unknown name. */
static long outcome_int(const struct review_outcome *oc, const char *k)
{
    if (!strcmp(k, "allowed"))
        return oc->allowed;
    if (!strcmp(k, "code"))
        return oc->code;
    if (!strcmp(k, "patched"))
        return oc->patched;
    if (!strcmp(k, "warnings"))
        return (long)oc->warnings;
    if (!strcmp(k, "dry_run"))
        return oc->dry_run;
    return -1;
}

static void check_outcome(struct ctx *x, const struct review_outcome *oc, const cJSON *resp)
{
    const cJSON *want = get(x->expect, "outcome"), *w;

    if (resp && (oc->allowed != cJSON_IsTrue(get(resp, "allowed")) ||
                 oc->patched != (get(resp, "patch") != NULL) ||
                 oc->warnings != (size_t)cJSON_GetArraySize(get(resp, "warnings"))))
        fail(x, "outcome disagrees with the response");
    cJSON_ArrayForEach(w, want) {
        const char *k = w->string;
        int n = cJSON_IsNumber(w) ? w->valueint : cJSON_IsTrue(w);

        if (!strcmp(k, "uid"))
            check_str(x, "outcome.uid", oc->uid, w->valuestring);
        else if (!strcmp(k, "kind"))
            check_str(x, "outcome.kind", oc->kind, w->valuestring);
        else if (!strcmp(k, "namespace"))
            check_str(x, "outcome.namespace", oc->namespace_, w->valuestring);
        else if (!strcmp(k, "name"))
            check_str(x, "outcome.name", oc->name, w->valuestring);
        else if (!strcmp(k, "operation"))
            check_str(x, "outcome.operation", oc->operation, w->valuestring);
        else if (outcome_int(oc, k) != n)
            fail(x, "outcome.%s differs", k);
    }
}

static void check_400(struct ctx *x, const char *out)
{
    cJSON *doc = cJSON_Parse(out);
    const char *err = str_of(doc, "error", NULL);

    if (!err || cJSON_GetArraySize(doc) != 1)
        fail(x, "a 400 body must be {\"error\": ...}: %s", out);
    check_str(x, "error", err, str_of(x->expect, "error", NULL));
    if (get(x->expect, "error_contains") &&
        (!err || !strstr(err, str_of(x->expect, "error_contains", ""))))
        fail(x, "error lacks %s: %s", str_of(x->expect, "error_contains", ""),
             err ? err : "(null)");
    cJSON_Delete(doc);
}

static void run_case(const cJSON *c, const char *file, int line)
{
    struct review_config rc = config_of(c);
    struct review_outcome oc;
    cJSON *review = review_of(c), *doc = NULL;
    size_t len = 0;
    char *body = body_of(c, review, &len), *out = NULL;
    const cJSON *ew = get(get(c, "expect"), "status");
    struct ctx x = {c, get(c, "expect"), review, &rc, REVIEW_VALIDATE, str_of(c, "name", "?"), 1};
    int want = cJSON_IsNumber(ew) ? ew->valueint : 200, http;

    x.ep = !strcmp(str_of(c, "endpoint", "validate"), "mutate") ? REVIEW_MUTATE : REVIEW_VALIDATE;
    http = review_handle(&rc, x.ep, body, len, &out, &oc);
    if (http != want) {
        printf("#   HTTP %d, want %d: %s\n", http, want, out);
        x.good = 0;
    } else if (http == 400) {
        check_400(&x, out);
        check_outcome(&x, &oc, NULL);
    } else if (!(doc = cJSON_Parse(out))) {
        fail(&x, "the answer is not JSON: %s", out);
    } else {
        check_envelope(&x, doc, get(doc, "response"));
        check_status(&x, get(doc, "response"));
        check_warnings(&x, get(doc, "response"));
        check_patch(&x, get(doc, "response"));
        check_outcome(&x, &oc, get(doc, "response"));
    }
    if (getenv("TEST_REVIEW_SHOW")) /* TEST_REVIEW_SHOW=1: every answer, in full */
        printf("#   answer: %s\n", out ? out : "(null)");
    else if (!x.good)
        printf("#   answer: %.2000s\n", out ? out : "(null)");
    ok(x.good, "%s:%d: %s", file, line, x.name);
    cJSON_Delete(doc);
    cJSON_Delete(review);
    free(out);
    free(body);
}

/* ---- cases YAML cannot write ---- */

static const char httproute_review[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
    "\"uid\":\"c-1\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"" GROUP "\","
    "\"version\":\"v1\",\"kind\":\"HTTPRoute\"},\"object\":{\"apiVersion\":\"" GROUP "/v1\","
    "\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"r\",\"namespace\":\"default\"},"
    "\"spec\":{%s}}}}";

static void c_cases(void)
{
    struct review_config rc;
    struct review_outcome oc;
    char *out = NULL, *body;
    int http;

    memset(&rc, 0, sizeof(rc));
    http = review_handle(&rc, REVIEW_VALIDATE, NULL, 0, &out, &oc);
    ok(http == 400 && strstr(out, "empty request body") && oc.code == 400 && !oc.allowed,
       "C: a NULL body is a 400");
    free(out);

    /* a NUL after the document: the API server's JSON decoder rejects it */
    body = xasprintf(httproute_review, "\"rules\":[]");
    http = review_handle(&rc, REVIEW_VALIDATE, body, strlen(body) + 1, &out, NULL);
    ok(http == 400 && strstr(out, "data after the top-level value"),
       "C: a NUL after the JSON is a 400");
    free(out);
    free(body);

    /* an unknown field whose name is invalid UTF-8 with a C1 control: the
       warning must reach kubectl, so it is sanitized, not dropped */
    body = xasprintf(httproute_review, "\"b\\u0085d\xff\\u0007\":1");
    http = review_handle(&rc, REVIEW_VALIDATE, body, strlen(body), &out, &oc);
    {
        cJSON *doc = cJSON_Parse(out);
        const cJSON *w = get(get(doc, "response"), "warnings");

        ok(http == 200 && cJSON_GetArraySize(w) == 1 && recorder_keeps_all(w) &&
               strstr(cJSON_GetArrayItem(w, 0)->valuestring, "unknown field \"spec.b\xEF\xBF\xBD"
                                                             "d\xEF\xBF\xBD\xEF\xBF\xBD\""),
           "C: invalid UTF-8 and control characters in a warning become U+FFFD");
        cJSON_Delete(doc);
    }
    free(out);
    free(body);

    /* outcome may be NULL */
    body =
        xasprintf(httproute_review, "\"rules\":[{\"backendRefs\":[{\"name\":\"s\",\"port\":80}]}]");
    http = review_handle(NULL, REVIEW_VALIDATE, body, strlen(body), &out, NULL);
    ok(http == 200 && strstr(out, "\"allowed\":true"), "C: NULL config and outcome");
    free(out);
    free(body);
}

int main(int argc, char **argv)
{
    util_init_cjson();
    testdata_run(argc, argv, "tests/data/reviews", run_case);
    if (argc <= 1) {
        c_cases();
        ok(b64_residues == 7, "the patches exercised all three base64 paddings (seen: %#x)",
           b64_residues);
    }
    schema_shutdown();
    return done_testing();
}

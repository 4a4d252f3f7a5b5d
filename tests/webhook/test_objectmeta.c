/*
 * ObjectMeta as the API server judges it on create (objectmeta.h), table
 * driven from the YAML files of tests/data/objectmeta/ (or the files named on the
 * command line). A case:
 *
 *   - name: "labels: a name part longer than 63 bytes"
 *     kind: HTTPRoute          # for the decode error's wording
 *     version: v1
 *     namespaced: true         # false for a cluster-scoped kind
 *     object: {metadata: {...}}
 *     expect:
 *       decode_error: "..."    # the 400 message; nothing else is checked
 *       # or, when metadata decodes (each list exact and in order, absent = []):
 *       unknown: ['unknown field "metadata.foo"']
 *       errors: ["metadata.name: Invalid value: ..."]
 *       warnings: ["metadata.finalizers: \"foo\": prefer ..."]
 *
 * Any string of a case, keys included, may hold {{N*text}}: text repeated
 * N times (for the length limits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../testdata.h"
#include "objectmeta.h"
#include "verr.h"

/* Expand every {{N*text}} of s; NULL when there is none. */
static char *expand(const char *s)
{
    struct sbuf sb = {0};
    const char *p = s, *open;
    int any = 0;

    while ((open = strstr(p, "{{"))) {
        char *end;
        const char *close;
        long n = strtol(open + 2, &end, 10);

        close = strstr(open, "}}");
        if (!close || *end != '*' || end > close) {
            sb_add(&sb, p, (size_t)(open + 2 - p));
            p = open + 2;
            continue;
        }
        sb_add(&sb, p, (size_t)(open - p));
        for (; n > 0; n--)
            sb_add(&sb, end + 1, (size_t)(close - end - 1));
        p = close + 2;
        any = 1;
    }
    if (!any) {
        sb_release(&sb);
        return NULL;
    }
    sb_puts(&sb, p);
    return sb_detach(&sb);
}

static void expand_all(cJSON *v)
{
    cJSON *c;
    char *x;

    if (v->string && (x = expand(v->string))) {
        if (!(v->type & cJSON_StringIsConst))
            cJSON_free(v->string);
        v->string = x;
        v->type &= ~cJSON_StringIsConst;
    }
    if (cJSON_IsString(v) && (x = expand(v->valuestring))) {
        cJSON_free(v->valuestring);
        v->valuestring = x;
    }
    cJSON_ArrayForEach(c, v) {
        expand_all(c);
    }
}

static int compare_list(const char *what, const cJSON *want, const struct verr_list *got,
                        enum verr_level level)
{
    const cJSON *w = cJSON_IsArray(want) ? want->child : NULL;
    size_t i;
    int good = 1;

    for (i = 0; i < got->len; i++) {
        char *g;

        if (got->item[i].level != level)
            continue;
        g = verr_format(&got->item[i]);
        if (!w) {
            printf("#   %s: unexpected: %s\n", what, g);
            good = 0;
        } else {
            if (!cJSON_IsString(w) || strcmp(g, w->valuestring) != 0) {
                printf("#   %s: got:  %s\n#   %s: want: %s\n", what, g, what,
                       cJSON_IsString(w) ? w->valuestring : "?");
                good = 0;
            }
            w = w->next;
        }
        free(g);
    }
    for (; w; w = w->next) {
        printf("#   %s: missing: %s\n", what, cJSON_IsString(w) ? w->valuestring : "?");
        good = 0;
    }
    return good;
}

static const char *str_of(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : def;
}

static void run_case(const cJSON *c0, const char *file, int line)
{
    cJSON *c = cJSON_Duplicate(c0, 1);
    const char *name, *kind, *version;
    const cJSON *obj, *expect, *want_decode;
    int namespaced;
    char *decode;
    char label[512];

    expand_all(c);
    name = str_of(c, "name", "?");
    kind = str_of(c, "kind", "HTTPRoute");
    version = str_of(c, "version", "v1");
    namespaced = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c, "namespaced"));
    obj = cJSON_GetObjectItemCaseSensitive(c, "object");
    expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
    want_decode = cJSON_GetObjectItemCaseSensitive(expect, "decode_error");
    snprintf(label, sizeof(label), "%s:%d: %s", file, line, name);

    decode = objectmeta_decode_error(obj, kind, version);
    if (want_decode) {
        is_str(decode, cJSON_IsString(want_decode) ? want_decode->valuestring : "?", label);
    } else if (decode) {
        ok(0, "%s", label);
        printf("#   unexpected decode error: %s\n", decode);
    } else {
        struct verr_list unknown = VERR_LIST_INIT, errs = VERR_LIST_INIT;
        int good = 1;
        size_t i;

        objectmeta_unknown_fields(obj, &unknown);
        objectmeta_validate(obj, namespaced, &errs);
        for (i = 0; i < errs.len; i++)
            if (!errs.item[i].rule || strncmp(errs.item[i].rule, "metadata", 8) != 0)
                good = 0;
        if (!good)
            printf("#   an error without a metadata rule\n");
        good &= compare_list("unknown", cJSON_GetObjectItemCaseSensitive(expect, "unknown"),
                             &unknown, VERR_ERROR);
        good &= compare_list("errors", cJSON_GetObjectItemCaseSensitive(expect, "errors"), &errs,
                             VERR_ERROR);
        good &= compare_list("warnings", cJSON_GetObjectItemCaseSensitive(expect, "warnings"),
                             &errs, VERR_WARNING);
        ok(good, "%s", label);
        verr_list_release(&unknown);
        verr_list_release(&errs);
    }
    free(decode);
    cJSON_Delete(c);
}

/* Direct checks of what the tables cannot say. */
static void test_api(void)
{
    struct verr_list errs = VERR_LIST_INIT;
    cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"x\"}}");
    char *d;

    ok(objectmeta_decode_error(NULL, "HTTPRoute", "v1") == NULL, "no object: no decode error");
    objectmeta_validate(NULL, 1, &errs);
    ok(errs.len == 1 && errs.item[0].type == VERR_REQUIRED, "no object: name required");
    verr_list_release(&errs);
    objectmeta_unknown_fields(NULL, &errs);
    ok(errs.len == 0, "no object: no unknown fields");
    objectmeta_validate(o, 0, &errs);
    ok(errs.len == 0, "a good name");
    cJSON_Delete(o);
    o = cJSON_Parse("{\"metadata\":{\"name\":1}}");
    d = objectmeta_decode_error(o, "GRPCRoute", "v1alpha2");
    is_str(d,
           "GRPCRoute in version \"v1alpha2\" cannot be handled as a GRPCRoute: json: cannot "
           "unmarshal number into Go struct field ObjectMeta.name of type string",
           "the kind and version in the decode error");
    free(d);
    cJSON_Delete(o);
    o = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"a\":1,\"b\":2}}");
    objectmeta_unknown_fields(o, &errs);
    ok(errs.len == 2 && errs.item[0].type == VERR_UNKNOWN_FIELD &&
           strcmp(errs.item[1].field, "metadata.b") == 0 && errs.item[1].rule &&
           strcmp(errs.item[1].rule, "metadata") == 0,
       "unknown fields are VERR_UNKNOWN_FIELD at metadata.<key>");
    verr_list_release(&errs);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    test_api();
    testdata_run(argc, argv, "tests/data/objectmeta", run_case);
    return done_testing();
}

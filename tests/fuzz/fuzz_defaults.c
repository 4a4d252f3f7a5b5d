/*
 * The JSON Patch builder (include/defaults.h): the input is an object's
 * JSON. Its apiVersion and kind pick the schema (both channels; the
 * bundle by the input's length); an object of no kind we know gets one of
 * schema_sets[] picked by the input's length. Objects with duplicate keys
 * or numbers beyond a double are skipped: the API server never sends
 * them. Seeds: the objects of
 * tests/data/defaults/ and tests/data/examples/.
 *
 * Invariants (what /mutate promises the API server): defaults_patch()
 * leaves the object alone and returns only "add" operations that apply, in
 * order, as RFC 6902 says; the patched object, nulls aside, is what
 * defaults_apply() makes of it; and asking again for the patched object
 * gives an empty patch.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "defaults.h"
#include "fuzz.h"
#include "schema.h"
#include "util.h"
#include "validate.h"

/* What the API server never sends: duplicate keys, numbers beyond a
   double (cJSON reads 1e999 as inf, and inf compares unequal to itself). */
static int not_from_api_server(const cJSON *v)
{
    const cJSON *a, *b;

    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
        return 1;
    cJSON_ArrayForEach(a, v) {
        if (cJSON_IsObject(v))
            for (b = a->next; b; b = b->next)
                if (!strcmp(a->string, b->string))
                    return 1;
        if (not_from_api_server(a))
            return 1;
    }
    return 0;
}

/* One RFC 6901 reference token of p (up to '/' or the end), unescaped. */
static char *token(const char *p, size_t n)
{
    char *t = xmalloc(n + 1);
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
            t[o++] = p[i + 1] == '1' ? '/' : '~';
            i++;
        } else {
            FUZZ_CHECK(p[i] != '~'); /* a bare '~' is not a valid pointer */
            t[o++] = p[i];
        }
    }
    t[o] = '\0';
    return t;
}

/* An array index token: digits, no leading zero; -1 when not one. */
static int index_of(const char *t)
{
    long v;
    char *end;

    if (!*t || (t[0] == '0' && t[1]) || t[0] < '0' || t[0] > '9')
        return -1;
    errno = 0;
    v = strtol(t, &end, 10);
    return *end || errno || v > 1000000 ? -1 : (int)v;
}

/* RFC 6902 "add" of value (taken over) at path in doc; 0, or -1. */
static int add(cJSON *doc, const char *path, cJSON *value)
{
    cJSON *parent = doc;
    const char *p = path + 1, *slash;
    char *t;
    int i;

    FUZZ_CHECK(path[0] == '/');
    for (; (slash = strchr(p, '/')); p = slash + 1) {
        t = token(p, (size_t)(slash - p));
        if (cJSON_IsObject(parent))
            parent = cJSON_GetObjectItemCaseSensitive(parent, t);
        else if (cJSON_IsArray(parent) && (i = index_of(t)) >= 0)
            parent = cJSON_GetArrayItem(parent, i);
        else
            parent = NULL;
        free(t);
        if (!parent) {
            cJSON_Delete(value);
            return -1;
        }
    }
    t = token(p, strlen(p));
    if (cJSON_IsObject(parent)) {
        if (cJSON_GetObjectItemCaseSensitive(parent, t))
            cJSON_ReplaceItemInObjectCaseSensitive(parent, t, value);
        else
            cJSON_AddItemToObject(parent, t, value);
    } else if (cJSON_IsArray(parent) && !strcmp(t, "-")) {
        cJSON_AddItemToArray(parent, value);
    } else if (cJSON_IsArray(parent) && (i = index_of(t)) >= 0 && i <= cJSON_GetArraySize(parent)) {
        cJSON_InsertItemInArray(parent, i, value);
    } else {
        free(t);
        cJSON_Delete(value);
        return -1;
    }
    free(t);
    return 0;
}

/* Drop every null-valued member of an object, at any depth. */
static void prune_nulls(cJSON *v)
{
    cJSON *c, *next;

    for (c = v ? v->child : NULL; c; c = next) {
        next = c->next;
        if (cJSON_IsNull(c) && cJSON_IsObject(v))
            cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
        else
            prune_nulls(c);
    }
}

static void check(const struct schema_node *root, const cJSON *obj)
{
    cJSON *before = cJSON_Duplicate(obj, 1), *patched = cJSON_Duplicate(obj, 1);
    cJSON *defaulted = cJSON_Duplicate(obj, 1), *patch, *again;
    const cJSON *op;

    patch = defaults_patch(root, obj);
    FUZZ_CHECK(cJSON_IsArray(patch));
    FUZZ_CHECK(cJSON_Compare(obj, before, 1));
    cJSON_ArrayForEach(op, patch) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(op, "op");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(op, "path");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");

        FUZZ_CHECK(cJSON_IsString(kind) && !strcmp(kind->valuestring, "add"));
        FUZZ_CHECK(cJSON_IsString(path) && value != NULL);
        FUZZ_CHECK(add(patched, path->valuestring, cJSON_Duplicate(value, 1)) == 0);
    }
    again = defaults_patch(root, patched);
    FUZZ_CHECK(cJSON_GetArraySize(again) == 0);

    defaults_apply(root, defaulted);
    prune_nulls(defaulted);
    prune_nulls(patched);
    FUZZ_CHECK(cJSON_Compare(patched, defaulted, 1));

    cJSON_Delete(again);
    cJSON_Delete(patch);
    cJSON_Delete(before);
    cJSON_Delete(patched);
    cJSON_Delete(defaulted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const bundles[] = {NULL, "v1.2", "main"};
    const char *bundle = bundles[size % 3];
    char group[128], version[64];
    const char *kind = NULL;
    const struct schema_node *root;
    cJSON *obj;
    int found = 0;

    fuzz_init();
    obj = cJSON_ParseWithLength((const char *)data, size);
    if (!obj || not_from_api_server(obj)) {
        cJSON_Delete(obj);
        return 0;
    }
    if (cJSON_IsObject(obj))
        validate_gvk(obj, group, sizeof(group), version, sizeof(version), &kind);
    if (kind && version[0]) {
        root = schema_lookup_bundle(bundle, kind, version, SCH_STANDARD, NULL);
        if (root) {
            check(root, obj);
            found = 1;
        }
        root = schema_lookup_bundle(bundle, kind, version, SCH_EXPERIMENTAL, NULL);
        if (root) {
            check(root, obj);
            found = 1;
        }
    }
    if (!found) {
        const struct schema_set *s = &schema_sets[size % schema_nsets];

        root = schema_lookup_bundle(s->bundle, s->kind, s->version, s->channel, NULL);
        if (root)
            check(root, obj);
    }
    cJSON_Delete(obj);
    return 0;
}

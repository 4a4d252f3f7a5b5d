/*
 * Applying an RFC 6902 patch of "add" operations (all defaults_patch()
 * emits) in tests, to check that a patch really yields the defaulted
 * object. One copy, shared by the unit, review and loopback tests.
 */
#ifndef GC_TEST_JSONPATCH_H
#define GC_TEST_JSONPATCH_H

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* One JSON Pointer token, unescaped (~1 -> /, ~0 -> ~). */
static void jsonpatch_unescape(const char *p, size_t n, char *out, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < n && o + 1 < len; i++) {
        if (p[i] == '~' && i + 1 < n) {
            out[o++] = p[i + 1] == '1' ? '/' : '~';
            i++;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = '\0';
}

static const char *jsonpatch_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * Apply the "add" operations of ops to doc. Returns 0, or -1 when an
 * operation is not an add or its parent is missing (the API server's 500).
 */
__attribute__((unused)) static int jsonpatch_apply_adds(cJSON *doc, const cJSON *ops)
{
    const cJSON *op;
    char tok[256];

    cJSON_ArrayForEach(op, ops) {
        const char *path = jsonpatch_str(op, "path"), *kind = jsonpatch_str(op, "op"), *slash;
        cJSON *parent = doc, *value;

        if (!path || !kind || strcmp(kind, "add") != 0 || *path != '/')
            return -1;
        value = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(op, "value"), 1);
        if (!value)
            return -1;
        for (path++; (slash = strchr(path, '/')); path = slash + 1) {
            jsonpatch_unescape(path, (size_t)(slash - path), tok, sizeof(tok));
            parent = cJSON_IsArray(parent) ? cJSON_GetArrayItem(parent, (int)strtol(tok, NULL, 10))
                                           : cJSON_GetObjectItemCaseSensitive(parent, tok);
            if (!parent) {
                cJSON_Delete(value);
                return -1;
            }
        }
        jsonpatch_unescape(path, strlen(path), tok, sizeof(tok));
        if (cJSON_IsArray(parent) && !strcmp(tok, "-"))
            cJSON_AddItemToArray(parent, value);
        else if (cJSON_IsArray(parent))
            cJSON_InsertItemInArray(parent, (int)strtol(tok, NULL, 10), value);
        else if (cJSON_GetObjectItemCaseSensitive(parent, tok))
            cJSON_ReplaceItemInObjectCaseSensitive(parent, tok, value);
        else
            cJSON_AddItemToObject(parent, tok, value);
    }
    return 0;
}

/* Drop every null-valued property: what defaults_apply() does beyond the
   patch (the API server prunes nulls without a default before validating). */
__attribute__((unused)) static void jsonpatch_prune_nulls(cJSON *v)
{
    cJSON *c, *next;

    for (c = v ? v->child : NULL; c; c = next) {
        next = c->next;
        if (cJSON_IsNull(c) && cJSON_IsObject(v))
            cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
        else
            jsonpatch_prune_nulls(c);
    }
}

#endif

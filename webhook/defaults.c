/* Structural defaulting (§4) and the JSON Patch that expresses it. Pure. */
#include "defaults.h"

#include <string.h>

#include "util.h"

struct walk {
    cJSON *ops;      /* NULL when only applying */
    struct sbuf ptr; /* JSON pointer of the current node */
};

static void ptr_push(struct sbuf *sb, const char *token)
{
    sb_putc(sb, '/');
    if (!strpbrk(token, "~/")) {
        sb_puts(sb, token);
        return;
    }
    for (; *token; token++) {
        if (*token == '~')
            sb_puts(sb, "~0");
        else if (*token == '/')
            sb_puts(sb, "~1");
        else
            sb_putc(sb, *token);
    }
}

static void walk_node(struct walk *w, const struct schema_node *n, cJSON *v);

static void walk_object(struct walk *w, const struct schema_node *n, cJSON *v)
{
    size_t i, mark = w->ptr.len;
    cJSON *item;

    for (i = 0; i < n->nchild; i++) {
        const struct schema_node *c = n->child[i];
        cJSON *have = cJSON_GetObjectItemCaseSensitive(v, c->name);
        cJSON *op = NULL;

        if (!n->row && !strcmp(c->name, "status")) {
            /* status is the controller's: dropped on CREATE, kept on UPDATE;
               a null one is simply dropped here */
            if (have && cJSON_IsNull(have) && !w->ops)
                cJSON_DeleteItemFromObjectCaseSensitive(v, c->name);
            continue;
        }
        ptr_push(&w->ptr, c->name);
        if ((!have || cJSON_IsNull(have)) && c->row && c->row->default_json) {
            cJSON *def = cJSON_Duplicate(c->default_value, 1);

            if (have)
                cJSON_ReplaceItemInObjectCaseSensitive(v, c->name, def);
            else
                cJSON_AddItemToObject(v, c->name, def);
            have = def;
            if (w->ops) {
                op = cJSON_CreateObject();
                cJSON_AddStringToObject(op, "op", "add");
                cJSON_AddStringToObject(op, "path", w->ptr.buf);
                cJSON_AddItemToArray(w->ops, op);
            }
        }
        if (have && cJSON_IsNull(have) && !w->ops) {
            /* PruneNonNullableNullsWithoutDefaults: none of these schemas
               is nullable, so a null without a default is dropped */
            cJSON_DeleteItemFromObjectCaseSensitive(v, c->name);
            have = NULL;
        }
        if (have)
            walk_node(w, c, have);
        if (op) /* the value as finally defaulted: one op covers the subtree */
            cJSON_AddItemToObject(op, "value", cJSON_Duplicate(have, 1));
        sb_truncate(&w->ptr, mark);
    }
    if (n->values) {
        cJSON *next;

        for (item = v->child; item; item = next) {
            next = item->next;
            if (cJSON_IsNull(item) && !w->ops) { /* a null map value: dropped too */
                cJSON_Delete(cJSON_DetachItemViaPointer(v, item));
                continue;
            }
            ptr_push(&w->ptr, item->string);
            walk_node(w, n->values, item);
            sb_truncate(&w->ptr, mark);
        }
    }
}

static void walk_node(struct walk *w, const struct schema_node *n, cJSON *v)
{
    if (cJSON_IsObject(v)) {
        walk_object(w, n, v);
    } else if (cJSON_IsArray(v) && n->items) {
        size_t mark = w->ptr.len, i = 0;
        cJSON *item;

        cJSON_ArrayForEach(item, v) {
            char idx[24];
            size_t at = sizeof(idx), k = i++;

            do
                idx[--at] = (char)('0' + k % 10);
            while ((k /= 10) > 0);
            sb_putc(&w->ptr, '/');
            sb_add(&w->ptr, idx + at, sizeof(idx) - at);
            walk_node(w, n->items, item);
            sb_truncate(&w->ptr, mark);
        }
    }
}

/* Drop ops nested under an earlier op's path: the earlier value already
   holds them. Keeps the patch minimal and idempotent. */
static cJSON *prune_nested(cJSON *ops)
{
    cJSON *out = cJSON_CreateArray();
    cJSON *op;
    const char *last = NULL;

    cJSON_ArrayForEach(op, ops) {
        const char *p = cJSON_GetObjectItemCaseSensitive(op, "path")->valuestring;
        size_t l = last ? strlen(last) : 0;

        if (last && !strncmp(p, last, l) && p[l] == '/')
            continue;
        last = p;
        cJSON_AddItemReferenceToArray(out, op);
    }
    return out;
}

void defaults_apply(const struct schema_node *root, cJSON *obj)
{
    struct walk w = {NULL, {0}};

    walk_node(&w, root, obj);
    sb_release(&w.ptr);
}

cJSON *defaults_patch(const struct schema_node *root, const cJSON *obj)
{
    cJSON *copy = cJSON_Duplicate(obj, 1);
    struct walk w = {cJSON_CreateArray(), {0}};
    cJSON *refs, *out;

    walk_node(&w, root, copy);
    refs = prune_nested(w.ops);
    out = cJSON_Duplicate(refs, 1); /* materialise the references */
    cJSON_Delete(refs);
    cJSON_Delete(w.ops);
    cJSON_Delete(copy);
    sb_release(&w.ptr);
    return out;
}

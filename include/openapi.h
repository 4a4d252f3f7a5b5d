/*
 * The OpenAPI part of the API server's judgement of a custom resource, as
 * k8s.io/apiextensions-apiserver (pruning, list types) and kube-openapi
 * (the schema validator) do it in Kubernetes 1.37: the order of the
 * checks, the wording, and which errors print which value. Pure.
 */
#ifndef GC_OPENAPI_H
#define GC_OPENAPI_H

#include <cjson/cJSON.h>

#include "fpath.h"
#include "schema.h"
#include "verr.h"

enum openapi_op { OPENAPI_CREATE, OPENAPI_UPDATE };

/* Called on every string value that has a schema row (strict checks). */
typedef void (*openapi_string_hook)(void *ctx, const struct schema_row *r, const cJSON *v,
                                    const char *at);

struct openapi_walk {
    enum openapi_op op;            /* UPDATE ratchets unchanged values (§1.2 6) */
    struct verr_list schema;       /* schema errors, in the API server's order */
    struct verr_list lists;        /* list-type duplicates, reported after the schema's */
    struct fpath at;               /* the path being walked */
    openapi_string_hook on_string; /* may be NULL */
    void *ctx;
};

/*
 * Drop every field the schema does not know, as the API server's pruning
 * does before anything else, and report each as a VERR_UNKNOWN_FIELD at its
 * path ("spec.rules[0].foo"). A value of the wrong container type is pruned
 * against its schema too (an object where a list belongs loses all its
 * keys). At the root, apiVersion, kind and metadata are left alone.
 */
void openapi_prune(const struct schema_node *root, cJSON *obj, struct verr_list *unknown);

/*
 * Validate value v against schema node n at w->at (the caller has pushed
 * the path). 'old' is the correlated old value on UPDATE, else NULL.
 */
void openapi_validate(struct openapi_walk *w, const struct schema_node *n, const cJSON *v,
                      const cJSON *old);

/*
 * The old value to ratchet a node against: 'old' itself, or NULL when the
 * node is a list-type map holding duplicate keys (new or old), which the
 * API server cannot correlate.
 */
const cJSON *openapi_ratchet_old(const struct schema_node *n, const cJSON *v, const cJSON *old);

/* The old element of a list-type map that item corresponds to (by key), or NULL. */
const cJSON *openapi_correlate(const struct schema_node *list, const cJSON *item,
                               const cJSON *old_list);

void openapi_walk_release(struct openapi_walk *w);

#endif

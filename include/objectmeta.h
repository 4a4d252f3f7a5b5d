/*
 * ObjectMeta as the API server judges it for a custom resource (spec
 * validation.md §1.2 4a; k8s.io/apimachinery pkg/api/validation
 * ValidateObjectMetaAccessor and the strict decoding of metav1.ObjectMeta),
 * with the wording of Kubernetes 1.37.
 */
#ifndef GC_OBJECTMETA_H
#define GC_OBJECTMETA_H

#include <cjson/cJSON.h>

#include "verr.h"

/*
 * Decoding: a metadata field of the wrong JSON type makes the whole request
 * undecodable (HTTP 400). Returns NULL when metadata decodes, else the
 * message the API server sends, e.g. 'HTTPRoute in version "v1" cannot be
 * handled as a HTTPRoute: json: cannot unmarshal bool into Go struct field
 * ObjectMeta.name of type string'. (For a custom resource the API server
 * decodes metadata on its own, so the field path starts below metadata:
 * "ObjectMeta.name", "OwnerReference.ownerReferences.uid".) The first type
 * error in sorted key order wins, unless a timestamp fails to parse, e.g.
 * 'parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as
 * "2006"'. obj is the whole object. Caller frees.
 */
char *objectmeta_decode_error(const cJSON *obj, const char *kind, const char *version);

/*
 * Unknown metadata fields, as strict decoding reports them: each one added
 * as a VERR_UNKNOWN_FIELD error at "metadata.<field>", or
 * "metadata.ownerReferences[i].<field>" / "metadata.managedFields[i].<field>"
 * inside entries, keys sorted, at most 100 (level set by the caller
 * afterwards if it wants warnings). Meaningful only when
 * objectmeta_decode_error() returned NULL.
 */
void objectmeta_unknown_fields(const cJSON *obj, struct verr_list *errs);

/*
 * Validation of a decodable ObjectMeta: name (or generateName) as a DNS-1123
 * subdomain, generateName, namespace (a cluster-scoped kind's namespace is
 * cleared, not refused, as the API server does; a namespaced kind's absent
 * namespace is the request's), labels, annotations, ownerReferences,
 * finalizers. Errors are appended in the API server's order (labels and
 * annotations in the object's key order: Go's is random), repeats of an
 * identical message dropped; each carries rule "metadata.<field>".
 * Then the finalizer-name warnings of WarningsOnCreate are appended as
 * VERR_NOTE items at level VERR_WARNING: the API server sends them only
 * when the create succeeds, so a caller drops them when it denies.
 */
void objectmeta_validate(const cJSON *obj, int namespaced, struct verr_list *errs);

#endif

/*
 * Judge one Gateway API object as the API server does (spec validation.md
 * §1.2): defaults applied first, then ObjectMeta, the OpenAPI schema, list
 * uniqueness, and the CEL rules unless a blocking error came first; on
 * UPDATE, transition rules and ratcheting of unchanged values. Then the
 * strict checks that go past upstream's loose patterns (§1.3). Pure: no I/O.
 */
#ifndef GC_VALIDATE_H
#define GC_VALIDATE_H

#include <cjson/cJSON.h>

#include "verr.h"

enum validate_op { VALIDATE_CREATE, VALIDATE_UPDATE, VALIDATE_DELETE };

struct validate_opts {
    unsigned channel;   /* SCH_STANDARD (default when 0) or SCH_EXPERIMENTAL */
    int strict;         /* strict findings deny instead of warn */
    int unknown_strict; /* unknown fields deny (kubectl --validate=strict) instead of warn */
    const char *bundle; /* "v1.6" (NULL) or "v1.2": whose rules apply (§9) */
};

enum validate_status {
    VALIDATE_OK,          /* judged: errs may hold errors and warnings */
    VALIDATE_NOT_GATEWAY, /* not an object of gateway.networking.k8s.io: skipped */
    VALIDATE_UNKNOWN,     /* no such kind/version in the channel: an error was added */
    VALIDATE_BAD_OBJECT   /* our group but no version or kind: an error was added */
};

/*
 * Validate 'obj' (never modified). 'old' is the old object for UPDATE, else
 * NULL. Errors and warnings are appended to 'out' (verr.level tells which).
 * Every error carries its spec row in verr.rule: the generic path of the
 * schema row, or the CEL rule ID.
 */
enum validate_status validate_object(const struct validate_opts *o, const cJSON *obj,
                                     const cJSON *old, enum validate_op op, struct verr_list *out);

/*
 * validate_object() for a caller that gives obj and old away: they are
 * turned into the API server's decoded form in place (unknown fields pruned,
 * defaults applied) instead of being copied first. The same verdict; the
 * webhook uses it on the objects of a review it has parsed and will free.
 */
enum validate_status validate_object_inplace(const struct validate_opts *o, cJSON *obj, cJSON *old,
                                             enum validate_op op, struct verr_list *out);

/* The group, version and kind of obj; NULL members when absent. Pointers into obj. */
void validate_gvk(const cJSON *obj, char *group, size_t glen, char *version, size_t vlen,
                  const char **kind);

#endif

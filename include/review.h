/*
 * AdmissionReview in and out (spec ecosystem.md §1): decode a review body,
 * judge the object with validate_object() or defaults_patch(), and encode
 * the response the API server expects. Pure: bytes in, bytes out, no I/O
 * and no globals, so unit tests, the HTTP server and fuzzers share it.
 */
#ifndef GC_REVIEW_H
#define GC_REVIEW_H

#include <stddef.h>

#include "validate.h"

enum review_endpoint { REVIEW_VALIDATE, REVIEW_MUTATE };

struct review_config {
    struct validate_opts opts; /* channel, strict, bundle; opts.unknown_strict is ignored: the
                                  API server pruned the object already, unknown fields warn */
    const char *webhook_name;  /* for log lines only; the API server prefixes denial messages
                                  with its own 'admission webhook "<name>" denied the request' */
    /* Checks across objects (issue 8), for an object that /validate found
       valid on CREATE or UPDATE: findings are appended to out (errors deny,
       warnings warn), the count returned. obj is the object as admitted
       (defaults applied), old the old one on UPDATE. NULL: none. The only
       way review_handle() reaches beyond its arguments. */
    size_t (*cross)(void *arg, const cJSON *obj, const cJSON *old, enum validate_op op,
                    struct verr_list *out);
    void *cross_arg;
};

/* What happened, for logs and metrics. Strings are copies, cut to fit;
   empty where the body did not get that far (a 400). */
struct review_outcome {
    char uid[128];
    char kind[64];
    char namespace_[254];
    char name[254];
    char operation[16];
    int allowed; /* 1 allowed, 0 denied */
    int code;    /* status.code of a denial (422, or 400 for an object the API
                    server could not decode), 400 for a bad body, 0 when allowed */
    int patched; /* /mutate: a non-empty patch was returned */
    int dry_run; /* request.dryRun was true */
    size_t warnings;
};

/*
 * Handle one request body (len bytes, no NUL needed; NULL with len 0 is an
 * empty body). Thread-safe. Returns the HTTP status and sets *out to a
 * malloc'd JSON body (free with free()):
 *  - 200 with an AdmissionReview response for every decodable review, of
 *    the same apiVersion (admission.k8s.io/v1 or v1beta1), uid echoed;
 *    a denial is allowed:false with status {code 422, reason Invalid,
 *    details.causes[], message '<Kind>.<group> "<name>" is invalid: ...'};
 *    warnings within the API server's limits; /mutate returns the defaults
 *    as a base64 JSON Patch (patchType JSONPatch), none on DELETE or
 *    CONNECT, and never denies; kinds we have no rules for are allowed
 *    with a warning that says so;
 *  - 400 with {"error": "..."} for malformed JSON, a body nested deeper
 *    than 64 levels, or a body that is not an AdmissionReview request;
 *  - 500 with {"error": "out of memory"} only when cJSON cannot allocate
 *    (never after util_init_cjson(), whose allocator aborts instead).
 * 'cfg' may be NULL (standard channel, not strict, default bundle).
 * 'outcome' (may be NULL) is filled for logging.
 */
int review_handle(const struct review_config *cfg, enum review_endpoint ep, const char *body,
                  size_t len, char **out, struct review_outcome *outcome);

#endif

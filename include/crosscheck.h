/*
 * `gwhook serve`'s cross-object checks (issue 8): the watch cache
 * (wcache.h) kept by watchers, the checks (xcheck.h) run on it for every
 * valid CREATE or UPDATE at /validate, and a confirmation before a finding
 * is reported: the cache may lag the API server by a few milliseconds (a
 * route created right after its Gateway), so the objects a finding of
 * parent-listener, reference-grant, backend-exists or parent-exists rests
 * on are read fresh from the API server and the checks run again on them.
 * When that read fails, the finding is reported as a warning that says so,
 * never as a denial. Readiness waits for the first sync; /metrics shows the
 * cache and the watches.
 */
#ifndef GC_CROSSCHECK_H
#define GC_CROSSCHECK_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util.h"
#include "validate.h"
#include "verr.h"
#include "wcache.h"
#include "xcheck.h"

struct crosscheck;

/*
 * Start the watchers (wopts) for the checks of cfg (copied). Returns NULL
 * with a message when the API server's configuration cannot be loaded.
 */
struct crosscheck *crosscheck_start(const struct xcheck_config *cfg,
                                    const struct wcache_opts *wopts, char *err, size_t errlen);

/* Stop the watchers and free everything; NULL is fine. */
void crosscheck_free(struct crosscheck **cc);

/* review_config.cross: run the checks, confirm findings, append them. */
size_t crosscheck_review(void *arg, const cJSON *obj, const cJSON *old, enum validate_op op,
                         struct verr_list *out);

/* server_config.not_ready: 0 once the cache has synced, else 1 with the
   kinds not yet listed (and why, when a list failed: a 403 names the verb). */
int crosscheck_not_ready(void *arg, char *why, size_t len);

/* server_config.metrics_extra: the cache's and the checks' metrics. */
void crosscheck_metrics(struct sbuf *out, void *arg);

#endif

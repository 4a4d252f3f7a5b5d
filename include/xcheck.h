/*
 * Checks across objects (issue 8): what no CRD rule can see because it
 * takes two objects to judge. Each check reads the object under review and
 * the watch cache (wcache.h) and reports field errors in the API server's
 * style, as errors (mode deny) or warnings (mode warn):
 *
 *  parent-listener  a route parentRef whose targeted listeners (sectionName,
 *                   port) would not accept the route: its namespace
 *                   (allowedRoutes.namespaces: Same, All, Selector), its
 *                   kind (allowedRoutes.kinds, else the protocol's kinds),
 *                   its hostnames; or no listener has that sectionName/port.
 *                   A ListenerSet whose Gateway does not allow it
 *                   (spec.allowedListeners).
 *  reference-grant  a cross-namespace backendRef (rules[].backendRefs and
 *                   RequestMirror filters) or Gateway/ListenerSet
 *                   certificateRef that no ReferenceGrant permits.
 *  backend-exists   a backendRef to a Service that does not exist (warn or off).
 *  parent-exists    a parentRef to a Gateway or ListenerSet that does not exist (warn or off).
 *  route-conflict   an HTTPRoute rule match with the same hostname and the
 *                   same match as another HTTPRoute's on the same listener
 *                   of a Gateway: the older route wins (then the first by
 *                   "namespace/name"), the other never gets that traffic.
 *  gateway-detach   a Gateway UPDATE whose listener or allowedRoutes change
 *                   would detach routes that the old Gateway accepted
 *                   (warn or off): the count and the first few names.
 *
 * No globals, and no I/O but xcheck_load_file(). The cache is read under
 * its read lock, taken here. A missing object in the cache is "does not exist" to the checks;
 * the caller may confirm findings against the API server (xcheck_refs()).
 * A missing Namespace has no labels but kubernetes.io/metadata.name, which
 * the API server puts on every Namespace. An object without
 * metadata.namespace is taken to be in "default".
 *
 * Cost: look-ups by key and the cache's indexes only. route-conflict and
 * gateway-detach walk the routes attached to one Gateway, so their cost
 * grows with that count (about 0.2 us per attached HTTPRoute for
 * route-conflict in a release build); the other checks do not walk.
 */
#ifndef GC_XCHECK_H
#define GC_XCHECK_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "validate.h"
#include "verr.h"
#include "wcache.h"

enum xcheck_id {
    XCHECK_PARENT_LISTENER,
    XCHECK_REFERENCE_GRANT,
    XCHECK_BACKEND_EXISTS,
    XCHECK_PARENT_EXISTS,
    XCHECK_ROUTE_CONFLICT,
    XCHECK_GATEWAY_DETACH,
    XCHECK_N
};

enum xcheck_mode { XCHECK_OFF, XCHECK_WARN, XCHECK_DENY };

struct xcheck_config {
    enum xcheck_mode mode[XCHECK_N];
};

/* Every check in mode warn (the default). */
void xcheck_defaults(struct xcheck_config *cfg);

/* "parent-listener", ... ; NULL out of range. */
const char *xcheck_name(enum xcheck_id id);
/* "off", "warn", "deny"; NULL out of range. */
const char *xcheck_mode_name(enum xcheck_mode m);
/* 1 when any check is not off (the watch cache is needed). */
int xcheck_any(const struct xcheck_config *cfg);

/*
 * Apply one setting "NAME=MODE" (NAME a check name or "all"; MODE off, warn
 * or deny). deny is refused for backend-exists, parent-exists and
 * gateway-detach (they are advice: order of creation varies); "all=deny"
 * sets deny where it is allowed and warn for those three. Returns 0, or -1
 * with a message naming the valid choices (cfg unchanged).
 */
int xcheck_set(struct xcheck_config *cfg, const char *setting, char *err, size_t errlen);

/*
 * Read a configuration file (YAML or JSON):
 *
 *   checks:
 *     parent-listener: deny
 *     reference-grant: warn
 *     route-conflict: off
 *
 * Keys not listed keep their value in cfg; entries apply in order, so
 * "all: off" then "parent-listener: deny" works. A bare off (YAML 1.1
 * false) means off. An empty file changes nothing. Unknown keys, unknown
 * checks and bad modes are errors naming file:line where yamlj can tell
 * (the line of the enclosing mapping). 0, or -1 with cfg unchanged.
 */
int xcheck_load_file(struct xcheck_config *cfg, const char *path, char *err, size_t errlen);

/*
 * Run the checks that are not off on obj (the object as admitted: defaults
 * applied) and, for UPDATE, old. Findings are appended to out: level
 * VERR_ERROR for deny, VERR_WARNING for warn; verr.rule is the check name.
 * Kinds no check concerns are skipped, and so is DELETE; wc or cfg NULL:
 * nothing is run. Findings come in check order (parent-listener first), and
 * within a check in the object's order. Returns the number of findings.
 */
size_t xcheck_run(const struct xcheck_config *cfg, const struct wcache *wc, const cJSON *obj,
                  const cJSON *old, enum validate_op op, struct verr_list *out);

/*
 * The objects the parent-listener, reference-grant, backend-exists and
 * parent-exists checks read for obj, so a caller can fetch them fresh
 * before trusting a finding: fn(kind, ns, name) per Gateway, ListenerSet,
 * Service or Namespace by name ("" ns for Namespace), and
 * fn("ReferenceGrant", ns, NULL) per namespace whose grants are read. For
 * a ListenerSet obj, its parent Gateway. Repeats are possible. Not listed:
 * the Gateway of a route's ListenerSet parent (it takes the cache to know
 * which), and what route-conflict and gateway-detach read.
 */
typedef void (*xcheck_ref_fn)(const char *kind, const char *ns, const char *name, void *arg);
void xcheck_refs(const cJSON *obj, xcheck_ref_fn fn, void *arg);

#endif

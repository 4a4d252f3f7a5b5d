/*
 * The CRDs' OpenAPI defaults (spec validation.md §4), applied as the API
 * server's structural defaulting does: top down, absent or null properties
 * set to a copy of the default, then the walk continues into what was set;
 * empty arrays and objects that are present are left alone. Only spec is
 * defaulted: status belongs to the /status subresource, which the API server
 * drops on CREATE and ignores on UPDATE of the main resource (§1.2 7).
 */
#ifndef GC_DEFAULTS_H
#define GC_DEFAULTS_H

#include <cjson/cJSON.h>

#include "schema.h"

/* Apply the defaults of schema tree 'root' to obj in place, and drop the
   properties that are null and have no default, as the API server does
   before validating (none of these schemas is nullable). */
void defaults_apply(const struct schema_node *root, cJSON *obj);

/*
 * The RFC 6902 operations that bring obj to its defaulted form, in the
 * order the API server applies them: a JSON array of {"op":"add","path",
 * "value"} (paths escaped with ~0 and ~1), empty when nothing is missing.
 * Applying the patch and asking again yields an empty patch. obj is not
 * modified. Caller frees with cJSON_Delete().
 */
cJSON *defaults_patch(const struct schema_node *root, const cJSON *obj);

#endif

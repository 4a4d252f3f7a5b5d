/*
 * The rule registry is complete and has no dead entries: every CEL rule
 * instance of every schema set (each bundle, channel and version) has a C
 * check, and every C check is used by some instance. So the validator's
 * "no check in this build" path is unreachable with these tables.
 */
#include <string.h>

#include "../tap.h"
#include "cel.h"
#include "schema.h"
#include "util.h"

static const struct cel_impl *const tables[] = {cel_gateway_impls, cel_httproute_impls,
                                                cel_httproute2_impls, cel_session_impls};

static int used(const char *canon)
{
    size_t s, i;

    for (s = 0; s < schema_nsets; s++)
        for (i = 0; i < schema_sets[s].ncel; i++)
            if (!strcmp(schema_sets[s].cel[i].canon, canon))
                return 1;
    return 0;
}

int main(void)
{
    size_t s, i, t, missing = 0, instances = 0, unused = 0, impls = 0;

    for (s = 0; s < schema_nsets; s++) {
        for (i = 0; i < schema_sets[s].ncel; i++) {
            const struct schema_cel *c = &schema_sets[s].cel[i];

            instances++;
            if (!cel_lookup(c->canon)) {
                missing++;
                printf("# no check for %s (%s %s/%s at %s)\n", c->id, schema_sets[s].kind,
                       schema_sets[s].bundle, schema_sets[s].version, c->path);
            }
        }
    }
    ok(instances > 0 && missing == 0, "all %zu rule instances have a C check", instances);
    for (t = 0; t < ARRAY_SIZE(tables); t++) {
        const struct cel_impl *p;

        for (p = tables[t]; p->canon; p++) {
            impls++;
            if (!used(p->canon)) {
                unused++;
                printf("# %s is implemented but no schema set uses it\n", p->canon);
            }
        }
    }
    ok(unused == 0, "all %zu C checks are used by some rule instance", impls);
    for (s = 0; s < schema_nsets; s++)
        ok(schema_lookup_bundle(schema_sets[s].bundle, schema_sets[s].kind, schema_sets[s].version,
                                schema_sets[s].channel, NULL) != NULL,
           "schema tree for %s %s %s/%s builds", schema_sets[s].bundle, schema_sets[s].kind,
           schema_channel_name(schema_sets[s].channel), schema_sets[s].version);
    schema_shutdown();
    rx_shutdown();
    return done_testing();
}

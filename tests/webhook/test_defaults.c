/*
 * Defaulting cases (spec §4): every file under tests/data/defaults/ is a
 * list of {name, rows, channel, api_version, object, patch}. The JSON Patch from
 * defaults_patch() must equal 'patch' exactly; applying it must give the
 * object defaults_apply() gives; and a second round must give an empty
 * patch (idempotence). Rows are covered as "fill" when the patch sets
 * them, "keep" when the case sets the field itself and the patch leaves it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jsonpatch.h"
#include "../tap.h"
#include "../testdata.h"
#include "defaults.h"
#include "schema.h"
#include "validate.h"

static FILE *coverage;

static const struct schema_node *root_of(const cJSON *c, const cJSON *obj)
{
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(c, "channel");
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(c, "api_version"); /* bundle */
    unsigned channel = cJSON_IsString(ch) && !strcmp(ch->valuestring, "experimental")
                           ? SCH_EXPERIMENTAL
                           : SCH_STANDARD;
    char group[128], version[64];
    const char *kind;

    validate_gvk(obj, group, sizeof(group), version, sizeof(version), &kind);
    return kind ? schema_lookup_bundle(cJSON_IsString(av) ? av->valuestring : NULL, kind, version,
                                       channel, NULL)
                : NULL;
}

static void record(const cJSON *c, int good)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(c, "rows");
    const cJSON *keep = cJSON_GetObjectItemCaseSensitive(c, "keeps");
    const cJSON *r;

    if (!good || !coverage)
        return;
    cJSON_ArrayForEach(r, rows) {
        if (cJSON_IsString(r))
            fprintf(coverage, "fill\t%s\n", r->valuestring);
    }
    cJSON_ArrayForEach(r, keep) {
        if (cJSON_IsString(r))
            fprintf(coverage, "keep\t%s\n", r->valuestring);
    }
}

static void run_case(const cJSON *c, const char *file, int line)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(c, "name");
    const char *name = cJSON_IsString(nm) ? nm->valuestring : "(unnamed)";
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(c, "object");
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "patch");
    const struct schema_node *root = root_of(c, obj);
    cJSON *patch = NULL, *applied = NULL, *defaulted = NULL, *again = NULL;
    int good = 0;

    if (!root || !cJSON_IsArray(want)) {
        ok(0, "%s:%d: %s: unknown kind/version or no patch", file, line, name);
        return;
    }
    patch = defaults_patch(root, obj);
    good = cJSON_Compare(patch, want, 1);
    if (!good) {
        char *g = cJSON_PrintUnformatted(patch), *w = cJSON_PrintUnformatted(want);

        printf("#   got:  %s\n#   want: %s\n", g, w);
        cJSON_free(g);
        cJSON_free(w);
    }
    applied = cJSON_Duplicate(obj, 1);
    defaulted = cJSON_Duplicate(obj, 1);
    defaults_apply(root, defaulted);
    if (jsonpatch_apply_adds(applied, patch) != 0) {
        printf("#   the patch does not apply\n");
        good = 0;
    }
    jsonpatch_prune_nulls(applied);
    if (!cJSON_Compare(applied, defaulted, 1)) {
        printf("#   the patch does not reproduce defaults_apply()\n");
        good = 0;
    }
    again = defaults_patch(root, applied); /* applied: patched, nulls pruned */
    if (cJSON_GetArraySize(again) != 0) {
        printf("#   not idempotent: a second round adds %d ops\n", cJSON_GetArraySize(again));
        good = 0;
    }
    ok(good, "%s:%d: %s", file, line, name);
    record(c, good);
    cJSON_Delete(patch);
    cJSON_Delete(applied);
    cJSON_Delete(defaulted);
    cJSON_Delete(again);
}

int main(int argc, char **argv)
{
    const char *cov = getenv("GC_COVERAGE_OUT");

    if (cov)
        coverage = fopen(cov, "a");
    testdata_run(argc, argv, "tests/data/defaults", run_case);
    if (coverage)
        fclose(coverage);
    return done_testing();
}

/*
 * Table-driven validation cases: every YAML file under tests/data/rules/
 * (or the files named on the command line) is a list of cases in the
 * format of tests/data/README.md. Each case is judged by validate_object()
 * and compared with its expectation. With GC_COVERAGE_OUT set, the spec rows
 * each passing case covers are appended there for tools/rules-coverage.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../testdata.h"
#include "schema.h"
#include "validate.h"
#include "verr.h"

static FILE *coverage;

static const char *str_of(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : def;
}

/* Does error e carry the spec row "§3 <Kind> <rule>"? */
static int row_matches(const char *row, const char *kind, const struct verr *e)
{
    char want[512];

    if (!e->rule)
        return 0;
    snprintf(want, sizeof(want), "§3 %s %s", kind, e->rule);
    return strcmp(row, want) == 0;
}

static int check_rows(const cJSON *c, const char *kind, const struct verr_list *errs, int allowed,
                      const char *name)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(c, "rows");
    const cJSON *row;
    int good = 1;

    cJSON_ArrayForEach(row, rows) {
        size_t i;
        int found = allowed;

        if (!cJSON_IsString(row))
            continue;
        for (i = 0; !allowed && i < errs->len && !found; i++)
            found = errs->item[i].level == VERR_ERROR &&
                    row_matches(row->valuestring, kind, &errs->item[i]);
        if (!found) {
            printf("#   row %s named by '%s' produced none of its errors\n", row->valuestring,
                   name);
            good = 0;
        }
    }
    if (good && coverage) {
        cJSON_ArrayForEach(row, rows) {
            if (cJSON_IsString(row))
                fprintf(coverage, "%s\t%s\n", allowed ? "accept" : "reject", row->valuestring);
        }
    }
    return good;
}

static int check_errors(const cJSON *expect, const struct verr_list *errs)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, "errors");
    const cJSON *w;
    size_t i = 0;
    int good = 1;

    if (!want)
        return 1;
    cJSON_ArrayForEach(w, want) {
        char *got = NULL;

        while (i < errs->len && errs->item[i].level != VERR_ERROR)
            i++;
        if (i < errs->len)
            got = verr_format(&errs->item[i++]);
        if (!got || !cJSON_IsString(w) || strcmp(got, w->valuestring) != 0) {
            printf("#   got:  %s\n#   want: %s\n", got ? got : "(no more errors)",
                   cJSON_IsString(w) ? w->valuestring : "?");
            good = 0;
        }
        free(got);
    }
    for (; i < errs->len; i++) {
        if (errs->item[i].level == VERR_ERROR) {
            char *extra = verr_format(&errs->item[i]);

            printf("#   unexpected: %s\n", extra);
            free(extra);
            good = 0;
        }
    }
    return good;
}

static int check_substrings(const cJSON *expect, const char *key, const struct verr_list *errs,
                            enum verr_level level)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expect, key);
    const cJSON *w;
    char *all = verr_join(errs, level);
    int good = 1;

    cJSON_ArrayForEach(w, want) {
        if (!cJSON_IsString(w) || !all || !strstr(all, w->valuestring)) {
            printf("#   %s lacks: %s\n#   got: %s\n", key, cJSON_IsString(w) ? w->valuestring : "?",
                   all ? all : "(nothing)");
            good = 0;
        }
    }
    free(all);
    return good;
}

static void run_case(const cJSON *c, const char *file, int line)
{
    const char *name = str_of(c, "name", "(unnamed)");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(c, "object");
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(c, "old");
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
    const cJSON *want_allowed = cJSON_GetObjectItemCaseSensitive(expect, "allowed");
    struct validate_opts o = {0};
    struct verr_list errs = VERR_LIST_INIT;
    enum validate_op op = VALIDATE_CREATE;
    const char *kind = str_of(obj, "kind", "?");
    int allowed, good;

    o.channel =
        !strcmp(str_of(c, "channel", "standard"), "experimental") ? SCH_EXPERIMENTAL : SCH_STANDARD;
    o.strict = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "strict"));
    o.bundle = str_of(c, "api_version", NULL); /* NULL: the default bundle */
    o.unknown_strict = 1;                      /* a typo in test data must not pass silently */
    if (!strcmp(str_of(c, "operation", "CREATE"), "UPDATE"))
        op = VALIDATE_UPDATE;
    if (!cJSON_IsBool(want_allowed)) {
        ok(0, "%s:%d: %s: expect.allowed is missing", file, line, name);
        return;
    }
    validate_object(&o, obj, old, op, &errs);
    allowed = verr_count(&errs, VERR_ERROR) == 0;
    good = allowed == cJSON_IsTrue(want_allowed);
    if (!good) {
        char *all = verr_join(&errs, VERR_ERROR);

        printf("#   allowed=%d, want %d: %s\n", allowed, cJSON_IsTrue(want_allowed),
               all ? all : "");
        free(all);
    }
    good &= check_errors(expect, &errs);
    good &= check_substrings(expect, "contains", &errs, VERR_ERROR);
    good &= check_substrings(expect, "warnings", &errs, VERR_WARNING);
    good &= check_rows(c, kind, &errs, allowed, name);
    if (!good && getenv("GC_SHOW_ERRORS")) { /* the whole list, to inspect or re-baseline */
        size_t i;

        for (i = 0; i < errs.len; i++) {
            char *m = verr_format(&errs.item[i]);

            printf("#   %s: %s\n", errs.item[i].level == VERR_ERROR ? "error" : "warning", m);
            free(m);
        }
    }
    ok(good, "%s:%d: %s", file, line, name);
    verr_list_release(&errs);
}

int main(int argc, char **argv)
{
    const char *cov = getenv("GC_COVERAGE_OUT");

    if (cov)
        coverage = fopen(cov, "a");
    testdata_run(argc, argv, "tests/data/rules", run_case);
    if (coverage)
        fclose(coverage);
    return done_testing();
}

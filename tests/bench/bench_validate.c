/*
 * Validations per second (one thread, so per core) for a typical HTTPRoute
 * and a large one (16 rules, each with 8 matches and filters), built in
 * memory. Not a test: no timing is asserted anywhere. `make bench-validate`
 * runs it, and again under callgrind for instructions per validation.
 * Usage: bench_validate                  time each object for ~1 s
 *        bench_validate typical|large N  validate that object N times (callgrind)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "validate.h"
#include "verr.h"

static const char typical[] =
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
    "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
    "\"spec\":{\"parentRefs\":[{\"name\":\"gw\",\"namespace\":\"infra\",\"sectionName\":\"https\"}]"
    ","
    "\"hostnames\":[\"www.example.com\"],"
    "\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/api\"}}],"
    "\"filters\":[{\"type\":\"RequestHeaderModifier\",\"requestHeaderModifier\":"
    "{\"set\":[{\"name\":\"X-Env\",\"value\":\"prod\"}]}}],"
    "\"backendRefs\":[{\"name\":\"api\",\"port\":8080}]},"
    "{\"backendRefs\":[{\"name\":\"web\",\"port\":80}]}]}}";

static cJSON *large_route(void)
{
    cJSON *root = cJSON_Parse(typical);
    cJSON *rules = cJSON_CreateArray();
    int r, m;

    for (r = 0; r < 16; r++) {
        cJSON *rule = cJSON_CreateObject(), *matches = cJSON_CreateArray();
        char buf[512];

        for (m = 0; m < 8; m++) {
            snprintf(buf, sizeof(buf),
                     "{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/r%d/m%d\"},"
                     "\"method\":\"GET\",\"headers\":[{\"name\":\"x-h%d\",\"value\":\"v\"}],"
                     "\"queryParams\":[{\"type\":\"Exact\",\"name\":\"q\",\"value\":\"1\"}]}",
                     r, m, m);
            cJSON_AddItemToArray(matches, cJSON_Parse(buf));
        }
        cJSON_AddItemToObject(rule, "matches", matches);
        snprintf(buf, sizeof(buf),
                 "[{\"type\":\"RequestHeaderModifier\",\"requestHeaderModifier\":{\"add\":[{"
                 "\"name\":\"x-a\",\"value\":\"1\"}],\"remove\":[\"x-b\"]}},"
                 "{\"type\":\"ResponseHeaderModifier\",\"responseHeaderModifier\":{\"set\":[{"
                 "\"name\":\"x-c\",\"value\":\"2\"}]}},"
                 "{\"type\":\"URLRewrite\",\"urlRewrite\":{\"hostname\":\"r%d.example.com\"}}]",
                 r);
        cJSON_AddItemToObject(rule, "filters", cJSON_Parse(buf));
        snprintf(buf, sizeof(buf), "[{\"name\":\"svc-%d\",\"port\":80,\"weight\":1}]", r);
        cJSON_AddItemToObject(rule, "backendRefs", cJSON_Parse(buf));
        cJSON_AddItemToArray(rules, rule);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "spec"), "rules",
                                           rules);
    return root;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Validate obj n times; returns the number of errors of the last run. */
static size_t run(const cJSON *obj, long n)
{
    struct validate_opts o = {0};
    size_t errs = 0;
    long i;

    for (i = 0; i < n; i++) {
        struct verr_list l = VERR_LIST_INIT;

        validate_object(&o, obj, NULL, VALIDATE_CREATE, &l);
        errs = verr_count(&l, VERR_ERROR);
        verr_list_release(&l);
    }
    return errs;
}

static void bench(const char *name, const cJSON *obj, long fixed)
{
    long n = 1;
    double t0, dt;
    size_t errs = run(obj, 1); /* warm: schema trees, regex JIT */

    if (errs) {
        fprintf(stderr, "bench: the %s object is invalid (%zu errors)\n", name, errs);
        exit(2);
    }
    if (fixed > 0) {
        run(obj, fixed);
        printf("%s: %ld validations\n", name, fixed);
        return;
    }
    do {
        n *= 2;
        t0 = now();
        run(obj, n);
        dt = now() - t0;
    } while (dt < 1.0);
    printf("bench-validate: %-8s %10.0f validations/s/core  %8.2f us/validation  (%ld runs)\n",
           name, (double)n / dt, dt * 1e6 / (double)n, n);
}

int main(int argc, char **argv)
{
    long fixed = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    const char *only = argc > 2 ? argv[1] : NULL;
    cJSON *small, *large;

    util_init_cjson();
    small = cJSON_Parse(typical);
    large = large_route();
    if (!only || !strcmp(only, "typical"))
        bench("typical", small, fixed);
    if (!only || !strcmp(only, "large"))
        bench("large", large, fixed);
    cJSON_Delete(small);
    cJSON_Delete(large);
    return 0;
}

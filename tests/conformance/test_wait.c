/*
 * The wait helpers (conformance/wait.c) against upstream's semantics (spec
 * conformance.md §1.7, §1.8), table-driven: every file under
 * tests/data/wait/ is a list of cases (format in tests/data/wait/README.md).
 * A case is a wait as a scenario writes it and a sequence of polls: what
 * the runner fetched, and the verdict, reason and yield that must follow.
 * The wait goes through the real loader (a one-step scenario in a
 * temporary file), so the format is exercised too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../testdata.h"
#include "scenario.h"

#define CONTROLLER "gatecheck.dev/fixture"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Load c's wait through conf_scenario_load() (JSON is YAML). */
static struct conf_scenario *load_wait(const cJSON *wait, char *err, size_t errlen)
{
    char path[] = "/tmp/gatecheck-test-wait-XXXXXX";
    int fd = mkstemp(path);
    cJSON *doc = cJSON_CreateObject(), *steps, *step;
    struct conf_scenario *sc = NULL;
    char *text;
    FILE *f;

    if (fd < 0) {
        snprintf(err, errlen, "mkstemp failed");
        cJSON_Delete(doc);
        return NULL;
    }
    cJSON_AddStringToObject(doc, "name", "WaitCase");
    cJSON_AddStringToObject(doc, "description", "one wait");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "features"), cJSON_CreateString("Gateway"));
    cJSON_AddStringToObject(doc, "profile", "GATEWAY-HTTP");
    cJSON_AddStringToObject(doc, "level", "core");
    steps = cJSON_AddArrayToObject(doc, "steps");
    step = cJSON_CreateObject();
    cJSON_AddItemToObject(step, "wait", cJSON_Duplicate(wait, 1));
    cJSON_AddItemToArray(steps, step);
    text = cJSON_Print(doc);
    f = fdopen(fd, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    if (conf_scenario_load(path, &sc, err, errlen) != 0)
        sc = NULL;
    unlink(path);
    free(text);
    cJSON_Delete(doc);
    return sc;
}

static const char *verdict_name(enum conf_wait_verdict v)
{
    switch (v) {
    case CONF_WAIT_PENDING:
        return "pending";
    case CONF_WAIT_DONE:
        return "done";
    case CONF_WAIT_ADVANCED:
        return "advanced";
    case CONF_WAIT_FATAL:
        return "fatal";
    }
    return "?";
}

/* "Kind ns/name", "Kind name" (cluster-scoped), or "Kind ns/" and a star for a list. */
static char *fetch_text(const struct conf_fetch *f)
{
    if (!f->namespace_)
        return xasprintf("%s %s", f->kind, f->name ? f->name : "*");
    return xasprintf("%s %s/%s", f->kind, f->namespace_, f->name ? f->name : "*");
}

static void check_fetches(const cJSON *want, const struct conf_fetch *f, size_t n,
                          const char *label)
{
    const cJSON *w;
    size_t i = 0;
    int same = (size_t)cJSON_GetArraySize(want) == n;

    cJSON_ArrayForEach(w, want) {
        char *got = i < n ? fetch_text(&f[i]) : NULL;

        same &= got && cJSON_IsString(w) && !strcmp(got, w->valuestring);
        free(got);
        i++;
    }
    ok(same, "%s: fetches", label);
    if (!same) {
        for (i = 0; i < n; i++) {
            char *got = fetch_text(&f[i]);

            printf("#   got fetch: %s\n", got);
            free(got);
        }
    }
}

/* The poll's objects: each an object, or {error: TEXT} for a failed call. */
static struct conf_fetched *fetched_of(const cJSON *objects, size_t *n)
{
    const cJSON *o;
    struct conf_fetched *v = xcalloc((size_t)cJSON_GetArraySize(objects) + 1, sizeof(*v));

    *n = 0;
    cJSON_ArrayForEach(o, objects) {
        if (cJSON_GetArraySize(o) == 1 && cJSON_IsString(get(o, "error")))
            v[*n].error = get(o, "error")->valuestring;
        else
            v[*n].obj = o;
        (*n)++;
    }
    return v;
}

static void check_poll(const cJSON *poll, const struct conf_wait *w, struct conf_wait_state *st,
                       const struct conf_objects *base, const char *label)
{
    const cJSON *want_why = get(poll, "why"), *want_yield = get(poll, "yield");
    const char *want_v = cJSON_GetStringValue(get(poll, "verdict"));
    struct conf_fetch *f = NULL;
    size_t nf = conf_wait_fetches(w, st, &f);
    struct conf_objects objs = *base;
    char *why = NULL, *yield = NULL;
    enum conf_wait_verdict v;

    if (get(poll, "fetches"))
        check_fetches(get(poll, "fetches"), f, nf, label);
    free(f);
    objs.v = fetched_of(get(poll, "objects"), &objs.n);
    v = conf_wait_check(w, &objs, st, &why, &yield);
    if (!ok(want_v && !strcmp(verdict_name(v), want_v), "%s: verdict %s", label,
            want_v ? want_v : "(missing)"))
        printf("#   got %s: %s\n", verdict_name(v), why);
    if (cJSON_IsString(want_why) &&
        !ok(why && strstr(why, want_why->valuestring), "%s: why", label))
        printf("#   got:  %s\n#   want: ...%s...\n", why, want_why->valuestring);
    if (want_yield)
        is_str(yield, cJSON_GetStringValue(want_yield), label);
    else if (!ok(!yield, "%s: yields nothing", label))
        printf("#   got yield: %s\n", yield);
    free(why);
    free(yield);
    free((void *)objs.v);
}

static void run_case(const cJSON *c, const char *file, int line)
{
    const char *name = cJSON_GetStringValue(get(c, "name"));
    const cJSON *poll, *gb = get(c, "generation_before"), *cn = get(c, "controller_name");
    struct conf_objects base = {NULL, 0, CONTROLLER, -1};
    struct conf_wait_state st;
    struct conf_scenario *sc;
    char err[512], label[512];
    int i = 0;

    snprintf(label, sizeof(label), "%s:%d: %s", file, line, name ? name : "(unnamed)");
    sc = load_wait(get(c, "wait"), err, sizeof(err));
    if (!ok(sc != NULL && name && cJSON_GetArraySize(get(c, "polls")) > 0, "%s: loads", label)) {
        printf("#   %s\n", sc ? "a case needs a name and polls" : err);
        conf_scenario_free(&sc);
        return;
    }
    if (!sc)
        return;
    if (cJSON_IsNumber(gb))
        base.generation_before = (long long)gb->valuedouble;
    if (cJSON_IsString(cn) || cJSON_IsNull(cn))
        base.controller_name = cJSON_GetStringValue(cn);
    conf_wait_state_init(&st);
    cJSON_ArrayForEach(poll, get(c, "polls")) {
        char pl[600];

        snprintf(pl, sizeof(pl), "%s, poll %d", label, i++);
        check_poll(poll, &sc->steps[0].wait, &st, &base, pl);
    }
    conf_wait_state_release(&st);
    conf_scenario_free(&sc);
}

/* ---- metadata: timeouts (§1.12), poll intervals, continuing ------------- */

static void metadata(void)
{
    static const struct {
        enum conf_wait_kind kind;
        int phase;
        const char *timeout;
        long poll_ms;
        int continues;
    } t[] = {
        {CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED, 0, "GatewayMustHaveAddress", 0, 0},
        {CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED, 1, "RouteMustHaveParents", 0, 0},
        {CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED, 2, "GatewayListenersMustHaveConditions", 0, 0},
        {CONF_WAIT_GATEWAY_ADDRESS, 0, "GatewayMustHaveAddress", 0, 0},
        {CONF_WAIT_ROUTE_CONDITION, 0, "HTTPRouteMustHaveCondition", 0, 0},
        {CONF_WAIT_ROUTE_NO_ACCEPTED_PARENTS, 0, "HTTPRouteMustNotHaveParents", 1000, 0},
        {CONF_WAIT_GATEWAY_CONDITION, 0, "GatewayMustHaveCondition", 0, 0},
        {CONF_WAIT_GATEWAY_LISTENERS, 0, "GatewayStatusMustHaveListeners", 0, 0},
        {CONF_WAIT_LISTENER_CONDITIONS, 0, "GatewayListenersMustHaveConditions", 0, 0},
        {CONF_WAIT_GATEWAY_ZERO_ROUTES, 0, "GatewayStatusMustHaveListeners", 0, 1},
        {CONF_WAIT_LATEST_GENERATION, 0, "LatestObservedGenerationSet", 0, 0},
        {CONF_WAIT_GATEWAYCLASS_ACCEPTED, 0, "GWCMustBeAccepted", 0, 0},
        {CONF_WAIT_NAMESPACES_READY, 0, "NamespacesMustBeReady", 0, 0},
        {CONF_WAIT_ROUTE_PARENTS, 0, "RouteMustHaveParents", 0, 0},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(t); i++) {
        struct conf_wait w;
        struct conf_wait_state st;

        memset(&w, 0, sizeof(w));
        conf_wait_state_init(&st);
        w.kind = t[i].kind;
        w.nroutes = 1;
        st.phase = t[i].phase;
        is_str(conf_wait_timeout_name(&w, &st), t[i].timeout, conf_wait_kind_name(t[i].kind));
        ok(conf_wait_poll_ms(&w) == t[i].poll_ms &&
               conf_wait_timeout_continues(&w) == t[i].continues,
           "%s: poll interval and continuing", conf_wait_kind_name(t[i].kind));
    }
}

int main(int argc, char **argv)
{
    util_init_cjson();
    testdata_run(argc, argv, "tests/data/wait", run_case);
    if (argc <= 1)
        metadata();
    return done_testing();
}

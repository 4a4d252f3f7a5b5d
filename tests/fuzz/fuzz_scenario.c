/*
 * The scenario loader (include/scenario.h): the input is one scenario file,
 * written to a private temporary directory (a `file:` entry can name the
 * file itself) and loaded with conf_scenario_load(). A loaded scenario's
 * steps are then named (conf_step_default_name) and its waits described
 * and polled a few times (conf_wait_fetches, conf_wait_check) against the
 * scenario's own manifests, as if the cluster held exactly those objects,
 * status included. Seeds: conformance/scenarios/ and tests/data/scenario/.
 *
 * Invariants: a failure returns no scenario and an error "FILE:LINE: ...";
 * a success has a name; every step has a name; a
 * poll always says why, and yields only when done.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "scenario.h"
#include "util.h"

#define MAX_POLLS 4

static const char *str_at(const cJSON *o, const char *k1, const char *k2)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k1);

    if (k2)
        v = cJSON_GetObjectItemCaseSensitive(v, k2);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int same(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Does manifest obj answer fetch f (kind, namespace, and name unless a list)? */
static int matches(const cJSON *obj, const struct conf_fetch *f)
{
    if (!same(str_at(obj, "kind", NULL), f->kind))
        return 0;
    if (f->namespace_ && !same(str_at(obj, "metadata", "namespace"), f->namespace_))
        return 0;
    return !f->name || same(str_at(obj, "metadata", "name"), f->name);
}

/* What a cluster holding sc's manifests would answer to f: a copy (or a
   List of copies) to free, or NULL (not found). */
static cJSON *answer(const struct conf_scenario *sc, const struct conf_fetch *f)
{
    cJSON *list = f->name ? NULL : cJSON_CreateObject(), *items = NULL;
    size_t i, k;

    if (list) {
        cJSON_AddStringToObject(list, "kind", "List");
        items = cJSON_AddArrayToObject(list, "items");
    }
    for (i = 0; i <= sc->nsteps; i++) {
        const struct conf_manifests *m = i == 0 ? &sc->manifests : &sc->steps[i - 1].apply;

        for (k = 0; k < m->n; k++) {
            if (!matches(m->v[k].obj, f))
                continue;
            if (!list)
                return cJSON_Duplicate(m->v[k].obj, 1);
            cJSON_AddItemToArray(items, cJSON_Duplicate(m->v[k].obj, 1));
        }
    }
    return list;
}

static void poll_wait(const struct conf_scenario *sc, const struct conf_wait *w)
{
    struct conf_wait_state st;
    int poll;

    conf_wait_state_init(&st);
    FUZZ_CHECK(conf_wait_kind_name(w->kind) != NULL);
    FUZZ_CHECK(conf_wait_timeout_name(w, &st) != NULL);
    (void)conf_wait_poll_ms(w);
    (void)conf_wait_timeout_continues(w);
    for (poll = 0; poll < MAX_POLLS; poll++) {
        struct conf_fetch *f = NULL;
        size_t n = conf_wait_fetches(w, &st, &f), i;
        struct conf_fetched *got = xcalloc(n ? n : 1, sizeof(*got));
        cJSON **own = xcalloc(n ? n : 1, sizeof(*own));
        struct conf_objects objs = {got, n, "gateway.example.com/fuzz", 1};
        enum conf_wait_verdict v;
        char *why = NULL, *yield = NULL;

        for (i = 0; i < n; i++) {
            FUZZ_CHECK(f[i].kind != NULL);
            own[i] = answer(sc, &f[i]);
            got[i].obj = own[i];
            got[i].error = own[i] ? NULL : "fuzz: not found";
        }
        v = conf_wait_check(w, &objs, &st, &why, &yield);
        FUZZ_CHECK(why != NULL);
        FUZZ_CHECK(!yield || v == CONF_WAIT_DONE);
        FUZZ_CHECK(conf_wait_timeout_name(w, &st) != NULL);
        free(why);
        free(yield);
        for (i = 0; i < n; i++)
            cJSON_Delete(own[i]);
        free(own);
        free(got);
        free(f);
        if (v == CONF_WAIT_DONE || v == CONF_WAIT_FATAL)
            break;
    }
    conf_wait_state_release(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf_scenario *sc = (struct conf_scenario *)1;
    char err[1024];
    const char *path;
    size_t i;

    fuzz_init();
    path = fuzz_write_file("scenario.yaml", data, size);
    if (conf_scenario_load(path, &sc, err, sizeof(err)) != 0) {
        FUZZ_CHECK(sc == NULL);
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        FUZZ_CHECK(!strncmp(err, path, strlen(path)) && err[strlen(path)] == ':');
        return 0;
    }
    FUZZ_CHECK(sc != NULL && sc->name != NULL);
    for (i = 0; i < sc->nsteps; i++) {
        char *name = conf_step_default_name(sc, i);

        FUZZ_CHECK(name != NULL);
        free(name);
        if (sc->steps[i].kind == CONF_STEP_WAIT) {
            char *d = conf_wait_describe(&sc->steps[i].wait);

            FUZZ_CHECK(d != NULL);
            free(d);
            poll_wait(sc, &sc->steps[i].wait);
        }
    }
    conf_scenario_free(&sc);
    FUZZ_CHECK(sc == NULL);
    return 0;
}

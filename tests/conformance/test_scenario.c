/*
 * The scenario loader (include/scenario.h, docs/SCENARIOS.md):
 *  - every scenario shipped in conformance/scenarios/ loads, and so do the
 *    base manifests;
 *  - tests/data/scenario/good/ files load to what they say;
 *  - each tests/data/scenario/bad/ file is refused with exactly the message
 *    on its first line ("# error: FILE:LINE: FIELD: message");
 *  - a directory with two scenarios of one name is refused.
 * Arguments: bad files to check instead of the whole suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../testdata.h"
#include "scenario.h"

#define DATA "tests/data/scenario"

static char err[1024];

/* ---- the shipped scenarios ----------------------------------------------- */

/* The GATEWAY-HTTP tests issue 5 asks for (spec conformance.md §4.2). */
static const char *const required[] = {
    "GatewayClassObservedGenerationBump",
    "GatewayInvalidParametersRef",
    "GatewayInvalidRouteKind",
    "GatewayInvalidTLSConfiguration",
    "GatewayListenerUnsupportedProtocol",
    "GatewayModifyListeners",
    "GatewayNameMaximumLength",
    "GatewayObservedGenerationBump",
    "GatewaySecretInvalidReferenceGrant",
    "GatewaySecretMissingReferenceGrant",
    "GatewaySecretReferenceGrantAllInNamespace",
    "GatewaySecretReferenceGrantSpecific",
    "GatewayWithAttachedRoutes",
    "HTTPRouteCrossNamespace",
    "HTTPRouteExactPathMatching",
    "HTTPRouteHTTPSListener",
    "HTTPRouteHeaderMatching",
    "HTTPRouteHostnameIntersection",
    "HTTPRouteInvalidBackendRefUnknownKind",
    "HTTPRouteInvalidCrossNamespaceBackendRef",
    "HTTPRouteInvalidCrossNamespaceParentRef",
    "HTTPRouteInvalidNonExistentBackendRef",
    "HTTPRouteInvalidParentRefNotMatchingSectionName",
    "HTTPRouteInvalidReferenceGrant",
    "HTTPRouteListenerHostnameMatching",
    "HTTPRouteMatching",
    "HTTPRouteMatchingAcrossRoutes",
    "HTTPRouteMultipleGateways",
    "HTTPRouteNoBackendRefs",
    "HTTPRouteObservedGenerationBump",
    "HTTPRoutePartiallyInvalidViaInvalidReferenceGrant",
    "HTTPRoutePathMatchOrder",
    "HTTPRouteRedirectHostAndStatus",
    "HTTPRouteReferenceGrant",
    "HTTPRouteRequestHeaderModifier",
    "HTTPRouteResponseHeaderModifier",
    "HTTPRouteSimpleSameNamespace",
};

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_GetStringValue(v);
}

/* Namespaced objects name their namespace; Gateways use the class placeholder. */
static int manifests_sane(const struct conf_manifests *m, char **why)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        const cJSON *o = m->v[i].obj;
        const char *kind = str_at(o, "kind", NULL);
        int cluster = !strcmp(kind, "Namespace") || !strcmp(kind, "GatewayClass");

        if (!cluster && !str_at(o, "metadata", "namespace")) {
            *why =
                xasprintf("%s:%d: %s without metadata.namespace", m->v[i].file, m->v[i].line, kind);
            return 0;
        }
        if (!strcmp(kind, "Gateway") &&
            strcmp(str_at(o, "spec", "gatewayClassName") ? str_at(o, "spec", "gatewayClassName")
                                                         : "",
                   CONF_PLACEHOLDER_GATEWAY_CLASS) != 0) {
            *why = xasprintf("%s:%d: gatewayClassName is not %s", m->v[i].file, m->v[i].line,
                             CONF_PLACEHOLDER_GATEWAY_CLASS);
            return 0;
        }
    }
    return 1;
}

static void check_sane(const struct conf_manifests *m, const char *label)
{
    char *why = NULL;

    if (!ok(manifests_sane(m, &why), "%s: objects name their namespace, Gateways use %s", label,
            CONF_PLACEHOLDER_GATEWAY_CLASS))
        printf("#   %s\n", why);
    free(why);
}

static void shipped_required(const struct conf_scenario_list *l)
{
    size_t i, k;

    for (i = 0; i < ARRAY_SIZE(required); i++) {
        int found = 0;

        for (k = 0; k < l->n; k++)
            found |= !strcmp(l->v[k]->name, required[i]);
        ok(found, "scenario %s is shipped", required[i]);
    }
}

static void shipped(void)
{
    struct conf_scenario_list l;
    struct conf_manifests base = {0};
    size_t i, k;
    int rc = conf_scenarios_load_dir("conformance/scenarios", &l, err, sizeof(err));

    if (!ok(rc == 0, "every scenario in conformance/scenarios loads"))
        printf("#   %s\n", err);
    shipped_required(&l);
    for (i = 0; i < l.n; i++) {
        const struct conf_scenario *sc = l.v[i];
        char *want = xasprintf("conformance/scenarios/%s.yaml", sc->name);
        int named = 1;

        ok(!strcmp(sc->file, want), "%s is in %s", sc->name, want);
        free(want);
        for (k = 0; k < sc->nsteps; k++) {
            char *n = sc->steps[k].name ? NULL : conf_step_default_name(sc, k);

            named &= sc->steps[k].name || (n && n[0]);
            free(n);
        }
        ok(named, "%s: every step has a case name", sc->name);
        check_sane(&sc->manifests, sc->name);
        ok(i == 0 || strcmp(l.v[i - 1]->name, sc->name) < 0, "%s sorted after its predecessor",
           sc->name);
    }
    conf_scenario_list_release(&l);
    rc = conf_manifests_load_file("conformance/base/manifests.yaml", &base, err, sizeof(err));
    if (!ok(rc == 0 && base.n >= 30, "conformance/base/manifests.yaml loads (%zu objects)", base.n))
        printf("#   %s\n", err);
    check_sane(&base, "conformance/base/manifests.yaml");
    k = 0;
    for (i = 0; i < base.n; i++)
        k += conf_manifest_subst(base.v[i].obj, CONF_PLACEHOLDER_ECHO_IMAGE,
                                 CONF_DEFAULT_ECHO_IMAGE);
    ok(k >= 10, "the base Deployments use {ECHO_IMAGE} (%zu)", k);
    conf_manifests_release(&base);
    rc = conf_manifests_load_file("conformance/base/udp.yaml", &base, err, sizeof(err));
    if (!ok(rc == 0 && base.n == 3, "conformance/base/udp.yaml loads (%zu objects)", base.n))
        printf("#   %s\n", err);
    conf_manifests_release(&base);
}

/* ---- good files ---------------------------------------------------------- */

static const char *kv(const struct conf_kvlist *l, size_t i, int value)
{
    if (i >= l->n)
        return NULL;
    return value ? l->v[i].value : l->v[i].name;
}

static void full_header(const struct conf_scenario *sc)
{
    is_str(sc->name, "LoaderFull", "full: name");
    ok(sc->extended && sc->provisional && sc->parallel, "full: level, provisional, parallel");
    ok(sc->features.n == 3 && !strcmp(sc->features.v[2], "ReferenceGrant"), "full: features");
    ok(sc->manifests.n == 3, "full: an inline object and the two of manifests/two.yaml (%zu)",
       sc->manifests.n);
    if (sc->manifests.n == 3) {
        ok(!strcmp(sc->manifests.v[0].file, DATA "/good/full.yaml") &&
               sc->manifests.v[0].line == 10,
           "full: the inline object is at full.yaml:10 (%s:%d)", sc->manifests.v[0].file,
           sc->manifests.v[0].line);
        ok(!strcmp(sc->manifests.v[1].file, DATA "/good/manifests/two.yaml") &&
               sc->manifests.v[1].line == 2 && sc->manifests.v[2].line == 9,
           "full: objects of a file keep their own file:line (%d, %d)", sc->manifests.v[1].line,
           sc->manifests.v[2].line);
        ok(conf_manifest_subst(sc->manifests.v[2].obj, CONF_PLACEHOLDER_ECHO_IMAGE, "img") == 1,
           "subst: one string changed");
        is_str(cJSON_GetStringValue(cJSON_GetObjectItem(
                   cJSON_GetObjectItem(sc->manifests.v[2].obj, "data"), "image")),
               "x-img-img", "subst: every occurrence replaced");
    }
    ok(sc->nsteps == 18, "full: 18 steps (%zu)", sc->nsteps);
}

static void full_waits(const struct conf_scenario *sc)
{
    const struct conf_wait *w = &sc->steps[0].wait;

    ok(sc->steps[0].kind == CONF_STEP_WAIT && w->kind == CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED,
       "full: steps[0] gateway-and-routes-accepted");
    ok(!w->use_port && w->nroutes == 2 && w->listeners.n == 1, "full: use_port, routes, listeners");
    is_str(w->gateway.namespace_, CONF_DEFAULT_NAMESPACE, "full: a bare name is in the infra ns");
    is_str(w->gateway.api_version, "gateway.networking.k8s.io/v1", "full: Gateway apiVersion");
    is_str(w->routes[1].namespace_, "gateway-conformance-web-backend", "full: ns/name reference");
    is_str(w->routes[1].kind, "HTTPRoute", "full: route_kind defaults to HTTPRoute");
    w = &sc->steps[1].wait;
    is_str(sc->steps[1].name, "resolved", "full: step name");
    ok(w->conditions.n == 1 && !strcmp(w->conditions.v[0].status, "True"),
       "full: status: true (a YAML boolean) is \"True\"");
    w = &sc->steps[8].wait;
    ok(w->kind == CONF_WAIT_GATEWAY_LISTENERS && w->nexpect_listeners == 2 &&
           w->expect_listeners[0].nkinds == 1 && !w->expect_listeners[0].kinds[0].group &&
           w->expect_listeners[0].attached_routes == 1 && w->expect_listeners[1].nkinds == 0,
       "full: gateway-listeners");
    w = &sc->steps[12].wait;
    ok(w->conditions.n == 1 && !strcmp(w->conditions.v[0].status, "False") &&
           !w->conditions.v[0].reason,
       "full: status: false, no reason");
    w = &sc->steps[14].wait;
    ok(w->kind == CONF_WAIT_LATEST_GENERATION && !strcmp(w->object.kind, "GatewayClass") &&
           !w->object.namespace_,
       "full: a GatewayClass is cluster-scoped");
    w = &sc->steps[5].wait;
    ok(w->generation_changed && !strcmp(w->object.kind, "HTTPRoute"),
       "full: latest-generation of a route");
    ok(!strcmp(sc->steps[13].wait.gateway_class, "gc") && sc->steps[13].wait.any_status,
       "full: gatewayclass-accepted");
}

static void full_requests(const struct conf_scenario *sc)
{
    const struct conf_step_request *r = &sc->steps[2].request;
    char *name;

    ok(sc->steps[2].kind == CONF_STEP_REQUEST, "full: steps[2] is a request");
    ok(r->request.headers.n == 2 && !strcmp(kv(&r->request.headers, 1, 0), "X-Number") &&
           !strcmp(kv(&r->request.headers, 1, 1), "1"),
       "full: headers in order; a number value becomes a string");
    ok(r->request.unfollow_redirect && r->request.backend_set_response_headers.n == 1,
       "full: unfollow_redirect, backend_set_response_headers");
    ok(r->expect.response.nstatus == 2 && r->expect.response.status_codes[1] == 302,
       "full: a list of status codes");
    ok(r->expect.request.set && r->expect.request.absent_headers.n == 1, "full: expected request");
    ok(r->expect.redirect.set && !strcmp(r->expect.redirect.port, "443") &&
           !r->expect.redirect.host,
       "full: redirect, a numeric port as a string");
    ok(r->expect.response.nvalid == 1 && r->expect.response.valid[0].values.n == 2,
       "full: valid_header_values");
    r = &sc->steps[3].request;
    ok(r->expect_failure && !strcmp(r->scheme, "https") && !strcmp(r->ca_secret.kind, "Secret") &&
           !strcmp(r->gateway.name, "all-namespaces"),
       "full: expect_failure over https");
    name = conf_step_default_name(sc, 2);
    is_str(name, "0 request to '/set' with headers should go to infra-backend-v1",
           "default name of a request (GetTestCaseName)");
    free(name);
    name = conf_step_default_name(sc, 3);
    is_str(name, "1 request to '/x' should fail", "default name of an expect_failure request");
    free(name);
    name = conf_step_default_name(sc, 4);
    is_str(name, "patch: HTTPRoute gateway-conformance-infra/r1", "default name of a patch");
    free(name);
    ok(sc->steps[4].patch.merge && sc->steps[6].kind == CONF_STEP_UPDATE &&
           sc->steps[7].kind == CONF_STEP_DELETE &&
           !strcmp(sc->steps[7].del.api_version, "gateway.networking.k8s.io/v1beta1"),
       "full: patch, update, delete (ReferenceGrant is v1beta1)");
    ok(sc->steps[17].kind == CONF_STEP_APPLY && sc->steps[17].apply.n == 1 &&
           !strcmp(sc->steps[17].apply.v[0].file, DATA "/good/full.yaml"),
       "full: apply");
}

static void good_files(void)
{
    struct conf_scenario *sc = NULL;
    char *name;

    if (!ok(conf_scenario_load(DATA "/good/full.yaml", &sc, err, sizeof(err)) == 0,
            "good/full.yaml loads"))
        printf("#   %s\n", err);
    if (sc) {
        full_header(sc);
        if (sc->nsteps == 18) {
            full_waits(sc);
            full_requests(sc);
        }
    }
    conf_scenario_free(&sc);
    ok(sc == NULL, "conf_scenario_free clears the pointer");
    if (!ok(conf_scenario_load(DATA "/good/minimal.yaml", &sc, err, sizeof(err)) == 0,
            "good/minimal.yaml loads"))
        printf("#   %s\n", err);
    if (sc) {
        ok(!sc->extended && !sc->provisional && !sc->parallel && !sc->manifests.n,
           "minimal: the defaults");
        name = conf_step_default_name(sc, 0);
        is_str(name, "0 request to '' should receive one of [404]",
               "default name without a path or backend");
        free(name);
    }
    conf_scenario_free(&sc);
}

/* ---- bad files ----------------------------------------------------------- */

static void bad_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024] = "", *nl;
    struct conf_scenario *sc = NULL;
    int rc;

    if (f) {
        if (!fgets(line, sizeof(line), f))
            line[0] = '\0';
        fclose(f);
    }
    nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    if (strncmp(line, "# error: ", 9) != 0) {
        ok(0, "%s: first line is '# error: ...'", path);
        return;
    }
    err[0] = '\0';
    rc = conf_scenario_load(path, &sc, err, sizeof(err));
    ok(rc == -1 && sc == NULL, "%s is refused", path);
    is_str(err, line + 9, path);
    conf_scenario_free(&sc);
}

static void bad_files(int argc, char **argv)
{
    char **files = NULL;
    size_t n, i;

    if (argc > 1) {
        for (i = 1; i < (size_t)argc; i++)
            bad_file(argv[i]);
        return;
    }
    n = testdata_list(DATA "/bad", &files);
    ok(n >= 30, "%zu bad files", n);
    for (i = 0; i < n; i++) {
        bad_file(files[i]);
        free(files[i]);
    }
    free(files);
}

static void directories(void)
{
    struct conf_scenario_list l;
    int rc = conf_scenarios_load_dir(DATA "/dup", &l, err, sizeof(err));

    ok(rc == -1 && l.n == 0 && l.v == NULL, "a directory with a duplicate name is refused");
    is_str(err,
           DATA "/dup/b.yaml:1: name: scenario 'Same' is also defined in " DATA "/dup/a.yaml:1",
           "the duplicate names both files");
    rc = conf_scenarios_load_dir(DATA "/no-such-dir", &l, err, sizeof(err));
    ok(rc == -1 && strstr(err, "no-such-dir: cannot open directory") != NULL,
       "a missing directory is an error (%s)", err);
    rc = conf_scenarios_load_dir(DATA "/good", &l, err, sizeof(err));
    ok(rc == 0 && l.n == 2 && !strcmp(l.v[0]->name, "LoaderFull") &&
           !strcmp(l.v[1]->name, "LoaderMinimal"),
       "good/ loads sorted by name, manifests/ not scanned");
    conf_scenario_list_release(&l);
}

int main(int argc, char **argv)
{
    util_init_cjson();
    if (argc <= 1) {
        shipped();
        good_files();
        directories();
    }
    bad_files(argc, argv);
    return done_testing();
}

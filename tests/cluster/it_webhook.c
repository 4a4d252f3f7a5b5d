/*
 * gwhook behind a real kube-apiserver (issue 4): the local control plane of
 * tools/cluster.sh, driven through our own lib/ client (kube.h). Run by
 * tools/cluster-tests.sh, which brings the cluster up and sets
 *   GATECHECK_CLUSTER_DIR  the cluster's directory (kubeconfig, logs, ports)
 *   GATECHECK_CRDS         "v1.6" (the pinned CRDs) or "v1.2" (v1.2.1's)
 *
 * The API server's order matters: mutating admission, then the CRD's own
 * schema and CEL, then validating admission. A schema-invalid object never
 * reaches /validate, so every denial checked here is one that only gwhook
 * makes: a strict finding (gwhook --strict), or, with v1.2.1's CRDs, a rule
 * of v1.6 that the old schema does not have. The CRDs are never weakened.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "defaults.h"
#include "kube.h"
#include "schema.h"
#include "util.h"

#define NS "gatecheck-it"

static const char *dir;
static struct kube_client *kc;
static unsigned probe_port;
static char run_id[16]; /* names are unique per run: the cluster may be reused */

/* ---- helpers ---- */

static cJSON *jparse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *jparse(const char *fmt, ...)
{
    struct sbuf sb = {0};
    va_list ap;
    cJSON *v;

    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    v = cJSON_Parse(sb.buf);
    if (!v) {
        fprintf(stderr, "bad JSON in the test: %s\n", sb.buf);
        exit(2);
    }
    sb_release(&sb);
    return v;
}

static char *read_file(const char *path)
{
    struct sbuf sb = {0};
    char buf[8192];
    size_t n;
    FILE *f = fopen(path, "r");

    if (!f)
        return NULL;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_add(&sb, buf, n);
    fclose(f);
    if (!sb.buf)
        sb_puts(&sb, "");
    return sb_detach(&sb);
}

static unsigned read_port(const char *name)
{
    char *p = xasprintf("%s/%s", dir, name), *s = read_file(p);
    unsigned v = s ? (unsigned)strtoul(s, NULL, 10) : 0;

    free(p);
    free(s);
    return v;
}

static size_t curl_sink(char *d, size_t sz, size_t n, void *arg)
{
    sb_add(arg, d, sz * n);
    return sz * n;
}

/* Sum of the /metrics samples whose line starts with 'prefix'. */
static double metric(const char *prefix)
{
    struct sbuf body = {0};
    char url[64];
    CURL *h = curl_easy_init();
    double sum = 0;
    const char *p;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", probe_port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
    if (curl_easy_perform(h) != CURLE_OK)
        sum = -1;
    curl_easy_cleanup(h);
    for (p = body.buf; sum >= 0 && p && *p;) {
        const char *nl = strchr(p, '\n');

        if (!strncmp(p, prefix, strlen(prefix))) {
            char *line = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
            const char *sp = strrchr(line, ' ');

            if (sp)
                sum += strtod(sp + 1, NULL);
            free(line);
        }
        p = nl ? nl + 1 : NULL;
    }
    sb_release(&body);
    return sum;
}

static double calls(const char *webhook)
{
    char prefix[128];

    snprintf(prefix, sizeof(prefix), "controller_runtime_webhook_requests_total{webhook=\"%s\"",
             webhook);
    return metric(prefix);
}

/* The gwhook log line of a review of kind/name/operation by webhook, with a
   uid; NULL when none. Free it. */
static char *log_line(const char *webhook, const char *kind, const char *name, const char *op,
                      int dry_run)
{
    char *path = xasprintf("%s/logs/gwhook.log", dir), *log = read_file(path), *found = NULL;
    char *want_kind = xasprintf("\"kind\":\"%s\"", kind);
    char *want_name = xasprintf("\"name\":\"%s\"", name);
    char *want_op = xasprintf("\"operation\":\"%s\"", op);
    char *want_wh = xasprintf("\"webhook\":\"%s\"", webhook);
    char *line, *save = NULL;

    for (line = log ? strtok_r(log, "\n", &save) : NULL; line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, want_kind) && strstr(line, want_name) && strstr(line, want_op) &&
            strstr(line, want_wh) && strstr(line, "\"uid\":\"") && !strstr(line, "\"uid\":\"\"") &&
            (dry_run == (strstr(line, "\"dry_run\":true") != NULL)))
            found = xstrdup(line);
    }
    free(path);
    free(log);
    free(want_kind);
    free(want_name);
    free(want_op);
    free(want_wh);
    return found;
}

static int cluster_sh(const char *args)
{
    char *cmd = xasprintf("CLUSTER_DIR='%s' GWHOOK=build/san/gwhook tools/cluster.sh %s "
                          ">> '%s/cluster-sh.log' 2>&1",
                          dir, args, dir);
    int rc = system(cmd);

    if (rc != 0)
        printf("#   tools/cluster.sh %s failed: see %s/cluster-sh.log\n", args, dir);
    free(cmd);
    return rc;
}

static int has_warning(const struct kube_response *r, const char *needle)
{
    size_t i;

    for (i = 0; i < r->nwarnings; i++)
        if (strstr(r->warnings[i], needle))
            return 1;
    return 0;
}

static const char *status_message(const struct kube_response *r)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->body, "message");

    return cJSON_IsString(m) ? m->valuestring : "";
}

/* details.causes[i].field of a Status; NULL past the end. */
static const char *cause_field(const struct kube_response *r, int i)
{
    const cJSON *c =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(r->body, "details"), "causes"),
                           i);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "field");

    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static void diag(const struct kube_response *r)
{
    printf("#   HTTP %ld: %s\n", r->status, r->error ? r->error : "(ok)");
}

static cJSON *route(const char *name, const char *header_value)
{
    return jparse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                  "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" NS "\"},"
                  "\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{\"filters\":[{"
                  "\"type\":\"RequestHeaderModifier\",\"requestHeaderModifier\":{\"set\":[{"
                  "\"name\":\"x-env\",\"value\":\"%s\"}]}}],"
                  "\"backendRefs\":[{\"name\":\"svc\",\"port\":8080}]}]}}",
                  name, header_value);
}

static int create(const cJSON *obj, int dry_run, struct kube_response *r)
{
    struct kube_write_opts o = {.dry_run = dry_run, .field_validation = "Strict"};

    return kube_create(kc, obj, &o, r);
}

/* Repeat a create until 'want_ok' (0/1) holds, for up to 15 s: the API
   server picks webhook configuration changes up asynchronously. */
static int create_until(const cJSON *obj, int want_ok, struct kube_response *r)
{
    int i, rc = -1;

    for (i = 0; i < 60; i++) {
        kube_response_release(r);
        rc = create(obj, 1, r);
        if ((rc == 0) == want_ok)
            break;
        usleep(250 * 1000);
    }
    return rc;
}

/* ---- v1.6 CRDs: the cluster as `make cluster-up` makes it ---- */

static void test_setup(void)
{
    struct kube_response r = {0};
    cJSON *ns =
        jparse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" NS "\"}}");
    int rc = create(ns, 0, &r);

    ok(rc == 0 || (r.reason && !strcmp(r.reason, "AlreadyExists")), "namespace " NS " exists");
    if (rc && !(r.reason && !strcmp(r.reason, "AlreadyExists")))
        diag(&r);
    kube_response_release(&r);
    cJSON_Delete(ns);
}

/* Called for every Gateway API create and update, and for no other object. */
static void test_calls(void)
{
    struct kube_response r = {0};
    char name[64];
    double v0 = calls("/validate"), m0 = calls("/mutate"), v1, m1;
    cJSON *cm, *rt, *patch;
    char *line;

    snprintf(name, sizeof(name), "calls-%s", run_id);
    cm = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
                "\"namespace\":\"" NS "\"},\"data\":{\"a\":\"b\"}}",
                name);
    ok(create(cm, 0, &r) == 0, "ConfigMap created");
    kube_response_release(&r);
    ok(calls("/validate") == v0 && calls("/mutate") == m0,
       "a ConfigMap create reaches neither /validate nor /mutate");

    rt = route(name, "prod");
    ok(create(rt, 0, &r) == 0, "HTTPRoute created");
    if (r.status != 201)
        diag(&r);
    kube_response_release(&r);
    v1 = calls("/validate");
    m1 = calls("/mutate");
    ok(v1 == v0 + 1 && m1 == m0 + 1,
       "the HTTPRoute create: one /validate and one /mutate call "
       "(validate %g -> %g, mutate %g -> %g)",
       v0, v1, m0, m1);
    line = log_line("/validate", "HTTPRoute", name, "CREATE", 0);
    ok(line != NULL, "the create is in gwhook's log with its uid");
    if (line)
        printf("#   %s\n", line);
    free(line);

    patch = jparse("{\"metadata\":{\"labels\":{\"tier\":\"web\"}}}");
    ok(kube_merge_patch(kc, "gateway.networking.k8s.io/v1", "HTTPRoute", NS, name, patch, NULL,
                        &r) == 0,
       "HTTPRoute updated (merge patch)");
    kube_response_release(&r);
    ok(calls("/validate") == v1 + 1 && calls("/mutate") == m1 + 1,
       "the update: one more call of each");
    line = log_line("/validate", "HTTPRoute", name, "UPDATE", 0);
    ok(line != NULL, "the update is in gwhook's log with its uid");
    free(line);

    ok(kube_delete(kc, "gateway.networking.k8s.io/v1", "HTTPRoute", NS, name, NULL, &r) == 0,
       "HTTPRoute deleted");
    kube_response_release(&r);
    ok(calls("/validate") == v1 + 1, "a delete is not sent (rules: CREATE and UPDATE)");
    kube_delete(kc, "v1", "ConfigMap", NS, name, NULL, &r);
    kube_response_release(&r);
    ok(calls("/validate") == v1 + 1 && calls("/mutate") == m1 + 1,
       "ConfigMap update/delete reach neither");
    cJSON_Delete(cm);
    cJSON_Delete(rt);
    cJSON_Delete(patch);
}

/* Soft findings reach the client as Warning headers. */
static void test_warnings(void)
{
    struct kube_response r = {0};
    char name[64];
    cJSON *rt;

    snprintf(name, sizeof(name), "warn-%s", run_id);
    rt = route(name, "prod ");
    ok(create(rt, 1, &r) == 0, "a route with a trailing space in a header value is admitted");
    ok(has_warning(&r, "spec.rules[0].filters[0].requestHeaderModifier.set[0].value: Invalid "
                       "value: \"prod \": strict: header value has a control character"),
       "gwhook's strict finding reaches the client as a Warning header");
    if (!r.nwarnings)
        printf("#   no Warning header\n");
    kube_response_release(&r);
    cJSON_Delete(rt);
}

/* The patch from /mutate is accepted; the stored object is the defaulted one. */
static void test_mutate(void)
{
    struct kube_response r = {0};
    char name[64];
    cJSON *gw, *want;
    const struct schema_node *root;
    char *line, *got_s, *want_s;
    int same;

    snprintf(name, sizeof(name), "defaults-%s", run_id);
    gw = jparse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" NS "\"},"
                "\"spec\":{\"gatewayClassName\":\"gc\",\"listeners\":[{\"name\":\"http\","
                "\"port\":80,\"protocol\":\"HTTP\"},{\"name\":\"https\",\"port\":443,"
                "\"protocol\":\"HTTPS\",\"hostname\":\"*.example.com\",\"tls\":{"
                "\"certificateRefs\":[{\"name\":\"cert\"}]}}]}}",
                name);
    ok(create(gw, 0, &r) == 0, "Gateway without defaults created");
    if (r.status != 201)
        diag(&r);
    line = log_line("/mutate", "Gateway", name, "CREATE", 0);
    ok(line != NULL, "/mutate was called for it");
    if (line)
        printf("#   %s\n", line);
    free(line);

    root = schema_lookup("Gateway", "v1", SCH_STANDARD, NULL);
    want = cJSON_Duplicate(gw, 1);
    defaults_apply(root, want);
    got_s =
        cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r.body ? r.body : want, "spec"));
    want_s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(want, "spec"));
    same = r.body && cJSON_Compare(cJSON_GetObjectItemCaseSensitive(r.body, "spec"),
                                   cJSON_GetObjectItemCaseSensitive(want, "spec"), 1);
    ok(same, "the stored spec is the spec with gatecheck's defaults applied");
    if (!same)
        printf("#   stored: %s\n#   ours:   %s\n", got_s, want_s);
    ok(strstr(got_s, "\"allowedRoutes\":{\"namespaces\":{\"from\":\"Same\"}}") != NULL,
       "listeners got allowedRoutes.namespaces.from: Same");
    free(got_s);
    free(want_s);
    kube_response_release(&r);
    kube_delete(kc, "gateway.networking.k8s.io/v1", "Gateway", NS, name, NULL, &r);
    kube_response_release(&r);
    cJSON_Delete(gw);
    cJSON_Delete(want);
}

/* An UPDATE of a GatewayClass's controllerName is denied. */
static void test_controller_name(void)
{
    struct kube_response r = {0};
    char name[64];
    cJSON *gc, *patch;

    snprintf(name, sizeof(name), "gc-%s", run_id);
    gc = jparse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\","
                "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"controllerName\":"
                "\"example.com/one\"}}",
                name);
    ok(create(gc, 0, &r) == 0, "GatewayClass created");
    kube_response_release(&r);
    patch = jparse("{\"spec\":{\"controllerName\":\"example.com/two\"}}");
    ok(kube_merge_patch(kc, "gateway.networking.k8s.io/v1", "GatewayClass", NULL, name, patch, NULL,
                        &r) != 0 &&
           r.status == 422,
       "changing controllerName: 422");
    ok(strstr(status_message(&r), "spec.controllerName: Invalid value: \"example.com/two\": "
                                  "Value is immutable") != NULL,
       "with the message of the immutability rule");
    if (r.status != 422)
        diag(&r);
    else
        printf("#   %s\n", status_message(&r));
    kube_response_release(&r);
    kube_delete(kc, "gateway.networking.k8s.io/v1", "GatewayClass", NULL, name, NULL, &r);
    kube_response_release(&r);
    cJSON_Delete(gc);
    cJSON_Delete(patch);
}

/* A server-side dry run goes through admission and stores nothing. */
static void test_dry_run(void)
{
    struct kube_response r = {0};
    char name[64], *line;
    cJSON *rt;

    snprintf(name, sizeof(name), "dry-%s", run_id);
    rt = route(name, "prod");
    ok(create(rt, 1, &r) == 0, "dry-run create admitted");
    kube_response_release(&r);
    line = log_line("/validate", "HTTPRoute", name, "CREATE", 1);
    ok(line != NULL, "gwhook saw it, marked dry_run");
    free(line);
    ok(kube_get(kc, "gateway.networking.k8s.io/v1", "HTTPRoute", NS, name, &r) != 0 &&
           r.status == 404,
       "nothing was stored");
    kube_response_release(&r);
    cJSON_Delete(rt);
}

/* With --strict: a denial that only gwhook makes, with its message and causes. */
static void test_strict(void)
{
    struct kube_response r = {0};
    char name[64], *want;
    cJSON *rt;

    ok(cluster_sh("webhook-stop") == 0 && setenv("GWHOOK_FLAGS", "--strict", 1) == 0 &&
           cluster_sh("webhook-start") == 0,
       "gwhook restarted with --strict");
    unsetenv("GWHOOK_FLAGS");
    snprintf(name, sizeof(name), "strict-%s", run_id);
    rt = route(name, "prod ");
    ok(create(rt, 0, &r) != 0 && r.status == 422 && r.reason && !strcmp(r.reason, "Invalid"),
       "an object the CRDs accept is denied: 422 Invalid");
    want = xasprintf("admission webhook \"validate.gatecheck.dev\" denied the request: "
                     "HTTPRoute.gateway.networking.k8s.io \"%s\" is invalid: "
                     "spec.rules[0].filters[0].requestHeaderModifier.set[0].value: Invalid "
                     "value: \"prod \": strict: header value has a control character",
                     name);
    ok(!strncmp(status_message(&r), want, strlen(want)), "with gwhook's message");
    if (strncmp(status_message(&r), want, strlen(want)))
        printf("#   got:  %s\n#   want: %s...\n", status_message(&r), want);
    is_str(cause_field(&r, 0), "spec.rules[0].filters[0].requestHeaderModifier.set[0].value",
           "and its cause's field");
    free(want);
    kube_response_release(&r);

    ok(create(rt, 1, &r) != 0 && r.status == 422, "a server-side dry run is denied the same way");
    kube_response_release(&r);
    ok(kube_get(kc, "gateway.networking.k8s.io/v1", "HTTPRoute", NS, name, &r) != 0 &&
           r.status == 404,
       "the denied object was not stored");
    kube_response_release(&r);
    ok(cluster_sh("webhook-stop") == 0 && cluster_sh("webhook-start") == 0,
       "gwhook restarted without --strict");
    cJSON_Delete(rt);
}

/* failurePolicy with the webhook down: Fail rejects, Ignore admits. */
static void set_failure_policy(const char *policy)
{
    struct kube_response r = {0};
    cJSON *w, *obj;

    if (kube_get(kc, "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", NULL,
                 "gatecheck", &r) == 0) {
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(r.body, "webhooks"))
            cJSON_ReplaceItemInObjectCaseSensitive(w, "failurePolicy", cJSON_CreateString(policy));
        obj = r.body;
        r.body = NULL;
        kube_response_release(&r);
        ok(kube_update(kc, obj, NULL, &r) == 0, "validating webhook: failurePolicy %s", policy);
        cJSON_Delete(obj);
    } else {
        ok(0, "get the ValidatingWebhookConfiguration");
        diag(&r);
    }
    kube_response_release(&r);
}

static void test_failure_policy(void)
{
    struct kube_response r = {0};
    char name[64], *want;
    cJSON *rt;
    unsigned port = read_port("webhook.port");

    snprintf(name, sizeof(name), "down-%s", run_id);
    rt = route(name, "prod");
    ok(cluster_sh("webhook-stop") == 0, "gwhook stopped");
    create(rt, 1, &r);
    want = xasprintf("Internal error occurred: failed calling webhook \"validate.gatecheck.dev\": "
                     "failed to call webhook: Post \"https://127.0.0.1:%u/validate?timeout=5s\": "
                     "dial tcp 127.0.0.1:%u: connect: connection refused",
                     port, port);
    ok(r.status == 500 && !strcmp(status_message(&r), want),
       "failurePolicy Fail: rejected with the API server's message (the mutating webhook, "
       "Ignore, was skipped)");
    if (strcmp(status_message(&r), want))
        printf("#   got:  HTTP %ld %s\n#   want: %s\n", r.status, status_message(&r), want);
    free(want);
    kube_response_release(&r);

    set_failure_policy("Ignore");
    ok(create_until(rt, 1, &r) == 0, "failurePolicy Ignore: admitted while gwhook is down");
    kube_response_release(&r);
    set_failure_policy("Fail");
    ok(create_until(rt, 0, &r) != 0 && r.status == 500, "failurePolicy Fail again: rejected");
    kube_response_release(&r);
    ok(cluster_sh("webhook-start") == 0, "gwhook started again");
    ok(create_until(rt, 1, &r) == 0, "and admits again");
    kube_response_release(&r);
    cJSON_Delete(rt);
}

/* ---- v1.2.1 CRDs: v1.6 rules that the old schema lacks ---- */

static void test_old_crds(void)
{
    struct kube_response r = {0};
    char name[64], *want;
    cJSON *rt, *gw;

    snprintf(name, sizeof(name), "norules-%s", run_id);
    rt = jparse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" NS "\"},"
                "\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[]}}",
                name);
    ok(create(rt, 0, &r) != 0 && r.status == 422, "v1.2.1 CRDs: an HTTPRoute with rules: [] is "
                                                  "denied");
    want = xasprintf("admission webhook \"validate.gatecheck.dev\" denied the request: "
                     "HTTPRoute.gateway.networking.k8s.io \"%s\" is invalid: spec.rules: Invalid "
                     "value: 0: spec.rules in body should have at least 1 items",
                     name);
    is_str(status_message(&r), want, "by gwhook, with v1.6's message");
    free(want);
    is_str(cause_field(&r, 0), "spec.rules", "cause field spec.rules");
    kube_response_release(&r);

    snprintf(name, sizeof(name), "tls-%s", run_id);
    gw = jparse("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" NS "\"},"
                "\"spec\":{\"gatewayClassName\":\"gc\",\"listeners\":[{\"name\":\"tls\","
                "\"port\":443,\"protocol\":\"TLS\",\"hostname\":\"a.example.com\"}]}}",
                name);
    ok(create(gw, 1, &r) != 0 && r.status == 422,
       "v1.2.1 CRDs: a TLS listener without tls (so without tls.mode) is denied");
    want = xasprintf("admission webhook \"validate.gatecheck.dev\" denied the request: "
                     "Gateway.gateway.networking.k8s.io \"%s\" is invalid: spec.listeners: "
                     "Invalid value: tls mode must be set for protocol TLS",
                     name);
    is_str(status_message(&r), want, "by gwhook, with the message of v1.6's rule");
    free(want);
    is_str(cause_field(&r, 0), "spec.listeners", "cause field spec.listeners");
    kube_response_release(&r);
    cJSON_Delete(rt);
    cJSON_Delete(gw);
}

int main(void)
{
    struct kube_load_opts lo = {0};
    struct kube_config *cfg = NULL;
    char err[KUBE_ERR_MAX], *kubeconfig;
    const char *crds = getenv("GATECHECK_CRDS");

    dir = getenv("GATECHECK_CLUSTER_DIR");
    if (!dir) {
        printf("1..0 # SKIP GATECHECK_CLUSTER_DIR is not set (run by tools/cluster-tests.sh)\n");
        return 0;
    }
    util_init_cjson();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(run_id, sizeof(run_id), "%lx", (unsigned long)time(NULL) % 0xfffff);
    probe_port = read_port("webhook.probe-port");
    kubeconfig = xasprintf("%s/kubeconfig", dir);
    lo.kubeconfig = kubeconfig;
    if (kube_config_load(&lo, &cfg, err, sizeof(err)) ||
        !(kc = kube_client_new(cfg, NULL, err, sizeof(err)))) {
        ok(0, "client for %s: %s", kubeconfig, err);
        free(kubeconfig);
        return done_testing();
    }
    test_setup();
    if (crds && !strcmp(crds, "v1.2")) {
        test_old_crds();
    } else {
        test_calls();
        test_warnings();
        test_mutate();
        test_controller_name();
        test_dry_run();
        test_strict();
        test_failure_policy();
    }
    kube_client_free(&kc);
    free(kubeconfig);
    schema_shutdown();
    curl_global_cleanup();
    return done_testing();
}

/*
 * The kubeconfig loader (include/kube.h): the input is one kubeconfig file,
 * written to a private temporary directory (so its relative paths resolve
 * there) and loaded twice: as --kubeconfig, and through KUBECONFIG listing
 * it twice around a missing file (the merge). A loaded configuration is
 * then given to kube_client_new(), which parses the server URL and proxy
 * but sends nothing. kube_config_load() only reads files: exec plugins run
 * at a client's first request or kube_client_token(), never called here.
 * The service-account directory does not exist and the in-cluster
 * variables are unset. Seeds: tests/data/kubeconfig/ (hostile/ included).
 *
 * Invariants: a failure returns no configuration and a message; a success
 * has a context, a cluster, a namespace, a "where" and an http(s) server.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fuzz.h"
#include "kube.h"
#include "util.h"

static void load(const struct kube_load_opts *o)
{
    struct kube_config *cfg = (struct kube_config *)1;
    struct kube_client *c;
    char err[KUBE_ERR_MAX];

    if (kube_config_load(o, &cfg, err, sizeof(err)) != 0) {
        FUZZ_CHECK(cfg == NULL);
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return;
    }
    FUZZ_CHECK(cfg != NULL && cfg->context && cfg->cluster && cfg->namespace && cfg->where);
    FUZZ_CHECK(cfg->server && !strncasecmp(cfg->server, "http", 4));
    c = kube_client_new(cfg, NULL, err, sizeof(err)); /* takes cfg over */
    if (c)
        FUZZ_CHECK(kube_client_namespace(c) != NULL);
    kube_client_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int curl_done;
    struct kube_load_opts o;
    const char *path;
    char *list;

    fuzz_init();
    if (!curl_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_done = 1;
    }
    path = fuzz_write_file("config", data, size);
    memset(&o, 0, sizeof(o));
    o.sa_dir = "/nonexistent/gatecheck-fuzz/serviceaccount";
    o.kubeconfig = path;
    load(&o);

    list = xasprintf("%s:%s:%s", path, fuzz_path("missing"), path);
    o.kubeconfig = NULL;
    setenv("KUBECONFIG", list, 1);
    load(&o);
    unsetenv("KUBECONFIG");
    free(list);
    return 0;
}

/*
 * A small Kubernetes REST client over libcurl (spec ecosystem.md §6), shared
 * by `gwhook certs` and gwconform: where the configuration comes from
 * (kubeconfig files, KUBECONFIG merging, in-cluster service accounts), how
 * credentials are obtained (tokens, token files, client certificates, exec
 * plugins), and the requests themselves (Status errors, Warning headers,
 * Retry-After, discovery, server-side apply, watch).
 *
 * Conventions:
 *  - Configuration and client creation take err/errlen and return 0 or -1
 *    with a one-line message in err (KUBE_ERR_MAX bytes are plenty).
 *  - Requests fill a struct kube_response and return 0 for a 2xx answer,
 *    -1 otherwise; resp->error then says what went wrong, resp->failure
 *    what kind of failure it was. Release the response in every case.
 *  - Out of memory aborts (util.h). No temp files are written: PEM data is
 *    handed to libcurl in memory.
 *  - A client is not thread-safe: one client per thread. A threaded program
 *    calls curl_global_init(CURL_GLOBAL_DEFAULT) once before any client.
 */
#ifndef GC_KUBE_H
#define GC_KUBE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#define KUBE_ERR_MAX          1024
#define KUBE_SA_DIR_DEFAULT   "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_MAX_BODY_DEFAULT ((size_t)64 << 20) /* 64 MiB, like a big List */

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/* Where the configuration came from, in the order they are tried. */
enum kube_source {
    KUBE_SOURCE_FLAG = 1,   /* --kubeconfig FILE: that file only, no merge */
    KUBE_SOURCE_ENV,        /* $KUBECONFIG, colon-separated, merged */
    KUBE_SOURCE_IN_CLUSTER, /* KUBERNETES_SERVICE_HOST/PORT + service account files */
    KUBE_SOURCE_HOME,       /* $HOME/.kube/config */
};

struct kube_load_opts {
    const char *kubeconfig; /* --kubeconfig; NULL: KUBECONFIG, in-cluster, ~/.kube/config */
    const char *context;    /* --context; NULL: the kubeconfig's current-context */
    const char *sa_dir;     /* service account dir; NULL: $GATECHECK_SA_DIR, else
                               KUBE_SA_DIR_DEFAULT */
};

/* PEM text (NUL-terminated; len excludes the NUL). data NULL: not set. */
struct kube_blob {
    char *data;
    size_t len;
};

struct kube_exec_env {
    char *name;
    char *value;
};

/* users[].user.exec (client.authentication.k8s.io/v1 or v1beta1). */
struct kube_exec {
    char *api_version;
    char *command; /* resolved against the kubeconfig's directory when it holds a '/' */
    char **args;
    size_t nargs;
    struct kube_exec_env *env;
    size_t nenv;
    char *install_hint;       /* or NULL */
    int provide_cluster_info; /* put the cluster into KUBERNETES_EXEC_INFO */
    char *interactive_mode;   /* "Never", "IfAvailable" or "Always" */
};

/*
 * The resolved configuration: one cluster, one user, one namespace. Every
 * pointer is owned by the struct (kube_config_free()); NULL means unset.
 * Relative paths are already resolved, files already read (certificates,
 * keys, CA), and *-data fields already decoded: the blobs hold PEM.
 */
struct kube_config {
    enum kube_source source;
    char *where; /* for messages: "cluster 'c' of kubeconfig 'FILE'", "in-cluster config (...)" */
    char *context, *cluster, *user; /* names; NULL in-cluster */
    char *namespace;                /* context's namespace, else "default" */

    char *server;        /* URL without a trailing '/' */
    struct kube_blob ca; /* empty: the system's trust store */
    int insecure;        /* insecure-skip-tls-verify */
    char *tls_server_name;
    char *proxy_url; /* NULL: the http(s)_proxy/NO_PROXY environment, as libcurl reads it */
    int disable_compression;

    struct kube_blob client_cert, client_key;
    char *token;      /* static token, or the first read of token_file */
    char *token_file; /* re-read at least every minute and on 401; wins over token */
    char *username, *password;
    char *as_user, *as_uid; /* impersonation */
    char **as_groups;
    size_t nas_groups;
    char **as_extra; /* "key=value" pairs, one Impersonate-Extra-key header each */
    size_t nas_extra;
    struct kube_exec *exec; /* NULL: no exec plugin */
};

/*
 * Find and resolve the configuration, trying in order:
 *  1. opts->kubeconfig: that single file (must exist);
 *  2. $KUBECONFIG: every listed file that exists, merged (the first file to
 *     set a map key or value wins, the first current-context wins; missing
 *     files are skipped, unparsable ones are errors naming file:line);
 *  3. in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and
 *     the service account's token, ca.crt and namespace files;
 *  4. $HOME/.kube/config.
 * When KUBECONFIG is set but none of its files exist, only in-cluster is
 * tried after it (as client-go). opts->context overrides current-context
 * (an error in-cluster). opts may be NULL. On success *out is the caller's
 * (kube_config_free()).
 */
int kube_config_load(const struct kube_load_opts *opts, struct kube_config **out, char *err,
                     size_t errlen);

/* Free *cfg and set it to NULL; NULL or *cfg NULL is fine. */
void kube_config_free(struct kube_config **cfg);

/* ------------------------------------------------------------------------ */
/* Client                                                                   */
/* ------------------------------------------------------------------------ */

struct kube_client_opts {
    long connect_timeout_ms; /* 0: 10 s (client-go's TLS handshake timeout) */
    long timeout_ms;         /* a whole request; 0: 60 s. A watch has its own */
    int max_retries;         /* on 429/5xx with Retry-After; 0: 10 (client-go); <0: none */
    long max_retry_wait_ms;  /* cap on one Retry-After wait; 0: 30 s */
    size_t max_body;         /* response body (and watch event) cap; 0: 64 MiB */
    long exec_timeout_ms;    /* exec plugin run time; 0: 60 s (interactive: 5 min) */
    const char *user_agent;  /* NULL: "gatecheck/VERSION" */
    /*
     * Cancellation of every request of this client, watches included: called
     * on the requesting thread about once a second while a request connects,
     * waits or streams, and between the slices of a Retry-After wait. When it
     * returns non-zero the request ends: it fails with KUBE_FAIL_CANCELLED (a
     * watch returns KUBE_WATCH_STOPPED). Typically reads another thread's
     * stop flag. NULL: requests run to their timeouts.
     */
    int (*cancel)(void *arg);
    void *cancel_arg;
};

struct kube_client;

/*
 * A client for cfg, which it takes over in every case (it is freed with the
 * client, or at once on failure). opts may be NULL for the defaults.
 * Nothing is sent yet; exec plugins run at the first request.
 */
struct kube_client *kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
                                    char *err, size_t errlen);

/* Free *c (and its configuration) and set it to NULL. */
void kube_client_free(struct kube_client **c);

const struct kube_config *kube_client_config(const struct kube_client *c);

/* The namespace of the configuration (context or service account). */
const char *kube_client_namespace(const struct kube_client *c);

/*
 * The bearer token the next request would send, obtaining it as a request
 * would (re-reading tokenFile when due, running the exec plugin when it has
 * no unexpired credential). *token is NULL when the user has no token
 * (client certificate, basic auth, none), else the caller frees it.
 */
int kube_client_token(struct kube_client *c, char **token, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */

enum kube_failure {
    KUBE_OK = 0,
    KUBE_FAIL_HTTP,       /* the server answered non-2xx: see status, reason, body */
    KUBE_FAIL_TRANSPORT,  /* no answer: DNS, connect, TLS, proxy, timeout */
    KUBE_FAIL_AUTH,       /* no credentials: tokenFile unreadable, exec plugin failed */
    KUBE_FAIL_RESPONSE,   /* an answer we cannot use: too big, not JSON */
    KUBE_FAIL_NOT_SERVED, /* discovery: the kind or apiVersion is not served */
    KUBE_FAIL_USAGE,      /* bad arguments: an object without apiVersion, kind, name */
    KUBE_FAIL_CANCELLED,  /* the client's cancel hook asked to stop (kube_client_opts) */
};

/* An all-zero struct is an empty response; kube_response_release() frees it. */
struct kube_response {
    long status;     /* HTTP status of the last attempt; 0 without an answer */
    cJSON *body;     /* the parsed JSON body (the object, list or Status), or NULL */
    char **warnings; /* texts of the "Warning: 299 - ..." headers, deduplicated */
    size_t nwarnings;
    char *reason; /* Status reason of an error ("NotFound", "Invalid", ...), or NULL */
    char *error;  /* one-line message iff failure != KUBE_OK */
    enum kube_failure failure;
    int retries; /* attempts repeated because of Retry-After */
};

void kube_response_release(struct kube_response *resp);

/*
 * One request: method ("GET", "POST", ...), path with its query ("/api/v1/
 * namespaces?limit=1"), and an optional body (content_type NULL: none).
 * 429 and 5xx answers carrying Retry-After (seconds) are retried up to
 * max_retries times, waiting as told (capped); a 401 with a tokenFile or an
 * exec plugin re-reads or re-runs it and retries once. Returns 0 for 2xx.
 * resp is reset first.
 */
int kube_request(struct kube_client *c, const char *method, const char *path,
                 const char *content_type, const char *body, size_t body_len,
                 struct kube_response *resp);

/* ------------------------------------------------------------------------ */
/* Resources                                                                */
/* ------------------------------------------------------------------------ */

/*
 * The REST path of a kind, found by discovery (GET /api/v1 or /apis/G/V,
 * cached per client): "/apis/gateway.networking.k8s.io/v1/namespaces/ns/
 * httproutes/name/status". ns NULL: the client's namespace; ns "": all
 * namespaces (collections only); ignored for cluster-scoped kinds. name and
 * subresource may be NULL. Returns a string to free, or NULL with resp
 * filled (KUBE_FAIL_NOT_SERVED: "the server does not serve kind X in
 * apiVersion Y: are the CRDs installed?").
 */
char *kube_path(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
                const char *name, const char *subresource, struct kube_response *resp);

/* Options of the writing helpers; NULL means all zero. */
struct kube_write_opts {
    int dry_run;                  /* dryRun=All: validated and admitted, not stored */
    const char *field_validation; /* "Strict", "Warn", "Ignore"; NULL: the server's default */
    const char *subresource;      /* e.g. "status"; NULL: the object itself */
};

struct kube_list_opts {
    const char *label_selector;
    const char *field_selector;
    long limit;                 /* page size; 0: no limit (kube_list_all(): 500) */
    const char *continue_token; /* from the previous page's metadata.continue */
};

struct kube_delete_opts {
    const char *propagation_policy; /* "Foreground", "Background", "Orphan"; NULL: default */
    int dry_run;
};

/* The object in resp->body. */
int kube_get(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
             const char *name, struct kube_response *resp);

/* One page: resp->body is the List; its metadata.continue leads on. */
int kube_list(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
              const struct kube_list_opts *opts, struct kube_response *resp);

/* Every page, items gathered into one List (metadata.continue removed). */
int kube_list_all(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
                  const struct kube_list_opts *opts, struct kube_response *resp);

/*
 * Writes of a whole object: apiVersion, kind and metadata.name (or, for
 * create, generateName) come from obj; metadata.namespace, else the
 * client's namespace. resp->body is the object as stored (or as it would
 * be, with dry_run).
 */
int kube_create(struct kube_client *c, const cJSON *obj, const struct kube_write_opts *opts,
                struct kube_response *resp);
int kube_update(struct kube_client *c, const cJSON *obj, const struct kube_write_opts *opts,
                struct kube_response *resp);
/* kube_update() of the status subresource. */
int kube_update_status(struct kube_client *c, const cJSON *obj, const struct kube_write_opts *opts,
                       struct kube_response *resp);

/* JSON merge patch (RFC 7386; application/merge-patch+json). */
int kube_merge_patch(struct kube_client *c, const char *api_version, const char *kind,
                     const char *ns, const char *name, const cJSON *patch,
                     const struct kube_write_opts *opts, struct kube_response *resp);

/*
 * Server-side apply: PATCH application/apply-patch+yaml (a JSON body) with
 * fieldManager=field_manager (required, e.g. "gwconform") and force=true;
 * creates the object when absent. obj must not carry managedFields.
 */
int kube_apply(struct kube_client *c, const cJSON *obj, const char *field_manager,
               const struct kube_write_opts *opts, struct kube_response *resp);

int kube_delete(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
                const char *name, const struct kube_delete_opts *opts, struct kube_response *resp);

/* ------------------------------------------------------------------------ */
/* Watch                                                                    */
/* ------------------------------------------------------------------------ */

enum kube_watch_result {
    KUBE_WATCH_ERROR = -1, /* resp->error says why */
    KUBE_WATCH_END = 0,    /* the server closed the stream (timeoutSeconds) or it broke:
                              watch again from the last resourceVersion seen */
    KUBE_WATCH_STOPPED,    /* the callback or the client's cancel hook asked to stop */
    KUBE_WATCH_GONE,       /* 410 Gone/Expired: resourceVersion too old, list again */
};

/*
 * Called for each event as it arrives: type is "ADDED", "MODIFIED",
 * "DELETED" or "BOOKMARK" (object then carries only metadata.resourceVersion).
 * object is only valid during the call. Return non-zero to stop watching.
 */
typedef int (*kube_watch_fn)(const char *type, const cJSON *object, void *arg);

struct kube_watch_opts {
    const char *resource_version; /* usually the List's metadata.resourceVersion */
    const char *label_selector;
    const char *field_selector; /* e.g. "metadata.name=web" */
    long timeout_seconds;       /* server-side timeoutSeconds; 0: 300 */
};

/*
 * GET ...?watch=1&allowWatchBookmarks=true&resourceVersion=..&timeoutSeconds=N
 * and deliver the newline-delimited events to fn. The transfer's own timeout
 * is timeout_seconds + 30 s. Returns a kube_watch_result; ERROR events other
 * than 410 end the watch with KUBE_WATCH_ERROR and the Status message. fn's
 * return value can only act when an event arrives: to end a quiet watch from
 * elsewhere, give the client a cancel hook (kube_client_opts), which ends it
 * within about a second with KUBE_WATCH_STOPPED (resp: KUBE_FAIL_CANCELLED).
 */
int kube_watch(struct kube_client *c, const char *api_version, const char *kind, const char *ns,
               const struct kube_watch_opts *opts, kube_watch_fn fn, void *arg,
               struct kube_response *resp);

/* ------------------------------------------------------------------------ */
/* Pure helpers (used by the above; exposed for callers and tests)          */
/* ------------------------------------------------------------------------ */

/*
 * A one-line message for an error answer: from a `kind: Status` body its
 * message (else reason), causes the message does not already mention, and
 * "(HTTP 404 NotFound)"; otherwise the HTTP status and the start of the raw
 * body, control characters replaced. body and raw may be NULL. Free it.
 */
char *kube_status_message(long http_status, const cJSON *body, const char *raw, size_t raw_len);

/*
 * Append the texts of one Warning header value (`299 - "text"`, possibly
 * several, comma-separated, with an optional date) to texts and n, skipping
 * codes other than 299, empty texts and texts already present. Returns 0,
 * or -1 when the value is malformed (what parsed before stays).
 */
int kube_parse_warning(const char *value, char ***texts, size_t *n);

/* Retry-After as client-go reads it: a non-negative integer of seconds. 0 or -1. */
int kube_parse_retry_after(const char *value, long *seconds);

/*
 * The REST path from known parts: "/api/v1" or "/apis/G/V", then
 * "/namespaces/NS" for a namespaced resource with a non-empty ns, then
 * "/RESOURCE", "/NAME", "/SUBRESOURCE". Segments are percent-encoded.
 */
char *kube_rest_path(const char *api_version, const char *resource, int namespaced, const char *ns,
                     const char *name, const char *subresource);

#endif

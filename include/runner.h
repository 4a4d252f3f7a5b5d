/*
 * gwconform's runner (conformance/runner.c): selects the scenarios as
 * upstream's suite does (spec conformance.md §1.3, §1.5), sets up the base
 * environment (§1.4), runs each scenario's steps against the cluster
 * through lib/kube and the gateway through the round tripper, and collects
 * results for the reports. conformance/main.c parses the flags into
 * struct conf_opts and writes the reports.
 */
#ifndef GC_RUNNER_H
#define GC_RUNNER_H

#include <signal.h>

#include "conform.h"

/* Upstream's timeouts (spec §1.12), in seconds. */
struct conf_timeouts {
    double create, del, get, gateway_must_have_address, gateway_must_have_condition,
        gateway_status_must_have_listeners, gateway_listeners_must_have_conditions,
        gwc_must_be_accepted, http_route_must_not_have_parents, http_route_must_have_condition,
        route_must_have_parents, max_time_to_consistency, namespaces_must_be_ready, request_timeout,
        latest_observed_generation_set, default_test_timeout, default_poll_interval;
    int required_consecutive_successes;
    /* gwconform's own: how long one request to the API server is retried
       after a transport error, a 5xx, a 429 or an API not served yet
       (APIServerRetryTimeout; 0: no retry) */
    double api_server_retry;
};

struct conf_opts {
    const char *kubeconfig, *context;
    const char *gateway_class;
    const char *scenarios_dir, *base_dir;
    const char *echo_image;
    struct conf_strlist supported, exempt, profiles, skip_tests;
    const char *run_test;
    int all_features;
    int cleanup_base, cleanup_test;
    int allow_crds_mismatch;
    int skip_provisional;
    int parallel; /* scenarios marked parallel run this many at a time (<= 1: serially) */
    const char *mode;
    struct conf_timeouts timeouts;
};

/* Defaults: gateway class "gateway-conformance", cleanup on, upstream's timeouts. */
void conf_opts_init(struct conf_opts *o);
void conf_timeouts_default(struct conf_timeouts *t);
/*
 * Apply --timeout-config-overrides "Name:SECONDS;Name2:SECONDS" (upstream's
 * Go field names). Unlike upstream, a malformed pair is an error: returns
 * -1 with the pair named in err.
 */
int conf_timeouts_override(struct conf_timeouts *t, const char *spec, char *err, size_t errlen);

/*
 * Set by SIGINT/SIGTERM to the signal's number: the runner starts no new
 * scenario, step or request (a request in flight is abandoned within about
 * a second), reports what was running as interrupted (ERROR), what was not
 * started as skipped, and still deletes what it created.
 */
extern volatile sig_atomic_t conf_interrupted;

/* "SIGTERM", "SIGINT" (or "signal N") for conf_interrupted's value. */
const char *conf_signal_name(int sig);

/* ---- retries of the runner's API server requests (conformance/faults.c) -- */

/* What a request does, for deciding whether sending it again is safe. */
enum conf_api_op {
    CONF_API_READ,   /* GET, LIST */
    CONF_API_APPLY,  /* server-side apply: the same object again is the same */
    CONF_API_PATCH,  /* JSON merge patch: applying it twice is applying it once */
    CONF_API_DELETE, /* the caller takes NotFound as done */
    CONF_API_CREATE, /* the caller takes 409 AlreadyExists as done */
    CONF_API_UPDATE, /* PUT with a resourceVersion: a second one may conflict */
};

struct kube_response;

/*
 * The fault of a failed request: transport errors by curl's words, 503,
 * other 5xx, 429, and a 404 without a Status body (the path is not served:
 * an API server starting up) or discovery without the kind. CONF_FAULT_NONE
 * for an answer that stands (2xx, a Status NotFound, Conflict, Invalid...).
 */
enum conf_fault conf_api_fault(const struct kube_response *resp);

/*
 * Whether a request that met fault f may be sent again: faults after which
 * the server cannot have acted (refused, TLS, 503, 429, not served) for
 * every operation; the others (reset, timeout, other 5xx) only for
 * operations that are safe to repeat (not CONF_API_UPDATE).
 */
int conf_api_retryable(enum conf_fault f, enum conf_api_op op);

/* The wait before retry number n (1, 2, ...): 0.25 s doubling, at most 2 s. */
double conf_api_backoff(unsigned n);

/*
 * Run everything. Fills *results (an array of *nresults, freed by the
 * caller with conf_scenario_result_release() each and free()) and *info
 * (resolved features, versions). Returns 0 when the run happened (tests may
 * have failed), -1 when it could not (no cluster, bad scenarios, GatewayClass
 * not accepted...) with the cause in err; *results may then hold what ran.
 */
int conf_run(const struct conf_opts *o, struct conf_run_info *info,
             struct conf_scenario_result **results, size_t *nresults, char *err, size_t errlen);

/* List the scenarios of dir with their features and profile (gwconform list). */
int conf_list(const char *dir, char *err, size_t errlen);

#endif

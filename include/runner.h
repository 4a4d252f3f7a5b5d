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

/* Set by SIGINT/SIGTERM: the runner stops starting steps, marks the rest skipped. */
extern volatile sig_atomic_t conf_interrupted;

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

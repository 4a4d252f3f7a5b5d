/*
 * gwconform scenarios (docs/SCENARIOS.md): one YAML file per upstream
 * conformance test under conformance/scenarios/, loaded into the structs
 * below, and the wait helpers of upstream's suite (spec conformance.md §1.7,
 * §1.8) as pure functions on objects the runner has fetched.
 *
 * Loading (conformance/scenario.c):
 *  - conf_scenario_load() reads one file; conf_scenarios_load_dir() every
 *    *.yaml of a directory, sorted by scenario name, duplicate names refused.
 *  - Any mistake (unknown key, wrong type, missing field, a `file:` that
 *    does not load) is an error "FILE:LINE: FIELD: what is wrong", e.g.
 *    "s.yaml:14: steps[2].wait.for: unknown wait 'gateway-ready'". LINE is
 *    that of the mapping or list holding the field (YAML scalars carry no
 *    line of their own, see yamlj.h). Nothing is applied before all loads.
 *
 * Waiting (conformance/wait.c). The runner's poll loop for one wait step:
 *
 *     struct conf_wait_state st;
 *     conf_wait_state_init(&st);
 *     deadline = now + timeout(conf_wait_timeout_name(w, &st));
 *     for (;;) {
 *         n = conf_wait_fetches(w, &st, &f);       what to GET or LIST now
 *         ... fill fetched[i] from kube_get()/kube_list_all() of f[i] ...
 *         v = conf_wait_check(w, &objs, &st, &why, &yield);
 *         if v == CONF_WAIT_DONE: record yield (an address or a
 *             controllerName), pass;
 *         if v == CONF_WAIT_FATAL: fail at once with why;
 *         if v == CONF_WAIT_ADVANCED: a phase of a compound wait is done:
 *             deadline = now + timeout(conf_wait_timeout_name(w, &st)),
 *             poll again at once;
 *         if v == CONF_WAIT_PENDING: if past the deadline fail with why
 *             (the last one), else sleep conf_wait_poll_ms(w) (0: the
 *             configured DefaultPollInterval) and poll again;
 *         free why and yield;
 *     }
 *     conf_wait_state_release(&st);
 *
 * The first poll is immediate, as upstream's PollUntilContextTimeout(...,
 * immediate=true). A failed wait stops the scenario unless
 * conf_wait_timeout_continues() says upstream only marks it failed.
 *
 * Ownership: every pointer in these structs is owned by the struct that
 * holds it; conf_scenario_free() frees a whole scenario. The loader never
 * keeps pointers into the parsed YAML.
 */
#ifndef GC_SCENARIO_H
#define GC_SCENARIO_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "conform.h"

/* The namespace a reference without one means (spec conformance.md §3.1). */
#define CONF_DEFAULT_NAMESPACE "gateway-conformance-infra"
/* Placeholders the runner substitutes in manifests (conf_manifest_subst()). */
#define CONF_PLACEHOLDER_GATEWAY_CLASS "{GATEWAY_CLASS_NAME}"
#define CONF_PLACEHOLDER_ECHO_IMAGE    "{ECHO_IMAGE}"
#define CONF_DEFAULT_ECHO_IMAGE        "registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0"

/* ---- objects ------------------------------------------------------------ */

/*
 * One Kubernetes object to create or update, as written (placeholders not
 * yet substituted). file/line: where it was written (the scenario file for
 * an inline object, the referenced file for a `file:` entry).
 */
struct conf_manifest {
    cJSON *obj;
    char *file;
    int line;
};

struct conf_manifests {
    struct conf_manifest *v;
    size_t n;
};

/*
 * A reference to one object. api_version is filled from the kind when the
 * file omits it (Gateway, GatewayClass, HTTPRoute, GRPCRoute:
 * gateway.networking.k8s.io/v1; ReferenceGrant: .../v1beta1; Service,
 * Namespace, Pod, Secret, ConfigMap: v1; Deployment: apps/v1); namespace_
 * is NULL for the cluster-scoped GatewayClass and Namespace, else
 * CONF_DEFAULT_NAMESPACE when omitted.
 */
struct conf_target {
    char *api_version;
    char *kind;
    char *namespace_;
    char *name;
    int line;
};

/* A condition to look for: status or reason NULL match anything (§1.7). */
struct conf_condition {
    char *type;
    char *status; /* "True", "False", "Unknown" or NULL */
    char *reason;
    int line;
};

struct conf_conditions {
    struct conf_condition *v;
    size_t n;
};

/* ---- waits (spec conformance.md §1.7) ----------------------------------- */

enum conf_wait_kind {
    /* GatewayAndRoutesMustBeAccepted: three phases, yields the address */
    CONF_WAIT_GATEWAY_AND_ROUTES_ACCEPTED = 1,
    CONF_WAIT_GATEWAY_ADDRESS,           /* WaitForGatewayAddress; yields the address */
    CONF_WAIT_ROUTE_CONDITION,           /* HTTPRouteMustHaveCondition (+ other route kinds) */
    CONF_WAIT_ROUTE_NO_ACCEPTED_PARENTS, /* HTTPRouteMustHaveNoAcceptedParents */
    CONF_WAIT_GATEWAY_CONDITION,         /* GatewayMustHaveCondition */
    CONF_WAIT_GATEWAY_LISTENERS,         /* GatewayStatusMustHaveListeners */
    CONF_WAIT_LISTENER_CONDITIONS,       /* GatewayListener(s)MustHaveConditions */
    CONF_WAIT_GATEWAY_ZERO_ROUTES,       /* GatewayMustHaveZeroRoutes */
    CONF_WAIT_LATEST_GENERATION,     /* {Gateway,GatewayClass,HTTPRoute}MustHaveLatestConditions */
    CONF_WAIT_GATEWAYCLASS_ACCEPTED, /* GWCMustHaveAcceptedCondition{True,Any}; yields
                                        controllerName */
    CONF_WAIT_NAMESPACES_READY,      /* NamespacesMustBeReady */
    CONF_WAIT_ROUTE_PARENTS,         /* HTTPRouteMustHaveParents (RouteMustHaveParents) */
};

/* A route kind's group is gateway.networking.k8s.io unless group says otherwise. */
struct conf_route_kind {
    char *group; /* NULL: gateway.networking.k8s.io */
    char *kind;
};

/* One expected entry of gateway.status.listeners (GatewayStatusMustHaveListeners). */
struct conf_listener_expect {
    char *name;
    struct conf_route_kind *kinds; /* supportedKinds ⊇ kinds; nkinds 0: must be empty */
    size_t nkinds;
    long long attached_routes;         /* compared exactly */
    struct conf_conditions conditions; /* ⊆ the listener's conditions */
    int line;
};

/* One expected entry of route.status.parents (RouteMustHaveParents). */
struct conf_parent_expect {
    struct conf_target gateway;        /* parentRef group/kind/name/namespace to match */
    struct conf_conditions conditions; /* ⊆ the entry's conditions */
    int line;
};

/*
 * A wait step. Which fields mean something depends on kind (docs/
 * SCENARIOS.md has the table); the loader has checked that the required
 * ones are set and that no others are.
 */
struct conf_wait {
    enum conf_wait_kind kind;
    int line;
    struct conf_target gateway; /* the Gateway (kind "Gateway"); for route waits the parent */
    struct conf_target route;   /* route-condition, route-no-accepted-parents, route-parents */
    struct conf_target *routes; /* gateway-and-routes-accepted */
    size_t nroutes;
    /*
     * gateway-and-routes-accepted, gateway-address: upstream's GatewayRef
     * listener names (the first named listener gives the port; none: the
     * first listener). listener-conditions: the listeners to check (none:
     * every listener in status).
     */
    struct conf_strlist listeners;
    int use_port; /* gateway-and-routes-accepted: keep ":port" in the address (default 1) */
    struct conf_conditions
        conditions; /* route-/gateway-condition: exactly one; listener-conditions */
    struct conf_listener_expect *expect_listeners; /* gateway-listeners */
    size_t nexpect_listeners;
    struct conf_target object;      /* latest-generation: a Gateway, GatewayClass or route */
    int generation_changed;         /* latest-generation: metadata.generation must differ from
                                       conf_objects.generation_before */
    char *gateway_class;            /* gatewayclass-accepted: the GatewayClass (the runner's own
                                       setup wait fills in --gateway-class) */
    int any_status;                 /* gatewayclass-accepted: Accepted with any status */
    struct conf_strlist namespaces; /* namespaces-ready */
    struct conf_parent_expect *expect_parents; /* route-parents: each must match an entry */
    size_t nexpect_parents;
    int namespace_required; /* route-parents: an unset parentRef.namespace does not match */
};

/* What the runner must fetch for the next poll. Strings point into the wait. */
struct conf_fetch {
    const char *api_version;
    const char *kind;
    const char *namespace_; /* NULL: cluster-scoped */
    const char *name;       /* NULL: list every object of the kind in namespace_ */
};

/* What the runner fetched: one entry per conf_fetch, in the same order. */
struct conf_fetched {
    const cJSON *obj;  /* the object (GET) or the List (list); NULL when the call failed */
    const char *error; /* why the call failed (obj NULL), e.g. "HTTPRoute ... not found" */
};

struct conf_objects {
    const struct conf_fetched *v;
    size_t n;
    const char *controller_name; /* the GatewayClass's spec.controllerName (route parents) */
    /*
     * latest-generation with generation_changed: the object's
     * metadata.generation before the scenario's latest patch or update step
     * of that object (the runner records it); -1 when unknown.
     */
    long long generation_before;
};

/* Per-wait memory across polls; all zero (conf_wait_state_init()) at the start. */
struct conf_wait_state {
    int phase;      /* gateway-and-routes-accepted: 0 address, 1..nroutes routes, then listeners */
    int polls;      /* polls of the current phase */
    int empty_seen; /* route-no-accepted-parents: status.parents was empty on an earlier poll */
    cJSON *prev_parents; /* route phase: the previous poll's status.parents (staleness, §1.7) */
    char *address;       /* gateway-and-routes-accepted: found in phase 0 */
};

enum conf_wait_verdict {
    CONF_WAIT_PENDING = 0, /* not yet: poll again (why says what is missing) */
    CONF_WAIT_DONE,        /* satisfied */
    CONF_WAIT_ADVANCED,    /* a phase is done: new deadline, poll again at once */
    CONF_WAIT_FATAL,       /* fail now: a GET failed where upstream aborts, stale Gateway
                              conditions in gateway-condition, a Gateway without listeners */
};

void conf_wait_state_init(struct conf_wait_state *st);
void conf_wait_state_release(struct conf_wait_state *st);

/*
 * The objects to fetch for the next poll of w in state st: *out is a new
 * array (free() it; its strings belong to w), the return value its length.
 */
size_t conf_wait_fetches(const struct conf_wait *w, const struct conf_wait_state *st,
                         struct conf_fetch **out);

/*
 * Judge one poll. *why is always set to a new one-line reason, e.g.
 * "HTTPRoute gateway-conformance-infra/r: expected Accepted=True on parent
 * same-namespace, got Accepted=False reason NotAllowedByListeners"; *yield
 * is set on CONF_WAIT_DONE for the waits that yield something (the gateway
 * address "host:port" or "host", or the GatewayClass's controllerName), else
 * NULL. The caller frees both. Never blocks, never does I/O.
 */
enum conf_wait_verdict conf_wait_check(const struct conf_wait *w,
                                       const struct conf_objects *fetched,
                                       struct conf_wait_state *st, char **why, char **yield);

/*
 * The name of upstream's timeout (spec §1.12, e.g. "RouteMustHaveParents")
 * that bounds the current phase of w.
 */
const char *conf_wait_timeout_name(const struct conf_wait *w, const struct conf_wait_state *st);

/* Poll interval in ms: 0 for the configured DefaultPollInterval, 1000 for
   route-no-accepted-parents (upstream's fixed 1 s). */
long conf_wait_poll_ms(const struct conf_wait *w);

/* 1 when upstream only marks a timed-out wait failed and goes on
   (GatewayMustHaveZeroRoutes uses t.Errorf), 0 when it stops the test. */
int conf_wait_timeout_continues(const struct conf_wait *w);

/* The kind's name in scenario files ("route-condition"), or NULL. */
const char *conf_wait_kind_name(enum conf_wait_kind kind);

/* One line for logs and default case names: "route-condition HTTPRoute
   gateway-conformance-infra/r parent same-namespace Accepted=True". Free it. */
char *conf_wait_describe(const struct conf_wait *w);

/* ---- steps -------------------------------------------------------------- */

enum conf_step_kind {
    CONF_STEP_APPLY = 1, /* create or update the objects (spec §1.6) */
    CONF_STEP_WAIT,
    CONF_STEP_REQUEST,   /* MakeRequestAndExpectEventuallyConsistentResponse, or ...Failure */
    CONF_STEP_PATCH,     /* JSON merge patch (RFC 7386) of one object */
    CONF_STEP_UPDATE,    /* full update (PUT with the live resourceVersion) */
    CONF_STEP_DELETE,    /* delete, NotFound is fine, no wait */
    CONF_STEP_ENDPOINTS, /* fill EndpointSlices with a Deployment's Pod IPs (HTTPRouteServiceTypes)
                          */
};

struct conf_weight {
    char *backend;
    double weight; /* 0 to 1 */
};

#define CONF_WEIGHT_SAMPLES   500
#define CONF_WEIGHT_TOLERANCE 0.05
#define CONF_WEIGHT_ATTEMPTS  10

struct conf_step_request {
    /*
     * Whose address: a Gateway some earlier wait yielded an address for
     * (name NULL: the address the latest such wait yielded). When no wait
     * yielded one for this Gateway the runner waits for it itself
     * (gateway-address with no listener names).
     */
    struct conf_target gateway;
    char *port;                   /* replaces the address's port (or adds one); NULL: keep */
    char *scheme;                 /* "http" (default) or "https" */
    char *server_name;            /* https: SNI and the name verified */
    struct conf_target ca_secret; /* https: kind Secret whose tls.crt is trusted; name NULL: none */
    int expect_failure;           /* MakeRequestAndExpectFailure (spec §1.9) */
    struct conf_request request;
    struct conf_expect expect;
    /*
     * HTTPRouteWeight: after the expected answer, CONF_WEIGHT_SAMPLES
     * requests whose backends (pod name minus its last two '-' segments)
     * must be exactly those with a weight above 0, each within
     * CONF_WEIGHT_TOLERANCE of its weight; retried CONF_WEIGHT_ATTEMPTS
     * times. nweights 0: no distribution check.
     */
    struct conf_weight *weights;
    size_t nweights;
};

struct conf_step_patch {
    struct conf_target target;
    cJSON *merge; /* the merge patch document */
};

/*
 * HTTPRouteServiceTypes' setup: the EndpointSlices named (in the
 * Deployment's namespace) get one ready endpoint per IP of the Deployment's
 * Pods whose family matches the slice's addressType; a slice with no
 * matching IP is left alone.
 */
struct conf_step_endpoints {
    struct conf_target deployment;
    struct conf_strlist slices;
};

struct conf_step {
    enum conf_step_kind kind;
    char *name; /* the case name in reports; NULL: conf_step_default_name() */
    int line;
    struct conf_manifests apply;          /* CONF_STEP_APPLY */
    struct conf_wait wait;                /* CONF_STEP_WAIT */
    struct conf_step_request request;     /* CONF_STEP_REQUEST */
    struct conf_step_patch patch;         /* CONF_STEP_PATCH */
    struct conf_manifest update;          /* CONF_STEP_UPDATE: the whole new object */
    struct conf_target del;               /* CONF_STEP_DELETE */
    struct conf_step_endpoints endpoints; /* CONF_STEP_ENDPOINTS */
};

/* ---- weighted backends (conformance/weights.c) --------------------------- */

/* Upstream's backend of a pod name: the name without its last two '-'
   segments ("infra-backend-v1-7d9f-x2k4q" -> "infra-backend-v1"). Free it. */
char *conf_weight_backend(const char *pod);

/*
 * HTTPRouteWeight's verdict on the pods that answered npods requests
 * (upstream's utils/weight): the backends seen must be exactly those with a
 * weight above 0, and each one's share within 'tolerance' of its weight.
 * Returns 1, or 0 with *why saying which share or backend was wrong.
 */
int conf_weights_judge(const struct conf_weight *w, size_t nw, char *const *pods, size_t npods,
                       double tolerance, char **why);

/* ---- scenarios ---------------------------------------------------------- */

struct conf_scenario {
    char *file; /* the path it was loaded from */
    int line;   /* where its document starts */
    char *name; /* upstream's ShortName, e.g. HTTPRouteSimpleSameNamespace */
    char *description;
    struct conf_strlist features; /* --supported-features names, in file order */
    char *profile;                /* e.g. "GATEWAY-HTTP" */
    int extended;                 /* level: extended (1) or core (0) */
    int provisional;
    int parallel;                    /* upstream's Parallel flag */
    struct conf_manifests manifests; /* applied, in order, before the steps */
    struct conf_step *steps;
    size_t nsteps;
};

struct conf_scenario_list {
    struct conf_scenario **v; /* sorted by name */
    size_t n;
};

/*
 * Load one scenario file. 0 and *out (conf_scenario_free()) on success; -1
 * with "FILE:LINE: FIELD: message" in err otherwise.
 */
int conf_scenario_load(const char *path, struct conf_scenario **out, char *err, size_t errlen);

/* Free *sc and set it to NULL; NULL is fine. */
void conf_scenario_free(struct conf_scenario **sc);

/*
 * Load every *.yaml file directly in dir (subdirectories hold the manifests
 * that `file:` entries reference, and are not scanned). Sorted by scenario
 * name; two scenarios with one name are an error naming both files. On
 * failure nothing is returned and err names the first bad file.
 */
int conf_scenarios_load_dir(const char *dir, struct conf_scenario_list *out, char *err,
                            size_t errlen);
void conf_scenario_list_release(struct conf_scenario_list *l);

/*
 * A multi-document manifest file (e.g. conformance/base/manifests.yaml):
 * every non-empty document must be an object with apiVersion, kind and
 * metadata.name. Appended to *out; 0, or -1 with "FILE:LINE: message".
 */
int conf_manifests_load_file(const char *path, struct conf_manifests *out, char *err,
                             size_t errlen);
void conf_manifests_release(struct conf_manifests *m);

/*
 * Replace every string value of obj (recursively) that contains
 * placeholder by the same string with each occurrence replaced by value.
 * Returns the number of strings changed.
 */
size_t conf_manifest_subst(cJSON *obj, const char *placeholder, const char *value);

/*
 * The case name of step i when it has none: for a request step upstream's
 * GetTestCaseName() with the index among the scenario's request steps,
 * "<k> request to '<host><path>'[ with headers] should go to <backend>"
 * or "... should receive one of [<codes>]"; for the others "<kind>: <what>"
 * (e.g. "wait: route-condition HTTPRoute .../r ..."). Free it.
 */
char *conf_step_default_name(const struct conf_scenario *sc, size_t i);

#endif

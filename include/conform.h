/*
 * gwconform's shared types (conformance/): what a request step sends, what
 * it expects, what came back, and the results the reports are made of.
 * Semantics follow upstream's suite (spec conformance.md §1.9, §1.10, §5).
 *
 * Ownership: every char * and array in these structs is owned by the
 * struct; the *_release() functions free them and leave the struct zeroed.
 * NULL strings mean "not set".
 */
#ifndef GC_CONFORM_H
#define GC_CONFORM_H

#include <stddef.h>
#include <time.h>

/* name/value pairs, in order; header names compare case-insensitively */
struct conf_kv {
    char *name;
    char *value;
};

struct conf_kvlist {
    struct conf_kv *v;
    size_t n;
};

struct conf_strlist {
    char **v;
    size_t n;
};

/* ---- a request step --------------------------------------------------- */

/* What is sent (upstream's http.Request). */
struct conf_request {
    char *host;                                      /* Host header; NULL: the gateway address */
    char *method;                                    /* NULL: GET */
    char *path;                                      /* path, optionally ?query; NULL: "/" */
    struct conf_kvlist headers;                      /* each sent once */
    struct conf_kvlist backend_set_response_headers; /* X-Echo-Set-Header: n:v,n:v (always sent) */
    int unfollow_redirect;                           /* return the 3xx instead of following it */
    char *body;                                      /* NULL: none */
};

/* What the backend must have seen (ExpectedRequest); set 0: the request itself. */
struct conf_expected_request {
    int set;
    char *host;   /* NULL: not compared */
    char *method; /* NULL: the sent method (GET) */
    char *path;   /* NULL: the sent path; compared exactly with echo "path" (with query) */
    struct conf_kvlist headers; /* echo headers, values joined with "," */
    struct conf_strlist absent_headers;
    char *http_port;   /* NULL or "": not compared; else equals echo "httpPort" */
    char *sni;         /* NULL or "": not compared; else equals echo tls.serverName */
    char *client_cert; /* NULL or "": not compared; else a PEM in echo tls.peerCertificates */
};

/* Where a redirect must point (RedirectRequest); set 0: not compared. */
struct conf_redirect {
    int set;
    char *scheme; /* NULL: the request's scheme */
    char *host;   /* NULL: the Location's host */
    char *port;   /* NULL or "": the scheme's default ("" or 80/443) */
    char *path;   /* NULL: the request's path */
};

struct conf_valid_values {
    char *name;
    struct conf_strlist values; /* the header must equal one of these */
};

struct conf_expected_response {
    int *status_codes; /* nstatus 0: {200} */
    size_t nstatus;
    struct conf_kvlist headers; /* exact; several values joined with "," */
    struct conf_valid_values *valid;
    size_t nvalid;
    struct conf_strlist absent_headers;
    int ignore_whitespace;
    char *protocol; /* e.g. "HTTP/1.1"; NULL: not compared */
};

/* ExpectedResponse without the request (kept apart in struct conf_request). */
struct conf_expect {
    struct conf_expected_request request;
    struct conf_expected_response response;
    struct conf_redirect redirect;
    char *backend;    /* expected echo pod name prefix; NULL or "": any */
    char *namespace_; /* expected echo namespace; compared always (NULL is "") */
};

/* ---- runner faults (docs/RELIABILITY.md, "Runner faults") ------------- */

/* What one attempt at the API server or at the gateway ran into. */
enum conf_fault {
    CONF_FAULT_NONE = 0,   /* an answer the caller can judge */
    CONF_FAULT_REFUSED,    /* connection refused: nothing listens there */
    CONF_FAULT_RESET,      /* the connection was reset or closed without an answer */
    CONF_FAULT_TIMEOUT,    /* no answer within the request's timeout */
    CONF_FAULT_TLS,        /* the TLS handshake failed */
    CONF_FAULT_NETWORK,    /* another transport error (DNS, unreachable, ...) */
    CONF_FAULT_HTTP_503,   /* an HTTP 503 answer */
    CONF_FAULT_HTTP_5XX,   /* another HTTP 5xx answer */
    CONF_FAULT_THROTTLED,  /* API server: 429 */
    CONF_FAULT_NOT_SERVED, /* API server: the API is not served (yet): a 404 without a
                              Status, or discovery without the kind */
    CONF_FAULT_COUNT
};

#define CONF_FAULT_EVENTS 8 /* event lines kept per case, scenario and run */

/*
 * What the runner met on its way, per case, per scenario (its cases
 * included) and per run. API server counts are of the runner's requests;
 * gateway counts of the request cases' attempts.
 */
struct conf_faults {
    unsigned api_retried; /* requests that failed and were sent again */
    unsigned api_retries; /* attempts repeated (the client's Retry-After ones included) */
    unsigned api_gave_up; /* retried requests that still failed in the end */
    unsigned api_by_fault[CONF_FAULT_COUNT]; /* failed attempts, by fault */
    double api_seconds;                      /* time spent on the retried requests */
    unsigned gw_attempts;                    /* request attempts */
    unsigned gw_by_fault[CONF_FAULT_COUNT];  /* attempts without a usable answer, or 5xx */
    long gw_5xx_status;                      /* the 5xx status seen; -1: several different */
    struct conf_strlist events;              /* one line each: what failed, how it ended */
    unsigned events_dropped;                 /* beyond CONF_FAULT_EVENTS */
};

/* ---- what came back --------------------------------------------------- */

/* The echo backend's JSON (spec conformance.md §2.1); parsed only when the
   response's Content-Type is exactly application/json. */
struct conf_echo {
    int parsed;
    char *path, *host, *method, *proto, *namespace_, *pod, *http_port;
    struct conf_kvlist headers; /* values of a repeated header joined with "," */
    char *tls_server_name;
    struct conf_strlist tls_peer_certificates;
};

struct conf_captured {
    long status;                /* 0: no HTTP response (see error) */
    char *proto;                /* "HTTP/1.1", "HTTP/2.0" */
    char *error;                /* transport error (connect, TLS, timeout), or NULL */
    enum conf_fault fault;      /* the transport error's kind; CONF_FAULT_NONE otherwise */
    struct conf_kvlist headers; /* response headers; repeated ones joined with "," */
    struct conf_echo echo;
    struct conf_redirect location; /* for a 3xx: the parsed Location (set 1) */
    char *url;                     /* the URL requested */
    char *body_start;              /* the first bytes of a non-JSON body, for reports */
};

/* Free every element and the array; the list is empty afterwards. */
void conf_kvlist_release(struct conf_kvlist *l);
void conf_strlist_release(struct conf_strlist *l);
/* Append a copy of s. */
void conf_strlist_add(struct conf_strlist *l, const char *s);
/* Free everything an echo holds; it is zeroed afterwards. */
void conf_echo_release(struct conf_echo *e);

void conf_request_release(struct conf_request *r);
void conf_expect_release(struct conf_expect *e);
void conf_captured_release(struct conf_captured *c);

/* ---- results ---------------------------------------------------------- */

enum conf_result {
    CONF_PASS = 0,
    CONF_FAIL,          /* an assertion failed */
    CONF_ERROR,         /* could not be judged: API errors, timeouts before the assertion */
    CONF_SKIP,          /* --skip-tests, not --run-test, or interrupted */
    CONF_NOT_SUPPORTED, /* needs a feature the implementation does not claim */
};

struct conf_case_result {
    char *name;
    enum conf_result result;
    double seconds;
    char *message;             /* one line: why it failed or was skipped */
    char *detail;              /* several lines: expected against got; NULL when passed */
    struct conf_faults faults; /* met while this case ran */
};

struct conf_scenario_result {
    char *name; /* e.g. HTTPRouteSimpleSameNamespace */
    char *description;
    char *profile; /* e.g. GATEWAY-HTTP */
    int extended;  /* 0: core */
    int provisional;
    struct conf_strlist features;
    enum conf_result result; /* the worst of its cases, or its own setup error */
    double seconds;
    char *message; /* scenario-level failure (setup, apply, cleanup), or NULL */
    struct conf_case_result *cases;
    size_t ncases;
    struct conf_faults faults; /* the whole scenario's, its cases' included */
};

struct conf_implementation {
    char *organization, *project, *url, *version;
    struct conf_strlist contact;
};

/* What the run was: for the report headers. */
struct conf_run_info {
    struct conf_implementation impl;
    char *mode;                /* "default" */
    char *gateway_api_version; /* from the CRDs' bundle-version annotation, or "UNDEFINED" */
    char *gateway_api_channel; /* "standard" | "experimental" | "UNDEFINED" */
    char *gateway_class;
    struct conf_strlist profiles;                          /* --conformance-profiles */
    struct conf_strlist supported_features;                /* resolved */
    struct conf_strlist all_extended_features_of_profiles; /* for unsupportedFeatures */
    time_t started;
    double seconds;
    char *hostname;
    struct conf_faults faults; /* the whole run's: setup, scenarios, cleanup */
    int interrupted;           /* the signal (SIGINT, SIGTERM) that stopped the run, or 0 */
};

void conf_scenario_result_release(struct conf_scenario_result *r);
void conf_run_info_release(struct conf_run_info *i);

/* ---- runner faults: pure helpers (conformance/faults.c) ---------------- */

void conf_faults_release(struct conf_faults *f);
/* Anything worth reporting: an API server retry or a gateway fault. */
int conf_faults_any(const struct conf_faults *f);
/* Add src's counts and events to dst (events beyond the cap are counted). */
void conf_faults_add(struct conf_faults *dst, const struct conf_faults *src);
/* Record one event line (a copy), or count it as dropped beyond the cap. */
void conf_faults_event(struct conf_faults *f, const char *line);
/* "connection refused", "HTTP 503", ... */
const char *conf_fault_name(enum conf_fault f);
/*
 * One line for reports, empty when !conf_faults_any(): "API server: 2
 * requests retried 9 times in 12.3 s (connection refused x8, HTTP 503 x1),
 * 0 gave up; gateway: 14 attempts, 12 answered 503, 2 timed out".
 */
char *conf_faults_describe(const struct conf_faults *f);
/* The gateway's kind of answer for one attempt: got->fault, else 503/5xx, else NONE. */
enum conf_fault conf_gateway_fault(const struct conf_captured *got);
/*
 * Count one attempt at the gateway. status_expected: the case expects this
 * answer's status (a 500 for a missing backend, any failure for
 * expect_failure), so a 5xx is an answer, not a fault.
 */
void conf_gateway_count(struct conf_faults *f, const struct conf_captured *got,
                        int status_expected);
/*
 * Why a request case found no consistent answer, from its attempts'
 * counts: "gateway returned 503 on every attempt (12 attempts in 30 s)",
 * "gateway did not answer within 10 s on 3 attempts (every attempt, 31 s)",
 * "connection refused on every attempt (...)", or "no consistent answer
 * after 40 attempts in 30 s" with the faults among them in parentheses.
 * request_timeout is the per-attempt bound (RequestTimeout), in seconds.
 */
char *conf_gateway_verdict(const struct conf_faults *f, double seconds, double request_timeout);

#endif

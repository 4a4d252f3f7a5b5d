/*
 * gwconform's HTTP assertions (spec conformance.md §1.9, §1.10): judging one
 * round trip against an expectation (pure: conformance/compare.c), the retry
 * loop around it as a state machine (pure), and the round tripper that sends
 * a request with libcurl and captures what came back
 * (conformance/roundtrip.c).
 *
 * Strings in the expectation follow include/conform.h: NULL means "not
 * set". Every char * returned here is malloc'd; the caller frees it.
 */
#ifndef GC_ROUNDTRIP_H
#define GC_ROUNDTRIP_H

#include <stddef.h>

#include "conform.h"

/* ---- comparison (conformance/compare.c) ------------------------------- */

/*
 * Upstream's CompareRoundTrip, in its order (§1.9 steps 1-6). 'sent' is the
 * request as the step wrote it, 'scheme' the scheme of the request URL
 * ("http"). Returns 1 when the round trip satisfies 'want'; 0 otherwise,
 * and then *why (when why is not NULL) is a malloc'd text: a first line
 * "expected ..., got ..." naming the first difference, in upstream's
 * words, then indented lines with the request and the response. A
 * captured transport error (got->error) is a failed attempt, as a
 * CaptureRoundTrip error is upstream.
 *
 * Where include/conform.h leaves a field NULL: the expected path and
 * method of a set expected request default to the sent ones (then GET and
 * "/"); an empty string is compared as such (a non-JSON answer has an
 * empty echo path).
 */
int conf_compare(const struct conf_request *sent, const char *scheme,
                 const struct conf_captured *got, const struct conf_expect *want, char **why);

/*
 * One attempt of MakeRequestAndExpectFailure (WaitForConsistentFailureResponse):
 * 1 a good attempt (an HTTP answer that is neither 200 nor 408/504),
 * 0 not yet (transport error, 408 or 504), -1 fatal (a 200: the test fails
 * at once). *why (when not NULL) says why for 0 and -1, NULL for 1.
 */
int conf_expect_failure(const struct conf_captured *got, char **why);

/* 408 and 504, which CompareRoundTrip treats as one. */
int conf_is_timeout_status(long status);
/* 300, 301, 302, 303, 304, 305, 307, 308 (upstream's IsRedirect). */
int conf_is_redirect_status(long status);

/*
 * Upstream's GetTestCaseName(i): 'name' when not NULL or empty, else
 * "<i> request to '<host><path>'[ with headers] should go to <backend>"
 * or "... should receive one of [<codes>]" (the codes as written, so
 * "[]" when none were: upstream names a case before MakeRequest defaults
 * them).
 */
char *conf_test_case_name(int i, const char *name, const struct conf_request *req,
                          const struct conf_expect *want);

/* ---- AwaitConvergence as a state machine ------------------------------ */

#define CONF_CONVERGE_SECONDS  30.0 /* MaxTimeToConsistency */
#define CONF_CONVERGE_REQUIRED 3    /* RequiredConsecutiveSuccesses */
#define CONF_CONVERGE_POLL     0.1  /* DefaultPollInterval, seconds */

enum conf_converge_next {
    CONF_CONVERGED = 0,       /* 'required' successes in a row: pass */
    CONF_CONTINUE_NOW,        /* after a success: the next attempt at once */
    CONF_CONTINUE_AFTER_POLL, /* after a failure: wait poll_seconds, then try */
    CONF_TIMED_OUT,           /* the deadline passed (or passes during the poll) */
};

/*
 * Times are seconds on any monotonic clock. conf_converge_start() sets
 * required and poll_seconds to the defaults above; a caller with timeout
 * overrides (spec §1.12) changes them afterwards.
 */
struct conf_converge {
    int successes, attempts;
    double deadline;
    int required;
    double poll_seconds;
};

/* max_seconds <= 0: CONF_CONVERGE_SECONDS. */
void conf_converge_start(struct conf_converge *c, double now, double max_seconds);
/* Record one attempt that ended at 'now' with result 'ok'; say what comes next. */
enum conf_converge_next conf_converge_step(struct conf_converge *c, double now, int ok);

/* ---- the round tripper (conformance/roundtrip.c) ---------------------- */

#define CONF_REQUEST_TIMEOUT_MS 10000L /* RequestTimeout */

/*
 * What upstream's TLS helpers (spec §1.11) put into roundtripper.Request
 * for an "HTTPS" request: the Go client's tls.Config. The strings are
 * borrowed for the call.
 */
struct conf_tls {
    const char *server_name;     /* SNI and the name verified; required */
    const char *ca_pem;          /* trusted roots (PEM, one or more); required */
    const char *client_cert_pem; /* optional, with client_key_pem: a client certificate */
    const char *client_key_pem;  /* (PEM), sent only when the server asks for one */
};

/*
 * Send 'req' to the gateway at gw_addr ("host:port", an IPv6 host
 * bracketed) as upstream's DefaultRoundTripper does (spec §1.10): a new
 * connection per request, Go's request line, Host and header set,
 * X-Echo-Set-Header always, redirects followed as Go's client follows them
 * (at most 10) unless req->unfollow_redirect, the whole exchange bounded
 * by timeout_ms (<= 0: CONF_REQUEST_TIMEOUT_MS). 'scheme' is "http" or
 * "https". Call curl_global_init() once before.
 *
 * For "https", 'tls' is required (its server_name and ca_pem; without them
 * the call fails before sending, with an error that says so): the TCP
 * connection goes to gw_addr, the TLS handshake sends tls->server_name as
 * SNI and verifies the server certificate against tls->ca_pem for that
 * name (TLS 1.2 or later, no ALPN: Go's http.Transport with a TLS config
 * speaks HTTP/1.1 only); the Host header is req->host, else the URL host
 * (gw_addr without a default port) as before. An https redirect hop uses
 * the same TLS config, connecting to the Location's address. 'tls' is
 * ignored for "http" hops; it may be NULL for "http".
 *
 * Fills *out (which it zeroes first; release with conf_captured_release):
 * status, proto, response headers, the echo JSON when Content-Type is
 * exactly application/json (else echo.method is the sent method and
 * body_start the first bytes of the body), the parsed Location of a 3xx,
 * the URL. Returns 0, or -1 with out->error set: a transport error in
 * curl's words (for TLS: the certificate or name verification failure),
 * a JSON body that does not unmarshal, a 3xx without a valid Location, a
 * header Go would refuse to send, an incomplete TLS config. status is 0
 * when no HTTP answer came.
 */
int conf_roundtrip_tls(const char *gw_addr, const char *scheme, const struct conf_request *req,
                       const struct conf_tls *tls, long timeout_ms, struct conf_captured *out);

/*
 * Does a certificate name (a DNS SAN) cover host, as Go's crypto/x509
 * VerifyHostname decides (what upstream's suite verifies with)? Between a
 * valid pattern and a valid name: case-insensitive, the name's trailing dot
 * ignored, the same number of labels, "*" only as the whole leftmost label,
 * matching any one label: "*.org" covers "example.org" (OpenSSL, libcurl's
 * TLS, refuses a wildcard that close to the top). Otherwise (a bare "*", an
 * empty label, a pattern's trailing dot) only an exact match.
 */
int conf_tls_name_matches(const char *pattern, const char *host);

/* conf_roundtrip_tls() without a TLS config: for "http" (an "https" request fails). */
int conf_roundtrip(const char *gw_addr, const char *scheme, const struct conf_request *req,
                   long timeout_ms, struct conf_captured *out);

/*
 * Parse an echo-basic body (spec §2.1) as Go's json.Unmarshal fills
 * upstream's CapturedRequest: unknown fields ignored, nulls leave fields
 * empty, keys matched case-insensitively (the last one wins), a type
 * mismatch or trailing garbage is an error. *echo is overwritten (pass it
 * empty). On success echo->parsed is 1 and 0 is returned; on error -1,
 * *echo is left empty and *err (when not NULL) says why (malloc'd).
 * Repeated header values are joined with ",".
 */
int conf_echo_parse(const char *body, size_t len, struct conf_echo *echo, char **err);

/* Go's net.JoinHostPort: "[host]:port" when host has a colon, else "host:port". */
char *conf_host_port(const char *addr, const char *port);

/*
 * Upstream's CalculateHost: the URL host for gw_addr, without the port
 * when it is the scheme's default (80 for http, 443 for https); an IPv6
 * address without brackets or port is bracketed; anything that does not
 * split is returned as it is.
 */
char *conf_calculate_host(const char *gw_addr, const char *scheme);

/*
 * The request URI Go sends for 'path' (NULL: "/"): the part before the
 * first '?' escaped as url.URL.EscapedPath does, then "?query" when the
 * query is not empty.
 */
char *conf_request_uri(const char *path);

#endif

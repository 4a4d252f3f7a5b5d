/*
 * Runner faults (docs/RELIABILITY.md, "Runner faults"): what an attempt at
 * the API server or at the gateway ran into, which API requests may be
 * sent again, and the words the reports use. Pure: no I/O, no clock (curl
 * only for its own error texts); tested by tests/conformance/test_faults.c
 * with the tables of tests/data/faults/.
 */
#include "runner.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "conform.h"
#include "kube.h"
#include "util.h"

const char *conf_signal_name(int sig)
{
    static char other[24];

    if (sig == SIGTERM)
        return "SIGTERM";
    if (sig == SIGINT)
        return "SIGINT";
    snprintf(other, sizeof(other), "signal %d", sig);
    return other;
}

const char *conf_fault_name(enum conf_fault f)
{
    static const char *const names[CONF_FAULT_COUNT] = {
        [CONF_FAULT_NONE] = "none",
        [CONF_FAULT_REFUSED] = "connection refused",
        [CONF_FAULT_RESET] = "connection reset",
        [CONF_FAULT_TIMEOUT] = "timeout",
        [CONF_FAULT_TLS] = "TLS error",
        [CONF_FAULT_NETWORK] = "network error",
        [CONF_FAULT_HTTP_503] = "HTTP 503",
        [CONF_FAULT_HTTP_5XX] = "HTTP 5xx",
        [CONF_FAULT_THROTTLED] = "HTTP 429",
        [CONF_FAULT_NOT_SERVED] = "API not served",
    };

    return (unsigned)f < CONF_FAULT_COUNT ? names[f] : "?";
}

/* ---- the API server --------------------------------------------------------- */

static int says(const char *error, CURLcode code)
{
    return strstr(error, curl_easy_strerror(code)) != NULL;
}

/* A transport error, by the curl words lib/kube.c puts into its message. */
static enum conf_fault transport_fault(const char *error)
{
    if (!error)
        return CONF_FAULT_NETWORK;
    if (strstr(error, "TLS with the API server"))
        return CONF_FAULT_TLS;
    if (says(error, CURLE_COULDNT_CONNECT) || strstr(error, "onnection refused"))
        return CONF_FAULT_REFUSED;
    if (says(error, CURLE_OPERATION_TIMEDOUT) || strstr(error, " timed out"))
        return CONF_FAULT_TIMEOUT;
    if (says(error, CURLE_RECV_ERROR) || says(error, CURLE_SEND_ERROR) ||
        says(error, CURLE_GOT_NOTHING) || says(error, CURLE_PARTIAL_FILE) ||
        says(error, CURLE_HTTP2) || says(error, CURLE_HTTP2_STREAM) ||
        strstr(error, "reset by peer"))
        return CONF_FAULT_RESET;
    return CONF_FAULT_NETWORK;
}

enum conf_fault conf_api_fault(const struct kube_response *resp)
{
    switch (resp->failure) {
    case KUBE_FAIL_TRANSPORT:
        return transport_fault(resp->error);
    case KUBE_FAIL_NOT_SERVED:
        return CONF_FAULT_NOT_SERVED;
    case KUBE_FAIL_HTTP:
        if (resp->status == 503)
            return CONF_FAULT_HTTP_503;
        if (resp->status >= 500 && resp->status <= 599)
            return CONF_FAULT_HTTP_5XX;
        if (resp->status == 429)
            return CONF_FAULT_THROTTLED;
        /* a real NotFound carries a Status with its reason; a path the
           server does not route yet answers "404 page not found" */
        if (resp->status == 404 && !resp->reason)
            return CONF_FAULT_NOT_SERVED;
        return CONF_FAULT_NONE;
    default:
        return CONF_FAULT_NONE;
    }
}

int conf_api_retryable(enum conf_fault f, enum conf_api_op op)
{
    switch (f) {
    case CONF_FAULT_REFUSED:
    case CONF_FAULT_TLS:
    case CONF_FAULT_HTTP_503:
    case CONF_FAULT_THROTTLED:
    case CONF_FAULT_NOT_SERVED:
        return 1; /* the server did not act on the request */
    case CONF_FAULT_RESET:
    case CONF_FAULT_TIMEOUT:
    case CONF_FAULT_NETWORK:
    case CONF_FAULT_HTTP_5XX:
        return op != CONF_API_UPDATE; /* it may have: only what is safe to repeat */
    default:
        return 0;
    }
}

double conf_api_backoff(unsigned n)
{
    double s = 0.25;

    while (n-- > 1 && s < 2.0)
        s *= 2;
    return s < 2.0 ? s : 2.0;
}

/* ---- counting ------------------------------------------------------------- */

void conf_faults_release(struct conf_faults *f)
{
    conf_strlist_release(&f->events);
    memset(f, 0, sizeof(*f));
}

static unsigned sum(const unsigned *v)
{
    unsigned s = 0;
    int i;

    for (i = 1; i < CONF_FAULT_COUNT; i++)
        s += v[i];
    return s;
}

int conf_faults_any(const struct conf_faults *f)
{
    return f->api_retried || f->api_retries || sum(f->api_by_fault) || sum(f->gw_by_fault);
}

void conf_faults_event(struct conf_faults *f, const char *line)
{
    if (f->events.n < CONF_FAULT_EVENTS)
        conf_strlist_add(&f->events, line);
    else
        f->events_dropped++;
}

static void add_5xx_status(struct conf_faults *f, long status)
{
    if (status == 0 || f->gw_5xx_status == status || f->gw_5xx_status < 0)
        return;
    f->gw_5xx_status = f->gw_5xx_status == 0 ? status : -1;
}

void conf_faults_add(struct conf_faults *dst, const struct conf_faults *src)
{
    size_t i;

    dst->api_retried += src->api_retried;
    dst->api_retries += src->api_retries;
    dst->api_gave_up += src->api_gave_up;
    dst->api_seconds += src->api_seconds;
    dst->gw_attempts += src->gw_attempts;
    for (i = 0; i < CONF_FAULT_COUNT; i++) {
        dst->api_by_fault[i] += src->api_by_fault[i];
        dst->gw_by_fault[i] += src->gw_by_fault[i];
    }
    add_5xx_status(dst, src->gw_5xx_status);
    for (i = 0; i < src->events.n; i++)
        conf_faults_event(dst, src->events.v[i]);
    dst->events_dropped += src->events_dropped;
}

enum conf_fault conf_gateway_fault(const struct conf_captured *got)
{
    if (got->fault != CONF_FAULT_NONE)
        return got->fault;
    if (got->status == 503)
        return CONF_FAULT_HTTP_503;
    if (got->status >= 500 && got->status <= 599)
        return CONF_FAULT_HTTP_5XX;
    return CONF_FAULT_NONE;
}

void conf_gateway_count(struct conf_faults *f, const struct conf_captured *got, int status_expected)
{
    enum conf_fault k = conf_gateway_fault(got);

    if (status_expected && (k == CONF_FAULT_HTTP_503 || k == CONF_FAULT_HTTP_5XX))
        k = CONF_FAULT_NONE;
    f->gw_attempts++;
    f->gw_by_fault[k]++;
    if (k == CONF_FAULT_HTTP_503 || k == CONF_FAULT_HTTP_5XX)
        add_5xx_status(f, got->status);
}

/* ---- words -------------------------------------------------------------- */

/* "503" when one 5xx status was seen, else "5xx". */
static void put_5xx(struct sbuf *sb, const struct conf_faults *f)
{
    if (f->gw_5xx_status > 0)
        sb_printf(sb, "%ld", f->gw_5xx_status);
    else
        sb_puts(sb, "5xx");
}

/* ", N answered 503, N timed out after 10 s, N connection refused" */
static void put_gateway_faults(struct sbuf *sb, const struct conf_faults *f, double timeout)
{
    const unsigned *c = f->gw_by_fault;
    unsigned n5 = c[CONF_FAULT_HTTP_503] + c[CONF_FAULT_HTTP_5XX];
    int i;

    if (n5) {
        sb_printf(sb, "%s%u answered ", sb->len ? ", " : "", n5);
        put_5xx(sb, f);
    }
    if (c[CONF_FAULT_TIMEOUT] && timeout > 0)
        sb_printf(sb, "%s%u timed out after %g s", sb->len ? ", " : "", c[CONF_FAULT_TIMEOUT],
                  timeout);
    else if (c[CONF_FAULT_TIMEOUT])
        sb_printf(sb, "%s%u timed out", sb->len ? ", " : "", c[CONF_FAULT_TIMEOUT]);
    for (i = 1; i < CONF_FAULT_COUNT; i++) {
        if (!c[i] || i == CONF_FAULT_HTTP_503 || i == CONF_FAULT_HTTP_5XX ||
            i == CONF_FAULT_TIMEOUT)
            continue;
        sb_printf(sb, "%s%u %s", sb->len ? ", " : "", c[i], conf_fault_name((enum conf_fault)i));
    }
}

/* "connection refused x8, HTTP 503 x1" */
static void put_api_faults(struct sbuf *sb, const unsigned *c)
{
    int i, first = 1;

    for (i = 1; i < CONF_FAULT_COUNT; i++) {
        if (!c[i])
            continue;
        sb_printf(sb, "%s%s x%u", first ? "" : ", ", conf_fault_name((enum conf_fault)i), c[i]);
        first = 0;
    }
}

char *conf_faults_describe(const struct conf_faults *f)
{
    struct sbuf sb = {0}, gw = {0};

    sb_add(&sb, "", 0);
    if (f->api_retried || f->api_retries) {
        sb_printf(&sb, "API server: %u request%s retried %u time%s in %.1f s", f->api_retried,
                  f->api_retried == 1 ? "" : "s", f->api_retries, f->api_retries == 1 ? "" : "s",
                  f->api_seconds);
        if (sum(f->api_by_fault)) {
            sb_puts(&sb, " (");
            put_api_faults(&sb, f->api_by_fault);
            sb_putc(&sb, ')');
        }
        sb_printf(&sb, ", %u gave up", f->api_gave_up);
    } else if (sum(f->api_by_fault)) {
        sb_puts(&sb, "API server: ");
        put_api_faults(&sb, f->api_by_fault);
        sb_puts(&sb, ", not retried");
    }
    if (sum(f->gw_by_fault)) {
        put_gateway_faults(&gw, f, 0);
        sb_printf(&sb, "%sgateway: %u attempt%s, %s", sb.len ? "; " : "", f->gw_attempts,
                  f->gw_attempts == 1 ? "" : "s", gw.buf);
    }
    sb_release(&gw);
    return sb_detach(&sb);
}

/* The fault every attempt met, or CONF_FAULT_NONE (503 and other 5xx are one). */
static enum conf_fault every_attempt(const struct conf_faults *f)
{
    const unsigned *c = f->gw_by_fault;
    int i;

    if (!f->gw_attempts)
        return CONF_FAULT_NONE;
    if (c[CONF_FAULT_HTTP_503] + c[CONF_FAULT_HTTP_5XX] == f->gw_attempts)
        return CONF_FAULT_HTTP_5XX;
    for (i = 1; i < CONF_FAULT_COUNT; i++)
        if (c[i] == f->gw_attempts)
            return (enum conf_fault)i;
    return CONF_FAULT_NONE;
}

char *conf_gateway_verdict(const struct conf_faults *f, double seconds, double request_timeout)
{
    struct sbuf sb = {0}, why = {0};
    unsigned n = f->gw_attempts;
    const char *s = n == 1 ? "" : "s";

    switch (every_attempt(f)) {
    case CONF_FAULT_HTTP_5XX:
        sb_puts(&sb, "gateway returned ");
        put_5xx(&sb, f);
        sb_printf(&sb, " on every attempt (%u attempt%s in %.0f s)", n, s, seconds);
        return sb_detach(&sb);
    case CONF_FAULT_TIMEOUT:
        return xasprintf("gateway did not answer within %g s on %u attempt%s (every attempt, "
                         "%.0f s)",
                         request_timeout, n, s, seconds);
    case CONF_FAULT_NONE:
        break;
    default:
        return xasprintf("%s on every attempt (%u attempt%s in %.0f s)",
                         conf_fault_name(every_attempt(f)), n, s, seconds);
    }
    sb_printf(&sb, "no consistent answer after %u attempt%s in %.0f s", n, s, seconds);
    put_gateway_faults(&why, f, request_timeout);
    if (why.len)
        sb_printf(&sb, " (%s)", why.buf);
    sb_release(&why);
    return sb_detach(&sb);
}

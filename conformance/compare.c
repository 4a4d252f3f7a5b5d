/*
 * Judging a round trip as upstream's CompareRoundTrip does (spec
 * conformance.md §1.9), the failure-expecting variant, test case names and
 * the AwaitConvergence state machine. Pure: no I/O, no clock.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "roundtrip.h"
#include "util.h"

/* One comparison: its inputs and the first difference found. */
struct cmp {
    const struct conf_request *sent;
    const char *scheme;
    const struct conf_captured *got;
    const struct conf_expect *want;
    struct sbuf msg;
};

/* The request the backend must have seen, defaults applied. */
struct want_req {
    const char *host; /* "": not compared */
    const char *method;
    const char *path;
    const struct conf_kvlist *headers;
};

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int empty(const char *s)
{
    return !s || !*s;
}

int conf_is_timeout_status(long status)
{
    return status == 408 || status == 504;
}

int conf_is_redirect_status(long status)
{
    switch (status) {
    case 300:
    case 301:
    case 302:
    case 303:
    case 304:
    case 305:
    case 307:
    case 308:
        return 1;
    default:
        return 0;
    }
}

__attribute__((format(printf, 2, 3))) static int mismatch(struct cmp *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(&c->msg, fmt, ap);
    va_end(ap);
    return 0;
}

/* "expected <what> to be "want", got "got"" with Go's %q quoting. */
static int mismatch_q(struct cmp *c, const char *what, const char *want, const char *got)
{
    sb_printf(&c->msg, "expected %s to be ", what);
    sb_goquote(&c->msg, nz(want));
    sb_puts(&c->msg, ", got ");
    sb_goquote(&c->msg, nz(got));
    return 0;
}

static const struct conf_kv *kv_find(const struct conf_kvlist *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->v[i].name && !strcasecmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

/* s without spaces and tabs (Response.IgnoreWhitespace), malloc'd. */
static char *strip_ws(const char *s)
{
    char *out = xstrdup(nz(s)), *w = out;
    const char *r;

    for (r = out; *r; r++)
        if (*r != ' ' && *r != '\t')
            *w++ = *r;
    *w = '\0';
    return out;
}

static int header_value_equal(const char *want, const char *got, int ignore_ws)
{
    char *a, *b;
    int same;

    if (!ignore_ws)
        return !strcmp(nz(want), nz(got));
    a = strip_ws(want);
    b = strip_ws(got);
    same = !strcmp(a, b);
    free(a);
    free(b);
    return same;
}

/* Go's %v of a []int: "[200 404]". */
static void put_codes(struct sbuf *sb, const int *codes, size_t n)
{
    size_t i;

    sb_putc(sb, '[');
    for (i = 0; i < n; i++)
        sb_printf(sb, "%s%d", i ? " " : "", codes[i]);
    sb_putc(sb, ']');
}

static const char *sent_method(const struct conf_request *r)
{
    return empty(r->method) ? "GET" : r->method;
}

static const char *sent_path(const struct conf_request *r)
{
    return r->path ? r->path : "/";
}

/* ---- steps 1-3: status and protocol ---------------------------------- */

static const int default_codes[] = {200};

static void want_codes(const struct conf_expect *w, const int **codes, size_t *n)
{
    *codes = w->response.nstatus ? w->response.status_codes : default_codes;
    *n = w->response.nstatus ? w->response.nstatus : 1;
}

/* 1: pass, 0: fail, -1: go on with the body checks. */
static int check_status(struct cmp *c)
{
    const int *codes;
    size_t n, i;
    int found = 0;

    want_codes(c->want, &codes, &n);
    if (conf_is_timeout_status(c->got->status))
        for (i = 0; i < n; i++)
            if (conf_is_timeout_status(codes[i]))
                return 1; /* step 1: 408 and 504 are one */
    for (i = 0; i < n; i++)
        if (codes[i] == c->got->status)
            found = 1;
    if (!found) {
        sb_puts(&c->msg, "expected status code to be one of ");
        put_codes(&c->msg, codes, n);
        sb_printf(&c->msg, ", got %ld", c->got->status);
        return 0;
    }
    if (!empty(c->want->response.protocol) &&
        strcmp(c->want->response.protocol, nz(c->got->proto)) != 0)
        return mismatch(c, "expected protocol to be %s, got %s", c->want->response.protocol,
                        nz(c->got->proto));
    return -1;
}

/* ---- step 4: the echo checks ----------------------------------------- */

static struct want_req want_request(const struct cmp *c)
{
    const struct conf_expected_request *e = &c->want->request;
    struct want_req w;

    if (!e->set) {
        w.host = nz(c->sent->host);
        w.method = sent_method(c->sent);
        w.path = sent_path(c->sent);
        w.headers = &c->sent->headers;
    } else {
        w.host = nz(e->host);
        w.method = e->method ? e->method : sent_method(c->sent);
        w.path = e->path ? e->path : sent_path(c->sent);
        w.headers = &e->headers;
    }
    return w;
}

/* The echo's method: for a body that was not JSON, the sent one. */
static const char *echo_method(const struct cmp *c)
{
    if (c->got->echo.parsed || c->got->echo.method)
        return nz(c->got->echo.method);
    return sent_method(c->sent);
}

static int check_request_line(struct cmp *c, const struct want_req *w)
{
    const struct conf_echo *e = &c->got->echo;

    if (*w->host && strcmp(w->host, nz(e->host)) != 0)
        return mismatch(c, "expected host to be %s, got %s", w->host, nz(e->host));
    if (strcmp(w->path, nz(e->path)) != 0)
        return mismatch(c, "expected path to be %s, got %s", w->path, nz(e->path));
    if (strcmp(w->method, echo_method(c)) != 0)
        return mismatch(c, "expected method to be %s, got %s", w->method, echo_method(c));
    if (strcmp(nz(c->want->namespace_), nz(e->namespace_)) != 0)
        return mismatch(c, "expected namespace to be %s, got %s", nz(c->want->namespace_),
                        nz(e->namespace_));
    return 1;
}

/* Each expected name present (any case) with exactly this joined value. */
static int check_headers(struct cmp *c, const struct conf_kvlist *want,
                         const struct conf_kvlist *got, int ignore_ws)
{
    size_t i;

    if (want->n && !got->n)
        return mismatch(c, "no headers captured, expected %zu", want->n);
    for (i = 0; i < want->n; i++) {
        const struct conf_kv *w = &want->v[i], *g = kv_find(got, nz(w->name));

        if (!g)
            return mismatch(c, "expected %s header to be set, got none", nz(w->name));
        if (!header_value_equal(w->value, g->value, ignore_ws))
            return mismatch(c, "expected %s header to be set to %s, got %s", nz(w->name),
                            nz(w->value), nz(g->value));
    }
    return 1;
}

static int check_valid_values(struct cmp *c)
{
    const struct conf_expected_response *r = &c->want->response;
    size_t i, k;

    for (i = 0; i < r->nvalid; i++) {
        const struct conf_valid_values *v = &r->valid[i];
        const struct conf_kv *g = kv_find(&c->got->headers, nz(v->name));
        int found = 0;

        if (!g)
            return mismatch(c, "expected %s header to be set, got none", nz(v->name));
        for (k = 0; k < v->values.n && !found; k++)
            found = header_value_equal(v->values.v[k], g->value, r->ignore_whitespace);
        if (!found) {
            sb_printf(&c->msg, "expected %s header to be one of [", nz(v->name));
            for (k = 0; k < v->values.n; k++)
                sb_printf(&c->msg, "%s%s", k ? " " : "", nz(v->values.v[k]));
            sb_printf(&c->msg, "], got %s", nz(g->value));
            return 0;
        }
    }
    return 1;
}

static int check_absent(struct cmp *c, const struct conf_strlist *names,
                        const struct conf_kvlist *got, const char *where)
{
    size_t i;

    for (i = 0; i < names->n; i++) {
        const struct conf_kv *g = kv_find(got, nz(names->v[i]));

        if (g)
            return mismatch(c, "expected %s header to not be set in the %s, got %s",
                            nz(names->v[i]), where, nz(g->value));
    }
    return 1;
}

static int check_backend_tls(struct cmp *c)
{
    const struct conf_expected_request *e = &c->want->request;
    const struct conf_echo *echo = &c->got->echo;
    size_t i;

    if (!empty(c->want->backend) &&
        strncmp(nz(echo->pod), c->want->backend, strlen(c->want->backend)) != 0)
        return mismatch(c, "expected pod name to start with %s, got %s", c->want->backend,
                        nz(echo->pod));
    if (!empty(e->sni) && strcmp(e->sni, nz(echo->tls_server_name)) != 0)
        return mismatch_q(c, "SNI", e->sni, echo->tls_server_name);
    if (!empty(e->client_cert)) {
        for (i = 0; i < echo->tls_peer_certificates.n; i++)
            if (!strcmp(nz(echo->tls_peer_certificates.v[i]), e->client_cert))
                return 1;
        return mismatch(c,
                        "expected the client certificate among the %zu peer certificates "
                        "the backend saw, got none matching",
                        echo->tls_peer_certificates.n);
    }
    return 1;
}

static int check_echo(struct cmp *c)
{
    const struct conf_expected_request *e = &c->want->request;
    const struct conf_expected_response *r = &c->want->response;
    struct want_req w = want_request(c);

    if (!check_request_line(c, &w))
        return 0;
    if (!check_headers(c, w.headers, &c->got->echo.headers, 0))
        return 0;
    if (!empty(e->http_port) && strcmp(e->http_port, nz(c->got->echo.http_port)) != 0)
        return mismatch_q(c, "httpPort", e->http_port, c->got->echo.http_port);
    if (!check_headers(c, &r->headers, &c->got->headers, r->ignore_whitespace))
        return 0;
    if (!check_valid_values(c))
        return 0;
    if (!check_absent(c, &r->absent_headers, &c->got->headers, "response"))
        return 0;
    if (!check_absent(c, &e->absent_headers, &c->got->echo.headers, "request"))
        return 0;
    return check_backend_tls(c);
}

/* ---- step 5: redirects ----------------------------------------------- */

static int check_redirect(struct cmp *c)
{
    const struct conf_redirect *r = &c->want->redirect, *loc = &c->got->location;
    const char *got_scheme = nz(loc->scheme), *got_port = nz(loc->port);
    char *path;
    int res = 1;

    if (!r->set)
        return 1;
    if (strcmp(empty(r->host) ? nz(loc->host) : r->host, nz(loc->host)) != 0)
        return mismatch_q(c, "redirected hostname", r->host, loc->host);
    if (empty(r->port)) {
        if (!strcasecmp(got_scheme, "http") && *got_port && strcmp(got_port, "80") != 0) {
            sb_puts(&c->msg, "for http scheme, expected redirected port to be 80 or not set, got ");
            sb_goquote(&c->msg, got_port);
            return 0;
        }
        if (!strcasecmp(got_scheme, "https") && *got_port && strcmp(got_port, "443") != 0) {
            sb_puts(&c->msg,
                    "for https scheme, expected redirected port to be 443 or not set, got ");
            sb_goquote(&c->msg, got_port);
            return 0;
        }
    } else if (strcmp(r->port, got_port) != 0) {
        return mismatch_q(c, "redirected port", r->port, got_port);
    }
    if (!empty(r->scheme) ? strcmp(r->scheme, got_scheme) != 0
                          : strcmp(nz(c->scheme), got_scheme) != 0)
        return mismatch_q(c, "redirected scheme", empty(r->scheme) ? c->scheme : r->scheme,
                          got_scheme);
    path = empty(r->path) ? xstrndup(sent_path(c->sent), strcspn(sent_path(c->sent), "?"))
                          : xstrdup(r->path);
    if (strcmp(path, nz(loc->path)) != 0)
        res = mismatch_q(c, "redirected path", path, loc->path);
    free(path);
    return res;
}

/* ---- the text ---------------------------------------------------------- */

static void put_context(struct sbuf *sb, const struct cmp *c)
{
    const struct conf_captured *g = c->got;
    const struct conf_echo *e = &g->echo;

    sb_printf(sb, "\n  sent: %s %s", sent_method(c->sent), sent_path(c->sent));
    if (!empty(c->sent->host))
        sb_printf(sb, " (Host: %s)", c->sent->host);
    if (g->url)
        sb_printf(sb, " to %s", g->url);
    if (g->error) {
        sb_printf(sb, "\n  got: no HTTP response: %s", g->error);
        return;
    }
    sb_printf(sb, "\n  got: %ld %s", g->status, nz(g->proto));
    if (e->parsed)
        sb_printf(sb, "\n  echo: path %s, host %s, method %s, namespace %s, pod %s", nz(e->path),
                  nz(e->host), nz(e->method), nz(e->namespace_), nz(e->pod));
    else if (g->body_start)
        sb_printf(sb, "\n  body (not JSON): %s", g->body_start);
    if (g->location.set)
        sb_printf(sb, "\n  location: scheme %s, host %s, port %s, path %s", nz(g->location.scheme),
                  nz(g->location.host), nz(g->location.port), nz(g->location.path));
}

int conf_compare(const struct conf_request *sent, const char *scheme,
                 const struct conf_captured *got, const struct conf_expect *want, char **why)
{
    struct cmp c = {sent, scheme ? scheme : "http", got, want, {0}};
    int res;

    if (got->error || !got->status) {
        res = mismatch(&c, "expected an HTTP response, got an error: %s",
                       got->error ? got->error : "no status");
    } else {
        res = check_status(&c);
        if (res < 0 && (got->status == 200 || got->status == 204))
            res = check_echo(&c);
        else if (res < 0 && conf_is_redirect_status(got->status))
            res = check_redirect(&c);
        else if (res < 0)
            res = 1; /* step 6: any other status passes once it matched */
    }
    if (why) {
        *why = NULL;
        if (!res) {
            put_context(&c.msg, &c);
            *why = sb_detach(&c.msg);
        }
    }
    sb_release(&c.msg);
    return res;
}

int conf_expect_failure(const struct conf_captured *got, char **why)
{
    char *text = NULL;
    int res = 1;

    if (got->error || !got->status) {
        text =
            xasprintf("request failed, not ready yet: %s", got->error ? got->error : "no status");
        res = 0;
    } else if (conf_is_timeout_status(got->status)) {
        text = xasprintf("expected a failing response, got %ld (a timeout), not ready yet",
                         got->status);
        res = 0;
    } else if (got->status == 200) {
        text = xasprintf("expected the request to fail, got HTTP status OK (200)%s%s",
                         got->url ? " from " : "", got->url ? got->url : "");
        res = -1;
    }
    if (why)
        *why = text;
    else
        free(text);
    return res;
}

char *conf_test_case_name(int i, const char *name, const struct conf_request *req,
                          const struct conf_expect *want)
{
    struct sbuf sb = {0};

    if (!empty(name))
        return xstrdup(name);
    sb_printf(&sb, "%d request to '%s%s'%s", i, nz(req->host), nz(req->path),
              req->headers.n ? " with headers" : "");
    if (!empty(want->backend)) {
        sb_printf(&sb, " should go to %s", want->backend);
    } else {
        sb_puts(&sb, " should receive one of ");
        put_codes(&sb, want->response.status_codes, want->response.nstatus);
    }
    return sb_detach(&sb);
}

/* ---- AwaitConvergence ------------------------------------------------- */

void conf_converge_start(struct conf_converge *c, double now, double max_seconds)
{
    c->successes = 0;
    c->attempts = 0;
    c->deadline = now + (max_seconds > 0 ? max_seconds : CONF_CONVERGE_SECONDS);
    c->required = CONF_CONVERGE_REQUIRED;
    c->poll_seconds = CONF_CONVERGE_POLL;
}

enum conf_converge_next conf_converge_step(struct conf_converge *c, double now, int ok)
{
    c->attempts++;
    if (ok) {
        c->successes++;
        if (c->successes >= (c->required > 0 ? c->required : 1))
            return CONF_CONVERGED;
        return now >= c->deadline ? CONF_TIMED_OUT : CONF_CONTINUE_NOW;
    }
    c->successes = 0;
    /* upstream waits on the deadline and the poll timer at once */
    return now + c->poll_seconds >= c->deadline ? CONF_TIMED_OUT : CONF_CONTINUE_AFTER_POLL;
}

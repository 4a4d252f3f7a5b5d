/*
 * The echo-response comparison (include/roundtrip.h): the input is the
 * body the echo backend answered (its JSON, parsed by conf_echo_parse()),
 * optionally followed by a NUL byte and a JSON case in the format of
 * tests/data/compare/README.md ({"sent", "scheme", "got", "want"}; "got"
 * without "echo", which is the body before the NUL; "got": {"json": false}
 * for an answer that was not JSON: the body is not parsed). Without a case, a
 * fixed request and expectation are used (every kind of check on). The
 * round trip is then judged by conf_compare(), conf_expect_failure() and
 * named by conf_test_case_name(); the URL helpers (conf_calculate_host,
 * conf_request_uri, conf_host_port, conf_tls_name_matches) get the case's
 * strings. Seeds: the cases of tests/data/compare/.
 *
 * Invariants: conf_echo_parse() says why it fails and marks what it
 * parsed; conf_compare() is 0 or 1 and explains every 0, never a 1;
 * conf_expect_failure() is -1, 0 or 1 and explains exactly the non-1s.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "conform.h"
#include "fuzz.h"
#include "roundtrip.h"
#include "util.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A scalar as a new string (as tests/conformance/test_compare.c reads it); NULL otherwise. */
static char *scalar(const cJSON *v)
{
    if (cJSON_IsString(v))
        return xstrdup(v->valuestring);
    if (cJSON_IsNumber(v))
        return xasprintf("%.15g", v->valuedouble);
    if (cJSON_IsBool(v))
        return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
    return NULL;
}

static char *dup_of(const cJSON *o, const char *k)
{
    return scalar(get(o, k));
}

static void kv_of(const cJSON *map, struct conf_kvlist *l)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, map) {
        char *v = scalar(m);

        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n].name = xstrdup(m->string ? m->string : "");
        l->v[l->n++].value = v ? v : xstrdup("");
    }
}

static void strs_of(const cJSON *arr, struct conf_strlist *l)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, arr) {
        char *v = scalar(m);

        conf_strlist_add(l, v ? v : "");
        free(v);
    }
}

static void request_of(const cJSON *o, struct conf_request *r)
{
    r->host = dup_of(o, "host");
    r->method = dup_of(o, "method");
    r->path = dup_of(o, "path");
    kv_of(get(o, "headers"), &r->headers);
    kv_of(get(o, "backend_set_response_headers"), &r->backend_set_response_headers);
    r->unfollow_redirect = cJSON_IsTrue(get(o, "unfollow_redirect"));
    r->body = dup_of(o, "body");
}

static void redirect_of(const cJSON *o, struct conf_redirect *r)
{
    if (!o)
        return;
    r->set = 1;
    r->scheme = dup_of(o, "scheme");
    r->host = dup_of(o, "host");
    r->port = dup_of(o, "port");
    r->path = dup_of(o, "path");
}

static void captured_of(const cJSON *o, struct conf_captured *g)
{
    const cJSON *st = get(o, "status");

    g->status = cJSON_IsNumber(st) && st->valuedouble >= 0 && st->valuedouble < 1000
                    ? (long)st->valuedouble
                    : 0;
    g->proto = dup_of(o, "proto");
    g->error = dup_of(o, "error");
    g->url = dup_of(o, "url");
    g->body_start = dup_of(o, "body_start");
    kv_of(get(o, "headers"), &g->headers);
    redirect_of(get(o, "location"), &g->location);
}

static void expect_of(const cJSON *o, struct conf_expect *e)
{
    const cJSON *rq = get(o, "request"), *rs = get(o, "response"), *m;

    if (rq) {
        e->request.set = 1;
        e->request.host = dup_of(rq, "host");
        e->request.method = dup_of(rq, "method");
        e->request.path = dup_of(rq, "path");
        kv_of(get(rq, "headers"), &e->request.headers);
    }
    strs_of(get(rq, "absent_headers"), &e->request.absent_headers);
    e->request.http_port = dup_of(rq, "http_port");
    e->request.sni = dup_of(rq, "sni");
    e->request.client_cert = dup_of(rq, "client_cert");
    cJSON_ArrayForEach(m, get(rs, "status")) {
        double d = cJSON_IsNumber(m) ? m->valuedouble : 0;

        e->response.status_codes =
            xrealloc(e->response.status_codes, (e->response.nstatus + 1) * sizeof(int));
        e->response.status_codes[e->response.nstatus++] = d > -1e6 && d < 1e6 ? (int)d : 0;
    }
    kv_of(get(rs, "headers"), &e->response.headers);
    cJSON_ArrayForEach(m, get(rs, "valid")) {
        struct conf_valid_values *v;

        e->response.valid =
            xrealloc(e->response.valid, (e->response.nvalid + 1) * sizeof(*e->response.valid));
        v = &e->response.valid[e->response.nvalid++];
        memset(v, 0, sizeof(*v));
        v->name = xstrdup(m->string ? m->string : "");
        strs_of(m, &v->values);
    }
    strs_of(get(rs, "absent_headers"), &e->response.absent_headers);
    e->response.ignore_whitespace = cJSON_IsTrue(get(rs, "ignore_whitespace"));
    e->response.protocol = dup_of(rs, "protocol");
    redirect_of(get(o, "redirect"), &e->redirect);
    e->backend = dup_of(o, "backend");
    e->namespace_ = dup_of(o, "namespace");
}

static void kv_add(struct conf_kvlist *l, const char *name, const char *value)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n].name = xstrdup(name);
    l->v[l->n++].value = xstrdup(value);
}

/* Without a case: a request with headers, a 200 from echo-basic, and an
   expectation that uses every check of step 4. */
static void default_case(struct conf_request *sent, struct conf_captured *got,
                         struct conf_expect *want)
{
    static int codes[] = {200};

    sent->host = xstrdup("example.com");
    sent->path = xstrdup("/fuzz?x=1");
    kv_add(&sent->headers, "Version", "two");
    got->status = 200;
    got->proto = xstrdup("HTTP/1.1");
    kv_add(&got->headers, "Content-Type", "application/json");
    kv_add(&got->headers, "X-Header-Set", "set-overwrites-values");
    want->request.set = 1;
    want->request.host = xstrdup("example.com");
    kv_add(&want->request.headers, "Version", "two");
    conf_strlist_add(&want->request.absent_headers, "X-Remove");
    want->request.http_port = xstrdup("3000");
    want->request.sni = xstrdup("example.com");
    want->response.status_codes = xmalloc(sizeof(codes));
    memcpy(want->response.status_codes, codes, sizeof(codes));
    want->response.nstatus = 1;
    kv_add(&want->response.headers, "X-Header-Set", "set-overwrites-values");
    conf_strlist_add(&want->response.absent_headers, "X-Header-Remove");
    want->response.protocol = xstrdup("HTTP/1.1");
    want->backend = xstrdup("infra-backend-v1");
    want->namespace_ = xstrdup("gateway-conformance-infra");
}

static void helpers(const struct conf_request *sent, const char *scheme,
                    const struct conf_captured *got)
{
    const char *host = sent->host ? sent->host : "192.0.2.1:80";
    char *s;

    s = conf_calculate_host(host, scheme);
    FUZZ_CHECK(s != NULL);
    free(s);
    s = conf_request_uri(sent->path);
    FUZZ_CHECK(s != NULL);
    free(s);
    s = conf_host_port(host, got->location.port ? got->location.port : "");
    FUZZ_CHECK(s != NULL);
    free(s);
    if (got->echo.tls_server_name)
        (void)conf_tls_name_matches(got->echo.tls_server_name, host);
    if (got->location.host)
        (void)conf_tls_name_matches(host, got->location.host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t blen = nul ? (size_t)(nul - data) : size;
    struct conf_request sent;
    struct conf_captured got;
    struct conf_expect want;
    cJSON *c = NULL;
    char *why = (char *)1, *err = NULL, *name, *scheme = NULL;
    int res;

    fuzz_init();
    memset(&sent, 0, sizeof(sent));
    memset(&got, 0, sizeof(got));
    memset(&want, 0, sizeof(want));
    if (nul)
        c = cJSON_ParseWithLength((const char *)nul + 1, size - blen - 1);
    if (c) {
        request_of(get(c, "sent"), &sent);
        scheme = dup_of(c, "scheme");
        captured_of(get(c, "got"), &got);
        expect_of(get(c, "want"), &want);
    } else {
        default_case(&sent, &got, &want);
    }

    /* the body, in a buffer of exactly its length */
    if (c && cJSON_IsFalse(get(get(c, "got"), "json"))) {
        /* not JSON: nothing parsed */
    } else if (conf_echo_parse((const char *)data, blen, &got.echo, &err) == 0) {
        FUZZ_CHECK(got.echo.parsed == 1 && err == NULL);
    } else {
        FUZZ_CHECK(err != NULL && got.echo.parsed == 0 && got.echo.path == NULL);
        if (!got.error)
            got.error = xasprintf("unexpected error reading response: %s", err);
        free(err);
    }

    res = conf_compare(&sent, scheme, &got, &want, &why);
    FUZZ_CHECK(res == 0 || res == 1);
    FUZZ_CHECK(res == 1 ? why == NULL : why != NULL && why[0] != '\0');
    free(why);
    FUZZ_CHECK(conf_compare(&sent, scheme, &got, &want, NULL) == res);

    why = (char *)1;
    res = conf_expect_failure(&got, &why);
    FUZZ_CHECK(res >= -1 && res <= 1);
    FUZZ_CHECK(res == 1 ? why == NULL : why != NULL);
    free(why);

    name = conf_test_case_name((int)(size % 100), c ? NULL : "named", &sent, &want);
    FUZZ_CHECK(name != NULL);
    free(name);
    helpers(&sent, scheme ? scheme : "http", &got);

    free(scheme);
    conf_request_release(&sent);
    conf_captured_release(&got);
    conf_expect_release(&want);
    cJSON_Delete(c);
    return 0;
}

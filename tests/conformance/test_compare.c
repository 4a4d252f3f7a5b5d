/*
 * Upstream's HTTP assertions (spec conformance.md §1.9), table-driven:
 * every file under tests/data/compare/ is a list of cases (format in
 * tests/data/compare/README.md). A case is one of
 *  - compare (the default): a sent request, what came back (the echo JSON
 *    as echo-basic writes it, parsed by conf_echo_parse), an expectation,
 *    whether conf_compare passes and a substring of its "why";
 *  - expect_failure: conf_expect_failure's verdict on one answer;
 *  - case_name: GetTestCaseName;
 *  - converge: a sequence of attempts through the AwaitConvergence
 *    state machine and what it says after each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../testdata.h"
#include "conform.h"
#include "roundtrip.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str_of(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = get(o, k);

    return cJSON_IsString(v) ? v->valuestring : def;
}

static double num_of(const cJSON *o, const char *k, double def)
{
    const cJSON *v = get(o, k);

    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* A scalar as a new string (numbers and booleans as YAML wrote them); NULL for absent or null. */
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
        l->v[l->n].name = xstrdup(m->string);
        l->v[l->n++].value = v ? v : xstrdup("");
    }
}

static void strs_of(const cJSON *arr, struct conf_strlist *l)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, arr) {
        char *v = scalar(m);

        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n++] = v ? v : xstrdup("");
    }
}

static void request_of(const cJSON *o, struct conf_request *r)
{
    memset(r, 0, sizeof(*r));
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

/* 0, or -1 when the echo JSON does not parse (*err says why). */
static int captured_of(const cJSON *o, struct conf_captured *g, char **err)
{
    const cJSON *echo = get(o, "echo");
    int rc = 0;

    memset(g, 0, sizeof(*g));
    *err = NULL;
    g->status = (long)num_of(o, "status", 0);
    g->proto = dup_of(o, "proto");
    g->error = dup_of(o, "error");
    g->url = dup_of(o, "url");
    g->body_start = dup_of(o, "body_start");
    kv_of(get(o, "headers"), &g->headers);
    redirect_of(get(o, "location"), &g->location);
    if (echo) {
        char *text = cJSON_PrintUnformatted(echo);

        rc = conf_echo_parse(text, strlen(text), &g->echo, err);
        cJSON_free(text);
    }
    return rc;
}

static void expect_of(const cJSON *o, struct conf_expect *e)
{
    const cJSON *rq = get(o, "request"), *rs = get(o, "response"), *m;

    memset(e, 0, sizeof(*e));
    if (rq) {
        e->request.set = 1;
        e->request.host = dup_of(rq, "host");
        e->request.method = dup_of(rq, "method");
        e->request.path = dup_of(rq, "path");
        kv_of(get(rq, "headers"), &e->request.headers);
    }
    /* these apply with or without a request expectation */
    strs_of(get(rq, "absent_headers"), &e->request.absent_headers);
    e->request.http_port = dup_of(rq, "http_port");
    e->request.sni = dup_of(rq, "sni");
    e->request.client_cert = dup_of(rq, "client_cert");
    cJSON_ArrayForEach(m, get(rs, "status")) {
        e->response.status_codes =
            xrealloc(e->response.status_codes, (e->response.nstatus + 1) * sizeof(int));
        e->response.status_codes[e->response.nstatus++] = (int)m->valuedouble;
    }
    kv_of(get(rs, "headers"), &e->response.headers);
    cJSON_ArrayForEach(m, get(rs, "valid")) {
        struct conf_valid_values *v;

        e->response.valid =
            xrealloc(e->response.valid, (e->response.nvalid + 1) * sizeof(*e->response.valid));
        v = &e->response.valid[e->response.nvalid++];
        memset(v, 0, sizeof(*v));
        v->name = xstrdup(m->string);
        strs_of(m, &v->values);
    }
    strs_of(get(rs, "absent_headers"), &e->response.absent_headers);
    e->response.ignore_whitespace = cJSON_IsTrue(get(rs, "ignore_whitespace"));
    e->response.protocol = dup_of(rs, "protocol");
    redirect_of(get(o, "redirect"), &e->redirect);
    e->backend = dup_of(o, "backend");
    e->namespace_ = dup_of(o, "namespace");
}

/* conf_expect_release() does not know the fields added for §1.9 yet. */
static void expect_free(struct conf_expect *e)
{
    free(e->request.http_port);
    free(e->request.sni);
    free(e->request.client_cert);
    e->request.http_port = e->request.sni = e->request.client_cert = NULL;
    conf_expect_release(e);
}

static int contains(const char *s, const char *sub)
{
    return s && sub && strstr(s, sub) != NULL;
}

static void diag(const char *what, const char *text)
{
    const char *p = text ? text : "(none)";

    printf("#   %s: ", what);
    for (; *p; p++) {
        putchar(*p);
        if (*p == '\n')
            fputs("#     ", stdout);
    }
    putchar('\n');
}

/* ---- the kinds of case ---- */

static void run_compare(const cJSON *c, const char *where, const char *name)
{
    struct conf_request sent;
    struct conf_captured got;
    struct conf_expect want;
    const char *want_why = str_of(c, "why", NULL);
    int pass = cJSON_IsTrue(get(c, "pass")), res, good;
    char *why = NULL, *err = NULL;

    request_of(get(c, "sent"), &sent);
    expect_of(get(c, "want"), &want);
    if (captured_of(get(c, "got"), &got, &err)) {
        ok(0, "%s %s: the echo JSON parses", where, name);
        diag("error", err);
    } else {
        res = conf_compare(&sent, str_of(c, "scheme", "http"), &got, &want, &why);
        good = res == pass &&
               (pass ? why == NULL : why != NULL && (!want_why || contains(why, want_why)));
        if (!ok(good, "%s %s", where, name)) {
            printf("#   conf_compare returned %d, want %d\n", res, pass);
            diag("why", why);
            diag("want why to contain", want_why);
        }
    }
    free(err);
    free(why);
    conf_request_release(&sent);
    conf_captured_release(&got);
    expect_free(&want);
}

static void run_expect_failure(const cJSON *c, const char *where, const char *name)
{
    struct conf_captured got;
    int want = (int)num_of(c, "result", 99), res;
    const char *want_why = str_of(c, "why", NULL);
    char *why = NULL, *err = NULL;

    if (captured_of(get(c, "got"), &got, &err)) {
        ok(0, "%s %s: the echo JSON parses", where, name);
    } else {
        res = conf_expect_failure(&got, &why);
        if (!ok(res == want && (res == 1 ? why == NULL : contains(why, want_why)), "%s %s", where,
                name)) {
            printf("#   conf_expect_failure returned %d, want %d\n", res, want);
            diag("why", why);
        }
    }
    free(err);
    free(why);
    conf_captured_release(&got);
}

static void run_case_name(const cJSON *c, const char *where, const char *name)
{
    struct conf_request sent;
    struct conf_expect want;
    char *got;

    request_of(get(c, "sent"), &sent);
    expect_of(get(c, "want"), &want);
    got =
        conf_test_case_name((int)num_of(c, "index", 0), str_of(c, "case_name", NULL), &sent, &want);
    if (!ok(!strcmp(got, str_of(c, "expect", "")), "%s %s", where, name)) {
        diag("got", got);
        diag("want", str_of(c, "expect", ""));
    }
    free(got);
    conf_request_release(&sent);
    expect_free(&want);
}

static const char *next_name(enum conf_converge_next n)
{
    switch (n) {
    case CONF_CONVERGED:
        return "CONVERGED";
    case CONF_CONTINUE_NOW:
        return "CONTINUE_NOW";
    case CONF_CONTINUE_AFTER_POLL:
        return "CONTINUE_AFTER_POLL";
    case CONF_TIMED_OUT:
        return "TIMED_OUT";
    }
    return "?";
}

/* steps: [[now, ok, NEXT], ...]; optional start, max_seconds, required, attempts. */
static void run_converge(const cJSON *c, const char *where, const char *name)
{
    struct conf_converge cv;
    const cJSON *s;
    int good = 1, i = 0;

    conf_converge_start(&cv, num_of(c, "start", 0), num_of(c, "max_seconds", 0));
    if (get(c, "required"))
        cv.required = (int)num_of(c, "required", 0);
    cJSON_ArrayForEach(s, get(c, "steps")) {
        double now = cJSON_GetNumberValue(cJSON_GetArrayItem(s, 0));
        int attempt_ok = cJSON_IsTrue(cJSON_GetArrayItem(s, 1));
        const char *want = cJSON_GetStringValue(cJSON_GetArrayItem(s, 2));
        const char *got = next_name(conf_converge_step(&cv, now, attempt_ok));

        if (!want || strcmp(got, want) != 0) {
            printf("#   step %d (now %.3f, ok %d): got %s, want %s\n", i, now, attempt_ok, got,
                   want ? want : "(missing)");
            good = 0;
        }
        i++;
    }
    if (get(c, "attempts") && cv.attempts != (int)num_of(c, "attempts", 0)) {
        printf("#   attempts: got %d\n", cv.attempts);
        good = 0;
    }
    ok(good && i > 0, "%s %s", where, name);
}

static void run_case(const cJSON *c, const char *file, int line)
{
    const char *kind = str_of(c, "kind", "compare"), *name = str_of(c, "name", "(unnamed)");
    char *where = xasprintf("%s:%d", file, line);

    if (!strcmp(kind, "compare"))
        run_compare(c, where, name);
    else if (!strcmp(kind, "expect_failure"))
        run_expect_failure(c, where, name);
    else if (!strcmp(kind, "case_name"))
        run_case_name(c, where, name);
    else if (!strcmp(kind, "converge"))
        run_converge(c, where, name);
    else
        ok(0, "%s %s: unknown kind '%s'", where, name, kind);
    free(where);
}

/* The one thing YAML cannot say: why may be NULL. */
static void test_null_why(void)
{
    struct conf_request sent = {0};
    struct conf_captured got = {0};
    struct conf_expect want = {0};

    got.status = 404;
    ok(conf_compare(&sent, "http", &got, &want, NULL) == 0, "why may be NULL (a failure)");
    got.status = 200;
    got.echo.method = xstrdup("GET");
    got.echo.path = xstrdup("/");
    ok(conf_compare(&sent, NULL, &got, &want, NULL) == 1, "why may be NULL (a pass)");
    ok(conf_expect_failure(&got, NULL) == -1, "conf_expect_failure: why may be NULL");
    conf_captured_release(&got);
}

int main(int argc, char **argv)
{
    testdata_run(argc, argv, "tests/data/compare", run_case);
    if (argc <= 1)
        test_null_why();
    return done_testing();
}

/*
 * Runner faults (conformance/faults.c; docs/RELIABILITY.md "Runner
 * faults"): the tables of tests/data/faults/ (which API faults are retried
 * for which operation, the gateway verdicts, the report lines, adding
 * counts up, the backoff), then how junit_01.xml carries them (a property
 * and <system-out> per test case, the run's line per suite, the signal),
 * checked against tests/conformance/junit.xsd when xmllint is installed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../testdata.h"
#include "conform.h"
#include "kube.h"
#include "report.h"
#include "runner.h"

static const char *str_of(const cJSON *c, const char *k, const char *dflt)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, k));

    return v ? v : dflt;
}

static double num_of(const cJSON *c, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, k);

    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Whether got is want; on a difference the two as TAP diagnostics (not a test line). */
static int same(const char *got, const char *want, const char *label)
{
    if (got && want && !strcmp(got, want))
        return 1;
    printf("#   %s:\n#     got:  %s\n#     want: %s\n", label, got ? got : "(null)",
           want ? want : "(null)");
    return 0;
}

/* Table names of enum conf_fault: "refused", "http_503", ... */
static const char *const fault_names[CONF_FAULT_COUNT] = {
    [CONF_FAULT_NONE] = "none",
    [CONF_FAULT_REFUSED] = "refused",
    [CONF_FAULT_RESET] = "reset",
    [CONF_FAULT_TIMEOUT] = "timeout",
    [CONF_FAULT_TLS] = "tls",
    [CONF_FAULT_NETWORK] = "network",
    [CONF_FAULT_HTTP_503] = "http_503",
    [CONF_FAULT_HTTP_5XX] = "http_5xx",
    [CONF_FAULT_THROTTLED] = "throttled",
    [CONF_FAULT_NOT_SERVED] = "not_served",
};

static int fault_of(const char *name)
{
    int i;

    for (i = 0; i < CONF_FAULT_COUNT; i++)
        if (name && !strcmp(fault_names[i], name))
            return i;
    return -1;
}

static enum kube_failure failure_of(const char *name)
{
    static const struct {
        const char *name;
        enum kube_failure f;
    } tab[] = {
        {"ok", KUBE_OK},
        {"http", KUBE_FAIL_HTTP},
        {"transport", KUBE_FAIL_TRANSPORT},
        {"auth", KUBE_FAIL_AUTH},
        {"response", KUBE_FAIL_RESPONSE},
        {"not_served", KUBE_FAIL_NOT_SERVED},
        {"usage", KUBE_FAIL_USAGE},
        {"cancelled", KUBE_FAIL_CANCELLED},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(tab); i++)
        if (!strcmp(tab[i].name, name))
            return tab[i].f;
    return KUBE_OK;
}

/* ---- kind: api ------------------------------------------------------------ */

static void run_api(const cJSON *c, const char *where, const char *name)
{
    static const char *const ops[] = {"read", "apply", "patch", "delete", "create", "update"};
    const cJSON *retry = cJSON_GetObjectItemCaseSensitive(c, "retry"), *o;
    struct kube_response resp = {0};
    enum conf_fault got;
    int good = 1, want = fault_of(str_of(c, "fault", "?"));
    size_t i;

    resp.failure = failure_of(str_of(c, "failure", "ok"));
    resp.status = (long)num_of(c, "status", 0);
    if (cJSON_GetObjectItemCaseSensitive(c, "reason"))
        resp.reason = xstrdup(str_of(c, "reason", ""));
    if (cJSON_GetObjectItemCaseSensitive(c, "error"))
        resp.error = xstrdup(str_of(c, "error", ""));
    got = conf_api_fault(&resp);
    if ((int)got != want) {
        printf("#   fault: got %s, want %s\n", fault_names[got], str_of(c, "fault", "?"));
        good = 0;
    }
    for (i = 0; i < ARRAY_SIZE(ops); i++) {
        int listed = 0, r = conf_api_retryable(got, (enum conf_api_op)i);

        cJSON_ArrayForEach(o, retry) {
            const char *op = cJSON_GetStringValue(o);

            listed |= op && !strcmp(op, ops[i]);
        }
        if (r != listed) {
            printf("#   %s: retryable %d, want %d\n", ops[i], r, listed);
            good = 0;
        }
    }
    ok(good, "%s %s", where, name);
    free(resp.reason);
    free(resp.error);
}

/* ---- kind: verdict ----------------------------------------------------------- */

/* Whether a status is among the case's "expected" list. */
static int expected(const cJSON *c, long status)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "expected"))
        if (cJSON_IsNumber(e) && (long)e->valuedouble == status)
            return 1;
    return 0;
}

static void run_verdict(const cJSON *c, const char *where, const char *name)
{
    struct conf_faults f = {0};
    const cJSON *a;
    char *v, *d;
    int good;

    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(c, "attempts")) {
        struct conf_captured got = {0};

        if (cJSON_IsNumber(a))
            got.status = (long)a->valuedouble;
        else
            got.fault = (enum conf_fault)fault_of(cJSON_GetStringValue(a));
        conf_gateway_count(&f, &got, expected(c, got.status));
    }
    v = conf_gateway_verdict(&f, num_of(c, "seconds", 0), num_of(c, "request_timeout", 10));
    d = conf_faults_describe(&f);
    good = same(v, str_of(c, "verdict", "?"), "verdict");
    if (cJSON_GetObjectItemCaseSensitive(c, "describe"))
        good &= same(d, str_of(c, "describe", "?"), "describe");
    ok(good, "%s %s", where, name);
    free(v);
    free(d);
    conf_faults_release(&f);
}

/* ---- kinds: describe, add, backoff ---------------------------------------- */

static void by_fault(unsigned *v, const cJSON *map)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, map) {
        int k = fault_of(e->string);

        if (k >= 0)
            v[k] = (unsigned)e->valuedouble;
    }
}

static void faults_of(const cJSON *j, struct conf_faults *f)
{
    const cJSON *e;

    memset(f, 0, sizeof(*f));
    f->api_retried = (unsigned)num_of(j, "api_retried", 0);
    f->api_retries = (unsigned)num_of(j, "api_retries", 0);
    f->api_gave_up = (unsigned)num_of(j, "api_gave_up", 0);
    f->api_seconds = num_of(j, "api_seconds", 0);
    f->gw_attempts = (unsigned)num_of(j, "gw_attempts", 0);
    f->gw_5xx_status = (long)num_of(j, "gw_5xx_status", 0);
    f->events_dropped = (unsigned)num_of(j, "events_dropped", 0);
    by_fault(f->api_by_fault, cJSON_GetObjectItemCaseSensitive(j, "api_by_fault"));
    by_fault(f->gw_by_fault, cJSON_GetObjectItemCaseSensitive(j, "gw_by_fault"));
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "events"))
        conf_faults_event(f, cJSON_GetStringValue(e) ? e->valuestring : "");
}

static void run_describe(const cJSON *c, const char *where, const char *name)
{
    struct conf_faults f;
    char *d;

    faults_of(cJSON_GetObjectItemCaseSensitive(c, "faults"), &f);
    d = conf_faults_describe(&f);
    ok(same(d, str_of(c, "describe", "?"), "describe") & (conf_faults_any(&f) == (*d != '\0')),
       "%s %s", where, name);
    free(d);
    conf_faults_release(&f);
}

static void run_add(const cJSON *c, const char *where, const char *name)
{
    struct conf_faults sum = {0}, one;
    const cJSON *s;
    char *d;

    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(c, "sets")) {
        faults_of(s, &one);
        conf_faults_add(&sum, &one);
        conf_faults_release(&one);
    }
    d = conf_faults_describe(&sum);
    ok(same(d, str_of(c, "describe", "?"), "describe") &
           (sum.events.n == (size_t)num_of(c, "events", -1)) &
           (sum.events_dropped == (unsigned)num_of(c, "dropped", -1)),
       "%s %s: %zu events kept, %u dropped", where, name, sum.events.n, sum.events_dropped);
    free(d);
    conf_faults_release(&sum);
}

static void run_backoff(const cJSON *c, const char *where, const char *name)
{
    const cJSON *p;
    int good = 1;

    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "pairs")) {
        unsigned n = (unsigned)cJSON_GetArrayItem(p, 0)->valuedouble;
        double want = cJSON_GetArrayItem(p, 1)->valuedouble, got = conf_api_backoff(n);

        if (got != want) {
            printf("#   retry %u: %g s, want %g s\n", n, got, want);
            good = 0;
        }
    }
    ok(good, "%s %s", where, name);
}

static void run_case(const cJSON *c, const char *file, int line)
{
    const char *kind = str_of(c, "kind", "?"), *name = str_of(c, "name", "(unnamed)");
    char *where = xasprintf("%s:%d", file, line);

    if (!strcmp(kind, "api"))
        run_api(c, where, name);
    else if (!strcmp(kind, "verdict"))
        run_verdict(c, where, name);
    else if (!strcmp(kind, "describe"))
        run_describe(c, where, name);
    else if (!strcmp(kind, "add"))
        run_add(c, where, name);
    else if (!strcmp(kind, "backoff"))
        run_backoff(c, where, name);
    else
        ok(0, "%s %s: unknown kind '%s'", where, name, kind);
    free(where);
}

/* ---- the JUnit file ---------------------------------------------------------- */

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static void set_result(struct conf_scenario_result *s, const char *name, enum conf_result r)
{
    memset(s, 0, sizeof(*s));
    s->name = xstrdup(name);
    s->profile = xstrdup("GATEWAY-HTTP");
    s->result = r;
}

static struct conf_case_result *one_case(struct conf_scenario_result *s, const char *name,
                                         enum conf_result r, const char *msg)
{
    struct conf_case_result *c;

    s->cases = xrealloc(s->cases, (s->ncases + 1) * sizeof(*s->cases));
    c = &s->cases[s->ncases++];
    memset(c, 0, sizeof(*c));
    c->name = xstrdup(name);
    c->result = r;
    c->message = msg ? xstrdup(msg) : NULL;
    return c;
}

/* A run: a scenario that passed across a restart, one whose 503 case
   failed, one that a SIGTERM interrupted, one not started. */
static void junit_run(struct conf_run_info *info, struct conf_scenario_result *s)
{
    struct conf_case_result *c;
    struct conf_captured got = {0};
    int i;

    memset(info, 0, sizeof(*info));
    info->gateway_class = xstrdup("gc");
    info->interrupted = SIGTERM;
    set_result(&s[0], "Restart", CONF_PASS);
    c = one_case(&s[0], "wait", CONF_PASS, NULL);
    c->faults.api_retried = 1;
    c->faults.api_retries = 9;
    c->faults.api_seconds = 17.2;
    c->faults.api_by_fault[CONF_FAULT_REFUSED] = 8;
    conf_faults_event(&c->faults, "get Gateway ns/g: connection refused x8; answered after 9 "
                                  "retries in 17.2 s");
    conf_faults_add(&s[0].faults, &c->faults);
    set_result(&s[1], "Gateway", CONF_FAIL);
    c = one_case(&s[1], "503", CONF_FAIL,
                 "gateway returned 503 on every attempt (3 attempts in 6 s)");
    got.status = 503;
    for (i = 0; i < 3; i++)
        conf_gateway_count(&c->faults, &got, 0);
    conf_faults_add(&s[1].faults, &c->faults);
    set_result(&s[2], "Signal", CONF_ERROR);
    one_case(&s[2], "wait", CONF_ERROR, "interrupted by SIGTERM");
    one_case(&s[2], "request", CONF_SKIP, "not run: interrupted by SIGTERM");
    set_result(&s[3], "Tail", CONF_SKIP);
    s[3].message = xstrdup("not run: interrupted by SIGTERM");
    for (i = 0; i < 4; i++)
        conf_faults_add(&info->faults, &s[i].faults);
}

static void xsd_check(const char *text)
{
    char path[] = "/tmp/gwconform-test-faults-XXXXXX";
    int fd = mkstemp(path), rc;
    char *cmd;

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        ok(0, "a temporary file for xmllint");
        if (fd >= 0)
            close(fd);
        return;
    }
    close(fd);
    if (system("command -v xmllint > /dev/null 2>&1") != 0) {
        printf("ok %d - # SKIP xmllint not installed (Debian: libxml2-utils)\n", ++tap_n);
        unlink(path);
        return;
    }
    cmd = xasprintf("xmllint --noout --schema tests/conformance/junit.xsd '%s' 2> '%s.err'", path,
                    path);
    rc = system(cmd);
    ok(rc == 0, "junit_01.xml with runner faults is valid against tests/conformance/junit.xsd");
    free(cmd);
    if (rc != 0) {
        cmd = xasprintf("sed 's/^/#   /' '%s.err'", path);
        if (system(cmd) != 0)
            printf("#   (cannot show %s.err)\n", path);
        free(cmd);
    }
    cmd = xasprintf("%s.err", path);
    unlink(cmd);
    free(cmd);
    unlink(path);
}

static void test_junit(void)
{
    struct conf_run_info info;
    struct conf_scenario_result s[4];
    struct sbuf out = {0};
    size_t i;

    junit_run(&info, s);
    conf_junit_render(&info, s, 4, &out);
    ok(contains(out.buf, "<testcase name=\"Restart/wait\" classname=\"GATEWAY-HTTP\" "
                         "time=\"0.000\">\n      <properties>\n        <property "
                         "name=\"runnerFaults\" value=\"API server: 1 request retried 9 times in "
                         "17.2 s (connection refused x8), 0 gave up\"/>\n      </properties>\n"
                         "      <system-out>runner faults: API server: 1 request retried 9 times"),
       "a passing case that met faults: its property, then <system-out>");
    ok(contains(out.buf, "\n  get Gateway ns/g: connection refused x8; answered after 9 retries "
                         "in 17.2 s\n</system-out>"),
       "... with the event lines");
    ok(contains(out.buf, "<failure message=\"gateway returned 503 on every attempt (3 attempts in "
                         "6 s)\" type=\"AssertionFailure\">") &&
           contains(out.buf, "value=\"gateway: 3 attempts, 3 answered 503\"/>"),
       "a failed case: the failure, the counts in its property");
    ok(contains(out.buf, "<error message=\"interrupted by SIGTERM\" type=\"Error\">") &&
           contains(out.buf, "<skipped message=\"not run: interrupted by SIGTERM\">"),
       "the interrupted case is an error, the rest skipped");
    ok(contains(out.buf, "<property name=\"interruptedBy\" value=\"SIGTERM\"/>") &&
           contains(out.buf, "<property name=\"runnerFaults\" value=\"API server: 1 request "
                             "retried 9 times in 17.2 s (connection refused x8), 0 gave up; "
                             "gateway: 3 attempts, 3 answered 503\"/>"),
       "the suite's properties: the signal and the run's counts");
    ok(contains(out.buf, "<system-out>interrupted by SIGTERM: the case running then is an error, "
                         "what was not started is skipped\nrunner faults (the whole run): ") &&
           contains(out.buf, "\nRestart: API server: 1 request") &&
           contains(out.buf, "\nGateway: gateway: 3 attempts, 3 answered 503\n</system-out>\n"
                             "  </testsuite>"),
       "the suite's <system-out>: the signal, the run, a line per scenario that met faults");
    ok(contains(out.buf, "<testcase name=\"Tail\" classname=\"GATEWAY-HTTP\" time=\"0.000\">\n"
                         "      <skipped"),
       "a test case without faults has no property or <system-out>");
    xsd_check(out.buf);
    sb_release(&out);
    for (i = 0; i < 4; i++)
        conf_scenario_result_release(&s[i]);
    conf_run_info_release(&info);
}

/* A run without faults or signal keeps its JUnit as it was. */
static void test_junit_quiet(void)
{
    struct conf_run_info info;
    struct conf_scenario_result s;
    struct sbuf out = {0};

    memset(&info, 0, sizeof(info));
    set_result(&s, "Quiet", CONF_PASS);
    one_case(&s, "c", CONF_PASS, NULL);
    conf_junit_render(&info, &s, 1, &out);
    ok(!contains(out.buf, "runnerFaults") && !contains(out.buf, "system-out") &&
           !contains(out.buf, "interruptedBy") &&
           contains(out.buf, "<testcase name=\"Quiet/c\" classname=\"GATEWAY-HTTP\" "
                             "time=\"0.000\"/>"),
       "no faults, no signal: no runnerFaults, interruptedBy or <system-out>");
    sb_release(&out);
    conf_scenario_result_release(&s);
}

static void test_signal_names(void)
{
    is_str(conf_signal_name(SIGTERM), "SIGTERM", "conf_signal_name(SIGTERM)");
    is_str(conf_signal_name(SIGINT), "SIGINT", "conf_signal_name(SIGINT)");
    is_str(conf_signal_name(SIGHUP), "signal 1", "another signal by number");
}

int main(int argc, char **argv)
{
    testdata_run(argc, argv, "tests/data/faults", run_case);
    if (argc <= 1) {
        test_junit();
        test_junit_quiet();
        test_signal_names();
    }
    return done_testing();
}

/*
 * junit_01.xml (ecosystem.md §7): one <testsuite> per profile, one
 * <testcase> per case. Rendering is pure; every string reaches the file
 * through text_clean() and xml_escape(). No tallying into profiles here:
 * that is the ConformanceReport's job (report.c).
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#include "util.h"
#include "xml.h"

#ifndef GATECHECK_VERSION
#define GATECHECK_VERSION "unknown"
#endif

#define NO_PROFILE_SUITE "gwconform"

/* ---- text cleaning ------------------------------------------------------- */

/* p is at ESC: the first byte after the escape sequence (CSI, OSC, or a
   two-byte escape), as terminals read them */
static const unsigned char *skip_ansi(const unsigned char *p)
{
    const unsigned char *q = p + 1;

    if (*q == '[') {
        for (q++; *q >= 0x30 && *q <= 0x3F; q++) /* parameters */
            ;
        while (*q >= 0x20 && *q <= 0x2F) /* intermediates */
            q++;
        if (*q >= 0x40 && *q <= 0x7E) /* final byte */
            q++;
    } else if (*q == ']') {
        for (q++; *q && *q != 0x07 && !(*q == 0x1B && q[1] == '\\'); q++)
            ;
        if (*q == 0x07)
            q++;
        else if (*q == 0x1B)
            q += 2;
    } else {
        while (*q >= 0x20 && *q <= 0x2F)
            q++;
        if (*q >= 0x30 && *q <= 0x7E)
            q++;
    }
    return q;
}

/*
 * s without ANSI escape sequences, with invalid UTF-8 (byte by byte) and
 * U+FFFE/U+FFFF replaced by U+FFFD. xml_escape() does the rest (markup,
 * C0 controls); it lets these through, and XML 1.0 cannot carry them.
 */
static void text_clean(struct sbuf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    sb_add(out, "", 0);
    while (*p) {
        size_t n;

        if (*p == 0x1B) {
            p = skip_ansi(p);
            continue;
        }
        n = conf_report_utf8_valid((const char *)p);
        if (n == 0 || (n == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] >= 0xBE)) {
            sb_puts(out, "\xEF\xBF\xBD");
            p += n ? n : 1;
            continue;
        }
        sb_add(out, (const char *)p, n);
        p += n;
    }
}

/*
 * Append s escaped. In attributes tab, LF and CR become character
 * references (a parser turns raw ones into spaces); in text only CR does
 * (a parser turns it into LF).
 */
static void put_xml(struct sbuf *sb, const char *s, int attr)
{
    struct sbuf clean = {0};
    char *p, *end;

    text_clean(&clean, s ? s : "");
    for (p = clean.buf; *p; p = end) {
        size_t n = strcspn(p, "\t\n\r");
        char c;

        end = p + n;
        c = *end;
        *end = 0;
        xml_escape(sb, p);
        *end = c;
        if (!c)
            break;
        if (c == '\r' || attr)
            sb_printf(sb, "&#%d;", c);
        else
            sb_putc(sb, c);
        end++;
    }
    sb_release(&clean);
}

static void put_attr(struct sbuf *sb, const char *name, const char *value)
{
    sb_printf(sb, " %s=\"", name);
    put_xml(sb, value, 1);
    sb_putc(sb, '"');
}

static void put_attr_uint(struct sbuf *sb, const char *name, unsigned v)
{
    sb_printf(sb, " %s=\"%u\"", name, v);
}

/* milliseconds; negative, NaN and absurd values are 0 */
static long long to_ms(double seconds)
{
    if (!(seconds > 0) || seconds > 1e12)
        return 0;
    return (long long)(seconds * 1000.0 + 0.5);
}

/* seconds with three decimals, with a dot whatever LC_NUMERIC says */
static void put_time(struct sbuf *sb, long long ms)
{
    sb_printf(sb, " time=\"%lld.%03lld\"", ms / 1000, ms % 1000);
}

/* ---- the run as suites of test cases ------------------------------------- */

struct jcase {
    const struct conf_scenario_result *s;
    const struct conf_case_result *c; /* NULL: the scenario itself */
    char *name;
    long long ms;
};

struct jsuite {
    const char *name; /* not owned */
    struct jcase *v;
    size_t n, alloc;
    unsigned failures, errors, skipped;
    long long ms;
};

struct jrun {
    struct jsuite *v;
    size_t n, alloc;
};

static struct jsuite *jrun_suite(struct jrun *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0)
            return &r->v[i];
    if (r->n == r->alloc) {
        r->alloc = r->alloc ? 2 * r->alloc : 4;
        r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
    }
    memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
    r->v[r->n].name = name;
    return &r->v[r->n++];
}

static int suite_has_name(const struct jsuite *su, const char *name)
{
    size_t i;

    for (i = 0; i < su->n; i++)
        if (strcmp(su->v[i].name, name) == 0)
            return 1;
    return 0;
}

/* name, or name " #2", " #3"... when the suite has it already (GitLab keeps
   only the first of equal names, testgrid merges them); takes ownership */
static char *unique_name(const struct jsuite *su, char *name)
{
    char *cand = NULL;
    unsigned k;

    if (!suite_has_name(su, name))
        return name;
    for (k = 2;; k++) {
        cand = xasprintf("%s #%u", name, k);
        if (!suite_has_name(su, cand))
            break;
        free(cand);
    }
    free(name);
    return cand;
}

/* Add a test case named name (taking ownership) and count its result. Within
   a suite the classname is the profile, or derived from the scenario name
   that the name starts with: unique names make unique (classname, name). */
static void suite_add(struct jsuite *su, const struct conf_scenario_result *s,
                      const struct conf_case_result *c, char *name, long long ms)
{
    struct jcase *jc;
    enum conf_result res = c ? c->result : s->result;

    name = unique_name(su, name);
    if (su->n == su->alloc) {
        su->alloc = su->alloc ? 2 * su->alloc : 16;
        su->v = xrealloc(su->v, su->alloc * sizeof(*su->v));
    }
    jc = &su->v[su->n++];
    jc->s = s;
    jc->c = c;
    jc->name = name;
    jc->ms = ms;
    su->failures += res == CONF_FAIL;
    su->errors += res == CONF_ERROR;
    su->skipped += res == CONF_SKIP || res == CONF_NOT_SUPPORTED;
}

/* A scenario gets a test case of its own when it has no cases, or failed
   while none of its cases did (setup, apply or cleanup failed). */
static int scenario_own_case(const struct conf_scenario_result *s)
{
    size_t i;

    if (s->ncases == 0)
        return 1;
    if (s->result != CONF_FAIL && s->result != CONF_ERROR)
        return 0;
    for (i = 0; i < s->ncases; i++)
        if (s->cases[i].result == CONF_FAIL || s->cases[i].result == CONF_ERROR)
            return 0;
    return 1;
}

static void jrun_add_scenario(struct jrun *r, const struct conf_scenario_result *s)
{
    const char *sname = s->name && *s->name ? s->name : "(unnamed)";
    struct jsuite *su = jrun_suite(r, s->profile && *s->profile ? s->profile : NO_PROFILE_SUITE);
    long long total = to_ms(s->seconds), cases = 0;
    size_t i;

    for (i = 0; i < s->ncases; i++)
        cases += to_ms(s->cases[i].seconds);
    if (scenario_own_case(s)) /* before the cases: setup comes first */
        suite_add(su, s, NULL, xstrdup(sname), total > cases ? total - cases : 0);
    for (i = 0; i < s->ncases; i++) {
        const char *cname = s->cases[i].name;
        char *name =
            cname && *cname ? xasprintf("%s/%s", sname, cname) : xasprintf("%s/#%zu", sname, i + 1);

        suite_add(su, s, &s->cases[i], name, to_ms(s->cases[i].seconds));
    }
    su->ms += total > cases ? total : cases;
}

static void jrun_release(struct jrun *r)
{
    size_t i, k;

    for (i = 0; i < r->n; i++) {
        for (k = 0; k < r->v[i].n; k++)
            free(r->v[i].v[k].name);
        free(r->v[i].v);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* ---- printing ------------------------------------------------------------ */

static void put_property(struct sbuf *sb, const char *name, const char *value)
{
    if (!value || !*value)
        return;
    sb_puts(sb, "      <property");
    put_attr(sb, "name", name);
    put_attr(sb, "value", value);
    sb_puts(sb, "/>\n");
}

static void put_property_list(struct sbuf *sb, const char *name, const struct conf_strlist *l)
{
    struct sbuf v = {0};
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->v[i])
            sb_printf(&v, "%s%s", v.len ? "," : "", l->v[i]);
    put_property(sb, name, v.buf);
    sb_release(&v);
}

static void put_properties(struct sbuf *sb, const struct conf_run_info *info)
{
    sb_puts(sb, "    <properties>\n");
    put_property(sb, "gatewayClass", info->gateway_class);
    put_property(sb, "implementation.organization", info->impl.organization);
    put_property(sb, "implementation.project", info->impl.project);
    put_property(sb, "implementation.version", info->impl.version);
    put_property(sb, "implementation.url", info->impl.url);
    put_property(sb, "gatewayAPIVersion", info->gateway_api_version);
    put_property(sb, "gatewayAPIChannel", info->gateway_api_channel);
    put_property(sb, "mode", info->mode);
    put_property_list(sb, "conformanceProfiles", &info->profiles);
    put_property_list(sb, "supportedFeatures", &info->supported_features);
    put_property(sb, "gwconformVersion", GATECHECK_VERSION);
    if (conf_faults_any(&info->faults)) {
        char *d = conf_faults_describe(&info->faults);

        put_property(sb, "runnerFaults", d);
        free(d);
    }
    if (info->interrupted)
        put_property(sb, "interruptedBy", conf_signal_name(info->interrupted));
    sb_puts(sb, "    </properties>\n");
}

/* ---- runner faults --------------------------------------------------------- */

/* "runner faults: ...", then the event lines (what failed, how it ended). */
static void faults_text(struct sbuf *out, const char *label, const struct conf_faults *f)
{
    char *d = conf_faults_describe(f);
    size_t i;

    sb_printf(out, "%s: %s\n", label, d);
    for (i = 0; i < f->events.n; i++)
        sb_printf(out, "  %s\n", f->events.v[i]);
    if (f->events_dropped)
        sb_printf(out, "  (%u more)\n", f->events_dropped);
    free(d);
}

/* A test case's runner faults: a property (the counts in one line) ... */
static void put_case_fault_property(struct sbuf *sb, const struct conf_faults *f)
{
    char *d = conf_faults_describe(f);

    sb_puts(sb, "      <properties>\n        <property");
    put_attr(sb, "name", "runnerFaults");
    put_attr(sb, "value", d);
    sb_puts(sb, "/>\n      </properties>\n");
    free(d);
}

/* ... and, after the result, <system-out> with the event lines. */
static void put_case_fault_out(struct sbuf *sb, const struct conf_faults *f)
{
    struct sbuf text = {0};

    faults_text(&text, "runner faults", f);
    sb_puts(sb, "      <system-out>");
    put_xml(sb, text.buf, 0);
    sb_puts(sb, "</system-out>\n");
    sb_release(&text);
}

/* the message attribute: the first line only (details go in the text) */
static void put_message_attr(struct sbuf *sb, const char *msg)
{
    char *line = xstrndup(msg, strcspn(msg, "\r\n"));

    put_attr(sb, "message", line);
    free(line);
}

static void put_result(struct sbuf *sb, const struct jcase *jc)
{
    enum conf_result res = jc->c ? jc->c->result : jc->s->result;
    const char *msg = jc->c ? jc->c->message : jc->s->message;
    const char *detail = jc->c ? jc->c->detail : NULL;
    const char *elem = res == CONF_FAIL ? "failure" : res == CONF_ERROR ? "error" : "skipped";
    const char *fallback = res == CONF_FAIL    ? "failed"
                           : res == CONF_ERROR ? "could not be judged"
                           : res == CONF_SKIP  ? "skipped"
                                               : "not supported by the implementation";

    if (!msg || !*msg)
        msg = detail && *detail ? detail : fallback;
    sb_printf(sb, "      <%s", elem);
    put_message_attr(sb, msg);
    if (res == CONF_FAIL)
        put_attr(sb, "type", "AssertionFailure");
    else if (res == CONF_ERROR)
        put_attr(sb, "type", "Error");
    sb_putc(sb, '>');
    put_xml(sb, msg, 0); /* Prow, GitLab and Jenkins show the text, not the attribute */
    if (detail && *detail && detail != msg) {
        sb_puts(sb, "\n\n");
        put_xml(sb, detail, 0);
    }
    sb_printf(sb, "</%s>\n", elem);
}

static void put_testcase(struct sbuf *sb, const struct jcase *jc)
{
    enum conf_result res = jc->c ? jc->c->result : jc->s->result;
    const struct conf_faults *f = jc->c ? &jc->c->faults : &jc->s->faults;
    int faults = conf_faults_any(f);
    char *classname = NULL;

    if (!jc->s->profile || !*jc->s->profile)
        classname = xasprintf(NO_PROFILE_SUITE ".%s",
                              jc->s->name && *jc->s->name ? jc->s->name : "(unnamed)");
    sb_puts(sb, "    <testcase");
    put_attr(sb, "name", jc->name);
    put_attr(sb, "classname", classname ? classname : jc->s->profile);
    put_time(sb, jc->ms);
    free(classname);
    if (res == CONF_PASS && !faults) {
        sb_puts(sb, "/>\n");
        return;
    }
    sb_puts(sb, ">\n");
    if (faults)
        put_case_fault_property(sb, f);
    if (res != CONF_PASS)
        put_result(sb, jc);
    if (faults)
        put_case_fault_out(sb, f);
    sb_puts(sb, "    </testcase>\n");
}

/* The suite's <system-out> when the run met faults or a signal: the run's
   line and events, then one line per scenario of this suite that met some. */
static void put_suite_out(struct sbuf *sb, const struct jsuite *su,
                          const struct conf_run_info *info)
{
    struct sbuf text = {0};
    const struct conf_scenario_result *prev = NULL;
    size_t i;

    if (!conf_faults_any(&info->faults) && !info->interrupted)
        return;
    if (info->interrupted)
        sb_printf(&text,
                  "interrupted by %s: the case running then is an error, what was not "
                  "started is skipped\n",
                  conf_signal_name(info->interrupted));
    if (conf_faults_any(&info->faults))
        faults_text(&text, "runner faults (the whole run)", &info->faults);
    for (i = 0; i < su->n; i++) {
        const struct conf_scenario_result *s = su->v[i].s;
        char *d;

        if (s == prev || !conf_faults_any(&s->faults))
            continue;
        prev = s;
        d = conf_faults_describe(&s->faults);
        sb_printf(&text, "%s: %s\n", s->name ? s->name : "(unnamed)", d);
        free(d);
    }
    sb_puts(sb, "    <system-out>");
    put_xml(sb, text.buf, 0);
    sb_puts(sb, "</system-out>\n");
    sb_release(&text);
}

/* Ant's timestamp: no zone designator (the Jenkins schema's pattern), UTC */
static void put_timestamp(struct sbuf *sb, time_t t)
{
    struct tm tm;

    if (t <= 0 || !gmtime_r(&t, &tm))
        return;
    sb_printf(sb, " timestamp=\"%04d-%02d-%02dT%02d:%02d:%02d\"", tm.tm_year + 1900, tm.tm_mon + 1,
              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void put_counts(struct sbuf *sb, size_t tests, unsigned failures, unsigned errors,
                       unsigned skipped, long long ms)
{
    put_attr_uint(sb, "tests", (unsigned)tests);
    put_attr_uint(sb, "failures", failures);
    put_attr_uint(sb, "errors", errors);
    put_attr_uint(sb, "skipped", skipped);
    put_time(sb, ms);
}

static void put_suite(struct sbuf *sb, const struct jsuite *su, const struct conf_run_info *info)
{
    size_t i;

    sb_puts(sb, "  <testsuite");
    put_attr(sb, "name", su->name);
    put_counts(sb, su->n, su->failures, su->errors, su->skipped, su->ms);
    put_timestamp(sb, info->started);
    if (info->hostname && *info->hostname)
        put_attr(sb, "hostname", info->hostname);
    sb_puts(sb, ">\n");
    put_properties(sb, info);
    for (i = 0; i < su->n; i++)
        put_testcase(sb, &su->v[i]);
    put_suite_out(sb, su, info);
    sb_puts(sb, "  </testsuite>\n");
}

void conf_junit_render(const struct conf_run_info *info, const struct conf_scenario_result *s,
                       size_t n, struct sbuf *out)
{
    struct jrun r = {0};
    size_t i, tests = 0;
    unsigned failures = 0, errors = 0, skipped = 0;
    long long ms = 0;

    for (i = 0; i < n; i++)
        jrun_add_scenario(&r, &s[i]);
    if (r.n == 0) /* keep the properties of an empty run */
        jrun_suite(&r, NO_PROFILE_SUITE);
    for (i = 0; i < r.n; i++) {
        tests += r.v[i].n;
        failures += r.v[i].failures;
        errors += r.v[i].errors;
        skipped += r.v[i].skipped;
        ms += r.v[i].ms;
    }
    if (to_ms(info->seconds) > ms)
        ms = to_ms(info->seconds);
    sb_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    put_attr(out, "name", NO_PROFILE_SUITE);
    put_counts(out, tests, failures, errors, skipped, ms);
    put_timestamp(out, info->started);
    sb_puts(out, ">\n");
    for (i = 0; i < r.n; i++)
        put_suite(out, &r.v[i], info);
    sb_puts(out, "</testsuites>\n");
    jrun_release(&r);
}

int conf_write_junit(const char *path, const struct conf_run_info *info,
                     const struct conf_scenario_result *s, size_t n, char *err, size_t errlen)
{
    struct sbuf sb = {0};
    int rc;

    conf_junit_render(info, s, n, &sb);
    rc = conf_report_write_atomic(path, sb.buf, sb.len, 0644, err, errlen);
    sb_release(&sb);
    return rc;
}

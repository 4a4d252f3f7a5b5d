/*
 * gwconform's result files (include/report.h): JUnit XML escaping, counts,
 * names and layout (checked against tests/conformance/junit.xsd with
 * xmllint when it is installed); the ConformanceReport's tallying, summary
 * strings and go-yaml v2 formatting (checked with upstream's own Go type and
 * marshaller through tools/check-report.sh when Go is installed); the atomic
 * write; the Sonobuoy done file and tarball.
 * Runs from the repository root (tools/run-tests.sh does).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tap.h"
#include "conform.h"
#include "report.h"
#include "util.h"

/* ---- building results ---------------------------------------------------- */

static void strlist_add(struct conf_strlist *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = xstrdup(s);
}

static void strlist_clear(struct conf_strlist *l)
{
    while (l->n > 0)
        free(l->v[--l->n]);
    free(l->v);
    l->v = NULL;
}

/* comma-separated */
static void strlist_set(struct conf_strlist *l, const char *csv)
{
    char *copy, *p, *save = NULL;

    if (!csv || !*csv)
        return;
    copy = xstrdup(csv);
    for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
        strlist_add(l, p);
    free(copy);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void info_init(struct conf_run_info *info, const char *profiles, const char *supported)
{
    memset(info, 0, sizeof(*info));
    info->impl.organization = xstrdup("acme");
    info->impl.project = xstrdup("acme-gateway");
    info->impl.url = xstrdup("https://example.com/acme/gateway");
    info->impl.version = xstrdup("v1.2.3");
    strlist_add(&info->impl.contact, "@acme/gateway-maintainers");
    info->mode = xstrdup("default");
    info->gateway_api_version = xstrdup("v1.6.1");
    info->gateway_api_channel = xstrdup("standard");
    info->gateway_class = xstrdup("acme");
    strlist_set(&info->profiles, profiles);
    strlist_set(&info->supported_features, supported);
    info->started = 1760000000; /* 2025-10-09T08:53:20Z */
    info->seconds = 0;
    info->hostname = xstrdup("runner-0");
}

struct run {
    struct conf_scenario_result *s;
    size_t n;
};

static struct conf_scenario_result *scen(struct run *r, const char *name, const char *profile,
                                         const char *features, enum conf_result res)
{
    struct conf_scenario_result *s;

    r->s = xrealloc(r->s, (r->n + 1) * sizeof(*r->s));
    s = &r->s[r->n++];
    memset(s, 0, sizeof(*s));
    s->name = dup_or_null(name);
    s->profile = dup_or_null(profile);
    strlist_set(&s->features, features);
    s->result = res;
    return s;
}

static void add_case(struct conf_scenario_result *s, const char *name, enum conf_result res,
                     double seconds, const char *message, const char *detail)
{
    struct conf_case_result *c;

    s->cases = xrealloc(s->cases, (s->ncases + 1) * sizeof(*s->cases));
    c = &s->cases[s->ncases++];
    memset(c, 0, sizeof(*c));
    c->name = dup_or_null(name);
    c->result = res;
    c->seconds = seconds;
    c->message = dup_or_null(message);
    c->detail = dup_or_null(detail);
}

static void run_release(struct run *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        conf_scenario_result_release(&r->s[i]);
    free(r->s);
    memset(r, 0, sizeof(*r));
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p;

    for (p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int contains(const char *hay, const char *needle, const char *what)
{
    int found = hay && strstr(hay, needle) != NULL;

    ok(found, "%s", what);
    if (!found)
        printf("#   missing: %s\n", needle);
    return found;
}

/* ---- files and commands -------------------------------------------------- */

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmp_cleanup(void)
{
    if (tmpdir[0])
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_path(const char *name)
{
    return xasprintf("%s/%s", tmpdir, name);
}

static char *slurp(const char *path)
{
    struct sbuf sb = {0};
    char buf[4096];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return NULL;
    sb_add(&sb, "", 0);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_add(&sb, buf, n);
    fclose(f);
    return sb_detach(&sb);
}

static int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* run a shell command; its output (stdout and stderr) into *out; exit status */
static int run_cmd(const char *cmd, char **out)
{
    struct sbuf sb = {0};
    char buf[4096], *full = xasprintf("%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    size_t n;
    int st;

    free(full);
    sb_add(&sb, "", 0);
    if (!p) {
        *out = sb_detach(&sb);
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        sb_add(&sb, buf, n);
    st = pclose(p);
    *out = sb_detach(&sb);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have_cmd(const char *name)
{
    char *cmd = xasprintf("command -v %s >/dev/null", name), *out = NULL;
    int rc = run_cmd(cmd, &out);

    free(cmd);
    free(out);
    return rc == 0;
}

static void skip(const char *why)
{
    tap_n++;
    printf("ok %d # SKIP %s\n", tap_n, why);
    printf("# report: test_report: SKIPPED %s\n", why);
}

/* files in the temporary directory whose name starts with '.' */
static int hidden_files(const char *dir)
{
    char *out = NULL, *cmd = xasprintf("ls -A '%s' | grep -c '^\\.'", dir);
    int n;

    run_cmd(cmd, &out);
    n = (int)strtol(out, NULL, 10);
    free(out);
    free(cmd);
    return n;
}

/* ---- JUnit ----------------------------------------------------------------- */

static char *junit_of(const struct conf_run_info *info, const struct run *r)
{
    struct sbuf sb = {0};

    conf_junit_render(info, r->s, r->n, &sb);
    return sb_detach(&sb);
}

/* xmllint against our schema; "valid" or the diagnostics */
static int xsd_check(const char *file, char **out)
{
    char *cmd = xasprintf("xmllint --noout --schema tests/conformance/junit.xsd '%s'", file);
    int rc = run_cmd(cmd, out);

    free(cmd);
    return rc;
}

/* One hostile string through every place text goes: the case name (an
   attribute), the message (attribute and text), the detail (text). */
static void test_escaping(void)
{
    static const struct {
        const char *what, *in, *want_attr, *want_text;
    } rows[] = {
        {"markup in attributes and text", "say \"hi\" & 'bye' <now>",
         "say &quot;hi&quot; &amp; &apos;bye&apos; &lt;now&gt;",
         "say &quot;hi&quot; &amp; &apos;bye&apos; &lt;now&gt;"},
        {"]]> cannot end anything", "a]]>b", "a]]&gt;b", "a]]&gt;b"},
        {"ANSI colour (CSI) stripped", "\x1b[1;31mred\x1b[0m text", "red text", "red text"},
        {"OSC title and a lone ESC stripped", "\x1b]0;title\x07x\x1b(By\x1b", "xy", "xy"},
        {"C0 controls become U+FFFD", "a\x01\x02\x7f b", "a\xef\xbf\xbd\xef\xbf\xbd\x7f b",
         "a\xef\xbf\xbd\xef\xbf\xbd\x7f b"},
        {"invalid UTF-8 byte by byte", "x\xff\xfey", "x\xef\xbf\xbd\xef\xbf\xbdy",
         "x\xef\xbf\xbd\xef\xbf\xbdy"},
        {"overlong, surrogate, U+FFFF, above U+10FFFF, truncated",
         "\xc0\xaf|\xed\xa0\x80|\xef\xbf\xbf|\xf4\x90\x80\x80|\xe2\x82",
         "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|"
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd",
         "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|"
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"},
        {"valid UTF-8 kept", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
         "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"},
        {"tab, LF, CR as references in attributes; CR also in text", "a\tb\r\nc",
         "a&#9;b&#13;&#10;c", "a\tb&#13;\nc"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        struct conf_run_info info;
        struct run r = {0};
        struct conf_scenario_result *s;
        char *xml, *want;

        info_init(&info, "", "");
        s = scen(&r, "Hostile", NULL, "Gateway", CONF_FAIL);
        add_case(s, rows[i].in, CONF_FAIL, 0.25, rows[i].in, rows[i].in);
        xml = junit_of(&info, &r);
        want = xasprintf("name=\"Hostile/%s\"", rows[i].want_attr);
        contains(xml, want, rows[i].what);
        free(want);
        if (rows[i].want_text) {
            want = xasprintf(">%s\n\n%s</failure>", rows[i].want_text, rows[i].want_text);
            contains(xml, want, rows[i].what);
            free(want);
        }
        ok(!strchr(xml, 0x1b) && !strstr(xml, "[0m"), "%s: no escape sequence left", rows[i].what);
        free(xml);
        run_release(&r);
        conf_run_info_release(&info);
    }
}

/* The whole document for a small run, byte for byte. */
static void test_junit_golden(void)
{
    static const char *const want =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites name=\"gwconform\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\" "
        "time=\"3.500\" timestamp=\"2025-10-09T08:53:20\">\n"
        "  <testsuite name=\"GATEWAY-HTTP\" tests=\"3\" failures=\"1\" errors=\"0\" "
        "skipped=\"1\" time=\"2.000\" timestamp=\"2025-10-09T08:53:20\" hostname=\"runner-0\">\n"
        "    <properties>\n"
        "      <property name=\"gatewayClass\" value=\"acme\"/>\n"
        "      <property name=\"implementation.organization\" value=\"acme\"/>\n"
        "      <property name=\"implementation.project\" value=\"acme-gateway\"/>\n"
        "      <property name=\"implementation.version\" value=\"v1.2.3\"/>\n"
        "      <property name=\"implementation.url\" value=\"https://example.com/acme/gateway\"/>\n"
        "      <property name=\"gatewayAPIVersion\" value=\"v1.6.1\"/>\n"
        "      <property name=\"gatewayAPIChannel\" value=\"standard\"/>\n"
        "      <property name=\"mode\" value=\"default\"/>\n"
        "      <property name=\"conformanceProfiles\" value=\"GATEWAY-HTTP\"/>\n"
        "      <property name=\"gwconformVersion\" value=\"" GATECHECK_VERSION "\"/>\n"
        "    </properties>\n"
        "    <testcase name=\"HTTPRouteSimpleSameNamespace/0 request to &apos;/&apos;\" "
        "classname=\"GATEWAY-HTTP\" time=\"0.123\"/>\n"
        "    <testcase name=\"HTTPRouteSimpleSameNamespace/1 request to &apos;/v2&apos;\" "
        "classname=\"GATEWAY-HTTP\" time=\"1.000\">\n"
        "      <failure message=\"expected status 200, got 404\" type=\"AssertionFailure\">"
        "expected status 200, got 404\n\nexpected: 200\ngot:      404</failure>\n"
        "    </testcase>\n"
        "    <testcase name=\"HTTPRouteQueryParamMatching\" classname=\"GATEWAY-HTTP\" "
        "time=\"0.000\">\n"
        "      <skipped message=\"Skipping HTTPRouteQueryParamMatching: suite does not support "
        "HTTPRouteQueryParamMatching\">Skipping HTTPRouteQueryParamMatching: suite does not "
        "support HTTPRouteQueryParamMatching</skipped>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "  <testsuite name=\"gwconform\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" "
        "time=\"1.500\" timestamp=\"2025-10-09T08:53:20\" hostname=\"runner-0\">\n"
        "    <properties>\n"
        "      <property name=\"gatewayClass\" value=\"acme\"/>\n"
        "      <property name=\"implementation.organization\" value=\"acme\"/>\n"
        "      <property name=\"implementation.project\" value=\"acme-gateway\"/>\n"
        "      <property name=\"implementation.version\" value=\"v1.2.3\"/>\n"
        "      <property name=\"implementation.url\" value=\"https://example.com/acme/gateway\"/>\n"
        "      <property name=\"gatewayAPIVersion\" value=\"v1.6.1\"/>\n"
        "      <property name=\"gatewayAPIChannel\" value=\"standard\"/>\n"
        "      <property name=\"mode\" value=\"default\"/>\n"
        "      <property name=\"conformanceProfiles\" value=\"GATEWAY-HTTP\"/>\n"
        "      <property name=\"gwconformVersion\" value=\"" GATECHECK_VERSION "\"/>\n"
        "    </properties>\n"
        "    <testcase name=\"MeshFrontend\" classname=\"gwconform.MeshFrontend\" "
        "time=\"1.500\">\n"
        "      <error message=\"apply mesh/frontend.yaml: the server could not find the "
        "requested resource\" type=\"Error\">apply mesh/frontend.yaml: the server could not "
        "find the requested resource</error>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "</testsuites>\n";
    struct conf_run_info info;
    struct run r = {0};
    struct conf_scenario_result *s;
    char *xml;

    info_init(&info, "GATEWAY-HTTP", "");
    info.seconds = 3.4994; /* less than the scenarios' sum: the sum wins */
    s = scen(&r, "HTTPRouteSimpleSameNamespace", "GATEWAY-HTTP", "Gateway,HTTPRoute", CONF_FAIL);
    s->seconds = 2.0;
    add_case(s, "0 request to '/'", CONF_PASS, 0.1234, NULL, NULL);
    add_case(s, "1 request to '/v2'", CONF_FAIL, 0.9999, "expected status 200, got 404",
             "expected: 200\ngot:      404");
    s = scen(&r, "HTTPRouteQueryParamMatching", "GATEWAY-HTTP",
             "HTTPRoute,HTTPRouteQueryParamMatching", CONF_NOT_SUPPORTED);
    s->extended = 1;
    s->message = xstrdup("Skipping HTTPRouteQueryParamMatching: suite does not support "
                         "HTTPRouteQueryParamMatching");
    s = scen(&r, "MeshFrontend", NULL, "Mesh", CONF_ERROR);
    s->seconds = 1.5;
    s->message = xstrdup("apply mesh/frontend.yaml: the server could not find the requested "
                         "resource");
    xml = junit_of(&info, &r);
    is_str(xml, want, "junit_01.xml for a small run, byte for byte");
    free(xml);
    run_release(&r);
    conf_run_info_release(&info);
}

/* Counts on suites and the root come from the test cases written. */
static void test_counts(void)
{
    struct conf_run_info info;
    struct run r = {0};
    struct conf_scenario_result *s;
    char *xml;

    info_init(&info, "GATEWAY-HTTP,GATEWAY-TLS", "");
    info.seconds = 100.0;
    s = scen(&r, "A", "GATEWAY-HTTP", "Gateway", CONF_FAIL);
    add_case(s, "pass", CONF_PASS, 1, NULL, NULL);
    add_case(s, "fail", CONF_FAIL, 1, "no", NULL);
    add_case(s, "error", CONF_ERROR, 1, "timeout", NULL);
    add_case(s, "skip", CONF_SKIP, 0, "skipped", NULL);
    add_case(s, "unsupported", CONF_NOT_SUPPORTED, 0, NULL, NULL);
    s = scen(&r, "B", "GATEWAY-TLS", "Gateway,TLSRoute", CONF_PASS);
    add_case(s, "pass", CONF_PASS, 0.0005, NULL, NULL);
    s = scen(&r, "C", "GATEWAY-HTTP", "Gateway", CONF_SKIP); /* no cases: its own test case */
    s = scen(&r, "D", NULL, "Mesh", CONF_PASS);
    xml = junit_of(&info, &r);
    contains(xml,
             "<testsuites name=\"gwconform\" tests=\"8\" failures=\"1\" errors=\"1\" "
             "skipped=\"3\" time=\"100.000\"",
             "root counts: every test case, NOT_SUPPORTED as skipped, the run's time");
    contains(xml,
             "<testsuite name=\"GATEWAY-HTTP\" tests=\"6\" failures=\"1\" errors=\"1\" "
             "skipped=\"3\" time=\"3.000\"",
             "GATEWAY-HTTP suite counts");
    contains(xml,
             "<testsuite name=\"GATEWAY-TLS\" tests=\"1\" failures=\"0\" errors=\"0\" "
             "skipped=\"0\" time=\"0.001\"",
             "GATEWAY-TLS suite counts; 0.0005 s rounds to 0.001");
    contains(xml, "<testsuite name=\"gwconform\" tests=\"1\" failures=\"0\" errors=\"0\"",
             "scenarios without a profile: suite gwconform");
    ok(strstr(xml, "name=\"GATEWAY-HTTP\"") < strstr(xml, "name=\"GATEWAY-TLS\"") &&
           strstr(xml, "name=\"GATEWAY-TLS\"") < strstr(xml, "<testsuite name=\"gwconform\""),
       "suites in order of first appearance");
    contains(xml,
             "<testcase name=\"A/unsupported\" classname=\"GATEWAY-HTTP\" time=\"0.000\">\n"
             "      <skipped message=\"not supported by the implementation\">",
             "NOT_SUPPORTED without a message is skipped with a reason");
    contains(xml, "<testcase name=\"D\" classname=\"gwconform.D\" time=\"0.000\"/>",
             "a passing scenario without cases is one passing test case");
    ok(count_of(xml, "<properties>") == 3, "properties in every suite");
    free(xml);
    run_release(&r);
    conf_run_info_release(&info);

    info_init(&info, "", "");
    xml = junit_of(&info, &r);
    contains(xml,
             "<testsuites name=\"gwconform\" tests=\"0\" failures=\"0\" errors=\"0\" "
             "skipped=\"0\" time=\"0.000\"",
             "an empty run has zero counts");
    ok(count_of(xml, "<testsuite ") == 1 && count_of(xml, "<property ") > 0,
       "an empty run keeps one suite with the properties");
    free(xml);
    conf_run_info_release(&info);
}

/* (classname, name) pairs are unique: repeats get " #2", " #3". */
static void test_unique_names(void)
{
    struct conf_run_info info;
    struct run r = {0};
    struct conf_scenario_result *s;
    char *xml;

    info_init(&info, "", "");
    s = scen(&r, "Dup", "GATEWAY-HTTP", "Gateway", CONF_PASS);
    add_case(s, "same", CONF_PASS, 0, NULL, NULL);
    add_case(s, "same", CONF_PASS, 0, NULL, NULL);
    add_case(s, "same #2", CONF_PASS, 0, NULL, NULL); /* taken by then: becomes " #2 #2" */
    add_case(s, "same", CONF_PASS, 0, NULL, NULL);
    add_case(s, NULL, CONF_PASS, 0, NULL, NULL);
    s = scen(&r, "Dup", "GATEWAY-HTTP", "Gateway", CONF_PASS); /* the scenario again */
    add_case(s, "same", CONF_PASS, 0, NULL, NULL);
    s = scen(&r, "Dup", "GATEWAY-TLS", "Gateway", CONF_PASS); /* another classname: fine */
    add_case(s, "same", CONF_PASS, 0, NULL, NULL);
    xml = junit_of(&info, &r);
    ok(count_of(xml, "name=\"Dup/same\"") == 2, "the first of each name is kept in each suite");
    ok(count_of(xml, "name=\"Dup/same #2\"") == 1 && count_of(xml, "name=\"Dup/same #3\"") == 1 &&
           count_of(xml, "name=\"Dup/same #4\"") == 1 &&
           count_of(xml, "name=\"Dup/same #2 #2\"") == 1,
       "repeats numbered, never colliding with a given name");
    contains(xml, "name=\"Dup/#5\"", "a case without a name gets its position");
    free(xml);
    run_release(&r);
    conf_run_info_release(&info);
}

/* A scenario-level failure has a test case of its own only when no case
   explains it. */
static void test_scenario_level(void)
{
    struct conf_run_info info;
    struct run r = {0};
    struct conf_scenario_result *s;
    char *xml;

    info_init(&info, "", "");
    s = scen(&r, "SetupFailed", "GATEWAY-HTTP", "Gateway", CONF_ERROR);
    s->seconds = 3;
    s->message = xstrdup("Gateway gateway-conformance-infra/same-namespace not Programmed");
    add_case(s, "0 request", CONF_SKIP, 0, "not run: setup failed", NULL);
    s = scen(&r, "CaseFailed", "GATEWAY-HTTP", "Gateway", CONF_FAIL);
    s->message = xstrdup("1 of 1 cases failed");
    add_case(s, "0 request", CONF_FAIL, 0, "expected 200, got 500", NULL);
    s = scen(&r, "CleanupFailed", "GATEWAY-HTTP", "Gateway", CONF_FAIL);
    s->message = xstrdup("cleanup: delete HTTPRoute: forbidden");
    s->seconds = 2;
    add_case(s, "0 request", CONF_PASS, 1.25, NULL, NULL);
    xml = junit_of(&info, &r);
    contains(xml,
             "<testcase name=\"SetupFailed\" classname=\"GATEWAY-HTTP\" time=\"3.000\">\n"
             "      <error message=\"Gateway gateway-conformance-infra/same-namespace not "
             "Programmed\" type=\"Error\">",
             "setup failure: an <error> test case for the scenario, before its cases");
    ok(strstr(xml, "name=\"SetupFailed\"") < strstr(xml, "name=\"SetupFailed/0 request\""),
       "the scenario's own test case comes first");
    ok(!strstr(xml, "name=\"CaseFailed\""), "a failing case explains its scenario: no extra");
    contains(xml,
             "<testcase name=\"CleanupFailed\" classname=\"GATEWAY-HTTP\" time=\"0.750\">\n"
             "      <failure message=\"cleanup: delete HTTPRoute: forbidden\" "
             "type=\"AssertionFailure\">",
             "failed with passing cases: its own test case, the time its cases did not use");
    contains(xml, "tests=\"5\" failures=\"2\" errors=\"1\" skipped=\"1\"", "counted");
    free(xml);
    run_release(&r);
    conf_run_info_release(&info);
}

/* The hostile strings and a normal run, through xmllint and our XSD. */
static void test_xsd(void)
{
    struct conf_run_info info;
    struct run r = {0};
    struct conf_scenario_result *s;
    char err[512], *path = tmp_path("junit_01.xml"), *bad = tmp_path("bad.xml"), *out = NULL;
    char *xml;
    int rc;

    info_init(&info, "GATEWAY-HTTP", "");
    free(info.gateway_class);
    info.gateway_class = xstrdup("\x1b[1mbold\x1b[0m \"class\"\n&\x01\xff");
    s = scen(&r, "H\"o<s>t&i'l\xc3\xa9\x02", "GATEWAY-HTTP", "Gateway", CONF_FAIL);
    add_case(s, "ca\tse\n\r]]>\x1b[31m", CONF_FAIL, 1e-9, "m\xed\xa0\x80\ns", "d]]>\x0b\r\n");
    add_case(s, "skip", CONF_SKIP, 1e15, "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", NULL);
    add_case(s, "error", CONF_ERROR, -1, NULL, "\xef\xbf\xbe\xef\xbf\xbf");
    s = scen(&r, "Plain", NULL, "Mesh", CONF_NOT_SUPPORTED);
    rc = conf_write_junit(path, &info, r.s, r.n, err, sizeof(err));
    ok(rc == 0, "conf_write_junit writes %s", path);
    if (rc != 0)
        printf("#   %s\n", err);
    if (!have_cmd("xmllint")) {
        skip("xmllint not installed (Debian: libxml2-utils): junit_01.xml not checked against "
             "tests/conformance/junit.xsd");
    } else {
        rc = xsd_check(path, &out);
        ok(rc == 0, "junit_01.xml with hostile text validates against junit.xsd");
        if (rc != 0)
            printf("# %s\n", out);
        free(out);
        xml = slurp(path);
        /* the schema is really applied: break the time format */
        if (xml && strstr(xml, "time=\"")) {
            char *t = strstr(xml, "time=\"") + 6;

            t[0] = '1';
            t[1] = 'e';
        }
        spit(bad, xml ? xml : "");
        free(xml);
        rc = xsd_check(bad, &out);
        ok(rc != 0, "a time in scientific notation does not validate (the schema is applied)");
        free(out);
    }
    free(path);
    free(bad);
    run_release(&r);
    conf_run_info_release(&info);
}

/* ---- ConformanceReport ----------------------------------------------------- */

static char *report_of(const struct conf_run_info *info, const struct run *r)
{
    struct sbuf sb = {0};

    conf_report_render(info, r->s, r->n, 1760000000, &sb);
    return sb_detach(&sb);
}

/* the text after "profiles:\n" up to the next top-level key */
static char *profiles_of(const char *yaml)
{
    const char *p = strstr(yaml, "\nprofiles:"), *end;

    if (!p)
        return xstrdup("");
    p += strlen("\nprofiles:");
    for (end = p; *end && !(end[0] == '\n' && end[1] != '-' && end[1] != ' '); end++)
        ;
    return xstrndup(p, (size_t)(end - p) + (*end ? 1 : 0));
}

/* Summary strings: success, partial, failure, with and without extended. */
static void test_summaries(void)
{
    static const struct {
        unsigned cp, cs, cf; /* core passed, skipped, failed */
        int ext;
        unsigned ep, es, ef;
        const char *want; /* the summary line(s), as go-yaml folds them */
    } rows[] = {
        {3, 0, 0, 0, 0, 0, 0, "  summary: Core tests succeeded.\n"},
        {3, 2, 0, 0, 0, 0, 0, "  summary: Core tests partially succeeded with 2 test skips.\n"},
        {3, 2, 1, 0, 0, 0, 0, "  summary: Core tests failed with 1 test failures.\n"},
        {1, 0, 0, 1, 2, 0, 0, "  summary: Core tests succeeded. Extended tests succeeded.\n"},
        {1, 0, 0, 1, 2, 1, 0,
         "  summary: Core tests succeeded. Extended tests partially succeeded with 1 test "
         "skips.\n"}, /* 85 columns: go-yaml folds only at a space past column 80 */
        {1, 1, 0, 1, 2, 1, 0,
         "  summary: Core tests partially succeeded with 1 test skips. Extended tests partially\n"
         "    succeeded with 1 test skips.\n"},
        {0, 0, 2, 1, 0, 0, 3,
         "  summary: Core tests failed with 2 test failures. Extended tests failed with 3 test\n"
         "    failures.\n"},
        /* only a NOT_SUPPORTED extended test: no extended section at all */
        {0, 0, 0, 1, 0, 0, 0, "  summary: Core tests succeeded.\n"},
    };
    size_t i;
    unsigned k;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        struct conf_run_info info;
        struct run r = {0};
        char *yaml, name[64];

        info_init(&info, "GATEWAY-HTTP", "HTTPRouteQueryParamMatching");
        for (k = 0; k < rows[i].cp + rows[i].cs + rows[i].cf; k++) {
            snprintf(name, sizeof(name), "Core%u", k);
            scen(&r, name, "GATEWAY-HTTP", "Gateway,HTTPRoute",
                 k < rows[i].cp                ? CONF_PASS
                 : k < rows[i].cp + rows[i].cs ? CONF_SKIP
                                               : CONF_FAIL);
        }
        for (k = 0; rows[i].ext && k < rows[i].ep + rows[i].es + rows[i].ef; k++) {
            snprintf(name, sizeof(name), "Ext%u", k);
            scen(&r, name, "GATEWAY-HTTP", "HTTPRoute,HTTPRouteQueryParamMatching",
                 k < rows[i].ep                ? CONF_PASS
                 : k < rows[i].ep + rows[i].es ? CONF_SKIP
                                               : CONF_FAIL);
        }
        if (rows[i].ext && rows[i].ep + rows[i].es + rows[i].ef == 0)
            scen(&r, "ExtNotSupported", "GATEWAY-HTTP", "HTTPRouteCORS", CONF_NOT_SUPPORTED);
        yaml = report_of(&info, &r);
        ok(strstr(yaml, rows[i].want) != NULL, "summary row %zu", i);
        if (!strstr(yaml, rows[i].want))
            printf("#   want: %s#   in:\n%s", rows[i].want, yaml);
        free(yaml);
        run_release(&r);
        conf_run_info_release(&info);
    }
}

/* Tallying into profiles, each rule on its own; the expected text is the
   profiles list as upstream prints it. */
static void test_tally(void)
{
    struct conf_run_info info;
    struct run r = {0};
    struct conf_scenario_result *s;
    char *yaml, *prof;

    /* a Gateway-only test counts as core in every GATEWAY-* profile enabled;
       a test needing HTTPRoute counts only in GATEWAY-HTTP; one whose
       features no enabled profile covers counts nowhere; NOT_SUPPORTED makes
       its profile appear without counting; ERROR is a failure; names are
       sorted; the last of a repeated name wins */
    info_init(&info, "GATEWAY-TLS,GATEWAY-HTTP", "GatewayPort8080,TLSRouteModeTerminate");
    scen(&r, "GatewayInvalidRouteKind", "GATEWAY-HTTP", "Gateway", CONF_PASS);
    scen(&r, "HTTPRouteSimpleSameNamespace", "GATEWAY-HTTP", "Gateway,HTTPRoute", CONF_ERROR);
    scen(&r, "HTTPRouteExactPathMatching", "GATEWAY-HTTP", "Gateway,HTTPRoute", CONF_SKIP);
    scen(&r, "GatewayPort8080", "GATEWAY-HTTP", "Gateway,GatewayPort8080", CONF_FAIL);
    scen(&r, "GatewayPort8080", "GATEWAY-HTTP", "Gateway,GatewayPort8080", CONF_PASS);
    scen(&r, "TLSRouteModeMixed", "GATEWAY-TLS", "Gateway,TLSRoute,TLSRouteModeMixed",
         CONF_NOT_SUPPORTED);
    scen(&r, "GRPCRouteNamedRule", "GATEWAY-GRPC", "Gateway,GRPCRoute,GRPCRouteNamedRouteRule",
         CONF_FAIL);
    s = scen(&r, "HTTPRouteAlpha", "GATEWAY-HTTP", "Gateway,HTTPRoute", CONF_PASS);
    s->provisional = 1;
    s = scen(&r, "HTTPRouteBeta", "GATEWAY-HTTP", "Gateway,HTTPRoute", CONF_FAIL);
    s->provisional = 1;
    yaml = report_of(&info, &r);
    prof = profiles_of(yaml);
    is_str(prof,
           "\n"
           "- core:\n"
           "    failedTests:\n"
           "    - HTTPRouteBeta\n"
           "    - HTTPRouteSimpleSameNamespace\n"
           "    result: failure\n"
           "    skippedTests:\n"
           "    - HTTPRouteExactPathMatching\n"
           "    statistics:\n"
           "      Failed: 2\n"
           "      Passed: 2\n"
           "      Skipped: 1\n"
           "  extended:\n"
           "    result: success\n"
           "    statistics:\n"
           "      Failed: 0\n"
           "      Passed: 1\n"
           "      Skipped: 0\n"
           "    supportedFeatures:\n"
           "    - GatewayPort8080\n"
           "    unsupportedFeatures:\n"
           "    - BackendTLSPolicy\n"
           "    - BackendTLSPolicySANValidation\n"
           "    - GatewayAddressEmpty\n"
           "    - GatewayBackendClientCertificate\n"
           "    - GatewayFrontendClientCertificateValidation\n"
           "    - GatewayFrontendClientCertificateValidationInsecureFallback\n"
           "    - GatewayHTTPListenerIsolation\n"
           "    - GatewayHTTPSListenerDetectMisdirectedRequests\n"
           "    - GatewayInfrastructurePropagation\n"
           "    - GatewayStaticAddresses\n"
           "    - HTTPRoute303RedirectStatusCode\n"
           "    - HTTPRoute307RedirectStatusCode\n"
           "    - HTTPRoute308RedirectStatusCode\n"
           "    - HTTPRouteBackendProtocolH2C\n"
           "    - HTTPRouteBackendProtocolWebSocket\n"
           "    - HTTPRouteBackendRequestHeaderModification\n"
           "    - HTTPRouteBackendTimeout\n"
           "    - HTTPRouteCORS\n"
           "    - HTTPRouteDestinationPortMatching\n"
           "    - HTTPRouteHostRewrite\n"
           "    - HTTPRouteMethodMatching\n"
           "    - HTTPRouteNamedRouteRule\n"
           "    - HTTPRouteParentRefPort\n"
           "    - HTTPRoutePathRedirect\n"
           "    - HTTPRoutePathRewrite\n"
           "    - HTTPRoutePortRedirect\n"
           "    - HTTPRouteQueryParamMatching\n"
           "    - HTTPRouteRequestMirror\n"
           "    - HTTPRouteRequestMultipleMirrors\n"
           "    - HTTPRouteRequestPercentageMirror\n"
           "    - HTTPRouteRequestTimeout\n"
           "    - HTTPRouteResponseHeaderModification\n"
           "    - HTTPRouteRetry\n"
           "    - HTTPRouteRetryBackendTimeout\n"
           "    - HTTPRouteRetryConnectionError\n"
           "    - HTTPRouteSchemeRedirect\n"
           "    - ListenerSet\n"
           "  name: GATEWAY-HTTP\n"
           "  summary: Core tests failed with 2 test failures. Extended tests succeeded.\n"
           "- core:\n"
           "    result: success\n"
           "    statistics:\n"
           "      Failed: 0\n"
           "      Passed: 1\n"
           "      Skipped: 0\n"
           "  extended:\n"
           "    result: success\n"
           "    statistics:\n"
           "      Failed: 0\n"
           "      Passed: 1\n"
           "      Skipped: 0\n"
           "    supportedFeatures:\n"
           "    - GatewayPort8080\n"
           "    - TLSRouteModeTerminate\n"
           "    unsupportedFeatures:\n"
           "    - GatewayAddressEmpty\n"
           "    - GatewayBackendClientCertificate\n"
           "    - GatewayFrontendClientCertificateValidation\n"
           "    - GatewayFrontendClientCertificateValidationInsecureFallback\n"
           "    - GatewayHTTPListenerIsolation\n"
           "    - GatewayHTTPSListenerDetectMisdirectedRequests\n"
           "    - GatewayInfrastructurePropagation\n"
           "    - GatewayStaticAddresses\n"
           "    - ListenerSet\n"
           "    - TLSRouteModeMixed\n"
           "  name: GATEWAY-TLS\n"
           "  summary: Core tests succeeded. Extended tests succeeded.\n",
           "profiles: Gateway-only tests in every GATEWAY-* profile, extended where a feature "
           "is not core, NOT_SUPPORTED and uncovered tests uncounted, ERROR failed, last wins");
    contains(yaml, "\nsucceededProvisionalTests:\n- HTTPRouteAlpha\n",
             "a provisional test that passed is listed; one that failed is not");
    free(prof);
    free(yaml);
    run_release(&r);
    conf_run_info_release(&info);

    /* NOT_SUPPORTED alone: the profile appears, "succeeded", no extended */
    info_init(&info, "GATEWAY-GRPC", "");
    scen(&r, "GRPCExactMethodMatching", "GATEWAY-GRPC", "Gateway,GRPCRoute", CONF_NOT_SUPPORTED);
    yaml = report_of(&info, &r);
    prof = profiles_of(yaml);
    is_str(prof,
           "\n- core:\n    result: success\n    statistics:\n      Failed: 0\n      Passed: 0\n"
           "      Skipped: 0\n  name: GATEWAY-GRPC\n  summary: Core tests succeeded.\n",
           "a profile with only NOT_SUPPORTED results appears with zero counts");
    free(prof);
    free(yaml);
    run_release(&r);
    conf_run_info_release(&info);

    /* no --conformance-profiles: profiles is null even though tests ran */
    info_init(&info, "", "");
    scen(&r, "GatewayInvalidRouteKind", "GATEWAY-HTTP", "Gateway", CONF_PASS);
    yaml = report_of(&info, &r);
    contains(yaml, "\nprofiles: null\n", "no enabled profile: profiles: null");
    ok(!strstr(yaml, "succeededProvisionalTests"), "no provisional key when none passed");
    free(yaml);
    run_release(&r);
    conf_run_info_release(&info);

    /* a profile this table does not know, and a scenario without features:
       their profile and extended fields decide */
    info_init(&info, "ACME-EXTRA", "AcmeB");
    strlist_set(&info.all_extended_features_of_profiles, "AcmeB,AcmeA");
    scen(&r, "AcmeCore", "ACME-EXTRA", NULL, CONF_PASS);
    s = scen(&r, "AcmeExt", "ACME-EXTRA", "AcmeA", CONF_SKIP);
    s->extended = 1;
    scen(&r, "Elsewhere", "GATEWAY-HTTP", "Gateway", CONF_PASS);
    yaml = report_of(&info, &r);
    prof = profiles_of(yaml);
    is_str(
        prof,
        "\n- core:\n    result: success\n    statistics:\n      Failed: 0\n      Passed: 1\n"
        "      Skipped: 0\n  extended:\n    result: partial\n    skippedTests:\n    - AcmeExt\n"
        "    statistics:\n      Failed: 0\n      Passed: 0\n      Skipped: 1\n"
        "    supportedFeatures:\n    - AcmeB\n    unsupportedFeatures:\n    - AcmeA\n"
        "  name: ACME-EXTRA\n"
        "  summary: Core tests succeeded. Extended tests partially succeeded with 1 test skips.\n",
        "an unknown profile: the scenario's profile/extended fields and the run's extended "
        "feature list");
    free(prof);
    free(yaml);
    run_release(&r);
    conf_run_info_release(&info);
}

/* The header of the report, and strings as go-yaml v2 quotes them. */
static void test_report_strings(void)
{
    static const struct {
        const char *in, *want; /* want: the contact item line(s) */
    } rows[] = {
        {"plain", "  - plain\n"},
        {"https://github.com/acme/gateway/issues", "  - https://github.com/acme/gateway/issues\n"},
        {"@acme/maintainers", "  - '@acme/maintainers'\n"},
        {"", "  - \"\"\n"},
        {"true", "  - \"true\"\n"},
        {"No", "  - \"No\"\n"},
        {"yes please", "  - yes please\n"},
        {"~", "  - \"~\"\n"},
        {"1.0", "  - \"1.0\"\n"},
        {"1.6.1", "  - 1.6.1\n"},
        {"0x1F", "  - \"0x1F\"\n"},
        {"1_000", "  - \"1_000\"\n"},
        {".5", "  - \".5\"\n"},
        {"1e400", "  - 1e400\n"}, /* out of float64 range: a string to Go */
        {"2026-08-18", "  - \"2026-08-18\"\n"},
        {"2026-02-30", "  - 2026-02-30\n"}, /* no such day: a string to Go */
        {"1:20", "  - \"1:20\"\n"},         /* YAML 1.1 base 60 */
        {"a: b", "  - 'a: b'\n"},
        {"a:b", "  - a:b\n"},
        {"a #b", "  - 'a #b'\n"},
        {"a#b", "  - a#b\n"},
        {"- x", "  - '- x'\n"},
        {"-x", "  - -x\n"},
        {"it's", "  - it's\n"},
        {"'q'", "  - '''q'''\n"},
        {" lead", "  - ' lead'\n"},
        {"trail ", "  - 'trail '\n"},
        {"tab\there", "  - \"tab\\there\"\n"},
        {"caf\xc3\xa9", "  - caf\xc3\xa9\n"},
        {"\xf0\x9f\x98\x80", "  - \"\\U0001F600\"\n"},
        {"\xef\xbb\xbf"
         "ab",
         "  - \"\\uFEFF\\x61\\x62\"\n"}, /* go-yaml's is_bom quirk */
        {"bad\xff", "  - bad\xef\xbf\xbd\n"},
        {"two\nlines", "  - |-\n    two\n    lines\n"},
        {"ends\n", "  - |\n    ends\n"},
        /* folded at the first space past column 80 */
        {"word word word word word word word word word word word word word word word word word",
         "  - word word word word word word word word word word word word word word word word\n"
         "    word\n"},
    };
    struct conf_run_info info;
    struct run r = {0};
    char *yaml, *want;
    size_t i;

    info_init(&info, "", "");
    yaml = report_of(&info, &r);
    is_str(yaml,
           "apiVersion: gateway.networking.k8s.io/v1\n"
           "date: \"2025-10-09T08:53:20Z\"\n"
           "gatewayAPIChannel: standard\n"
           "gatewayAPIVersion: v1.6.1\n"
           "implementation:\n"
           "  contact:\n"
           "  - '@acme/gateway-maintainers'\n"
           "  organization: acme\n"
           "  project: acme-gateway\n"
           "  url: https://example.com/acme/gateway\n"
           "  version: v1.2.3\n"
           "kind: ConformanceReport\n"
           "mode: default\n"
           "profiles: null\n",
           "an empty run's report (TZ=UTC), byte for byte");
    free(yaml);
    conf_run_info_release(&info);

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        info_init(&info, "", "");
        free(info.impl.contact.v[0]);
        info.impl.contact.v[0] = xstrdup(rows[i].in);
        yaml = report_of(&info, &r);
        want = xasprintf("  contact:\n%s  organization:", rows[i].want);
        ok(strstr(yaml, want) != NULL, "string row %zu as go-yaml writes it", i);
        if (!strstr(yaml, want))
            printf("#   want:\n%s#   got:\n%s", rows[i].want, yaml);
        free(want);
        free(yaml);
        conf_run_info_release(&info);
    }

    info_init(&info, "", "");
    free(info.gateway_api_version);
    free(info.gateway_api_channel);
    free(info.mode);
    info.gateway_api_version = NULL;
    info.gateway_api_channel = NULL;
    info.mode = NULL;
    strlist_clear(&info.impl.contact);
    yaml = report_of(&info, &r);
    contains(yaml, "gatewayAPIChannel: UNDEFINED\ngatewayAPIVersion: UNDEFINED\n",
             "unknown version and channel are UNDEFINED");
    contains(yaml, "  contact: null\n", "no contact: null, as a nil slice marshals");
    contains(yaml, "\nmode: default\n", "mode defaults to default");
    free(yaml);
    conf_run_info_release(&info);
}

/* RFC 3339 with the local offset, "Z" for UTC (Go's time.RFC3339). */
static void test_date(void)
{
    static const struct {
        const char *tz, *want;
    } rows[] = {
        {"UTC", "2025-10-09T08:53:20Z"},
        {"<+0530>-5:30", "2025-10-09T14:23:20+05:30"},
        {"<-03>3", "2025-10-09T05:53:20-03:00"},
        {"<-0930>9:30", "2025-10-08T23:23:20-09:30"},
    };
    char *old = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
    char buf[40];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        setenv("TZ", rows[i].tz, 1);
        tzset();
        conf_report_date(1760000000, buf, sizeof(buf));
        is_str(buf, rows[i].want, rows[i].tz);
    }
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
    setenv("TZ", "UTC", 1); /* the other tests compare dates in UTC */
    tzset();
}

/* A realistic report through upstream's Go type, strict decoding and
   upstream's marshaller (tools/check-report.sh; tests/reportcheck). */
static void test_report_go(void)
{
    static const char *const contacts[] = {
        "@acme/gateway-maintainers",
        "https://example.com/support",
        "1.0",
        "",
        "yes",
        "a: b",
        "'quoted'",
        " lead",
        "tab\there",
        "caf\xc3\xa9 \xf0\x9f\x98\x80",
        "two\nlines\n",
        "0x10",
        "2026-08-18T14:04:23+02:00",
        "\xef\xbb\xbf"
        "bom",
        "bad\xff",
        "a long contact line with many words that go-yaml folds at eighty columns, twice over "
        "because it is long enough to need two folds",
    };
    struct conf_run_info info;
    struct run r = {0};
    struct conf_scenario_result *s;
    char err[512], *path = tmp_path("conformance-report.yaml"), *out = NULL, *cmd;
    size_t i;
    int rc;

    info_init(&info, "GATEWAY-HTTP,GATEWAY-TLS,MESH-HTTP", "GatewayPort8080,HTTPRouteCORS");
    for (i = 0; i < ARRAY_SIZE(contacts); i++)
        strlist_add(&info.impl.contact, contacts[i]);
    scen(&r, "GatewayInvalidRouteKind", "GATEWAY-HTTP", "Gateway", CONF_PASS);
    scen(&r, "HTTPRouteCORS", "GATEWAY-HTTP", "Gateway,HTTPRoute,HTTPRouteCORS", CONF_FAIL);
    scen(&r, "A Scenario Name With Enough Words To Be Folded By The Emitter When Listed Deep",
         "GATEWAY-HTTP", "Gateway,HTTPRoute", CONF_SKIP);
    scen(&r, "TLSRouteSimpleSameNamespace", "GATEWAY-TLS", "Gateway,TLSRoute", CONF_SKIP);
    scen(&r, "MeshBasic", "MESH-HTTP", "Mesh", CONF_PASS);
    s = scen(&r, "HTTPRoute303Redirect", "GATEWAY-HTTP",
             "Gateway,HTTPRoute,HTTPRoute303RedirectStatusCode", CONF_NOT_SUPPORTED);
    s->provisional = 1;
    s = scen(&r, "GatewayOptionalAddressValue", "GATEWAY-HTTP", "Gateway", CONF_PASS);
    s->provisional = 1;
    rc = conf_write_report(path, &info, r.s, r.n, err, sizeof(err));
    ok(rc == 0, "conf_write_report writes %s", path);
    cmd = xasprintf("sh tools/check-report.sh -q '%s'", path);
    rc = run_cmd(cmd, &out);
    if (rc == 77) {
        skip("no Go toolchain: the report was not decoded with upstream's ConformanceReport "
             "type");
    } else {
        ok(rc == 0, "upstream's confv1.ConformanceReport decodes it strictly, its marshaller "
                    "writes it byte for byte, counts and summaries agree");
        if (rc != 0)
            printf("# exit %d: %s\n", rc, out);
    }
    free(out);
    free(cmd);
    free(path);
    run_release(&r);
    conf_run_info_release(&info);
}

/* ---- the atomic write ------------------------------------------------------ */

static void test_atomic(void)
{
    char err[512], *missing = tmp_path("no-such-dir/junit_01.xml");
    char *dir = tmp_path("atomic"), *file, *isdir, *text;
    struct stat st;
    int rc;

    err[0] = 0;
    rc = conf_report_write_atomic(missing, "x", 1, 0644, err, sizeof(err));
    ok(rc == -1 && strstr(err, missing) && strstr(err, "No such file or directory"),
       "a missing directory fails, naming the path: %s", err);
    ok(access(missing, F_OK) != 0, "nothing is created there");

    mkdir(dir, 0755);
    file = xasprintf("%s/report.yaml", dir);
    isdir = xasprintf("%s/is-a-dir", dir);
    ok(conf_report_write_atomic(file, "old\n", 4, 0644, err, sizeof(err)) == 0,
       "a new file is written");
    ok(conf_report_write_atomic(file, "new\n", 4, 0644, err, sizeof(err)) == 0,
       "an existing file is replaced");
    text = slurp(file);
    is_str(text, "new\n", "the new content, whole");
    free(text);
    ok(stat(file, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644, not the temp file's 0600");
    mkdir(isdir, 0755);
    rc = conf_report_write_atomic(isdir, "x", 1, 0644, err, sizeof(err));
    ok(rc == -1 && strstr(err, isdir), "replacing a directory fails, naming it: %s", err);
    ok(stat(isdir, &st) == 0 && S_ISDIR(st.st_mode), "the directory is left alone");
    ok(hidden_files(dir) == 0, "no temporary file is left behind");
    ok(conf_report_write_atomic("", "x", 1, 0644, err, sizeof(err)) == -1, "an empty path fails");
    free(file);
    free(isdir);
    free(dir);
    free(missing);
}

/* ---- Sonobuoy ---------------------------------------------------------------- */

static void test_sonobuoy(void)
{
    char err[512], *dir = tmp_path("results"), *dotted = tmp_path("res.ults");
    char *junit, *report, *done, *text, *want, *out = NULL, *cmd, *rel;
    const char *one[1], *two[2];
    int rc;

    mkdir(dir, 0755);
    mkdir(dotted, 0755);
    junit = xasprintf("%s/junit_01.xml", dir);
    report = xasprintf("%s/conformance-report.yaml", dir);
    done = xasprintf("%s/done", dir);
    spit(junit, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites/>\n");
    spit(report, "kind: ConformanceReport\n");

    one[0] = "junit_01.xml";
    rc = conf_write_sonobuoy_done(dir, one, 1, err, sizeof(err));
    text = slurp(done);
    ok(rc == 0, "one file: done written");
    is_str(text, junit, "done holds the file's absolute path, no newline");
    free(text);

    rel = xasprintf("%s", dir + 1); /* relative to / */
    if (chdir("/") == 0) {
        rc = conf_write_sonobuoy_done(rel, one, 1, err, sizeof(err));
        text = slurp(done);
        ok(rc == 0 && text && text[0] == '/',
           "a relative results dir still gives an absolute path");
        free(text);
    }
    free(rel);

    two[0] = junit; /* a path in the results dir works as well as a name */
    two[1] = "conformance-report.yaml";
    rc = conf_write_sonobuoy_done(dir, two, 2, err, sizeof(err));
    want = xasprintf("%s/gwconform-results.tar.gz", dir);
    text = slurp(done);
    ok(rc == 0, "two files: done written (%s)", rc ? err : "ok");
    is_str(text, want, "done holds the tarball's path");
    free(text);
    if (!have_cmd("tar") || !have_cmd("gzip")) {
        skip("tar or gzip not installed: the tarball is not unpacked");
    } else {
        cmd = xasprintf("gzip -t '%s' && tar -tzf '%s'", want, want);
        rc = run_cmd(cmd, &out);
        is_str(out, "junit_01.xml\nconformance-report.yaml\n",
               "gzip accepts it; tar lists the files at the top");
        free(out);
        free(cmd);
        cmd = xasprintf("tar -xzOf '%s' conformance-report.yaml", want);
        run_cmd(cmd, &out);
        is_str(out, "kind: ConformanceReport\n", "tar extracts the content");
        free(out);
        free(cmd);
    }
    free(want);

    one[0] = "missing.xml";
    unlink(done);
    rc = conf_write_sonobuoy_done(dir, one, 1, err, sizeof(err));
    ok(rc == -1 && strstr(err, "missing.xml") && access(done, F_OK) != 0,
       "a missing file fails, no done file: %s", err);
    two[0] = "junit_01.xml";
    two[1] = "missing.xml";
    rc = conf_write_sonobuoy_done(dir, two, 2, err, sizeof(err));
    ok(rc == -1 && strstr(err, "missing.xml") && access(done, F_OK) != 0,
       "a missing file in a tarball fails, no done file: %s", err);
    one[0] = "/etc/hostname";
    rc = conf_write_sonobuoy_done(dir, one, 1, err, sizeof(err));
    ok(rc == -1 && strstr(err, "not in the results directory"),
       "a file outside the results dir fails: %s", err);
    ok(conf_write_sonobuoy_done(dir, one, 0, err, sizeof(err)) == -1, "no files fails");

    text = xasprintf("%s/junit_01.xml", dotted);
    spit(text, "<testsuites/>\n");
    free(text);
    one[0] = "junit_01.xml";
    rc = conf_write_sonobuoy_done(dotted, one, 1, err, sizeof(err));
    ok(rc == -1 && strstr(err, "first '.'"),
       "a '.' in a directory name fails (the worker takes the extension from it): %s", err);

    free(junit);
    free(report);
    free(done);
    free(dir);
    free(dotted);
}

int main(void)
{
    char cwd[4096];

    if (access("tests/conformance/junit.xsd", R_OK) != 0) {
        printf("not ok 1 - run from the repository root (tests/conformance/junit.xsd)\n");
        return 1;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gc-report-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("not ok 1 - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (!getcwd(cwd, sizeof(cwd)))
        return 1;
    setenv("TZ", "UTC", 1);
    tzset();
    test_escaping();
    test_junit_golden();
    test_counts();
    test_unique_names();
    test_scenario_level();
    test_xsd();
    test_summaries();
    test_tally();
    test_date();
    test_report_strings();
    test_report_go();
    test_atomic();
    test_sonobuoy();
    if (chdir(cwd) != 0)
        return 1;
    tmp_cleanup();
    return done_testing();
}

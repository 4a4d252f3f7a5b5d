/*
 * gwconform: the Gateway API conformance runner (issue 5). Flags mirror
 * upstream's (spec conformance.md §5.4); reports per spec ecosystem.md §7
 * and conformance.md §5.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "conform.h"
#include "report.h"
#include "runner.h"
#include "util.h"

#ifndef GATECHECK_VERSION
#define GATECHECK_VERSION "0.1.0-dev"
#endif

/* where `make` puts the data; an installed image bakes them in at /usr/share */
#define DEFAULT_SCENARIOS "conformance/scenarios"
#define DEFAULT_BASE      "conformance/base"

static const char usage_text[] =
    "usage: gwconform run [options]\n"
    "       gwconform list [--scenarios DIR]\n"
    "       gwconform version\n"
    "\n"
    "Apply Gateway API conformance scenarios to a cluster, send requests to the\n"
    "gateway under test, judge the answers as upstream's suite does (3 consecutive\n"
    "matching answers within MaxTimeToConsistency), and write junit_01.xml and a\n"
    "ConformanceReport.\n"
    "\n"
    "cluster:\n"
    "  --kubeconfig FILE            that kubeconfig only (default: $KUBECONFIG, in-cluster,\n"
    "                               ~/.kube/config)\n"
    "  --context NAME               a context of the kubeconfig\n"
    "  --gateway-class NAME         the GatewayClass under test; it must exist and be\n"
    "                               Accepted (default gateway-conformance)\n"
    "\n"
    "what runs (upstream's flags):\n"
    "  --supported-features LIST    comma list of features the implementation supports\n"
    "                               (default: read from the GatewayClass's\n"
    "                               status.supportedFeatures)\n"
    "  --exempt-features LIST       removed from the supported features\n"
    "  --all-features               every known feature, minus --exempt-features\n"
    "  --conformance-profiles LIST  e.g. GATEWAY-HTTP: enables its core features and its\n"
    "                               section in the report\n"
    "  --run-test NAME              run only this scenario (others are skipped)\n"
    "  --skip-tests LIST            comma list of scenarios to skip\n"
    "  --skip-provisional-tests     drop passing provisional tests from the report\n"
    "  --allow-crds-mismatch        run although the CRDs are not the suite's version\n"
    "  --cleanup-base-resources B   delete the base environment at the end (default true)\n"
    "  --cleanup-test-resources B   delete each scenario's objects after it (default true)\n"
    "  --timeout-config-overrides S 'Name:SECONDS;...' with upstream's names, e.g.\n"
    "                               MaxTimeToConsistency:60;NamespacesMustBeReady:600;\n"
    "                               also gwconform's APIServerRetryTimeout (how long\n"
    "                               one API request is retried through an outage; 30)\n"
    "  --parallel N                 the scenarios upstream marks parallel run N at a\n"
    "                               time, after the others (default 1: one by one)\n"
    "  --scenarios DIR              scenario files (default " DEFAULT_SCENARIOS ")\n"
    "  --base DIR                   base environment (default " DEFAULT_BASE ")\n"
    "  --echo-image IMAGE           image of the echo backends (default upstream's\n"
    "                               echo-basic)\n"
    "\n"
    "reports:\n"
    "  --report-dir DIR             junit_01.xml and conformance-report.yaml go here\n"
    "                               (default $ARTIFACTS, else ./reports)\n"
    "  --report-output FILE         the ConformanceReport's path (default in --report-dir)\n"
    "  --organization, --project, --url, --version, --contact LIST, --mode NAME\n"
    "                               the report's implementation fields and mode\n"
    "  With SONOBUOY_RESULTS_DIR set, the reports are also written there and packed\n"
    "  into gwconform-results.tar.gz, and a 'done' file there holds the tarball's\n"
    "  path (the Sonobuoy plugin contract).\n"
    "\n"
    "  -h, --help                   this text on stdout\n"
    "\n";

/* The rest of the usage (one string literal would pass C's 4095 characters). */
static const char usage_notes[] =
    "exit status: 0 every scenario that ran passed (skipped and not supported ones\n"
    "do not count); 1 a scenario failed or could not be judged (FAIL or ERROR), or\n"
    "the scenarios were interrupted; 2 the run could not happen (bad flags or\n"
    "scenarios, no cluster, CRDs of another version, GatewayClass not accepted, base\n"
    "environment not ready or interrupted while being set up) or the reports could\n"
    "not be written; 130 a second SIGINT, 143 a second SIGTERM: exited at once.\n"
    "\n"
    "SIGINT or SIGTERM stops the run: no new scenario, step or request starts (one\n"
    "in flight is abandoned within a second), what was created is deleted, and the\n"
    "reports are written: the case that was running is an error 'interrupted by\n"
    "SIGTERM', what did not start is skipped. A second signal exits at once,\n"
    "without cleanup or reports.\n"
    "\n"
    "Runner faults: once the API server has answered, a request to it that meets a\n"
    "transport error, a 5xx, a 429 or an API not served yet is sent again (backoff\n"
    "0.25 s doubling to 2 s) for up to APIServerRetryTimeout; an update only when\n"
    "the server cannot have acted on it. Each attempt at the gateway is bounded by\n"
    "RequestTimeout (10 s); a failed case says what the gateway did (503 on every\n"
    "attempt, no answer within the timeout, connection refused). The summary's\n"
    "'runner faults:' line and the JUnit property runnerFaults count them.\n";

static void print_usage(FILE *f)
{
    fputs(usage_text, f);
    fputs(usage_notes, f);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("gwconform: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nRun 'gwconform --help' for the options.\n", stderr);
    return 2;
}

static void split_list(struct conf_strlist *l, const char *arg)
{
    char *copy = xstrdup(arg), *tok, *save = NULL;

    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        conf_strlist_add(l, tok);
    }
    free(copy);
}

static int parse_bool(const char *flag, const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = 0;
        return 0;
    }
    return usage_error("%s '%s': want true or false", flag, v);
}

/* The first SIGINT/SIGTERM stops the run (runner.h); a second one exits at once. */
static void on_signal(int sig)
{
    static const char first[] = "gwconform: stopping: no new scenario, step or request; deleting "
                                "what was created, then writing the reports (a second signal "
                                "exits at once)\n";
    static const char again[] = "gwconform: second signal: exiting now, without cleanup or "
                                "reports\n";
    ssize_t w;

    if (conf_interrupted) {
        w = write(STDERR_FILENO, again, sizeof(again) - 1);
        (void)w;
        _exit(128 + sig);
    }
    conf_interrupted = sig;
    w = write(STDERR_FILENO, first, sizeof(first) - 1);
    (void)w;
}

static const char *word(enum conf_result r)
{
    static const char *const w[] = {"PASS", "FAIL", "ERROR", "SKIP", "NOT SUPPORTED"};

    return w[r];
}

/* The reports again in SONOBUOY_RESULTS_DIR, and its done file (spec ecosystem §8.1). */
static int sonobuoy(const char *sono, const char *dir, const struct conf_run_info *info,
                    const struct conf_scenario_result *res, size_t n)
{
    char err[1024], *sj = xasprintf("%s/junit_01.xml", sono);
    char *sr = xasprintf("%s/conformance-report.yaml", sono);
    const char *files[2] = {sj, sr};
    int rc = 0;

    if (strcmp(sono, dir) != 0 && (conf_write_junit(sj, info, res, n, err, sizeof(err)) != 0 ||
                                   conf_write_report(sr, info, res, n, err, sizeof(err)) != 0))
        rc = -1;
    if (rc == 0 && conf_write_sonobuoy_done(sono, files, 2, err, sizeof(err)) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "gwconform: error: %s\n", err);
    free(sj);
    free(sr);
    return rc;
}

static int write_reports(const char *dir, const char *report_path, const struct conf_run_info *info,
                         const struct conf_scenario_result *res, size_t n)
{
    char err[1024], *junit = xasprintf("%s/junit_01.xml", dir);
    char *report =
        report_path ? xstrdup(report_path) : xasprintf("%s/conformance-report.yaml", dir);
    const char *sono = getenv("SONOBUOY_RESULTS_DIR");
    int rc = 0;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gwconform: error: cannot create --report-dir %s: %s\n", dir,
                strerror(errno));
        rc = -1;
    } else if (conf_write_junit(junit, info, res, n, err, sizeof(err)) != 0 ||
               conf_write_report(report, info, res, n, err, sizeof(err)) != 0) {
        fprintf(stderr, "gwconform: error: %s\n", err);
        rc = -1;
    } else {
        printf("reports: %s %s\n", junit, report);
    }
    if (rc == 0 && sono && *sono && sonobuoy(sono, dir, info, res, n) != 0)
        rc = -1;
    free(junit);
    free(report);
    return rc;
}

static int summary(const struct conf_scenario_result *res, size_t n)
{
    size_t i, count[5] = {0};

    printf("\n%-52s %-13s %8s  %s\n", "SCENARIO", "RESULT", "SECONDS", "CASES (pass/total)");
    for (i = 0; i < n; i++) {
        size_t j, pass = 0;

        for (j = 0; j < res[i].ncases; j++)
            pass += res[i].cases[j].result == CONF_PASS;
        count[res[i].result]++;
        printf("%-52s %-13s %8.1f  %zu/%zu\n", res[i].name, word(res[i].result), res[i].seconds,
               pass, res[i].ncases);
    }
    printf("\n%zu scenarios: %zu passed, %zu failed, %zu errors, %zu skipped, %zu not supported\n",
           n, count[CONF_PASS], count[CONF_FAIL], count[CONF_ERROR], count[CONF_SKIP],
           count[CONF_NOT_SUPPORTED]);
    return count[CONF_FAIL] || count[CONF_ERROR] ? 1 : 0;
}

/* "runner faults: ..." for the run, then one line per scenario that met some. */
static void summary_faults(const struct conf_run_info *info, const struct conf_scenario_result *res,
                           size_t n)
{
    char *d = conf_faults_describe(&info->faults);
    size_t i;

    printf("runner faults: %s\n", *d ? d : "none");
    free(d);
    for (i = 0; i < n; i++) {
        if (!conf_faults_any(&res[i].faults))
            continue;
        d = conf_faults_describe(&res[i].faults);
        printf("  %s: %s\n", res[i].name, d);
        free(d);
    }
}

enum {
    OPT_KUBECONFIG = 256,
    OPT_CONTEXT,
    OPT_CLASS,
    OPT_SUPPORTED,
    OPT_EXEMPT,
    OPT_ALL,
    OPT_PROFILES,
    OPT_RUN_TEST,
    OPT_SKIP_TESTS,
    OPT_SKIP_PROV,
    OPT_CRDS,
    OPT_CLEAN_BASE,
    OPT_CLEAN_TEST,
    OPT_TIMEOUTS,
    OPT_PARALLEL,
    OPT_SCENARIOS,
    OPT_BASE,
    OPT_ECHO,
    OPT_REPORT_DIR,
    OPT_REPORT_OUT,
    OPT_ORG,
    OPT_PROJECT,
    OPT_URL,
    OPT_VERSION,
    OPT_CONTACT,
    OPT_MODE,
};

static const struct option run_longopts[] = {
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"gateway-class", required_argument, NULL, OPT_CLASS},
    {"supported-features", required_argument, NULL, OPT_SUPPORTED},
    {"exempt-features", required_argument, NULL, OPT_EXEMPT},
    {"all-features", no_argument, NULL, OPT_ALL},
    {"conformance-profiles", required_argument, NULL, OPT_PROFILES},
    {"run-test", required_argument, NULL, OPT_RUN_TEST},
    {"skip-tests", required_argument, NULL, OPT_SKIP_TESTS},
    {"skip-provisional-tests", no_argument, NULL, OPT_SKIP_PROV},
    {"allow-crds-mismatch", no_argument, NULL, OPT_CRDS},
    {"cleanup-base-resources", required_argument, NULL, OPT_CLEAN_BASE},
    {"cleanup-test-resources", required_argument, NULL, OPT_CLEAN_TEST},
    {"timeout-config-overrides", required_argument, NULL, OPT_TIMEOUTS},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"scenarios", required_argument, NULL, OPT_SCENARIOS},
    {"base", required_argument, NULL, OPT_BASE},
    {"echo-image", required_argument, NULL, OPT_ECHO},
    {"report-dir", required_argument, NULL, OPT_REPORT_DIR},
    {"report-output", required_argument, NULL, OPT_REPORT_OUT},
    {"organization", required_argument, NULL, OPT_ORG},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"url", required_argument, NULL, OPT_URL},
    {"version", required_argument, NULL, OPT_VERSION},
    {"contact", required_argument, NULL, OPT_CONTACT},
    {"mode", required_argument, NULL, OPT_MODE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

struct run_args {
    struct conf_opts o;
    struct conf_run_info info;
    const char *report_dir, *report_out;
};

static int set_parallel(const char *arg, int *out)
{
    char *end;
    long parallel = strtol(arg, &end, 10);

    if (*end || end == arg || parallel < 1 || parallel > 64)
        return usage_error("--parallel '%s': want a number from 1 to 64", arg);
    *out = (int)parallel;
    return 0;
}

/* Options that fill a field of the report's implementation, or the mode. */
static int set_report_opt(int opt, const char *arg, struct run_args *a)
{
    char **field = NULL;

    switch (opt) {
    case OPT_ORG:
        field = &a->info.impl.organization;
        break;
    case OPT_PROJECT:
        field = &a->info.impl.project;
        break;
    case OPT_URL:
        field = &a->info.impl.url;
        break;
    case OPT_VERSION:
        field = &a->info.impl.version;
        break;
    case OPT_CONTACT:
        split_list(&a->info.impl.contact, arg);
        return 0;
    case OPT_MODE:
        a->o.mode = arg;
        return 0;
    case OPT_REPORT_DIR:
        a->report_dir = arg;
        return 0;
    case OPT_REPORT_OUT:
        a->report_out = arg;
        return 0;
    default:
        return usage_error("bad option");
    }
    free(*field);
    *field = xstrdup(arg);
    return 0;
}

/* 0, or 2 after a usage error (printed). */
static int set_run_opt(int opt, const char *arg, struct run_args *a)
{
    struct conf_opts *o = &a->o;
    char err[512];

    switch (opt) {
    case OPT_KUBECONFIG:
        o->kubeconfig = arg;
        return 0;
    case OPT_CONTEXT:
        o->context = arg;
        return 0;
    case OPT_CLASS:
        o->gateway_class = arg;
        return 0;
    case OPT_SUPPORTED:
        split_list(&o->supported, arg);
        return 0;
    case OPT_EXEMPT:
        split_list(&o->exempt, arg);
        return 0;
    case OPT_ALL:
        o->all_features = 1;
        return 0;
    case OPT_PROFILES:
        split_list(&o->profiles, arg);
        return 0;
    case OPT_RUN_TEST:
        o->run_test = arg;
        return 0;
    case OPT_SKIP_TESTS:
        split_list(&o->skip_tests, arg);
        return 0;
    case OPT_SKIP_PROV:
        o->skip_provisional = 1;
        return 0;
    case OPT_CRDS:
        o->allow_crds_mismatch = 1;
        return 0;
    case OPT_CLEAN_BASE:
        return parse_bool("--cleanup-base-resources", arg, &o->cleanup_base);
    case OPT_CLEAN_TEST:
        return parse_bool("--cleanup-test-resources", arg, &o->cleanup_test);
    case OPT_TIMEOUTS:
        return conf_timeouts_override(&o->timeouts, arg, err, sizeof(err)) != 0
                   ? usage_error("%s", err)
                   : 0;
    case OPT_PARALLEL:
        return set_parallel(arg, &o->parallel);
    case OPT_SCENARIOS:
        o->scenarios_dir = arg;
        return 0;
    case OPT_BASE:
        o->base_dir = arg;
        return 0;
    case OPT_ECHO:
        o->echo_image = arg;
        return 0;
    default:
        return set_report_opt(opt, arg, a);
    }
}

/* 0 run, 1 --help printed, 2 usage error (printed). */
static int parse_run_args(int argc, char **argv, struct run_args *a)
{
    int opt;

    conf_opts_init(&a->o);
    a->o.scenarios_dir = DEFAULT_SCENARIOS;
    a->o.base_dir = DEFAULT_BASE;
    a->report_dir = getenv("ARTIFACTS");
    if (!a->report_dir || !*a->report_dir)
        a->report_dir = "reports";
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", run_longopts, NULL)) != -1) {
        if (opt == 'h') {
            print_usage(stdout);
            return 1;
        }
        if (opt == '?')
            return usage_error("unknown option, or one without its value: '%s'", argv[optind - 1]);
        if (set_run_opt(opt, optarg, a) != 0)
            return 2;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    struct run_args a;
    struct conf_scenario_result *res = NULL;
    size_t n = 0, i;
    char err[2048];
    int rc;
    struct sigaction sa;

    memset(&a, 0, sizeof(a));
    rc = parse_run_args(argc, argv, &a);
    if (rc != 0) {
        rc = rc == 1 ? 0 : 2;
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (conf_run(&a.o, &a.info, &res, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "gwconform: error: %s\n", err);
        rc = 2;
        if (n > 0)
            write_reports(a.report_dir, a.report_out, &a.info, res, n);
        goto out;
    }
    rc = summary(res, n);
    summary_faults(&a.info, res, n);
    if (write_reports(a.report_dir, a.report_out, &a.info, res, n) != 0)
        rc = 2;
    if (conf_interrupted) {
        fprintf(stderr, "gwconform: interrupted by %s\n", conf_signal_name(conf_interrupted));
        rc = rc ? rc : 1;
    }
out:
    for (i = 0; i < n; i++)
        conf_scenario_result_release(&res[i]);
    free(res);
    conf_run_info_release(&a.info);
    conf_strlist_release(&a.o.supported);
    conf_strlist_release(&a.o.exempt);
    conf_strlist_release(&a.o.profiles);
    conf_strlist_release(&a.o.skip_tests);
    return rc;
}

int main(int argc, char **argv)
{
    char err[1024];
    int rc;

    util_init_cjson();
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version")) {
        printf("gwconform %s\n", GATECHECK_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "list")) {
        const char *dir = DEFAULT_SCENARIOS;

        if (argc == 4 && !strcmp(argv[2], "--scenarios"))
            dir = argv[3];
        else if (argc != 2)
            return usage_error("list takes only --scenarios DIR");
        if (conf_list(dir, err, sizeof(err)) != 0) {
            fprintf(stderr, "gwconform: error: %s\n", err);
            return 2;
        }
        return 0;
    }
    if (strcmp(argv[1], "run") != 0)
        return usage_error("unknown command '%s' (run, list, version)", argv[1]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmd_run(argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
}

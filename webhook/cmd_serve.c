/*
 * `gwhook serve`: flags into a struct server_config, start the server, wait
 * for SIGTERM or SIGINT with sigwait() (the signals are blocked before any
 * thread starts, so no handler and no global flag), then drain and stop.
 */
#include "cmd_serve.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crosscheck.h"
#include "log.h"
#include "schema.h"
#include "server.h"
#include "util.h"

#ifndef GATECHECK_VERSION
#define GATECHECK_VERSION "0.1.0-dev"
#endif

#define MAX_CHECK_FLAGS 32

struct serve_config {
    struct server_config srv;
    unsigned grace;          /* seconds from the signal to exit, at most */
    unsigned shutdown_delay; /* seconds to keep accepting after the signal */
    /* cross-object checks (issue 8): --config first, then every --check in order */
    const char *config_file;
    const char *check_flags[MAX_CHECK_FLAGS];
    unsigned ncheck_flags;
    struct xcheck_config checks;
    struct wcache_opts watch;
    unsigned watch_timeout;
};

static const char usage_text[] =
    "usage: gwhook serve [options]\n"
    "\n"
    "Serve the Gateway API admission webhook over HTTPS: POST /validate judges\n"
    "objects as the API server would (plus gatecheck's strict checks), POST\n"
    "/mutate returns the CRD defaults as a JSON Patch. Both take an AdmissionReview\n"
    "(admission.k8s.io/v1 or v1beta1) and answer in kind.\n"
    "\n"
    "options:\n"
    "  --cert-dir DIR          directory with tls.crt and tls.key, e.g. a mounted\n"
    "                          kubernetes.io/tls Secret (default\n"
    "                          $TMPDIR/k8s-webhook-server/serving-certs); re-read\n"
    "                          when the files change, a broken pair is refused\n"
    "  --cert-poll SECONDS     how often to look at the files (default 2)\n"
    "  --bind ADDR             address for every port, IPv4 or IPv6 (default 0.0.0.0)\n"
    "  --port N                webhook port, HTTPS (default 9443)\n"
    "  --probe-port N          /healthz and /readyz, plain HTTP (default 8081; 0 = off)\n"
    "  --metrics-port N        /metrics, plain HTTP (default 8080; 0 = off; may equal\n"
    "                          --probe-port)\n"
    "  --threads N             webhook worker threads (default: the usable CPUs)\n"
    "  --max-body BYTES        larger request bodies get 413 (default 7340032, 7 MiB)\n"
    "  --conn-timeout SECONDS  close a connection silent this long, idle keep-alive\n"
    "                          ones included, or whose headers take longer (default 30)\n"
    "  --conn-limit N          open webhook connections at most (default 1024)\n"
    "  --grace SECONDS         on SIGTERM/SIGINT, the time allowed for the whole\n"
    "                          shutdown (default 25; keep it under the pod's\n"
    "                          terminationGracePeriodSeconds)\n"
    "  --shutdown-delay SECONDS  on SIGTERM/SIGINT, keep accepting connections this\n"
    "                          long while /readyz fails, so the Service stops\n"
    "                          routing here first (default 5; within --grace)\n"
    "  --channel standard|experimental  CRD channel installed in the cluster\n"
    "                          (default standard)\n"
    "  --strict                strict findings deny instead of warning\n"
    "  --api-version v1.6|v1.2|main  whose rules apply (default v1.6)\n"
    "  --log-level debug|info|warn|error  (default info); JSON lines on stderr\n"
    "  -h, --help              this text\n";

/* The rest of the text (one C string may hold 4095 characters at most). */
static const char usage_more[] =
    "\n"
    "cross-object checks (what no CRD rule can see; docs/CROSSCHECKS.md):\n"
    "  --check NAME=MODE       MODE deny, warn or off for one check, or NAME all;\n"
    "                          repeatable, applied after --config. Checks:\n"
    "                          parent-listener, reference-grant, route-conflict\n"
    "                          (deny|warn|off); backend-exists, parent-exists,\n"
    "                          gateway-detach (warn|off). Default: all warn\n"
    "  --config FILE           YAML file with a 'checks:' map of NAME: MODE\n"
    "  --kubeconfig FILE       the API server to watch (default: $KUBECONFIG, the\n"
    "                          in-cluster service account, then ~/.kube/config)\n"
    "  --context NAME          kubeconfig context (default: its current-context)\n"
    "  --watch-timeout SECONDS  server-side timeout of each watch, after which it is\n"
    "                          started again from the last resourceVersion (default 300)\n"
    "  Unless every check is off, serve lists and watches Gateway API objects,\n"
    "  Services and Namespaces (read-only; deploy/webhook/base/rbac.yaml) and\n"
    "  /readyz waits for the first full list. A finding of parent-listener,\n"
    "  reference-grant, backend-exists or parent-exists is confirmed by a fresh\n"
    "  read before it is reported; if that read fails, it only warns.\n"
    "\n"
    "Responses: 200 with an AdmissionReview for every decodable review (a denial\n"
    "is allowed:false, status 422 Invalid); 400 malformed review, or bad framing\n"
    "(Content-Length with Transfer-Encoding, ...: the connection closes); 404\n"
    "other paths; 405 not POST; 413 body over --max-body; 415 Content-Type not\n"
    "application/json; 500 no response could be built; 504 body still arriving\n"
    "after the caller's ?timeout=. Error bodies are {\"error\": \"...\"}.\n"
    "\n"
    "Shutdown: /readyz answers 503 and responses carry Connection: close; after\n"
    "--shutdown-delay the webhook port closes, requests in flight finish (within\n"
    "--grace), keep-alive connections are closed. A second signal stops at once.\n"
    "\n"
    "exit status: 0 clean shutdown, 1 runtime failure (e.g. a port in use, or no\n"
    "API server configuration while cross-object checks are on) or a second signal\n"
    "during shutdown, 2 usage error (a bad flag, value, --bind, --check or --config)\n";

static void usage(FILE *f)
{
    fputs(usage_text, f);
    fputs(usage_more, f);
}

/* Decimal in [min, max], nothing else. */
static int parse_num(const char *s, unsigned long long min, unsigned long long max,
                     unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static unsigned usable_cpus(void)
{
    cpu_set_t set;
    int n;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    n = CPU_COUNT(&set);
    return n > 0 ? (unsigned)n : 1;
}

static void config_defaults(struct serve_config *c)
{
    const char *tmp = getenv("TMPDIR");
    static char cert_dir[512];

    snprintf(cert_dir, sizeof(cert_dir), "%s/k8s-webhook-server/serving-certs",
             tmp && *tmp ? tmp : "/tmp");
    memset(c, 0, sizeof(*c));
    c->srv.cert_dir = cert_dir;
    c->srv.bind_addr = "0.0.0.0";
    c->srv.port = 9443;
    c->srv.probe_port = 8081;
    c->srv.metrics_port = 8080;
    c->srv.threads = usable_cpus();
    c->srv.max_body = 7u << 20;
    c->srv.conn_timeout = 30;
    c->srv.conn_limit = 1024;
    c->srv.cert_poll = 2;
    c->srv.review.opts.channel = SCH_STANDARD;
    c->srv.review.webhook_name = "gatecheck";
    c->grace = 25;
    c->shutdown_delay = 5;
    xcheck_defaults(&c->checks);
    c->watch_timeout = 300;
}

/* The numeric options: id, long name, range, and the field the value goes to. */
struct num_opt {
    const char *name;
    unsigned long long min, max;
    size_t off;  /* offsetof(struct serve_config, ...) */
    int id;      /* getopt_long's value */
    int is_size; /* the field is a size_t, else an unsigned */
};

#define NUM(id, name, min, max, field, is_size)                           \
    {                                                                     \
        name, min, max, offsetof(struct serve_config, field), id, is_size \
    }
static const struct num_opt num_opts[] = {
    NUM('p', "port", 1, 65535, srv.port, 0),
    NUM('P', "probe-port", 0, 65535, srv.probe_port, 0),
    NUM('M', "metrics-port", 0, 65535, srv.metrics_port, 0),
    NUM('t', "threads", 1, 1024, srv.threads, 0),
    NUM('b', "max-body", 1, 1ull << 30, srv.max_body, 1),
    NUM('T', "conn-timeout", 1, 86400, srv.conn_timeout, 0),
    NUM('L', "conn-limit", 1, 1u << 20, srv.conn_limit, 0),
    NUM('C', "cert-poll", 1, 3600, srv.cert_poll, 0),
    NUM('g', "grace", 0, 3600, grace, 0),
    NUM('D', "shutdown-delay", 0, 3600, shutdown_delay, 0),
    NUM('W', "watch-timeout", 1, 3600, watch_timeout, 0),
};
#undef NUM

static void store_num(struct serve_config *c, const struct num_opt *n, unsigned long long v)
{
    char *field = (char *)c + n->off;

    if (n->is_size)
        *(size_t *)(void *)field = (size_t)v;
    else
        *(unsigned *)(void *)field = (unsigned)v;
}

/* One option's value; 0 on success, -1 after an error message. */
static int set_option(struct serve_config *c, int id, const char *arg)
{
    struct validate_opts *o = &c->srv.review.opts;
    unsigned long long v;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(num_opts); i++) {
        if (num_opts[i].id != id)
            continue;
        if (parse_num(arg, num_opts[i].min, num_opts[i].max, &v) != 0) {
            fprintf(stderr, "error: --%s: '%s' is not a number in [%llu, %llu]\n", num_opts[i].name,
                    arg, num_opts[i].min, num_opts[i].max);
            return -1;
        }
        store_num(c, &num_opts[i], v);
        return 0;
    }
    switch (id) {
    case 'd':
        c->srv.cert_dir = arg;
        return 0;
    case 'B':
        c->srv.bind_addr = arg;
        return 0;
    case 'c':
        if (!strcmp(arg, "standard") || !strcmp(arg, "experimental")) {
            o->channel = arg[0] == 's' ? SCH_STANDARD : SCH_EXPERIMENTAL;
            return 0;
        }
        fprintf(stderr, "error: invalid channel '%s' (standard|experimental)\n", arg);
        return -1;
    case 'a':
        if (!strcmp(arg, "v1.2") || !strcmp(arg, "main"))
            o->bundle = arg;
        else if (strcmp(arg, "v1.6") != 0)
            return fprintf(stderr, "error: invalid --api-version '%s' (v1.6|v1.2|main)\n", arg), -1;
        return 0;
    case 's':
        o->strict = 1;
        return 0;
    case 'K':
        c->watch.load.kubeconfig = arg;
        return 0;
    case 'X':
        c->watch.load.context = arg;
        return 0;
    case 'F':
        c->config_file = arg;
        return 0;
    case 'k':
        if (c->ncheck_flags == MAX_CHECK_FLAGS)
            return fprintf(stderr, "error: more than %d --check flags\n", MAX_CHECK_FLAGS), -1;
        c->check_flags[c->ncheck_flags++] = arg;
        return 0;
    case 'l':
        if (log_set_level(arg) == 0)
            return 0;
        fprintf(stderr, "error: invalid --log-level '%s' (debug|info|warn|error)\n", arg);
        return -1;
    default:
        usage(stderr);
        return -1;
    }
}

static int check_config(const struct serve_config *c, int argc, char **argv)
{
    const struct server_config *s = &c->srv;
    unsigned char addr[16];

    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (s->review.opts.bundle && !strcmp(s->review.opts.bundle, "v1.2") &&
        s->review.opts.channel == SCH_EXPERIMENTAL) {
        fprintf(stderr, "error: --api-version v1.2 covers the standard channel only\n");
        return -1;
    }
    if (inet_pton(AF_INET, s->bind_addr, &addr) != 1 &&
        inet_pton(AF_INET6, s->bind_addr, &addr) != 1) {
        fprintf(stderr, "error: --bind: '%s' is not an IPv4 or IPv6 address\n", s->bind_addr);
        return -1;
    }
    if (s->port == s->probe_port || s->port == s->metrics_port) {
        fprintf(stderr, "error: --port %u is also a plain-HTTP port\n", s->port);
        return -1;
    }
    return 0;
}

/* --config, then the --check flags, into c->checks. 0 or -1 after a message. */
static int load_checks(struct serve_config *c)
{
    char err[512];
    unsigned i;

    if (c->config_file && xcheck_load_file(&c->checks, c->config_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: --config: %s\n", err);
        return -1;
    }
    for (i = 0; i < c->ncheck_flags; i++) {
        if (xcheck_set(&c->checks, c->check_flags[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "error: --check %s: %s\n", c->check_flags[i], err);
            return -1;
        }
    }
    c->watch.watch_timeout_s = c->watch_timeout;
    return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct serve_config *c)
{
    static const struct option longopts[] = {{"cert-dir", required_argument, NULL, 'd'},
                                             {"bind", required_argument, NULL, 'B'},
                                             {"port", required_argument, NULL, 'p'},
                                             {"probe-port", required_argument, NULL, 'P'},
                                             {"metrics-port", required_argument, NULL, 'M'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"max-body", required_argument, NULL, 'b'},
                                             {"conn-timeout", required_argument, NULL, 'T'},
                                             {"conn-limit", required_argument, NULL, 'L'},
                                             {"cert-poll", required_argument, NULL, 'C'},
                                             {"grace", required_argument, NULL, 'g'},
                                             {"shutdown-delay", required_argument, NULL, 'D'},
                                             {"channel", required_argument, NULL, 'c'},
                                             {"strict", no_argument, NULL, 's'},
                                             {"api-version", required_argument, NULL, 'a'},
                                             {"log-level", required_argument, NULL, 'l'},
                                             {"check", required_argument, NULL, 'k'},
                                             {"config", required_argument, NULL, 'F'},
                                             {"kubeconfig", required_argument, NULL, 'K'},
                                             {"context", required_argument, NULL, 'X'},
                                             {"watch-timeout", required_argument, NULL, 'W'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int id;

    config_defaults(c);
    optind = 1;
    while ((id = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (id == 'h') {
            usage(stdout);
            return 1;
        }
        if (set_option(c, id, optarg) != 0)
            return -1;
    }
    if (load_checks(c) != 0)
        return -1;
    return check_config(c, argc, argv);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until 'until' (now_s() time); 1 if a signal of 'set' came first. */
static int wait_signal_until(const sigset_t *set, double until)
{
    double left;

    while ((left = until - now_s()) > 0) {
        struct timespec ts;

        if (left > 0.02)
            left = 0.02;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(left * 1e9);
        if (sigtimedwait(set, NULL, &ts) > 0)
            return 1;
    }
    return 0;
}

/* Stop taking work and let what is running finish. 0, or 1 when cut short by a signal. */
static int drain(struct server *s, const struct serve_config *c, const sigset_t *set)
{
    double start = now_s(), end = start + c->grace;
    double delay = c->shutdown_delay < c->grace ? c->shutdown_delay : c->grace;

    server_drain_begin(s);
    log_msg(LOGL_INFO,
            "shutting down: not ready; accepting for %gs more, then draining (grace %us)", delay,
            c->grace);
    if (wait_signal_until(set, start + delay))
        goto forced;
    server_quiesce(s);
    while (server_in_flight(s) > 0 && now_s() < end) {
        if (wait_signal_until(set, now_s() + 0.02))
            goto forced;
    }
    if (server_in_flight(s) > 0)
        log_msg(LOGL_WARN, "grace period over with %u requests in flight", server_in_flight(s));
    return 0;
forced:
    log_msg(LOGL_WARN, "second signal: stopping now");
    return 1;
}

static cJSON *checks_json(const struct xcheck_config *x)
{
    cJSON *o = cJSON_CreateObject();
    int i;

    for (i = 0; i < XCHECK_N; i++)
        cJSON_AddStringToObject(o, xcheck_name((enum xcheck_id)i), xcheck_mode_name(x->mode[i]));
    return o;
}

static void log_start(const struct serve_config *c)
{
    const struct server_config *s = &c->srv;
    cJSON *f = cJSON_CreateObject();

    cJSON_AddStringToObject(f, "certDir", s->cert_dir);
    cJSON_AddStringToObject(f, "bind", s->bind_addr);
    cJSON_AddNumberToObject(f, "port", s->port);
    cJSON_AddNumberToObject(f, "probePort", s->probe_port);
    cJSON_AddNumberToObject(f, "metricsPort", s->metrics_port);
    cJSON_AddNumberToObject(f, "threads", s->threads);
    cJSON_AddNumberToObject(f, "maxBody", (double)s->max_body);
    cJSON_AddStringToObject(
        f, "channel", s->review.opts.channel == SCH_EXPERIMENTAL ? "experimental" : "standard");
    cJSON_AddStringToObject(f, "apiVersion",
                            s->review.opts.bundle ? s->review.opts.bundle : "v1.6");
    cJSON_AddBoolToObject(f, "strict", s->review.opts.strict);
    cJSON_AddItemToObject(f, "checks", checks_json(&c->checks));
    cJSON_AddStringToObject(f, "version", GATECHECK_VERSION);
    log_fields(LOGL_INFO, "starting", f);
}

int cmd_serve(int argc, char **argv)
{
    struct serve_config c;
    struct server *s = NULL;
    struct crosscheck *cc = NULL;
    sigset_t set;
    char err[512];
    int sig = 0, rc = parse_args(argc, argv, &c);

    if (rc)
        return rc > 0 ? 0 : 2;
    /* before any thread exists, so every thread inherits the mask */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_start(&c);
    if (xcheck_any(&c.checks)) {
        cc = crosscheck_start(&c.checks, &c.watch, err, sizeof(err));
        if (!cc) {
            log_msg(LOGL_ERROR,
                    "cross-object checks need the API server: %s (give --kubeconfig, run in a "
                    "cluster, or turn the checks off with --check all=off)",
                    err);
            return 1;
        }
        c.srv.review.cross = crosscheck_review;
        c.srv.review.cross_arg = cc;
        c.srv.not_ready = crosscheck_not_ready;
        c.srv.metrics_extra = crosscheck_metrics;
        c.srv.hook_arg = cc;
    }
    if (server_start(&c.srv, &s, err, sizeof(err)) != 0) {
        log_msg(LOGL_ERROR, "%s", err);
        crosscheck_free(&cc);
        return 1;
    }
    log_msg(LOGL_INFO, "serving on port %u", c.srv.port);
    while (sigwait(&set, &sig) != 0)
        ;
    log_msg(LOGL_INFO, "received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = drain(s, &c, &set);
    server_stop(s);
    crosscheck_free(&cc);
    log_msg(LOGL_INFO, "stopped");
    return rc;
}

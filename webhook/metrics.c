/*
 * Prometheus metrics with C11 atomics (see include/metrics.h). Counters are
 * fixed arrays sized at metrics_new(); rendering reads them with relaxed
 * loads, so a scrape is not a consistent snapshot across series (neither is
 * client_golang's), but every value is one that was really reached.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "util.h"

/* controller-runtime's ExponentialBuckets(10e-9, 10, 12), printed as Go prints them. */
static const double bucket_le[] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3,
                                   1e-2, 1e-1, 1,    10,   100,  1000};
static const char *const bucket_text[] = {"1e-08", "1e-07", "1e-06", "1e-05", "0.0001", "0.001",
                                          "0.01",  "0.1",   "1",     "10",    "100",    "1000"};
#define NBUCKETS ARRAY_SIZE(bucket_le)

/* HTTP codes the server sends; anything else is counted under 500. */
static const int codes[] = {200, 400, 404, 405, 413, 415, 500, 503, 504};
#define NCODES ARRAY_SIZE(codes)

static const char *const webhook_paths[METRICS_NWEBHOOK] = {"/validate", "/mutate"};
static const char *const operations[] = {"CREATE", "UPDATE", "DELETE", "CONNECT", "other"};
#define NOPS ARRAY_SIZE(operations)

struct histogram {
    atomic_ullong bucket[NBUCKETS]; /* not cumulative: rendering sums them */
    atomic_ullong count;
    atomic_ullong sum_ns;
};

struct metrics {
    atomic_ullong requests[METRICS_NWEBHOOK][NCODES];
    atomic_llong in_flight[METRICS_NWEBHOOK];
    struct histogram latency[METRICS_NWEBHOOK];
    const char **kinds; /* not owned: schema_sets' static names; last slot "other" */
    size_t nkinds;
    atomic_ullong *decisions; /* [nkinds][NOPS][2] */
    atomic_ullong unknown_kind;
    atomic_ullong deadline_exceeded;
    atomic_ullong reloads_ok, reloads_failed;
    atomic_llong cert_not_after;
};

/* The distinct kinds of every schema set, then "other". */
static void collect_kinds(struct metrics *m)
{
    size_t i, j;

    m->kinds = xcalloc(schema_nsets + 1, sizeof(*m->kinds));
    for (i = 0; i < schema_nsets; i++) {
        for (j = 0; j < m->nkinds; j++)
            if (!strcmp(m->kinds[j], schema_sets[i].kind))
                break;
        if (j == m->nkinds)
            m->kinds[m->nkinds++] = schema_sets[i].kind;
    }
    m->kinds[m->nkinds++] = "other";
}

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    collect_kinds(m);
    m->decisions = xcalloc(m->nkinds * NOPS * 2, sizeof(*m->decisions));
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    free(m->kinds);
    free(m->decisions);
    free(m);
}

void metrics_request_begin(struct metrics *m, enum metrics_webhook wh)
{
    atomic_fetch_add_explicit(&m->in_flight[wh], 1, memory_order_relaxed);
}

void metrics_request_end(struct metrics *m, enum metrics_webhook wh)
{
    atomic_fetch_sub_explicit(&m->in_flight[wh], 1, memory_order_relaxed);
}

void metrics_response(struct metrics *m, enum metrics_webhook wh, int code, double seconds)
{
    struct histogram *h = &m->latency[wh];
    size_t i, slot = NCODES;

    for (i = 0; i < NCODES; i++)
        if (codes[i] == code || (slot == NCODES && codes[i] == 500))
            slot = i;
    atomic_fetch_add_explicit(&m->requests[wh][slot], 1, memory_order_relaxed);
    for (i = 0; i < NBUCKETS && seconds > bucket_le[i]; i++)
        ;
    if (i < NBUCKETS)
        atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)(seconds * 1e9),
                              memory_order_relaxed);
}

void metrics_decision(struct metrics *m, const char *kind, const char *operation, int allowed)
{
    size_t k, op;

    for (k = 0; k + 1 < m->nkinds && strcmp(m->kinds[k], kind) != 0; k++)
        ;
    if (k + 1 == m->nkinds)
        atomic_fetch_add_explicit(&m->unknown_kind, 1, memory_order_relaxed);
    for (op = 0; op + 1 < NOPS && strcmp(operations[op], operation) != 0; op++)
        ;
    atomic_fetch_add_explicit(&m->decisions[(k * NOPS + op) * 2 + (allowed ? 1 : 0)], 1,
                              memory_order_relaxed);
}

void metrics_deadline_exceeded(struct metrics *m)
{
    atomic_fetch_add_explicit(&m->deadline_exceeded, 1, memory_order_relaxed);
}

void metrics_cert_reload(struct metrics *m, int ok, time_t not_after)
{
    if (ok) {
        atomic_store(&m->cert_not_after, (long long)not_after);
        atomic_fetch_add_explicit(&m->reloads_ok, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&m->reloads_failed, 1, memory_order_relaxed);
    }
}

static unsigned long long load(const atomic_ullong *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void header(struct sbuf *sb, const char *name, const char *type, const char *help)
{
    sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_requests(const struct metrics *m, struct sbuf *sb)
{
    size_t w, c;

    header(sb, "controller_runtime_webhook_requests_total", "counter",
           "Total number of admission requests by HTTP status code.");
    for (w = 0; w < METRICS_NWEBHOOK; w++) {
        for (c = 0; c < NCODES; c++) {
            unsigned long long v = load(&m->requests[w][c]);

            /* 200 and 500 always exist, as controller-runtime pre-initialises them */
            if (v || codes[c] == 200 || codes[c] == 500)
                sb_printf(sb,
                          "controller_runtime_webhook_requests_total{webhook=\"%s\",code=\"%d\"} "
                          "%llu\n",
                          webhook_paths[w], codes[c], v);
        }
    }
    header(sb, "controller_runtime_webhook_requests_in_flight", "gauge",
           "Current number of admission requests being served.");
    for (w = 0; w < METRICS_NWEBHOOK; w++)
        sb_printf(sb, "controller_runtime_webhook_requests_in_flight{webhook=\"%s\"} %lld\n",
                  webhook_paths[w], atomic_load(&m->in_flight[w]));
}

static void render_latency(const struct metrics *m, struct sbuf *sb)
{
    size_t w, b;

    header(sb, "controller_runtime_webhook_latency_seconds", "histogram",
           "Histogram of the latency of processing admission requests");
    for (w = 0; w < METRICS_NWEBHOOK; w++) {
        const struct histogram *h = &m->latency[w];
        unsigned long long cum = 0, count = load(&h->count);

        for (b = 0; b < NBUCKETS; b++) {
            cum += load(&h->bucket[b]);
            sb_printf(sb,
                      "controller_runtime_webhook_latency_seconds_bucket{webhook=\"%s\","
                      "le=\"%s\"} %llu\n",
                      webhook_paths[w], bucket_text[b], cum);
        }
        /* a concurrent update may have bumped count before its bucket */
        sb_printf(sb,
                  "controller_runtime_webhook_latency_seconds_bucket{webhook=\"%s\",le=\"+Inf\"} "
                  "%llu\n",
                  webhook_paths[w], count > cum ? count : cum);
        sb_printf(sb, "controller_runtime_webhook_latency_seconds_sum{webhook=\"%s\"} %.9g\n",
                  webhook_paths[w], (double)load(&h->sum_ns) / 1e9);
        sb_printf(sb, "controller_runtime_webhook_latency_seconds_count{webhook=\"%s\"} %llu\n",
                  webhook_paths[w], count > cum ? count : cum);
    }
}

static void render_decisions(const struct metrics *m, struct sbuf *sb)
{
    size_t k, op, a;

    header(sb, "gatecheck_admission_decisions_total", "counter",
           "Admission reviews decided, by object kind, operation and verdict.");
    for (k = 0; k < m->nkinds; k++)
        for (op = 0; op < NOPS; op++)
            for (a = 0; a < 2; a++) {
                unsigned long long v = load(&m->decisions[(k * NOPS + op) * 2 + a]);

                if (v)
                    sb_printf(sb,
                              "gatecheck_admission_decisions_total{kind=\"%s\",operation=\"%s\","
                              "allowed=\"%s\"} %llu\n",
                              m->kinds[k], operations[op], a ? "true" : "false", v);
            }
    header(sb, "gatecheck_admission_unknown_kind_total", "counter",
           "Admission reviews of a kind gatecheck has no schema for (counted as kind=\"other\").");
    sb_printf(sb, "gatecheck_admission_unknown_kind_total %llu\n", load(&m->unknown_kind));
    header(sb, "gatecheck_admission_deadline_exceeded_total", "counter",
           "Admission requests still running when the caller's ?timeout= had passed.");
    sb_printf(sb, "gatecheck_admission_deadline_exceeded_total %llu\n",
              load(&m->deadline_exceeded));
}

static void render_certs(const struct metrics *m, struct sbuf *sb)
{
    header(sb, "gatecheck_certificate_expiry_timestamp_seconds", "gauge",
           "notAfter of the serving certificate in use, in Unix seconds (0 before one is "
           "loaded).");
    sb_printf(sb, "gatecheck_certificate_expiry_timestamp_seconds %lld\n",
              atomic_load(&m->cert_not_after));
    header(sb, "gatecheck_certificate_reloads_total", "counter",
           "Attempts to load the serving certificate pair from --cert-dir, by result.");
    sb_printf(sb, "gatecheck_certificate_reloads_total{result=\"success\"} %llu\n",
              load(&m->reloads_ok));
    sb_printf(sb, "gatecheck_certificate_reloads_total{result=\"failure\"} %llu\n",
              load(&m->reloads_failed));
}

char *metrics_render(const struct metrics *m)
{
    struct sbuf sb = {0};

    render_requests(m, &sb);
    render_latency(m, &sb);
    render_decisions(m, &sb);
    render_certs(m, &sb);
    return sb_detach(&sb);
}

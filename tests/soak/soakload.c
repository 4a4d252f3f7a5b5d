/*
 * The load generator of the soak (tools/soak.sh, docs/RELIABILITY.md): one
 * AdmissionReview POSTed over keep-alive HTTPS at a fixed rate, or as fast
 * as --conns connections allow (--rate 0, to measure capacity).
 *
 * Why not wrk: wrk is closed-loop (each connection sends its next request
 * when the last one is answered), so it cannot hold a rate, and a slow
 * server would just get fewer requests. Here request i is due at
 * start + i/rate whatever happened before; when every connection is busy the
 * due requests wait, and their latency counts from when they were due (no
 * coordinated omission).
 *
 * One thread, one libcurl multi handle, --conns lanes: a lane is an easy
 * handle with a connection cache of its own (a share object), so it holds
 * one keep-alive connection (HTTP/1.1, no pipelining) and carries one
 * request at a time. Requests go to the lanes in turn, so every connection
 * stays in use. Like the API server's client: the CA in --cacert is the only
 * trust anchor, the hostname (127.0.0.1) is verified, no TLS session
 * resumption (every new connection gets a full handshake and the
 * certificate the server presents now), no "Expect: 100-continue".
 *
 * A lane's connection is used for a whole number of seconds drawn from
 * --conn-life to twice that (CURLOPT_MAXLIFETIME_CONN, drawn again for each
 * new connection), then replaced by the lane's next request: handshakes go
 * on all the time, a few at once, so certificate rotations happen under
 * them (0: a connection lasts as long as it can). (With one pool for all,
 * libcurl opens a new connection whenever no idle one is left; a handshake
 * costs this thread about 1 ms, during which more requests fall due and
 * open more connections: bursts of tens of handshakes that stalled every
 * transfer for 50 to 80 ms.)
 *
 * A request fails on any transport error, any status but 200, or a body
 * without "allowed":true.
 *
 * Output, on stdout:
 *   cert t=SECONDS serial=HEX       a serving certificate seen for the first time
 *   window t=SECONDS requests=N failed=F rps=R p50_ms=X p99_ms=Y max_ms=Z handshakes=H
 *          stall_ms=M                                               (one line)
 *   load: t=S requests=N failed=F rps=R p50_ms=X p99_ms=Y max_ms=Z handshakes=H
 *         stall_ms=M late=L serials=K seconds=S cpu_s=C             (one line)
 * A window's latencies are those of the requests that ended in it. "stall":
 * the longest pass through libcurl (sending, receiving, handshakes, all in
 * this one thread); nothing else is sent meanwhile.
 * "late": requests sent more than 10 ms after they were due (the generator
 * or every connection was busy). The first failures are described on stderr.
 * Exit status 0 when it ran (whatever failed), 2 on a usage or setup error.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_CONNS     1024
#define MAX_SERIALS   256
#define MAX_REPORTED  20
#define BODY_KEEP     4096
#define LATE_S        0.010
#define WANT_IN_REPLY "\"allowed\":true"

struct xfer {
    CURL *easy;
    CURLSH *share; /* the lane's own connection cache */
    double due;    /* when it was due, seconds since start */
    char errbuf[CURL_ERROR_SIZE];
    char body[BODY_KEEP];
    size_t len;
};

/* latencies in microseconds, for percentiles */
struct samples {
    uint32_t *v;
    size_t n, cap;
};

struct stats {
    struct samples lat;
    unsigned long long requests, failed, handshakes;
    double stall; /* the longest curl_multi_perform(), s: what the generator itself held up */
};

static volatile sig_atomic_t stop_now;
static struct timespec t0;
static char serials[MAX_SERIALS][80];
static unsigned nserials;
static unsigned reported;

static void on_signal(int sig)
{
    (void)sig;
    stop_now = 1;
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "soakload: %s\n", what);
    exit(2);
}

static void add_sample(struct samples *s, uint32_t us)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        uint32_t *v = realloc(s->v, cap * sizeof(*v));

        if (!v)
            die("out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Sorts the samples; the p-th percentile (nearest rank) in ms, 0 when empty. */
static double pct_ms(struct samples *s, double p, int sorted)
{
    size_t rank;

    if (!s->n)
        return 0;
    if (!sorted)
        qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
    rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1] / 1000.0;
}

static void print_stats(const char *label, double t, double span, struct stats *st)
{
    double p50 = pct_ms(&st->lat, 50, 0), p99 = pct_ms(&st->lat, 99, 1);
    double max = st->lat.n ? st->lat.v[st->lat.n - 1] / 1000.0 : 0;

    printf("%s t=%.0f requests=%llu failed=%llu rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "handshakes=%llu stall_ms=%.1f",
           label, t, st->requests, st->failed, span > 0 ? (double)st->requests / span : 0, p50, p99,
           max, st->handshakes, st->stall * 1000);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb, room = sizeof(x->body) - 1 - x->len;

    memcpy(x->body + x->len, data, n < room ? n : room);
    x->len += n < room ? n : room;
    x->body[x->len] = '\0';
    return n;
}

/* A certificate seen on a new connection: note its serial the first time. */
static void note_serial(CURL *easy, double t)
{
    struct curl_certinfo *ci = NULL;
    struct curl_slist *sl;
    const char *s = NULL;
    unsigned i;

    if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        return;
    for (sl = ci->certinfo[0]; sl; sl = sl->next)
        if (!strncmp(sl->data, "Serial Number:", 14)) {
            s = sl->data + 14;
            break;
        }
    if (!s)
        return;
    for (i = 0; i < nserials; i++)
        if (!strcmp(serials[i], s))
            return;
    if (nserials == MAX_SERIALS)
        return;
    snprintf(serials[nserials++], sizeof(serials[0]), "%s", s);
    printf("cert t=%.1f serial=%s\n", t, s);
    fflush(stdout);
}

static void report_failure(double t, CURLcode rc, long code, const char *errbuf, const char *body)
{
    if (++reported > MAX_REPORTED)
        return;
    if (rc != CURLE_OK)
        fprintf(stderr, "soakload: t=%.3f failed: curl error %d (%s): %s\n", t, (int)rc,
                curl_easy_strerror(rc), errbuf);
    else
        fprintf(stderr, "soakload: t=%.3f failed: HTTP %ld: %.200s\n", t, code, body);
}

/* A whole number of seconds from life to twice that (0: no limit). */
static long draw_life(double life)
{
    return (long)(life + life * rand() / ((double)RAND_MAX + 1) + 0.5);
}

static struct xfer *xfer_new(const char *url, const char *cacert, const char *body, size_t len,
                             struct curl_slist *headers, long timeout_ms, double life)
{
    struct xfer *x = calloc(1, sizeof(*x));
    CURL *e = curl_easy_init();
    CURLSH *sh = curl_share_init();

    if (!x || !e || !sh || curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != 0)
        die("cannot set up a lane");
    x->easy = e;
    x->share = sh;
    curl_easy_setopt(e, CURLOPT_SHARE, sh);
    curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN, draw_life(life));
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CAINFO, cacert);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    return x;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "soakload: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("cannot read the body");
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int num_arg(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void usage(void)
{
    fputs("usage: soakload --url URL --cacert FILE --body FILE [--rate R (0: as fast as --conns "
          "allow)]\n"
          "                [--seconds S] [--conns N] [--window S] [--conn-life S] [--timeout S]\n",
          stderr);
    exit(2);
}

struct opts {
    const char *url, *cacert, *body;
    double rate, seconds, conns, window, conn_life, timeout;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
    const struct {
        const char *name;
        double *dst, lo, hi;
    } nums[] = {
        {"--rate", &o->rate, 0, 1e6},           {"--seconds", &o->seconds, 0.1, 1e6},
        {"--conns", &o->conns, 1, MAX_CONNS},   {"--window", &o->window, 0.1, 1e6},
        {"--conn-life", &o->conn_life, 0, 1e6}, {"--timeout", &o->timeout, 0.1, 3600},
    };
    const size_t nnums = sizeof(nums) / sizeof(nums[0]);
    int i;
    size_t k;

    *o = (struct opts){.seconds = 10, .conns = 64, .window = 30, .conn_life = 10, .timeout = 10};
    for (i = 1; i + 1 < argc; i += 2) { /* every option takes a value */
        const char *opt = argv[i], *val = argv[i + 1];

        if (!strcmp(opt, "--url"))
            o->url = val;
        else if (!strcmp(opt, "--cacert"))
            o->cacert = val;
        else if (!strcmp(opt, "--body"))
            o->body = val;
        else {
            for (k = 0; k < nnums && strcmp(opt, nums[k].name) != 0; k++)
                ;
            if (k == nnums)
                usage();
            if (num_arg(val, nums[k].lo, nums[k].hi, nums[k].dst) != 0) {
                fprintf(stderr, "soakload: bad value for %s: %s\n", opt, val);
                exit(2);
            }
        }
    }
    if (i != argc || !o->url || !o->cacert || !o->body)
        usage();
}

struct gen {
    struct opts o;
    CURLM *multi;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    struct xfer *pool[MAX_CONNS], *idle[MAX_CONNS]; /* idle: a ring, oldest first */
    unsigned nconn, nidle, idle_head;
    int inflight, stopping;
    unsigned long long issued, late;
    double done_at, win_start, next_window;
    struct stats all, win;
};

static void gen_init(struct gen *g)
{
    unsigned i;

    g->body = slurp(g->o.body, &g->body_len);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");
    g->headers = curl_slist_append(g->headers, "Content-Type: application/json");
    g->headers = curl_slist_append(g->headers, "Accept: application/json, */*");
    g->headers = curl_slist_append(g->headers, "User-Agent: kube-apiserver-admission");
    g->headers = curl_slist_append(g->headers, "Expect:");
    g->multi = curl_multi_init();
    if (!g->headers || !g->multi)
        die("out of memory");
    g->nconn = (unsigned)g->o.conns;
    curl_multi_setopt(g->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    for (i = 0; i < g->nconn; i++)
        g->idle[i] = g->pool[i] = xfer_new(g->o.url, g->o.cacert, g->body, g->body_len, g->headers,
                                           (long)(g->o.timeout * 1000), g->o.conn_life);
    g->nidle = g->nconn;
    g->next_window = g->o.window;
}

/* Start what is due at t (at --rate 0: whatever a free connection can take). */
static void start_due(struct gen *g, double t)
{
    double rate = g->o.rate;

    while (!g->stopping && g->nidle > 0 && (rate <= 0 || (double)g->issued / rate <= t)) {
        struct xfer *x = g->idle[g->idle_head];

        g->idle_head = (g->idle_head + 1) % g->nconn;
        g->nidle--;
        x->due = rate > 0 ? (double)g->issued / rate : t;
        if (t - x->due > LATE_S)
            g->late++;
        x->len = 0;
        x->body[0] = '\0';
        x->errbuf[0] = '\0';
        if (curl_multi_add_handle(g->multi, x->easy) != CURLM_OK)
            die("curl_multi_add_handle failed");
        g->issued++;
        g->inflight++;
    }
}

static void record(struct stats *st, double latency_s, int bad, long nconnects)
{
    double us = latency_s * 1e6;

    st->requests++;
    st->failed += (unsigned long long)bad;
    st->handshakes += (unsigned long long)nconnects;
    add_sample(&st->lat, us > 4e9 ? 4000000000u : (uint32_t)us);
}

/* Finished transfers: judged, counted, their handles free again. How many. */
static int collect(struct gen *g)
{
    CURLMsg *m;
    int left, n = 0;

    while ((m = curl_multi_info_read(g->multi, &left))) {
        struct xfer *x = NULL;
        long code = 0, nconnects = 0;
        double end = now_s();
        int bad;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &nconnects);
        bad = m->data.result != CURLE_OK || code != 200 || !strstr(x->body, WANT_IN_REPLY);
        if (bad)
            report_failure(end, m->data.result, code, x->errbuf, x->body);
        if (nconnects > 0 && m->data.result == CURLE_OK)
            note_serial(x->easy, end);
        if (nconnects > 0) /* a new connection: its own lifetime, for the next reuse checks */
            curl_easy_setopt(x->easy, CURLOPT_MAXLIFETIME_CONN, draw_life(g->o.conn_life));
        record(&g->all, end - x->due, bad, nconnects);
        record(&g->win, end - x->due, bad, nconnects);
        curl_multi_remove_handle(g->multi, x->easy);
        g->idle[(g->idle_head + g->nidle++) % g->nconn] = x;
        g->inflight--;
        n++;
    }
    return n;
}

static void end_window(struct gen *g, double label_t, double t)
{
    print_stats("window", label_t, t - g->win_start, &g->win);
    putchar('\n');
    fflush(stdout);
    free(g->win.lat.v);
    memset(&g->win, 0, sizeof(g->win));
    g->win_start = t;
}

/* How long to wait for the network: until the next request is due, 100 ms at most. */
static long wait_ms(const struct gen *g)
{
    double next;

    if (g->stopping || g->o.rate <= 0 || g->nidle == 0)
        return 100;
    next = (double)g->issued / g->o.rate - now_s();
    if (next <= 0)
        return 0;
    return next >= 0.1 ? 100 : (long)(next * 1000) + 1;
}

static void run(struct gen *g)
{
    int running = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        double t = now_s(), stall;
        int done;

        if (!g->stopping && (t >= g->o.seconds || stop_now)) {
            g->stopping = 1;
            g->done_at = t;
        }
        start_due(g, t);
        curl_multi_perform(g->multi, &running);
        done = collect(g);
        stall = now_s() - t;
        if (stall > g->all.stall)
            g->all.stall = stall;
        if (stall > g->win.stall)
            g->win.stall = stall;
        t = now_s();
        if (!g->stopping && t >= g->next_window) {
            end_window(g, g->next_window, t);
            g->next_window += g->o.window;
        }
        if (g->stopping && g->inflight == 0)
            break;
        if (g->stopping && t > g->done_at + g->o.timeout + 1) {
            fprintf(stderr, "soakload: %d requests still unanswered, counted as failed\n",
                    g->inflight);
            g->all.requests += (unsigned long long)g->inflight;
            g->all.failed += (unsigned long long)g->inflight;
            break;
        }
        if (done && !g->stopping && g->nidle > 0)
            continue; /* a connection is free again: start what waits */
        curl_multi_poll(g->multi, NULL, 0, (int)wait_ms(g), NULL);
    }
}

static void report(struct gen *g)
{
    struct rusage ru;

    /* a window cut short by the end is reported if it is more than half a window */
    if (g->win.requests && g->done_at - g->win_start > g->o.window / 2)
        end_window(g, g->done_at, g->done_at);
    print_stats("load:", g->done_at, g->done_at, &g->all);
    getrusage(RUSAGE_SELF, &ru);
    printf(" late=%llu serials=%u seconds=%.1f cpu_s=%.2f\n", g->late, nserials, g->done_at,
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    fflush(stdout);
}

static void gen_free(struct gen *g)
{
    unsigned i;

    for (i = 0; i < g->nconn; i++) {
        curl_multi_remove_handle(g->multi, g->pool[i]->easy);
        curl_easy_cleanup(g->pool[i]->easy);
        curl_share_cleanup(g->pool[i]->share);
        free(g->pool[i]);
    }
    curl_multi_cleanup(g->multi);
    curl_slist_free_all(g->headers);
    curl_global_cleanup();
    free(g->all.lat.v);
    free(g->win.lat.v);
    free(g->body);
}

int main(int argc, char **argv)
{
    static struct gen g;
    struct sigaction sa;

    parse_args(argc, argv, &g.o);
    gen_init(&g);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    run(&g);
    report(&g);
    gen_free(&g);
    return 0;
}

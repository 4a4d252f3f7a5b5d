/*
 * The watch cache's watchers (include/wcache.h): per kind, one thread with
 * its own client (clients are not thread-safe) running client-go's
 * reflector loop (spec ecosystem.md §6.5):
 *
 *   FIND   discovery: the first served version (core kinds: v1; Gateway
 *          API kinds: v1, then v1beta1, then v1alpha2). Not served: the kind
 *          counts as synced, its objects leave the store, and it is looked
 *          for again every minute.
 *   LIST   every namespace, into the store (wcache_replace_kind), keeping
 *          the List's resourceVersion.
 *   WATCH  from the last resourceVersion seen (events and bookmarks move
 *          it), with bookmarks. The stream ending (timeoutSeconds, or a
 *          connection that broke) -> WATCH again; 410 Gone -> LIST; a
 *          failure -> backoff, then see watch_failed().
 *
 * Failures wait with capped exponential backoff with jitter, reset by a
 * healthy watch (one that delivered events or lasted more than 30 s).
 * wcache_stop() sets a flag that every watcher client's cancel hook reads
 * (libcurl calls it about once a second even on an idle stream, so open
 * watches, lists and Retry-After waits end within about a second) and
 * wakes the backoff waits.
 *
 * Dead streams: no low-speed limit. An idle watch may legitimately be
 * silent for its whole timeoutSeconds (bookmarks come about once a minute
 * from the API server's watch cache but are not promised at any interval),
 * so a limit shorter than that would turn healthy idle watches into
 * failures. A silently dead connection ends when the transfer's own
 * timeout does (watch_timeout_s + 30 s, lib/kube_api.c); a shorter
 * watch_timeout_s bounds the staleness.
 *
 * Locking: watch_lock guards each watcher's stats (read by wcache_stats()
 * and wcache_synced() from other threads) and the synced latch. It is never
 * held while calling the store (its rwlock), the client or the log hook.
 * The rest of struct wc_watch belongs to its thread.
 */
#include "wcache.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube.h"
#include "util.h"
#include "wcache_int.h"

#define WATCH_TIMEOUT_S    300   /* opts.watch_timeout_s 0 */
#define BACKOFF_MIN_MS     500   /* opts.backoff_min_ms 0 */
#define BACKOFF_MAX_MS     30000 /* opts.backoff_max_ms 0 */
#define UNSERVED_RECHECK_S 60    /* opts.unserved_recheck_s 0 */
#define HEALTHY_WATCH_S    30.0  /* a watch this long resets the backoff */
#define SHORT_WATCH_S      1.0   /* a watch ending sooner without an event failed */

enum phase { PHASE_FIND, PHASE_LIST, PHASE_WATCH };

struct wc_watch {
    struct wcache *wc;
    const char *group, *kind;
    pthread_t thread;
    int running; /* created and not yet joined (the controlling thread's) */

    /* the watcher thread's own */
    struct kube_client *c;
    char *api_version;          /* what FIND found */
    char *rv;                   /* the last resourceVersion seen */
    long backoff_ms;            /* the next wait's base; 0: the minimum */
    unsigned rnd;               /* xorshift state of the jitter */
    unsigned long watch_events; /* delivered by the current watch */
    int gone_streak;            /* 410s in a row from watches that delivered nothing */

    /* under wc->watch_lock */
    struct wcache_kind_stats st;
};

static const struct {
    const char *group, *kind;
} kinds[WCACHE_NKINDS] = {
#define X(id, group, kind) {group, kind},
    WCACHE_KINDS(X)
#undef X
};

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

static void lock(const struct wcache *wc)
{
    pthread_mutex_lock((pthread_mutex_t *)&wc->watch_lock);
}

static void unlock(const struct wcache *wc)
{
    pthread_mutex_unlock((pthread_mutex_t *)&wc->watch_lock);
}

static int stopping(struct wcache *wc)
{
    return atomic_load(&wc->stopping);
}

/* The watcher clients' cancel hook (kube_client_opts.cancel). */
static int cancel_hook(void *arg)
{
    const struct wc_watch *w = arg;

    return atomic_load(&w->wc->stopping);
}

/* Sleep ms unless wcache_stop() comes first; returns 1 when stopping. */
static int wait_ms(struct wcache *wc, long ms)
{
    struct timespec until;
    int rc = 0, stop;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&wc->watch_lock);
    while (!atomic_load(&wc->stopping) && rc == 0) /* 0: woken, maybe spuriously */
        rc = pthread_cond_timedwait(&wc->watch_wake, &wc->watch_lock, &until);
    stop = atomic_load(&wc->stopping);
    pthread_mutex_unlock(&wc->watch_lock);
    return stop;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

__attribute__((format(printf, 3, 4))) static void say(const struct wc_watch *w, int level,
                                                      const char *fmt, ...)
{
    const struct wcache_opts *o = &w->wc->wopts;
    struct sbuf sb = {0};
    va_list ap;

    if (!o->log)
        return;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    o->log(o->log_arg, level, w->kind, sb.buf);
    sb_release(&sb);
}

/* ---- the stats (under watch_lock) ---- */

/* The latch of wcache_synced(): every kind listed once or found unserved. */
static void update_synced_locked(struct wcache *wc)
{
    size_t k;

    if (wc->synced)
        return;
    for (k = 0; k < WCACHE_NKINDS; k++) {
        const struct wcache_kind_stats *st = &wc->watch[k].st;

        if (!st->synced && st->served != 0)
            return;
    }
    wc->synced = 1;
}

static void count(struct wc_watch *w, unsigned long *counter)
{
    lock(w->wc);
    (*counter)++;
    unlock(w->wc);
}

/* connected: from the watch request's start to its end; its connect is part
   of it (milliseconds against a live server; a failing one ends it at once) */
static void set_connected(struct wc_watch *w, int connected)
{
    lock(w->wc);
    w->st.connected = connected;
    unlock(w->wc);
}

/* served: 0 or 1; returns what it was. */
static int set_served(struct wc_watch *w, int served)
{
    int was;

    lock(w->wc);
    was = w->st.served;
    w->st.served = served;
    update_synced_locked(w->wc);
    unlock(w->wc);
    return was;
}

static void set_rv(struct wc_watch *w, const char *rv)
{
    free(w->rv);
    w->rv = xstrdup(rv);
}

/* ---- failures ---- */

/* The wait before the next attempt: the base doubles up to the cap; the
   jitter takes up to a quarter off, so that watchers failing together
   spread out and no wait exceeds the cap. */
static long next_wait(struct wc_watch *w)
{
    const struct wcache_opts *o = &w->wc->wopts;
    long base = w->backoff_ms > 0 ? w->backoff_ms : o->backoff_min_ms;
    unsigned x = w->rnd;

    if (base > o->backoff_max_ms)
        base = o->backoff_max_ms;
    w->backoff_ms = base > o->backoff_max_ms / 2 ? o->backoff_max_ms : base * 2;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w->rnd = x;
    return base - (long)(x % (unsigned long)(base / 4 + 1));
}

/* Log and count a failure, wait, and go on with next (FIND: with a new client). */
static enum phase backoff(struct wc_watch *w, const char *what, const char *msg, long status,
                          enum phase next)
{
    char in[32];
    long wait;

    if (stopping(w->wc))
        return next;
    wait = next_wait(w);
    count(w, &w->st.errors);
    if (wait < 1000)
        snprintf(in, sizeof(in), "%ld ms", wait);
    else
        snprintf(in, sizeof(in), "%.1f s", (double)wait / 1000);
    if (status == 403)
        say(w, WCACHE_LOG_ERROR,
            "%s forbidden: %s: the watch cache needs get, list and watch on %s in every "
            "namespace (a ClusterRole); retrying in %s",
            what, msg, w->kind, in);
    else
        say(w, WCACHE_LOG_WARN, "%s failed: %s; retrying in %s", what, msg, in);
    if (next == PHASE_FIND)
        kube_client_free(&w->c); /* fresh discovery, the configuration read again */
    wait_ms(w->wc, wait);
    return next;
}

static enum phase failed(struct wc_watch *w, const char *what, struct kube_response *r,
                         enum phase next)
{
    if (r->failure != KUBE_FAIL_CANCELLED)
        next = backoff(w, what, r->error ? r->error : "unknown error", r->status, next);
    kube_response_release(r);
    return next;
}

/* ---- FIND ---- */

static int client_open(struct wc_watch *w)
{
    struct kube_client_opts co = {.cancel = cancel_hook, .cancel_arg = w};
    struct kube_config *cfg = NULL;
    char err[KUBE_ERR_MAX];

    if (kube_config_load(&w->wc->wopts.load, &cfg, err, sizeof(err)) == 0)
        w->c = kube_client_new(cfg, &co, err, sizeof(err));
    if (w->c)
        return 0;
    backoff(w, "configuration", err, 0, PHASE_FIND);
    return -1;
}

static void not_served(struct wc_watch *w)
{
    int was = set_served(w, 0);

    if (was == 0) {
        say(w, WCACHE_LOG_DEBUG, "still not served");
        return;
    }
    wcache_replace_kind(w->wc, w->kind, cJSON_CreateObject()); /* gone with its CRD */
    free(w->rv);
    w->rv = NULL;
    say(w, WCACHE_LOG_INFO,
        "%s by the API server (%s%s): is its CRD installed? Looking again every %d s",
        was == 1 ? "no longer served" : "not served", *w->group ? w->group : "v1",
        *w->group ? " v1, v1beta1, v1alpha2" : "", (int)w->wc->wopts.unserved_recheck_s);
}

static enum phase find(struct wc_watch *w)
{
    static const char *const versions[] = {"v1", "v1beta1", "v1alpha2"};
    struct kube_response r = {0};
    size_t i, n = *w->group ? ARRAY_SIZE(versions) : 1;

    if (!w->c && client_open(w) != 0)
        return PHASE_FIND;
    for (i = 0; i < n; i++) {
        char *av = *w->group ? xasprintf("%s/%s", w->group, versions[i]) : xstrdup(versions[i]);
        char *path = kube_path(w->c, av, w->kind, "", NULL, NULL, &r);

        if (path) {
            free(path);
            free(w->api_version);
            w->api_version = av;
            kube_response_release(&r);
            set_served(w, 1);
            return PHASE_LIST;
        }
        free(av);
        if (r.failure != KUBE_FAIL_NOT_SERVED)
            return failed(w, "discovery", &r, PHASE_FIND);
    }
    kube_response_release(&r);
    not_served(w);
    wait_ms(w->wc, w->wc->wopts.unserved_recheck_s * 1000L);
    return PHASE_FIND;
}

/* ---- LIST ---- */

static enum phase list(struct wc_watch *w)
{
    struct kube_response r = {0};
    const char *rv;
    int n;

    if (kube_list_all(w->c, w->api_version, w->kind, "", NULL, &r) != 0)
        return failed(w, "list", &r, r.status == 404 ? PHASE_FIND : PHASE_LIST);
    rv = jstr(cJSON_GetObjectItemCaseSensitive(r.body, "metadata"), "resourceVersion");
    if (!rv) {
        kube_response_release(&r);
        return backoff(w, "list", "the List has no metadata.resourceVersion to watch from", 0,
                       PHASE_LIST);
    }
    set_rv(w, rv);
    n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.body, "items"));
    wcache_replace_kind(w->wc, w->kind, r.body); /* taken over */
    r.body = NULL;
    kube_response_release(&r);
    lock(w->wc);
    w->st.lists++;
    w->st.synced = 1;
    update_synced_locked(w->wc);
    unlock(w->wc);
    say(w, WCACHE_LOG_INFO, "listed %d object%s (%s) at resourceVersion %s", n, n == 1 ? "" : "s",
        w->api_version, w->rv);
    return PHASE_WATCH;
}

/* ---- WATCH ---- */

static void put_copy(struct wc_watch *w, const cJSON *obj)
{
    cJSON *copy = cJSON_Duplicate(obj, 1); /* obj dies with the callback */

    if (!copy)
        return;
    if (!cJSON_GetObjectItemCaseSensitive(copy, "kind"))
        cJSON_AddStringToObject(copy, "kind", w->kind);
    wcache_put(w->wc, copy); /* taken over (freed if unusable) */
}

static int on_event(const char *type, const cJSON *obj, void *arg)
{
    struct wc_watch *w = arg;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *rv = jstr(md, "resourceVersion"), *name = jstr(md, "name");
    const char *ns = jstr(md, "namespace");

    if (rv)
        set_rv(w, rv);
    w->watch_events++;
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)
        put_copy(w, obj);
    else if (strcmp(type, "DELETED") == 0 && name)
        wcache_remove(w->wc, w->kind, ns ? ns : "", name);
    /* BOOKMARK: only the resourceVersion */
    lock(w->wc);
    w->st.events++;
    w->st.last_event = time(NULL);
    unlock(w->wc);
    return 0;
}

/* The server closed the stream (timeoutSeconds) or the connection broke. */
static enum phase watch_ended(struct wc_watch *w, double secs)
{
    if (w->watch_events == 0 && secs < SHORT_WATCH_S)
        return backoff(w, "watch", "the stream ended at once, without an event", 0, PHASE_LIST);
    count(w, &w->st.restarts);
    say(w, WCACHE_LOG_DEBUG,
        "watch ended after %.1f s (%lu events); watching again from resourceVersion %s", secs,
        w->watch_events, w->rv);
    return PHASE_WATCH;
}

/* 410: the resourceVersion is too old (compacted); list again at once,
   unless watches keep getting nothing but 410 (then with the backoff). */
static enum phase watch_gone(struct wc_watch *w, struct kube_response *r, double secs)
{
    count(w, &w->st.relists_gone);
    say(w, WCACHE_LOG_INFO, "watch: %s", r->error ? r->error : "410 Gone: list again");
    kube_response_release(r);
    w->gone_streak = w->watch_events == 0 && secs < SHORT_WATCH_S ? w->gone_streak + 1 : 0;
    if (w->gone_streak > 1)
        wait_ms(w->wc, next_wait(w));
    return PHASE_LIST;
}

/*
 * After a failed watch. A transport failure (the API server restarting, a
 * connection refused) or 429 backs off and watches again from the last
 * resourceVersion, as client-go's reflector does: nothing is lost, the
 * server replays what happened since (or answers 410, and we list). A 404
 * may mean the kind is gone (its CRD deleted): discovery again. Anything
 * else (403, 5xx, a bad stream) backs off and lists again, since the stream
 * may have lost events.
 */
static enum phase watch_failed(struct wc_watch *w, struct kube_response *r)
{
    enum phase next = PHASE_LIST;

    if (r->status == 404)
        next = PHASE_FIND;
    else if (r->failure == KUBE_FAIL_TRANSPORT || r->status == 429)
        next = PHASE_WATCH;
    return failed(w, "watch", r, next);
}

static enum phase watch(struct wc_watch *w)
{
    struct kube_watch_opts o = {0};
    struct kube_response r = {0};
    struct timespec t0;
    char *from = xstrdup(w->rv); /* on_event moves w->rv */
    double secs;
    int rc;

    o.resource_version = from;
    o.timeout_seconds = w->wc->wopts.watch_timeout_s;
    w->watch_events = 0;
    set_connected(w, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = kube_watch(w->c, w->api_version, w->kind, "", &o, on_event, w, &r);
    secs = seconds_since(&t0);
    set_connected(w, 0);
    free(from);
    if (w->watch_events > 0 || secs > HEALTHY_WATCH_S)
        w->backoff_ms = 0;
    switch (rc) {
    case KUBE_WATCH_END:
        kube_response_release(&r);
        return watch_ended(w, secs);
    case KUBE_WATCH_GONE:
        return watch_gone(w, &r, secs);
    case KUBE_WATCH_STOPPED:
        kube_response_release(&r);
        return PHASE_WATCH; /* only wcache_stop() cancels */
    default:
        return watch_failed(w, &r);
    }
}

/* ---- the threads ---- */

static void *watcher(void *arg)
{
    struct wc_watch *w = arg;
    enum phase p = PHASE_FIND;

    while (!stopping(w->wc)) {
        if (p == PHASE_FIND)
            p = find(w);
        else if (p == PHASE_LIST)
            p = list(w);
        else
            p = watch(w);
    }
    kube_client_free(&w->c);
    free(w->api_version);
    free(w->rv);
    w->api_version = w->rv = NULL;
    return NULL;
}

void wc_watch_init(struct wcache *wc)
{
    pthread_condattr_t attr;

    wc->watch = NULL;
    wc->started = 0;
    wc->synced = 0;
    atomic_init(&wc->stopping, 0);
    pthread_mutex_init(&wc->watch_lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wc->watch_wake, &attr);
    pthread_condattr_destroy(&attr);
}

/* After wcache_stop(): the threads are joined. */
void wc_watch_release(struct wcache *wc)
{
    free(wc->watch);
    wc->watch = NULL;
    pthread_cond_destroy(&wc->watch_wake);
    pthread_mutex_destroy(&wc->watch_lock);
}

static void fill_defaults(struct wcache_opts *o)
{
    if (o->watch_timeout_s <= 0)
        o->watch_timeout_s = WATCH_TIMEOUT_S;
    if (o->backoff_min_ms <= 0)
        o->backoff_min_ms = BACKOFF_MIN_MS;
    if (o->backoff_max_ms <= 0)
        o->backoff_max_ms = BACKOFF_MAX_MS;
    if (o->backoff_max_ms < o->backoff_min_ms)
        o->backoff_max_ms = o->backoff_min_ms;
    if (o->unserved_recheck_s <= 0)
        o->unserved_recheck_s = UNSERVED_RECHECK_S;
}

static struct wc_watch *watchers_new(struct wcache *wc)
{
    struct wc_watch *ws = xcalloc(WCACHE_NKINDS, sizeof(*ws));
    unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    size_t k;

    for (k = 0; k < WCACHE_NKINDS; k++) {
        struct wc_watch *w = &ws[k];

        w->wc = wc;
        w->group = kinds[k].group;
        w->kind = kinds[k].kind;
        w->rnd = (seed ^ (unsigned)(k + 1) * 2654435761U) | 1U; /* xorshift: never 0 */
        w->st.group = w->group;
        w->st.kind = w->kind;
        w->st.served = -1;
    }
    return ws;
}

/* One thread per kind, with every signal blocked: they stay the program's
   threads' business (e.g. its sigwait()). */
static int spawn(struct wcache *wc, char *err, size_t errlen)
{
    sigset_t all, old;
    size_t k;
    int e = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (k = 0; k < WCACHE_NKINDS && e == 0; k++) {
        e = pthread_create(&wc->watch[k].thread, NULL, watcher, &wc->watch[k]);
        wc->watch[k].running = e == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    wc->started = 1;
    if (e == 0)
        return 0;
    snprintf(err, errlen, "cannot start the watch cache's threads: %s", strerror(e));
    wcache_stop(wc);
    return -1;
}

int wcache_start(struct wcache *wc, const struct wcache_opts *opts, char *err, size_t errlen)
{
    static const struct wcache_opts none;
    struct kube_config *cfg = NULL;
    struct wc_watch *ws;

    if (errlen > 0)
        err[0] = '\0';
    if (!opts)
        opts = &none;
    if (wc->watch) {
        snprintf(err, errlen, "the watch cache's watchers were started already");
        return -1;
    }
    if (kube_config_load(&opts->load, &cfg, err, errlen) != 0)
        return -1;
    kube_config_free(&cfg);
    wc->wopts = *opts;
    fill_defaults(&wc->wopts);
    ws = watchers_new(wc);
    lock(wc);
    wc->watch = ws; /* wcache_stats() may look from another thread */
    unlock(wc);
    return spawn(wc, err, errlen);
}

int wcache_synced(const struct wcache *wc)
{
    int synced;

    if (!wc)
        return 0;
    lock(wc);
    synced = wc->synced;
    unlock(wc);
    return synced;
}

void wcache_stop(struct wcache *wc)
{
    size_t k;

    if (!wc || !wc->started)
        return;
    lock(wc);
    atomic_store(&wc->stopping, 1);
    pthread_cond_broadcast(&wc->watch_wake);
    unlock(wc);
    for (k = 0; k < WCACHE_NKINDS; k++) {
        if (!wc->watch[k].running)
            continue;
        pthread_join(wc->watch[k].thread, NULL);
        wc->watch[k].running = 0;
    }
    wc->started = 0;
}

int wcache_stats(const struct wcache *wc, enum wcache_kind k, struct wcache_kind_stats *out)
{
    if (!wc || !out || (unsigned)k >= WCACHE_NKINDS)
        return -1;
    memset(out, 0, sizeof(*out));
    out->group = kinds[k].group;
    out->kind = kinds[k].kind;
    out->served = -1;
    lock(wc);
    if (wc->watch)
        *out = wc->watch[k].st;
    unlock(wc);
    out->objects = wcache_count(wc, out->kind);
    return 0;
}

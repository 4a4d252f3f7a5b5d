/*
 * The watch cache (issue 8): the cluster's Gateway API objects, Services and
 * Namespaces kept in memory so that `gwhook serve` can judge an object
 * against the others at admission time, without a request to the API server
 * per review.
 *
 * Two halves:
 *  - the store: objects keyed by (kind, namespace, name), with a per-kind
 *    count, a by-namespace walk and a parent index (the routes that name a
 *    Gateway or ListenerSet in their spec.parentRefs). One reader-writer
 *    lock: readers (reviews) run side by side, writers (the watchers) hold
 *    it for one put or delete. Used alone by tests, benchmarks and
 *    `gwhook validate`, which fill it from files.
 *  - the watchers (wcache_start): per kind, one thread with its own client
 *    that lists, then watches from the List's resourceVersion with
 *    bookmarks, watches again from the last resourceVersion when the stream
 *    ends, lists again on 410 Gone, and reconnects with capped exponential
 *    backoff after errors (spec ecosystem.md §6, client-go's reflector).
 *
 * Stored objects are trimmed to what the checks read of objects other than
 * the one under review (wcache_trim()): status, most of metadata, a
 * Service's and a Namespace's spec, routes' filters and backendRefs,
 * listeners' TLS. Memory per object is a few hundred bytes, not kilobytes.
 */
#ifndef GC_WCACHE_H
#define GC_WCACHE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kube.h"

struct wcache;

/* ---- the store ---------------------------------------------------------- */

/* An empty store with no watchers. Free with wcache_free(). */
struct wcache *wcache_new(void);

/* Stop the watchers (if started), free every object. NULL is fine. */
void wcache_free(struct wcache **wc);

/*
 * Insert or replace an object, which the store takes over (it is trimmed
 * first). Its key is kind, metadata.namespace ("" when absent) and
 * metadata.name. Returns 0, or -1 (and frees obj) when kind or name is
 * missing. Takes the write lock.
 */
int wcache_put(struct wcache *wc, cJSON *obj);

/* Remove an object; 0 removed, -1 not there. Takes the write lock. */
int wcache_remove(struct wcache *wc, const char *kind, const char *ns, const char *name);

/*
 * Replace every object of kind with the items of a List (taken over; its
 * "items" are moved in, the rest freed): what a re-list does. Objects of
 * kind absent from the List are removed. Takes the write lock once.
 */
void wcache_replace_kind(struct wcache *wc, const char *kind, cJSON *list);

/*
 * Readers bracket their look-ups with wcache_read_begin()/end() (a shared
 * lock): pointers returned inside stay valid until wcache_read_end().
 * Recursive read locking is not allowed.
 */
void wcache_read_begin(const struct wcache *wc);
void wcache_read_end(const struct wcache *wc);

/* The object, or NULL. ns "" for cluster-scoped kinds (Namespace, GatewayClass). */
const cJSON *wcache_get(const struct wcache *wc, const char *kind, const char *ns,
                        const char *name);

/*
 * Call fn for every object of kind in ns (NULL: every namespace), until fn
 * returns non-zero, which is then returned; 0 otherwise. Order unspecified.
 */
typedef int (*wcache_each_fn)(const cJSON *obj, void *arg);
int wcache_each(const struct wcache *wc, const char *kind, const char *ns, wcache_each_fn fn,
                void *arg);

/*
 * Call fn for every cached route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute,
 * UDPRoute) with a spec.parentRefs entry naming the parent: parent_kind
 * "Gateway" or "ListenerSet" (group gateway.networking.k8s.io, the
 * default), in parent_ns (the entry's namespace, defaulting to the route's)
 * with that name. A route naming the parent twice is visited once. Same
 * return convention as wcache_each().
 */
int wcache_each_child(const struct wcache *wc, const char *parent_kind, const char *parent_ns,
                      const char *parent_name, wcache_each_fn fn, void *arg);

/*
 * wcache_each_child(), skipping routes whose hostname filter shares no bit
 * with hosts (wcache_host_filter() of the caller's hostnames): routes with
 * exact hostnames of which none is the caller's, mostly. A filter, not a
 * test: fn still sees some routes with no common hostname.
 */
int wcache_each_child_host(const struct wcache *wc, const char *parent_kind, const char *parent_ns,
                           const char *parent_name, uint64_t hosts, wcache_each_fn fn, void *arg);

#define WCACHE_ANY_HOST (~0ULL)

/* A route's hostname filter: a bit (of 63) per exact hostname, or
   WCACHE_ANY_HOST when there are none or a wildcard is among them. */
uint64_t wcache_host_filter(const cJSON *hostnames);

/* Objects of kind (NULL: all kinds). */
size_t wcache_count(const struct wcache *wc, const char *kind);

/* Bytes the store holds, as counted by its allocations (objects, keys, indexes). */
size_t wcache_bytes(const struct wcache *wc);

/*
 * Strip what the checks never read of a cached object: keeps apiVersion,
 * kind, metadata name/namespace/creationTimestamp (and a Namespace's
 * labels), a route's parentRefs, hostnames and rules[].matches, a Gateway's
 * or ListenerSet's listeners (name, port, protocol, hostname,
 * allowedRoutes), allowedListeners and parentRef, a ReferenceGrant's spec.
 */
void wcache_trim(cJSON *obj);

/* ---- the watchers ------------------------------------------------------- */

/* What is watched, in this order (the served version is found by discovery). */
#define WCACHE_KINDS(X)                                              \
    X(GATEWAYCLASS, "gateway.networking.k8s.io", "GatewayClass")     \
    X(GATEWAY, "gateway.networking.k8s.io", "Gateway")               \
    X(LISTENERSET, "gateway.networking.k8s.io", "ListenerSet")       \
    X(HTTPROUTE, "gateway.networking.k8s.io", "HTTPRoute")           \
    X(GRPCROUTE, "gateway.networking.k8s.io", "GRPCRoute")           \
    X(TLSROUTE, "gateway.networking.k8s.io", "TLSRoute")             \
    X(TCPROUTE, "gateway.networking.k8s.io", "TCPRoute")             \
    X(UDPROUTE, "gateway.networking.k8s.io", "UDPRoute")             \
    X(REFERENCEGRANT, "gateway.networking.k8s.io", "ReferenceGrant") \
    X(SERVICE, "", "Service")                                        \
    X(NAMESPACE, "", "Namespace")

enum wcache_kind {
#define X(id, group, kind) WCACHE_##id,
    WCACHE_KINDS(X)
#undef X
        WCACHE_NKINDS
};

struct wcache_opts {
    struct kube_load_opts load; /* where the configuration comes from; loaded once per watcher */
    long watch_timeout_s;       /* server-side timeoutSeconds of each watch; 0: 300 */
    long backoff_min_ms;        /* first wait after an error; 0: 500 */
    long backoff_max_ms;        /* cap; 0: 30000 */
    long unserved_recheck_s;    /* a kind not served is looked for again after; 0: 60 */
    /* called from watcher threads with a one-line message (e.g. to log); may be NULL */
    void (*log)(void *arg, int level, const char *kind, const char *msg);
    void *log_arg;
};

/* Levels passed to opts.log. */
enum { WCACHE_LOG_DEBUG, WCACHE_LOG_INFO, WCACHE_LOG_WARN, WCACHE_LOG_ERROR };

/*
 * Start one watcher thread per kind of WCACHE_KINDS. A kind the server does
 * not serve (its CRD is not installed) is marked absent and looked for again
 * every minute; it does not hold up wcache_synced(). Returns 0, or -1 with
 * a message when the configuration cannot be loaded. opts is copied
 * (its strings must outlive the cache).
 */
int wcache_start(struct wcache *wc, const struct wcache_opts *opts, char *err, size_t errlen);

/* 1 once every served kind has been listed once (stays 1 afterwards). */
int wcache_synced(const struct wcache *wc);

/* Stop and join the watchers; the store stays readable. Idempotent. */
void wcache_stop(struct wcache *wc);

/* Health of one kind's watcher, for metrics and logs. */
struct wcache_kind_stats {
    const char *group, *kind;
    int served;     /* -1 not yet known, 0 the server does not serve it, 1 served */
    int synced;     /* listed at least once */
    int connected;  /* a watch stream is open now */
    size_t objects; /* in the store */
    unsigned long events, lists, relists_gone, restarts, errors;
    time_t last_event; /* 0: none yet */
};

/* Copy the stats of kind k; 0, or -1 when k is out of range. */
int wcache_stats(const struct wcache *wc, enum wcache_kind k, struct wcache_kind_stats *out);

#endif

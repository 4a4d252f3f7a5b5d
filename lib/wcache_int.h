/*
 * Inside the watch cache: the store's structures (lib/wcache.c) and the
 * watchers' state (lib/wcache_watch.c). Not for other modules.
 */
#ifndef GC_WCACHE_INT_H
#define GC_WCACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "wcache.h"

struct wc_entry {
    char *key;   /* "kind/ns/name" */
    char *parts; /* "kind\0ns\0name": kind, ns and name point into it */
    const char *kind, *ns, *name;
    cJSON *obj;
    char **parents; /* "Gateway/ns/name" keys of a route's parentRefs */
    size_t nparents;
    size_t bytes;   /* what this entry costs, counted at insertion */
    uint64_t hosts; /* wcache_host_filter() of a route's spec.hostnames */
    int seen;       /* mark of wcache_replace_kind() */
    struct wc_entry *next;
};

/* One entry of a multimap bucket, with the filter of the route's hostnames
   (wcache_host_filter()) beside it: a walk of a Gateway's routes can skip
   most without touching them. */
struct wc_item {
    struct wc_entry *e;
    uint64_t hosts;
};

struct wc_bucket {
    char *key;
    struct wc_item *item;
    size_t len, alloc;
    struct wc_bucket *next;
};

struct wc_multimap {
    struct wc_bucket **slots;
    size_t nslots, count;
};

struct wc_watch; /* one kind's watcher (wcache_watch.c) */

struct wcache {
    pthread_rwlock_t lock; /* guards the table and both multimaps */
    struct wc_entry **slots;
    size_t nslots, count, bytes;
    struct wc_multimap by_ns;     /* "kind/ns" */
    struct wc_multimap by_parent; /* "Gateway/ns/name", "ListenerSet/ns/name" */

    /* the watchers: wcache_watch.c */
    struct wc_watch *watch;     /* WCACHE_NKINDS of them once started (kept after a
                                   stop, for the stats), else NULL */
    int started;                /* threads running: wcache_stop() joins them */
    struct wcache_opts wopts;   /* the copy wcache_start() took, defaults filled in */
    pthread_mutex_t watch_lock; /* guards the watchers' stats and synced */
    pthread_cond_t watch_wake;  /* broadcast by wcache_stop(): ends the waits */
    atomic_int stopping;        /* set (under watch_lock) by wcache_stop(); read anywhere */
    int synced;                 /* latched: every served kind listed once */
};

/* 1 for the route kinds the parent index covers. */
int wc_is_route_kind(const char *kind);

/* The watchers' half: set up at wcache_new(), released at wcache_free(). */
void wc_watch_init(struct wcache *wc);
void wc_watch_release(struct wcache *wc);

#endif

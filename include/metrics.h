/*
 * The webhook's Prometheus metrics (spec ecosystem.md §4): controller-
 * runtime's webhook names, so existing dashboards and alerts work, plus
 * gatecheck's decisions and certificate state. Every update is a relaxed
 * atomic add on a fixed slot: no locks on the request path. Label values
 * come from closed sets (the webhook paths, a list of HTTP codes, the kinds
 * gatecheck knows, the four operations), so cardinality is bounded whatever
 * the requests say.
 */
#ifndef GC_METRICS_H
#define GC_METRICS_H

#include <time.h>

enum metrics_webhook { METRICS_VALIDATE, METRICS_MUTATE, METRICS_NWEBHOOK };

struct metrics;

/* Caller frees with metrics_free(). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* A request to a webhook path began / finished (the in-flight gauge). */
void metrics_request_begin(struct metrics *m, enum metrics_webhook wh);
void metrics_request_end(struct metrics *m, enum metrics_webhook wh);

/* A response with HTTP 'code' was sent after 'seconds' (requests_total, latency). */
void metrics_response(struct metrics *m, enum metrics_webhook wh, int code, double seconds);

/*
 * A review was decided. kind and operation come from the request and may be
 * anything: kinds gatecheck has no schema for count as kind="other" and in
 * the unknown-kind counter, operations outside the four as "other".
 */
void metrics_decision(struct metrics *m, const char *kind, const char *operation, int allowed);

/* A review finished after the caller's ?timeout= had passed. */
void metrics_deadline_exceeded(struct metrics *m);

/* A certificate reload was tried: ok with the new pair's notAfter, or failed (not_after unused). */
void metrics_cert_reload(struct metrics *m, int ok, time_t not_after);

/* The exposition, Prometheus text format 0.0.4. Caller frees with free(). */
char *metrics_render(const struct metrics *m);

/* The Content-Type of metrics_render()'s output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif

/*
 * The CEL rules of the Gateway API CRDs (spec validation.md §3, §1.5),
 * written as C. Each distinct rule text has one function, registered under
 * its canonical ID (the first spec ID with that text; `tools/gen-schema.py
 * --cel` lists them with every place they apply). The schema tables say
 * where each rule instance sits and carry its verbatim message; this module
 * only answers "does the rule hold for this node".
 *
 * Semantics to honour (§1.5): accessing an absent field is an evaluation
 * error "no such key: <field>", not null; && and || absorb an error when the
 * other side decides the result (false && err == false, true || err ==
 * true); has(x.f) is true when f is present; exists_one counts x itself;
 * size() and lengths count code points; matches() is an unanchored RE2
 * search (use rx_search()).
 */
#ifndef GC_CEL_H
#define GC_CEL_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "schema.h"

enum cel_result { CEL_TRUE, CEL_FALSE, CEL_ERROR };

struct cel_ctx {
    const cJSON *self;     /* the node carrying the rule (never NULL) */
    const cJSON *old_self; /* the same node in the old object; transition rules only */
    char err[256];         /* on CEL_ERROR: e.g. "no such key: certificateRefs" */
};

typedef enum cel_result (*cel_fn)(struct cel_ctx *c);

struct cel_impl {
    const char *canon; /* canonical rule ID, e.g. "GW-8" */
    cel_fn fn;
};

/* The implementation of a canonical rule ID, or NULL. */
cel_fn cel_lookup(const char *canon);

/* Tables contributed by the rule files, terminated by {NULL, NULL}. */
extern const struct cel_impl
    cel_gateway_impls[]; /* webhook/cel_gateway.c: GC, GW, LS, BTP, TLS, GR */
extern const struct cel_impl cel_httproute_impls[];  /* webhook/cel_httproute.c: HR-1..HR-30 */
extern const struct cel_impl cel_httproute2_impls[]; /* webhook/cel_httproute2.c: HR-33.., HR-XA* */
extern const struct cel_impl cel_session_impls[];    /* webhook/cel_session.c: SP16-* (v1.6.x) */

/* ---- helpers for rule code (webhook/cel.c) ---- */

/* Field k of object o, or NULL when o is not an object or k is absent. */
const cJSON *cel_get(const cJSON *o, const char *k);
/* has(o.k) */
int cel_has(const cJSON *o, const char *k);
/*
 * o.k that must exist: returns it, or NULL after writing "no such key: k"
 * into c->err (the caller then yields CEL_ERROR unless absorbed).
 */
const cJSON *cel_need(struct cel_ctx *c, const cJSON *o, const char *k);
/* String value of o.k, or NULL when absent or not a string. */
const char *cel_str(const cJSON *o, const char *k);
/* o.k == lit for a string field; absent -> 0 (callers model errors themselves). */
int cel_str_eq(const cJSON *o, const char *k, const char *lit);
/* Number of elements of an array/object, code points of a string; 0 otherwise. */
size_t cel_size(const cJSON *v);
/* CEL equality of two JSON values (deep; numbers by value). */
int cel_equal(const cJSON *a, const cJSON *b);
/* Unanchored RE2-style search of pattern id in s (PCRE2, compiled once). */
int rx_search(enum rx_id id, const char *s);
/* Free the compiled regexes (at exit). Not thread-safe. */
void rx_shutdown(void);
/* Kubernetes' isIP(): a valid IPv4 or IPv6 literal (no zone, no IPv4-mapped v6). */
int cel_is_ip(const char *s);
/*
 * Go time.ParseDuration() of s into nanoseconds. Returns 0 on success,
 * -1 when s is not a valid Go duration.
 */
int cel_duration(const char *s, long double *ns);

#endif

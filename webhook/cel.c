/* Helpers that give rule code CEL's semantics over cJSON, the registry of
   rule implementations, and the one compiled-regex cache (PCRE2, RE2 search
   semantics: unanchored, UTF, $ only at the very end). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "cel.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const cJSON *cel_get(const cJSON *o, const char *k)
{
    if (!cJSON_IsObject(o))
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

int cel_has(const cJSON *o, const char *k)
{
    return cel_get(o, k) != NULL;
}

const cJSON *cel_need(struct cel_ctx *c, const cJSON *o, const char *k)
{
    const cJSON *v = cel_get(o, k);

    if (!v)
        snprintf(c->err, sizeof(c->err), "no such key: %s", k);
    return v;
}

const char *cel_str(const cJSON *o, const char *k)
{
    const cJSON *v = cel_get(o, k);

    return v && cJSON_IsString(v) ? v->valuestring : NULL; /* -fanalyzer cannot see into cJSON */
}

int cel_str_eq(const cJSON *o, const char *k, const char *lit)
{
    const char *s = cel_str(o, k);

    return s && !strcmp(s, lit);
}

size_t cel_size(const cJSON *v)
{
    if (cJSON_IsString(v))
        return utf8_len(v->valuestring);
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return (size_t)cJSON_GetArraySize(v);
    return 0;
}

int cel_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    return cJSON_Compare(a, b, 1) != 0;
}

/* ---- regexes ---- */

static pcre2_code *rx_code[RX_COUNT];
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;

/*
 * The text PCRE2 compiles for pattern i. RE2 (what the API server runs) is
 * linear in the input; PCRE2 backtracks, and P09's ([\t ]?[!-~]+)* can split
 * a run of visible characters in 2^n ways, so a header value that fails it
 * (trailing white space, a control character) ran into PCRE2's match limit:
 * about 13 ms per value, seconds for one route. The form below matches the
 * same strings (runs of [!-~] joined by single tabs or spaces) without any
 * choice to undo. schema_rx_text keeps the spec's text for messages.
 */
static const char *rx_source(int i)
{
    return i == RX_P09 ? "^[!-~]+(?:[\\t ][!-~]+)*$" : schema_rx_text[i];
}

static void rx_compile_all(void)
{
    const char *jit = getenv("GATECHECK_PCRE2_JIT");
    int nojit = jit && !strcmp(jit, "0");
    int i;

    for (i = 1; i < RX_COUNT; i++) {
        int errcode;
        PCRE2_SIZE erroff;

        rx_code[i] = pcre2_compile((PCRE2_SPTR)rx_source(i), PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK, &errcode,
                                   &erroff, NULL);
        if (!rx_code[i]) {
            fprintf(stderr, "BUG: pattern %d does not compile at offset %zu\n", i, (size_t)erroff);
            abort();
        }
        /* JIT is best effort; GATECHECK_PCRE2_JIT=0 turns it off (valgrind
           cannot follow JIT code and reports false uninitialised reads). */
        if (!nojit)
            (void)pcre2_jit_compile(rx_code[i], PCRE2_JIT_COMPLETE);
    }
}

/* Valid UTF-8? PCRE2 with PCRE2_UTF refuses invalid input; RE2 treats each
   bad byte as U+FFFD, which none of our patterns accept where it matters. */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = *p < 0x80             ? 1
                : (*p & 0xE0) == 0xC0 ? 2
                : (*p & 0xF0) == 0xE0 ? 3
                : (*p & 0xF8) == 0xF0 ? 4
                                      : 0;
        int i;

        if (!n)
            return 0;
        for (i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

void rx_shutdown(void)
{
    int i;

    for (i = 0; i < RX_COUNT; i++) {
        pcre2_code_free(rx_code[i]);
        rx_code[i] = NULL;
    }
    rx_once = (pthread_once_t)PTHREAD_ONCE_INIT;
}

int rx_search(enum rx_id id, const char *s)
{
    pcre2_match_data *md;
    int rc;

    if (id <= RX_NONE || id >= RX_COUNT)
        return 1;
    pthread_once(&rx_once, rx_compile_all);
    if (!utf8_valid(s)) {
        /* Replace bad bytes by U+FFFD as Go does, then match. */
        struct sbuf sb = {0};
        const unsigned char *p = (const unsigned char *)s;
        int r;

        for (; *p; p++)
            if (*p < 0x80)
                sb_putc(&sb, (char)*p);
            else
                sb_puts(&sb, "\xEF\xBF\xBD");
        r = rx_search(id, sb.buf ? sb.buf : "");
        sb_release(&sb);
        return r;
    }
    md = pcre2_match_data_create_from_pattern(rx_code[id], NULL);
    rc = pcre2_match(rx_code[id], (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* ---- isIP(), duration() ---- */

int cel_is_ip(const char *s)
{
    unsigned char buf[16];

    if (strchr(s, '%'))
        return 0; /* zones are rejected */
    if (strchr(s, ':')) {
        if (inet_pton(AF_INET6, s, buf) != 1)
            return 0;
        /* IPv4-mapped IPv6 is rejected by the Kubernetes IP library */
        return !(memcmp(buf, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0);
    }
    /* inet_pton(AF_INET) refuses leading zeros' octal forms the same way
       netip.ParseAddr does ("01.2.3.4" is invalid in both). */
    if (inet_pton(AF_INET, s, buf) != 1)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p == '0' && (p == s || p[-1] == '.') && isdigit((unsigned char)p[1]))
            return 0;
    return 1;
}

int cel_duration(const char *s, long double *ns)
{
    static const struct {
        const char *unit;
        long double mult;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"µs", 1e3}, {"μs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9}, {"h", 3600e9}};
    long double total = 0;
    int neg = 0;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (!strcmp(s, "0")) {
        *ns = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        long double v = 0, frac = 0, scale = 1;
        int digits = 0;
        size_t u, best = 0, bestlen = 0;

        while (isdigit((unsigned char)*s))
            v = v * 10 + (*s++ - '0'), digits++;
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s))
                frac = frac * 10 + (*s++ - '0'), scale *= 10, digits++;
        }
        if (!digits)
            return -1;
        for (u = 0; u < ARRAY_SIZE(units); u++) {
            size_t l = strlen(units[u].unit);

            if (!strncmp(s, units[u].unit, l) && l > bestlen)
                best = u, bestlen = l;
        }
        if (!bestlen)
            return -1;
        s += bestlen;
        total += (v + frac / scale) * units[best].mult;
    }
    *ns = neg ? -total : total;
    return 0;
}

/* ---- registry ---- */

static const struct cel_impl *const tables[] = {cel_gateway_impls, cel_httproute_impls,
                                                cel_httproute2_impls, cel_session_impls};

static cel_fn lookup_slow(const char *canon)
{
    size_t t;

    for (t = 0; t < ARRAY_SIZE(tables); t++) {
        const struct cel_impl *i;

        for (i = tables[t]; i->canon; i++)
            if (!strcmp(i->canon, canon))
                return i->fn;
    }
    return NULL;
}

/*
 * Every canonical ID the schema tables use is a pointer into schema_gen.c,
 * so a table keyed by that pointer, filled once, answers in O(1) on the hot
 * path; other strings fall back to the linear search.
 */
#define CACHE_SLOTS 4096 /* > 2 x the rule instances of every set */

static struct {
    const char *key;
    cel_fn fn;
} cache[CACHE_SLOTS];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static size_t slot_of(const char *p)
{
    uintptr_t h = (uintptr_t)p;

    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & (CACHE_SLOTS - 1);
}

static void cache_fill(void)
{
    size_t s, i;

    for (s = 0; s < schema_nsets; s++) {
        for (i = 0; i < schema_sets[s].ncel; i++) {
            const char *k = schema_sets[s].cel[i].canon;
            size_t at = slot_of(k);

            while (cache[at].key && cache[at].key != k)
                at = (at + 1) & (CACHE_SLOTS - 1);
            cache[at].key = k;
            cache[at].fn = lookup_slow(k);
        }
    }
}

cel_fn cel_lookup(const char *canon)
{
    size_t at;

    pthread_once(&cache_once, cache_fill);
    for (at = slot_of(canon); cache[at].key; at = (at + 1) & (CACHE_SLOTS - 1))
        if (cache[at].key == canon)
            return cache[at].fn;
    return lookup_slow(canon);
}

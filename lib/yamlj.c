/*
 * yamlj: YAML 1.1 (and JSON) to cJSON, read the way sigs.k8s.io/yaml reads
 * it (go-yaml v2 resolution, then conversion to JSON). Contract in yamlj.h.
 *
 * Two passes per document:
 *  1. load: libyaml events become a tree of struct ynode; an alias node
 *     points at its anchored node and nothing is copied; depth is checked;
 *  2. convert: the tree becomes cJSON; an alias is expanded by converting its
 *     anchored node again, and every node converted under an alias counts
 *     against the stream's alias budget, so a billion-laughs document stops
 *     after max_alias_nodes nodes and never holds more than that many copies.
 * While converting, an object/array stashes its line in valueint and its
 * column in valuedouble (fields cJSON leaves unused for containers). When the
 * document is complete the live containers' positions are collected into
 * doc->pos and those fields reset to 0, so containers freed on the way
 * (merge losers, dissolved merge sources) leave no stale pointers behind.
 *
 * Where this reader knowingly differs from sigs.k8s.io/yaml:
 *  - numbers are cJSON doubles: integers beyond 2^53 lose precision (Go keeps
 *    int64/uint64 exact);
 *  - duplicate keys are an error (go-yaml v2 keeps the last one unless
 *    strict); keys are compared after conversion to strings, so `1` and "1",
 *    or `yes` and `true`, clash too (Go's map order would pick one at random);
 *  - explicit keys win over merged ("<<") ones wherever the "<<" stands (YAML
 *    merge spec, go-yaml v3; v2 lets a later "<<" override an explicit key);
 *  - object members keep document order (json.Marshal sorts them);
 *  - scalars holding NUL ("\0" escapes) are rejected: cJSON strings end at NUL;
 *  - !!binary is rejected (sigs.k8s.io/yaml documents it as unsupported);
 *  - .inf/.nan values are rejected even where a merge would drop them;
 *  - opts->max_depth is clamped to YJ_DEPTH_LIMIT so recursion stays bounded;
 *  - the whole stream is parsed: text after the first document that libyaml
 *    rejects is an error (go-yaml's Unmarshal stops after the first
 *    document), and a few corner cases of flow/tag syntax follow libyaml
 *    0.2.5 where go-yaml's port of an older libyaml differs.
 * Positions are libyaml start marks: a node with an anchor or tag starts at
 * the anchor or tag, and nodes copied through an alias or merge report where
 * the anchored original stands.
 * Plain scalars are parsed with strtod(), so LC_NUMERIC must be "C" (the
 * program never calls setlocale()).
 */
#include "yamlj.h"
#include "util.h"

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Hard ceiling on opts->max_depth: conversion recurses once per level. */
#define YJ_DEPTH_LIMIT 1000
#define YJ_TAG_PREFIX  "tag:yaml.org,2002:"

enum yj_kind { YJ_SCALAR, YJ_SEQ, YJ_MAP, YJ_ALIAS };

/* One node of a loaded document. A collection owns its kids; an alias does
   not own its target. */
struct ynode {
    enum yj_kind kind;
    int line, col;      /* 1-based start */
    int plain;          /* scalar: plain and not specifically tagged (libyaml plain_implicit) */
    int open;           /* collection: end event not seen yet */
    char *tag;          /* NULL when untagged */
    char *value;        /* scalar: its text (no NUL inside); alias: anchor name */
    struct ynode **kid; /* sequence: items; mapping: key, value, key, value... */
    size_t nkid, akid;
    const struct ynode *target; /* alias: the anchored node */
};

struct yj_anchor {
    char *name; /* NULL: free slot */
    struct ynode *node;
};

/* Open-addressing hash of a document's anchors; a redefinition replaces. */
struct yj_anchors {
    struct yj_anchor *slot;
    size_t cap, len;
};

struct yj_ctx {
    size_t max_depth, max_alias;
    size_t copied;           /* nodes copied by alias expansion, whole stream */
    const struct ynode *via; /* outermost alias being expanded, else NULL */
    const char *buf;         /* input, for reader error positions */
    size_t len;
    char *err;
    size_t errlen;
    int failed;
    struct ynode *root;   /* document being loaded */
    struct ynode **stack; /* open collections */
    size_t nstack, astack;
    struct yj_anchors anchors;
    struct yamlj_stream *out;
    size_t doc_alloc;
};

/* ---- errors ---- */

__attribute__((format(printf, 4, 0))) static int yj_vfail(struct yj_ctx *c, int line, int col,
                                                          const char *fmt, va_list ap)
{
    int n;

    if (c->failed)
        return -1;
    c->failed = 1;
    if (!c->err || !c->errlen)
        return -1;
    n = snprintf(c->err, c->errlen, "line %d, column %d: ", line, col);
    if (n >= 0 && (size_t)n < c->errlen)
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    return -1;
}

/* Record the stream's first error at line:col; always returns -1. */
__attribute__((format(printf, 4, 5))) static int yj_fail_lc(struct yj_ctx *c, int line, int col,
                                                            const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    yj_vfail(c, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

/* Record an error at node n, or at the alias being expanded when there is
   one (a copied node's own position would not tell the reader why it was
   visited); always returns -1. */
__attribute__((format(printf, 3, 4))) static int yj_fail(struct yj_ctx *c, const struct ynode *n,
                                                         const char *fmt, ...)
{
    const struct ynode *at = c->via ? c->via : n;
    va_list ap;

    va_start(ap, fmt);
    yj_vfail(c, at->line, at->col, fmt, ap);
    va_end(ap);
    return -1;
}

static int mark_num(size_t v)
{
    return v >= INT_MAX ? INT_MAX : (int)v + 1;
}

/* cJSON fails only on OOM; the program's policy is to abort then (util.h). */
static cJSON *jcheck(cJSON *j)
{
    if (!j) {
        fputs("fatal: out of memory in cJSON\n", stderr);
        abort();
    }
    return j;
}

/* ---- plain scalar resolution (go-yaml v2 resolve.go) ---- */

enum yv_kind { YV_NULL, YV_BOOL, YV_INT, YV_UINT, YV_FLOAT, YV_STR, YV_TS };

struct yval {
    enum yv_kind kind;
    int64_t i;  /* YV_INT; YV_BOOL: 0 or 1 */
    uint64_t u; /* YV_UINT: values above INT64_MAX */
    double f;   /* YV_FLOAT */
};

enum yj_tag {
    YT_NONE,
    YT_STR,
    YT_BOOL,
    YT_INT,
    YT_FLOAT,
    YT_NULL,
    YT_TS,
    YT_BINARY,
    YT_MERGE,
    YT_OTHER
};

static const struct {
    const char *name;
    enum yj_tag tag;
} yj_tags[] = {
    {"str", YT_STR},   {"bool", YT_BOOL},    {"int", YT_INT},       {"float", YT_FLOAT},
    {"null", YT_NULL}, {"timestamp", YT_TS}, {"binary", YT_BINARY}, {"merge", YT_MERGE},
};

static enum yj_tag yj_tag_kind(const char *tag)
{
    size_t plen = strlen(YJ_TAG_PREFIX), i;

    if (!tag)
        return YT_NONE;
    if (strncmp(tag, YJ_TAG_PREFIX, plen) != 0)
        return YT_OTHER;
    for (i = 0; i < ARRAY_SIZE(yj_tags); i++)
        if (strcmp(tag + plen, yj_tags[i].name) == 0)
            return yj_tags[i].tag;
    return YT_OTHER;
}

/* go-yaml's shortTag() of a resolvable tag, for messages. */
static const char *yj_tag_name(enum yj_tag t)
{
    switch (t) {
    case YT_STR:
        return "!!str";
    case YT_BOOL:
        return "!!bool";
    case YT_INT:
        return "!!int";
    case YT_FLOAT:
        return "!!float";
    case YT_NULL:
        return "!!null";
    case YT_TS:
        return "!!timestamp";
    default:
        return "!!?";
    }
}

static enum yj_tag yv_tag(enum yv_kind k)
{
    static const enum yj_tag map[] = {YT_NULL, YT_BOOL, YT_INT, YT_INT, YT_FLOAT, YT_STR, YT_TS};

    return map[k];
}

static const struct yj_word {
    const char *s;
    enum yv_kind kind;
    int b;
    double f;
} yj_words[] = {
    {"y", YV_BOOL, 1, 0},
    {"Y", YV_BOOL, 1, 0},
    {"yes", YV_BOOL, 1, 0},
    {"Yes", YV_BOOL, 1, 0},
    {"YES", YV_BOOL, 1, 0},
    {"true", YV_BOOL, 1, 0},
    {"True", YV_BOOL, 1, 0},
    {"TRUE", YV_BOOL, 1, 0},
    {"on", YV_BOOL, 1, 0},
    {"On", YV_BOOL, 1, 0},
    {"ON", YV_BOOL, 1, 0},
    {"n", YV_BOOL, 0, 0},
    {"N", YV_BOOL, 0, 0},
    {"no", YV_BOOL, 0, 0},
    {"No", YV_BOOL, 0, 0},
    {"NO", YV_BOOL, 0, 0},
    {"false", YV_BOOL, 0, 0},
    {"False", YV_BOOL, 0, 0},
    {"FALSE", YV_BOOL, 0, 0},
    {"off", YV_BOOL, 0, 0},
    {"Off", YV_BOOL, 0, 0},
    {"OFF", YV_BOOL, 0, 0},
    {"", YV_NULL, 0, 0},
    {"~", YV_NULL, 0, 0},
    {"null", YV_NULL, 0, 0},
    {"Null", YV_NULL, 0, 0},
    {"NULL", YV_NULL, 0, 0},
    {".nan", YV_FLOAT, 0, NAN},
    {".NaN", YV_FLOAT, 0, NAN},
    {".NAN", YV_FLOAT, 0, NAN},
    {".inf", YV_FLOAT, 0, INFINITY},
    {".Inf", YV_FLOAT, 0, INFINITY},
    {".INF", YV_FLOAT, 0, INFINITY},
    {"+.inf", YV_FLOAT, 0, INFINITY},
    {"+.Inf", YV_FLOAT, 0, INFINITY},
    {"+.INF", YV_FLOAT, 0, INFINITY},
    {"-.inf", YV_FLOAT, 0, -INFINITY},
    {"-.Inf", YV_FLOAT, 0, -INFINITY},
    {"-.INF", YV_FLOAT, 0, -INFINITY},
};

static int yj_isdigit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* go-yaml's resolveTable: 'N' empty, 'S' sign, 'D' digit, 'M' may be a
   bool/null word, '.' may be a float, 0 always a string. */
static char yj_hint(const char *s)
{
    if (!*s)
        return 'N';
    if (*s == '+' || *s == '-')
        return 'S';
    if (yj_isdigit(*s))
        return 'D';
    if (*s == '.')
        return '.';
    return strchr("yYnNtTfFoO~", *s) ? 'M' : 0;
}

static int resolve_word(const char *s, struct yval *v)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(yj_words); i++) {
        if (strcmp(s, yj_words[i].s) == 0) {
            v->kind = yj_words[i].kind;
            v->i = yj_words[i].b;
            v->f = yj_words[i].f;
            return 1;
        }
    }
    return 0;
}

static unsigned yj_digit(char ch)
{
    if (yj_isdigit(ch))
        return (unsigned)(ch - '0');
    ch = (char)(ch | 0x20);
    if (ch >= 'a' && ch <= 'z')
        return (unsigned)(ch - 'a' + 10);
    return 99;
}

/* Go's strconv.ParseUint(s, 0, 64) (s has no '_'): 0b/0o/0x prefixes (any
   case) need a digit after them, a leading 0 means octal. 0 or -1. */
static int go_parse_uint(const char *s, uint64_t *out)
{
    unsigned base = 10, d;
    uint64_t n = 0;

    if (!*s)
        return -1;
    if (s[0] == '0') {
        char p = (char)(s[1] | 0x20);

        if (strlen(s) >= 3 && (p == 'b' || p == 'o' || p == 'x')) {
            base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
            s += 2;
        } else {
            base = 8;
            s++;
        }
    }
    for (; *s; s++) {
        d = yj_digit(*s);
        if (d >= base || n > (UINT64_MAX - d) / base)
            return -1;
        n = n * base + d;
    }
    *out = n;
    return 0;
}

/* Go's strconv.ParseInt(s, 0, 64): optional sign, then ParseUint. */
static int go_parse_int(const char *s, int64_t *out)
{
    int neg = 0;
    uint64_t u;

    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (go_parse_uint(s, &u))
        return -1;
    if (u > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -1;
    if (neg)
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    else
        *out = (int64_t)u;
    return 0;
}

static size_t skip_digits(const char **s)
{
    size_t n = 0;

    while (yj_isdigit(**s))
        (*s)++, n++;
    return n;
}

/* go-yaml's yamlStyleFloat:
   ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int yaml_style_float(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.') {
        s++;
        if (!skip_digits(&s))
            return 0;
    } else {
        if (!skip_digits(&s))
            return 0;
        if (*s == '.') {
            s++;
            skip_digits(&s);
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!skip_digits(&s))
            return 0;
    }
    return *s == '\0';
}

/* strconv.ParseFloat on text already known to be decimal float syntax:
   overflow to infinity is an error, as in Go. 0 or -1. */
static int go_parse_float(const char *s, double *f)
{
    char *end;
    double d = strtod(s, &end);

    if (*end || isinf(d))
        return -1;
    *f = d;
    return 0;
}

/* Go's underscoreOK() for decimal text: each '_' between two digits. */
static int go_underscore_ok(const char *s)
{
    char saw = '^';

    if (*s == '+' || *s == '-')
        s++;
    for (; *s; s++) {
        if (yj_isdigit(*s)) {
            saw = '0';
        } else if (*s == '_') {
            if (saw != '0')
                return 0;
            saw = '_';
        } else {
            if (saw == '_')
                return 0;
            saw = '!';
        }
    }
    return saw != '_';
}

static char *strip_underscores(const char *s)
{
    char *out = xmalloc(strlen(s) + 1), *p = out;

    for (; *s; s++)
        if (*s != '_')
            *p++ = *s;
    *p = '\0';
    return out;
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return days[month - 1] + (month == 2 && leap);
}

/* Go's getnum(s, false): one or two digits. */
static int ts_num(const char **s, int *v)
{
    const char *p = *s;

    if (!yj_isdigit(p[0]))
        return 0;
    *v = p[0] - '0';
    if (yj_isdigit(p[1]))
        *v = *v * 10 + (p[1] - '0'), p++;
    *s = p + 1;
    return 1;
}

/* The time of day after a 'T', 't' or ' ' of a timestamp; a zone (Z or
   +hh:mm) is required after 'T'/'t' and not allowed after ' '. */
static int ts_time(const char *s, char sep)
{
    int h, mi, se;

    if (!ts_num(&s, &h) || *s++ != ':' || !ts_num(&s, &mi) || *s++ != ':' || !ts_num(&s, &se))
        return 0;
    if (h > 23 || mi > 59 || se > 59)
        return 0;
    if ((*s == '.' || *s == ',') && yj_isdigit(s[1]))
        for (s++; yj_isdigit(*s); s++)
            ;
    if (sep == ' ')
        return *s == '\0';
    if (*s == 'Z')
        return s[1] == '\0';
    return (*s == '+' || *s == '-') && yj_isdigit(s[1]) && yj_isdigit(s[2]) && s[3] == ':' &&
           yj_isdigit(s[4]) && yj_isdigit(s[5]) && s[6] == '\0';
}

/* go-yaml's parseTimestamp(): the layouts "2006-1-2T15:4:5.999999999Z07:00"
   (also with 't'), "2006-1-2 15:4:5.999999999" and "2006-1-2". Only decides
   whether !!timestamp accepts a value; timestamps always stay strings. */
static int yj_is_timestamp(const char *s)
{
    int y = 0, mo, d, i;
    char sep;

    for (i = 0; i < 4; i++) {
        if (!yj_isdigit(s[i]))
            return 0;
        y = y * 10 + (s[i] - '0');
    }
    s += 4;
    if (*s++ != '-' || !ts_num(&s, &mo) || *s++ != '-' || !ts_num(&s, &d))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in(mo, y))
        return 0;
    if (!*s)
        return 1;
    sep = *s++;
    return (sep == 'T' || sep == 't' || sep == ' ') && ts_time(s, sep);
}

/* Digits and signs: int, then uint64, then float, else a string.
   (go-yaml's extra "0b"/"-0b" fallbacks are covered by ParseInt already.) */
static void resolve_number(const char *s, int want_ts, struct yval *v)
{
    char *plain;

    if (want_ts && yj_is_timestamp(s)) {
        v->kind = YV_TS;
        return;
    }
    plain = strip_underscores(s);
    if (go_parse_int(plain, &v->i) == 0)
        v->kind = YV_INT;
    else if (go_parse_uint(plain, &v->u) == 0)
        v->kind = YV_UINT;
    else if (yaml_style_float(plain) && go_parse_float(plain, &v->f) == 0)
        v->kind = YV_FLOAT;
    free(plain);
}

/* A plain scalar starting with '.': strconv.ParseFloat(in) as is. */
static void resolve_dot_float(const char *s, struct yval *v)
{
    char *plain;

    if (!go_underscore_ok(s))
        return;
    plain = strip_underscores(s);
    if (yaml_style_float(plain) && go_parse_float(plain, &v->f) == 0)
        v->kind = YV_FLOAT;
    free(plain);
}

/* go-yaml v2 resolve() of an untagged plain scalar (or one tagged with a
   resolvable tag other than !!str). */
static void resolve_plain(const char *s, int want_ts, struct yval *v)
{
    char hint = yj_hint(s);

    v->kind = YV_STR;
    if (!hint || resolve_word(s, v))
        return;
    if (hint == '.')
        resolve_dot_float(s, v);
    else if (hint == 'D' || hint == 'S')
        resolve_number(s, want_ts, v);
}

/* Resolve scalar n as go-yaml's decoder does, explicit tags included. */
static int resolve_scalar(struct yj_ctx *c, const struct ynode *n, struct yval *v)
{
    enum yj_tag tag = yj_tag_kind(n->tag), got;

    v->kind = YV_STR;
    if ((!n->tag && !n->plain) || tag == YT_STR || tag == YT_MERGE || tag == YT_OTHER)
        return 0;
    if (tag == YT_BINARY)
        return yj_fail(c, n, "!!binary values are not supported");
    resolve_plain(n->value, tag == YT_TS, v);
    got = yv_tag(v->kind);
    if (tag == YT_NONE || tag == got)
        return 0;
    if (tag == YT_FLOAT && v->kind == YV_INT) {
        v->kind = YV_FLOAT;
        v->f = (double)v->i;
        return 0;
    }
    return yj_fail(c, n, "cannot decode %s `%s` as a %s", yj_tag_name(got), n->value,
                   yj_tag_name(tag));
}

/* ---- map keys (sigs.k8s.io/yaml convertToJSONableObject) ---- */

/* Go's strconv.FormatFloat(d, 'g', -1, 32) of the shortest digits dig[0..nd)
   with decimal exponent exp10: %e form below 1e-4 and from 1e6 up. */
static void fmt_go_g(struct sbuf *sb, const char *dig, size_t nd, int exp10)
{
    int dp = exp10 + 1, i;

    if (exp10 < -4 || exp10 >= 6) {
        sb_putc(sb, dig[0]);
        if (nd > 1) {
            sb_putc(sb, '.');
            sb_add(sb, dig + 1, nd - 1);
        }
        sb_printf(sb, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (dp <= 0) {
        sb_puts(sb, "0.");
        for (i = dp; i < 0; i++)
            sb_putc(sb, '0');
        sb_add(sb, dig, nd);
    } else if ((size_t)dp >= nd) {
        sb_add(sb, dig, nd);
        for (i = (int)nd; i < dp; i++)
            sb_putc(sb, '0');
    } else {
        sb_add(sb, dig, (size_t)dp);
        sb_putc(sb, '.');
        sb_add(sb, dig + dp, nd - (size_t)dp);
    }
}

/* A float key as sigs.k8s.io/yaml writes it: FormatFloat(k, 'g', -1, 32),
   with +Inf/-Inf/NaN spelt .inf/-.inf/.nan. */
static char *key_float(double d)
{
    struct sbuf sb = {0};
    char buf[32], dig[16] = "0", *p;
    size_t nd = 0;
    float f;
    int prec;

    if (isnan(d))
        return xstrdup(".nan");
    if (fabs(d) >= (double)FLT_MAX + 0x1p103) /* rounds to float infinity */
        return xstrdup(d > 0 ? ".inf" : "-.inf");
    /* float32(d) as Go rounds it; values just above FLT_MAX round down to it */
    f = fabs(d) > FLT_MAX ? (float)copysign((double)FLT_MAX, d) : (float)d;
    if (f == 0)
        return xstrdup(signbit(f) ? "-0" : "0");
    for (prec = 1;; prec++) { /* shortest digits that read back as f */
        snprintf(buf, sizeof buf, "%.*e", prec - 1, (double)f);
        if (prec >= 9 || strtof(buf, NULL) == f)
            break;
    }
    if (f < 0)
        sb_putc(&sb, '-');
    for (p = buf + (f < 0); *p != 'e'; p++)
        if (yj_isdigit(*p))
            dig[nd++] = *p;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    nd += nd == 0;
    fmt_go_g(&sb, dig, nd, (int)strtol(p + 1, NULL, 10));
    return sb_detach(&sb);
}

static const struct ynode *yj_deref(const struct ynode *n)
{
    return n->kind == YJ_ALIAS ? n->target : n;
}

/* The JSON member name for key node kn, or an error for keys JSON cannot
   hold (null, uint64, collections). *out is the caller's to free. */
static int key_string(struct yj_ctx *c, const struct ynode *kn, char **out)
{
    const struct ynode *t = yj_deref(kn);
    struct yval v;

    *out = NULL;
    if (t->kind != YJ_SCALAR)
        return yj_fail(c, kn, "invalid map key: a %s cannot be a key",
                       t->kind == YJ_MAP ? "mapping" : "sequence");
    if (resolve_scalar(c, t, &v))
        return -1;
    switch (v.kind) {
    case YV_NULL:
        return yj_fail(c, kn, "unsupported map key of type: null");
    case YV_UINT:
        return yj_fail(c, kn, "unsupported map key of type: uint64 (%" PRIu64 ")", v.u);
    case YV_BOOL:
        *out = xstrdup(v.i ? "true" : "false");
        break;
    case YV_INT:
        *out = xasprintf("%" PRId64, v.i);
        break;
    case YV_FLOAT:
        *out = key_float(v.f);
        break;
    default:
        *out = xstrdup(t->value);
    }
    return 0;
}

/* ---- conversion to cJSON ---- */

static cJSON *conv_node(struct yj_ctx *c, const struct ynode *n, size_t depth);

/* Count n as a copy when converting under an alias; fails once the stream's
   budget is spent, before anything is allocated for n. */
static int yj_count(struct yj_ctx *c, const struct ynode *n)
{
    if (!c->via || ++c->copied <= c->max_alias)
        return 0;
    return yj_fail(c, n, "alias expansion exceeds %zu nodes", c->max_alias);
}

/* Append item to array parent, or as member key of object parent. */
static void jadd(cJSON *parent, const char *key, cJSON *item)
{
    cJSON_bool ok =
        key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);

    if (!ok)
        jcheck(NULL);
}

static void stash_pos(cJSON *j, const struct ynode *n)
{
    j->valueint = n->line;
    j->valuedouble = n->col;
}

static cJSON *conv_float(struct yj_ctx *c, const struct ynode *n, double f)
{
    if (isnan(f) || isinf(f)) {
        yj_fail(c, n, "json: unsupported value: %s", isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf");
        return NULL;
    }
    return jcheck(cJSON_CreateNumber(f));
}

/* Integers become doubles: exact up to 2^53 only (see the top comment). */
static cJSON *conv_scalar(struct yj_ctx *c, const struct ynode *n)
{
    struct yval v;

    if (resolve_scalar(c, n, &v))
        return NULL;
    switch (v.kind) {
    case YV_NULL:
        return jcheck(cJSON_CreateNull());
    case YV_BOOL:
        return jcheck(cJSON_CreateBool(v.i != 0));
    case YV_INT:
        return jcheck(cJSON_CreateNumber((double)v.i));
    case YV_UINT:
        return jcheck(cJSON_CreateNumber((double)v.u));
    case YV_FLOAT:
        return conv_float(c, n, v.f);
    default:
        return jcheck(cJSON_CreateString(n->value));
    }
}

static int depth_ok(struct yj_ctx *c, const struct ynode *n, size_t depth)
{
    if (depth < c->max_depth)
        return 1;
    yj_fail(c, n, "nesting depth exceeds %zu", c->max_depth);
    return 0;
}

static cJSON *conv_seq(struct yj_ctx *c, const struct ynode *n, size_t depth)
{
    cJSON *arr = NULL, *item;
    size_t i;

    if (!depth_ok(c, n, depth))
        goto out;
    arr = jcheck(cJSON_CreateArray());
    stash_pos(arr, n);
    for (i = 0; i < n->nkid; i++) {
        item = conv_node(c, n->kid[i], depth + 1);
        if (!item) {
            cJSON_Delete(arr);
            arr = NULL;
            goto out;
        }
        jadd(arr, NULL, item);
    }
out:
    return arr;
}

/* A member candidate of a mapping being built. */
struct yj_entry {
    char *key;
    cJSON *val;
    const struct ynode *at; /* key node, for messages */
    size_t prio;            /* 0 explicit; merge sources 1, 2, ... (lower wins) */
    size_t seq;             /* position among the candidates */
    int win;
};

struct yj_entries {
    struct yj_entry *v;
    size_t len, alloc;
    size_t prio; /* last merge priority handed out */
};

static void ent_push(struct yj_entries *e, char *key, cJSON *val, const struct ynode *at,
                     size_t prio)
{
    struct yj_entry *x;

    if (e->len == e->alloc) {
        e->alloc = e->alloc ? e->alloc * 2 : 8;
        e->v = xrealloc(e->v, e->alloc * sizeof(*e->v));
    }
    x = &e->v[e->len];
    x->key = key;
    x->val = val;
    x->at = at;
    x->prio = prio;
    x->seq = e->len++;
    x->win = 0;
}

static void ent_release(struct yj_entries *e)
{
    size_t i;

    for (i = 0; i < e->len; i++) {
        free(e->v[i].key);
        cJSON_Delete(e->v[i].val);
    }
    free(e->v);
}

static int ent_cmp(const void *a, const void *b)
{
    const struct yj_entry *x = *(const struct yj_entry *const *)a;
    const struct yj_entry *y = *(const struct yj_entry *const *)b;
    int r = strcmp(x->key, y->key);

    if (r)
        return r;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int map_pair(struct yj_ctx *c, struct yj_entries *e, const struct ynode *k,
                    const struct ynode *v, size_t depth)
{
    char *key = NULL;
    cJSON *val;
    int rc = -1;

    if (yj_count(c, k) || key_string(c, k, &key))
        goto out;
    val = conv_node(c, v, depth + 1);
    if (!val)
        goto out;
    ent_push(e, key, val, k, 0);
    key = NULL;
    rc = 0;
out:
    free(key);
    return rc;
}

/* Add the members of merge source src (a mapping, or an alias of one) as
   candidates of the next, lower priority. */
static int merge_one(struct yj_ctx *c, struct yj_entries *e, const struct ynode *src, size_t depth)
{
    cJSON *obj = conv_node(c, src, depth), *kid;
    size_t prio = ++e->prio;

    if (!obj)
        return -1;
    while ((kid = obj->child) != NULL) {
        cJSON_DetachItemViaPointer(obj, kid);
        ent_push(e, xstrdup(kid->string), kid, src, prio);
    }
    cJSON_Delete(obj);
    return 0;
}

/* "<<: v": v is a mapping, an alias of one, or a sequence of those (earlier
   ones take precedence), as go-yaml v2's decoder.merge() accepts. */
static int map_merge(struct yj_ctx *c, struct yj_entries *e, const struct ynode *v, size_t depth)
{
    static const char want[] = "map merge requires map or sequence of maps as the value";
    size_t i;

    if (yj_deref(v)->kind == YJ_MAP)
        return merge_one(c, e, v, depth);
    if (v->kind != YJ_SEQ)
        return yj_fail(c, v, "%s", want);
    if (yj_count(c, v))
        return -1;
    for (i = 0; i < v->nkid; i++)
        if (yj_deref(v->kid[i])->kind != YJ_MAP)
            return yj_fail(c, v->kid[i], "%s", want);
    for (i = 0; i < v->nkid; i++)
        if (merge_one(c, e, v->kid[i], depth))
            return -1;
    return 0;
}

static int dup_key(struct yj_ctx *c, const struct yj_entry *dup, const struct yj_entry *first)
{
    struct sbuf q = {0};

    sb_goquote(&q, dup->key);
    yj_fail(c, dup->at, "mapping key %s already defined at line %d", q.buf, first->at->line);
    sb_release(&q);
    return -1;
}

/* Pick one candidate per key (explicit first, then merge sources in
   precedence order), reject explicit duplicates, and move the winners into
   obj in candidate order. O(n log n) in the number of candidates. */
static int map_settle(struct yj_ctx *c, struct yj_entries *e, cJSON *obj)
{
    struct yj_entry **idx = xmalloc(e->len * sizeof(*idx));
    const struct yj_entry *dup = NULL, *first = NULL;
    size_t i, r;
    int rc = -1;

    for (i = 0; i < e->len; i++)
        idx[i] = &e->v[i];
    qsort(idx, e->len, sizeof(*idx), ent_cmp);
    for (i = 0; i < e->len; i = r) {
        idx[i]->win = 1;
        for (r = i + 1; r < e->len && strcmp(idx[r]->key, idx[i]->key) == 0; r++) {
            if (idx[r]->prio == 0 && (!dup || idx[r]->seq < dup->seq)) {
                dup = idx[r];
                first = idx[i];
            }
        }
    }
    if (dup) {
        dup_key(c, dup, first);
        goto out;
    }
    for (i = 0; i < e->len; i++) {
        if (e->v[i].win) {
            jadd(obj, e->v[i].key, e->v[i].val);
            e->v[i].val = NULL;
        }
    }
    rc = 0;
out:
    free(idx);
    return rc;
}

static int yj_is_merge(const struct ynode *k)
{
    return k->kind == YJ_SCALAR && strcmp(k->value, "<<") == 0 &&
           (k->plain || yj_tag_kind(k->tag) == YT_MERGE);
}

static cJSON *conv_map(struct yj_ctx *c, const struct ynode *n, size_t depth)
{
    struct yj_entries e = {0};
    cJSON *obj = NULL;
    size_t i;
    int rc = 0;

    if (!depth_ok(c, n, depth))
        goto out;
    for (i = 0; rc == 0 && i + 1 < n->nkid; i += 2) {
        if (yj_is_merge(n->kid[i]))
            rc = map_merge(c, &e, n->kid[i + 1], depth);
        else
            rc = map_pair(c, &e, n->kid[i], n->kid[i + 1], depth);
    }
    if (rc)
        goto out;
    obj = jcheck(cJSON_CreateObject());
    stash_pos(obj, n);
    if (map_settle(c, &e, obj)) {
        cJSON_Delete(obj);
        obj = NULL;
    }
out:
    ent_release(&e);
    return obj;
}

/* Convert n at nesting depth `depth` (collections enclosing it). NULL on
   error, with the message recorded. */
static cJSON *conv_node(struct yj_ctx *c, const struct ynode *n, size_t depth)
{
    const struct ynode *saved = c->via;
    cJSON *j = NULL;

    if (n->kind == YJ_ALIAS) {
        if (!c->via)
            c->via = n;
        j = conv_node(c, n->target, depth);
        c->via = saved;
        return j;
    }
    if (yj_count(c, n))
        return NULL;
    if (n->kind == YJ_SCALAR)
        return conv_scalar(c, n);
    if (n->kind == YJ_SEQ)
        return conv_seq(c, n, depth);
    return conv_map(c, n, depth);
}

/* ---- positions ---- */

static void doc_collect(struct yamlj_doc *d, size_t *alloc, cJSON *j)
{
    struct yamlj_pos *p;
    cJSON *kid;

    if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
        return;
    if (d->npos == *alloc) {
        *alloc = *alloc ? *alloc * 2 : 16;
        d->pos = xrealloc(d->pos, *alloc * sizeof(*d->pos));
    }
    p = &d->pos[d->npos++];
    p->node = j;
    p->line = j->valueint;
    p->col = (int)j->valuedouble;
    j->valueint = 0;
    j->valuedouble = 0;
    cJSON_ArrayForEach(kid, j) {
        doc_collect(d, alloc, kid);
    }
}

static int pos_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct yamlj_pos *)a)->node;
    uintptr_t y = (uintptr_t)((const struct yamlj_pos *)b)->node;

    return (x > y) - (x < y);
}

int yamlj_line_of(const struct yamlj_doc *doc, const cJSON *node)
{
    struct yamlj_pos key = {node, 0, 0};
    const struct yamlj_pos *p = NULL;

    if (node && doc->npos)
        p = bsearch(&key, doc->pos, doc->npos, sizeof(*doc->pos), pos_cmp);
    return p ? p->line : doc->line;
}

/* ---- loading: libyaml events to a ynode tree ---- */

static void ynode_free(struct ynode *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->nkid; i++)
        ynode_free(n->kid[i]);
    free(n->kid);
    free(n->tag);
    free(n->value);
    free(n);
}

static struct ynode *ynode_new(enum yj_kind kind, const yaml_mark_t *m, const yaml_char_t *tag)
{
    struct ynode *n = xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->line = mark_num(m->line);
    n->col = mark_num(m->column);
    n->tag = tag ? xstrdup((const char *)tag) : NULL;
    return n;
}

static size_t anchor_hash(const char *s)
{
    uint64_t h = 14695981039346656037u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

/* The slot holding name, or the free slot where it belongs (cap > 0). */
static struct yj_anchor *anchor_slot(const struct yj_anchors *a, const char *name)
{
    size_t i = anchor_hash(name) & (a->cap - 1);

    while (a->slot[i].name && strcmp(a->slot[i].name, name) != 0)
        i = (i + 1) & (a->cap - 1);
    return &a->slot[i];
}

static void anchor_grow(struct yj_anchors *a)
{
    struct yj_anchors b = {0};
    size_t i;

    b.cap = a->cap ? a->cap * 2 : 16;
    b.slot = xcalloc(b.cap, sizeof(*b.slot));
    for (i = 0; i < a->cap; i++)
        if (a->slot[i].name)
            *anchor_slot(&b, a->slot[i].name) = a->slot[i];
    b.len = a->len;
    free(a->slot);
    *a = b;
}

static void anchor_put(struct yj_anchors *a, const char *name, struct ynode *n)
{
    struct yj_anchor *s;

    if ((a->len + 1) * 2 > a->cap)
        anchor_grow(a);
    s = anchor_slot(a, name);
    if (!s->name) {
        s->name = xstrdup(name);
        a->len++;
    }
    s->node = n;
}

static struct ynode *anchor_get(const struct yj_anchors *a, const char *name)
{
    const struct yj_anchor *s;

    if (!a->cap)
        return NULL;
    s = anchor_slot(a, name);
    return s->name ? s->node : NULL;
}

static void anchor_release(struct yj_anchors *a)
{
    size_t i;

    for (i = 0; i < a->cap; i++)
        free(a->slot[i].name);
    free(a->slot);
    memset(a, 0, sizeof(*a));
}

/* Hang n under the innermost open collection (or make it the root) and
   register its anchor. The tree owns n from here on; on error n is freed. */
static int ld_attach(struct yj_ctx *c, struct ynode *n, const yaml_char_t *anchor)
{
    struct ynode *parent;

    if (c->nstack == 0) {
        if (c->root) { /* libyaml emits one root per document: never happens */
            yj_fail_lc(c, n->line, n->col, "unexpected second root node");
            ynode_free(n);
            return -1;
        }
        c->root = n;
    } else {
        parent = c->stack[c->nstack - 1];
        if (parent->nkid == parent->akid) {
            parent->akid = parent->akid ? parent->akid * 2 : 4;
            parent->kid = xrealloc(parent->kid, parent->akid * sizeof(*parent->kid));
        }
        parent->kid[parent->nkid++] = n;
    }
    if (anchor)
        anchor_put(&c->anchors, (const char *)anchor, n);
    return 0;
}

static int ld_scalar(struct yj_ctx *c, const yaml_event_t *ev)
{
    const char *val = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    struct ynode *n;

    if (memchr(val, '\0', len))
        return yj_fail_lc(c, mark_num(ev->start_mark.line), mark_num(ev->start_mark.column),
                          "NUL character in a scalar is not supported");
    n = ynode_new(YJ_SCALAR, &ev->start_mark, ev->data.scalar.tag);
    n->value = xstrndup(val, len);
    n->plain = ev->data.scalar.plain_implicit;
    return ld_attach(c, n, ev->data.scalar.anchor);
}

static int ld_open(struct yj_ctx *c, const yaml_event_t *ev)
{
    int seq = ev->type == YAML_SEQUENCE_START_EVENT;
    const yaml_char_t *anchor =
        seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
    const yaml_char_t *tag = seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
    struct ynode *n;

    if (c->nstack >= c->max_depth)
        return yj_fail_lc(c, mark_num(ev->start_mark.line), mark_num(ev->start_mark.column),
                          "nesting depth exceeds %zu", c->max_depth);
    n = ynode_new(seq ? YJ_SEQ : YJ_MAP, &ev->start_mark, tag);
    n->open = 1;
    if (ld_attach(c, n, anchor))
        return -1;
    if (c->nstack == c->astack) {
        c->astack = c->astack ? c->astack * 2 : 16;
        c->stack = xrealloc(c->stack, c->astack * sizeof(*c->stack));
    }
    c->stack[c->nstack++] = n;
    return 0;
}

static int ld_alias(struct yj_ctx *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    int line = mark_num(ev->start_mark.line), col = mark_num(ev->start_mark.column);
    struct ynode *t = anchor_get(&c->anchors, name), *n;

    if (!t)
        return yj_fail_lc(c, line, col, "unknown anchor '%s' referenced", name);
    if (t->open)
        return yj_fail_lc(c, line, col, "anchor '%s' value contains itself", name);
    n = ynode_new(YJ_ALIAS, &ev->start_mark, NULL);
    n->value = xstrdup(name);
    n->target = t;
    return ld_attach(c, n, NULL);
}

/* Forget the document being loaded. */
static void ld_reset(struct yj_ctx *c)
{
    ynode_free(c->root);
    c->root = NULL;
    c->nstack = 0;
    anchor_release(&c->anchors);
}

/* Convert the loaded document and append it to the stream unless null. */
static int ld_doc_end(struct yj_ctx *c)
{
    struct yamlj_stream *out = c->out;
    struct yamlj_doc *d;
    size_t alloc = 0;
    cJSON *j = NULL;
    int rc = -1;

    c->via = NULL;
    if (c->root && !(j = conv_node(c, c->root, 0)))
        goto out;
    rc = 0;
    if (!j || cJSON_IsNull(j))
        goto out;
    if (out->len == c->doc_alloc) {
        c->doc_alloc = c->doc_alloc ? c->doc_alloc * 2 : 4;
        out->doc = xrealloc(out->doc, c->doc_alloc * sizeof(*out->doc));
    }
    d = &out->doc[out->len++];
    memset(d, 0, sizeof(*d));
    d->json = j;
    j = NULL;
    d->line = c->root->line;
    d->col = c->root->col;
    doc_collect(d, &alloc, d->json);
    if (d->npos)
        qsort(d->pos, d->npos, sizeof(*d->pos), pos_cmp);
out:
    cJSON_Delete(j);
    ld_reset(c);
    return rc;
}

static int ld_event(struct yj_ctx *c, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return ld_scalar(c, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return ld_open(c, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (c->nstack)
            c->stack[--c->nstack]->open = 0;
        return 0;
    case YAML_ALIAS_EVENT:
        return ld_alias(c, ev);
    case YAML_DOCUMENT_END_EVENT:
        return ld_doc_end(c);
    default:
        return 0;
    }
}

/* Line and column of byte offset off, counting characters as libyaml does. */
static void offset_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
    size_t i;

    *line = *col = 1;
    for (i = 0; i < off && i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];

        if (ch == '\n' || (ch == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
            *line += *line < INT_MAX;
            *col = 1;
        } else if ((ch & 0xC0) != 0x80 && ch != '\r') {
            *col += *col < INT_MAX;
        }
    }
}

static int parse_error(struct yj_ctx *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown problem parsing YAML content";
    int line, col;

    if (p->error == YAML_READER_ERROR) {
        offset_pos(c->buf, c->len, p->problem_offset, &line, &col);
    } else {
        line = mark_num(p->problem_mark.line);
        col = mark_num(p->problem_mark.column);
    }
    if (p->error == YAML_MEMORY_ERROR)
        problem = "out of memory";
    return yj_fail_lc(c, line, col, "%s", problem);
}

static int ld_run(struct yj_ctx *c, yaml_parser_t *p)
{
    yaml_event_t ev;
    int rc = 0, done = 0;

    while (!rc && !done) {
        if (!yaml_parser_parse(p, &ev))
            return parse_error(c, p);
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = ld_event(c, &ev);
        yaml_event_delete(&ev);
    }
    return rc;
}

int yamlj_parse(const char *buf, size_t len, const struct yamlj_opts *opts,
                struct yamlj_stream *out, char *err, size_t errlen)
{
    struct yj_ctx c = {0};
    yaml_parser_t p;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    c.max_depth = opts && opts->max_depth ? opts->max_depth : YAMLJ_MAX_DEPTH_DEFAULT;
    if (c.max_depth > YJ_DEPTH_LIMIT)
        c.max_depth = YJ_DEPTH_LIMIT;
    c.max_alias =
        opts && opts->max_alias_nodes ? opts->max_alias_nodes : YAMLJ_MAX_ALIAS_NODES_DEFAULT;
    c.buf = buf ? buf : "";
    c.len = buf ? len : 0;
    c.err = err;
    c.errlen = errlen;
    c.out = out;
    if (!yaml_parser_initialize(&p)) {
        yj_fail_lc(&c, 1, 1, "out of memory");
        goto out;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c.buf, c.len);
    rc = ld_run(&c, &p);
    yaml_parser_delete(&p);
out:
    ld_reset(&c);
    free(c.stack);
    if (rc)
        yamlj_stream_release(out);
    return rc;
}

void yamlj_stream_release(struct yamlj_stream *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->len; i++) {
        cJSON_Delete(s->doc[i].json);
        free(s->doc[i].pos);
    }
    free(s->doc);
    s->doc = NULL;
    s->len = 0;
}

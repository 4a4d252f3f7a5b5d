/*
 * CEL rules of HTTPRoute from HR-33 on (request mirror, path modifiers,
 * path matches, timeouts) and the experimental-channel additions HR-XA*
 * (port-aware parentRefs, rule names, externalAuth, sessionPersistence).
 * Several of them are shared with GRPCRoute, TLSRoute, TCPRoute, UDPRoute.
 *
 * Errors follow CEL (§1.5): reading an absent field is "no such key: X";
 * && / || let the operand that decides absorb an error from the other one,
 * and the first (leftmost, earliest element) error is the one reported.
 */
#include <stdio.h>
#include <string.h>

#include "cel.h"

/* ---- shared helpers ---- */

/* CEL &&: false decides, else an error, else true. */
static enum cel_result and3(enum cel_result a, enum cel_result b)
{
    if (a == CEL_FALSE || b == CEL_FALSE)
        return CEL_FALSE;
    if (a == CEL_ERROR || b == CEL_ERROR)
        return CEL_ERROR;
    return CEL_TRUE;
}

static enum cel_result tv(int b)
{
    return b ? CEL_TRUE : CEL_FALSE;
}

/* o.k that must exist; keeps the first error message of the evaluation. */
static const cJSON *need_first(struct cel_ctx *c, const cJSON *o, const char *k)
{
    const cJSON *v = cel_get(o, k);

    if (!v && !c->err[0])
        (void)cel_need(c, o, k);
    return v;
}

/* self.k == lit for a field that must exist (CEL_ERROR when absent). */
static enum cel_result self_is(struct cel_ctx *c, const char *k, const char *lit)
{
    if (!need_first(c, c->self, k))
        return CEL_ERROR;
    return tv(cel_str_eq(c->self, k, lit));
}

/*
 * self.tkey == t ? has(self.f) : true. With 'absorb' the rule is written as
 * an || (or a negated &&) in which a present f decides even if tkey errors.
 */
static enum cel_result type_needs_field(struct cel_ctx *c, const char *tkey, const char *t,
                                        const char *f, int absorb)
{
    enum cel_result r;

    c->err[0] = '\0';
    if (absorb && cel_has(c->self, f))
        return CEL_TRUE;
    r = self_is(c, tkey, t);
    if (r != CEL_TRUE)
        return r == CEL_FALSE ? CEL_TRUE : CEL_ERROR;
    return tv(cel_has(c->self, f));
}

/* has(self.f) ? self.tkey == t : true (also !has(f) || tkey == t). */
static enum cel_result field_needs_type(struct cel_ctx *c, const char *f, const char *tkey,
                                        const char *t)
{
    c->err[0] = '\0';
    if (!cel_has(c->self, f))
        return CEL_TRUE;
    return self_is(c, tkey, t);
}

/* ---- requestMirror ---- */

/* HR-33: percent and fraction are mutually exclusive. */
static enum cel_result hr33(struct cel_ctx *c)
{
    return tv(!(cel_has(c->self, "percent") && cel_has(c->self, "fraction")));
}

/* HR-34: a mirror fraction may not exceed 1 (numerator <= denominator). */
static enum cel_result hr34(struct cel_ctx *c)
{
    const cJSON *n, *d;

    c->err[0] = '\0';
    n = need_first(c, c->self, "numerator");
    d = need_first(c, c->self, "denominator");
    if (!n || !d)
        return CEL_ERROR;
    return tv(n->valuedouble <= d->valuedouble);
}

/* ---- requestRedirect / urlRewrite path modifier ---- */

/* HR-35: type ReplaceFullPath needs replaceFullPath. */
static enum cel_result hr35(struct cel_ctx *c)
{
    return type_needs_field(c, "type", "ReplaceFullPath", "replaceFullPath", 0);
}

/* HR-36: replaceFullPath only goes with type ReplaceFullPath. */
static enum cel_result hr36(struct cel_ctx *c)
{
    return field_needs_type(c, "replaceFullPath", "type", "ReplaceFullPath");
}

/* HR-37: type ReplacePrefixMatch needs replacePrefixMatch. */
static enum cel_result hr37(struct cel_ctx *c)
{
    return type_needs_field(c, "type", "ReplacePrefixMatch", "replacePrefixMatch", 0);
}

/* HR-38: replacePrefixMatch only goes with type ReplacePrefixMatch. */
static enum cel_result hr38(struct cel_ctx *c)
{
    return field_needs_type(c, "replacePrefixMatch", "type", "ReplacePrefixMatch");
}

/* ---- matches[].path ---- */

enum path_op { PATH_STARTS, PATH_NO_SUBSTR, PATH_NO_SUFFIX, PATH_CHARS };

/* For Exact / PathPrefix matches, apply op with lit to self.value; other types pass. */
static enum cel_result path_value_rule(struct cel_ctx *c, enum path_op op, const char *lit)
{
    const cJSON *v;
    const char *s;
    size_t n, l = strlen(lit);

    c->err[0] = '\0';
    if (!need_first(c, c->self, "type"))
        return CEL_ERROR;
    if (!cel_str_eq(c->self, "type", "Exact") && !cel_str_eq(c->self, "type", "PathPrefix"))
        return CEL_TRUE;
    v = need_first(c, c->self, "value");
    if (!v)
        return CEL_ERROR;
    s = cJSON_IsString(v) ? v->valuestring : "";
    n = strlen(s);
    switch (op) {
    case PATH_STARTS:
        return tv(!strncmp(s, lit, l));
    case PATH_NO_SUBSTR:
        return tv(!strstr(s, lit));
    case PATH_NO_SUFFIX:
        return tv(n < l || strcmp(s + n - l, lit) != 0);
    case PATH_CHARS:
        return tv(rx_search(RX_CEL_HTTP_PATH, s));
    }
    return CEL_ERROR;
}

/* HR-39: an Exact/PathPrefix value is absolute (starts with '/'). */
static enum cel_result hr39(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_STARTS, "/");
}

/* HR-40: no empty segment ("//") in an Exact/PathPrefix value. */
static enum cel_result hr40(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUBSTR, "//");
}

/* HR-41: no "/./" segment in an Exact/PathPrefix value. */
static enum cel_result hr41(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUBSTR, "/./");
}

/* HR-42: no "/../" segment in an Exact/PathPrefix value. */
static enum cel_result hr42(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUBSTR, "/../");
}

/* HR-43: no lower-case encoded slash in an Exact/PathPrefix value. */
static enum cel_result hr43(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUBSTR, "%2f");
}

/* HR-44: no upper-case encoded slash in an Exact/PathPrefix value. */
static enum cel_result hr44(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUBSTR, "%2F");
}

/* HR-45: no fragment marker in an Exact/PathPrefix value. */
static enum cel_result hr45(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUBSTR, "#");
}

/* HR-46: an Exact/PathPrefix value does not end in "/..". */
static enum cel_result hr46(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUFFIX, "/..");
}

/* HR-47: an Exact/PathPrefix value does not end in "/.". */
static enum cel_result hr47(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_NO_SUFFIX, "/.");
}

/* HR-48: the match type is Exact, PathPrefix or RegularExpression. */
static enum cel_result hr48(struct cel_ctx *c)
{
    enum cel_result r;

    c->err[0] = '\0';
    r = self_is(c, "type", "Exact");
    if (r == CEL_ERROR)
        return CEL_ERROR; /* both sides of || read the same absent field */
    return tv(r == CEL_TRUE || cel_str_eq(c->self, "type", "PathPrefix") ||
              cel_str_eq(c->self, "type", "RegularExpression"));
}

/* HR-49: an Exact/PathPrefix value uses only URI path characters. */
static enum cel_result hr49(struct cel_ctx *c)
{
    return path_value_rule(c, PATH_CHARS, "");
}

/* ---- timeouts ---- */

/* duration(self.k) as nanoseconds; CEL_ERROR when it is no Go duration. */
static enum cel_result self_duration(struct cel_ctx *c, const char *k, long double *ns)
{
    const char *s = cel_str(c->self, k);

    if (s && cel_duration(s, ns) == 0)
        return CEL_TRUE;
    if (!c->err[0])
        snprintf(c->err, sizeof(c->err), "%s",
                 "type conversion error from 'string' to 'google.protobuf.Duration'");
    return CEL_ERROR;
}

/* HR-50: a non-zero request timeout bounds the backendRequest timeout. */
static enum cel_result hr50(struct cel_ctx *c)
{
    long double req = 0, be = 0;
    enum cel_result dr, db, r;

    c->err[0] = '\0';
    if (!cel_has(c->self, "request") || !cel_has(c->self, "backendRequest"))
        return CEL_TRUE;
    dr = self_duration(c, "request", &req);
    db = self_duration(c, "backendRequest", &be);
    /* duration(request) != 0s && duration(backendRequest) > duration(request) */
    r = and3(dr == CEL_TRUE ? tv(req != 0) : CEL_ERROR,
             dr == CEL_TRUE && db == CEL_TRUE ? tv(be > req) : CEL_ERROR);
    if (r == CEL_ERROR)
        return CEL_ERROR;
    return r == CEL_TRUE ? CEL_FALSE : CEL_TRUE;
}

/* ---- parentRefs (port-aware, experimental) ---- */

/* !has(o.k) || o.k == '' (strings) / o.k == 0 (port). */
static int blank(const cJSON *o, const char *k)
{
    const cJSON *v = cel_get(o, k);

    return !v || (cJSON_IsString(v) && !v->valuestring[0]) ||
           (cJSON_IsNumber(v) && v->valuedouble == 0);
}

/* Both blank, or both set and equal. */
static int same_or_blank(const cJSON *a, const cJSON *b, const char *k)
{
    if (blank(a, k) && blank(b, k))
        return 1;
    return cel_has(a, k) && cel_has(b, k) && cel_equal(cel_get(a, k), cel_get(b, k));
}

/* a.k == b.k for a field both must have. */
static enum cel_result field_eq(struct cel_ctx *c, const cJSON *a, const cJSON *b, const char *k)
{
    const cJSON *x = need_first(c, a, k), *y = need_first(c, b, k);

    if (!x || !y)
        return CEL_ERROR;
    return tv(cel_equal(x, y));
}

/* a and b name the same parent: group, kind, name and namespace agree. */
static enum cel_result same_parent(struct cel_ctx *c, const cJSON *a, const cJSON *b)
{
    enum cel_result r = field_eq(c, a, b, "group"); /* left to right: first error wins */

    r = and3(r, field_eq(c, a, b, "kind"));
    r = and3(r, field_eq(c, a, b, "name"));
    return and3(r, tv(same_or_blank(a, b, "namespace")));
}

/* HR-XA1 predicate: same parent => both or neither set sectionName, and port. */
static enum cel_result refs_both_or_neither(struct cel_ctx *c, const cJSON *a, const cJSON *b)
{
    enum cel_result r = same_parent(c, a, b);

    if (r != CEL_TRUE)
        return r == CEL_FALSE ? CEL_TRUE : CEL_ERROR;
    return tv(blank(a, "sectionName") == blank(b, "sectionName") &&
              blank(a, "port") == blank(b, "port"));
}

/* HR-XA2 predicate: same parent, same sectionName and same port. */
static enum cel_result refs_identical(struct cel_ctx *c, const cJSON *a, const cJSON *b)
{
    return and3(same_parent(c, a, b),
                tv(same_or_blank(a, b, "sectionName") && same_or_blank(a, b, "port")));
}

/*
 * self.all(a, self.all(b, pred)) or, with 'one', self.all(a,
 * self.exists_one(b, pred)). An error survives unless a false decides.
 */
static enum cel_result pairs(struct cel_ctx *c, int one,
                             enum cel_result (*pred)(struct cel_ctx *, const cJSON *,
                                                     const cJSON *))
{
    const cJSON *a, *b;
    enum cel_result acc = CEL_TRUE;

    c->err[0] = '\0';
    cJSON_ArrayForEach(a, c->self) {
        enum cel_result inner = CEL_TRUE;
        int hits = 0;

        cJSON_ArrayForEach(b, c->self) {
            int clean = !c->err[0];
            enum cel_result r = pred(c, a, b);

            if (r != CEL_ERROR && clean)
                c->err[0] = '\0'; /* an error absorbed inside pred is no error */
            hits += r == CEL_TRUE;
            inner = one ? (r == CEL_ERROR ? CEL_ERROR : inner) : and3(inner, r);
        }
        if (one && inner != CEL_ERROR)
            inner = tv(hits == 1);
        acc = and3(acc, inner);
    }
    return acc;
}

/* HR-XA1: references to one parent either all or none give sectionName/port. */
static enum cel_result hr_xa1(struct cel_ctx *c)
{
    return pairs(c, 0, refs_both_or_neither);
}

/* HR-XA2: references to one parent differ in sectionName or port. */
static enum cel_result hr_xa2(struct cel_ctx *c)
{
    return pairs(c, 1, refs_identical);
}

/* ---- rules ---- */

/* HR-XA3: a rule name occurs at most once in the route. */
static enum cel_result hr_xa3(struct cel_ctx *c)
{
    const cJSON *a, *b;

    cJSON_ArrayForEach(a, c->self) {
        int n = 0;

        if (!cel_has(a, "name"))
            continue;
        cJSON_ArrayForEach(b, c->self) {
            n += cel_has(b, "name") && cel_equal(cel_get(a, "name"), cel_get(b, "name"));
        }
        if (n != 1)
            return CEL_FALSE;
    }
    return CEL_TRUE;
}

/* ---- externalAuth filter ---- */

/* HR-XA4: externalAuth is only set on an ExternalAuth filter. */
static enum cel_result hr_xa4(struct cel_ctx *c)
{
    return field_needs_type(c, "externalAuth", "type", "ExternalAuth");
}

/* HR-XA5: an ExternalAuth filter carries externalAuth. */
static enum cel_result hr_xa5(struct cel_ctx *c)
{
    return type_needs_field(c, "type", "ExternalAuth", "externalAuth", 1);
}

/* HR-XA6: protocol GRPC needs the grpc block. */
static enum cel_result hr_xa6(struct cel_ctx *c)
{
    return type_needs_field(c, "protocol", "GRPC", "grpc", 0);
}

/* HR-XA7: the grpc block only goes with protocol GRPC. */
static enum cel_result hr_xa7(struct cel_ctx *c)
{
    return field_needs_type(c, "grpc", "protocol", "GRPC");
}

/* HR-XA8: protocol HTTP needs the http block. */
static enum cel_result hr_xa8(struct cel_ctx *c)
{
    return type_needs_field(c, "protocol", "HTTP", "http", 0);
}

/* HR-XA9: the http block only goes with protocol HTTP. */
static enum cel_result hr_xa9(struct cel_ctx *c)
{
    return field_needs_type(c, "http", "protocol", "HTTP");
}

/* ---- sessionPersistence ---- */

/* HR-XA11: a Permanent cookie needs absoluteTimeout. */
static enum cel_result hr_xa11(struct cel_ctx *c)
{
    const cJSON *cookie = cel_get(c->self, "cookie");

    if (!cookie || !cel_has(cookie, "lifetimeType"))
        return CEL_TRUE;
    return tv(!cel_str_eq(cookie, "lifetimeType", "Permanent") ||
              cel_has(c->self, "absoluteTimeout"));
}

/* HR-XA12: cookie is only set for type Cookie. */
static enum cel_result hr_xa12(struct cel_ctx *c)
{
    return field_needs_type(c, "cookie", "type", "Cookie");
}

/* HR-XA13: type Cookie needs the cookie block. */
static enum cel_result hr_xa13(struct cel_ctx *c)
{
    return type_needs_field(c, "type", "Cookie", "cookie", 1);
}

/* HR-XA14: header is only set for type Header. */
static enum cel_result hr_xa14(struct cel_ctx *c)
{
    return field_needs_type(c, "header", "type", "Header");
}

/* HR-XA15: type Header needs the header block. */
static enum cel_result hr_xa15(struct cel_ctx *c)
{
    return type_needs_field(c, "type", "Header", "header", 1);
}

const struct cel_impl cel_httproute2_impls[] = {
    {"HR-33", hr33},      {"HR-34", hr34},      {"HR-35", hr35},      {"HR-36", hr36},
    {"HR-37", hr37},      {"HR-38", hr38},      {"HR-39", hr39},      {"HR-40", hr40},
    {"HR-41", hr41},      {"HR-42", hr42},      {"HR-43", hr43},      {"HR-44", hr44},
    {"HR-45", hr45},      {"HR-46", hr46},      {"HR-47", hr47},      {"HR-48", hr48},
    {"HR-49", hr49},      {"HR-50", hr50},      {"HR-XA1", hr_xa1},   {"HR-XA2", hr_xa2},
    {"HR-XA3", hr_xa3},   {"HR-XA4", hr_xa4},   {"HR-XA5", hr_xa5},   {"HR-XA6", hr_xa6},
    {"HR-XA7", hr_xa7},   {"HR-XA8", hr_xa8},   {"HR-XA9", hr_xa9},   {"HR-XA11", hr_xa11},
    {"HR-XA12", hr_xa12}, {"HR-XA13", hr_xa13}, {"HR-XA14", hr_xa14}, {"HR-XA15", hr_xa15},
    {NULL, NULL}};

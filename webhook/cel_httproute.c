/*
 * CEL rules HR-1..HR-30 of the route kinds (spec validation.md §3.3, shared
 * with GRPCRoute, TLSRoute, TCPRoute and UDPRoute where the text is the
 * same). Each function answers whether its rule holds for c->self.
 *
 * Three-valued logic: CEL's && and || are commutative over errors (false &&
 * err is false, true || err is true), all() is false as soon as one element
 * is false, exists() true as soon as one is true, while exists_one(),
 * filter() and arithmetic propagate any error. Fields that are required or
 * defaulted are still read through cel_need(), so an object that somehow
 * lacks them yields the evaluation error the apiserver would report.
 */
#include "cel.h"

#include <string.h>

static enum cel_result tri_bool(int b)
{
    return b ? CEL_TRUE : CEL_FALSE;
}

static enum cel_result tri_not(enum cel_result a)
{
    return a == CEL_ERROR ? CEL_ERROR : tri_bool(a == CEL_FALSE);
}

static enum cel_result tri_and(enum cel_result a, enum cel_result b)
{
    if (a == CEL_FALSE || b == CEL_FALSE)
        return CEL_FALSE;
    return a == CEL_ERROR || b == CEL_ERROR ? CEL_ERROR : CEL_TRUE;
}

/* o.k == lit, where o.k must exist. */
static enum cel_result str_is(struct cel_ctx *c, const cJSON *o, const char *k, const char *lit)
{
    const cJSON *v = cel_need(c, o, k);

    if (!v)
        return CEL_ERROR;
    return tri_bool(cJSON_IsString(v) && !strcmp(v->valuestring, lit));
}

/* a.k == b.k, where both must exist. */
static enum cel_result field_eq(struct cel_ctx *c, const cJSON *a, const cJSON *b, const char *k)
{
    const cJSON *va = cel_need(c, a, k), *vb = va ? cel_need(c, b, k) : NULL;

    return va && vb ? tri_bool(cel_equal(va, vb)) : CEL_ERROR;
}

/* ---- parentRefs (HR-1, HR-2) ---- */

/* !has(p.k) || p.k == '' */
static int unset_or_empty(const cJSON *p, const char *k)
{
    const cJSON *v = cel_get(p, k);

    return !v || (cJSON_IsString(v) && !v->valuestring[0]);
}

/* Both unset (or empty), or both set to the same value. */
static int same_optional(const cJSON *p1, const cJSON *p2, const char *k)
{
    if (unset_or_empty(p1, k) && unset_or_empty(p2, k))
        return 1;
    return cel_has(p1, k) && cel_has(p2, k) && cel_equal(cel_get(p1, k), cel_get(p2, k));
}

/* p1 and p2 name the same parent: group, kind, name and namespace agree. */
static enum cel_result same_parent(struct cel_ctx *c, const cJSON *p1, const cJSON *p2)
{
    enum cel_result r = field_eq(c, p1, p2, "group");

    r = tri_and(r, field_eq(c, p1, p2, "kind"));
    r = tri_and(r, field_eq(c, p1, p2, "name"));
    return tri_and(r, tri_bool(same_optional(p1, p2, "namespace")));
}

/* HR-1: refs to one parent must all set sectionName or all leave it unset. */
static enum cel_result hr1_section_all_or_none(struct cel_ctx *c)
{
    const cJSON *p1, *p2;
    int err = 0;

    cJSON_ArrayForEach(p1, c->self) {
        cJSON_ArrayForEach(p2, c->self) {
            enum cel_result same = same_parent(c, p1, p2);

            if (same == CEL_ERROR) {
                err = 1;
                continue;
            }
            if (same == CEL_TRUE &&
                unset_or_empty(p1, "sectionName") != unset_or_empty(p2, "sectionName"))
                return CEL_FALSE;
        }
    }
    return err ? CEL_ERROR : CEL_TRUE;
}

/* HR-2: each (parent, sectionName) pair appears exactly once. */
static enum cel_result hr2_section_unique(struct cel_ctx *c)
{
    const cJSON *p1, *p2;
    int err = 0;

    cJSON_ArrayForEach(p1, c->self) {
        int n = 0, perr = 0;

        cJSON_ArrayForEach(p2, c->self) {
            enum cel_result r =
                tri_and(same_parent(c, p1, p2), tri_bool(same_optional(p1, p2, "sectionName")));

            perr |= r == CEL_ERROR;
            n += r == CEL_TRUE;
        }
        if (perr)
            err = 1; /* exists_one() propagates the error */
        else if (n != 1)
            return CEL_FALSE;
    }
    return err ? CEL_ERROR : CEL_TRUE;
}

/* ---- rules (HR-3..HR-8) ---- */

/* HR-3: the first 16 rules hold at most 128 matches in total. */
static enum cel_result hr3_total_matches(struct cel_ctx *c)
{
    const cJSON *rule;
    size_t total = 0;
    int i = 0;

    cJSON_ArrayForEach(rule, c->self) {
        const cJSON *m;

        if (i++ >= 16)
            break;
        m = cel_need(c, rule, "matches");
        if (!m)
            return CEL_ERROR;
        total += cel_size(m);
    }
    return tri_bool(total <= 128);
}

/* HR-4: a rule with backendRefs has no RequestRedirect filter. */
static enum cel_result hr4_redirect_without_backends(struct cel_ctx *c)
{
    const cJSON *f;

    if (cel_size(cel_get(c->self, "backendRefs")) == 0)
        return CEL_TRUE;
    cJSON_ArrayForEach(f, cel_get(c->self, "filters")) {
        if (cel_has(f, "requestRedirect"))
            return CEL_FALSE;
    }
    return CEL_TRUE;
}

typedef enum cel_result (*pred_fn)(struct cel_ctx *c, const cJSON *x, const char *k);

/* list.exists_one(x, pred(x, k)); an error in any element is the result. */
static enum cel_result exists_one(struct cel_ctx *c, const cJSON *list, pred_fn pred, const char *k)
{
    const cJSON *x;
    int n = 0;

    cJSON_ArrayForEach(x, list) {
        enum cel_result r = pred(c, x, k);

        if (r == CEL_ERROR)
            return CEL_ERROR;
        n += r == CEL_TRUE;
    }
    return tri_bool(n == 1);
}

/* Filter f's <k> (requestRedirect or urlRewrite) replaces the prefix match. */
static enum cel_result prefix_rewrite(struct cel_ctx *c, const cJSON *f, const char *k)
{
    const cJSON *path = cel_get(cel_get(f, k), "path");

    if (!path || !cel_has(path, "replacePrefixMatch"))
        return CEL_FALSE;
    return str_is(c, path, "type", "ReplacePrefixMatch");
}

/* Backend b has exactly one filter whose <k> replaces the prefix match. */
static enum cel_result backend_prefix_rewrite(struct cel_ctx *c, const cJSON *b, const char *k)
{
    const cJSON *filters = cel_get(b, "filters");

    return filters ? exists_one(c, filters, prefix_rewrite, k) : CEL_FALSE;
}

/* The rule has exactly one match, and it is a PathPrefix path match. */
static enum cel_result single_prefix_match(struct cel_ctx *c)
{
    const cJSON *m = cel_need(c, c->self, "matches"), *path;

    if (!m)
        return CEL_ERROR;
    if (cel_size(m) != 1)
        return CEL_FALSE;
    path = cel_get(cJSON_GetArrayItem(m, 0), "path");
    return path ? str_is(c, path, "type", "PathPrefix") : CEL_FALSE;
}

/* When exactly one element of self.<list> satisfies pred(.., k), the rule
   must have a single PathPrefix match. */
static enum cel_result prefix_rewrite_rule(struct cel_ctx *c, const char *list, pred_fn pred,
                                           const char *k)
{
    const cJSON *l = cel_get(c->self, list);
    enum cel_result cond = l ? exists_one(c, l, pred, k) : CEL_FALSE;

    if (cond != CEL_TRUE)
        return cond == CEL_FALSE ? CEL_TRUE : CEL_ERROR;
    return single_prefix_match(c);
}

/* HR-5: a redirect filter replacing the prefix needs exactly one PathPrefix match. */
static enum cel_result hr5_redirect_prefix(struct cel_ctx *c)
{
    return prefix_rewrite_rule(c, "filters", prefix_rewrite, "requestRedirect");
}

/* HR-6: a rewrite filter replacing the prefix needs exactly one PathPrefix match. */
static enum cel_result hr6_rewrite_prefix(struct cel_ctx *c)
{
    return prefix_rewrite_rule(c, "filters", prefix_rewrite, "urlRewrite");
}

/* HR-7: same as HR-5 for a redirect filter inside one backendRef. */
static enum cel_result hr7_backend_redirect_prefix(struct cel_ctx *c)
{
    return prefix_rewrite_rule(c, "backendRefs", backend_prefix_rewrite, "requestRedirect");
}

/* HR-8: same as HR-6 for a rewrite filter inside one backendRef. */
static enum cel_result hr8_backend_rewrite_prefix(struct cel_ctx *c)
{
    return prefix_rewrite_rule(c, "backendRefs", backend_prefix_rewrite, "urlRewrite");
}

/* ---- backend references (HR-9) ---- */

/* HR-9: a reference to a core Service must give a port. */
static enum cel_result hr9_service_port(struct cel_ctx *c)
{
    const cJSON *group = cel_need(c, c->self, "group");
    enum cel_result core = group ? tri_bool(cel_size(group) == 0) : CEL_ERROR;
    enum cel_result cond =
        core == CEL_FALSE ? CEL_FALSE : tri_and(core, str_is(c, c->self, "kind", "Service"));

    if (cond == CEL_ERROR)
        return CEL_ERROR;
    return cond == CEL_TRUE ? tri_bool(cel_has(c->self, "port")) : CEL_TRUE;
}

/* ---- filter lists (HR-10..HR-15) ---- */

/* Number of filters in self of type t; *err when one has no type. */
static size_t count_type(struct cel_ctx *c, const char *t, int *err)
{
    const cJSON *f;
    size_t n = 0;

    *err = 0;
    cJSON_ArrayForEach(f, c->self) {
        enum cel_result r = str_is(c, f, "type", t);

        *err |= r == CEL_ERROR;
        n += r == CEL_TRUE;
    }
    return n;
}

/* self.exists(f, f.type == t) */
static enum cel_result exists_type(struct cel_ctx *c, const char *t)
{
    int err;
    size_t n = count_type(c, t, &err);

    return n ? CEL_TRUE : err ? CEL_ERROR : CEL_FALSE;
}

/* self.filter(f, f.type == t).size() <= 1 */
static enum cel_result not_repeated(struct cel_ctx *c, const char *t)
{
    int err;
    size_t n = count_type(c, t, &err);

    return err ? CEL_ERROR : tri_bool(n <= 1);
}

/* HR-10: RequestRedirect and URLRewrite filters exclude each other. */
static enum cel_result hr10_redirect_xor_rewrite(struct cel_ctx *c)
{
    return tri_not(tri_and(exists_type(c, "RequestRedirect"), exists_type(c, "URLRewrite")));
}

/* HR-11: at most one CORS filter. */
static enum cel_result hr11_single_cors(struct cel_ctx *c)
{
    return not_repeated(c, "CORS");
}

/* HR-12: at most one RequestHeaderModifier filter. */
static enum cel_result hr12_single_request_header_modifier(struct cel_ctx *c)
{
    return not_repeated(c, "RequestHeaderModifier");
}

/* HR-13: at most one ResponseHeaderModifier filter. */
static enum cel_result hr13_single_response_header_modifier(struct cel_ctx *c)
{
    return not_repeated(c, "ResponseHeaderModifier");
}

/* HR-14: at most one RequestRedirect filter. */
static enum cel_result hr14_single_request_redirect(struct cel_ctx *c)
{
    return not_repeated(c, "RequestRedirect");
}

/* HR-15: at most one URLRewrite filter. */
static enum cel_result hr15_single_url_rewrite(struct cel_ctx *c)
{
    return not_repeated(c, "URLRewrite");
}

/* ---- filter type/field consistency (HR-16..HR-29) ---- */

/* The filter may carry <field> only when its type is t. */
static enum cel_result field_only_for_type(struct cel_ctx *c, const char *field, const char *t)
{
    if (!cel_has(c->self, field))
        return CEL_TRUE;
    return str_is(c, c->self, "type", t);
}

/* A filter of type t must carry <field>. */
static enum cel_result field_required_for_type(struct cel_ctx *c, const char *field, const char *t)
{
    if (cel_has(c->self, field))
        return CEL_TRUE;
    return tri_not(str_is(c, c->self, "type", t));
}

/* HR-16: cors only on a CORS filter. */
static enum cel_result hr16_cors_nil(struct cel_ctx *c)
{
    return field_only_for_type(c, "cors", "CORS");
}

/* HR-17: a CORS filter needs cors. */
static enum cel_result hr17_cors_required(struct cel_ctx *c)
{
    return field_required_for_type(c, "cors", "CORS");
}

/* HR-18: requestHeaderModifier only on a RequestHeaderModifier filter. */
static enum cel_result hr18_request_header_modifier_nil(struct cel_ctx *c)
{
    return field_only_for_type(c, "requestHeaderModifier", "RequestHeaderModifier");
}

/* HR-19: a RequestHeaderModifier filter needs requestHeaderModifier. */
static enum cel_result hr19_request_header_modifier_required(struct cel_ctx *c)
{
    return field_required_for_type(c, "requestHeaderModifier", "RequestHeaderModifier");
}

/* HR-20: responseHeaderModifier only on a ResponseHeaderModifier filter. */
static enum cel_result hr20_response_header_modifier_nil(struct cel_ctx *c)
{
    return field_only_for_type(c, "responseHeaderModifier", "ResponseHeaderModifier");
}

/* HR-21: a ResponseHeaderModifier filter needs responseHeaderModifier. */
static enum cel_result hr21_response_header_modifier_required(struct cel_ctx *c)
{
    return field_required_for_type(c, "responseHeaderModifier", "ResponseHeaderModifier");
}

/* HR-22: requestMirror only on a RequestMirror filter. */
static enum cel_result hr22_request_mirror_nil(struct cel_ctx *c)
{
    return field_only_for_type(c, "requestMirror", "RequestMirror");
}

/* HR-23: a RequestMirror filter needs requestMirror. */
static enum cel_result hr23_request_mirror_required(struct cel_ctx *c)
{
    return field_required_for_type(c, "requestMirror", "RequestMirror");
}

/* HR-24: requestRedirect only on a RequestRedirect filter. */
static enum cel_result hr24_request_redirect_nil(struct cel_ctx *c)
{
    return field_only_for_type(c, "requestRedirect", "RequestRedirect");
}

/* HR-25: a RequestRedirect filter needs requestRedirect. */
static enum cel_result hr25_request_redirect_required(struct cel_ctx *c)
{
    return field_required_for_type(c, "requestRedirect", "RequestRedirect");
}

/* HR-26: urlRewrite only on a URLRewrite filter. */
static enum cel_result hr26_url_rewrite_nil(struct cel_ctx *c)
{
    return field_only_for_type(c, "urlRewrite", "URLRewrite");
}

/* HR-27: a URLRewrite filter needs urlRewrite. */
static enum cel_result hr27_url_rewrite_required(struct cel_ctx *c)
{
    return field_required_for_type(c, "urlRewrite", "URLRewrite");
}

/* HR-28: extensionRef only on an ExtensionRef filter. */
static enum cel_result hr28_extension_ref_nil(struct cel_ctx *c)
{
    return field_only_for_type(c, "extensionRef", "ExtensionRef");
}

/* HR-29: an ExtensionRef filter needs extensionRef. */
static enum cel_result hr29_extension_ref_required(struct cel_ctx *c)
{
    return field_required_for_type(c, "extensionRef", "ExtensionRef");
}

/* ---- CORS lists (HR-30, also HR-31 and HR-32) ---- */

/* HR-30: a '*' entry must be the only entry of the list. */
static enum cel_result hr30_wildcard_alone(struct cel_ctx *c)
{
    const cJSON *v;
    int star = 0;

    cJSON_ArrayForEach(v, c->self) {
        star |= cJSON_IsString(v) && !strcmp(v->valuestring, "*");
    }
    return tri_bool(!(star && cel_size(c->self) > 1));
}

const struct cel_impl cel_httproute_impls[] = {
    {"HR-1", hr1_section_all_or_none},
    {"HR-2", hr2_section_unique},
    {"HR-3", hr3_total_matches},
    {"HR-4", hr4_redirect_without_backends},
    {"HR-5", hr5_redirect_prefix},
    {"HR-6", hr6_rewrite_prefix},
    {"HR-7", hr7_backend_redirect_prefix},
    {"HR-8", hr8_backend_rewrite_prefix},
    {"HR-9", hr9_service_port},
    {"HR-10", hr10_redirect_xor_rewrite},
    {"HR-11", hr11_single_cors},
    {"HR-12", hr12_single_request_header_modifier},
    {"HR-13", hr13_single_response_header_modifier},
    {"HR-14", hr14_single_request_redirect},
    {"HR-15", hr15_single_url_rewrite},
    {"HR-16", hr16_cors_nil},
    {"HR-17", hr17_cors_required},
    {"HR-18", hr18_request_header_modifier_nil},
    {"HR-19", hr19_request_header_modifier_required},
    {"HR-20", hr20_response_header_modifier_nil},
    {"HR-21", hr21_response_header_modifier_required},
    {"HR-22", hr22_request_mirror_nil},
    {"HR-23", hr23_request_mirror_required},
    {"HR-24", hr24_request_redirect_nil},
    {"HR-25", hr25_request_redirect_required},
    {"HR-26", hr26_url_rewrite_nil},
    {"HR-27", hr27_url_rewrite_required},
    {"HR-28", hr28_extension_ref_nil},
    {"HR-29", hr29_extension_ref_required},
    {"HR-30", hr30_wildcard_alone},
    {NULL, NULL},
};

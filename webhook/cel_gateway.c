/*
 * The CEL rules of GatewayClass, Gateway, ListenerSet, BackendTLSPolicy,
 * TLSRoute and the GRPCRoute-only rules (spec validation.md §3.1, §3.2,
 * §3.4, §3.6, §3.7, §3.8), one function per canonical rule ID. The rules
 * see an already defaulted object that passed the blocking schema checks,
 * so required and defaulted fields are present; optional ones may not be.
 */
#include <stdlib.h>
#include <string.h>

#include "cel.h"
#include "util.h"

/* ---- shared helpers ---- */

static enum cel_result tv(int b)
{
    return b ? CEL_TRUE : CEL_FALSE;
}

/* a.k == b.k for two present fields (required fields: always present). */
static int field_eq(const cJSON *a, const cJSON *b, const char *k)
{
    const cJSON *x = cel_get(a, k), *y = cel_get(b, k);

    return x && y && cel_equal(x, y);
}

/* has(o.k) && o.k != '' */
static int filled(const cJSON *o, const char *k)
{
    return cel_has(o, k) && !cel_str_eq(o, k, "");
}

typedef enum cel_result (*elem_fn)(struct cel_ctx *c, const cJSON *e);

/*
 * self.all(e, p(e)) over an array's elements or a map's values (map keys
 * are e->string): a false element decides; otherwise the first error wins.
 */
static enum cel_result all_of(struct cel_ctx *c, elem_fn p)
{
    const cJSON *e, *first_err = NULL;

    cJSON_ArrayForEach(e, c->self) {
        enum cel_result r = p(c, e);

        if (r == CEL_FALSE)
            return CEL_FALSE;
        if (r == CEL_ERROR && !first_err)
            first_err = e;
    }
    /* Predicates are pure: evaluating the first failing one again restores its message. */
    return first_err ? p(c, first_err) : CEL_TRUE;
}

typedef int (*pair_fn)(const cJSON *a, const cJSON *b);

/*
 * self.all(x, applies(x) ? self.exists_one(y, eq(x, y)) : true); exists_one
 * counts x itself, so this means "no other element is eq to x".
 */
static enum cel_result all_unique(const cJSON *list, int (*applies)(const cJSON *), pair_fn eq)
{
    const cJSON *x, *y;

    cJSON_ArrayForEach(x, list) {
        int n = 0;

        if (applies && !applies(x))
            continue;
        cJSON_ArrayForEach(y, list) {
            n += eq(x, y) ? 1 : 0;
        }
        if (n != 1)
            return CEL_FALSE;
    }
    return CEL_TRUE;
}

/* ---- GatewayClass ---- */

/* GC-1: the controller name cannot change on update. */
static enum cel_result gc_1(struct cel_ctx *c)
{
    if (!c->old_self)
        return CEL_TRUE;
    return tv(cel_equal(c->self, c->old_self));
}

/* ---- Gateway addresses ---- */

static int addr_is_ip(const cJSON *a)
{
    return cel_str_eq(a, "type", "IPAddress") && cel_has(a, "value");
}

static int addr_is_host(const cJSON *a)
{
    return cel_str_eq(a, "type", "Hostname") && cel_has(a, "value");
}

static int addr_same(const cJSON *a1, const cJSON *a2)
{
    return field_eq(a1, a2, "type") && cel_has(a2, "value") && field_eq(a1, a2, "value");
}

/* GW-1: no two IPAddress addresses may carry the same value. */
static enum cel_result gw_1(struct cel_ctx *c)
{
    return all_unique(c->self, addr_is_ip, addr_same);
}

/* GW-2: no two Hostname addresses may carry the same value. */
static enum cel_result gw_2(struct cel_ctx *c)
{
    return all_unique(c->self, addr_is_host, addr_same);
}

/*
 * A Hostname address value must match the hostname regex; when
 * value_optional, an absent value is fine, otherwise reading it is an error.
 */
static enum cel_result host_addr(struct cel_ctx *c, int value_optional)
{
    const cJSON *v;

    if (!cel_need(c, c->self, "type"))
        return CEL_ERROR;
    if (!cel_str_eq(c->self, "type", "Hostname"))
        return CEL_TRUE;
    if (value_optional && !cel_has(c->self, "value"))
        return CEL_TRUE;
    if (!(v = cel_need(c, c->self, "value")))
        return CEL_ERROR;
    return tv(cJSON_IsString(v) && rx_search(RX_CEL_HOSTNAME, v->valuestring));
}

/* GW-3: a Hostname address is empty or a valid (optionally wildcard) hostname. */
static enum cel_result gw_3(struct cel_ctx *c)
{
    return host_addr(c, 1);
}

/* GW-S1: a Hostname status address must be a valid (optionally wildcard) hostname. */
static enum cel_result gw_s1(struct cel_ctx *c)
{
    return host_addr(c, 0);
}

/* ---- Gateway infrastructure labels / annotations ---- */

static enum cel_result key_form(struct cel_ctx *c, const cJSON *e)
{
    (void)c;
    return tv(e->string && rx_search(RX_CEL_LABEL_KEY, e->string));
}

static enum cel_result key_prefix_len(struct cel_ctx *c, const cJSON *e)
{
    const char *k = e->string ? e->string : "";
    char *prefix = xstrndup(k, strcspn(k, "/"));
    size_t n = utf8_len(prefix);

    (void)c;
    free(prefix);
    return tv(n < 253);
}

/* GW-4 (GW-6): every key is an optional DNS-subdomain prefix plus a name segment. */
static enum cel_result gw_4(struct cel_ctx *c)
{
    return all_of(c, key_form);
}

/* GW-5 (GW-7): the part of every key before the first '/' is under 253 code points. */
static enum cel_result gw_5(struct cel_ctx *c)
{
    return all_of(c, key_prefix_len);
}

/* ---- Gateway / ListenerSet listeners ---- */

static int proto_in(const cJSON *l, const char *const *set)
{
    for (; *set; set++)
        if (cel_str_eq(l, "protocol", *set))
            return 1;
    return 0;
}

static const char *const proto_plain[] = {"HTTP", "TCP", "UDP", NULL};
static const char *const proto_l4[] = {"TCP", "UDP", NULL};

static enum cel_result l_no_tls(struct cel_ctx *c, const cJSON *l)
{
    (void)c;
    return tv(!proto_in(l, proto_plain) || !cel_has(l, "tls"));
}

static enum cel_result l_https_terminate(struct cel_ctx *c, const cJSON *l)
{
    const cJSON *tls = cel_get(l, "tls");

    if (!cel_str_eq(l, "protocol", "HTTPS") || !tls)
        return CEL_TRUE;
    if (!cel_need(c, tls, "mode"))
        return CEL_ERROR;
    return tv(cel_str_eq(tls, "mode", "") || cel_str_eq(tls, "mode", "Terminate"));
}

static enum cel_result l_tls_mode_set(struct cel_ctx *c, const cJSON *l)
{
    const cJSON *tls = cel_get(l, "tls");

    (void)c;
    return tv(!cel_str_eq(l, "protocol", "TLS") || (tls && filled(tls, "mode")));
}

static enum cel_result l_no_hostname(struct cel_ctx *c, const cJSON *l)
{
    (void)c;
    return tv(!proto_in(l, proto_l4) || !filled(l, "hostname"));
}

/* GW-8 (LS-1): HTTP, TCP and UDP listeners carry no tls. */
static enum cel_result gw_8(struct cel_ctx *c)
{
    return all_of(c, l_no_tls);
}

/* GW-9 (LS-2): an HTTPS listener's tls mode, if tls is given, is Terminate (or empty). */
static enum cel_result gw_9(struct cel_ctx *c)
{
    return all_of(c, l_https_terminate);
}

/* GW-10 (LS-3): a TLS listener has tls with a non-empty mode. */
static enum cel_result gw_10(struct cel_ctx *c)
{
    return all_of(c, l_tls_mode_set);
}

/* GW-11 (LS-4): TCP and UDP listeners have no (or an empty) hostname. */
static enum cel_result gw_11(struct cel_ctx *c)
{
    return all_of(c, l_no_hostname);
}

static int same_name(const cJSON *a, const cJSON *b)
{
    return field_eq(a, b, "name");
}

/* GW-12 (LS-5): listener names are unique. */
static enum cel_result gw_12(struct cel_ctx *c)
{
    return all_unique(c->self, NULL, same_name);
}

/* Same port, protocol and hostname (both absent counts as the same). */
static int same_endpoint(const cJSON *l1, const cJSON *l2)
{
    int h1 = cel_has(l1, "hostname"), h2 = cel_has(l2, "hostname");

    if (!field_eq(l1, l2, "port") || !field_eq(l1, l2, "protocol"))
        return 0;
    return h1 && h2 ? field_eq(l1, l2, "hostname") : !h1 && !h2;
}

static int has_port(const cJSON *l)
{
    return cel_has(l, "port");
}

/* GW-13: port, protocol and hostname together are unique per listener. */
static enum cel_result gw_13(struct cel_ctx *c)
{
    return all_unique(c->self, NULL, same_endpoint);
}

/* LS-6: as GW-13, listeners without a port being exempt and never matching. */
static enum cel_result ls_6(struct cel_ctx *c)
{
    /* same_endpoint() already requires both ports to be present. */
    return all_unique(c->self, has_port, same_endpoint);
}

/* GW-14 (LS-7): a Terminate tls block names certificateRefs or options. */
static enum cel_result gw_14(struct cel_ctx *c)
{
    const cJSON *refs, *opts;

    if (!cel_need(c, c->self, "mode"))
        return CEL_ERROR;
    if (!cel_str_eq(c->self, "mode", "Terminate"))
        return CEL_TRUE;
    refs = cel_get(c->self, "certificateRefs");
    opts = cel_get(c->self, "options");
    if ((refs && cel_size(refs) > 0) || (opts && cel_size(opts) > 0))
        return CEL_TRUE;
    /* Neither side is true: an absent field is an error, the left one first. */
    if (!refs)
        cel_need(c, c->self, "certificateRefs");
    else if (!opts)
        cel_need(c, c->self, "options");
    return refs && opts ? CEL_FALSE : CEL_ERROR;
}

static int same_port(const cJSON *a, const cJSON *b)
{
    return field_eq(a, b, "port");
}

/* GW-15: each port has at most one frontend TLS entry. */
static enum cel_result gw_15(struct cel_ctx *c)
{
    return all_unique(c->self, NULL, same_port);
}

/* ---- GRPCRoute ---- */

/* GR-3: at most 128 matches over the (at most 16) rules. */
static enum cel_result gr_3(struct cel_ctx *c)
{
    const cJSON *r;
    size_t total = 0;
    int i = 0;

    cJSON_ArrayForEach(r, c->self) {
        const cJSON *m;

        if (i++ >= 16)
            break;
        m = cel_get(r, "matches");
        total += m ? cel_size(m) : 0;
    }
    return tv(total <= 128);
}

/* GR-17: a method match with a type names a service, a method or both. */
static enum cel_result gr_17(struct cel_ctx *c)
{
    const cJSON *s = c->self;

    return tv(!cel_has(s, "type") || cel_has(s, "service") || cel_has(s, "method"));
}

/* An Exact (or untyped) method match's field k, when set, matches regex rx. */
static enum cel_result grpc_name(struct cel_ctx *c, const char *k, enum rx_id rx)
{
    const cJSON *s = c->self;
    const char *v;

    if (cel_has(s, "type") && !cel_str_eq(s, "type", "Exact"))
        return CEL_TRUE;
    if (!cel_has(s, k))
        return CEL_TRUE;
    v = cel_str(s, k);
    return tv(v && rx_search(rx, v));
}

/* GR-18: an exact service name is a dotted identifier path. */
static enum cel_result gr_18(struct cel_ctx *c)
{
    return grpc_name(c, "service", RX_CEL_GRPC_SERVICE);
}

/* GR-19: an exact method name is an identifier. */
static enum cel_result gr_19(struct cel_ctx *c)
{
    return grpc_name(c, "method", RX_CEL_GRPC_METHOD);
}

/* ---- BackendTLSPolicy ---- */

static int same_target(const cJSON *a, const cJSON *b)
{
    return field_eq(a, b, "group") && field_eq(a, b, "kind") && field_eq(a, b, "name");
}

static int no_section(const cJSON *p)
{
    return !filled(p, "sectionName");
}

/* Same target and the same section (both unset/empty, or both set and equal). */
static int same_section_target(const cJSON *a, const cJSON *b)
{
    int both_set = cel_has(a, "sectionName") && cel_has(b, "sectionName");

    return same_target(a, b) &&
           ((no_section(a) && no_section(b)) || (both_set && field_eq(a, b, "sectionName")));
}

/* BTP-1: refs to the same target either all set a sectionName or none does. */
static enum cel_result btp_1(struct cel_ctx *c)
{
    const cJSON *p1, *p2;

    cJSON_ArrayForEach(p1, c->self) {
        cJSON_ArrayForEach(p2, c->self) {
            if (same_target(p1, p2) && no_section(p1) != no_section(p2))
                return CEL_FALSE;
        }
    }
    return CEL_TRUE;
}

/* BTP-2: no two refs name the same target and section. */
static enum cel_result btp_2(struct cel_ctx *c)
{
    return all_unique(c->self, NULL, same_section_target);
}

static int has_ca_refs(const cJSON *v)
{
    const cJSON *refs = cel_get(v, "caCertificateRefs");

    return refs && cel_size(refs) > 0;
}

/* BTP-3: CA certificate refs and well-known CA certificates exclude each other. */
static enum cel_result btp_3(struct cel_ctx *c)
{
    return tv(!(has_ca_refs(c->self) && filled(c->self, "wellKnownCACertificates")));
}

/* BTP-4: one of CA certificate refs or well-known CA certificates is given. */
static enum cel_result btp_4(struct cel_ctx *c)
{
    return tv(has_ca_refs(c->self) || filled(c->self, "wellKnownCACertificates"));
}

/*
 * A subjectAltName whose type is (want == 1) / is not (want == 0) 'type'
 * must have field k filled (want == 1) / must not have it filled (want == 0).
 */
static enum cel_result san_rule(struct cel_ctx *c, const char *type, const char *k, int want)
{
    int is_type = cel_str_eq(c->self, "type", type);

    if (is_type != want)
        return CEL_TRUE;
    return tv(filled(c->self, k) == want);
}

/* BTP-5: a Hostname subjectAltName carries a hostname. */
static enum cel_result btp_5(struct cel_ctx *c)
{
    return san_rule(c, "Hostname", "hostname", 1);
}

/* BTP-6: a non-Hostname subjectAltName carries no hostname. */
static enum cel_result btp_6(struct cel_ctx *c)
{
    return san_rule(c, "Hostname", "hostname", 0);
}

/* BTP-7: a URI subjectAltName carries a uri. */
static enum cel_result btp_7(struct cel_ctx *c)
{
    return san_rule(c, "URI", "uri", 1);
}

/* BTP-8: a non-URI subjectAltName carries no uri. */
static enum cel_result btp_8(struct cel_ctx *c)
{
    return san_rule(c, "URI", "uri", 0);
}

/* ---- TLSRoute hostnames ---- */

static const char *str_of(const cJSON *e)
{
    return cJSON_IsString(e) ? e->valuestring : "";
}

static enum cel_result h_not_ip(struct cel_ctx *c, const cJSON *e)
{
    (void)c;
    return tv(!cel_is_ip(str_of(e)));
}

static enum cel_result h_plain_rfc1123(struct cel_ctx *c, const cJSON *e)
{
    const char *h = str_of(e);

    (void)c;
    return tv(strchr(h, '*') || rx_search(RX_CEL_RFC1123, h));
}

static enum cel_result h_wildcard_first(struct cel_ctx *c, const cJSON *e)
{
    const char *h = str_of(e);

    (void)c;
    if (!strchr(h, '*'))
        return CEL_TRUE;
    return tv(strncmp(h, "*.", 2) == 0 && rx_search(RX_CEL_RFC1123, h + 2));
}

/* TLS-1: no hostname is an IP address. */
static enum cel_result tls_1(struct cel_ctx *c)
{
    return all_of(c, h_not_ip);
}

/* TLS-2: hostnames without a wildcard are RFC 1123 names. */
static enum cel_result tls_2(struct cel_ctx *c)
{
    return all_of(c, h_plain_rfc1123);
}

/* TLS-3: a wildcard is only a leading "*." followed by an RFC 1123 name. */
static enum cel_result tls_3(struct cel_ctx *c)
{
    return all_of(c, h_wildcard_first);
}

const struct cel_impl cel_gateway_impls[] = {
    {"GC-1", gc_1},   {"GW-1", gw_1},   {"GW-2", gw_2},   {"GW-3", gw_3},   {"GW-4", gw_4},
    {"GW-5", gw_5},   {"GW-8", gw_8},   {"GW-9", gw_9},   {"GW-10", gw_10}, {"GW-11", gw_11},
    {"GW-12", gw_12}, {"GW-13", gw_13}, {"GW-14", gw_14}, {"GW-15", gw_15}, {"GW-S1", gw_s1},
    {"GR-3", gr_3},   {"GR-17", gr_17}, {"GR-18", gr_18}, {"GR-19", gr_19}, {"BTP-1", btp_1},
    {"BTP-2", btp_2}, {"BTP-3", btp_3}, {"BTP-4", btp_4}, {"BTP-5", btp_5}, {"BTP-6", btp_6},
    {"BTP-7", btp_7}, {"BTP-8", btp_8}, {"LS-6", ls_6},   {"TLS-1", tls_1}, {"TLS-2", tls_2},
    {"TLS-3", tls_3}, {NULL, NULL},
};

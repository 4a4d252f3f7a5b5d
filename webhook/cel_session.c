/*
 * CEL rules of sessionPersistence as released in Gateway API v1.6.x
 * (experimental HTTPRoute v1/v1beta1 and GRPCRoute v1; bundle "v1.6" of
 * tools/bundle-v1.6.txt). There the object has cookieConfig {lifetimeType}
 * and sessionName, and carries two rules, which the spec (upstream main)
 * no longer has; so they have our own canonical IDs, SP16-*, and per kind
 * the rule IDs HR-SP16-* and GR-SP16-*. Main's shape (cookie, header) and
 * its five rules are in webhook/cel_httproute2.c (HR-XA11..HR-XA15).
 *
 * Errors follow CEL (§1.5): reading an absent field is "no such key: X";
 * in a || the operand that decides absorbs an error of the other one.
 */
#include "cel.h"

/* SP16-1: a Permanent cookieConfig lifetime needs absoluteTimeout. True
   when cookieConfig or its lifetimeType is absent (has() never errs). */
static enum cel_result sp16_1(struct cel_ctx *c)
{
    const cJSON *cfg = cel_get(c->self, "cookieConfig");

    if (!cfg || !cel_has(cfg, "lifetimeType"))
        return CEL_TRUE;
    if (!cel_str_eq(cfg, "lifetimeType", "Permanent") || cel_has(c->self, "absoluteTimeout"))
        return CEL_TRUE;
    return CEL_FALSE;
}

/* SP16-2: cookieConfig only goes with type Cookie. Reads self.type only
   when cookieConfig is set ("no such key: type" if it is absent then;
   type is defaulted to Cookie, so only an unusual object gets there). */
static enum cel_result sp16_2(struct cel_ctx *c)
{
    c->err[0] = '\0';
    if (!cel_has(c->self, "cookieConfig"))
        return CEL_TRUE;
    if (!cel_need(c, c->self, "type"))
        return CEL_ERROR;
    return cel_str_eq(c->self, "type", "Cookie") ? CEL_TRUE : CEL_FALSE;
}

const struct cel_impl cel_session_impls[] = {{"SP16-1", sp16_1}, {"SP16-2", sp16_2}, {NULL, NULL}};

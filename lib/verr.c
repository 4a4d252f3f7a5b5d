/* Field-error lists in the API server's wording (§1.4). Pure: no I/O. */
#include "verr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_text[] = {
#define X(code, reason, text) text,
    VERR_TYPE_MAP(X)
#undef X
};

static const char *const type_reason[] = {
#define X(code, reason, text) reason,
    VERR_TYPE_MAP(X)
#undef X
};

int verr_type_blocking(enum verr_type t)
{
    return t == VERR_NOT_SUPPORTED || t == VERR_REQUIRED || t == VERR_TOO_LONG ||
           t == VERR_TOO_MANY || t == VERR_TYPE_INVALID;
}

const char *verr_type_reason(enum verr_type t)
{
    return type_reason[t];
}

struct verr *verr_add(struct verr_list *list, enum verr_type type, const char *at,
                      const char *value, const char *fmt, ...)
{
    struct sbuf sb = {0};
    struct verr *e;
    va_list ap;

    if (list->len == list->alloc) {
        list->alloc = list->alloc ? list->alloc * 2 : 8;
        list->item = xrealloc(list->item, list->alloc * sizeof(*list->item));
    }
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    e = &list->item[list->len++];
    e->type = type;
    e->level = VERR_ERROR;
    e->field = xstrdup(at);
    e->value = value ? xstrdup(value) : NULL;
    e->detail = sb_detach(&sb);
    e->rule = NULL;
    return e;
}

char *verr_value_str(const char *s)
{
    struct sbuf sb = {0};

    sb_goquote(&sb, s);
    return sb_detach(&sb);
}

char *verr_go_float(double d)
{
    char buf[64];
    int p, exp;

    if (d == 0)
        return xstrdup("0");
    if (isnan(d))
        return xstrdup("NaN");
    if (isinf(d))
        return xstrdup(d > 0 ? "+Inf" : "-Inf");
    /* the shortest digits that read back as d (strconv's shortest) */
    for (p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    exp = (int)strtol(strchr(buf, 'e') + 1, NULL, 10);
    if (exp < -4 || exp >= 6) /* %v's %g: the exponent form, "1e+06", "1.5e-05" */
        return xstrdup(buf);
    snprintf(buf, sizeof(buf), "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, d);
    return xstrdup(buf);
}

int verr_go_is_float(const cJSON *v)
{
    double d = v->valuedouble;

    return !(d == floor(d) && fabs(d) < 9.2e18);
}

char *verr_value_json(const cJSON *v)
{
    struct sbuf sb = {0};

    if (cJSON_IsString(v))
        return verr_value_str(v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (!verr_go_is_float(v))
            return xasprintf("%lld", (long long)d);
        return verr_go_float(d);
    }
    /* booleans bare, nil as null, composites through json.Marshal (Go's
       field.Error prints other values that way) */
    if (!v)
        return xstrdup("null");
    sb_gojson(&sb, v);
    return sb_detach(&sb);
}

char *verr_format(const struct verr *e)
{
    struct sbuf sb = {0};

    if (e->type == VERR_NOTE) /* a plain warning, such as a deprecation notice */
        return xstrdup(e->detail);
    if (e->type == VERR_UNKNOWN_FIELD) { /* strict decoding's wording */
        sb_printf(&sb, "unknown field \"%s\"", e->field);
        return sb_detach(&sb);
    }
    sb_printf(&sb, "%s: %s", e->field, type_text[e->type]);
    if (e->value && e->type != VERR_REQUIRED && e->type != VERR_FORBIDDEN &&
        e->type != VERR_TOO_LONG)
        sb_printf(&sb, ": %s", e->value);
    if (e->detail[0])
        sb_printf(&sb, ": %s", e->detail);
    return sb_detach(&sb);
}

size_t verr_count(const struct verr_list *list, enum verr_level level)
{
    size_t i, n = 0;

    for (i = 0; i < list->len; i++)
        n += list->item[i].level == level;
    return n;
}

char *verr_join(const struct verr_list *list, enum verr_level level)
{
    struct sbuf sb = {0};
    char **msgs = xcalloc(list->len + 1, sizeof(*msgs));
    size_t i, j, n = 0;

    for (i = 0; i < list->len; i++) {
        char *m;
        int dup = 0;

        if (list->item[i].level != level)
            continue;
        m = verr_format(&list->item[i]);
        for (j = 0; j < n && !dup; j++)
            dup = strcmp(msgs[j], m) == 0;
        if (dup)
            free(m);
        else
            msgs[n++] = m;
    }
    if (n == 1) {
        sb_puts(&sb, msgs[0]);
    } else if (n > 1) {
        sb_putc(&sb, '[');
        for (i = 0; i < n; i++)
            sb_printf(&sb, "%s%s", i ? ", " : "", msgs[i]);
        sb_putc(&sb, ']');
    }
    for (i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
    return n ? sb_detach(&sb) : NULL;
}

void verr_splice(struct verr_list *to, struct verr_list *from)
{
    size_t i;

    for (i = 0; i < from->len; i++) {
        if (to->len == to->alloc) {
            to->alloc = to->alloc ? to->alloc * 2 : 8;
            to->item = xrealloc(to->item, to->alloc * sizeof(*to->item));
        }
        to->item[to->len++] = from->item[i];
    }
    free(from->item);
    from->item = NULL;
    from->len = from->alloc = 0;
}

void verr_list_release(struct verr_list *list)
{
    size_t i;

    for (i = 0; i < list->len; i++) {
        free(list->item[i].field);
        free(list->item[i].value);
        free(list->item[i].detail);
    }
    free(list->item);
    list->item = NULL;
    list->len = list->alloc = 0;
}

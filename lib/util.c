/* Allocation that aborts on OOM, the string buffer, UTF-8 helpers. No I/O but
   the one OOM message on stderr. */
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    struct sbuf sb = {0};
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    return sb_detach(&sb);
}

void util_init_cjson(void)
{
    cJSON_Hooks hooks = {xmalloc, free};

    cJSON_InitHooks(&hooks);
}

static void sb_grow(struct sbuf *sb, size_t extra)
{
    size_t want = sb->len + extra + 1;

    if (want <= sb->alloc)
        return;
    if (want < sb->alloc * 2)
        want = sb->alloc * 2;
    if (want < 64)
        want = 64;
    sb->buf = xrealloc(sb->buf, want);
    sb->alloc = want;
}

void sb_add(struct sbuf *sb, const char *s, size_t n)
{
    sb_grow(sb, n);
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void sb_puts(struct sbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

void sb_putc(struct sbuf *sb, char c)
{
    sb_add(sb, &c, 1);
}

void sb_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    sb_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

void sb_truncate(struct sbuf *sb, size_t len)
{
    if (len < sb->len) {
        sb->len = len;
        sb->buf[len] = '\0';
    }
}

char *sb_detach(struct sbuf *sb)
{
    char *p = sb->buf ? sb->buf : xstrdup("");

    sb->buf = NULL;
    sb->len = sb->alloc = 0;
    return p;
}

void sb_release(struct sbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->alloc = 0;
}

/* Decode one UTF-8 rune at s. Returns its length (1..4) and sets *r, or
   returns 1 with *r = -1 for an invalid byte (Go's utf8.RuneError case). */
static size_t utf8_decode(const unsigned char *s, long *r)
{
    unsigned char c = s[0];
    size_t n, i;
    long v, min;

    if (c < 0x80) {
        *r = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *r = -1;
        return 1;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *r = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *r = -1;
        return 1;
    }
    *r = v;
    return n;
}

size_t utf8_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;
    long r;

    while (*p) {
        p += utf8_decode(p, &r);
        count++;
    }
    return count;
}

/* Go's unicode.IsPrint is broad; we treat every non-control code point
   outside the separator/format ranges Go rejects most often as printable. */
static int rune_printable(long r)
{
    if (r < 0x20 || (r >= 0x7F && r < 0xA0))
        return 0;
    if (r == 0xAD || (r >= 0x2028 && r <= 0x202E) || (r >= 0x200B && r <= 0x200F) ||
        (r >= 0x2060 && r <= 0x206F) || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) ||
        (r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000 || r == 0xFFFE || r == 0xFFFF)
        return 0;
    if (r != 0x20 && (r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x202F ||
                      r == 0x205F || r == 0x3000))
        return 0;
    return 1;
}

void sb_goquote(struct sbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    sb_putc(sb, '"');
    while (*p) {
        long r;
        size_t n = utf8_decode(p, &r);

        if (r < 0) {
            sb_printf(sb, "\\x%02x", *p);
        } else if (r == '"' || r == '\\') {
            sb_putc(sb, '\\');
            sb_putc(sb, (char)r);
        } else if (rune_printable(r)) {
            sb_add(sb, (const char *)p, n);
        } else {
            switch (r) {
            case '\a':
                sb_puts(sb, "\\a");
                break;
            case '\b':
                sb_puts(sb, "\\b");
                break;
            case '\f':
                sb_puts(sb, "\\f");
                break;
            case '\n':
                sb_puts(sb, "\\n");
                break;
            case '\r':
                sb_puts(sb, "\\r");
                break;
            case '\t':
                sb_puts(sb, "\\t");
                break;
            case '\v':
                sb_puts(sb, "\\v");
                break;
            default:
                if (r < 0x20 || r == 0x7F)
                    sb_printf(sb, "\\x%02lx", r);
                else if (r < 0x10000)
                    sb_printf(sb, "\\u%04lx", r);
                else
                    sb_printf(sb, "\\U%08lx", r);
            }
        }
        p += n;
    }
    sb_putc(sb, '"');
}

void sb_gojson_string(struct sbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    sb_putc(sb, '"');
    while (*p) {
        long r;
        size_t n = utf8_decode(p, &r);

        if (r < 0)
            sb_puts(sb, "\\ufffd");
        else if (r == '"' || r == '\\')
            sb_putc(sb, '\\'), sb_putc(sb, (char)r);
        else if (r == '\n')
            sb_puts(sb, "\\n");
        else if (r == '\r')
            sb_puts(sb, "\\r");
        else if (r == '\t')
            sb_puts(sb, "\\t");
        else if (r < 0x20 || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029)
            sb_printf(sb, "\\u%04lx", r);
        else
            sb_add(sb, (const char *)p, n);
        p += n;
    }
    sb_putc(sb, '"');
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

void sb_gojson(struct sbuf *sb, const cJSON *v)
{
    const cJSON *c;

    if (cJSON_IsString(v)) {
        sb_gojson_string(sb, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        /* in range before the cast: a double beyond long long does not convert (UB) */
        if (v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 &&
            v->valuedouble == (double)(long long)v->valuedouble)
            sb_printf(sb, "%lld", (long long)v->valuedouble);
        else
            sb_printf(sb, "%.17g", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        sb_puts(sb, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v)) {
        sb_putc(sb, '[');
        for (c = v->child; c; c = c->next) {
            sb_gojson(sb, c);
            if (c->next)
                sb_putc(sb, ',');
        }
        sb_putc(sb, ']');
    } else if (cJSON_IsObject(v)) {
        size_t n = 0, i;
        const cJSON **keys;

        for (c = v->child; c; c = c->next)
            n++;
        keys = xcalloc(n + 1, sizeof(*keys));
        for (c = v->child, i = 0; c; c = c->next)
            keys[i++] = c;
        if (n)
            qsort(keys, n, sizeof(*keys), cmp_keys); /* Go sorts map keys */
        sb_putc(sb, '{');
        for (i = 0; i < n; i++) {
            sb_gojson_string(sb, keys[i]->string);
            sb_putc(sb, ':');
            sb_gojson(sb, keys[i]);
            if (i + 1 < n)
                sb_putc(sb, ',');
        }
        sb_putc(sb, '}');
        free(keys);
    } else {
        sb_puts(sb, "null");
    }
}

const char *go_json_kind(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsArray(v))
        return "array";
    return "object";
}

/*
 * The ConformanceReport YAML (conformance.md §5), the atomic file write both
 * reports use, and the Sonobuoy done file (ecosystem.md §8.1). Tallying and
 * printing are pure; only the conf_write_* functions and
 * conf_report_write_atomic() touch the file system. No JUnit here (junit.c).
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- atomic write ------------------------------------------------------ */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding path so the rename itself is durable */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return;
    (void)fsync(fd); /* some file systems refuse fsync on a directory: not an error */
    close(fd);
}

int conf_report_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err,
                             size_t errlen)
{
    const char *slash;
    char *dir = NULL, *tmp = NULL;
    int fd, rc = -1, e;

    if (!path || !*path)
        return fail(err, errlen, "no output path given");
    slash = strrchr(path, '/');
    dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    /* hidden, and not ending in .xml/.yaml: globs for results never match it */
    tmp = xasprintf("%s/.%s.XXXXXX", dir, slash ? slash + 1 : path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        fail(err, errlen, "cannot write '%s': cannot create a temporary file in '%s': %s", path,
             dir, strerror(e));
        goto out;
    }
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        e = errno;
        close(fd);
        fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
        goto out_unlink;
    }
    if (close(fd) != 0) {
        e = errno;
        fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
        goto out_unlink;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
        goto out_unlink;
    }
    sync_dir(dir);
    rc = 0;
    goto out;
out_unlink:
    unlink(tmp);
out:
    free(tmp);
    free(dir);
    return rc;
}

/* ---- UTF-8 as Go's encoding/json sees it -------------------------------- */

size_t conf_report_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n, i;

    if (p[0] == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (p[0] < 0xC2 || p[0] > 0xF4)
        return 0;
    n = p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
    if (p[0] == 0xE0)
        lo = 0xA0;
    else if (p[0] == 0xED)
        hi = 0x9F;
    else if (p[0] == 0xF0)
        lo = 0x90;
    else if (p[0] == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* s with every byte that starts no valid sequence replaced by U+FFFD, as
   json.Marshal does before sigs.k8s.io/yaml sees the string. */
static void utf8_clean(struct sbuf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    sb_add(out, "", 0);
    while (*p) {
        size_t n = conf_report_utf8_valid((const char *)p);

        if (n == 0) {
            sb_puts(out, "\xEF\xBF\xBD");
            p++;
            continue;
        }
        sb_add(out, (const char *)p, n);
        p += n;
    }
}

/* ---- go-yaml v2's scalar emitter, block context ------------------------ */

/*
 * sigs.k8s.io/yaml.Marshal = json.Marshal, then go.yaml.in/yaml/v2 (v2.4.x)
 * over the decoded value. What follows ports the parts of its encoder
 * (stringv, resolve) and emitter (analyze_scalar, select_scalar_style, the
 * four scalar writers, write_indent) that a report reaches: block mappings
 * and sequences, scalars never keys. Line width is go-yaml's 80 columns:
 * sigs.k8s.io/yaml does not call FutureLineWrap(), so long summaries fold
 * (upstream's published reports show it).
 */
#define Y_WIDTH  80
#define Y_INDENT 2

struct yem {
    struct sbuf *sb;
    int column;     /* characters (not bytes) since the last line break */
    int indention;  /* only indentation on this line so far */
    int whitespace; /* the last thing written was whitespace */
};

static size_t y_width(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    return (c & 0xF0) == 0xE0 ? 3 : 4;
}

static int y_is_break(const unsigned char *p)
{
    return p[0] == '\r' || p[0] == '\n' || (p[0] == 0xC2 && p[1] == 0x85) ||
           (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9));
}

static int y_is_blank(const unsigned char *p)
{
    return p[0] == ' ' || p[0] == '\t';
}

static int y_is_blankz(const unsigned char *p)
{
    return y_is_blank(p) || y_is_break(p) || p[0] == 0;
}

static int y_is_bom(const unsigned char *p)
{
    return p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;
}

/* go-yaml's is_printable: note that nothing beyond the BMP is "printable" */
static int y_is_printable(const unsigned char *p)
{
    return p[0] == 0x0A || (p[0] >= 0x20 && p[0] <= 0x7E) || (p[0] == 0xC2 && p[1] >= 0xA0) ||
           (p[0] > 0xC2 && p[0] < 0xED) || (p[0] == 0xED && p[1] < 0xA0) || p[0] == 0xEE ||
           (p[0] == 0xEF && !(p[1] == 0xBB && p[2] == 0xBF) &&
            !(p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)));
}

static void y_put(struct yem *e, char c)
{
    sb_putc(e->sb, c);
    e->column++;
}

static void y_break(struct yem *e)
{
    sb_putc(e->sb, '\n');
    e->column = 0;
}

static size_t y_write(struct yem *e, const unsigned char *p)
{
    size_t w = y_width(p[0]);

    sb_add(e->sb, (const char *)p, w);
    e->column++;
    return w;
}

static size_t y_write_break(struct yem *e, const unsigned char *p)
{
    size_t w;

    if (p[0] == '\n') {
        y_break(e);
        return 1;
    }
    w = y_write(e, p);
    e->column = 0;
    return w;
}

static void y_indent(struct yem *e, int indent)
{
    if (!e->indention || e->column > indent || (e->column == indent && !e->whitespace))
        y_break(e);
    while (e->column < indent)
        y_put(e, ' ');
    e->whitespace = 1;
    e->indention = 1;
}

static void y_indicator(struct yem *e, const char *ind, int need_ws, int is_ws, int is_indention)
{
    if (need_ws && !e->whitespace)
        y_put(e, ' ');
    while (*ind)
        y_put(e, *ind++);
    e->whitespace = is_ws;
    e->indention = e->indention && is_indention;
}

/* -- what a plain scalar would resolve to (resolve.go) -- */

static int y_digits(const char **p, int min, int max)
{
    int n = 0, v = 0;

    while (n < max && **p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n >= min ? v : -1;
}

static int y_days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return days[month - 1] + (month == 2 && leap);
}

/* h:m:s[.frac] of Go's "15:4:5.999999999" */
static int y_clock(const char **p)
{
    int h = y_digits(p, 1, 2), m, sec;

    if (h < 0 || h > 23 || *(*p)++ != ':')
        return 0;
    m = y_digits(p, 1, 2);
    if (m < 0 || m > 59 || *(*p)++ != ':')
        return 0;
    sec = y_digits(p, 1, 2);
    if (sec < 0 || sec > 59)
        return 0;
    if ((**p == '.' || **p == ',') && (*p)[1] >= '0' && (*p)[1] <= '9') {
        (*p)++;
        while (**p >= '0' && **p <= '9')
            (*p)++;
    }
    return 1;
}

/* Go's "Z07:00": Z, or +hh:mm / -hh:mm (hours up to 24, minutes up to 60) */
static int y_zone(const char *p)
{
    if (p[0] == 'Z')
        return p[1] == 0;
    if (p[0] != '+' && p[0] != '-')
        return 0;
    if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] == ':' && p[4] >= '0' &&
          p[4] <= '9' && p[5] >= '0' && p[5] <= '9' && p[6] == 0))
        return 0;
    return (p[1] - '0') * 10 + (p[2] - '0') <= 24 && (p[4] - '0') * 10 + (p[5] - '0') <= 60;
}

/* go-yaml's parseTimestamp: the time.Parse layouts "2006-1-2T15:4:5.999999999Z07:00" (also
   with a lower-case t), "2006-1-2 15:4:5.999999999" and "2006-1-2" */
static int y_timestamp(const char *s)
{
    const char *p = s;
    int year = y_digits(&p, 4, 4), month, day;
    char sep;

    if (year < 0 || *p++ != '-')
        return 0;
    month = y_digits(&p, 1, 2);
    if (month < 1 || month > 12 || *p++ != '-')
        return 0;
    day = y_digits(&p, 1, 2);
    if (day < 1 || day > y_days_in(month, year))
        return 0;
    if (*p == 0)
        return 1;
    sep = *p++;
    while (sep == ' ' && *p == ' ') /* time.Parse: a run of spaces matches one */
        p++;
    if ((sep != 'T' && sep != 't' && sep != ' ') || !y_clock(&p))
        return 0;
    return sep == ' ' ? *p == 0 : y_zone(p);
}

/* strconv.ParseFloat's range check: an overflow is an error (a string),
   an underflow is not */
static int y_float_in_range(const char *s)
{
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    double v;

    if (!c)
        return 1;
    v = strtod_l(s, NULL, c);
    freelocale(c);
    return !isinf(v);
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$, and in range */
static int y_float(const char *s)
{
    const char *p = s;
    size_t d = 0;

    if (*p == '-' || *p == '+')
        p++;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            d++;
        if (!d)
            return 0;
    } else {
        for (; *p >= '0' && *p <= '9'; p++)
            d++;
        if (!d)
            return 0;
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++)
                ;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        for (d = 0; *p >= '0' && *p <= '9'; p++)
            d++;
        if (!d)
            return 0;
    }
    return *p == 0 && y_float_in_range(s);
}

/* strconv.ParseFloat(s) for s starting with '.': underscores are allowed
   between digits (strconv's underscoreOK), then the float syntax */
static int y_float_dot(const char *s)
{
    char *plain = xstrdup(s), *w = plain;
    char saw = '!'; /* after the '.': not a digit */
    const char *p;
    int ok = 1;

    for (p = s + 1; *p && ok; p++) {
        if (*p >= '0' && *p <= '9')
            saw = '0';
        else if (*p == '_')
            ok = saw == '0', saw = '_';
        else
            ok = saw != '_', saw = '!';
    }
    ok = ok && saw != '_';
    for (p = s; *p; p++)
        if (*p != '_')
            *w++ = *p;
    *w = 0;
    ok = ok && y_float(plain);
    free(plain);
    return ok;
}

/* strconv.ParseInt(s, 0, 64), or ParseUint(s, 0, 64), accepting s. Decimal
   and 0-prefixed octal out of range need no check: the float syntax takes
   them. Prefixed ones must fit: 2^64-1 unsigned, 2^63-1 with '+', 2^63
   with '-'. */
static int y_int(const char *p)
{
    const char *digits = "0123456789";
    unsigned long long v = 0, limit = ~0ULL;
    unsigned base = 10;
    int overflow = 0;

    if (*p == '-' || *p == '+')
        limit = *p++ == '-' ? 1ULL << 63 : (1ULL << 63) - 1;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        digits = "0123456789abcdef", base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        digits = "01234567", base = 8, p += 2;
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        digits = "01", base = 2, p += 2;
    else if (p[0] == '0' && p[1])
        digits = "01234567", p += 1;
    if (!*p)
        return 0;
    for (; *p; p++) {
        const char *d = strchr(digits, *p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        unsigned long long dv;

        if (!d)
            return 0;
        dv = (unsigned long long)(d - digits);
        if (v > (limit - dv) / base)
            overflow = 1;
        else
            v = v * base + dv;
    }
    return base == 10 || !overflow;
}

/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static int y_base60(const char *p)
{
    int groups = 0;

    if (*p == '-' || *p == '+')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return 0;
    while ((*p >= '0' && *p <= '9') || *p == '_')
        p++;
    while (*p == ':') {
        p++;
        if (p[0] >= '0' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9')
            p += 2;
        else if (p[0] >= '0' && p[0] <= '9')
            p++;
        else
            return 0;
        groups++;
    }
    if (!groups)
        return 0;
    if (*p == '.')
        for (p++; (*p >= '0' && *p <= '9') || *p == '_'; p++)
            ;
    return *p == 0;
}

/* Would go-yaml read s, unquoted, as anything but a string? */
static int y_resolves_other(const char *s)
{
    static const char *const words[] = {
        "y",    "Y",    "yes",   "Yes",   "YES",   "true",  "True",  "TRUE",  "on",    "On",
        "ON",   "n",    "N",     "no",    "No",    "NO",    "false", "False", "FALSE", "off",
        "Off",  "OFF",  "~",     "null",  "Null",  "NULL",  ".nan",  ".NaN",  ".NAN",  ".inf",
        ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    };
    char *plain, *w;
    const char *r;
    size_t i;
    int other;

    if (!*s)
        return 1; /* null */
    if (!strchr("+-0123456789yYnNtTfFoO~.", *s))
        return 0;
    for (i = 0; i < ARRAY_SIZE(words); i++)
        if (strcmp(s, words[i]) == 0)
            return 1;
    if (*s == '.')
        return y_float_dot(s);
    if (!strchr("+-0123456789", *s))
        return 0;
    if (y_timestamp(s))
        return 1;
    plain = xstrdup(s); /* underscores are dropped before the number checks */
    for (r = s, w = plain; *r; r++)
        if (*r != '_')
            *w++ = *r;
    *w = 0;
    other = y_int(plain) || y_float(plain);
    free(plain);
    return other;
}

/* -- yaml_emitter_analyze_scalar, for block context -- */

struct yscan {
    int block_ind, line_breaks, special;
    int lead_space, lead_break, trail_space, trail_break, break_space, space_break;
};

static int y_first_indicator(unsigned char c, int followed_ws)
{
    if (strchr("#,[]{}&*!|>'\"%@`", c))
        return 1;
    return (c == '?' || c == ':' || c == '-') && followed_ws;
}

static void y_scan_char(struct yscan *a, const unsigned char *v, size_t i, size_t len,
                        int *prev_space, int *prev_break)
{
    size_t w = y_width(v[i]);
    int last = i + w == len;

    if (v[i] == ' ') {
        a->lead_space |= i == 0;
        a->trail_space |= last;
        a->break_space |= *prev_break;
        *prev_space = 1;
        *prev_break = 0;
    } else if (y_is_break(v + i)) {
        a->line_breaks = 1;
        a->lead_break |= i == 0;
        a->trail_break |= last;
        a->space_break |= *prev_space;
        *prev_space = 0;
        *prev_break = 1;
    } else {
        *prev_space = 0;
        *prev_break = 0;
    }
}

static void y_scan(struct yscan *a, const unsigned char *v, size_t len)
{
    int preceded_ws = 1, prev_space = 0, prev_break = 0;
    size_t i, w;

    memset(a, 0, sizeof(*a));
    if (len >= 3 && (memcmp(v, "---", 3) == 0 || memcmp(v, "...", 3) == 0))
        a->block_ind = 1;
    for (i = 0; i < len; i += w) {
        int followed_ws;

        w = y_width(v[i]);
        followed_ws = i + w >= len || y_is_blank(v + i + w);
        if (i == 0)
            a->block_ind |= y_first_indicator(v[0], followed_ws);
        else if ((v[i] == ':' && followed_ws) || (v[i] == '#' && preceded_ws))
            a->block_ind = 1;
        if (!y_is_printable(v + i))
            a->special = 1;
        y_scan_char(a, v, i, len, &prev_space, &prev_break);
        preceded_ws = y_is_blankz(v + i);
    }
}

/* -- the writers -- */

static void y_plain(struct yem *e, const unsigned char *v, size_t len, int indent)
{
    int spaces = 0;
    size_t i = 0;

    if (!e->whitespace)
        y_put(e, ' ');
    while (i < len) {
        if (v[i] == ' ') {
            if (!spaces && e->column > Y_WIDTH && v[i + 1] != ' ') {
                y_indent(e, indent);
                i++;
            } else {
                i += y_write(e, v + i);
            }
            spaces = 1;
        } else {
            i += y_write(e, v + i);
            e->indention = 0;
            spaces = 0;
        }
    }
    e->whitespace = 0;
    e->indention = 0;
}

static void y_single(struct yem *e, const unsigned char *v, size_t len, int indent)
{
    int spaces = 0, breaks = 0;
    size_t i = 0;

    y_indicator(e, "'", 1, 0, 0);
    while (i < len) {
        if (v[i] == ' ') {
            if (!spaces && e->column > Y_WIDTH && i > 0 && i < len - 1 && v[i + 1] != ' ') {
                y_indent(e, indent);
                i++;
            } else {
                i += y_write(e, v + i);
            }
            spaces = 1;
        } else if (y_is_break(v + i)) {
            if (!breaks && v[i] == '\n')
                y_break(e);
            i += y_write_break(e, v + i);
            e->indention = 1;
            breaks = 1;
        } else {
            if (breaks)
                y_indent(e, indent);
            if (v[i] == '\'')
                y_put(e, '\'');
            i += y_write(e, v + i);
            e->indention = 0;
            spaces = 0;
            breaks = 0;
        }
    }
    y_indicator(e, "'", 0, 0, 0);
    e->whitespace = 0;
    e->indention = 0;
}

/* one escaped character of a double-quoted scalar; returns its length */
static size_t y_escape(struct yem *e, const unsigned char *p)
{
    static const struct {
        unsigned long rune;
        char c;
    } named[] = {{0x00, '0'},  {0x07, 'a'}, {0x08, 'b'}, {0x09, 't'},   {0x0A, 'n'},
                 {0x0B, 'v'},  {0x0C, 'f'}, {0x0D, 'r'}, {0x1B, 'e'},   {0x22, '"'},
                 {0x5C, '\\'}, {0x85, 'N'}, {0xA0, '_'}, {0x2028, 'L'}, {0x2029, 'P'}};
    size_t w = y_width(p[0]), k;
    unsigned long v = w == 1   ? p[0]
                      : w == 2 ? (p[0] & 0x1Fu)
                      : w == 3 ? (p[0] & 0x0Fu)
                               : (p[0] & 0x07u);
    int digits;

    for (k = 1; k < w; k++)
        v = (v << 6) + (p[k] & 0x3Fu);
    y_put(e, '\\');
    for (k = 0; k < ARRAY_SIZE(named); k++) {
        if (named[k].rune == v) {
            y_put(e, named[k].c);
            return w;
        }
    }
    digits = v <= 0xFF ? 2 : v <= 0xFFFF ? 4 : 8;
    y_put(e, "..x.u...U"[digits]);
    while (digits-- > 0)
        y_put(e, "0123456789ABCDEF"[(v >> (4 * digits)) & 0xF]);
    return w;
}

static void y_double(struct yem *e, const unsigned char *v, size_t len, int indent)
{
    int spaces = 0;
    size_t i = 0;

    y_indicator(e, "\"", 1, 0, 0);
    while (i < len) {
        /* go-yaml's is_bom() looks at the start of the value, not at i: after
           a leading BOM every character is escaped */
        if (!y_is_printable(v + i) || y_is_bom(v) || y_is_break(v + i) || v[i] == '"' ||
            v[i] == '\\') {
            i += y_escape(e, v + i);
            spaces = 0;
        } else if (v[i] == ' ') {
            if (!spaces && e->column > Y_WIDTH && i > 0 && i < len - 1) {
                y_indent(e, indent);
                if (v[i + 1] == ' ')
                    y_put(e, '\\');
                i++;
            } else {
                i += y_write(e, v + i);
            }
            spaces = 1;
        } else {
            i += y_write(e, v + i);
            spaces = 0;
        }
    }
    y_indicator(e, "\"", 0, 0, 0);
    e->whitespace = 0;
    e->indention = 0;
}

/* the rune before v[i] (a UTF-8 lead byte index) */
static size_t y_prev(const unsigned char *v, size_t i)
{
    i--;
    while (i > 0 && (v[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static void y_block_hints(struct yem *e, const unsigned char *v, size_t len)
{
    char hint[2] = {0, 0};
    size_t i;

    if (v[0] == ' ' || y_is_break(v)) {
        hint[0] = (char)('0' + Y_INDENT);
        y_indicator(e, hint, 0, 0, 0);
    }
    i = y_prev(v, len);
    if (!y_is_break(v + i))
        hint[0] = '-';
    else if (i == 0 || y_is_break(v + y_prev(v, i)))
        hint[0] = '+';
    else
        hint[0] = 0;
    if (hint[0])
        y_indicator(e, hint, 0, 0, 0);
}

static void y_literal(struct yem *e, const unsigned char *v, size_t len, int indent)
{
    int breaks = 1;
    size_t i = 0;

    y_indicator(e, "|", 1, 0, 0);
    y_block_hints(e, v, len);
    y_break(e);
    e->indention = 1;
    e->whitespace = 1;
    while (i < len) {
        if (y_is_break(v + i)) {
            i += y_write_break(e, v + i);
            e->indention = 1;
            breaks = 1;
        } else {
            if (breaks)
                y_indent(e, indent);
            i += y_write(e, v + i);
            e->indention = 0;
            breaks = 0;
        }
    }
}

enum ystyle { Y_PLAIN, Y_SINGLE, Y_DOUBLE, Y_LITERAL };

/* encoder.stringv, then yaml_emitter_select_scalar_style (block context) */
static enum ystyle y_style(const char *s, size_t len)
{
    struct yscan a;
    int plain_ok, single_ok, block_ok;

    y_scan(&a, (const unsigned char *)s, len);
    plain_ok = !(a.lead_space || a.lead_break || a.trail_space || a.trail_break || a.break_space ||
                 a.space_break || a.special || a.line_breaks || a.block_ind);
    single_ok = !(a.break_space || a.space_break || a.special);
    block_ok = !(a.trail_space || a.space_break || a.special);
    if (strchr(s, '\n'))
        return block_ok ? Y_LITERAL : Y_DOUBLE;
    if (y_resolves_other(s) || y_base60(s))
        return Y_DOUBLE;
    if (plain_ok && len > 0)
        return Y_PLAIN;
    return single_ok ? Y_SINGLE : Y_DOUBLE;
}

/* A string value (mapping value or sequence item); indent: where a folded
   or block line starts (the enclosing collection's indent + 2). */
static void y_string(struct yem *e, const char *raw, int indent)
{
    struct sbuf clean = {0};
    const unsigned char *v;

    utf8_clean(&clean, raw ? raw : "");
    v = (const unsigned char *)clean.buf;
    switch (y_style(clean.buf, clean.len)) {
    case Y_PLAIN:
        y_plain(e, v, clean.len, indent);
        break;
    case Y_SINGLE:
        y_single(e, v, clean.len, indent);
        break;
    case Y_LITERAL:
        y_literal(e, v, clean.len, indent);
        break;
    case Y_DOUBLE:
        y_double(e, v, clean.len, indent);
        break;
    }
    sb_release(&clean);
}

static void y_word(struct yem *e, const char *w) /* a plain scalar we know is safe */
{
    if (!e->whitespace)
        y_put(e, ' ');
    while (*w)
        y_put(e, *w++);
    e->whitespace = 0;
    e->indention = 0;
}

static void y_key(struct yem *e, int indent, const char *key)
{
    y_indent(e, indent);
    y_word(e, key);
    y_indicator(e, ":", 0, 0, 0);
}

static void y_kv_str(struct yem *e, int indent, const char *key, const char *val)
{
    y_key(e, indent, key);
    y_string(e, val, indent + Y_INDENT);
}

static void y_kv_uint(struct yem *e, int indent, const char *key, unsigned v)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "%u", v);
    y_key(e, indent, key);
    y_word(e, buf);
}

static void y_item(struct yem *e, int indent)
{
    y_indent(e, indent);
    y_indicator(e, "-", 1, 0, 1);
}

/* key: a list of strings; a sequence in a mapping is not indented */
static void y_kv_list(struct yem *e, int indent, const char *key, const char *const *v, size_t n,
                      int null_when_empty)
{
    size_t i;

    y_key(e, indent, key);
    if (n == 0) {
        if (null_when_empty) {
            y_word(e, "null");
        } else {
            y_indicator(e, "[", 1, 1, 0);
            y_indicator(e, "]", 0, 0, 0);
        }
        return;
    }
    for (i = 0; i < n; i++) {
        y_item(e, indent);
        y_string(e, v[i], indent + Y_INDENT);
    }
}

/* ---- tallying (reports.go) --------------------------------------------- */

/* gateway-api v1.6.1 pkg/features and conformance/utils/suite/profiles.go */
static const char *const f_gateway_ext[] = {
    "GatewayPort8080",
    "GatewayStaticAddresses",
    "GatewayHTTPListenerIsolation",
    "GatewayHTTPSListenerDetectMisdirectedRequests",
    "GatewayInfrastructurePropagation",
    "GatewayAddressEmpty",
    "GatewayBackendClientCertificate",
    "GatewayFrontendClientCertificateValidation",
    "GatewayFrontendClientCertificateValidationInsecureFallback",
    "ListenerSet",
    NULL,
};
static const char *const f_httproute_ext[] = {
    "HTTPRouteDestinationPortMatching",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteMethodMatching",
    "HTTPRouteResponseHeaderModification",
    "HTTPRoutePortRedirect",
    "HTTPRouteSchemeRedirect",
    "HTTPRoutePathRedirect",
    "HTTPRouteHostRewrite",
    "HTTPRoutePathRewrite",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
    "HTTPRouteBackendTimeout",
    "HTTPRouteParentRefPort",
    "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket",
    "HTTPRouteNamedRouteRule",
    "HTTPRouteCORS",
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteRetry",
    "HTTPRouteRetryBackendTimeout",
    "HTTPRouteRetryConnectionError",
    NULL,
};
static const char *const f_backendtls[] = {"BackendTLSPolicy", "BackendTLSPolicySANValidation",
                                           NULL};
static const char *const f_tlsroute_ext[] = {"TLSRouteModeTerminate", "TLSRouteModeMixed", NULL};
static const char *const f_tcproute[] = {"TCPRoute", NULL};
static const char *const f_udproute[] = {"UDPRoute", NULL};
static const char *const f_mesh_ext[] = {
    "MeshClusterIPMatching",
    "MeshConsumerRoute",
    "MeshHTTPRouteRewritePath",
    "MeshHTTPRouteSchemeRedirect",
    "MeshHTTPRouteRedirectPort",
    "MeshHTTPRouteRedirectPath",
    "MeshHTTPRouteBackendRequestHeaderModification",
    "MeshHTTPRouteQueryParamMatching",
    "MeshHTTPRouteNamedRouteRule",
    NULL,
};

struct profile_def {
    const char *name;
    const char *core[4];
    const char *const *ext[4]; /* groups, NULL-terminated */
};

static const struct profile_def profile_defs[] = {
    {"GATEWAY-GRPC", {"Gateway", "ReferenceGrant", "GRPCRoute"}, {f_gateway_ext}},
    {"GATEWAY-HTTP",
     {"Gateway", "ReferenceGrant", "HTTPRoute"},
     {f_gateway_ext, f_httproute_ext, f_backendtls}},
    {"GATEWAY-TCP", {"Gateway", "TCPRoute", "ReferenceGrant"}, {f_gateway_ext, f_tcproute}},
    {"GATEWAY-TLS", {"Gateway", "ReferenceGrant", "TLSRoute"}, {f_gateway_ext, f_tlsroute_ext}},
    {"GATEWAY-UDP", {"Gateway", "UDPRoute", "ReferenceGrant"}, {f_gateway_ext, f_udproute}},
    {"MESH-GRPC", {"Mesh", "GRPCRoute"}, {f_mesh_ext}},
    {"MESH-HTTP", {"Mesh", "HTTPRoute"}, {f_mesh_ext}},
};

static const struct profile_def *profile_lookup(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(profile_defs); i++)
        if (strcmp(profile_defs[i].name, name) == 0)
            return &profile_defs[i];
    return NULL;
}

int conf_profile_features(const char *name, struct conf_strlist *core,
                          struct conf_strlist *extended)
{
    const struct profile_def *p = profile_lookup(name);
    size_t i, j;

    if (!p)
        return 0;
    for (i = 0; core && i < ARRAY_SIZE(p->core) && p->core[i]; i++) {
        core->v = xrealloc(core->v, (core->n + 1) * sizeof(*core->v));
        core->v[core->n++] = xstrdup(p->core[i]);
    }
    for (i = 0; extended && i < ARRAY_SIZE(p->ext) && p->ext[i]; i++)
        for (j = 0; p->ext[i][j]; j++) {
            extended->v = xrealloc(extended->v, (extended->n + 1) * sizeof(*extended->v));
            extended->v[extended->n++] = xstrdup(p->ext[i][j]);
        }
    return 1;
}

const char *conf_profile_name(size_t i)
{
    return i < ARRAY_SIZE(profile_defs) ? profile_defs[i].name : NULL;
}

static int in_list(const char *const *v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return 1;
    return 0;
}

static int in_strlist(const struct conf_strlist *l, const char *s)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->v[i] && strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

static int profile_is_core(const struct profile_def *d, const char *f)
{
    return in_list(d->core, f);
}

static int profile_is_ext(const struct profile_def *d, const char *f)
{
    size_t g;

    for (g = 0; g < ARRAY_SIZE(d->ext) && d->ext[g]; g++)
        if (in_list(d->ext[g], f))
            return 1;
    return 0;
}

struct names {
    const char **v;
    size_t n, alloc;
};

static void names_add(struct names *l, const char *s)
{
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 8;
        l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
    }
    l->v[l->n++] = s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* sort and drop repeats */
static void names_sort_unique(struct names *l)
{
    size_t i, k = 0;

    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_str);
    for (i = 0; i < l->n; i++)
        if (k == 0 || strcmp(l->v[k - 1], l->v[i]) != 0)
            l->v[k++] = l->v[i];
    l->n = k;
}

struct status {
    unsigned passed, skipped, failed;
    struct names skipped_tests, failed_tests;
};

struct profile_report {
    const char *name;
    const struct profile_def *def; /* NULL: a profile this table does not know */
    int present, has_ext;
    struct status core, ext;
};

/* Does scenario s count in profile p, and as extended? */
static int profile_matches(const struct profile_report *p, const struct conf_scenario_result *s,
                           int *extended)
{
    size_t i;

    if (s->features.n == 0 || !p->def) {
        /* no features to judge by: trust the scenario's own profile; upstream
           (every test has features) would count it in every profile */
        *extended = s->extended != 0;
        if (s->features.n == 0 && !s->profile)
            return 1;
        return s->profile && strcmp(s->profile, p->name) == 0;
    }
    *extended = 0;
    for (i = 0; i < s->features.n; i++) {
        const char *f = s->features.v[i] ? s->features.v[i] : "";

        if (!profile_is_core(p->def, f)) {
            if (!profile_is_ext(p->def, f))
                return 0;
            *extended = 1;
        }
    }
    return 1;
}

static void tally_one(struct profile_report *p, const struct conf_scenario_result *s, int extended)
{
    struct status *st = extended ? &p->ext : &p->core;

    p->present = 1;
    switch (s->result) {
    case CONF_PASS:
        st->passed++;
        break;
    case CONF_FAIL:
    case CONF_ERROR: /* upstream has no "error": t.Failed() is FAILED */
        st->failed++;
        names_add(&st->failed_tests, s->name);
        break;
    case CONF_SKIP:
        st->skipped++;
        names_add(&st->skipped_tests, s->name);
        break;
    case CONF_NOT_SUPPORTED: /* counted nowhere, and creates no extended section */
        return;
    }
    if (extended)
        p->has_ext = 1;
}

static int cmp_scenario(const void *a, const void *b)
{
    const struct conf_scenario_result *const *x = a, *const *y = b;
    int c = strcmp((*x)->name, (*y)->name);

    if (c)
        return c;
    return *x < *y ? -1 : *x > *y; /* later entries last: the last one wins */
}

struct tally {
    struct profile_report *p;
    size_t np;
    struct names provisional;
};

static void tally_init(struct tally *t, const struct conf_run_info *info)
{
    struct names enabled = {0};
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < info->profiles.n; i++)
        if (info->profiles.v[i] && *info->profiles.v[i])
            names_add(&enabled, info->profiles.v[i]);
    names_sort_unique(&enabled);
    t->np = enabled.n;
    t->p = xcalloc(enabled.n ? enabled.n : 1, sizeof(*t->p));
    for (i = 0; i < enabled.n; i++) {
        t->p[i].name = enabled.v[i];
        t->p[i].def = profile_lookup(enabled.v[i]);
    }
    free(enabled.v);
}

/* Report(): test names sorted, each counted in every profile it matches */
static void tally_run(struct tally *t, const struct conf_scenario_result *s, size_t n)
{
    const struct conf_scenario_result **order = xcalloc(n ? n : 1, sizeof(*order));
    size_t i, k, m = 0;

    for (i = 0; i < n; i++)
        if (s[i].name)
            order[m++] = &s[i];
    if (m > 1)
        qsort(order, m, sizeof(*order), cmp_scenario);
    for (i = 0; i < m; i++) {
        const struct conf_scenario_result *r = order[i];

        if (i + 1 < m && strcmp(r->name, order[i + 1]->name) == 0)
            continue;
        if (r->result == CONF_PASS && r->provisional)
            names_add(&t->provisional, r->name);
        for (k = 0; k < t->np; k++) {
            int extended;

            if (profile_matches(&t->p[k], r, &extended))
                tally_one(&t->p[k], r, extended);
        }
    }
    free(order);
}

static void tally_release(struct tally *t)
{
    size_t i;

    for (i = 0; i < t->np; i++) {
        free(t->p[i].core.skipped_tests.v);
        free(t->p[i].core.failed_tests.v);
        free(t->p[i].ext.skipped_tests.v);
        free(t->p[i].ext.failed_tests.v);
    }
    free(t->p);
    free(t->provisional.v);
    memset(t, 0, sizeof(*t));
}

/* ---- printing ------------------------------------------------------------ */

static const char *status_result(const struct status *st)
{
    if (st->failed > 0)
        return "failure";
    return st->skipped > 0 ? "partial" : "success";
}

/* buildReportSummary */
static void summary_phrase(struct sbuf *sb, const struct status *st)
{
    if (st->failed > 0)
        sb_printf(sb, "failed with %u test failures", st->failed);
    else if (st->skipped > 0)
        sb_printf(sb, "partially succeeded with %u test skips", st->skipped);
    else
        sb_puts(sb, "succeeded");
}

static void y_status(struct yem *e, int indent, const struct status *st)
{
    if (st->failed_tests.n) /* omitempty */
        y_kv_list(e, indent, "failedTests", st->failed_tests.v, st->failed_tests.n, 0);
    y_kv_str(e, indent, "result", status_result(st));
    if (st->skipped_tests.n)
        y_kv_list(e, indent, "skippedTests", st->skipped_tests.v, st->skipped_tests.n, 0);
    y_key(e, indent, "statistics");
    y_kv_uint(e, indent + Y_INDENT, "Failed", st->failed);
    y_kv_uint(e, indent + Y_INDENT, "Passed", st->passed);
    y_kv_uint(e, indent + Y_INDENT, "Skipped", st->skipped);
}

/* extended.supportedFeatures / unsupportedFeatures: the profile's extended
   features split by the suite's supported set (its own core counts) */
static void y_features(struct yem *e, int indent, const struct profile_report *p,
                       const struct conf_run_info *info)
{
    struct names sup = {0}, unsup = {0};
    size_t g, i;

    if (p->def) {
        for (g = 0; g < ARRAY_SIZE(p->def->ext) && p->def->ext[g]; g++)
            for (i = 0; p->def->ext[g][i]; i++)
                names_add(in_strlist(&info->supported_features, p->def->ext[g][i]) ||
                                  profile_is_core(p->def, p->def->ext[g][i])
                              ? &sup
                              : &unsup,
                          p->def->ext[g][i]);
    } else {
        for (i = 0; i < info->all_extended_features_of_profiles.n; i++) {
            const char *f = info->all_extended_features_of_profiles.v[i];

            if (f)
                names_add(in_strlist(&info->supported_features, f) ? &sup : &unsup, f);
        }
    }
    names_sort_unique(&sup);
    names_sort_unique(&unsup);
    if (sup.n)
        y_kv_list(e, indent, "supportedFeatures", sup.v, sup.n, 0);
    if (unsup.n)
        y_kv_list(e, indent, "unsupportedFeatures", unsup.v, unsup.n, 0);
    free(sup.v);
    free(unsup.v);
}

static void y_profile(struct yem *e, struct profile_report *p, const struct conf_run_info *info)
{
    struct sbuf summary = {0};

    y_item(e, 0);
    y_key(e, 2, "core");
    y_status(e, 4, &p->core);
    sb_puts(&summary, "Core tests ");
    summary_phrase(&summary, &p->core);
    if (p->has_ext) {
        y_key(e, 2, "extended");
        y_status(e, 4, &p->ext);
        y_features(e, 4, p, info);
        sb_puts(&summary, ". Extended tests ");
        summary_phrase(&summary, &p->ext);
    }
    sb_putc(&summary, '.');
    y_kv_str(e, 2, "name", p->name);
    y_kv_str(e, 2, "summary", summary.buf);
    sb_release(&summary);
}

static const char *or_default(const char *s, const char *def)
{
    return s ? s : def;
}

static void y_implementation(struct yem *e, const struct conf_implementation *impl)
{
    y_key(e, 0, "implementation");
    y_kv_list(e, 2, "contact", (const char *const *)impl->contact.v, impl->contact.n, 1);
    y_kv_str(e, 2, "organization", or_default(impl->organization, ""));
    y_kv_str(e, 2, "project", or_default(impl->project, ""));
    y_kv_str(e, 2, "url", or_default(impl->url, ""));
    y_kv_str(e, 2, "version", or_default(impl->version, ""));
}

void conf_report_date(time_t t, char *buf, size_t len)
{
    struct tm tm;
    long off;
    char sign = '+';

    if (!localtime_r(&t, &tm)) {
        snprintf(buf, len, "%s", "1970-01-01T00:00:00Z");
        return;
    }
    off = tm.tm_gmtoff / 60;
    if (off < 0) {
        sign = '-';
        off = -off;
    }
    if (off == 0)
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    else
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60,
                 off % 60);
}

void conf_report_render(const struct conf_run_info *info, const struct conf_scenario_result *s,
                        size_t n, time_t now, struct sbuf *out)
{
    struct yem e = {out, 0, 1, 1};
    struct tally t;
    char date[40];
    size_t i, shown = 0;

    tally_init(&t, info);
    tally_run(&t, s, n);
    conf_report_date(now, date, sizeof(date));
    y_kv_str(&e, 0, "apiVersion", "gateway.networking.k8s.io/v1");
    y_kv_str(&e, 0, "date", date);
    y_kv_str(&e, 0, "gatewayAPIChannel", or_default(info->gateway_api_channel, "UNDEFINED"));
    y_kv_str(&e, 0, "gatewayAPIVersion", or_default(info->gateway_api_version, "UNDEFINED"));
    y_implementation(&e, &info->impl);
    y_kv_str(&e, 0, "kind", "ConformanceReport");
    y_kv_str(&e, 0, "mode", info->mode && *info->mode ? info->mode : "default");
    y_key(&e, 0, "profiles");
    for (i = 0; i < t.np; i++) {
        if (!t.p[i].present)
            continue;
        y_profile(&e, &t.p[i], info);
        shown++;
    }
    if (!shown)
        y_word(&e, "null"); /* a nil []ProfileReport */
    if (t.provisional.n)
        y_kv_list(&e, 0, "succeededProvisionalTests", t.provisional.v, t.provisional.n, 0);
    y_indent(&e, 0); /* the document ends with a line break */
    tally_release(&t);
}

int conf_write_report(const char *path, const struct conf_run_info *info,
                      const struct conf_scenario_result *s, size_t n, char *err, size_t errlen)
{
    struct sbuf sb = {0};
    int rc;

    conf_report_render(info, s, n, time(NULL), &sb);
    rc = conf_report_write_atomic(path, sb.buf, sb.len, 0644, err, errlen);
    sb_release(&sb);
    return rc;
}

/* ---- Sonobuoy ------------------------------------------------------------ */

/* A .tar.gz without zlib: ustar entries in gzip "stored" deflate blocks. */

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    size_t i;
    int k;

    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put_le32(struct sbuf *sb, uint32_t v)
{
    char b[4] = {(char)(v & 0xFF), (char)((v >> 8) & 0xFF), (char)((v >> 16) & 0xFF),
                 (char)((v >> 24) & 0xFF)};

    sb_add(sb, b, 4);
}

static void gzip_stored(struct sbuf *out, const char *data, size_t len)
{
    static const char header[10] = {0x1f, (char)0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    size_t off = 0;

    sb_add(out, header, sizeof(header));
    do {
        size_t chunk = len - off > 65535 ? 65535 : len - off;
        char b[5];

        b[0] = (char)(off + chunk == len); /* BFINAL, BTYPE 00 (stored) */
        b[1] = (char)(chunk & 0xFF);
        b[2] = (char)(chunk >> 8);
        b[3] = (char)(~chunk & 0xFF);
        b[4] = (char)((~chunk >> 8) & 0xFF);
        sb_add(out, b, 5);
        sb_add(out, data + off, chunk);
        off += chunk;
    } while (off < len);
    put_le32(out, crc32_update(0, (const unsigned char *)data, len));
    put_le32(out, (uint32_t)(len & 0xFFFFFFFFu));
}

/* a ustar number: width-1 octal digits and a NUL */
static void tar_octal(char *field, size_t width, unsigned long long v)
{
    size_t i = width - 1;

    field[i] = 0;
    while (i-- > 0) {
        field[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

static int tar_add(struct sbuf *tar, const char *name, const char *data, size_t len, time_t mtime)
{
    char h[512];
    unsigned sum = 0;
    size_t i;

    if (strlen(name) > 99 || (unsigned long long)len >= 1ULL << 33)
        return -1;
    memset(h, 0, sizeof(h));
    snprintf(h, 100, "%s", name);
    tar_octal(h + 100, 8, 0644);
    tar_octal(h + 108, 8, 0); /* uid */
    tar_octal(h + 116, 8, 0); /* gid */
    tar_octal(h + 124, 12, len);
    tar_octal(h + 136, 12, mtime > 0 ? (unsigned long long)mtime & 077777777777ULL : 0);
    memset(h + 148, ' ', 8);             /* the checksum counts its own field as spaces */
    h[156] = '0';                        /* a regular file */
    snprintf(h + 257, 6, "%s", "ustar"); /* magic "ustar\0", version "00" */
    h[263] = '0';
    h[264] = '0';
    for (i = 0; i < sizeof(h); i++)
        sum += (unsigned char)h[i];
    tar_octal(h + 148, 7, sum); /* six digits, NUL, and the space stays */
    sb_add(tar, h, sizeof(h));
    sb_add(tar, data, len);
    memset(h, 0, sizeof(h));
    sb_add(tar, h, (512 - len % 512) % 512);
    return 0;
}

static int read_file(const char *path, struct sbuf *out, time_t *mtime, char *err, size_t errlen)
{
    char buf[65536];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), e;
    ssize_t r;

    if (fd < 0)
        return fail(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        e = errno;
        close(fd);
        return fail(err, errlen, "cannot read '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, "cannot read '%s': not a regular file", path);
    }
    *mtime = st.st_mtime;
    sb_add(out, "", 0);
    do {
        r = read(fd, buf, sizeof(buf));
        if (r > 0)
            sb_add(out, buf, (size_t)r);
    } while (r > 0 || (r < 0 && errno == EINTR));
    e = errno;
    close(fd);
    if (r < 0)
        return fail(err, errlen, "cannot read '%s': %s", path, strerror(e));
    return 0;
}

static int pack_results(const char *dir, const char *const *files, size_t nfiles,
                        const char *tarball, char *err, size_t errlen)
{
    struct sbuf tar = {0}, gz = {0};
    size_t i;
    int rc = -1;

    for (i = 0; i < nfiles; i++) {
        struct sbuf data = {0};
        char *path = xasprintf("%s/%s", dir, files[i]);
        time_t mtime = 0;
        int bad = read_file(path, &data, &mtime, err, errlen) != 0;

        if (!bad && tar_add(&tar, files[i], data.buf ? data.buf : "", data.len, mtime) != 0)
            bad = fail(err, errlen, "cannot pack '%s': name longer than 99 bytes or file of 8 GiB",
                       path) != 0;
        sb_release(&data);
        free(path);
        if (bad)
            goto out;
    }
    sb_add(&tar, "", 0);
    for (i = 0; i < 1024; i++) /* two zero blocks end the archive */
        sb_putc(&tar, 0);
    gzip_stored(&gz, tar.buf, tar.len);
    rc = conf_report_write_atomic(tarball, gz.buf, gz.len, 0644, err, errlen);
out:
    sb_release(&tar);
    sb_release(&gz);
    return rc;
}

/* the worker appends path's text after its first '.' to the upload URL */
static int check_dots(const char *path, char *err, size_t errlen)
{
    const char *dot = strchr(path, '.'), *slash = strrchr(path, '/');

    if (dot && slash && dot < slash)
        return fail(err, errlen,
                    "cannot hand '%s' to Sonobuoy: its worker takes the file extension from the "
                    "first '.' of the path, which here is in a directory name",
                    path);
    return 0;
}

/* The file's name in dir: a bare name, or a path whose directory is dir
   (the worker shares only that directory). Returns a pointer into file. */
static const char *name_in_dir(const char *dir, const char *file, char *err, size_t errlen)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    char *fdir, *real;
    int same;

    if (!file || !*file || (slash && !slash[1])) {
        fail(err, errlen, "cannot hand '%s' to Sonobuoy: not a file name", file ? file : "");
        return NULL;
    }
    if (!slash)
        return file;
    fdir = xstrndup(file, slash == file ? 1 : (size_t)(slash - file));
    real = realpath(fdir, NULL);
    same = real && strcmp(real, dir) == 0;
    free(real);
    free(fdir);
    if (!same) {
        fail(err, errlen, "cannot hand '%s' to Sonobuoy: it is not in the results directory '%s'",
             file, dir);
        return NULL;
    }
    return slash + 1;
}

int conf_write_sonobuoy_done(const char *results_dir, const char *const *files, size_t nfiles,
                             char *err, size_t errlen)
{
    const char **names = NULL;
    char *dir = NULL, *shipped = NULL, *done = NULL;
    size_t i;
    int rc = -1;

    if (!results_dir || !*results_dir)
        return fail(err, errlen, "no Sonobuoy results directory given");
    if (nfiles == 0)
        return fail(err, errlen, "no result files to hand to Sonobuoy in '%s'", results_dir);
    dir = realpath(results_dir, NULL);
    if (!dir)
        return fail(err, errlen, "cannot use Sonobuoy results directory '%s': %s", results_dir,
                    strerror(errno));
    names = xcalloc(nfiles, sizeof(*names));
    for (i = 0; i < nfiles; i++) {
        names[i] = name_in_dir(dir, files[i], err, errlen);
        if (!names[i])
            goto out;
    }
    shipped = nfiles == 1 ? xasprintf("%s/%s", dir, names[0])
                          : xasprintf("%s/gwconform-results.tar.gz", dir);
    if (check_dots(shipped, err, errlen) != 0)
        goto out;
    if (nfiles == 1 && access(shipped, R_OK) != 0) {
        fail(err, errlen, "cannot hand '%s' to Sonobuoy: %s", shipped, strerror(errno));
        goto out;
    }
    if (nfiles > 1 && pack_results(dir, names, nfiles, shipped, err, errlen) != 0)
        goto out;
    done = xasprintf("%s/done", dir);
    rc = conf_report_write_atomic(done, shipped, strlen(shipped), 0644, err, errlen);
out:
    free(done);
    free(shipped);
    free(names);
    free(dir);
    return rc;
}

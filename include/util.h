/*
 * Small helpers every module uses: allocation that aborts on OOM (a program,
 * not a library: see docs/DESIGN.md), array size, a growable string buffer.
 */
#ifndef GC_UTIL_H
#define GC_UTIL_H

#include <stddef.h>
#include <stdarg.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees with free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Install the abort-on-OOM policy into cJSON. Call once from main(). */
void util_init_cjson(void);

/*
 * A growable, always NUL-terminated byte buffer (git's strbuf, curl's dynbuf).
 * sb_release() frees it; an all-zero struct is a valid empty buffer.
 */
struct sbuf {
    char *buf;
    size_t len;
    size_t alloc;
};

void sb_add(struct sbuf *sb, const char *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_putc(struct sbuf *sb, char c);
void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sb_truncate(struct sbuf *sb, size_t len);
/* Hand the buffer to the caller (free() it); sb is empty afterwards. */
char *sb_detach(struct sbuf *sb);
void sb_release(struct sbuf *sb);

/* Number of Unicode code points in a UTF-8 string (invalid bytes count one each). */
size_t utf8_len(const char *s);

/*
 * Append s quoted as Go's strconv.Quote does (%q): printable runes as they
 * are, \a \b \f \n \r \t \v \\ \" escaped, other control bytes as \x.., other
 * non-printable runes as \u.... or \U........, invalid UTF-8 as \x...
 */
void sb_goquote(struct sbuf *sb, const char *s);

/*
 * Append s as Go's encoding/json marshals a string: quoted, \" \\ \n \r \t,
 * other control characters as \u00XX, '<' '>' '&' as \u003c \u003e \u0026
 * (HTML-safe escaping), U+2028/U+2029 escaped, invalid UTF-8 as \ufffd.
 */
void sb_gojson_string(struct sbuf *sb, const char *s);
/*
 * Append v (a cJSON value) as Go's json.Marshal prints the decoded value:
 * objects with their keys sorted, no spaces, strings as sb_gojson_string().
 */
struct cJSON;
void sb_gojson(struct sbuf *sb, const struct cJSON *v);

/* The JSON kind of a value as Go's encoding/json names it in an
   UnmarshalTypeError ("string", "number", "bool", "array", "object"). */
const char *go_json_kind(const struct cJSON *v);

#endif

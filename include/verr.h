/*
 * Field-error lists that print exactly as the API server's field.ErrorList
 * (k8s.io/apimachinery/pkg/util/validation/field), spec validation.md §1.4.
 * Validation results are data: a denied object is a successful call.
 */
#ifndef GC_VERR_H
#define GC_VERR_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "fpath.h"

/* clang-format off */
#define VERR_TYPE_MAP(X)                        \
    X(REQUIRED, "FieldValueRequired", "Required value")         \
    X(INVALID, "FieldValueInvalid", "Invalid value")            \
    X(NOT_SUPPORTED, "FieldValueNotSupported", "Unsupported value") \
    X(DUPLICATE, "FieldValueDuplicate", "Duplicate value")      \
    X(TOO_LONG, "FieldValueTooLong", "Too long")                \
    X(TOO_MANY, "FieldValueTooMany", "Too many")                \
    X(FORBIDDEN, "FieldValueForbidden", "Forbidden")            \
    X(TYPE_INVALID, "FieldValueTypeInvalid", "Invalid value")    \
    X(UNKNOWN_FIELD, "FieldValueUnknown", "unknown field")      \
    X(NOT_FOUND, "FieldValueNotFound", "Not found")             \
    X(NOTE, "", "")

enum verr_type {
#define X(code, reason, text) VERR_##code,
    VERR_TYPE_MAP(X)
#undef X
    VERR_TYPE_COUNT
};
/* clang-format on */

/* Whether the API server treats the type as blocking CEL (§1.2 4d). */
int verr_type_blocking(enum verr_type t);
/* The StatusCause reason, e.g. "FieldValueRequired". */
const char *verr_type_reason(enum verr_type t);

/* Severity: an error denies; a warning is reported but allowed. */
enum verr_level { VERR_ERROR, VERR_WARNING };

struct verr {
    enum verr_type type;
    enum verr_level level;
    char *field;  /* owned: printed path, "<nil>" for the root */
    char *value;  /* owned, may be NULL: the printed bad value ("\"x\"", 17, "\"array\"") */
    char *detail; /* owned, may be "" but never NULL */
    const char
        *rule; /* not owned: static id of the spec row or rule ("GW-8", "HTTPRoute:spec.rules") */
};

/* A growable list of field errors. Owns its items. All-zero is empty. */
struct verr_list {
    struct verr *item;
    size_t len;
    size_t alloc;
};

#define VERR_LIST_INIT \
    {                  \
        NULL, 0, 0     \
    }

/*
 * Add an error at 'at'. 'value' is the already-printed bad value or NULL
 * (for Required, Forbidden, TooLong). The detail is printf-formatted.
 * Returns the new item so callers can tag it.
 */
struct verr *verr_add(struct verr_list *list, enum verr_type type, const char *at,
                      const char *value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Print a cJSON value as Go's field.Error prints a bad value (%q for
   strings, %v for numbers and booleans, JSON otherwise); caller frees. */
char *verr_value_json(const cJSON *v);

/* A number as Go's %v prints a float64: the shortest digits that read back,
   in exponent form ("1e+06", "1.5e-05") when the exponent is below -4 or 6
   and over, else plainly ("65535", "0.25"). Caller frees. */
char *verr_go_float(double d);
/* Whether the API server's JSON decoder holds this number as a float64
   (not integral, or beyond int64) rather than an int64. */
int verr_go_is_float(const cJSON *v);
/* Print a C string as Go's %q; caller frees. */
char *verr_value_str(const char *s);

/* "path: Type: value: detail" for one item; caller frees. */
char *verr_format(const struct verr *e);
/*
 * The aggregate as ToAggregate().Error() prints it: the single message, or
 * "[m1, m2, ...]" with exact duplicates dropped. Only items of 'level'.
 * Returns NULL when there are none; caller frees.
 */
char *verr_join(const struct verr_list *list, enum verr_level level);
size_t verr_count(const struct verr_list *list, enum verr_level level);
/* Move every item of 'from' to the end of 'to'; 'from' is left empty. */
void verr_splice(struct verr_list *to, struct verr_list *from);
void verr_list_release(struct verr_list *list);

#endif

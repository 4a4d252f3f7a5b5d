/*
 * A custom resource's metadata on create, as the Kubernetes 1.37 API server
 * judges it (objectmeta.h). Pure: no I/O.
 *
 * The path of a CR's metadata through the API server, which this file follows:
 *  1. apiextensions-apiserver's schemaCoercingDecoder re-marshals the decoded
 *     metadata map (encoding/json: keys sorted bytewise) and strictly decodes
 *     it into metav1.ObjectMeta (objectmeta.GetObjectMetaWithOptions, with
 *     sigs.k8s.io/json). A type mismatch fails the request; unknown keys are
 *     collected as strict-decoding errors "metadata.<path>".
 *  2. rest.BeforeCreate generates a name from generateName, clears
 *     metadata.namespace of a cluster-scoped kind, and PrepareForCreate sets
 *     generation to 1.
 *  3. customResourceValidator validates the ObjectMeta with
 *     ValidateObjectMetaAccessor (NameIsDNSSubdomain); the declarative
 *     ObjectMeta rules are all alpha, so they never replace these errors.
 *     The fieldmanager has by then reset managedFields that do not decode, so
 *     ValidateManagedFields never fails on create and is not repeated here.
 *  4. On success, WarningsOnCreate adds the finalizer-name warnings.
 */
#include "objectmeta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- the decoder's view of metav1.ObjectMeta ---- */

enum mkind {
    MK_STRING,  /* string or a string kind (types.UID, ManagedFieldsOperationType) */
    MK_INT64,   /* int64, *int64 */
    MK_BOOL,    /* *bool */
    MK_TIME,    /* metav1.Time, *metav1.Time: its own UnmarshalJSON */
    MK_STRMAP,  /* map[string]string */
    MK_STRLIST, /* []string */
    MK_OWNERS,  /* []metav1.OwnerReference */
    MK_MANAGED, /* []metav1.ManagedFieldsEntry */
    MK_RAW      /* *metav1.FieldsV1: takes any JSON */
};

struct mfield {
    const char *name;   /* the JSON name (matched case-sensitively) */
    enum mkind kind;    /* how it decodes */
    const char *gotype; /* reflect.Type.String() of the Go field, for type errors */
};

/* k8s.io/apimachinery/pkg/apis/meta/v1/types.go */
static const struct mfield objectmeta_fields[] = {
    {"name", MK_STRING, "string"},
    {"generateName", MK_STRING, "string"},
    {"namespace", MK_STRING, "string"},
    {"selfLink", MK_STRING, "string"},
    {"uid", MK_STRING, "types.UID"},
    {"resourceVersion", MK_STRING, "string"},
    {"generation", MK_INT64, "int64"},
    {"creationTimestamp", MK_TIME, "string"},
    {"deletionTimestamp", MK_TIME, "string"},
    {"deletionGracePeriodSeconds", MK_INT64, "int64"},
    {"labels", MK_STRMAP, "map[string]string"},
    {"annotations", MK_STRMAP, "map[string]string"},
    {"ownerReferences", MK_OWNERS, "[]v1.OwnerReference"},
    {"finalizers", MK_STRLIST, "[]string"},
    {"managedFields", MK_MANAGED, "[]v1.ManagedFieldsEntry"},
};

static const struct mfield ownerref_fields[] = {
    {"apiVersion", MK_STRING, "string"}, {"kind", MK_STRING, "string"},
    {"name", MK_STRING, "string"},       {"uid", MK_STRING, "types.UID"},
    {"controller", MK_BOOL, "bool"},     {"blockOwnerDeletion", MK_BOOL, "bool"},
};

static const struct mfield managed_fields[] = {
    {"manager", MK_STRING, "string"},     {"operation", MK_STRING, "v1.ManagedFieldsOperationType"},
    {"apiVersion", MK_STRING, "string"},  {"time", MK_TIME, "string"},
    {"fieldsType", MK_STRING, "string"},  {"fieldsV1", MK_RAW, ""},
    {"subresource", MK_STRING, "string"},
};

struct mstruct {
    const char *goname; /* the struct's type name, as type errors print it */
    const struct mfield *field;
    size_t nfield;
};

static const struct mstruct objectmeta_struct = {"ObjectMeta", objectmeta_fields,
                                                 ARRAY_SIZE(objectmeta_fields)};
static const struct mstruct ownerref_struct = {"OwnerReference", ownerref_fields,
                                               ARRAY_SIZE(ownerref_fields)};
static const struct mstruct managed_struct = {"ManagedFieldsEntry", managed_fields,
                                              ARRAY_SIZE(managed_fields)};

static const struct mfield *field_of(const struct mstruct *st, const char *key)
{
    size_t i;

    for (i = 0; i < st->nfield; i++)
        if (strcmp(st->field[i].name, key) == 0)
            return &st->field[i];
    return NULL;
}

static const cJSON *metadata_of(const cJSON *obj)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "metadata") : NULL;
}

static int member_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

/* The members of o in the order encoding/json writes a map: keys sorted
   bytewise. Caller frees the array. */
static const cJSON **sorted_members(const cJSON *o, size_t *n)
{
    const cJSON **m;
    const cJSON *c;
    size_t i = 0;

    *n = (size_t)cJSON_GetArraySize(o);
    m = xcalloc(*n + 1, sizeof(*m));
    cJSON_ArrayForEach(c, o) {
        m[i++] = c;
    }
    qsort(m, *n, sizeof(*m), member_cmp);
    return m;
}

/* ---- numbers as encoding/json writes a float64 ---- */

/* Would encoding/json decode the number into an int64? (The API server
   first decodes the body with integers kept as int64, floats as float64,
   then re-marshals it; 1.0 comes back as 1.) */
static int fits_int64(double d)
{
    return d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0;
}

/* The shortest decimal digits that read back as d (strconv's 'shortest'),
   without trailing zeros, and the decimal exponent of the first one. */
static void shortest_digits(double d, char digits[24], int *exp10)
{
    char buf[64];
    const char *p;
    size_t nd = 0;
    int prec;

    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* buf is [-]d[.ddd]e(+|-)xx */
    for (p = buf; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < 23)
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    *exp10 = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
}

/* strconv.AppendFloat(f, 'f' or 'e', -1, 64) with encoding/json's choice of
   format and its "e-07" -> "e-7" clean-up. Caller frees. */
static char *go_json_float(double d)
{
    char digits[24];
    struct sbuf sb = {0};
    size_t nd, i;
    int exp10;

    if (isnan(d) || isinf(d))
        return xasprintf("%g", d);
    if (fits_int64(d))
        return xasprintf("%.0f", d);
    shortest_digits(d, digits, &exp10);
    nd = strlen(digits);
    if (d < 0)
        sb_putc(&sb, '-');
    if (fabs(d) < 1e-6 || fabs(d) >= 1e21) {
        sb_printf(&sb, "%c%s%s", digits[0], nd > 1 ? "." : "", digits + 1);
        if (exp10 < 0)
            sb_printf(&sb, "e-%d", -exp10);
        else
            sb_printf(&sb, "e+%02d", exp10);
    } else if (exp10 >= 0) {
        size_t ip = (size_t)exp10 + 1; /* digits before the point */

        for (i = 0; i < ip; i++) {
            if (i < nd)
                sb_putc(&sb, digits[i]);
            else
                sb_putc(&sb, '0');
        }
        if (nd > ip)
            sb_printf(&sb, ".%s", digits + ip);
    } else {
        sb_puts(&sb, "0.");
        for (i = 1; i < (size_t)-exp10; i++)
            sb_putc(&sb, '0');
        sb_puts(&sb, digits);
    }
    return sb_detach(&sb);
}

/* ---- time.Parse(time.RFC3339, s), as metav1.Time.UnmarshalJSON calls it ---- */

#define RFC3339 "2006-01-02T15:04:05Z07:00"

/* The time package's own quoting in ParseError: bytes outside printable
   ASCII as \xNN, '"' and '\' escaped. */
static void time_quote(struct sbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    sb_putc(sb, '"');
    for (; *p; p++) {
        if (*p >= 0x80 || *p < ' ') {
            sb_printf(sb, "\\x%02x", *p);
            continue;
        }
        if (*p == '"' || *p == '\\')
            sb_putc(sb, '\\');
        sb_putc(sb, (char)*p);
    }
    sb_putc(sb, '"');
}

/* ParseError without a message: "cannot parse <valueElem> as <layoutElem>". */
static char *time_cannot(const char *value, const char *value_elem, const char *layout_elem)
{
    struct sbuf sb = {0};

    sb_puts(&sb, "parsing time ");
    time_quote(&sb, value);
    sb_puts(&sb, " as ");
    time_quote(&sb, RFC3339);
    sb_puts(&sb, ": cannot parse ");
    time_quote(&sb, value_elem);
    sb_puts(&sb, " as ");
    time_quote(&sb, layout_elem);
    return sb_detach(&sb);
}

/* ParseError with a message, e.g. ": month out of range". */
static char *time_says(const char *value, const char *what, const char *extra)
{
    struct sbuf sb = {0};

    sb_puts(&sb, "parsing time ");
    time_quote(&sb, value);
    sb_printf(&sb, ": %s", what);
    if (extra) {
        sb_puts(&sb, ": ");
        time_quote(&sb, extra);
    }
    return sb_detach(&sb);
}

/* Is s[i] a decimal digit (with s at least i+1 bytes long)? */
static int digit_at(const char *s, size_t i)
{
    size_t k;

    for (k = 0; k < i; k++)
        if (!s[k])
            return 0;
    return s[i] >= '0' && s[i] <= '9';
}

/* The time package's getnum: one or two digits (exactly two when fixed). */
static int getnum(const char **sp, int fixed, int *out)
{
    const char *s = *sp;

    *out = 0;
    if (!digit_at(s, 0))
        return -1;
    if (!digit_at(s, 1)) {
        if (fixed)
            return -1;
        *out = s[0] - '0';
        *sp = s + 1;
        return 0;
    }
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    *sp = s + 2;
    return 0;
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
        return 29;
    return days[month - 1];
}

/* A parse in progress: what is left of value, and the first error. */
struct tparse {
    const char *value;
    const char *v;
    char *err;
};

/* A literal of the layout: the byte that must come next. */
static void t_lit(struct tparse *t, char c, const char *elem)
{
    if (t->err)
        return;
    if (*t->v != c)
        t->err = time_cannot(t->value, t->v, elem);
    else
        t->v++;
}

/* "2006": four digits. */
static int t_year(struct tparse *t)
{
    int i, year = 0;

    for (i = 0; i < 4; i++) {
        if (!digit_at(t->v, (size_t)i)) {
            t->err = time_cannot(t->value, t->v, "2006");
            return 0;
        }
        year = year * 10 + (t->v[i] - '0');
    }
    t->v += 4;
    return year;
}

/* A one- or two-digit element, then its range ("month out of range"). */
static int t_num(struct tparse *t, int fixed, const char *elem, int lo, int hi, const char *range)
{
    const char *hold = t->v;
    int n = 0;

    if (t->err)
        return 0;
    if (getnum(&t->v, fixed, &n))
        t->err = time_cannot(t->value, hold, elem);
    else if (n < lo || n > hi)
        t->err = time_says(t->value, range, NULL);
    return n;
}

/* A fraction after the seconds, which the layout lacks: taken as it is. */
static void t_fraction(struct tparse *t)
{
    if (t->err || (t->v[0] != '.' && t->v[0] != ',') || !digit_at(t->v, 1))
        return;
    t->v += 2;
    while (*t->v >= '0' && *t->v <= '9')
        t->v++;
}

/* "Z07:00": Z, or a sign, two digits, ':', two digits. */
static void t_zone(struct tparse *t)
{
    const char *v = t->v, *range = NULL, *p;
    char hh[3], mm[3];
    int oh = 0, om = 0, bad;

    if (t->err)
        return;
    if (*v == 'Z') {
        t->v++;
        return;
    }
    if (strnlen(v, 6) < 6 || v[3] != ':') {
        t->err = time_cannot(t->value, v, "Z07:00");
        return;
    }
    hh[0] = v[1], hh[1] = v[2], hh[2] = '\0';
    mm[0] = v[4], mm[1] = v[5], mm[2] = '\0';
    p = hh;
    bad = getnum(&p, 1, &oh) != 0;
    p = mm;
    if (!bad)
        bad = getnum(&p, 1, &om) != 0;
    if (oh > 24) /* '>', not '>=': offsets of 24 hours pass */
        range = "time zone offset hour out of range";
    if (om > 60)
        range = "time zone offset minute out of range";
    if (range)
        t->err = time_says(t->value, range, NULL);
    else if (bad || (v[0] != '+' && v[0] != '-'))
        t->err = time_cannot(t->value, v, "Z07:00");
    t->v += 6;
}

/* Go's generic time.parse for the RFC 3339 layout (the fast path only ever
   accepts a subset of what it accepts). NULL when s parses, else the
   *time.ParseError text. Caller frees. */
static char *rfc3339_error(const char *value)
{
    struct tparse t = {value, value, NULL};
    int year, month, day;

    year = t_year(&t);
    t_lit(&t, '-', "-");
    month = t_num(&t, 1, "01", 1, 12, "month out of range");
    t_lit(&t, '-', "-");
    day = t_num(&t, 1, "02", 0, 99, NULL); /* checked against the month at the end */
    t_lit(&t, 'T', "T");
    (void)t_num(&t, 0, "15", 0, 23, "hour out of range");
    t_lit(&t, ':', ":");
    (void)t_num(&t, 1, "04", 0, 59, "minute out of range");
    t_lit(&t, ':', ":");
    (void)t_num(&t, 1, "05", 0, 59, "second out of range");
    t_fraction(&t);
    t_zone(&t);
    if (!t.err && *t.v)
        t.err = time_says(value, "extra text", t.v);
    if (!t.err && (day < 1 || day > days_in(month, year)))
        t.err = time_says(value, "day out of range", NULL);
    return t.err;
}

/* ---- strict decoding of metadata into metav1.ObjectMeta ---- */

struct decoder {
    char *saved; /* the first type error (decoding goes on after it) */
    char *fatal; /* an error returned by metav1.Time's UnmarshalJSON: decoding stops */
};

/* encoding/json's UnmarshalTypeError.Error(): the struct is the innermost
   one being decoded, the field the dotted JSON names from the root (no
   indices, no map keys). */
static char *type_error(const char *value, const char *strct, const char *field, const char *gotype)
{
    if (!strct)
        return xasprintf("json: cannot unmarshal %s into Go value of type %s", value, gotype);
    return xasprintf("json: cannot unmarshal %s into Go struct field %s.%s of type %s", value,
                     strct, field, gotype);
}

static void save_error(struct decoder *d, char *msg)
{
    if (d->saved)
        free(msg);
    else
        d->saved = msg;
}

static int decode_struct(struct decoder *d, const cJSON *o, const struct mstruct *st,
                         const char *parent);

/* map[string]string: each value a string (or null). */
static void decode_strmap(struct decoder *d, const cJSON *v, const struct mfield *f,
                          const char *strct, const char *path)
{
    const cJSON **m;
    size_t i, n;

    if (!cJSON_IsObject(v)) {
        save_error(d, type_error(go_json_kind(v), strct, path, f->gotype));
        return;
    }
    m = sorted_members(v, &n);
    for (i = 0; i < n; i++)
        if (!cJSON_IsNull(m[i]) && !cJSON_IsString(m[i]))
            save_error(d, type_error(go_json_kind(m[i]), strct, path, "string"));
    free(m);
}

/* []string */
static void decode_strlist(struct decoder *d, const cJSON *v, const struct mfield *f,
                           const char *strct, const char *path)
{
    const cJSON *e;

    if (!cJSON_IsArray(v)) {
        save_error(d, type_error(go_json_kind(v), strct, path, f->gotype));
        return;
    }
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsNull(e) && !cJSON_IsString(e))
            save_error(d, type_error(go_json_kind(e), strct, path, "string"));
    }
}

/* []OwnerReference, []ManagedFieldsEntry. Nonzero when decoding stops. */
static int decode_structlist(struct decoder *d, const cJSON *v, const struct mfield *f,
                             const char *strct, const char *path)
{
    const struct mstruct *elem = f->kind == MK_OWNERS ? &ownerref_struct : &managed_struct;
    const cJSON *e;

    if (!cJSON_IsArray(v)) {
        save_error(d, type_error(go_json_kind(v), strct, path, f->gotype));
        return 0;
    }
    cJSON_ArrayForEach(e, v) {
        if (cJSON_IsObject(e)) {
            if (decode_struct(d, e, elem, path))
                return 1;
        } else if (!cJSON_IsNull(e)) {
            char *t = xasprintf("v1.%s", elem->goname);

            save_error(d, type_error(go_json_kind(e), strct, path, t));
            free(t);
        }
    }
    return 0;
}

/* int64: an integer once re-marshaled, else "number <literal>". */
static void decode_int64(struct decoder *d, const cJSON *v, const struct mfield *f,
                         const char *strct, const char *path)
{
    char *lit, *val;

    if (!cJSON_IsNumber(v)) {
        save_error(d, type_error(go_json_kind(v), strct, path, f->gotype));
        return;
    }
    if (fits_int64(v->valuedouble))
        return;
    lit = go_json_float(v->valuedouble);
    val = xasprintf("number %s", lit);
    save_error(d, type_error(val, strct, path, f->gotype));
    free(val);
    free(lit);
}

/* Decode v into a field of kind f (at Go struct strct, dotted path). Returns
   nonzero when decoding must stop. */
static int decode_value(struct decoder *d, const cJSON *v, const struct mfield *f,
                        const char *strct, const char *path)
{
    if (cJSON_IsNull(v))
        return 0;
    switch (f->kind) {
    case MK_STRING:
        if (!cJSON_IsString(v))
            save_error(d, type_error(go_json_kind(v), strct, path, f->gotype));
        break;
    case MK_BOOL:
        if (!cJSON_IsBool(v))
            save_error(d, type_error(go_json_kind(v), strct, path, f->gotype));
        break;
    case MK_INT64:
        decode_int64(d, v, f, strct, path);
        break;
    case MK_TIME:
        /* metav1.Time.UnmarshalJSON: json.Unmarshal into a string, then
           time.Parse; its error is returned, not saved, so it ends decoding
           and wins over an earlier type error */
        if (cJSON_IsString(v))
            d->fatal = rfc3339_error(v->valuestring);
        else
            d->fatal = type_error(go_json_kind(v), strct, path, "string");
        return d->fatal != NULL;
    case MK_STRMAP:
        decode_strmap(d, v, f, strct, path);
        break;
    case MK_STRLIST:
        decode_strlist(d, v, f, strct, path);
        break;
    case MK_OWNERS:
    case MK_MANAGED:
        return decode_structlist(d, v, f, strct, path);
    case MK_RAW:
        break;
    }
    return 0;
}

static int decode_struct(struct decoder *d, const cJSON *o, const struct mstruct *st,
                         const char *parent)
{
    const cJSON **m;
    size_t i, n;
    int stop = 0;

    m = sorted_members(o, &n);
    for (i = 0; i < n && !stop; i++) {
        const struct mfield *f = field_of(st, m[i]->string);
        char *path;

        if (!f)
            continue; /* unknown: a strict error, not a decoding one */
        path = parent ? xasprintf("%s.%s", parent, f->name) : xstrdup(f->name);
        stop = decode_value(d, m[i], f, st->goname, path);
        free(path);
    }
    free(m);
    return stop;
}

char *objectmeta_decode_error(const cJSON *obj, const char *kind, const char *version)
{
    const cJSON *md = metadata_of(obj);
    struct decoder d = {NULL, NULL};
    struct sbuf sb = {0};
    char *msg;

    if (!md || cJSON_IsNull(md))
        return NULL;
    if (!cJSON_IsObject(md))
        d.saved = type_error(go_json_kind(md), NULL, NULL, "v1.ObjectMeta");
    else
        decode_struct(&d, md, &objectmeta_struct, NULL);
    if (d.fatal) { /* returned errors win over saved ones */
        free(d.saved);
        d.saved = NULL;
    }
    msg = d.fatal ? d.fatal : d.saved;
    if (!msg)
        return NULL;
    if (!kind)
        kind = "";
    sb_printf(&sb, "%s in version ", kind);
    sb_goquote(&sb, version ? version : "");
    sb_printf(&sb, " cannot be handled as a %s: %s", kind, msg);
    free(msg);
    return sb_detach(&sb);
}

/* ---- unknown fields ---- */

#define MAX_STRICT_ERRORS 100 /* sigs.k8s.io/json keeps at most this many */

static void unknown_in(const cJSON *o, const struct mstruct *st, const char *path, const char *rule,
                       size_t *count, struct verr_list *errs);

/* The entries of an ownerReferences or managedFields list. */
static void unknown_in_list(const cJSON *list, const struct mfield *f, const char *path,
                            size_t *count, struct verr_list *errs)
{
    const struct mstruct *elem = f->kind == MK_OWNERS ? &ownerref_struct : &managed_struct;
    const char *rule = f->kind == MK_OWNERS ? "metadata.ownerReferences" : "metadata.managedFields";
    const cJSON *e;
    int idx = 0;

    cJSON_ArrayForEach(e, list) {
        if (cJSON_IsObject(e)) {
            char *at = xasprintf("%s.%s[%d]", path, f->name, idx);

            unknown_in(e, elem, at, rule, count, errs);
            free(at);
        }
        idx++;
    }
}

static void unknown_in(const cJSON *o, const struct mstruct *st, const char *path, const char *rule,
                       size_t *count, struct verr_list *errs)
{
    const cJSON **m;
    size_t i, n;

    m = sorted_members(o, &n);
    for (i = 0; i < n; i++) {
        const struct mfield *f = field_of(st, m[i]->string);

        if (f && (f->kind == MK_OWNERS || f->kind == MK_MANAGED) && cJSON_IsArray(m[i])) {
            unknown_in_list(m[i], f, path, count, errs);
        } else if (!f && *count < MAX_STRICT_ERRORS) {
            char *at = xasprintf("%s.%s", path, m[i]->string);

            verr_add(errs, VERR_UNKNOWN_FIELD, at, NULL, "%s", "")->rule = rule;
            free(at);
            (*count)++;
        }
    }
    free(m);
}

void objectmeta_unknown_fields(const cJSON *obj, struct verr_list *errs)
{
    const cJSON *md = metadata_of(obj);
    size_t count = 0;

    if (cJSON_IsObject(md))
        unknown_in(md, &objectmeta_struct, "metadata", "metadata", &count, errs);
}

/* ---- the formats (k8s.io/apimachinery util/validation, api/validate/content) ---- */

#define DNS1123_LABEL_FMT     "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_LABEL_MSG                                                                        \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and " \
    "must start and end with an alphanumeric character"
#define DNS1123_SUBDOMAIN_MSG                                                                    \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or " \
    "'.', and must start and end with an alphanumeric character"
#define LABEL_KEY_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_KEY_MSG                                                                           \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " \
    "alphanumeric character"
#define LABEL_VALUE_FMT "(" LABEL_KEY_FMT ")?"
#define LABEL_VALUE_MSG                                                                         \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or " \
    "'.', and must start and end with an alphanumeric character"

/* A short list of validation messages, each owned. */
struct msgs {
    char *m[4];
    size_t n;
};

static void msgs_add(struct msgs *ms, char *owned)
{
    if (ms->n < ARRAY_SIZE(ms->m))
        ms->m[ms->n++] = owned;
    else
        free(owned);
}

static void msgs_release(struct msgs *ms)
{
    size_t i;

    for (i = 0; i < ms->n; i++)
        free(ms->m[i]);
    ms->n = 0;
}

/* RegexError: msg, the examples, the regular expression. */
static char *regex_error(const char *prefix, const char *msg, const char *re, const char *const *ex,
                         size_t nex)
{
    struct sbuf sb = {0};
    size_t i;

    sb_printf(&sb, "%s%s", prefix, msg);
    if (!nex) {
        sb_printf(&sb, " (regex used for validation is '%s')", re);
        return sb_detach(&sb);
    }
    sb_puts(&sb, " (e.g. ");
    for (i = 0; i < nex; i++) {
        if (i)
            sb_puts(&sb, " or ");
        sb_printf(&sb, "'%s', ", ex[i]);
    }
    sb_printf(&sb, "regex used for validation is '%s')", re);
    return sb_detach(&sb);
}

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ over s[0..n) */
static int dns_label_match(const char *s, size_t n)
{
    size_t i;

    if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return 0;
    for (i = 1; i + 1 < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* ^label(\.label)*$ */
static int dns_subdomain_match(const char *s)
{
    const char *dot;

    for (;;) {
        dot = strchr(s, '.');
        if (!dns_label_match(s, dot ? (size_t)(dot - s) : strlen(s)))
            return 0;
        if (!dot)
            return 1;
        s = dot + 1;
    }
}

/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */
static int label_key_match(const char *s)
{
    size_t i, n = strlen(s);

    if (!n || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return 0;
    for (i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

/* IsDNS1123Subdomain. util/validation's MaxLenError says "characters",
   api/validate/content's (behind IsQualifiedName) says "bytes". */
static void dns_subdomain(struct msgs *ms, const char *prefix, const char *value, const char *unit)
{
    static const char *const ex[] = {"example.com"};

    if (strlen(value) > 253)
        msgs_add(ms, xasprintf("%smust be no more than 253 %s", prefix, unit));
    if (!dns_subdomain_match(value))
        msgs_add(ms, regex_error(prefix, DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, ex, 1));
}

/* util/validation IsDNS1123Label (ValidateNamespaceName) */
static void dns_label(struct msgs *ms, const char *value)
{
    static const char *const ex[] = {"my-name", "123-abc"};

    if (strlen(value) > 63)
        msgs_add(ms, xstrdup("must be no more than 63 characters"));
    if (!dns_label_match(value, strlen(value))) {
        if (dns_subdomain_match(value))
            msgs_add(ms, xstrdup("must not contain dots"));
        else
            msgs_add(ms, regex_error("", DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, ex, 2));
    }
}

/* IsQualifiedName (content.IsLabelKey) */
static void qualified_name(struct msgs *ms, const char *value)
{
    static const char *const ex[] = {"MyName", "my.name", "123-abc"};
    const char *slash = strchr(value, '/');
    const char *name = value;

    if (slash && strchr(slash + 1, '/')) {
        char *re = regex_error("a valid label key ", LABEL_KEY_MSG, LABEL_KEY_FMT, ex, 3);

        msgs_add(ms, xasprintf("%s with an optional DNS subdomain prefix and '/' (e.g. "
                               "'example.com/MyName')",
                               re));
        free(re);
        return;
    }
    if (slash) {
        char *prefix = xstrndup(value, (size_t)(slash - value));

        if (!prefix[0])
            msgs_add(ms, xstrdup("prefix part must be non-empty"));
        else
            dns_subdomain(ms, "prefix part ", prefix, "bytes");
        free(prefix);
        name = slash + 1;
    }
    if (!name[0])
        msgs_add(ms, xstrdup("name part must be non-empty"));
    else if (strlen(name) > 63)
        msgs_add(ms, xstrdup("name part must be no more than 63 bytes"));
    if (!label_key_match(name))
        msgs_add(ms, regex_error("name part ", LABEL_KEY_MSG, LABEL_KEY_FMT, ex, 3));
}

/* IsValidLabelValue (content.IsLabelValue) */
static void label_value(struct msgs *ms, const char *value)
{
    static const char *const ex[] = {"MyValue", "my_value", "12345"};

    if (strlen(value) > 63)
        msgs_add(ms, xstrdup("must be no more than 63 bytes"));
    if (value[0] && !label_key_match(value))
        msgs_add(ms, regex_error("", LABEL_VALUE_MSG, LABEL_VALUE_FMT, ex, 3));
}

/* ---- ValidateObjectMetaAccessor ---- */

/* A decoded string field: "" when absent or null. */
static const char *str_val(const cJSON *v)
{
    return v && cJSON_IsString(v) ? v->valuestring : "";
}

static const char *str_of(const cJSON *o, const char *key)
{
    return str_val(cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL);
}

/* One Invalid error per message, the bad value a string. */
static void add_invalid(struct verr_list *errs, const char *at, const char *rule, const char *bad,
                        struct msgs *ms)
{
    char *q = verr_value_str(bad);
    size_t i;

    for (i = 0; i < ms->n; i++)
        verr_add(errs, VERR_INVALID, at, q, "%s", ms->m[i])->rule = rule;
    free(q);
    msgs_release(ms);
}

/* NameIsDNSSubdomain(name, prefix): a prefix may end with '-' (it is
   masked the way Kubernetes masks it: the last two bytes become "a"). */
static void check_name(struct verr_list *errs, const char *at, const char *rule, const char *value,
                       int prefix)
{
    struct msgs ms = {{NULL}, 0};
    size_t n = strlen(value);

    if (prefix && n > 1 && value[n - 1] == '-') {
        char *masked = xasprintf("%.*sa", (int)(n - 2), value);

        dns_subdomain(&ms, "", masked, "characters");
        free(masked);
    } else {
        dns_subdomain(&ms, "", value, "characters");
    }
    add_invalid(errs, at, rule, value, &ms);
}

static void check_labels(const cJSON *labels, struct verr_list *errs)
{
    const cJSON *l;

    if (!cJSON_IsObject(labels))
        return;
    /* Go ranges over the map in random order; the object's order is ours */
    cJSON_ArrayForEach(l, labels) {
        struct msgs ms = {{NULL}, 0};

        qualified_name(&ms, l->string);
        add_invalid(errs, "metadata.labels", "metadata.labels", l->string, &ms);
        label_value(&ms, str_val(l));
        add_invalid(errs, "metadata.labels", "metadata.labels", str_val(l), &ms);
    }
}

#define TOTAL_ANNOTATION_SIZE_LIMIT ((size_t)256 * 1024)

static void check_annotations(const cJSON *annotations, struct verr_list *errs)
{
    const cJSON *a;
    size_t total = 0;

    if (!cJSON_IsObject(annotations))
        return;
    cJSON_ArrayForEach(a, annotations) {
        struct msgs ms = {{NULL}, 0};
        char *lower = xstrdup(a->string);
        char *p;

        /* the rule is IsQualifiedName with case ignored: strings.ToLower
           first (ASCII here; other letters fail the pattern either way) */
        for (p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        qualified_name(&ms, lower);
        free(lower);
        add_invalid(errs, "metadata.annotations", "metadata.annotations", a->string, &ms);
        total += strlen(a->string) + strlen(str_val(a));
    }
    if (total > TOTAL_ANNOTATION_SIZE_LIMIT)
        verr_add(errs, VERR_TOO_LONG, "metadata.annotations", NULL,
                 "may not be more than %zu bytes", TOTAL_ANNOTATION_SIZE_LIMIT)
            ->rule = "metadata.annotations";
}

/* json.Marshal of a decoded metav1.OwnerReference: struct field order,
   apiVersion/kind/name/uid always, the two *bool only when set. */
static void ownerref_json(struct sbuf *sb, const cJSON *r)
{
    static const char *const str_fields[] = {"apiVersion", "kind", "name", "uid"};
    static const char *const bool_fields[] = {"controller", "blockOwnerDeletion"};
    size_t i;

    sb_putc(sb, '{');
    for (i = 0; i < ARRAY_SIZE(str_fields); i++) {
        sb_printf(sb, "%s\"%s\":", i ? "," : "", str_fields[i]);
        sb_gojson_string(sb, str_of(r, str_fields[i]));
    }
    for (i = 0; i < ARRAY_SIZE(bool_fields); i++) {
        const cJSON *b =
            cJSON_IsObject(r) ? cJSON_GetObjectItemCaseSensitive(r, bool_fields[i]) : NULL;

        if (cJSON_IsBool(b))
            sb_printf(sb, ",\"%s\":%s", bool_fields[i], cJSON_IsTrue(b) ? "true" : "false");
    }
    sb_putc(sb, '}');
}

static void check_owner_reference(const cJSON *r, int idx, struct verr_list *errs)
{
    static const char rule[] = "metadata.ownerReferences";
    const char *av = str_of(r, "apiVersion"), *kind = str_of(r, "kind");
    const char *slash = strchr(av, '/');
    char *group = NULL, *at;
    const char *version = "";
    int bad = 0;

    /* schema.ParseGroupVersion */
    if (!slash) {
        group = xstrdup("");
        version = av;
    } else if (!strchr(slash + 1, '/')) {
        group = xstrndup(av, (size_t)(slash - av));
        version = slash + 1;
    } else {
        group = xstrdup("");
        bad = 1; /* GroupVersion{} */
    }
    if (!av[0]) {
        at = xasprintf("metadata.ownerReferences[%d].apiVersion", idx);
        verr_add(errs, VERR_REQUIRED, at, NULL, "must not be empty")->rule = rule;
        free(at);
    } else if (bad || !version[0]) {
        char *q = verr_value_str(av);

        at = xasprintf("metadata.ownerReferences[%d].apiVersion", idx);
        verr_add(errs, VERR_INVALID, at, q, "must be <group>/<version> or <version>")->rule = rule;
        free(at);
        free(q);
    }
    if (!kind[0]) {
        at = xasprintf("metadata.ownerReferences[%d].kind", idx);
        verr_add(errs, VERR_REQUIRED, at, NULL, "must not be empty")->rule = rule;
        free(at);
    }
    if (!str_of(r, "name")[0]) {
        at = xasprintf("metadata.ownerReferences[%d].name", idx);
        verr_add(errs, VERR_REQUIRED, at, NULL, "must not be empty")->rule = rule;
        free(at);
    }
    if (!str_of(r, "uid")[0]) {
        at = xasprintf("metadata.ownerReferences[%d].uid", idx);
        verr_add(errs, VERR_REQUIRED, at, NULL, "must not be empty")->rule = rule;
        free(at);
    }
    /* BannedOwners: {Group: "", Version: "v1", Kind: "Event"} */
    if (!bad && !group[0] && strcmp(version, "v1") == 0 && strcmp(kind, "Event") == 0) {
        struct sbuf sb = {0};

        ownerref_json(&sb, r);
        at = xasprintf("metadata.ownerReferences[%d]", idx);
        verr_add(errs, VERR_INVALID, at, sb.buf, "%s/%s, Kind=%s is disallowed from being an owner",
                 group, version, kind)
            ->rule = rule;
        free(at);
        sb_release(&sb);
    }
    free(group);
}

static void check_owner_references(const cJSON *refs, struct verr_list *errs)
{
    const cJSON *r;
    char *first = NULL;
    int idx = 0;

    if (!cJSON_IsArray(refs))
        return;
    cJSON_ArrayForEach(r, refs) {
        const cJSON *c =
            cJSON_IsObject(r) ? cJSON_GetObjectItemCaseSensitive(r, "controller") : NULL;

        check_owner_reference(r, idx++, errs);
        if (!cJSON_IsTrue(c))
            continue;
        if (!first) {
            first = xasprintf("%s/%s", str_of(r, "kind"), str_of(r, "name"));
        } else {
            struct sbuf sb = {0};
            const cJSON *e;

            sb_putc(&sb, '[');
            cJSON_ArrayForEach(e, refs) {
                if (e != refs->child)
                    sb_putc(&sb, ',');
                ownerref_json(&sb, e);
            }
            sb_putc(&sb, ']');
            verr_add(errs, VERR_INVALID, "metadata.ownerReferences", sb.buf,
                     "Only one reference can have Controller set to true. Found \"true\" in "
                     "references for %s and %s/%s",
                     first, str_of(r, "kind"), str_of(r, "name"))
                ->rule = "metadata.ownerReferences";
            sb_release(&sb);
        }
    }
    free(first);
}

static void check_finalizers(const cJSON *fins, struct verr_list *errs)
{
    const cJSON *f;
    int orphan = 0, foreground = 0;

    if (!cJSON_IsArray(fins))
        return;
    cJSON_ArrayForEach(f, fins) {
        struct msgs ms = {{NULL}, 0};

        qualified_name(&ms, str_val(f));
        add_invalid(errs, "metadata.finalizers", "metadata.finalizers", str_val(f), &ms);
        orphan |= strcmp(str_val(f), "orphan") == 0;
        foreground |= strcmp(str_val(f), "foregroundDeletion") == 0;
    }
    if (orphan && foreground) {
        struct sbuf sb = {0};

        sb_putc(&sb, '[');
        cJSON_ArrayForEach(f, fins) {
            if (f != fins->child)
                sb_putc(&sb, ',');
            sb_gojson_string(&sb, str_val(f));
        }
        sb_putc(&sb, ']');
        verr_add(errs, VERR_INVALID, "metadata.finalizers", sb.buf,
                 "finalizer orphan and foregroundDeletion cannot be both set")
            ->rule = "metadata.finalizers";
        sb_release(&sb);
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void finalizer_warning(struct verr_list *errs, const char *name, const char *msg)
{
    char *q = verr_value_str(name);
    struct verr *e = verr_add(errs, VERR_NOTE, "metadata.finalizers", NULL,
                              "metadata.finalizers: %s: %s", q, msg);

    e->rule = "metadata.finalizers";
    e->level = VERR_WARNING;
    free(q);
}

/* customresource.WarningsOnCreate: each distinct finalizer, sorted. */
static void finalizer_warnings(const cJSON *fins, struct verr_list *errs)
{
    const char **names;
    const cJSON *f;
    size_t i, n = 0;

    if (!cJSON_IsArray(fins))
        return;
    names = xcalloc((size_t)cJSON_GetArraySize(fins) + 1, sizeof(*names));
    cJSON_ArrayForEach(f, fins) {
        names[n++] = str_val(f);
    }
    qsort(names, n, sizeof(*names), str_cmp);
    for (i = 0; i < n; i++) {
        struct msgs ms = {{NULL}, 0};
        const char *name = names[i];
        size_t j;

        if (i && strcmp(names[i - 1], name) == 0)
            continue;
        qualified_name(&ms, name);
        for (j = 0; j < ms.n; j++)
            finalizer_warning(errs, name, ms.m[j]);
        msgs_release(&ms);
        if (strchr(name, '/') || !strcmp(name, "orphan") || !strcmp(name, "foregroundDeletion") ||
            !strcmp(name, "kubernetes"))
            continue;
        if (strchr(name, '.'))
            finalizer_warning(errs, name,
                              "prefer a domain-qualified finalizer name including a path (/) to "
                              "avoid accidental conflicts with other finalizer writers");
        else
            finalizer_warning(errs, name,
                              "prefer a domain-qualified finalizer name to avoid accidental "
                              "conflicts with other finalizer writers");
    }
    free(names);
}

/* The errors come back through ErrorList.Filter, that is ToAggregate: an
   error printing exactly as an earlier one is dropped. */
static void drop_repeats(struct verr_list *errs, size_t from)
{
    char **seen = xcalloc(errs->len - from + 1, sizeof(*seen));
    size_t i, j, out = from, nseen = 0;

    for (i = from; i < errs->len; i++) {
        struct verr *e = &errs->item[i];
        char *m = verr_format(e);
        int dup = 0;

        for (j = 0; j < nseen && !dup; j++)
            dup = e->level == VERR_ERROR && strcmp(seen[j], m) == 0;
        if (dup) {
            free(m);
            free(e->field);
            free(e->value);
            free(e->detail);
            continue;
        }
        if (e->level == VERR_ERROR)
            seen[nseen++] = m;
        else
            free(m);
        errs->item[out++] = *e;
    }
    errs->len = out;
    for (j = 0; j < nseen; j++)
        free(seen[j]);
    free(seen);
}

void objectmeta_validate(const cJSON *obj, int namespaced, struct verr_list *errs)
{
    size_t start = errs->len;
    const cJSON *md = metadata_of(obj);
    const char *name = str_of(md, "name");
    const char *gen = str_of(md, "generateName");
    const char *ns = str_of(md, "namespace");

    if (!cJSON_IsObject(md))
        md = NULL;
    if (gen[0])
        check_name(errs, "metadata.generateName", "metadata.generateName", gen, 1);
    if (!name[0] && !gen[0]) {
        verr_add(errs, VERR_REQUIRED, "metadata.name", NULL, "name or generateName is required")
            ->rule = "metadata.name";
    } else if (name[0]) {
        check_name(errs, "metadata.name", "metadata.name", name, 0);
    } else {
        /* With generateName alone the API server then validates the name
           it generated: generateName cut to 58 bytes, then 5 random
           characters of [bcdfghjklmnpqrstvwxz2456789]. Those are always
           valid, so the verdict is the prefix's; the message shows them as
           "xxxxx" (docs/DESIGN.md, known differences). */
        char *generated = xasprintf("%.58sxxxxx", gen);

        check_name(errs, "metadata.name", "metadata.name", generated, 0);
        free(generated);
    }
    /* a namespaced kind without a namespace takes the request's (kubectl's
       context); a cluster-scoped kind's namespace is cleared, not refused */
    if (namespaced && ns[0]) {
        struct msgs ms = {{NULL}, 0};

        dns_label(&ms, ns);
        add_invalid(errs, "metadata.namespace", "metadata.namespace", ns, &ms);
    }
    /* generation: PrepareForCreate sets it to 1 */
    if (md) {
        check_labels(cJSON_GetObjectItemCaseSensitive(md, "labels"), errs);
        check_annotations(cJSON_GetObjectItemCaseSensitive(md, "annotations"), errs);
        check_owner_references(cJSON_GetObjectItemCaseSensitive(md, "ownerReferences"), errs);
        check_finalizers(cJSON_GetObjectItemCaseSensitive(md, "finalizers"), errs);
    }
    drop_repeats(errs, start);
    if (md)
        finalizer_warnings(cJSON_GetObjectItemCaseSensitive(md, "finalizers"), errs);
}

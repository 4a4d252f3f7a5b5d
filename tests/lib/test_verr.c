/* Field errors, paths, Go quoting and XML escaping print exactly as the
   API server (validation.md §1.4) and XML 1.0 require. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "fpath.h"
#include "util.h"
#include "verr.h"
#include "xml.h"

static void test_goquote(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
        {"\x01\x7f", "\"\\x01\\x7f\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""}, /* printable UTF-8 kept */
        {"\xff", "\"\\xff\""},              /* invalid byte */
        {"\xe2\x80\x8b", "\"\\u200b\""},    /* zero-width space is not printable */
        {"", "\"\""},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        struct sbuf sb = {0};

        sb_goquote(&sb, rows[i].in);
        is_str(sb.buf, rows[i].want, "goquote row");
        sb_release(&sb);
    }
}

static void test_format(void)
{
    struct verr_list l = VERR_LIST_INIT;
    char *s;

    verr_add(&l, VERR_REQUIRED, "spec.from", NULL, "%s", "");
    verr_add(&l, VERR_INVALID, "spec.listeners[0].port", "123456789",
             "spec.listeners[0].port in body should be less than or equal to 65535");
    verr_add(&l, VERR_NOT_SUPPORTED, "spec.rules[0].matches[0].method", "\"NOTREAL\"",
             "supported values: \"GET\", \"HEAD\"");
    verr_add(&l, VERR_TOO_LONG, "spec.description", "\"x\"", "may not be more than 64 bytes");
    verr_add(&l, VERR_TOO_MANY, "spec.rules", "17", "must have at most 16 items");
    verr_add(&l, VERR_DUPLICATE, "spec.listeners[1]", "{\"name\":\"same\"}", "%s", "");
    verr_add(&l, VERR_FORBIDDEN, "metadata.namespace", NULL, "not allowed on this type");
    verr_add(&l, VERR_UNKNOWN_FIELD, "spec.foo", NULL, "%s", "");
    verr_add(&l, VERR_REQUIRED, "spec.from", NULL, "%s", ""); /* exact duplicate: dropped */
    s = verr_join(&l, VERR_ERROR);
    is_str(s,
           "[spec.from: Required value, spec.listeners[0].port: Invalid value: 123456789: "
           "spec.listeners[0].port in body should be less than or equal to 65535, "
           "spec.rules[0].matches[0].method: Unsupported value: \"NOTREAL\": supported values: "
           "\"GET\", \"HEAD\", spec.description: Too long: may not be more than 64 bytes, "
           "spec.rules: Too many: 17: must have at most 16 items, spec.listeners[1]: Duplicate "
           "value: {\"name\":\"same\"}, metadata.namespace: Forbidden: not "
           "allowed on this type, unknown field \"spec.foo\"]",
           "aggregate of every type, duplicates dropped");
    free(s);
    ok(verr_count(&l, VERR_ERROR) == 9 && verr_count(&l, VERR_WARNING) == 0, "counts by level");
    l.item[0].level = VERR_WARNING;
    s = verr_join(&l, VERR_WARNING);
    is_str(s, "spec.from: Required value", "a single message is not bracketed");
    free(s);
    ok(verr_type_blocking(VERR_REQUIRED) && verr_type_blocking(VERR_TYPE_INVALID) &&
           !verr_type_blocking(VERR_INVALID) && !verr_type_blocking(VERR_DUPLICATE),
       "blocking types are those of §1.2 4d");
    verr_list_release(&l);
    s = verr_join(&l, VERR_ERROR);
    ok(s == NULL, "an empty list joins to NULL");
}

static void test_values(void)
{
    cJSON *n = cJSON_CreateNumber(443), *f = cJSON_CreateNumber(0.5), *t = cJSON_CreateTrue();
    cJSON *str = cJSON_CreateString("a\"b"), *arr = cJSON_CreateArray();
    char *a = verr_value_json(n), *b = verr_value_json(f), *c = verr_value_json(t);
    char *d = verr_value_json(str), *e = verr_value_json(arr);

    is_str(a, "443", "integers print bare");
    is_str(b, "0.5", "fractions print as Go %v");
    is_str(c, "true", "booleans print bare");
    is_str(d, "\"a\\\"b\"", "strings print %q");
    is_str(e, "[]", "composites print as JSON");
    free(a), free(b), free(c), free(d), free(e);
    cJSON_Delete(n), cJSON_Delete(f), cJSON_Delete(t), cJSON_Delete(str), cJSON_Delete(arr);
}

static void test_gojson(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"{\"name\":\"same\"}", "{\"name\":\"same\"}"},
        {"{\"name\":\"x\",\"kind\":\"Service\",\"group\":\"\"}",
         "{\"group\":\"\",\"kind\":\"Service\",\"name\":\"x\"}"}, /* keys sorted */
        {"{\"port\":443}", "{\"port\":443}"},
        {"{}", "{}"},
        {"[1,\"a\",true,null]", "[1,\"a\",true,null]"},
        {"\"<a&b>\"", "\"\\u003ca\\u0026b\\u003e\""}, /* HTML-safe, as Go */
        {"\"tab\\there\\u0001\"", "\"tab\\there\\u0001\""},
        {"\"\\u2028\"", "\"\\u2028\""},
        {"0.5", "0.5"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        cJSON *v = cJSON_Parse(rows[i].in);
        struct sbuf sb = {0};

        sb_gojson(&sb, v);
        is_str(sb.buf, rows[i].want, rows[i].in);
        sb_release(&sb);
        cJSON_Delete(v);
    }
}

static void test_fpath(void)
{
    struct fpath p = FPATH_INIT;
    size_t mark;

    is_str(fpath_str(&p), "<nil>", "the root prints <nil>");
    fpath_child(&p, "spec");
    fpath_child(&p, "listeners");
    mark = fpath_len(&p);
    fpath_index(&p, 2);
    fpath_child(&p, "tls");
    is_str(fpath_str(&p), "spec.listeners[2].tls", "children and indices");
    fpath_truncate(&p, mark);
    fpath_key(&p, "a/b");
    is_str(fpath_str(&p), "spec.listeners[a/b]", "truncate and key");
    fpath_release(&p);
}

static void test_xml(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;"},
        {"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
        {"bell\x07", "bell\xEF\xBF\xBD"},
        {"bad\xff", "bad\xEF\xBF\xBD"},
        {"\xc3\xa9", "\xc3\xa9"},
        {"\xc0\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD"}, /* overlong */
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        struct sbuf sb = {0};

        xml_escape(&sb, rows[i].in);
        is_str(sb.buf ? sb.buf : "", rows[i].want, "xml row");
        sb_release(&sb);
    }
}

static void test_utf8_len(void)
{
    ok(utf8_len("abc") == 3, "ASCII counts bytes");
    ok(utf8_len("caf\xc3\xa9") == 4, "a 2-byte rune counts one");
    ok(utf8_len("\xf0\x9f\x98\x80x") == 2, "a 4-byte rune counts one");
    ok(utf8_len("\xff\xfe") == 2, "invalid bytes count one each");
}

/* Go's %v of a float64 (strconv 'g', shortest, exponent below -4 or from 6) */
static void test_go_float(void)
{
    static const struct {
        double in;
        const char *want;
    } rows[] = {
        {0, "0"},
        {1e6, "1e+06"},
        {100000, "100000"},
        {65535, "65535"},
        {1.5, "1.5"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {2147483647.0, "2.147483647e+09"},
        {1e20, "1e+20"},
        {-2.5, "-2.5"},
        {123456.789, "123456.789"},
        {1234567.5, "1.2345675e+06"},
        {0.1, "0.1"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(rows); i++) {
        char *got = verr_go_float(rows[i].in);

        is_str(got, rows[i].want, "go %v of a float64");
        free(got);
    }
}

int main(void)
{
    util_init_cjson();
    test_go_float();
    test_goquote();
    test_format();
    test_values();
    test_gojson();
    test_fpath();
    test_xml();
    test_utf8_len();
    return done_testing();
}

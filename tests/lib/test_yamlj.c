/*
 * yamlj: YAML 1.1 to cJSON as sigs.k8s.io/yaml reads it. Each row is an
 * input stream and either the documents it yields (as one JSON array, keys
 * in document order) or "ERR:" and the exact error message. Position rows
 * check yamlj_line_of() and the recorded columns. Every successful parse is
 * also checked for a complete, sorted doc->pos.
 */
#include "../tap.h"
#include "util.h"
#include "yamlj.h"

#include <stdint.h>
#include <stdlib.h>

struct yj_case {
    const char *name;
    const char *in;
    size_t len;       /* 0: strlen(in) */
    size_t max_depth; /* opts; 0: default */
    size_t max_alias; /* opts; 0: default */
    const char *want; /* JSON array of the documents, or "ERR:" message */
};

#define LOL1 "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
#define LOLN(x, y) \
    x ": &" x " [*" y ", *" y ", *" y ", *" y ", *" y ", *" y ", *" y ", *" y ", *" y "]\n"
#define LAUGHS                                                                                     \
    LOL1 LOLN("b", "a") LOLN("c", "b") LOLN("d", "c") LOLN("e", "d") LOLN("f", "e") LOLN("g", "f") \
        LOLN("h", "g") LOLN("i", "h")

static const struct yj_case cases[] = {
    /* streams */
    {"empty stream", "", 0, 0, 0, "[]"},
    {"comment only", "# nothing here\n", 0, 0, 0, "[]"},
    {"null documents skipped", "---\n---\n~\n---\nnull\n...\n---\na: 1\n", 0, 0, 0, "[{\"a\":1}]"},
    {"multi-document stream", "a: 1\n---\nb: 2\n...\n---\n- x\n--- 7\n", 0, 0, 0,
     "[{\"a\":1},{\"b\":2},[\"x\"],7]"},
    {"scalar document", "hello world\n", 0, 0, 0, "[\"hello world\"]"},
    {"empty !!str document kept", "--- !!str\n", 0, 0, 0, "[\"\"]"},
    {"JSON input", "{\"a\": [1, 2.5, true, null, \"s\"], \"b\": {}}", 0, 0, 0,
     "[{\"a\":[1,2.5,true,null,\"s\"],\"b\":{}}]"},
    /* null and bool */
    {"null forms", "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nUll\ng: ''\n", 0, 0, 0,
     "[{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null,\"f\":\"nUll\",\"g\":\"\"}]"},
    {"true forms", "[y, Y, yes, Yes, YES, true, True, TRUE, on, On, ON]", 0, 0, 0,
     "[[true,true,true,true,true,true,true,true,true,true,true]]"},
    {"false forms", "[n, N, no, No, NO, false, False, FALSE, off, Off, OFF]", 0, 0, 0,
     "[[false,false,false,false,false,false,false,false,false,false,false]]"},
    {"not booleans", "[yEs, tRue, oN, nO, o, t, f, yess]", 0, 0, 0,
     "[[\"yEs\",\"tRue\",\"oN\",\"nO\",\"o\",\"t\",\"f\",\"yess\"]]"},
    /* integers */
    {"decimal ints", "[0, 7, -7, +7, -0, 1_000, 1__0_, 2147483648, -4294967296]", 0, 0, 0,
     "[[0,7,-7,7,0,1000,10,2147483648,-4294967296]]"},
    {"hex octal binary", "[0x1F, 0X1f, -0x10, +0x10, 0o17, 0O17, 017, -017, 0b101, -0b101, 0x_1_F]",
     0, 0, 0, "[[31,31,-16,16,15,15,15,-15,5,-5,31]]"},
    {"not quite octal", "[08, 09, 0x, 0b, 0o, 0x1G, 0b102, 0o8]", 0, 0, 0,
     "[[8,9,\"0x\",\"0b\",\"0o\",\"0x1G\",\"0b102\",\"0o8\"]]"},
    {"beyond int64",
     "- 9223372036854775807\n- 18446744073709551615\n- 18446744073709551616\n"
     "- -9223372036854775809\n- 0x10000000000000000\n- "
     "0b11111111111111111111111111111111111111111111111111111111111111111\n",
     0, 0, 0,
     "[[9.2233720368547758e+18,1.8446744073709552e+19,1.8446744073709552e+19,-9.2233720368547758e+"
     "18,"
     "\"0x10000000000000000\","
     "\"0b11111111111111111111111111111111111111111111111111111111111111111\"]]"},
    /* floats */
    {"floats", "[1.5, -1.5, .5, +.5, -.5, 1e3, 1E-2, 6.02e+23, 1., 1_0.5, .5_5, 0.0, 1e-400]", 0, 0,
     0, "[[1.5,-1.5,0.5,0.5,-0.5,1000,0.01,6.02e+23,1,10.5,0.55,0,0]]"},
    {"not numbers", "- 1e\n- 1.2.3\n- 12:30:00\n- 1e400\n- +\n- -x\n- ._5\n- .\n- 1,000\n- 0x1p3\n",
     0, 0, 0,
     "[[\"1e\",\"1.2.3\",\"12:30:00\",\"1e400\",\"+\",\"-x\",\"._5\",\".\",\"1,000\",\"0x1p3\"]]"},
    {"timestamps stay strings",
     "- 2001-12-14\n- 2001-12-14t21:59:43.10-05:00\n- 2001-12-14 21:59:43\n", 0, 0, 0,
     "[[\"2001-12-14\",\"2001-12-14t21:59:43.10-05:00\",\"2001-12-14 21:59:43\"]]"},
    {".inf is not JSON", "a: .inf\n", 0, 0, 0,
     "ERR:line 1, column 4: json: unsupported value: +Inf"},
    {"-.Inf is not JSON", "- ok\n- -.Inf\n", 0, 0, 0,
     "ERR:line 2, column 3: json: unsupported value: -Inf"},
    {".NaN is not JSON", "x: [1, .NaN]\n", 0, 0, 0,
     "ERR:line 1, column 8: json: unsupported value: NaN"},
    {"near-specials are strings", "[.Nan, .iNF, +.nan, .infinity, inf, nan]", 0, 0, 0,
     "[[\".Nan\",\".iNF\",\"+.nan\",\".infinity\",\"inf\",\"nan\"]]"},
    /* quoting and tags */
    {"quoted and block scalars are strings",
     "a: '1'\nb: \"true\"\nc: |\n  123\nd: >-\n  null\ne: \"~\"\nf: '0x10'\n", 0, 0, 0,
     "[{\"a\":\"1\",\"b\":\"true\",\"c\":\"123\\n\",\"d\":\"null\",\"e\":\"~\",\"f\":\"0x10\"}]"},
    {"explicit tags",
     "a: !!str 123\nb: !!int \"42\"\nc: !!bool \"yes\"\nd: !!null \"\"\ne: !!float 1\n"
     "f: !!str true\ng: !custom 5\nh: ! 12\ni: !!float \"2.5\"\nj: !<tag:yaml.org,2002:int> '7'\n",
     0, 0, 0,
     "[{\"a\":\"123\",\"b\":42,\"c\":true,\"d\":null,\"e\":1,\"f\":\"true\",\"g\":\"5\",\"h\":"
     "\"12\","
     "\"i\":2.5,\"j\":7}]"},
    {"!!int on a word", "a: !!int foo\n", 0, 0, 0,
     "ERR:line 1, column 4: cannot decode !!str `foo` as a !!int"},
    {"!!bool on a number", "a: !!bool 1\n", 0, 0, 0,
     "ERR:line 1, column 4: cannot decode !!int `1` as a !!bool"},
    {"!!int on a float", "- !!int 1.5\n", 0, 0, 0,
     "ERR:line 1, column 3: cannot decode !!float `1.5` as a !!int"},
    {"!!timestamp accepted", "a: !!timestamp 2001-12-14\nb: !!timestamp 2001-12-14T21:59:43.1Z\n",
     0, 0, 0, "[{\"a\":\"2001-12-14\",\"b\":\"2001-12-14T21:59:43.1Z\"}]"},
    {"!!timestamp rejected", "a: !!timestamp 2001-02-29\n", 0, 0, 0,
     "ERR:line 1, column 4: cannot decode !!str `2001-02-29` as a !!timestamp"},
    {"!!binary unsupported", "a: !!binary aGVsbG8=\n", 0, 0, 0,
     "ERR:line 1, column 4: !!binary values are not supported"},
    /* keys */
    {"non-string keys become strings",
     "1: a\ntrue: b\noff: c\n0x10: d\n1.5: e\n1e6: f\n3.14159265358979: g\n1e300: h\n-0.0: i\n"
     "0.0001: j\n0.00001: k\n123456.0: l\n-.inf: m\n.nan: x\no: o\n",
     0, 0, 0,
     "[{\"1\":\"a\",\"true\":\"b\",\"false\":\"c\",\"16\":\"d\",\"1.5\":\"e\",\"1e+06\":\"f\","
     "\"3.1415927\":\"g\",\".inf\":\"h\",\"-0\":\"i\",\"0.0001\":\"j\",\"1e-05\":\"k\","
     "\"123456\":\"l\",\"-.inf\":\"m\",\".nan\":\"x\",\"o\":\"o\"}]"},
    {"null key", "~: a\n", 0, 0, 0, "ERR:line 1, column 1: unsupported map key of type: null"},
    {"uint64 key", "a: 1\n18446744073709551615: b\n", 0, 0, 0,
     "ERR:line 2, column 1: unsupported map key of type: uint64 (18446744073709551615)"},
    {"collection key", "? [a]\n: 1\n", 0, 0, 0,
     "ERR:line 1, column 3: invalid map key: a sequence cannot be a key"},
    {"duplicate key", "a: 1\nb: 2\na: 3\n", 0, 0, 0,
     "ERR:line 3, column 1: mapping key \"a\" already defined at line 1"},
    {"duplicate key in flow", "x:\n  y: {a: 1, b: 2, a: 2}\n", 0, 0, 0,
     "ERR:line 2, column 19: mapping key \"a\" already defined at line 2"},
    {"duplicate after conversion", "yes: 1\ntrue: 2\n", 0, 0, 0,
     "ERR:line 2, column 1: mapping key \"true\" already defined at line 1"},
    {"earliest duplicate reported", "b: 1\na: 1\na: 2\nb: 2\n", 0, 0, 0,
     "ERR:line 3, column 1: mapping key \"a\" already defined at line 2"},
    {"quoted key \"<<\" is a key", "'<<': 1\n", 0, 0, 0, "[{\"<<\":1}]"},
    /* merge keys */
    {"merge one alias", "base: &b {a: 1, b: 2}\nd:\n  <<: *b\n  b: 3\n", 0, 0, 0,
     "[{\"base\":{\"a\":1,\"b\":2},\"d\":{\"a\":1,\"b\":3}}]"},
    {"explicit key before merge wins", "b: &b {a: 1, c: 1}\nd: {a: 2, <<: *b}\n", 0, 0, 0,
     "[{\"b\":{\"a\":1,\"c\":1},\"d\":{\"a\":2,\"c\":1}}]"},
    {"merge sequence, earlier wins",
     "x: &x {a: 1, b: 1}\nw: &w {b: 2, c: 2}\nz:\n  <<: [*x, *w]\n  c: 3\n", 0, 0, 0,
     "[{\"x\":{\"a\":1,\"b\":1},\"w\":{\"b\":2,\"c\":2},\"z\":{\"a\":1,\"b\":1,\"c\":3}}]"},
    {"merge inline mapping", "z:\n  <<: {a: 1}\n  b: 2\n", 0, 0, 0, "[{\"z\":{\"a\":1,\"b\":2}}]"},
    {"nested merge", "a: &a {x: 1}\nb: &b {<<: *a, w: 2}\nc: {<<: *b, z: 3}\n", 0, 0, 0,
     "[{\"a\":{\"x\":1},\"b\":{\"x\":1,\"w\":2},\"c\":{\"x\":1,\"w\":2,\"z\":3}}]"},
    {"merge of a sequence", "a: &a [1]\nb:\n  <<: *a\n", 0, 0, 0,
     "ERR:line 3, column 7: map merge requires map or sequence of maps as the value"},
    {"merge of a scalar in a sequence", "a: &a {x: 1}\nb:\n  <<: [*a, 2]\n", 0, 0, 0,
     "ERR:line 3, column 12: map merge requires map or sequence of maps as the value"},
    /* aliases */
    {"aliases copy", "a: &x [1, {b: 2}]\nc: *x\nd: &s hello\ne: *s\n", 0, 0, 0,
     "[{\"a\":[1,{\"b\":2}],\"c\":[1,{\"b\":2}],\"d\":\"hello\",\"e\":\"hello\"}]"},
    {"alias as key", "- &k name\n- {*k : v}\n", 0, 0, 0, "[[\"name\",{\"name\":\"v\"}]]"},
    {"anchor redefined", "a: &x 1\nb: &x 2\nc: *x\n", 0, 0, 0, "[{\"a\":1,\"b\":2,\"c\":2}]"},
    {"unknown alias", "a: 1\nb: *nope\n", 0, 0, 0,
     "ERR:line 2, column 4: unknown anchor 'nope' referenced"},
    {"anchors are per document", "a: &x 1\n---\nb: *x\n", 0, 0, 0,
     "ERR:line 3, column 4: unknown anchor 'x' referenced"},
    {"alias inside its own anchor", "a: &a [1, *a]\n", 0, 0, 0,
     "ERR:line 1, column 11: anchor 'a' value contains itself"},
    {"alias budget fits", "a: &a [1, 2, 3]\nb: *a\nc: *a\n", 0, 0, 8,
     "[{\"a\":[1,2,3],\"b\":[1,2,3],\"c\":[1,2,3]}]"},
    {"alias budget exceeded", "a: &a [1, 2, 3]\nb: *a\nc: *a\n", 0, 0, 7,
     "ERR:line 3, column 4: alias expansion exceeds 7 nodes"},
    {"billion laughs", LAUGHS, 0, 0, 0,
     "ERR:line 6, column 8: alias expansion exceeds 100000 nodes"},
    /* depth */
    {"depth limit", "a:\n  b:\n    c: 1\n", 0, 2, 0,
     "ERR:line 3, column 5: nesting depth exceeds 2"},
    {"depth limit met", "a:\n  b: [1]\n", 0, 3, 0, "[{\"a\":{\"b\":[1]}}]"},
    {"depth through an alias", "a: &a [[1]]\nb: [[*a]]\n", 0, 3, 0,
     "ERR:line 2, column 6: nesting depth exceeds 3"},
    /* malformed input */
    {"mapping value in plain scalar", "a: b: c\n", 0, 0, 0,
     "ERR:line 1, column 5: mapping values are not allowed in this context"},
    {"unclosed flow sequence", "a: [1, 2\nb: 3\n", 0, 0, 0,
     "ERR:line 2, column 2: did not find expected ',' or ']'"},
    {"tab indentation", "a:\n\t- b\n", 0, 0, 0,
     "ERR:line 2, column 1: found character that cannot start any token"},
    {"bad indentation", "a:\n  b: 1\n c: 2\n", 0, 0, 0,
     "ERR:line 3, column 2: did not find expected key"},
    {"unterminated quote", "a: \"abc\n", 0, 0, 0,
     "ERR:line 2, column 1: found unexpected end of stream"},
    {"NUL byte in the buffer", "a: b\0c\n", 7, 0, 0,
     "ERR:line 1, column 5: control characters are not allowed"},
    {"NUL byte on a later line", "a: 1\nbé: \0\n", 12, 0, 0,
     "ERR:line 2, column 5: control characters are not allowed"},
    {"NUL escape in a string", "a: \"x\\0y\"\n", 0, 0, 0,
     "ERR:line 1, column 4: NUL character in a scalar is not supported"},
    {"invalid UTF-8", "a: 1\nb: \xff\n", 0, 0, 0,
     "ERR:line 2, column 4: invalid leading UTF-8 octet"},
    {"error in second document", "a: 1\n---\nb: [\n", 0, 0, 0,
     "ERR:line 4, column 1: did not find expected node content"},
};

/* Count the objects and arrays of j, checking each has a recorded position. */
static size_t count_containers(const struct yamlj_doc *d, const cJSON *j, int *missing)
{
    const cJSON *kid;
    size_t n = 0, i;
    int found = 0;

    if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
        return 0;
    for (i = 0; i < d->npos; i++)
        found |= d->pos[i].node == j;
    if (!found)
        (*missing)++;
    cJSON_ArrayForEach(kid, j) {
        n += count_containers(d, kid, missing);
    }
    return n + 1;
}

/* doc->pos must list every container once, sorted by node, with 1-based positions. */
static int positions_ok(const struct yamlj_doc *d)
{
    int missing = 0;
    size_t i, n = count_containers(d, d->json, &missing);

    for (i = 0; i < d->npos; i++) {
        if (d->pos[i].line < 1 || d->pos[i].col < 1)
            return 0;
        if (i && (uintptr_t)d->pos[i - 1].node >= (uintptr_t)d->pos[i].node)
            return 0;
    }
    return !missing && n == d->npos && d->line >= 1 && d->col >= 1;
}

/* Parse and render the stream as "[doc,...]" or "ERR:message". */
static char *run(const char *in, size_t len, size_t max_depth, size_t max_alias)
{
    struct yamlj_opts opts = {max_depth, max_alias};
    struct yamlj_stream s;
    struct sbuf sb = {0};
    char err[256];
    size_t i;

    if (yamlj_parse(in, len, &opts, &s, err, sizeof(err)) != 0) {
        sb_printf(&sb, "ERR:%s", err);
        if (s.len || s.doc)
            sb_puts(&sb, " [stream not empty]");
        return sb_detach(&sb);
    }
    sb_putc(&sb, '[');
    for (i = 0; i < s.len; i++) {
        char *text = cJSON_PrintUnformatted(s.doc[i].json);

        sb_printf(&sb, "%s%s", i ? "," : "", text);
        free(text);
        if (!positions_ok(&s.doc[i]))
            sb_puts(&sb, " [bad positions]");
    }
    sb_putc(&sb, ']');
    yamlj_stream_release(&s);
    return sb_detach(&sb);
}

static void test_cases(void)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct yj_case *t = &cases[i];
        char *got = run(t->in, t->len ? t->len : strlen(t->in), t->max_depth, t->max_alias);

        is_str(got, t->want, t->name);
        free(got);
    }
}

enum yj_gen { GEN_FLOW, GEN_FLOW_UNCLOSED, GEN_BLOCK };

struct yj_gen_case {
    const char *name;
    enum yj_gen kind;
    size_t count;            /* nesting levels */
    const char *want_prefix; /* output (or "ERR:...") starts with this */
};

static const struct yj_gen_case gen_cases[] = {
    {"100 nested flow sequences", GEN_FLOW, 100, "[[[[[[[[[[["},
    {"101 nested flow sequences", GEN_FLOW, 101,
     "ERR:line 1, column 101: nesting depth exceeds 100"},
    {"100000 unclosed flow sequences fail fast", GEN_FLOW_UNCLOSED, 100000,
     "ERR:line 1, column 101: nesting depth exceeds 100"},
    {"100 nested block mappings", GEN_BLOCK, 100, "[{\"a\":{\"a\":"},
    {"101 nested block mappings", GEN_BLOCK, 101,
     "ERR:line 101, column 201: nesting depth exceeds 100"},
};

/* Inputs too large to write out: built here, checked by prefix. */
static void test_generated(void)
{
    size_t i, k;

    for (i = 0; i < ARRAY_SIZE(gen_cases); i++) {
        const struct yj_gen_case *t = &gen_cases[i];
        struct sbuf in = {0};
        char *got;
        int same;

        for (k = 0; k < t->count; k++) {
            if (t->kind == GEN_BLOCK)
                sb_printf(&in, "%*sa:%s", (int)(2 * k), "", k + 1 < t->count ? "\n" : " 1\n");
            else
                sb_putc(&in, '[');
        }
        for (k = 0; t->kind == GEN_FLOW && k < t->count; k++)
            sb_putc(&in, ']');
        got = run(in.buf, in.len, 0, 0);
        same = strncmp(got, t->want_prefix, strlen(t->want_prefix)) == 0;
        ok(same, "%s", t->name);
        if (!same)
            printf("#   got: %.200s\n", got);
        free(got);
        sb_release(&in);
    }
}

/* Many keys, anchors and aliases: linear-ish work, no quadratic blow-up. */
static void test_large(void)
{
    struct sbuf in = {0};
    char *got;
    size_t k;

    for (k = 0; k < 50000; k++)
        sb_printf(&in, "k%zu: &a%zu %zu\n", k, k, k);
    for (k = 0; k < 50000; k++)
        sb_printf(&in, "r%zu: *a%zu\n", k, 49999 - k);
    got = run(in.buf, in.len, 0, 0);
    ok(strncmp(got, "[{\"k0\":0,\"k1\":1,", 16) == 0 && strstr(got, "\"r49999\":0}]") != NULL,
       "50000 keys and 50000 aliases");
    free(got);
    sb_printf(&in, "k17: again\n");
    got = run(in.buf, in.len, 0, 0);
    is_str(got, "ERR:line 100001, column 1: mapping key \"k17\" already defined at line 18",
           "duplicate among 100001 keys");
    free(got);
    sb_release(&in);
}

struct yj_pos_case {
    const char *name;
    const char *in;
    size_t doc;
    const char *path; /* "" the root, else members and indexes split by '.' */
    int line, col;    /* want; for a scalar node line_of() gives the document line */
};

static const char pos_doc[] = "a: 1\n"
                              "---\n"
                              "# the second document\n"
                              "kind: X\n"
                              "spec:\n"
                              "  rules:\n"
                              "  - name: r\n"
                              "    x: [1, 2]\n"
                              "    y: *missing\n";
static const char pos_doc2[] = "base: &b\n"
                               "  m: {k: v}\n"
                               "---\n"
                               "\n"
                               "  base: &b\n"
                               "    m: {k: v}\n"
                               "  copy: *b\n"
                               "  merged:\n"
                               "    <<: *b\n"
                               "    list: [1]\n";

static const struct yj_pos_case pos_cases[] = {
    {"first document root", "a: 1\n---\nb: [1]\n", 0, "", 1, 1},
    {"second document root", "a: 1\n---\nb: [1]\n", 1, "", 3, 1},
    {"flow array in second document", "a: 1\n---\nb: [1]\n", 1, "b", 3, 4},
    {"root after comment", pos_doc2, 1, "", 5, 3},
    {"anchored mapping starts at its anchor", pos_doc2, 1, "base", 5, 9},
    {"flow mapping", pos_doc2, 1, "base.m", 6, 8},
    {"alias copy keeps the anchor's position", pos_doc2, 1, "copy.m", 6, 8},
    {"merged member keeps its position", pos_doc2, 1, "merged.m", 6, 8},
    {"merging mapping", pos_doc2, 1, "merged", 9, 5},
    {"array in merging mapping", pos_doc2, 1, "merged.list", 10, 11},
    {"scalar gives the document line", pos_doc2, 1, "base.m.k", 5, 0},
    {"first document of the first stream", pos_doc2, 0, "base.m", 2, 6},
};

static const cJSON *walk(const cJSON *j, const char *path)
{
    char *copy = xstrdup(path), *save = NULL, *part;

    for (part = strtok_r(copy, ".", &save); part && j; part = strtok_r(NULL, ".", &save))
        j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(part)) : cJSON_GetObjectItem(j, part);
    free(copy);
    return j;
}

static int col_of(const struct yamlj_doc *d, const cJSON *j)
{
    size_t i;

    for (i = 0; i < d->npos; i++)
        if (d->pos[i].node == j)
            return d->pos[i].col;
    return 0;
}

static void test_positions(void)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(pos_cases); i++) {
        const struct yj_pos_case *t = &pos_cases[i];
        struct yamlj_stream s;
        const cJSON *j = NULL;
        char err[256];
        int line = -1, col = -1;

        if (yamlj_parse(t->in, strlen(t->in), NULL, &s, err, sizeof(err)) == 0 && t->doc < s.len) {
            j = walk(s.doc[t->doc].json, t->path);
            line = j ? yamlj_line_of(&s.doc[t->doc], j) : -1;
            col = j ? col_of(&s.doc[t->doc], j) : -1;
            if (!*t->path)
                col = s.doc[t->doc].col;
        }
        ok(line == t->line && col == t->col, "%s: line %d col %d (want %d %d)", t->name, line, col,
           t->line, t->col);
        yamlj_stream_release(&s);
    }
    ok(yamlj_parse(pos_doc, strlen(pos_doc), NULL, &(struct yamlj_stream){0}, NULL, 0) == -1,
       "error without an error buffer");
}

int main(void)
{
    util_init_cjson();
    test_cases();
    test_generated();
    test_large();
    test_positions();
    return done_testing();
}

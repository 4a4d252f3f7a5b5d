/*
 * YAML to JSON (include/yamlj.h): the input is a YAML stream, parsed with
 * the default limits and again with small ones (depth 8, 64 alias nodes).
 * Seeds: every YAML file under tests/data/, conformance/ and deploy/.
 *
 * Invariants: a failure leaves the stream empty and says why; a success
 * gives non-NULL documents whose container positions are sorted by node
 * and at line >= 1; and each document printed as JSON, when yamlj reads
 * that text back, is exactly one document equal to it. JSON is YAML but
 * for libyaml's limits (such as 1024-character keys: a refusal is not
 * checked) and for the line breaks YAML 1.1 has beyond JSON's: a string
 * holding U+0085, U+2028 or U+2029 (cJSON prints them raw) is folded as a
 * line break on the way back, so such documents are not compared.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "yamlj.h"

/* Every object and array under j has a position of doc. */
static void check_lines(const struct yamlj_doc *doc, const cJSON *j)
{
    const cJSON *k;

    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return;
    FUZZ_CHECK(yamlj_line_of(doc, j) >= 1);
    cJSON_ArrayForEach(k, j) {
        check_lines(doc, k);
    }
}

/* Does the JSON text hold a YAML 1.1 line break that JSON does not know? */
static int has_yaml_break(const char *s)
{
    return strstr(s, "\xc2\x85") || strstr(s, "\xe2\x80\xa8") || strstr(s, "\xe2\x80\xa9");
}

static void check_doc(const struct yamlj_doc *d)
{
    struct yamlj_stream again;
    char err[256];
    char *text;
    size_t i;

    FUZZ_CHECK(d->json != NULL);
    FUZZ_CHECK(d->line >= 1 && d->col >= 1);
    for (i = 0; i < d->npos; i++) {
        FUZZ_CHECK(d->pos[i].node != NULL && d->pos[i].line >= 1 && d->pos[i].col >= 1);
        FUZZ_CHECK(i == 0 || (const void *)d->pos[i - 1].node < (const void *)d->pos[i].node);
    }
    check_lines(d, d->json);

    text = cJSON_PrintUnformatted(d->json);
    FUZZ_CHECK(text != NULL);
    if (!has_yaml_break(text) &&
        yamlj_parse(text, strlen(text), NULL, &again, err, sizeof(err)) == 0) {
        FUZZ_CHECK(again.len == 1);
        FUZZ_CHECK(cJSON_Compare(d->json, again.doc[0].json, 1));
        yamlj_stream_release(&again);
    }
    cJSON_free(text);
}

static void parse(const char *buf, size_t len, const struct yamlj_opts *opts, int deep)
{
    struct yamlj_stream st;
    char err[512];
    size_t i;

    memset(&st, 0x5a, sizeof(st)); /* must be overwritten either way */
    err[0] = '\0';
    if (yamlj_parse(buf, len, opts, &st, err, sizeof(err)) != 0) {
        FUZZ_CHECK(st.len == 0 && st.doc == NULL);
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return;
    }
    for (i = 0; i < st.len; i++) {
        if (deep)
            check_doc(&st.doc[i]);
        else
            FUZZ_CHECK(st.doc[i].json != NULL);
    }
    yamlj_stream_release(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct yamlj_opts small = {8, 64};

    fuzz_init();
    parse((const char *)data, size, NULL, 1);
    parse((const char *)data, size, &small, 0);
    return 0;
}

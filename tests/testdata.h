/*
 * Loading table-driven test data: a YAML file holding a list of cases (or
 * a stream of documents, each a list). Shared by the unit tests.
 */
#ifndef GC_TESTDATA_H
#define GC_TESTDATA_H

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "yamlj.h"

struct testdata_file {
    struct yamlj_stream stream;
    const cJSON **cases; /* not owned: items of stream */
    int *lines;
    size_t ncases;
    char error[256];
};

static char *testdata_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct sbuf sb = {0};
    char buf[65536];
    size_t n;

    if (!f)
        return NULL;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_add(&sb, buf, n);
    fclose(f);
    *len = sb.len;
    return sb_detach(&sb);
}

__attribute__((unused)) static int testdata_load(const char *path, struct testdata_file *f)
{
    size_t len = 0, d;
    char *buf = testdata_slurp(path, &len);

    memset(f, 0, sizeof(*f));
    if (!buf) {
        snprintf(f->error, sizeof(f->error), "cannot read file");
        return -1;
    }
    if (yamlj_parse(buf, len, NULL, &f->stream, f->error, sizeof(f->error)) != 0) {
        free(buf);
        return -1;
    }
    free(buf);
    for (d = 0; d < f->stream.len; d++) {
        const struct yamlj_doc *doc = &f->stream.doc[d];
        const cJSON *c;

        if (!cJSON_IsArray(doc->json))
            continue;
        cJSON_ArrayForEach(c, doc->json) {
            f->cases = xrealloc(f->cases, (f->ncases + 1) * sizeof(*f->cases));
            f->lines = xrealloc(f->lines, (f->ncases + 1) * sizeof(*f->lines));
            f->cases[f->ncases] = c;
            f->lines[f->ncases++] = yamlj_line_of(doc, c);
        }
    }
    return 0;
}

__attribute__((unused)) static void testdata_release(struct testdata_file *f)
{
    yamlj_stream_release(&f->stream);
    free(f->cases);
    free(f->lines);
}

static int testdata_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yaml files of dir, sorted; caller frees each and the array. */
__attribute__((unused)) static size_t testdata_list(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    *out = NULL;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);

        if (l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0)
            continue;
        *out = xrealloc(*out, (n + 1) * sizeof(**out));
        (*out)[n++] = xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(*out, n, sizeof(**out), testdata_cmp);
    return n;
}

typedef void (*testdata_case_fn)(const cJSON *c, const char *file, int line);

/*
 * Run fn on every case of the files named on the command line, or else of
 * every *.yaml file in dir. A file that does not load is one failed check
 * (ok() comes from tests/tap.h, included first); so is an empty dir.
 */
__attribute__((unused)) static void testdata_run(int argc, char **argv, const char *dir,
                                                 testdata_case_fn fn)
{
    char **files = NULL;
    size_t n, k, i;

    n = argc > 1 ? (size_t)(argc - 1) : testdata_list(dir, &files);
    if (argc <= 1 && n == 0)
        ok(0, "%s has case files", dir);
    for (k = 0; k < n; k++) {
        const char *path = files ? files[k] : argv[k + 1];
        struct testdata_file f;

        if (testdata_load(path, &f) != 0) {
            ok(0, "%s: %s", path, f.error);
        } else {
            for (i = 0; i < f.ncases; i++)
                fn(f.cases[i], path, f.lines[i]);
            testdata_release(&f);
        }
        if (files)
            free(files[k]);
    }
    free(files);
}

#endif

/*
 * YAML (and JSON) to cJSON through libyaml, read the way Kubernetes' YAML
 * reader (sigs.k8s.io/yaml on go-yaml v2, YAML 1.1) reads it:
 *  - multi-document streams ("---"); empty documents are skipped;
 *  - plain scalars resolved as YAML 1.1: null/~/empty -> null, yes/no/on/off/
 *    y/n/true/false (all case forms go-yaml accepts) -> booleans, integers
 *    (decimal, 0x hex, 0o/leading-0 octal, 0b binary, '_' separators), floats,
 *    .inf/.nan; quoted scalars always stay strings; explicit tags honoured;
 *  - aliases resolved, with the total expansion bounded (no billion laughs);
 *  - merge keys ("<<") applied;
 *  - duplicate mapping keys rejected as go-yaml does;
 *  - nesting depth bounded.
 * Line and column (1-based) are kept for each document and for every object
 * and array node, so messages can cite file:line.
 */
#ifndef GC_YAMLJ_H
#define GC_YAMLJ_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define YAMLJ_MAX_DEPTH_DEFAULT       100
#define YAMLJ_MAX_ALIAS_NODES_DEFAULT 100000 /* nodes copied by alias expansion, whole stream */

struct yamlj_pos {
    const cJSON *node; /* not owned */
    int line;
    int col;
};

struct yamlj_doc {
    cJSON *json; /* owned: the document's value (never NULL: null docs are skipped) */
    int line;    /* where the document's root node starts */
    int col;
    struct yamlj_pos *pos; /* owned: position of each object/array node in json, sorted by node */
    size_t npos;
};

struct yamlj_stream {
    struct yamlj_doc *doc; /* owned */
    size_t len;
};

struct yamlj_opts {
    size_t max_depth;       /* 0 = YAMLJ_MAX_DEPTH_DEFAULT */
    size_t max_alias_nodes; /* 0 = YAMLJ_MAX_ALIAS_NODES_DEFAULT */
};

/*
 * Parse every document of buf[0..len). On success returns 0 and fills *out
 * (release with yamlj_stream_release()). On failure returns -1, leaves *out
 * empty, and writes a one-line message to err such as
 * "line 3, column 5: mapping values are not allowed in this context" or
 * "line 9, column 3: alias expansion exceeds 100000 nodes".
 * opts may be NULL for the defaults.
 */
int yamlj_parse(const char *buf, size_t len, const struct yamlj_opts *opts,
                struct yamlj_stream *out, char *err, size_t errlen);

/* Line of an object/array node of doc, or the document's line when unknown. */
int yamlj_line_of(const struct yamlj_doc *doc, const cJSON *node);

void yamlj_stream_release(struct yamlj_stream *s);

#endif

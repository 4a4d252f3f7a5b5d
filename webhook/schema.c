/* The schema tree: built once per (kind, channel, version) from the flat rows
   of schema_gen.c. No validation here; see validate.c. */
#include "schema.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Verbatim from spec §2 (the Pxx catalogue and the regexes inside CEL rules). */
const char *const schema_rx_text[RX_COUNT] = {
    [RX_NONE] = "",
    [RX_P01] = "^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    [RX_P02] = "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
    [RX_P03] = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    [RX_P04] = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    [RX_P05] = "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$",
    [RX_P06] = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
    [RX_P07] = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9]["
               "-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    [RX_P08] = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9\\/"
               "\\-._~%!$&'()*+,;=:]+$",
    [RX_P09] = "^[!-~]+([\\t ]?[!-~]+)*$",
    [RX_P10] = "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    [RX_P11] = "^([0-9]{1,5}(h|m|s|ms)){1,4}$",
    [RX_P12] = "^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-"
               "9]*[a-z0-9])?)*\\/[A-Za-z0-9\\/\\-._~%!$&'()*+,;=:]+$",
    [RX_P13] = "(^\\*$)|(^(http(s)?):\\/\\/(((\\*\\.)?([a-zA-Z0-9\\-]+\\.)*[a-zA-Z0-9-]+|\\*)(:([0-"
               "9]{1,5}))?)$)",
    [RX_P14] = "^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]"
               "([-a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9]+$",
    [RX_P15] = "^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\\?([^#]*))?(#(.*))?",
    [RX_P16] = "^(System|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/"
               "([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]))$",
    [RX_P17] = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
    [RX_P18] = "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$",
    [RX_CEL_HOSTNAME] =
        "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    [RX_CEL_LABEL_KEY] = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(["
                         "A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$",
    [RX_CEL_HTTP_PATH] = "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$",
    [RX_CEL_GRPC_SERVICE] = "^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$",
    [RX_CEL_GRPC_METHOD] = "^[A-Za-z_][A-Za-z_0-9]*$",
    /* ours: the two halves of P14, each anchored at both ends (strict checks) */
    [RX_STRICT_PROTO_NAME] = "^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
    [RX_STRICT_PROTO_DOMAIN] =
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9]+$",
    [RX_CEL_RFC1123] = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$",
};

static struct schema_node **trees; /* one per schema_sets[] entry */
static pthread_once_t trees_once = PTHREAD_ONCE_INIT;

static struct schema_node *node_new(const struct schema_row *row, const char *name)
{
    struct schema_node *n = xcalloc(1, sizeof(*n));

    n->row = row;
    n->name = name;
    if (row && row->default_json)
        n->default_value = cJSON_Parse(row->default_json);
    return n;
}

/* The node for generic path 'path' (length len) in tree 'root', or NULL. */
static struct schema_node *find(struct schema_node *root, const char *path, size_t len)
{
    struct schema_node *n = root;
    size_t i = 0;

    while (n && i < len) {
        size_t j = i;

        if (path[i] == '[' || path[i] == '{') {
            n = path[i] == '[' ? n->items : n->values;
            i += 2;
        } else {
            size_t k;
            struct schema_node *next = NULL;

            while (j < len && path[j] != '.' && path[j] != '[' && path[j] != '{')
                j++;
            for (k = 0; k < n->nchild; k++)
                if (strlen(n->child[k]->name) == j - i &&
                    !memcmp(n->child[k]->name, path + i, j - i))
                    next = n->child[k];
            n = next;
            i = j;
        }
        if (i < len && path[i] == '.')
            i++;
    }
    return n;
}

static void add_row(struct schema_node *root, const struct schema_row *row)
{
    const char *p = row->path;
    size_t len = strlen(p), cut = len;
    struct schema_node *parent, *n;

    if (len >= 2 && (p[len - 1] == ']' || p[len - 1] == '}')) {
        cut = len - 2;
    } else {
        while (cut > 0 && p[cut - 1] != '.')
            cut--;
    }
    parent = find(root, p, cut > 0 && p[cut - 1] == '.' ? cut - 1 : cut);
    if (!parent)
        return; /* the generator orders parents first; a miss is a generator bug */
    if (p[len - 1] == ']') {
        parent->items = node_new(row, "[]");
        return;
    }
    if (p[len - 1] == '}') {
        parent->values = node_new(row, "{}");
        return;
    }
    n = node_new(row, p + cut);
    parent->child = xrealloc(parent->child, (parent->nchild + 1) * sizeof(*parent->child));
    parent->child[parent->nchild++] = n;
}

static void add_cel(struct schema_node *root, const struct schema_cel *c)
{
    struct schema_node *n = find(root, c->path, strlen(c->path));

    if (!n)
        return;
    n->cel = xrealloc(n->cel, (n->ncel + 1) * sizeof(*n->cel));
    n->cel[n->ncel++] = c;
}

static void build_trees(void)
{
    size_t s, i;

    trees = xcalloc(schema_nsets, sizeof(*trees));
    for (s = 0; s < schema_nsets; s++) {
        const struct schema_set *set = &schema_sets[s];
        struct schema_node *root = node_new(NULL, "");

        for (i = 0; i < set->nrows; i++)
            add_row(root, &set->rows[i]);
        for (i = 0; i < set->ncel; i++)
            add_cel(root, &set->cel[i]);
        trees[s] = root;
    }
}

const struct schema_node *schema_lookup(const char *kind, const char *version, unsigned channel,
                                        const struct schema_set **set)
{
    return schema_lookup_bundle(NULL, kind, version, channel, set);
}

const struct schema_node *schema_lookup_bundle(const char *bundle, const char *kind,
                                               const char *version, unsigned channel,
                                               const struct schema_set **set)
{
    size_t s;

    if (!bundle)
        bundle = SCHEMA_DEFAULT_BUNDLE;
    pthread_once(&trees_once, build_trees);
    for (s = 0; s < schema_nsets; s++) {
        if (schema_sets[s].channel == channel && !strcmp(schema_sets[s].bundle, bundle) &&
            !strcmp(schema_sets[s].kind, kind) && !strcmp(schema_sets[s].version, version)) {
            if (set)
                *set = &schema_sets[s];
            return trees[s];
        }
    }
    return NULL;
}

static void node_free(struct schema_node *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->nchild; i++)
        node_free(n->child[i]);
    node_free(n->items);
    node_free(n->values);
    free(n->child);
    free(n->cel);
    cJSON_Delete(n->default_value);
    free(n);
}

void schema_shutdown(void)
{
    size_t s;

    if (!trees)
        return;
    for (s = 0; s < schema_nsets; s++)
        node_free(trees[s]);
    free(trees);
    trees = NULL;
    trees_once = (pthread_once_t)PTHREAD_ONCE_INIT;
}

const struct schema_node *schema_child(const struct schema_node *n, const char *name)
{
    size_t i;

    for (i = 0; n && i < n->nchild; i++)
        if (!strcmp(n->child[i]->name, name))
            return n->child[i];
    return NULL;
}

const char *schema_channel_name(unsigned channel)
{
    return channel == SCH_EXPERIMENTAL ? "experimental" : "standard";
}

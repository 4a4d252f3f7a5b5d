/*
 * `gwhook validate`: the webhook's rules run offline over files, directories
 * and stdin, for CI pipelines. Reads and prints; the judgement is
 * validate_object()'s.
 */
#include "cmd_validate.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.h"
#include "util.h"
#include "validate.h"
#include "wcache.h"
#include "xcheck.h"
#include "xml.h"
#include "yamlj.h"

#define MAX_FILE_BYTES  (64u << 20)
#define MAX_CHECK_FLAGS 32

enum out_format { OUT_TEXT, OUT_JSON, OUT_JUNIT };

struct vcfg {
    struct validate_opts opts;
    enum out_format format;
    int quiet;
    int upgrade_check; /* judge by v1.2 and by v1.6; report what v1.6 newly rejects */
    /* cross-object checks over the files' objects (--cross, --check, --config) */
    int cross;
    struct xcheck_config checks;
    const char *config_file;
    const char *check_flags[MAX_CHECK_FLAGS];
    unsigned ncheck_flags;
    const char *namespace_; /* for objects without metadata.namespace */
};

/* A file read whole: judged after every file is read when checks cross objects. */
struct vfile {
    char *name;
    char *buf;
    size_t len;
};

struct vrun {
    const struct vcfg *cfg;
    size_t objects, invalid, skipped, warnings;
    cJSON *json;       /* -o json: the array of results */
    struct sbuf junit; /* -o junit: the <testcase> elements */
    size_t junit_failures;
    struct vfile *files;
    size_t nfiles;
    struct wcache *wc; /* every object of every file, for the cross-object checks */
};

static const char usage_text[] =
    "usage: gwhook validate [options] PATH... | -\n"
    "\n"
    "Validate Gateway API objects in YAML or JSON files as the API server would,\n"
    "plus gatecheck's strict checks. Directories are searched recursively for\n"
    "*.yaml, *.yml and *.json; '-' reads standard input. Documents outside\n"
    "gateway.networking.k8s.io are skipped and counted.\n"
    "\n"
    "options:\n"
    "  --channel standard|experimental  CRD channel installed in the cluster (default standard)\n"
    "  -o, --output text|json|junit     output format (default text)\n"
    "  --strict                         strict findings are errors, not warnings\n"
    "  --api-version v1.6|v1.2|main     whose rules to apply: the Gateway API release whose\n"
    "                                   CRDs the cluster runs (default v1.6, the released\n"
    "                                   v1.6.x CRDs; v1.2 = v1.2.1, standard channel only;\n"
    "                                   main = upstream's main branch just after v1.6.1)\n"
    "  --upgrade-check                  report objects valid under v1.2 that v1.6 rejects\n"
    "                                   (what would break when the CRDs are upgraded)\n"
    "  --allow-unknown-fields           unknown fields warn instead of failing\n"
    "                                   (kubectl's --validate=strict rejects them)\n"
    "  --cross                          also run the cross-object checks of `gwhook serve`\n"
    "                                   (docs/CROSSCHECKS.md) over the objects of all the\n"
    "                                   files together: routes against their Gateways'\n"
    "                                   listeners, cross-namespace references against the\n"
    "                                   ReferenceGrants, duplicate matches; every check warns\n"
    "  --check NAME=MODE                a check's mode (deny, warn, off; NAME all for every\n"
    "                                   check); implies --cross; repeatable. deny findings\n"
    "                                   are errors. Objects in no file count as absent, so\n"
    "                                   backend-exists and parent-exists are best left off\n"
    "                                   unless the files hold the whole picture\n"
    "  --config FILE                    a YAML file with a 'checks:' map (as for serve);\n"
    "                                   implies --cross\n"
    "  -n, --namespace NS               namespace of objects that name none, for the\n"
    "                                   cross-object checks (default \"default\")\n"
    "  -q, --quiet                      no summary line on stderr\n"
    "  -h, --help                       this text\n"
    "\n"
    "output (text): one line per error, 'FILE:LINE: Kind namespace/name: path: message'\n"
    "exit status: 0 all valid, 1 some object invalid, 2 usage or I/O error\n";

static char *read_all(FILE *f, size_t *len, const char *name)
{
    struct sbuf sb = {0};
    char buf[65536];
    size_t n;

    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (sb.len + n > MAX_FILE_BYTES) {
            fprintf(stderr, "error: %s: larger than %u MiB\n", name, MAX_FILE_BYTES >> 20);
            sb_release(&sb);
            return NULL;
        }
        sb_add(&sb, buf, n);
    }
    if (ferror(f)) {
        fprintf(stderr, "error: %s: %s\n", name, strerror(errno));
        sb_release(&sb);
        return NULL;
    }
    *len = sb.len;
    return sb_detach(&sb);
}

static const char *meta(const cJSON *obj, const char *k)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "ns/name", "name", or "(no name)"; caller frees. */
static char *object_id(const cJSON *obj)
{
    const char *ns = meta(obj, "namespace"), *name = meta(obj, "name");

    if (!name)
        name = meta(obj, "generateName");
    if (!name)
        name = "(no name)";
    return ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

/* The object property of o whose name is the longest prefix of p that ends
   where a path token ends ('.', '[' or the end): map keys may hold dots. */
static const cJSON *step_property(const cJSON *o, const char **p)
{
    const cJSON *best = NULL, *c;
    size_t bestlen = 0;

    cJSON_ArrayForEach(c, o) {
        size_t l = strlen(c->string);

        if (l > bestlen && !strncmp(*p, c->string, l) &&
            ((*p)[l] == '.' || (*p)[l] == '[' || (*p)[l] == '\0')) {
            best = c;
            bestlen = l;
        }
    }
    *p += bestlen;
    return best;
}

/*
 * The line of the deepest object or array on the way to the printed field
 * path in the document as written (before defaulting), so a finding points
 * at its rule or listener rather than at the top of the object.
 */
static int line_of_field(const struct yamlj_doc *doc, const cJSON *obj, const char *field,
                         int fallback)
{
    const cJSON *at = obj;
    int line = fallback;

    while (at && *field) {
        const cJSON *next;

        if (*field == '.')
            field++;
        if (*field == '[' && cJSON_IsArray(at)) {
            char *end;
            long i = strtol(field + 1, &end, 10);

            next = *end == ']' ? cJSON_GetArrayItem(at, (int)i) : NULL;
            field = *end == ']' ? end + 1 : field + strlen(field);
        } else if (cJSON_IsObject(at)) {
            next = step_property(at, &field);
        } else {
            break;
        }
        if (!next)
            break;
        at = next;
        if (cJSON_IsObject(at) || cJSON_IsArray(at))
            line = yamlj_line_of(doc, at);
    }
    return line;
}

static void report_text(const struct yamlj_doc *doc, const cJSON *obj, const char *file, int line,
                        const char *kind, const char *id, const struct verr_list *errs)
{
    size_t i;

    for (i = 0; i < errs->len; i++) {
        char *m = verr_format(&errs->item[i]);
        int at = doc ? line_of_field(doc, obj, errs->item[i].field, line) : line;

        printf("%s:%d: %s%s %s: %s\n", file, at,
               errs->item[i].level == VERR_WARNING ? "warning: " : "", kind, id, m);
        free(m);
    }
}

static cJSON *errs_json(const struct verr_list *errs, enum verr_level level)
{
    cJSON *a = cJSON_CreateArray();
    size_t i;

    for (i = 0; i < errs->len; i++) {
        cJSON *e;
        char *m;

        if (errs->item[i].level != level)
            continue;
        e = cJSON_CreateObject();
        m = verr_format(&errs->item[i]);
        cJSON_AddStringToObject(e, "field", errs->item[i].field);
        cJSON_AddStringToObject(e, "reason", verr_type_reason(errs->item[i].type));
        cJSON_AddStringToObject(e, "message", m);
        if (errs->item[i].rule)
            cJSON_AddStringToObject(e, "rule", errs->item[i].rule);
        cJSON_AddItemToArray(a, e);
        free(m);
    }
    return a;
}

static void report_json(struct vrun *r, const char *file, int line, const cJSON *obj,
                        const char *kind, const struct verr_list *errs)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");

    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddNumberToObject(o, "line", line);
    cJSON_AddStringToObject(o, "apiVersion", cJSON_IsString(av) ? av->valuestring : "");
    cJSON_AddStringToObject(o, "kind", kind);
    if (meta(obj, "namespace"))
        cJSON_AddStringToObject(o, "namespace", meta(obj, "namespace"));
    cJSON_AddStringToObject(o, "name", meta(obj, "name") ? meta(obj, "name") : "");
    cJSON_AddBoolToObject(o, "valid", verr_count(errs, VERR_ERROR) == 0);
    cJSON_AddItemToObject(o, "errors", errs_json(errs, VERR_ERROR));
    cJSON_AddItemToObject(o, "warnings", errs_json(errs, VERR_WARNING));
    cJSON_AddItemToArray(r->json, o);
}

static void report_junit(struct vrun *r, const char *file, int line, const char *kind,
                         const char *id, const struct verr_list *errs)
{
    struct sbuf *sb = &r->junit;
    char *name = xasprintf("%s %s", kind, id);
    char *where = xasprintf("%s:%d", file, line);
    char *all = verr_join(errs, VERR_ERROR);

    sb_puts(sb, "    <testcase classname=\"");
    xml_escape(sb, where);
    sb_puts(sb, "\" name=\"");
    xml_escape(sb, name);
    sb_puts(sb, "\" time=\"0\"");
    if (all) {
        sb_puts(sb, ">\n      <failure message=\"");
        xml_escape(sb, all);
        sb_puts(sb, "\" type=\"Invalid\">");
        xml_escape(sb, all);
        sb_puts(sb, "</failure>\n    </testcase>\n");
        r->junit_failures++;
    } else {
        sb_puts(sb, "/>\n");
    }
    free(all);
    free(where);
    free(name);
}

/*
 * --upgrade-check: judge by v1.2; where v1.2 accepts, keep v1.6's errors
 * as "breaks on upgrade", else keep v1.2's own errors.
 */
static int namespaced(const cJSON *obj)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");

    return !cJSON_IsString(k) || (strcmp(k->valuestring, "GatewayClass") != 0 &&
                                  strcmp(k->valuestring, "Namespace") != 0);
}

/* obj, or a copy with metadata.namespace set (*copy then to free). */
static const cJSON *in_namespace(const struct vcfg *cfg, const cJSON *obj, cJSON **copy)
{
    cJSON *md;

    *copy = NULL;
    if (!namespaced(obj) || meta(obj, "namespace"))
        return obj;
    *copy = cJSON_Duplicate(obj, 1);
    md = cJSON_GetObjectItemCaseSensitive(*copy, "metadata");
    if (!cJSON_IsObject(md))
        return obj;
    cJSON_AddStringToObject(md, "namespace", cfg->namespace_);
    return *copy;
}

static enum validate_status judge_upgrade(const struct vcfg *cfg, const cJSON *obj,
                                          struct verr_list *errs)
{
    struct validate_opts old = cfg->opts;
    struct verr_list then = VERR_LIST_INIT;
    enum validate_status st;
    size_t i;

    old.bundle = "v1.2";
    st = validate_object(&old, obj, NULL, VALIDATE_CREATE, &then);
    if (st != VALIDATE_OK || verr_count(&then, VERR_ERROR)) {
        verr_splice(errs, &then);
        return st;
    }
    verr_list_release(&then);
    st = validate_object(&cfg->opts, obj, NULL, VALIDATE_CREATE, errs);
    for (i = 0; i < errs->len; i++) {
        if (errs->item[i].level != VERR_ERROR)
            continue;
        char *d =
            xasprintf("breaks on upgrade to v1.6 (valid under v1.2): %s", errs->item[i].detail);
        free(errs->item[i].detail);
        errs->item[i].detail = d;
    }
    return st;
}

static void check_object(struct vrun *r, const struct yamlj_doc *doc, const char *file, int line,
                         const cJSON *obj)
{
    struct verr_list errs = VERR_LIST_INIT;
    enum validate_status st =
        r->cfg->upgrade_check ? judge_upgrade(r->cfg, obj, &errs)
                              : validate_object(&r->cfg->opts, obj, NULL, VALIDATE_CREATE, &errs);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    const char *kind = cJSON_IsString(k) ? k->valuestring : "(no kind)";
    char *id;

    if (st == VALIDATE_NOT_GATEWAY) {
        r->skipped++;
        verr_list_release(&errs);
        return;
    }
    if (r->wc && st == VALIDATE_OK && !verr_count(&errs, VERR_ERROR)) {
        cJSON *copy;

        xcheck_run(&r->cfg->checks, r->wc, in_namespace(r->cfg, obj, &copy), NULL, VALIDATE_CREATE,
                   &errs);
        cJSON_Delete(copy);
    }
    id = object_id(obj);
    r->objects++;
    r->invalid += verr_count(&errs, VERR_ERROR) > 0;
    r->warnings += verr_count(&errs, VERR_WARNING);
    if (r->cfg->format == OUT_TEXT)
        report_text(doc, obj, file, line, kind, id, &errs);
    else if (r->cfg->format == OUT_JSON)
        report_json(r, file, line, obj, kind, &errs);
    else
        report_junit(r, file, line, kind, id, &errs);
    free(id);
    verr_list_release(&errs);
}

/* A document may be a List of objects (kubectl get -o yaml). */
static void check_doc(struct vrun *r, const char *file, const struct yamlj_doc *doc)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc->json, "items");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc->json, "kind");
    const cJSON *it;
    size_t kl = cJSON_IsString(k) ? strlen(k->valuestring) : 0;

    if (cJSON_IsArray(items) && kl >= 4 && !strcmp(k->valuestring + kl - 4, "List")) {
        cJSON_ArrayForEach(it, items) {
            check_object(r, doc, file, yamlj_line_of(doc, it), it);
        }
        return;
    }
    check_object(r, doc, file, doc->line, doc->json);
}

static int check_buffer(struct vrun *r, const char *name, const char *buf, size_t len)
{
    struct yamlj_stream s = {0};
    char err[512];
    size_t i;

    if (yamlj_parse(buf, len, NULL, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s: %s\n", name, err);
        return -1;
    }
    for (i = 0; i < s.len; i++)
        check_doc(r, name, &s.doc[i]);
    yamlj_stream_release(&s);
    return 0;
}

static int check_file(struct vrun *r, const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    const char *name = strcmp(path, "-") ? path : "<stdin>";
    size_t len = 0;
    char *buf;
    int rc;

    if (!f) {
        fprintf(stderr, "error: %s: %s\n", path, strerror(errno));
        return -1;
    }
    buf = read_all(f, &len, name);
    if (f != stdin)
        fclose(f);
    if (!buf)
        return -1;
    if (!r->cfg->cross) {
        rc = check_buffer(r, name, buf, len);
        free(buf);
        return rc;
    }
    r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
    r->files[r->nfiles].name = xstrdup(name);
    r->files[r->nfiles].buf = buf;
    r->files[r->nfiles].len = len;
    r->nfiles++;
    return 0;
}

/* ---- cross-object checks: every file's objects in one store, then the checks ---- */

static void store_object(struct vrun *r, const cJSON *obj)
{
    cJSON *copy;
    const cJSON *o = in_namespace(r->cfg, obj, &copy);

    wcache_put(r->wc, copy ? copy : cJSON_Duplicate(o, 1)); /* refused objects are freed */
}

static void store_buffer(struct vrun *r, const struct vfile *f)
{
    struct yamlj_stream s = {0};
    char err[512];
    size_t i;

    if (yamlj_parse(f->buf, f->len, NULL, &s, err, sizeof(err)) != 0)
        return; /* check_buffer() reports it */
    for (i = 0; i < s.len; i++) {
        const cJSON *doc = s.doc[i].json, *it;
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");

        if (cJSON_IsArray(items)) {
            cJSON_ArrayForEach(it, items) {
                store_object(r, it);
            }
        } else {
            store_object(r, doc);
        }
    }
    yamlj_stream_release(&s);
}

static int check_collected(struct vrun *r)
{
    size_t i;
    int rc = 0;

    r->wc = wcache_new();
    for (i = 0; i < r->nfiles; i++)
        store_buffer(r, &r->files[i]);
    for (i = 0; i < r->nfiles; i++) {
        rc |= check_buffer(r, r->files[i].name, r->files[i].buf, r->files[i].len) != 0;
        free(r->files[i].name);
        free(r->files[i].buf);
    }
    free(r->files);
    r->files = NULL;
    wcache_free(&r->wc);
    return rc;
}

static int wanted(const char *name)
{
    size_t l = strlen(name);

    return (l > 5 && !strcmp(name + l - 5, ".yaml")) || (l > 4 && !strcmp(name + l - 4, ".yml")) ||
           (l > 5 && !strcmp(name + l - 5, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_path(struct vrun *r, const char *path, int depth);

static int check_dir(struct vrun *r, const char *path, int depth)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, i;
    int rc = 0;

    if (!d) {
        fprintf(stderr, "error: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* hidden files and . .. */
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xasprintf("%s/%s", path, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        struct stat st;

        if (stat(names[i], &st) == 0 && (S_ISDIR(st.st_mode) || wanted(names[i])))
            rc |= check_path(r, names[i], depth + 1);
        free(names[i]);
    }
    free(names);
    return rc;
}

static int check_path(struct vrun *r, const char *path, int depth)
{
    struct stat st;

    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (depth > 64) {
            fprintf(stderr, "error: %s: directories nested too deep\n", path);
            return -1;
        }
        return check_dir(r, path, depth);
    }
    return check_file(r, path);
}

static void finish_output(struct vrun *r)
{
    if (r->cfg->format == OUT_JSON) {
        cJSON *root = cJSON_CreateObject();
        char *s;

        cJSON_AddItemToObject(root, "results", r->json);
        r->json = NULL;
        cJSON_AddNumberToObject(root, "objects", (double)r->objects);
        cJSON_AddNumberToObject(root, "invalid", (double)r->invalid);
        cJSON_AddNumberToObject(root, "warnings", (double)r->warnings);
        cJSON_AddNumberToObject(root, "skipped", (double)r->skipped);
        s = cJSON_Print(root);
        printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(root);
    } else if (r->cfg->format == OUT_JUNIT) {
        printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites tests=\"%zu\" failures=\"%zu\">\n"
               "  <testsuite name=\"gwhook validate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
               "skipped=\"0\">\n%s  </testsuite>\n</testsuites>\n",
               r->objects, r->junit_failures, r->objects, r->junit_failures,
               r->junit.buf ? r->junit.buf : "");
    }
}

/* One option's value; 0 on success, -1 after an error message. */
static int set_option(struct vcfg *cfg, int c, const char *arg)
{
    switch (c) {
    case 'c':
        if (!strcmp(arg, "standard") || !strcmp(arg, "experimental")) {
            cfg->opts.channel = arg[0] == 's' ? SCH_STANDARD : SCH_EXPERIMENTAL;
            return 0;
        }
        fprintf(stderr, "error: invalid channel '%s' (standard|experimental)\n", arg);
        return -1;
    case 'o':
        if (!strcmp(arg, "text") || !strcmp(arg, "json") || !strcmp(arg, "junit")) {
            cfg->format = arg[0] == 't' ? OUT_TEXT : arg[1] == 's' ? OUT_JSON : OUT_JUNIT;
            return 0;
        }
        fprintf(stderr, "error: invalid output '%s' (text|json|junit)\n", arg);
        return -1;
    case 'a':
        if (!strcmp(arg, "v1.2") || !strcmp(arg, "main"))
            cfg->opts.bundle = arg;
        else if (strcmp(arg, "v1.6") != 0)
            return fprintf(stderr, "error: invalid --api-version '%s' (v1.6|v1.2|main)\n", arg), -1;
        return 0;
    case 's':
        cfg->opts.strict = 1;
        return 0;
    case 'u':
        cfg->opts.unknown_strict = 0;
        return 0;
    case 'q':
        cfg->quiet = 1;
        return 0;
    case 'U':
        cfg->upgrade_check = 1;
        return 0;
    case 'x':
        cfg->cross = 1;
        return 0;
    case 'k':
        if (cfg->ncheck_flags == MAX_CHECK_FLAGS)
            return fprintf(stderr, "error: more than %d --check flags\n", MAX_CHECK_FLAGS), -1;
        cfg->check_flags[cfg->ncheck_flags++] = arg;
        cfg->cross = 1;
        return 0;
    case 'F':
        cfg->config_file = arg;
        cfg->cross = 1;
        return 0;
    case 'n':
        cfg->namespace_ = arg;
        return 0;
    default:
        fputs(usage_text, stderr);
        return -1;
    }
}

/* Combinations that cannot work, and a missing PATH. */
static int check_args(const struct vcfg *cfg, int argc)
{
    if (cfg->opts.bundle && !strcmp(cfg->opts.bundle, "v1.2") &&
        cfg->opts.channel == SCH_EXPERIMENTAL) {
        fprintf(stderr, "error: --api-version v1.2 covers the standard channel only: the "
                        "v1.2.1 experimental schemas are not known to gatecheck in full\n");
        return -1;
    }
    if (cfg->upgrade_check && (cfg->opts.bundle || cfg->opts.channel == SCH_EXPERIMENTAL)) {
        fprintf(stderr, "error: --upgrade-check compares v1.2 with v1.6 in the standard channel; "
                        "drop --api-version and --channel experimental\n");
        return -1;
    }
    if (optind >= argc) {
        fprintf(stderr, "error: no PATH given (use '-' for standard input)\n%s", usage_text);
        return -1;
    }
    return 0;
}

/* --config, then the --check flags, into cfg->checks. 0 or -1 after a message. */
static int load_checks(struct vcfg *cfg)
{
    char err[512];
    unsigned i;

    if (cfg->config_file && xcheck_load_file(&cfg->checks, cfg->config_file, err, sizeof(err))) {
        fprintf(stderr, "error: --config: %s\n", err);
        return -1;
    }
    for (i = 0; i < cfg->ncheck_flags; i++) {
        if (xcheck_set(&cfg->checks, cfg->check_flags[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "error: --check %s: %s\n", cfg->check_flags[i], err);
            return -1;
        }
    }
    return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct vcfg *cfg)
{
    static const struct option longopts[] = {{"channel", required_argument, NULL, 'c'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"strict", no_argument, NULL, 's'},
                                             {"allow-unknown-fields", no_argument, NULL, 'u'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"api-version", required_argument, NULL, 'a'},
                                             {"upgrade-check", no_argument, NULL, 'U'},
                                             {"cross", no_argument, NULL, 'x'},
                                             {"check", required_argument, NULL, 'k'},
                                             {"config", required_argument, NULL, 'F'},
                                             {"namespace", required_argument, NULL, 'n'},
                                             {NULL, 0, NULL, 0}};
    int c;

    cfg->opts.channel = SCH_STANDARD;
    cfg->opts.unknown_strict = 1;
    cfg->namespace_ = "default";
    xcheck_defaults(&cfg->checks);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qhn:", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return 1;
        }
        if (set_option(cfg, c, optarg) != 0)
            return -1;
    }
    if (load_checks(cfg) != 0)
        return -1;
    return check_args(cfg, argc);
}

int cmd_validate(int argc, char **argv)
{
    struct vcfg cfg = {0};
    struct vrun r = {0};
    int i, io_fail = 0, rc = parse_args(argc, argv, &cfg);

    if (rc)
        return rc > 0 ? 0 : 2;
    r.cfg = &cfg;
    if (cfg.format == OUT_JSON)
        r.json = cJSON_CreateArray();
    for (i = optind; i < argc; i++)
        io_fail |= check_path(&r, argv[i], 0) != 0;
    if (cfg.cross)
        io_fail |= check_collected(&r);
    finish_output(&r);
    if (!cfg.quiet)
        fprintf(stderr,
                "gwhook validate: %zu object%s checked, %zu invalid, %zu warning%s, %zu "
                "skipped (not gateway.networking.k8s.io)\n",
                r.objects, r.objects == 1 ? "" : "s", r.invalid, r.warnings,
                r.warnings == 1 ? "" : "s", r.skipped);
    cJSON_Delete(r.json);
    sb_release(&r.junit);
    if (io_fail)
        return 2;
    return r.invalid ? 1 : 0;
}

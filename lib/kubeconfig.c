/* Where the Kubernetes configuration comes from (spec ecosystem.md §6.1,
   §6.2): kubeconfig files, KUBECONFIG merging, in-cluster service accounts,
   resolved into one struct kube_config. Reads files; no network, and no
   exec plugin runs here (that is the client's business, lib/kube.c). */
#include "kube.h"
#include "kube_int.h"
#include "util.h"
#include "yamlj.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXEC_V1      "client.authentication.k8s.io/v1"
#define EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"

/* One parsed kubeconfig file. */
struct kc_file {
    char *path;
    char *dir; /* relative paths inside the file are resolved against it */
    struct yamlj_stream stream;
    const struct yamlj_doc *doc; /* the first document; NULL for an empty file */
};

/* A named cluster, user or context; the first file to define a name wins. */
struct kc_entry {
    const char *name;           /* not owned */
    const cJSON *val;           /* the mapping under cluster/user/context, or NULL */
    const cJSON *item;          /* the list item, for its line */
    const struct kc_file *file; /* not owned */
};

struct kc_list {
    struct kc_entry *v;
    size_t n;
};

struct kc_merged {
    struct kc_file *files; /* allocated once: entries point into it */
    size_t nfiles;
    struct kc_list clusters, users, contexts;
    const char *current; /* current-context of the first file setting one */
    const struct kc_file *current_file;
    char *src; /* "kubeconfig 'a'" or "kubeconfig files 'a', 'b'" */
};

/* Where a field sits, for messages: "FILE:LINE: user 'u': exec.command ..." */
struct kc_at {
    const struct kc_file *f;
    const cJSON *node;  /* the mapping holding the field */
    const char *what;   /* "cluster", "user", "context" */
    const char *name;   /* its name */
    const char *prefix; /* "" or "exec." */
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int kc_line(const struct kc_file *f, const cJSON *node)
{
    return f->doc ? yamlj_line_of(f->doc, node) : 1;
}

static int at_fail_type(const struct kc_at *a, const char *key, const char *type, char *err,
                        size_t errlen)
{
    return fail(err, errlen, "kubeconfig %s:%d: %s '%s': %s%s must be %s", a->f->path,
                kc_line(a->f, a->node), a->what, a->name, a->prefix, key, type);
}

/* *out: the string at key (NULL when absent, null or empty); -1 when not a string. */
static int at_str(const struct kc_at *a, const char *key, const char **out, char *err,
                  size_t errlen)
{
    const cJSON *v = a->node ? cJSON_GetObjectItemCaseSensitive(a->node, key) : NULL;

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return at_fail_type(a, key, "a string (quote the value)", err, errlen);
    if (*v->valuestring)
        *out = v->valuestring;
    return 0;
}

static int at_bool(const struct kc_at *a, const char *key, int *out, char *err, size_t errlen)
{
    const cJSON *v = a->node ? cJSON_GetObjectItemCaseSensitive(a->node, key) : NULL;

    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return at_fail_type(a, key, "true or false", err, errlen);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A list of strings (NULL when absent); *n its length. */
static int at_strings(const struct kc_at *a, const char *key, char ***out, size_t *n, char *err,
                      size_t errlen)
{
    const cJSON *v = a->node ? cJSON_GetObjectItemCaseSensitive(a->node, key) : NULL, *it;

    *out = NULL;
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return at_fail_type(a, key, "a list of strings", err, errlen);
    cJSON_ArrayForEach(it, v) {
        if (!cJSON_IsString(it))
            return at_fail_type(a, key, "a list of strings", err, errlen);
        *out = xrealloc(*out, (*n + 1) * sizeof(**out));
        (*out)[(*n)++] = xstrdup(it->valuestring);
    }
    return 0;
}

static char *kc_resolve_path(const struct kc_file *f, const char *p)
{
    if (p[0] == '/' || !f->dir)
        return xstrdup(p);
    return xasprintf("%s/%s", f->dir, p);
}

static void kc_file_release(struct kc_file *f)
{
    free(f->path);
    free(f->dir);
    yamlj_stream_release(&f->stream);
    memset(f, 0, sizeof(*f));
}

/* "line 3, column 5: msg" from yamlj becomes "FILE:3:5: msg". */
static int yaml_fail(const char *path, const char *yerr, char *err, size_t errlen)
{
    int line, col, n = 0;

    if (sscanf(yerr, "line %d, column %d: %n", &line, &col, &n) == 2 && n > 0)
        return fail(err, errlen, "kubeconfig %s:%d:%d: %s", path, line, col, yerr + n);
    return fail(err, errlen, "kubeconfig %s: %s", path, yerr);
}

/* Parse one file. 1 loaded, 0 missing (allowed), -1 error. */
static int kc_load_file(const char *path, int must_exist, struct kc_file *f, char *err,
                        size_t errlen)
{
    const char *slash = strrchr(path, '/');
    const cJSON *kind;
    char yerr[512];
    char *buf;
    size_t len;
    int e = kube_read_file(path, KUBE_MAX_FILE, &buf, &len);

    if ((e == ENOENT || e == ENOTDIR) && !must_exist)
        return 0;
    if (e)
        return fail(err, errlen, "cannot read kubeconfig '%s': %s", path, strerror(e));
    f->path = xstrdup(path);
    f->dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
    e = yamlj_parse(buf, len, NULL, &f->stream, yerr, sizeof(yerr));
    free(buf);
    if (e != 0)
        return yaml_fail(path, yerr, err, errlen);
    if (f->stream.len == 0)
        return 1; /* an empty file is an empty configuration */
    f->doc = &f->stream.doc[0];
    if (!cJSON_IsObject(f->doc->json))
        return fail(err, errlen,
                    "kubeconfig %s:%d: not a kubeconfig: the document is not a mapping", path,
                    f->doc->line);
    kind = cJSON_GetObjectItemCaseSensitive(f->doc->json, "kind");
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Config") != 0)
        return fail(err, errlen, "kubeconfig %s:%d: not a kubeconfig: kind is '%s', not Config",
                    path, f->doc->line, kind->valuestring);
    return 1;
}

static const struct kc_entry *kc_find(const struct kc_list *l, const char *name)
{
    size_t i;

    for (i = 0; name && i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

/* Add the named entries of list 'key' (items {name, FIELD: {...}}) not seen yet. */
static int kc_merge_list(const struct kc_file *f, const char *key, const char *field,
                         struct kc_list *l, char *err, size_t errlen)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(f->doc->json, key), *it;
    size_t i = 0;

    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return fail(err, errlen, "kubeconfig %s:%d: %s must be a list", f->path,
                    kc_line(f, f->doc->json), key);
    cJSON_ArrayForEach(it, arr) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(it, field);

        if (!cJSON_IsObject(it) || !cJSON_IsString(name) || !*name->valuestring)
            return fail(err, errlen, "kubeconfig %s:%d: %s[%zu] has no name", f->path,
                        kc_line(f, cJSON_IsObject(it) ? it : arr), key, i);
        if (val && !cJSON_IsNull(val) && !cJSON_IsObject(val))
            return fail(err, errlen, "kubeconfig %s:%d: %s '%s': %s must be a mapping", f->path,
                        kc_line(f, it), field, name->valuestring, field);
        if (!kc_find(l, name->valuestring)) {
            l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
            l->v[l->n].name = name->valuestring;
            l->v[l->n].val = cJSON_IsObject(val) ? val : NULL;
            l->v[l->n].item = it;
            l->v[l->n].file = f;
            l->n++;
        }
        i++;
    }
    return 0;
}

static int kc_merge_file(struct kc_merged *m, const struct kc_file *f, char *err, size_t errlen)
{
    const cJSON *cur;

    if (!f->doc)
        return 0;
    if (kc_merge_list(f, "clusters", "cluster", &m->clusters, err, errlen) ||
        kc_merge_list(f, "users", "user", &m->users, err, errlen) ||
        kc_merge_list(f, "contexts", "context", &m->contexts, err, errlen))
        return -1;
    cur = cJSON_GetObjectItemCaseSensitive(f->doc->json, "current-context");
    if (cur && !cJSON_IsNull(cur) && !cJSON_IsString(cur))
        return fail(err, errlen, "kubeconfig %s:%d: current-context must be a string", f->path,
                    kc_line(f, f->doc->json));
    if (!m->current && cur && cJSON_IsString(cur) && *cur->valuestring) {
        m->current = cur->valuestring;
        m->current_file = f;
    }
    return 0;
}

static void kc_merged_release(struct kc_merged *m)
{
    size_t i;

    for (i = 0; i < m->nfiles; i++)
        kc_file_release(&m->files[i]);
    free(m->files);
    free(m->clusters.v);
    free(m->users.v);
    free(m->contexts.v);
    free(m->src);
    memset(m, 0, sizeof(*m));
}

/* "a, b, c" (at most 8 names), for "did you mean" lists. */
static char *kc_names(const struct kc_list *l)
{
    struct sbuf sb = {0};
    size_t i;

    for (i = 0; i < l->n && i < 8; i++)
        sb_printf(&sb, "%s'%s'", i ? ", " : "", l->v[i].name);
    if (l->n > 8)
        sb_puts(&sb, ", ...");
    if (!l->n)
        sb_puts(&sb, "none");
    return sb_detach(&sb);
}

/* ---- PEM fields ---- */

/* Load a PEM from FIELD-data (base64, wins) or else FIELD (a path). */
static int kc_pem(const struct kc_at *a, const char *field, int is_key, struct kube_blob *out,
                  char *err, size_t errlen)
{
    const char *what = is_key ? "private key" : "certificate";
    char data_key[64];
    const char *data, *path;
    char *full;
    int e;

    snprintf(data_key, sizeof(data_key), "%s-data", field);
    if (at_str(a, data_key, &data, err, errlen) || at_str(a, field, &path, err, errlen))
        return -1;
    if (data) {
        if (kube_b64_decode(data, &out->data, &out->len) != 0)
            return fail(err, errlen, "kubeconfig %s:%d: %s '%s': %s is not valid base64",
                        a->f->path, kc_line(a->f, a->node), a->what, a->name, data_key);
        e = is_key ? kube_pem_check_key(out->data, out->len)
                   : kube_pem_check_cert(out->data, out->len);
        if (e)
            return fail(err, errlen, "kubeconfig %s:%d: %s '%s': %s holds no PEM %s", a->f->path,
                        kc_line(a->f, a->node), a->what, a->name, data_key, what);
        return 0;
    }
    if (!path)
        return 0;
    full = kc_resolve_path(a->f, path);
    e = kube_read_file(full, KUBE_MAX_FILE, &out->data, &out->len);
    if (e)
        fail(err, errlen, "kubeconfig %s: %s '%s': cannot read %s '%s': %s", a->f->path, a->what,
             a->name, field, full, strerror(e));
    else if (is_key ? kube_pem_check_key(out->data, out->len)
                    : kube_pem_check_cert(out->data, out->len))
        e = fail(err, errlen, "kubeconfig %s: %s '%s': %s '%s' holds no PEM %s", a->f->path,
                 a->what, a->name, field, full, what);
    free(full);
    return e ? -1 : 0;
}

/* ---- clusters ---- */

static int has_scheme(const char *url, const char *const *schemes)
{
    for (; *schemes; schemes++)
        if (strncmp(url, *schemes, strlen(*schemes)) == 0)
            return 1;
    return 0;
}

static int kc_cluster(const struct kc_entry *e, struct kube_config *cfg, char *err, size_t errlen)
{
    static const char *const http[] = {"https://", "http://", NULL};
    static const char *const proxy[] = {"http://", "https://", "socks5://", NULL};
    struct kc_at a = {e->file, e->val ? e->val : e->item, "cluster", e->name, ""};
    const char *server, *sni, *purl;
    size_t n;

    if (at_str(&a, "server", &server, err, errlen) ||
        at_str(&a, "tls-server-name", &sni, err, errlen) ||
        at_str(&a, "proxy-url", &purl, err, errlen) ||
        at_bool(&a, "insecure-skip-tls-verify", &cfg->insecure, err, errlen) ||
        at_bool(&a, "disable-compression", &cfg->disable_compression, err, errlen))
        return -1;
    if (!server)
        return fail(err, errlen,
                    "kubeconfig %s:%d: cluster '%s' has no server: set it to the API server's "
                    "URL (https://HOST:PORT)",
                    a.f->path, kc_line(a.f, a.node), e->name);
    if (!has_scheme(server, http))
        return fail(err, errlen,
                    "kubeconfig %s:%d: cluster '%s': server '%s' is not an https:// URL", a.f->path,
                    kc_line(a.f, a.node), e->name, server);
    if (purl && !has_scheme(purl, proxy))
        return fail(err, errlen,
                    "kubeconfig %s:%d: cluster '%s': proxy-url '%s' must start with http://, "
                    "https:// or socks5://",
                    a.f->path, kc_line(a.f, a.node), e->name, purl);
    n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
        n--;
    cfg->server = xstrndup(server, n);
    cfg->tls_server_name = sni ? xstrdup(sni) : NULL;
    cfg->proxy_url = purl ? xstrdup(purl) : NULL;
    if (kc_pem(&a, "certificate-authority", 0, &cfg->ca, err, errlen))
        return -1;
    if (cfg->insecure && cfg->ca.data)
        return fail(err, errlen,
                    "kubeconfig %s:%d: cluster '%s' sets both certificate-authority and "
                    "insecure-skip-tls-verify (a root certificate with the insecure flag is not "
                    "allowed): remove one",
                    a.f->path, kc_line(a.f, a.node), e->name);
    return 0;
}

/* ---- users ---- */

static int kc_exec_env(const struct kc_at *a, struct kube_exec *x, char *err, size_t errlen)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(a->node, "env"), *it;

    if (!env || cJSON_IsNull(env))
        return 0;
    if (!cJSON_IsArray(env))
        return at_fail_type(a, "env", "a list of {name, value}", err, errlen);
    cJSON_ArrayForEach(it, env) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(it, "value");

        if (!cJSON_IsString(name) || !*name->valuestring || strchr(name->valuestring, '=') ||
            (value && !cJSON_IsString(value)))
            return at_fail_type(a, "env", "a list of {name, value} strings", err, errlen);
        x->env = xrealloc(x->env, (x->nenv + 1) * sizeof(*x->env));
        x->env[x->nenv].name = xstrdup(name->valuestring);
        x->env[x->nenv].value = xstrdup(value ? value->valuestring : "");
        x->nenv++;
    }
    return 0;
}

static int kc_exec_check(const struct kc_at *a, const char *api, const char *cmd, const char **mode,
                         char *err, size_t errlen)
{
    const char *f = a->f->path, *u = a->name;
    int line = kc_line(a->f, a->node);

    if (!cmd)
        return fail(err, errlen, "kubeconfig %s:%d: user '%s': exec.command is required", f, line,
                    u);
    if (!api)
        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s': exec.apiVersion is required (use %s)", f, line, u,
                    EXEC_V1);
    if (strcmp(api, EXEC_V1) != 0 && strcmp(api, EXEC_V1BETA1) != 0)
        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s': exec.apiVersion '%s' is not supported (use %s)",
                    f, line, u, api, EXEC_V1);
    if (!*mode && strcmp(api, EXEC_V1) == 0)
        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s': exec.interactiveMode is required with %s "
                    "(Never, IfAvailable or Always)",
                    f, line, u, EXEC_V1);
    if (!*mode)
        *mode = "IfAvailable";
    if (strcmp(*mode, "Never") != 0 && strcmp(*mode, "IfAvailable") != 0 &&
        strcmp(*mode, "Always") != 0)
        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s': exec.interactiveMode '%s' must be Never, "
                    "IfAvailable or Always",
                    f, line, u, *mode);
    return 0;
}

static int kc_exec(const struct kc_entry *e, const cJSON *node, struct kube_config *cfg, char *err,
                   size_t errlen)
{
    struct kc_at a = {e->file, node, "user", e->name, "exec."};
    const char *api, *cmd, *hint, *mode;
    struct kube_exec *x;

    if (!cJSON_IsObject(node))
        return at_fail_type(&a, "exec", "a mapping", err, errlen);
    if (at_str(&a, "apiVersion", &api, err, errlen) || at_str(&a, "command", &cmd, err, errlen) ||
        at_str(&a, "installHint", &hint, err, errlen) ||
        at_str(&a, "interactiveMode", &mode, err, errlen) ||
        kc_exec_check(&a, api, cmd, &mode, err, errlen) || !api || !cmd)
        return -1;
    x = xcalloc(1, sizeof(*x));
    cfg->exec = x;
    x->api_version = xstrdup(api);
    /* a command with a '/' is relative to the kubeconfig; others are looked up in PATH */
    x->command = strchr(cmd, '/') ? kc_resolve_path(e->file, cmd) : xstrdup(cmd);
    x->install_hint = hint ? xstrdup(hint) : NULL;
    x->interactive_mode = xstrdup(mode);
    if (at_bool(&a, "provideClusterInfo", &x->provide_cluster_info, err, errlen) ||
        at_strings(&a, "args", &x->args, &x->nargs, err, errlen) || kc_exec_env(&a, x, err, errlen))
        return -1;
    return 0;
}

static int kc_impersonate(const struct kc_at *a, struct kube_config *cfg, char *err, size_t errlen)
{
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(a->node, "as-user-extra"), *k, *v;
    const char *as, *uid;

    if (at_str(a, "as", &as, err, errlen) || at_str(a, "as-uid", &uid, err, errlen) ||
        at_strings(a, "as-groups", &cfg->as_groups, &cfg->nas_groups, err, errlen))
        return -1;
    cfg->as_user = as ? xstrdup(as) : NULL;
    cfg->as_uid = uid ? xstrdup(uid) : NULL;
    if (!extra || cJSON_IsNull(extra))
        return 0;
    if (!cJSON_IsObject(extra))
        return at_fail_type(a, "as-user-extra", "a mapping of lists of strings", err, errlen);
    cJSON_ArrayForEach(k, extra) {
        if (!cJSON_IsArray(k))
            return at_fail_type(a, "as-user-extra", "a mapping of lists of strings", err, errlen);
        cJSON_ArrayForEach(v, k) {
            if (!cJSON_IsString(v))
                return at_fail_type(a, "as-user-extra", "a mapping of lists of strings", err,
                                    errlen);
            cfg->as_extra = xrealloc(cfg->as_extra, (cfg->nas_extra + 1) * sizeof(char *));
            cfg->as_extra[cfg->nas_extra++] = xasprintf("%s=%s", k->string, v->valuestring);
        }
    }
    return 0;
}

static int kc_client_cert(const struct kc_at *a, struct kube_config *cfg, char *err, size_t errlen)
{
    if (kc_pem(a, "client-certificate", 0, &cfg->client_cert, err, errlen) ||
        kc_pem(a, "client-key", 1, &cfg->client_key, err, errlen))
        return -1;
    if (!cfg->client_cert.data != !cfg->client_key.data)
        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s' has a client-%s but no client-%s: set both "
                    "(or their -data forms)",
                    a->f->path, kc_line(a->f, a->node), a->name,
                    cfg->client_cert.data ? "certificate" : "key",
                    cfg->client_cert.data ? "key" : "certificate");
    if (cfg->client_cert.data &&
        kube_pem_check_pair(cfg->client_cert.data, cfg->client_cert.len, cfg->client_key.data,
                            cfg->client_key.len) != 0)
        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s': the client key does not match the client "
                    "certificate",
                    a->f->path, kc_line(a->f, a->node), a->name);
    return 0;
}

static int kc_token(const struct kc_at *a, struct kube_config *cfg, char *err, size_t errlen)
{
    const char *token, *file, *user, *pass;
    char *full, *buf;
    size_t len;
    int e;

    if (at_str(a, "token", &token, err, errlen) || at_str(a, "tokenFile", &file, err, errlen) ||
        at_str(a, "username", &user, err, errlen) || at_str(a, "password", &pass, err, errlen))
        return -1;
    if ((token || file) && (user || pass))
        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s' has both a token and a username/password: "
                    "only one authentication method is allowed",
                    a->f->path, kc_line(a->f, a->node), a->name);
    cfg->username = user ? xstrdup(user) : NULL;
    cfg->password = pass ? xstrdup(pass) : NULL;
    cfg->token = token ? xstrdup(token) : NULL;
    if (!file)
        return 0;
    full = kc_resolve_path(a->f, file);
    e = kube_read_file(full, KUBE_MAX_FILE, &buf, &len);
    if (e) {
        fail(err, errlen, "kubeconfig %s: user '%s': cannot read tokenFile '%s': %s", a->f->path,
             a->name, full, strerror(e));
        free(full);
        return -1;
    }
    free(cfg->token); /* tokenFile wins over token */
    cfg->token = kube_trim(buf);
    cfg->token_file = full;
    return 0;
}

static int kc_user(const struct kc_entry *e, struct kube_config *cfg, char *err, size_t errlen)
{
    struct kc_at a = {e->file, e->val ? e->val : e->item, "user", e->name, ""};
    const cJSON *ap, *exec;

    if (!e->val)
        return 0;
    ap = cJSON_GetObjectItemCaseSensitive(e->val, "auth-provider");
    if (ap && !cJSON_IsNull(ap)) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(ap, "name");

        return fail(err, errlen,
                    "kubeconfig %s:%d: user '%s' uses auth-provider '%s', which is not "
                    "supported: use an exec plugin (client.authentication.k8s.io/v1, e.g. "
                    "gke-gcloud-auth-plugin or kubelogin) or a token instead",
                    a.f->path, kc_line(a.f, a.node), e->name,
                    cJSON_IsString(name) ? name->valuestring : "?");
    }
    if (kc_client_cert(&a, cfg, err, errlen) || kc_token(&a, cfg, err, errlen) ||
        kc_impersonate(&a, cfg, err, errlen))
        return -1;
    exec = cJSON_GetObjectItemCaseSensitive(e->val, "exec");
    if (exec && !cJSON_IsNull(exec))
        return kc_exec(e, exec, cfg, err, errlen);
    return 0;
}

/* ---- contexts ---- */

static const struct kc_entry *kc_context(const struct kc_merged *m, const char *override, char *err,
                                         size_t errlen)
{
    const char *name = override ? override : m->current;
    const struct kc_entry *ctx = kc_find(&m->contexts, name);
    char *names;

    if (ctx)
        return ctx;
    names = kc_names(&m->contexts);
    if (override)
        fail(err, errlen, "context '%s' not found in %s (contexts: %s)", override, m->src, names);
    else if (name)
        fail(err, errlen,
             "current-context '%s' of kubeconfig '%s' is not defined in %s (contexts: %s): "
             "pass --context NAME",
             name, m->current_file->path, m->src, names);
    else
        fail(err, errlen, "%s has no current-context: pass --context NAME (contexts: %s)", m->src,
             names);
    free(names);
    return NULL;
}

static int kc_resolve(const struct kc_merged *m, const char *override, struct kube_config *cfg,
                      char *err, size_t errlen)
{
    const struct kc_entry *ctx = kc_context(m, override, err, errlen), *cl, *us = NULL;
    const char *cname, *uname, *ns;
    struct kc_at a;

    if (!ctx)
        return -1;
    a = (struct kc_at){ctx->file, ctx->val ? ctx->val : ctx->item, "context", ctx->name, ""};
    if (at_str(&a, "cluster", &cname, err, errlen) || at_str(&a, "user", &uname, err, errlen) ||
        at_str(&a, "namespace", &ns, err, errlen))
        return -1;
    cfg->context = xstrdup(ctx->name);
    cfg->namespace = xstrdup(ns ? ns : "default");
    if (!cname)
        return fail(err, errlen, "kubeconfig %s:%d: context '%s' names no cluster", a.f->path,
                    kc_line(a.f, a.node), ctx->name);
    cl = kc_find(&m->clusters, cname);
    if (!cl)
        return fail(err, errlen,
                    "context '%s' (kubeconfig '%s') names cluster '%s', which is not "
                    "defined in %s",
                    ctx->name, ctx->file->path, cname, m->src);
    if (uname) {
        us = kc_find(&m->users, uname);
        if (!us)
            return fail(err, errlen,
                        "context '%s' (kubeconfig '%s') names user '%s', which is not defined "
                        "in %s",
                        ctx->name, ctx->file->path, uname, m->src);
        cfg->user = xstrdup(uname);
    }
    cfg->cluster = xstrdup(cname);
    cfg->where = xasprintf("cluster '%s' of kubeconfig '%s'", cname, cl->file->path);
    if (kc_cluster(cl, cfg, err, errlen))
        return -1;
    return us ? kc_user(us, cfg, err, errlen) : 0;
}

/*
 * Load and merge paths[0..n). 0 done, 1 none of the files exist (only when
 * !must_exist), -1 error.
 */
static int kc_load(const char *const *paths, size_t n, int must_exist, const char *override,
                   struct kube_config *cfg, char *err, size_t errlen)
{
    struct kc_merged m;
    struct sbuf src = {0};
    size_t i;
    int rc = 0;

    memset(&m, 0, sizeof(m));
    m.files = xcalloc(n, sizeof(*m.files));
    for (i = 0; i < n && rc >= 0; i++) {
        rc = kc_load_file(paths[i], must_exist, &m.files[m.nfiles], err, errlen);
        if (rc > 0)
            sb_printf(&src, "%s'%s'", m.nfiles ? ", " : "", paths[i]);
        if (rc != 0) /* a failed file is released with the others */
            m.nfiles++;
    }
    if (rc >= 0 && m.nfiles == 0)
        rc = 1;
    else if (rc >= 0) {
        m.src = xasprintf("kubeconfig%s %s", m.nfiles > 1 ? " files" : "", src.buf);
        for (i = 0; i < m.nfiles && rc >= 0; i++)
            rc = kc_merge_file(&m, &m.files[i], err, errlen);
        if (rc >= 0)
            rc = kc_resolve(&m, override, cfg, err, errlen);
    }
    sb_release(&src);
    kc_merged_release(&m);
    return rc;
}

/* ---- in-cluster ---- */

static int in_cluster_env(const char **host, const char **port)
{
    *host = getenv("KUBERNETES_SERVICE_HOST");
    *port = getenv("KUBERNETES_SERVICE_PORT");
    return *host && **host && *port && **port;
}

static int valid_port(const char *p)
{
    long v = 0;

    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > 65535)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= 65535;
}

static int sa_read(const char *dir, const char *name, char **out, size_t *len, char *err,
                   size_t errlen)
{
    char *path = xasprintf("%s/%s", dir, name);
    int e = kube_read_file(path, KUBE_MAX_FILE, out, len);

    if (e)
        fail(err, errlen,
             "in-cluster config: cannot read the service account's %s '%s': %s (is a service "
             "account token mounted? see automountServiceAccountToken)",
             name, path, strerror(e));
    free(path);
    return e ? -1 : 0;
}

static int kc_in_cluster(const struct kube_load_opts *o, struct kube_config *cfg, char *err,
                         size_t errlen)
{
    const char *host, *port, *env = getenv("GATECHECK_SA_DIR");
    const char *dir = o->sa_dir ? o->sa_dir : (env && *env ? env : KUBE_SA_DIR_DEFAULT);
    char *ns = NULL;
    size_t len;

    in_cluster_env(&host, &port);
    if (o->context)
        return fail(err, errlen,
                    "--context '%s' needs a kubeconfig, but none was found (running "
                    "in-cluster): set --kubeconfig or KUBECONFIG",
                    o->context);
    if (!valid_port(port))
        return fail(err, errlen, "in-cluster config: KUBERNETES_SERVICE_PORT '%s' is not a port",
                    port);
    cfg->source = KUBE_SOURCE_IN_CLUSTER;
    /* JoinHostPort: an IPv6 address goes in brackets */
    if (strchr(host, ':') && host[0] != '[')
        cfg->server = xasprintf("https://[%s]:%s", host, port);
    else
        cfg->server = xasprintf("https://%s:%s", host, port);
    cfg->where = xasprintf("in-cluster config (KUBERNETES_SERVICE_HOST=%s, "
                           "KUBERNETES_SERVICE_PORT=%s, service account '%s')",
                           host, port, dir);
    cfg->token_file = xasprintf("%s/token", dir);
    if (sa_read(dir, "token", &cfg->token, &len, err, errlen) ||
        sa_read(dir, "ca.crt", &cfg->ca.data, &cfg->ca.len, err, errlen))
        return -1;
    kube_trim(cfg->token);
    if (kube_pem_check_cert(cfg->ca.data, cfg->ca.len))
        return fail(err, errlen, "in-cluster config: '%s/ca.crt' holds no PEM certificate", dir);
    if (sa_read(dir, "namespace", &ns, &len, err, errlen) == 0 && *kube_trim(ns))
        cfg->namespace = ns;
    else
        free(ns);
    if (!cfg->namespace)
        cfg->namespace = xstrdup("default");
    return 0;
}

/* ---- the search ---- */

/* Split KUBECONFIG on ':' dropping empty entries and duplicates. */
static size_t split_env(const char *env, char ***out)
{
    size_t n = 0, i;
    const char *p = env;

    *out = NULL;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *item = xstrndup(p, len);
        int dup = !*item;

        for (i = 0; i < n && !dup; i++)
            dup = strcmp((*out)[i], item) == 0;
        if (dup) {
            free(item);
        } else {
            *out = xrealloc(*out, (n + 1) * sizeof(**out));
            (*out)[n++] = item;
        }
        p += len;
        if (*p)
            p++;
    }
    return n;
}

static int kc_from_env(const char *env, const struct kube_load_opts *o, struct kube_config *cfg,
                       char *err, size_t errlen)
{
    char **paths;
    size_t n = split_env(env, &paths), i;
    int rc = kc_load((const char *const *)paths, n, 0, o->context, cfg, err, errlen);
    const char *host, *port;

    for (i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    if (rc == 0)
        cfg->source = KUBE_SOURCE_ENV;
    if (rc != 1)
        return rc;
    if (in_cluster_env(&host, &port))
        return kc_in_cluster(o, cfg, err, errlen);
    return fail(err, errlen,
                "no kubeconfig: none of the files in KUBECONFIG ('%s') exist, and this is not "
                "inside a cluster (KUBERNETES_SERVICE_HOST is not set): point KUBECONFIG or "
                "--kubeconfig at a kubeconfig file",
                env);
}

static int kc_search(const struct kube_load_opts *o, struct kube_config *cfg, char *err,
                     size_t errlen)
{
    const char *env = getenv("KUBECONFIG"), *home = getenv("HOME"), *host, *port;
    char *path;
    int rc;

    if (o->kubeconfig) {
        cfg->source = KUBE_SOURCE_FLAG;
        return kc_load(&o->kubeconfig, 1, 1, o->context, cfg, err, errlen);
    }
    if (env && *env)
        return kc_from_env(env, o, cfg, err, errlen);
    if (in_cluster_env(&host, &port))
        return kc_in_cluster(o, cfg, err, errlen);
    if (!home || !*home)
        return fail(err, errlen,
                    "no kubeconfig: set --kubeconfig or KUBECONFIG, or run inside a "
                    "cluster (HOME is not set, so ~/.kube/config was not tried)");
    path = xasprintf("%s/.kube/config", home);
    cfg->source = KUBE_SOURCE_HOME;
    rc = kc_load((const char *const *)&path, 1, 0, o->context, cfg, err, errlen);
    if (rc == 1)
        rc = fail(err, errlen,
                  "no kubeconfig: set --kubeconfig or KUBECONFIG, or run inside a "
                  "cluster ('%s' does not exist)",
                  path);
    free(path);
    return rc;
}

int kube_config_load(const struct kube_load_opts *opts, struct kube_config **out, char *err,
                     size_t errlen)
{
    static const struct kube_load_opts none;
    struct kube_config *cfg = xcalloc(1, sizeof(*cfg));

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (kc_search(opts ? opts : &none, cfg, err, errlen) != 0) {
        kube_config_free(&cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

static void free_strings(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void exec_free(struct kube_exec *x)
{
    size_t i;

    if (!x)
        return;
    free(x->api_version);
    free(x->command);
    free_strings(x->args, x->nargs);
    for (i = 0; i < x->nenv; i++) {
        free(x->env[i].name);
        free(x->env[i].value);
    }
    free(x->env);
    free(x->install_hint);
    free(x->interactive_mode);
    free(x);
}

void kube_config_free(struct kube_config **pcfg)
{
    struct kube_config *c = pcfg ? *pcfg : NULL;

    if (!c)
        return;
    free(c->where);
    free(c->context);
    free(c->cluster);
    free(c->user);
    free(c->namespace);
    free(c->server);
    free(c->ca.data);
    free(c->tls_server_name);
    free(c->proxy_url);
    free(c->client_cert.data);
    free(c->client_key.data);
    free(c->token);
    free(c->token_file);
    free(c->username);
    free(c->password);
    free(c->as_user);
    free(c->as_uid);
    free_strings(c->as_groups, c->nas_groups);
    free_strings(c->as_extra, c->nas_extra);
    exec_free(c->exec);
    free(c);
    *pcfg = NULL;
}

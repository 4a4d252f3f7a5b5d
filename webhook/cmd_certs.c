/*
 * `gwhook certs`: the webhook's CA and serving certificate as files, in the
 * layout of a mounted kubernetes.io/tls Secret (ca.crt, ca.key, tls.crt,
 * tls.key), and/or as Secrets in the cluster, and the CA in the caBundle of
 * the webhook configurations (through lib/kube.c). Idempotent: what is still
 * good is kept, byte for byte. The cryptography is certs.c's; this file
 * decides and writes.
 */
#include "cmd_certs.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "certs.h"
#include "kube.h"
#include "util.h"

#define DAY_S          86400L
#define MAX_DAYS       36525L
#define MAX_FILE_BYTES (1u << 20)
#define MAX_CN_BYTES   64
#define SAN_TEXT_MAX   1000 /* struct certs_info.sans holds 1023 */

static const char usage_text[] =
    "usage: gwhook certs (--out-dir DIR | --secret NAME) [--service NAME --namespace NS]\n"
    "                    [--dns NAME]... [--ip ADDR]... [--patch-webhooks] [options]\n"
    "\n"
    "Create or renew the webhook's TLS files: a self-signed CA and a serving\n"
    "certificate signed by it (ECDSA P-256), in the layout of a mounted\n"
    "kubernetes.io/tls Secret. Safe to run again and again (init container,\n"
    "CronJob, Helm hook):\n"
    "  - the CA in DIR is reused while it is valid for more than --renew-before-days;\n"
    "  - the serving certificate is kept while its key matches, it is signed by\n"
    "    that CA, its SANs are exactly the requested ones and it is valid for more\n"
    "    than --renew-before-days; otherwise a new one, with a new key, is issued.\n"
    "Files are replaced atomically (temporary file + rename); files that are kept\n"
    "are not touched, so the server's certificate watcher sees no change.\n"
    "\n"
    "files in DIR:\n"
    "  ca.crt   the CA certificate: base64 of it is the webhook configurations' caBundle\n"
    "  ca.key   the CA key (mode 0600)\n"
    "  tls.crt  the serving certificate (for `gwhook serve`)\n"
    "  tls.key  its key (mode 0600)\n"
    "\n"
    "options:\n"
    "  --service NAME         the webhook's Service; with --namespace gives the SANs\n"
    "  --namespace NS           NAME.NS.svc and NAME.NS.svc.cluster.local\n"
    "  --dns NAME             one more DNS SAN (repeatable)\n"
    "  --ip ADDR              an IP SAN, IPv4 or IPv6 (repeatable)\n"
    "  --out-dir DIR          where the files are (created, mode 0700, if missing)\n"
    "  --validity-days N      lifetime of a new serving certificate (default 365)\n"
    "  --ca-validity-days N   lifetime of a new CA (default 3650)\n"
    "  --renew-before-days N  replace a certificate this many days before it\n"
    "                         expires (default 30; the CA too)\n"
    "\n"
    "in the cluster (the Kubernetes API; kubeconfig or in-cluster credentials):\n"
    "  --secret NAME          keep the files in Secrets instead of, or besides, DIR:\n"
    "                         NAME (type kubernetes.io/tls: tls.crt, tls.key, ca.crt;\n"
    "                         mount it into gwhook serve) and NAME-ca (the CA and its\n"
    "                         key, never mounted), in --namespace, else the context's\n"
    "                         namespace. When NAME-ca exists it is what is reused.\n"
    "  --patch-webhooks       put the CA into the caBundle of every webhook of the\n"
    "                         Validating and Mutating webhook configurations named\n"
    "                         --webhook-config, appended: CAs already there stay while\n"
    "                         they are valid (expired ones are dropped). Done before\n"
    "                         the new certificate is written, so the API server\n"
    "                         trusts it before gwhook serves it.\n"
    "  --webhook-config NAME  the configurations to patch (default gatecheck)\n"
    "  --kubeconfig FILE      that kubeconfig only (default: $KUBECONFIG, in-cluster,\n"
    "                         ~/.kube/config)\n"
    "  --context NAME         a context of the kubeconfig\n"
    "  -h, --help             this text\n"
    "\n"
    "At least one SAN is needed. When a new CA is made (the first run, or the old\n"
    "one expires within --renew-before-days), tls.crt is signed by it at once: put\n"
    "the new ca.crt into every caBundle that trusts the webhook, next to the old CA\n"
    "until all replicas have reloaded (--patch-webhooks does this merge).\n"
    "\n"
    "exit status: 0 done, 1 failure (the message names the file or object), 2 usage\n"
    "error\n";

/* A NULL-terminated list of owned strings. */
struct strlist {
    char **v;
    size_t n;
};

struct ccfg {
    const char *service, *ns, *out_dir;
    struct strlist dns, ips; /* lower-case DNS names; IPs in inet_ntop() form */
    long validity_days, ca_validity_days, renew_before_days;
    const char *secret;         /* --secret NAME */
    int patch_webhooks;         /* --patch-webhooks */
    const char *webhook_config; /* --webhook-config, default "gatecheck" */
    const char *kubeconfig, *context;
};

/* Files staged as temporaries, renamed into place together by stage_commit(). */
struct stage {
    char *tmp[4], *dst[4];
    size_t n;
};

static void sl_add(struct strlist *l, const char *s)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return;
    l->v = xrealloc(l->v, (l->n + 2) * sizeof(*l->v));
    l->v[l->n++] = xstrdup(s);
    l->v[l->n] = NULL;
}

static void sl_release(struct strlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static const char *fmt_time(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "@%lld", (long long)t);
    return buf;
}

/* ---- arguments ------------------------------------------------------------ */

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nRun 'gwhook certs --help' for the options.\n", stderr);
    return -1;
}

static int parse_days(const char *flag, const char *s, long min, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = (*s >= '0' && *s <= '9') ? strtol(s, &end, 10) : -1;
    if (v < 0 || errno || *end || v < min || v > MAX_DAYS) {
        return usage_error("%s '%s': want a whole number of days, %ld to %ld", flag, s, min,
                           MAX_DAYS);
    }
    *out = v;
    return 0;
}

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 (first: letter only). */
static int dns_label(const char *s, size_t len, int letter_first)
{
    size_t i;

    if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
        return 0;
    if (letter_first && !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (i = 0; i < len; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
            return 0;
    return 1;
}

/* A host name, lower case, optionally "*." first; at most 253 bytes. */
static int dns_name(const char *s)
{
    const char *dot;

    if (strlen(s) > 253)
        return 0;
    if (!strncmp(s, "*.", 2))
        s += 2;
    while ((dot = strchr(s, '.')) != NULL) {
        if (!dns_label(s, (size_t)(dot - s), 0))
            return 0;
        s = dot + 1;
    }
    return dns_label(s, strlen(s), 0);
}

static int add_dns(struct ccfg *c, const char *arg)
{
    char *low = xstrdup(arg), *p;
    int rc = 0;

    for (p = low; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (dns_name(low))
        sl_add(&c->dns, low);
    else
        rc = usage_error("--dns '%s': not a DNS name", arg);
    free(low);
    return rc;
}

static int add_ip(struct ccfg *c, const char *arg)
{
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN];
    int af = strchr(arg, ':') ? AF_INET6 : AF_INET;

    if (inet_pton(af, arg, addr) != 1 || !inet_ntop(af, addr, text, sizeof(text)))
        return usage_error("--ip '%s': not an IPv4 or IPv6 address", arg);
    sl_add(&c->ips, text);
    return 0;
}

static int set_option(struct ccfg *c, int opt, const char *arg)
{
    switch (opt) {
    case 's':
        c->service = arg;
        return dns_label(arg, strlen(arg), 1) ? 0
                                              : usage_error("--service '%s': not a Service name "
                                                            "(a-z, 0-9, '-', at most 63)",
                                                            arg);
    case 'n':
        c->ns = arg;
        return dns_label(arg, strlen(arg), 0)
                   ? 0
                   : usage_error("--namespace '%s': not a namespace name", arg);
    case 'd':
        return add_dns(c, arg);
    case 'i':
        return add_ip(c, arg);
    case 'o':
        c->out_dir = arg;
        return *arg ? 0 : usage_error("--out-dir: empty");
    case 'v':
        return parse_days("--validity-days", arg, 1, &c->validity_days);
    case 'c':
        return parse_days("--ca-validity-days", arg, 1, &c->ca_validity_days);
    case 'r':
        return parse_days("--renew-before-days", arg, 0, &c->renew_before_days);
    case 'S':
        c->secret = arg;
        return dns_name(arg) && !strchr(arg, '*') && strlen(arg) <= 250
                   ? 0
                   : usage_error("--secret '%s': not a Secret name", arg);
    case 'P':
        c->patch_webhooks = 1;
        return 0;
    case 'W':
        c->webhook_config = arg;
        return dns_name(arg) && !strchr(arg, '*')
                   ? 0
                   : usage_error("--webhook-config '%s': not an object name", arg);
    case 'K':
        c->kubeconfig = arg;
        return *arg ? 0 : usage_error("--kubeconfig: empty");
    case 'C':
        c->context = arg;
        return *arg ? 0 : usage_error("--context: empty");
    default:
        return usage_error("bad option");
    }
}

static size_t san_text_len(const struct ccfg *c)
{
    size_t i, n = 0;

    for (i = 0; i < c->dns.n; i++)
        n += strlen("DNS:, ") + strlen(c->dns.v[i]);
    for (i = 0; i < c->ips.n; i++)
        n += strlen("IP:, ") + strlen(c->ips.v[i]);
    return n;
}

/* The service's two names first, then --dns in order. */
static void service_sans(struct ccfg *c)
{
    struct strlist extra = c->dns;
    char *svc = xasprintf("%s.%s.svc", c->service, c->ns);
    char *fqdn = xasprintf("%s.cluster.local", svc);
    size_t i;

    memset(&c->dns, 0, sizeof(c->dns));
    sl_add(&c->dns, svc);
    sl_add(&c->dns, fqdn);
    for (i = 0; i < extra.n; i++)
        sl_add(&c->dns, extra.v[i]);
    sl_release(&extra);
    free(svc);
    free(fqdn);
}

static int check_args(struct ccfg *c, int argc, char **argv)
{
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!c->out_dir && !c->secret)
        return usage_error("--out-dir DIR or --secret NAME is required");
    if (c->service && !c->ns)
        return usage_error("--service needs --namespace");
    if (c->ns && !c->service && !c->secret && !c->patch_webhooks)
        return usage_error("--namespace goes with --service (or --secret)");
    if (c->service)
        service_sans(c);
    if (c->dns.n + c->ips.n == 0)
        return usage_error("no SAN: give --service and --namespace, --dns or --ip");
    if (san_text_len(c) > SAN_TEXT_MAX)
        return usage_error("too many SANs");
    return 0;
}

/* 0 run, 1 --help printed, -1 usage error (message printed). */
static int parse_args(int argc, char **argv, struct ccfg *c)
{
    static const struct option longopts[] = {{"service", required_argument, NULL, 's'},
                                             {"namespace", required_argument, NULL, 'n'},
                                             {"dns", required_argument, NULL, 'd'},
                                             {"ip", required_argument, NULL, 'i'},
                                             {"out-dir", required_argument, NULL, 'o'},
                                             {"validity-days", required_argument, NULL, 'v'},
                                             {"ca-validity-days", required_argument, NULL, 'c'},
                                             {"renew-before-days", required_argument, NULL, 'r'},
                                             {"secret", required_argument, NULL, 'S'},
                                             {"patch-webhooks", no_argument, NULL, 'P'},
                                             {"webhook-config", required_argument, NULL, 'W'},
                                             {"kubeconfig", required_argument, NULL, 'K'},
                                             {"context", required_argument, NULL, 'C'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;

    c->validity_days = 365;
    c->ca_validity_days = 3650;
    c->renew_before_days = 30;
    c->webhook_config = "gatecheck";
    optind = 1;
    opterr = 0; /* our own message: getopt's would start with "certs:" */
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage_text, stdout);
            return 1;
        }
        if (opt == '?')
            return usage_error("unknown option, or one without its value: '%s'", argv[optind - 1]);
        if (set_option(c, opt, optarg) != 0)
            return -1;
    }
    return check_args(c, argc, argv);
}

/* ---- files ---------------------------------------------------------------- */

/* mkdir -p, new directories mode 0700. */
static int ensure_dir(const char *dir)
{
    char *p = xstrdup(dir), *s = p;
    struct stat st;
    int rc = -1;

    while (*s == '/')
        s++;
    for (;; s++) {
        char c = *s;

        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "error: cannot create directory %s: %s (check --out-dir)\n", p,
                    strerror(errno));
            goto out;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "error: --out-dir %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "error: --out-dir %s: not a directory\n", dir);
        goto out;
    }
    rc = 0;
out:
    free(p);
    return rc;
}

/* 1 read into *out (caller frees), 0 no such file, -1 error (printed). */
static int read_small(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    struct sbuf sb = {0};
    char buf[8192];
    size_t n;
    int rc = -1;

    *out = NULL;
    if (!f) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "error: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len + n <= MAX_FILE_BYTES)
        sb_add(&sb, buf, n);
    if (ferror(f) || n > 0)
        fprintf(stderr, "error: cannot read %s: %s\n", path,
                n > 0 ? "larger than 1 MiB, not a PEM file" : strerror(errno));
    else
        rc = 1;
    fclose(f);
    if (rc == 1)
        *out = sb.len ? sb_detach(&sb) : xstrdup("");
    sb_release(&sb);
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Write data to a temporary file next to DIR/name; stage_commit() renames it. */
static int stage_file(struct stage *st, const char *dir, const char *name, const char *data,
                      mode_t mode)
{
    char *dst = xasprintf("%s/%s", dir, name), *tmp = xasprintf("%s/.%s.XXXXXX", dir, name);
    int fd = mkstemp(tmp); /* mode 0600 */

    if (fd < 0) {
        fprintf(stderr, "error: cannot write %s: %s (is --out-dir writable?)\n", dst,
                strerror(errno));
        goto fail;
    }
    if (fchmod(fd, mode) != 0 || write_all(fd, data, strlen(data)) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto fail;
    }
    if (close(fd) != 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    st->tmp[st->n] = tmp;
    st->dst[st->n++] = dst;
    return 0;
fail:
    free(tmp);
    free(dst);
    return -1;
}

static int stage_commit(struct stage *st, const char *dir)
{
    size_t i;
    int fd;

    for (i = 0; i < st->n; i++) {
        if (rename(st->tmp[i], st->dst[i]) != 0) {
            fprintf(stderr, "error: cannot rename %s to %s: %s\n", st->tmp[i], st->dst[i],
                    strerror(errno));
            return -1;
        }
        free(st->tmp[i]);
        st->tmp[i] = NULL;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* the renames themselves; best effort */
        close(fd);
    }
    return 0;
}

/* Remove what was not committed. */
static void stage_release(struct stage *st)
{
    size_t i;

    for (i = 0; i < st->n; i++) {
        if (st->tmp[i])
            unlink(st->tmp[i]);
        free(st->tmp[i]);
        free(st->dst[i]);
    }
    st->n = 0;
}

/* ---- where the current files are ------------------------------------------- */

enum { F_CA_CRT, F_CA_KEY, F_TLS_CRT, F_TLS_KEY, F_N };
static const char *const file_name[F_N] = {"ca.crt", "ca.key", "tls.crt", "tls.key"};

struct run {
    const struct ccfg *cfg;
    time_t now;
    struct certs_pem ca, leaf; /* as found, or new */
    int new_ca, new_leaf;
    struct sbuf msg; /* what was done, printed once everything is in place */
    /* the current files: from the Secrets when they exist, else from DIR */
    char *have[F_N];
    char *where;             /* "DIR" or "secret NS/NAME": for messages */
    struct kube_client *kc;  /* with --secret or --patch-webhooks */
    const char *ns;          /* the Secrets' namespace */
    char *secret_ca;         /* NAME-ca */
    cJSON *sec_tls, *sec_ca; /* the Secrets as read (NULL: none) */
};

/* "DIR/name" or "Secret NS/NAME key K": where a current file was found. */
static char *file_label(const struct run *r, int f)
{
    static const char *const secret_key_of[F_N] = {"tls.crt", "tls.key", "tls.crt", "tls.key"};

    if (r->sec_ca || r->sec_tls)
        return xasprintf("Secret %s/%s key %s", r->ns,
                         f == F_CA_CRT || f == F_CA_KEY ? r->secret_ca : r->cfg->secret,
                         secret_key_of[f]);
    return xasprintf("%s/%s", r->cfg->out_dir, file_name[f]);
}

/* Read DIR's four files into r->have. */
static int load_dir(struct run *r)
{
    int f;

    for (f = 0; f < F_N; f++) {
        char *path = xasprintf("%s/%s", r->cfg->out_dir, file_name[f]);
        int rc = read_small(path, &r->have[f]);

        free(path);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* obj[key], base64-decoded into *out (NULL when absent). */
static int b64_member(const cJSON *obj, const char *key, char **out, const char *label)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t len = 0;
    unsigned char *buf;
    int n;

    *out = NULL;
    if (!v)
        return 0;
    len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    buf = xmalloc(len / 4 * 3 + 4);
    n = cJSON_IsString(v) ? EVP_DecodeBlock(buf, (const unsigned char *)v->valuestring, (int)len)
                          : -1;
    if (n < 0 || len % 4) {
        fprintf(stderr, "error: %s key %s: not base64\n", label, key);
        free(buf);
        return -1;
    }
    /* EVP_DecodeBlock counts the '=' padding as zero bytes */
    while (len > 0 && v->valuestring[--len] == '=' && n > 0)
        n--;
    buf[n] = '\0';
    *out = (char *)buf;
    return 0;
}

/* data[key] of a Secret, base64-decoded into *out (NULL when absent). */
static int secret_key(const cJSON *sec, const char *key, char **out, const char *label)
{
    return b64_member(cJSON_GetObjectItemCaseSensitive(sec, "data"), key, out, label);
}

static char *b64(const char *s)
{
    size_t len = strlen(s);
    unsigned char *out = xmalloc(4 * ((len + 2) / 3) + 1);

    EVP_EncodeBlock(out, (const unsigned char *)s, (int)len);
    return (char *)out;
}

/* GET a Secret: 1 found (*out), 0 not found, -1 error (printed). */
static int get_secret(struct run *r, const char *name, cJSON **out)
{
    struct kube_response resp = {0};
    const cJSON *type;
    int rc = -1;

    *out = NULL;
    if (kube_get(r->kc, "v1", "Secret", r->ns, name, &resp) == 0) {
        type = cJSON_GetObjectItemCaseSensitive(resp.body, "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "kubernetes.io/tls") != 0) {
            fprintf(stderr,
                    "error: Secret %s/%s exists with type %s; gwhook certs keeps its files in "
                    "kubernetes.io/tls Secrets: choose another --secret name, or delete it\n",
                    r->ns, name, cJSON_IsString(type) ? type->valuestring : "(none)");
        } else {
            *out = resp.body;
            resp.body = NULL;
            rc = 1;
        }
    } else if (resp.status == 404) {
        rc = 0;
    } else {
        fprintf(stderr, "error: cannot read Secret %s/%s: %s\n", r->ns, name, resp.error);
    }
    kube_response_release(&resp);
    return rc;
}

/* The current files: the Secrets when either exists, else DIR, else none. */
static int load_source(struct run *r)
{
    char *label;
    int rc = 0;

    if (r->cfg->secret) {
        if (get_secret(r, r->secret_ca, &r->sec_ca) < 0 ||
            get_secret(r, r->cfg->secret, &r->sec_tls) < 0)
            return -1;
        if (r->sec_ca || r->sec_tls) {
            label = xasprintf("Secret %s/%s", r->ns, r->secret_ca);
            rc |= secret_key(r->sec_ca, "tls.crt", &r->have[F_CA_CRT], label);
            rc |= secret_key(r->sec_ca, "tls.key", &r->have[F_CA_KEY], label);
            free(label);
            label = xasprintf("Secret %s/%s", r->ns, r->cfg->secret);
            rc |= secret_key(r->sec_tls, "tls.crt", &r->have[F_TLS_CRT], label);
            rc |= secret_key(r->sec_tls, "tls.key", &r->have[F_TLS_KEY], label);
            free(label);
            r->where = xasprintf("Secret %s/%s", r->ns, r->cfg->secret);
            return rc ? -1 : 0;
        }
    }
    if (r->cfg->out_dir) {
        r->where = xstrdup(r->cfg->out_dir);
        return ensure_dir(r->cfg->out_dir) != 0 || load_dir(r) != 0 ? -1 : 0;
    }
    r->where = xasprintf("Secret %s/%s", r->ns, r->cfg->secret);
    return 0;
}

/* ---- decisions ------------------------------------------------------------ */

/*
 * The current files a and b into p: 2 both there, 0 neither, 1 only one
 * (which in why).
 */
static int read_pair(const struct run *r, int a, int b, struct certs_pem *p, char *why, size_t len)
{
    char *la, *lb;
    int rc = !!r->have[a] + !!r->have[b];

    p->cert = r->have[a] ? xstrdup(r->have[a]) : NULL;
    p->key = r->have[b] ? xstrdup(r->have[b]) : NULL;
    if (rc == 1) {
        la = file_label(r, a);
        lb = file_label(r, b);
        snprintf(why, len, "%s exists but %s does not", r->have[a] ? la : lb, r->have[a] ? lb : la);
        free(la);
        free(lb);
    }
    return rc;
}

/* 0 reuse the current CA, 1 replace it (why says why), -1 unusable (printed). */
static int judge_ca(struct run *r, struct certs_info *info, char *why, size_t len)
{
    char err[256], when[32];
    char *crt = file_label(r, F_CA_CRT), *key = file_label(r, F_CA_KEY);
    int rc = -1;

    if (certs_check(r->ca.cert, NULL, info, err, sizeof(err)) != 0 || !info->is_ca) {
        fprintf(stderr,
                "error: %s: %s\n  fix it, or remove %s and %s to create a new CA (every "
                "caBundle then needs the new CA)\n",
                crt, info->is_ca || err[0] ? err : "not a CA certificate (no CA:TRUE)", crt, key);
        goto out;
    }
    if (r->now > info->not_after ||
        info->not_after - r->now <= (time_t)r->cfg->renew_before_days * DAY_S) {
        snprintf(why, len, "the old CA serial %s %s %s", info->serial,
                 r->now > info->not_after ? "expired on" : "expires on",
                 fmt_time(info->not_after, when, sizeof(when)));
        rc = 1;
        goto out;
    }
    if (certs_check(r->ca.cert, r->ca.key, info, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s with %s: %s\n  %s\n", crt, key, err,
                r->now < info->not_before
                    ? "check the system clock"
                    : "restore the key of this CA, or remove both files to create a new CA");
        goto out;
    }
    rc = 0;
out:
    free(crt);
    free(key);
    return rc;
}

/* A new CA in r->ca; why (may be empty) says why the old one is replaced. */
static int create_ca(struct run *r, const char *why)
{
    struct certs_info info;
    char err[256], when[32];
    char *cn = xasprintf("gatecheck-webhook-ca@%lld", (long long)r->now);
    int rc = -1;

    certs_pem_release(&r->ca);
    if (certs_create_ca(cn, r->cfg->ca_validity_days, &r->ca, err, sizeof(err)) != 0 ||
        certs_check(r->ca.cert, NULL, &info, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: cannot create the CA: %s\n", err);
        goto out;
    }
    r->new_ca = 1;
    sb_printf(&r->msg, "created CA serial %s valid until %s (%s)\n", info.serial,
              fmt_time(info.not_after, when, sizeof(when)), r->where);
    if (why[0])
        sb_printf(&r->msg, "note: %s; tls.crt is now signed by the new CA: %s\n", why,
                  r->cfg->patch_webhooks
                      ? "the caBundles carry both CAs until the old one expires"
                      : "put the new ca.crt into every caBundle that trusts the webhook, next "
                        "to the old CA until all replicas have reloaded (--patch-webhooks does "
                        "it)");
    rc = 0;
out:
    free(cn);
    return rc;
}

/* Reuse the current CA, or create one (r->new_ca). */
static int setup_ca(struct run *r)
{
    struct certs_info info;
    char why[512] = "", when[32];
    int have = read_pair(r, F_CA_CRT, F_CA_KEY, &r->ca, why, sizeof(why)), judged;

    if (have == 1) {
        fprintf(stderr,
                "error: %s\n  restore the missing file, or remove the other one to create a new "
                "CA\n",
                why);
        return -1;
    }
    if (have == 2) {
        judged = judge_ca(r, &info, why, sizeof(why));
        if (judged < 0)
            return -1;
        if (judged == 0) {
            sb_printf(&r->msg, "reused CA serial %s valid until %s (%s)\n", info.serial,
                      fmt_time(info.not_after, when, sizeof(when)), r->where);
            return 0;
        }
    }
    return create_ca(r, why);
}

/* One "DNS:x" or "IP:x" entry of certs_info.sans is among the requested ones. */
static int san_requested(const char *p, size_t len, const struct ccfg *c)
{
    size_t i;

    if (len > 4 && !strncmp(p, "DNS:", 4)) {
        for (i = 0; i < c->dns.n; i++)
            if (strlen(c->dns.v[i]) == len - 4 && !strncasecmp(c->dns.v[i], p + 4, len - 4))
                return 1;
    } else if (len > 3 && !strncmp(p, "IP:", 3)) {
        for (i = 0; i < c->ips.n; i++)
            if (strlen(c->ips.v[i]) == len - 3 && !strncmp(c->ips.v[i], p + 3, len - 3))
                return 1;
    }
    return 0;
}

/* The certificate's SANs are exactly the requested ones, in any order. */
static int sans_match(const char *have, const struct ccfg *c)
{
    size_t got = 0;
    const char *p = have;

    while (*have && p) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (!san_requested(p, len, c))
            return 0;
        got++;
        p = end ? end + 2 : NULL;
    }
    return got == c->dns.n + c->ips.n;
}

/* 0 keep the current serving certificate, 1 issue one (why says why). */
static int judge_leaf(struct run *r, struct certs_info *info, char *why, size_t len)
{
    char err[256], when[32];
    int have;

    if (r->new_ca) {
        snprintf(why, len, "new CA");
        return 1;
    }
    have = read_pair(r, F_TLS_CRT, F_TLS_KEY, &r->leaf, why, len);
    if (have < 2) {
        if (have == 0)
            snprintf(why, len, "none yet");
        return 1;
    }
    if (certs_check(r->leaf.cert, NULL, info, err, sizeof(err)) != 0)
        snprintf(why, len, "tls.crt: %s", err);
    else if (certs_check(r->leaf.cert, r->leaf.key, info, err, sizeof(err)) != 0)
        snprintf(why, len, "tls.crt with tls.key: %s", err);
    else if (info->is_ca)
        snprintf(why, len, "tls.crt is a CA certificate");
    else if (certs_verify(r->leaf.cert, r->ca.cert, err, sizeof(err)) != 0)
        snprintf(why, len, "tls.crt is not signed by the CA in ca.crt: %s", err);
    else if (!sans_match(info->sans, r->cfg))
        snprintf(why, len, "the SANs were %s", info->sans[0] ? info->sans : "none");
    else if (info->not_after - r->now <= (time_t)r->cfg->renew_before_days * DAY_S)
        snprintf(why, len, "the old one expires on %s, within --renew-before-days %ld",
                 fmt_time(info->not_after, when, sizeof(when)), r->cfg->renew_before_days);
    else
        return 0;
    return 1;
}

/* The subject CN: the first SAN that fits (clients only look at the SANs). */
static const char *common_name(const struct ccfg *c)
{
    if (c->dns.n && strlen(c->dns.v[0]) <= MAX_CN_BYTES)
        return c->dns.v[0];
    return c->ips.n ? c->ips.v[0] : NULL;
}

/* Keep the current serving certificate, or issue one (r->new_leaf). */
static int setup_leaf(struct run *r)
{
    const struct ccfg *c = r->cfg;
    struct certs_request req = {.common_name = common_name(c),
                                .dns = (const char *const *)c->dns.v,
                                .ips = (const char *const *)c->ips.v,
                                .validity_days = c->validity_days};
    struct certs_info info;
    char why[1536] = "", err[256], when[32], renew[32];
    int judged = judge_leaf(r, &info, why, sizeof(why));

    if (judged == 0) {
        sb_printf(
            &r->msg,
            "kept serving certificate serial %s valid until %s (%s; due for renewal "
            "from %s)\n",
            info.serial, fmt_time(info.not_after, when, sizeof(when)), r->where,
            fmt_time(info.not_after - (time_t)c->renew_before_days * DAY_S, renew, sizeof(renew)));
        return 0;
    }
    certs_pem_release(&r->leaf);
    if (certs_issue(&r->ca, &req, &r->leaf, err, sizeof(err)) != 0 ||
        certs_check(r->leaf.cert, NULL, &info, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: cannot issue the serving certificate: %s\n", err);
        return -1;
    }
    r->new_leaf = 1;
    sb_printf(&r->msg, "issued serving certificate serial %s valid until %s for %s (%s; %s)\n",
              info.serial, fmt_time(info.not_after, when, sizeof(when)), info.sans, r->where, why);
    return 0;
}

/* ---- writing ---------------------------------------------------------------- */

static const char *want_file(const struct run *r, int f)
{
    switch (f) {
    case F_CA_CRT:
        return r->ca.cert;
    case F_CA_KEY:
        return r->ca.key;
    case F_TLS_CRT:
        return r->leaf.cert;
    default:
        return r->leaf.key;
    }
}

/* DIR: every file whose content differs, keys before certificates, atomically. */
static int write_dir(struct run *r)
{
    static const int order[F_N] = {F_CA_KEY, F_CA_CRT, F_TLS_KEY, F_TLS_CRT};
    struct stage st = {0};
    const char *dir = r->cfg->out_dir;
    int i, rc = -1, n = 0;

    if (ensure_dir(dir) != 0)
        return -1;
    for (i = 0; i < F_N; i++) {
        int f = order[i];
        char *path = xasprintf("%s/%s", dir, file_name[f]), *cur = NULL;
        int got = read_small(path, &cur);

        free(path);
        if (got < 0)
            goto out;
        if (!cur || strcmp(cur, want_file(r, f)) != 0) {
            if (stage_file(&st, dir, file_name[f], want_file(r, f),
                           f == F_CA_KEY || f == F_TLS_KEY ? 0600 : 0644) != 0) {
                free(cur);
                goto out;
            }
            n++;
        }
        free(cur);
    }
    if (stage_commit(&st, dir) != 0)
        goto out;
    if (n && (r->sec_ca || r->sec_tls))
        sb_printf(&r->msg, "wrote %d file%s to %s\n", n, n == 1 ? "" : "s", dir);
    rc = 0;
out:
    stage_release(&st);
    return rc;
}

/* obj[key] is the base64 of s. */
static int b64_member_is(const cJSON *obj, const char *key, const char *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char *enc;
    int same;

    if (!cJSON_IsString(v))
        return 0;
    enc = b64(s);
    same = !strcmp(enc, v->valuestring);
    free(enc);
    return same;
}

/* data[key] of a Secret is the base64 of s. */
static int secret_has(const cJSON *sec, const char *key, const char *s)
{
    return b64_member_is(cJSON_GetObjectItemCaseSensitive(sec, "data"), key, s);
}

/* Create or update Secret name (type kubernetes.io/tls) unless it holds these already. */
static int put_secret(struct run *r, const char *name, const cJSON *cur, const char *crt,
                      const char *key, const char *ca, const char *role)
{
    struct kube_response resp = {0};
    cJSON *obj, *meta, *labels, *data;
    char *v;
    int rc;

    if (cur && secret_has(cur, "tls.crt", crt) && secret_has(cur, "tls.key", key) &&
        (!ca || secret_has(cur, "ca.crt", ca)))
        return 0;
    obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "apiVersion", "v1");
    cJSON_AddStringToObject(obj, "kind", "Secret");
    meta = cJSON_AddObjectToObject(obj, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", r->ns);
    labels = cJSON_AddObjectToObject(meta, "labels");
    cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "gwhook-certs");
    cJSON_AddStringToObject(labels, "app.kubernetes.io/component", role);
    cJSON_AddStringToObject(obj, "type", "kubernetes.io/tls");
    data = cJSON_AddObjectToObject(obj, "data");
    cJSON_AddItemToObject(data, "tls.crt", cJSON_CreateString(v = b64(crt)));
    free(v);
    cJSON_AddItemToObject(data, "tls.key", cJSON_CreateString(v = b64(key)));
    free(v);
    if (ca) {
        cJSON_AddItemToObject(data, "ca.crt", cJSON_CreateString(v = b64(ca)));
        free(v);
    }
    rc = kube_apply(r->kc, obj, "gwhook-certs", NULL, &resp);
    if (rc != 0)
        fprintf(stderr, "error: cannot write Secret %s/%s: %s\n", r->ns, name, resp.error);
    else
        sb_printf(&r->msg, "%s Secret %s/%s\n", cur ? "updated" : "created", r->ns, name);
    kube_response_release(&resp);
    cJSON_Delete(obj);
    return rc;
}

/* The CA Secret first: a run cut short still finds the CA that signed tls.crt. */
static int write_secrets(struct run *r)
{
    return put_secret(r, r->secret_ca, r->sec_ca, r->ca.cert, r->ca.key, NULL, "webhook-ca") ||
           put_secret(r, r->cfg->secret, r->sec_tls, r->leaf.cert, r->leaf.key, r->ca.cert,
                      "webhook-serving-cert");
}

/*
 * Set every webhook's caBundle in the configuration obj to the merge of what
 * it holds (still valid CAs) and our CA. Returns 1 when something changed;
 * *n counts the webhooks.
 */
static int merge_bundles(const struct run *r, cJSON *obj, const char *kind, int *n)
{
    cJSON *w;
    int changed = 0;

    *n = 0;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(obj, "webhooks")) {
        cJSON *cc = cJSON_GetObjectItemCaseSensitive(w, "clientConfig");
        char *old = NULL, *merged, *enc;
        const char *want;

        if (!cJSON_IsObject(cc))
            continue;
        (*n)++;
        if (b64_member(cc, "caBundle", &old, kind) != 0)
            old = NULL; /* not base64: replaced */
        merged = certs_bundle_merge(old ? old : "", r->ca.cert, r->now);
        want = merged ? merged : r->ca.cert;
        if (!b64_member_is(cc, "caBundle", want)) {
            enc = b64(want);
            cJSON_DeleteItemFromObjectCaseSensitive(cc, "caBundle");
            cJSON_AddStringToObject(cc, "caBundle", enc);
            free(enc);
            changed = 1;
        }
        free(merged);
        free(old);
    }
    return changed;
}

/*
 * One webhook configuration (merge_bundles()). 1 updated, 0 already so or
 * absent (noted), -1 error (printed). A write conflict is retried.
 */
static int patch_config(struct run *r, const char *kind)
{
    struct kube_response resp = {0};
    const char *name = r->cfg->webhook_config;
    int attempt, rc = -1, n;

    for (attempt = 0; attempt < 5; attempt++) {
        cJSON *obj;

        kube_response_release(&resp);
        if (kube_get(r->kc, "admissionregistration.k8s.io/v1", kind, NULL, name, &resp) != 0) {
            if (resp.status == 404) {
                sb_printf(&r->msg, "note: no %s %s: nothing to patch\n", kind, name);
                rc = 0;
            } else {
                fprintf(stderr, "error: cannot read %s %s: %s\n", kind, name, resp.error);
            }
            goto out;
        }
        if (!merge_bundles(r, resp.body, kind, &n)) {
            sb_printf(&r->msg, "caBundle of %s %s already trusts the CA (%d webhook%s)\n", kind,
                      name, n, n == 1 ? "" : "s");
            rc = 0;
            goto out;
        }
        obj = resp.body;
        resp.body = NULL;
        kube_response_release(&resp);
        rc = kube_update(r->kc, obj, NULL, &resp);
        cJSON_Delete(obj);
        if (rc == 0) {
            sb_printf(&r->msg, "patched caBundle of %s %s (%d webhook%s)\n", kind, name, n,
                      n == 1 ? "" : "s");
            rc = 1;
            goto out;
        }
        if (resp.status != 409) {
            fprintf(stderr, "error: cannot update %s %s: %s\n", kind, name, resp.error);
            rc = -1;
            goto out;
        }
        rc = -1; /* changed meanwhile: read it again */
    }
    fprintf(stderr, "error: %s %s kept changing; run gwhook certs again\n", kind, name);
out:
    kube_response_release(&resp);
    return rc;
}

static int patch_webhooks(struct run *r)
{
    int v = patch_config(r, "ValidatingWebhookConfiguration");
    int m = v < 0 ? -1 : patch_config(r, "MutatingWebhookConfiguration");

    if (v < 0 || m < 0)
        return -1;
    return 0;
}

static int kube_setup(struct run *r)
{
    struct kube_load_opts lo = {.kubeconfig = r->cfg->kubeconfig, .context = r->cfg->context};
    struct kube_config *kcfg = NULL;
    char err[KUBE_ERR_MAX];

    if (kube_config_load(&lo, &kcfg, err, sizeof(err)) != 0 ||
        !(r->kc = kube_client_new(kcfg, NULL, err, sizeof(err)))) {
        fprintf(stderr, "error: %s\n", err);
        return -1;
    }
    r->ns = r->cfg->ns ? r->cfg->ns : kube_client_namespace(r->kc);
    if (r->cfg->secret)
        r->secret_ca = xasprintf("%s-ca", r->cfg->secret);
    return 0;
}

static int run_certs(const struct ccfg *cfg)
{
    struct run r = {.cfg = cfg, .now = time(NULL)};
    int rc = -1, f;

    if ((cfg->secret || cfg->patch_webhooks) && kube_setup(&r) != 0)
        goto out;
    if (load_source(&r) != 0 || setup_ca(&r) != 0 || setup_leaf(&r) != 0)
        goto out;
    /* rotation order (spec ecosystem.md §3.4): the API server trusts the
       new CA before gwhook can present a certificate signed by it */
    if (cfg->patch_webhooks && patch_webhooks(&r) != 0)
        goto out;
    if (cfg->secret && write_secrets(&r) != 0)
        goto out;
    if (cfg->out_dir && write_dir(&r) != 0)
        goto out;
    fputs(r.msg.buf ? r.msg.buf : "", stdout);
    rc = 0;
out:
    for (f = 0; f < F_N; f++)
        free(r.have[f]);
    free(r.where);
    free(r.secret_ca);
    cJSON_Delete(r.sec_ca);
    cJSON_Delete(r.sec_tls);
    kube_client_free(&r.kc);
    certs_pem_release(&r.ca);
    certs_pem_release(&r.leaf);
    sb_release(&r.msg);
    return rc;
}

int cmd_certs(int argc, char **argv)
{
    struct ccfg cfg;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    rc = parse_args(argc, argv, &cfg);
    if (rc == 0)
        rc = run_certs(&cfg) == 0 ? 0 : 1;
    else
        rc = rc > 0 ? 0 : 2;
    sl_release(&cfg.dns);
    sl_release(&cfg.ips);
    return rc;
}

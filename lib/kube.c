/* The Kubernetes client's transport (spec ecosystem.md §6.3): libcurl with
   in-memory PEM, credentials (token, tokenFile, exec plugin), retries on
   Retry-After, Status errors and Warning headers. Knows nothing of kinds
   and paths: lib/kube_api.c builds those. */
#include "kube.h"
#include "kube_int.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef GATECHECK_VERSION
#define GATECHECK_VERSION "0.0.0"
#endif

#define TOKEN_FILE_REREAD_S 60 /* client-go's cached file token source */
#define STATUS_SNIPPET      200

/* ---- responses ---- */

void kube_fail(struct kube_response *resp, enum kube_failure f, const char *fmt, ...)
{
    va_list ap;
    struct sbuf sb = {0};

    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    free(resp->error);
    resp->error = sb_detach(&sb);
    resp->failure = f;
}

void kube_response_release(struct kube_response *resp)
{
    size_t i;

    if (!resp)
        return;
    cJSON_Delete(resp->body);
    for (i = 0; i < resp->nwarnings; i++)
        free(resp->warnings[i]);
    free(resp->warnings);
    free(resp->reason);
    free(resp->error);
    memset(resp, 0, sizeof(*resp));
}

static const char *http_phrase(long code)
{
    static const struct {
        long code;
        const char *text;
    } tab[] = {
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {409, "Conflict"},
        {410, "Gone"},
        {413, "Request Entity Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Entity"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(tab); i++)
        if (tab[i].code == code)
            return tab[i].text;
    return NULL;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

/* The start of a non-Status body, on one line. */
static void put_snippet(struct sbuf *sb, const char *raw, size_t len)
{
    size_t i, n = len > STATUS_SNIPPET ? STATUS_SNIPPET : len;

    while (n > 0 && isspace((unsigned char)raw[n - 1]))
        n--;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)raw[i];

        if (ch < 0x20 || ch == 0x7f)
            sb_putc(sb, ' ');
        else
            sb_putc(sb, raw[i]);
    }
    if (len > STATUS_SNIPPET)
        sb_puts(sb, "...");
}

/* details.causes the message does not already mention: "; field: message". */
static void put_causes(struct sbuf *sb, const cJSON *status)
{
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(status, "details");
    const cJSON *causes = cJSON_GetObjectItemCaseSensitive(details, "causes"), *c;

    cJSON_ArrayForEach(c, causes) {
        const char *field = jstr(c, "field"), *msg = jstr(c, "message");

        if (!msg)
            msg = jstr(c, "reason");
        if (!msg || (sb->buf && strstr(sb->buf, msg)))
            continue;
        sb_printf(sb, "%s%s%s%s", sb->len ? "; " : "", field ? field : "", field ? ": " : "", msg);
    }
}

char *kube_status_message(long http_status, const cJSON *body, const char *raw, size_t raw_len)
{
    const char *kind = jstr(body, "kind"), *msg = NULL, *reason = NULL;
    const char *phrase = http_phrase(http_status);
    struct sbuf sb = {0};

    if (kind && strcmp(kind, "Status") == 0) {
        msg = jstr(body, "message");
        reason = jstr(body, "reason");
        if (msg && reason && strcmp(msg, reason) == 0)
            msg = NULL;
        if (msg)
            sb_puts(&sb, msg);
        put_causes(&sb, body);
    } else if (raw && raw_len > 0) {
        sb_puts(&sb, "the server answered: ");
        put_snippet(&sb, raw, raw_len);
    }
    if (!reason)
        reason = phrase;
    if (sb.len)
        sb_printf(&sb, " (HTTP %ld%s%s)", http_status, reason ? " " : "", reason ? reason : "");
    else
        sb_printf(&sb, "HTTP %ld%s%s", http_status, reason ? " " : "", reason ? reason : "");
    return sb_detach(&sb);
}

/* ---- header parsing ---- */

static void add_unique(char ***texts, size_t *n, char *s)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp((*texts)[i], s) == 0) {
            free(s);
            return;
        }
    }
    *texts = xrealloc(*texts, (*n + 1) * sizeof(**texts));
    (*texts)[(*n)++] = s;
}

/* A quoted-string at *p (backslash escapes) into out; advances *p. */
static int quoted(const char **p, struct sbuf *out)
{
    const char *s = *p;

    if (*s++ != '"')
        return -1;
    while (*s && *s != '"') {
        if (*s == '\\' && s[1])
            s++;
        sb_putc(out, *s++);
    }
    if (*s != '"')
        return -1;
    *p = s + 1;
    return 0;
}

/* One warning-value at *p: code SP agent SP text [SP date]. */
static int one_warning(const char **p, int *code, struct sbuf *text)
{
    const char *s = *p;
    int i;

    *code = 0;
    for (i = 0; i < 3; i++, s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        *code = *code * 10 + (*s - '0');
    }
    if (*s++ != ' ' || !*s || *s == ' ')
        return -1;
    while (*s && *s != ' ')
        s++; /* the agent */
    if (*s++ != ' ' || quoted(&s, text) != 0)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '"') {
        struct sbuf date = {0};
        int rc = quoted(&s, &date);

        sb_release(&date);
        if (rc != 0)
            return -1;
    }
    *p = s;
    return 0;
}

int kube_parse_warning(const char *value, char ***texts, size_t *n)
{
    const char *p = value;

    for (;;) {
        struct sbuf text = {0};
        int code;

        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return 0;
        if (one_warning(&p, &code, &text) != 0) {
            sb_release(&text);
            return -1;
        }
        if (code == 299 && text.len)
            add_unique(texts, n, sb_detach(&text));
        sb_release(&text);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
}

int kube_parse_retry_after(const char *value, long *seconds)
{
    long v = 0;
    const char *p = value;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > 100000000L)
            return -1;
        v = v * 10 + (*p - '0');
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p)
        return -1;
    *seconds = v;
    return 0;
}

/* ---- the client ---- */

/* Split "scheme://authority/prefix"; authority "[v6]:port", "host:port", "host". */
static int split_url(const char *url, char **host, char **port, const char **prefix)
{
    const char *a = strstr(url, "://"), *end, *colon;
    int https = strncmp(url, "https://", 8) == 0;

    if (!a)
        return -1;
    a += 3;
    end = a + strcspn(a, "/?#");
    *prefix = end;
    if (*a == '[') {
        const char *rb = memchr(a, ']', (size_t)(end - a));

        if (!rb)
            return -1;
        *host = xstrndup(a, (size_t)(rb + 1 - a));
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        *host = xstrndup(a, (size_t)((colon ? colon : end) - a));
    }
    if (colon && colon + 1 < end)
        *port = xstrndup(colon + 1, (size_t)(end - colon - 1));
    else
        *port = xstrdup(https ? "443" : "80");
    if (**host)
        return 0;
    free(*host);
    free(*port);
    return -1;
}

/* With tls-server-name, the URL names that host (SNI and verification) and
   CONNECT_TO sends the connection to the real one (Go's tls.Config.ServerName). */
static int setup_urls(struct kube_client *c, char *err, size_t errlen)
{
    const struct kube_config *cfg = c->cfg;
    const char *prefix;
    char *host, *port;

    c->url_shown = xstrdup(cfg->server);
    if (!cfg->tls_server_name || strncmp(cfg->server, "https://", 8) != 0) {
        c->url_base = xstrdup(cfg->server);
        return 0;
    }
    if (split_url(cfg->server, &host, &port, &prefix) != 0) {
        snprintf(err, errlen, "%s: server '%s' is not a valid URL", cfg->where, cfg->server);
        return -1;
    }
    if (strchr(cfg->tls_server_name, ':'))
        c->url_base = xasprintf("https://[%s]:%s%s", cfg->tls_server_name, port, prefix);
    else
        c->url_base = xasprintf("https://%s:%s%s", cfg->tls_server_name, port, prefix);
    c->connect_to = xasprintf("%s:%s:%s:%s", cfg->tls_server_name, port, host, port);
    c->host_header = xasprintf("Host: %s:%s", host, port);
    free(host);
    free(port);
    return 0;
}

static void fill_defaults(struct kube_client_opts *o)
{
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 10000;
    if (o->timeout_ms <= 0)
        o->timeout_ms = 60000;
    if (o->max_retries == 0)
        o->max_retries = 10;
    if (o->max_retries < 0)
        o->max_retries = 0;
    if (o->max_retry_wait_ms <= 0)
        o->max_retry_wait_ms = 30000;
    if (o->max_body == 0)
        o->max_body = KUBE_MAX_BODY_DEFAULT;
    if (o->exec_timeout_ms <= 0)
        o->exec_timeout_ms = 60000;
}

struct kube_client *kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
                                    char *err, size_t errlen)
{
    struct kube_client *c;

    if (errlen > 0)
        err[0] = '\0';
    if (!cfg) {
        snprintf(err, errlen, "no configuration");
        return NULL;
    }
    c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    if (opts)
        c->o = *opts;
    fill_defaults(&c->o);
    c->user_agent = xstrdup(c->o.user_agent ? c->o.user_agent : "gatecheck/" GATECHECK_VERSION);
    c->o.user_agent = NULL; /* not ours to keep */
    if (cfg->proxy_url && strncmp(cfg->proxy_url, "socks5://", 9) == 0)
        c->proxy = xasprintf("socks5h://%s", cfg->proxy_url + 9); /* names resolved by the proxy */
    else if (cfg->proxy_url)
        c->proxy = xstrdup(cfg->proxy_url);
    if (cfg->token_file && cfg->token) {
        c->file_token = xstrdup(cfg->token);
        c->file_token_at = time(NULL);
    }
    c->curl = curl_easy_init();
    if (!c->curl)
        snprintf(err, errlen, "cannot initialise libcurl");
    if (!c->curl || setup_urls(c, err, errlen) != 0) {
        kube_client_free(&c);
        return NULL;
    }
    return c;
}

void kube_client_free(struct kube_client **pc)
{
    struct kube_client *c = pc ? *pc : NULL;
    size_t i;

    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    for (i = 0; i < c->ngv; i++) {
        free(c->gv[i].gv);
        cJSON_Delete(c->gv[i].resources);
    }
    free(c->gv);
    kube_exec_cred_release(&c->exec);
    free(c->file_token);
    free(c->url_base);
    free(c->url_shown);
    free(c->connect_to);
    free(c->host_header);
    free(c->proxy);
    free(c->user_agent);
    kube_config_free(&c->cfg);
    free(c);
    *pc = NULL;
}

const struct kube_config *kube_client_config(const struct kube_client *c)
{
    return c->cfg;
}

const char *kube_client_namespace(const struct kube_client *c)
{
    return c->cfg->namespace ? c->cfg->namespace : "default";
}

/* ---- credentials ---- */

static int reread_token_file(struct kube_client *c, int force, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    int e;

    if (!force && c->file_token && time(NULL) - c->file_token_at < TOKEN_FILE_REREAD_S)
        return 0;
    e = kube_read_file(c->cfg->token_file, KUBE_MAX_FILE, &buf, &len);
    if (e == 0 && *kube_trim(buf)) {
        free(c->file_token);
        c->file_token = buf;
        c->file_token_at = time(NULL);
        return 0;
    }
    if (e == 0)
        free(buf);
    if (c->file_token)
        return 0; /* the last successfully read value stays */
    snprintf(err, errlen, "cannot read the token file '%s' of %s: %s", c->cfg->token_file,
             c->cfg->where, e ? strerror(e) : "it is empty");
    return -1;
}

static int run_exec(struct kube_client *c, int force, char *err, size_t errlen)
{
    if (c->exec_ok && !force && (!c->exec.expiry || time(NULL) < c->exec.expiry))
        return 0;
    kube_exec_cred_release(&c->exec);
    c->exec_ok = 0;
    if (kube_exec_run(c->cfg, c->o.exec_timeout_ms, &c->exec, err, errlen) != 0)
        return -1;
    c->exec_ok = 1;
    return 0;
}

/* Make the credentials current; *bearer is the token to send (or NULL). */
static int auth_prepare(struct kube_client *c, int force, const char **bearer, char *err,
                        size_t errlen)
{
    *bearer = NULL;
    if (c->cfg->exec) {
        if (run_exec(c, force, err, errlen) != 0)
            return -1;
        *bearer = c->exec.token;
        return 0;
    }
    if (c->cfg->token_file) {
        if (reread_token_file(c, force, err, errlen) != 0)
            return -1;
        *bearer = c->file_token;
        return 0;
    }
    *bearer = c->cfg->token;
    return 0;
}

int kube_client_token(struct kube_client *c, char **token, char *err, size_t errlen)
{
    const char *t;

    *token = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (auth_prepare(c, 0, &t, err, errlen) != 0)
        return -1;
    *token = t ? xstrdup(t) : NULL;
    return 0;
}

/* ---- one transfer ---- */

enum stream_mode { MODE_UNDECIDED, MODE_STREAM, MODE_BUFFER };

struct xfer {
    struct kube_client *c;
    struct sbuf body;
    int too_big;
    struct kube_stream *stream; /* NULL: buffer the body */
    enum stream_mode mode;
    struct sbuf line;
    char **warnings;
    size_t nwarnings;
    long retry_after; /* -1: none */
    int cancelled;    /* the client's cancel hook ended the transfer */
    char errbuf[CURL_ERROR_SIZE];
};

struct req {
    const char *method, *path, *ctype, *body;
    size_t body_len;
    struct kube_stream *stream;
};

static void xfer_release(struct xfer *x)
{
    size_t i;

    sb_release(&x->body);
    sb_release(&x->line);
    for (i = 0; i < x->nwarnings; i++)
        free(x->warnings[i]);
    free(x->warnings);
    x->warnings = NULL;
    x->nwarnings = 0;
}

/* Feed streamed bytes; complete lines go to on_line. -1 stops the transfer. */
static int stream_feed(struct xfer *x, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;

        if (x->line.len + take > x->c->o.max_body) {
            x->too_big = 1;
            return -1;
        }
        sb_add(&x->line, p, take);
        if (!nl)
            return 0;
        if (x->line.len && x->stream->on_line(x->line.buf, x->line.len, x->stream->arg) != 0) {
            x->stream->stopped = 1;
            return -1;
        }
        sb_truncate(&x->line, 0);
        p += take + 1;
        n -= take + 1;
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;

    if (x->stream && x->mode == MODE_UNDECIDED) {
        long code = 0;

        curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &code);
        x->mode = code / 100 == 2 ? MODE_STREAM : MODE_BUFFER;
        x->stream->started = x->mode == MODE_STREAM;
    }
    if (x->mode == MODE_STREAM)
        return stream_feed(x, p, n) == 0 ? n : 0;
    if (x->body.len + n > x->c->o.max_body) {
        x->too_big = 1;
        return 0;
    }
    sb_add(&x->body, p, n);
    return n;
}

static size_t on_header(char *p, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nitems;
    char *line = xstrndup(p, n), *colon;

    if (strncmp(line, "HTTP/", 5) == 0) { /* a new response (after 100 or a proxy's 200) */
        xfer_release(x);
        x->retry_after = -1;
    }
    colon = strchr(line, ':');
    if (colon) {
        *colon = '\0';
        kube_trim(colon + 1);
        if (strcasecmp(line, "Warning") == 0)
            kube_parse_warning(colon + 1, &x->warnings, &x->nwarnings);
        else if (strcasecmp(line, "Retry-After") == 0 &&
                 kube_parse_retry_after(colon + 1, &x->retry_after) != 0)
            x->retry_after = -1;
    }
    free(line);
    return n;
}

/* The client's cancel hook says stop. */
static int cancel_requested(const struct kube_client *c)
{
    return c->o.cancel && c->o.cancel(c->o.cancel_arg);
}

/* libcurl's progress callback: as data moves, and about once a second when idle. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = arg;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (!cancel_requested(x->c))
        return 0;
    x->cancelled = 1;
    return 1; /* CURLE_ABORTED_BY_CALLBACK */
}

static struct curl_slist *hdr(struct curl_slist *l, const char *s)
{
    struct curl_slist *n = curl_slist_append(l, s);

    if (!n) {
        fputs("fatal: out of memory in curl_slist_append\n", stderr);
        abort();
    }
    return n;
}

/* Impersonate-Extra-KEY: the key percent-encoded as client-go does. */
static struct curl_slist *extra_header(struct curl_slist *l, const char *kv)
{
    const char *eq = strchr(kv, '=');
    struct sbuf sb = {0};
    const char *p;

    sb_puts(&sb, "Impersonate-Extra-");
    for (p = kv; p < eq; p++) {
        if (isalnum((unsigned char)*p) || strchr("-_.~", *p))
            sb_putc(&sb, *p);
        else
            sb_printf(&sb, "%%%02X", (unsigned char)*p);
    }
    sb_printf(&sb, ": %s", eq + 1);
    l = hdr(l, sb.buf);
    sb_release(&sb);
    return l;
}

static struct curl_slist *build_headers(const struct kube_client *c, const struct req *r,
                                        const char *bearer)
{
    const struct kube_config *cfg = c->cfg;
    struct curl_slist *l = hdr(NULL, "Accept: application/json");
    char *s;
    size_t i;

    l = hdr(l, "Expect:"); /* no 100-continue round trip */
    if (c->host_header)
        l = hdr(l, c->host_header);
    if (r->ctype) {
        s = xasprintf("Content-Type: %s", r->ctype);
        l = hdr(l, s);
        free(s);
    }
    if (bearer && *bearer) {
        s = xasprintf("Authorization: Bearer %s", bearer);
        l = hdr(l, s);
        free(s);
    }
    if (cfg->as_user) {
        s = xasprintf("Impersonate-User: %s", cfg->as_user);
        l = hdr(l, s);
        free(s);
    }
    if (cfg->as_uid) {
        s = xasprintf("Impersonate-Uid: %s", cfg->as_uid);
        l = hdr(l, s);
        free(s);
    }
    for (i = 0; i < cfg->nas_groups; i++) {
        s = xasprintf("Impersonate-Group: %s", cfg->as_groups[i]);
        l = hdr(l, s);
        free(s);
    }
    for (i = 0; i < cfg->nas_extra; i++)
        l = extra_header(l, cfg->as_extra[i]);
    return l;
}

static void set_blob(CURL *h, CURLoption opt, const struct kube_blob *b)
{
    struct curl_blob blob;

    blob.data = b->data;
    blob.len = b->len;
    blob.flags = CURL_BLOB_COPY;
    curl_easy_setopt(h, opt, &blob);
}

static void setup_tls(const struct kube_client *c, CURL *h)
{
    const struct kube_config *cfg = c->cfg;
    const struct kube_blob *cert = &cfg->client_cert, *key = &cfg->client_key;

    if (cfg->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (cfg->ca.data)
            set_blob(h, CURLOPT_CAINFO_BLOB, &cfg->ca);
    }
    if (c->exec_ok && c->exec.cert.data) { /* the exec plugin's pair wins */
        cert = &c->exec.cert;
        key = &c->exec.key;
    }
    if (cert->data && key->data) {
        set_blob(h, CURLOPT_SSLCERT_BLOB, cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(h, CURLOPT_SSLKEY_BLOB, key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

static void setup_method(CURL *h, const struct req *r)
{
    if (strcmp(r->method, "GET") == 0 && !r->body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
    }
}

static void setup_easy(struct kube_client *c, const struct req *r, struct xfer *x,
                       struct curl_slist *headers, char *url)
{
    CURL *h = c->curl;
    long timeout = r->stream ? r->stream->timeout_ms : c->o.timeout_ms;

    curl_easy_reset(h); /* keeps the connection cache */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    if (!c->cfg->disable_compression)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (c->proxy)
        curl_easy_setopt(h, CURLOPT_PROXY, c->proxy);
    if (c->o.cancel) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    }
    if (c->cfg->username || c->cfg->password) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg->username ? c->cfg->username : "");
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->cfg->password ? c->cfg->password : "");
    }
    setup_tls(c, h);
    setup_method(h, r);
}

/* One attempt; returns libcurl's result. */
static CURLcode perform(struct kube_client *c, const struct req *r, struct xfer *x,
                        const char *bearer, struct curl_slist **connect_to)
{
    struct curl_slist *headers = build_headers(c, r, bearer);
    char *url = xasprintf("%s%s", c->url_base, r->path);
    CURLcode rc;

    memset(x, 0, sizeof(*x));
    x->c = c;
    x->stream = r->stream;
    x->retry_after = -1;
    setup_easy(c, r, x, headers, url);
    if (*connect_to)
        curl_easy_setopt(c->curl, CURLOPT_CONNECT_TO, *connect_to);
    rc = curl_easy_perform(c->curl);
    /* x and headers die with this attempt: libcurl must not keep pointers to them */
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    free(url);
    return rc;
}

/* ---- outcomes ---- */

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return 1;
    default:
        return 0;
    }
}

static void transport_error(const struct kube_client *c, const struct req *r, CURLcode rc,
                            const struct xfer *x, struct kube_response *resp)
{
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    const char *where = c->cfg->where ? c->cfg->where : "the configuration";
    const char *url = c->url_shown;
    /* a TLS alert (e.g. "certificate required") surfaces as a receive error */
    int tls_alert = (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && strstr(detail, " alert ");

    if (is_tls_error(rc) || tls_alert)
        kube_fail(resp, KUBE_FAIL_TRANSPORT,
                  "TLS with the API server at %s failed: %s (curl: %s): check the "
                  "certificate-authority and tls-server-name of %s, and the client certificate",
                  url, curl_easy_strerror(rc), detail, where);
    else if (rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_PROXY)
        kube_fail(resp, KUBE_FAIL_TRANSPORT,
                  "cannot reach the API server at %s through the proxy: %s (curl: %s): check "
                  "proxy-url of %s or HTTPS_PROXY",
                  url, curl_easy_strerror(rc), detail, where);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        kube_fail(resp, KUBE_FAIL_TRANSPORT,
                  "%s %s%s timed out (curl: %s): check the server address of %s and that the "
                  "cluster is running",
                  r->method, url, r->path, detail, where);
    else
        kube_fail(resp, KUBE_FAIL_TRANSPORT,
                  "cannot reach the API server at %s: %s (curl: %s): check the server address "
                  "of %s and that the cluster is running",
                  url, curl_easy_strerror(rc), detail, where);
}

static void http_error(const struct kube_client *c, const struct xfer *x,
                       struct kube_response *resp)
{
    char *msg = kube_status_message(resp->status, resp->body, x->body.buf, x->body.len);
    const char *reason = jstr(resp->body, "reason");
    const struct kube_config *cfg = c->cfg;

    if (reason && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(resp->body, "kind")))
        resp->reason = xstrdup(reason);
    if (resp->status == 401 && cfg->user)
        kube_fail(resp, KUBE_FAIL_HTTP,
                  "%s: the server did not accept the credentials of user '%s' (%s)", msg, cfg->user,
                  cfg->where);
    else if (resp->status == 401)
        kube_fail(resp, KUBE_FAIL_HTTP, "%s: the server did not accept the credentials of %s", msg,
                  cfg->where);
    else
        kube_fail(resp, KUBE_FAIL_HTTP, "%s", msg);
    free(msg);
}

/* Parse the buffered body and classify the answer. 0 for 2xx. */
static int finish(struct kube_client *c, const struct req *r, struct xfer *x, CURLcode rc,
                  struct kube_response *resp)
{
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->warnings = x->warnings;
    resp->nwarnings = x->nwarnings;
    x->warnings = NULL;
    x->nwarnings = 0;
    if (x->cancelled) {
        if (x->stream)
            x->stream->cancelled = 1;
        kube_fail(resp, KUBE_FAIL_CANCELLED, "%s %s%s: cancelled", r->method, c->url_shown,
                  r->path);
        return -1;
    }
    if (x->too_big) {
        kube_fail(resp, KUBE_FAIL_RESPONSE, "the answer to %s %s%s is larger than %zu bytes",
                  r->method, c->url_shown, r->path, c->o.max_body);
        return -1;
    }
    if (x->mode == MODE_STREAM) { /* it ran; how it ended is the caller's business */
        if (rc == CURLE_OK && x->line.len && !x->stream->stopped)
            x->stream->on_line(x->line.buf, x->line.len, x->stream->arg);
        return 0;
    }
    if (rc != CURLE_OK) {
        resp->status = 0;
        transport_error(c, r, rc, x, resp);
        return -1;
    }
    if (x->body.len)
        resp->body = cJSON_ParseWithLength(x->body.buf, x->body.len);
    if (resp->status / 100 == 2) {
        if (x->body.len && !resp->body) {
            kube_fail(resp, KUBE_FAIL_RESPONSE, "the answer to %s %s%s (HTTP %ld) is not JSON",
                      r->method, c->url_shown, r->path, resp->status);
            return -1;
        }
        return 0;
    }
    http_error(c, x, resp);
    return -1;
}

static void sleep_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The wait a Retry-After asks for (capped), in slices so that a cancel hook
   can end it: 0, or -1 (resp filled) when cancelled. */
static int retry_wait(const struct kube_client *c, const struct req *r, const struct xfer *x,
                      struct kube_response *resp)
{
    long ms = x->retry_after * 1000 > c->o.max_retry_wait_ms ? c->o.max_retry_wait_ms
                                                             : x->retry_after * 1000;

    for (;;) {
        long slice = ms < 100 ? ms : 100;

        if (cancel_requested(c)) {
            if (r->stream)
                r->stream->cancelled = 1;
            kube_fail(resp, KUBE_FAIL_CANCELLED, "%s %s%s: cancelled", r->method, c->url_shown,
                      r->path);
            return -1;
        }
        if (ms <= 0)
            return 0;
        sleep_ms(slice);
        ms -= slice;
    }
}

static int retryable(const struct kube_client *c, long status, const struct xfer *x,
                     const struct kube_response *resp)
{
    if (x->retry_after < 0 || resp->retries >= c->o.max_retries || x->mode == MODE_STREAM)
        return 0;
    return status == 429 || status / 100 == 5;
}

static int do_request(struct kube_client *c, const struct req *r, struct kube_response *resp)
{
    struct curl_slist *connect_to = c->connect_to ? hdr(NULL, c->connect_to) : NULL;
    int auth_retried = 0, force = 0, rc;
    char err[KUBE_ERR_MAX];

    kube_response_release(resp);
    if (!r->path || r->path[0] != '/' || !r->method || !*r->method) {
        kube_fail(resp, KUBE_FAIL_USAGE, "a request needs a method and a path starting with '/'");
        curl_slist_free_all(connect_to);
        return -1;
    }
    for (;;) {
        const char *bearer;
        struct xfer x;
        CURLcode cc;
        long status = 0;

        if (auth_prepare(c, force, &bearer, err, sizeof(err)) != 0) {
            kube_fail(resp, KUBE_FAIL_AUTH, "%s", err);
            rc = -1;
            break;
        }
        force = 0;
        cc = perform(c, r, &x, bearer, &connect_to);
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_OK && status == 401 && !auth_retried &&
            (c->cfg->exec || c->cfg->token_file) && x.mode != MODE_STREAM) {
            auth_retried = force = 1; /* a rotated token or an expired credential */
            xfer_release(&x);
            continue;
        }
        if (cc == CURLE_OK && retryable(c, status, &x, resp)) {
            xfer_release(&x);
            rc = retry_wait(c, r, &x, resp);
            if (rc != 0)
                break;
            resp->retries++;
            continue;
        }
        rc = finish(c, r, &x, cc, resp);
        xfer_release(&x);
        break;
    }
    curl_slist_free_all(connect_to);
    return rc;
}

int kube_request(struct kube_client *c, const char *method, const char *path,
                 const char *content_type, const char *body, size_t body_len,
                 struct kube_response *resp)
{
    struct req r = {method, path, body ? content_type : NULL, body, body_len, NULL};

    return do_request(c, &r, resp);
}

int kube_request_stream(struct kube_client *c, const char *path, struct kube_stream *s,
                        struct kube_response *resp)
{
    struct req r = {"GET", path, NULL, NULL, 0, s};

    s->started = s->stopped = s->cancelled = 0;
    return do_request(c, &r, resp);
}

/*
 * The round tripper (spec conformance.md §1.10): one request to the
 * gateway as upstream's DefaultRoundTripper sends it with Go's net/http
 * client (DisableKeepAlives), and what came back, parsed as upstream
 * parses it. libcurl does the transport; the parts of Go's client that
 * decide what goes on the wire are reproduced here:
 *  - the request-target is Go's url.URL.RequestURI() of the step's path,
 *    sent verbatim (CURLOPT_REQUEST_TARGET);
 *  - Host, User-Agent: Go-http-client/1.1, Accept-Encoding: gzip (and
 *    transparent decoding, which drops Content-Encoding and
 *    Content-Length), Connection: close, Content-Length: 0 for a bodiless
 *    POST/PUT/PATCH; curl's own Accept, Expect and Content-Type are removed;
 *  - header names canonicalized, each sent once, values trimmed, invalid
 *    names or values refused as Go refuses them;
 *  - redirects followed by hand as http.Client follows them: 301/302/303
 *    turn a method other than GET/HEAD into GET without body, 307/308 keep
 *    both, the Host override survives only relative Locations, Referer set,
 *    credentials dropped across domains, "stopped after 10 redirects";
 *  - https as the Go client with upstream's tls.Config (ServerName,
 *    RootCAs, an optional client certificate): the URL curl is given names
 *    the server name (SNI, verification) and CURLOPT_CONNECT_TO sends the
 *    connection to the hop's address; the CA PEM is the only trust store;
 *    TLS 1.2 or later, no ALPN (Go's transport with a TLS config and a
 *    custom dialer never offers h2).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "roundtrip.h"
#include "runner.h"
#include "util.h"

#define BODY_MAX     ((size_t)16 << 20) /* a larger answer is an error */
#define BODY_START   256                /* bytes of a non-JSON body kept for reports */
#define MAX_REQUESTS 10                 /* Go's defaultCheckRedirect */
#define USER_AGENT   "Go-http-client/1.1"

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* ---- small lists -------------------------------------------------------- */

/* The entry named exactly 'name', or NULL. */
static struct conf_kv *kv_get(const struct conf_kvlist *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

/* Set name to value (both copied), replacing an entry of the same name. */
static void kv_set(struct conf_kvlist *l, const char *name, const char *value)
{
    struct conf_kv *kv = kv_get(l, name);

    if (kv) {
        free(kv->value);
        kv->value = xstrdup(value);
        return;
    }
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n].name = xstrdup(name);
    l->v[l->n++].value = xstrdup(value);
}

static void kv_del(struct conf_kvlist *l, const char *name)
{
    struct conf_kv *kv = kv_get(l, name);
    size_t i;

    if (!kv)
        return;
    i = (size_t)(kv - l->v);
    free(kv->name);
    free(kv->value);
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
    l->n--;
}

/* ---- Go's addresses and URLs -------------------------------------------- */

enum split_result { SPLIT_OK, SPLIT_MISSING_PORT, SPLIT_TOO_MANY_COLONS, SPLIT_BAD };

/* net.SplitHostPort; on SPLIT_OK *host and *port are malloc'd. */
static enum split_result split_host_port(const char *hp, char **host, char **port)
{
    const char *colon = strrchr(hp, ':'), *end;
    size_t j = 0, k = 0;
    char *h;

    if (!colon)
        return SPLIT_MISSING_PORT;
    if (hp[0] == '[') {
        end = strchr(hp, ']');
        if (!end)
            return SPLIT_BAD;
        if (end[1] == '\0')
            return SPLIT_MISSING_PORT;
        if (end + 1 != colon)
            return end[1] == ':' ? SPLIT_TOO_MANY_COLONS : SPLIT_MISSING_PORT;
        h = xstrndup(hp + 1, (size_t)(end - hp - 1));
        j = 1;
        k = (size_t)(end - hp) + 1;
    } else {
        if (memchr(hp, ':', (size_t)(colon - hp)))
            return SPLIT_TOO_MANY_COLONS;
        h = xstrndup(hp, (size_t)(colon - hp));
    }
    if (strchr(hp + j, '[') || strchr(hp + k, ']')) {
        free(h);
        return SPLIT_BAD;
    }
    *host = h;
    *port = xstrdup(colon + 1);
    return SPLIT_OK;
}

char *conf_host_port(const char *addr, const char *port)
{
    return xasprintf(strchr(nz(addr), ':') ? "[%s]:%s" : "%s:%s", nz(addr), nz(port));
}

char *conf_calculate_host(const char *gw_addr, const char *scheme)
{
    char *addr = xstrdup(nz(gw_addr)), *host = NULL, *port = NULL, *out;
    enum split_result r = split_host_port(addr, &host, &port);

    if (r == SPLIT_TOO_MANY_COLONS) {
        char *bracketed = xasprintf("[%s]", addr);

        free(addr);
        addr = bracketed;
        r = split_host_port(addr, &host, &port);
    }
    if (r != SPLIT_OK)
        return addr;
    if ((!strcasecmp(nz(scheme), "http") && !strcmp(port, "80")) ||
        (!strcasecmp(nz(scheme), "https") && !strcmp(port, "443"))) {
        out = strchr(host, ':') ? xasprintf("[%s]", host) : xstrdup(host);
        free(addr);
    } else {
        out = addr;
    }
    free(host);
    free(port);
    return out;
}

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Bytes url.URL.EscapedPath leaves alone (shouldEscape, encodePath). */
static int path_byte_plain(unsigned char c)
{
    return is_alnum(c) || (c && strchr("-_.~$&+,/:;=@", c));
}

char *conf_request_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *p = path ? path : "/", *q;
    size_t plen = strcspn(p, "?"), i;
    struct sbuf sb = {0};

    if (plen == 0 || p[0] != '/')
        sb_putc(&sb, '/');
    for (i = 0; i < plen; i++) {
        unsigned char c = (unsigned char)p[i];

        if (path_byte_plain(c)) {
            sb_putc(&sb, (char)c);
        } else {
            sb_putc(&sb, '%');
            sb_putc(&sb, hex[c >> 4]);
            sb_putc(&sb, hex[c & 15]);
        }
    }
    if (p[plen] == '?') {
        q = p + plen + 1;
        /* url.Parse of the URL string cuts a fragment off the query */
        if (strcspn(q, "#") > 0) {
            sb_putc(&sb, '?');
            sb_add(&sb, q, strcspn(q, "#"));
        }
    }
    return sb_detach(&sb);
}

/* ---- Go's header rules ---------------------------------------------------- */

/* httpguts' token bytes (header names, methods). */
static int token_byte(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int valid_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!token_byte((unsigned char)*s))
            return 0;
    return 1;
}

/* httpguts.ValidHeaderFieldValue: no control bytes but tab. */
static int valid_value(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

/* httpguts.ValidHostHeader (ASCII: Go would punycode the rest). */
static int valid_host(const char *s)
{
    for (; *s; s++)
        if (!is_alnum((unsigned char)*s) && !strchr("!$%&'()*+,-.:;=[]_~", *s))
            return 0;
    return 1;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* textproto.CanonicalMIMEHeaderKey: "x-foo" -> "X-Foo"; invalid names as given. */
static char *canonical_key(const char *s)
{
    char *out = xstrdup(s), *p;
    int upper = 1;

    if (!valid_token(s))
        return out;
    for (p = out; *p; p++) {
        if (upper && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (!upper && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        upper = *p == '-';
    }
    return out;
}

/* A copy of s without leading and trailing spaces and tabs. */
static char *trimmed(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return xstrndup(s, n);
}

/* The step's headers as Go's Header.Set leaves them, plus X-Echo-Set-Header. */
static void go_headers(const struct conf_request *req, struct conf_kvlist *out)
{
    const struct conf_kvlist *set = &req->backend_set_response_headers;
    struct sbuf echo = {0};
    size_t i;

    for (i = 0; i < req->headers.n; i++) {
        char *name = canonical_key(nz(req->headers.v[i].name));

        kv_set(out, name, nz(req->headers.v[i].value));
        free(name);
    }
    for (i = 0; i < set->n; i++)
        sb_printf(&echo, "%s%s:%s", i ? "," : "", nz(set->v[i].name), nz(set->v[i].value));
    kv_set(out, "X-Echo-Set-Header", echo.buf ? echo.buf : "");
    sb_release(&echo);
}

/* What Go's transport checks before sending; NULL or the error. */
static char *check_request(const char *method, const char *host, const char *target,
                           const struct conf_kvlist *h)
{
    size_t i;

    if (!valid_token(method))
        return xasprintf("net/http: invalid method \"%s\"", method);
    if (!valid_host(host))
        return xasprintf("http: invalid Host header \"%s\"", host);
    if (has_ctl(target))
        return xstrdup("net/url: invalid control character in URL");
    for (i = 0; i < h->n; i++) {
        if (!valid_token(h->v[i].name))
            return xasprintf("net/http: invalid header field name \"%s\"", h->v[i].name);
        if (!valid_value(h->v[i].value))
            return xasprintf("net/http: invalid header field value for \"%s\"", h->v[i].name);
    }
    return NULL;
}

/* ---- one request of a chain ------------------------------------------------ */

struct hop {
    char *scheme;    /* "http" */
    char *authority; /* the URL's host[:port], IPv6 bracketed */
    char *target;    /* request-target: escaped path, ?query */
    char *host;      /* Host header */
    char *method;
    char *referer; /* NULL: none */
    int body;      /* send the step's body */
    int cross_domain;
};

struct resp {
    long status, version;
    struct conf_kvlist headers; /* canonical names, repeated values joined with "," */
    char *content_type;         /* first value, as Go's Header.Get */
    char *location;             /* first value */
    struct sbuf body;
    int too_big;
    enum conf_fault fault; /* of a failed transfer */
    char errbuf[CURL_ERROR_SIZE];
};

static void hop_free(struct hop *h)
{
    free(h->scheme);
    free(h->authority);
    free(h->target);
    free(h->host);
    free(h->method);
    free(h->referer);
    memset(h, 0, sizeof(*h));
}

static void resp_free(struct resp *r)
{
    conf_kvlist_release(&r->headers);
    free(r->content_type);
    free(r->location);
    sb_release(&r->body);
    r->content_type = r->location = NULL;
}

static char *hop_url(const struct hop *h)
{
    return xasprintf("%s://%s%s", h->scheme, h->authority, h->target);
}

static void add_response_header(struct resp *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    char *raw, *name, *value;
    struct conf_kv *kv;

    if (!colon)
        return;
    raw = xstrndup(line, (size_t)(colon - line));
    name = canonical_key(raw);
    free(raw);
    value = trimmed(colon + 1, len - (size_t)(colon - line) - 1);
    if (!strcmp(name, "Content-Type") && !r->content_type)
        r->content_type = xstrdup(value);
    if (!strcmp(name, "Location") && !r->location)
        r->location = xstrdup(value);
    kv = kv_get(&r->headers, name);
    if (kv) {
        char *joined = xasprintf("%s,%s", kv->value, value);

        free(kv->value);
        kv->value = joined;
    } else {
        kv_set(&r->headers, name, value);
    }
    free(name);
    free(value);
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;

    if (len >= 5 && !memcmp(buf, "HTTP/", 5)) {
        /* a new header block (after a 1xx): only the last one counts */
        conf_kvlist_release(&r->headers);
        free(r->content_type);
        free(r->location);
        r->content_type = r->location = NULL;
    } else if (len && (buf[0] == ' ' || buf[0] == '\t') && r->headers.n) {
        /* obs-fold: textproto joins the continuation with a space */
        struct conf_kv *last = &r->headers.v[r->headers.n - 1];
        char *more = trimmed(buf, len), *joined = xasprintf("%s %s", last->value, more);

        free(last->value);
        last->value = joined;
        free(more);
    } else {
        add_response_header(r, buf, len);
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;

    if (r->body.len + len > BODY_MAX) {
        r->too_big = 1;
        return 0;
    }
    sb_add(&r->body, buf, len);
    return len;
}

static void slist_add(struct curl_slist **l, const char *line)
{
    struct curl_slist *n = curl_slist_append(*l, line);

    if (!n)
        abort(); /* out of memory: the xmalloc policy */
    *l = n;
}

static int sensitive_header(const char *name)
{
    return !strcmp(name, "Authorization") || !strcmp(name, "Www-Authenticate") ||
           !strcmp(name, "Cookie") || !strcmp(name, "Cookie2");
}

/* The header lines curl sends for hop h (curl adds Content-Length itself). */
static struct curl_slist *hop_headers(const struct hop *h, const struct conf_kvlist *kv)
{
    struct curl_slist *l = NULL;
    char *line = xasprintf("Host: %s", h->host);
    size_t i;

    slist_add(&l, line);
    free(line);
    for (i = 0; i < kv->n; i++) {
        const struct conf_kv *e = &kv->v[i];
        char *value = trimmed(e->value, strlen(e->value)); /* Go's textproto.TrimString */

        if (h->cross_domain && sensitive_header(e->name)) {
            free(value);
            continue;
        }
        if (*value)
            line = xasprintf("%s: %s", e->name, value);
        else /* "Name;" sends an empty value; "User-Agent:" sends none, as Go */
            line = xasprintf("%s%s", e->name, strcmp(e->name, "User-Agent") ? ";" : ":");
        slist_add(&l, line);
        free(line);
        free(value);
    }
    if (h->referer && !kv_get(kv, "Referer")) {
        line = xasprintf("Referer: %s", h->referer);
        slist_add(&l, line);
        free(line);
    }
    if (!kv_get(kv, "Connection"))
        slist_add(&l, "Connection: close");
    if (!kv_get(kv, "Accept"))
        slist_add(&l, "Accept:");
    if (!kv_get(kv, "Expect"))
        slist_add(&l, "Expect:");
    if (h->body && !kv_get(kv, "Content-Type"))
        slist_add(&l, "Content-Type:");
    return l;
}

static int method_is(const struct hop *h, const char *m)
{
    return !strcmp(h->method, m);
}

static void set_method(CURL *c, const struct hop *h, const struct conf_request *req)
{
    if (method_is(h, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return;
    }
    if (h->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    } else if (method_is(h, "POST") || method_is(h, "PUT") || method_is(h, "PATCH")) {
        /* Go sends Content-Length: 0 for these */
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (!method_is(h, "GET") || h->body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, h->method);
}

/* Whether Go's transport asks for gzip itself (and then decodes it). */
static int wants_gzip(const struct hop *h, const struct conf_kvlist *kv)
{
    return !method_is(h, "HEAD") && !kv_get(kv, "Accept-Encoding") && !kv_get(kv, "Range");
}

/* Whether hop h is sent with the caller's TLS config (complete, or NULL). */
static int uses_tls(const struct hop *h, const struct conf_tls *tls)
{
    return tls && !strcmp(h->scheme, "https");
}

/*
 * The URL curl is given for hop h. With a TLS config its host is the
 * server name (so curl sends it as SNI and verifies the certificate for
 * it) and *connect_to sends the TCP connection to the hop's own address.
 */
static char *hop_origin(const struct hop *h, const struct conf_tls *tls,
                        struct curl_slist **connect_to)
{
    char *host = NULL, *port = NULL, *to, *name, *url;

    if (!uses_tls(h, tls))
        return xasprintf("%s://%s/", h->scheme, h->authority);
    if (split_host_port(h->authority, &host, &port) != SPLIT_OK) {
        host = NULL; /* no port: the authority as it is (IPv6 bracketed) */
        port = xstrdup("443");
    } else if (!*port) {
        free(port);
        port = xstrdup("443");
    }
    to = host ? conf_host_port(host, port) : xasprintf("%s:%s", h->authority, port);
    name = conf_host_port(tls->server_name, port);
    url = xasprintf("https://%s/", name);
    free(name);
    name = xasprintf("::%s", to); /* any host and port of the URL */
    slist_add(connect_to, name);
    free(name);
    free(to);
    free(host);
    free(port);
    return url;
}

/* Hand a PEM string to curl (which copies it). */
static void set_blob(CURL *c, CURLoption opt, const char *pem)
{
    struct curl_blob b;

    b.data = (void *)(uintptr_t)pem;
    b.len = strlen(pem);
    b.flags = CURL_BLOB_COPY;
    curl_easy_setopt(c, opt, &b);
}

/* Go's validHostname: non-empty labels of letters, digits, '-', '_' (':' too,
   as Go allows), a pattern's "*" only as its whole first label, no bare "*";
   an input (not a pattern) may end with one dot. */
static int go_valid_name(const char *s, int pattern)
{
    size_t len = strlen(s), i, label = 0;

    if (!pattern && len && s[len - 1] == '.')
        len--;
    if (!len || (len == 1 && s[0] == '*'))
        return 0;
    for (i = 0; i <= len; i++) {
        char ch = '.';

        if (i < len)
            ch = s[i];

        if (ch == '.') {
            if (!label)
                return 0; /* an empty label */
            label = 0;
            continue;
        }
        if (pattern && i == 0 && ch == '*' && (len == 1 || s[1] == '.')) {
            label++;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == ':'))
            return 0;
        label++;
    }
    return 1;
}

/* Go's matchHostnames, for a valid pattern and a valid input. */
static int go_match(const char *pattern, const char *host)
{
    size_t pl = strlen(pattern), hl = strlen(host);
    int first = 1;

    if (hl && host[hl - 1] == '.')
        hl--;
    for (;;) {
        const char *pd = memchr(pattern, '.', pl), *hd = memchr(host, '.', hl);
        size_t pn = pd ? (size_t)(pd - pattern) : pl, hn = hd ? (size_t)(hd - host) : hl;
        int wild = first && pn == 1 && pattern[0] == '*';

        if (!wild && (pn != hn || strncasecmp(pattern, host, pn) != 0))
            return 0;
        if (!pd || !hd)
            return !pd && !hd;
        pattern = pd + 1;
        pl -= pn + 1;
        host = hd + 1;
        hl -= hn + 1;
        first = 0;
    }
}

int conf_tls_name_matches(const char *pattern, const char *host)
{
    /* Go's VerifyHostname: wildcard and trailing-dot rules only between a
       valid pattern and a valid name, an exact (case-insensitive) match
       otherwise */
    if (go_valid_name(pattern, 1) && go_valid_name(host, 0))
        return go_match(pattern, host);
    if (!*pattern || !strcmp(pattern, ".") || !*host || !strcmp(host, "."))
        return 0;
    return strcasecmp(pattern, host) == 0;
}

/* ---- Go's name check on libcurl's OpenSSL connections ---- */

static int name_index = -1, curl_openssl;
static pthread_once_t name_once = PTHREAD_ONCE_INIT;

static int curl_uses_openssl(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

    return v && v->ssl_version && !strncmp(v->ssl_version, "OpenSSL/", 8);
}

/* Once: curl_version_info() rewrites static data, so threads must not call
   it side by side. */
static void name_index_init(void)
{
    name_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    curl_openssl = curl_uses_openssl();
}

/* Any DNS SAN of the leaf covers name, or the IP SANs hold an IP name. */
static int leaf_covers(X509 *leaf, const char *name)
{
    GENERAL_NAMES *sans;
    int i, ok = 0, ip = X509_check_ip_asc(leaf, name, 0);

    if (ip != -2) /* an IP literal (-2: not one): the IP SANs decide */
        return ip == 1;
    sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    for (i = 0; !ok && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        const unsigned char *d;
        int len;
        char *dns;

        if (g->type != GEN_DNS)
            continue;
        d = ASN1_STRING_get0_data(g->d.dNSName);
        len = ASN1_STRING_length(g->d.dNSName);
        if (len <= 0 || memchr(d, 0, (size_t)len))
            continue;
        dns = xstrndup((const char *)d, (size_t)len);
        ok = conf_tls_name_matches(dns, name);
        free(dns);
    }
    GENERAL_NAMES_free(sans);
    return ok;
}

/* OpenSSL's verify callback: the chain as OpenSSL judged it, then, for the
   leaf, the server name as Go judges it. */
static int verify_name(int preverify_ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    const char *name = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), name_index) : NULL;

    if (!preverify_ok || X509_STORE_CTX_get_error_depth(store) != 0 || !name)
        return preverify_ok;
    if (leaf_covers(X509_STORE_CTX_get_current_cert(store), name))
        return 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
    return 0;
}

static CURLcode ssl_ctx_hook(CURL *c, void *ssl_ctx, void *name)
{
    (void)c;
    SSL_CTX_set_ex_data(ssl_ctx, name_index, name);
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, verify_name);
    return CURLE_OK;
}

/* curl's TLS settings for an https hop; tls NULL: curl's default trust store. */
static void set_tls(CURL *c, const struct conf_tls *tls)
{
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(c, CURLOPT_SSL_ENABLE_ALPN, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!tls)
        return;
    /* the chain as OpenSSL checks it, the name as Go does (upstream's
       "*.org" certificate covers example.org for Go, not for OpenSSL) */
    pthread_once(&name_once, name_index_init);
    if (curl_openssl && name_index >= 0 && tls->server_name) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_hook);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, (void *)(uintptr_t)tls->server_name);
    }
    /* CAPATH off as well: the CA PEM is the only trust store, as Go's RootCAs */
    set_blob(c, CURLOPT_CAINFO_BLOB, tls->ca_pem);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    if (tls->client_cert_pem && tls->client_key_pem) {
        set_blob(c, CURLOPT_SSLCERT_BLOB, tls->client_cert_pem);
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(c, CURLOPT_SSLKEY_BLOB, tls->client_key_pem);
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

/* The kind of a failed transfer (the socket's errno tells refused from unreachable). */
static enum conf_fault transfer_fault(CURLcode rc, long os_errno)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return CONF_FAULT_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
        return os_errno == ECONNREFUSED ? CONF_FAULT_REFUSED : CONF_FAULT_NETWORK;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return CONF_FAULT_RESET;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return CONF_FAULT_TLS;
    default:
        return CONF_FAULT_NETWORK;
    }
}

/* curl's progress callback: a signal to the runner abandons the transfer
   (curl calls it about once a second when nothing moves) */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)arg;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return conf_interrupted != 0;
}

/* Why a transfer failed, in curl's words (and the name a certificate lacks). */
static char *perform_error(CURLcode rc, const struct resp *r, const struct conf_tls *tls)
{
    if (r->too_big)
        return xasprintf("response body larger than %zu bytes", BODY_MAX);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return xasprintf("interrupted by %s", conf_signal_name(conf_interrupted));
    if (rc == CURLE_PEER_FAILED_VERIFICATION && tls && tls->server_name &&
        strstr(r->errbuf, "hostname mismatch"))
        return xasprintf("%s: the certificate is not valid for %s", r->errbuf, tls->server_name);
    return xstrdup(r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
}

/* Where the answer goes, how long it may take, and the check for a signal. */
static void set_io(CURL *c, struct resp *r, struct curl_slist *lines, long ms)
{
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, lines);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
}

/* Send hop h; 0, or -1 with *err set (curl's words). */
static int perform(const struct hop *h, const struct conf_request *req, const struct conf_tls *tls,
                   const struct conf_kvlist *kv, long ms, struct resp *r, char **err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *lines, *connect_to = NULL;
    char *origin;
    CURLcode rc;

    if (!c) {
        *err = xstrdup("curl_easy_init failed");
        return -1;
    }
    lines = hop_headers(h, kv);
    origin = hop_origin(h, tls, &connect_to);
    curl_easy_setopt(c, CURLOPT_URL, origin);
    if (connect_to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
    if (!strcmp(h->scheme, "https"))
        set_tls(c, uses_tls(h, tls) ? tls : NULL);
    curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, h->target);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    set_io(c, r, lines, ms);
    if (wants_gzip(h, kv))
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    set_method(c, h, req);
    r->errbuf[0] = '\0';
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &r->version);
    } else {
        long os_errno = 0;

        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
        r->fault = r->too_big ? CONF_FAULT_NONE : transfer_fault(rc, os_errno);
        *err = perform_error(rc, r, tls);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(lines);
    curl_slist_free_all(connect_to);
    free(origin);
    if (rc == CURLE_OK && wants_gzip(h, kv)) {
        const struct conf_kv *ce = kv_get(&r->headers, "Content-Encoding");

        if (ce && !strcasecmp(ce->value, "gzip")) {
            kv_del(&r->headers, "Content-Encoding");
            kv_del(&r->headers, "Content-Length");
        }
    }
    return rc == CURLE_OK ? 0 : -1;
}

/* ---- Location ------------------------------------------------------------- */

static char *url_part(CURLU *u, CURLUPart what, unsigned flags)
{
    char *p = NULL, *out;

    if (curl_url_get(u, what, &p, flags) != CURLUE_OK)
        return NULL;
    out = xstrdup(p);
    curl_free(p);
    return out;
}

/* loc resolved against base as Go's URL.Parse(loc) resolves it; NULL if it does not parse. */
static CURLU *resolve(const char *base, const char *loc)
{
    const unsigned flags = CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE;
    CURLU *u = curl_url();

    if (!u)
        abort();
    if (curl_url_set(u, CURLUPART_URL, base, flags) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, loc, flags) != CURLUE_OK) {
        curl_url_cleanup(u);
        return NULL;
    }
    return u;
}

/* Whether loc has a scheme (Go's URL.IsAbs). */
static int loc_is_abs(const char *loc)
{
    size_t n = strcspn(loc, ":/?#");

    return n > 0 && loc[n] == ':' &&
           ((loc[0] >= 'a' && loc[0] <= 'z') || (loc[0] >= 'A' && loc[0] <= 'Z'));
}

/* Go's Path of an absolute "scheme://authority" without a path is "". */
static int loc_has_empty_path(const char *loc)
{
    const char *a = strstr(loc, "//");

    if (!loc_is_abs(loc) || !a || a != strchr(loc, ':') + 1)
        return 0;
    a += 2;
    a += strcspn(a, "/?#");
    return *a != '/';
}

/* Fill the redirect fields as upstream's resp.Location() + Hostname()/Port()/Path. */
static int parse_location(const char *base, const char *loc, struct conf_redirect *out)
{
    CURLU *u = resolve(base, loc);
    char *host;
    size_t n;

    if (!u)
        return -1;
    out->set = 1;
    out->scheme = url_part(u, CURLUPART_SCHEME, 0);
    host = url_part(u, CURLUPART_HOST, 0);
    n = host ? strlen(host) : 0;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        out->host = xstrndup(host + 1, n - 2);
        free(host);
    } else {
        out->host = host ? host : xstrdup("");
    }
    out->port = url_part(u, CURLUPART_PORT, 0);
    if (!out->port)
        out->port = xstrdup("");
    out->path = loc_has_empty_path(loc) ? NULL : url_part(u, CURLUPART_PATH, CURLU_URLDECODE);
    if (!out->path)
        out->path = xstrdup("");
    if (!out->scheme)
        out->scheme = xstrdup("");
    curl_url_cleanup(u);
    return 0;
}

/* ---- following redirects ---------------------------------------------------- */

/* The hostname of host[:port] (Go's URL.Hostname()), malloc'd. */
static char *hostname_of(const char *authority)
{
    char *h = NULL, *p = NULL;

    if (split_host_port(authority, &h, &p) == SPLIT_OK) {
        free(p);
        return h;
    }
    return xstrdup(authority);
}

/* Go's isDomainOrSubdomain(dest, initial) on the URL hostnames. */
static int same_domain(const char *initial_authority, const char *dest_authority)
{
    char *a, *b;
    size_t la, lb;
    int same;

    a = hostname_of(initial_authority);
    b = hostname_of(dest_authority);
    la = strlen(a);
    lb = strlen(b);
    same = !strcasecmp(a, b) ||
           (lb > la + 1 && !strchr(b, ':') && b[lb - la - 1] == '.' && !strcasecmp(b + lb - la, a));
    free(a);
    free(b);
    return same;
}

/* The scheme, authority and request-target of a resolved URL into h. */
static void hop_from_url(CURLU *u, struct hop *h)
{
    char *host = url_part(u, CURLUPART_HOST, 0), *port = url_part(u, CURLUPART_PORT, 0);
    char *path = url_part(u, CURLUPART_PATH, 0), *query = url_part(u, CURLUPART_QUERY, 0);

    h->scheme = url_part(u, CURLUPART_SCHEME, 0);
    if (!h->scheme)
        h->scheme = xstrdup("http");
    h->authority = port ? xasprintf("%s:%s", nz(host), port) : xstrdup(nz(host));
    h->target = xasprintf("%s%s%s", path ? path : "/", query && *query ? "?" : "",
                          query && *query ? query : "");
    free(host);
    free(port);
    free(path);
    free(query);
}

/*
 * The next hop after 'cur' answered 'r' (Go's Client.do), into *next:
 * 1 follow it, 0 the answer is final, -1 error (*err set).
 */
static int next_hop(const struct hop *first, const struct hop *cur, const struct resp *r,
                    int unfollow, struct hop *next, char **err)
{
    int keep_method = r->status == 307 || r->status == 308;
    int host_override = strcmp(cur->host, cur->authority) != 0;
    char *base;
    CURLU *u;

    if (!keep_method && r->status != 301 && r->status != 302 && r->status != 303)
        return 0;
    if (!r->location || !*r->location)
        return 0; /* Go returns a 3xx without Location as it is */
    base = hop_url(cur);
    u = resolve(base, r->location);
    if (!u) {
        *err = xasprintf("failed to parse Location header \"%s\"", r->location);
        free(base);
        return -1;
    }
    if (unfollow) { /* Go parses the Location before CheckRedirect says stop */
        curl_url_cleanup(u);
        free(base);
        return 0;
    }
    memset(next, 0, sizeof(*next));
    hop_from_url(u, next);
    curl_url_cleanup(u);
    /* a Host override survives a relative Location only (Go issue 22233) */
    next->host = xstrdup(host_override && !loc_is_abs(r->location) ? cur->host : next->authority);
    if (keep_method || method_is(cur, "GET") || method_is(cur, "HEAD"))
        next->method = xstrdup(cur->method);
    else
        next->method = xstrdup("GET");
    next->body = keep_method && cur->body;
    next->cross_domain = !same_domain(first->authority, next->authority);
    /* Referer: the previous URL, unless that would leak https into http */
    if (strcmp(cur->scheme, "https") != 0 || strcmp(next->scheme, "https") == 0)
        next->referer = xstrdup(base);
    free(base);
    return 1;
}

/* ---- the echo JSON ------------------------------------------------------------ */

static int type_error(char **err, const cJSON *v, const char *field, const char *type)
{
    if (err && !*err)
        *err = xasprintf("json: cannot unmarshal %s into Go struct field %s of type %s",
                         go_json_kind(v), field, type);
    return -1;
}

/* A string field: null leaves it as it is. dst NULL: checked, not kept. */
static int set_string(char **dst, const cJSON *v, const char *field, char **err)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return type_error(err, v, field, "string");
    if (dst) {
        free(*dst);
        *dst = xstrdup(v->valuestring);
    }
    return 0;
}

/* A []string joined with ",": null elements are "". */
static int join_strings(const cJSON *arr, const char *field, char **out, char **err)
{
    struct sbuf sb = {0};
    const cJSON *x;

    *out = NULL;
    cJSON_ArrayForEach(x, arr) {
        if (!cJSON_IsString(x) && !cJSON_IsNull(x)) {
            sb_release(&sb);
            return type_error(err, x, field, "string");
        }
        if (x != arr->child)
            sb_putc(&sb, ',');
        if (cJSON_IsString(x))
            sb_puts(&sb, x->valuestring);
    }
    *out = sb.buf ? sb_detach(&sb) : xstrdup("");
    return 0;
}

static int parse_headers(const cJSON *v, struct conf_kvlist *l, char **err)
{
    const cJSON *h;

    if (cJSON_IsNull(v)) {
        conf_kvlist_release(l);
        return 0;
    }
    if (!cJSON_IsObject(v))
        return type_error(err, v, "CapturedRequest.headers", "map[string][]string");
    cJSON_ArrayForEach(h, v) {
        char *joined = NULL;

        if (!cJSON_IsArray(h) && !cJSON_IsNull(h))
            return type_error(err, h, "CapturedRequest.headers", "[]string");
        if (join_strings(h, "CapturedRequest.headers", &joined, err) || !joined)
            return -1;
        kv_set(l, h->string, joined);
        free(joined);
    }
    return 0;
}

static int parse_certs(const cJSON *v, struct conf_strlist *l, char **err)
{
    const cJSON *x;

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return type_error(err, v, "CapturedRequest.tls.peerCertificates", "[]string");
    conf_strlist_release(l);
    cJSON_ArrayForEach(x, v) {
        if (!cJSON_IsString(x) && !cJSON_IsNull(x))
            return type_error(err, x, "CapturedRequest.tls.peerCertificates", "string");
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n++] = xstrdup(cJSON_IsString(x) ? x->valuestring : "");
    }
    return 0;
}

static int parse_tls(const cJSON *v, struct conf_echo *e, char **err)
{
    static const char *const checked[] = {"version", "negotiatedProtocol", "cipherSuite"};
    const cJSON *m;
    size_t i;

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsObject(v))
        return type_error(err, v, "CapturedRequest.tls", "roundtripper.TLS");
    cJSON_ArrayForEach(m, v) {
        int rc = 0;

        if (!strcasecmp(m->string, "serverName"))
            rc = set_string(&e->tls_server_name, m, "CapturedRequest.tls.serverName", err);
        else if (!strcasecmp(m->string, "peerCertificates"))
            rc = parse_certs(m, &e->tls_peer_certificates, err);
        for (i = 0; i < ARRAY_SIZE(checked); i++)
            if (!strcasecmp(m->string, checked[i]))
                rc = set_string(NULL, m, "CapturedRequest.tls", err);
        if (rc)
            return -1;
    }
    return 0;
}

static int parse_member(const cJSON *m, struct conf_echo *e, char **err)
{
    static const struct {
        const char *key;
        size_t off;
    } fields[] = {
        {"path", offsetof(struct conf_echo, path)},
        {"host", offsetof(struct conf_echo, host)},
        {"method", offsetof(struct conf_echo, method)},
        {"proto", offsetof(struct conf_echo, proto)},
        {"httpPort", offsetof(struct conf_echo, http_port)},
        {"namespace", offsetof(struct conf_echo, namespace_)},
        {"pod", offsetof(struct conf_echo, pod)},
    };
    size_t i;

    if (!strcasecmp(m->string, "headers"))
        return parse_headers(m, &e->headers, err);
    if (!strcasecmp(m->string, "tls"))
        return parse_tls(m, e, err);
    for (i = 0; i < ARRAY_SIZE(fields); i++) {
        if (!strcasecmp(m->string, fields[i].key)) {
            char *field = xasprintf("CapturedRequest.%s", fields[i].key);
            int rc = set_string((char **)((char *)e + fields[i].off), m, field, err);

            free(field);
            return rc;
        }
    }
    return 0; /* ingress, service and the rest are ignored */
}

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int conf_echo_parse(const char *body, size_t len, struct conf_echo *echo, char **err)
{
    struct conf_echo e;
    const char *end = NULL;
    cJSON *root;
    const cJSON *m, *members;
    int rc = 0;

    memset(&e, 0, sizeof(e));
    if (err)
        *err = NULL;
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0, k = 0;

        while (k < len && json_space(body[k]))
            k++;
        if (err)
            *err = k == len ? xstrdup("unexpected end of JSON input")
                            : xasprintf("invalid JSON at byte %zu", at);
        return -1;
    }
    while (end && end < body + len && json_space(*end))
        end++;
    if (end && end < body + len) {
        if (err)
            *err = xasprintf("invalid character '%c' after top-level value", *end);
        rc = -1;
    } else if (!cJSON_IsObject(root) && !cJSON_IsNull(root)) {
        if (err)
            *err = xasprintf("json: cannot unmarshal %s into Go value of type "
                             "roundtripper.CapturedRequest",
                             go_json_kind(root));
        rc = -1;
    }
    members = cJSON_IsObject(root) && !rc ? root : NULL;
    cJSON_ArrayForEach(m, members) {
        if (parse_member(m, &e, err))
            rc = -1;
    }
    cJSON_Delete(root);
    if (rc) {
        conf_echo_release(&e);
        return -1;
    }
    e.parsed = 1;
    *echo = e;
    return 0;
}

/* ---- the round trip --------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *proto_name(long version)
{
    switch (version) {
    case CURL_HTTP_VERSION_1_0:
        return "HTTP/1.0";
    case CURL_HTTP_VERSION_2_0:
        return "HTTP/2.0";
    case CURL_HTTP_VERSION_3:
        return "HTTP/3.0";
    default:
        return "HTTP/1.1";
    }
}

/* A printable copy of the first bytes of a body. */
static char *body_start(const struct sbuf *b)
{
    size_t n = b->len < BODY_START ? b->len : BODY_START, i;
    char *s = xstrndup(b->buf ? b->buf : "", n);

    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f)
            s[i] = '.';
    s[n] = '\0';
    return s;
}

/* Go's url.Error text: Get "http://...": what. */
static char *url_error(const struct hop *first, const char *what)
{
    char *url = hop_url(first), *op = xstrdup(first->method), *p, *s;

    for (p = op + 1; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    s = xasprintf("%s \"%s\": %s", op, url, what);
    free(url);
    free(op);
    return s;
}

/* Move the final answer into out, parsing as upstream does. */
static void capture(const struct hop *first, const struct hop *last, struct resp *r,
                    struct conf_captured *out)
{
    const struct conf_kv *te = kv_get(&r->headers, "Transfer-Encoding");
    char *err = NULL;

    out->status = r->status;
    out->proto = xstrdup(proto_name(r->version));
    if (te && strstr(te->value, "chunked")) {
        kv_del(&r->headers, "Transfer-Encoding"); /* Go keeps it out of Header */
        kv_del(&r->headers, "Content-Length");
    }
    out->headers = r->headers;
    memset(&r->headers, 0, sizeof(r->headers));
    if (r->content_type && !strcmp(r->content_type, "application/json")) {
        if (conf_echo_parse(r->body.buf ? r->body.buf : "", r->body.len, &out->echo, &err)) {
            out->error = xasprintf("unexpected error reading response: %s", err);
            out->body_start = body_start(&r->body);
        }
        free(err);
    } else {
        out->echo.method = xstrdup(first->method); /* upstream assumes the sent method */
        if (r->body.len)
            out->body_start = body_start(&r->body);
    }
    if (!out->error && conf_is_redirect_status(r->status)) {
        char *base = hop_url(last);

        if (!r->location || !*r->location)
            out->error = xstrdup("http: no Location header in response");
        else if (parse_location(base, r->location, &out->location))
            out->error = xasprintf("failed to parse Location header \"%s\"", r->location);
        free(base);
    }
}

/* The first hop from the step; NULL or the error. */
static char *first_hop(const char *gw_addr, const char *scheme, const struct conf_request *req,
                       const struct conf_kvlist *kv, struct hop *h)
{
    memset(h, 0, sizeof(*h));
    h->scheme = xstrdup(scheme);
    h->authority = conf_calculate_host(gw_addr, scheme);
    h->target = conf_request_uri(req->path);
    h->host = xstrdup(req->host && *req->host ? req->host : h->authority);
    h->method = xstrdup(req->method && *req->method ? req->method : "GET");
    h->body = req->body && *req->body;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        return xasprintf("unsupported protocol scheme \"%s\"", scheme);
    return check_request(h->method, h->host, h->target, kv);
}

static long remaining(double deadline)
{
    double left = deadline - now_ms();

    return left < 1 ? 1 : (long)left;
}

/* Whether tls has what an https request needs. */
static int tls_complete(const struct conf_tls *tls)
{
    return tls && tls->server_name && *tls->server_name && tls->ca_pem && *tls->ca_pem;
}

/* Why the request cannot be sent with this TLS config; NULL when it can. */
static char *tls_config_error(const char *scheme, const struct conf_tls *tls)
{
    if (strcmp(scheme, "https") != 0)
        return NULL;
    if (!tls_complete(tls))
        return xstrdup("https needs a TLS config with a server name and CA certificates "
                       "(conf_tls server_name and ca_pem)");
    if (!tls->client_cert_pem != !tls->client_key_pem)
        return xstrdup("a TLS client certificate needs its key and a key its certificate");
    return NULL;
}

/* Send the chain of hops from 'first'; the last answer in *r, *last the last hop. NULL or the
 * error. */
static char *send_chain(const struct hop *first, const struct conf_request *req,
                        const struct conf_tls *tls, const struct conf_kvlist *kv, double deadline,
                        struct resp *r, struct hop *last)
{
    struct hop next;
    char *err = NULL;
    int nreq = 0, step = 1;

    while (step == 1) {
        const struct hop *h = nreq ? last : first;

        resp_free(r);
        r->fault = CONF_FAULT_NONE;
        if (perform(h, req, tls, kv, remaining(deadline), r, &err))
            break;
        nreq++;
        step = next_hop(first, h, r, req->unfollow_redirect, &next, &err);
        if (step == 1 && nreq >= MAX_REQUESTS) {
            hop_free(&next);
            err = xstrdup("stopped after 10 redirects");
            break;
        }
        if (step == 1) {
            hop_free(last);
            *last = next;
        }
    }
    return err;
}

int conf_roundtrip_tls(const char *gw_addr, const char *scheme, const struct conf_request *req,
                       const struct conf_tls *tls, long timeout_ms, struct conf_captured *out)
{
    struct conf_kvlist kv = {0};
    struct hop first, last;
    struct resp r;
    double deadline = now_ms() + (double)(timeout_ms > 0 ? timeout_ms : CONF_REQUEST_TIMEOUT_MS);
    static const char *const not_sent[] = {"Host", "Content-Length", "Transfer-Encoding",
                                           "Trailer"};
    char *err = NULL;
    size_t i;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    memset(&last, 0, sizeof(last));
    scheme = scheme ? scheme : "http";
    go_headers(req, &kv);
    err = first_hop(gw_addr, scheme, req, &kv, &first);
    out->url = hop_url(&first);
    for (i = 0; i < ARRAY_SIZE(not_sent); i++)
        kv_del(&kv, not_sent[i]); /* Go writes these from the request itself */
    if (!kv_get(&kv, "User-Agent"))
        kv_set(&kv, "User-Agent", USER_AGENT);
    if (!err && (out->error = tls_config_error(scheme, tls)) == NULL)
        err = send_chain(&first, req, tls_complete(tls) ? tls : NULL, &kv, deadline, &r, &last);
    if (err) {
        out->error = url_error(&first, err);
        out->fault = r.fault;
    } else if (!out->error)
        capture(&first, last.scheme ? &last : &first, &r, out);
    free(err);
    resp_free(&r);
    hop_free(&first);
    hop_free(&last);
    conf_kvlist_release(&kv);
    return out->error ? -1 : 0;
}

int conf_roundtrip(const char *gw_addr, const char *scheme, const struct conf_request *req,
                   long timeout_ms, struct conf_captured *out)
{
    return conf_roundtrip_tls(gw_addr, scheme, req, NULL, timeout_ms, out);
}

/* Small helpers of the Kubernetes client (kube_int.h): bounded file reads,
   base64, PEM sanity checks, RFC 3339 dates. No configuration logic here. */
#include "kube_int.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

int kube_read_file(const char *path, size_t max, char **out, size_t *len)
{
    struct sbuf sb = {0};
    char buf[8192];
    struct stat st;
    ssize_t n;
    int fd, e = 0;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return EISDIR;
    }
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            break;
        }
        if (n == 0)
            break;
        if (sb.len + (size_t)n > max) {
            e = EFBIG;
            break;
        }
        sb_add(&sb, buf, (size_t)n);
    }
    close(fd);
    if (e) {
        sb_release(&sb);
        return e;
    }
    *len = sb.len;
    *out = sb_detach(&sb);
    return 0;
}

char *kube_trim(char *s)
{
    size_t n = strlen(s), i = 0;

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, n - i);
    s[n - i] = '\0';
    return s;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int kube_b64_decode(const char *in, char **out, size_t *len)
{
    struct sbuf sb = {0};
    unsigned long acc = 0;
    int bits = 0, pad = 0;

    for (; *in; in++) {
        int v;

        if (*in == '\n' || *in == '\r' || *in == ' ' || *in == '\t')
            continue;
        if (*in == '=') {
            pad++;
            continue;
        }
        v = b64_value(*in);
        if (v < 0 || pad)
            goto bad; /* a bad character, or data after padding */
        acc = ((acc << 6) | (unsigned long)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            sb_putc(&sb, (char)((acc >> bits) & 0xff));
        }
    }
    /* 6 leftover bits cannot come from whole bytes; more than 2 '=' is wrong */
    if (bits >= 6 || pad > 2)
        goto bad;
    *len = sb.len;
    *out = sb_detach(&sb);
    return 0;
bad:
    sb_release(&sb);
    *out = NULL;
    *len = 0;
    return -1;
}

char *kube_b64_encode(const char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    struct sbuf sb = {0};
    const unsigned char *p = (const unsigned char *)in;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned long v = ((unsigned long)p[i] << 16) | ((unsigned long)p[i + 1] << 8) | p[i + 2];

        sb_putc(&sb, tab[(v >> 18) & 63]);
        sb_putc(&sb, tab[(v >> 12) & 63]);
        sb_putc(&sb, tab[(v >> 6) & 63]);
        sb_putc(&sb, tab[v & 63]);
    }
    if (i < len) {
        unsigned long v = (unsigned long)p[i] << 16;

        if (i + 1 < len)
            v |= (unsigned long)p[i + 1] << 8;
        sb_putc(&sb, tab[(v >> 18) & 63]);
        sb_putc(&sb, tab[(v >> 12) & 63]);
        if (i + 1 < len)
            sb_putc(&sb, tab[(v >> 6) & 63]);
        else
            sb_putc(&sb, '=');
        sb_putc(&sb, '=');
    }
    return sb_detach(&sb);
}

static BIO *mem_bio(const char *pem, size_t len)
{
    if (len > (size_t)0x7fffffff)
        return NULL;
    return BIO_new_mem_buf(pem, (int)len);
}

int kube_pem_check_cert(const char *pem, size_t len)
{
    BIO *bio = mem_bio(pem, len);
    X509 *x;

    if (!bio)
        return -1;
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!x)
        return -1;
    X509_free(x);
    return 0;
}

int kube_pem_check_key(const char *pem, size_t len)
{
    BIO *bio = mem_bio(pem, len);
    EVP_PKEY *k;

    if (!bio)
        return -1;
    k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!k)
        return -1;
    EVP_PKEY_free(k);
    return 0;
}

int kube_pem_check_pair(const char *cert, size_t cert_len, const char *key, size_t key_len)
{
    BIO *cb = mem_bio(cert, cert_len), *kb = mem_bio(key, key_len);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int rc = -1;

    if (x && k && X509_check_private_key(x, k) == 1)
        rc = 0;
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

/* Parse exactly n digits at *s into *v, advancing *s. */
static int digits(const char **s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        *v = *v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    return 0;
}

/* The zone after the seconds: "Z", "+hh:mm", "-hh:mm"; *off in seconds east. */
static int rfc3339_zone(const char *s, long *off)
{
    int hh, mm, sign;

    if ((*s == 'Z' || *s == 'z') && s[1] == '\0') {
        *off = 0;
        return 0;
    }
    if (*s != '+' && *s != '-')
        return -1;
    sign = *s == '-' ? -1 : 1;
    s++;
    if (digits(&s, 2, &hh) || *s++ != ':' || digits(&s, 2, &mm) || *s || hh > 23 || mm > 59)
        return -1;
    *off = sign * (hh * 3600L + mm * 60L);
    return 0;
}

int kube_parse_rfc3339(const char *s, time_t *out)
{
    struct tm tm;
    int y, mo, d, h, mi, sec;
    long off;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
        digits(&s, 2, &d) || (*s != 'T' && *s != 't'))
        return -1;
    s++;
    if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
        digits(&s, 2, &sec))
        return -1;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return -1;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (rfc3339_zone(s, &off) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t - off;
    return 0;
}

/*
 * The serving pair and its hot reload (see include/certstore.h).
 *
 * Epochs: the store keeps a list of epochs, oldest first; the last one is
 * current. An epoch owns one pair (or none, before the first valid pair)
 * and counts the connections accepted while it was current. The handshake
 * of such a connection happens later and gets whatever pair is current
 * then, which is never older than its epoch's. So a retired epoch may be
 * freed once it and every older epoch has no connection left: the list is
 * trimmed from the front while the front epoch's count is zero.
 */
#include "certstore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_PEM_BYTES (1u << 20)
#define MAX_CHAIN     16

struct cred {
    gnutls_pcert_st pcert[MAX_CHAIN];
    unsigned npcert;
    gnutls_privkey_t key;
    struct certs_info info;
};

struct epoch {
    struct cred *cred; /* owned; NULL before the first valid pair */
    unsigned long conns;
    struct epoch *next; /* newer */
};

/* What stat() says about one file; a change in any field means "look again". */
struct filesig {
    int err; /* errno of stat(), 0 when present */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct certstore {
    const char *dir;
    struct metrics *metrics;
    pthread_mutex_t lock; /* guards the epoch list */
    struct epoch *oldest, *current;
    struct filesig seen[2]; /* tls.crt, tls.key at the last load attempt */
    int looked;             /* seen[] is valid */
    /* the watcher */
    pthread_t thread;
    int running;
    int stop;
    unsigned poll_s;
    pthread_mutex_t wlock;
    pthread_cond_t wake;
};

/* The GnuTLS retrieve callback has no closure: it finds the store here. */
static struct certstore *_Atomic active_store;

static void cred_free(struct cred *c)
{
    unsigned i;

    if (!c)
        return;
    for (i = 0; i < c->npcert; i++)
        gnutls_pcert_deinit(&c->pcert[i]);
    gnutls_privkey_deinit(c->key);
    free(c);
}

/* Whole file into a NUL-terminated buffer; caller frees. NULL with err set. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
    struct sbuf sb = {0};
    char buf[8192];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || sb.len + (size_t)n > MAX_PEM_BYTES) {
            snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) : "larger than 1 MiB");
            close(fd);
            sb_release(&sb);
            return NULL;
        }
        sb_add(&sb, buf, (size_t)n);
    }
    close(fd);
    if (!sb.buf)
        sb_puts(&sb, "");
    return sb_detach(&sb);
}

/* certs_check() the pair, then import it for GnuTLS. NULL with err set. */
static struct cred *cred_load(const char *cert, const char *key, char *err, size_t errlen)
{
    struct cred *c = xcalloc(1, sizeof(*c));
    gnutls_datum_t d;
    int rc;

    if (certs_check(cert, key, &c->info, err, errlen) != 0)
        goto fail;
    c->npcert = MAX_CHAIN;
    d.data = (unsigned char *)cert;
    d.size = (unsigned)strlen(cert);
    rc = gnutls_pcert_list_import_x509_raw(c->pcert, &c->npcert, &d, GNUTLS_X509_FMT_PEM,
                                           GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED);
    if (rc < 0) {
        c->npcert = 0;
        snprintf(err, errlen, "tls.crt: %s", gnutls_strerror(rc));
        goto fail;
    }
    d.data = (unsigned char *)key;
    d.size = (unsigned)strlen(key);
    rc = gnutls_privkey_init(&c->key);
    if (rc >= 0)
        rc = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        snprintf(err, errlen, "tls.key: %s", gnutls_strerror(rc));
        goto fail;
    }
    return c;
fail:
    cred_free(c);
    return NULL;
}

/* Free retired epochs from the front while nothing pins them. Lock held. */
static void trim(struct certstore *cs)
{
    while (cs->oldest != cs->current && cs->oldest->conns == 0) {
        struct epoch *e = cs->oldest;

        cs->oldest = e->next;
        cred_free(e->cred);
        free(e);
    }
}

static void swap_in(struct certstore *cs, struct cred *c)
{
    struct epoch *e = xcalloc(1, sizeof(*e));

    e->cred = c;
    pthread_mutex_lock(&cs->lock);
    cs->current->next = e;
    cs->current = e;
    trim(cs);
    pthread_mutex_unlock(&cs->lock);
}

struct certstore *certstore_new(const char *dir, struct metrics *m)
{
    struct certstore *cs = xcalloc(1, sizeof(*cs));
    pthread_condattr_t ca;

    cs->dir = dir;
    cs->metrics = m;
    cs->oldest = cs->current = xcalloc(1, sizeof(*cs->current));
    pthread_mutex_init(&cs->lock, NULL);
    pthread_mutex_init(&cs->wlock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cs->wake, &ca);
    pthread_condattr_destroy(&ca);
    active_store = cs;
    return cs;
}

void certstore_free(struct certstore *cs)
{
    struct epoch *e, *next;

    if (!cs)
        return;
    certstore_watch_stop(cs);
    if (active_store == cs)
        active_store = NULL;
    for (e = cs->oldest; e; e = next) {
        next = e->next;
        cred_free(e->cred);
        free(e);
    }
    pthread_mutex_destroy(&cs->lock);
    pthread_mutex_destroy(&cs->wlock);
    pthread_cond_destroy(&cs->wake);
    free(cs);
}

static void look(const char *path, struct filesig *sig)
{
    struct stat st;

    memset(sig, 0, sizeof(*sig));
    if (stat(path, &st) != 0) {
        sig->err = errno;
        return;
    }
    sig->dev = st.st_dev;
    sig->ino = st.st_ino;
    sig->size = st.st_size;
    sig->mtime = st.st_mtim;
}

static int same_sig(const struct filesig *a, const struct filesig *b)
{
    return a->err == b->err && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void log_loaded(const struct certstore *cs, const struct certs_info *info)
{
    cJSON *f = cJSON_CreateObject();
    char nb[32], na[32];

    fmt_time(info->not_before, nb, sizeof(nb));
    fmt_time(info->not_after, na, sizeof(na));
    cJSON_AddStringToObject(f, "certDir", cs->dir);
    cJSON_AddStringToObject(f, "serial", info->serial);
    cJSON_AddStringToObject(f, "sans", info->sans);
    cJSON_AddStringToObject(f, "notBefore", nb);
    cJSON_AddStringToObject(f, "notAfter", na);
    log_fields(LOGL_INFO, "serving certificate loaded", f);
}

static void log_rejected(const struct certstore *cs, const char *why, int have_old)
{
    cJSON *f = cJSON_CreateObject();

    cJSON_AddStringToObject(f, "certDir", cs->dir);
    cJSON_AddStringToObject(f, "error", why);
    log_fields(LOGL_ERROR,
               have_old ? "serving certificate rejected, keeping the one in use"
                        : "no valid serving certificate yet, not ready",
               f);
}

int certstore_reload(struct certstore *cs)
{
    char *crt_path = xasprintf("%s/tls.crt", cs->dir), *key_path = xasprintf("%s/tls.key", cs->dir);
    char *crt = NULL, *key = NULL, err[512] = "";
    struct filesig now[2];
    struct cred *c = NULL;
    int rc = 0;

    look(crt_path, &now[0]);
    look(key_path, &now[1]);
    if (cs->looked && same_sig(&now[0], &cs->seen[0]) && same_sig(&now[1], &cs->seen[1]))
        goto out;
    cs->seen[0] = now[0];
    cs->seen[1] = now[1];
    cs->looked = 1;
    crt = read_pem(crt_path, err, sizeof(err));
    key = crt ? read_pem(key_path, err, sizeof(err)) : NULL;
    c = key ? cred_load(crt, key, err, sizeof(err)) : NULL;
    if (!c) {
        log_rejected(cs, err, certstore_ready(cs, NULL));
        rc = -1;
    } else {
        log_loaded(cs, &c->info);
        swap_in(cs, c);
        rc = 1;
    }
    if (cs->metrics)
        metrics_cert_reload(cs->metrics, rc > 0, c ? c->info.not_after : 0);
out:
    free(crt_path);
    free(key_path);
    free(crt);
    free(key);
    return rc;
}

int certstore_ready(struct certstore *cs, struct certs_info *info)
{
    int ready;

    pthread_mutex_lock(&cs->lock);
    ready = cs->current->cred != NULL;
    if (ready && info)
        *info = cs->current->cred->info;
    pthread_mutex_unlock(&cs->lock);
    return ready;
}

static void *watch_main(void *arg)
{
    struct certstore *cs = arg;
    struct timespec until;

    pthread_mutex_lock(&cs->wlock);
    while (!cs->stop) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)cs->poll_s;
        while (!cs->stop && pthread_cond_timedwait(&cs->wake, &cs->wlock, &until) != ETIMEDOUT)
            ;
        if (cs->stop)
            break;
        pthread_mutex_unlock(&cs->wlock);
        certstore_reload(cs);
        pthread_mutex_lock(&cs->wlock);
    }
    pthread_mutex_unlock(&cs->wlock);
    return NULL;
}

int certstore_watch_start(struct certstore *cs, unsigned poll_s)
{
    cs->poll_s = poll_s ? poll_s : 1;
    cs->stop = 0;
    if (pthread_create(&cs->thread, NULL, watch_main, cs) != 0)
        return -1;
    cs->running = 1;
    return 0;
}

void certstore_watch_stop(struct certstore *cs)
{
    if (!cs->running)
        return;
    pthread_mutex_lock(&cs->wlock);
    cs->stop = 1;
    pthread_cond_signal(&cs->wake);
    pthread_mutex_unlock(&cs->wlock);
    pthread_join(cs->thread, NULL);
    cs->running = 0;
}

void certstore_notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                                 enum MHD_ConnectionNotificationCode code)
{
    struct certstore *cs = cls;
    struct epoch *e;

    (void)c;
    pthread_mutex_lock(&cs->lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        cs->current->conns++;
        *socket_context = cs->current;
    } else if (*socket_context) {
        e = *socket_context;
        e->conns--;
        *socket_context = NULL;
        trim(cs);
    }
    pthread_mutex_unlock(&cs->lock);
}

int certstore_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                       gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    struct certstore *cs = active_store;
    struct cred *c;

    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    if (!cs)
        return -1;
    pthread_mutex_lock(&cs->lock);
    c = cs->current->cred;
    if (c) {
        *pcert = c->pcert;
        *pcert_length = c->npcert;
        *pkey = c->key;
    }
    pthread_mutex_unlock(&cs->lock);
    return c ? 0 : -1;
}

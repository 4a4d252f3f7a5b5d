/*
 * The serving certificate pair, read from a directory (tls.crt, tls.key: the
 * layout of a mounted kubernetes.io/tls Secret) and swapped while the server
 * runs (spec ecosystem.md §3.3). New TLS handshakes get the newest pair that
 * passed certs_check(); a broken pair on disk is logged and the previous one
 * stays in use.
 *
 * Why a poll and not inotify: the kubelet updates a Secret volume by writing
 * a new timestamped directory and renaming the "..data" symlink over the old
 * one; tls.crt is a symlink through "..data". Watches on the files follow the
 * old inodes and go quiet after the first swap (controller-runtime's
 * certwatcher re-adds them, and still polls every 10 s as a backstop). A
 * stat() of both paths every few seconds follows the symlinks, sees every
 * kind of update (swap, rename, rewrite in place) and costs two syscalls.
 *
 * Lifetime of a pair: GnuTLS keeps pointers to the certificate and key it got
 * from the retrieve callback for as long as the session lives, so a pair
 * replaced on disk cannot be freed at once. Each connection is pinned, when
 * accepted, to the epoch current then; it can only ever be handed that
 * epoch's pair or a newer one. Retired epochs are freed oldest first as soon
 * as no connection pins them or an older epoch (see certstore.c).
 */
#ifndef GC_CERTSTORE_H
#define GC_CERTSTORE_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <time.h>

#include "certs.h"
#include "metrics.h"

struct certstore;

/*
 * A store for dir (not copied: must outlive the store). Reloads are
 * counted in m (may be NULL). At most one store exists at a time: the GnuTLS
 * callback has no closure argument and finds it through a static pointer.
 * Caller frees with certstore_free().
 */
struct certstore *certstore_new(const char *dir, struct metrics *m);
void certstore_free(struct certstore *cs);

/*
 * Look at the files; when they changed since the last look (or on the first
 * call), load and check the pair and swap it in. Logs what happened.
 * Returns 1 when a new pair was swapped in, 0 when nothing changed, -1 when
 * the pair on disk was rejected (the previous pair, if any, stays).
 */
int certstore_reload(struct certstore *cs);

/* Whether a valid pair is loaded; *info (may be NULL) gets the current one. */
int certstore_ready(struct certstore *cs, struct certs_info *info);

/* Poll every poll_s seconds in a thread of its own. 0, or -1 if no thread. */
int certstore_watch_start(struct certstore *cs, unsigned poll_s);
/* Stop and join the watcher (no-op when not started). */
void certstore_watch_stop(struct certstore *cs);

/*
 * For libmicrohttpd: MHD_OPTION_NOTIFY_CONNECTION's callback (cls = the
 * store) pins and unpins connections; certstore_retrieve is the
 * MHD_OPTION_HTTPS_CERT_CALLBACK (gnutls_certificate_retrieve_function2).
 */
void certstore_notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                                 enum MHD_ConnectionNotificationCode code);
int certstore_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                       gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);

#endif

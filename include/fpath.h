/*
 * A field path such as "spec.listeners[2].tls", printed as the API server's
 * field.Path prints it. Built like a stack: remember fpath_len() before
 * descending, fpath_truncate() back after. An empty path prints "<nil>".
 */
#ifndef GC_FPATH_H
#define GC_FPATH_H

#include "util.h"

struct fpath {
    struct sbuf sb;
};

#define FPATH_INIT     \
    {                  \
        {              \
            NULL, 0, 0 \
        }              \
    }

/* Append ".name" (or "name" at the root). */
void fpath_child(struct fpath *p, const char *name);
/* Append "[i]". */
void fpath_index(struct fpath *p, size_t i);
/* Append "[key]" (field.Path.Key). */
void fpath_key(struct fpath *p, const char *key);
size_t fpath_len(const struct fpath *p);
void fpath_truncate(struct fpath *p, size_t len);
/* The printed path; "<nil>" for the root. Valid until the next change. */
const char *fpath_str(const struct fpath *p);
void fpath_release(struct fpath *p);

#endif

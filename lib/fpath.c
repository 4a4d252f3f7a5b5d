/* Field paths in the API server's spelling (k8s.io/apimachinery field.Path). */
#include "fpath.h"

#include <stdio.h>

void fpath_child(struct fpath *p, const char *name)
{
    if (p->sb.len)
        sb_putc(&p->sb, '.');
    sb_puts(&p->sb, name);
}

void fpath_index(struct fpath *p, size_t i)
{
    char buf[24];
    size_t n = sizeof(buf);

    buf[--n] = ']';
    do
        buf[--n] = (char)('0' + i % 10);
    while ((i /= 10) > 0);
    buf[--n] = '[';
    sb_add(&p->sb, buf + n, sizeof(buf) - n); /* no printf: this runs per array element */
}

void fpath_key(struct fpath *p, const char *key)
{
    sb_printf(&p->sb, "[%s]", key);
}

size_t fpath_len(const struct fpath *p)
{
    return p->sb.len;
}

void fpath_truncate(struct fpath *p, size_t len)
{
    sb_truncate(&p->sb, len);
}

const char *fpath_str(const struct fpath *p)
{
    return p->sb.len ? p->sb.buf : "<nil>";
}

void fpath_release(struct fpath *p)
{
    sb_release(&p->sb);
}

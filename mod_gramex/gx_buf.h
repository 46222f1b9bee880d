/* gx_buf: the one growable string buffer of the core (JSON writer, format
 * strings, variable substitution, fetched secrets). Pool-allocated, always
 * NUL-terminated; grows by doubling. */
#ifndef GX_BUF_H
#define GX_BUF_H

#include <apr_pools.h>

typedef struct gx_buf gx_buf;
/* Called with every block the buffer grows into, e.g. to wipe it later. */
typedef void (*gx_buf_grown)(apr_pool_t *p, void *block, apr_size_t size);

struct gx_buf {
    apr_pool_t *p;
    char *data;             /* "" until something is appended */
    apr_size_t len, cap;
    gx_buf_grown grown;     /* may be NULL */
};

void gx_buf_init(gx_buf *b, apr_pool_t *p, apr_size_t size_hint);
void gx_buf_append(gx_buf *b, const char *s, apr_size_t n);
void gx_buf_puts(gx_buf *b, const char *s);

#endif

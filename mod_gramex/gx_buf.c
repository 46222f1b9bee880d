/* gx_buf: see gx_buf.h. */
#include "gx_buf.h"
#include <string.h>

void gx_buf_init(gx_buf *b, apr_pool_t *p, apr_size_t size_hint)
{
    b->p = p;
    b->data = "";
    b->len = 0;
    b->cap = 0;
    b->grown = NULL;
    if (size_hint) {
        b->data = apr_palloc(p, size_hint);
        b->data[0] = '\0';
        b->cap = size_hint;
    }
}

void gx_buf_append(gx_buf *b, const char *s, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 256;
        char *bigger;
        while (b->len + n + 1 > cap)
            cap *= 2;
        bigger = apr_palloc(b->p, cap);
        if (b->grown)
            b->grown(b->p, bigger, cap);
        memcpy(bigger, b->data, b->len);
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void gx_buf_puts(gx_buf *b, const char *s)
{
    gx_buf_append(b, s, strlen(s));
}

/* gx_sec_wipe: see gx_sec_wipe.h */
#include "gx_sec_wipe.h"
#include <string.h>
#include <openssl/crypto.h>

typedef struct {
    void *buf;
    apr_size_t len;
} wipe_span;

static apr_status_t wipe_span_now(void *data)
{
    wipe_span *w = data;
    OPENSSL_cleanse(w->buf, w->len);
    return APR_SUCCESS;
}

void gx_wipe_on_cleanup(apr_pool_t *p, void *buf, apr_size_t len)
{
    wipe_span *w;
    if (!buf || !len)
        return;
    w = apr_palloc(p, sizeof(*w));
    w->buf = buf;
    w->len = len;
    apr_pool_cleanup_register(p, w, wipe_span_now, apr_pool_cleanup_null);
}

void gx_wipe_text(char *s)
{
    if (s)
        OPENSSL_cleanse((char *)s, strlen(s));
}

void gx_wipe_tree(gx_node *n)
{
    int i;
    if (!n || n->type == GX_NULL)
        return;
    if (n->type != GX_BOOL)             /* "true"/"false" are constants */
        gx_wipe_text((char *)n->str);
    gx_wipe_text((char *)n->src);
    if (n->type == GX_INT || n->type == GX_BOOL)
        n->i = 0;
    if (n->type == GX_FLOAT)
        n->f = 0;
    for (i = 0; (n->type == GX_MAP || n->type == GX_LIST) && i < n->n; i++) {
        if (n->type == GX_MAP)
            gx_wipe_tree(n->keys[i]);
        gx_wipe_tree(n->vals[i]);
    }
}

static apr_status_t wipe_tree_now(void *data)
{
    gx_wipe_tree(data);
    return APR_SUCCESS;
}

void gx_wipe_tree_on_cleanup(apr_pool_t *p, gx_node *tree)
{
    if (tree)
        apr_pool_cleanup_register(p, tree, wipe_tree_now, apr_pool_cleanup_null);
}

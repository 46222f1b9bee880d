/* gx_merge: see gx_merge.h */
#include "gx_merge.h"
#include <string.h>
#include <apr_strings.h>

/* A mapping's own key/value arrays, sharing the children. */
static gx_node *gx_node_copy_shallow(apr_pool_t *p, const gx_node *n)
{
    gx_node *c = apr_pmemdup(p, n, sizeof(*n));
    c->index = NULL;        /* lookups scan; handler-default maps are small */
    c->cap = n->n;
    c->keys = n->n ? apr_pmemdup(p, n->keys, n->n * sizeof(*n->keys)) : NULL;
    c->vals = n->n ? apr_pmemdup(p, n->vals, n->n * sizeof(*n->vals)) : NULL;
    return c;
}

static void merge(apr_pool_t *p, gx_node *dst, const gx_node *src, int overwrite, int share)
{
    int i, j;
    if (!dst || !src || dst->type != GX_MAP || src->type != GX_MAP)
        return;
    for (i = 0; i < src->n; i++) {
        gx_node *key = src->keys[i];
        gx_node *sv = src->vals[i];
        j = key->type == GX_STR ? gx_map_find(dst, key->str) : -1;
        if (j < 0 && key->type != GX_STR) {
            for (j = 0; j < dst->n && !gx_key_equal(dst->keys[j], key); j++)
                ;
            if (j == dst->n)
                j = -1;
        }
        if (j < 0) {
            gx_map_append(p, dst, key, share ? sv : gx_node_copy(p, sv));
        }
        else if (dst->vals[j] && sv && dst->vals[j]->type == GX_MAP && sv->type == GX_MAP) {
            if (share)      /* never write into a shared subtree: copy one level */
                dst->vals[j] = gx_node_copy_shallow(p, dst->vals[j]);
            merge(p, dst->vals[j], sv, overwrite, share);
        }
        else if (overwrite) {
            dst->vals[j] = share ? sv : gx_node_copy(p, sv);
        }
    }
}

void gx_merge_setdefault(apr_pool_t *p, gx_node *dst, const gx_node *src)
{
    merge(p, dst, src, 0, 0);
}

void gx_merge_setdefault_shared(apr_pool_t *p, gx_node *dst, const gx_node *src)
{
    merge(p, dst, src, 0, 1);
}

void gx_merge_overwrite(apr_pool_t *p, gx_node *dst, const gx_node *src)
{
    merge(p, dst, src, 1, 0);
}

void gx_merge_overwrite_shared(apr_pool_t *p, gx_node *dst, const gx_node *src)
{
    merge(p, dst, src, 1, 1);
}

/* gx_merge: see gx_merge.h */
#include "gx_merge.h"

static void merge(apr_pool_t *p, gx_node *dst, const gx_node *src, int overwrite)
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
        if (j < 0)
            gx_map_append(p, dst, key, gx_node_copy(p, sv));
        else if (dst->vals[j] && sv && dst->vals[j]->type == GX_MAP && sv->type == GX_MAP)
            merge(p, dst->vals[j], sv, overwrite);
        else if (overwrite)
            dst->vals[j] = gx_node_copy(p, sv);
    }
}

void gx_merge_setdefault(apr_pool_t *p, gx_node *dst, const gx_node *src)
{
    merge(p, dst, src, 0);
}

void gx_merge_overwrite(apr_pool_t *p, gx_node *dst, const gx_node *src)
{
    merge(p, dst, src, 1);
}

/* gx_sec_wipe: secret plaintext is zeroed (OPENSSL_cleanse) before its pool
 * memory is reused, by cleanups registered on the pool that holds it. */
#ifndef GX_SEC_WIPE_H
#define GX_SEC_WIPE_H

#include "gx_node.h"
#include <apr_pools.h>

/* Zero len bytes at buf when p is cleared or destroyed. */
void gx_wipe_on_cleanup(apr_pool_t *p, void *buf, apr_size_t len);
/* Zero a NUL-terminated string (NULL is fine). */
void gx_wipe_text(char *s);
/* Zero every string of a tree (keys, values, source text) now. The text of
 * nulls and booleans is skipped: it is a shared constant, and not secret. */
void gx_wipe_tree(gx_node *tree);
/* gx_wipe_tree(tree) when p is cleared or destroyed. */
void gx_wipe_tree_on_cleanup(apr_pool_t *p, gx_node *tree);

#endif

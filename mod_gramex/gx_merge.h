/* gx_merge: Gramex's two merge modes on gx_node mappings (gramex.config.merge). */
#ifndef GX_MERGE_H
#define GX_MERGE_H

#include "gx_node.h"

/* setdefault (imports, handler defaults): keys absent in dst are copied from
 * src; where both are mappings, merge recursively; otherwise dst keeps its value. */
void gx_merge_setdefault(apr_pool_t *p, gx_node *dst, const gx_node *src);
/* setdefault without copying: dst shares src's subtrees, so neither may be
 * changed afterwards (read-only tables such as a route's effective kwargs). */
void gx_merge_setdefault_shared(apr_pool_t *p, gx_node *dst, const gx_node *src);
/* overwrite (layers): src wins for scalars and lists; mappings merge recursively. */
void gx_merge_overwrite(apr_pool_t *p, gx_node *dst, const gx_node *src);

/* overwrite without copying src's subtrees into dst (src is given up). */
void gx_merge_overwrite_shared(apr_pool_t *p, gx_node *dst, const gx_node *src);

#endif

/* gx_sec_load: an app's secret variables (spec i.1, i.2): .secrets.yaml,
 * SECRETS_IMPORT, SECRETS_URL + SECRETS_KEY, with a cache of the last good
 * remote copy. Secret values never appear in diagnostics, nor URL
 * credentials; plaintext is wiped when its pool goes. */
#ifndef GX_SEC_LOAD_H
#define GX_SEC_LOAD_H

#include "gx_node.h"
#include "gx_diag.h"
#include "gx_sec_fetch.h"
#include <apr_tables.h>
#include <apr_time.h>

/* Variables from `path` (usually <app>/.secrets.yaml): a GX_MAP, empty when
 * the file does not exist; NULL after an error. Every file read or written
 * (imports, cache) is added to never_serve (const char *, allocated from
 * never_serve's pool). The work is done in a subpool whose plaintext is
 * wiped; the result is a copy in p, wiped when p is cleared. */
gx_node *gx_secrets_load(apr_pool_t *p, const char *path, const gx_secrets_opts *o,
                         gx_diags *d, apr_array_header_t *never_serve);

/* Remembers what each SECRETS_URL gave (payload and messages), so that the
 * URL is fetched once per memo: httpd reads its configuration twice at
 * start. Lives in p, which gets no cleanups from it: call
 * gx_secrets_memo_wipe before p goes, to zero and forget what it holds. */
gx_secrets_memo *gx_secrets_memo_make(apr_pool_t *p);
void gx_secrets_memo_wipe(gx_secrets_memo *m);

/* Decode a published blob (gxs1/gxs2 or tornado v1/v2) into a mapping.
 * *signed_only is set for tornado blobs (readable by anyone with the URL).
 * The plaintext and the tree are wiped when p is cleared. */
gx_node *gx_secrets_decode_blob(apr_pool_t *p, const char *key, const char *blob,
                                apr_time_t now, int *signed_only, const char **err);

#endif

/* gx_sec_load: an app's secret variables (spec i.1, i.2): .secrets.yaml,
 * SECRETS_IMPORT, SECRETS_URL + SECRETS_KEY, with a cache of the last good
 * remote copy. Secret values never appear in diagnostics. */
#ifndef GX_SEC_LOAD_H
#define GX_SEC_LOAD_H

#include "gx_node.h"
#include "gx_diag.h"
#include <apr_tables.h>
#include <apr_time.h>

/* Defaults, each a directive (docs/secrets.md). */
#define GX_SECRETS_TIMEOUT_DEFAULT 10           /* seconds, connect + transfer */
#define GX_SECRETS_MAX_BYTES (1024 * 1024)      /* a blob larger than this is refused */

typedef struct {
    int timeout;                /* seconds */
    apr_size_t max_bytes;
    const char *cache;          /* NULL: <secrets dir>/.secrets.cache */
    apr_time_t now;             /* 0: apr_time_now() (tests set it) */
} gx_secrets_opts;

/* Variables from `path` (usually <app>/.secrets.yaml): a GX_MAP, empty when
 * the file does not exist; NULL after an error. Every file read or written
 * (imports, cache) is added to never_serve (const char *). */
gx_node *gx_secrets_load(apr_pool_t *p, const char *path, const gx_secrets_opts *o,
                         gx_diags *d, apr_array_header_t *never_serve);

/* Fetch a URL (http, https, file) into memory, bounded by o. */
char *gx_secrets_fetch(apr_pool_t *p, const char *url, const gx_secrets_opts *o,
                       apr_size_t *len, const char **err);

/* Decode a published blob (gxs1 or tornado v1/v2) into a mapping. *signed_only
 * is set for tornado blobs (readable by anyone with the URL). */
gx_node *gx_secrets_decode_blob(apr_pool_t *p, const char *key, const char *blob,
                                apr_time_t now, int *signed_only, const char **err);

#endif

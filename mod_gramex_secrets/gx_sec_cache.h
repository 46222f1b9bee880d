/* gx_sec_cache: the last good SECRETS_URL payload, kept encrypted under
 * SECRETS_KEY so that a later failed fetch can fall back to it.
 *
 * Written as root during `apachectl -t`: only into a directory owned by
 * root that others cannot write (created 0711 when missing), as a fresh
 * temp file with a random name, created exclusively (never through a
 * planted link) with mode 0600, then renamed over the cache. */
#ifndef GX_SEC_CACHE_H
#define GX_SEC_CACHE_H

#include "gx_node.h"
#include <apr_pools.h>
#include <apr_time.h>

/* The cache file in dir for the SECRETS_URL of secrets_file (an absolute
 * path): dir/<first 32 hex digits of SHA-256(secrets_file)>.secrets.cache,
 * so that apps (and imported files with their own URL) never share one. */
const char *gx_sec_cache_path(apr_pool_t *p, const char *dir, const char *secrets_file);

/* Write json (the payload) encrypted to path. 0 with *why (and the fix) when
 * it was not written. */
int gx_sec_cache_write(apr_pool_t *p, const char *path, const char *key, const char *json,
                       const char **why);

/* The cached payload, or NULL with *why: "there is no cached copy at PATH",
 * or why the copy at PATH cannot be used. */
gx_node *gx_sec_cache_read(apr_pool_t *p, const char *path, const char *key, apr_time_t now,
                           const char **why);

#endif

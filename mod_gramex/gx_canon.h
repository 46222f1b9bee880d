/* gx_canon: the one canonical form of a request path. Both route matching
 * and file mapping use it, so no spelling of a URL can match one route and
 * be served as another (docs/decisions.md, "which path is matched").
 *
 * Modelled on httpd's ap_normalize_path(AP_NORMALIZE_DECODE_UNRESERVED):
 * percent-escapes of unreserved characters decoded, other escapes kept
 * (hex in upper case), '.' and '..' segments resolved (never above '/'),
 * repeated '/' merged. Encoded '/', NUL and backslash in any form are
 * refused, as httpd refuses them with AllowEncodedSlashes Off. */
#ifndef GX_CANON_H
#define GX_CANON_H

#include <apr_pools.h>

typedef enum {
    GX_CANON_OK = 0,
    GX_CANON_BAD_ESCAPE,    /* '%' not followed by two hex digits: 400 */
    GX_CANON_FORBIDDEN,     /* encoded '/', NUL, or a backslash: 404 as httpd answers */
    GX_CANON_NOT_ABSOLUTE   /* does not start with '/' */
} gx_canon_status;

/* raw: the path part of a request target, still percent-encoded (no query).
 * On success *out is the canonical path. */
gx_canon_status gx_canon_path(apr_pool_t *p, const char *raw, apr_size_t len, char **out);

/* A decoded path (httpd's r->uri: after its own decoding and the admin's
 * rewrites) encoded back so that gx_canon_path reads it as the same path:
 * every byte outside unreserved, sub-delims, ':', '@' and '/' becomes %XX. */
char *gx_path_encode(apr_pool_t *p, const char *decoded);

#endif

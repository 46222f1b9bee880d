/* gx_cors: a url's `cors:` settings and the answers they give (spec e.8),
 * with Gramex's [W] fixed: `origins: "*"` answers "*" without credentials,
 * and only explicitly listed origins are echoed (with credentials when
 * cors.auth is set or the request carries cookies). */
#ifndef GX_CORS_H
#define GX_CORS_H

#include "gx_node.h"
#include <apr_tables.h>

typedef struct {
    int any_origin;                 /* origins: "*" */
    apr_array_header_t *origins;    /* lowercased shell patterns, without "*" */
    apr_array_header_t *methods;    /* uppercased patterns; "*" = any */
    apr_array_header_t *headers;    /* lowercased names; "*" = any */
    int auth;
} gx_cors;

typedef struct {
    int refuse;                     /* preflight: answer 400 */
    const char *allow_origin;       /* NULL: send no CORS headers */
    int credentials;
    const char *allow_methods;      /* preflight only */
    const char *allow_headers;      /* preflight only */
} gx_cors_answer;

/* NULL when the url has no (or a false) cors: setting. auth: the url's auth:. */
gx_cors *gx_cors_parse(apr_pool_t *p, const gx_node *cors, const gx_node *auth);
void gx_cors_simple(apr_pool_t *p, const gx_cors *c, const char *origin, int has_cookie,
                    gx_cors_answer *a);
void gx_cors_preflight(apr_pool_t *p, const gx_cors *c, const char *origin,
                       const char *method, const char *req_headers, gx_cors_answer *a);

#endif

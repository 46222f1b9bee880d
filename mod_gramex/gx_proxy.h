/* gx_proxy: what a ProxyHandler url sends upstream (spec g.1), decided once
 * at config time from its kwargs, and applied per request by the glue:
 * the target with captures re-encoded (Gramex inserts them decoded [W]),
 * the query merged the way Gramex merges it, and `request_headers`. */
#ifndef GX_PROXY_H
#define GX_PROXY_H

#include "gx_node.h"
#include <apr_tables.h>

typedef struct {
    const char *name;
    apr_array_header_t *values;     /* const char *, decoded */
} gx_query_param;

typedef struct {
    const char *name;
    const char *value;
} gx_proxy_header;

typedef struct {
    int pass_all;                   /* request_headers: {"*": true} */
    apr_array_header_t *pass;       /* const char *: `Name: true`, copied when present */
    apr_array_header_t *set;        /* gx_proxy_header: `Name: text`, set as written */
    apr_array_header_t *defaults;   /* gx_query_param: `default:` query parameters */
    const char *needs_gramex;       /* why only Gramex can run this url (prepare:,
                                     * modify:, {handler...} templates), or NULL */
    int ws_in_gramex;               /* open:/on_message:/on_close: given: Gramex
                                     * answers upgrades itself (spec g.3) */
} gx_proxy_conf;

/* Never NULL. kwargs: the route's effective kwargs (may be NULL). */
gx_proxy_conf *gx_proxy_conf_make(apr_pool_t *p, const gx_node *kwargs);

/* A decoded capture, percent-encoded so it stays one piece of the target:
 * unreserved characters, '/' and ":@!$'()*,;" are kept; '?', '#', '&',
 * '=', '+', '%', spaces and every other byte become %XX. */
char *gx_proxy_escape(apr_pool_t *p, const char *decoded);

/* kwargs.url formatted with the decoded captures (escaped first). NULL when
 * the template is malformed (Python's str.format would raise). */
char *gx_proxy_target(apr_pool_t *p, const char *tmpl, const char *const *decoded, int n);

/* Gramex's query: `default:` first, then the target's own parameters
 * (blank values dropped, as parse_qs does), then the request's (blanks
 * kept); a later source replaces a name as a whole, in its first place.
 * Re-encoded as urlencode(doseq=True) does. "" when empty. Either query
 * may be NULL. */
char *gx_proxy_query(apr_pool_t *p, const gx_proxy_conf *c, const char *target_query,
                     const char *request_query);

/* Whether a request header may reach a ProxyHandler backend. Everything
 * but credentials goes, as through any reverse proxy; Cookie,
 * Authorization and Proxy-Authorization only when request_headers names
 * them or has "*": true (Gramex forwards no request header by default, so
 * a user's session never reached a third-party target). */
int gx_proxy_forwards(const gx_proxy_conf *c, const char *name);

#endif

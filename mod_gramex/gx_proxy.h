/* gx_proxy: what a ProxyHandler url sends upstream (spec g.1), decided once
 * at config time from its kwargs, and applied per request by the glue:
 * the target with captures re-encoded (Gramex inserts them decoded [W]),
 * the query merged the way Gramex merges it, and `request_headers`. */
#ifndef GX_PROXY_H
#define GX_PROXY_H

#include "gx_node.h"
#include "gx_diag.h"
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

/* kwargs: the route's effective kwargs (may be NULL). NULL after an error
 * in request_headers (a name that is not a token or that mod_proxy owns, a
 * value with a control character), reported to d (if given) with file:line
 * for url `name`. */
gx_proxy_conf *gx_proxy_conf_make(apr_pool_t *p, const gx_node *kwargs, const char *name,
                                  gx_diags *d);

/* Why a request_headers name may not be used, or NULL: it must be an RFC 7230
 * token, and not one that framing or mod_proxy owns (Host, Content-Length,
 * Transfer-Encoding, Connection, Upgrade, TE, Keep-Alive, Proxy-*). */
const char *gx_proxy_header_name_problem(const char *name);
/* Why a header value may not be sent, or NULL: no control character (CR,
 * LF, NUL, ...) but HTAB. */
const char *gx_proxy_header_value_problem(const char *value);

/* An absolute URL split into what Apache config and mod_proxy are given. */
typedef struct {
    const char *scheme;     /* lower case: http, https, ws, wss */
    const char *host;       /* reg-name, IPv4, or [IPv6] with its brackets */
    const char *port;       /* digits, or NULL */
    const char *rest;       /* "" or the path and query, starting with '/' or '?' */
} gx_url;

#define GX_URL_TEMPLATE 1   /* {0} fields and {{ }} allowed after the host */
#define GX_URL_HTTP_ONLY 2  /* http:// and https:// only (GramexUpstream) */

/* NULL when url is scheme://host[:port][/path][?query] (RFC 3986: a
 * reg-name, IPv4 or [IPv6] host, no percent-escapes or {fields} in it, no
 * user:password@, a port from 1 to 65535, a path and query of URI
 * characters with valid %XX, no fragment): such a URL can be written into a
 * quoted httpd config line and a request line as it is. Otherwise the
 * reason, ready for "url 'X' <reason>". out may be NULL. */
const char *gx_url_parse(apr_pool_t *p, const char *url, int flags, gx_url *out);

/* "scheme://host[:port]" */
const char *gx_url_origin(apr_pool_t *p, const gx_url *u);

/* s with control characters, '"' and '\' written as \r, \n, \xNN...:
 * for messages that quote what a user wrote. */
const char *gx_printable(apr_pool_t *p, const char *s);

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

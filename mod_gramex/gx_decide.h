/* gx_decide: the request decision. From the app, the method and the request
 * target it says which url answers, the canonical path, the file (or the
 * refusal), and where a proxy or upstream request goes. No httpd types: the
 * glue applies the decision with Apache's own machinery, and unit tests and
 * `gramex-config match` call the same function. */
#ifndef GX_DECIDE_H
#define GX_DECIDE_H

#include "gx_app.h"
#include <apr_file_info.h>

typedef enum {
    GX_DO_DECLINE,      /* no url of the app matches: Apache maps it as usual */
    GX_DO_FILE,         /* send `file` natively (after httpd's access control) */
    GX_DO_LISTING,      /* directory listing of `file` (index: true) */
    GX_DO_REDIRECT,     /* `status` with Location: `location` */
    GX_DO_PROXY,        /* ProxyHandler: `url` (with `query`) through mod_proxy */
    GX_DO_UPSTREAM,     /* Gramex itself: `url` on GramexUpstream */
    GX_DO_UNAVAILABLE,  /* needs Gramex, and no GramexUpstream is set: 503 */
    GX_DO_REFUSE        /* answer `status`; `reason` is for the log */
} gx_action;

typedef struct {
    const char *method;     /* "GET", ... */
    const char *path;       /* request path, percent-encoded, no query */
    const char *query;      /* after '?', or NULL */
    const char *upstream;   /* GramexUpstream target (URL or balancer://), or NULL */
    int upgrade;            /* Upgrade: websocket was asked for */
    /* Gramex's XSRF check (spec e.6), as far as it can be told without the
     * body: each NULL when the request has no such header */
    const char *requested_with;     /* X-Requested-With */
    const char *fetch_mode;         /* Sec-Fetch-Mode */
    const char *xsrf_token;         /* X-Xsrftoken */
    const char *csrf_token;         /* X-Csrftoken */
    const char *cookie;             /* Cookie (several joined with ',', as Tornado does) */
    const char *content_type;       /* a form body may carry the _xsrf argument */
} gx_request_in;

typedef struct {
    gx_action action;
    int status;                 /* REDIRECT, REFUSE */
    const char *reason;         /* REFUSE, UNAVAILABLE: why, for the log */
    const char *body;           /* REFUSE: Gramex's own answer text, or NULL */
    const char *body_type;      /* its Content-Type */
    int error_page_first;       /* REFUSE: body is Tornado's send_error page, so the url's
                                   error: page for `status` replaces it */
    int before_cors;            /* REFUSE: Gramex refuses before it adds CORS headers */
    int route_index;            /* -1 without a url */
    const gx_route *route;
    const char *path;           /* canonical path (matched, sent upstream) */
    const char *file;           /* FILE: the file; LISTING: the directory */
    const char *root;           /* FILE/LISTING: the route's root it lies in */
    apr_finfo_t finfo;          /* FILE: as stat'ed */
    const char *location;       /* REDIRECT */
    const char *url;            /* PROXY/UPSTREAM: target without the query */
    const char *query;          /* PROXY/UPSTREAM: query to send, or NULL */
    const char *proxy_prefix;   /* PROXY: request path before the first group */
    apr_array_header_t *headers;    /* gx_header (pattern NULL): the url's headers for this file */
    apr_array_header_t *allow;      /* REFUSE 405: the methods the url allows */
} gx_decision;

/* Fills *out; never fails (a malformed target is a REFUSE). */
void gx_decide(apr_pool_t *p, const gx_app *app, const gx_request_in *in, gx_decision *out);

const char *gx_action_name(gx_action a);

/* The decision as JSON, for `gramex-config match` and the status page. */
const char *gx_decision_json(apr_pool_t *p, const gx_decision *d);

#endif

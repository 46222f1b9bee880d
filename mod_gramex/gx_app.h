/* gx_app: the resolved app model. Turns the merged configuration (gx_load)
 * into what a request needs: the url table in Gramex's match order, each
 * entry's handling (file, proxy, redirect, upstream), its effective kwargs,
 * header tables and file rules, and one combined matcher. Built once per
 * config generation; requests only read it. */
#ifndef GX_APP_H
#define GX_APP_H

#include "gx_node.h"
#include "gx_diag.h"
#include "gx_load.h"
#include "gx_router.h"
#include "gx_cors.h"
#include "gx_pathrule.h"
#include "gx_proxy.h"
#include <apr_tables.h>

typedef enum {
    GX_KIND_FILE,       /* FileHandler: served by Apache from disk */
    GX_KIND_PROXY,      /* ProxyHandler: mod_proxy */
    GX_KIND_REDIRECT,   /* tornado.web.RedirectHandler */
    GX_KIND_UPSTREAM,   /* needs Gramex itself: Python handlers, auth:, transforms */
    GX_KIND_BROKEN      /* Gramex would fail its setup: every request answers 500 */
} gx_kind;

/* One response header rule. pattern != NULL: applies only to files matching
 * it (FileHandler per-file headers, spec f.8). value == NULL: remove. */
typedef struct {
    const char *pattern;
    const char *name;
    const char *value;
} gx_header;

typedef enum {
    GX_PATH_FILE,       /* one file for every match */
    GX_PATH_DIR,        /* directory + first capture */
    GX_PATH_STAR,       /* '*' replaced by the first capture */
    GX_PATH_MAP         /* regex -> template (spec f.1 mapping form) */
} gx_path_kind;

typedef struct {
    const char *regex;          /* key, `$` appended */
    void *code;                 /* pcre2_code_8 * */
    const char *target;         /* absolute template with {0} {name} */
    const char *root;           /* directory of the template's literal part: the result
                                   must stay under it */
} gx_path_map_entry;

typedef struct {
    gx_path_kind path_kind;
    const char *path;                   /* absolute (FILE, DIR, STAR) */
    const char *root;                   /* directory no request may leave */
    apr_array_header_t *path_map;       /* gx_path_map_entry (MAP) */
    const char *map_default;            /* `default:` kwarg for MAP templates */
    apr_array_header_t *default_filename;   /* const char * */
    int index;                          /* directory listing */
    const char *index_template;         /* its page ($path, $body), read at config time */
    apr_array_header_t *ignore;         /* const char * patterns */
    apr_array_header_t *allow;
    apr_array_header_t *transforms;     /* patterns whose files need Gramex */
    apr_array_header_t *headers;        /* gx_header, applied in order */
    gx_pathset *ignore_set;             /* the lists above, compiled for requests */
    gx_pathset *allow_set;
    gx_pathset *transform_set;
    const char *refused;                /* set at config time: why this url serves nothing
                                           (its root holds Apache's configuration) */
} gx_file_conf;

typedef struct {
    int status;
    const char *body;               /* file contents read at config time */
    const char *content_type;       /* as Gramex sends it (headers:, else the file's type) */
    apr_array_header_t *headers;    /* gx_header: the page's other headers:, or NULL */
} gx_error_page;

/* Which XSRF check Gramex runs on a url's POST, PUT, DELETE and PATCH
 * (app.settings.xsrf_cookies, spec e.6). */
typedef enum {
    GX_XSRF_OFF,        /* xsrf_cookies off for the app, or `xsrf_cookies: false` */
    GX_XSRF_TORNADO,    /* Tornado's own (RedirectHandler): a token is always needed */
    GX_XSRF_GRAMEX      /* BaseHandler's: AJAX requests (X-Requested-With, Sec-Fetch-Mode:
                           cors) skip it */
} gx_xsrf;

typedef struct {
    const char *name;
    const char *pattern;            /* after substitution, before normalisation */
    const char *regex;              /* what is matched */
    const char *handler;            /* as written, "gramex.handlers." stripped */
    double priority;
    gx_node *kwargs;                /* effective: after handlers.<H> and BaseHandler */
    const char *file;
    int line;
    gx_kind kind;
    const char *upstream_reason;    /* UPSTREAM/BROKEN: why Apache cannot run it */
    apr_array_header_t *methods;    /* const char *, uppercase; NULL = handler default */
    gx_file_conf *fh;               /* FILE only */
    const char *target;             /* PROXY url / REDIRECT url template */
    int permanent;                  /* REDIRECT */
    int websocket;                  /* WebSocketHandler */
    apr_array_header_t *error_pages;    /* gx_error_page */
    int gramex_404_page;                /* error: 404 is a template or function: only
                                           Gramex renders it */
    gx_cors *cors;                      /* NULL without cors: */
    apr_array_header_t *headers;        /* gx_header: PROXY/UPSTREAM response headers */
    const gx_proxy_conf *proxy;         /* ProxyHandler settings, built once */
    gx_xsrf xsrf;
} gx_route;

typedef struct {
    const char *yaml_path;
    const char *run_dir;
    gx_loaded *loaded;
    apr_array_header_t *routes;         /* gx_route *, in match order */
    gx_router *router;
    apr_array_header_t *base_headers;   /* gx_header from handlers.BaseHandler.headers */
    int server_header_off;              /* BaseHandler.headers.Server: false */
    apr_hash_t *protected_files;        /* abs path -> "" : config files, never served */
    apr_hash_t *mime;                   /* ".ext" lowercased -> type, from mime: */
    apr_off_t max_body;                 /* app.listen.max_body_size, else GX_DEFAULT_MAX_BODY */
    int compress;                       /* app.settings.compress_response (default on) */
    int serve_traceback;                /* app.settings.serve_traceback (default on): Tornado's
                                           errors as text/plain tracebacks, not HTML lines */
    int xsrf_cookies;                   /* app.settings.xsrf_cookies (default on) */
    apr_hash_t *py_types;               /* build time: Python's mimetypes tables, strict and */
    apr_hash_t *py_common_types;        /* not, for error pages' types (NULL until needed) */
    apr_hash_t *memo;                   /* build time: node -> table built from it, so routes
                                           sharing handler defaults share their tables */
} gx_app;

/* Upload limit when gramex.yaml sets none (the deploy guide's 100 MB). */
#define GX_DEFAULT_MAX_BODY ((apr_off_t)100 * 1024 * 1024)

typedef struct {
    int has_upstream;       /* GramexUpstream given: no warning per upstream route */
} gx_app_opts;

gx_app *gx_app_build(apr_pool_t *p, gx_loaded *loaded, const char *yaml_path,
                     const char *run_dir, const gx_app_opts *o, gx_diags *d);

/* Render a scalar header value as Gramex does (str(); True/False); NULL for
 * null/false (remove). Sets *bad for floats, lists, maps, control chars. */
const char *gx_header_value(apr_pool_t *p, const gx_node *v, int *bad);

const char *gx_kind_name(gx_kind k);

/* Is abspath one of the app's config files or a file we never serve
 * (dotfiles, gramex*.yaml, .secrets*), whatever allow lists say. */
int gx_app_never_serve(const gx_app *app, const char *root, const char *abspath);

#endif

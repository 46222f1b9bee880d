/* mod_gramex_request: per-request hooks. A request only matches and
 * dispatches: the route table, headers and file rules were resolved at
 * config time (gx_app). */
#include "mod_gramex.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <apr_lib.h>

APLOG_USE_MODULE(gramex);

#define GX_ERROR_BODY_FILTER "GRAMEX_ERROR_BODY"

/* Header rules onto err_headers_out (kept on errors too, as Gramex sends
 * them), in order: a value sets, NULL removes. Rules for some files only
 * (a pattern) are not for every response. `skip`: a header applied
 * elsewhere (Content-Type, in fixups), or NULL. */
static void apply_headers(request_rec *r, const apr_array_header_t *h, const char *skip)
{
    int i;
    for (i = 0; h && i < h->nelts; i++) {
        const gx_header *e = &APR_ARRAY_IDX(h, i, gx_header);
        if (e->pattern || (skip && !strcasecmp(e->name, skip)))
            continue;
        if (e->value)
            apr_table_set(r->err_headers_out, e->name, e->value);
        else
            apr_table_unset(r->err_headers_out, e->name);
    }
}

/* An admin's <Location> with SetHandler (gramex-status, server-status,
 * balancer-manager) wins over the app's routes, as it does over Alias.
 * The walk's result is cached for the request, so core's later walk is cheap. */
static int location_sets_handler(request_rec *r)
{
    core_dir_config *dc;
    if (ap_location_walk(r) != OK)
        return 0;
    dc = ap_get_core_module_config(r->per_dir_config);
    return dc && dc->expr_handler != NULL;
}

/* A handler of ours answers: no file, so no directory walk applies. */
static int answer_with(request_rec *r, const char *handler)
{
    r->handler = handler;
    r->filename = apr_pstrcat(r->pool, "gramex:", r->uri, NULL);
    return OK;
}

static void cors_headers(request_rec *r, const gx_cors_answer *a)
{
    apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    if (!a->allow_origin)
        return;
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", a->allow_origin);
    if (a->credentials)
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Credentials", "true");
    if (a->allow_methods)
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods", a->allow_methods);
    if (a->allow_headers)
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers", a->allow_headers);
}

/* A url's cors: answers OPTIONS preflights itself (as Gramex replaces the
 * handler's OPTIONS) and adds headers to other requests. */
static int cors(request_rec *r, const gx_route *rt)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    gx_cors_answer a;
    if (r->method_number == M_OPTIONS && origin) {
        gx_cors_preflight(r->pool, rt->cors, origin,
                          apr_table_get(r->headers_in, "Access-Control-Request-Method"),
                          apr_table_get(r->headers_in, "Access-Control-Request-Headers"), &a);
        if (a.refuse) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0014) "url %s: CORS preflight "
                          "from %s refused", rt->name, origin);
            return HTTP_BAD_REQUEST;
        }
        cors_headers(r, &a);
        return answer_with(r, GX_HANDLER_PREFLIGHT);
    }
    gx_cors_simple(r->pool, rt->cors, origin, apr_table_get(r->headers_in, "Cookie") != NULL, &a);
    cors_headers(r, &a);
    return DECLINED;
}

/* 405: httpd writes Allow from r->allowed_methods */
static void set_allowed(request_rec *r, const apr_array_header_t *methods)
{
    int i;
    r->allowed_methods->method_mask = 0;
    for (i = 0; methods && i < methods->nelts; i++) {
        int m = ap_method_number_of(APR_ARRAY_IDX(methods, i, const char *));
        if (m != M_INVALID)
            r->allowed_methods->method_mask |= (AP_METHOD_BIT << m);
    }
}

static int refuse(request_rec *r, const gx_decision *d)
{
    const char *name = d->route ? d->route->name : "(none)";
    ap_log_rerror(APLOG_MARK, d->status >= 500 ? APLOG_ERR : APLOG_INFO, 0, r,
                  GX_LOGNO(0020) "url %s: %s: %s", name, d->reason ? d->reason : "refused",
                  d->file ? d->file : r->uri);
    if (d->status == HTTP_METHOD_NOT_ALLOWED)
        set_allowed(r, d->allow);
    return d->status;
}

/* Apply the core's decision with httpd's machinery. */
static int apply(request_rec *r, gx_request *gr)
{
    const gx_decision *d = &gr->d;
    switch (d->action) {
    case GX_DO_FILE:
        /* Content-Type is applied in fixups, after mod_mime, so that the
         * url's own type wins as in Gramex */
        apply_headers(r, d->headers, "Content-Type");
        r->filename = apr_pstrdup(r->pool, d->file);
        r->canonical_filename = r->filename;
        r->finfo = d->finfo;
        return OK;
    case GX_DO_LISTING:
        r->handler = GX_HANDLER_LISTING;
        r->filename = apr_pstrdup(r->pool, d->file);
        return OK;
    case GX_DO_REDIRECT:
        apr_table_setn(r->headers_out, "Location", d->location);
        return d->status;
    case GX_DO_UPSTREAM:
        if (d->file) {
            /* an app file Gramex answers for (a transform, or a missing
             * file whose 404 page Gramex renders): httpd's directory walk
             * and access checks hold for it as for any file; handed over
             * in fixups */
            r->filename = apr_pstrdup(r->pool, d->file);
            r->canonical_filename = r->filename;
            r->finfo = d->finfo;
            return OK;
        }
        return gx_proxy_dispatch(r, gr);
    case GX_DO_PROXY:
        return gx_proxy_dispatch(r, gr);
    case GX_DO_UNAVAILABLE:
        return answer_with(r, GX_HANDLER_UNAVAILABLE);
    default:
        return refuse(r, d);
    }
}

/* The Cookie header as Tornado reads it: several joined with ','. */
static const char *cookie_header(request_rec *r)
{
    const apr_array_header_t *h = apr_table_elts(r->headers_in);
    const char *joined = NULL;
    int i;
    for (i = 0; i < h->nelts; i++) {
        const apr_table_entry_t *e = &APR_ARRAY_IDX(h, i, apr_table_entry_t);
        if (e->key && !strcasecmp(e->key, "Cookie"))
            joined = joined ? apr_pstrcat(r->pool, joined, ",", e->val, NULL) : e->val;
    }
    return joined;
}

/* Decide for `path` (percent-encoded) with the app's urls and apply it.
 * DECLINED: no url of the app answers. */
static int route(request_rec *r, const gx_server_conf *c, const char *path)
{
    const gx_app *app = c->app;
    gx_request_in in;
    gx_request *gr;
    const gx_route *rt;

    in.method = r->method;
    in.path = path;
    in.query = r->args;
    in.upstream = c->upstream_target;
    in.upgrade = gx_is_upgrade(r);
    in.requested_with = apr_table_get(r->headers_in, "X-Requested-With");
    in.fetch_mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    in.xsrf_token = apr_table_get(r->headers_in, "X-Xsrftoken");
    in.csrf_token = apr_table_get(r->headers_in, "X-Csrftoken");
    in.cookie = cookie_header(r);
    in.content_type = apr_table_get(r->headers_in, "Content-Type");
    gr = apr_pcalloc(r->pool, sizeof(*gr));
    gx_decide(r->pool, app, &in, &gr->d);
    if (gr->d.action == GX_DO_DECLINE || (gr->d.route && location_sets_handler(r)))
        return DECLINED;
    if (!gr->d.route)
        return refuse(r, &gr->d);
    rt = gr->route = gr->d.route;
    gr->app = app;
    ap_set_module_config(r->request_config, &gramex_module, gr);
    apr_table_setn(r->notes, "gramex-url", rt->name);

    if (rt->kind != GX_KIND_REDIRECT)       /* not a Gramex handler: no defaults */
        apply_headers(r, app->base_headers, NULL);
    if (rt->cors && !(gr->d.action == GX_DO_REFUSE && gr->d.before_cors)) {
        int status = cors(r, rt);
        if (status != DECLINED)
            return status;
    }
    return apply(r, gr);
}

static int translate(request_rec *r)
{
    gx_server_conf *c = gx_sconf(r->server);
    if (!c || !c->app || !c->app->router || r->proxyreq || !r->uri || r->uri[0] != '/')
        return DECLINED;
    /* r->uri is httpd's decoded path, after the admin's RewriteRules:
     * encoded back, it is what the core canonicalises, matches and maps */
    return route(r, c, gx_path_encode(r->pool, r->uri));
}

static int map_file(request_rec *r, gx_request *gr);

/* A file of the app reached without the app's urls decided for it: a
 * subrequest by file (mod_include's file=, a listing's entries), a server
 * RewriteRule without [PT] (a DocumentRoot-relative result), or an Alias
 * into the app. Where its URL path is known (the subrequest's URI, or the
 * path under the DocumentRoot), the app's urls decide as if it had been
 * asked for; elsewhere it is refused. */
static int unrouted(request_rec *r)
{
    gx_server_conf *c = gx_sconf(r->server);
    const char *docroot = ap_document_root(r), *path = NULL;
    apr_size_t n = strlen(docroot);
    int status;
    if (!r->filename || !gx_in_app_dirs(r))
        return DECLINED;
    while (n && docroot[n - 1] == '/')
        n--;
    if (r->main && r->uri && r->uri[0] == '/')
        path = r->uri;
    else if (strncmp(r->filename, docroot, n) == 0 && r->filename[n] == '/')
        path = r->filename + n;
    if (!path) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GX_LOGNO(0022) "%s is an app file mapped "
                      "outside the DocumentRoot without the app's urls (an Alias into the app?): "
                      "refused. Point the Alias elsewhere, or let the app's urls serve it",
                      r->filename);
        return HTTP_FORBIDDEN;
    }
    status = route(r, c, gx_path_encode(r->pool, path));
    if (status == DECLINED)
        status = HTTP_NOT_FOUND;        /* none of the app's urls serves it */
    if (status != OK || !gx_req(r))
        return status;
    return r->proxyreq ? DECLINED : map_file(r, gx_req(r));
}

/* An app file Gramex answers for, not yet handed over (see apply). */
static int rendered_file(const gx_request *gr, const request_rec *r)
{
    return gr->d.action == GX_DO_UPSTREAM && gr->d.file && !r->proxyreq;
}

static int map_file(request_rec *r, gx_request *gr)
{
    int status;
    if ((gr->d.action == GX_DO_FILE || rendered_file(gr, r)) && !r->handler)
        return DECLINED;
    if (gr->d.action != GX_DO_LISTING)
        return OK;
    if ((status = ap_directory_walk(r)) != OK || (status = ap_file_walk(r)) != OK)
        return status;
    /* the directory is ours to list: mod_dir must not index or redirect it */
    r->finfo.filetype = APR_NOFILE;
    return OK;
}

static int map_to_storage(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (r->proxyreq)
        return DECLINED;        /* proxied: mod_proxy applies <Proxy> sections */
    return gr ? map_file(r, gr) : unrouted(r);
}

/* Gramex's mime: table wins over Apache's for the app's files. */
static int type_checker(request_rec *r)
{
    gx_request *gr = gx_req(r);
    const char *dot, *type;
    char *ext, *e;
    if (!gr || gr->d.action != GX_DO_FILE || !r->filename || r->handler)
        return DECLINED;
    dot = strrchr(r->filename, '.');
    if (!dot || strchr(dot, '/'))
        return DECLINED;
    ext = apr_pstrdup(r->pool, dot);
    for (e = ext; *e; e++)
        *e = apr_tolower(*e);
    type = apr_hash_get(gr->app->mime, ext, APR_HASH_KEY_STRING);
    if (!type)
        return DECLINED;
    ap_set_content_type(r, type);
    return OK;
}

static int is_compressible(const char *type)
{
    return type && (strncmp(type, "text/", 5) == 0 || strstr(type, "javascript")
                    || strstr(type, "json") || strstr(type, "xml") || strstr(type, "svg"));
}

/* mod_deflate sends ETag "x-gzip" but core compares If-None-Match with "x"
 * (httpd bug 45023), so conditional requests of compressed files never got
 * a 304. Compare against the plain ETag instead. */
static void strip_gzip_etag(request_rec *r)
{
    const char *inm = apr_table_get(r->headers_in, "If-None-Match");
    char *copy, *at;
    if (!inm || !strstr(inm, "-gzip\""))
        return;
    copy = apr_pstrdup(r->pool, inm);
    while ((at = strstr(copy, "-gzip\"")))
        memmove(at, at + 5, strlen(at + 5) + 1);
    apr_table_setn(r->headers_in, "If-None-Match", copy);
}

/* The url's own Content-Type for this file, if its headers: give one. */
static const char *url_content_type(const gx_decision *d)
{
    const char *type = NULL;
    int i;
    for (i = 0; d->headers && i < d->headers->nelts; i++) {
        const gx_header *h = &APR_ARRAY_IDX(d->headers, i, gx_header);
        if (!strcasecmp(h->name, "Content-Type"))
            type = h->value;
    }
    return type;
}

static int fixups(request_rec *r)
{
    gx_request *gr = gx_req(r);
    const char *type;
    if (!gr || gr->d.action != GX_DO_FILE || r->handler)
        return DECLINED;
    /* a url's headers: win over mod_mime, as Gramex sets them last */
    if ((type = url_content_type(&gr->d)))
        ap_set_content_type(r, type);
    /* Gramex sends text types as UTF-8; unknown types are octet-stream, not
     * Gramex's text/html (spec f.6 [W]) */
    else if (!r->content_type)
        ap_set_content_type(r, "application/octet-stream");
    else if (strncmp(r->content_type, "text/", 5) == 0 && !ap_strcasestr(r->content_type, "charset"))
        ap_set_content_type(r, apr_pstrcat(r->pool, r->content_type, "; charset=UTF-8", NULL));
    gr->compress = is_compressible(r->content_type);
    if (gr->compress)
        strip_gzip_etag(r);
    return DECLINED;
}

/* A file Gramex answers for goes to it once httpd has checked access to
 * the file: before mod_proxy's fixup, which readies what the proxy handler
 * sends, as for a request proxied from translate_name. */
static int hand_rendered_file(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (!gr || !rendered_file(gr, r) || r->handler)
        return DECLINED;
    return gx_proxy_dispatch(r, gr);
}

/* gzip where Gramex compresses (app.settings.compress_response, default on) */
static void insert_filter(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (gr && gr->compress && gr->app->compress && ap_find_linked_module("mod_deflate.c"))
        ap_add_output_filter("DEFLATE", NULL, r, r->connection);
}

static int unavailable_handler(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (!r->handler || strcmp(r->handler, GX_HANDLER_UNAVAILABLE) != 0 || !gr)
        return DECLINED;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0013)
                  "url %s (%s) needs Gramex: %s; no GramexUpstream is configured",
                  gr->route->name, gr->route->handler, gr->d.reason ? gr->d.reason : "proxy");
    r->status = HTTP_SERVICE_UNAVAILABLE;
    ap_set_content_type(r, "text/plain; charset=UTF-8");
    apr_table_setn(r->headers_out, "Retry-After", "60");
    ap_rprintf(r, "503 Service Unavailable: %s needs a Gramex process behind Apache "
               "(GramexUpstream is not set).\n", gr->route->name);
    return OK;
}

static int preflight_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, GX_HANDLER_PREFLIGHT) != 0 || !gx_req(r))
        return DECLINED;
    ap_set_content_length(r, 0);
    return OK;
}

/* The body of an error httpd answers for one of our urls: Gramex's own
 * text (e.g. Tornado's WebSocket 400), or the url's `error:` page, sent byte
 * for byte with its own type in place of httpd's iso-8859-1 page. */
static const gx_error_page *error_page(const gx_request *gr, int status)
{
    int i;
    const apr_array_header_t *pages = gr->route->error_pages;
    if (gr->route->kind == GX_KIND_REDIRECT)
        return NULL;        /* not a Gramex handler: no error pages */
    for (i = 0; pages && i < pages->nelts; i++)
        if (APR_ARRAY_IDX(pages, i, gx_error_page).status == status)
            return &APR_ARRAY_IDX(pages, i, gx_error_page);
    return NULL;
}

static apr_status_t error_body_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    const gx_error_page *page = f->ctx;
    apr_bucket *b;
    int eos = 0, i;
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b))
        eos |= APR_BUCKET_IS_EOS(b);
    apr_brigade_cleanup(bb);            /* httpd's own error text */
    if (!eos)
        return APR_SUCCESS;
    ap_set_content_type(f->r, page->content_type);
    apr_table_unset(f->r->headers_out, "Content-Length");
    /* the page's headers:, last; httpd's error response already moved the
     * headers set so far into headers_out */
    apply_headers(f->r, page->headers, "Content-Type");
    for (i = 0; page->headers && i < page->headers->nelts; i++)
        if (!APR_ARRAY_IDX(page->headers, i, gx_header).value)
            apr_table_unset(f->r->headers_out, APR_ARRAY_IDX(page->headers, i, gx_header).name);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(page->body, strlen(page->body),
                                                           bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static void insert_error_filter(request_rec *r)
{
    gx_request *gr = gx_req(r);
    const gx_error_page *page = NULL;
    if (!gr || !gr->route)
        return;
    /* the url's error: page wins over Tornado's send_error text, as
     * Gramex's write_error tries it first; not over text Tornado writes
     * itself (the WebSocket 400) */
    if (!gr->d.body || r->status != gr->d.status || gr->d.error_page_first)
        page = error_page(gr, r->status);
    if (!page && gr->d.body && r->status == gr->d.status) {
        gx_error_page *own = apr_pcalloc(r->pool, sizeof(*own));
        own->status = gr->d.status;
        own->body = gr->d.body;
        own->content_type = gr->d.body_type;
        page = own;
    }
    if (page)
        ap_add_output_filter(GX_ERROR_BODY_FILTER, (void *)page, r, r->connection);
}

void gx_register_request_hooks(apr_pool_t *p)
{
    /* The admin's explicit config wins: RewriteRule (its [PT] result is what
     * we match), ProxyPass, Alias, Redirect, ScriptAlias. We beat core. */
    static const char *const before[] = {"mod_rewrite.c", "mod_proxy.c", "mod_alias.c", NULL};
    static const char *const after[] = {"mod_userdir.c", "mod_vhost_alias.c", NULL};
    (void)p;
    ap_register_output_filter(GX_ERROR_BODY_FILTER, error_body_filter, NULL, AP_FTYPE_CONTENT_SET);
    ap_hook_insert_error_filter(insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(translate, before, after, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_type_checker(type_checker, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_fixups(hand_rendered_file, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(unavailable_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(preflight_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(gx_listing_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(gx_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

/* mod_gramex_request: per-request hooks. A request only matches and
 * dispatches: the route table, headers and file rules were resolved at
 * config time (gx_app). */
#include "mod_gramex.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "gx_pattern.h"
#include "gx_format.h"
#include <apr_strings.h>
#include <apr_lib.h>

APLOG_USE_MODULE(gramex);

/* Captured group i (1-based) percent-decoded, or NULL if it did not take
 * part in the match. *bad is set on malformed escapes / invalid UTF-8. */
static const char *capture(request_rec *r, const char *path, const gx_match *m, int i, int *bad)
{
    apr_size_t s = m->ovector[2 * i], e = m->ovector[2 * i + 1];
    const char *v;
    if (i > m->ngroups || s == (apr_size_t)-1)
        return NULL;
    v = gx_capture_decode(r->pool, path + s, e - s);
    if (!v)
        *bad = 1;
    return v;
}

static void apply_headers(apr_table_t *t, const apr_array_header_t *h)
{
    int i;
    for (i = 0; h && i < h->nelts; i++) {
        const gx_header *e = &APR_ARRAY_IDX(h, i, gx_header);
        if (e->pattern)
            continue;
        if (e->value)
            apr_table_set(t, e->name, e->value);
        else
            apr_table_unset(t, e->name);
    }
}

static void set_error_pages(request_rec *r, const gx_route *rt)
{
    int i;
    for (i = 0; rt->error_pages && i < rt->error_pages->nelts; i++) {
        const gx_error_page *e = &APR_ARRAY_IDX(rt->error_pages, i, gx_error_page);
        /* a leading quote tells httpd this is the body, not a URL */
        ap_custom_response(r, e->status, apr_pstrcat(r->pool, "\"", e->body, NULL));
    }
}

static int method_allowed(request_rec *r, const gx_route *rt)
{
    int i;
    if (!rt->methods)
        return 1;
    for (i = 0; i < rt->methods->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(rt->methods, i, const char *), r->method) == 0)
            return 1;
    /* httpd writes Allow on a 405 from r->allowed_methods */
    r->allowed_methods->method_mask = 0;
    for (i = 0; i < rt->methods->nelts; i++) {
        int m = ap_method_number_of(APR_ARRAY_IDX(rt->methods, i, const char *));
        if (m != M_INVALID)
            r->allowed_methods->method_mask |= (AP_METHOD_BIT << m);
    }
    return 0;
}

static int redirect(request_rec *r, const gx_route *rt, const char *path, const gx_match *m)
{
    const char *args[GX_MAX_CAPTURES];
    int i, bad = 0, n = m->ngroups < GX_MAX_CAPTURES ? m->ngroups : GX_MAX_CAPTURES;
    char *target;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    for (i = 0; i < n; i++) {
        args[i] = capture(r, path, m, i + 1, &bad);
        if (!args[i])
            args[i] = "None";       /* Python formats an unmatched group as None */
    }
    if (bad)
        return HTTP_BAD_REQUEST;
    target = gx_format(r->pool, rt->target, args, n, NULL, NULL);
    if (!target) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GX_LOGNO(0010)
                      "url %s: redirect url '%s' is not a valid template", rt->name, rt->target);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (r->args && *r->args)
        target = apr_pstrcat(r->pool, target, strchr(target, '?') ? "&" : "?", r->args, NULL);
    apr_table_setn(r->headers_out, "Location", target);
    return rt->permanent ? HTTP_MOVED_PERMANENTLY : HTTP_MOVED_TEMPORARILY;
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
        r->handler = GX_HANDLER_PREFLIGHT;
        r->filename = apr_pstrcat(r->pool, "gramex:", r->uri, NULL);
        return OK;
    }
    gx_cors_simple(r->pool, rt->cors, origin, apr_table_get(r->headers_in, "Cookie") != NULL, &a);
    cors_headers(r, &a);
    return DECLINED;
}

static int translate(request_rec *r)
{
    gx_server_conf *c = gx_sconf(r->server);
    const gx_app *app = c ? c->app : NULL;
    const char *raw = r->unparsed_uri;
    gx_request *gr;
    gx_match m;
    const gx_route *rt;
    char *path;

    if (!app || !app->router || r->main || r->proxyreq || !raw || raw[0] != '/')
        return DECLINED;
    /* Tornado matches the raw, still-encoded path; we first resolve dot
     * segments (and %2e) so that /x/../admin cannot dodge an admin route
     * and land on a catch-all file route (docs/decisions.md). */
    path = gx_request_path_normalize(r->pool, raw, strcspn(raw, "?#"));
    if (!path)
        return HTTP_BAD_REQUEST;
    if (gx_router_match(app->router, path, strlen(path), r->pool, &m) < 0
        || location_sets_handler(r))
        return DECLINED;
    rt = APR_ARRAY_IDX(app->routes, m.route, const gx_route *);
    gr = apr_pcalloc(r->pool, sizeof(*gr));
    gr->app = app;
    gr->route = rt;
    gr->url_path = path;
    ap_set_module_config(r->request_config, &gramex_module, gr);
    apr_table_setn(r->notes, "gramex-url", rt->name);

    if (rt->kind != GX_KIND_REDIRECT) {       /* not a Gramex handler: no defaults */
        apply_headers(r->err_headers_out, app->base_headers);
        set_error_pages(r, rt);
    }
    if (!method_allowed(r, rt)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, GX_LOGNO(0011)
                      "%s: method %s not in allowed methods", rt->name, r->method);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (rt->cors) {
        int status = cors(r, rt);
        if (status != DECLINED)
            return status;
    }
    switch (rt->kind) {
    case GX_KIND_FILE:
        return gx_serve_file_route(r, gr, &m);
    case GX_KIND_REDIRECT:
        return redirect(r, rt, path, &m);
    case GX_KIND_BROKEN:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GX_LOGNO(0012) "url %s: %s", rt->name,
                      rt->upstream_reason);
        return HTTP_INTERNAL_SERVER_ERROR;
    default:
        /* proxy and upstream routes: never served from disk */
        return gx_proxy_dispatch(r, gr, &m);
    }
}

/* Our requests skip core's directory walk: the path was confined to the
 * route's root, checked for symlinks and allow/ignore, and stat'ed in
 * translate (as mod_proxy does for proxy: URLs). Debian's
 * `<Directory /> Require all denied` therefore needs no grant from the admin. */
static int map_to_storage(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (!gr || !r->filename || r->proxyreq)
        return DECLINED;        /* proxied: mod_proxy applies <Proxy> sections */
    return OK;
}

/* Gramex's mime: table wins over Apache's for the app's files. */
static int type_checker(request_rec *r)
{
    gx_request *gr = gx_req(r);
    const char *dot, *type;
    char *ext, *e;
    if (!gr || gr->route->kind != GX_KIND_FILE || !r->filename || r->handler)
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

static int fixups(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (!gr || gr->route->kind != GX_KIND_FILE || r->handler)
        return DECLINED;
    /* Gramex sends text types as UTF-8; unknown types are octet-stream, not
     * Gramex's text/html (spec f.6 [W]) */
    if (!r->content_type)
        ap_set_content_type(r, "application/octet-stream");
    else if (strncmp(r->content_type, "text/", 5) == 0 && !ap_strcasestr(r->content_type, "charset"))
        ap_set_content_type(r, apr_pstrcat(r->pool, r->content_type, "; charset=UTF-8", NULL));
    gr->compress = is_compressible(r->content_type);
    if (gr->compress)
        strip_gzip_etag(r);
    return DECLINED;
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
                  gr->route->name, gr->route->handler,
                  gr->route->upstream_reason ? gr->route->upstream_reason : "proxy");
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

void gx_register_request_hooks(apr_pool_t *p)
{
    /* Admin-written RewriteRule/ProxyPass still win; we beat Alias and core. */
    static const char *const before[] = {"mod_rewrite.c", "mod_proxy.c", NULL};
    static const char *const after[] = {"mod_alias.c", "mod_userdir.c", "mod_vhost_alias.c", NULL};
    (void)p;
    ap_hook_translate_name(translate, before, after, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_type_checker(type_checker, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(unavailable_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(preflight_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(gx_listing_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(gx_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

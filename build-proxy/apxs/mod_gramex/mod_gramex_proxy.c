/* mod_gramex_proxy: ProxyHandler routes and routes that need Gramex itself,
 * handed to mod_proxy the way mod_rewrite's [P] flag does it (request
 * fields only: no link-time dependency on mod_proxy). Workers with
 * keepalive were defined from generated config (mod_gramex_workers.c). */
#include "mod_gramex.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "gx_pattern.h"
#include "gx_format.h"
#include <apr_strings.h>
#include <apr_lib.h>

APLOG_USE_MODULE(gramex);

#define GX_PROXY_FILTER "GRAMEX_PROXY"
#define GX_WS_ONLY_MESSAGE "Can \"Upgrade\" only to \"WebSocket\"."

static int unavailable(request_rec *r)
{
    r->handler = GX_HANDLER_UNAVAILABLE;
    r->filename = apr_pstrcat(r->pool, "gramex:", r->uri, NULL);
    return OK;
}

static int is_upgrade(request_rec *r)
{
    const char *up = apr_table_get(r->headers_in, "Upgrade");
    return up && ap_cstr_casecmp(up, "websocket") == 0;
}

/* http -> ws, https -> wss: mod_proxy_http tunnels ws:// URLs (its own
 * upgrade support, or mod_proxy_wstunnel's) */
static const char *ws_url(apr_pool_t *p, const char *url)
{
    if (!strncasecmp(url, "http://", 7))
        return apr_pstrcat(p, "ws://", url + 7, NULL);
    if (!strncasecmp(url, "https://", 8))
        return apr_pstrcat(p, "wss://", url + 8, NULL);
    return url;
}

/* Origin must be this host (Tornado's default), or match an `origins:`
 * entry of the route: a host, or a host suffix with a dot boundary (Gramex
 * matches bare suffixes, so evil-example.org passed example.org: spec g.2). */
static int origin_allowed(request_rec *r, const gx_route *rt)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");
    const gx_node *allowed = gx_map_get(rt->kwargs, "origins");
    apr_uri_t u;
    int i;
    if (!origin)
        return 1;       /* not a browser */
    if (apr_uri_parse(r->pool, origin, &u) != APR_SUCCESS || !u.hostname)
        return 0;
    if (host && ap_cstr_casecmp(apr_psprintf(r->pool, "%s%s%s", u.hostname, u.port_str ? ":" : "",
                                             u.port_str ? u.port_str : ""), host) == 0)
        return 1;
    for (i = 0; allowed && i < (allowed->type == GX_LIST ? allowed->n : 1); i++) {
        const gx_node *a = allowed->type == GX_LIST ? allowed->vals[i] : allowed;
        const char *want = a->type == GX_STR ? a->str : NULL;
        apr_size_t hl, wl;
        if (!want)
            continue;
        hl = strlen(u.hostname);
        wl = strlen(want);
        if (!ap_cstr_casecmp(u.hostname, want)
            || (hl > wl && u.hostname[hl - wl - 1] == '.' && !ap_cstr_casecmp(u.hostname + hl - wl, want)))
            return 1;
    }
    return 0;
}

/* ProxyHandler's url: with the captured groups, re-encoded (Gramex inserts
 * them decoded, so /p/a%20b reached the backend as "GET /a b": spec g.1 [W]). */
static const char *proxy_target(request_rec *r, gx_request *gr, const gx_match *m, int *status)
{
    const char *args[GX_MAX_CAPTURES];
    int i, n = m->ngroups < GX_MAX_CAPTURES ? m->ngroups : GX_MAX_CAPTURES;
    char *url, *q;
    for (i = 0; i < n; i++) {
        apr_size_t s = m->ovector[2 * (i + 1)], e = m->ovector[2 * (i + 1) + 1];
        const char *dec;
        if (s == (apr_size_t)-1) {
            args[i] = "";
            continue;
        }
        dec = gx_capture_decode(r->pool, gr->url_path + s, e - s);
        if (!dec) {
            *status = HTTP_BAD_REQUEST;
            return NULL;
        }
        args[i] = ap_os_escape_path(r->pool, dec, 0);
    }
    url = gx_format(r->pool, gr->route->target, args, n, NULL, NULL);
    if (!url) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GX_LOGNO(0030) "url %s: ProxyHandler url '%s' "
                      "is not a valid template", gr->route->name, gr->route->target);
        *status = HTTP_INTERNAL_SERVER_ERROR;
        return NULL;
    }
    /* the target's own query first, then the request's (Gramex merges them) */
    if ((q = strchr(url, '?'))) {
        *q++ = '\0';
        r->args = r->args && *r->args ? apr_pstrcat(r->pool, q, "&", r->args, NULL) : q;
    }
    return url;
}

/* What the deploy guide's proxy checklist asks every backend to receive. */
static void checklist_headers(request_rec *r)
{
    apr_table_setn(r->headers_in, "X-Real-IP", r->useragent_ip);
    apr_table_setn(r->headers_in, "X-Scheme", ap_http_scheme(r));
    apr_table_setn(r->headers_in, "X-Request-URI", r->unparsed_uri);
}

static int hand_to_proxy(request_rec *r, gx_request *gr, const char *url)
{
    if (!ap_find_linked_module("mod_proxy.c")) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GX_LOGNO(0031) "url %s needs mod_proxy; run "
                      "a2enmod proxy_http", gr->route->name);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    checklist_headers(r);
    /* the URL is already encoded (captures re-escaped, the raw request
     * path): mod_proxy must not encode it again, so the query goes on too */
    apr_table_setn(r->notes, "proxy-nocanon", "1");
    if (r->args && *r->args)
        url = apr_pstrcat(r->pool, url, "?", r->args, NULL);
    r->filename = apr_pstrcat(r->pool, "proxy:", url, NULL);
    r->proxyreq = PROXYREQ_REVERSE;
    r->handler = "proxy-server";
    gr->proxy_base = url;
    return OK;
}

int gx_proxy_dispatch(request_rec *r, gx_request *gr, const gx_match *m)
{
    const gx_route *rt = gr->route;
    gx_server_conf *c = gx_sconf(r->server);
    int status = OK, upgrade = is_upgrade(r);
    const char *url;

    /* uploads over the app's limit never reach the backend */
    {
        const char *cl = apr_table_get(r->headers_in, "Content-Length");
        apr_off_t len;
        if (cl && (apr_strtoff(&len, cl, NULL, 10) != APR_SUCCESS || len > gr->app->max_body)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0033) "url %s: upload of %s "
                          "bytes is over the limit of %" APR_OFF_T_FMT " (app.listen.max_body_size)",
                          rt->name, cl, gr->app->max_body);
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }
    if (upgrade && !origin_allowed(r, rt)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0032) "url %s: WebSocket from "
                      "origin %s refused", rt->name, apr_table_get(r->headers_in, "Origin"));
        return HTTP_FORBIDDEN;
    }
    if (rt->kind == GX_KIND_PROXY) {
        url = proxy_target(r, gr, m, &status);
        if (!url)
            return status;
        gr->proxy_prefix = apr_pstrmemdup(r->pool, gr->url_path,
                                          m->ngroups >= 1 && m->ovector[2] != (apr_size_t)-1
                                          ? m->ovector[2] : strlen(gr->url_path));
        return hand_to_proxy(r, gr, upgrade ? ws_url(r->pool, url) : url);
    }
    /* needs Gramex itself */
    if (rt->websocket && !upgrade) {
        r->status = HTTP_BAD_REQUEST;
        ap_custom_response(r, HTTP_BAD_REQUEST, "\"" GX_WS_ONLY_MESSAGE);
        return HTTP_BAD_REQUEST;
    }
    if (!c->upstream_target)
        return unavailable(r);
    /* the path we matched (dot segments resolved), so Gramex routes the
     * request the way we did: /x/../admin cannot reach it as something else */
    url = apr_pstrcat(r->pool, c->upstream_target, gr->url_path, NULL);
    return hand_to_proxy(r, gr, upgrade ? ws_url(r->pool, url) : url);
}

/* Response side: the route's `headers`, Gramex's Server: false, and
 * ProxyPassReverse-style Location rewriting for apps under a sub-path. */
static apr_status_t proxy_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    gx_request *gr = gx_req(r);
    if (gr && gr->route) {
        const gx_route *rt = gr->route;
        const char *loc = apr_table_get(r->headers_out, "Location");
        int i;
        if (loc && rt->kind == GX_KIND_PROXY && gr->proxy_prefix) {
            /* backend base: the target up to its first {group} */
            const char *brace = strchr(rt->target, '{');
            apr_size_t bl = brace ? (apr_size_t)(brace - rt->target) : strlen(rt->target);
            if (bl && strncmp(loc, rt->target, bl) == 0)
                apr_table_setn(r->headers_out, "Location",
                               apr_pstrcat(r->pool, gr->proxy_prefix, loc + bl, NULL));
        }
        if (gr->app->server_header_off)
            apr_table_unset(r->headers_out, "Server");
        for (i = 0; rt->headers && i < rt->headers->nelts; i++) {
            const gx_header *h = &APR_ARRAY_IDX(rt->headers, i, gx_header);
            /* one value, replacing the backend's and the BaseHandler copy */
            apr_table_unset(r->err_headers_out, h->name);
            if (h->value)
                apr_table_set(r->headers_out, h->name, h->value);
            else
                apr_table_unset(r->headers_out, h->name);
        }
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static void insert_proxy_filter(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (gr && gr->proxy_base)
        ap_add_output_filter(GX_PROXY_FILTER, NULL, r, r->connection);
}

void gx_register_proxy_hooks(apr_pool_t *p)
{
    (void)p;
    ap_register_output_filter(GX_PROXY_FILTER, proxy_filter, NULL, AP_FTYPE_CONTENT_SET);
    ap_hook_insert_filter(insert_proxy_filter, NULL, NULL, APR_HOOK_MIDDLE);
}

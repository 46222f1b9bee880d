/* mod_gramex_proxy: ProxyHandler routes and routes that need Gramex itself,
 * handed to mod_proxy the way mod_rewrite's [P] flag does it (request
 * fields only: no link-time dependency on mod_proxy). Workers with
 * keepalive were defined from generated config (mod_gramex_workers.c). */
#include "mod_gramex.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "gx_proxy.h"
#include <apr_strings.h>
#include <apr_lib.h>

APLOG_USE_MODULE(gramex);

#define GX_PROXY_FILTER "GRAMEX_PROXY"
#define GX_BODY_LIMIT_FILTER "GRAMEX_BODY_LIMIT"

int gx_is_upgrade(const request_rec *r)
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

/* request_headers: credentials only when named (Gramex sends no request
 * header unless asked), fixed values set as written. */
static void request_headers(request_rec *r, const gx_proxy_conf *pc)
{
    static const char *const credentials[] = {"Cookie", "Authorization", "Proxy-Authorization",
                                              NULL};
    int i;
    for (i = 0; credentials[i]; i++)
        if (!gx_proxy_forwards(pc, credentials[i]))
            apr_table_unset(r->headers_in, credentials[i]);
    for (i = 0; pc && i < pc->set->nelts; i++) {
        const gx_proxy_header *h = &APR_ARRAY_IDX(pc->set, i, gx_proxy_header);
        apr_table_setn(r->headers_in, h->name, h->value);
    }
}

/* What the deploy guide's proxy checklist asks every backend to receive. */
static void checklist_headers(request_rec *r)
{
    apr_table_setn(r->headers_in, "X-Real-IP", r->useragent_ip);
    apr_table_setn(r->headers_in, "X-Scheme", ap_http_scheme(r));
    apr_table_setn(r->headers_in, "X-Request-URI", r->unparsed_uri);
}

static int hand_to_proxy(request_rec *r, gx_request *gr, const char *url, const char *query)
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
    if (query && *query)
        url = apr_pstrcat(r->pool, url, "?", query, NULL);
    r->filename = apr_pstrcat(r->pool, "proxy:", url, NULL);
    r->proxyreq = PROXYREQ_REVERSE;
    r->handler = "proxy-server";
    gr->proxy_base = url;
    return OK;
}

int gx_proxy_dispatch(request_rec *r, gx_request *gr)
{
    const gx_route *rt = gr->route;
    const gx_decision *d = &gr->d;
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t len;

    /* uploads over the app's limit never reach the backend */
    if (cl && (apr_strtoff(&len, cl, NULL, 10) != APR_SUCCESS || len > gr->app->max_body)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0033) "url %s: upload of %s "
                      "bytes is over the limit of %" APR_OFF_T_FMT " (app.listen.max_body_size)",
                      rt->name, cl, gr->app->max_body);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if (gx_is_upgrade(r) && !origin_allowed(r, rt)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0032) "url %s: WebSocket from "
                      "origin %s refused", rt->name, apr_table_get(r->headers_in, "Origin"));
        return HTTP_FORBIDDEN;
    }
    if (d->action == GX_DO_PROXY)
        request_headers(r, rt->proxy);
    return hand_to_proxy(r, gr, gx_is_upgrade(r) ? ws_url(r->pool, d->url) : d->url, d->query);
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
        if (loc && gr->d.action == GX_DO_PROXY && gr->d.proxy_prefix) {
            /* backend base: the target up to its first {group} */
            const char *brace = strchr(rt->target, '{');
            apr_size_t bl = brace ? (apr_size_t)(brace - rt->target) : strlen(rt->target);
            if (bl && strncmp(loc, rt->target, bl) == 0)
                apr_table_setn(r->headers_out, "Location",
                               apr_pstrcat(r->pool, gr->d.proxy_prefix, loc + bl, NULL));
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

/* Bodies without Content-Length (chunked) are counted as they are read:
 * past app.listen.max_body_size the read fails with APR_ENOSPC, which
 * mod_proxy answers with 413 (it prefetches the first bytes before it
 * connects, so small limits are enforced before the backend is touched). */
static apr_status_t body_limit_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                      ap_input_mode_t mode, apr_read_type_e block,
                                      apr_off_t readbytes)
{
    apr_off_t *left = f->ctx, len = 0;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (rv != APR_SUCCESS || mode != AP_MODE_READBYTES)
        return rv;
    apr_brigade_length(bb, 1, &len);
    if (len > *left) {
        gx_request *gr = gx_req(f->r);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, f->r, GX_LOGNO(0033) "url %s: upload is over "
                      "the limit of %" APR_OFF_T_FMT " bytes (app.listen.max_body_size)",
                      gr ? gr->route->name : "?", gr ? gr->app->max_body : 0);
        apr_brigade_cleanup(bb);
        return APR_ENOSPC;
    }
    *left -= len;
    return APR_SUCCESS;
}

static void insert_proxy_filter(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (!gr || !gr->proxy_base)
        return;
    ap_add_output_filter(GX_PROXY_FILTER, NULL, r, r->connection);
    if (!apr_table_get(r->headers_in, "Content-Length")
        && apr_table_get(r->headers_in, "Transfer-Encoding")) {
        apr_off_t *left = apr_palloc(r->pool, sizeof(*left));
        *left = gr->app->max_body;
        ap_add_input_filter(GX_BODY_LIMIT_FILTER, left, r, r->connection);
    }
}

/* Each ProxyHandler url's rules, once per config generation; urls only
 * Gramex can run are named at startup (they go to GramexUpstream, or 503). */
/* 502/503/504 from mod_proxy name the backend; say which url it was */
static int proxy_log_failure(request_rec *r)
{
    gx_request *gr = gx_req(r);
    if (gr && gr->route && gr->proxy_base && r->status >= 502 && r->status <= 504)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GX_LOGNO(0034) "url %s: backend %s failed "
                      "with %d%s", gr->route->name, gr->proxy_base, r->status,
                      r->status == HTTP_GATEWAY_TIME_OUT ? " (no answer within the timeout)" : "");
    return DECLINED;
}

void gx_register_proxy_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_log_transaction(proxy_log_failure, NULL, NULL, APR_HOOK_MIDDLE);

    ap_register_output_filter(GX_PROXY_FILTER, proxy_filter, NULL, AP_FTYPE_CONTENT_SET);
    ap_register_input_filter(GX_BODY_LIMIT_FILTER, body_limit_filter, NULL, AP_FTYPE_RESOURCE);
    ap_hook_insert_filter(insert_proxy_filter, NULL, NULL, APR_HOOK_MIDDLE);
}

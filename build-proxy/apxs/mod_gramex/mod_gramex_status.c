/* mod_gramex_status: `SetHandler gramex-status` shows the loaded apps,
 * their files, routes and warnings. HTML for people, JSON with ?json.
 * It prints names, patterns and sources, never kwargs values, so secrets
 * cannot leak through it. */
#include "mod_gramex.h"
#include "http_protocol.h"
#include "gx_json.h"
#include <apr_strings.h>

APLOG_USE_MODULE(gramex);

#define GX_HANDLER_STATUS "gramex-status"

static const char *esc(request_rec *r, const char *s)
{
    return ap_escape_html(r->pool, s ? s : "");
}

static void status_json(request_rec *r)
{
    gx_server_conf *c = gx_sconf(r->server);
    const gx_app *app = c->app;
    int i;
    ap_set_content_type(r, "application/json");
    ap_rputs("{\"apps\": [", r);
    if (app) {
        ap_rprintf(r, "{\"yaml\": %s, \"source\": %s, \"files\": [",
                   gx_json_quote(r->pool, app->yaml_path),
                   gx_json_quote(r->pool, c->app_source ? c->app_source : ""));
        for (i = 0; app->loaded->files && i < app->loaded->files->nelts; i++)
            ap_rprintf(r, "%s%s", i ? ", " : "",
                       gx_json_quote(r->pool, APR_ARRAY_IDX(app->loaded->files, i, const char *)));
        ap_rputs("], \"routes\": [", r);
        for (i = 0; i < app->routes->nelts; i++) {
            const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
            ap_rprintf(r, "%s{\"name\": %s, \"regex\": %s, \"handler\": %s, \"apache\": \"%s\", "
                       "\"source\": %s}", i ? ", " : "", gx_json_quote(r->pool, rt->name),
                       gx_json_quote(r->pool, rt->regex), gx_json_quote(r->pool, rt->handler),
                       gx_kind_name(rt->kind),
                       gx_json_quote(r->pool, apr_psprintf(r->pool, "%s:%d",
                                                           rt->file ? rt->file : "", rt->line)));
        }
        ap_rputs("], \"warnings\": [", r);
        for (i = 0; c->diags && i < c->diags->items->nelts; i++) {
            const gx_diag *d = &APR_ARRAY_IDX(c->diags->items, i, gx_diag);
            ap_rprintf(r, "%s%s", i ? ", " : "", gx_json_quote(r->pool, gx_diag_format(r->pool, d)));
        }
        ap_rputs("]}", r);
    }
    ap_rputs("]}\n", r);
}

static void status_html(request_rec *r)
{
    gx_server_conf *c = gx_sconf(r->server);
    const gx_app *app = c->app;
    int i;
    ap_set_content_type(r, "text/html; charset=UTF-8");
    ap_rputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Gramex apps</title>"
             "</head><body>\n<h1>Gramex apps</h1>\n", r);
    if (!app) {
        ap_rputs("<p>No gramex.yaml is loaded for this server.</p></body></html>\n", r);
        return;
    }
    ap_rprintf(r, "<h2>%s</h2>\n<p>%s</p>\n<h3>Files</h3>\n<ul>\n", esc(r, app->yaml_path),
               esc(r, c->app_source));
    for (i = 0; app->loaded->files && i < app->loaded->files->nelts; i++)
        ap_rprintf(r, "<li>%s</li>\n", esc(r, APR_ARRAY_IDX(app->loaded->files, i, const char *)));
    ap_rputs("</ul>\n<h3>Routes, in match order</h3>\n<table>\n<tr><th>#</th><th>name</th>"
             "<th>regex</th><th>handler</th><th>Apache</th><th>source</th></tr>\n", r);
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        ap_rprintf(r, "<tr><td>%d</td><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td>"
                   "<td>%s:%d</td></tr>\n", i + 1, esc(r, rt->name), esc(r, rt->regex),
                   esc(r, rt->handler), gx_kind_name(rt->kind), esc(r, rt->file), rt->line);
    }
    ap_rputs("</table>\n<h3>Warnings</h3>\n<ul>\n", r);
    for (i = 0; c->diags && i < c->diags->items->nelts; i++)
        ap_rprintf(r, "<li>%s</li>\n", esc(r, gx_diag_format(r->pool,
                                                              &APR_ARRAY_IDX(c->diags->items, i, gx_diag))));
    ap_rputs("</ul>\n</body></html>\n", r);
}

int gx_status_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, GX_HANDLER_STATUS) != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    if (r->header_only)
        return OK;
    if (r->args && strstr(r->args, "json"))
        status_json(r);
    else
        status_html(r);
    return OK;
}

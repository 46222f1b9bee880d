/* gx_decide: see gx_decide.h. */
#include "gx_decide.h"
#include "gx_canon.h"
#include "gx_filemap.h"
#include "gx_pattern.h"
#include "gx_format.h"
#include "gx_json.h"
#include "gx_xsrf.h"
#include <apr_strings.h>

/* Tornado's own answers (tornado/websocket.py), sent as it sends them. */
#define GX_WS_ONLY_TEXT "Can \"Upgrade\" only to \"WebSocket\"."
#define GX_TORNADO_TYPE "text/html; charset=UTF-8"

/* Python's repr of a list of method names: ['GET', 'POST'] */
static const char *py_list(apr_pool_t *p, const apr_array_header_t *a)
{
    const char *out = "[";
    int i;
    for (i = 0; a && i < a->nelts; i++)
        out = apr_pstrcat(p, out, i ? ", '" : "'", APR_ARRAY_IDX(a, i, const char *), "'", NULL);
    return apr_pstrcat(p, out, "]", NULL);
}

static void refuse(gx_decision *d, int status, const char *reason)
{
    d->action = GX_DO_REFUSE;
    d->status = status;
    d->reason = reason;
}

/* Tornado's send_error for an HTTPError raised before the handler runs:
 * with app.settings.serve_traceback the traceback as text/plain, of which
 * we send the last line (the error, not the lines naming Gramex's files);
 * without it Tornado's one-line HTML page. `log`: the error's message. */
static void tornado_error(apr_pool_t *p, const gx_app *app, gx_decision *d, const char *phrase,
                          const char *log)
{
    d->error_page_first = 1;
    d->before_cors = 1;
    if (!app->serve_traceback) {
        d->body = apr_psprintf(p, "<html><title>%d: %s</title><body>%d: %s</body></html>",
                               d->status, phrase, d->status, phrase);
        d->body_type = GX_TORNADO_TYPE;
        return;
    }
    d->body = log ? apr_psprintf(p, "tornado.web.HTTPError: HTTP %d: %s (%s)\n", d->status,
                                 phrase, log)
                  : apr_psprintf(p, "tornado.web.HTTPError: HTTP %d: %s\n", d->status, phrase);
    d->body_type = "text/plain";
}

/* Tornado's RequestHandler.SUPPORTED_METHODS: others are refused first */
static int tornado_method(const char *m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "DELETE", "PATCH", "PUT",
                                        "OPTIONS", NULL};
    int i;
    for (i = 0; known[i]; i++)
        if (strcmp(known[i], m) == 0)
            return 1;
    return 0;
}

/* 403 or 405 for a method the url or its handler does not take: Tornado
 * refuses methods it does not know first, then checks XSRF, then Gramex
 * its methods: (naming them), or the handler lacks the method. */
static void refuse_method(apr_pool_t *p, const gx_app *app, const gx_route *rt,
                          const gx_request_in *in, const char *why, int named, gx_decision *d)
{
    const char *xsrf = gx_xsrf_refusal(p, rt->xsrf, in);
    if (xsrf) {
        refuse(d, 403, apr_pstrcat(p, "XSRF check (before the method): ", xsrf, NULL));
        d->before_cors = 1;
        d->error_page_first = 1;
        /* a Gramex handler sends its own 403 page (a template: not ours) */
        if (rt->xsrf == GX_XSRF_TORNADO)
            tornado_error(p, app, d, "Forbidden", xsrf);
        return;
    }
    refuse(d, 405, why);
    d->allow = rt->methods;
    tornado_error(p, app, d, "Method Not Allowed",
                  named && tornado_method(in->method)
                      ? apr_psprintf(p, "%s: method %s not in allowed methods %s", rt->name,
                                     in->method, py_list(p, rt->methods))
                      : NULL);
}

static int method_allowed(apr_pool_t *p, const gx_app *app, const gx_route *rt,
                          const gx_request_in *in, gx_decision *d)
{
    int i;
    if (!rt->methods)
        return 1;
    for (i = 0; i < rt->methods->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(rt->methods, i, const char *), in->method) == 0)
            return 1;
    /* RedirectHandler lacks the method whatever methods: says */
    refuse_method(p, app, rt, in, apr_psprintf(p, "method %s not in the url's methods", in->method),
                  rt->kind != GX_KIND_REDIRECT, d);
    return 0;
}

/* Group i (1-based) percent-decoded; "None" when it did not take part
 * (Python formats an unmatched group so). NULL on a bad escape or UTF-8. */
static const char *capture(apr_pool_t *p, const char *path, const gx_match *m, int i,
                           const char *unset)
{
    apr_size_t s = m->ovector[2 * i], e = m->ovector[2 * i + 1];
    if (i > m->ngroups || s == (apr_size_t)-1)
        return unset;
    return gx_capture_decode(p, path + s, e - s);
}

static void redirect(apr_pool_t *p, const gx_app *app, const gx_route *rt,
                     const gx_request_in *in, const gx_match *m, gx_decision *d)
{
    const char *args[GX_MAX_CAPTURES];
    int i, n = m->ngroups < GX_MAX_CAPTURES ? m->ngroups : GX_MAX_CAPTURES;
    char *target;
    /* Tornado's RedirectHandler has get() only: HEAD too is 405 in Gramex */
    if (strcmp(in->method, "GET") != 0) {
        refuse_method(p, app, rt, in, "RedirectHandler answers GET only", 0, d);
        return;
    }
    for (i = 0; i < n; i++)
        if (!(args[i] = capture(p, d->path, m, i + 1, "None"))) {
            refuse(d, 400, "capture is not valid UTF-8");
            return;
        }
    target = gx_format(p, rt->target, args, n, NULL, NULL);
    if (!target) {
        refuse(d, 500, apr_psprintf(p, "redirect url '%s' is not a valid template", rt->target));
        return;
    }
    if (in->query && *in->query)
        target = apr_pstrcat(p, target, strchr(target, '?') ? "&" : "?", in->query, NULL);
    d->action = GX_DO_REDIRECT;
    d->status = rt->permanent ? 301 : 302;
    d->location = target;
}

/* ProxyHandler's url with the captured groups re-encoded (Gramex inserts
 * them decoded, so /p/a%20b reached the backend as "GET /a b": spec g.1
 * [W]) and the query merged as Gramex merges it. */
static void proxy(apr_pool_t *p, const gx_route *rt, const gx_request_in *in, const gx_match *m,
                  gx_decision *d)
{
    const char *args[GX_MAX_CAPTURES];
    int i, n = m->ngroups < GX_MAX_CAPTURES ? m->ngroups : GX_MAX_CAPTURES;
    char *url, *q;
    for (i = 0; i < n; i++)
        if (!(args[i] = capture(p, d->path, m, i + 1, ""))) {
            refuse(d, 400, "capture is not valid UTF-8");
            return;
        }
    url = gx_proxy_target(p, rt->target, args, n);
    if (!url) {
        refuse(d, 500, apr_psprintf(p, "ProxyHandler url '%s' is not a valid template",
                                    rt->target));
        return;
    }
    if ((q = strchr(url, '?')))
        *q++ = '\0';
    d->action = GX_DO_PROXY;
    d->url = url;
    d->query = gx_proxy_query(p, rt->proxy, q, in->query);
    d->proxy_prefix = apr_pstrmemdup(p, d->path, m->ngroups >= 1 && m->ovector[2] != (apr_size_t)-1
                                                 ? m->ovector[2] : strlen(d->path));
}

/* Gramex runs it: the path we matched (dot segments resolved), so Gramex
 * routes the request the way we did. */
static void upstream(apr_pool_t *p, const gx_request_in *in, const char *why, gx_decision *d)
{
    d->reason = why;
    if (!in->upstream) {
        d->action = GX_DO_UNAVAILABLE;
        return;
    }
    d->action = GX_DO_UPSTREAM;
    d->url = apr_pstrcat(p, in->upstream, d->path, NULL);
    d->query = in->query;
}

static void decide_route(apr_pool_t *p, const gx_app *app, const gx_request_in *in,
                         const gx_match *m, gx_decision *d)
{
    const gx_route *rt = d->route;
    const gx_proxy_conf *pc = rt->proxy;
    if (!method_allowed(p, app, rt, in, d))
        return;
    switch (rt->kind) {
    case GX_KIND_FILE:
        if (gx_filemap(p, app, rt, m, in->query, in->upstream != NULL, d))
            upstream(p, in, d->finfo.filetype ? "the file needs a Gramex transform (template, "
                            "sass, ts, markdown)" : "missing: the url's 404 page needs Gramex", d);
        return;
    case GX_KIND_REDIRECT:
        redirect(p, app, rt, in, m, d);
        return;
    case GX_KIND_BROKEN:
        refuse(d, 500, rt->upstream_reason);
        return;
    case GX_KIND_PROXY:
        /* a ProxyHandler with Python in it (prepare:, modify:, {handler...})
         * or, for upgrades, a local WebSocket (open:, on_message:: spec
         * g.3) is Gramex's to run, at the same path */
        if (pc && !(pc->needs_gramex || (in->upgrade && pc->ws_in_gramex))) {
            proxy(p, rt, in, m, d);
            return;
        }
        upstream(p, in, pc && pc->needs_gramex ? pc->needs_gramex : "WebSocket handled by Gramex", d);
        return;
    default:
        if (rt->websocket && !in->upgrade) {
            refuse(d, 400, "WebSocketHandler asked without Upgrade: websocket");
            d->body = GX_WS_ONLY_TEXT;
            d->body_type = GX_TORNADO_TYPE;
            return;
        }
        upstream(p, in, rt->upstream_reason, d);
        return;
    }
}

void gx_decide(apr_pool_t *p, const gx_app *app, const gx_request_in *in, gx_decision *d)
{
    char *path = NULL;
    gx_match m;
    int route;
    memset(d, 0, sizeof(*d));
    d->route_index = -1;
    d->action = GX_DO_DECLINE;
    if (!app || !app->router || !in->path)
        return;
    switch (gx_canon_path(p, in->path, strlen(in->path), &path)) {
    case GX_CANON_OK:
        break;
    case GX_CANON_NOT_ABSOLUTE:
        return;
    case GX_CANON_BAD_ESCAPE:
        refuse(d, 400, "malformed %-escape in the path");
        return;
    default:
        refuse(d, 404, "encoded '/', NUL or a backslash in the path");
        return;
    }
    d->path = path;
    route = gx_router_match(app->router, path, strlen(path), p, &m);
    if (route == GX_ROUTER_NO_MATCH)
        return;
    d->route_index = route;
    d->route = APR_ARRAY_IDX(app->routes, route, const gx_route *);
    if (m.error) {
        /* never fall through to a later (usually the catch-all) url */
        refuse(d, 500, apr_psprintf(p, "pattern regex failed to run (PCRE2 error %d)", m.error));
        return;
    }
    decide_route(p, app, in, &m, d);
}

const char *gx_action_name(gx_action a)
{
    static const char *const names[] = {"decline", "file", "listing", "redirect", "proxy",
                                        "upstream", "unavailable", "refuse"};
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

static const char *json_or_null(apr_pool_t *p, const char *s)
{
    return s ? gx_json_quote(p, s) : "null";
}

const char *gx_decision_json(apr_pool_t *p, const gx_decision *d)
{
    const char *url = d->url;
    if (url && d->query && *d->query)
        url = apr_pstrcat(p, url, "?", d->query, NULL);
    return apr_psprintf(p, "{\"action\": \"%s\", \"status\": %d, \"url_name\": %s, "
                        "\"handler\": %s, \"path\": %s, \"file\": %s, \"location\": %s, "
                        "\"target\": %s, \"reason\": %s}",
                        gx_action_name(d->action), d->status,
                        json_or_null(p, d->route ? d->route->name : NULL),
                        json_or_null(p, d->route ? d->route->handler : NULL),
                        json_or_null(p, d->path), json_or_null(p, d->file),
                        json_or_null(p, d->location), json_or_null(p, url),
                        json_or_null(p, d->reason));
}

/* mod_gramex_workers: the mod_proxy configuration an app needs, written as
 * Apache config lines (spliced after GramexConfig / GramexUpstream):
 * one pooled worker per backend, so connections are reused (mod_proxy's
 * default worker opens a new connection per request), and a sticky
 * balancer for several Gramex processes. */
#include "mod_gramex.h"
#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_hash.h>

/* The deploy guide's checklist: 300 s for slow Gramex handlers. */
#define GX_PROXY_TIMEOUT 300

static void line(apr_array_header_t *lines, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    APR_ARRAY_PUSH(lines, const char *) = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
}

/* Only URLs that gx_url_parse accepts are written, so no quote, space,
 * '>' or line break from gramex.yaml reaches a config line; a url it
 * refuses gets no worker here and is a config error with file:line when
 * the app is loaded at check_config. */
static const char *origin_of(apr_pool_t *p, const char *url, int flags)
{
    gx_url u;
    if (gx_url_parse(p, url, flags, &u))
        return NULL;
    return gx_url_origin(p, &u);
}

/* Defence in depth for every value inside "...": nothing that could end
 * the quotes or the line. */
static const char *conf_quoted(apr_pool_t *p, const char *s)
{
    const unsigned char *c;
    for (c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\')
            return NULL;
    return apr_pstrcat(p, "\"", s, "\"", NULL);
}

static void worker(apr_array_header_t *lines, apr_pool_t *p, const char *origin)
{
    const char *q = conf_quoted(p, origin);
    if (!q)
        return;
    line(lines, p, "<Proxy %s>", q);
    line(lines, p, "  ProxySet keepalive=On timeout=%d", GX_PROXY_TIMEOUT);
    line(lines, p, "  ProxyPreserveHost On");
    line(lines, p, "</Proxy>");
}

/* The app's ProxyHandler routes, from the model the requests use: no
 * second parse of gramex.yaml, and only routes Apache proxies itself. */
static void proxy_workers(apr_array_header_t *lines, apr_pool_t *p, const gx_app *app)
{
    apr_hash_t *seen = apr_hash_make(p);
    int i;
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        const char *origin;
        if (rt->kind != GX_KIND_PROXY || !rt->target
            || !(origin = origin_of(p, rt->target, GX_URL_TEMPLATE)))
            continue;
        if (apr_hash_get(seen, origin, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, origin, APR_HASH_KEY_STRING, "");
        worker(lines, p, origin);
    }
}

/* What GramexConfig splices while the file is read: the checklist's
 * ProxyTimeout, where a later ProxyTimeout of the admin's still wins. The
 * workers need the loaded app, so they come at check_config. */
apr_array_header_t *gx_config_lines(cmd_parms *cmd)
{
    apr_array_header_t *lines = apr_array_make(cmd->temp_pool, 4, sizeof(const char *));
    line(lines, cmd->temp_pool, "<IfModule proxy_module>");
    line(lines, cmd->temp_pool, "  ProxyTimeout %d", GX_PROXY_TIMEOUT);
    line(lines, cmd->temp_pool, "</IfModule>");
    return lines;
}

/* The app's workers, for its server at check_config. with_timeout: also the
 * ProxyTimeout, for apps no GramexConfig spliced one for. */
apr_array_header_t *gx_app_worker_lines(apr_pool_t *p, const gx_app *app, int with_timeout)
{
    apr_array_header_t *lines = apr_array_make(p, 8, sizeof(const char *));
    line(lines, p, "<IfModule proxy_module>");
    if (with_timeout)
        line(lines, p, "  ProxyTimeout %d", GX_PROXY_TIMEOUT);
    proxy_workers(lines, p, app);
    line(lines, p, "</IfModule>");
    return lines;
}

apr_array_header_t *gx_upstream_lines(cmd_parms *cmd, apr_array_header_t *urls,
                                      const char **target)
{
    apr_pool_t *p = cmd->temp_pool;
    apr_array_header_t *lines = apr_array_make(p, 8, sizeof(const char *));
    const char *where;
    int i;

    if (urls->nelts == 1) {
        *target = APR_ARRAY_IDX(urls, 0, const char *);
        line(lines, p, "<IfModule proxy_module>");
        worker(lines, p, *target);
        line(lines, p, "</IfModule>");
        return lines;
    }
    /* A stable name per directive, so a graceful restart keeps the same
     * balancer (and its shared memory). */
    where = apr_psprintf(p, "%s:%u", cmd->config_file->name, cmd->config_file->line_number);
    *target = apr_psprintf(cmd->pool, "balancer://gramex-%x",
                           apr_hashfunc_default(where, &(apr_ssize_t){APR_HASH_KEY_STRING}));
    line(lines, p, "<Proxy \"%s\">", *target);
    for (i = 0; i < urls->nelts; i++) {
        /* read_upstream checked each URL with gx_url_parse */
        const char *q = conf_quoted(p, APR_ARRAY_IDX(urls, i, const char *));
        /* upgrade=websocket: members are http:// workers, and mod_proxy_http
         * (2.4.47+) forwards an Upgrade only when the worker allows it (ws://
         * URLs imply it; a balancer member never has one) */
        if (q)
            line(lines, p, "  BalancerMember %s route=r%d keepalive=On timeout=%d "
                 "upgrade=websocket", q, i + 1, GX_PROXY_TIMEOUT);
    }
    line(lines, p, "  ProxySet stickysession=ROUTEID lbmethod=byrequests");
    line(lines, p, "  ProxyPreserveHost On");
    line(lines, p, "</Proxy>");
    /* one user stays on one Gramex process: the route cookie */
    line(lines, p, "<IfModule headers_module>");
    line(lines, p, "  Header add Set-Cookie \"ROUTEID=.%%{BALANCER_WORKER_ROUTE}e; path=/\" "
         "env=BALANCER_ROUTE_CHANGED");
    line(lines, p, "</IfModule>");
    return lines;
}

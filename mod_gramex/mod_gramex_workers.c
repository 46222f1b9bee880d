/* mod_gramex_workers: the mod_proxy configuration an app needs, written as
 * Apache config lines (spliced after GramexConfig / GramexUpstream):
 * one pooled worker per backend, so connections are reused (mod_proxy's
 * default worker opens a new connection per request), and a sticky
 * balancer for several Gramex processes. */
#include "mod_gramex.h"
#include "gx_env.h"
#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_hash.h>
#include <apr_env.h>

/* The deploy guide's checklist: 300 s for slow Gramex handlers. */
#define GX_PROXY_TIMEOUT 300

static void line(apr_array_header_t *lines, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    APR_ARRAY_PUSH(lines, const char *) = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
}

static const char *origin_of(apr_pool_t *p, const char *url)
{
    apr_uri_t u;
    char *head = apr_pstrdup(p, url), *brace = strchr(head, '{');
    if (brace)
        *brace = '\0';
    if (apr_uri_parse(p, head, &u) != APR_SUCCESS || !u.scheme || !u.hostname)
        return NULL;
    return apr_psprintf(p, "%s://%s%s%s", u.scheme, u.hostname, u.port_str ? ":" : "",
                        u.port_str ? u.port_str : "");
}

static void worker(apr_array_header_t *lines, apr_pool_t *p, const char *origin)
{
    line(lines, p, "<Proxy \"%s\">", origin);
    line(lines, p, "  ProxySet keepalive=On timeout=%d", GX_PROXY_TIMEOUT);
    line(lines, p, "  ProxyPreserveHost On");
    line(lines, p, "</Proxy>");
}

/* Read the app once here, only to learn its backends; the real load, with
 * every diagnostic, happens at check_config. */
apr_array_header_t *gx_worker_lines(cmd_parms *cmd, const char *yaml_path)
{
    apr_pool_t *p = cmd->temp_pool;
    apr_array_header_t *lines = apr_array_make(p, 8, sizeof(const char *));
    gx_diags *quiet = gx_diags_make(p);
    gx_load_opts lo = {0};
    gx_loaded *loaded;
    gx_app *app;
    apr_hash_t *seen = apr_hash_make(p);
    char *run_dir = ap_make_dirstr_parent(p, yaml_path);
    int i;

    if (apr_env_get((char **)&lo.gramexpath, "GRAMEXPATH", p) != APR_SUCCESS)
        lo.gramexpath = GX_DEFAULT_GRAMEXPATH;
    lo.env = gx_environ();
    lo.run_dir = run_dir;
    loaded = gx_load_app(p, yaml_path, &lo, quiet);
    if (!loaded || quiet->errors)
        return lines;
    app = gx_app_build(p, loaded, yaml_path, run_dir, NULL, quiet);
    line(lines, p, "<IfModule proxy_module>");
    line(lines, p, "  ProxyTimeout %d", GX_PROXY_TIMEOUT);
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        const char *origin;
        if (rt->kind != GX_KIND_PROXY || !(origin = origin_of(p, rt->target)))
            continue;
        if (apr_hash_get(seen, origin, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, origin, APR_HASH_KEY_STRING, "");
        worker(lines, p, origin);
    }
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
    for (i = 0; i < urls->nelts; i++)
        line(lines, p, "  BalancerMember \"%s\" route=r%d keepalive=On timeout=%d",
             APR_ARRAY_IDX(urls, i, const char *), i + 1, GX_PROXY_TIMEOUT);
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

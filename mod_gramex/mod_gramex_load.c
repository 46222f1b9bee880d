/* mod_gramex_load: find and load each server's gramex.yaml at check_config.
 *
 * check_config runs under `apachectl -t` (post_config does not), after every
 * directive of every vhost has been read, so GramexPath and the secrets
 * settings are known whatever their order. A load error fails the config
 * test and the (re)start: nothing half-loaded is served. */
#include "mod_gramex.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "http_core.h"
#include "util_cfgtree.h"
#include "gx_env.h"
#include "gx_secrets_api.h"
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(gramex);

#define GX_APP_FILE "gramex.yaml"

/* The real path of a config file: Debian's sites-enabled/x.conf is a
 * symlink to sites-available/x.conf, where admins put gramex.yaml. */
static const char *real_path(apr_pool_t *p, const char *path)
{
#ifdef _WIN32
    char *buf = _fullpath(NULL, path, 0);
#else
    char *buf = realpath(path, NULL);
#endif
    const char *out;
    if (!buf)
        return NULL;
    out = apr_pstrdup(p, buf);
    free(buf);
    return out;
}

static int is_file(apr_pool_t *p, const char *path)
{
    apr_finfo_t fi;
    return apr_stat(&fi, path, APR_FINFO_TYPE, p) == APR_SUCCESS && fi.filetype == APR_REG;
}

/* gramex.yaml beside conf_file (as named, then beside its real path). */
static const char *yaml_beside(apr_pool_t *p, const char *conf_file)
{
    const char *file, *dir, *yaml;
    if (!conf_file)
        return NULL;
    file = ap_server_root_relative(p, conf_file);
    dir = ap_make_dirstr_parent(p, file);
    yaml = apr_pstrcat(p, dir, GX_APP_FILE, NULL);
    if (is_file(p, yaml))
        return yaml;
    file = real_path(p, file);
    if (!file)
        return NULL;
    yaml = apr_pstrcat(p, ap_make_dirstr_parent(p, file), GX_APP_FILE, NULL);
    return is_file(p, yaml) ? yaml : NULL;
}

static const char *dir_of(apr_pool_t *p, const char *path)
{
    char *d = ap_make_dirstr_parent(p, path);
    apr_size_t n = strlen(d);
    if (n > 1 && d[n - 1] == '/')
        d[n - 1] = '\0';
    return d;
}

/* Proxy routes need mod_proxy_http, and TLS backends mod_ssl: say so now,
 * with the url's file:line, rather than answer 500 later. */
static void check_proxy_modules(const gx_app *app, gx_diags *d)
{
    int i;
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        if (rt->kind != GX_KIND_PROXY)
            continue;
        if (!ap_find_linked_module("mod_proxy.c") || !ap_find_linked_module("mod_proxy_http.c"))
            gx_diag_add(d, GX_ERROR, rt->file, rt->line, "url %s is a ProxyHandler, which needs "
                        "mod_proxy_http; run a2enmod proxy_http", rt->name);
        else if ((!strncasecmp(rt->target, "https:", 6) || !strncasecmp(rt->target, "wss:", 4))
                 && !ap_find_linked_module("mod_ssl.c"))
            gx_diag_add(d, GX_ERROR, rt->file, rt->line, "url %s proxies to %s, which needs "
                        "mod_ssl for TLS to the backend; run a2enmod ssl", rt->name, rt->target);
    }
}

static gx_app *load_app(apr_pool_t *pconf, server_rec *s, gx_server_conf *c, const char *yaml,
                        gx_diags *d)
{
    APR_OPTIONAL_FN_TYPE(gx_secrets_for_app) *secrets_fn = APR_RETRIEVE_OPTIONAL_FN(gx_secrets_for_app);
    gx_load_opts lo = {0};
    gx_app_opts ao = {0};
    apr_array_header_t *never_serve = apr_array_make(pconf, 4, sizeof(const char *));
    gx_loaded *loaded;
    gx_app *app;
    const char *run_dir = dir_of(pconf, yaml);
    int i;

    if (!is_file(pconf, yaml)) {
        gx_diag_add(d, GX_ERROR, yaml, 0, "cannot read the app's gramex.yaml (missing, or not a "
                    "file); fix the path in GramexConfig (%s) or use GramexConfig Off",
                    c->config_where ? c->config_where : "beside the vhost config");
        return NULL;
    }
    lo.gramexpath = c->gramexpath ? c->gramexpath : GX_DEFAULT_GRAMEXPATH;
    lo.run_dir = run_dir;
    lo.env = gx_environ();
    if (secrets_fn) {
        lo.secrets = secrets_fn(pconf, s, yaml, d, never_serve);
        if (d->errors)
            return NULL;
    }
    else if (is_file(pconf, apr_pstrcat(pconf, run_dir, "/.secrets.yaml", NULL))) {
        gx_diag_add(d, GX_WARN, apr_pstrcat(pconf, run_dir, "/.secrets.yaml", NULL), 0,
                    "this app has a .secrets.yaml but mod_gramex_secrets is not loaded, so its "
                    "$VARIABLES are empty; run a2enmod gramex_secrets");
        APR_ARRAY_PUSH(never_serve, const char *) = apr_pstrcat(pconf, run_dir, "/.secrets.yaml", NULL);
    }
    {
        /* parse trees and import intermediates die with tmp; the server
         * keeps only the merged config */
        apr_pool_t *tmp;
        apr_pool_create(&tmp, pconf);
        loaded = gx_load_app(tmp, yaml, &lo, d);
        if (loaded && !d->errors)
            loaded = gx_loaded_clone(pconf, loaded);
        apr_pool_destroy(tmp);
        if (!loaded || d->errors)
            return NULL;
    }
    ao.has_upstream = c->upstreams && c->upstreams->nelts > 0;
    app = gx_app_build(pconf, loaded, yaml, run_dir, &ao, d);
    check_proxy_modules(app, d);
    for (i = 0; i < never_serve->nelts; i++)
        apr_hash_set(app->protected_files, APR_ARRAY_IDX(never_serve, i, const char *),
                     APR_HASH_KEY_STRING, "");
    return d->errors ? NULL : app;
}

static void log_diags(server_rec *s, const gx_diags *d, int levels_from, apr_pool_t *p)
{
    int i;
    for (i = 0; d && i < d->items->nelts; i++) {
        const gx_diag *item = &APR_ARRAY_IDX(d->items, i, gx_diag);
        int lvl = item->level == GX_ERROR ? APLOG_ERR
                : item->level == GX_WARN ? APLOG_WARNING : APLOG_NOTICE;
        if ((int)item->level < levels_from)
            continue;
        ap_log_error(APLOG_MARK, (s ? 0 : APLOG_STARTUP) | lvl, 0, s, "gramex: %s",
                     gx_diag_format(p, item));
    }
}

/* Which gramex.yaml a server uses, and how it was found. */
static const char *choose_yaml(apr_pool_t *p, server_rec *v, const gx_server_conf *c,
                               const char **source)
{
    const char *y;
    if (c->config_own) {
        *source = apr_psprintf(p, "GramexConfig at %s", c->config_where);
        return c->config_off ? NULL : c->config_path;
    }
    y = yaml_beside(p, v->is_virtual ? v->defn_name : (ap_conftree ? ap_conftree->filename : NULL));
    if (y) {
        *source = apr_psprintf(p, "found beside %s", v->is_virtual ? v->defn_name
                               : ap_conftree->filename);
        return real_path(p, y);     /* a link to the app's own gramex.yaml */
    }
    return NULL;
}

int gx_load_all(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *loaded = apr_hash_make(ptemp);
    int failed = 0, testing = ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST;
    gx_server_conf *main_conf = gx_sconf(s);
    server_rec *v;
    (void)plog;

    for (v = s; v; v = v->next) {
        gx_server_conf *c = gx_sconf(v);
        const char *source = NULL, *yaml = choose_yaml(ptemp, v, c, &source), *key;
        gx_server_conf *same;
        c->app = NULL;
        c->diags = NULL;
        if (!yaml) {
            if (v != s && !c->config_own && !c->config_off && main_conf->app) {
                c->app = main_conf->app;     /* inherit the main server's app */
                c->app_source = main_conf->app_source;
            }
            continue;
        }
        key = apr_pstrcat(ptemp, yaml, "|", c->gramexpath ? c->gramexpath : "",
                          "|", c->upstreams ? "u" : "", NULL);
        if ((same = apr_hash_get(loaded, key, APR_HASH_KEY_STRING))) {
            c->app = same->app;
            c->app_source = apr_pstrdup(pconf, source);
            continue;
        }
        c->diags = gx_diags_make(pconf);
        c->app = load_app(pconf, v, c, yaml, c->diags);
        c->app_source = apr_pstrdup(pconf, source);
        /* errors always reach the console; warnings there only under -t
         * (otherwise post_config writes them to the error log) */
        log_diags(NULL, c->diags, testing ? GX_WARN : GX_ERROR, ptemp);
        if (!c->app) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, NULL,
                         "gramex: %s (%s) has errors; the configuration is refused and nothing "
                         "of it is served", yaml, source);
            failed = 1;
        }
        apr_hash_set(loaded, key, APR_HASH_KEY_STRING, c);
    }
    return failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

/* WebSockets each hold a worker thread for their whole life (httpd 2.4's
 * proxy tunnel), so MaxRequestWorkers caps them. Below this many, say so. */
#define GX_WEBSOCKET_CAPACITY_WANTED 1000

static int has_websockets(const gx_app *app)
{
    int i;
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        if (rt->websocket || (rt->kind == GX_KIND_PROXY && rt->target
                              && (!strncasecmp(rt->target, "ws://", 5)
                                  || !strncasecmp(rt->target, "wss://", 6))))
            return 1;
    }
    return 0;
}

static void warn_websocket_capacity(server_rec *s, const gx_app *app)
{
    int daemons = 0, threads = 0;
    if (!has_websockets(app) || ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS)
        return;
    if (threads <= 0)
        threads = 1;                    /* prefork: one request per process */
    if (daemons * threads < GX_WEBSOCKET_CAPACITY_WANTED)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GX_LOGNO(0002) "app %s has WebSocket "
                     "routes, and each open WebSocket holds one of the %d workers "
                     "(MaxRequestWorkers) until it closes, leaving none for plain HTTP once "
                     "they are used up. Raise ServerLimit/ThreadsPerChild/MaxRequestWorkers "
                     "(event MPM) to hold %d WebSockets; see docs/proxy.md",
                     app->yaml_path, daemons * threads, GX_WEBSOCKET_CAPACITY_WANTED);
}

/* Startup summary and warnings into the error log (post_config, real pass). */
void gx_log_apps(apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    for (v = s; v; v = v->next) {
        gx_server_conf *c = gx_sconf(v);
        if (!c->app || !c->diags)
            continue;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, GX_LOGNO(0001) "app %s (%s): %d routes",
                     c->app->yaml_path, c->app_source ? c->app_source : "",
                     c->app->routes->nelts);
        log_diags(v, c->diags, GX_INFO, ptemp);
        warn_websocket_capacity(v, c->app);
    }
}

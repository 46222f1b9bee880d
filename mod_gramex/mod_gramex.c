/* mod_gramex: Apache reads a Gramex app's gramex.yaml.
 *
 * This file holds the module record, the directives and server config.
 * Loading lives in mod_gramex_load.c, request handling in
 * mod_gramex_request.c and mod_gramex_files.c; the logic they call is the
 * httpd-free core (gx_*.c). */
#include "mod_gramex.h"
#include "http_request.h"
#include "ap_config.h"
#include "http_main.h"
#include <apr_strings.h>

gx_server_conf *gx_sconf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &gramex_module);
}

gx_request *gx_req(const request_rec *r)
{
    return ap_get_module_config(r->request_config, &gramex_module);
}

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    gx_server_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)s;
    return c;
}

/* A vhost without its own GramexConfig inherits the main server's app
 * (Apache's usual rule), unless a gramex.yaml sits beside its own config
 * file: that is resolved in gx_load_all, which needs config_own. */
static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    gx_server_conf *base = basev, *add = addv;
    gx_server_conf *c = apr_pcalloc(p, sizeof(*c));
    c->config_own = add->config_own;
    c->config_path = add->config_own ? add->config_path : base->config_path;
    c->config_off = add->config_own ? add->config_off : base->config_off;
    c->config_where = add->config_own ? add->config_where : base->config_where;
    c->gramexpath = add->gramexpath ? add->gramexpath : base->gramexpath;
    c->upstreams = add->upstreams ? add->upstreams : base->upstreams;
    return c;
}

static const char *where(cmd_parms *cmd)
{
    if (cmd->directive && cmd->directive->filename)
        return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                            cmd->directive->line_num);
    return "(command line)";
}

/* Relative paths in our directives are relative to the directory of the
 * config file that holds them, so an app dir can be moved with its conf. */
static const char *relative_to_conf(cmd_parms *cmd, const char *arg)
{
    char *out = NULL;
    const char *base;
    if (cmd->directive && cmd->directive->filename)
        base = ap_make_dirstr_parent(cmd->temp_pool,
                                     ap_server_root_relative(cmd->temp_pool,
                                                             cmd->directive->filename));
    else
        base = ap_server_root;
    if (apr_filepath_merge(&out, base, arg, APR_FILEPATH_NATIVE, cmd->pool) != APR_SUCCESS)
        return NULL;
    return out;
}

static const char *set_config(cmd_parms *cmd, void *dummy, const char *arg)
{
    gx_server_conf *c = gx_sconf(cmd->server);
    (void)dummy;
    c->config_own = 1;
    c->config_where = where(cmd);
    if (strcasecmp(arg, "Off") == 0) {
        c->config_off = 1;
        c->config_path = NULL;
        return NULL;
    }
    c->config_off = 0;
    c->config_path = relative_to_conf(cmd, arg);
    if (!c->config_path)
        return apr_psprintf(cmd->pool, "GramexConfig: '%s' is not a valid path; give the "
                            "path of the app's gramex.yaml, or Off", arg);
    return NULL;
}

static const char *set_gramexpath(cmd_parms *cmd, void *dummy, const char *arg)
{
    gx_server_conf *c = gx_sconf(cmd->server);
    apr_finfo_t fi;
    (void)dummy;
    c->gramexpath = relative_to_conf(cmd, arg);
    if (!c->gramexpath || apr_stat(&fi, c->gramexpath, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_DIR)
        return apr_psprintf(cmd->pool, "GramexPath: '%s' is not a directory; give the directory "
                            "that holds deploy.yaml (installed: %s)", arg, GX_DEFAULT_GRAMEXPATH);
    return NULL;
}

static const char *add_upstream(cmd_parms *cmd, void *dummy, const char *arg)
{
    gx_server_conf *c = gx_sconf(cmd->server);
    apr_uri_t uri;
    (void)dummy;
    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname
        || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https")))
        return apr_psprintf(cmd->pool, "GramexUpstream: '%s' is not an http:// or https:// URL; "
                            "write e.g. GramexUpstream http://127.0.0.1:9988", arg);
    if (!c->upstreams)
        c->upstreams = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(c->upstreams, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const command_rec gramex_cmds[] = {
    AP_INIT_TAKE1("GramexConfig", set_config, NULL, RSRC_CONF,
                  "path of the app's gramex.yaml (relative to this config file), or Off"),
    AP_INIT_TAKE1("GramexPath", set_gramexpath, NULL, RSRC_CONF,
                  "$GRAMEXPATH: directory holding deploy.yaml and the base gramex.yaml"),
    AP_INIT_ITERATE("GramexUpstream", add_upstream, NULL, RSRC_CONF,
                    "URL(s) of the Gramex process(es) that run Python handlers"),
    {NULL}
};

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    return gx_load_all(pconf, plog, ptemp, s);
}

/* `Server: false` in handlers.BaseHandler.headers (deploy.yaml): httpd
 * offers no per-response way to drop its banner on non-proxied responses,
 * so blank it, as ModSecurity's SecServerSignature does. It is global: one
 * app asking for it removes the header for the whole server. Runs after
 * core's REALLY_FIRST hook that builds the banner, every generation. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    (void)pconf; (void)plog;
    gx_log_apps(ptemp, s);
    for (v = s; v; v = v->next) {
        gx_server_conf *c = gx_sconf(v);
        if (c->app && c->app->server_header_off) {
            ((char *)ap_get_server_banner())[0] = '\0';
            break;
        }
    }
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    gx_register_request_hooks(p);
}

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
AP_DECLARE_MODULE(gramex) = {
    STANDARD20_MODULE_STUFF,
    NULL,                   /* per-dir config: none, routes are per server */
    NULL,
    create_server_conf,
    merge_server_conf,
    gramex_cmds,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};

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
    c->upstream_target = add->upstream_target ? add->upstream_target : base->upstream_target;
    c->gramexapps = add->gramexapps ? add->gramexapps : base->gramexapps;
    return c;
}

/* EXEC_ON_READ directives see no cmd->directive: the stream has the place. */
static const char *where(cmd_parms *cmd)
{
    if (cmd->config_file)
        return apr_psprintf(cmd->pool, "%s:%u", cmd->config_file->name,
                            cmd->config_file->line_number);
    return "(command line)";
}

#ifdef _WIN32
/* The GramexPath default: ServerRoot/gramex, read when it is needed, since
 * ServerRoot is only known once httpd.conf is read. */
const char *gx_default_gramexpath(void)
{
    return ap_server_root_relative(ap_pglobal, "gramex");
}
#endif

/* Relative paths in our directives are relative to the directory of the
 * config file that holds them, so an app dir can be moved with its conf. */
static const char *relative_to_conf(cmd_parms *cmd, const char *arg)
{
    char *out = NULL;
    const char *base = ap_server_root, *conf;
    /* absolute names ("/etc/..", "C:/Apache24/conf/..") come back as they are */
    if (cmd->config_file && cmd->config_file->name
        && (conf = ap_server_root_relative(cmd->temp_pool, cmd->config_file->name)))
        base = ap_make_dirstr_parent(cmd->temp_pool, conf);
    if (apr_filepath_merge(&out, base, arg, 0, cmd->pool) != APR_SUCCESS)   /* gx_path.h form */
        return NULL;
    return out;
}

static const char *quoted(apr_pool_t *p, const char *s)
{
    return apr_pstrcat(p, "\"", ap_escape_quotes(p, s), "\"", NULL);
}

/* GramexConfig runs while the file is read (EXEC_ON_READ), so that the
 * checklist's ProxyTimeout lands in the same <VirtualHost> where a later
 * line can still override it. It hands the path on to GramexConfigFile,
 * which runs in the right server's context. The app is loaded once, at
 * check_config, which also defines its mod_proxy workers. */
static const char *read_config(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_array_header_t *lines;
    const char *path;
    (void)dummy;
    if (strcasecmp(arg, "Off") == 0) {
        lines = apr_array_make(cmd->temp_pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(cmd->temp_pool, "GramexConfigFile Off ",
                                                          quoted(cmd->temp_pool, where(cmd)), NULL);
        gx_splice_config(cmd, apr_psprintf(cmd->pool, "GramexConfig at %s", where(cmd)), lines);
        return NULL;
    }
    path = relative_to_conf(cmd, arg);
    if (!path)
        return apr_psprintf(cmd->pool, "GramexConfig: '%s' is not a valid path; give the "
                            "path of the app's gramex.yaml, or Off", arg);
    lines = gx_config_lines(cmd);
    APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(cmd->temp_pool, "GramexConfigFile ",
                                                      quoted(cmd->temp_pool, path), " ",
                                                      quoted(cmd->temp_pool, where(cmd)), NULL);
    gx_splice_config(cmd, apr_psprintf(cmd->pool, "GramexConfig at %s", where(cmd)), lines);
    return NULL;
}

static const char *set_config_file(cmd_parms *cmd, void *dummy, const char *path,
                                   const char *at)
{
    gx_server_conf *c = gx_sconf(cmd->server);
    (void)dummy;
    c->config_own = 1;
    c->config_where = apr_pstrdup(cmd->pool, at);
    c->config_off = strcasecmp(path, "Off") == 0;
    c->config_path = c->config_off ? NULL : apr_pstrdup(cmd->pool, path);
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

/* GramexApps DIR: $GRAMEXAPPS, Gramex's bundled apps (the gramex package's
 * apps/). Without it, gx_load finds one (GRAMEXAPPS, then site-packages). */
static const char *set_gramexapps(cmd_parms *cmd, void *dummy, const char *arg)
{
    gx_server_conf *c = gx_sconf(cmd->server);
    apr_finfo_t fi;
    (void)dummy;
    c->gramexapps = relative_to_conf(cmd, arg);
    if (!c->gramexapps || apr_stat(&fi, c->gramexapps, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_DIR)
        return apr_psprintf(cmd->pool, "GramexApps: '%s' is not a directory; give the apps/ "
                            "directory of the gramex Python package (python3 -c \"import "
                            "gramex, os; print(os.path.dirname(gramex.__file__))\" shows where "
                            "it is), e.g. /usr/local/lib/python3.11/dist-packages/gramex/apps",
                            arg);
    return NULL;
}

/* GramexUpstream URL...: checked and turned into a worker or a sticky
 * balancer while the file is read; GramexUpstreamTarget records it. */
static const char *read_upstream(cmd_parms *cmd, void *dummy, const char *args)
{
    apr_array_header_t *urls = apr_array_make(cmd->temp_pool, 2, sizeof(const char *));
    apr_array_header_t *lines;
    const char *target = NULL, *word;
    char *cmdline;
    int i;
    (void)dummy;
    while (*(word = ap_getword_conf(cmd->temp_pool, &args))) {
        /* written into <Proxy> and BalancerMember lines: only safe URLs */
        const char *why = gx_url_parse(cmd->temp_pool, word, GX_URL_HTTP_ONLY, NULL);
        if (why)
            return apr_psprintf(cmd->pool, "GramexUpstream: '%s' %s; write e.g. GramexUpstream "
                                "http://127.0.0.1:9988", gx_printable(cmd->temp_pool, word), why);
        APR_ARRAY_PUSH(urls, const char *) = word;
    }
    if (!urls->nelts)
        return "GramexUpstream needs at least one URL, e.g. http://127.0.0.1:9988";
    if (!ap_find_linked_module("mod_proxy.c") || !ap_find_linked_module("mod_proxy_http.c"))
        return "GramexUpstream needs mod_proxy and mod_proxy_http loaded before it; run "
               "a2enmod proxy_http";
    if (urls->nelts > 1 && (!ap_find_linked_module("mod_proxy_balancer.c")
                            || !ap_find_linked_module("mod_lbmethod_byrequests.c")))
        return "GramexUpstream with several URLs needs mod_proxy_balancer and "
               "mod_lbmethod_byrequests loaded before it; run a2enmod proxy_balancer "
               "lbmethod_byrequests";
    lines = gx_upstream_lines(cmd, urls, &target);
    cmdline = apr_pstrcat(cmd->temp_pool, "GramexUpstreamTarget ", quoted(cmd->temp_pool, target),
                          NULL);
    for (i = 0; i < urls->nelts; i++)
        cmdline = apr_pstrcat(cmd->temp_pool, cmdline, " ",
                              quoted(cmd->temp_pool, APR_ARRAY_IDX(urls, i, const char *)), NULL);
    APR_ARRAY_PUSH(lines, const char *) = cmdline;
    gx_splice_config(cmd, apr_psprintf(cmd->pool, "GramexUpstream at %s", where(cmd)), lines);
    return NULL;
}

static const char *set_upstream_target(cmd_parms *cmd, void *dummy, int argc,
                                       char *const argv[])
{
    gx_server_conf *c = gx_sconf(cmd->server);
    int i;
    (void)dummy;
    if (argc < 2)
        return "GramexUpstreamTarget is written by GramexUpstream; use that instead";
    c->upstream_target = apr_pstrdup(cmd->pool, argv[0]);
    c->upstreams = apr_array_make(cmd->pool, argc - 1, sizeof(const char *));
    for (i = 1; i < argc; i++)
        APR_ARRAY_PUSH(c->upstreams, const char *) = apr_pstrdup(cmd->pool, argv[i]);
    return NULL;
}

static const char *set_watch(cmd_parms *cmd, void *dummy, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    (void)dummy;
    if (err)
        return err;
    gx_sconf(cmd->server)->watch = on;
    return NULL;
}

static const command_rec gramex_cmds[] = {
    AP_INIT_FLAG("GramexWatch", set_watch, NULL, RSRC_CONF,
                 "On: test the config and restart gracefully when an app's config files change"),
    AP_INIT_TAKE1("GramexConfig", read_config, NULL, RSRC_CONF | EXEC_ON_READ,
                  "path of the app's gramex.yaml (relative to this config file), or Off"),
    AP_INIT_TAKE2("GramexConfigFile", set_config_file, NULL, RSRC_CONF,
                  "written by GramexConfig: the resolved path and where it was given"),
    AP_INIT_TAKE1("GramexPath", set_gramexpath, NULL, RSRC_CONF,
                  "$GRAMEXPATH: directory holding deploy.yaml and the base gramex.yaml"),
    AP_INIT_TAKE1("GramexApps", set_gramexapps, NULL, RSRC_CONF,
                  "$GRAMEXAPPS: Gramex's bundled apps, the gramex package's apps/ directory"),
    AP_INIT_RAW_ARGS("GramexUpstream", read_upstream, NULL, RSRC_CONF | EXEC_ON_READ,
                     "URL(s) of the Gramex process(es) that run Python handlers"),
    AP_INIT_TAKE_ARGV("GramexUpstreamTarget", set_upstream_target, NULL, RSRC_CONF,
                      "written by GramexUpstream: proxy target and the upstream URLs"),
    {NULL}
};

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int status = gx_load_all(pconf, plog, ptemp, s);
    return status == OK ? gx_access_setup(pconf, ptemp, s) : status;
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
    gx_watch_start(pconf, s);
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
    gx_register_proxy_hooks(p);
    gx_register_status_hooks(p);
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
    register_hooks,
    AP_MODULE_FLAG_NONE
};

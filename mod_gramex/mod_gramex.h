/* mod_gramex glue: shared between the module's httpd-facing files.
 * The core (gx_*) never includes this. */
#ifndef MOD_GRAMEX_H
#define MOD_GRAMEX_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "gx_app.h"
#include "gx_decide.h"
#include "gx_canon.h"

#ifndef GX_DEFAULT_GRAMEXPATH
#ifdef _WIN32   /* no /usr/share on Windows: ServerRoot/gramex (docs/windows.md) */
const char *gx_default_gramexpath(void);
#define GX_DEFAULT_GRAMEXPATH gx_default_gramexpath()
#else
#define GX_DEFAULT_GRAMEXPATH "/usr/share/apache2/gramex"
#endif
#endif

/* Our own log tags (docs/log-tags.md): never httpd's AH numbers. */
#define GX_LOGNO(n) "GX" #n ": "

/* Handler names set by translate_name for responses we generate. */
#define GX_HANDLER_UNAVAILABLE "gramex-unavailable"
#define GX_HANDLER_LISTING "gramex-listing"
#define GX_HANDLER_PREFLIGHT "gramex-preflight"

typedef struct {
    const char *config_path;    /* absolute gramex.yaml, or NULL */
    int config_off;             /* GramexConfig Off */
    int config_own;             /* set in this server's own section (not inherited) */
    const char *config_where;   /* "file:line" of the directive, for messages */
    const char *gramexpath;     /* GramexPath, NULL = default */
    apr_array_header_t *upstreams;  /* const char * URLs */
    const char *upstream_target;    /* URL or balancer:// that upstream routes go to */
    gx_app *app;                /* loaded at check_config, pconf lifetime */
    gx_diags *diags;            /* what loading it reported */
    const char *app_source;     /* how the app was found, for the startup log */
    const char *gramexapps;     /* GramexApps ($GRAMEXAPPS), NULL = find it */
    /* mod_gramex_load.c: discovery and reload state, for the log and status page */
    const char *looked_for;     /* where an app was looked for (when none was found) */
    const char *vhost_name;     /* "name:port (file:line)" */
    apr_time_t loaded_at;       /* when c->app was loaded (an older generation if kept) */
    const char *reload_error;   /* the last restart's load failed: first error; the app
                                   served is the last good one (or none: closed) */
    const char *secrets_file;   /* the app's .secrets.yaml (may not exist) */
    gx_diags *found_diags;      /* main server: discovery warnings (ambiguous, dangling) */
    int watch;                  /* GramexWatch On (main server) */
    apr_array_header_t *app_dirs;   /* '/'-terminated: the app's directories and url roots,
                                       whose files only the app's urls may serve */
} gx_server_conf;

/* Per-request state, from translate_name to the handler: the core's
 * decision and what the glue derived from it. */
typedef struct {
    const gx_app *app;
    const gx_route *route;
    gx_decision d;
    int compress;           /* gzip candidate */
    const char *proxy_base;     /* PROXY/UPSTREAM: the URL handed to mod_proxy */
} gx_request;

extern module AP_MODULE_DECLARE_DATA gramex_module;

gx_server_conf *gx_sconf(const server_rec *s);
gx_request *gx_req(const request_rec *r);

/* mod_gramex_splice.c: parse generated lines right after the current directive */
void gx_splice_config(cmd_parms *cmd, const char *name, apr_array_header_t *lines);
/* ... or, after the config is read (check_config), process them for server s.
 * Returns NULL or the error. */
const char *gx_process_config_lines(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                    const char *name, const apr_array_header_t *lines);

/* mod_gramex_workers.c: mod_proxy workers for an app's backends, as config lines */
apr_array_header_t *gx_config_lines(cmd_parms *cmd);
apr_array_header_t *gx_app_worker_lines(apr_pool_t *p, const gx_app *app, int with_timeout);
apr_array_header_t *gx_upstream_lines(cmd_parms *cmd, apr_array_header_t *urls,
                                      const char **target);

/* mod_gramex_load.c: load every server's app at check_config */
int gx_load_all(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void gx_log_apps(apr_pool_t *ptemp, server_rec *s);

/* mod_gramex_access.c: grants for the apps' directories, Apache's config never served */
int gx_access_setup(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
/* r->filename lies in one of the server's app directories */
int gx_in_app_dirs(const request_rec *r);

/* mod_gramex_watch.c: GramexWatch's watcher process, started each generation */
void gx_watch_start(apr_pool_t *pconf, server_rec *s);

/* mod_gramex_request.c: request hooks */
void gx_register_request_hooks(apr_pool_t *p);

/* mod_gramex_files.c: FileHandler directory listings (index: true) */
int gx_listing_handler(request_rec *r);

/* mod_gramex_status.c: SetHandler gramex-status */
int gx_status_handler(request_rec *r);
void gx_register_status_hooks(apr_pool_t *p);

/* mod_gramex_proxy.c: PROXY and UPSTREAM decisions -> mod_proxy. */
int gx_proxy_dispatch(request_rec *r, gx_request *gr);
/* Upgrade: websocket asked for */
int gx_is_upgrade(const request_rec *r);
void gx_register_proxy_hooks(apr_pool_t *p);

#endif

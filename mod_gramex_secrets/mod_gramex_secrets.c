/* mod_gramex_secrets: secret variables for mod_gramex (.secrets.yaml,
 * SECRETS_IMPORT, SECRETS_URL + SECRETS_KEY), provided through the APR
 * optional function gx_secrets_get, as plain versioned data
 * (gx_secrets_abi.h). The logic is gx_sec_*.c. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "http_core.h"
#include "gx_secrets_api.h"
#include "gx_sec_load.h"
#include "gx_sec_wipe.h"
#include "gx_sec_cache.h"
#include <apr_strings.h>
#include <curl/curl.h>

typedef struct {
    const char *path;       /* GramexSecrets: file, NULL = beside gramex.yaml */
    int off;
    int timeout;            /* 0 = unset */
    const char *cache;      /* GramexSecretsCache: one file for every SECRETS_URL */
    const char *cache_dir;  /* GramexSecretsCacheDir, NULL = the default (cache_dir()) */
    const char *ca_file;    /* GramexSecretsCAFile */
} sec_conf;

extern module AP_MODULE_DECLARE_DATA gramex_secrets_module;

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(sec_conf));
}

static void *merge_conf(apr_pool_t *p, void *basev, void *addv)
{
    sec_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->path = add->path || add->off ? add->path : base->path;
    c->off = add->path || add->off ? add->off : base->off;
    c->timeout = add->timeout ? add->timeout : base->timeout;
    c->cache = add->cache ? add->cache : base->cache;
    c->cache_dir = add->cache_dir ? add->cache_dir : base->cache_dir;
    c->ca_file = add->ca_file ? add->ca_file : base->ca_file;
    return c;
}

static const char *conf_relative(cmd_parms *cmd, const char *arg)
{
    char *out = NULL;
    const char *base = cmd->directive && cmd->directive->filename
        ? ap_make_dirstr_parent(cmd->temp_pool, ap_server_root_relative(cmd->temp_pool,
                                                                        cmd->directive->filename))
        : ap_server_root;
    return apr_filepath_merge(&out, base, arg, APR_FILEPATH_NATIVE, cmd->pool) == APR_SUCCESS
           ? out : NULL;
}

static const char *set_secrets(cmd_parms *cmd, void *dummy, const char *arg)
{
    sec_conf *c = ap_get_module_config(cmd->server->module_config, &gramex_secrets_module);
    (void)dummy;
    c->off = !strcasecmp(arg, "Off");
    c->path = c->off ? NULL : conf_relative(cmd, arg);
    if (!c->off && !c->path)
        return apr_psprintf(cmd->pool, "GramexSecrets: '%s' is not a valid path", arg);
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    sec_conf *c = ap_get_module_config(cmd->server->module_config, &gramex_secrets_module);
    (void)dummy;
    c->timeout = atoi(arg);
    if (c->timeout <= 0)
        return apr_psprintf(cmd->pool, "GramexSecretsTimeout: '%s' is not a number of seconds "
                            "(default %d)", arg, GX_SECRETS_TIMEOUT_DEFAULT);
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    sec_conf *c = ap_get_module_config(cmd->server->module_config, &gramex_secrets_module);
    (void)dummy;
    c->cache = conf_relative(cmd, arg);
    return c->cache ? NULL : "GramexSecretsCache: not a valid path";
}

static const char *set_cache_dir(cmd_parms *cmd, void *dummy, const char *arg)
{
    sec_conf *c = ap_get_module_config(cmd->server->module_config, &gramex_secrets_module);
    (void)dummy;
    c->cache_dir = ap_server_root_relative(cmd->pool, arg);
    return c->cache_dir ? NULL : "GramexSecretsCacheDir: not a valid path";
}

static const char *set_ca_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    sec_conf *c = ap_get_module_config(cmd->server->module_config, &gramex_secrets_module);
    (void)dummy;
    c->ca_file = conf_relative(cmd, arg);
    return c->ca_file ? NULL : "GramexSecretsCAFile: not a valid path";
}

/* httpd reads its configuration twice at start (a pre-config pass, then the
 * real one), and mod_gramex loads apps on each pass: the memo makes that one
 * fetch of each SECRETS_URL per start or restart. It lives in the process
 * pool (pconf is cleared between the passes, and this module unloaded and
 * loaded again, so it holds data only) and is wiped at the end of the real
 * pass (post_config), so the next restart fetches afresh. (The generation
 * number cannot key it: httpd counts the real pass as a new generation.) */
#define MEMO_KEY "gramex_secrets_memo"

typedef struct {
    apr_pool_t *pool;
    gx_secrets_memo *memo;
} memo_slot;

static memo_slot *memo_slot_get(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    memo_slot *slot = NULL;
    apr_pool_userdata_get((void **)&slot, MEMO_KEY, pp);
    if (!slot) {
        slot = apr_pcalloc(pp, sizeof(*slot));
        apr_pool_userdata_set(slot, MEMO_KEY, apr_pool_cleanup_null, pp);
    }
    return slot;
}

static void memo_drop(memo_slot *slot)
{
    if (!slot->pool)
        return;
    gx_secrets_memo_wipe(slot->memo);
    apr_pool_destroy(slot->pool);
    slot->pool = NULL;
    slot->memo = NULL;
}

static gx_secrets_memo *memo_for_start(server_rec *s)
{
    memo_slot *slot = memo_slot_get(s);
    if (slot->pool)
        return slot->memo;
    apr_pool_create(&slot->pool, s->process->pool);
    slot->memo = gx_secrets_memo_make(slot->pool);
    return slot->memo;
}

/* After the real pass nothing needs the memo: wipe it. The pre-config pass
 * keeps it for the real pass that follows. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf; (void)plog; (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
        memo_drop(memo_slot_get(s));
    return OK;
}

/* Every secret value loaded in this configuration (char *, in pconf, wiped
 * with it), for gx_secrets_mask: pages that show config values must not
 * show what a $SECRET put there. */
#define LOADED_KEY "gramex_secrets_values"
/* as gx_json's dump: shorter values are masked only as the whole text */
#define MASK_SUBSTRING_MIN 4

static apr_array_header_t *loaded_values(apr_pool_t *pconf)
{
    apr_array_header_t *a = NULL;
    apr_pool_userdata_get((void **)&a, LOADED_KEY, pconf);
    if (!a) {
        a = apr_array_make(pconf, 8, sizeof(char *));
        apr_pool_userdata_set(a, LOADED_KEY, apr_pool_cleanup_null, pconf);
    }
    return a;
}

static void remember_values(apr_pool_t *pconf, const gx_node *n)
{
    int i;
    if (!n)
        return;
    if (n->type == GX_MAP || n->type == GX_LIST) {
        for (i = 0; i < n->n; i++)
            remember_values(pconf, n->vals[i]);
        return;
    }
    if (n->type != GX_NULL && n->str && *n->str) {
        char *copy = apr_pstrdup(pconf, n->str);
        gx_wipe_on_cleanup(pconf, copy, strlen(copy));
        APR_ARRAY_PUSH(loaded_values(pconf), char *) = copy;
    }
}

static const char *gx_secrets_mask(apr_pool_t *p, server_rec *s, const char *text)
{
    apr_array_header_t *a = loaded_values(s->process->pconf);
    int i;
    for (i = 0; text && i < a->nelts; i++) {
        const char *v = APR_ARRAY_IDX(a, i, const char *), *at;
        apr_size_t n = strlen(v);
        if (!strcmp(text, v))
            return "***";
        if (n < MASK_SUBSTRING_MIN)
            continue;
        while ((at = strstr(text, v)))
            text = apr_pstrcat(p, apr_pstrmemdup(p, text, at - text), "***", at + n, NULL);
    }
    return text;
}

/* Where SECRETS_URL caches go by default: a root-owned directory httpd
 * keeps state in, never one an app owner controls. httpd's DefaultStateDir
 * where it has one (ap_state_dir_relative: httpd 2.5, as mod_md tests for
 * it); Debian's httpd 2.4 has not, so DefaultRuntimeDir (/run/apache2 on
 * Debian: kept across restarts, not reboots; GramexSecretsCacheDir
 * /var/cache/apache2/gramex-secrets keeps it across reboots). Made 0711
 * when missing (gx_sec_cache_write). */
#define CACHE_DIR_NAME "gramex-secrets"

static const char *cache_dir(apr_pool_t *p, const sec_conf *c)
{
    if (c->cache_dir)
        return c->cache_dir;
#if AP_MODULE_MAGIC_AT_LEAST(20180906, 2)
    return ap_state_dir_relative(p, CACHE_DIR_NAME);
#else
    return ap_runtime_dir_relative(p, CACHE_DIR_NAME);
#endif
}

/* The cache file of secrets_file's SECRETS_URL under s's settings, for the
 * status page (plain data). */
static const char *gx_secrets_cache_for(apr_pool_t *p, server_rec *s, const char *secrets_file)
{
    sec_conf *c = ap_get_module_config(s->module_config, &gramex_secrets_module);
    return c->cache ? c->cache : gx_sec_cache_path(p, cache_dir(p, c), secrets_file);
}

/* Plain versioned data only crosses to mod_gramex (gx_secrets_abi.h): it
 * may come from another build, with another copy of the core. This module
 * speaks GX_SECRETS_ABI_VERSION whatever the caller asks; the caller
 * refuses a version it does not read. */
static const gx_secrets_result *gx_secrets_get(int abi_version, apr_pool_t *p, server_rec *s,
                                               const char *app_yaml)
{
    sec_conf *c = ap_get_module_config(s->module_config, &gramex_secrets_module);
    gx_secrets_opts o = {0};
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *never_serve = apr_array_make(p, 4, sizeof(const char *));
    const char *path;
    gx_node *vars;
    (void)abi_version;
    if (c->off)
        return gx_secrets_export(p, gx_map_new(p, NULL, 0), d, never_serve);
    path = c->path ? c->path
                   : apr_pstrcat(p, ap_make_dirstr_parent(p, app_yaml), ".secrets.yaml", NULL);
    o.timeout = c->timeout ? c->timeout : GX_SECRETS_TIMEOUT_DEFAULT;
    o.max_bytes = GX_SECRETS_MAX_BYTES;
    o.cache = c->cache;
    o.cache_dir = cache_dir(p, c);
    o.ca_file = c->ca_file;
    /* Gramex runs in the app's directory: file:name is relative to it */
    o.base_dir = ap_make_dirstr_parent(p, app_yaml);
    o.memo = memo_for_start(s);
    vars = gx_secrets_load(p, path, &o, d, never_serve);
    remember_values(s->process->pconf, vars);
    return gx_secrets_export(p, vars, d, never_serve);
}

/* libcurl's global set-up is not thread-safe: do it while httpd is single
 * threaded, once per process. */
static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    static int done;
    (void)pconf; (void)plog; (void)ptemp;
    if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
        done = 1;
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_REGISTER_OPTIONAL_FN(gx_secrets_get);
    APR_REGISTER_OPTIONAL_FN(gx_secrets_mask);
    APR_REGISTER_OPTIONAL_FN(gx_secrets_cache_for);
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
}

static const command_rec cmds[] = {
    AP_INIT_TAKE1("GramexSecrets", set_secrets, NULL, RSRC_CONF,
                  "the app's .secrets.yaml (default: beside its gramex.yaml), or Off"),
    AP_INIT_TAKE1("GramexSecretsTimeout", set_timeout, NULL, RSRC_CONF,
                  "seconds to fetch SECRETS_URL, connect and transfer (default 10)"),
    AP_INIT_TAKE1("GramexSecretsCache", set_cache, NULL, RSRC_CONF,
                  "one file where the last good SECRETS_URL payload is kept, encrypted "
                  "(default: one per secrets file under GramexSecretsCacheDir)"),
    AP_INIT_TAKE1("GramexSecretsCacheDir", set_cache_dir, NULL, RSRC_CONF,
                  "a root-owned directory for the SECRETS_URL caches (default: "
                  "DefaultRuntimeDir/gramex-secrets)"),
    AP_INIT_TAKE1("GramexSecretsCAFile", set_ca_file, NULL, RSRC_CONF,
                  "CA certificates (PEM) that https SECRETS_URLs are verified with "
                  "(default: the system's)"),
    {NULL}
};

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
AP_DECLARE_MODULE(gramex_secrets) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, merge_conf, cmds, register_hooks,
    AP_MODULE_FLAG_NONE
};

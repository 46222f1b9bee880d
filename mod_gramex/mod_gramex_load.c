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
#include "mod_gramex_ws.h"
#include <apr_strings.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>     /* malloc_trim */
#endif

APLOG_USE_MODULE(gramex);

#define GX_APP_FILE "gramex.yaml"

/* The real path of a file (symlinks resolved), or NULL if it does not exist. */
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

static int is_link(apr_pool_t *p, const char *path)
{
    apr_finfo_t fi;
    return apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_LINK, p) == APR_SUCCESS
        && fi.filetype == APR_LNK;
}

static const char *dir_of(apr_pool_t *p, const char *path)
{
    char *d = ap_make_dirstr_parent(p, path);
    apr_size_t n = strlen(d);
    if (n > 1 && d[n - 1] == '/')
        d[n - 1] = '\0';
    return d;
}

/* "myapp" for .../myapp.conf */
static const char *site_name(apr_pool_t *p, const char *file)
{
    const char *base = strrchr(file, '/');
    char *name = apr_pstrdup(p, base ? base + 1 : file);
    apr_size_t n = strlen(name);
    if (n > 5 && strcmp(name + n - 5, ".conf") == 0)
        name[n - 5] = '\0';
    return name;
}

/* ---- discovery -------------------------------------------------------------
 * For a vhost defined in DIR/NAME.conf: DIR/NAME.gramex.yaml, else
 * DIR/gramex.yaml if NAME.conf is the only loaded file in DIR that defines a
 * vhost. DIR is tried as named (sites-enabled/) and as the file's real
 * directory (sites-available/). The yaml itself may be a symlink into the app's
 * own directory, which becomes $YAMLPATH. */

typedef struct {
    apr_pool_t *p;
    apr_hash_t *files_in_dir;       /* dir -> apr_hash of vhost files defined there */
    apr_hash_t *warned;             /* dirs whose ambiguous gramex.yaml was reported */
    gx_diags *d;                    /* discovery warnings, logged once */
} gx_discovery;

static void note_vhost_file(gx_discovery *dv, const char *file)
{
    const char *dir = dir_of(dv->p, file);
    apr_hash_t *set = apr_hash_get(dv->files_in_dir, dir, APR_HASH_KEY_STRING);
    if (!set) {
        set = apr_hash_make(dv->p);
        apr_hash_set(dv->files_in_dir, dir, APR_HASH_KEY_STRING, set);
    }
    apr_hash_set(set, file, APR_HASH_KEY_STRING, "");
}

static gx_discovery *discovery_make(apr_pool_t *p, server_rec *s)
{
    gx_discovery *dv = apr_pcalloc(p, sizeof(*dv));
    server_rec *v;
    dv->p = p;
    dv->files_in_dir = apr_hash_make(p);
    dv->warned = apr_hash_make(p);
    dv->d = gx_diags_make(p);
    for (v = s; v; v = v->next) {
        const char *named, *real;
        if (!v->is_virtual || !v->defn_name)
            continue;
        named = ap_server_root_relative(p, v->defn_name);
        note_vhost_file(dv, named);
        if ((real = real_path(p, named)))
            note_vhost_file(dv, real);
    }
    return dv;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* DIR/gramex.yaml if it exists and `file` is the only vhost file in DIR;
 * else NULL, with one warning per DIR when it is ambiguous. */
static const char *plain_yaml(gx_discovery *dv, const char *file)
{
    const char *dir = dir_of(dv->p, file), *yaml = apr_pstrcat(dv->p, dir, "/" GX_APP_FILE, NULL);
    apr_hash_t *set = apr_hash_get(dv->files_in_dir, dir, APR_HASH_KEY_STRING);
    apr_hash_index_t *hi;
    apr_array_header_t *files;
    const char *names = "", *example = NULL;
    int i;
    if (!is_file(dv->p, yaml) || !set)
        return NULL;
    if (apr_hash_count(set) == 1)
        return yaml;
    if (apr_hash_get(dv->warned, dir, APR_HASH_KEY_STRING))
        return NULL;
    apr_hash_set(dv->warned, dir, APR_HASH_KEY_STRING, "");
    files = apr_array_make(dv->p, 4, sizeof(const char *));
    for (hi = apr_hash_first(dv->p, set); hi; hi = apr_hash_next(hi))
        APR_ARRAY_PUSH(files, const char *) = apr_hash_this_key(hi);
    qsort(files->elts, files->nelts, sizeof(const char *), cmp_str);    /* stable wording */
    for (i = 0; i < files->nelts; i++) {
        const char *f = APR_ARRAY_IDX(files, i, const char *), *base = strrchr(f, '/');
        names = apr_pstrcat(dv->p, names, *names ? ", " : "", base ? base + 1 : f, NULL);
        if (!example || strcmp(site_name(dv->p, f), "000-default") != 0)
            example = site_name(dv->p, f);
    }
    gx_diag_add(dv->d, GX_WARN, yaml, 0, "not loaded: %d files in %s define vhosts (%s), so "
                "it is not clear which one this app belongs to; name it after its site, e.g. "
                "ln -s /srv/%s/gramex.yaml %s/%s.gramex.yaml (and remove %s)",
                apr_hash_count(set), dir, names, example, dir, example, yaml);
    return NULL;
}

/* The yaml for vhost v, or NULL; *looked lists what was tried. */
static const char *find_for_vhost(gx_discovery *dv, server_rec *v, const char **looked)
{
    apr_pool_t *p = dv->p;
    const char *named = ap_server_root_relative(p, v->defn_name), *real = real_path(p, named);
    const char *tries[2], *y;
    int i, n = 0;
    tries[n++] = named;
    if (real && strcmp(real, named) != 0)
        tries[n++] = real;
    *looked = "";
    for (i = 0; i < n; i++) {
        y = apr_pstrcat(p, dir_of(p, tries[i]), "/", site_name(p, tries[i]), ".gramex.yaml", NULL);
        *looked = apr_pstrcat(p, *looked, **looked ? ", " : "", y, NULL);
        if (is_file(p, y))
            return y;
        if (is_link(p, y)) {
            gx_diag_add(dv->d, GX_WARN, y, 0, "not loaded: it is a symlink to a file that does not "
                        "exist; point it at the app's gramex.yaml (ln -sf /srv/APP/gramex.yaml %s)",
                        y);
        }
    }
    for (i = 0; i < n; i++) {
        *looked = apr_pstrcat(p, *looked, ", ", dir_of(p, tries[i]), "/" GX_APP_FILE
                              " (if the only vhost file there)", NULL);
        if ((y = plain_yaml(dv, tries[i])))
            return y;
    }
    return NULL;
}

/* An app whose directory is Apache's own config tree would take that tree as
 * $YAMLPATH: its imports and files are looked for there, and the config files
 * beside it become part of the app. Returns the refusal, or NULL. */
static const char *config_dir_refusal(apr_pool_t *p, const char *found, const char *real)
{
    const char *root = ap_server_root, *dir = dir_of(p, real);
    apr_size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n <= 1 || strncmp(dir, root, n) != 0 || (dir[n] && dir[n] != '/'))
        return NULL;
    return apr_psprintf(p, "this app's gramex.yaml %s inside Apache's configuration directory "
                        "%.*s, so $YAMLPATH would be %s: its imports and files would be looked "
                        "for there, beside Apache's config. Keep the app in its own directory "
                        "and link its gramex.yaml: mkdir -p /srv/APP && mv %s /srv/APP/gramex.yaml"
                        " && ln -s /srv/APP/gramex.yaml %s", strcmp(found, real)
                        ? "resolves to a file" : "is a copy", (int)n, root, dir, real, found);
}

/* ---- loading ---------------------------------------------------------------- */

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
                        "mod_ssl for TLS to the backend; run a2enmod ssl and add "
                        "SSLProxyEngine On to the vhost", rt->name, rt->target);
    }
}

/* never_serve: the secrets files the load found. */
static gx_app *build_app(apr_pool_t *p, gx_server_conf *c, gx_loaded *loaded, const char *yaml,
                         const apr_array_header_t *never_serve, gx_diags *d)
{
    gx_app_opts ao = {0};
    gx_app *app;
    int i;
    ao.has_upstream = c->upstreams && c->upstreams->nelts > 0;
    app = gx_app_build(p, loaded, yaml, dir_of(p, yaml), &ao, d);
    check_proxy_modules(app, d);
    for (i = 0; i < never_serve->nelts; i++)
        apr_hash_set(app->protected_files, APR_ARRAY_IDX(never_serve, i, const char *),
                     APR_HASH_KEY_STRING, "");
    return d->errors ? NULL : app;
}

/* How many times this process parsed an app (its gramex.yaml and imports),
 * logged at LogLevel debug so that tests can count the loads. It lives in
 * the process pool: the module's statics are lost when httpd unloads it
 * between config passes. */
#define GX_PARSES_KEY "gramex-parses"

static unsigned *parse_count(server_rec *s)
{
    apr_pool_t *proc = s->process->pool;
    void *n = NULL;
    apr_pool_userdata_get(&n, GX_PARSES_KEY, proc);
    if (!n) {
        n = apr_pcalloc(proc, sizeof(unsigned));
        apr_pool_userdata_set(n, GX_PARSES_KEY, apr_pool_cleanup_null, proc);
    }
    return n;
}

/* The app's secret variables (NULL without mod_gramex_secrets); 0 after an
 * error in d. Called on every pass, even when the parse is reused: the
 * secrets module memoizes its fetch per start and keeps the values this
 * generation masks. */
static int app_secrets(apr_pool_t *p, server_rec *s, const char *yaml, gx_diags *d,
                       apr_array_header_t *never_serve, const gx_node **secrets)
{
    APR_OPTIONAL_FN_TYPE(gx_secrets_get) *secrets_fn = APR_RETRIEVE_OPTIONAL_FN(gx_secrets_get);
    const char *run_dir = dir_of(p, yaml);
    *secrets = NULL;
    /* plain versioned data, checked by gx_secrets_import (fails closed) */
    if (secrets_fn || apr_dynamic_fn_retrieve(GX_SECRETS_FN_UNVERSIONED)) {
        *secrets = gx_secrets_import(p, secrets_fn ? secrets_fn(GX_SECRETS_ABI_VERSION, p, s,
                                                                yaml) : NULL, yaml, d,
                                     never_serve);
        return !d->errors;
    }
    if (is_file(p, apr_pstrcat(p, run_dir, "/.secrets.yaml", NULL))) {
        gx_diag_add(d, GX_WARN, apr_pstrcat(p, run_dir, "/.secrets.yaml", NULL), 0,
                    "this app has a .secrets.yaml but mod_gramex_secrets is not loaded, so its "
                    "$VARIABLES are empty; run a2enmod gramex_secrets");
        APR_ARRAY_PUSH(never_serve, const char *) = apr_pstrcat(p, run_dir, "/.secrets.yaml", NULL);
    }
    return 1;
}

/* A pool with its own allocator: destroyed, its memory goes back to malloc,
 * not to httpd's allocator (which never returns blocks). For a parse's
 * scratch and for each kept entry, which a restart replaces. */
static apr_pool_t *own_pool_make(void)
{
    apr_allocator_t *al;
    apr_pool_t *pool;
    if (apr_allocator_create(&al) != APR_SUCCESS)
        return NULL;
    if (apr_pool_create_ex(&pool, NULL, NULL, al) != APR_SUCCESS) {
        apr_allocator_destroy(al);
        return NULL;
    }
    apr_allocator_owner_set(al, pool);
    return pool;
}

/* Parse the app into `into`: the merged config and the list of files read.
 * The parse trees, import intermediates and variable tables live in a pool
 * with its own allocator, destroyed here, so its peak goes back to malloc
 * (and, trimmed, to the OS) instead of staying in httpd's allocator, whose
 * free blocks every child would inherit. */
static gx_loaded *parse_app(apr_pool_t *into, server_rec *s, gx_server_conf *c, const char *yaml,
                            const gx_node *secrets, gx_diags *d)
{
    gx_load_opts lo = {0};
    gx_loaded *loaded = NULL;
    apr_pool_t *tmp;
    unsigned *count = parse_count(s);

    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "gramex: parsing %s (%u in this process)",
                 yaml, ++*count);
    if (!(tmp = own_pool_make()))
        return NULL;
    lo.gramexpath = c->gramexpath ? c->gramexpath : GX_DEFAULT_GRAMEXPATH;
    lo.run_dir = dir_of(tmp, yaml);
    lo.gramexapps = c->gramexapps;
    lo.env = gx_environ();
    lo.secrets = secrets;
    loaded = gx_load_app(tmp, yaml, &lo, d);
    if (loaded && !d->errors)
        loaded = gx_loaded_clone(into, loaded);
    apr_pool_destroy(tmp);          /* and its allocator */
    return d->errors ? NULL : loaded;
}

/* ---- kept apps: one parse per start, the last good one across restarts ----
 * What is kept, per app, is the merged config (gx_loaded, every string
 * copied) in its own pool under the process pool, which survives
 * generations; the app built from it (routes, regexes) lives in pconf and
 * points into it. Not the built app itself: it holds pointers into this
 * module's code (literals, regex cleanups), and httpd unloads and reloads
 * the module between passes.
 *
 * One parse per start: httpd reads its configuration twice when it starts,
 * a first pass (AP_SQ_MS_CREATE_PRE_CONFIG) and the real one. The first pass
 * is the one that can still refuse the start in the foreground (the MPM
 * detaches in the real pass), so it loads; the real pass that follows takes
 * that load when no file it read has changed since (path, mtime and size),
 * builds the app again with this pass's code, and parses nothing. Restarts
 * parse again (environment, secrets and imports may have changed).
 *
 * The last good app: a graceful restart re-reads the config in the parent.
 * If an app fails to load then (not under -t, not at first start), its
 * vhosts get the app built again from the last config that loaded from the
 * same gramex.yaml. Entries no generation uses are freed. */

typedef struct {
    const char *path;
    apr_time_t mtime;
    apr_off_t size;
} gx_stamp;

typedef struct {
    apr_pool_t *pool;
    gx_loaded *loaded;
    apr_array_header_t *stamps;         /* gx_stamp, for every file of loaded->files */
    gx_diags *parse_diags;              /* what the parse said, for the real pass's log */
    apr_array_header_t *never_serve;    /* const char * */
    apr_time_t loaded_at;
    unsigned generation;                /* last generation that used it */
    int first_pass;                     /* parsed in a start's first pass, not used since */
} gx_kept;

/* The kept entries outlive the module that wrote them: a graceful restart
 * after an upgrade of mod_gramex.so reads them with the new code. The key
 * names their layout, so a new layout starts afresh instead of misreading
 * them (bump GX_KEPT_LAYOUT when gx_kept, gx_loaded or gx_node change in a
 * way their sizes do not show). */
#define GX_KEPT_LAYOUT 2

static apr_hash_t *kept_apps(server_rec *s)
{
    apr_pool_t *proc = s->process->pool;
    char key[80];           /* apr_pool_userdata_set copies it */
    void *h = NULL;
    apr_snprintf(key, sizeof(key), "gramex-last-good-apps/%d/%d/%d/%d", GX_KEPT_LAYOUT,
                 (int)sizeof(gx_kept), (int)sizeof(gx_loaded), (int)sizeof(gx_node));
    apr_pool_userdata_get(&h, key, proc);
    if (!h) {
        h = apr_hash_make(proc);
        apr_pool_userdata_set(h, key, apr_pool_cleanup_null, proc);
    }
    return h;
}

static int stamp_of(apr_pool_t *p, const char *path, gx_stamp *st)
{
    apr_finfo_t fi;
    if (apr_stat(&fi, path, APR_FINFO_MTIME | APR_FINFO_SIZE, p) != APR_SUCCESS)
        return 0;
    st->path = path;
    st->mtime = fi.mtime;
    st->size = fi.size;
    return 1;
}

/* Has any file the kept load read changed (or gone) since? */
static int kept_changed(apr_pool_t *ptemp, const gx_kept *k)
{
    int i;
    for (i = 0; i < k->stamps->nelts; i++) {
        const gx_stamp *was = &APR_ARRAY_IDX(k->stamps, i, gx_stamp);
        gx_stamp now;
        if (!stamp_of(ptemp, was->path, &now) || now.mtime != was->mtime || now.size != was->size)
            return 1;
    }
    return 0;
}

static gx_diags *diags_copy(apr_pool_t *p, const gx_diags *from, int start, gx_diags *to)
{
    int i;
    if (!to)
        to = gx_diags_make(p);
    for (i = start; i < from->items->nelts; i++) {
        const gx_diag *item = &APR_ARRAY_IDX(from->items, i, gx_diag);
        gx_diag_add(to, item->level, item->file, item->line, "%s", item->msg);
    }
    return to;
}

/* Records the app just parsed into `pool` (which the entry takes over),
 * replacing any entry for the same key. parse_from: where the parse's
 * diagnostics start in d. */
static void keep(apr_hash_t *kept, const char *key, apr_pool_t *pool, gx_loaded *loaded,
                 const apr_array_header_t *never_serve, const gx_diags *d, int parse_from,
                 apr_time_t when, unsigned generation, int first_pass)
{
    gx_kept *k = apr_hash_get(kept, key, APR_HASH_KEY_STRING);
    int i;
    if (k) {
        apr_hash_set(kept, key, APR_HASH_KEY_STRING, NULL);
        apr_pool_destroy(k->pool);
    }
    k = apr_pcalloc(pool, sizeof(*k));
    k->pool = pool;
    k->loaded = loaded;
    k->stamps = apr_array_make(pool, loaded->files->nelts, sizeof(gx_stamp));
    for (i = 0; i < loaded->files->nelts; i++) {
        gx_stamp st = {0};
        st.path = APR_ARRAY_IDX(loaded->files, i, const char *);
        if (!stamp_of(pool, st.path, &st))
            st.mtime = -1;          /* gone already: never reused */
        APR_ARRAY_PUSH(k->stamps, gx_stamp) = st;
    }
    k->parse_diags = diags_copy(pool, d, parse_from, NULL);
    k->never_serve = apr_array_make(pool, never_serve->nelts, sizeof(const char *));
    for (i = 0; i < never_serve->nelts; i++)
        APR_ARRAY_PUSH(k->never_serve, const char *) =
            apr_pstrdup(pool, APR_ARRAY_IDX(never_serve, i, const char *));
    k->loaded_at = when;
    k->generation = generation;
    k->first_pass = first_pass;
    apr_hash_set(kept, apr_pstrdup(pool, key), APR_HASH_KEY_STRING, k);
}

static void forget_unused(apr_hash_t *kept, unsigned generation)
{
    apr_hash_index_t *hi;
    for (hi = apr_hash_first(NULL, kept); hi; hi = apr_hash_next(hi)) {
        gx_kept *k = apr_hash_this_val(hi);
        if (k->generation != generation) {
            apr_hash_set(kept, apr_hash_this_key(hi), APR_HASH_KEY_STRING, NULL);
            apr_pool_destroy(k->pool);
        }
    }
}

/* Nothing of a vhost's app is served when it failed to load on a restart and
 * there is no earlier app: every request answers 500 (GX0012) with the
 * reason, rather than falling through to the vhost's DocumentRoot, which may
 * be the app's directory. */
static gx_app *closed_app(apr_pool_t *p, const char *yaml, const char *reason)
{
    gx_app *app = apr_pcalloc(p, sizeof(*app));
    gx_route *rt = apr_pcalloc(p, sizeof(*rt));
    const char *regex = "/.*", *name = "gramex-load-failed";
    app->yaml_path = yaml;
    app->run_dir = dir_of(p, yaml);
    app->loaded = apr_pcalloc(p, sizeof(*app->loaded));
    app->loaded->config = gx_map_new(p, yaml, 0);
    app->loaded->files = apr_array_make(p, 1, sizeof(const char *));
    app->loaded->variables = gx_map_new(p, yaml, 0);
    app->loaded->source_files = apr_hash_make(p);
    app->routes = apr_array_make(p, 1, sizeof(gx_route *));
    app->protected_files = apr_hash_make(p);
    app->mime = apr_hash_make(p);
    app->max_body = GX_DEFAULT_MAX_BODY;
    rt->name = name;
    rt->pattern = rt->regex = regex;
    rt->handler = "(none)";
    rt->file = yaml;
    rt->kind = GX_KIND_BROKEN;
    rt->upstream_reason = apr_psprintf(p, "the app failed to load at the last restart (%s); "
                                       "fix it and reload", reason);
    APR_ARRAY_PUSH(app->routes, gx_route *) = rt;
    app->router = gx_router_build(p, &regex, 1, &name, NULL, NULL, gx_diags_make(p));
    return app;
}

/* ---- proxy workers ------------------------------------------------------------
 * Each app's ProxyHandler backends get a pooled mod_proxy worker
 * (keepalive, ProxyPreserveHost, the checklist's timeout), defined in the
 * vhost now, from the built routes, the way mod_gramex_access adds its
 * grants: no second parse of gramex.yaml while the config is read.
 * mod_proxy sets workers up after this (post_config, child_init). An app
 * GramexConfig named already has GramexConfig's ProxyTimeout. */

static int has_proxy_routes(const gx_app *app)
{
    int i;
    for (i = 0; i < app->routes->nelts; i++)
        if (APR_ARRAY_IDX(app->routes, i, const gx_route *)->kind == GX_KIND_PROXY)
            return 1;
    return 0;
}

static void add_workers(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *v,
                        const gx_server_conf *c, const gx_app *app, gx_diags *d)
{
    const char *err;
    if (!has_proxy_routes(app) || !ap_find_linked_module("mod_proxy.c"))
        return;
    err = gx_process_config_lines(pconf, ptemp, v, "mod_gramex workers for the app's proxies",
                                  gx_app_worker_lines(ptemp, app, !c->config_own));
    if (err)
        gx_diag_add(d, GX_WARN, app->yaml_path, 0, "cannot define mod_proxy workers for the "
                    "app's ProxyHandler urls (%s): they use mod_proxy's default worker, without "
                    "ProxyPreserveHost", err);
}

/* ---- logging ------------------------------------------------------------------ */

/* Each diagnostic at levels_from or above, except `skip` (already said). */
static void log_diags_but(server_rec *s, const gx_diags *d, int levels_from, apr_pool_t *p,
                          const char *skip)
{
    int i;
    for (i = 0; d && i < d->items->nelts; i++) {
        const gx_diag *item = &APR_ARRAY_IDX(d->items, i, gx_diag);
        int lvl = item->level == GX_ERROR ? APLOG_ERR
                : item->level == GX_WARN ? APLOG_WARNING : APLOG_NOTICE;
        if ((int)item->level < levels_from || (skip && !strcmp(skip, gx_diag_format(p, item))))
            continue;
        ap_log_error(APLOG_MARK, (s ? 0 : APLOG_STARTUP) | lvl, 0, s, "gramex: %s%s",
                     item->level == GX_ERROR ? "error: " : item->level == GX_WARN ? "warning: "
                     : "", gx_diag_format(p, item));
    }
}

static void log_diags(server_rec *s, const gx_diags *d, int levels_from, apr_pool_t *p)
{
    log_diags_but(s, d, levels_from, p, NULL);
}

static const char *vhost_name(apr_pool_t *p, server_rec *v)
{
    const char *name = v->server_hostname ? v->server_hostname : "*";
    int port = v->addrs ? v->addrs->host_port : v->port;
    if (!v->is_virtual)
        return apr_psprintf(p, "main server %s", name);
    return apr_psprintf(p, "vhost %s:%d (%s:%d)", name, port, v->defn_name ? v->defn_name : "?",
                        v->defn_line_number);
}

static void warn_websocket_capacity(server_rec *log_to, server_rec *v, const gx_app *app);

/* ---- per server ----------------------------------------------------------------- */

/* Which gramex.yaml a server uses, and how it was found. */
static const char *choose_yaml(gx_discovery *dv, server_rec *v, gx_server_conf *c,
                               const char **source, const char **refusal)
{
    apr_pool_t *p = dv->p;
    const char *y, *real, *looked = NULL;
    if (c->config_own) {
        *source = apr_psprintf(p, "GramexConfig at %s", c->config_where);
        if (c->config_off)
            c->looked_for = apr_psprintf(p, "nowhere: GramexConfig Off at %s", c->config_where);
        return c->config_off ? NULL : c->config_path;
    }
    if (v->is_virtual && v->defn_name)
        y = find_for_vhost(dv, v, &looked);
    else {
        /* the main server: gramex.yaml beside the main config file */
        const char *main_conf = ap_conftree ? ap_server_root_relative(p, ap_conftree->filename)
                                            : NULL;
        y = main_conf ? apr_pstrcat(p, dir_of(p, main_conf), "/" GX_APP_FILE, NULL) : NULL;
        looked = y;
        if (y && !is_file(p, y))
            y = NULL;
    }
    c->looked_for = looked;
    if (!y)
        return NULL;
    real = real_path(p, y);
    *source = strcmp(real, y) ? apr_psprintf(p, "found %s -> %s", y, real)
                              : apr_psprintf(p, "found %s", y);
    if ((*refusal = config_dir_refusal(p, y, real)))
        *refusal = apr_psprintf(p, "%s: %s", y, *refusal);
    return real;
}

/* Load (or take the first pass's load of) one app for server v into c.
 * Returns the app, or NULL with errors in d. */
static gx_app *load_app(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *v, gx_server_conf *c,
                        const char *yaml, const char *key, apr_hash_t *kept, gx_diags *d,
                        apr_array_header_t *never_serve)
{
    int testing = ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST;
    int first = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    unsigned generation = (unsigned)ap_state_query(AP_SQ_CONFIG_GEN);
    gx_kept *k = apr_hash_get(kept, key, APR_HASH_KEY_STRING);
    const gx_node *secrets;
    apr_pool_t *pool;
    gx_loaded *loaded;
    gx_app *app;
    int parse_from;

    if (!is_file(ptemp, yaml)) {
        gx_diag_add(d, GX_ERROR, yaml, 0, "cannot read the app's gramex.yaml (missing, or not a "
                    "file); fix the path in GramexConfig (%s) or use GramexConfig Off",
                    c->config_where ? c->config_where : "beside the vhost config");
        return NULL;
    }
    if (!app_secrets(pconf, v, yaml, d, never_serve, &secrets))
        return NULL;
    if (!testing && !first && k && k->first_pass && k->generation + 1 == generation
        && !kept_changed(ptemp, k)) {
        /* the start's real pass: the first pass parsed this, and nothing changed */
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, v, "gramex: %s unchanged since the first "
                     "config pass: not parsed again", yaml);
        diags_copy(pconf, k->parse_diags, 0, d);
        app = build_app(pconf, c, k->loaded, yaml, never_serve, d);
        if (app) {
            k->first_pass = 0;
            k->generation = generation;
            c->loaded_at = k->loaded_at;
        }
        return app;
    }
    /* -t keeps nothing: pconf will do. Otherwise the kept entry's own pool. */
    pool = testing ? pconf : own_pool_make();
    if (!pool)
        return NULL;
    parse_from = d->items->nelts;
    loaded = parse_app(pool, v, c, yaml, secrets, d);
    app = loaded ? build_app(pconf, c, loaded, yaml, never_serve, d) : NULL;
    c->loaded_at = apr_time_now();
    if (testing)
        return app;
    if (!app) {
        apr_pool_destroy(pool);
        return NULL;
    }
    keep(kept, key, pool, loaded, never_serve, d, parse_from, c->loaded_at, generation, first);
    return app;
}

/* Parsing frees what it used, but glibc keeps freed memory in its heap,
 * where every child inherits it: hand it back to the OS. */
static void give_back_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

int gx_load_all(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *loaded = apr_hash_make(ptemp), *kept = kept_apps(s);
    int failed = 0, testing = ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST;
    int first = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    unsigned generation = (unsigned)ap_state_query(AP_SQ_CONFIG_GEN);
    gx_server_conf *main_conf = gx_sconf(s);
    gx_discovery *dv = discovery_make(ptemp, s);
    server_rec *v;
    (void)plog;

    /* A vhost with none of our directives shares the main server's config
     * struct (httpd creates one only when a directive needs it): give each
     * its own, so what is found for one is not logged for all. */
    for (v = s->next; v; v = v->next)
        if (gx_sconf(v) == main_conf) {
            gx_server_conf *own = apr_pmemdup(pconf, main_conf, sizeof(*own));
            ap_set_module_config(v->module_config, &gramex_module, own);
        }
    for (v = s; v; v = v->next) {
        gx_server_conf *c = gx_sconf(v);
        const char *source = NULL, *refusal = NULL, *yaml, *key;
        gx_server_conf *same;
        gx_kept *k;
        apr_array_header_t *never_serve;
        gx_diags *d;
        c->app = NULL;
        c->diags = NULL;
        c->reload_error = NULL;
        c->vhost_name = vhost_name(pconf, v);
        yaml = choose_yaml(dv, v, c, &source, &refusal);
        if (yaml)
            yaml = apr_pstrdup(pconf, yaml);        /* the app keeps it; dv->p is ptemp */
        c->looked_for = c->looked_for ? apr_pstrdup(pconf, c->looked_for) : NULL;
        if (!yaml) {
            if (v != s && !c->config_own && !c->config_off && main_conf->app) {
                c->app = main_conf->app;     /* inherit the main server's app */
                c->app_source = apr_pstrcat(pconf, "the main server's: ", main_conf->app_source,
                                            NULL);
                c->loaded_at = main_conf->loaded_at;
                c->reload_error = main_conf->reload_error;
                /* the main server's workers were defined after the vhosts
                 * were merged: this vhost needs its own */
                add_workers(pconf, ptemp, v, c, c->app, gx_diags_make(ptemp));
            }
            continue;
        }
        key = apr_pstrcat(ptemp, yaml, "|", c->gramexpath ? c->gramexpath : "",
                          "|", c->gramexapps ? c->gramexapps : "",
                          "|", c->upstreams ? "u" : "", NULL);
        c->app_source = apr_pstrdup(pconf, source);
        c->secrets_file = apr_pstrcat(pconf, dir_of(pconf, yaml), "/.secrets.yaml", NULL);
        if ((same = apr_hash_get(loaded, key, APR_HASH_KEY_STRING))) {
            c->app = same->app;
            c->loaded_at = same->loaded_at;
            c->reload_error = same->reload_error;
            if (c->app)
                add_workers(pconf, ptemp, v, c, c->app, gx_diags_make(ptemp));
            continue;
        }
        apr_hash_set(loaded, key, APR_HASH_KEY_STRING, c);
        c->diags = d = gx_diags_make(pconf);
        never_serve = apr_array_make(pconf, 4, sizeof(const char *));
        if (refusal)
            gx_diag_add(d, GX_ERROR, NULL, 0, "%s", refusal);
        else
            c->app = load_app(pconf, ptemp, v, c, yaml, key, kept, d, never_serve);
        if (c->app) {
            add_workers(pconf, ptemp, v, c, c->app, d);
            if (testing)        /* -t shows warnings too; a real start logs them in post_config */
                log_diags(NULL, d, GX_WARN, ptemp);
            continue;
        }
        if (testing || first) {
            /* -t and first start: refuse, so `apachectl -t` fails on the file */
            log_diags(NULL, d, GX_ERROR, ptemp);
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, NULL,
                         "gramex: error: %s (%s) has errors, so Apache does not start or "
                         "reload with this configuration (a running Apache keeps serving what "
                         "it serves); fix them and run apachectl -t", yaml, source);
            failed = 1;
            continue;
        }
        c->reload_error = apr_pstrdup(pconf, gx_diags_first_error(ptemp, d));
        if ((k = apr_hash_get(kept, key, APR_HASH_KEY_STRING))) {
            /* the last good config, built again with this generation's code;
             * the build only reads it (routes share its nodes) */
            gx_diags *old = gx_diags_make(ptemp);
            c->app = build_app(pconf, c, k->loaded, yaml, k->never_serve, old);
            c->loaded_at = k->loaded_at;
            k->generation = generation;
            k->first_pass = 0;
            if (c->app)         /* the file could not be read for GramexConfig's workers */
                add_workers(pconf, ptemp, v, c, c->app, old);
        }
        if (!c->app) {
            /* nothing earlier to keep: the vhost is closed (500) until fixed */
            c->app = closed_app(pconf, yaml, c->reload_error);
            c->loaded_at = 0;
        }
    }
    if (testing) {
        log_diags(NULL, dv->d, GX_WARN, ptemp);
        for (v = s; v; v = v->next)
            if (gx_sconf(v)->app && gx_sconf(v)->diags)
                warn_websocket_capacity(NULL, v, gx_sconf(v)->app);
    }
    main_conf->found_diags = dv->d->items->nelts ? gx_diags_make(pconf) : NULL;
    if (main_conf->found_diags) {
        int i;
        for (i = 0; i < dv->d->items->nelts; i++) {
            const gx_diag *item = &APR_ARRAY_IDX(dv->d->items, i, gx_diag);
            gx_diag_add(main_conf->found_diags, item->level, apr_pstrdup(pconf, item->file),
                        item->line, "%s", item->msg);
        }
    }
    if (!testing)
        forget_unused(kept, generation);
    give_back_memory();
    return failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

/* WebSockets in mod_proxy_http's tunnel each hold a worker thread for their
 * whole life, so MaxRequestWorkers caps them. Below this many, say so.
 * mod_gramex_ws's asynchronous tunnels free the worker: it checks its own
 * settings. */
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

static void warn_websocket_capacity(server_rec *log_to, server_rec *v, const gx_app *app)
{
    APR_OPTIONAL_FN_TYPE(gx_ws_async_for) *async_for = APR_RETRIEVE_OPTIONAL_FN(gx_ws_async_for);
    int daemons = 0, threads = 0;
    if (!has_websockets(app) || (async_for && async_for(v))
        || ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS)
        return;
    if (threads <= 0)
        threads = 1;                    /* prefork: one request per process */
    if (daemons * threads < GX_WEBSOCKET_CAPACITY_WANTED)
        ap_log_error(APLOG_MARK, (log_to ? 0 : APLOG_STARTUP) | APLOG_WARNING, 0, log_to,
                     "gramex: warning: " GX_LOGNO(0002) "app %s has WebSocket "
                     "routes, and each open WebSocket holds one of the %d workers "
                     "(MaxRequestWorkers) until it closes, leaving none for plain HTTP once "
                     "they are used up. Raise ServerLimit/ThreadsPerChild/MaxRequestWorkers "
                     "(event MPM) to hold %d WebSockets: a2enconf gramex-websockets, then a "
                     "full restart (systemctl restart apache2; a graceful restart cannot "
                     "change ThreadLimit, AH00508); see docs/operation.md",
                     app->yaml_path, daemons * threads, GX_WEBSOCKET_CAPACITY_WANTED);
}

/* Startup summary into the error log (post_config, real pass): one line per
 * server saying where its app came from or where one was looked for, then
 * each loaded app's warnings once. Under -t, check_config printed them. */
void gx_log_apps(apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    gx_server_conf *main_conf = gx_sconf(s);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    log_diags(s, main_conf->found_diags, GX_INFO, ptemp);
    for (v = s; v; v = v->next) {
        gx_server_conf *c = gx_sconf(v);
        if (c->reload_error)
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, v, GX_LOGNO(0004) "%s: the restart could "
                         "not load %s: %s. %s", c->vhost_name, c->app->yaml_path,
                         c->reload_error, c->loaded_at ? "Still serving the app loaded before "
                         "(fix the file and reload)" : "Nothing of it is served: every request "
                         "answers 500 until it is fixed and reloaded");
        else if (c->app)
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, GX_LOGNO(0001) "%s: app %s (%s): %d "
                         "routes", c->vhost_name, c->app->yaml_path,
                         c->app_source ? c->app_source : "", c->app->routes->nelts);
        else if (v != s || !s->next)    /* the main server only if it is the only one */
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, GX_LOGNO(0003) "%s: no gramex.yaml; "
                         "looked for %s", c->vhost_name, c->looked_for ? c->looked_for : "none");
        if (c->app && c->diags) {
            log_diags_but(v, c->diags, GX_INFO, ptemp, c->reload_error);
            warn_websocket_capacity(v, v, c->app);
        }
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "gramex: %u parses of apps since Apache started",
                 *parse_count(s));
}

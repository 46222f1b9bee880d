/* mod_gramex_access: httpd's own access control for every app file.
 *
 * App files go through core's directory walk, so the admin's <Directory>,
 * <Files>, .htaccess, Options and Require hold for them. On a stock Debian
 * layout `<Directory /> Require all denied` would then refuse every app, so
 * each app's own directories (those of its gramex.yaml files, which include
 * GramexPath's) get a grant, ordered before the admin's sections of the same
 * depth: the admin's rules for those directories, or deeper ones, still win.
 * Urls rooted elsewhere (`path: /etc/`) get no grant and a startup warning.
 *
 * Apache's configuration is never served: every file httpd read as config
 * is added to each app's never-serve set, and a FileHandler url whose root
 * holds (or contains) config directories serves nothing. */
#include "mod_gramex.h"
#include "http_core.h"
#include "http_main.h"
#include "util_cfgtree.h"
#include <apr_strings.h>
#include <apr_hash.h>
#include <stdlib.h>     /* qsort */

APLOG_USE_MODULE(gramex);

/* ---- the set of files httpd read as configuration ----------------------- */

static void add_config_file(apr_pool_t *p, apr_hash_t *files, apr_hash_t *dirs, const char *name)
{
    char *abs = NULL;
    apr_finfo_t fi;
    if (!name || apr_filepath_merge(&abs, NULL, name, APR_FILEPATH_NOTRELATIVE, p) != APR_SUCCESS
        || apr_hash_get(files, abs, APR_HASH_KEY_STRING)
        || apr_stat(&fi, abs, APR_FINFO_TYPE, p) != APR_SUCCESS || fi.filetype != APR_REG)
        return;     /* our own spliced lines have no file */
    apr_hash_set(files, abs, APR_HASH_KEY_STRING, "");
    apr_hash_set(dirs, ap_make_dirstr_parent(p, abs), APR_HASH_KEY_STRING, "");
}

static void walk_config(apr_pool_t *p, const ap_directive_t *d, apr_hash_t *files, apr_hash_t *dirs)
{
    for (; d; d = d->next) {
        add_config_file(p, files, dirs, d->filename);
        walk_config(p, d->first_child, files, dirs);
    }
}

/* ---- paths: '/'-terminated directory prefixes, compared as the OS does --- */

static const char *as_dir(apr_pool_t *p, const char *path)
{
    apr_size_t n = strlen(path);
    return n && path[n - 1] == '/' ? path : apr_pstrcat(p, path, "/", NULL);
}

static int under(const char *dir, const char *path)
{
    apr_size_t n = strlen(dir);
#ifdef _WIN32
    return strncasecmp(path, dir, n) == 0;
#else
    return strncmp(path, dir, n) == 0;
#endif
}

/* Is root a config directory, or an ancestor of one? */
static int holds_config(apr_pool_t *p, const char *root, apr_hash_t *config_dirs)
{
    const char *r = as_dir(p, root);
    apr_hash_index_t *hi;
    for (hi = apr_hash_first(p, config_dirs); hi; hi = apr_hash_next(hi)) {
        const void *k;
        apr_hash_this(hi, &k, NULL, NULL);
        if (under(r, k))
            return 1;
    }
    return 0;
}

/* ---- grants, as Apache config lines ------------------------------------- */

/* A directory we can write into a <Directory "..."> line as itself: no
 * quote, control character or wildcard (which would make it a pattern). */
static int writable_dir(const char *dir)
{
    const unsigned char *c;
    for (c = (const unsigned char *)dir; *c; c++)
        if (*c < 0x20 || *c == 0x7f || strchr("\"\\*?[]", *c))
            return 0;
    return 1;
}

/* Move the sections added at sec_dir[from..] to where core's sort puts them,
 * before existing sections of the same depth (so those win the merge). */
static void order_grants(apr_array_header_t *sec_dir, int from)
{
    ap_conf_vector_t **elts = (ap_conf_vector_t **)sec_dir->elts;
    int i;
    for (i = from; i < sec_dir->nelts; i++) {
        ap_conf_vector_t *mine = elts[i];
        core_dir_config *m = ap_get_core_module_config(mine);
        int at = 0;
        while (at < i) {
            core_dir_config *o = ap_get_core_module_config(elts[at]);
            if (o->r || o->d_components >= m->d_components)
                break;
            at++;
        }
        memmove(elts + at + 1, elts + at, (apr_size_t)(i - at) * sizeof(*elts));
        elts[at] = mine;
    }
}

static int grant(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, apr_array_header_t *dirs)
{
    core_server_config *sconf = ap_get_core_module_config(s->module_config);
    core_dir_config *defaults = ap_get_core_module_config(s->lookup_defaults);
    apr_array_header_t *lines = apr_array_make(ptemp, 5 * dirs->nelts, sizeof(const char *));
    const char *err;
    int i, before;

    for (i = 0; i < dirs->nelts; i++) {
        APR_ARRAY_PUSH(lines, const char *) = apr_psprintf(ptemp, "<Directory \"%s\">",
                                                           APR_ARRAY_IDX(dirs, i, const char *));
        APR_ARRAY_PUSH(lines, const char *) = "Require all granted";
        /* symlinks are not followed unless the admin's Options say so for
         * these directories: Gramex follows them out of the tree (f.2 [W]) */
        APR_ARRAY_PUSH(lines, const char *) = "Options -FollowSymLinks -SymLinksIfOwnerMatch";
        if (defaults->enable_sendfile == ENABLE_SENDFILE_UNSET)
            APR_ARRAY_PUSH(lines, const char *) = "EnableSendfile On";
        APR_ARRAY_PUSH(lines, const char *) = "</Directory>";
    }
    /* vhosts share the main server's section array (apr_array_append copies
     * only the header): adding to it in place would change theirs */
    sconf->sec_dir = apr_array_copy(pconf, sconf->sec_dir);
    before = sconf->sec_dir->nelts;
    err = gx_process_config_lines(pconf, ptemp, s, "mod_gramex grants for the app's directories",
                                  lines);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, GX_LOGNO(0050) "cannot grant the app's "
                     "directories: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    order_grants(sconf->sec_dir, before);
    return OK;
}

/* ---- per server --------------------------------------------------------- */

/* The app's own directories: those of every gramex.yaml it loaded. */
static apr_array_header_t *app_dirs(apr_pool_t *p, const gx_app *app)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    apr_hash_t *seen = apr_hash_make(p);
    int i;
    for (i = 0; i < app->loaded->files->nelts; i++) {
        const char *dir = ap_make_dirstr_parent(p, APR_ARRAY_IDX(app->loaded->files, i, const char *));
        if (apr_hash_get(seen, dir, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, dir, APR_HASH_KEY_STRING, dir);
        APR_ARRAY_PUSH(out, const char *) = dir;
    }
    return out;
}

/* qsort: outer directories before the ones under them */
static int shorter_first(const void *a, const void *b)
{
    apr_size_t la = strlen(*(const char *const *)a), lb = strlen(*(const char *const *)b);
    return la < lb ? -1 : la > lb;
}

static int under_any(apr_pool_t *p, const apr_array_header_t *dirs, const char *path)
{
    int i;
    path = as_dir(p, path);
    for (i = 0; i < dirs->nelts; i++)
        if (under(APR_ARRAY_IDX(dirs, i, const char *), path))
            return 1;
    return 0;
}

/* Our base layer's catch-all (Gramex's `default` url) serves the run
 * directory: never where Apache's configuration lives. */
static int is_base_layer_url(const gx_app *app, const gx_route *rt)
{
    return rt->file && app->loaded->source_files
           && apr_hash_get(app->loaded->source_files, rt->file, APR_HASH_KEY_STRING);
}

/* Once per app: protect the config files, drop the catch-all where config
 * lives, warn about urls outside the app's directories (logged with the
 * app's other diagnostics once the error log is open). */
static void check_roots(apr_pool_t *pconf, gx_app *app, apr_array_header_t *dirs,
                        apr_hash_t *config_files, apr_hash_t *config_dirs, gx_diags *d)
{
    int i;
    apr_hash_index_t *hi;
    for (hi = apr_hash_first(pconf, config_files); hi; hi = apr_hash_next(hi)) {
        const void *k;
        apr_hash_this(hi, &k, NULL, NULL);
        apr_hash_set(app->protected_files, apr_pstrdup(pconf, k), APR_HASH_KEY_STRING, "");
    }
    for (i = 0; i < app->routes->nelts; i++) {
        gx_route *rt = APR_ARRAY_IDX(app->routes, i, gx_route *);
        if (rt->kind != GX_KIND_FILE || !rt->fh->root)
            continue;
        if (is_base_layer_url(app, rt) && holds_config(pconf, rt->fh->root, config_dirs)) {
            rt->fh->refused = "its directory holds Apache config files";
            gx_diag_add(d, GX_WARN, rt->file, rt->line, "url %s would serve %s, a directory of "
                        "Apache config files (.conf): it serves nothing there. Keep the app "
                        "outside Apache's config directories and link its gramex.yaml in "
                        "(ln -s /srv/APP/gramex.yaml SITE.gramex.yaml)", rt->name, rt->fh->root);
        }
        else if (!under_any(pconf, dirs, rt->fh->root)) {
            gx_diag_add(d, GX_WARN, rt->file, rt->line, "url %s serves %s, outside the app's "
                        "directories: Apache refuses it (403) unless your config grants it, e.g. "
                        "<Directory \"%s\"> Require all granted </Directory>", rt->name,
                        rt->fh->root, rt->fh->root);
        }
    }
}

/* The directories whose files only the app's urls may serve: its own and
 * every FileHandler root. */
static apr_array_header_t *served_dirs(apr_pool_t *pconf, const gx_app *app,
                                       const apr_array_header_t *dirs)
{
    apr_array_header_t *out = apr_array_make(pconf, dirs->nelts + 8, sizeof(const char *));
    int i;
    for (i = 0; i < dirs->nelts; i++)
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(pconf, APR_ARRAY_IDX(dirs, i, const char *));
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        if (rt->kind == GX_KIND_FILE && rt->fh->root && !under_any(pconf, out, rt->fh->root))
            APR_ARRAY_PUSH(out, const char *) = as_dir(pconf, rt->fh->root);
    }
    return out;
}

int gx_in_app_dirs(const request_rec *r)
{
    const gx_server_conf *c = gx_sconf(r->server);
    return c && c->app_dirs && r->filename && under_any(r->pool, c->app_dirs, r->filename);
}

int gx_access_setup(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *config_files = apr_hash_make(ptemp), *config_dirs = apr_hash_make(ptemp);
    apr_hash_t *checked = apr_hash_make(ptemp);
    server_rec *v;
    walk_config(ptemp, ap_conftree, config_files, config_dirs);
    for (v = s; v; v = v->next) {
        gx_server_conf *c = gx_sconf(v);
        apr_array_header_t *dirs, *granted;
        int i;
        if (!c->app)
            continue;
        dirs = app_dirs(ptemp, c->app);
        qsort(dirs->elts, (size_t)dirs->nelts, sizeof(const char *), shorter_first);
        c->app_dirs = served_dirs(pconf, c->app, dirs);
        if (c->diags && !apr_hash_get(checked, &c->app, sizeof(c->app))) {
            apr_hash_set(checked, apr_pmemdup(ptemp, &c->app, sizeof(c->app)), sizeof(c->app), "");
            check_roots(pconf, c->app, dirs, config_files, config_dirs, c->diags);
        }
        granted = apr_array_make(ptemp, dirs->nelts, sizeof(const char *));
        for (i = 0; i < dirs->nelts; i++) {
            const char *dir = APR_ARRAY_IDX(dirs, i, const char *);
            if (holds_config(ptemp, dir, config_dirs) || !writable_dir(dir))
                continue;       /* fail closed: no grant, the admin's rules decide */
            /* a grant covers the directories under it; a deeper one would
             * apply after the admin's section for its parent, and win */
            if (!under_any(ptemp, granted, dir))
                APR_ARRAY_PUSH(granted, const char *) = dir;
        }
        if (granted->nelts && grant(pconf, ptemp, v, granted) != OK)
            return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

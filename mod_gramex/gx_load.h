/* gx_load: Gramex's configuration loader (gramex/config.py semantics).
 *
 * Loads the source layer (our base gramex.yaml, standing in for Gramex's own)
 * and the app layer (the app's gramex.yaml with all its imports), applies
 * variables, conditions, imports, namespaces, import.merge, merges the layers
 * with overwrite semantics, prunes nulls and `comment` keys, and returns the
 * resolved configuration mapping (url, handlers, app, mime, ...).
 */
#ifndef GX_LOAD_H
#define GX_LOAD_H

#include "gx_node.h"
#include "gx_diag.h"

typedef struct {
    const char *gramexpath;     /* $GRAMEXPATH: dir holding deploy.yaml, base.yaml */
    const char *base_layer;     /* source layer file; NULL = $GRAMEXPATH/gramex.yaml if it exists */
    const char *run_dir;        /* NULL = directory of the app's gramex.yaml */
    const char *const *env;     /* "NAME=VALUE" strings, NULL-terminated; NULL = none */
    const gx_node *secrets;     /* mapping of secret variables (may be NULL) */
    const char *hostname;       /* $GRAMEXHOST; NULL = apr_gethostname */
    const char *gramexdata;     /* default $GRAMEXDATA if env/secrets lack it */
    const char *gramexapps;     /* $GRAMEXAPPS (GramexApps); NULL = gx_find_gramexapps */
    const char *const *gramexapps_places;  /* for that search; NULL = gx_gramexapps_places */
} gx_load_opts;

/* Every file the load read (absolute paths, in load order), for status pages
 * and for the "never serve config files" rule. */
typedef struct {
    gx_node *config;                 /* merged config mapping (never NULL on success) */
    apr_array_header_t *files;       /* const char * */
    gx_node *variables;              /* final variable table (mapping) */
    apr_hash_t *source_files;        /* files of the source (base) layer: ours, not the app's */
    const char *gramexapps;          /* the $GRAMEXAPPS used; NULL if none was found */
} gx_loaded;

/* $GRAMEXAPPS is Gramex's bundled apps (ui, admin2, filemanager, ...): the
 * apps/ directory of the installed `gramex` Python package. Without an
 * explicit directory it is found, at config time and without running
 * Python, as the first directory of: the GRAMEXAPPS environment variable,
 * then each of `places` (globs, '*' within one component; of several
 * matches the last in plain sort order wins). NULL if none exists.
 * When none is found, every import under $GRAMEXAPPS is skipped with ONE
 * warning that lists them and names the GramexApps directive. */
extern const char *const gx_gramexapps_places[];
const char *gx_find_gramexapps(apr_pool_t *p, const char *const *env,
                               const char *const *places);

/* Returns NULL only if an error made the config unusable (errors are in d).
 * Callers must still check d->errors: any error means "refuse this config". */
gx_loaded *gx_load_app(apr_pool_t *p, const char *app_yaml, const gx_load_opts *o,
                       gx_diags *d);

/* The parts a running server keeps (config, files), copied into p. Loading
 * leaves parse trees, import intermediates and variable tables behind in its
 * own pool; this lets that pool go. */
gx_loaded *gx_loaded_clone(apr_pool_t *p, const gx_loaded *l);

#endif

/* gx_secrets_abi: what mod_gramex_secrets hands mod_gramex, as plain,
 * versioned data.
 *
 * Each module is built with its own copy of the core, so a core struct
 * (gx_node, gx_diags) must never cross from one .so to the other: the two
 * copies may come from different builds. The secrets cross as a flat array
 * of plain C values; the result says which version of this layout it uses,
 * and the reader refuses any other (a config error naming both versions:
 * no secrets, the app refused, never a guess at the layout).
 *
 * Raise GX_SECRETS_ABI_VERSION on any change to the structs below or to
 * their meaning. Only the first member of gx_secrets_result (abi_version)
 * may be read before the version is checked; it stays first forever. */
#ifndef GX_SECRETS_ABI_H
#define GX_SECRETS_ABI_H

#include "gx_node.h"
#include "gx_diag.h"
#include <apr_pools.h>
#include <apr_tables.h>

/* 0 was the unversioned gx_secrets_for_app, which passed gx_node trees */
#define GX_SECRETS_ABI_VERSION 1

/* Value types: fixed numbers, part of the version (not gx_type, which is
 * free to change). */
enum {
    GX_SV_NULL = 0,
    GX_SV_BOOL = 1,
    GX_SV_INT = 2,
    GX_SV_FLOAT = 3,
    GX_SV_STR = 4,
    GX_SV_DATE = 5,
    GX_SV_MAP = 6,
    GX_SV_LIST = 7
};

/* One value of the tree, in pre-order: a MAP of count pairs is followed by
 * its key, value, key, value...; a LIST of count items by its items. */
typedef struct {
    int type;               /* GX_SV_* */
    int count;              /* MAP: pairs; LIST: items; scalars: 0 */
    long long i;            /* INT; BOOL: 0 or 1 */
    double f;               /* FLOAT */
    const char *text;       /* scalars: the string, or the text as written; else NULL */
    const char *file;       /* where it was loaded from, or NULL */
    int line;               /* 1-based, 0 if unknown */
} gx_secrets_value;

typedef struct {
    int level;              /* 1: warning, 2: error */
    const char *file;       /* or NULL */
    int line;
    const char *msg;
} gx_secrets_message;

typedef struct {
    int abi_version;        /* always first: the GX_SECRETS_ABI_VERSION it was written with */
    int ok;                 /* 0: the secrets could not be loaded (errors in messages) */
    int nvalues;            /* values[0] is the MAP of variables when ok */
    const gx_secrets_value *values;
    int nmessages;
    const gx_secrets_message *messages;
    int nnever_serve;       /* absolute paths of every secrets file, import and cache */
    const char *const *never_serve;
} gx_secrets_result;

/* Provider side: the result for vars (a GX_MAP, or NULL after an error in
 * d), d's messages and never_serve (const char *). Strings are shared, not
 * copied: they stay in the pools they were loaded into (and are wiped with
 * them). */
gx_secrets_result *gx_secrets_export(apr_pool_t *p, const gx_node *vars, const gx_diags *d,
                                     const apr_array_header_t *never_serve);

/* Reader side: the variables r carries as a GX_MAP (strings shared with r),
 * its messages added to d and its paths to never_serve; NULL after an error
 * added to d (on app_yaml, the app refused): r is NULL (a provider without
 * the versioned interface), of another version, not ok, or malformed. */
gx_node *gx_secrets_import(apr_pool_t *p, const gx_secrets_result *r, const char *app_yaml,
                           gx_diags *d, apr_array_header_t *never_serve);

#endif

/* The optional function mod_gramex_secrets provides and mod_gramex calls
 * while loading an app (APR optional functions: neither module links the
 * other, and mod_gramex works without it). */
#ifndef GX_SECRETS_API_H
#define GX_SECRETS_API_H

#include "httpd.h"
#include "apr_optional.h"
#include "gx_secrets_abi.h"

/* Secret variables for the app whose gramex.yaml is app_yaml, as plain data
 * (gx_secrets_abi.h) in p: read it with gx_secrets_import, which checks its
 * version. abi_version is the caller's GX_SECRETS_ABI_VERSION (a provider
 * may answer in it; it says which one it used in the result). s is the
 * server the app belongs to (for its GramexSecrets* settings). This
 * signature never changes: what changes is the data, under its version. */
APR_DECLARE_OPTIONAL_FN(const gx_secrets_result *, gx_secrets_get,
                        (int abi_version, apr_pool_t *p, server_rec *s, const char *app_yaml));

/* The name under which builds before the versioned interface registered
 * theirs (it passed gx_node trees): only looked up, never called, so that
 * such a module is refused rather than taken for an absent one. */
#define GX_SECRETS_FN_UNVERSIONED "gx_secrets_for_app"

/* text with every secret value loaded in this configuration replaced by ***
 * (values of 4 bytes or more wherever they occur, shorter ones only as the
 * whole text), for pages that show config values, e.g. interpolated
 * headers. s: the request's server. */
APR_DECLARE_OPTIONAL_FN(const char *, gx_secrets_mask,
                        (apr_pool_t *p, server_rec *s, const char *text));

/* Where the cache of secrets_file's SECRETS_URL is kept under s's settings
 * (GramexSecretsCache, GramexSecretsCacheDir), for the status page; NULL if
 * it cannot be named. */
APR_DECLARE_OPTIONAL_FN(const char *, gx_secrets_cache_for,
                        (apr_pool_t *p, server_rec *s, const char *secrets_file));

#endif

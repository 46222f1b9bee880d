/* The optional function mod_gramex_secrets provides and mod_gramex calls
 * while loading an app (APR optional functions: neither module links the
 * other, and mod_gramex works without it). */
#ifndef GX_SECRETS_API_H
#define GX_SECRETS_API_H

#include "httpd.h"
#include "apr_optional.h"
#include "gx_node.h"
#include "gx_diag.h"

/* Secret variables for the app whose gramex.yaml is app_yaml: a GX_MAP
 * (empty when there is no .secrets.yaml), or NULL after an error added to d.
 * never_serve gets the absolute paths of every secrets file, import and cache
 * so that no route serves them. s is the server the app belongs to (for its
 * GramexSecrets* settings). */
APR_DECLARE_OPTIONAL_FN(gx_node *, gx_secrets_for_app,
                        (apr_pool_t *p, server_rec *s, const char *app_yaml,
                         gx_diags *d, apr_array_header_t *never_serve));

/* text with every secret value loaded in this configuration replaced by ***
 * (values of 4 bytes or more wherever they occur, shorter ones only as the
 * whole text), for pages that show config values, e.g. interpolated
 * headers. s: the request's server. */
APR_DECLARE_OPTIONAL_FN(const char *, gx_secrets_mask,
                        (apr_pool_t *p, server_rec *s, const char *text));

#endif

/* gx_yaml: parse one YAML file into a gx_node tree, as PyYAML's safe loader
 * with Gramex's ordered mapping constructor does (YAML 1.1 implicit types,
 * anchors/aliases, merge keys `<<`, duplicate keys in one mapping refused,
 * `$*` in string keys replaced by one random 5-character string per key).
 */
#ifndef GX_YAML_H
#define GX_YAML_H

#include "gx_node.h"
#include "gx_diag.h"

typedef enum {
    GX_YAML_OK = 0,
    GX_YAML_MISSING,     /* file does not exist (no diagnostic added) */
    GX_YAML_ERROR        /* unreadable / syntax / duplicate key: error added to diags */
} gx_yaml_status;

/* Parse `path` (absolute). On GX_YAML_OK *out is the document's root node
 * (GX_NULL for an empty document). On error a GX_ERROR diagnostic with
 * file:line is added. `random_keys` = 0 disables `$*` replacement (secrets files). */
gx_yaml_status gx_yaml_parse_file(apr_pool_t *p, const char *path, int random_keys,
                                  gx_node **out, gx_diags *d);
/* Same for text in memory; `name` is used as the file name in diagnostics. */
gx_yaml_status gx_yaml_parse_string(apr_pool_t *p, const char *text, apr_size_t len,
                                    const char *name, int random_keys,
                                    gx_node **out, gx_diags *d);

#endif

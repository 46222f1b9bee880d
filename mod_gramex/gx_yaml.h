/* gx_yaml: parse one YAML file into a gx_node tree, as PyYAML's safe loader
 * with Gramex's ordered mapping constructor does (YAML 1.1 implicit types,
 * anchors/aliases, merge keys `<<`, duplicate keys in one mapping refused,
 * `$*` in string keys replaced by one random 5-character string per key).
 */
#ifndef GX_YAML_H
#define GX_YAML_H

#include "gx_node.h"
#include "gx_diag.h"

/* Bounds on one file, each refused as a config error that names the
 * limit, far above any real app (a 10,000-url app in one file is about
 * 100,000 nodes and 10 levels deep):
 *   GX_YAML_MAX_BYTES        file size;
 *   GX_YAML_MAX_DEPTH        nesting of sequences and mappings (aliases
 *                            count at the depth they are used);
 *   GX_YAML_MAX_NODES        nodes made, alias copies included;
 *   GX_YAML_MAX_ALIAS_NODES  nodes all aliases of the file bring in (a 1 KB
 *                            alias bomb of 9 levels x 9 would be 387 M).
 * and on the files gx_yaml_parse_file reads into one pool (one app's load):
 *   GX_YAML_MAX_REPEAT       loads of one path (imports fanning out: six
 *                            files importing the next 10 times are 10^6 loads);
 *   GX_YAML_MAX_FILES        loads in all (the 160,000-url bench app has 16,001).
 * Once one of these two is hit, the error is added once and every later
 * gx_yaml_parse_file into that pool fails without a new diagnostic. */
#define GX_YAML_MAX_BYTES (64 * 1024 * 1024)
#define GX_YAML_MAX_DEPTH 512
#define GX_YAML_MAX_NODES 4000000L
#define GX_YAML_MAX_ALIAS_NODES 1000000L
#define GX_YAML_MAX_REPEAT 100
#define GX_YAML_MAX_FILES 100000L

typedef enum {
    GX_YAML_OK = 0,
    GX_YAML_MISSING,     /* file does not exist (no diagnostic added) */
    GX_YAML_ERROR        /* unreadable / syntax / duplicate key: error added to diags */
} gx_yaml_status;

/* Parse `path` (absolute). On GX_YAML_OK *out is the document's root node
 * (GX_NULL for an empty document). On error a GX_ERROR diagnostic with
 * file:line is added; strings holding NUL and integers beyond 64 bits are
 * errors too. The type resolvers are compiled once per pool tree (kept on
 * `p`, freed with it). `random_keys` = 0 disables `$*` replacement (secrets files). */
gx_yaml_status gx_yaml_parse_file(apr_pool_t *p, const char *path, int random_keys,
                                  gx_node **out, gx_diags *d);
/* Same for text in memory; `name` is used as the file name in diagnostics. */
gx_yaml_status gx_yaml_parse_string(apr_pool_t *p, const char *text, apr_size_t len,
                                    const char *name, int random_keys,
                                    gx_node **out, gx_diags *d);

#endif

/* gx_vars: Gramex's variable table and $VARIABLE substitution (spec b.1-b.5).
 *
 * One table (a gx_node mapping) per load, mutated file by file as Gramex
 * does. Substitution follows _substitute_variable: a value that is exactly
 * "$NAME" of a defined variable takes the variable with its type; anything
 * else is a string.Template where unknown names become "". */
#ifndef GX_VARS_H
#define GX_VARS_H

#include "gx_node.h"
#include "gx_diag.h"

gx_node *gx_vars_new(apr_pool_t *p);
void gx_vars_set(apr_pool_t *p, gx_node *vars, const char *name, gx_node *value);
void gx_vars_set_str(apr_pool_t *p, gx_node *vars, const char *name, const char *value);
gx_node *gx_vars_get(const gx_node *vars, const char *name);

/* Substitute one string node. Returns the new value node (a typed copy of a
 * variable for the whole-value form, else a GX_STR whose `src` keeps the text
 * as written), or NULL after adding an error (bare `$`, non-scalar
 * interpolated into a string). Non-strings are returned unchanged. */
gx_node *gx_vars_substitute(apr_pool_t *p, gx_node *vars, const gx_node *value, gx_diags *d);

/* Substitute every string value of a tree in place (keys never), after the
 * legacy `{.}` -> $YAMLPATH rewrite. Returns 0 on error. */
int gx_vars_substitute_tree(apr_pool_t *p, gx_node *vars, gx_node *tree, gx_diags *d);

#endif

/* gx_format: the subset of Python str.format that Gramex applies to url
 * templates ({0}, {}, {name}, {{ and }}), e.g. RedirectHandler and
 * FileHandler path mappings. No format specs or attribute access. */
#ifndef GX_FORMAT_H
#define GX_FORMAT_H

#include <apr_pools.h>

/* Looks up a named field; return NULL when absent (formats as ""). */
typedef const char *(*gx_format_lookup)(void *ctx, const char *name);

/* Returns NULL if the template is malformed (unbalanced braces, a field
 * with ':' or '!' or '.', a positional index out of range). */
char *gx_format(apr_pool_t *p, const char *tmpl, const char *const *args, int nargs,
                gx_format_lookup named, void *ctx);

/* Python's string.Template.safe_substitute: $name and ${name} replaced
 * from names[i] -> values[i]; $$ is '$'; anything else stays as written.
 * FileHandler's index_template ($path, $body) uses it. */
char *gx_dollar_format(apr_pool_t *p, const char *tmpl, const char *const *names,
                       const char *const *values, int n);

#endif

/* gx_pattern: url `pattern:` text -> the regex Gramex/Tornado really match,
 * and the sort key Gramex orders url entries by (spec e.2, e.3). */
#ifndef GX_PATTERN_H
#define GX_PATTERN_H

#include <apr_pools.h>

/* _url_normalize + Tornado's "$" suffix: "/./page" -> "/page$",
 * "/$YAMLURL/page/?" (root, after substitution "/./page/?") -> "/page/$". */
const char *gx_pattern_to_regex(apr_pool_t *p, const char *pattern);
/* The normalised pattern without the trailing "$" added by Tornado. */
const char *gx_pattern_normalize(apr_pool_t *p, const char *pattern);

/* Sort key on the substituted, un-normalised pattern. */
typedef struct {
    double priority;
    int slashes;       /* number of '/' */
    int wildcards;     /* number of '*' plus '+' */
} gx_sort_key;
gx_sort_key gx_pattern_sort_key(const char *pattern, double priority);
/* <0 if a sorts before b (higher priority first, more slashes first, fewer wildcards first). */
int gx_sort_key_cmp(const gx_sort_key *a, const gx_sort_key *b);

/* Percent-decode a captured group (Tornado: %XX decoded, '+' kept). Returns
 * NULL on a malformed escape or invalid UTF-8 (Gramex answers 400). */
char *gx_capture_decode(apr_pool_t *p, const char *s, apr_size_t len);

/* FileHandler: decoded capture -> relative path (spec f.2: urljoin('/', g),
 * leading '/' removed, twice). Never contains "..", never starts with '/'. */
char *gx_capture_to_relpath(apr_pool_t *p, const char *decoded);

#endif

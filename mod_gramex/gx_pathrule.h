/* gx_pathrule: Gramex FileHandler allow/ignore matching (spec f.5) and the
 * glob rules used by imports (spec c.2). */
#ifndef GX_PATHRULE_H
#define GX_PATHRULE_H

#include <apr_pools.h>
#include <apr_tables.h>

/* One engine for every pattern below: Python's fnmatch.translate (3.11)
 * semantics on text decoded as Python decodes file names (UTF-8, stray
 * bytes one character each), so '?' is one character and [a-z] compares
 * code points. Case folding is ASCII only (docs/decisions.md).
 *
 * gx_fnmatch_path: Gramex's allow/ignore rule, '*' matches any run including
 * '/', '?' one char, [seq], [!seq]; fnmatch(path.lower(), "*" "/" P.lower())
 * against the whole absolute path. */
int gx_fnmatch_path(const char *pattern, const char *abspath);

/* Python fnmatchcase (fold = 0) or lowercased fnmatch (fold = 1) of the
 * whole string. */
int gx_fnmatch(const char *pattern, const char *s, int fold);

/* Does any of the patterns (const char *) match, by gx_fnmatch_path? */
int gx_path_matches_any(const apr_array_header_t *patterns, const char *abspath);

/* ignore/allow decision: 1 = allowed. lists of const char* patterns. */
int gx_path_allowed(const apr_array_header_t *ignore, const apr_array_header_t *allow,
                    const char *abspath);

/* A list of allow/ignore patterns translated once (the same translation
 * gx_fnmatch_path makes per call), so a request pays no translation and no
 * allocation; decides exactly as gx_path_matches_any. */
typedef struct gx_pathset gx_pathset;
gx_pathset *gx_pathset_compile(apr_pool_t *p, const apr_array_header_t *patterns);
int gx_pathset_match(const gx_pathset *set, const char *abspath);
/* gx_path_allowed over compiled sets (NULL = empty list) */
int gx_pathset_allowed(const gx_pathset *ignore, const gx_pathset *allow, const char *abspath);

/* pathlib-style glob relative to `dir` ('*' within one component, matching
 * dot-names too; '**' any depth). Results are absolute paths sorted by path
 * components (case-sensitive). */
apr_array_header_t *gx_glob(apr_pool_t *p, const char *dir, const char *pattern);

#endif

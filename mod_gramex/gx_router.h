/* gx_router: match a request path against thousands of url regexes with a
 * cost that does not grow with the number of routes.
 *
 * Each regex's literal prefix (the text before its first regex construct)
 * goes into a byte trie; a request walks the trie along its path and only
 * the routes whose literal prefix it passed are tried, in route order,
 * with PCRE2 (JIT where available). Built once per config generation. */
#ifndef GX_ROUTER_H
#define GX_ROUTER_H

#include <apr_pools.h>
#include "gx_diag.h"

#define GX_MAX_CAPTURES 16

typedef struct gx_router gx_router;

typedef struct {
    int route;                         /* index into the regex array, -1 = no match */
    int ngroups;                       /* capture groups in that regex */
    apr_size_t ovector[2 * (GX_MAX_CAPTURES + 1)]; /* start/end pairs; unset = (size_t)-1 */
    int has_named;                     /* regex uses named groups */
    int error;                         /* PCRE2 error running that regex (match or depth
                                          limit): the route is set, and must fail closed */
} gx_match;

#define GX_ROUTER_NO_MATCH (-1)

/* Where the file system ignores case (Windows), urls match ignoring case,
 * so /ADMIN/ cannot dodge an /admin/ url and still reach admin's files. */
#ifdef _WIN32
#define GX_ROUTER_DEFAULT_CASELESS 1
#else
#define GX_ROUTER_DEFAULT_CASELESS 0
#endif

/* regexes[i] are complete patterns as gx_pattern_to_regex returns them
 * (Python re syntax, anchored at the start by the matcher, `$` at the end).
 * Python-only syntax is translated: (?P<n>..) is accepted by PCRE2 already,
 * \Z -> \z. A regex that fails to compile adds an error naming
 * names[i]/files[i]:lines[i] (any of these may be NULL) and that route never matches.
 * Compiled code is freed by a cleanup on p. */
gx_router *gx_router_build(apr_pool_t *p, const char *const *regexes, int n,
                           const char *const *names, const char *const *files,
                           const int *lines, gx_diags *d);
/* The same, choosing case-insensitive matching (gx_router_build uses
 * GX_ROUTER_DEFAULT_CASELESS). */
gx_router *gx_router_build_case(apr_pool_t *p, const char *const *regexes, int n,
                                const char *const *names, const char *const *files,
                                const int *lines, int caseless, gx_diags *d);
/* Thread-safe. Returns the matching route's index (also m->route), or
 * GX_ROUTER_NO_MATCH. A regex that fails to run sets m->error and returns
 * its route: the caller refuses the request rather than try later routes.
 * Match data comes from scratch_pool (no malloc per request). */
int gx_router_match(const gx_router *r, const char *path, apr_size_t len,
                    apr_pool_t *scratch_pool, gx_match *m);
int gx_router_count(const gx_router *r);
/* Number of routes tried for the last match statistics (for tests and bench). */
int gx_router_candidates(const gx_router *r, const char *path, apr_size_t len);

#endif

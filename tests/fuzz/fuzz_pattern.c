/* url patterns and request paths: input = pattern "\n" request path.
 * Normalise the pattern, build a router from it, match the request path,
 * and check the invariants FileHandler relies on for each capture. */
#include "fuzz_common.h"
#include "gx_pattern.h"
#include "gx_router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    gx_diags *d = gx_diags_make(p);
    char *rest = fuzz_text(p, data, size);
    const char *pattern = fuzz_split(&rest, "\n");
    const char *regex = gx_pattern_to_regex(p, pattern);
    char *path;
    gx_router *r;
    gx_match m;
    gx_pattern_normalize(p, pattern);
    gx_pattern_sort_key(pattern, 0);
    r = gx_router_build(p, &regex, 1, NULL, NULL, NULL, d);
    path = rest;
    {
        if (r && gx_router_match(r, path, strlen(path), p, &m) && m.route == 0) {
            int g;
            for (g = 1; g <= m.ngroups && g <= GX_MAX_CAPTURES; g++) {
                char *dec, *rel;
                if (m.ovector[2 * g] == (apr_size_t)-1)
                    continue;
                dec = gx_capture_decode(p, path + m.ovector[2 * g],
                                        m.ovector[2 * g + 1] - m.ovector[2 * g]);
                rel = dec ? gx_capture_to_relpath(p, dec) : NULL;
                if (rel && (rel[0] == '/' || !strcmp(rel, "..") || !strncmp(rel, "../", 3)
                            || strstr(rel, "/../")
                            || (strlen(rel) >= 3 && !strcmp(rel + strlen(rel) - 3, "/.."))))
                    abort();
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}

/* gx_router: first match in route order, captures, prefix index, and the
 * same answers as a plain linear scan for thousands of routes. */
#include "gx_test.h"
#include "gx_router.h"
#include <apr_strings.h>
#include <stdlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static int match(gx_router *r, const char *path, gx_match *m)
{
    apr_pool_t *scratch;
    int route;
    apr_pool_create(&scratch, NULL);
    route = gx_router_match(r, path, strlen(path), scratch, m);
    apr_pool_destroy(scratch);
    return route;
}

static void order_and_captures(apr_pool_t *p)
{
    const char *re[] = {"/(.*)\\.html$", "/renamed/page$", "/a/b/c/(.*)$", "/favicon.ico$", "/(.*)$"};
    gx_diags *d = gx_diags_make(p);
    gx_router *r = gx_router_build(p, re, 5, NULL, NULL, NULL, d);
    gx_match m;
    CHECK_INT(d->errors, 0);
    CHECK_INT(match(r, "/a/b/c/x.html", &m), 0);       /* spec e.3: priority wins */
    CHECK_INT(m.ovector[2], 1);
    CHECK_INT(m.ovector[3], 8);
    CHECK_INT(match(r, "/a/b/c/x.txt", &m), 2);
    CHECK_INT(match(r, "/renamed/page", &m), 1);
    CHECK_INT(match(r, "/favicon.ico", &m), 3);
    CHECK_INT(match(r, "/anything", &m), 4);
    CHECK_INT(m.ngroups, 1);
    CHECK_INT(m.has_named, 0);
    CHECK_INT(match(r, "/renamed/page/extra", &m), 4);  /* anchored at the end by $ */
}

static void dialect(apr_pool_t *p)
{
    const char *re[] = {"/n/(?P<file>[a-z]+)$", "/z/x\\Z", "/opt/?x$", "/alt|/other$", "/[(]x$"};
    gx_diags *d = gx_diags_make(p);
    gx_router *r = gx_router_build(p, re, 5, NULL, NULL, NULL, d);
    gx_match m;
    CHECK_INT(d->errors, 0);
    CHECK_INT(match(r, "/n/abc", &m), 0);
    CHECK_INT(m.has_named, 1);
    CHECK_INT(match(r, "/z/x", &m), 1);
    CHECK_INT(match(r, "/z/x\n", &m), -1);          /* Python \Z: no trailing newline */
    CHECK_INT(match(r, "/optx", &m), 2);            /* optional char not in the prefix */
    CHECK_INT(match(r, "/opt/x", &m), 2);
    CHECK_INT(match(r, "/opx", &m), -1);
    CHECK_INT(match(r, "/alt-anything", &m), 3);    /* re.match: alternation unanchored at end */
    CHECK_INT(match(r, "/other", &m), 3);
    CHECK_INT(match(r, "/(x", &m), 4);
}

static void errors(apr_pool_t *p)
{
    const char *re[] = {"/bad(", "/mixed/(?P<a>x)(y)$", "/ok$"};
    const char *names[] = {"bad", "mixed", "ok"};
    const char *files[] = {"/app/gramex.yaml", "/app/gramex.yaml", "/app/gramex.yaml"};
    int lines[] = {3, 7, 9};
    gx_diags *d = gx_diags_make(p);
    gx_router *r = gx_router_build(p, re, 3, names, files, lines, d);
    gx_match m;
    CHECK_INT(d->errors, 2);
    CHECK(strstr(gx_diags_first_error(p, d), "/app/gramex.yaml:3: url bad:") != NULL);
    CHECK_INT(match(r, "/bad(", &m), -1);
    CHECK_INT(match(r, "/ok", &m), 2);
}

/* Reference: every regex in order, no index. */
static int linear(pcre2_code **codes, int n, const char *path)
{
    pcre2_match_data *md = pcre2_match_data_create(20, NULL);
    int i, hit = -1;
    for (i = 0; i < n && hit < 0; i++)
        if (pcre2_match(codes[i], (PCRE2_SPTR)path, strlen(path), 0, 0, md, NULL) > 0)
            hit = i;
    pcre2_match_data_free(md);
    return hit;
}

static void many_routes_agree_with_linear_scan(apr_pool_t *p)
{
    enum { N = 10000, PATHS = 3000 };
    const char **re = apr_palloc(p, sizeof(char *) * N);
    pcre2_code **codes = apr_palloc(p, sizeof(*codes) * N);
    gx_diags *d = gx_diags_make(p);
    gx_router *r;
    int i, agree = 0, max_candidates = 0;
    srand(42);
    for (i = 0; i < N; i++) {
        switch (i % 5) {
        case 0: re[i] = apr_psprintf(p, "/mod%d/r%d/item/([0-9]+)/page$", i / 10, i); break;
        case 1: re[i] = apr_psprintf(p, "/api/v%d/(\\w+)$", i); break;
        case 2: re[i] = apr_psprintf(p, "/s%d/(.*)$", i % 97); break;
        case 3: re[i] = apr_psprintf(p, "/x%d\\.html?$", i); break;
        default: re[i] = apr_psprintf(p, "/(a|b)%d/y$", i); break;
        }
    }
    re[N - 1] = "/(.*)$";
    for (i = 0; i < N; i++) {
        int err;
        PCRE2_SIZE off;
        codes[i] = pcre2_compile((PCRE2_SPTR)re[i], PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED, &err, &off, NULL);
    }
    r = gx_router_build(p, re, N, NULL, NULL, NULL, d);
    CHECK_INT(d->errors, 0);
    for (i = 0; i < PATHS; i++) {
        int k = rand() % N, c;
        const char *path;
        gx_match m;
        switch (rand() % 6) {
        case 0: path = apr_psprintf(p, "/mod%d/r%d/item/%d/page", k / 10, k, rand() % 1000); break;
        case 1: path = apr_psprintf(p, "/api/v%d/%s", k, rand() % 2 ? "name" : "na-me"); break;
        case 2: path = apr_psprintf(p, "/s%d/deep/file.txt", k % 120); break;
        case 3: path = apr_psprintf(p, "/x%d.htm%s", k, rand() % 2 ? "l" : ""); break;
        case 4: path = apr_psprintf(p, "/%c%d/y", rand() % 2 ? 'a' : 'b', k); break;
        default: path = apr_psprintf(p, "/nothing/%d", k); break;
        }
        agree += match(r, path, &m) == linear(codes, N, path);
        c = gx_router_candidates(r, path, strlen(path));
        if (c > max_candidates)
            max_candidates = c;
    }
    CHECK_INT(agree, PATHS);
    /* only the routes whose literal prefix the path starts with are tried:
     * its own route, plus the 1,999 "/(a|b)N" routes and the catch-all
     * (which replaced the last of them), whose literal prefix is just "/" */
    CHECK_INT(gx_router_candidates(r, "/mod5/r50/item/1/page", 21), 1 + 1999 + 1);
    CHECK_INT(gx_router_candidates(r, "/api/v101/x", 11), 1 + 1999 + 1);
    CHECK_INT(gx_router_candidates(r, "/zzz", 4), 1999 + 1);
    for (i = 0; i < N; i++)
        pcre2_code_free(codes[i]);
}

TEST_MAIN_BEGIN
    RUN(order_and_captures);
    RUN(dialect);
    RUN(errors);
    RUN(many_routes_agree_with_linear_scan);
TEST_MAIN_END

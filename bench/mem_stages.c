/* mem_stages: what loading one app costs, stage by stage, in one process
 * (the core alone, no httpd): RSS before and after the parse, the clone the
 * server keeps, the routes and the router. For bench/RESULTS.md section 3.
 *
 *   make core && cc -O2 -std=gnu11 $(apr-1-config --includes) -Imod_gramex \
 *       bench/mem_stages.c build/libgxcore.a -lyaml -lpcre2-8 \
 *       $(apr-1-config --link-ld --libs) -lm -o build/mem_stages
 *   build/mem_stages APP/gramex.yaml conf      (conf: the GramexPath)
 *
 * Linux only (/proc/self/statm). Each stage gets a pool with its own
 * allocator, as mod_gramex_load.c does, so RSS follows what it holds. */
#include "gx_load.h"
#include "gx_app.h"
#include "gx_router.h"
#include <apr_general.h>
#include <stdio.h>
#include <stdlib.h>

static long rss_kb(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * 4;
}

static apr_pool_t *own_pool(void)
{
    apr_allocator_t *al;
    apr_pool_t *p;
    apr_allocator_create(&al);
    apr_pool_create_ex(&p, NULL, NULL, al);
    apr_allocator_owner_set(al, p);
    return p;
}

int main(int argc, char **argv)
{
    apr_pool_t *parse, *keep, *build, *router;
    gx_load_opts lo = {0};
    gx_diags *d;
    gx_loaded *l;
    gx_app *app;
    const char **regexes;
    long r0, r1, r2, r3, r4, r5;
    int i, n;

    if (argc != 3) {
        fprintf(stderr, "usage: %s APP/gramex.yaml GRAMEXPATH\n", argv[0]);
        return 2;
    }
    apr_initialize();
    parse = own_pool(), keep = own_pool(), build = own_pool(), router = own_pool();
    d = gx_diags_make(keep);
    lo.gramexpath = argv[2];
    r0 = rss_kb();
    l = gx_load_app(parse, argv[1], &lo, d);
    r1 = rss_kb();
    if (!l || d->errors) {
        fprintf(stderr, "%s does not load\n", argv[1]);
        return 1;
    }
    l = gx_loaded_clone(keep, l);
    apr_pool_destroy(parse);
    r2 = rss_kb();
    app = gx_app_build(build, l, argv[1], ".", NULL, d);
    r3 = rss_kb();
    n = app->routes->nelts;
    regexes = malloc(sizeof(*regexes) * (n ? n : 1));
    for (i = 0; i < n; i++)
        regexes[i] = APR_ARRAY_IDX(app->routes, i, gx_route *)->regex;
    r4 = rss_kb();
    gx_router_build(router, regexes, n, NULL, NULL, NULL, d);
    r5 = rss_kb();
    printf("routes: %d\n", n);
    printf("parse peak:          %6.1f MB\n", (r1 - r0) / 1024.0);
    printf("kept config:         %6.1f MB\n", (r2 - r0) / 1024.0);
    printf("app (routes+router): %6.1f MB\n", (r3 - r2) / 1024.0);
    printf("router alone:        %6.1f MB (built again for this line)\n", (r5 - r4) / 1024.0);
    return 0;
}

/* gx_decide + gx_canon: the request decision on a real app tree. The
 * spelling corpus of the access-control issue runs here in milliseconds:
 * no spelling of a guarded path may be mapped to a file. */
#include "gx_test.h"
#include "gx_decide.h"
#include "gx_canon.h"
#include "gx_load.h"
#include <apr_strings.h>

static const char *root_dir;
#include "gx_test_files.h"

static void canonical_paths(apr_pool_t *p)
{
    static const struct { const char *raw, *want; } ok[] = {
        {"/%61dmin/x", "/admin/x"}, {"/%41DMIN", "/ADMIN"}, {"/a/../admin/x", "/admin/x"},
        {"/a/%2e%2E/admin", "/admin"}, {"//x//y/", "/x/y/"}, {"/../../etc/passwd", "/etc/passwd"},
        {"/", "/"}, {"/a%20b/./c", "/a%20b/c"}, {"/a%7e%5f%2d", "/a~_-"}, {"/a%c3%a9", "/a%C3%A9"},
        {"/%2561dmin", "/%2561dmin"}, {"/a/.", "/a/"}, {"/a/..", "/"}, {"/a;x/b", "/a;x/b"},
        {"/.%2e/.%2E/x", "/x"}, {"/a/b/../../..", "/"},
    };
    static const struct { const char *raw; gx_canon_status st; } bad[] = {
        {"/a%2fb", GX_CANON_FORBIDDEN}, {"/a%2Fb", GX_CANON_FORBIDDEN}, {"/a%00", GX_CANON_FORBIDDEN},
        {"/a%5cb", GX_CANON_FORBIDDEN}, {"/a\\b", GX_CANON_FORBIDDEN}, {"/a%zz", GX_CANON_BAD_ESCAPE},
        {"/a%4", GX_CANON_BAD_ESCAPE}, {"/a%", GX_CANON_BAD_ESCAPE}, {"a/b", GX_CANON_NOT_ABSOLUTE},
    };
    apr_size_t i;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *out = NULL;
        CHECK_INT(gx_canon_path(p, ok[i].raw, strlen(ok[i].raw), &out), GX_CANON_OK);
        CHECK_STR(out, ok[i].want);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        CHECK_INT(gx_canon_path(p, bad[i].raw, strlen(bad[i].raw), &out), bad[i].st);
    }
    /* httpd's decoded r->uri, encoded back, reads as the same path */
    CHECK_STR(gx_path_encode(p, "/%61dmin/a b?#\\"), "/%2561dmin/a%20b%3F%23%5C");
}

static const char *APP_YAML =
    "url:\n"
    "  admin:\n    pattern: /$YAMLURL/admin/(.*)\n    handler: FunctionHandler\n"
    "    kwargs: {function: str}\n"
    "  members:\n    pattern: /$YAMLURL/members/(.*)\n    handler: FileHandler\n"
    "    kwargs: {path: $YAMLPATH/members/, auth: true}\n"
    "  docs:\n    pattern: /$YAMLURL/docs/(.*)\n    handler: FileHandler\n"
    "    kwargs:\n      path: $YAMLPATH/docs/\n      transform: {'*.md': {function: markdown}}\n"
    "      headers: {Content-Type: text/plain, '*.png': {X-Image: 'yes'}}\n"
    "  slow:\n    pattern: /$YAMLURL/slow/(a+)+b\n    handler: FunctionHandler\n"
    "    kwargs: {function: str}\n"
    "  ws:\n    pattern: /$YAMLURL/ws\n    handler: WebSocketHandler\n"
    "    kwargs: {on_message: {function: str}}\n"
    "  getonly:\n    pattern: /$YAMLURL/get\n    handler: FileHandler\n"
    "    kwargs: {path: $YAMLPATH/page.txt, methods: [GET]}\n"
    "  all:\n    pattern: /$YAMLURL/(.*)\n    handler: FileHandler\n"
    "    kwargs: {path: $YAMLPATH/, default_filename: index.html}\n";

static gx_app *build_app(apr_pool_t *p)
{
    gx_load_opts lo = {0};
    gx_app_opts ao = {0};
    gx_diags *d = gx_diags_make(p);
    const char *yaml = apr_pstrcat(p, root_dir, "/app/gramex.yaml", NULL);
    gx_loaded *l;
    put(p, "app/gramex.yaml", APP_YAML);
    put(p, "app/admin/secret.txt", "ADMIN-MARKER\n");
    put(p, "app/members/secret.txt", "MEMBERS-MARKER\n");
    put(p, "app/docs/page.md", "# md\n");
    put(p, "app/docs/pic.png", "png");
    put(p, "app/page.txt", "page\n");
    put(p, "app/sub/index.html", "index\n");
    lo.hostname = "testhost";
    ao.has_upstream = 1;
    l = gx_load_app(p, yaml, &lo, d);
    CHECK(l && !d->errors);
    return l ? gx_app_build(p, l, yaml, apr_pstrcat(p, root_dir, "/app", NULL), &ao, d) : NULL;
}

static gx_decision decide(apr_pool_t *p, const gx_app *app, const char *method, const char *target,
                          const char *upstream)
{
    gx_request_in in = {0};
    gx_decision d;
    char *path = apr_pstrdup(p, target), *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    in.method = method;
    in.path = path;
    in.query = q;
    in.upstream = upstream;
    gx_decide(p, app, &in, &d);
    return d;
}

/* Every letter of the guarded segment encoded or not, in upper and lower
 * hex, with dot, empty and parameter segments around it. */
static int guarded_file(const gx_decision *d)
{
    return d->file && (strstr(d->file, "/admin/secret.txt") || strstr(d->file, "/members/secret.txt"));
}

static void spelling_corpus(apr_pool_t *p, const gx_app *app)
{
    static const char *const words[] = {"admin", "members"};
    static const char *const around[] = {"/%s/secret.txt", "/x/../%s/secret.txt", "//%s//secret.txt",
                                         "/./%s/./secret.txt", "/%%2e/%s/secret.txt",
                                         "/x/%%2E%%2e/%s/secret.txt", "/%s/x/../secret.txt"};
    int w, a, leaks = 0, total = 0, guarded = 0;
    for (w = 0; w < 2; w++) {
        const char *word = words[w];
        int n = (int)strlen(word), mask, hexcase;
        for (mask = 0; mask < (1 << n); mask++) {
            for (hexcase = 0; hexcase < 2; hexcase++) {
                char seg[64] = "";
                int i;
                for (i = 0; i < n; i++) {
                    char one[8];
                    if (mask & (1 << i))
                        apr_snprintf(one, sizeof(one), hexcase ? "%%%02X" : "%%%02x", word[i]);
                    else
                        apr_snprintf(one, sizeof(one), "%c", word[i]);
                    apr_cpystrn(seg + strlen(seg), one, sizeof(seg) - strlen(seg));
                }
                for (a = 0; a < (int)(sizeof(around) / sizeof(around[0])); a++) {
                    const char *target = apr_psprintf(p, around[a], seg);
                    gx_decision d = decide(p, app, "GET", target, NULL);
                    total++;
                    if (guarded_file(&d))
                        leaks++;
                    if (d.action == GX_DO_UNAVAILABLE)
                        guarded++;
                }
            }
        }
    }
    CHECK_INT(leaks, 0);
    CHECK_INT(guarded, total);      /* each spelling reaches its guarded url */
}

static void decisions(apr_pool_t *p)
{
    gx_app *app = build_app(p);
    gx_decision d;
    if (!app)
        return;
    spelling_corpus(p, app);

    d = decide(p, app, "GET", "/admin/x", "http://127.0.0.1:9");
    CHECK_INT(d.action, GX_DO_UPSTREAM);
    CHECK_STR(d.url, "http://127.0.0.1:9/admin/x");
    d = decide(p, app, "GET", "/%61dmin/../%61dmin/secret.txt?a=1", "balancer://gx");
    CHECK_INT(d.action, GX_DO_UPSTREAM);
    CHECK_STR(d.url, "balancer://gx/admin/secret.txt");
    CHECK_STR(d.query, "a=1");

    /* per file: markdown to Gramex, the png natively, with the url's headers */
    d = decide(p, app, "GET", "/docs/page.md", "http://127.0.0.1:9");
    CHECK_INT(d.action, GX_DO_UPSTREAM);
    CHECK_STR(d.url, "http://127.0.0.1:9/docs/page.md");
    d = decide(p, app, "GET", "/docs/page.md", NULL);
    CHECK_INT(d.action, GX_DO_UNAVAILABLE);
    d = decide(p, app, "GET", "/docs/pic.png", "http://127.0.0.1:9");
    CHECK_INT(d.action, GX_DO_FILE);
    CHECK(d.file && strstr(d.file, "/app/docs/pic.png"));
    CHECK_INT(d.headers ? d.headers->nelts : 0, 2);
    CHECK_STR(APR_ARRAY_IDX(d.headers, 0, gx_header).name, "Content-Type");
    CHECK_STR(APR_ARRAY_IDX(d.headers, 0, gx_header).value, "text/plain");

    /* a regex that cannot finish fails closed, never the catch-all */
    d = decide(p, app, "GET", apr_pstrcat(p, "/slow/", apr_pstrndup(p,
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 60), "c/b", NULL), NULL);
    CHECK_INT(d.action, GX_DO_REFUSE);
    CHECK_INT(d.status, 500);
    CHECK_STR(d.route ? d.route->name : NULL, "slow");

    d = decide(p, app, "GET", "/ws", "http://127.0.0.1:9");
    CHECK_INT(d.status, 400);
    CHECK_STR(d.body, "Can \"Upgrade\" only to \"WebSocket\".");

    d = decide(p, app, "DELETE", "/get", NULL);
    CHECK_INT(d.status, 405);
    CHECK_INT(d.allow ? d.allow->nelts : 0, 1);

    d = decide(p, app, "GET", "/sub?x=1", NULL);
    CHECK_INT(d.action, GX_DO_REDIRECT);
    CHECK_STR(d.location, "/sub/?x=1");
    d = decide(p, app, "GET", "/sub/", NULL);
    CHECK_INT(d.action, GX_DO_FILE);
    CHECK(d.file && strstr(d.file, "/app/sub/index.html"));

    d = decide(p, app, "GET", "/gramex.yaml", NULL);
    CHECK_INT(d.status, 403);
    d = decide(p, app, "GET", "/a%2fb", NULL);
    CHECK_INT(d.status, 404);
    d = decide(p, app, "GET", "/page.txt%5c..%5cgramex.yaml", NULL);
    CHECK_INT(d.status, 404);
    d = decide(p, app, "GET", "/missing", NULL);
    CHECK_INT(d.status, 404);
    CHECK_STR(d.route ? d.route->name : NULL, "all");
}

/* Where the file system ignores case, so does matching. */
static void caseless_router(apr_pool_t *p)
{
    const char *re[] = {"/admin/(.*)$", "/(.*)$"};
    gx_diags *d = gx_diags_make(p);
    gx_router *r = gx_router_build_case(p, re, 2, NULL, NULL, NULL, 1, d);
    gx_match m;
    CHECK_INT(gx_router_match(r, "/ADMIN/x", 8, p, &m), 0);
    CHECK_INT(gx_router_match(r, "/AdMiN/x", 8, p, &m), 0);
    r = gx_router_build_case(p, re, 2, NULL, NULL, NULL, 0, d);
    CHECK_INT(gx_router_match(r, "/ADMIN/x", 8, p, &m), 1);
}

TEST_MAIN_BEGIN
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    root_dir = make_temp_root(p, "gx-decide-");
    RUN(canonical_paths);
    RUN(decisions);
    RUN(caseless_router);
    rm_tree(p, root_dir);
TEST_MAIN_END

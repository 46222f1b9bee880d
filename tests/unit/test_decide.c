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

    /* a browser's DELETE meets Gramex's XSRF check (403) before methods: */
    d = decide(p, app, "DELETE", "/get", NULL);
    CHECK_INT(d.status, 403);
    CHECK(!d.body && d.error_page_first && d.before_cors);

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

static gx_app *build_yaml(apr_pool_t *p, const char *dir, const char *yaml_text)
{
    gx_load_opts lo = {0};
    gx_diags *d = gx_diags_make(p);
    const char *yaml = apr_pstrcat(p, root_dir, "/", dir, "/gramex.yaml", NULL);
    gx_loaded *l;
    gx_app *app;
    put(p, apr_pstrcat(p, dir, "/gramex.yaml", NULL), yaml_text);
    lo.hostname = "testhost";
    l = gx_load_app(p, yaml, &lo, d);
    CHECK(l && !d->errors);
    app = l ? gx_app_build(p, l, yaml, apr_pstrcat(p, root_dir, "/", dir, NULL), NULL, d) : NULL;
    CHECK(app && !d->errors);
    return app;
}

/* method, target and request headers ("Name: value" lines) */
static gx_decision ask(apr_pool_t *p, const gx_app *app, const char *method, const char *target,
                       const char *headers)
{
    gx_request_in in = {0};
    gx_decision d;
    char *path = apr_pstrdup(p, target), *q = strchr(path, '?'), *line, *last;
    if (q)
        *q++ = '\0';
    in.method = method;
    in.path = path;
    in.query = q;
    for (line = headers ? apr_strtok(apr_pstrdup(p, headers), "\n", &last) : NULL; line;
         line = apr_strtok(NULL, "\n", &last)) {
        char *value = strstr(line, ": ");
        const char **to = NULL;
        *value = '\0';
        value += 2;
        if (!strcmp(line, "X-Requested-With"))
            to = &in.requested_with;
        else if (!strcmp(line, "Sec-Fetch-Mode"))
            to = &in.fetch_mode;
        else if (!strcmp(line, "X-Xsrftoken"))
            to = &in.xsrf_token;
        else if (!strcmp(line, "X-Csrftoken"))
            to = &in.csrf_token;
        else if (!strcmp(line, "Cookie"))
            to = &in.cookie;
        else if (!strcmp(line, "Content-Type"))
            to = &in.content_type;
        CHECK(to != NULL);
        if (to)
            *to = value;
    }
    gx_decide(p, app, &in, &d);
    return d;
}

static const char *METHODS_YAML =
    "url:\n"
    "  fn:\n    pattern: /$YAMLURL/fn\n    handler: FunctionHandler\n"
    "    kwargs: {function: str, methods: [post, Put]}\n"
    "  open:\n    pattern: /$YAMLURL/open\n    handler: FunctionHandler\n"
    "    kwargs: {function: str, methods: GET, xsrf_cookies: false}\n"
    "  nearly:\n    pattern: /$YAMLURL/nearly\n    handler: FunctionHandler\n"
    "    kwargs: {function: str, methods: GET, xsrf_cookies: 0}\n"
    "  old:\n    pattern: /$YAMLURL/old\n    handler: tornado.web.RedirectHandler\n"
    "    kwargs: {url: /fn}\n";

/* Tornado's send_error text for a method refused, decided with the app */
static void refused_methods(apr_pool_t *p)
{
    /* tokens Tornado cannot read; tokens too odd for us to say */
    static const char *const bad[] = {"3|x", "12|a|b|1", "2|zz|00|1", "2|aabbccdd||1",
                                      "2|aabbccdd|00|", "2|ab", "2|a|b|c|d"};
    static const char *const odd[] = {"2|aabb|00|1", "2|aabbccdd|00| 1", "t\x7f"};
    gx_app *app = build_yaml(p, "methods", METHODS_YAML);
    gx_decision d;
    apr_size_t i;
    if (!app)
        return;
    CHECK_INT(app->serve_traceback, 1);
    CHECK_INT(app->xsrf_cookies, 1);
    d = ask(p, app, "GET", "/fn", NULL);
    CHECK_INT(d.status, 405);
    CHECK_STR(d.body, "tornado.web.HTTPError: HTTP 405: Method Not Allowed (fn: method GET not in "
                      "allowed methods ['POST', 'PUT'])\n");
    CHECK_STR(d.body_type, "text/plain");
    CHECK(d.error_page_first && d.before_cors);
    CHECK_INT(d.allow ? d.allow->nelts : 0, 2);
    /* methods Tornado does not know are refused before anything names them */
    d = ask(p, app, "PROPFIND", "/fn", NULL);
    CHECK_INT(d.status, 405);
    CHECK_STR(d.body, "tornado.web.HTTPError: HTTP 405: Method Not Allowed\n");

    /* Gramex's XSRF check first: a browser's DELETE is 403, Gramex's own
     * 403 page (a template) is not ours to send */
    d = ask(p, app, "DELETE", "/fn", NULL);
    CHECK_INT(d.status, 403);
    CHECK(!d.body && !d.allow);
    /* ...which AJAX requests skip (values in any case)... */
    d = ask(p, app, "DELETE", "/fn", "X-Requested-With: xmlHttpRequest");
    CHECK_INT(d.status, 405);
    d = ask(p, app, "PATCH", "/fn", "Sec-Fetch-Mode: CORS");
    CHECK_INT(d.status, 405);
    d = ask(p, app, "PATCH", "/fn", "Sec-Fetch-Mode: navigate");
    CHECK_INT(d.status, 403);
    /* ...or a token that matches the _xsrf cookie, as Tornado decodes both:
     * "2|mask|masked|time" in hex, or bare (hex, else its bytes) */
    d = ask(p, app, "DELETE", "/fn", "X-Xsrftoken: 2|aabbccdd|abb9cfd9af|1700000000\n"
            "Cookie: a=1; _xsrf=2|10203040|1122334415|1700000000; b=2");
    CHECK_INT(d.status, 405);
    d = ask(p, app, "DELETE", "/fn", "X-Csrftoken: 2|aabbccdd|abb9cfd9af|1\n"
            "Cookie: _xsrf=0102030405");
    CHECK_INT(d.status, 405);
    d = ask(p, app, "DELETE", "/fn?a=1&%5Fxsrf=t", "Cookie: x=1;_xsrf = t ; y");
    CHECK_INT(d.status, 405);
    /* two Cookie headers, joined with ',' as Tornado joins them: one value */
    d = ask(p, app, "DELETE", "/fn?_xsrf=t", "Cookie: _xsrf=x,_xsrf=t");
    CHECK_INT(d.status, 403);
    /* the query's token comes first, then X-Xsrftoken, then X-Csrftoken */
    d = ask(p, app, "DELETE", "/fn?_xsrf=q", "X-Xsrftoken: t\nCookie: _xsrf=t");
    CHECK_STR(d.reason, "XSRF check (before the method): XSRF cookie does not match POST "
                        "argument");
    d = ask(p, app, "DELETE", "/fn", "X-Xsrftoken: \nX-Csrftoken: t\nCookie: _xsrf=t");
    CHECK_INT(d.status, 405);
    /* a token that does not match, or no cookie to match */
    d = ask(p, app, "DELETE", "/fn", "X-Xsrftoken: abc\nCookie: _xsrf=abd");
    CHECK_INT(d.status, 403);
    CHECK(!d.body);
    d = ask(p, app, "DELETE", "/fn", "X-Xsrftoken: abc");
    CHECK_STR(d.reason, "XSRF check (before the method): XSRF cookie does not match POST "
                        "argument");
    d = ask(p, app, "DELETE", "/fn", "X-Xsrftoken: 2|aabbccdd|abb9cfd9af|1\n"
            "Cookie: _xsrf=3|x");     /* a cookie Tornado cannot read: a fresh token */
    CHECK_INT(d.status, 403);
    /* a token Tornado cannot read */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = ask(p, app, "DELETE", "/fn", apr_pstrcat(p, "X-Xsrftoken: ", bad[i], "\nCookie: _xsrf=",
                                                     bad[i], NULL));
        CHECK_STR(d.reason, "XSRF check (before the method): '_xsrf' argument has invalid format");
    }
    /* where Python's reading is too subtle to copy, Gramex decides: 405 */
    for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        d = ask(p, app, "DELETE", "/fn", apr_pstrcat(p, "X-Xsrftoken: ", odd[i], NULL));
        CHECK_INT(d.status, 405);
    }
    d = ask(p, app, "DELETE", "/fn", "X-Xsrftoken: t\nCookie: _xsrf=\"t\"");
    CHECK_INT(d.status, 405);
    /* Tornado strips the last value: blank is missing */
    d = ask(p, app, "DELETE", "/fn?_xsrf=t&_xsrf=+", NULL);
    CHECK_STR(d.reason, "XSRF check (before the method): '_xsrf' argument missing from POST");
    d = ask(p, app, "DELETE", "/fn?_xsrf", "X-Xsrftoken: ");
    CHECK_INT(d.status, 403);
    /* a form body may carry _xsrf (Tornado's prefixes are case-sensitive) */
    d = ask(p, app, "DELETE", "/fn", "Content-Type: multipart/form-data; boundary=x");
    CHECK_INT(d.status, 405);
    d = ask(p, app, "DELETE", "/fn", "Content-Type: application/x-www-form-urlencoded");
    CHECK_INT(d.status, 405);
    d = ask(p, app, "DELETE", "/fn", "Content-Type: Application/X-WWW-Form-Urlencoded");
    CHECK_INT(d.status, 403);
    d = ask(p, app, "DELETE", "/fn", "Content-Type: application/json");
    CHECK_INT(d.status, 403);
    /* OPTIONS is never checked */
    d = ask(p, app, "OPTIONS", "/fn", NULL);
    CHECK_INT(d.status, 405);
    CHECK_STR(d.body, "tornado.web.HTTPError: HTTP 405: Method Not Allowed (fn: method OPTIONS "
                      "not in allowed methods ['POST', 'PUT'])\n");

    /* xsrf_cookies: false exactly turns the check off for the url */
    d = ask(p, app, "DELETE", "/open", NULL);
    CHECK_INT(d.status, 405);
    d = ask(p, app, "DELETE", "/nearly", NULL);
    CHECK_INT(d.status, 403);

    /* RedirectHandler: Tornado's own check (AJAX does not skip it), then it
     * lacks the method; its errors are Tornado's text */
    d = ask(p, app, "POST", "/old", "X-Requested-With: XMLHttpRequest");
    CHECK_INT(d.status, 403);
    CHECK_STR(d.body, "tornado.web.HTTPError: HTTP 403: Forbidden ('_xsrf' argument missing "
                      "from POST)\n");
    CHECK_STR(d.body_type, "text/plain");
    d = ask(p, app, "PUT", "/old", "X-Xsrftoken: t\nCookie: _xsrf=t");
    CHECK_INT(d.status, 405);
    CHECK_STR(d.body, "tornado.web.HTTPError: HTTP 405: Method Not Allowed\n");
    d = ask(p, app, "OPTIONS", "/old", NULL);
    CHECK_STR(d.body, "tornado.web.HTTPError: HTTP 405: Method Not Allowed\n");
    d = ask(p, app, "HEAD", "/old", NULL);
    CHECK_INT(d.status, 405);
    d = ask(p, app, "GET", "/old", NULL);
    CHECK_INT(d.action, GX_DO_REDIRECT);

    /* without serve_traceback: Tornado's HTML line; without xsrf_cookies: no check */
    app = build_yaml(p, "quiet", apr_pstrcat(p, "app: {settings: {serve_traceback: false, "
                                             "xsrf_cookies: false}}\n", METHODS_YAML, NULL));
    if (!app)
        return;
    CHECK_INT(app->serve_traceback, 0);
    CHECK_INT(app->xsrf_cookies, 0);
    d = ask(p, app, "DELETE", "/fn", NULL);
    CHECK_INT(d.status, 405);
    CHECK_STR(d.body, "<html><title>405: Method Not Allowed</title>"
                      "<body>405: Method Not Allowed</body></html>");
    CHECK_STR(d.body_type, "text/html; charset=UTF-8");
    d = ask(p, app, "POST", "/old", NULL);
    CHECK_INT(d.status, 405);
    CHECK_STR(d.body, "<html><title>405: Method Not Allowed</title>"
                      "<body>405: Method Not Allowed</body></html>");
    app = build_yaml(p, "quiet403", apr_pstrcat(p, "app: {settings: {serve_traceback: false}}\n",
                                                METHODS_YAML, NULL));
    d = ask(p, app, "POST", "/old", NULL);
    CHECK_INT(d.status, 403);
    CHECK_STR(d.body, "<html><title>403: Forbidden</title><body>403: Forbidden</body></html>");
}

static const gx_error_page *page_of(const gx_app *app, const char *url)
{
    int i;
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        if (!strcmp(rt->name, url))
            return rt->error_pages->nelts ? &APR_ARRAY_IDX(rt->error_pages, 0, gx_error_page)
                                          : NULL;
    }
    return NULL;
}

/* An error: page's Content-Type as Gramex gives it: Python's
 * mimetypes.guess_type(path, strict=False), no charset; Tornado's default
 * without a guess; the page's headers: win. */
static void error_page_types(apr_pool_t *p)
{
    static const struct { const char *file, *type; } cases[] = {
        {"e.html", "text/html"}, {"E.HTM", "text/html"}, {"e.txt", "text/plain"},
        {"e.css", "text/css"}, {"e.csv", "text/csv"}, {"e.json", "application/json"},
        {"e.md", "text/markdown"}, {"e.yaml", "text/yaml"},    /* Gramex's mime: */
        {"e.html.gz", "text/html"}, {"e.svgz", "image/svg+xml"},
        {"e.pict", "image/pict"},                   /* Python's non-strict table */
        {"e.qqq", "text/html; charset=UTF-8"}, {"notfound", "text/html; charset=UTF-8"},
        {".html", "text/html; charset=UTF-8"},      /* a dotfile has no suffix */
        {"..x.txt", "text/plain"},
    };
    const char *yaml = "url:\n";
    gx_app *app;
    const gx_error_page *e;
    apr_size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        yaml = apr_psprintf(p, "%s  u%d:\n    pattern: /$YAMLURL/u%d\n    handler: FileHandler\n"
                            "    kwargs: {path: $YAMLPATH/, error: {404: {path: $YAMLPATH/%s}}}\n",
                            yaml, (int)i, (int)i, cases[i].file);
        put(p, apr_pstrcat(p, "types/", cases[i].file, NULL), "page\n");
    }
    yaml = apr_pstrcat(p, yaml, "  own:\n    pattern: /$YAMLURL/own\n    handler: FileHandler\n"
                       "    kwargs:\n      path: $YAMLPATH/\n      error:\n        404:\n"
                       "          path: $YAMLPATH/e.html\n"
                       "          headers: {Content-Type: text/plain; charset=latin-1, X-E: 1,"
                       " Server: false}\n"
                       "mime: {.md: text/markdown, .YAML: text/yaml}\n", NULL);
    app = build_yaml(p, "types", yaml);
    if (!app)
        return;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e = page_of(app, apr_psprintf(p, "u%d", (int)i));
        CHECK_STR(e ? e->content_type : NULL, cases[i].type);
    }
    e = page_of(app, "own");
    CHECK_STR(e ? e->content_type : NULL, "text/plain; charset=latin-1");
    CHECK_STR(e ? e->body : NULL, "page\n");
    CHECK_INT(e ? e->headers->nelts : 0, 3);
    if (e && e->headers->nelts == 3) {
        CHECK_STR(APR_ARRAY_IDX(e->headers, 1, gx_header).value, "1");
        CHECK(!APR_ARRAY_IDX(e->headers, 2, gx_header).value);    /* false: removed */
    }
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
    RUN(refused_methods);
    RUN(error_page_types);
    RUN(caseless_router);
    rm_tree(p, root_dir);
TEST_MAIN_END

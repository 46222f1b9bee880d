/* What keeps a 10,000-url app small (bench/RESULTS.md section 3): the node
 * layout, key text shared in a kept clone, and one shared empty table for
 * every route without headers, error pages, lists or transforms -- while
 * each route that has them keeps its own. */
#include "gx_test.h"
#include "gx_load.h"
#include "gx_app.h"
#include "gx_yaml.h"

static const char *root_dir;
#include "gx_test_files.h"

static const char *APP_YAML =
    "url:\n"
    "  a:\n    pattern: /$YAMLURL/a\n    handler: FileHandler\n"
    "    kwargs: {path: $YAMLPATH/page.txt}\n"
    "  b:\n    pattern: /$YAMLURL/b\n    handler: FileHandler\n"
    "    kwargs: {path: $YAMLPATH/page.txt}\n"
    "  c:\n    pattern: /$YAMLURL/c\n    handler: FileHandler\n"
    "    kwargs:\n"
    "      path: $YAMLPATH/page.txt\n"
    "      headers: {X-C: yes}\n"
    "      template: true\n"
    "      default_filename: index.html\n"
    "      error: {404: {path: $YAMLPATH/404.html}}\n";

static const gx_route *route(const gx_app *app, const char *name)
{
    int i;
    for (i = 0; i < app->routes->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(app->routes, i, const gx_route *)->name, name))
            return APR_ARRAY_IDX(app->routes, i, const gx_route *);
    return NULL;
}

static void test_node_layout(apr_pool_t *p)
{
    gx_node *n = gx_node_new(p, GX_FLOAT, NULL, 0);
    (void)p;
    CHECK(sizeof(gx_node) <= 72);       /* 100,000 of them in a 10,000-url app */
    n->f = 2.5;
    CHECK(n->f == 2.5);
}

static void test_clone_shares_key_text_only(apr_pool_t *p)
{
    static const char *yaml = "a: {pattern: /x, n: 7, f: 1.5}\nb: {pattern: /x}\n";
    gx_node *tree = NULL, *c;
    apr_pool_t *kept;
    gx_diags *d = gx_diags_make(p);
    CHECK(gx_yaml_parse_string(p, yaml, strlen(yaml), "t.yaml", 0, &tree, d) == GX_YAML_OK);
    if (!tree)
        return;
    apr_pool_create(&kept, NULL);
    c = gx_node_clone(kept, tree, apr_hash_make(kept));
    {
        const gx_node *a = gx_map_get(c, "a"), *b = gx_map_get(c, "b");
        /* one copy of the key text for every map that has the key */
        CHECK(a->keys[0]->str == b->keys[0]->str);
        CHECK_STR(a->keys[0]->str, "pattern");
        CHECK(a->keys[0]->str != gx_map_get(tree, "a")->keys[0]->str);
        /* values keep their own copies: nothing written into one shows in another */
        CHECK(gx_map_get(a, "pattern")->str != gx_map_get(b, "pattern")->str);
        CHECK_STR(gx_map_get(b, "pattern")->str, "/x");
        /* the numbers survive the shared int/float slot */
        CHECK_INT(gx_map_get(a, "n")->i, 7);
        CHECK(gx_map_get(a, "f")->type == GX_FLOAT && gx_map_get(a, "f")->f == 1.5);
    }
    apr_pool_destroy(kept);
}

static void test_routes_share_empty_tables(apr_pool_t *p)
{
    gx_load_opts lo = {0};
    gx_diags *d = gx_diags_make(p);
    const char *yaml = apr_pstrcat(p, root_dir, "/app/gramex.yaml", NULL);
    const gx_route *a, *b, *c;
    gx_loaded *l;
    gx_app *app;
    put(p, "app/gramex.yaml", APP_YAML);
    put(p, "app/page.txt", "page\n");
    put(p, "app/404.html", "<p>gone</p>\n");
    lo.hostname = "testhost";
    l = gx_load_app(p, yaml, &lo, d);
    CHECK(l && !d->errors);
    if (!l)
        return;
    app = gx_app_build(p, l, yaml, apr_pstrcat(p, root_dir, "/app", NULL), NULL, d);
    CHECK(!d->errors);
    a = route(app, "a"), b = route(app, "b"), c = route(app, "c");
    CHECK(a && b && c && a->fh && b->fh && c->fh);
    if (!a || !b || !c || !a->fh || !b->fh || !c->fh)
        return;
    /* a and b have none: one empty table each kind, shared */
    CHECK(a->fh->headers == b->fh->headers);
    CHECK_INT(a->fh->headers->nelts, 0);
    CHECK(a->error_pages == b->error_pages);
    CHECK_INT(a->error_pages->nelts, 0);
    CHECK(a->fh->default_filename == b->fh->default_filename);
    CHECK_INT(a->fh->default_filename->nelts, 0);
    CHECK(a->fh->transforms == b->fh->transforms);
    CHECK(a->fh->transform_set == b->fh->transform_set);
    CHECK(!gx_pathset_match(a->fh->transform_set, "/x/page.txt"));
    /* c has each: its own, with what it says */
    CHECK(c->fh->headers != a->fh->headers);
    CHECK_INT(c->fh->headers->nelts, 1);
    CHECK_STR(APR_ARRAY_IDX(c->fh->headers, 0, gx_header).name, "X-C");
    CHECK(c->error_pages != a->error_pages);
    CHECK_INT(c->error_pages->nelts, 1);
    CHECK_INT(APR_ARRAY_IDX(c->error_pages, 0, gx_error_page).status, 404);
    CHECK_INT(c->fh->default_filename->nelts, 1);
    CHECK_STR(APR_ARRAY_IDX(c->fh->default_filename, 0, const char *), "index.html");
    CHECK(c->fh->transform_set != a->fh->transform_set);
    CHECK(gx_pathset_match(c->fh->transform_set, "/x/page.txt"));   /* template: true */
    /* the shared empty tables are still empty after building c */
    CHECK_INT(a->fh->headers->nelts, 0);
    CHECK_INT(a->error_pages->nelts, 0);
    CHECK_INT(a->fh->transforms->nelts, 0);
}

TEST_MAIN_BEGIN
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    root_dir = make_temp_root(p, "gx-memory-");
    RUN(test_node_layout);
    RUN(test_clone_shares_key_text_only);
    RUN(test_routes_share_empty_tables);
    rm_tree(p, root_dir);
    apr_pool_destroy(p);
TEST_MAIN_END

/* $GRAMEXAPPS (issue 9 item 2): given, found from the environment or a
 * gramex package at a well-known place, or not found (one warning that
 * lists the skipped imports and names GramexApps). Trees in a temp dir. */
#include "gx_test.h"
#include "gx_load.h"
#include "gx_json.h"
#include <apr_strings.h>
#include <apr_file_io.h>

static const char *root_dir;

#include "gx_test_files.h"

static const char *at(apr_pool_t *p, const char *rel)
{
    return apr_pstrcat(p, root_dir, "/", rel, NULL);
}

/* A guide-like app: the ui import as the guide writes it, and a second one. */
static const char app_yaml[] =
    "import:\n"
    "  ui:\n"
    "    path: $GRAMEXAPPS/ui/gramex.yaml\n"
    "    YAMLURL: $YAMLURL/ui/\n"
    "  logs: $GRAMEXAPPS/logviewer/gramex.yaml\n"
    "url:\n"
    "  home: {pattern: /$YAMLURL/, handler: FileHandler, kwargs: {path: $YAMLPATH/index.html}}\n";

static const char *const no_places[] = {NULL};

static gx_loaded *load(apr_pool_t *p, const char *apps, const char *const *env,
                       const char *const *places, gx_diags *d)
{
    gx_load_opts o = {0};
    o.gramexpath = at(p, "gramexpath");
    o.gramexapps = apps;
    o.env = env;
    o.gramexapps_places = places;
    o.hostname = "testhost";
    return gx_load_app(p, at(p, "app/gramex.yaml"), &o, d);
}

static const char *url_field(apr_pool_t *p, gx_loaded *l, const char *name, const char *field)
{
    gx_node *v = gx_map_get(gx_map_get(gx_map_get(l->config, "url"), name), field);
    return v ? gx_json_string(p, v, -1, NULL) : "(missing)";
}

static void put_apps(apr_pool_t *p, const char *dir)
{
    put(p, apr_pstrcat(p, dir, "/ui/gramex.yaml", NULL),
        "url:\n  apps/ui/theme:\n    pattern: /$YAMLURL/theme/(.*)\n    handler: FileHandler\n"
        "    kwargs: {path: $YAMLPATH/theme/}\n");
    /* as Gramex's logviewer: a Python condition on a schedule: key */
    put(p, apr_pstrcat(p, dir, "/logviewer/gramex.yaml", NULL),
        "url:\n  apps/logviewer:\n    pattern: /$YAMLURL/log\n    handler: FunctionHandler\n"
        "schedule:\n  apps/logviewer-$* if f'--port={P}' in ''.join(sys.argv[1:]) or not P:\n"
        "    function: logviewer.summarize\n");
}

static void find_order(apr_pool_t *p)
{
    const char *env[] = {"HOME=/x", NULL, NULL};
    const char *places[] = {NULL, NULL, NULL};
    put_apps(p, "site/lib/python3.9/dist-packages/gramex/apps");
    put_apps(p, "site/lib/python3.11/dist-packages/gramex/apps");
    put_apps(p, "envapps");
    put(p, "plain/gramex/apps/ui/gramex.yaml", "url: {}\n");
    places[0] = at(p, "nowhere/gramex/apps");
    places[1] = at(p, "site/lib/python3*/dist-packages/gramex/apps");

    /* the environment variable first, when it names a directory */
    env[1] = apr_pstrcat(p, "GRAMEXAPPS=", at(p, "envapps"), NULL);
    CHECK_STR(gx_find_gramexapps(p, env, places), at(p, "envapps"));
    /* a stale one is passed over; the globbed place's last match wins
     * (sort order: python3.9 after python3.11) */
    env[1] = apr_pstrcat(p, "GRAMEXAPPS=", at(p, "gone"), NULL);
    CHECK_STR(gx_find_gramexapps(p, env, places),
              at(p, "site/lib/python3.9/dist-packages/gramex/apps"));
    /* places in order: a plain path ahead of the glob wins */
    places[0] = at(p, "plain/gramex/apps");
    CHECK_STR(gx_find_gramexapps(p, NULL, places), at(p, "plain/gramex/apps"));
    /* nothing anywhere */
    CHECK(gx_find_gramexapps(p, NULL, no_places) == NULL);
    env[1] = "GRAMEXAPPS=";
    CHECK(gx_find_gramexapps(p, env, no_places) == NULL);
    /* the shipped list is globs of site/dist-packages */
    CHECK(gx_gramexapps_places[0] && strstr(gx_gramexapps_places[0], "/gramex/apps"));
}

static void imports_load(apr_pool_t *p)
{
    const char *env[] = {NULL, NULL};
    gx_diags *d = gx_diags_make(p);
    gx_loaded *l;
    put(p, "app/gramex.yaml", app_yaml);
    put_apps(p, "given/apps");
    put_apps(p, "envapps2");

    /* GramexApps given: its urls route like the app's own, with their
     * YAMLPATH in the apps dir and the importer's YAMLURL */
    l = load(p, at(p, "given/apps"), NULL, no_places, d);
    CHECK_INT(d->errors, 0);
    CHECK_INT(d->warnings, 0);
    CHECK_STR(l->gramexapps, at(p, "given/apps"));
    CHECK_STR(url_field(p, l, "apps/ui/theme", "pattern"), "\"/./ui/theme/(.*)\"");
    CHECK_STR(url_field(p, l, "apps/ui/theme", "kwargs"),
              apr_psprintf(p, "{\"path\": \"%s/given/apps/ui/theme/\"}", root_dir));
    CHECK_STR(url_field(p, l, "apps/logviewer", "handler"), "\"FunctionHandler\"");
    CHECK_STR(url_field(p, l, "home", "pattern"), "\"/./\"");
    /* a Python condition inside a section only Gramex runs is left to Gramex */
    CHECK(gx_map_get(l->config, "schedule")->n == 1);

    /* ... but one on a url is still refused: Apache would route by it */
    d = gx_diags_make(p);
    put(p, "cond/gramex.yaml", "url:\n  x if sys.argv: {pattern: /$YAMLURL/x, handler: "
        "FileHandler}\n");
    {
        gx_load_opts o = {0};
        o.gramexapps = at(p, "given/apps");
        CHECK(gx_load_app(p, at(p, "cond/gramex.yaml"), &o, d) == NULL);
        CHECK(strstr(gx_diags_first_error(p, d), "is Python, which Apache cannot evaluate"));
    }

    /* not given: found from the environment */
    d = gx_diags_make(p);
    env[0] = apr_pstrcat(p, "GRAMEXAPPS=", at(p, "envapps2"), NULL);
    l = load(p, NULL, env, no_places, d);
    CHECK_INT(d->warnings, 0);
    CHECK_STR(l->gramexapps, at(p, "envapps2"));
    CHECK_STR(url_field(p, l, "apps/ui/theme", "kwargs"),
              apr_psprintf(p, "{\"path\": \"%s/envapps2/ui/theme/\"}", root_dir));
}

static void not_found_warns_once(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    gx_loaded *l;
    const gx_diag *w;
    const char *expected_example;
    put(p, "app/sub/gramex.yaml", "import: $GRAMEXAPPS/admin2/gramex.yaml\n"
        "url:\n  s: {pattern: /$YAMLURL/s, handler: FileHandler}\n");
    put(p, "app/more.yaml", "import:\n  sub: sub/gramex.yaml\n  gone: missing.yaml\n");
    put(p, "app/gramex.yaml",
        "import:\n  ui: {path: $GRAMEXAPPS/ui/gramex.yaml, YAMLURL: $YAMLURL/ui/}\n"
        "  logs: $GRAMEXAPPS/logviewer/gramex.yaml\n  more: more.yaml\n"
        "url:\n  home: {pattern: /$YAMLURL/, handler: FileHandler}\n");

    l = load(p, NULL, NULL, no_places, d);
    CHECK(l != NULL);
    CHECK_INT(d->errors, 0);
    /* the app's own missing import keeps its own warning; the three
     * $GRAMEXAPPS imports share one */
    CHECK_INT(d->warnings, 2);
    CHECK(l->gramexapps == NULL);
    CHECK_STR(url_field(p, l, "home", "pattern"), "\"/./\"");
    CHECK_STR(url_field(p, l, "s", "pattern"), "\"/sub/s\"");
    CHECK(gx_map_get(gx_map_get(l->config, "url"), "apps/ui/theme") == NULL);
    w = &APR_ARRAY_IDX(d->items, 0, gx_diag);
    CHECK(strstr(w->msg, "Missing config:") && strstr(w->msg, "missing.yaml"));
    w = &APR_ARRAY_IDX(d->items, d->items->nelts - 1, gx_diag);
    /* the example is where pip puts gramex on this platform */
#ifdef _WIN32
    expected_example = "C:/Python311/Lib/site-packages/gramex/apps";
#else
    expected_example = "/usr/local/lib/python3.11/dist-packages/gramex/apps";
#endif
    CHECK_INT(w->level, GX_WARN);
    CHECK(w->file == NULL);
    CHECK_STR(w->msg, apr_psprintf(p,
              "Gramex's bundled apps ($GRAMEXAPPS) were not found (no GRAMEXAPPS environment "
              "variable, no gramex Python package at the usual places), so 3 imports of them "
              "are skipped: %s/app/gramex.yaml:2 (ui/gramex.yaml), %s/app/gramex.yaml:3 "
              "(logviewer/gramex.yaml), %s/app/sub/gramex.yaml:1 (admin2/gramex.yaml). Set GramexApps to the apps/ directory of the gramex "
              "package, e.g. GramexApps %s",
              root_dir, root_dir, root_dir, expected_example));

    /* GramexApps given but the import is not there: an ordinary missing
     * import, not the "not found" warning */
    d = gx_diags_make(p);
    put(p, "empty-apps/README", "x\n");
    l = load(p, at(p, "empty-apps"), NULL, no_places, d);
    CHECK_INT(d->warnings, 4);
    w = &APR_ARRAY_IDX(d->items, d->items->nelts - 1, gx_diag);
    CHECK(strstr(w->msg, "Missing config:") != NULL);
}

TEST_MAIN_BEGIN
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    root_dir = make_temp_root(p, "gx-apps-");
    RUN(find_order);
    RUN(imports_load);
    RUN(not_found_warns_once);
    rm_tree(p, root_dir);
TEST_MAIN_END

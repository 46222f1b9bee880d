/* gx_load + gx_vars: the spec's worked examples (b.2 YAMLURL table, b.3/b.4
 * substitution, c.1 import forms, c.4 import.merge, c.7 namespaces, d.1
 * layers) on app trees written to a temp dir. */
#include "gx_test.h"
#include "gx_load.h"
#include "gx_vars.h"
#include "gx_json.h"
#include "gx_path.h"
#include <apr_strings.h>
#include <apr_file_io.h>

static const char *root_dir;
#include "gx_test_files.h"

static gx_loaded *load(apr_pool_t *p, const char *rel, const char *const *env, gx_diags *d)
{
    gx_load_opts o = {0};
    o.env = env;
    o.hostname = "testhost";
    return gx_load_app(p, apr_pstrcat(p, root_dir, "/", rel, NULL), &o, d);
}

static const char *url_field(apr_pool_t *p, gx_loaded *l, const char *name, const char *field)
{
    gx_node *u = gx_map_get(gx_map_get(l->config, "url"), name);
    gx_node *v = gx_map_get(u, field);
    return v ? gx_json_string(p, v, -1, NULL) : "(missing)";
}

static void yamlurl_table(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    gx_loaded *l;
    put(p, "t1/gramex.yaml",
        "import:\n"
        "  sub: sub/gramex.yaml\n"
        "  ui: {path: sub/gramex.yaml, YAMLURL: $YAMLURL/app1/ui/, namespace: url}\n"
        "  mnt: {path: sub/gramex.yaml, YAMLURL: /mnt/, namespace: url}\n"
        "  top: {path: sub/gramex.yaml, YAMLURL: /, namespace: url}\n"
        "  out: ../t1-outside/x/gramex.yaml\n"
        "url:\n  root: {pattern: /$YAMLURL/page, handler: FileHandler}\n"
        "  renamed: {pattern: /$YAMLURL/../renamed/page, handler: FileHandler}\n");
    put(p, "t1/sub/gramex.yaml", "url:\n  s: {pattern: /$YAMLURL/page, handler: FileHandler,"
        " kwargs: {yp: $YAMLPATH}}\n");
    put(p, "t1-outside/x/gramex.yaml", "url:\n  o: {pattern: /$YAMLURL/page, handler: FileHandler,"
        " kwargs: {yp: $YAMLPATH}}\n");
    l = load(p, "t1/gramex.yaml", NULL, d);
    CHECK_INT(d->errors, 0);
    CHECK_STR(url_field(p, l, "root", "pattern"), "\"/./page\"");
    CHECK_STR(url_field(p, l, "renamed", "pattern"), "\"/./../renamed/page\"");
    CHECK_STR(url_field(p, l, "s", "pattern"), "\"/sub/page\"");
    CHECK_STR(url_field(p, l, "ui:sub/gramex.yaml:s", "pattern"), "\"/./app1/ui/page\"");
    CHECK_STR(url_field(p, l, "mnt:sub/gramex.yaml:s", "pattern"), "\"/mnt/page\"");
    CHECK_STR(url_field(p, l, "top:sub/gramex.yaml:s", "pattern"), "\"//page\"");
    CHECK_STR(url_field(p, l, "o", "pattern"), "\"/../t1-outside/x/page\"");
    /* YAMLPATH is joined, not normalised (b.1 step 5) */
    CHECK_STR(gx_map_get(gx_map_get(gx_map_get(gx_map_get(l->config, "url"), "o"), "kwargs"), "yp")->str,
              apr_pstrcat(p, root_dir, "/t1/../t1-outside/x", NULL));
}

static void substitution(apr_pool_t *p)
{
    const char *env[] = {"HOME=/home/u", "FROMENV=e", NULL};
    gx_diags *d = gx_diags_make(p);
    gx_loaded *l;
    gx_node *kw;
    put(p, "t2/gramex.yaml",
        "variables:\n"
        "  URLROOT: /site\n"
        "  HOME: {default: /x}\n"
        "  PAGE: $URLROOT/page\n"
        "  PORT: 8080\n"
        "  FROMENV: {default: d}\n"
        "  NEW: {default: n}\n"
        "url:\n  x:\n    pattern: /$YAMLURL/x\n    handler: FileHandler\n    kwargs:\n"
        "      home: $HOME\n      page: $PAGE\n      port: $PORT\n      portstr: \"${PORT}\"\n"
        "      env: $FROMENV\n      new: $NEW\n      host: $GRAMEXHOST\n      legacy: \"{.}/d\"\n"
        "      dollars: \"a$$b\"\n");
    l = load(p, "t2/gramex.yaml", env, d);
    CHECK_INT(d->errors, 0);
    kw = gx_map_get(gx_map_get(gx_map_get(l->config, "url"), "x"), "kwargs");
    CHECK_STR(gx_json_string(p, kw, -1, NULL), apr_psprintf(p,
              "{\"home\": \"/home/u\", \"page\": \"/site/page\", \"port\": 8080, \"portstr\": "
              "\"8080\", \"env\": \"e\", \"new\": \"n\", \"host\": \"testhost\", \"legacy\": "
              "\"%s/t2/d\", \"dollars\": \"a$b\"}", root_dir));
    /* `src` keeps the text as written, for the /$YAMLURL/ warning */
    CHECK_STR(gx_map_get(gx_map_get(gx_map_get(l->config, "url"), "x"), "pattern")->src, "/$YAMLURL/x");
}

static void errors(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    put(p, "t3/gramex.yaml", "url:\n  x: {pattern: /data$, handler: FileHandler}\n");
    CHECK(load(p, "t3/gramex.yaml", NULL, d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "t3/gramex.yaml:2: '$' not followed by a name") != NULL);

    d = gx_diags_make(p);
    put(p, "t4/gramex.yaml", "import: a.yaml\n");
    put(p, "t4/a.yaml", "import: b.yaml\n");
    put(p, "t4/b.yaml", "import: a.yaml\n");
    CHECK(load(p, "t4/gramex.yaml", NULL, d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "t4/b.yaml:1: import cycle:") != NULL);

    d = gx_diags_make(p);
    put(p, "t5/gramex.yaml", "import: [missing.yaml]\nurl: {}\n");
    CHECK(load(p, "t5/gramex.yaml", NULL, d) != NULL);
    CHECK_INT(d->errors, 0);
    CHECK_INT(d->warnings, 1);

    d = gx_diags_make(p);
    put(p, "t6/gramex.yaml", "import: {x: {namespace: url}}\n");
    CHECK(load(p, "t6/gramex.yaml", NULL, d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "has no path") != NULL);

    d = gx_diags_make(p);
    put(p, "t7/gramex.yaml", "import: /abs/*/gramex.yaml\n");
    CHECK(load(p, "t7/gramex.yaml", NULL, d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "absolute") != NULL);

    d = gx_diags_make(p);
    put(p, "t8/gramex.yaml", "url:\n  a if os.name == 'nt': {pattern: /x}\n");
    CHECK(load(p, "t8/gramex.yaml", NULL, d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "Python") != NULL);
}

static void merges_conditions_layers(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    gx_loaded *l;
    gx_load_opts o = {0};
    put(p, "t9/base.yaml", "url:\n  default: {pattern: /(.*), handler: FileHandler}\n"
        "  favicon: {pattern: /favicon.ico, handler: FileHandler}\napp: {a: 1, b: {c: 2}}\n");
    put(p, "t9/gramex.yaml",
        "variables: {queries: {sales: SELECT 1}}\n"
        "q: {sales: SELECT 0, cost: SELECT 2, import.merge: $queries}\n"
        "url:\n  favicon: null\n"
        "  first if True: {pattern: /1}\n  middle: {pattern: /m}\n  first: {pattern: /0}\n"
        "  gone if 0: {pattern: /g}\n"
        "app: {b: {d: 3}}\n"
        "import: {x: {path: sub.yaml, namespace: '*', V: {k: 1}}}\n");
    put(p, "t9/sub.yaml", "url:\n  middle: {pattern: /other, extra: 1}\nflag: $V\n");
    o.base_layer = apr_pstrcat(p, root_dir, "/t9/base.yaml", NULL);
    l = gx_load_app(p, apr_pstrcat(p, root_dir, "/t9/gramex.yaml", NULL), &o, d);
    CHECK_INT(d->errors, 0);
    CHECK_STR(gx_json_string(p, gx_map_get(l->config, "q"), -1, NULL),
              "{\"sales\": \"SELECT 1\", \"cost\": \"SELECT 2\"}");
    /* layers: null deletes favicon; conditional key moved to the end and won */
    CHECK_STR(gx_json_string(p, gx_map_get(l->config, "url"), -1, NULL),
              "{\"default\": {\"pattern\": \"/(.*)\", \"handler\": \"FileHandler\"}, \"middle\": "
              "{\"pattern\": \"/m\"}, \"first\": {\"pattern\": \"/1\"}}");
    CHECK_STR(gx_json_string(p, gx_map_get(l->config, "app"), -1, NULL),
              "{\"a\": 1, \"b\": {\"c\": 2, \"d\": 3}}");
    /* namespace '*': top-level keys of sub.yaml are prefixed, values typed */
    CHECK_STR(gx_json_string(p, gx_map_get(l->config, "x:sub.yaml:flag"), -1, NULL), "{\"k\": 1}");
    CHECK(gx_map_get(l->config, "x:sub.yaml:url") != NULL);
    CHECK_INT(l->files->nelts, 3);
}

/* The core's one path form (gx_path.h); Windows rules where the build is for Windows. */
static void path_form(apr_pool_t *p)
{
    CHECK_STR(gx_path_dirname(p, "/a/b"), "/a");
    CHECK_STR(gx_path_dirname(p, "/a"), "/");
    CHECK_STR(gx_path_dirname(p, "/"), "/");
    CHECK_STR(gx_path_dirname(p, "a"), ".");
    CHECK_STR(gx_path_dirname(p, "a/b/"), "a/b");
    CHECK(gx_path_under("/srv/app/x", "/srv/app"));
    CHECK(gx_path_under("/srv/app/x", "/srv/app/"));
    CHECK(!gx_path_under("/srv/apple", "/srv/app"));
    CHECK(gx_path_is_absolute("/srv/app"));
    CHECK(!gx_path_is_absolute("srv/app"));
    CHECK(!gx_path_is_absolute(""));
#if GX_PATH_ICASE
    CHECK(gx_path_is_absolute("C:/apps"));
    CHECK(gx_path_is_absolute("c:apps"));
    CHECK(gx_path_is_absolute("\\apps"));
    CHECK_STR(gx_path_dirname(p, "C:/a"), "C:/");
    CHECK_STR(gx_path_dirname(p, "C:\\apps\\x\\gramex.yaml"), "C:\\apps\\x");
    CHECK_STR(gx_path_slashes(p, "C:\\apps\\x"), "C:/apps/x");
    CHECK(gx_path_under("c:/Apps/X/Gramex.yaml", "C:/apps/x"));
    CHECK_INT(gx_path_cmp("C:/Apps/gramex.YAML", "c:/apps/gramex.yaml"), 0);
#else
    CHECK_STR(gx_path_dirname(p, "C:/a"), "C:");
    CHECK_STR(gx_path_slashes(p, "a\\b"), "a\\b");     /* a name character on POSIX */
    CHECK(!gx_path_is_absolute("C:/apps"));                /* pathlib on POSIX: relative */
    CHECK(!gx_path_is_absolute("\\apps"));
    CHECK(!gx_path_under("/Srv/app/x", "/srv/app"));
    CHECK(gx_path_cmp("/a/B", "/a/b") != 0);
#endif
}

/* A Windows user's backslashes and case: files come back in the core's form,
 * so a file in a sub-app has a relative path, not "../C:/..". */
static void native_paths(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    gx_loaded *l;
    const char *yaml, *sub;
    put(p, "t9/gramex.yaml", "import: sub/gramex.yaml\n");
    put(p, "t9/sub/gramex.yaml", "app: {k: $YAMLPATH}\n");
    yaml = apr_pstrcat(p, root_dir, "/t9/gramex.yaml", NULL);
#if GX_PATH_ICASE
    {
        char *c, *w = apr_pstrdup(p, yaml);
        for (c = w; *c; c++)
            if (*c == '/')
                *c = '\\';
        yaml = w;
    }
#endif
    {
        gx_load_opts o = {0};
        o.hostname = "testhost";
        l = gx_load_app(p, yaml, &o, d);
    }
    CHECK_INT(d->errors, 0);
    sub = apr_pstrcat(p, root_dir, "/t9/sub", NULL);
    CHECK_STR(gx_json_string(p, gx_map_get(gx_map_get(l->config, "app"), "k"), -1, NULL),
              apr_psprintf(p, "\"%s\"", sub));
    CHECK_INT(l->files->nelts, 2);
    CHECK(l->files->nelts == 2
          && !gx_path_cmp(APR_ARRAY_IDX(l->files, 1, const char *),
                          apr_pstrcat(p, sub, "/gramex.yaml", NULL)));
}

TEST_MAIN_BEGIN
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    root_dir = make_temp_root(p, "gx-load-");
    RUN(yamlurl_table);
    RUN(substitution);
    RUN(errors);
    RUN(merges_conditions_layers);
    RUN(path_form);
    RUN(native_paths);
    rm_tree(p, root_dir);
TEST_MAIN_END

/* gramex-config: load a gramex.yaml exactly as mod_gramex does (same core
 * code) and show the result: check | dump | routes | match. */
#include "gx_load.h"
#include "gx_app.h"
#include "gx_decide.h"
#include "gx_json.h"
#include "gx_env.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include <apr_env.h>
#include <stdio.h>
#include <string.h>
#ifdef GX_WITH_SECRETS
#include "gx_sec_load.h"
#include <curl/curl.h>
#endif

/* Where `apxs-build.sh install` puts deploy.yaml; on Windows there is no
 * fixed place: give --gramexpath or $GRAMEXPATH. */
#ifndef GX_DEFAULT_GRAMEXPATH
#ifdef _WIN32
#define GX_DEFAULT_GRAMEXPATH "gramex"
#else
#define GX_DEFAULT_GRAMEXPATH "/usr/share/apache2/gramex"
#endif
#endif

static int usage(void)
{
    fprintf(stderr,
            "usage: gramex-config check|dump|routes [options] PATH/gramex.yaml\n"
            "       gramex-config match [options] PATH/gramex.yaml URL...\n"
            "  check            print errors and warnings; exit 1 on errors\n"
            "  dump             resolved url:, handlers: and app: as JSON\n"
            "  routes           the route table in match order (--json: one object per route)\n"
            "  match            how mod_gramex answers each URL (path?query): JSON per line\n"
            "options:\n"
            "  --gramexpath DIR $GRAMEXPATH (default: $GRAMEXPATH env, else %s)\n"
            "  --upstream       assume GramexUpstream is set (no 503 warnings)\n"
            "  --method M       request method for match (default GET)\n"
            "  --json           machine-readable output (routes)\n"
            "  --show-secrets   do not redact secret values (dump)\n",
            GX_DEFAULT_GRAMEXPATH);
    return 2;
}

static void print_diags(const gx_diags *d, apr_pool_t *p, int min_level)
{
    static const char *const names[] = {"info", "warning", "error"};
    int i;
    for (i = 0; i < d->items->nelts; i++) {
        const gx_diag *item = &APR_ARRAY_IDX(d->items, i, gx_diag);
        if ((int)item->level >= min_level)
            fprintf(stderr, "gramex: %s: %s\n", names[item->level], gx_diag_format(p, item));
    }
}

static gx_node *route_json(apr_pool_t *p, const gx_route *rt)
{
    gx_node *o = gx_map_new(p, NULL, 0), *prio;
    gx_map_set(p, o, "name", gx_str_new(p, rt->name, NULL, 0));
    gx_map_set(p, o, "pattern", gx_str_new(p, rt->pattern, NULL, 0));
    gx_map_set(p, o, "regex", gx_str_new(p, rt->regex, NULL, 0));
    gx_map_set(p, o, "handler", gx_str_new(p, rt->handler, NULL, 0));
    if (rt->priority == (double)(long long)rt->priority) {
        prio = gx_int_new(p, (long long)rt->priority, NULL, 0);
    }
    else {
        prio = gx_node_new(p, GX_FLOAT, NULL, 0);
        prio->f = rt->priority;
    }
    gx_map_set(p, o, "priority", prio);
    gx_map_set(p, o, "kwargs", rt->kwargs);
    gx_map_set(p, o, "source", gx_str_new(p, rt->file ? apr_psprintf(p, "%s:%d", rt->file, rt->line)
                                          : "(built-in)", NULL, 0));
    gx_map_set(p, o, "apache", gx_str_new(p, gx_kind_name(rt->kind), NULL, 0));
    return o;
}

static void print_table(const gx_app *app)
{
    int i, wn = 4, wp = 7, wh = 7;
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        int n = (int)strlen(rt->name), pl = (int)strlen(rt->regex), h = (int)strlen(rt->handler);
        wn = n > wn ? n : wn;
        wp = pl > wp ? pl : wp;
        wh = h > wh ? h : wh;
    }
    printf("%-4s %-*s %-*s %-*s %-8s %8s  %s\n", "#", wn, "name", wp, "regex", wh, "handler",
           "apache", "priority", "source");
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        printf("%-4d %-*s %-*s %-*s %-8s %8g  %s:%d\n", i + 1, wn, rt->name, wp, rt->regex, wh,
               rt->handler, gx_kind_name(rt->kind), rt->priority, rt->file ? rt->file : "-",
               rt->line);
    }
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    const char *cmd, *yaml = NULL, *gramexpath = NULL, *run_dir;
    int json = 0, show_secrets = 0, upstream = 0, i, rc = 0;
    const char *method = "GET";
    apr_array_header_t *targets;
    char *abs_yaml = NULL;
    gx_load_opts lo = {0};
    gx_app_opts ao = {0};
    gx_diags *d;
    gx_loaded *loaded;
    gx_app *app = NULL;

    if (argc < 3)
        return usage();
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    cmd = argv[1];
    targets = apr_array_make(p, 4, sizeof(const char *));
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--show-secrets"))
            show_secrets = 1;
        else if (!strcmp(argv[i], "--upstream"))
            upstream = 1;
        else if (!strcmp(argv[i], "--gramexpath") && i + 1 < argc)
            gramexpath = argv[++i];
        else if (!strcmp(argv[i], "--method") && i + 1 < argc)
            method = argv[++i];
        else if (argv[i][0] == '-')
            return usage();
        else if (!yaml)
            yaml = argv[i];
        else
            APR_ARRAY_PUSH(targets, const char *) = argv[i];
    }
    if (!yaml || (strcmp(cmd, "check") && strcmp(cmd, "dump") && strcmp(cmd, "routes")
                  && strcmp(cmd, "match"))
        || (targets->nelts && strcmp(cmd, "match")) || (!targets->nelts && !strcmp(cmd, "match")))
        return usage();
    if (!gramexpath && apr_env_get((char **)&gramexpath, "GRAMEXPATH", p) != APR_SUCCESS)
        gramexpath = GX_DEFAULT_GRAMEXPATH;
    {
        char *cwd, *abs_gp = NULL;
        apr_filepath_get(&cwd, APR_FILEPATH_NATIVE, p);
        apr_filepath_merge(&abs_yaml, cwd, yaml, APR_FILEPATH_NATIVE, p);
        if (apr_filepath_merge(&abs_gp, cwd, gramexpath, APR_FILEPATH_NATIVE, p) == APR_SUCCESS)
            gramexpath = abs_gp;
    }
    {
        char *slash = strrchr(abs_yaml, '/');
        run_dir = slash ? apr_pstrmemdup(p, abs_yaml, slash - abs_yaml) : ".";
    }
    d = gx_diags_make(p);
    lo.gramexpath = gramexpath;
    lo.run_dir = run_dir;
    lo.env = gx_environ();
    ao.has_upstream = upstream;
#ifdef GX_WITH_SECRETS
    /* as mod_gramex_secrets does: .secrets.yaml beside gramex.yaml */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lo.secrets = gx_secrets_load(p, apr_pstrcat(p, run_dir, "/.secrets.yaml", NULL), NULL, d,
                                 apr_array_make(p, 2, sizeof(const char *)));
#endif
    loaded = d->errors ? NULL : gx_load_app(p, abs_yaml, &lo, d);
    if (loaded && !d->errors)
        app = gx_app_build(p, loaded, abs_yaml, run_dir, &ao, d);

    if (!strcmp(cmd, "check")) {
        print_diags(d, p, GX_INFO);
        if (!d->errors && app)
            printf("%s: OK, %d routes, %d warnings\n", abs_yaml, app->routes->nelts, d->warnings);
        rc = d->errors ? 1 : 0;
    }
    else if (d->errors || !app) {
        print_diags(d, p, GX_ERROR);
        rc = 1;
    }
    else if (!strcmp(cmd, "dump")) {
        gx_node *out = gx_map_new(p, NULL, 0);
        static const char *const sections[] = {"url", "handlers", "app", NULL};
        for (i = 0; sections[i]; i++) {
            gx_node *s = gx_map_get(loaded->config, sections[i]);
            gx_map_set(p, out, sections[i], s ? s : gx_map_new(p, NULL, 0));
        }
        gx_json_write(stdout, out, 2, show_secrets ? NULL : lo.secrets);
        fputc('\n', stdout);
    }
    else if (!strcmp(cmd, "match")) {
        for (i = 0; i < targets->nelts; i++) {
            char *target = apr_pstrdup(p, APR_ARRAY_IDX(targets, i, const char *));
            char *q = strchr(target, '?');
            gx_request_in in = {0};
            gx_decision dec;
            if (q)
                *q++ = '\0';
            in.method = method;
            in.path = target;
            in.query = q;
            in.upstream = upstream ? "http://gramex-upstream" : NULL;
            gx_decide(p, app, &in, &dec);
            printf("%s\n", gx_decision_json(p, &dec));
        }
    }
    else if (json) {
        gx_node *list = gx_list_new(p, NULL, 0);
        for (i = 0; i < app->routes->nelts; i++)
            gx_list_push(p, list, route_json(p, APR_ARRAY_IDX(app->routes, i, const gx_route *)));
        gx_json_write(stdout, list, 2, show_secrets ? NULL : lo.secrets);
        fputc('\n', stdout);
    }
    else {
        print_table(app);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}

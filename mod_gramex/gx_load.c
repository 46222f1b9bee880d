/* gx_load: see gx_load.h. Follows gramex/config.py: _yaml_open (per-file
 * variables, variables:, conditions, substitution), load_imports (bottom-up
 * walk, import.merge, import forms, globs, namespaces, setdefault merge) and
 * the layer merge of gramex.init. Unlike Gramex, every problem that would
 * silently drop configuration is an error, and the load runs exactly once. */
#include "gx_load.h"
#include "gx_yaml.h"
#include "gx_vars.h"
#include "gx_merge.h"
#include "gx_pathrule.h"
#include "gx_path.h"
#include <apr_strings.h>
#include <apr_network_io.h>
#include <apr_env.h>
#include <stdlib.h>
#include <string.h>

/* Top-level keys Gramex hands to a service (gramex/services/__init__.py) and
 * the ones that only Gramex's Python runtime can act on. */
static const char *const apache_sections[] = {"url", "handlers", "app", "mime", "version",
                                              "variables", "import", NULL};
static const char *const python_sections[] = {
    "threadpool", "cache", "log", "eventlog", "storelocations", "schedule", "watch", "email",
    "sms", "alert", "gramexlog", "test", "otel", "pptxhandler", "encrypt", "sshtunnel",
    "openai", NULL};

typedef struct {
    apr_pool_t *p;
    gx_diags *d;
    gx_node *vars;
    const char *run_dir;            /* normalised */
    apr_array_header_t *files;
    apr_array_header_t *stack;      /* normalised paths of files being imported */
    const char *apps;               /* $GRAMEXAPPS as found or given, or NULL */
    const char *apps_missing;       /* "$GRAMEXAPPS/" when not found, else NULL */
    apr_array_header_t *apps_skipped;   /* "file:line (path)" of imports under it */
} loader;

/* ---- paths --------------------------------------------------------------- */

/* Absolute, '.' and '..' resolved, in the core's one form (gx_path.h). */
static const char *normalized(apr_pool_t *p, const char *path)
{
    char *out = NULL;
    if (apr_filepath_merge(&out, NULL, path, 0, p) != APR_SUCCESS)
        return path;
    return out;
}

static const char *parent_dir(apr_pool_t *p, const char *path)
{
    return gx_path_dirname(p, path);
}

/* os.path.relpath(path, start) on normalised absolute paths. */
static const char *relpath(apr_pool_t *p, const char *path, const char *start)
{
    const char *a = path, *b = start, *common_a = path;
    char *out = apr_pstrdup(p, "");
    int ups = 0;
    /* longest common run of whole components */
    while (*a && *b) {
        apr_size_t na, nb;
        while (*a == '/') a++;
        while (*b == '/') b++;
        na = strcspn(a, "/");
        nb = strcspn(b, "/");
        if (!na || !nb || na != nb || gx_path_ncmp(a, b, na))
            break;
        a += na;
        b += nb;
        common_a = a;
    }
    for (; *b; ) {
        apr_size_t nb;
        while (*b == '/') b++;
        nb = strcspn(b, "/");
        if (nb)
            ups++;
        b += nb;
    }
    while (*common_a == '/')
        common_a++;
    while (ups--)
        out = apr_pstrcat(p, out, *out ? "/" : "", "..", NULL);
    if (*common_a)
        out = apr_pstrcat(p, out, *out ? "/" : "", common_a, NULL);
    return *out ? out : ".";
}

/* Path(path).as_posix() for a path as written: '\' -> '/', the root kept,
 * empty and '.' components dropped (pathlib does not resolve '..'). */
static const char *as_posix(apr_pool_t *p, const char *path)
{
    char *copy = apr_pstrdup(p, path), *tok, *last, *c;
    apr_size_t root;
    char *out;
    int first = 1;
    for (c = copy; *c; c++)
        if (*c == '\\')
            *c = '/';
    root = gx_path_root_len(copy);
    out = apr_pstrmemdup(p, copy, root);
    for (tok = apr_strtok(copy + root, "/", &last); tok; tok = apr_strtok(NULL, "/", &last)) {
        if (!strcmp(tok, "."))
            continue;
        out = apr_pstrcat(p, out, first ? "" : "/", tok, NULL);
        first = 0;
    }
    return *out ? out : ".";
}

/* "a" -> strip '/' both ends, '\' -> '/' (YAMLURL normalisation). */
static gx_node *strip_yamlurl(apr_pool_t *p, gx_node *v)
{
    char *s, *e, *c;
    gx_node *n;
    if (!v || v->type != GX_STR)
        return v;
    s = apr_pstrdup(p, v->str);
    for (c = s; *c; c++)
        if (*c == '\\')
            *c = '/';
    while (*s == '/')
        s++;
    e = s + strlen(s);
    while (e > s && e[-1] == '/')
        *--e = '\0';
    n = gx_str_new(p, s, v->file, v->line);
    n->src = v->src;
    return n;
}

/* ---- variables: and conditions ----------------------------------------- */

static gx_node *calc_value(loader *L, gx_node *val, const char *key)
{
    int i;
    if (!val)
        return NULL;
    if (val->type == GX_MAP) {
        gx_node *out;
        if (gx_truthy(gx_map_get(val, "function"))) {
            gx_diag_add(L->d, GX_ERROR, val->file, val->line,
                        "variable %s is computed by a Python function, which Apache cannot "
                        "run; set it in the environment or .secrets.yaml and write "
                        "%s: {default: ...}, or give a plain value", key, key);
            return NULL;
        }
        out = gx_map_new(L->p, val->file, val->line);
        for (i = 0; i < val->n; i++) {
            gx_node *v = calc_value(L, val->vals[i], gx_key_text(val->keys[i]));
            if (!v && val->vals[i])
                return NULL;
            gx_map_append(L->p, out, val->keys[i], v);
        }
        return out;
    }
    if (val->type == GX_LIST) {
        gx_node *out = gx_list_new(L->p, val->file, val->line);
        for (i = 0; i < val->n; i++) {
            gx_node *v = calc_value(L, val->vals[i], key);
            if (!v && val->vals[i])
                return NULL;
            gx_list_push(L->p, out, v);
        }
        return out;
    }
    return gx_vars_substitute(L->p, L->vars, val, L->d);
}

static int apply_variables_section(loader *L, gx_node *conf)
{
    gx_node *section = gx_map_get(conf, "variables");
    int i;
    if (!section)
        return 1;
    if (section->type == GX_MAP) {
        for (i = 0; i < section->n; i++) {
            const char *key = gx_key_text(section->keys[i]);
            gx_node *val = section->vals[i], *v;
            if (val && val->type == GX_MAP && gx_map_get(val, "default")
                && !gx_map_get(val, "function")) {
                if (gx_vars_get(L->vars, key))
                    continue;           /* {default: x} never overrides */
                v = calc_value(L, gx_map_get(val, "default"), key);
                if (!v && gx_map_get(val, "default")->type != GX_NULL)
                    return 0;
            }
            else {
                v = calc_value(L, val, key);
                if (!v && val && val->type != GX_NULL)
                    return 0;
            }
            gx_vars_set(L->p, L->vars, key, v ? v : gx_node_new(L->p, GX_NULL, NULL, 0));
        }
    }
    gx_map_remove(conf, "variables");
    return 1;
}

/* `key if expr`: Python is out of reach; a literal truth value is accepted. */
static int condition_value(const char *expr, int *truth)
{
    static const char *const yes[] = {"True", "1", NULL}, *const no[] = {"False", "0", "None", NULL};
    int i;
    while (*expr == ' ')
        expr++;
    for (i = 0; yes[i]; i++)
        if (!strcmp(expr, yes[i])) {
            *truth = 1;
            return 1;
        }
    for (i = 0; no[i]; i++)
        if (!strcmp(expr, no[i])) {
            *truth = 0;
            return 1;
        }
    return 0;
}

static int is_python_section(const gx_node *key)
{
    int i;
    for (i = 0; key->type == GX_STR && python_sections[i]; i++)
        if (!strcmp(key->str, python_sections[i]))
            return 1;
    return 0;
}

/* At a file's top level, conditions inside sections only Gramex's Python
 * runs (e.g. the logviewer app's `schedule:` keys) are left to Gramex:
 * Apache ignores those sections, so their conditions cannot matter here. */
static int apply_conditions(loader *L, gx_node *node, int top)
{
    int i, ok = 1;
    if (!node || (node->type != GX_MAP && node->type != GX_LIST))
        return 1;
    for (i = 0; i < node->n; i++)
        if (!(top && node->type == GX_MAP && is_python_section(node->keys[i])))
            ok &= apply_conditions(L, node->vals[i], 0);
    if (node->type != GX_MAP)
        return ok;
    for (i = 0; i < node->n; ) {
        gx_node *key = node->keys[i], *val;
        const char *at;
        int truth;
        if (key->type != GX_STR || !(at = strstr(key->str, " if "))) {
            i++;
            continue;
        }
        if (strstr(at + 4, " if ")) {
            gx_diag_add(L->d, GX_ERROR, key->file, key->line, "key '%s' has two ' if ' "
                        "conditions (Gramex aborts); keep one", key->str);
            return 0;
        }
        if (!condition_value(at + 4, &truth)) {
            gx_diag_add(L->d, GX_ERROR, key->file, key->line, "key '%s': the condition '%s' "
                        "is Python, which Apache cannot evaluate; use True or False, or split "
                        "the config per server", key->str, at + 4);
            ok = 0;
            i++;
            continue;
        }
        val = node->vals[i];
        gx_map_remove_at(node, i);
        if (truth) {
            /* the renamed key moves to the end, replacing one of that name */
            gx_node *base = gx_str_new(L->p, apr_pstrmemdup(L->p, key->str, at - key->str),
                                       key->file, key->line);
            gx_map_remove(node, base->str);
            gx_map_append(L->p, node, base, val);
            /* restart: indices shifted */
            i = 0;
        }
    }
    return ok;
}

/* ---- one file ------------------------------------------------------------ */

static void record_file(loader *L, const char *path)
{
    APR_ARRAY_PUSH(L->files, const char *) = normalized(L->p, path);
}

/* _yaml_open: returns the file's substituted mapping, an empty mapping for
 * a missing file (with a warning), or NULL on error. */
static gx_node *open_yaml(loader *L, const char *path, const gx_node *entry_vars,
                          const char *importer, int importer_line)
{
    gx_node *conf = NULL, *kw;
    gx_yaml_status st = gx_yaml_parse_file(L->p, normalized(L->p, path), 1, &conf, L->d);
    const char *dir = parent_dir(L->p, path);
    int i;

    if (st == GX_YAML_MISSING && L->apps_missing
        && !gx_path_ncmp(normalized(L->p, path), L->apps_missing, strlen(L->apps_missing))) {
        /* one warning for all of them, at the end of the load */
        APR_ARRAY_PUSH(L->apps_skipped, const char *) =
            apr_psprintf(L->p, "%s:%d (%s)", importer ? importer : "?", importer_line,
                         normalized(L->p, path) + strlen(L->apps_missing));
        record_file(L, path);
        return gx_map_new(L->p, path, 0);
    }
    if (st == GX_YAML_MISSING) {
        gx_diag_add(L->d, GX_WARN, importer, importer_line, "Missing config: %s (imported "
                    "here); it is skipped. Fix the path or remove the import",
                    normalized(L->p, path));
        record_file(L, path);
        return gx_map_new(L->p, path, 0);
    }
    if (st != GX_YAML_OK)
        return NULL;
    record_file(L, path);
    /* a YAML document's nodes name the normalised path; keep that */
    if (conf->type == GX_NULL)
        return gx_map_new(L->p, conf->file, 1);
    if (conf->type != GX_MAP) {
        gx_diag_add(L->d, GX_ERROR, conf->file, conf->line, "the file is a %s, not a mapping "
                    "(Gramex ignores it: \"Config is not a dict\"); write key: value pairs",
                    gx_type_name(conf->type));
        return NULL;
    }
    /* YAMLPATH/YAMLFILE/YAMLURL, then the import entry's own keys */
    kw = gx_map_new(L->p, NULL, 0);
    if (entry_vars)
        for (i = 0; i < entry_vars->n; i++)
            gx_map_set_node(L->p, kw, entry_vars->keys[i], entry_vars->vals[i]);
    if (!gx_map_get(kw, "YAMLPATH"))
        gx_map_set(L->p, kw, "YAMLPATH", gx_str_new(L->p, dir, NULL, 0));
    if (!gx_map_get(kw, "YAMLFILE"))
        gx_map_set(L->p, kw, "YAMLFILE", gx_str_new(L->p, path, NULL, 0));
    if (!gx_map_get(kw, "YAMLURL"))
        gx_map_set(L->p, kw, "YAMLURL",
                   gx_str_new(L->p, relpath(L->p, normalized(L->p, dir), L->run_dir), NULL, 0));
    gx_map_set(L->p, kw, "YAMLURL", strip_yamlurl(L->p, gx_map_get(kw, "YAMLURL")));
    for (i = 0; i < kw->n; i++)
        gx_map_set_node(L->p, L->vars, kw->keys[i], kw->vals[i]);

    if (!apply_variables_section(L, conf) || !apply_conditions(L, conf, 1)
        || !gx_vars_substitute_tree(L->p, L->vars, conf, L->d))
        return NULL;
    return conf;
}

/* ---- namespaces ----------------------------------------------------------- */

static gx_node *objectpath(gx_node *conf, const char *keypath, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, keypath), *tok, *last;
    gx_node *n = conf;
    for (tok = apr_strtok(copy, ".", &last); tok && n; tok = apr_strtok(NULL, ".", &last))
        n = n->type == GX_MAP ? gx_map_get(n, tok) : NULL;
    return n;
}

static int ns_depth(const char *ns)
{
    int d = 0;
    if (!strcmp(ns, "*"))
        return -1;
    for (; *ns; ns++)
        d += *ns == '.';
    return d;
}

static int by_depth_desc(const void *a, const void *b)
{
    return ns_depth(*(const char *const *)b) - ns_depth(*(const char *const *)a);
}

static int add_namespace(loader *L, gx_node *conf, const gx_node *ns, const char *prefix)
{
    apr_array_header_t *paths = apr_array_make(L->p, 4, sizeof(const char *));
    int i, j;
    if (ns->type == GX_LIST) {
        for (i = 0; i < ns->n; i++)
            if (ns->vals[i]->type == GX_STR)
                APR_ARRAY_PUSH(paths, const char *) = ns->vals[i]->str;
            else
                goto bad;
    }
    else if (ns->type == GX_STR) {
        APR_ARRAY_PUSH(paths, const char *) = ns->str;
    }
    else {
        goto bad;
    }
    qsort(paths->elts, paths->nelts, sizeof(const char *), by_depth_desc);
    for (i = 0; i < paths->nelts; i++) {
        const char *kp = APR_ARRAY_IDX(paths, i, const char *);
        gx_node *el = !strcmp(kp, "*") ? conf : objectpath(conf, kp, L->p);
        int n;
        if (!el || el->type != GX_MAP)
            continue;
        n = el->n;
        for (j = 0; j < n; ) {
            gx_node *key = el->keys[j], *val = el->vals[j];
            if (key->type == GX_STR && !strcmp(key->str, "import")) {
                j++;
                continue;
            }
            gx_map_remove_at(el, j);
            n--;
            gx_map_append(L->p, el, gx_str_new(L->p, apr_pstrcat(L->p, prefix, ":",
                                                                 gx_key_text(key), NULL),
                                               key->file, key->line), val);
        }
    }
    return 1;
bad:
    gx_diag_add(L->d, GX_ERROR, ns->file, ns->line, "namespace: must be '*', a key path like "
                "url, or a list of them (namespace: True crashes Gramex)");
    return 0;
}

/* ---- merging imports with warnings ---------------------------------------- */

static void merge_import(loader *L, gx_node *old, const gx_node *new_conf, const char *path)
{
    int i;
    for (i = 0; i < new_conf->n; i++) {
        gx_node *key = new_conf->keys[i], *nv = new_conf->vals[i];
        int j = key->type == GX_STR ? gx_map_find(old, key->str) : -1;
        const char *kpath = apr_pstrcat(L->p, path, *path ? "." : "", gx_key_text(key), NULL);
        if (j < 0 && key->type != GX_STR)
            for (j = 0; j < old->n && !gx_key_equal(old->keys[j], key); j++)
                ;
        if (j < 0 || j >= old->n) {
            gx_map_append(L->p, old, key, nv);   /* moved: the import's tree is not reused */
            continue;
        }
        if (old->vals[j] && nv && old->vals[j]->type == GX_MAP && nv->type == GX_MAP) {
            const gx_node *ok = old->keys[j];
            if (!strcmp(path, "url"))     /* url names may contain dots */
                gx_diag_add(L->d, GX_WARN, key->file, key->line,
                            "url '%s' is defined at %s:%d and here; the first wins and missing "
                            "keys are filled from this one. Rename one, or import with "
                            "namespace: url", gx_key_text(key), ok->file ? ok->file : "?", ok->line);
            else if (!strcmp(path, "handlers"))
                gx_diag_add(L->d, GX_WARN, key->file, key->line,
                            "handler defaults handlers.%s are also defined at %s:%d; the first "
                            "wins for each key. Define them once", gx_key_text(key),
                            ok->file ? ok->file : "?", ok->line);
            merge_import(L, old->vals[j], nv, kpath);
        }
    }
}

/* ---- imports ------------------------------------------------------------ */

typedef struct {
    gx_node *node;          /* mapping holding the key */
    gx_node *key;
    gx_node *value;
    const char *path;       /* dotted path of node, for warnings */
} import_site;

/* walk(): bottom-up, siblings in order; collect import and import.merge* keys */
static void collect_imports(apr_pool_t *p, gx_node *node, const char *path,
                            apr_array_header_t *out)
{
    int i;
    if (!node || (node->type != GX_MAP && node->type != GX_LIST))
        return;
    for (i = 0; i < node->n; i++) {
        gx_node *v = node->vals[i];
        const char *child = node->type == GX_MAP
            ? apr_pstrcat(p, path, *path ? "." : "", gx_key_text(node->keys[i]), NULL)
            : apr_psprintf(p, "%s.%d", path, i);
        collect_imports(p, v, child, out);
        if (node->type == GX_MAP && node->keys[i]->type == GX_STR
            && (!strcmp(node->keys[i]->str, "import")
                || !strncmp(node->keys[i]->str, "import.merge", 12))) {
            import_site *s = apr_array_push(out);
            s->node = node;
            s->key = node->keys[i];
            s->value = v;
            s->path = path;
        }
    }
}

static int load_imports(loader *L, gx_node *conf, const char *source);

static int import_one(loader *L, import_site *site, const char *name, const gx_node *entry,
                      const char *source)
{
    const char *root = parent_dir(L->p, source);
    gx_node *conf, *paths, *ns, *vars;
    int i, j, ok = 1;

    if (entry->type != GX_MAP) {
        conf = gx_map_new(L->p, entry->file, entry->line);
        gx_map_set(L->p, conf, "path", (gx_node *)entry);
    }
    else {
        conf = (gx_node *)entry;
    }
    paths = gx_map_get(conf, "path");
    if (!paths) {
        gx_diag_add(L->d, GX_ERROR, entry->file, entry->line, "import %s has no path: (Gramex "
                    "aborts: \"import: has no conf\"); add path: <file>.yaml", name);
        return 0;
    }
    ns = gx_map_get(conf, "namespace");
    vars = gx_map_new(L->p, NULL, 0);
    for (i = 0; i < conf->n; i++) {
        const char *k = gx_key_text(conf->keys[i]);
        if (strcmp(k, "path") && strcmp(k, "namespace"))
            gx_map_append(L->p, vars, conf->keys[i], conf->vals[i]);
    }
    for (i = 0; i < (paths->type == GX_LIST ? paths->n : 1); i++) {
        const gx_node *pn = paths->type == GX_LIST ? paths->vals[i] : paths;
        apr_array_header_t *targets = apr_array_make(L->p, 4, sizeof(const char *));
        const char *ptext = gx_scalar_text(L->p, pn);
        int globbed = ptext && strchr(ptext, '*') != NULL;
        if (!ptext || pn->type == GX_NULL) {
            gx_diag_add(L->d, GX_ERROR, pn->file, pn->line, "import %s: path must be a "
                        "string", name);
            return 0;
        }
        if (globbed) {
            if (gx_path_is_absolute(ptext)) {
                gx_diag_add(L->d, GX_ERROR, pn->file, pn->line, "import %s: the glob '%s' is "
                            "absolute (Gramex aborts: \"Non-relative patterns are unsupported\"); "
                            "write it relative to this file", name, ptext);
                return 0;
            }
            targets = gx_glob(L->p, root, ptext);
        }
        else {
            APR_ARRAY_PUSH(targets, const char *) = ptext;
        }
        for (j = 0; j < targets->nelts; j++) {
            const char *t = APR_ARRAY_IDX(targets, j, const char *);
            const char *abspath = gx_path_is_absolute(t) ? t : apr_pstrcat(L->p, root, "/", t, NULL);
            const char *real = normalized(L->p, abspath);
            gx_node *new_conf;
            int k;
            for (k = 0; k < L->stack->nelts; k++)
                if (!gx_path_cmp(APR_ARRAY_IDX(L->stack, k, const char *), real)) {
                    char *cycle = apr_pstrdup(L->p, "");
                    int m;
                    for (m = k; m < L->stack->nelts; m++)
                        cycle = apr_pstrcat(L->p, cycle, APR_ARRAY_IDX(L->stack, m, const char *),
                                            " -> ", NULL);
                    gx_diag_add(L->d, GX_ERROR, pn->file, pn->line, "import cycle: %s%s; "
                                "remove one of these imports", cycle, real);
                    return 0;
                }
            new_conf = open_yaml(L, abspath, vars, pn->file, pn->line);
            if (!new_conf) {
                ok = 0;
                continue;
            }
            if (ns && ns->type != GX_NULL
                && !add_namespace(L, new_conf, ns,
                                  apr_pstrcat(L->p, name, ":", globbed ? as_posix(L->p, abspath)
                                                                         : as_posix(L->p, t), NULL)))
                return 0;
            APR_ARRAY_PUSH(L->stack, const char *) = real;
            ok &= load_imports(L, new_conf, abspath);
            apr_array_pop(L->stack);
            merge_import(L, site->node, new_conf, site->path);
        }
    }
    return ok;
}

static int load_imports(loader *L, gx_node *conf, const char *source)
{
    apr_array_header_t *sites = apr_array_make(L->p, 4, sizeof(import_site));
    int i, j, ok = 1;
    collect_imports(L->p, conf, "", sites);
    for (i = 0; i < sites->nelts; i++) {
        import_site *s = &APR_ARRAY_IDX(sites, i, import_site);
        gx_node *v = s->value;
        if (strcmp(s->key->str, "import") != 0) {        /* import.merge* */
            if (v && v->type == GX_MAP) {
                for (j = 0; j < v->n; j++)
                    gx_map_set_node(L->p, s->node, v->keys[j], gx_node_copy(L->p, v->vals[j]));
            }
            else if (gx_truthy(v)) {
                gx_diag_add(L->d, GX_ERROR, s->key->file, s->key->line, "%s: must be a "
                            "mapping (usually $VARIABLE holding one), not a %s", s->key->str,
                            gx_type_name(v->type));
                ok = 0;
            }
            gx_map_remove(s->node, s->key->str);
            continue;
        }
        gx_map_remove(s->node, "import");
        if (!v || v->type == GX_NULL)
            continue;
        if (v->type == GX_STR) {
            ok &= import_one(L, s, "apps", v, source);
        }
        else if (v->type == GX_LIST) {
            for (j = 0; j < v->n; j++)
                ok &= import_one(L, s, apr_psprintf(L->p, "app%d", j), v->vals[j], source);
        }
        else if (v->type == GX_MAP && gx_map_get(v, "path")) {
            ok &= import_one(L, s, "app", v, source);
        }
        else if (v->type == GX_MAP) {
            for (j = 0; j < v->n; j++)
                ok &= import_one(L, s, gx_key_text(v->keys[j]), v->vals[j], source);
        }
        else {
            gx_diag_add(L->d, GX_ERROR, v->file, v->line, "import: must be a path, a list or "
                        "a mapping, not a %s", gx_type_name(v->type));
            ok = 0;
        }
    }
    return ok;
}

/* ---- layers ---------------------------------------------------------------- */

static gx_node *load_layer(loader *L, const char *path)
{
    gx_node *conf;
    APR_ARRAY_PUSH(L->stack, const char *) = normalized(L->p, path);
    conf = open_yaml(L, path, NULL, NULL, 0);
    if (conf && !load_imports(L, conf, path))
        conf = NULL;
    apr_array_pop(L->stack);
    return conf;
}

/* After the layers are merged, null deletes a key at any depth (d.1), and
 * `comment` keys are Gramex's annotations. */
static void prune(gx_node *n)
{
    int i;
    if (!n)
        return;
    if (n->type == GX_MAP) {
        for (i = 0; i < n->n; ) {
            gx_node *k = n->keys[i], *v = n->vals[i];
            if (!v || v->type == GX_NULL || (k->type == GX_STR && !strcmp(k->str, "comment"))) {
                gx_map_remove_at(n, i);
                continue;
            }
            prune(v);
            i++;
        }
    }
    else if (n->type == GX_LIST) {
        /* Gramex deletes null items by stale index, which can drop the wrong
         * item when two are null; we drop exactly the nulls */
        int j = 0;
        for (i = 0; i < n->n; i++) {
            if (!n->vals[i] || n->vals[i]->type == GX_NULL)
                continue;
            prune(n->vals[i]);
            n->vals[j++] = n->vals[i];
        }
        n->n = j;
    }
}

static void check_sections(loader *L, const gx_node *conf)
{
    int i, j;
    for (i = 0; i < conf->n; i++) {
        const char *k = gx_key_text(conf->keys[i]);
        int known = 0;
        for (j = 0; apache_sections[j] && !known; j++)
            known = !strcmp(k, apache_sections[j]);
        if (known)
            continue;
        for (j = 0; python_sections[j] && !known; j++)
            known = !strcmp(k, python_sections[j]);
        if (known)
            gx_diag_add(L->d, GX_INFO, conf->keys[i]->file, conf->keys[i]->line,
                        "%s: is run by Gramex's Python services; Apache ignores it", k);
        else
            gx_diag_add(L->d, GX_WARN, conf->keys[i]->file, conf->keys[i]->line,
                        "No service named %s; it is ignored. Check the spelling", k);
    }
}

/* ---- $GRAMEXAPPS ------------------------------------------------------------ */

/* Where pip, Debian and conda put the `gramex` package. */
#ifdef _WIN32
#define GX_GRAMEXAPPS_EXAMPLE "C:/Python311/Lib/site-packages/gramex/apps"
#else
#define GX_GRAMEXAPPS_EXAMPLE "/usr/local/lib/python3.11/dist-packages/gramex/apps"
#endif

const char *const gx_gramexapps_places[] = {
#ifdef _WIN32
    "C:/Program Files/Python3*/Lib/site-packages/gramex/apps",
    "C:/Python3*/Lib/site-packages/gramex/apps",
#else
    "/usr/local/lib/python3*/dist-packages/gramex/apps",
    "/usr/lib/python3/dist-packages/gramex/apps",
    "/usr/local/lib/python3*/site-packages/gramex/apps",
    "/usr/lib/python3*/site-packages/gramex/apps",
    "/opt/conda/lib/python3*/site-packages/gramex/apps",
#endif
    NULL};

static int is_dir(apr_pool_t *p, const char *path)
{
    apr_finfo_t fi;
    return apr_stat(&fi, path, APR_FINFO_TYPE, p) == APR_SUCCESS && fi.filetype == APR_DIR;
}

const char *gx_find_gramexapps(apr_pool_t *p, const char *const *env, const char *const *places)
{
    int i, j;
    for (i = 0; env && env[i]; i++)
        if (!strncmp(env[i], "GRAMEXAPPS=", 11) && env[i][11] && is_dir(p, env[i] + 11))
            return normalized(p, env[i] + 11);
    for (i = 0; places && places[i]; i++) {
        apr_array_header_t *found;
        if (!strchr(places[i], '*')) {
            if (is_dir(p, places[i]))
                return normalized(p, places[i]);
            continue;
        }
        found = gx_glob(p, "", places[i]);
        for (j = found->nelts - 1; j >= 0; j--)
            if (is_dir(p, APR_ARRAY_IDX(found, j, const char *)))
                return normalized(p, APR_ARRAY_IDX(found, j, const char *));
    }
    return NULL;
}

static void warn_apps_skipped(loader *L)
{
    char *list = apr_pstrdup(L->p, "");
    int i;
    if (!L->apps_skipped->nelts)
        return;
    for (i = 0; i < L->apps_skipped->nelts; i++)
        list = apr_pstrcat(L->p, list, i ? ", " : "",
                           APR_ARRAY_IDX(L->apps_skipped, i, const char *), NULL);
    gx_diag_add(L->d, GX_WARN, NULL, 0, "Gramex's bundled apps ($GRAMEXAPPS) were not found "
                "(no GRAMEXAPPS environment variable, no gramex Python package at the usual "
                "places), so %d import%s of them %s skipped: %s. Set GramexApps to the apps/ "
                "directory of the gramex package, e.g. GramexApps " GX_GRAMEXAPPS_EXAMPLE,
                L->apps_skipped->nelts, L->apps_skipped->nelts == 1 ? "" : "s",
                L->apps_skipped->nelts == 1 ? "is" : "are", list);
}

static void initial_variables(loader *L, const gx_load_opts *o)
{
    int i;
    char host[256];
    const char *gramexpath = o->gramexpath ? o->gramexpath : ".";
    const char *apps = o->gramexapps ? o->gramexapps
        : gx_find_gramexapps(L->p, o->env, o->gramexapps_places ? o->gramexapps_places
                                                                 : gx_gramexapps_places);
    for (i = 0; o->env && o->env[i]; i++) {
        const char *eq = strchr(o->env[i], '=');
        if (eq && eq > o->env[i])
            gx_vars_set_str(L->p, L->vars, apr_pstrmemdup(L->p, o->env[i], eq - o->env[i]), eq + 1);
    }
    if (o->secrets && o->secrets->type == GX_MAP)
        for (i = 0; i < o->secrets->n; i++)
            gx_map_set_node(L->p, L->vars, o->secrets->keys[i], o->secrets->vals[i]);
    gx_vars_set_str(L->p, L->vars, "GRAMEXPATH", gramexpath);
    L->apps = apps;
    if (!apps) {
        char *abs = NULL;       /* imports name absolute paths: compare like with like */
        if (apr_filepath_merge(&abs, L->run_dir, apr_pstrcat(L->p, gramexpath, "/apps", NULL),
                               0, L->p) == APR_SUCCESS)
            L->apps_missing = apr_pstrcat(L->p, abs, "/", NULL);
    }
    gx_vars_set_str(L->p, L->vars, "GRAMEXAPPS", apps ? apps
                    : apr_pstrcat(L->p, gramexpath, "/apps", NULL));
    if (o->hostname)
        gx_vars_set_str(L->p, L->vars, "GRAMEXHOST", o->hostname);
    else if (apr_gethostname(host, sizeof(host), L->p) == APR_SUCCESS)
        gx_vars_set_str(L->p, L->vars, "GRAMEXHOST", host);
    if (!gx_vars_get(L->vars, "GRAMEXDATA")) {
        const gx_node *home = gx_vars_get(L->vars, "HOME");
        gx_vars_set_str(L->p, L->vars, "GRAMEXDATA",
                        o->gramexdata ? o->gramexdata
                        : apr_pstrcat(L->p, home && home->str ? home->str : "", "/.config/gramexdata", NULL));
    }
}

gx_loaded *gx_load_app(apr_pool_t *p, const char *app_yaml, const gx_load_opts *o, gx_diags *d)
{
    loader L;
    gx_loaded *out;
    gx_node *source = NULL, *app;
    const char *base_layer = o->base_layer;
    apr_finfo_t fi;
    apr_hash_t *source_files = apr_hash_make(p);

    app_yaml = gx_path_slashes(p, app_yaml);    /* YAMLPATH etc. in the core's form */
    memset(&L, 0, sizeof(L));
    L.p = p;
    L.d = d;
    L.vars = gx_vars_new(p);
    L.files = apr_array_make(p, 8, sizeof(const char *));
    L.stack = apr_array_make(p, 8, sizeof(const char *));
    L.apps_skipped = apr_array_make(p, 4, sizeof(const char *));
    L.run_dir = normalized(p, o->run_dir ? o->run_dir : parent_dir(p, app_yaml));
    initial_variables(&L, o);

    if (!base_layer && o->gramexpath) {
        const char *candidate = apr_pstrcat(p, o->gramexpath, "/gramex.yaml", NULL);
        if (apr_stat(&fi, candidate, APR_FINFO_TYPE, p) == APR_SUCCESS)
            base_layer = candidate;
    }
    if (base_layer) {
        int i;
        source = load_layer(&L, base_layer);
        if (!source)
            return NULL;
        for (i = 0; i < L.files->nelts; i++)
            apr_hash_set(source_files, APR_ARRAY_IDX(L.files, i, const char *),
                         APR_HASH_KEY_STRING, "");
    }
    if (apr_stat(&fi, app_yaml, APR_FINFO_TYPE, p) != APR_SUCCESS) {
        gx_diag_add(d, GX_ERROR, app_yaml, 0, "the app's gramex.yaml does not exist; fix the "
                    "path");
        return NULL;
    }
    app = load_layer(&L, app_yaml);
    warn_apps_skipped(&L);
    if (!app)
        return NULL;
    out = apr_pcalloc(p, sizeof(*out));
    out->gramexapps = L.apps;
    out->config = source ? source : gx_map_new(p, NULL, 0);
    gx_merge_overwrite_shared(p, out->config, app);   /* the app tree is not reused */
    prune(out->config);
    check_sections(&L, out->config);
    gx_map_remove(out->config, "variables");
    out->files = L.files;
    out->variables = L.vars;
    out->source_files = source_files;
    return out;
}

gx_loaded *gx_loaded_clone(apr_pool_t *p, const gx_loaded *l)
{
    gx_loaded *c = apr_pcalloc(p, sizeof(*c));
    apr_hash_t *files = apr_hash_make(p);
    apr_hash_index_t *hi;
    int i;
    c->config = gx_node_clone(p, l->config, files);
    c->files = apr_array_make(p, l->files->nelts, sizeof(const char *));
    for (i = 0; i < l->files->nelts; i++)
        APR_ARRAY_PUSH(c->files, const char *) = apr_pstrdup(p, APR_ARRAY_IDX(l->files, i, const char *));
    c->gramexapps = l->gramexapps ? apr_pstrdup(p, l->gramexapps) : NULL;
    c->source_files = apr_hash_make(p);
    for (hi = apr_hash_first(p, l->source_files); hi; hi = apr_hash_next(hi)) {
        const void *k;
        apr_hash_this(hi, &k, NULL, NULL);
        apr_hash_set(c->source_files, apr_pstrdup(p, k), APR_HASH_KEY_STRING, "");
    }
    return c;
}

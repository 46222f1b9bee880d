/* gx_app: merged configuration -> route table. See gx_app.h.
 *
 * Mirrors gramex.services.url(): entries sorted by (priority, slashes,
 * -wildcards) with a stable sort, `service:` over `handler:`, the
 * `gramex.handlers.` prefix stripped, kwargs completed from
 * handlers.<Handler> then handlers.BaseHandler with setdefault merge.
 * Where Gramex only logs and skips an entry, we report an error: a config
 * that would silently lose a route is refused (DESIGN: fail closed). */
#include "gx_app.h"
#include "gx_pattern.h"
#include "gx_pathrule.h"
#include "gx_merge.h"
#include "gx_path.h"
#include "gx_pymime.h"
#include <apr_cstr.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Largest error page we read into memory at config time. */
#define GX_ERROR_PAGE_MAX (256 * 1024)

const char *gx_kind_name(gx_kind k)
{
    switch (k) {
    case GX_KIND_FILE: return "file";
    case GX_KIND_PROXY: return "proxy";
    case GX_KIND_REDIRECT: return "redirect";
    case GX_KIND_UPSTREAM: return "upstream";
    default: return "broken";
    }
}

/* ---- small helpers ---------------------------------------------------- */

static const char *node_where(apr_pool_t *p, const gx_node *n)
{
    return n && n->file ? apr_psprintf(p, "%s:%d", n->file, n->line) : "(built-in)";
}

/* A string or list of strings -> array of const char *. Other scalars are
 * taken as their text (Gramex logs and still uses them, spec f.5). */
static apr_array_header_t *string_list(apr_pool_t *p, const gx_node *n)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    int i;
    if (!n || n->type == GX_NULL)
        return a;
    if (n->type == GX_LIST) {
        for (i = 0; i < n->n; i++) {
            const char *t = gx_scalar_text(p, n->vals[i]);
            if (t)
                APR_ARRAY_PUSH(a, const char *) = t;
        }
    }
    else if (gx_scalar_text(p, n)) {
        APR_ARRAY_PUSH(a, const char *) = gx_scalar_text(p, n);
    }
    return a;
}

/* Gramex's methods kwarg: list or comma/space separated string, uppercased,
 * de-duplicated. */
static apr_array_header_t *method_list(apr_pool_t *p, const gx_node *n)
{
    apr_array_header_t *raw = string_list(p, n), *out;
    int i, j;
    out = apr_array_make(p, raw->nelts, sizeof(const char *));
    for (i = 0; i < raw->nelts; i++) {
        char *s = apr_pstrdup(p, APR_ARRAY_IDX(raw, i, const char *)), *tok, *last;
        for (tok = apr_strtok(s, ", \t", &last); tok; tok = apr_strtok(NULL, ", \t", &last)) {
            int dup = 0;
            char *c;
            for (c = tok; *c; c++)
                *c = apr_toupper(*c);
            for (j = 0; j < out->nelts; j++)
                dup |= strcmp(APR_ARRAY_IDX(out, j, const char *), tok) == 0;
            if (!dup)
                APR_ARRAY_PUSH(out, const char *) = tok;
        }
    }
    return out;
}

static const char *abs_path(apr_pool_t *p, const char *run_dir, const char *path)
{
    char *out = NULL;
    if (apr_filepath_merge(&out, run_dir, path, 0, p) != APR_SUCCESS)    /* gx_path.h form */
        return NULL;
    return out;
}

/* ---- header values ----------------------------------------------------- */

const char *gx_header_value(apr_pool_t *p, const gx_node *v, int *bad)
{
    const char *s, *c;
    *bad = 0;
    if (!v || v->type == GX_NULL || (v->type == GX_BOOL && !v->i))
        return NULL;
    if (v->type == GX_FLOAT || v->type == GX_LIST || v->type == GX_MAP) {
        *bad = 1;
        return NULL;
    }
    s = gx_scalar_text(p, v);
    for (c = s; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t') {
            *bad = 1;
            return NULL;
        }
    return s;
}

static int valid_header_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == ':' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* headers mapping -> gx_header rules. Mapping values are per-file pattern
 * blocks (FileHandler, spec f.8) when allow_patterns, else invalid. */
static apr_array_header_t *header_rules(apr_pool_t *p, const gx_node *h, int allow_patterns,
                                        const char *owner, gx_diags *d)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(gx_header));
    int i, j, bad;
    if (!h || h->type == GX_NULL)
        return out;
    if (h->type != GX_MAP) {
        gx_diag_add(d, GX_ERROR, h->file, h->line,
                    "%s: headers must be a mapping of header: value, not a %s; write e.g. "
                    "headers: {Cache-Control: no-store}", owner, gx_type_name(h->type));
        return out;
    }
    for (i = 0; i < h->n; i++) {
        const gx_node *k = h->keys[i], *v = h->vals[i];
        const char *name = gx_key_text(k);
        if (v && v->type == GX_MAP && allow_patterns) {
            for (j = 0; j < v->n; j++) {
                gx_header *r = apr_array_push(out);
                r->pattern = name;
                r->name = gx_key_text(v->keys[j]);
                r->value = gx_header_value(p, v->vals[j], &bad);
                if (bad || !valid_header_name(r->name)) {
                    gx_diag_add(d, GX_ERROR, v->vals[j]->file, v->vals[j]->line,
                                "%s: header %s for files %s has an invalid name or value "
                                "(floats, lists, mappings and control characters break Gramex's "
                                "responses); quote it as a string", owner, r->name, name);
                    apr_array_pop(out);
                }
            }
            continue;
        }
        {
            gx_header *r = apr_array_push(out);
            r->pattern = NULL;
            r->name = name;
            r->value = gx_header_value(p, v, &bad);
            if (bad || !valid_header_name(name)) {
                gx_diag_add(d, GX_ERROR, v ? v->file : k->file, v ? v->line : k->line,
                            "%s: header '%s' has an invalid name or value (floats, lists, "
                            "mappings and control characters break Gramex's responses); quote it "
                            "as a string", owner, name);
                apr_array_pop(out);
            }
        }
    }
    return out;
}

/* ---- handler resolution ------------------------------------------------ */

typedef struct {
    const char *alias;
    const char *canonical;
} handler_alias;

/* Aliases Gramex accepts; they get no handlers.<Name> defaults (spec d.2). */
static const handler_alias aliases[] = {
    {"File", "FileHandler"},
    {"DirectoryHandler", "FileHandler"},
    {"Proxy", "ProxyHandler"},
    {"Websocket", "WebSocketHandler"},
    {NULL, NULL}
};

static const char *canonical_handler(const char *h, int *is_alias)
{
    int i;
    *is_alias = 0;
    for (i = 0; aliases[i].alias; i++)
        if (strcmp(h, aliases[i].alias) == 0) {
            *is_alias = 1;
            return aliases[i].canonical;
        }
    return h;
}

static int is_gramex_handler(const char *h)
{
    /* A dotted class path that is not under gramex.handlers is not a Gramex
     * handler: it gets no handlers: defaults and no BaseHandler headers. */
    return strchr(h, '.') == NULL;
}

/* ---- FileHandler -------------------------------------------------------- */

static apr_status_t free_code(void *code)
{
    pcre2_code_free((pcre2_code *)code);
    return APR_SUCCESS;
}

static int has_template_syntax(const char *s)
{
    return strstr(s, "{{") || strstr(s, "{%");
}

static void add_transform_patterns(apr_pool_t *p, apr_array_header_t *out, const gx_node *v)
{
    apr_array_header_t *pats;
    int i;
    if (!v || v->type == GX_NULL || (v->type == GX_BOOL && !v->i))
        return;
    if (v->type == GX_BOOL) {               /* `template: true` means every file */
        APR_ARRAY_PUSH(out, const char *) = "*";
        return;
    }
    if (v->type == GX_MAP) {                /* transform: {"*.md, *.txt": {...}} */
        for (i = 0; i < v->n; i++) {
            char *keys = apr_pstrdup(p, gx_key_text(v->keys[i])), *tok, *last;
            for (tok = apr_strtok(keys, ", ", &last); tok; tok = apr_strtok(NULL, ", ", &last))
                APR_ARRAY_PUSH(out, const char *) = tok;
        }
        return;
    }
    pats = string_list(p, v);
    apr_array_cat(out, pats);
}

/* One empty, read-only table per element size, shared by every route
 * without that setting (most have no headers, error pages or transforms):
 * 10,000 routes would otherwise hold 10,000 empty arrays. */
static apr_array_header_t *empty_list(apr_pool_t *p, gx_app *app, int elt_size)
{
    static const char tag[1];   /* the memo's keys are addresses: this one is ours */
    struct { const char *tag; apr_size_t size; } key;
    apr_array_header_t *a;
    memset(&key, 0, sizeof(key));
    key.tag = tag;
    key.size = (apr_size_t)elt_size;
    a = apr_hash_get(app->memo, &key, sizeof(key));
    if (!a) {
        a = apr_array_make(p, 1, elt_size);
        apr_hash_set(app->memo, apr_pmemdup(p, &key, sizeof(key)), sizeof(key), a);
    }
    return a;
}

/* Tables built from a node shared by many routes (handler defaults) are
 * built once. */
static apr_array_header_t *memo_list(apr_pool_t *p, gx_app *app, const gx_node *n)
{
    apr_array_header_t *a;
    if (!n || n->type == GX_NULL)
        return empty_list(p, app, sizeof(const char *));
    a = apr_hash_get(app->memo, &n, sizeof(n));
    if (!a) {
        a = string_list(p, n);
        apr_hash_set(app->memo, apr_pmemdup(p, &n, sizeof(n)), sizeof(n), a);
    }
    return a;
}

static gx_pathset *memo_set(apr_pool_t *p, gx_app *app, const apr_array_header_t *list)
{
    /* keyed two bytes past the list, apart from the other memo entries */
    const char *key = (const char *)list + 2;
    gx_pathset *set = apr_hash_get(app->memo, &key, sizeof(key));
    if (!set) {
        set = gx_pathset_compile(p, list);
        apr_hash_set(app->memo, apr_pmemdup(p, &key, sizeof(key)), sizeof(key), set);
    }
    return set;
}

static apr_array_header_t *memo_headers(apr_pool_t *p, gx_app *app, const gx_node *h,
                                        const char *owner, gx_diags *d)
{
    /* keyed one byte past the node, apart from memo_list's lists of it */
    const char *key = h ? (const char *)h + 1 : NULL;     /* NULL + 1 is UB */
    apr_array_header_t *a;
    if (!h || h->type == GX_NULL)
        return empty_list(p, app, sizeof(gx_header));
    a = apr_hash_get(app->memo, &key, sizeof(key));
    if (!a) {
        a = header_rules(p, h, 1, owner, d);
        apr_hash_set(app->memo, apr_pmemdup(p, &key, sizeof(key)), sizeof(key), a);
    }
    return a;
}

static char *read_page(apr_pool_t *p, const char *file, const char **why);

static gx_file_conf *file_conf(apr_pool_t *p, gx_app *app, gx_route *rt, const char *run_dir,
                               gx_diags *d)
{
    gx_file_conf *fh = apr_pcalloc(p, sizeof(*fh));
    gx_node *kw = rt->kwargs, *path = gx_map_get(kw, "path");
    const char *owner = apr_psprintf(p, "url %s", rt->name);
    static const char *const transform_keys[] = {"transform", "template", "sass", "scss", "ts", NULL};
    int i;

    if (!path || path->type == GX_NULL) {
        rt->kind = GX_KIND_BROKEN;
        rt->upstream_reason = "FileHandler has no kwargs.path, so Gramex fails its setup";
        gx_diag_add(d, GX_WARN, rt->file, rt->line, "%s: FileHandler has no kwargs.path; every "
                    "request answers 500, as in Gramex. Add path: $YAMLPATH/<dir or file>", owner);
        return NULL;
    }
    if (path->type == GX_MAP) {
        fh->path_kind = GX_PATH_MAP;
        fh->path_map = apr_array_make(p, path->n, sizeof(gx_path_map_entry));
        fh->root = run_dir;
        for (i = 0; i < path->n; i++) {
            gx_path_map_entry *e = apr_array_push(fh->path_map);
            int err;
            PCRE2_SIZE off;
            const char *target = gx_scalar_text(p, path->vals[i]);
            e->regex = apr_pstrcat(p, gx_key_text(path->keys[i]), "$", NULL);
            e->code = pcre2_compile((PCRE2_SPTR)e->regex, PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED,
                                    &err, &off, NULL);
            if (!e->code || !target) {
                gx_diag_add(d, GX_ERROR, path->keys[i]->file, path->keys[i]->line,
                            "%s: path key '%s' is not a valid regular expression (or its value is "
                            "not a string); fix the regex", owner, gx_key_text(path->keys[i]));
                apr_array_pop(fh->path_map);
                continue;
            }
            apr_pool_cleanup_register(p, e->code, free_code, apr_pool_cleanup_null);
            e->target = abs_path(p, run_dir, target);
            {
                /* query values end up in these paths (spec f.1 [W]): confine
                 * each to the directory its template names */
                char *root = apr_pstrdup(p, e->target), *brace = strchr(root, '{'), *slash;
                if (brace)
                    *brace = '\0';
                slash = strrchr(root, '/');
                if (slash)
                    *slash = '\0';
                e->root = *root ? root : "/";
            }
        }
        fh->map_default = gx_scalar_text(p, gx_map_get(kw, "default"));
    }
    else if (path->type == GX_LIST) {
        /* files concatenated into one response: only Gramex does that */
        rt->kind = GX_KIND_UPSTREAM;
        rt->upstream_reason = "a list of paths (files concatenated into one response) needs Gramex";
        return NULL;
    }
    else {
        const char *ps = gx_scalar_text(p, path);
        apr_finfo_t fi;
        fh->path = abs_path(p, run_dir, ps);
        if (!fh->path) {
            gx_diag_add(d, GX_ERROR, path->file, path->line, "%s: path '%s' is not a valid "
                        "path; write it as $YAMLPATH/<dir or file>", owner, ps);
            return NULL;
        }
        if (strchr(ps, '*')) {
            char *slash;
            fh->path_kind = GX_PATH_STAR;
            fh->root = apr_pstrdup(p, fh->path);
            /* the root is the directory above the first '*' */
            slash = strchr((char *)fh->root, '*');
            *slash = '\0';
            slash = strrchr((char *)fh->root, '/');
            if (slash)
                *slash = '\0';
        }
        else if (apr_stat(&fi, fh->path, APR_FINFO_TYPE, p) == APR_SUCCESS && fi.filetype == APR_DIR) {
            char *root = apr_pstrdup(p, fh->path);
            apr_size_t n = strlen(root);
            while (n > 1 && root[n - 1] == '/')
                root[--n] = '\0';
            fh->path_kind = GX_PATH_DIR;
            fh->path = fh->root = root;
        }
        else {
            char *dir = apr_pstrdup(p, fh->path), *slash = strrchr(dir, '/');
            fh->path_kind = GX_PATH_FILE;
            if (slash)
                *slash = '\0';
            fh->root = dir;
            if (apr_stat(&fi, fh->path, APR_FINFO_TYPE, p) != APR_SUCCESS)
                gx_diag_add(d, GX_WARN, path->file, path->line,
                            "%s: path %s does not exist; requests will get 404 until it does",
                            owner, fh->path);
        }
    }
    fh->default_filename = memo_list(p, app, gx_map_get(kw, "default_filename"));
    fh->index = gx_truthy(gx_map_get(kw, "index"));
    {
        const gx_node *tmpl = gx_map_get(kw, "index_template");
        const char *file, *why = "cannot be read";
        if (fh->index && tmpl && gx_scalar_text(p, tmpl)) {
            file = abs_path(p, run_dir, gx_scalar_text(p, tmpl));
            if (!(fh->index_template = file ? read_page(p, file, &why) : NULL))
                gx_diag_add(d, GX_WARN, tmpl->file, tmpl->line, "%s: index_template %s %s; "
                            "the default listing is used", owner, file ? file : "?", why);
        }
    }
    fh->ignore = memo_list(p, app, gx_map_get(kw, "ignore"));
    fh->allow = memo_list(p, app, gx_map_get(kw, "allow"));
    fh->transforms = apr_array_make(p, 0, sizeof(const char *));
    for (i = 0; transform_keys[i]; i++)
        add_transform_patterns(p, fh->transforms, gx_map_get(kw, transform_keys[i]));
    if (!fh->transforms->nelts)
        fh->transforms = empty_list(p, app, sizeof(const char *));
    fh->headers = memo_headers(p, app, gx_map_get(kw, "headers"), owner, d);
    fh->ignore_set = memo_set(p, app, fh->ignore);
    fh->allow_set = memo_set(p, app, fh->allow);
    fh->transform_set = fh->transforms->nelts ? gx_pathset_compile(p, fh->transforms)
                                              : memo_set(p, app, fh->transforms);
    return fh;
}

/* ---- error pages --------------------------------------------------------- */

/* A file read whole at config time, at most `max` bytes, or NULL with *why set. */
static char *read_whole(apr_pool_t *p, const char *file, apr_off_t max, const char **why)
{
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_size_t len;
    char *buf;
    if (apr_file_open(&fd, file, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, fd) != APR_SUCCESS) {
        *why = "cannot be read";
        return NULL;
    }
    if (fi.size > max) {
        *why = apr_psprintf(p, "is larger than %" APR_OFF_T_FMT " bytes", max);
        apr_file_close(fd);
        return NULL;
    }
    len = (apr_size_t)fi.size;
    buf = apr_palloc(p, len + 1);
    apr_file_read_full(fd, buf, len, &len);
    buf[len] = '\0';
    apr_file_close(fd);
    return buf;
}

/* A page read whole at config time (error pages, listing templates), or
 * NULL with *why set. */
static char *read_page(apr_pool_t *p, const char *file, const char **why)
{
    return read_whole(p, file, GX_ERROR_PAGE_MAX, why);
}

/* Python's MimeTypes.readfp: "type ext ext..." lines, a word starting
 * with '#' ends a line, a later line wins. Keys are lowercased, as
 * guess_type falls back to the lowercased suffix. */
static void read_mime_types(apr_pool_t *p, apr_hash_t *h, const char *text)
{
    static const char ws[] = " \t\r\f\v";
    apr_pool_t *scratch;
    apr_pool_create(&scratch, p);
    while (*text) {
        apr_size_t len = strcspn(text, "\n");
        char *line = apr_pstrmemdup(scratch, text, len), *last, *word, *c;
        const char *type = NULL, *kept = NULL;
        for (word = apr_strtok(line, ws, &last); word && *word != '#';
             word = apr_strtok(NULL, ws, &last)) {
            if (!type) {
                type = word;
                continue;
            }
            if (!kept)          /* copied only for a line with suffixes */
                kept = apr_pstrdup(p, type);
            for (c = word; *c; c++)
                *c = apr_tolower(*c);
            apr_hash_set(h, apr_pstrcat(p, ".", word, NULL), APR_HASH_KEY_STRING, kept);
        }
        text += len + (text[len] != '\0');
        apr_pool_clear(scratch);
    }
    apr_pool_destroy(scratch);
}

/* The tables Gramex's mimetypes.guess_type() reads, built once per app and
 * only for an app with error pages: Python's own, then the system files
 * Python reads where they exist (Windows: its registry instead, which we do
 * not read), then Gramex's mime: (add_type). */
static void python_types(apr_pool_t *p, gx_app *app)
{
#ifndef _WIN32
    static const char *const known[] = {
        "/etc/mime.types", "/etc/httpd/mime.types", "/etc/httpd/conf/mime.types",
        "/etc/apache/mime.types", "/etc/apache2/mime.types",
        "/usr/local/etc/httpd/conf/mime.types", "/usr/local/lib/netscape/mime.types",
        "/usr/local/etc/mime.types", NULL};
    int i;
#endif
    apr_hash_index_t *hi;
    if (app->py_types)
        return;
    app->py_types = apr_hash_make(p);
    app->py_common_types = apr_hash_make(p);
    read_mime_types(p, app->py_types, gx_py_types_strict);
    read_mime_types(p, app->py_common_types, gx_py_types_common);
#ifndef _WIN32
    for (i = 0; known[i]; i++) {
        const char *why;
        char *text = read_whole(p, known[i], 4 * 1024 * 1024, &why);
        if (text)
            read_mime_types(p, app->py_types, text);
    }
#endif
    for (hi = apr_hash_first(p, app->mime); hi; hi = apr_hash_next(hi)) {
        const void *ext;
        void *type;
        apr_hash_this(hi, &ext, NULL, &type);
        apr_hash_set(app->py_types, ext, APR_HASH_KEY_STRING, type);
    }
}

/* Python's splitext: the suffix from the last '.' of the file name, unless
 * only dots come before it. */
static const char *split_ext(apr_pool_t *p, const char *path, apr_size_t len,
                             apr_size_t *base_len)
{
    apr_size_t start = len, dot, i;
    while (start && path[start - 1] != '/' && path[start - 1] != '\\')
        start--;
    for (dot = len; dot > start && path[dot - 1] != '.'; dot--)
        ;
    if (dot <= start)
        return NULL;
    for (i = start; i < dot - 1 && path[i] == '.'; i++)
        ;
    if (i == dot - 1)
        return NULL;
    *base_len = dot - 1;
    return apr_pstrmemdup(p, path + dot - 1, len - (dot - 1));
}

/* The Content-Type Gramex gives an error: page: mimetypes.guess_type(path,
 * strict=False), with its suffix and encoding maps (x.html.gz is text/html);
 * without a guess Tornado's default, with its charset. */
static const char *error_page_type(apr_pool_t *p, gx_app *app, const char *path)
{
    static const char *const suffixes[][2] = {
        {".svgz", ".svg.gz"}, {".tgz", ".tar.gz"}, {".taz", ".tar.gz"}, {".tz", ".tar.gz"},
        {".tbz2", ".tar.bz2"}, {".txz", ".tar.xz"}};
    static const char *const encodings[] = {".gz", ".Z", ".bz2", ".xz", ".br", NULL};
    const char *name = path, *ext, *type;
    apr_size_t len = strlen(path), base, i;
    char *lower, *c;
    python_types(p, app);
    ext = split_ext(p, name, len, &base);
    for (i = 0; ext && i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (strcmp(ext, suffixes[i][0]) == 0) {
            name = apr_pstrcat(p, apr_pstrmemdup(p, name, base), suffixes[i][1], NULL);
            len = strlen(name);
            ext = split_ext(p, name, len, &base);
            i = (apr_size_t)-1;     /* Python loops while the suffix maps */
        }
    for (i = 0; ext && encodings[i]; i++)
        if (strcmp(ext, encodings[i]) == 0) {
            ext = split_ext(p, name, base, &base);
            break;
        }
    if (!ext)
        return "text/html; charset=UTF-8";
    lower = apr_pstrdup(p, ext);
    for (c = lower; *c; c++)
        *c = apr_tolower(*c);
    if ((type = apr_hash_get(app->py_types, lower, APR_HASH_KEY_STRING))
        || (type = apr_hash_get(app->py_common_types, lower, APR_HASH_KEY_STRING)))
        return type;
    return "text/html; charset=UTF-8";
}

#define GRAMEX_404 " (for a missing file, with GramexUpstream, Gramex answers and renders it)"

static apr_array_header_t *error_pages(apr_pool_t *p, gx_app *app, gx_route *rt,
                                       const char *run_dir, gx_diags *d)
{
    gx_node *err = gx_map_get(rt->kwargs, "error");
    apr_array_header_t *out;
    int i;
    if (!err || err->type != GX_MAP)
        return empty_list(p, app, sizeof(gx_error_page));
    out = apr_array_make(p, 2, sizeof(gx_error_page));
    for (i = 0; i < err->n; i++) {
        const gx_node *k = err->keys[i], *v = err->vals[i], *path;
        int code = k->type == GX_INT ? (int)k->i : atoi(gx_key_text(k));
        const char *file, *why = "cannot be read";
        char *buf;
        if (code < 100 || code > 999) {
            gx_diag_add(d, GX_WARN, k->file, k->line, "url %s: error code %s is not an HTTP "
                        "status (100-999); it is ignored", rt->name, gx_key_text(k));
            continue;
        }
        path = v && v->type == GX_MAP ? gx_map_get(v, "path") : NULL;
        if (!path || !gx_scalar_text(p, path)) {
            gx_diag_add(d, GX_WARN, k->file, k->line, "url %s: error %d has no path: (a "
                        "function: page needs Gramex); Apache's own %d page is used%s",
                        rt->name, code, code, code == 404 ? GRAMEX_404 : "");
            rt->gramex_404_page |= code == 404;
            continue;
        }
        file = abs_path(p, run_dir, gx_scalar_text(p, path));
        buf = file ? read_page(p, file, &why) : NULL;
        if (!buf) {
            gx_diag_add(d, GX_WARN, path->file, path->line, "url %s: error page %s %s; Apache's "
                        "own %d page is used", rt->name, file ? file : "?", why, code);
            continue;
        }
        if (has_template_syntax(buf)) {
            gx_diag_add(d, GX_WARN, path->file, path->line, "url %s: error page %s is a Tornado "
                        "template ({{ or {%%}), which only Gramex can render; Apache's own %d "
                        "page is used%s", rt->name, file, code, code == 404 ? GRAMEX_404 : "");
            rt->gramex_404_page |= code == 404;
            continue;
        }
        {
            gx_error_page *e = apr_array_push(out);
            int h;
            e->status = code;
            e->body = buf;
            e->content_type = error_page_type(p, app, file);
            /* the page's headers: after Gramex's guess, which they override */
            e->headers = header_rules(p, gx_map_get(v, "headers"), 0,
                                      apr_psprintf(p, "url %s: error %d", rt->name, code), d);
            for (h = 0; h < e->headers->nelts; h++) {
                gx_header *hd = &APR_ARRAY_IDX(e->headers, h, gx_header);
                if (!apr_cstr_casecmp(hd->name, "Content-Type") && hd->value)
                    e->content_type = hd->value;
            }
        }
    }
    return out;
}

/* ---- one url entry -------------------------------------------------------- */

static void warn_not_relative(apr_pool_t *p, const gx_app *app, const gx_route *rt,
                              const gx_node *pattern, gx_diags *d)
{
    const char *src = pattern->src ? pattern->src : pattern->str;
    if (!pattern->file || strcmp(pattern->file, app->yaml_path) == 0
        || apr_hash_get(app->loaded->source_files, pattern->file, APR_HASH_KEY_STRING))
        return;     /* the root app and our base layer are relative to the run dir */
    if (strncmp(src, "/$YAMLURL", 9) != 0 && strncmp(src, "/${YAMLURL}", 11) != 0)
        gx_diag_add(d, GX_WARN, pattern->file, pattern->line,
                    "url %s: pattern '%s' does not start with /$YAMLURL/, so it ignores where "
                    "the app is mounted; write /$YAMLURL/...", rt->name, src);
    (void)p;
}

static void warn_path_outside(const gx_app *app, const gx_route *rt, const gx_node *path,
                              gx_diags *d)
{
    const char *src;
    if (!path || path->type != GX_STR || !path->file
        || apr_hash_get(app->loaded->source_files, path->file, APR_HASH_KEY_STRING))
        return;
    src = path->src ? path->src : path->str;
    if (gx_path_is_absolute(src))
        return;     /* absolute: the same wherever Gramex runs */
    if (strncmp(src, "$YAMLPATH", 9) != 0 && strncmp(src, "${YAMLPATH}", 11) != 0
        && strncmp(src, "{.}", 3) != 0 && strncmp(src, "$GRAMEXPATH", 11) != 0)
        gx_diag_add(d, GX_WARN, path->file, path->line,
                    "url %s: path '%s' is not under $YAMLPATH/, so it depends on the directory "
                    "Gramex runs in; write $YAMLPATH/...", rt->name, src);
}

/* Gramex's handler names, for "did you mean" on a typo. */
static const char *const gramex_handlers[] = {
    "FileHandler", "FunctionHandler", "FormHandler", "ProxyHandler", "WebSocketHandler",
    "DriveHandler", "UploadHandler", "JSONHandler", "ProcessHandler", "PPTXHandler",
    "CaptureHandler", "MLHandler", "MLPredictor", "FilterHandler", "ComicHandler",
    "OpenAPIHandler", "MessageHandler", "ModelHandler", "QueryHandler", "DataHandler",
    "SimpleAuth", "GoogleAuth", "LDAPAuth", "DBAuth", "SMSAuth", "EmailAuth", "OAuth2",
    "LogoutHandler", "IntegratedAuth", "SAMLAuth", "TwitterAuth", "FacebookAuth",
    "AuthHandler", "BaseHandler", "SetupFailedHandler", "ChatGPTHandler", "GramexChartHandler",
    NULL
};

static int edit_distance(const char *a, const char *b)
{
    int row[64], i, j, la = (int)strlen(a), lb = (int)strlen(b);
    if (la >= 63 || lb >= 63)
        return 99;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (apr_tolower(a[i - 1]) != apr_tolower(b[j - 1]));
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The Gramex handler a name is a typo of (1-2 edits), or NULL. Dotted names
 * (module.Class) are Python classes, never typos. */
static const char *misspelt_handler(const char *name)
{
    int i;
    if (strchr(name, '.'))
        return NULL;
    for (i = 0; gramex_handlers[i]; i++)
        if (strcmp(name, gramex_handlers[i]) == 0)
            return NULL;
    for (i = 0; gramex_handlers[i]; i++) {
        int n = edit_distance(name, gramex_handlers[i]);
        if (n <= 2 && n * 5 <= (int)strlen(name))
            return gramex_handlers[i];
    }
    return NULL;
}

/* Tornado checks XSRF before any handler code; BaseHandler's setup_xsrf
 * replaces the check with a no-op for `xsrf_cookies: false` exactly (not
 * other false values), and with one that AJAX requests skip otherwise. A
 * class of the app's own may do either: left OFF, as we cannot tell. */
static gx_xsrf xsrf_check(const gx_app *app, const gx_route *rt)
{
    const gx_node *off = gx_map_get(rt->kwargs, "xsrf_cookies");
    if (!app->xsrf_cookies)
        return GX_XSRF_OFF;
    if (!is_gramex_handler(rt->handler))
        return strncmp(rt->handler, "tornado.", 8) == 0 ? GX_XSRF_TORNADO : GX_XSRF_OFF;
    return off && off->type == GX_BOOL && !off->i ? GX_XSRF_OFF : GX_XSRF_GRAMEX;
}

static gx_route *build_route(apr_pool_t *p, gx_app *app, const gx_node *name_node,
                             const gx_node *spec, const gx_node *handlers,
                             const gx_node *app_auth, const gx_app_opts *o, gx_diags *d)
{
    gx_route *rt = apr_pcalloc(p, sizeof(*rt));
    const gx_node *pattern, *handler, *prio, *kwargs;
    int alias, typo = 0;
    const char *canon;

    rt->name = gx_key_text(name_node);
    rt->file = name_node->file;
    rt->line = name_node->line;
    if (!spec || spec->type != GX_MAP) {
        gx_diag_add(d, GX_ERROR, name_node->file, name_node->line,
                    "url %s: must be a mapping with pattern: and handler:", rt->name);
        return NULL;
    }
    pattern = gx_map_get(spec, "pattern");
    if (!pattern || !gx_scalar_text(p, pattern) || pattern->type == GX_NULL) {
        gx_diag_add(d, GX_ERROR, name_node->file, name_node->line,
                    "url %s: no pattern: specified; add pattern: /$YAMLURL/...", rt->name);
        return NULL;
    }
    handler = gx_map_get(spec, "service");
    if (!handler)
        handler = gx_map_get(spec, "handler");
    if (!handler || !gx_scalar_text(p, handler) || handler->type == GX_NULL) {
        gx_diag_add(d, GX_ERROR, name_node->file, name_node->line,
                    "url %s: no service: or handler: specified; add handler: FileHandler (or "
                    "another Gramex handler)", rt->name);
        return NULL;
    }
    rt->pattern = gx_scalar_text(p, pattern);
    rt->handler = gx_scalar_text(p, handler);
    if (strncmp(rt->handler, "gramex.handlers.", 16) == 0)
        rt->handler += 16;
    prio = gx_map_get(spec, "priority");
    if (prio && prio->type != GX_NULL) {
        if (prio->type != GX_INT && prio->type != GX_FLOAT && prio->type != GX_BOOL) {
            gx_diag_add(d, GX_ERROR, prio->file, prio->line,
                        "url %s: priority must be a number, not '%s' (Gramex aborts start-up)",
                        rt->name, gx_scalar_text(p, prio) ? gx_scalar_text(p, prio) : "?");
            return NULL;
        }
        rt->priority = prio->type == GX_FLOAT ? prio->f : (double)prio->i;
    }
    kwargs = gx_map_get(spec, "kwargs");
    if (kwargs && kwargs->type != GX_MAP && kwargs->type != GX_NULL) {
        gx_diag_add(d, GX_ERROR, kwargs->file, kwargs->line,
                    "url %s: kwargs must be a mapping, not a %s", rt->name, gx_type_name(kwargs->type));
        return NULL;
    }
    /* the route's own top-level map over the config's nodes: merging
     * defaults below copies only the maps it writes into */
    rt->kwargs = gx_map_new(p, rt->file, rt->line);
    if (kwargs && kwargs->type == GX_MAP)
        gx_merge_setdefault_shared(p, rt->kwargs, kwargs);

    /* handlers.<Handler> then handlers.BaseHandler, by the exact handler string */
    canon = canonical_handler(rt->handler, &alias);
    if (is_gramex_handler(rt->handler)) {
        /* shared, not copied: 10,000 routes would otherwise hold 10,000
         * copies of the same defaults */
        gx_merge_setdefault_shared(p, rt->kwargs, gx_map_get(handlers, rt->handler));
        gx_merge_setdefault_shared(p, rt->kwargs, gx_map_get(handlers, "BaseHandler"));
        if (!gx_map_get(rt->kwargs, "auth") && app_auth && app_auth->type != GX_NULL)
            gx_map_set(p, rt->kwargs, "auth", gx_node_copy(p, app_auth));
    }
    rt->xsrf = xsrf_check(app, rt);
    warn_not_relative(p, app, rt, pattern, d);

    {
        /* normalising allocates scratch space: keep only the result */
        apr_pool_t *scratch;
        apr_pool_create(&scratch, p);
        rt->regex = apr_pstrdup(p, gx_pattern_to_regex(scratch, rt->pattern));
        apr_pool_destroy(scratch);
    }
    /* UploadHandler takes methods: for itself (methods: get lists the
     * uploads); BaseHandler never sees it, so Gramex restricts nothing */
    if (gx_map_get(rt->kwargs, "methods") && strcmp(canon, "UploadHandler") != 0)
        rt->methods = method_list(p, gx_map_get(rt->kwargs, "methods"));
    rt->error_pages = error_pages(p, app, rt, app->run_dir, d);
    rt->cors = gx_cors_parse(p, gx_map_get(rt->kwargs, "cors"), gx_map_get(rt->kwargs, "auth"));

    if (strcmp(canon, "FileHandler") == 0) {
        if (alias && (!gx_map_get(rt->kwargs, "ignore") || !gx_map_get(rt->kwargs, "allow"))) {
            rt->kind = GX_KIND_BROKEN;
            rt->upstream_reason = apr_psprintf(p, "handler %s is an alias of FileHandler and gets "
                                               "no handlers.FileHandler defaults, so Gramex fails "
                                               "its setup (no ignore:/allow:)", rt->handler);
            gx_diag_add(d, GX_WARN, handler->file, handler->line,
                        "url %s: %s; every request answers 500. Write handler: FileHandler",
                        rt->name, rt->upstream_reason);
            return rt;
        }
        rt->kind = GX_KIND_FILE;
        warn_path_outside(app, rt, gx_map_get(rt->kwargs, "path"), d);
        rt->fh = file_conf(p, app, rt, app->run_dir, d);
        if (!rt->fh && rt->kind == GX_KIND_FILE)
            return NULL;        /* an error was reported */
    }
    else if (strcmp(canon, "ProxyHandler") == 0) {
        const gx_node *u = gx_map_get(rt->kwargs, "url");
        const char *why;
        rt->kind = GX_KIND_PROXY;
        rt->target = gx_scalar_text(p, u);
        if (!rt->target || !*rt->target) {
            gx_diag_add(d, GX_ERROR, rt->file, rt->line,
                        "url %s: ProxyHandler needs kwargs.url; add url: http://host:port/path",
                        rt->name);
            return NULL;
        }
        /* the url and request_headers checked (both reported);
         * prepare:/modify:/{handler...} need Python */
        why = rt->target[0] == '/' ? NULL : gx_url_parse(p, rt->target, GX_URL_TEMPLATE, NULL);
        if (why)
            gx_diag_add(d, GX_ERROR, u->file, u->line,
                        "url %s: ProxyHandler url '%s' %s; write e.g. "
                        "http://127.0.0.1:8000/{0}", rt->name, gx_printable(p, rt->target), why);
        rt->proxy = gx_proxy_conf_make(p, rt->kwargs, rt->name, d);
        if (why || !rt->proxy)
            return NULL;
        if (rt->target[0] == '/') {
            /* Tornado's client refuses a url without a host, so Gramex
             * answers these itself (its tests use one with on_message:) */
            rt->kind = GX_KIND_UPSTREAM;
            rt->upstream_reason = "its url has no host (Gramex answers it)";
            if (o->has_upstream)
                gx_diag_add(d, GX_WARN, u->file, u->line, "url %s: ProxyHandler url '%s' has "
                            "no host, so GramexUpstream answers it; write http://host:port%s to "
                            "have Apache proxy it", rt->name, gx_printable(p, rt->target),
                            gx_printable(p, rt->target));
        }
        else if (rt->proxy->needs_gramex) {
            rt->kind = GX_KIND_UPSTREAM;
            rt->upstream_reason = rt->proxy->needs_gramex;
        }
    }
    else if (strcmp(rt->handler, "tornado.web.RedirectHandler") == 0) {
        const gx_node *perm = gx_map_get(rt->kwargs, "permanent");
        rt->kind = GX_KIND_REDIRECT;
        rt->target = gx_scalar_text(p, gx_map_get(rt->kwargs, "url"));
        rt->permanent = perm ? gx_truthy(perm) : 1;
        if (!rt->target) {
            gx_diag_add(d, GX_ERROR, rt->file, rt->line,
                        "url %s: RedirectHandler needs kwargs.url", rt->name);
            return NULL;
        }
    }
    else {
        rt->kind = GX_KIND_UPSTREAM;
        rt->websocket = strcmp(canon, "WebSocketHandler") == 0;
        rt->upstream_reason = apr_psprintf(p, "%s runs Python", rt->handler);
        if ((canon = misspelt_handler(rt->handler)) != NULL) {
            rt->upstream_reason = apr_psprintf(p, "handler %s is not a Gramex handler (did you "
                                               "mean %s?)", rt->handler, canon);
            gx_diag_add(d, GX_WARN, handler->file, handler->line,
                        "url %s: handler %s is not a Gramex handler; did you mean %s?",
                        rt->name, rt->handler, canon);
            typo = 1;
        }
    }
    if (rt->kind != GX_KIND_UPSTREAM && gx_map_get(rt->kwargs, "auth")
        && gx_truthy(gx_map_get(rt->kwargs, "auth"))) {
        rt->kind = GX_KIND_UPSTREAM;
        rt->upstream_reason = "auth: needs Gramex's sessions";
    }
    if (rt->kind != GX_KIND_FILE)
        rt->headers = header_rules(p, gx_map_get(rt->kwargs, "headers"), 0,
                                   apr_psprintf(p, "url %s", rt->name), d);
    if (rt->kind == GX_KIND_UPSTREAM && !o->has_upstream && !typo)
        gx_diag_add(d, GX_WARN, rt->file, rt->line,
                    "url %s (%s): %s, which Apache cannot do; it answers 503 until "
                    "GramexUpstream points at a running Gramex", rt->name, rt->handler,
                    rt->upstream_reason);
    return rt;
}

/* ---- the app -------------------------------------------------------------- */

typedef struct {
    gx_route *route;
    gx_sort_key key;
    int order;
} sortable;

static int route_cmp(const void *a, const void *b)
{
    const sortable *x = a, *y = b;
    int c = gx_sort_key_cmp(&x->key, &y->key);
    return c ? c : x->order - y->order;   /* stable: definition order */
}

static void base_headers(apr_pool_t *p, gx_app *app, const gx_node *handlers, gx_diags *d)
{
    const gx_node *base = gx_map_get(handlers, "BaseHandler");
    const gx_node *h = base ? gx_map_get(base, "headers") : NULL;
    const gx_node *server = h && h->type == GX_MAP ? gx_map_get(h, "Server") : NULL;
    app->base_headers = header_rules(p, h, 0, "handlers.BaseHandler", d);
    app->server_header_off = server && (server->type == GX_NULL
                                        || (server->type == GX_BOOL && !server->i));
}

static void mime_table(apr_pool_t *p, gx_app *app)
{
    const gx_node *m = gx_map_get(app->loaded->config, "mime");
    int i;
    app->mime = apr_hash_make(p);
    if (!m || m->type != GX_MAP)
        return;
    for (i = 0; i < m->n; i++) {
        char *ext = apr_pstrdup(p, gx_key_text(m->keys[i])), *c;
        const char *type = gx_scalar_text(p, m->vals[i]);
        if (!type)
            continue;
        for (c = ext; *c; c++)
            *c = apr_tolower(*c);
        apr_hash_set(app->mime, ext, APR_HASH_KEY_STRING, type);
    }
}

gx_app *gx_app_build(apr_pool_t *p, gx_loaded *loaded, const char *yaml_path,
                     const char *run_dir, const gx_app_opts *o, gx_diags *d)
{
    gx_app *app = apr_pcalloc(p, sizeof(*app));
    const gx_node *url, *handlers, *appconf;
    sortable *items;
    const char **regexes, **names, **files;
    int *lines;
    int i, n = 0;
    gx_app_opts none = {0};

    if (!o)
        o = &none;
    app->yaml_path = yaml_path;
    app->run_dir = run_dir;
    app->loaded = loaded;
    app->routes = apr_array_make(p, 16, sizeof(gx_route *));
    app->protected_files = apr_hash_make(p);
    app->memo = apr_hash_make(p);
    for (i = 0; loaded->files && i < loaded->files->nelts; i++)
        apr_hash_set(app->protected_files, APR_ARRAY_IDX(loaded->files, i, const char *),
                     APR_HASH_KEY_STRING, "");
    url = gx_map_get(loaded->config, "url");
    handlers = gx_map_get(loaded->config, "handlers");
    appconf = gx_map_get(loaded->config, "app");
    mime_table(p, app);
    base_headers(p, app, handlers, d);
    {
        const gx_node *body = gx_map_get(gx_map_get(appconf, "listen"), "max_body_size");
        const gx_node *gzip = gx_map_get(gx_map_get(appconf, "settings"), "compress_response");
        const gx_node *tb = gx_map_get(gx_map_get(appconf, "settings"), "serve_traceback");
        const gx_node *xsrf = gx_map_get(gx_map_get(appconf, "settings"), "xsrf_cookies");
        app->max_body = body && body->type == GX_INT && body->i > 0 ? (apr_off_t)body->i
                                                                     : GX_DEFAULT_MAX_BODY;
        app->compress = !gzip || gx_truthy(gzip);
        app->serve_traceback = !tb || gx_truthy(tb);
        app->xsrf_cookies = !xsrf || gx_truthy(xsrf);
    }

    if (url && url->type != GX_MAP) {
        gx_diag_add(d, GX_ERROR, url->file, url->line, "url: must be a mapping of name: "
                    "{pattern: ..., handler: ...}");
        url = NULL;
    }
    items = apr_pcalloc(p, sizeof(*items) * (url ? url->n + 1 : 1));
    for (i = 0; url && i < url->n; i++) {
        gx_route *rt = build_route(p, app, url->keys[i], url->vals[i], handlers,
                                   appconf ? gx_map_get(appconf, "auth") : NULL, o, d);
        if (!rt)
            continue;
        items[n].route = rt;
        items[n].key = gx_pattern_sort_key(rt->pattern, rt->priority);
        items[n].order = i;
        n++;
    }
    qsort(items, n, sizeof(*items), route_cmp);
    regexes = apr_palloc(p, sizeof(char *) * (n + 1));
    names = apr_palloc(p, sizeof(char *) * (n + 1));
    files = apr_palloc(p, sizeof(char *) * (n + 1));
    lines = apr_palloc(p, sizeof(int) * (n + 1));
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(app->routes, gx_route *) = items[i].route;
        regexes[i] = items[i].route->regex;
        names[i] = items[i].route->name;
        files[i] = items[i].route->file;
        lines[i] = items[i].route->line;
    }
    app->router = gx_router_build(p, regexes, n, names, files, lines, d);
    (void)node_where;
    return app;
}

/* ---- files we never serve ------------------------------------------------ */

static int is_config_name(const char *base)
{
    /* gramex*.yaml (any case) and .secrets* are configuration, never content */
    apr_size_t len = strlen(base);
    if (apr_cstr_casecmpn(base, "gramex", 6) == 0 && len >= 5 && apr_cstr_casecmp(base + len - 5, ".yaml") == 0)
        return 1;
    return apr_cstr_casecmpn(base, ".secrets", 8) == 0;
}

/* The config files themselves; on Windows any case of their names. */
static int is_protected(const gx_app *app, const char *abspath)
{
    apr_hash_index_t *hi;
    if (apr_hash_get(app->protected_files, abspath, APR_HASH_KEY_STRING))
        return 1;
    for (hi = GX_PATH_ICASE ? apr_hash_first(NULL, app->protected_files) : NULL; hi; hi = apr_hash_next(hi))
        if (!gx_path_cmp(apr_hash_this_key(hi), abspath))
            return 1;
    return 0;
}

int gx_app_never_serve(const gx_app *app, const char *root, const char *abspath)
{
    apr_size_t rlen = root ? strlen(root) : 0;
    const char *rel = abspath, *seg;
    if (app && is_protected(app, abspath))
        return 1;
    if (root && gx_path_ncmp(abspath, root, rlen) == 0)
        rel = abspath + rlen;
    /* every component below the route root: dotfiles and dot-directories
     * (except .well-known, which ACME and others publish on purpose) */
    for (seg = rel; seg && *seg; ) {
        const char *end;
        while (*seg == '/' || *seg == '\\')
            seg++;
        if (!*seg)
            break;
        end = seg + strcspn(seg, "/\\");
        if (*seg == '.' && !(end - seg == 11 && strncmp(seg, ".well-known", 11) == 0))
            return 1;
        if (!*end && is_config_name(seg))
            return 1;
        seg = end;
    }
    return 0;
}

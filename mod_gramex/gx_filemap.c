/* gx_filemap: see gx_filemap.h. */
#include "gx_filemap.h"
#include "gx_pattern.h"
#include "gx_percent.h"
#include "gx_pathrule.h"
#include "gx_format.h"
#include "gx_path.h"
#include <apr_cstr.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static int refuse(gx_decision *d, int status, const char *reason)
{
    d->action = GX_DO_REFUSE;
    d->status = status;
    d->reason = reason;
    return 0;
}

/* A path segment Windows would silently alter or treat specially: trailing
 * dots or spaces (stripped by Win32), ':' (alternate data streams such as
 * ::$DATA), device names. Refused on every platform so that behaviour and
 * tests are the same everywhere. */
static int unsafe_segment(const char *seg, apr_size_t n)
{
    static const char *const devices[] = {"con", "prn", "aux", "nul", "com", "lpt", NULL};
    apr_size_t stem;
    int i;
    if (n == 0)
        return 0;
    if (seg[n - 1] == '.' || seg[n - 1] == ' ')
        return 1;
    if (memchr(seg, ':', n))
        return 1;
    stem = 0;
    while (stem < n && seg[stem] != '.')
        stem++;
    for (i = 0; devices[i]; i++) {
        apr_size_t dl = strlen(devices[i]);
        if (stem >= dl && apr_cstr_casecmpn(seg, devices[i], dl) == 0
            && (stem == dl || (stem == dl + 1 && apr_isdigit(seg[dl]) && dl == 3
                               && (devices[i][0] == 'c' || devices[i][0] == 'l')
                               && strcmp(devices[i], "con") != 0)))
            return 1;
    }
    return 0;
}

static int unsafe_relpath(const char *rel)
{
    const char *s = rel;
    while (*s) {
        apr_size_t n = strcspn(s, "/\\");
        if (unsafe_segment(s, n))
            return 1;
        s += n;
        while (*s == '/' || *s == '\\')
            s++;
    }
    return 0;
}

/* root + rel, confined (SECUREROOT) and in the OS's true case. */
static const char *join_confined(apr_pool_t *p, const char *root, const char *rel)
{
    char *out = NULL;
    if (!*rel)
        return root;
    if (apr_filepath_merge(&out, root, rel, APR_FILEPATH_SECUREROOT | APR_FILEPATH_TRUENAME, p)
        != APR_SUCCESS)
        return NULL;
    return out;
}

const char *gx_query_arg(apr_pool_t *p, const char *query, const char *name)
{
    apr_size_t nl = strlen(name);
    while (query && *query) {
        apr_size_t len = strcspn(query, "&;");
        const char *eq = memchr(query, '=', len);
        if (eq) {
            char *key = gx_percent_decode(p, query, (apr_size_t)(eq - query), GX_DECODE_PLUS);
            if (strlen(key) == nl && strcmp(key, name) == 0)
                return gx_percent_decode(p, eq + 1, len - (apr_size_t)(eq - query) - 1,
                                         GX_DECODE_PLUS);
        }
        query += len;
        if (*query)
            query++;
    }
    return NULL;
}

typedef struct {
    apr_pool_t *p;
    pcre2_match_data *md;
    const char *subject;
    const pcre2_code *code;
    const char *query;
    const char *fallback;
} map_ctx;

/* {name}: a named group of the path key, else the first ?name= argument,
 * else the `default:` kwarg (spec f.1) */
static const char *map_lookup(void *vctx, const char *name)
{
    map_ctx *ctx = vctx;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ctx->md);
    int num = pcre2_substring_number_from_name(ctx->code, (PCRE2_SPTR)name);
    const char *v;
    if (num > 0 && ov[2 * num] != PCRE2_UNSET)
        return apr_pstrmemdup(ctx->p, ctx->subject + ov[2 * num], ov[2 * num + 1] - ov[2 * num]);
    if ((v = gx_query_arg(ctx->p, ctx->query, name)))
        return v;
    return ctx->fallback;
}

static void *pool_malloc(PCRE2_SIZE size, void *pool)
{
    return apr_palloc(pool, size);
}

static void pool_free(void *block, void *pool)
{
    (void)block; (void)pool;        /* freed with the request's pool */
}

/* Mapping form of path: the first matching key's template, formatted.
 * Returns the path relative to *root (the template's own directory). */
static const char *map_path(apr_pool_t *p, const gx_file_conf *fh, const char *rel,
                            const char *query, const char **root, gx_decision *d)
{
    pcre2_general_context *gc = pcre2_general_context_create(pool_malloc, pool_free, p);
    int i;
    for (i = 0; i < fh->path_map->nelts; i++) {
        const gx_path_map_entry *e = &APR_ARRAY_IDX(fh->path_map, i, gx_path_map_entry);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(e->code, gc);
        int rc = md ? pcre2_match(e->code, (PCRE2_SPTR)rel, strlen(rel), 0, 0, md, NULL) : -1;
        const char *args[GX_MAX_CAPTURES];
        PCRE2_SIZE *ov;
        map_ctx ctx;
        int k, n;
        char *target;
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc < 0) {           /* match limit and the like: fail closed */
            refuse(d, 500, "path key regex failed to run (match limit)");
            return NULL;
        }
        ov = pcre2_get_ovector_pointer(md);
        ctx.p = p; ctx.md = md; ctx.subject = rel; ctx.code = e->code; ctx.query = query;
        ctx.fallback = fh->map_default ? fh->map_default : "";
        n = rc - 1 < GX_MAX_CAPTURES ? rc - 1 : GX_MAX_CAPTURES;
        for (k = 0; k < n; k++)
            args[k] = ov[2 * (k + 1)] == PCRE2_UNSET ? "None"
                    : apr_pstrmemdup(p, rel + ov[2 * (k + 1)], ov[2 * (k + 1) + 1] - ov[2 * (k + 1)]);
        target = gx_format(p, e->target, args, n, map_lookup, &ctx);
        if (!target) {
            refuse(d, 500, "path template is not valid");
            return NULL;
        }
        /* query values end up in paths ([W] in Gramex): confine to the root */
        if (gx_path_ncmp(target, e->root, strlen(e->root)) != 0) {
            refuse(d, 403, "path template left its directory");
            return NULL;
        }
        *root = e->root;
        rel = gx_capture_to_relpath(p, target + strlen(e->root));
        if (!rel)
            refuse(d, 404, "unsafe path from template");
        return rel;
    }
    refuse(d, 404, "matches no path key");
    return NULL;
}

/* The url's headers that apply to this file (spec f.8), in order, with
 * their patterns matched (so NULL). */
static apr_array_header_t *file_headers(apr_pool_t *p, const gx_file_conf *fh, const char *file)
{
    apr_array_header_t *out = apr_array_make(p, fh->headers->nelts, sizeof(gx_header));
    int i;
    for (i = 0; i < fh->headers->nelts; i++) {
        const gx_header *h = &APR_ARRAY_IDX(fh->headers, i, gx_header);
        gx_header *s;
        if (h->pattern && !gx_fnmatch_path(h->pattern, file))
            continue;
        s = apr_array_push(out);
        s->pattern = NULL;
        s->name = h->name;
        s->value = h->value;
    }
    return out;
}

/* The path relative to the url's root that the request names. */
static const char *relative_path(apr_pool_t *p, const gx_file_conf *fh, const gx_match *m,
                                 const char *path, const char *query, const char **root,
                                 gx_decision *d)
{
    const char *rel = "";
    if (m->ngroups >= 1 && !m->has_named && m->ovector[2] != (apr_size_t)-1) {
        const char *decoded = gx_capture_decode(p, path + m->ovector[2],
                                                m->ovector[3] - m->ovector[2]);
        if (!decoded) {
            refuse(d, 400, "capture is not valid UTF-8");
            return NULL;
        }
        rel = gx_capture_to_relpath(p, decoded);
        if (!rel) {
            refuse(d, 404, "unsafe capture");
            return NULL;
        }
    }
    switch (fh->path_kind) {
    case GX_PATH_FILE:
        return fh->path + strlen(fh->root) + 1;
    case GX_PATH_STAR: {
        const char *tail = fh->path + strlen(fh->root) + 1;
        char *out = "", *star;
        if (m->ngroups < 1 || m->has_named) {
            refuse(d, 500, "path has * but the pattern has no capture group");
            return NULL;
        }
        while ((star = strchr(tail, '*'))) {
            out = apr_pstrcat(p, out, apr_pstrmemdup(p, tail, star - tail), rel, NULL);
            tail = star + 1;
        }
        rel = gx_capture_to_relpath(p, apr_pstrcat(p, out, tail, NULL));
        if (!rel)
            refuse(d, 404, "unsafe capture");
        return rel;
    }
    case GX_PATH_MAP:
        return map_path(p, fh, rel, query, root, d);
    default:
        return rel;
    }
}

/* A directory: its first default_filename that is a file, else a listing
 * (index: true), after the trailing-slash redirect. Returns the file to
 * serve, or NULL with d filled. */
static const char *directory(apr_pool_t *p, const gx_file_conf *fh, const char *dir,
                             const char *query, apr_finfo_t *fi, gx_decision *d)
{
    int i;
    const char *path = d->path;
    for (i = 0; i < fh->default_filename->nelts; i++) {
        const char *name = APR_ARRAY_IDX(fh->default_filename, i, const char *);
        const char *f = join_confined(p, dir, name);
        if (f && apr_stat(fi, f, APR_FINFO_MIN, p) == APR_SUCCESS && fi->filetype == APR_REG) {
            if (path[strlen(path) - 1] != '/')
                break;
            return f;
        }
    }
    if (i == fh->default_filename->nelts && !fh->index) {
        refuse(d, 404, "directory has no index file");
        return NULL;
    }
    if (path[strlen(path) - 1] != '/') {
        /* built from the request itself: Gramex trusts X-Request-URI here,
         * an open redirect (spec f.3 [W]) */
        d->action = GX_DO_REDIRECT;
        d->status = 301;
        d->location = apr_pstrcat(p, path, "/", query ? "?" : "", query ? query : "", NULL);
        return NULL;
    }
    d->action = GX_DO_LISTING;
    d->file = dir;
    return NULL;
}

int gx_filemap(apr_pool_t *p, const gx_app *app, const gx_route *rt, const gx_match *m,
               const char *query, int upstream, gx_decision *d)
{
    const gx_file_conf *fh = rt->fh;
    const char *root = fh->root, *rel, *file;
    apr_finfo_t fi;

    if (fh->refused)
        return refuse(d, 404, fh->refused);
    rel = relative_path(p, fh, m, d->path, query, &root, d);
    if (!rel)
        return 0;
    if (unsafe_relpath(rel))
        return refuse(d, 403, "unsafe path segment");
    file = join_confined(p, root, rel);
    if (!file)
        return refuse(d, 403, "outside the url's root");
    d->root = root;
    if (apr_stat(&fi, file, APR_FINFO_MIN, p) != APR_SUCCESS) {
        if (!(upstream && rt->gramex_404_page))
            return refuse(d, 404, "missing");
        d->file = file;         /* where it would be: httpd's walk checks the admin's rules */
        memset(&d->finfo, 0, sizeof(d->finfo));
        return 1;
    }
    if (fi.filetype == APR_DIR) {
        file = directory(p, fh, file, query, &fi, d);
        if (!file)
            return 0;
    }
    else if (fi.filetype != APR_REG) {
        return refuse(d, 403, "not a regular file");
    }
    d->file = file;
    if (gx_app_never_serve(app, root, file))
        return refuse(d, 403, "never served (config, secrets or dotfile)");
    if (!gx_pathset_allowed(fh->ignore_set, fh->allow_set, file))
        return refuse(d, 403, "not allowed by ignore/allow");
    d->headers = file_headers(p, fh, file);
    d->finfo = fi;
    if (gx_pathset_match(fh->transform_set, file))
        return 1;   /* source code for Gramex to render: never sent raw */
    d->action = GX_DO_FILE;
    return 0;
}

/* mod_gramex_files: FileHandler routes (spec f.1-f.5, f.8).
 *
 * Decides which file a request means, confines it to the route's root,
 * refuses what must not be served, then leaves the sending to core's
 * default handler (ETag, Last-Modified, Range, HEAD, sendfile). */
#include "mod_gramex.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "gx_pattern.h"
#include "gx_pathrule.h"
#include "gx_format.h"
#include <apr_strings.h>
#include <apr_lib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

APLOG_USE_MODULE(gramex);

static int refuse(request_rec *r, const gx_route *rt, int status, const char *why, const char *file)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0020) "url %s: %s: %s", rt->name,
                  why, file ? file : r->uri);
    return status;
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
        if (stem >= dl && strncasecmp(seg, devices[i], dl) == 0
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

/* No component between root and file may be a symlink: Gramex follows them
 * out of the served tree (spec f.2 [W]); we never do. */
static int crosses_symlink(apr_pool_t *p, const char *root, const char *file)
{
    apr_size_t rlen = strlen(root);
    char *walk = apr_pstrdup(p, file), *c;
    apr_finfo_t fi;
    for (c = walk + rlen + 1; ; c++) {
        if (*c == '/' || *c == '\0') {
            char keep = *c;
            *c = '\0';
            if (apr_stat(&fi, walk, APR_FINFO_LINK | APR_FINFO_TYPE, p) == APR_SUCCESS
                && fi.filetype == APR_LNK)
                return 1;
            *c = keep;
            if (!keep)
                break;
        }
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

typedef struct {
    request_rec *r;
    pcre2_match_data *md;
    const char *subject;
    pcre2_code *code;
    const char *fallback;
} map_ctx;

/* {name}: a named group of the path key, else the first ?name= argument,
 * else the `default:` kwarg (spec f.1) */
static const char *map_lookup(void *vctx, const char *name)
{
    map_ctx *ctx = vctx;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ctx->md);
    int num = pcre2_substring_number_from_name(ctx->code, (PCRE2_SPTR)name);
    if (num > 0 && ov[2 * num] != PCRE2_UNSET)
        return apr_pstrmemdup(ctx->r->pool, ctx->subject + ov[2 * num],
                              ov[2 * num + 1] - ov[2 * num]);
    if (ctx->r->args) {
        apr_table_t *args;
        const char *v;
        ap_args_to_table(ctx->r, &args);
        if ((v = apr_table_get(args, name)))
            return v;
    }
    return ctx->fallback;
}

/* Mapping form of path: first matching key's template, formatted. Returns
 * the path relative to *root (the template's own directory), or NULL. */
static const char *map_path(request_rec *r, const gx_file_conf *fh, const char *rel,
                            const char **root, int *status)
{
    int i;
    for (i = 0; i < fh->path_map->nelts; i++) {
        const gx_path_map_entry *e = &APR_ARRAY_IDX(fh->path_map, i, gx_path_map_entry);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(e->code, NULL);
        int rc = pcre2_match(e->code, (PCRE2_SPTR)rel, strlen(rel), 0, 0, md, NULL);
        if (rc > 0) {
            const char *args[GX_MAX_CAPTURES];
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            map_ctx ctx = {r, md, rel, e->code, fh->map_default ? fh->map_default : ""};
            int k, n = rc - 1 < GX_MAX_CAPTURES ? rc - 1 : GX_MAX_CAPTURES;
            char *target;
            for (k = 0; k < n; k++)
                args[k] = ov[2 * (k + 1)] == PCRE2_UNSET ? "None"
                        : apr_pstrmemdup(r->pool, rel + ov[2 * (k + 1)], ov[2 * (k + 1) + 1] - ov[2 * (k + 1)]);
            target = gx_format(r->pool, e->target, args, n, map_lookup, &ctx);
            pcre2_match_data_free(md);
            if (!target) {
                *status = HTTP_INTERNAL_SERVER_ERROR;
                return NULL;
            }
            /* query values end up in paths ([W] in Gramex): confine to the root */
            if (strncmp(target, e->root, strlen(e->root)) != 0) {
                *status = HTTP_FORBIDDEN;
                return NULL;
            }
            *root = e->root;
            return gx_capture_to_relpath(r->pool, target + strlen(e->root));
        }
        pcre2_match_data_free(md);
    }
    *status = HTTP_NOT_FOUND;
    return NULL;
}

/* Per-file headers of the route (spec f.8), on every successful response. */
static void file_headers(request_rec *r, const gx_file_conf *fh, const char *file)
{
    int i;
    for (i = 0; i < fh->headers->nelts; i++) {
        const gx_header *h = &APR_ARRAY_IDX(fh->headers, i, gx_header);
        if (h->pattern && !gx_fnmatch_path(h->pattern, file))
            continue;
        if (h->value)
            apr_table_set(r->err_headers_out, h->name, h->value);
        else
            apr_table_unset(r->err_headers_out, h->name);
    }
}

/* The directory-without-slash redirect, built from the request itself:
 * Gramex trusts X-Request-URI here, an open redirect (spec f.3 [W]). */
static int add_slash(request_rec *r, const char *url_path)
{
    const char *loc = apr_pstrcat(r->pool, url_path, "/", r->args ? "?" : "",
                                  r->args ? r->args : "", NULL);
    apr_table_setn(r->headers_out, "Location", loc);
    return HTTP_MOVED_PERMANENTLY;
}

int gx_serve_file_route(request_rec *r, gx_request *gr, const gx_match *m)
{
    const gx_route *rt = gr->route;
    const gx_file_conf *fh = rt->fh;
    const char *rel = "", *file, *chosen, *root = fh->root;
    apr_finfo_t fi;
    int status = OK;

    if (m->ngroups >= 1 && !m->has_named && m->ovector[2] != (apr_size_t)-1) {
        const char *decoded = gx_capture_decode(r->pool, gr->url_path + m->ovector[2],
                                                m->ovector[3] - m->ovector[2]);
        if (!decoded)
            return refuse(r, rt, HTTP_BAD_REQUEST, "capture is not valid UTF-8", NULL);
        rel = gx_capture_to_relpath(r->pool, decoded);
        if (!rel)
            return refuse(r, rt, HTTP_NOT_FOUND, "unsafe capture", NULL);
    }
    switch (fh->path_kind) {
    case GX_PATH_FILE:
        rel = fh->path + strlen(fh->root) + 1;
        break;
    case GX_PATH_STAR: {
        const char *tail = fh->path + strlen(fh->root) + 1;
        char *out = apr_pstrdup(r->pool, ""), *star;
        if (m->ngroups < 1 || m->has_named)
            return refuse(r, rt, HTTP_INTERNAL_SERVER_ERROR,
                          "path has * but the pattern has no capture group", NULL);
        while ((star = strchr(tail, '*'))) {
            out = apr_pstrcat(r->pool, out, apr_pstrmemdup(r->pool, tail, star - tail), rel, NULL);
            tail = star + 1;
        }
        rel = gx_capture_to_relpath(r->pool, apr_pstrcat(r->pool, out, tail, NULL));
        if (!rel)
            return refuse(r, rt, HTTP_NOT_FOUND, "unsafe capture", NULL);
        break;
    }
    case GX_PATH_MAP:
        rel = map_path(r, fh, rel, &root, &status);
        if (!rel)
            return refuse(r, rt, status, "matches no path key", NULL);
        break;
    default:
        break;
    }
    if (unsafe_relpath(rel))
        return refuse(r, rt, HTTP_FORBIDDEN, "unsafe path segment", rel);
    file = join_confined(r->pool, root, rel);
    if (!file)
        return refuse(r, rt, HTTP_FORBIDDEN, "outside the route's root", rel);
    if (*rel && crosses_symlink(r->pool, root, file))
        return refuse(r, rt, HTTP_FORBIDDEN, "symlink inside the served tree", file);
    if (apr_stat(&fi, file, APR_FINFO_MIN, r->pool) != APR_SUCCESS)
        return refuse(r, rt, HTTP_NOT_FOUND, "missing", file);

    chosen = file;
    if (fi.filetype == APR_DIR) {
        int i, found = 0;
        const char *last = NULL;
        for (i = 0; i < fh->default_filename->nelts && !found; i++) {
            const char *name = APR_ARRAY_IDX(fh->default_filename, i, const char *);
            last = join_confined(r->pool, file, name);
            found = last && apr_stat(&fi, last, APR_FINFO_MIN, r->pool) == APR_SUCCESS
                    && fi.filetype == APR_REG && !crosses_symlink(r->pool, file, last);
        }
        if (!found && !fh->index)
            return refuse(r, rt, HTTP_NOT_FOUND, "directory has no index file", file);
        if (gr->url_path[strlen(gr->url_path) - 1] != '/')
            return add_slash(r, gr->url_path);
        if (!found) {
            gr->dir = file;
            gr->root = root;
            r->handler = GX_HANDLER_LISTING;
            r->filename = apr_pstrcat(r->pool, "gramex:", file, NULL);
            return OK;
        }
        chosen = last;
    }
    else if (fi.filetype != APR_REG) {
        return refuse(r, rt, HTTP_FORBIDDEN, "not a regular file", file);
    }
    if (gx_app_never_serve(gr->app, root, chosen))
        return refuse(r, rt, HTTP_FORBIDDEN, "never served (config, secrets or dotfile)", chosen);
    if (!gx_pathset_allowed(fh->ignore_set, fh->allow_set, chosen))
        return refuse(r, rt, HTTP_FORBIDDEN, "not allowed by ignore/allow", chosen);
    if (gx_pathset_match(fh->transform_set, chosen)) {
        /* template/sass/ts/transform files are source code for Gramex to
         * render: never sent raw */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GX_LOGNO(0021)
                      "url %s: %s needs a Gramex transform", rt->name, chosen);
        r->handler = GX_HANDLER_UNAVAILABLE;
        r->filename = apr_pstrcat(r->pool, "gramex:", chosen, NULL);
        return OK;
    }
    file_headers(r, fh, chosen);
    gr->root = root;
    r->filename = apr_pstrdup(r->pool, chosen);
    r->canonical_filename = r->filename;
    r->finfo = fi;
    return OK;
}

/* ---- directory listing (index: true) ------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Unlike Gramex (spec f.4 [W]): only entries the route would serve, names
 * escaped, sorted, and the URL path instead of the filesystem path. */
int gx_listing_handler(request_rec *r)
{
    gx_request *gr = gx_req(r);
    apr_dir_t *dir;
    apr_finfo_t fi;
    apr_array_header_t *names;
    const gx_file_conf *fh;
    int i;
    const char *title;

    if (!r->handler || strcmp(r->handler, GX_HANDLER_LISTING) != 0 || !gr || !gr->dir)
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    fh = gr->route->fh;
    if (apr_dir_open(&dir, gr->dir, r->pool) != APR_SUCCESS)
        return HTTP_FORBIDDEN;
    names = apr_array_make(r->pool, 32, sizeof(const char *));
    for (;;) {
        apr_status_t rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_LINK, dir);
        if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
            break;
        const char *full;
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..") || fi.filetype == APR_LNK)
            continue;
        full = apr_pstrcat(r->pool, gr->dir, "/", fi.name, NULL);
        if (gx_app_never_serve(gr->app, gr->root, full))
            continue;
        if (fi.filetype == APR_REG && !gx_pathset_allowed(fh->ignore_set, fh->allow_set, full))
            continue;
        if (fi.filetype != APR_REG && fi.filetype != APR_DIR)
            continue;
        APR_ARRAY_PUSH(names, const char *) = fi.filetype == APR_DIR
            ? apr_pstrcat(r->pool, fi.name, "/", NULL) : fi.name;
    }
    apr_dir_close(dir);
    qsort(names->elts, names->nelts, sizeof(const char *), name_cmp);
    ap_set_content_type(r, "text/html; charset=UTF-8");
    title = ap_escape_html(r->pool, gr->url_path);
    ap_rprintf(r, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"
               "<body><h1>%s</h1>\n<ul>\n", title, title);
    for (i = 0; i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        ap_rprintf(r, "<li><a href=\"./%s\">%s</a></li>\n",
                   ap_escape_html(r->pool, ap_escape_uri(r->pool, n)), ap_escape_html(r->pool, n));
    }
    ap_rputs("</ul>\n</body></html>\n", r);
    return OK;
}

/* mod_gramex_files: FileHandler directory listings (index: true). Which
 * file or directory a request means is the core's decision (gx_filemap);
 * core serves files itself, after httpd's own access control. */
#include "mod_gramex.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <apr_sha1.h>
#include "gx_format.h"
#include "gx_buf.h"

APLOG_USE_MODULE(gramex);

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Does httpd's access control let this entry be read? A subrequest, as
 * mod_autoindex asks: the admin's <Directory>, <Files> and Require decide. */
static int admin_allows(request_rec *r, const apr_finfo_t *fi)
{
    request_rec *rr = ap_sub_req_lookup_dirent(fi, r, AP_SUBREQ_NO_ARGS, NULL);
    int ok = rr->status == HTTP_OK || (rr->status >= 300 && rr->status < 400);
    ap_destroy_sub_req(rr);
    return ok;
}

/* The listing page: the url's index_template ($path, $body as Gramex fills
 * them, with the URL path for $path) or our own. */
static const char *page(request_rec *r, const gx_file_conf *fh, const char *path, const char *items)
{
    static const char *const names[] = {"path", "body"};
    const char *values[2];
    if (fh->index_template) {
        values[0] = path;
        values[1] = apr_pstrcat(r->pool, items, "</ul>", NULL);
        return gx_dollar_format(r->pool, fh->index_template, names, values, 2);
    }
    return apr_pstrcat(r->pool, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
                       path, "</title></head>\n<body><h1>", path, "</h1>\n<ul>\n", items,
                       "</ul>\n</body></html>\n", NULL);
}

/* With a strong ETag of its content (as Tornado computes one), so a
 * conditional request gets 304. */
static int send_listing(request_rec *r, const char *html)
{
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    char hex[2 * APR_SHA1_DIGESTSIZE + 1];
    apr_sha1_ctx_t sha;
    int i, status;
    apr_sha1_init(&sha);
    apr_sha1_update(&sha, html, (unsigned int)strlen(html));
    apr_sha1_final(digest, &sha);
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    apr_table_setn(r->headers_out, "ETag", apr_pstrcat(r->pool, "\"", hex, "\"", NULL));
    ap_set_content_type(r, "text/html; charset=UTF-8");
    if ((status = ap_meets_conditions(r)) != OK)
        return status;
    ap_set_content_length(r, (apr_off_t)strlen(html));
    if (!r->header_only)
        ap_rputs(html, r);
    return OK;
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
    gx_buf body;

    if (!r->handler || strcmp(r->handler, GX_HANDLER_LISTING) != 0 || !gr
        || gr->d.action != GX_DO_LISTING)
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    fh = gr->route->fh;
    if (apr_dir_open(&dir, gr->d.file, r->pool) != APR_SUCCESS)
        return HTTP_FORBIDDEN;
    /* entries are looked up relative to r->filename's directory */
    r->filename = apr_pstrcat(r->pool, gr->d.file, "/", NULL);
    names = apr_array_make(r->pool, 32, sizeof(const char *));
    for (;;) {
        apr_status_t rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_LINK, dir);
        if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
            break;
        const char *full;
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..") || fi.filetype == APR_LNK)
            continue;
        full = apr_pstrcat(r->pool, gr->d.file, "/", fi.name, NULL);
        if (gx_app_never_serve(gr->app, gr->d.root, full))
            continue;
        if (fi.filetype == APR_REG && !gx_pathset_allowed(fh->ignore_set, fh->allow_set, full))
            continue;
        if (fi.filetype != APR_REG && fi.filetype != APR_DIR)
            continue;
        if (!admin_allows(r, &fi))
            continue;
        APR_ARRAY_PUSH(names, const char *) = fi.filetype == APR_DIR
            ? apr_pstrcat(r->pool, fi.name, "/", NULL) : fi.name;
    }
    apr_dir_close(dir);
    qsort(names->elts, names->nelts, sizeof(const char *), name_cmp);
    /* one buffer that doubles: a directory of many entries stays linear */
    gx_buf_init(&body, r->pool, 0);
    for (i = 0; i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        gx_buf_puts(&body, "<li><a href=\"./");
        gx_buf_puts(&body, ap_escape_html(r->pool, ap_escape_uri(r->pool, n)));
        gx_buf_puts(&body, "\">");
        gx_buf_puts(&body, ap_escape_html(r->pool, n));
        gx_buf_puts(&body, "</a></li>\n");
    }
    return send_listing(r, page(r, fh, ap_escape_html(r->pool, gr->d.path), body.data));
}

/* gx_filemap: which file a FileHandler url means for a request (spec f.1-f.5,
 * f.8), confined to the url's root, with what must never be served refused.
 * Part of the request decision (gx_decide); no httpd types. */
#ifndef GX_FILEMAP_H
#define GX_FILEMAP_H

#include "gx_decide.h"

/* Fills d->action (FILE, LISTING, REDIRECT or REFUSE), d->file, d->root,
 * d->finfo and d->headers for route rt matched on d->path with m. Returns 1
 * when Gramex answers for d->file, and the caller sends the request to it:
 * the file is source for Gramex to render (a transform, template, sass, ts),
 * or, with `upstream` (GramexUpstream is set), it is missing and the url's
 * 404 page is one only Gramex renders (d->file: where it would be). */
int gx_filemap(apr_pool_t *p, const gx_app *app, const gx_route *rt, const gx_match *m,
               const char *query, int upstream, gx_decision *d);

/* The first value of query parameter `name` (form-decoded, as Tornado's
 * get_argument), or NULL. */
const char *gx_query_arg(apr_pool_t *p, const char *query, const char *name);

#endif

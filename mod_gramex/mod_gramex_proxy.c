/* mod_gramex_proxy: ProxyHandler and upstream routes (issue 4 replaces this
 * placeholder). Until then both answer 503 and are never served from disk. */
#include "mod_gramex.h"
#include <apr_strings.h>

int gx_proxy_dispatch(request_rec *r, gx_request *gr, const gx_match *m)
{
    (void)gr; (void)m;
    r->handler = GX_HANDLER_UNAVAILABLE;
    r->filename = apr_pstrcat(r->pool, "gramex:", r->uri, NULL);
    return OK;
}

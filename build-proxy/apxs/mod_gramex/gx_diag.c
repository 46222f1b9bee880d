/* gx_diag: see gx_diag.h */
#include "gx_diag.h"
#include <apr_strings.h>
#include <stdarg.h>

gx_diags *gx_diags_make(apr_pool_t *p)
{
    gx_diags *d = apr_pcalloc(p, sizeof(*d));
    d->pool = p;
    d->items = apr_array_make(p, 8, sizeof(gx_diag));
    return d;
}

void gx_diag_add(gx_diags *d, gx_level lvl, const char *file, int line,
                 const char *fmt, ...)
{
    va_list ap;
    gx_diag *item;
    if (!d)
        return;
    item = apr_array_push(d->items);
    item->level = lvl;
    item->file = file ? apr_pstrdup(d->pool, file) : NULL;
    item->line = line;
    va_start(ap, fmt);
    item->msg = apr_pvsprintf(d->pool, fmt, ap);
    va_end(ap);
    if (lvl == GX_ERROR)
        d->errors++;
    else if (lvl == GX_WARN)
        d->warnings++;
}

const char *gx_diag_format(apr_pool_t *p, const gx_diag *d)
{
    if (d->file && d->line > 0)
        return apr_psprintf(p, "%s:%d: %s", d->file, d->line, d->msg);
    if (d->file)
        return apr_psprintf(p, "%s: %s", d->file, d->msg);
    return d->msg;
}

const char *gx_diags_first_error(apr_pool_t *p, const gx_diags *d)
{
    int i;
    for (i = 0; d && i < d->items->nelts; i++) {
        const gx_diag *item = &APR_ARRAY_IDX(d->items, i, gx_diag);
        if (item->level == GX_ERROR)
            return gx_diag_format(p, item);
    }
    return NULL;
}

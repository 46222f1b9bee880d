/* gx_diag: errors and warnings collected by the core, each with file:line.
 *
 * The core never logs: it appends diagnostics here and the caller (httpd
 * glue or a CLI) prints them. Message text follows the house rule:
 * "what is wrong; how to fix". Location is formatted by gx_diag_format.
 */
#ifndef GX_DIAG_H
#define GX_DIAG_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum { GX_INFO = 0, GX_WARN = 1, GX_ERROR = 2 } gx_level;

typedef struct {
    gx_level level;
    const char *file;   /* may be NULL */
    int line;           /* 0 if unknown */
    const char *msg;
} gx_diag;

typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *items;  /* of gx_diag */
    int errors;
    int warnings;
} gx_diags;

gx_diags *gx_diags_make(apr_pool_t *p);
void gx_diag_add(gx_diags *d, gx_level lvl, const char *file, int line,
                 const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* "FILE:LINE: msg" (or "FILE: msg", or "msg") */
const char *gx_diag_format(apr_pool_t *p, const gx_diag *d);
/* First error formatted, or NULL if there are none. */
const char *gx_diags_first_error(apr_pool_t *p, const gx_diags *d);

#endif

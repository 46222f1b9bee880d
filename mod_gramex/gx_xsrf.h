/* gx_xsrf: Gramex's XSRF check (spec e.6), as far as Apache can run it:
 * Tornado's check_xsrf_cookie on POST, PUT, DELETE and PATCH, which Gramex
 * runs before a url's methods:, auth and CORS. The decision asks it only
 * when Apache refuses the method itself, so that the refusal is Gramex's. */
#ifndef GX_XSRF_H
#define GX_XSRF_H

#include "gx_app.h"
#include "gx_decide.h"

/* Tornado's message when the check refuses the request ("'_xsrf' argument
 * missing from POST", "... has invalid format", "XSRF cookie does not match
 * POST argument"); NULL where it passes, and where Apache cannot tell: a
 * form body may carry _xsrf, or a value too odd to copy Python's reading. */
const char *gx_xsrf_refusal(apr_pool_t *p, gx_xsrf check, const gx_request_in *in);

#endif

/* gx_percent: the one percent-decoder of the core. A captured url group
 * (Tornado: '+' kept, NUL and invalid UTF-8 refused) and a query string
 * (form-urlencoded: '+' is a space) are the same decoding with flags. */
#ifndef GX_PERCENT_H
#define GX_PERCENT_H

#include <apr_pools.h>

#define GX_DECODE_PLUS   1  /* '+' is a space (application/x-www-form-urlencoded) */
#define GX_DECODE_STRICT 2  /* NULL for a NUL (escaped or not) or invalid UTF-8 */

/* The first len bytes of s with every %XX decoded; a malformed escape stays
 * as written (Python's unquote). Always NUL-terminated; NULL only with
 * GX_DECODE_STRICT. */
char *gx_percent_decode(apr_pool_t *p, const char *s, apr_size_t len, int flags);

/* The value of one hex digit, or -1. */
int gx_hex_value(char c);

/* Is s[0..n) well-formed UTF-8 (no overlongs, surrogates or code points
 * past U+10FFFF)? */
int gx_utf8_valid(const char *s, apr_size_t n);

#endif

/* gx_lasterr: see gx_lasterr.h. */
#include "gx_lasterr.h"
#include <apr_atomic.h>

#define STATUS_BITS 10
#define STATUS_MASK ((1u << STATUS_BITS) - 1)

void gx_lasterr_note(volatile apr_uint64_t *word, apr_time_t when, int status)
{
    apr_uint64_t mine = ((apr_uint64_t)when << STATUS_BITS) | ((apr_uint64_t)status & STATUS_MASK);
    apr_uint64_t seen = apr_atomic_read64(word);
    while (mine > seen) {
        apr_uint64_t was = apr_atomic_cas64(word, mine, seen);
        if (was == seen)
            break;
        seen = was;         /* another child wrote first: still newer? */
    }
}

int gx_lasterr_get(volatile apr_uint64_t *word, apr_time_t *when)
{
    apr_uint64_t e = apr_atomic_read64(word);
    *when = (apr_time_t)(e >> STATUS_BITS);
    return (int)(e & STATUS_MASK);
}

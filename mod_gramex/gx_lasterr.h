/* gx_lasterr: "the last error" of a url as one 64-bit word in shared
 * memory: the request's time in microseconds above its status (10 bits).
 * Children count requests in any order after answering them; a
 * compare-and-set that only moves forward keeps the latest request's error
 * whichever child counts last, and a reader never sees one request's time
 * with another's status. 54 bits of microseconds last until the year 2540. */
#ifndef GX_LASTERR_H
#define GX_LASTERR_H

#include <apr_time.h>

/* Record `status` of a request made at `when`, unless a later one is there. */
void gx_lasterr_note(volatile apr_uint64_t *word, apr_time_t when, int status);

/* The recorded status and request time; 0 when no error was recorded. */
int gx_lasterr_get(volatile apr_uint64_t *word, apr_time_t *when);

#endif

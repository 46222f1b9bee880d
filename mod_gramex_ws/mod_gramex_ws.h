/* mod_gramex_ws's optional function for status pages: this child's
 * asynchronous WebSocket tunnels. Sum over children for the server. */
#ifndef MOD_GRAMEX_WS_H
#define MOD_GRAMEX_WS_H

#include <apr_optional.h>

typedef struct {
    apr_uint32_t open;                  /* tunnels open now */
    apr_uint64_t opened, closed;        /* since the child started */
    apr_uint64_t bytes_to_backend, bytes_to_client;
    apr_uint64_t refused;               /* 503s at GramexWebSocketMaxTunnels */
} gx_ws_counters;

APR_DECLARE_OPTIONAL_FN(void, gx_ws_counters_get, (gx_ws_counters *out));

#endif

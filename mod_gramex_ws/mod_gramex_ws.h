/* mod_gramex_ws's optional functions for mod_gramex: the server's
 * asynchronous WebSocket tunnels (summed over all children, kept over
 * restarts), for status pages, and which servers use them. */
#ifndef MOD_GRAMEX_WS_H
#define MOD_GRAMEX_WS_H

#include <apr_optional.h>
#include "httpd.h"

typedef struct {
    apr_uint32_t open;                  /* tunnels open now */
    apr_uint64_t opened, closed;        /* since httpd started */
    apr_uint64_t dropped;               /* of closed: open when their child exited */
    apr_uint64_t bytes_to_backend, bytes_to_client;
    apr_uint64_t refused;               /* 503s at GramexWebSocketMaxTunnels */
} gx_ws_counters;

APR_DECLARE_OPTIONAL_FN(void, gx_ws_counters_get, (gx_ws_counters *out));

/* Non-zero when WebSockets of server s run in asynchronous tunnels, which
 * free their worker thread after the 101: MaxRequestWorkers does not cap
 * them then. */
APR_DECLARE_OPTIONAL_FN(int, gx_ws_async_for, (server_rec *s));

#endif

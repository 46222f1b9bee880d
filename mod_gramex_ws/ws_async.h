/* mod_gramex_ws: asynchronous WebSocket tunnels on the event MPM.
 * ws_handshake.c runs the upgrade on a worker thread through mod_proxy's
 * backend handling and returns SUSPENDED after a 101; ws_tunnel.c owns every
 * suspended tunnel of the child on one thread (a pollset), moving bytes
 * through each connection's filters so that mod_ssl applies. */
#ifndef WS_ASYNC_H
#define WS_ASYNC_H

#include "httpd.h"
#include "http_config.h"
#include "mod_proxy.h"
#include "mod_gramex_ws.h"

/* mod_proxy may be absent (mod_gramex then refuses the config with its own
 * message) or loaded after this module: weak references load either way and
 * are NULL then; WebSockets then stay on mod_proxy_http. */
#pragma weak ap_proxy_create_hdrbrgd
#pragma weak ap_proxy_pass_brigade
#pragma weak ap_proxy_acquire_connection
#pragma weak ap_proxy_determine_connection
#pragma weak ap_proxy_connect_backend
#pragma weak ap_proxy_release_connection
#pragma weak ap_proxy_worker_can_upgrade
#pragma weak ap_proxy_ssl_engine
#pragma weak proxy_hook_scheme_handler
#define WS_HAVE_PROXY (proxy_hook_scheme_handler != NULL && ap_proxy_create_hdrbrgd != NULL)

typedef struct {
    apr_interval_time_t idle;   /* GramexWebSocketTimeout; 0: not set here */
    int async;                  /* GramexWebSocketAsync: -1 unset, 0 Off, 1 On */
    int cap;                    /* GramexWebSocketMaxTunnels per child; 0 unset */
    apr_interval_time_t grace;  /* GramexWebSocketGrace; -1 unset */
} ws_conf;

#define WS_ASYNC_DEFAULT 1
#define WS_CAP_DEFAULT 4096
#define WS_GRACE_DEFAULT apr_time_from_sec(5)


typedef struct ws_tunnel ws_tunnel;

extern module AP_MODULE_DECLARE_DATA gramex_ws_module;

ws_conf *ws_server_conf(server_rec *s);
int ws_async_on(server_rec *s);
int ws_mpm_is_async(void);

/* ws_handshake.c */
int ws_scheme_handler(request_rec *r, proxy_worker *worker, proxy_server_conf *conf, char *url,
                      const char *proxyname, apr_port_t proxyport);
int ws_cap_handler(request_rec *r);
int ws_is_gramex_websocket(request_rec *r);

/* ws_tunnel.c: all tunnel state is owned by the tunnel thread after handoff */
ws_tunnel *ws_tunnel_make(conn_rec *c, conn_rec *backend, apr_interval_time_t idle);
void ws_tunnel_suspended(conn_rec *c, request_rec *r);
apr_status_t ws_tunnels_start(apr_pool_t *pchild, server_rec *s);
void ws_tunnels_stopping(apr_pool_t *pchild, int graceful);
int ws_tunnels_full(server_rec *s);
int ws_tunnels_running(void);

/* ws_counters.c: every child's counters in shared memory */
void ws_counters_setup(server_rec *s);
gx_ws_counters *ws_counters_claim(server_rec *s);
void ws_counters_total(gx_ws_counters *out);
void ws_counters_child_exited(apr_uint32_t pid);

#endif

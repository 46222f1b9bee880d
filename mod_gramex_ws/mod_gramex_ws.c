/* mod_gramex_ws: how long an idle WebSocket that mod_gramex tunnels stays
 * open. mod_gramex decides which requests are WebSockets (ProxyHandler urls
 * and WebSocketHandler urls on GramexUpstream, Origin checked, plain
 * requests answered as Gramex answers them) and hands them to mod_proxy_http
 * as ws:// or wss:// URLs, or as balancer:// URLs for a GramexUpstream with
 * several URLs. mod_proxy_http's tunnel then waits for the larger
 * of the client socket's and the backend socket's timeouts (the worker's
 * timeout=, else ProxyTimeout): 300 s with mod_gramex's workers. There is no
 * tunnel idle setting in httpd 2.4, so GramexWebSocketTimeout raises the
 * client socket's timeout for these requests only: plain HTTP keeps the
 * server's Timeout.
 *
 *   GramexWebSocketTimeout 3600     (server config, virtual host; seconds)
 */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include <apr_strings.h>

#define GX_WS_MAX_TIMEOUT (7 * 24 * 3600)

typedef struct {
    apr_interval_time_t idle;   /* 0: not set here */
} ws_conf;

extern module AP_MODULE_DECLARE_DATA gramex_ws_module;

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(ws_conf));
}

static void *merge_conf(apr_pool_t *p, void *basev, void *addv)
{
    ws_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->idle = add->idle ? add->idle : base->idle;
    return c;
}

static const char *set_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    ws_conf *c = ap_get_module_config(cmd->server->module_config, &gramex_ws_module);
    char *end;
    apr_int64_t secs = apr_strtoi64(arg, &end, 10);
    (void)dummy;
    if (*end || secs < 1 || secs > GX_WS_MAX_TIMEOUT)
        return apr_psprintf(cmd->pool, "GramexWebSocketTimeout '%s' is not a number of seconds "
                            "from 1 to %d; write e.g. GramexWebSocketTimeout 3600",
                            arg, GX_WS_MAX_TIMEOUT);
    c->idle = apr_time_from_sec(secs);
    return NULL;
}

/* A tunnel mod_gramex set up: a reverse proxy request for a url of the app
 * (mod_gramex notes the url's name) asking to upgrade to WebSocket, to a
 * ws:// or wss:// URL or to a balancer://, whose http:// members tunnel
 * it with upgrade=websocket (GramexUpstream with several URLs). */
static int is_gramex_websocket(request_rec *r)
{
    const char *up = apr_table_get(r->headers_in, "Upgrade");
    const char *f = r->filename;
    return r->proxyreq == PROXYREQ_REVERSE && f && up && !ap_cstr_casecmp(up, "websocket")
           && (!strncmp(f, "proxy:ws://", 11) || !strncmp(f, "proxy:wss://", 12)
               || !strncmp(f, "proxy:balancer://", 17))
           && apr_table_get(r->notes, "gramex-url");
}

static int ws_fixups(request_rec *r)
{
    ws_conf *c = ap_get_module_config(r->server->module_config, &gramex_ws_module);
    apr_socket_t *sock;
    if (!c->idle || r->main || !is_gramex_websocket(r))
        return DECLINED;
    sock = ap_get_conn_socket(r->connection);
    if (sock && apr_socket_timeout_set(sock, c->idle) == APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "GX0040: url %s: WebSocket idle timeout "
                      "%" APR_TIME_T_FMT " s", apr_table_get(r->notes, "gramex-url"),
                      apr_time_sec(c->idle));
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_fixups(ws_fixups, NULL, NULL, APR_HOOK_LAST);
}

static const command_rec ws_cmds[] = {
    AP_INIT_TAKE1("GramexWebSocketTimeout", set_timeout, NULL, RSRC_CONF,
                  "seconds an idle WebSocket to a Gramex url stays open (default: the proxy "
                  "timeout, 300)"),
    {NULL}
};

/* the build hides every symbol but the module record */
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
AP_DECLARE_MODULE(gramex_ws) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_conf,
    merge_conf,
    ws_cmds,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};

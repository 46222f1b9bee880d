/* mod_gramex_ws: WebSocket tunnels for the urls mod_gramex proxies.
 * mod_gramex decides which requests are WebSockets (ProxyHandler urls and
 * WebSocketHandler urls on GramexUpstream, Origin checked) and hands them to
 * mod_proxy as ws:// URLs, or balancer:// URLs whose http:// members carry
 * upgrade=websocket.
 *
 * With GramexWebSocketAsync On (the default; event MPM only) this module
 * runs the handshake itself through mod_proxy's backend functions and, after
 * the 101, frees the worker thread: ws_handshake.c, ws_tunnel.c. Otherwise
 * (Off, HTTP/2, other MPMs) mod_proxy_http's tunnel holds a thread per
 * WebSocket, as before.
 *
 * The tunnels' counters (mod_gramex's status page reads them through
 * gx_ws_counters_get) are the server's: ws_counters.c keeps every child's in
 * shared memory.
 *
 * GramexWebSocketTimeout raises the idle timeout for these requests only (the
 * client socket's timeout; a tunnel closes after the larger of the client's
 * and the backend's): plain HTTP keeps the server's Timeout.
 *
 *   GramexWebSocketTimeout 3600       (server config, virtual host; seconds)
 *   GramexWebSocketAsync On|Off       (server config, virtual host)
 *   GramexWebSocketMaxTunnels 4096    (server config: per child)
 *   GramexWebSocketGrace 5            (server config: seconds, then close 1001)
 */
#include "ws_async.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include <apr_strings.h>

#define GX_WS_MAX_TIMEOUT (7 * 24 * 3600)
#define GX_WS_MAX_TUNNELS 1000000

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    ws_conf *c = apr_pcalloc(p, sizeof(ws_conf));
    (void)s;
    c->async = -1;
    c->grace = -1;
    return c;
}

static void *merge_conf(apr_pool_t *p, void *basev, void *addv)
{
    ws_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->idle = add->idle ? add->idle : base->idle;
    c->async = add->async >= 0 ? add->async : base->async;
    c->cap = add->cap ? add->cap : base->cap;
    c->grace = add->grace >= 0 ? add->grace : base->grace;
    return c;
}

ws_conf *ws_server_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &gramex_ws_module);
}

int ws_mpm_is_async(void)
{
    int async = 0;
    return ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) == APR_SUCCESS && async;
}

int ws_async_on(server_rec *s)
{
    int on = ws_server_conf(s)->async;
    return (on < 0 ? WS_ASYNC_DEFAULT : on) && ws_mpm_is_async() && WS_HAVE_PROXY;
}

static const char *set_async(cmd_parms *cmd, void *dummy, int on)
{
    (void)dummy;
    ws_server_conf(cmd->server)->async = on;
    return NULL;
}

static const char *set_count(cmd_parms *cmd, const char *arg, apr_int64_t max, apr_int64_t *out)
{
    char *end;
    *out = apr_strtoi64(arg, &end, 10);
    if (*end || *out < 0 || *out > max)
        return apr_psprintf(cmd->pool, "%s '%s' is not a whole number from 0 to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, max);
    return NULL;
}

static const char *set_cap(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t n;
    const char *err = set_count(cmd, arg, GX_WS_MAX_TUNNELS, &n);
    (void)dummy;
    if (!err && n < 1)
        err = "GramexWebSocketMaxTunnels must be at least 1; "
              "write e.g. GramexWebSocketMaxTunnels 4096";
    if (!err)
        ws_server_conf(cmd->server)->cap = (int)n;
    return err;
}

static const char *set_grace(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t n;
    const char *err = set_count(cmd, arg, GX_WS_MAX_TIMEOUT, &n);
    (void)dummy;
    if (!err)
        ws_server_conf(cmd->server)->grace = apr_time_from_sec(n);
    return err;
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

static int ws_fixups(request_rec *r)
{
    ws_conf *c = ap_get_module_config(r->server->module_config, &gramex_ws_module);
    apr_socket_t *sock;
    if (!c->idle || r->main || !ws_is_gramex_websocket(r))
        return DECLINED;
    sock = ap_get_conn_socket(r->connection);
    if (sock && apr_socket_timeout_set(sock, c->idle) == APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "GX0040: url %s: WebSocket idle timeout "
                      "%" APR_TIME_T_FMT " s", apr_table_get(r->notes, "gramex-url"),
                      apr_time_sec(c->idle));
    return DECLINED;
}

/* The event MPM stops a child whose threads look idle (more than
 * MaxSpareThreads idle in all); a child that carries tunnels looks idle,
 * and stopping it drops them. */
static void warn_mpm(server_rec *s, int testing)
{
    int daemons = 0, threads = 0, spare = 0;
    server_rec *v;
    for (v = s; v && !ws_async_on(v); v = v->next)
        ;
    if (!v || ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_MAX_SPARE_THREADS, &spare) != APR_SUCCESS)
        return;
    if (spare < daemons * threads)
        ap_log_error(APLOG_MARK, (testing ? APLOG_STARTUP : 0) | APLOG_WARNING, 0,
                     testing ? NULL : s, "GX0047: MaxSpareThreads %d is below "
                     "MaxRequestWorkers %d: the event MPM stops children whose threads look "
                     "idle, which drops their open WebSockets. Set MaxSpareThreads %d (as in "
                     "conf/gramex-websockets.conf: a2enconf gramex-websockets)",
                     spare, daemons * threads, daemons * threads);
}

/* Once per start (not in the config preflight): which mode each vhost uses. */
static int ws_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    void *done = NULL;
    const char *key = "gramex_ws_post_config";
    (void)plog;
    (void)ptemp;
    apr_pool_userdata_get(&done, key, s->process->pool);
    if (!done) {
        apr_pool_userdata_set((void *)1, key, apr_pool_cleanup_null, s->process->pool);
        return OK;
    }
    (void)pconf;
    ws_counters_setup(s);
    warn_mpm(s, 0);
    for (; s; s = s->next) {
        ws_conf *c = ws_server_conf(s);
        int on = c->async < 0 ? WS_ASYNC_DEFAULT : c->async;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "GX0041: WebSockets of server %s (%s:%u) use %s",
                     s->server_hostname ? s->server_hostname : "*",
                     s->defn_name ? s->defn_name : "main config", s->defn_line_number,
                     ws_async_on(s) ? "asynchronous tunnels (GramexWebSocketAsync On)"
                     : on && !WS_HAVE_PROXY ? "mod_proxy_http's tunnel (GramexWebSocketAsync On "
                                              "needs mod_proxy loaded before mod_gramex_ws)"
                     : on ? "mod_proxy_http's tunnel (GramexWebSocketAsync On needs the event MPM)"
                          : "mod_proxy_http's tunnel (GramexWebSocketAsync Off)");
    }
    return OK;
}

static void gx_ws_counters_get(gx_ws_counters *out)
{
    ws_counters_total(out);
}

/* In the parent: a child has exited (kill -9 too); its counters join the
 * totals and its tunnels stop counting as open. */
static void ws_child_status(server_rec *s, pid_t pid, ap_generation_t gen, int slot,
                            mpm_child_status state)
{
    (void)s;
    (void)gen;
    (void)slot;
    if (state == MPM_CHILD_EXITED)
        ws_counters_child_exited((apr_uint32_t)pid);
}

/* apachectl -t: after the MPM's check_config has settled its numbers */
static void ws_test_config(apr_pool_t *pconf, server_rec *s)
{
    (void)pconf;
    warn_mpm(s, 1);
}

static int gx_ws_async_for(server_rec *s)
{
    return ws_async_on(s);
}

static void ws_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *v;
    for (v = s; v; v = v->next)
        if (ws_async_on(v)) {
            ws_tunnels_start(pchild, s);
            return;
        }
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const before_proxy[] = {"mod_proxy.c", NULL};
    static const char *const before_tunnels[] = {"mod_proxy_http.c", "mod_proxy_wstunnel.c", NULL};
    (void)p;
    ap_hook_fixups(ws_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_post_config(ws_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(ws_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(ws_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ws_cap_handler, NULL, before_proxy, APR_HOOK_FIRST);
    if (WS_HAVE_PROXY)
        proxy_hook_scheme_handler(ws_scheme_handler, NULL, before_tunnels, APR_HOOK_FIRST);
    ap_hook_suspend_connection(ws_tunnel_suspended, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(ws_tunnels_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_status(ws_child_status, NULL, NULL, APR_HOOK_MIDDLE);
    APR_REGISTER_OPTIONAL_FN(gx_ws_counters_get);
    APR_REGISTER_OPTIONAL_FN(gx_ws_async_for);
}

static const command_rec ws_cmds[] = {
    AP_INIT_TAKE1("GramexWebSocketTimeout", set_timeout, NULL, RSRC_CONF,
                  "seconds an idle WebSocket to a Gramex url stays open (default: the proxy "
                  "timeout, 300)"),
    AP_INIT_FLAG("GramexWebSocketAsync", set_async, NULL, RSRC_CONF,
                 "On (default): WebSockets to Gramex urls free their worker thread after the "
                 "upgrade (event MPM); Off: mod_proxy_http's tunnel holds a thread each"),
    AP_INIT_TAKE1("GramexWebSocketMaxTunnels", set_cap, NULL, RSRC_CONF,
                  "asynchronous WebSockets one child holds; more are answered 503 (default 4096)"),
    AP_INIT_TAKE1("GramexWebSocketGrace", set_grace, NULL, RSRC_CONF,
                  "seconds a stopping child keeps its WebSockets before close code 1001 "
                  "(default 5)"),
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

/* The WebSocket handshake, on a worker thread, through mod_proxy's backend
 * handling (workers, balancer members, ProxyPreserveHost, X-Forwarded-*) and
 * mod_ssl's proxy TLS (wss:// targets, https:// members). A 101 hands the connection to the tunnel thread
 * (SUSPENDED); any other answer is relayed as the backend sent it. */
#include "ws_async.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include <apr_strings.h>
#include <apr_portable.h>
#if APR_HAVE_UNISTD_H
#include <unistd.h>             /* dup(): APR cannot duplicate a socket */
#endif

APLOG_USE_MODULE(gramex_ws);

#define WS_HEAD_MAX 16384       /* the backend's answer head, as mod_proxy's default */
#define WS_READ 8192

/* A tunnel mod_gramex set up: a reverse proxy request for a url of the app
 * (mod_gramex notes the url's name) asking to upgrade to WebSocket, to a
 * ws:// or wss:// URL or to a balancer:// whose members tunnel it. */
int ws_is_gramex_websocket(request_rec *r)
{
    const char *up = apr_table_get(r->headers_in, "Upgrade");
    const char *f = r->filename;
    return r->proxyreq == PROXYREQ_REVERSE && f && up && !ap_cstr_casecmp(up, "websocket")
           && (!strncmp(f, "proxy:ws://", 11) || !strncmp(f, "proxy:wss://", 12)
               || !strncmp(f, "proxy:balancer://", 17))
           && apr_table_get(r->notes, "gramex-url");
}

/* Async applies to HTTP/1.1 connections of an async vhost on the event MPM;
 * HTTP/2 WebSockets (RFC 8441) run on secondary connections: mod_proxy_http. */
static int async_connection(request_rec *r)
{
    return !r->main && !r->connection->master && r->connection->cs
           && r->proto_num == HTTP_VERSION(1, 1) && ws_async_on(r->server) && ws_tunnels_running();
}

static int async_applies(request_rec *r)
{
    return async_connection(r) && ws_is_gramex_websocket(r);
}

/* Before mod_proxy: the per-child cap answers 503 without touching the backend. */
int ws_cap_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "proxy-server") || !async_applies(r))
        return DECLINED;
    if (ws_tunnels_full(r->server)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "GX0043: url %s: this child holds "
                      "GramexWebSocketMaxTunnels WebSockets; answering 503 (raise "
                      "GramexWebSocketMaxTunnels or add children)",
                      apr_table_get(r->notes, "gramex-url"));
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return DECLINED;
}

static apr_status_t write_client(conn_rec *c, const char *buf, apr_size_t len)
{
    apr_bucket_brigade *bb = apr_brigade_create(c->pool, c->bucket_alloc);
    apr_status_t rv;
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_heap_create(buf, len, NULL, c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    rv = ap_pass_brigade(c->output_filters, bb);
    apr_brigade_destroy(bb);
    return rv;
}

/* Read from the backend (blocking, its socket timeout) into buf; 0 at EOF. */
static apr_status_t read_backend(conn_rec *bc, apr_bucket_brigade *bb, char *buf,
                                 apr_size_t *len)
{
    apr_status_t rv = ap_get_brigade(bc->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ,
                                     *len);
    if (rv == APR_EOF) {
        *len = 0;
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_brigade_flatten(bb, buf, len);
    apr_brigade_cleanup(bb);
    return rv;
}

static const char *find_head_end(const char *buf, apr_size_t len)
{
    apr_size_t i;
    for (i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return buf + i + 1;
    return NULL;
}

/* A length for a non-101 answer: Content-Length, or -1 (chunked or until close). */
static apr_off_t answer_length(request_rec *r, const char *head, int *chunked)
{
    char *copy = apr_pstrdup(r->pool, head), *line, *state;
    apr_off_t len = -1;
    *chunked = 0;
    for (line = apr_strtok(copy, "\r\n", &state); line; line = apr_strtok(NULL, "\r\n", &state)) {
        if (!ap_cstr_casecmpn(line, "Content-Length:", 15)) {
            const char *v = line + 15;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!ap_parse_strict_length(&len, v))
                len = -1;
        }
        else if (!ap_cstr_casecmpn(line, "Transfer-Encoding:", 18)
                 && ap_strcasestr(line, "chunked"))
            *chunked = 1;
    }
    return *chunked ? -1 : len;
}

static void remove_filter_named(ap_filter_t *f, const char *name, int output)
{
    for (; f; f = f->next)
        if (!ap_cstr_casecmp(f->frec->name, name)) {
            if (output)
                ap_remove_output_filter(f);
            else
                ap_remove_input_filter(f);
            return;
        }
}

/* A non-101 answer: relay the head and its body as they are, then close the
 * client connection (the backend saw Connection: Upgrade). */
static int relay_answer(request_rec *r, conn_rec *bc, apr_bucket_brigade *bb, char *buf,
                        apr_size_t have, apr_size_t head_len, int status)
{
    int chunked;
    char saved = buf[head_len - 1];
    apr_off_t want, sent = 0;
    buf[head_len - 1] = '\0';
    want = answer_length(r, buf, &chunked);
    buf[head_len - 1] = saved;
    apr_size_t body = have - head_len;
    r->status = status;
    r->connection->keepalive = AP_CONN_CLOSE;
    /* the head goes out as the backend wrote it, not through HTTP_HEADER */
    remove_filter_named(r->output_filters, "http_header", 1);
    for (;;) {
        if (write_client(r->connection, buf, have) != APR_SUCCESS)
            break;
        sent += body;
        r->bytes_sent = sent;
        if ((want >= 0 && sent >= want)
            || (chunked && have >= 5 && !memcmp(buf + have - 5, "0\r\n\r\n", 5)))
            break;
        have = WS_READ;
        if (read_backend(bc, bb, buf, &have) != APR_SUCCESS || !have)
            break;
        body = have;
    }
    return DONE;
}

static apr_status_t close_socket(void *sock)
{
    return apr_socket_close(sock);
}

/* The tunnel's own backend connection: a dup of mod_proxy's socket in the
 * client connection's pool, set up as mod_proxy sets up its own (TLS with the
 * request's SSLProxy* settings and SNI, the modules' pre_connection hooks),
 * before the upgrade is sent, so that a TLS session lives on the connection
 * the tunnel keeps. mod_proxy's connection goes back to its pool (closed) at
 * once: a worker's pool has ThreadsPerChild connections, far fewer than the
 * tunnels a child holds. */
static conn_rec *own_backend(request_rec *r, proxy_conn_rec *be)
{
    conn_rec *c = r->connection, *bc;
    apr_os_sock_t fd, copy;
    apr_socket_t *sock = NULL;
    apr_interval_time_t timeout = 0;
    int rc;
#if APR_HAVE_UNISTD_H
    if (apr_os_sock_get(&fd, be->sock) != APR_SUCCESS || (copy = dup(fd)) < 0)
        return NULL;
    if (apr_os_sock_put(&sock, &copy, c->pool) != APR_SUCCESS) {
        close(copy);
        return NULL;
    }
#else
    (void)fd; (void)copy; (void)be; (void)rc; (void)timeout;
    return NULL;        /* no async tunnels here: the event MPM is Unix-only */
#endif
    apr_pool_cleanup_register(c->pool, sock, close_socket, apr_pool_cleanup_null);
    bc = ap_run_create_connection(c->pool, c->base_server, sock, 0, NULL, c->bucket_alloc);
    if (!bc)
        return NULL;
    if (!be->is_ssl)
        ap_proxy_ssl_engine(bc, NULL, 0);
    else if (!ap_proxy_ssl_engine(bc, r->per_dir_config, 1)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "GX0044: url %s: TLS to the backend needs "
                      "mod_ssl and SSLProxyEngine On in this server",
                      apr_table_get(r->notes, "gramex-url"));
        return NULL;
    }
    else if (be->ssl_hostname)
        apr_table_setn(bc->notes, "proxy-request-hostname", be->ssl_hostname);
    /* core_pre_connection sets the server's Timeout: keep the worker's */
    apr_socket_timeout_get(be->sock, &timeout);
    rc = ap_run_pre_connection(bc, sock);
    if (rc != OK && rc != DONE)
        return NULL;
    apr_socket_timeout_set(sock, timeout);
    remove_filter_named(bc->input_filters, "reqtimeout", 0);
    return bc;
}

/* What the backend sent behind the 101 that the core input filter still
 * holds (less than one socket read, 8000 bytes): one read, so that a
 * backend that floods at once cannot keep the worker here. */
static char *drain_backend(request_rec *r, conn_rec *bc, apr_bucket_brigade *bb, char *buf,
                           apr_size_t *have)
{
    apr_off_t len = 0;
    apr_size_t n;
    char *more;
    apr_brigade_cleanup(bb);
    if (ap_get_brigade(bc->input_filters, bb, AP_MODE_READBYTES, APR_NONBLOCK_READ, WS_READ)
            != APR_SUCCESS || apr_brigade_length(bb, 1, &len) != APR_SUCCESS || len <= 0) {
        apr_brigade_cleanup(bb);
        return buf;
    }
    n = (apr_size_t)len;
    more = apr_palloc(r->pool, *have + n);
    memcpy(more, buf, *have);
    apr_brigade_flatten(bb, more + *have, &n);
    apr_brigade_cleanup(bb);
    *have += n;
    return more;
}

static int handshake(request_rec *r, proxy_conn_rec *be, conn_rec *bc, proxy_worker *worker,
                     proxy_server_conf *conf, apr_uri_t *uri, char *url, char *portstr)
{
    conn_rec *c = r->connection;
    /* the request's buckets in an allocator of the request's: the
     * connection's bucket allocator never gives its blocks back, and the
     * headers took a second one (4 KB more a tunnel) */
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(r->pool);
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, ba);
    char *old_cl = NULL, *old_te = NULL, *buf, *tail;
    const char *end;
    apr_size_t have = 0, n;
    apr_interval_time_t ct = 0, bt = 0;
    int rc, status;

    rc = ap_proxy_create_hdrbrgd(r->pool, bb, r, be, worker, conf, uri, url, portstr, &old_cl,
                                 &old_te);
    if (rc != OK)
        return rc;
    tail = apr_pstrcat(r->pool, "Upgrade: ", apr_table_get(r->headers_in, "Upgrade"),
                       CRLF "Connection: Upgrade" CRLF CRLF, NULL);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(tail, strlen(tail), r->pool, ba));
    rc = ap_proxy_pass_brigade(bc->bucket_alloc, r, be, bc, bb, 1);
    if (rc != OK)
        return rc;

    buf = apr_palloc(r->pool, WS_HEAD_MAX);
    while (!(end = find_head_end(buf, have))) {
        apr_status_t rv;
        if (have >= WS_HEAD_MAX) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "GX0044: %s answered the upgrade with "
                          "a head over %d bytes", url, WS_HEAD_MAX);
            return HTTP_BAD_GATEWAY;
        }
        n = WS_HEAD_MAX - have;
        rv = read_backend(bc, bb, buf + have, &n);
        if (rv != APR_SUCCESS || !n) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "GX0044: %s closed or failed before "
                          "answering the upgrade", url);
            return HTTP_BAD_GATEWAY;
        }
        have += n;
    }
    if (have < 12 || strncmp(buf, "HTTP/1.", 7) || !apr_isdigit(buf[9]))
        return HTTP_BAD_GATEWAY;
    status = atoi(buf + 9);
    if (status != HTTP_SWITCHING_PROTOCOLS)
        return relay_answer(r, bc, bb, buf, have, (apr_size_t)(end - buf), status);

    /* the 101 and any frames behind it, through the connection's filters */
    buf = drain_backend(r, bc, bb, buf, &have);
    if (write_client(c, buf, have) != APR_SUCCESS) {
        c->aborted = 1;
        return DONE;
    }
    r->status = HTTP_SWITCHING_PROTOCOLS;
    r->status_line = apr_pstrndup(r->pool, buf + 9, (apr_size_t)(strstr(buf, CRLF) - buf - 9));
    r->bytes_sent = (apr_off_t)have;

    /* idle: the larger of the two sockets' timeouts, as mod_proxy_http's tunnel */
    apr_socket_timeout_get(ap_get_conn_socket(c), &ct);
    apr_socket_timeout_get(be->sock, &bt);
    remove_filter_named(c->input_filters, "reqtimeout", 0);
    remove_filter_named(c->output_filters, "ssl/tls coalescing filter", 1);
    remove_filter_named(bc->output_filters, "ssl/tls coalescing filter", 1);
    apr_socket_timeout_set(ap_get_conn_socket(c), 0);
    apr_socket_timeout_set(ap_get_conn_socket(bc), 0);
    ap_set_module_config(c->conn_config, &gramex_ws_module,
                         ws_tunnel_make(c, bc, ct > bt ? ct : bt));
    ap_run_log_transaction(r);  /* the tunnel outlives the request's logging */
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "GX0042: url %s: asynchronous WebSocket "
                  "tunnel to %s, idle timeout %" APR_TIME_T_FMT " s",
                  apr_table_get(r->notes, "gramex-url"), url, apr_time_sec(ct > bt ? ct : bt));
    return SUSPENDED;
}

/* mod_proxy's scheme hook, first: ws://, wss://, and the http(s):// members
 * of a balancer that carry upgrade=websocket. */
int ws_scheme_handler(request_rec *r, proxy_worker *worker, proxy_server_conf *conf, char *url,
                      const char *proxyname, apr_port_t proxyport)
{
    const char *scheme;
    proxy_conn_rec *be = NULL;
    char portstr[32];
    char *locurl = url;
    apr_uri_t *uri;
    conn_rec *bc = NULL;
    int status, tls;

    /* the balancer has already turned r->filename into its member's URL */
    const char *up = apr_table_get(r->headers_in, "Upgrade");
    if (!async_connection(r) || r->proxyreq != PROXYREQ_REVERSE || !up
        || ap_cstr_casecmp(up, "websocket") || !apr_table_get(r->notes, "gramex-url"))
        return DECLINED;
    if (!ap_cstr_casecmpn(url, "ws:", 3) || !ap_cstr_casecmpn(url, "http:", 5))
        tls = 0;
    else if (!ap_cstr_casecmpn(url, "wss:", 4) || !ap_cstr_casecmpn(url, "https:", 6))
        tls = 1;
    else
        return DECLINED;
    if (!ap_cstr_casecmpn(url, "http", 4)
        && !ap_proxy_worker_can_upgrade(r->pool, worker, "websocket", NULL))
        return DECLINED;
    scheme = tls ? "WSS" : "WS";
    uri = apr_palloc(r->pool, sizeof(*uri));
    status = ap_proxy_acquire_connection(scheme, &be, worker, r->server);
    if (status != OK)
        return status;
    be->is_ssl = tls;
    be->close = 0;
    status = ap_proxy_determine_connection(r->pool, r, conf, worker, be, uri, &locurl, proxyname,
                                           proxyport, portstr, sizeof(portstr));
    if (status == OK && ap_proxy_connect_backend(scheme, be, worker, r->server)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "GX0044: url %s: cannot connect to %s",
                      apr_table_get(r->notes, "gramex-url"), url);
        status = HTTP_SERVICE_UNAVAILABLE;
    }
    if (status == OK && !(bc = own_backend(r, be)))
        status = HTTP_INTERNAL_SERVER_ERROR;
    if (status == OK)
        status = handshake(r, be, bc, worker, conf, uri, locurl, portstr);
    be->close = 1;      /* a tunnel has its own copy of the socket */
    ap_proxy_release_connection(scheme, be, r->server);
    return status;
}

/* One thread per child owns every suspended WebSocket tunnel: a pollset over
 * the client and backend sockets. Bytes move through each connection's
 * filters, non-blocking, so mod_ssl applies on either side. A side that
 * cannot take more stops the reading of the other side (memory per tunnel
 * stays bounded); idle tunnels expire from FIFO queues, one per timeout. */
#include "ws_async.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "http_request.h"
#include <apr_atomic.h>
#include <apr_poll.h>
#include <apr_thread_proc.h>
#include <apr_thread_mutex.h>

APLOG_USE_MODULE(gramex_ws);

#define WS_CHUNK 16384          /* read at most this per step (< flush_max_threshold) */
#define WS_STEPS 8              /* reads per side per turn, then others get a turn */
#define WS_LINGER apr_time_from_sec(2)
#define WS_MAX_QUEUES 16

typedef struct ws_queue ws_queue;

typedef struct {
    conn_rec *c;
    apr_socket_t *s;
    apr_pollfd_t pfd;
    apr_int16_t events;         /* what the pollset holds for it now */
    unsigned eof : 1, ready : 1, failed : 1;
    unsigned direct : 1;        /* only the core writes it: send() when nothing waits */
    unsigned raw : 1;           /* only the core reads it: recv() once drained */
    unsigned drained : 1;       /* its input filters have said EAGAIN once */
} ws_side;

struct ws_tunnel {
    ws_tunnel *prev, *next;     /* in its timeout queue */
    ws_tunnel *link;            /* handoff list, run list */
    ws_queue *q;
    apr_time_t expires;
    apr_interval_time_t idle;
    ws_side client, backend;
    int be;                     /* the backend socket is open */
    server_rec *s;
    apr_bucket_brigade *in, *out;
    int closing;                /* lingering on the client after the backend is gone */
    int queued;                 /* on this turn's run list */
    int handed;                 /* the suspend hook gave it to the thread */
    int on_ready;               /* data may wait in its filters: no poll needed */
};

struct ws_queue {
    apr_interval_time_t idle;
    ws_tunnel *head, *tail;
};

static struct {
    apr_pool_t *pool;
    apr_pollset_t *ps;
    apr_thread_t *thread;
    apr_thread_mutex_t *mutex;
    ws_tunnel *handoff;         /* guarded by mutex */
    ws_tunnel *pending;         /* handed, the worker not yet done with it */
    ws_tunnel *ready;           /* data may wait in their input filters */
    ws_queue queues[WS_MAX_QUEUES];
    int nqueues;
    volatile apr_uint32_t stopping, graceful;
    apr_time_t stop_at;
    int cap;
    apr_interval_time_t grace;
    gx_ws_counters *n;          /* this child's slot (ws_counters.c) */
    char buf[WS_CHUNK];         /* raw reads; written (or set aside) before the next */
} T;

/* T.n: open, opened and refused change on worker threads (atomics); the
 * rest only on the tunnel thread. Other processes read them (the status
 * page): a step behind at most. */

int ws_tunnels_full(server_rec *s)
{
    (void)s;
    if (apr_atomic_read32(&T.n->open) < (apr_uint32_t)T.cap)
        return 0;
    apr_atomic_inc64(&T.n->refused);     /* worker threads */
    return 1;
}

/* Filters that are only the core's (and logio's counter, done with once the
 * access log line is written): the tunnel may recv() and send() on the
 * socket itself, once the input filters are drained and while the core
 * holds no output. Through the core, every read took an 8 KB socket bucket
 * and small writes were set aside until a flush: with the connection's
 * small max_free each was an mmap and munmap, and munmap in a threaded
 * process is slow under load (echo 1.6x mod_proxy_http's). TLS and any other
 * filter keep going through the chain. */
static int core_only(ap_filter_t *f, const char *core)
{
    for (; f; f = f->next)
        if (strcmp(f->frec->name, core) && strcmp(f->frec->name, "log_input_output"))
            return 0;
    return 1;
}

ws_tunnel *ws_tunnel_make(conn_rec *c, conn_rec *backend, apr_interval_time_t idle)
{
    ws_tunnel *t = apr_pcalloc(c->pool, sizeof(*t));
    t->client.c = c;
    t->client.s = ap_get_conn_socket(c);
    t->backend.c = backend;
    t->backend.s = ap_get_conn_socket(backend);
    t->s = c->base_server;
    t->idle = idle > 0 ? idle : apr_time_from_sec(300);
    t->in = apr_brigade_create(c->pool, c->bucket_alloc);
    t->out = apr_brigade_create(c->pool, c->bucket_alloc);
    t->client.pfd.desc_type = t->backend.pfd.desc_type = APR_POLL_SOCKET;
    t->client.pfd.desc.s = t->client.s;
    t->backend.pfd.desc.s = t->backend.s;
    t->client.pfd.client_data = t->backend.pfd.client_data = t;
    t->be = 1;
    t->client.direct = core_only(c->output_filters, "core");
    t->backend.direct = core_only(backend->output_filters, "core");
    t->client.raw = core_only(c->input_filters, "core_in");
    t->backend.raw = core_only(backend->input_filters, "core_in");
    apr_atomic_inc32(&T.n->open);
    apr_atomic_inc64(&T.n->opened);
    return t;
}

/* The MPM's suspend hook, on the worker thread: after it returns the MPM
 * clears c->sbh and never touches the connection again. */
void ws_tunnel_suspended(conn_rec *c, request_rec *r)
{
    ws_tunnel *t = ap_get_module_config(c->conn_config, &gramex_ws_module);
    if (!t || t->handed || !c->cs || c->cs->state != CONN_STATE_SUSPENDED || !T.ps)
        return;
    t->handed = 1;
    /* the request is logged and the MPM is done with it (its cleanup clears
     * the MPM's pointer): its pool goes back now, not when the tunnel closes.
     * max_free first: lowering it frees nothing already on the allocator's
     * free list, so the other order kept the request's nodes with every
     * tunnel (24.5 KB a tunnel, now 12.5; docs/proxy.md) */
    apr_allocator_max_free_set(apr_pool_allocator_get(c->pool), 1);
    if (r && r->connection == c)
        apr_pool_destroy(r->pool);
    apr_thread_mutex_lock(T.mutex);
    t->link = T.handoff;
    T.handoff = t;
    apr_thread_mutex_unlock(T.mutex);
    apr_pollset_wakeup(T.ps);
}

/* ---- timeout queues: same idle, so appending keeps each queue sorted ---- */

static void timer_remove(ws_tunnel *t)
{
    ws_queue *q = t->q;
    if (!q)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        q->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->tail = t->prev;
    t->prev = t->next = NULL;
    t->q = NULL;
}

static void timer_touch(ws_tunnel *t, apr_interval_time_t idle)
{
    int i;
    ws_queue *q = NULL;
    timer_remove(t);
    for (i = 0; i < T.nqueues && !q; i++)
        if (T.queues[i].idle == idle)
            q = &T.queues[i];
    if (!q) {
        if (T.nqueues == WS_MAX_QUEUES)      /* more distinct timeouts than queues */
            idle = T.queues[WS_MAX_QUEUES - 1].idle, q = &T.queues[WS_MAX_QUEUES - 1];
        else
            q = &T.queues[T.nqueues++], q->idle = idle;
    }
    t->q = q;
    t->expires = apr_time_now() + idle;
    t->prev = q->tail;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

/* ---- I/O ---- */

static void flush_core(conn_rec *c)
{
    ap_filter_t *f = c->output_filters;
    while (f->next)
        f = f->next;
    if (f->frec->filter_func.out_func(f, NULL) != APR_SUCCESS)
        c->aborted = 1;
}

static int has_output(ws_side *s)
{
    return s->c->data_in_output_filters;
}

/* send() what the socket takes now; what is left goes through the filters. */
static apr_status_t send_direct(ws_side *to, apr_bucket_brigade *bb)
{
    apr_bucket *b;
    while ((b = APR_BRIGADE_FIRST(bb)) != APR_BRIGADE_SENTINEL(bb)) {
        const char *data;
        apr_size_t len, sent;
        apr_status_t rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS)
            return rv;
        sent = len;
        rv = apr_socket_send(to->s, data, &sent);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv))
            return rv;
        if (sent < len) {
            if (sent) {
                apr_bucket_split(b, sent);
                apr_bucket_delete(b);
            }
            return APR_SUCCESS;
        }
        apr_bucket_delete(b);
    }
    return APR_SUCCESS;
}

/* Read one chunk from `from` and write it to `to`: straight to its socket
 * when it can (the bytes need no copy), else through its filters, which set
 * aside (copy) what they keep. */
static int move(ws_tunnel *t, ws_side *from, ws_side *to, apr_uint64_t *count)
{
    apr_status_t rv;
    apr_bucket *b;
    int got = 0;
    apr_brigade_cleanup(t->in);
    if (from->raw && from->drained) {
        apr_size_t len = sizeof(T.buf);
        rv = apr_socket_recv(from->s, T.buf, &len);
        if (rv == APR_SUCCESS && len)
            APR_BRIGADE_INSERT_TAIL(t->in, apr_bucket_transient_create(T.buf, len,
                                                                       from->c->bucket_alloc));
        else if (rv == APR_SUCCESS)
            rv = APR_EOF;
    }
    else
        rv = ap_get_brigade(from->c->input_filters, t->in, AP_MODE_READBYTES, APR_NONBLOCK_READ,
                            WS_CHUNK);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        from->ready = 0;
        from->drained = 1;
        return 0;
    }
    if (rv != APR_SUCCESS) {
        from->eof = 1;
        from->failed = rv != APR_EOF;
        return 0;
    }
    for (b = APR_BRIGADE_FIRST(t->in); b != APR_BRIGADE_SENTINEL(t->in); b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;
        if (APR_BUCKET_IS_EOS(b)) {
            from->eof = 1;
            break;
        }
        if (APR_BUCKET_IS_METADATA(b))
            continue;
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
            from->eof = from->failed = 1;
            break;
        }
        if (len) {
            APR_BRIGADE_INSERT_TAIL(t->out, apr_bucket_transient_create(data, len,
                                                                        to->c->bucket_alloc));
            *count += len;
            got = 1;
        }
    }
    if (!got) {     /* the core's non-blocking EAGAIN: an empty brigade */
        apr_brigade_cleanup(t->in);
        from->ready = 0;
        from->drained = !from->eof;
        return 0;
    }
    rv = APR_SUCCESS;
    if (to->direct && !has_output(to))
        rv = send_direct(to, t->out);
    if (rv == APR_SUCCESS && !APR_BRIGADE_EMPTY(t->out)) {
        rv = ap_pass_brigade(to->c->output_filters, t->out);
        if (rv == APR_SUCCESS)
            flush_core(to->c);
    }
    apr_brigade_cleanup(t->out);
    apr_brigade_cleanup(t->in);     /* after: t->out pointed into its buckets */
    if (rv != APR_SUCCESS)
        to->c->aborted = 1;
    return 1;
}

/* Move what each side has while the other can take it; 1 if anything moved. */
static int pump_side(ws_tunnel *t, ws_side *from, ws_side *to, apr_uint64_t *count)
{
    int i, moved = 0;
    if (has_output(to))
        flush_core(to->c);
    for (i = 0; i < WS_STEPS && from->ready && !from->eof && !to->c->aborted && !has_output(to);
         i++)
        moved |= move(t, from, to, count);
    return moved;
}

static void set_events(ws_side *s, apr_int16_t want)
{
    if (s->events == want)
        return;
    if (s->events)
        apr_pollset_remove(T.ps, &s->pfd);
    s->events = want;
    s->pfd.reqevents = want;
    if (want)
        apr_pollset_add(T.ps, &s->pfd);
}

/* Close the client after the backend is gone: TLS close_notify, FIN, then
 * read (and drop) what the client still sends for a short while, so that
 * the close frame it was sent is not lost to a reset. */
static void release_backend(ws_tunnel *t)
{
    if (!t->be)
        return;
    set_events(&t->backend, 0);
    apr_socket_shutdown(t->backend.s, APR_SHUTDOWN_READWRITE);
    t->be = 0;
}

static void finish(ws_tunnel *t)
{
    conn_rec *c = t->client.c;
    timer_remove(t);
    set_events(&t->client, 0);
    release_backend(t);
    apr_atomic_dec32(&T.n->open);
    T.n->closed++;
    /* the MPM's cleanups on the connection pool count it closed, run the
     * resume hooks and close the socket */
    apr_pool_destroy(c->pool);
}

static int start_closing(ws_tunnel *t)
{
    conn_rec *c = t->client.c;
    release_backend(t);
    t->closing = 1;
    if (!c->aborted) {
        apr_bucket_brigade *bb = t->out;
        APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_eoc_create(c->bucket_alloc));
        ap_pass_brigade(c->output_filters, bb);
        apr_brigade_cleanup(bb);
        flush_core(c);
    }
    apr_socket_shutdown(t->client.s, APR_SHUTDOWN_WRITE);
    if (c->aborted || t->client.eof) {
        finish(t);
        return 0;
    }
    timer_touch(t, WS_LINGER);
    set_events(&t->client, APR_POLLIN);
    return 1;
}

static int linger_read(ws_tunnel *t)
{
    char buf[4096];
    apr_size_t len;
    apr_status_t rv;
    do {
        len = sizeof(buf);
        rv = apr_socket_recv(t->client.s, buf, &len);
    } while (rv == APR_SUCCESS && len);
    if (APR_STATUS_IS_EAGAIN(rv))
        return 1;
    finish(t);
    return 0;
}

/* One turn of a tunnel; 0 if it is gone. */
static int turn(ws_tunnel *t)
{
    ws_side *c = &t->client, *b = &t->backend;
    int moved;
    if (t->closing)
        return linger_read(t);
    moved = pump_side(t, c, b, &T.n->bytes_to_backend)
            | pump_side(t, b, c, &T.n->bytes_to_client);
    if (c->c->aborted || c->failed || b->c->aborted || b->failed
        || (b->eof && !has_output(c)) || (c->eof && !has_output(b))) {
        if (c->failed)
            c->c->aborted = 1;
        return start_closing(t);
    }
    if (moved)
        timer_touch(t, t->idle);
    set_events(c, (apr_int16_t)((!c->eof && !has_output(b) ? APR_POLLIN : 0)
                                | (has_output(c) ? APR_POLLOUT : 0)));
    set_events(b, (apr_int16_t)((!b->eof && !has_output(c) ? APR_POLLIN : 0)
                                | (has_output(b) ? APR_POLLOUT : 0)));
    return 1;
}

static int wants_turn(ws_tunnel *t)
{
    return !t->closing && ((t->client.ready && !t->client.eof && !has_output(&t->backend))
                           || (t->backend.ready && !t->backend.eof && !has_output(&t->client)));
}

/* The grace period of a stopping child is over: close code 1001 (going away)
 * to the client, then close. Frames may be mid-way, so only tunnels with
 * nothing buffered get the frame; the others just close. */
static void going_away(ws_tunnel *t)
{
    static const char frame[] = {(char)0x88, 0x02, 0x03, (char)0xE9};
    conn_rec *c = t->client.c;
    if (!t->closing && !has_output(&t->client)) {
        APR_BRIGADE_INSERT_TAIL(t->out, apr_bucket_immortal_create(frame, 4, c->bucket_alloc));
        ap_pass_brigade(c->output_filters, t->out);
        apr_brigade_cleanup(t->out);
        flush_core(c);
    }
    if (!t->closing)
        start_closing(t);
    else
        finish(t);
}

static void expire(apr_time_t now, apr_interval_time_t *next)
{
    int i;
    for (i = 0; i < T.nqueues; i++) {
        ws_queue *q = &T.queues[i];
        while (q->head && q->head->expires <= now) {
            ws_tunnel *t = q->head;
            timer_remove(t);
            if (t->on_ready)        /* busy, not idle */
                timer_touch(t, t->idle);
            else if (t->closing)
                finish(t);
            else {
                ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, t->client.c, "GX0045: idle "
                              "WebSocket closed after %" APR_TIME_T_FMT " s",
                              apr_time_sec(t->idle));
                start_closing(t);
            }
        }
        if (q->head && q->head->expires - now < *next)
            *next = q->head->expires - now;
    }
}

static void close_all(void)
{
    int i;
    ws_tunnel *t;
    while ((t = T.ready))
        T.ready = t->link, t->on_ready = 0;
    for (i = 0; i < T.nqueues; i++)
        while ((t = T.queues[i].head)) {
            if (T.graceful && !t->closing)
                going_away(t);
            else
                finish(t);
        }
}

static void start(ws_tunnel *t)
{
    t->client.ready = t->backend.ready = 1;     /* filters may hold data already */
    timer_touch(t, t->idle);
    if (turn(t) && wants_turn(t)) {
        t->on_ready = 1;
        t->link = T.ready;
        T.ready = t;
    }
}

static void *APR_THREAD_FUNC tunnel_main(apr_thread_t *thd, void *data)
{
    (void)data;
    while (!T.stopping || apr_atomic_read32(&T.n->open)) {
        const apr_pollfd_t *fds;
        apr_int32_t n = 0, i;
        apr_interval_time_t wait = apr_time_from_sec(1);
        ws_tunnel *t, *run = NULL, **pp;
        apr_time_t now;

        apr_thread_mutex_lock(T.mutex);
        while ((t = T.handoff)) {
            T.handoff = t->link;
            t->link = T.pending;
            T.pending = t;
        }
        apr_thread_mutex_unlock(T.mutex);
        for (pp = &T.pending; (t = *pp);) {
            /* the worker clears c->sbh as its last touch of the connection */
            if (!*(void *volatile *)&t->client.c->sbh) {
                *pp = t->link;
                start(t);
            }
            else
                pp = &t->link;
        }
        if (T.pending)
            wait = 1000;
        now = apr_time_now();
        if (T.stopping && T.graceful && T.stop_at && now >= T.stop_at)
            close_all();
        expire(now, &wait);
        if (T.ready)
            wait = 0;
        if (apr_pollset_poll(T.ps, wait, &n, &fds) != APR_SUCCESS)
            n = 0;
        while ((t = T.ready)) {
            T.ready = t->link;
            t->on_ready = 0;
            t->queued = 1;
            t->link = run;
            run = t;
        }
        for (i = 0; i < n; i++) {
            t = fds[i].client_data;
            if (!t)
                continue;
            if (fds[i].desc.s == t->client.s)
                t->client.ready |= !!(fds[i].rtnevents & (APR_POLLIN | APR_POLLHUP | APR_POLLERR));
            else
                t->backend.ready |= !!(fds[i].rtnevents & (APR_POLLIN | APR_POLLHUP | APR_POLLERR));
            if (fds[i].rtnevents & (APR_POLLHUP | APR_POLLERR) && t->closing)
                t->client.ready = 1;
            if (!t->queued) {
                t->queued = 1;
                t->link = run;
                run = t;
            }
        }
        while ((t = run)) {
            run = t->link;
            t->queued = 0;
            if (turn(t) && wants_turn(t)) {
                t->on_ready = 1;
                t->link = T.ready;
                T.ready = t;
            }
        }
        if (T.stopping && !T.graceful)
            close_all();
    }
    /* return, not apr_thread_exit(): that is not declared noreturn, so with
     * ASan its pthread_exit() unwinds past this frame's poisoned redzones and
     * ASan's own thread teardown then reports them (docs/proxy.md, "ASan") */
    (void)thd;
    return NULL;
}

static apr_status_t tunnels_cleanup(void *data)
{
    apr_status_t rv;
    (void)data;
    if (!T.thread)
        return APR_SUCCESS;
    T.stopping = 1;
    T.graceful = 0;
    apr_pollset_wakeup(T.ps);
    apr_thread_join(&rv, T.thread);
    T.thread = NULL;
    return APR_SUCCESS;
}

apr_status_t ws_tunnels_start(apr_pool_t *pchild, server_rec *s)
{
    ws_conf *conf = ws_server_conf(s);
    apr_status_t rv;
    T.pool = pchild;
    T.n = ws_counters_claim(s);
    T.cap = conf->cap > 0 ? conf->cap : WS_CAP_DEFAULT;
    T.grace = conf->grace >= 0 ? conf->grace : WS_GRACE_DEFAULT;
    rv = apr_thread_mutex_create(&T.mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv == APR_SUCCESS)
        rv = apr_pollset_create(&T.ps, (apr_uint32_t)T.cap * 2 + 16, pchild,
                                APR_POLLSET_WAKEABLE | APR_POLLSET_NOCOPY);
    if (rv == APR_SUCCESS)
        rv = apr_thread_create(&T.thread, NULL, tunnel_main, NULL, pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "GX0046: cannot start the WebSocket tunnel "
                     "thread; WebSockets fall back to mod_proxy_http");
        T.ps = NULL;
        return rv;
    }
    apr_pool_pre_cleanup_register(pchild, NULL, tunnels_cleanup);
    return APR_SUCCESS;
}

void ws_tunnels_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    if (!T.thread)
        return;
    T.stop_at = apr_time_now() + T.grace;
    T.graceful = graceful;
    T.stopping = 1;
    apr_pollset_wakeup(T.ps);
}

int ws_tunnels_running(void)
{
    return T.ps != NULL && !T.stopping;
}

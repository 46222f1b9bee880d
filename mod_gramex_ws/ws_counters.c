/* The tunnel counters of every child, in one block of anonymous shared memory
 * that the parent makes at its first start and keeps over restarts: children
 * of every generation inherit it, so children that still drain their tunnels
 * after a graceful restart keep counting where the new ones do.
 *
 * Each child claims a slot (its pid as owner) and only its own threads write
 * it; the status page sums the slots. When a child exits, however it exits
 * (kill -9 too), the parent folds its slot into `retired` and frees it: the
 * tunnels it still held count as closed and dropped, never open forever. A
 * sequence number, odd during a fold, lets readers retry rather than count a
 * slot twice or not at all.
 *
 * On Windows the one child process makes its own block in its own
 * post_config: the same code, one slot in use. */
#include "ws_async.h"
#include "http_log.h"
#include "ap_mpm.h"
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_thread_proc.h>
#if defined(WIN32)
#include <process.h>            /* _getpid() */
#define getpid _getpid
#elif APR_HAVE_UNISTD_H
#include <unistd.h>             /* getpid() */
#endif

APLOG_USE_MODULE(gramex_ws);

#define WS_TABLE_KEY "gramex_ws_counters"
#define WS_READ_TRIES 1000

typedef struct {
    volatile apr_uint32_t owner;    /* the child's pid; 0: free */
    gx_ws_counters n;
} ws_slot;

typedef struct {
    volatile apr_uint32_t seq;      /* odd while the parent folds a slot */
    apr_uint32_t nslots;
    gx_ws_counters retired;         /* children that exited; only the parent writes it */
    ws_slot slot[1];
} ws_table;

static ws_table *table;             /* NULL: no shared memory; each child counts alone */
static gx_ws_counters alone;        /* this child's counters when it has no slot */
static gx_ws_counters *mine = &alone;

/* Children that lost their scoreboard slot while draining (graceful restart)
 * run beside the ones that took it: room for two generations, and some. */
static apr_uint32_t slots_wanted(void)
{
    int limit = 0;
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit) != APR_SUCCESS || limit < 1)
        limit = 1;
    return (apr_uint32_t)limit * 2 + 16;
}

void ws_counters_setup(server_rec *s)
{
    apr_pool_t *keep = s->process->pool;
    void *found = NULL;
    apr_shm_t *shm;
    apr_uint32_t n;
    apr_size_t size;
    apr_status_t rv;
    apr_pool_userdata_get(&found, WS_TABLE_KEY, keep);
    if (found) {
        table = found;
        return;
    }
    n = slots_wanted();
    size = APR_OFFSETOF(ws_table, slot) + n * sizeof(ws_slot);
    /* anonymous: inherited by every child; the process pool keeps it over
     * restarts (ServerLimit, hence n, cannot change before a full stop) */
    rv = apr_shm_create(&shm, size, NULL, keep);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "GX0048: no shared memory (%"
                     APR_SIZE_T_FMT " bytes) for the WebSocket counters: the status page shows "
                     "only the answering child's tunnels", size);
        return;
    }
    table = apr_shm_baseaddr_get(shm);
    memset(table, 0, size);
    table->nslots = n;
    apr_pool_userdata_set(table, WS_TABLE_KEY, apr_pool_cleanup_null, keep);
}

gx_ws_counters *ws_counters_claim(server_rec *s)
{
    apr_uint32_t pid = (apr_uint32_t)getpid(), i;
    /* a slot this pid owns already is a predecessor's whose exit the parent
     * did not see (httpd -X restarts in one process; a reused pid): fold it,
     * or its open tunnels would count as this child's (and keep it alive) */
    ws_counters_child_exited(pid);
    for (i = 0; table && i < table->nslots; i++)
        if (apr_atomic_cas32(&table->slot[i].owner, pid, 0) == 0)
            return mine = &table->slot[i].n;
    if (table)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "GX0048: all %u WebSocket counter slots "
                     "are taken: only this child's (pid %u) own status pages count its "
                     "tunnels",
                     table->nslots, pid);
    return mine;
}

static void add(gx_ws_counters *to, gx_ws_counters *n)
{
    to->open += apr_atomic_read32(&n->open);
    to->opened += apr_atomic_read64(&n->opened);
    to->closed += apr_atomic_read64(&n->closed);
    to->dropped += apr_atomic_read64(&n->dropped);
    to->bytes_to_backend += apr_atomic_read64(&n->bytes_to_backend);
    to->bytes_to_client += apr_atomic_read64(&n->bytes_to_client);
    to->refused += apr_atomic_read64(&n->refused);
}

/* add32(0): a read with a full barrier */
static apr_uint32_t seq_now(void)
{
    return apr_atomic_add32(&table->seq, 0);
}

void ws_counters_total(gx_ws_counters *out)
{
    int tries;
    memset(out, 0, sizeof(*out));
    if (!table) {
        add(out, mine);
        return;
    }
    for (tries = 0; tries < WS_READ_TRIES; tries++) {
        apr_uint32_t before = seq_now(), i;
        if (before & 1) {
            apr_thread_yield();
            continue;
        }
        memset(out, 0, sizeof(*out));
        add(out, &table->retired);
        for (i = 0; i < table->nslots; i++)
            add(out, &table->slot[i].n);
        if (seq_now() == before)
            break;
    }
    if (mine == &alone)             /* a child without a slot: at least its own */
        add(out, mine);
}

/* In the parent, after it has reaped child `pid` (or in a child, for a slot
 * its pid held before): nothing of that child runs any more, so its slot is
 * read and cleared without a race. */
void ws_counters_child_exited(apr_uint32_t pid)
{
    apr_uint32_t i;
    for (i = 0; table && pid && i < table->nslots; i++) {
        ws_slot *slot = &table->slot[i];
        gx_ws_counters *r = &table->retired;
        if (slot->owner != pid)
            continue;
        apr_atomic_inc32(&table->seq);
        r->opened += slot->n.opened;
        r->closed += slot->n.closed + slot->n.open;     /* the kernel closed these */
        r->dropped += slot->n.dropped + slot->n.open;
        r->bytes_to_backend += slot->n.bytes_to_backend;
        r->bytes_to_client += slot->n.bytes_to_client;
        r->refused += slot->n.refused;
        memset(&slot->n, 0, sizeof(slot->n));
        apr_atomic_inc32(&table->seq);
        apr_atomic_set32(&slot->owner, 0);
        return;
    }
}

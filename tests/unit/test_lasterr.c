/* gx_lasterr: the status page's "last error" keeps the latest request's
 * error whatever order children count in. */
#include "gx_test.h"
#include "gx_lasterr.h"
#include <apr_thread_proc.h>

static void order(apr_pool_t *p)
{
    volatile apr_uint64_t word = 0;
    apr_time_t when = -1;
    apr_time_t t = apr_time_from_sec(1796000000) + 123456;     /* microseconds count */
    (void)p;
    CHECK_INT(gx_lasterr_get(&word, &when), 0);
    gx_lasterr_note(&word, t + 1, 404);
    gx_lasterr_note(&word, t, 403);             /* made earlier, counted later: ignored */
    CHECK_INT(gx_lasterr_get(&word, &when), 404);
    CHECK_INT(when, t + 1);
    gx_lasterr_note(&word, t + 2, 502);
    CHECK_INT(gx_lasterr_get(&word, &when), 502);
    CHECK_INT(when, t + 2);
    gx_lasterr_note(&word, t + 2, 599);         /* the same microsecond: one of them, whole */
    CHECK_INT(gx_lasterr_get(&word, &when), 599);
    CHECK_INT(when, t + 2);
}

#define WRITERS 4
#define NOTES 20000

typedef struct {
    volatile apr_uint64_t *word;
    int id;
} writer;

/* Writer i notes times i, i + WRITERS, ...: the latest of all is noted by
 * the last writer, and whichever thread finishes last, it must stay. */
static void *APR_THREAD_FUNC notes(apr_thread_t *th, void *data)
{
    writer *w = data;
    int k;
    for (k = 0; k < NOTES; k++) {
        apr_time_t when = (apr_time_t)k * WRITERS + w->id + 1;
        gx_lasterr_note(w->word, when, 400 + w->id);
    }
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static void racing_writers(apr_pool_t *p)
{
    volatile apr_uint64_t word = 0;
    apr_thread_t *th[WRITERS];
    writer w[WRITERS];
    apr_status_t rv;
    apr_time_t when;
    int i;
    for (i = 0; i < WRITERS; i++) {
        w[i].word = &word;
        w[i].id = i;
        CHECK(apr_thread_create(&th[i], NULL, notes, &w[i], p) == APR_SUCCESS);
    }
    for (i = 0; i < WRITERS; i++)
        apr_thread_join(&rv, th[i]);
    CHECK_INT(gx_lasterr_get(&word, &when), 400 + WRITERS - 1);
    CHECK_INT(when, (apr_time_t)NOTES * WRITERS);
}

TEST_MAIN_BEGIN
    RUN(order);
    RUN(racing_writers);
TEST_MAIN_END

/* mod_gramex_watch: `GramexWatch On`, Gramex's reload-on-edit under Apache.
 *
 * After each (re)start the parent forks one small watcher process (as
 * mod_cgid forks its daemon). It polls every config file the apps loaded
 * (gramex.yaml, imports, .secrets.yaml); once a change has settled it runs
 * the server's own config test (`apache2 -t` with the running command
 * line) and signals a graceful restart only if the test passes. A broken
 * edit is logged with the test's output and the running app keeps serving.
 * The restart's new generation starts a new watcher; the old one dies with
 * the old generation's pool. Unix only: Windows has no graceful signal. */
#include "mod_gramex.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "http_core.h"
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_thread_proc.h>
#include <stdlib.h>

APLOG_USE_MODULE(gramex);

#if APR_HAS_FORK     /* the watcher is a forked process: not on Windows */

/* How often files are looked at, and how long a change must stay still
 * before it is tested (an editor's save, a quick series of edits). */
#define GX_WATCH_POLL (apr_time_from_msec(500))
#define GX_WATCH_SETTLE (apr_time_from_msec(1000))

typedef struct {
    const char *path;
    apr_time_t mtime;
    apr_off_t size;
    int exists;
} watched;

static void look(apr_pool_t *p, watched *w)
{
    apr_finfo_t fi;
    w->exists = apr_stat(&fi, w->path, APR_FINFO_MTIME | APR_FINFO_SIZE, p) == APR_SUCCESS;
    w->mtime = w->exists ? fi.mtime : 0;
    w->size = w->exists ? fi.size : 0;
}

/* Every file the apps of this generation read, once. */
static apr_array_header_t *files_to_watch(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(watched));
    apr_hash_t *seen = apr_hash_make(p);
    server_rec *v;
    for (v = s; v; v = v->next) {
        const gx_server_conf *c = gx_sconf(v);
        int i, n;
        if (!c->app || !c->app->loaded)
            continue;
        n = c->app->loaded->files->nelts;
        for (i = 0; i <= n; i++) {
            const char *f = i < n ? APR_ARRAY_IDX(c->app->loaded->files, i, const char *)
                                  : c->secrets_file;
            watched *w;
            if (!f || apr_hash_get(seen, f, APR_HASH_KEY_STRING))
                continue;
            apr_hash_set(seen, f, APR_HASH_KEY_STRING, f);
            w = apr_array_push(out);
            w->path = f;
            look(p, w);
        }
    }
    return out;
}

static int changed(apr_pool_t *p, apr_array_header_t *files)
{
    int i, any = 0;
    for (i = 0; i < files->nelts; i++) {
        watched *w = &APR_ARRAY_IDX(files, i, watched), now = *w;
        look(p, &now);
        if (now.exists != w->exists || now.mtime != w->mtime || now.size != w->size) {
            *w = now;
            any = 1;
        }
    }
    return any;
}

/* The running command line with -k dropped and -t added: the same config
 * the next graceful restart would read. */
static const char *const *test_argv(apr_pool_t *p, const process_rec *proc)
{
    const char **argv = apr_pcalloc(p, sizeof(char *) * (proc->argc + 2));
    int i, n = 0;
    argv[n++] = proc->argv[0];      /* as invoked: ap_server_argv0 is only its base name */
    for (i = 1; i < proc->argc; i++) {
        if (!strcmp(proc->argv[i], "-k") && i + 1 < proc->argc) {
            i++;
            continue;
        }
        argv[n++] = proc->argv[i];
    }
    argv[n++] = "-t";
    return argv;
}

/* Runs the config test; its output goes to the error log (our stderr). */
static int config_test_passes(apr_pool_t *p, server_rec *s)
{
    apr_procattr_t *attr;
    apr_proc_t test;
    apr_exit_why_e why;
    int code = -1;
    const char *const *argv = test_argv(p, s->process);
    if (apr_procattr_create(&attr, p) != APR_SUCCESS
        || apr_procattr_cmdtype_set(attr, APR_PROGRAM_ENV) != APR_SUCCESS
        || apr_proc_create(&test, argv[0], argv, NULL, attr, p) != APR_SUCCESS)
        return 0;
    apr_proc_wait(&test, &code, &why, APR_WAIT);
    return why == APR_PROC_EXIT && code == 0;
}

/* The server's parent process, from its pid file. */
static int server_process(apr_pool_t *p, apr_proc_t *server)
{
    memset(server, 0, sizeof(*server));
    return ap_read_pid(p, ap_server_root_relative(p, ap_pid_fname), &server->pid) == APR_SUCCESS;
}

/* Runs until the parent kills it with its generation's pool (a forked copy
 * of httpd must not run httpd's exit cleanups: they would remove the
 * parent's pid file, locks and shared memory). It ends by itself only when
 * the parent is gone. */
static void watch(apr_pool_t *p, server_rec *s, apr_array_header_t *files)
{
    int restarting = 0;
    apr_proc_t server;
    for (;;) {
        apr_pool_t *round;
        apr_sleep(GX_WATCH_POLL);
        apr_pool_create(&round, p);
        if (server_process(round, &server) && apr_proc_kill(&server, 0) != APR_SUCCESS)
            return;
        if (!restarting && changed(round, files)) {
            while (apr_sleep(GX_WATCH_SETTLE), changed(round, files))
                ;       /* wait until the edits stop */
            if (config_test_passes(round, s)) {
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, GX_LOGNO(0006) "GramexWatch: an "
                             "app's config changed and the config test passed; graceful restart");
                if (server_process(round, &server))
                    apr_proc_kill(&server, AP_SIG_GRACEFUL);
                restarting = 1;     /* the new generation starts its own watcher */
            }
            else {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, GX_LOGNO(0006) "GramexWatch: an "
                             "app's config changed but the config test failed (output above); "
                             "the running apps keep serving. Fix the file and save it again");
            }
        }
        apr_pool_destroy(round);
    }
}

/* The MPM reaped the watcher: forget it. (Not on UNREGISTER, which is this
 * very call's own notice.) */
static void watcher_gone(int reason, void *data, int status)
{
    (void)status;
    if (reason == APR_OC_REASON_DEATH || reason == APR_OC_REASON_LOST)
        apr_proc_other_child_unregister(data);
}

#endif /* APR_HAS_FORK */

void gx_watch_start(apr_pool_t *pconf, server_rec *s)
{
#if APR_HAS_FORK && defined(AP_SIG_GRACEFUL)
    const gx_server_conf *c = gx_sconf(s);
    apr_array_header_t *files;
    apr_proc_t *proc;
    if (!c->watch || ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    files = files_to_watch(pconf, s);
    if (!files->nelts)
        return;
    proc = apr_pcalloc(pconf, sizeof(*proc));
    switch (apr_proc_fork(proc, pconf)) {
    case APR_INCHILD:
        watch(pconf, s, files);
        exit(0);        /* the parent is gone */
    case APR_INPARENT:
        /* killed with this generation's pool; the MPM knows it is ours */
        apr_pool_note_subprocess(pconf, proc, APR_KILL_ALWAYS);
        apr_proc_other_child_register(proc, watcher_gone, proc, NULL, pconf);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GX_LOGNO(0006) "GramexWatch: watching %d "
                     "config files (pid %d)", files->nelts, (int)proc->pid);
        break;
    default:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, GX_LOGNO(0006) "GramexWatch: cannot start "
                     "the watcher; edits need apachectl graceful");
    }
#else
    (void)pconf;
    if (gx_sconf(s)->watch)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GX_LOGNO(0006) "GramexWatch is not "
                     "available on this platform; reload with httpd -k restart after edits");
#endif
}

/* The .secrets.yaml loader (gx_secrets_load) on files written from the
 * input: .secrets.yaml, then after each "\n#8<\n" line f1.yaml, f2.yaml...
 * (reachable with SECRETS_IMPORT: f*.yaml or SECRETS_URL: file:f1.yaml).
 * Imports, file: fetches, blob decoding, the cache write (into a
 * GramexSecretsCacheDir outside the files' directory, so that no
 * SECRETS_IMPORT glob sees it appear), and the memo (each input is loaded twice through one memo) all run.
 *
 * No network: every http(s) SECRETS_URL goes through ALL_PROXY, a closed
 * port on 127.0.0.1, so libcurl fails at once without resolving the host.
 * Checks beyond "no crash, leak or UB": a load either gives a mapping and
 * no error, or NULL and an error; the memo replays the same answer. */
#include "fuzz_common.h"
#include "gx_sec_load.h"
#include <apr_file_io.h>
#include <apr_strings.h>
#include <stdio.h>
#include <unistd.h>

#define MAX_FILES 4

static char dir[256], cache_dir[300];

static void put(apr_pool_t *p, const char *name, const char *text)
{
    apr_file_t *f;
    if (apr_file_open(&f, apr_pstrcat(p, dir, "/", name, NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                      APR_FPROT_UREAD | APR_FPROT_UWRITE, p) != APR_SUCCESS)
        abort();
    apr_file_write_full(f, text, strlen(text), NULL);
    apr_file_close(f);
}

/* A fresh directory per input: no cache or file left by the one before. */
static void clear_dir(apr_pool_t *p, const char *d)
{
    apr_dir_t *dh;
    apr_finfo_t fi;
    if (apr_dir_open(&dh, d, p) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME, dh) == APR_SUCCESS)
        if (strcmp(fi.name, ".") && strcmp(fi.name, ".."))
            apr_file_remove(apr_pstrcat(p, d, "/", fi.name, NULL), p);
    apr_dir_close(dh);
}

static void check(const gx_node *vars, const gx_diags *d)
{
    if (vars ? vars->type != GX_MAP || d->errors : !d->errors)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool(), *mp;
    char *rest = fuzz_text(p, data, size);
    const char *path;
    gx_secrets_opts o;
    gx_diags *d1 = gx_diags_make(p), *d2 = gx_diags_make(p);
    apr_array_header_t *never = apr_array_make(p, 4, sizeof(const char *));
    gx_node *v1, *v2;
    int i;
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/gx-fuzz-secrets-%d", (int)getpid());
        apr_dir_make(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, p);
        snprintf(cache_dir, sizeof(cache_dir), "%s.cache", dir);
        setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
        unsetenv("NO_PROXY");
        unsetenv("no_proxy");
    }
    clear_dir(p, dir);
    clear_dir(p, cache_dir);
    put(p, ".secrets.yaml", fuzz_split(&rest, "\n#8<\n"));
    for (i = 1; i <= MAX_FILES && *rest; i++)
        put(p, apr_psprintf(p, "f%d.yaml", i), fuzz_split(&rest, "\n#8<\n"));
    path = apr_pstrcat(p, dir, "/.secrets.yaml", NULL);

    apr_pool_create(&mp, p);
    memset(&o, 0, sizeof(o));
    o.timeout = 1;
    o.max_bytes = 64 * 1024;
    o.now = apr_time_from_sec(1800000000);
    o.cache_dir = cache_dir;    /* made by the first cache write */
    o.memo = gx_secrets_memo_make(mp);
    v1 = gx_secrets_load(p, path, &o, d1, never);
    check(v1, d1);
    v2 = gx_secrets_load(p, path, &o, d2, never);
    check(v2, d2);
    /* the second load reads the same files and replays what the URL gave */
    if (!v1 != !v2 || (v1 && v1->n != v2->n) || d1->errors != d2->errors)
        abort();
    gx_secrets_memo_wipe(o.memo);
    apr_pool_destroy(p);
    return 0;
}

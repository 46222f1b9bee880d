/* The whole loader on files written from the input: gramex.yaml, and
 * after a "\n#8<\n" line, sub.yaml (reachable with `import: sub.yaml`),
 * then the app model (gx_app_build). Variables, imports, conditions,
 * merges and the route model all run. */
#include "fuzz_common.h"
#include "gx_load.h"
#include "gx_app.h"
#include <apr_file_io.h>
#include <apr_strings.h>
#include <stdio.h>
#include <unistd.h>

static char dir[256];

static void put(apr_pool_t *p, const char *name, const char *text)
{
    apr_file_t *f;
    apr_size_t n = strlen(text);
    if (apr_file_open(&f, apr_pstrcat(p, dir, "/", name, NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                      APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS)
        abort();
    apr_file_write_full(f, text, n, NULL);
    apr_file_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    gx_diags *d = gx_diags_make(p);
    char *rest = fuzz_text(p, data, size);
    const char *main_yaml = fuzz_split(&rest, "\n#8<\n");
    static const char *const env[] = {"HOME=/fuzz/home", "PORT=9988", NULL};
    gx_load_opts lo;
    gx_app_opts ao = {0};
    gx_loaded *loaded;
    const char *conf = getenv("GX_FUZZ_CONF");
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/gx-fuzz-load-%d", (int)getpid());
        apr_dir_make(dir, APR_FPROT_OS_DEFAULT, p);
    }
    put(p, "gramex.yaml", main_yaml);
    put(p, "sub.yaml", rest);
    memset(&lo, 0, sizeof(lo));
    lo.gramexpath = conf ? conf : "conf";
    lo.run_dir = dir;
    lo.env = env;
    lo.hostname = "fuzzhost";
    loaded = gx_load_app(p, apr_pstrcat(p, dir, "/gramex.yaml", NULL), &lo, d);
    if (loaded && !d->errors)
        gx_app_build(p, loaded, apr_pstrcat(p, dir, "/gramex.yaml", NULL), dir, &ao, d);
    apr_pool_destroy(p);
    return 0;
}

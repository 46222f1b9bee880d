/* gx_test_files: app trees written to a temp dir for unit tests. The
 * including file defines `static const char *root_dir;` first. */
#ifndef GX_TEST_FILES_H
#define GX_TEST_FILES_H

#include <apr_strings.h>
#include <apr_file_io.h>

static void put(apr_pool_t *p, const char *rel, const char *text)
{
    const char *path = apr_pstrcat(p, root_dir, "/", rel, NULL);
    char *dir = apr_pstrdup(p, path);
    apr_file_t *f;
    *strrchr(dir, '/') = '\0';
    apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, p);
    apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                  APR_FPROT_OS_DEFAULT, p);
    apr_file_puts(text, f);
    apr_file_close(f);
}

static void rm_tree(apr_pool_t *p, const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    if (apr_dir_open(&d, dir, p) != APR_SUCCESS)
        return;
    for (;;) {
        apr_status_t rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d);
        const char *child;
        if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
            break;
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, ".."))
            continue;
        child = apr_pstrcat(p, dir, "/", fi.name, NULL);
        if (fi.filetype == APR_DIR)
            rm_tree(p, child);
        else
            apr_file_remove(child, p);
    }
    apr_dir_close(d);
    apr_dir_remove(dir, p);
}

/* A fresh, empty directory name under the system temp dir. */
static const char *make_temp_root(apr_pool_t *p, const char *prefix)
{
    const char *tmp;
    char *path;
    apr_file_t *f;
    apr_temp_dir_get(&tmp, p);
    /* in the core's path form (gx_path.h): Windows gives "C:\\users\\..\\Temp" */
    apr_filepath_merge(&path, NULL, tmp, 0, p);
    path = apr_pstrcat(p, path, "/", prefix, "XXXXXX", NULL);
    apr_file_mktemp(&f, path, 0, p);
    apr_file_close(f);
    apr_file_remove(path, p);
    return path;
}

#endif

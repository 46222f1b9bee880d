/* gx_path: see gx_path.h */
#include "gx_path.h"
#include <apr_cstr.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

int gx_path_is_sep(char c)
{
    return c == '/' || (GX_PATH_ICASE && c == '\\');
}

const char *gx_path_slashes(apr_pool_t *p, const char *path)
{
    char *out, *c;
    if (!GX_PATH_ICASE || !strchr(path, '\\'))
        return path;
    out = apr_pstrdup(p, path);
    for (c = out; *c; c++)
        if (*c == '\\')
            *c = '/';
    return out;
}

int gx_path_cmp(const char *a, const char *b)
{
    return GX_PATH_ICASE ? apr_cstr_casecmp(a, b) : strcmp(a, b);
}

int gx_path_ncmp(const char *a, const char *b, apr_size_t n)
{
    return GX_PATH_ICASE ? apr_cstr_casecmpn(a, b, n) : strncmp(a, b, n);
}

int gx_path_under(const char *path, const char *prefix)
{
    apr_size_t n = strlen(prefix);
    if (gx_path_ncmp(path, prefix, n) != 0)
        return 0;
    return !path[n] || gx_path_is_sep(path[n]) || (n && gx_path_is_sep(prefix[n - 1]));
}

apr_size_t gx_path_root_len(const char *path)
{
    if (GX_PATH_ICASE && apr_isalpha(path[0]) && path[1] == ':')
        return gx_path_is_sep(path[2]) ? 3 : 2;
    return gx_path_is_sep(path[0]) ? 1 : 0;
}

int gx_path_is_absolute(const char *path)
{
    return gx_path_root_len(path) > 0;
}

const char *gx_path_dirname(apr_pool_t *p, const char *path)
{
    apr_size_t root = gx_path_root_len(path), n = strlen(path);
    while (n > root && !gx_path_is_sep(path[n - 1]))
        n--;
    while (n > root && gx_path_is_sep(path[n - 1]))
        n--;
    if (!n)
        return ".";
    return apr_pstrmemdup(p, path, n);
}

/* gx_path: the one form file paths take in the core.
 *
 * '/'-separated with the drive letter kept ("C:/apps/x/gramex.yaml"): what
 * apr_filepath_merge gives without APR_FILEPATH_NATIVE, and what httpd puts
 * in r->filename. Windows file systems ignore case, so there paths compare
 * case-blind. Only the OS boundary (APR does it) sees native '\' paths.
 */
#ifndef GX_PATH_H
#define GX_PATH_H

#include <apr_pools.h>

#ifdef _WIN32
#define GX_PATH_ICASE 1
#else
#define GX_PATH_ICASE 0
#endif

/* '/' everywhere; '\' too on Windows (as written by a Windows user). */
int gx_path_is_sep(char c);
/* path with '\' made '/' on Windows; path itself elsewhere ('\' is a name character). */
const char *gx_path_slashes(apr_pool_t *p, const char *path);
/* strcmp / strncmp, case-blind on Windows. */
int gx_path_cmp(const char *a, const char *b);
int gx_path_ncmp(const char *a, const char *b, apr_size_t n);
/* 1 if path is prefix or below it ("C:/a" is under "c:/a/" and "C:/a"). */
int gx_path_under(const char *path, const char *prefix);
/* Length of the root: "/" 1, "C:/" 3, "C:" 2, relative 0. */
apr_size_t gx_path_root_len(const char *path);
/* Rooted on this platform: "/a", and on Windows "C:/a", "C:a", "\\a" too. */
int gx_path_is_absolute(const char *path);
/* os.path.dirname that keeps the root: "/a" -> "/", "C:/a" -> "C:/", "a" -> ".". */
const char *gx_path_dirname(apr_pool_t *p, const char *path);

#endif

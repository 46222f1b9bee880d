/* gx_env: see gx_env.h. APR can get one variable but cannot list them, and
 * Gramex makes every environment variable a config variable, so this is the
 * one place that reaches for the C runtime's table. */
#include "gx_env.h"
#include <stdlib.h>

#ifdef _WIN32
#define GX_ENVIRON _environ
#else
extern char **environ;
#define GX_ENVIRON environ
#endif

const char *const *gx_environ(void)
{
    static const char *const empty[] = {NULL};
    return GX_ENVIRON ? (const char *const *)GX_ENVIRON : empty;
}

/* gx_env: the process environment as "NAME=VALUE" strings, for $VAR lookup. */
#ifndef GX_ENV_H
#define GX_ENV_H

/* NULL-terminated; owned by the C runtime. Never NULL. */
const char *const *gx_environ(void);

#endif

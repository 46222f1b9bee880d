/* A stand-in for a mod_gramex_secrets from another build, for
 * test_secrets_abi.py (built there with apxs, never installed).
 * -DFAKE_ABI=N: answers gx_secrets_get with secrets ABI N and fields no
 * reader may trust (a reader that looked past the version would crash).
 * -DFAKE_UNVERSIONED: registers only the name builds before the versioned
 * interface used; calling it aborts, as calling such a build would crash. */
#include "httpd.h"
#include "http_config.h"
#include "apr_optional.h"
#include "gx_secrets_api.h"
#include <stdlib.h>

#ifdef FAKE_UNVERSIONED
static void *unversioned(void)
{
    abort();
}
#else
static const gx_secrets_result *gx_secrets_get(int abi_version, apr_pool_t *p, server_rec *s,
                                               const char *app_yaml)
{
    gx_secrets_result *r = apr_pcalloc(p, sizeof(*r));
    (void)abi_version; (void)s; (void)app_yaml;
    r->abi_version = FAKE_ABI;
    r->ok = 1;
    r->nvalues = 1 << 30;
    r->values = (const gx_secrets_value *)(apr_uintptr_t)1;
    r->nmessages = 1 << 30;
    r->messages = (const gx_secrets_message *)(apr_uintptr_t)1;
    return r;
}
#endif

static void register_hooks(apr_pool_t *p)
{
    (void)p;
#ifdef FAKE_UNVERSIONED
    apr_dynamic_fn_register(GX_SECRETS_FN_UNVERSIONED, (apr_opt_fn_t *)unversioned);
#else
    APR_REGISTER_OPTIONAL_FN(gx_secrets_get);
#endif
}

AP_DECLARE_MODULE(gramex_secrets) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, register_hooks, AP_MODULE_FLAG_NONE
};

/* gx_secrets_abi: see gx_secrets_abi.h */
#include "gx_secrets_abi.h"
#include <apr_strings.h>

/* deeper trees are refused when read (the YAML loader stops far earlier) */
#define MAX_DEPTH 1024

/* ---- writing ------------------------------------------------------------------ */

static int count_values(const gx_node *n)
{
    int i, c = 1;
    for (i = 0; n && (n->type == GX_MAP || n->type == GX_LIST) && i < n->n; i++)
        c += (n->type == GX_MAP ? count_values(n->keys[i]) : 0) + count_values(n->vals[i]);
    return c;
}

static int sv_type(gx_type t)
{
    switch (t) {
    case GX_BOOL: return GX_SV_BOOL;
    case GX_INT: return GX_SV_INT;
    case GX_FLOAT: return GX_SV_FLOAT;
    case GX_STR: return GX_SV_STR;
    case GX_DATE: return GX_SV_DATE;
    case GX_MAP: return GX_SV_MAP;
    case GX_LIST: return GX_SV_LIST;
    default: return GX_SV_NULL;
    }
}

static void put(gx_secrets_value *out, int *at, const gx_node *n)
{
    gx_secrets_value *v = &out[(*at)++];
    int i;
    if (!n) {
        v->type = GX_SV_NULL;
        return;
    }
    v->type = sv_type(n->type);
    if (n->type == GX_FLOAT)
        v->f = n->f;
    else if (n->type == GX_INT || n->type == GX_BOOL)
        v->i = n->i;
    v->file = n->file;
    v->line = n->line;
    if (n->type != GX_MAP && n->type != GX_LIST) {
        v->text = n->str;
        return;
    }
    v->count = n->n;
    for (i = 0; i < n->n; i++) {
        if (n->type == GX_MAP)
            put(out, at, n->keys[i]);
        put(out, at, n->vals[i]);
    }
}

gx_secrets_result *gx_secrets_export(apr_pool_t *p, const gx_node *vars, const gx_diags *d,
                                     const apr_array_header_t *never_serve)
{
    gx_secrets_result *r = apr_pcalloc(p, sizeof(*r));
    gx_secrets_message *m;
    int i, at = 0;
    r->abi_version = GX_SECRETS_ABI_VERSION;
    r->ok = vars && vars->type == GX_MAP && !d->errors;
    if (r->ok) {
        gx_secrets_value *v;
        r->nvalues = count_values(vars);
        r->values = v = apr_pcalloc(p, sizeof(*v) * r->nvalues);
        put(v, &at, vars);
    }
    r->nmessages = d->items->nelts;
    r->messages = m = apr_pcalloc(p, sizeof(*m) * (d->items->nelts + 1));
    for (i = 0; i < d->items->nelts; i++) {
        const gx_diag *it = &APR_ARRAY_IDX(d->items, i, gx_diag);
        m[i].level = it->level == GX_ERROR ? 2 : it->level == GX_WARN ? 1 : 0;
        m[i].file = it->file;
        m[i].line = it->line;
        m[i].msg = it->msg;
    }
    r->nnever_serve = never_serve ? never_serve->nelts : 0;
    r->never_serve = never_serve ? (const char *const *)never_serve->elts : NULL;
    return r;
}

/* ---- reading ------------------------------------------------------------------ */

static gx_type node_type(int t)
{
    switch (t) {
    case GX_SV_BOOL: return GX_BOOL;
    case GX_SV_INT: return GX_INT;
    case GX_SV_FLOAT: return GX_FLOAT;
    case GX_SV_STR: return GX_STR;
    case GX_SV_DATE: return GX_DATE;
    case GX_SV_MAP: return GX_MAP;
    case GX_SV_LIST: return GX_LIST;
    default: return GX_NULL;
    }
}

/* The node at values[*at] and its children, or NULL when the array is not
 * a well-formed tree (a count past the end, an unknown type, a scalar
 * without text, too deep). */
static gx_node *take(apr_pool_t *p, const gx_secrets_result *r, int *at, int depth)
{
    const gx_secrets_value *v;
    gx_node *n;
    int i;
    if (*at >= r->nvalues || depth > MAX_DEPTH)
        return NULL;
    v = &r->values[(*at)++];
    if (v->type < GX_SV_NULL || v->type > GX_SV_LIST || v->count < 0)
        return NULL;
    n = gx_node_new(p, node_type(v->type), v->file, v->line);
    if (n->type == GX_FLOAT)        /* i and f may share storage in gx_node */
        n->f = v->f;
    else if (n->type == GX_INT || n->type == GX_BOOL)
        n->i = v->i;
    if (n->type != GX_MAP && n->type != GX_LIST) {
        if (!v->text || v->count)
            return NULL;
        n->str = v->text;
        return n;
    }
    /* each pair or item takes at least one value (two for a pair) */
    if (v->count > (r->nvalues - *at) / (n->type == GX_MAP ? 2 : 1))
        return NULL;
    for (i = 0; i < v->count; i++) {
        gx_node *key = NULL, *val;
        if (n->type == GX_MAP && !(key = take(p, r, at, depth + 1)))
            return NULL;
        if (!(val = take(p, r, at, depth + 1)))
            return NULL;
        if (n->type == GX_MAP)
            gx_map_set_node(p, n, key, val);
        else
            gx_list_push(p, n, val);
    }
    return n;
}

static const char reinstall[] = "install mod_gramex and mod_gramex_secrets from the same "
                                "build (both .so files under the modules directory), then "
                                "restart Apache";

gx_node *gx_secrets_import(apr_pool_t *p, const gx_secrets_result *r, const char *app_yaml,
                           gx_diags *d, apr_array_header_t *never_serve)
{
    gx_node *vars;
    int i, at = 0, errors = d->errors;
    if (!r) {
        gx_diag_add(d, GX_ERROR, app_yaml, 0, "mod_gramex_secrets provides only the unversioned "
                    "interface of earlier builds (secrets ABI 0) and mod_gramex needs secrets "
                    "ABI %d, so this app's secrets cannot be read and the app is not loaded; %s",
                    GX_SECRETS_ABI_VERSION, reinstall);
        return NULL;
    }
    if (r->abi_version != GX_SECRETS_ABI_VERSION) {
        gx_diag_add(d, GX_ERROR, app_yaml, 0, "mod_gramex_secrets answers with secrets ABI %d and "
                    "mod_gramex reads secrets ABI %d, so this app's secrets cannot be read and "
                    "the app is not loaded; %s", r->abi_version, GX_SECRETS_ABI_VERSION,
                    reinstall);
        return NULL;
    }
    for (i = 0; r->never_serve && i < r->nnever_serve; i++)
        if (r->never_serve[i])
            APR_ARRAY_PUSH(never_serve, const char *) = apr_pstrdup(never_serve->pool,
                                                                     r->never_serve[i]);
    for (i = 0; r->messages && i < r->nmessages; i++) {
        const gx_secrets_message *m = &r->messages[i];
        gx_diag_add(d, m->level >= 2 ? GX_ERROR : m->level == 1 ? GX_WARN : GX_INFO, m->file,
                    m->line, "%s", m->msg ? m->msg : "(no message)");
    }
    if (!r->ok) {
        if (d->errors == errors)
            gx_diag_add(d, GX_ERROR, app_yaml, 0, "mod_gramex_secrets could not load this app's "
                        "secrets and gave no reason; see the error log above");
        return NULL;
    }
    vars = r->values && r->nvalues > 0 ? take(p, r, &at, 0) : NULL;
    if (!vars || vars->type != GX_MAP || at != r->nvalues) {
        gx_diag_add(d, GX_ERROR, app_yaml, 0, "mod_gramex_secrets gave secrets that are not a "
                    "well-formed mapping (secrets ABI %d), so the app is not loaded; %s",
                    GX_SECRETS_ABI_VERSION, reinstall);
        return NULL;
    }
    return vars;
}

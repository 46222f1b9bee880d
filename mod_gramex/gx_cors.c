/* gx_cors: see gx_cors.h */
#include "gx_cors.h"
#include "gx_pathrule.h"
#include <apr_cstr.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>

/* What Gramex answers for methods: "*" and headers: "*" */
static const char *const all_methods = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, CONNECT, TRACE";
static const char *const all_headers = "Accept, Cache-Control, Content-Type, If-None-Match, "
                                       "Origin, Pragma, Upgrade-Insecure-Requests, X-Requested-With";

static char *lower(apr_pool_t *p, const char *s)
{
    char *o = apr_pstrdup(p, s), *c;
    for (c = o; *c; c++)
        *c = apr_tolower(*c);
    return o;
}

static char *upper(apr_pool_t *p, const char *s)
{
    char *o = apr_pstrdup(p, s), *c;
    for (c = o; *c; c++)
        *c = apr_toupper(*c);
    return o;
}

/* list, or comma/space separated string; default "*" */
static apr_array_header_t *items(apr_pool_t *p, const gx_node *n, int up)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    int i, count = n && n->type == GX_LIST ? n->n : 1;
    if (!n || n->type == GX_NULL) {
        APR_ARRAY_PUSH(out, const char *) = "*";
        return out;
    }
    for (i = 0; i < count; i++) {
        const gx_node *v = n->type == GX_LIST ? n->vals[i] : n;
        char *s = apr_pstrdup(p, gx_scalar_text(p, v) ? gx_scalar_text(p, v) : ""), *tok, *last;
        for (tok = apr_strtok(s, ", ", &last); tok; tok = apr_strtok(NULL, ", ", &last))
            APR_ARRAY_PUSH(out, const char *) = up ? upper(p, tok) : lower(p, tok);
    }
    return out;
}

static int has_star(const apr_array_header_t *a)
{
    int i;
    for (i = 0; i < a->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(a, i, const char *), "*"))
            return 1;
    return 0;
}

gx_cors *gx_cors_parse(apr_pool_t *p, const gx_node *cors, const gx_node *auth)
{
    gx_cors *c;
    apr_array_header_t *origins;
    int i;
    if (!cors || !gx_truthy(cors))
        return NULL;
    c = apr_pcalloc(p, sizeof(*c));
    if (cors->type == GX_MAP) {
        origins = items(p, gx_map_get(cors, "origins"), 0);
        c->methods = items(p, gx_map_get(cors, "methods"), 1);
        c->headers = items(p, gx_map_get(cors, "headers"), 0);
        c->auth = gx_truthy(gx_map_get(cors, "auth"));
    }
    else {                      /* cors: true */
        origins = items(p, NULL, 0);
        c->methods = items(p, NULL, 1);
        c->headers = items(p, NULL, 0);
        c->auth = gx_truthy(auth);
    }
    c->origins = apr_array_make(p, origins->nelts, sizeof(const char *));
    for (i = 0; i < origins->nelts; i++) {
        const char *o = APR_ARRAY_IDX(origins, i, const char *);
        if (!strcmp(o, "*"))
            c->any_origin = 1;
        else
            APR_ARRAY_PUSH(c->origins, const char *) = o;
    }
    return c;
}

/* 1: listed explicitly, 2: only through "*", 0: not allowed */
static int origin_match(apr_pool_t *p, const gx_cors *c, const char *origin)
{
    const char *o = lower(p, origin);
    int i;
    for (i = 0; i < c->origins->nelts; i++)
        if (gx_fnmatch(APR_ARRAY_IDX(c->origins, i, const char *), o, 0))
            return 1;
    return c->any_origin ? 2 : 0;
}

void gx_cors_simple(apr_pool_t *p, const gx_cors *c, const char *origin, int has_cookie,
                    gx_cors_answer *a)
{
    int m;
    memset(a, 0, sizeof(*a));
    if (!c || !origin || !(m = origin_match(p, c, origin)))
        return;
    if (m == 2) {
        a->allow_origin = "*";      /* any origin: never with credentials */
        return;
    }
    a->allow_origin = origin;
    a->credentials = c->auth || has_cookie;
}

/* ", "-joined, skipping names already present (case-blind): Gramex answers a set */
static void add_names(apr_pool_t *p, apr_array_header_t *names, const char *list)
{
    char *copy = apr_pstrdup(p, list), *tok, *last;
    int j, dup;
    for (tok = apr_strtok(copy, ", ", &last); tok; tok = apr_strtok(NULL, ", ", &last)) {
        for (j = 0, dup = 0; j < names->nelts && !dup; j++)
            dup = !apr_cstr_casecmp(APR_ARRAY_IDX(names, j, const char *), tok);
        if (!dup)
            APR_ARRAY_PUSH(names, const char *) = tok;
    }
}

static const char *join(apr_pool_t *p, const apr_array_header_t *names)
{
    const char *out = "";
    int i;
    for (i = 0; i < names->nelts; i++)
        out = apr_pstrcat(p, out, i ? ", " : "", APR_ARRAY_IDX(names, i, const char *), NULL);
    return out;
}

void gx_cors_preflight(apr_pool_t *p, const gx_cors *c, const char *origin,
                       const char *method, const char *req_headers, gx_cors_answer *a)
{
    apr_array_header_t *names;
    int i, ok = 0;
    gx_cors_simple(p, c, origin, 0, a);
    if (!a->allow_origin) {
        a->refuse = 1;
        return;
    }
    /* no Access-Control-Request-Method: Gramex matches "" (so only "*" passes) */
    for (i = 0; i < c->methods->nelts && !ok; i++)
        ok = gx_fnmatch(APR_ARRAY_IDX(c->methods, i, const char *), upper(p, method ? method : ""), 0);
    if (!ok) {
        a->refuse = 1;
        return;
    }
    a->allow_methods = has_star(c->methods) ? all_methods : join(p, c->methods);
    if (req_headers && *req_headers && !has_star(c->headers)) {
        char *copy = apr_pstrdup(p, req_headers), *tok, *last;
        for (tok = apr_strtok(copy, ", ", &last); tok; tok = apr_strtok(NULL, ", ", &last)) {
            int j, found = 0;
            for (j = 0; j < c->headers->nelts && !found; j++)
                found = !apr_cstr_casecmp(APR_ARRAY_IDX(c->headers, j, const char *), tok);
            if (!found) {
                a->refuse = 1;
                return;
            }
        }
    }
    /* requested and allowed, as Gramex answers */
    names = apr_array_make(p, 8, sizeof(const char *));
    if (has_star(c->headers))
        add_names(p, names, all_headers);
    for (i = 0; i < c->headers->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(c->headers, i, const char *), "*"))
            add_names(p, names, APR_ARRAY_IDX(c->headers, i, const char *));
    if (req_headers)
        add_names(p, names, req_headers);
    a->allow_headers = join(p, names);
}

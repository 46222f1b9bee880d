/* gx_proxy: see gx_proxy.h */
#include "gx_proxy.h"
#include "gx_format.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>

static const char hexdigits[] = "0123456789ABCDEF";

/* 1 when a Python format string has a replacement field: it needs the
 * handler object ({handler.session[...]}) that only Gramex has. A lone
 * '}' also counts: str.format raises there, so Gramex is the one to answer. */
static int has_field(const char *s)
{
    for (; *s; s++) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}'))
            s++;
        else if (*s == '{' || *s == '}')
            return 1;
    }
    return 0;
}

/* "{{" -> "{", "}}" -> "}" (what str.format does to a template without fields) */
static const char *literal(apr_pool_t *p, const char *s)
{
    char *o, *d;
    if (!strchr(s, '{') && !strchr(s, '}'))
        return s;
    o = d = apr_pstrdup(p, s);
    for (; *s; s++) {
        *d++ = *s;
        if ((s[0] == '{' || s[0] == '}') && s[1] == s[0])
            s++;
    }
    *d = '\0';
    return o;
}

/* Python str() of a scalar, or NULL for a mapping */
static const char *text(apr_pool_t *p, const gx_node *v)
{
    if (!v)
        return "None";
    if (v->type == GX_MAP || v->type == GX_LIST)
        return NULL;
    return gx_scalar_text(p, v);
}

static void request_headers(apr_pool_t *p, gx_proxy_conf *c, const gx_node *rh)
{
    int i;
    if (!rh || rh->type != GX_MAP)
        return;
    for (i = 0; i < rh->n; i++) {
        const gx_node *k = rh->keys[i], *v = rh->vals[i];
        const char *name = text(p, k), *value;
        if (!name)
            continue;
        if (!strcmp(name, "*")) {
            c->pass_all = gx_truthy(v);
            continue;
        }
        if (v && v->type == GX_BOOL && v->i) {
            APR_ARRAY_PUSH(c->pass, const char *) = name;
            continue;
        }
        value = text(p, v);
        if (!value || has_field(value)) {
            c->needs_gramex = apr_psprintf(p, "request_headers.%s is formatted with the handler",
                                           name);
            continue;
        }
        {
            gx_proxy_header *h = apr_array_push(c->set);
            h->name = name;
            h->value = literal(p, value);
        }
    }
}

static gx_query_param *param(apr_array_header_t *params, apr_pool_t *p, const char *name)
{
    gx_query_param *q;
    int i;
    for (i = 0; i < params->nelts; i++) {
        q = &APR_ARRAY_IDX(params, i, gx_query_param);
        if (!strcmp(q->name, name))
            return q;
    }
    q = apr_array_push(params);
    q->name = name;
    q->values = apr_array_make(p, 1, sizeof(const char *));
    return q;
}

static void defaults(apr_pool_t *p, gx_proxy_conf *c, const gx_node *def)
{
    int i, j;
    if (!def || def->type != GX_MAP)
        return;
    for (i = 0; i < def->n; i++) {
        const gx_node *v = def->vals[i];
        const char *name = text(p, def->keys[i]);
        gx_query_param *q;
        int n = v && v->type == GX_LIST ? v->n : 1;
        if (!name)
            continue;
        q = param(c->defaults, p, name);
        for (j = 0; j < n; j++) {
            const char *s = text(p, v && v->type == GX_LIST ? v->vals[j] : v);
            if (!s || has_field(s)) {
                c->needs_gramex = apr_psprintf(p, "default.%s is formatted with the handler",
                                               name);
                break;
            }
            APR_ARRAY_PUSH(q->values, const char *) = literal(p, s);
        }
    }
}

gx_proxy_conf *gx_proxy_conf_make(apr_pool_t *p, const gx_node *kwargs)
{
    gx_proxy_conf *c = apr_pcalloc(p, sizeof(*c));
    c->pass = apr_array_make(p, 2, sizeof(const char *));
    c->set = apr_array_make(p, 2, sizeof(gx_proxy_header));
    c->defaults = apr_array_make(p, 2, sizeof(gx_query_param));
    request_headers(p, c, gx_map_get(kwargs, "request_headers"));
    defaults(p, c, gx_map_get(kwargs, "default"));
    if (gx_truthy(gx_map_get(kwargs, "prepare")))
        c->needs_gramex = "prepare: runs Python on the request";
    else if (gx_truthy(gx_map_get(kwargs, "modify")))
        c->needs_gramex = "modify: runs Python on the response";
    c->ws_in_gramex = gx_truthy(gx_map_get(kwargs, "open"))
                      || gx_truthy(gx_map_get(kwargs, "on_message"))
                      || gx_truthy(gx_map_get(kwargs, "on_close"));
    return c;
}

char *gx_proxy_escape(apr_pool_t *p, const char *decoded)
{
    static const char keep[] = "-._~/:@!$'()*,;";
    apr_size_t n = strlen(decoded);
    char *o = apr_palloc(p, 3 * n + 1), *d = o;
    const unsigned char *s;
    for (s = (const unsigned char *)decoded; *s; s++) {
        if (apr_isalnum(*s) || strchr(keep, *s))
            *d++ = (char)*s;
        else {
            *d++ = '%';
            *d++ = hexdigits[*s >> 4];
            *d++ = hexdigits[*s & 15];
        }
    }
    *d = '\0';
    return o;
}

char *gx_proxy_target(apr_pool_t *p, const char *tmpl, const char *const *decoded, int n)
{
    const char **args = apr_palloc(p, (n ? n : 1) * sizeof(*args));
    int i;
    for (i = 0; i < n; i++)
        args[i] = gx_proxy_escape(p, decoded[i] ? decoded[i] : "");
    return gx_format(p, tmpl, args, n, NULL, NULL);
}

/* application/x-www-form-urlencoded decoding: '+' is a space */
static char *form_decode(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *o = apr_palloc(p, len + 1), *d = o;
    apr_size_t i;
    for (i = 0; i < len; i++) {
        if (s[i] == '+')
            *d++ = ' ';
        else if (s[i] == '%' && i + 2 < len && apr_isxdigit(s[i + 1]) && apr_isxdigit(s[i + 2])) {
            char h[3] = {s[i + 1], s[i + 2], 0};
            *d++ = (char)strtol(h, NULL, 16);
            i += 2;
        }
        else
            *d++ = s[i];
    }
    *d = '\0';
    return o;
}

/* quote_plus: letters, digits and "_.-~" kept, space as '+' */
static void form_encode(apr_array_header_t *out, const char *s)
{
    const unsigned char *c;
    for (c = (const unsigned char *)s; *c; c++) {
        if (apr_isalnum(*c) || strchr("_.-~", *c))
            *(char *)apr_array_push(out) = (char)*c;
        else if (*c == ' ')
            *(char *)apr_array_push(out) = '+';
        else {
            *(char *)apr_array_push(out) = '%';
            *(char *)apr_array_push(out) = hexdigits[*c >> 4];
            *(char *)apr_array_push(out) = hexdigits[*c & 15];
        }
    }
}

/* parse_qs into a fresh list of params (names in first-seen order) */
static apr_array_header_t *parse_qs(apr_pool_t *p, const char *q, int keep_blank)
{
    apr_array_header_t *params = apr_array_make(p, 4, sizeof(gx_query_param));
    while (q && *q) {
        apr_size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        if (len && (eq || keep_blank)) {
            apr_size_t nl = eq ? (apr_size_t)(eq - q) : len;
            const char *value = eq ? form_decode(p, eq + 1, len - nl - 1) : "";
            if (*value || keep_blank) {
                gx_query_param *qp = param(params, p, form_decode(p, q, nl));
                APR_ARRAY_PUSH(qp->values, const char *) = value;
            }
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return params;
}

/* dict.update: replace a name's values in place, or append it */
static void update(apr_pool_t *p, apr_array_header_t *into, const apr_array_header_t *from)
{
    int i;
    for (i = 0; i < from->nelts; i++) {
        const gx_query_param *f = &APR_ARRAY_IDX(from, i, gx_query_param);
        param(into, p, f->name)->values = f->values;
    }
}

char *gx_proxy_query(apr_pool_t *p, const gx_proxy_conf *c, const char *target_query,
                     const char *request_query)
{
    apr_array_header_t *params = apr_array_make(p, 4, sizeof(gx_query_param));
    apr_array_header_t *out = apr_array_make(p, 64, 1);
    int i, j;
    if (c)
        update(p, params, c->defaults);
    update(p, params, parse_qs(p, target_query, 0));
    update(p, params, parse_qs(p, request_query, 1));
    for (i = 0; i < params->nelts; i++) {
        const gx_query_param *q = &APR_ARRAY_IDX(params, i, gx_query_param);
        for (j = 0; j < q->values->nelts; j++) {
            if (out->nelts)
                *(char *)apr_array_push(out) = '&';
            form_encode(out, q->name);
            *(char *)apr_array_push(out) = '=';
            form_encode(out, APR_ARRAY_IDX(q->values, j, const char *));
        }
    }
    return apr_pstrmemdup(p, out->elts, out->nelts);
}

int gx_proxy_forwards(const gx_proxy_conf *c, const char *name)
{
    int i;
    if (strcasecmp(name, "Cookie") && strcasecmp(name, "Authorization")
        && strcasecmp(name, "Proxy-Authorization"))
        return 1;
    if (c && c->pass_all)
        return 1;
    for (i = 0; c && i < c->pass->nelts; i++)
        if (!strcasecmp(APR_ARRAY_IDX(c->pass, i, const char *), name))
            return 1;
    return 0;
}

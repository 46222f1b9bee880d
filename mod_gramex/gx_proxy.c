/* gx_proxy: see gx_proxy.h */
#include "gx_proxy.h"
#include "gx_format.h"
#include "gx_percent.h"
#include <apr_cstr.h>
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

/* RFC 7230 tchar */
static int is_tchar(unsigned char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

const char *gx_proxy_header_name_problem(const char *name)
{
    static const char *const owned[] = {"Host", "Content-Length", "Transfer-Encoding",
                                        "Connection", "Upgrade", "TE", "Keep-Alive", NULL};
    const unsigned char *c = (const unsigned char *)name;
    int i;
    if (!*c)
        return "is empty; write a header name such as X-Api-Key";
    for (; *c; c++)
        if (!is_tchar(*c))
            return "is not a header name (letters, digits and !#$%&'*+-.^_`|~ only); "
                   "write a header name such as X-Api-Key";
    for (i = 0; owned[i]; i++)
        if (!apr_cstr_casecmp(name, owned[i]))
            return "is set by mod_proxy for the message it sends (a value here could split "
                   "or smuggle requests); remove it";
    if (!apr_cstr_casecmpn(name, "Proxy-", 6))
        return "is for this proxy hop, not the target; remove it (a credential for the "
               "target goes in Authorization)";
    return NULL;
}

const char *gx_proxy_header_value_problem(const char *value)
{
    const unsigned char *c;
    for (c = (const unsigned char *)value; *c; c++)
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
            return "has a control character (CR, LF or another byte below 0x20): it could "
                   "start another header or request; write the value on one line";
    return NULL;
}

const char *gx_printable(apr_pool_t *p, const char *s)
{
    apr_array_header_t *o = apr_array_make(p, 64, 1);
    const unsigned char *c;
    for (c = (const unsigned char *)s; *c; c++) {
        const char *esc = NULL;
        char hex[5];
        if (*c == '\r') esc = "\\r";
        else if (*c == '\n') esc = "\\n";
        else if (*c == '\t') esc = "\\t";
        else if (*c == '"') esc = "\\\"";
        else if (*c == '\\') esc = "\\\\";
        else if (*c < 0x20 || *c == 0x7f) {
            apr_snprintf(hex, sizeof(hex), "\\x%02X", *c);
            esc = hex;
        }
        if (esc)
            while (*esc)
                *(char *)apr_array_push(o) = *esc++;
        else
            *(char *)apr_array_push(o) = (char)*c;
    }
    return apr_pstrmemdup(p, o->elts, o->nelts);
}

/* request_headers: each name and value checked, so nothing in gramex.yaml
 * can add a header line or reframe the request (issue 8). */
static int request_headers(apr_pool_t *p, gx_proxy_conf *c, const gx_node *rh,
                           const char *url, gx_diags *d)
{
    int i, ok = 1;
    if (!rh || rh->type != GX_MAP)
        return 1;
    for (i = 0; i < rh->n; i++) {
        const gx_node *k = rh->keys[i], *v = rh->vals[i];
        const char *name = text(p, k), *value, *why;
        if (!name)
            continue;
        if (!strcmp(name, "*")) {
            c->pass_all = gx_truthy(v);
            continue;
        }
        if ((why = gx_proxy_header_name_problem(name))) {
            if (d)
                gx_diag_add(d, GX_ERROR, k->file, k->line, "url %s: request_headers name "
                            "\"%s\" %s", url, gx_printable(p, name), why);
            ok = 0;
            continue;
        }
        if (v && v->type == GX_BOOL && v->i) {
            APR_ARRAY_PUSH(c->pass, const char *) = name;
            continue;
        }
        value = text(p, v);
        if (value && (why = gx_proxy_header_value_problem(value))) {
            if (d)
                gx_diag_add(d, GX_ERROR, v->file, v->line, "url %s: request_headers.%s "
                            "\"%s\" %s", url, name, gx_printable(p, value), why);
            ok = 0;
            continue;
        }
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
    return ok;
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

gx_proxy_conf *gx_proxy_conf_make(apr_pool_t *p, const gx_node *kwargs, const char *name,
                                  gx_diags *d)
{
    gx_proxy_conf *c = apr_pcalloc(p, sizeof(*c));
    c->pass = apr_array_make(p, 2, sizeof(const char *));
    c->set = apr_array_make(p, 2, sizeof(gx_proxy_header));
    c->defaults = apr_array_make(p, 2, sizeof(gx_query_param));
    if (!request_headers(p, c, gx_map_get(kwargs, "request_headers"), name, d))
        return NULL;
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
            const char *value = eq ? gx_percent_decode(p, eq + 1, len - nl - 1, GX_DECODE_PLUS)
                                   : "";
            if (*value || keep_blank) {
                gx_query_param *qp = param(params, p, gx_percent_decode(p, q, nl, GX_DECODE_PLUS));
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
    if (apr_cstr_casecmp(name, "Cookie") && apr_cstr_casecmp(name, "Authorization")
        && apr_cstr_casecmp(name, "Proxy-Authorization"))
        return 1;
    if (c && c->pass_all)
        return 1;
    for (i = 0; c && i < c->pass->nelts; i++)
        if (!apr_cstr_casecmp(APR_ARRAY_IDX(c->pass, i, const char *), name))
            return 1;
    return 0;
}

/* ---- URLs written into httpd config and request lines ---------------------- */

/* RFC 3986 dec-octet "." dec-octet "." dec-octet "." dec-octet */
static int ipv4_ok(const char *s, apr_size_t n)
{
    apr_size_t i = 0;
    int part;
    for (part = 0; part < 4; part++) {
        apr_size_t start = i;
        int v = 0;
        while (i < n && apr_isdigit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return 0;
        if (part < 3 && (i >= n || s[i++] != '.'))
            return 0;
    }
    return i == n;
}

/* RFC 3986 IPv6address (no zone id, no IPvFuture) */
static int ipv6_ok(const char *s, apr_size_t n)
{
    apr_size_t i = 0;
    int groups = 0, gap = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 1;
        i = 2;
    }
    while (i < n) {
        apr_size_t j = i;
        while (j < n && apr_isxdigit(s[j]) && j - i < 5)
            j++;
        if (j < n && s[j] == '.') {         /* a trailing IPv4 is two groups */
            if (!ipv4_ok(s + i, n - i))
                return 0;
            groups += 2;
            break;
        }
        if (j == i || j - i > 4)
            return 0;
        groups++;
        if (j == n)
            break;
        if (s[j] != ':')
            return 0;
        if (j + 1 < n && s[j + 1] == ':') {
            if (gap)
                return 0;
            gap = 1;
            i = j + 2;
        }
        else if (j + 1 == n)
            return 0;
        else
            i = j + 1;
    }
    return gap ? groups <= 7 : groups == 8;
}

/* RFC 3986 reg-name without pct-encoded: unreserved / sub-delims */
static int regname_ok(const char *s, apr_size_t n)
{
    apr_size_t i;
    if (!n)
        return 0;
    for (i = 0; i < n; i++)
        if (!apr_isalnum(s[i]) && !strchr("-._~!$&'()*+,;=", s[i]))
            return 0;
    return 1;
}

/* path and query: pchar / "/" / "?" with valid %XX; '{' '}' in templates;
 * '[' ']' in the query (a[]=1), which is re-encoded before it is sent */
static const char *rest_problem(apr_pool_t *p, const char *s, int flags)
{
    int in_query = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '?')
            in_query = 1;
        if (apr_isalnum(c) || strchr("-._~!$&'()*+,;=:@/?", c))
            continue;
        if ((flags & GX_URL_TEMPLATE) && (c == '{' || c == '}'))
            continue;
        if (in_query && (c == '[' || c == ']'))
            continue;
        if (c == '%') {
            if (apr_isxdigit(s[1]) && apr_isxdigit(s[2])) {
                s += 2;
                continue;
            }
            return "has a '%' that is not a %XX escape; write % as %25";
        }
        if (c == '#')
            return "has a #fragment, which is never sent to a server; remove it";
        if (c < 0x20 || c == 0x7f)
            return "has a control character (CR, LF, ...) in its path or query; "
                   "percent-encode it (%0D, %0A)";
        if (c == ' ')
            return "has a space in its path or query; write it as %20";
        if (c >= 0x80)
            return "has a non-ASCII character in its path or query; percent-encode its "
                   "UTF-8 bytes (%C3%A9 for \\u00e9)";
        return apr_psprintf(p, "has '%c' in its path or query, which a URL cannot hold as it "
                            "is; write it as %%%02X", c, c);
    }
    return NULL;
}

static const char *scheme_problem(int flags)
{
    return flags & GX_URL_HTTP_ONLY ? "is not an http:// or https:// URL"
                                    : "is not an http://, https://, ws:// or wss:// URL";
}

const char *gx_url_parse(apr_pool_t *p, const char *url, int flags, gx_url *out)
{
    static const char *const schemes[] = {"http", "https", "ws", "wss", NULL};
    const char *sep = strstr(url, "://"), *auth, *end, *host_end, *why;
    gx_url u = {0};
    apr_size_t hl;
    int i;

    for (i = 0; sep && schemes[i]; i++)
        if ((apr_size_t)(sep - url) == strlen(schemes[i])
            && !apr_cstr_casecmpn(url, schemes[i], sep - url))
            u.scheme = schemes[i];
    if (!u.scheme || ((flags & GX_URL_HTTP_ONLY) && u.scheme[0] == 'w'))
        return scheme_problem(flags);
    auth = sep + 3;
    end = auth + strcspn(auth, "/?#");
    if (end == auth)
        return apr_pstrcat(p, scheme_problem(flags), " with a host", NULL);
    if (memchr(auth, '@', end - auth))
        return "has user:password@ in it, which Apache does not send; remove it and send the "
               "credential with request_headers: {Authorization: ...}";
    if (memchr(auth, '{', end - auth) || memchr(auth, '}', end - auth))
        return "has a {field} in its host: a request could pick the server; write the host "
               "itself";
    if (*auth == '[') {
        host_end = memchr(auth, ']', end - auth);
        if (!host_end || !ipv6_ok(auth + 1, host_end - auth - 1))
            return "has a host in [ ] that is not an IPv6 address; write e.g. [::1]";
        host_end++;
    }
    else {
        host_end = memchr(auth, ':', end - auth);
        if (!host_end)
            host_end = end;
        hl = host_end - auth;
        if (!regname_ok(auth, hl))
            return "has a host that is not a name or an IP address (letters, digits, "
                   "'-' and '.'; no spaces, quotes, %XX or control characters); write e.g. "
                   "http://127.0.0.1:8000/";
    }
    u.host = apr_pstrmemdup(p, auth, host_end - auth);
    if (host_end < end) {
        const char *d;
        apr_int64_t port = 0;
        if (*host_end != ':')
            return "has text after its host; write scheme://host:port/path";
        for (d = host_end + 1; d < end; d++) {
            if (!apr_isdigit(*d) || d - host_end > 5)
                return "has a port that is not a number from 1 to 65535";
            port = port * 10 + (*d - '0');
        }
        if (port < 1 || port > 65535)
            return "has a port that is not a number from 1 to 65535";
        u.port = apr_pstrmemdup(p, host_end + 1, end - host_end - 1);
    }
    if ((why = rest_problem(p, end, flags)))
        return why;
    u.rest = end;
    if (out)
        *out = u;
    return NULL;
}

const char *gx_url_origin(apr_pool_t *p, const gx_url *u)
{
    return apr_pstrcat(p, u->scheme, "://", u->host, u->port ? ":" : "", u->port ? u->port : "",
                       NULL);
}

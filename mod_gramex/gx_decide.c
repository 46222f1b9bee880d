/* gx_decide: see gx_decide.h. */
#include "gx_decide.h"
#include "gx_canon.h"
#include "gx_filemap.h"
#include "gx_pattern.h"
#include "gx_format.h"
#include "gx_json.h"
#include "gx_percent.h"
#include <apr_strings.h>
#include <apr_cstr.h>
#include <apr_lib.h>
#include <stdlib.h>

/* Tornado's own answers (tornado/websocket.py), sent as it sends them. */
#define GX_WS_ONLY_TEXT "Can \"Upgrade\" only to \"WebSocket\"."
#define GX_TORNADO_TYPE "text/html; charset=UTF-8"
#define GX_XSRF_MISSING "'_xsrf' argument missing from POST"

/* Python's repr of a list of method names: ['GET', 'POST'] */
static const char *py_list(apr_pool_t *p, const apr_array_header_t *a)
{
    const char *out = "[";
    int i;
    for (i = 0; a && i < a->nelts; i++)
        out = apr_pstrcat(p, out, i ? ", '" : "'", APR_ARRAY_IDX(a, i, const char *), "'", NULL);
    return apr_pstrcat(p, out, "]", NULL);
}

static void refuse(gx_decision *d, int status, const char *reason)
{
    d->action = GX_DO_REFUSE;
    d->status = status;
    d->reason = reason;
}

/* Tornado's send_error for an HTTPError raised before the handler runs:
 * with app.settings.serve_traceback the traceback as text/plain, of which
 * we send the last line (the error, not the lines naming Gramex's files);
 * without it Tornado's one-line HTML page. `log`: the error's message. */
static void tornado_error(apr_pool_t *p, const gx_app *app, gx_decision *d, const char *phrase,
                          const char *log)
{
    d->error_page_first = 1;
    d->before_cors = 1;
    if (!app->serve_traceback) {
        d->body = apr_psprintf(p, "<html><title>%d: %s</title><body>%d: %s</body></html>",
                               d->status, phrase, d->status, phrase);
        d->body_type = GX_TORNADO_TYPE;
        return;
    }
    d->body = log ? apr_psprintf(p, "tornado.web.HTTPError: HTTP %d: %s (%s)\n", d->status,
                                 phrase, log)
                  : apr_psprintf(p, "tornado.web.HTTPError: HTTP %d: %s\n", d->status, phrase);
    d->body_type = "text/plain";
}

/* Tornado's RequestHandler.SUPPORTED_METHODS: others are refused first */
static int tornado_method(const char *m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "DELETE", "PATCH", "PUT",
                                        "OPTIONS", NULL};
    int i;
    for (i = 0; known[i]; i++)
        if (strcmp(known[i], m) == 0)
            return 1;
    return 0;
}

/* Python's str.strip() of an ASCII value; NULL stays NULL */
static const char *strip(apr_pool_t *p, const char *s)
{
    apr_size_t n;
    if (!s)
        return NULL;
    while (*s && strchr(" \t\r\n\f\v", *s))
        s++;
    for (n = strlen(s); n && strchr(" \t\r\n\f\v", s[n - 1]); n--)
        ;
    return apr_pstrmemdup(p, s, n);
}

/* Is s only printable ASCII? Where it is not, Tornado's decoding (UTF-8,
 * control characters made spaces) is not worth copying: we do not decide. */
static int plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* The last ?_xsrf= value, stripped, as Tornado's get_argument takes it ('&'
 * only separates; a name without '=' has an empty value); NULL without one. */
static const char *query_xsrf(apr_pool_t *p, const char *query)
{
    const char *last = NULL;
    while (query && *query) {
        apr_size_t len = strcspn(query, "&");
        const char *eq = memchr(query, '=', len);
        apr_size_t klen = eq ? (apr_size_t)(eq - query) : len;
        const char *key = gx_percent_decode(p, query, klen, GX_DECODE_PLUS);
        if (key && strcmp(key, "_xsrf") == 0)
            last = eq ? gx_percent_decode(p, eq + 1, len - klen - 1, GX_DECODE_PLUS) : "";
        query += len;
        if (*query)
            query++;
    }
    return strip(p, last);
}

/* The last _xsrf cookie as Tornado's parse_cookie reads the Cookie header
 * (';' separates, names and values stripped); NULL without one. */
static const char *cookie_xsrf(apr_pool_t *p, const char *cookie)
{
    const char *last = NULL;
    while (cookie && *cookie) {
        apr_size_t len = strcspn(cookie, ";");
        const char *eq = memchr(cookie, '=', len);
        if (eq && !strcmp(strip(p, apr_pstrmemdup(p, cookie, (apr_size_t)(eq - cookie))), "_xsrf"))
            last = strip(p, apr_pstrmemdup(p, eq + 1, len - (apr_size_t)(eq - cookie) - 1));
        cookie += len + (cookie[len] != '\0');
    }
    return last;
}

/* binascii.a2b_hex: NULL unless an even number of hex digits */
static unsigned char *unhex(apr_pool_t *p, const char *s, apr_size_t len, apr_size_t *out_len)
{
    unsigned char *out = apr_palloc(p, len / 2 + 1);
    apr_size_t i;
    if (len % 2)
        return NULL;
    for (i = 0; i < len; i++)
        if (!apr_isxdigit(s[i]))
            return NULL;
    for (i = 0; i < len; i += 2) {
        char pair[3] = {s[i], s[i + 1], '\0'};
        out[i / 2] = (unsigned char)strtol(pair, NULL, 16);
    }
    *out_len = len / 2;
    return out;
}

typedef enum { TOKEN_OK, TOKEN_NONE, TOKEN_UNSURE } token_status;

/* Tornado's _decode_xsrf_token: "2|mask|masked token|timestamp" in hex, or
 * a bare token (hex, else its bytes). TOKEN_NONE where Tornado's decoding
 * fails; TOKEN_UNSURE where Python would be too subtle to copy. */
static token_status decode_token(apr_pool_t *p, const char *s, const unsigned char **tok,
                                 apr_size_t *len)
{
    apr_size_t n = strspn(s, "0123456789"), mlen, tlen, i;
    const char *part[4];
    const unsigned char *mask;
    unsigned char *t;
    if (!plain(s))
        return TOKEN_UNSURE;
    if (s[0] < '1' || s[0] > '9' || s[n] != '|') {
        if (!(*tok = unhex(p, s, strlen(s), len))) {
            *tok = (const unsigned char *)s;
            *len = strlen(s);
        }
        return TOKEN_OK;
    }
    if (n != 1 || s[0] != '2')
        return TOKEN_NONE;                  /* an unknown version */
    part[0] = s;
    for (i = 1; i < 4; i++)
        if (!(part[i] = strchr(part[i - 1], '|')) || !*++part[i])
            return TOKEN_NONE;              /* fewer than four parts, or no timestamp */
    if (strchr(part[3], '|'))
        return TOKEN_NONE;                  /* not four parts */
    if (part[3][strspn(part[3], "0123456789")])
        return TOKEN_UNSURE;                /* int() takes more than digits */
    mask = unhex(p, part[1], (apr_size_t)(part[2] - part[1] - 1), &mlen);
    t = unhex(p, part[2], (apr_size_t)(part[3] - part[2] - 1), &tlen);
    if (!mask || !t)
        return TOKEN_NONE;
    if (mlen != 4)
        return TOKEN_UNSURE;                /* speedups and pure Python differ */
    for (i = 0; i < tlen; i++)
        t[i] ^= mask[i % 4];
    *tok = t;
    *len = tlen;
    return TOKEN_OK;
}

/* Tornado's check_xsrf_cookie after the token is found: compare it with
 * the _xsrf cookie's. NULL where it passes or we cannot tell. */
static const char *token_refusal(apr_pool_t *p, const char *token, const char *cookie)
{
    const unsigned char *got, *want = NULL;
    apr_size_t glen = 0, wlen = 0;
    token_status ts = decode_token(p, token, &got, &glen), cs = TOKEN_NONE;
    apr_size_t clen = cookie ? strlen(cookie) : 0;
    if (clen >= 2 && cookie[0] == '"' && cookie[clen - 1] == '"')
        return NULL;                        /* Python unquotes it */
    if (clen)
        cs = decode_token(p, cookie, &want, &wlen);
    if (ts == TOKEN_UNSURE || cs == TOKEN_UNSURE)
        return NULL;
    if (ts == TOKEN_NONE || !glen)
        return "'_xsrf' argument has invalid format";
    /* no cookie: Tornado compares with a fresh random token */
    if (cs == TOKEN_NONE || glen != wlen || memcmp(got, want, glen) != 0)
        return "XSRF cookie does not match POST argument";
    return NULL;
}

/* Why Gramex's XSRF check (spec e.6), which runs before the url's methods:
 * check and the handler, refuses this request: Tornado's message, or NULL
 * where it passes or where we cannot tell without the body (a form body
 * may carry _xsrf) or the request is too odd to copy Python's reading. */
static const char *xsrf_refusal(apr_pool_t *p, const gx_route *rt, const gx_request_in *in)
{
    const char *ct = in->content_type, *token;
    int ajax = (in->requested_with && !apr_cstr_casecmp(in->requested_with, "xmlhttprequest"))
               || (in->fetch_mode && !apr_cstr_casecmp(in->fetch_mode, "cors"));
    if (rt->xsrf == GX_XSRF_OFF || !tornado_method(in->method) || !strcmp(in->method, "GET")
        || !strcmp(in->method, "HEAD") || !strcmp(in->method, "OPTIONS")
        || (rt->xsrf == GX_XSRF_GRAMEX && ajax))
        return NULL;
    /* Tornado parses these bodies (case-sensitive prefixes) */
    if (ct && (!strncmp(ct, "application/x-www-form-urlencoded", 33)
               || !strncmp(ct, "multipart/form-data", 19)))
        return NULL;
    token = query_xsrf(p, in->query);
    if (!token || !*token)
        token = in->xsrf_token && *in->xsrf_token ? in->xsrf_token : in->csrf_token;
    if (!token || !*token)
        return GX_XSRF_MISSING;
    return token_refusal(p, token, cookie_xsrf(p, in->cookie));
}

/* 403 or 405 for a method the url or its handler does not take: Tornado
 * refuses methods it does not know first, then checks XSRF, then Gramex
 * its methods: (naming them), or the handler lacks the method. */
static void refuse_method(apr_pool_t *p, const gx_app *app, const gx_route *rt,
                          const gx_request_in *in, const char *why, int named, gx_decision *d)
{
    const char *xsrf = xsrf_refusal(p, rt, in);
    if (xsrf) {
        refuse(d, 403, apr_pstrcat(p, "XSRF check (before the method): ", xsrf, NULL));
        d->before_cors = 1;
        d->error_page_first = 1;
        /* a Gramex handler sends its own 403 page (a template: not ours) */
        if (rt->xsrf == GX_XSRF_TORNADO)
            tornado_error(p, app, d, "Forbidden", xsrf);
        return;
    }
    refuse(d, 405, why);
    d->allow = rt->methods;
    tornado_error(p, app, d, "Method Not Allowed",
                  named && tornado_method(in->method)
                      ? apr_psprintf(p, "%s: method %s not in allowed methods %s", rt->name,
                                     in->method, py_list(p, rt->methods))
                      : NULL);
}

static int method_allowed(apr_pool_t *p, const gx_app *app, const gx_route *rt,
                          const gx_request_in *in, gx_decision *d)
{
    int i;
    if (!rt->methods)
        return 1;
    for (i = 0; i < rt->methods->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(rt->methods, i, const char *), in->method) == 0)
            return 1;
    /* RedirectHandler lacks the method whatever methods: says */
    refuse_method(p, app, rt, in, apr_psprintf(p, "method %s not in the url's methods", in->method),
                  rt->kind != GX_KIND_REDIRECT, d);
    return 0;
}

/* Group i (1-based) percent-decoded; "None" when it did not take part
 * (Python formats an unmatched group so). NULL on a bad escape or UTF-8. */
static const char *capture(apr_pool_t *p, const char *path, const gx_match *m, int i,
                           const char *unset)
{
    apr_size_t s = m->ovector[2 * i], e = m->ovector[2 * i + 1];
    if (i > m->ngroups || s == (apr_size_t)-1)
        return unset;
    return gx_capture_decode(p, path + s, e - s);
}

static void redirect(apr_pool_t *p, const gx_app *app, const gx_route *rt,
                     const gx_request_in *in, const gx_match *m, gx_decision *d)
{
    const char *args[GX_MAX_CAPTURES];
    int i, n = m->ngroups < GX_MAX_CAPTURES ? m->ngroups : GX_MAX_CAPTURES;
    char *target;
    /* Tornado's RedirectHandler has get() only: HEAD too is 405 in Gramex */
    if (strcmp(in->method, "GET") != 0) {
        refuse_method(p, app, rt, in, "RedirectHandler answers GET only", 0, d);
        return;
    }
    for (i = 0; i < n; i++)
        if (!(args[i] = capture(p, d->path, m, i + 1, "None"))) {
            refuse(d, 400, "capture is not valid UTF-8");
            return;
        }
    target = gx_format(p, rt->target, args, n, NULL, NULL);
    if (!target) {
        refuse(d, 500, apr_psprintf(p, "redirect url '%s' is not a valid template", rt->target));
        return;
    }
    if (in->query && *in->query)
        target = apr_pstrcat(p, target, strchr(target, '?') ? "&" : "?", in->query, NULL);
    d->action = GX_DO_REDIRECT;
    d->status = rt->permanent ? 301 : 302;
    d->location = target;
}

/* ProxyHandler's url with the captured groups re-encoded (Gramex inserts
 * them decoded, so /p/a%20b reached the backend as "GET /a b": spec g.1
 * [W]) and the query merged as Gramex merges it. */
static void proxy(apr_pool_t *p, const gx_route *rt, const gx_request_in *in, const gx_match *m,
                  gx_decision *d)
{
    const char *args[GX_MAX_CAPTURES];
    int i, n = m->ngroups < GX_MAX_CAPTURES ? m->ngroups : GX_MAX_CAPTURES;
    char *url, *q;
    for (i = 0; i < n; i++)
        if (!(args[i] = capture(p, d->path, m, i + 1, ""))) {
            refuse(d, 400, "capture is not valid UTF-8");
            return;
        }
    url = gx_proxy_target(p, rt->target, args, n);
    if (!url) {
        refuse(d, 500, apr_psprintf(p, "ProxyHandler url '%s' is not a valid template",
                                    rt->target));
        return;
    }
    if ((q = strchr(url, '?')))
        *q++ = '\0';
    d->action = GX_DO_PROXY;
    d->url = url;
    d->query = gx_proxy_query(p, rt->proxy, q, in->query);
    d->proxy_prefix = apr_pstrmemdup(p, d->path, m->ngroups >= 1 && m->ovector[2] != (apr_size_t)-1
                                                 ? m->ovector[2] : strlen(d->path));
}

/* Gramex runs it: the path we matched (dot segments resolved), so Gramex
 * routes the request the way we did. */
static void upstream(apr_pool_t *p, const gx_request_in *in, const char *why, gx_decision *d)
{
    d->reason = why;
    if (!in->upstream) {
        d->action = GX_DO_UNAVAILABLE;
        return;
    }
    d->action = GX_DO_UPSTREAM;
    d->url = apr_pstrcat(p, in->upstream, d->path, NULL);
    d->query = in->query;
}

static void decide_route(apr_pool_t *p, const gx_app *app, const gx_request_in *in,
                         const gx_match *m, gx_decision *d)
{
    const gx_route *rt = d->route;
    const gx_proxy_conf *pc = rt->proxy;
    if (!method_allowed(p, app, rt, in, d))
        return;
    switch (rt->kind) {
    case GX_KIND_FILE:
        if (gx_filemap(p, app, rt, m, in->query, d))
            upstream(p, in, "the file needs a Gramex transform (template, sass, ts, markdown)", d);
        return;
    case GX_KIND_REDIRECT:
        redirect(p, app, rt, in, m, d);
        return;
    case GX_KIND_BROKEN:
        refuse(d, 500, rt->upstream_reason);
        return;
    case GX_KIND_PROXY:
        /* a ProxyHandler with Python in it (prepare:, modify:, {handler...})
         * or, for upgrades, a local WebSocket (open:, on_message:: spec
         * g.3) is Gramex's to run, at the same path */
        if (pc && !(pc->needs_gramex || (in->upgrade && pc->ws_in_gramex))) {
            proxy(p, rt, in, m, d);
            return;
        }
        upstream(p, in, pc && pc->needs_gramex ? pc->needs_gramex : "WebSocket handled by Gramex", d);
        return;
    default:
        if (rt->websocket && !in->upgrade) {
            refuse(d, 400, "WebSocketHandler asked without Upgrade: websocket");
            d->body = GX_WS_ONLY_TEXT;
            d->body_type = GX_TORNADO_TYPE;
            return;
        }
        upstream(p, in, rt->upstream_reason, d);
        return;
    }
}

void gx_decide(apr_pool_t *p, const gx_app *app, const gx_request_in *in, gx_decision *d)
{
    char *path = NULL;
    gx_match m;
    int route;
    memset(d, 0, sizeof(*d));
    d->route_index = -1;
    d->action = GX_DO_DECLINE;
    if (!app || !app->router || !in->path)
        return;
    switch (gx_canon_path(p, in->path, strlen(in->path), &path)) {
    case GX_CANON_OK:
        break;
    case GX_CANON_NOT_ABSOLUTE:
        return;
    case GX_CANON_BAD_ESCAPE:
        refuse(d, 400, "malformed %-escape in the path");
        return;
    default:
        refuse(d, 404, "encoded '/', NUL or a backslash in the path");
        return;
    }
    d->path = path;
    route = gx_router_match(app->router, path, strlen(path), p, &m);
    if (route == GX_ROUTER_NO_MATCH)
        return;
    d->route_index = route;
    d->route = APR_ARRAY_IDX(app->routes, route, const gx_route *);
    if (m.error) {
        /* never fall through to a later (usually the catch-all) url */
        refuse(d, 500, apr_psprintf(p, "pattern regex failed to run (PCRE2 error %d)", m.error));
        return;
    }
    decide_route(p, app, in, &m, d);
}

const char *gx_action_name(gx_action a)
{
    static const char *const names[] = {"decline", "file", "listing", "redirect", "proxy",
                                        "upstream", "unavailable", "refuse"};
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

static const char *json_or_null(apr_pool_t *p, const char *s)
{
    return s ? gx_json_quote(p, s) : "null";
}

const char *gx_decision_json(apr_pool_t *p, const gx_decision *d)
{
    const char *url = d->url;
    if (url && d->query && *d->query)
        url = apr_pstrcat(p, url, "?", d->query, NULL);
    return apr_psprintf(p, "{\"action\": \"%s\", \"status\": %d, \"url_name\": %s, "
                        "\"handler\": %s, \"path\": %s, \"file\": %s, \"location\": %s, "
                        "\"target\": %s, \"reason\": %s}",
                        gx_action_name(d->action), d->status,
                        json_or_null(p, d->route ? d->route->name : NULL),
                        json_or_null(p, d->route ? d->route->handler : NULL),
                        json_or_null(p, d->path), json_or_null(p, d->file),
                        json_or_null(p, d->location), json_or_null(p, url),
                        json_or_null(p, d->reason));
}

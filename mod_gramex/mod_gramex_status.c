/* mod_gramex_status: `SetHandler gramex-status` answers an operator's
 * questions about this vhost: where its app came from (or where one was
 * looked for), when it loaded, whether the last restart failed, and per url
 * where requests go, with which allow/ignore/headers, and how many hits and
 * errors it had; and mod_gramex_ws's tunnels. HTML for people, the same data
 * as JSON with ?json.
 *
 * It prints names, patterns, paths and header values of the app's own
 * config, never secrets: no kwargs beyond those, every value through shown()
 * (as written, $VARIABLES not their values; secrets' values as ***), and a
 * SECRETS_URL only as scheme://host/.
 *
 * Hit counters live in anonymous shared memory made at post_config, so every
 * child of a generation adds to the same numbers; a restart starts them at 0. */
#include "mod_gramex.h"
#include "util_script.h"
#include "gx_secrets_api.h"
#include "mod_gramex_ws.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_main.h"
#include "http_core.h"
#include "gx_json.h"
#include "gx_yaml.h"
#include "gx_lasterr.h"
#include <apr_strings.h>
#include <apr_shm.h>
#include <apr_atomic.h>
#include <apr_network_io.h>
#include <apr_uri.h>

APLOG_USE_MODULE(gramex);

#define GX_HANDLER_STATUS "gramex-status"
#define GX_HEALTH_TIMEOUT apr_time_from_msec(500)

/* ---- counters ---------------------------------------------------------------- */

typedef struct {
    apr_uint64_t last_error;            /* gx_lasterr: the latest request's 4xx/5xx */
    apr_uint32_t hits, c4xx, c5xx;
} gx_counts;

static gx_counts *counts_base;          /* shared memory: one gx_counts per route */
static apr_hash_t *route_slot;          /* const gx_route * -> slot + 1, read-only after post_config */

static int status_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    apr_hash_t *apps = apr_hash_make(ptemp);
    apr_size_t n = 0;
    apr_shm_t *shm;
    server_rec *v;
    (void)plog;
    counts_base = NULL;
    route_slot = apr_hash_make(pconf);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    for (v = s; v; v = v->next) {
        const gx_app *app = gx_sconf(v)->app;
        int i;
        if (!app || apr_hash_get(apps, &app, sizeof(app)))
            continue;
        apr_hash_set(apps, apr_pmemdup(ptemp, &app, sizeof(app)), sizeof(app), "");
        for (i = 0; i < app->routes->nelts; i++)
            apr_hash_set(route_slot, APR_ARRAY_IDX(app->routes, i, const gx_route *),
                         sizeof(void *), (void *)(apr_uintptr_t)(++n));
    }
    if (!n)
        return OK;
    /* anonymous: inherited by every child, destroyed with pconf */
    if (apr_shm_create(&shm, n * sizeof(gx_counts), NULL, pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GX_LOGNO(0005) "no shared memory for "
                     "the status page's hit counters; they stay empty");
        return OK;
    }
    counts_base = apr_shm_baseaddr_get(shm);
    memset(counts_base, 0, n * sizeof(gx_counts));
    return OK;
}

static gx_counts *counts_of(const gx_route *rt)
{
    apr_uintptr_t slot;
    if (!counts_base || !rt)
        return NULL;
    slot = (apr_uintptr_t)apr_hash_get(route_slot, rt, sizeof(void *));
    return slot ? &counts_base[slot - 1] : NULL;
}

/* "404 at <date>" for the last error, or NULL */
static const char *last_error(apr_pool_t *p, gx_counts *c)
{
    char date[APR_RFC822_DATE_LEN];
    apr_time_t when;
    int status = c ? gx_lasterr_get(&c->last_error, &when) : 0;
    if (!status)
        return NULL;
    apr_rfc822_date(date, when);
    return apr_psprintf(p, "%d at %s", status, date);
}

/* Counted once per client request, with its final status. */
static int count_request(request_rec *r)
{
    request_rec *first = r;
    gx_request *gr;
    gx_counts *c;
    while (first->prev)
        first = first->prev;
    gr = gx_req(first);
    if (!gr || !(c = counts_of(gr->route)))
        return DECLINED;
    apr_atomic_inc32(&c->hits);
    if (r->status >= 400) {
        apr_atomic_inc32(r->status >= 500 ? &c->c5xx : &c->c4xx);
        gx_lasterr_note(&c->last_error, r->request_time, r->status);
    }
    return DECLINED;
}

void gx_register_status_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(status_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(count_request, NULL, NULL, APR_HOOK_MIDDLE);
}

/* ---- what the page reports ----------------------------------------------------- */

/* The one way a config value (or a text built from config values) reaches
 * the page: as written where variables were substituted into it ($API_KEY,
 * not the key), so the page never shows what a variable held; then with
 * every secret's value as *** (a secret copied literally into the config, or
 * into a text built from it such as a match decision), when
 * mod_gramex_secrets is loaded (without it, no value comes from secrets).
 * src: the value's node in the config, or NULL for built text. */
static const char *shown(request_rec *r, const gx_node *src, const char *value)
{
    APR_OPTIONAL_FN_TYPE(gx_secrets_mask) *mask = APR_RETRIEVE_OPTIONAL_FN(gx_secrets_mask);
    const char *text = src && src->src ? src->src : value;
    return mask && text ? mask(r->pool, r->server, text) : text;
}

/* Where a url's requests go, in words. */
static const char *goes_to(request_rec *r, const gx_server_conf *c, const gx_route *rt)
{
    apr_pool_t *p = r->pool;
    const char *target = shown(r, gx_map_get(rt->kwargs, "url"), rt->target);
    switch (rt->kind) {
    case GX_KIND_FILE:
        if (!rt->fh)
            return "";
        if (rt->fh->path_kind == GX_PATH_MAP)
            return apr_psprintf(p, "files under %s (mapped by pattern)",
                                shown(r, NULL, rt->fh->root));
        return apr_psprintf(p, "%s %s", rt->fh->path_kind == GX_PATH_FILE ? "file" : "files under",
                            shown(r, NULL, rt->fh->path_kind == GX_PATH_FILE ? rt->fh->path
                                                                             : rt->fh->root));
    case GX_KIND_PROXY:
        return apr_psprintf(p, "proxy to %s", target);
    case GX_KIND_REDIRECT:
        return apr_psprintf(p, "redirect (%d) to %s", rt->permanent ? 301 : 302, target);
    case GX_KIND_UPSTREAM:
        if (c->upstream_target)
            return apr_psprintf(p, "Gramex upstream %s (%s)", c->upstream_target,
                                shown(r, NULL, rt->upstream_reason ? rt->upstream_reason : ""));
        return apr_psprintf(p, "503: needs Gramex (%s), and GramexUpstream is not set",
                            shown(r, NULL, rt->upstream_reason ? rt->upstream_reason : ""));
    default:
        return apr_psprintf(p, "500: %s",
                            shown(r, NULL, rt->upstream_reason ? rt->upstream_reason : "broken"));
    }
}

static const apr_array_header_t *route_headers(const gx_route *rt)
{
    return rt->kind == GX_KIND_FILE && rt->fh ? rt->fh->headers : rt->headers;
}

/* A header's value (see shown); one whose source in `headers` (the headers:
 * mapping the rules were built from) cannot be found is not shown, as it
 * may have come from a variable. NULL: the header is removed. */
static const char *header_shown(request_rec *r, const gx_node *headers, const gx_header *e)
{
    const gx_node *n = headers;
    if (!e->value)
        return NULL;
    if (e->pattern)
        n = n && n->type == GX_MAP ? gx_map_get(n, e->pattern) : NULL;
    n = n && n->type == GX_MAP ? gx_map_get(n, e->name) : NULL;
    return n ? shown(r, n, e->value) : "(hidden)";
}

static const gx_node *route_headers_node(const gx_route *rt)
{
    return gx_map_get(rt->kwargs, "headers");
}

static const gx_node *base_headers_node(const gx_app *app)
{
    return gx_map_get(gx_map_get(gx_map_get(app->loaded->config, "handlers"), "BaseHandler"),
                      "headers");
}

/* scheme://host/ of a URL: enough to say where secrets come from, never the
 * path or query, which may hold a token. */
static const char *redact_url(apr_pool_t *p, const char *url)
{
    apr_uri_t u;
    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme)
        return "(not a URL)";
    if (!u.hostname)
        return apr_psprintf(p, "%s:…", u.scheme);
    return apr_psprintf(p, "%s://%s/…", u.scheme, u.hostname);
}

typedef struct {
    const char *file;       /* .secrets.yaml path */
    int present;
    int module;             /* mod_gramex_secrets loaded */
    const char *url;        /* redacted SECRETS_URL, or NULL */
    const char *cache;      /* cache file path, when a SECRETS_URL is used */
    int cache_present;
    const char *note;       /* the load's own words about secrets, if any */
} gx_secrets_state;

static gx_secrets_state secrets_state(request_rec *r, const gx_server_conf *c)
{
    gx_secrets_state st = {0};
    apr_finfo_t fi;
    int i;
    st.file = c->secrets_file;
    st.module = ap_find_linked_module("mod_gramex_secrets.c") != NULL;
    if (!st.file)
        return st;
    st.present = apr_stat(&fi, st.file, APR_FINFO_TYPE, r->pool) == APR_SUCCESS;
    if (st.present) {
        gx_node *doc = NULL, *url = NULL;
        if (gx_yaml_parse_file(r->pool, st.file, 0, &doc, gx_diags_make(r->pool)) == GX_YAML_OK
            && doc && doc->type == GX_MAP)
            url = gx_map_get(doc, "SECRETS_URL");
        if (url && url->type == GX_STR) {
            st.url = redact_url(r->pool, url->str);
            APR_OPTIONAL_FN_TYPE(gx_secrets_cache_for) *cache_for =
                APR_RETRIEVE_OPTIONAL_FN(gx_secrets_cache_for);
            st.cache = cache_for ? cache_for(r->pool, r->server, st.file) : NULL;
            st.cache_present = st.cache && apr_stat(&fi, st.cache, APR_FINFO_TYPE, r->pool) == APR_SUCCESS;
        }
    }
    for (i = 0; c->diags && i < c->diags->items->nelts; i++) {
        const gx_diag *d = &APR_ARRAY_IDX(c->diags->items, i, gx_diag);
        if (d->file && strstr(d->file, ".secrets") && strstr(d->msg, "last good copy"))
            st.note = "SECRETS_URL could not be fetched at load time: the cached copy was used";
    }
    return st;
}

typedef struct {
    const char *url;
    int ok;
    const char *detail;
} gx_health;

/* A TCP connect to each GramexUpstream URL, 0.5 s each: cheap, and enough
 * to tell "Gramex is not running" from "Gramex answers". */
static apr_array_header_t *upstream_health(request_rec *r, const gx_server_conf *c)
{
    apr_array_header_t *out = apr_array_make(r->pool, 2, sizeof(gx_health));
    int i;
    for (i = 0; c->upstreams && i < c->upstreams->nelts; i++) {
        gx_health *h = apr_array_push(out);
        apr_uri_t u;
        apr_sockaddr_t *sa;
        apr_socket_t *sock;
        apr_status_t rv;
        char err[120];
        h->url = APR_ARRAY_IDX(c->upstreams, i, const char *);
        if (apr_uri_parse(r->pool, h->url, &u) != APR_SUCCESS || !u.hostname) {
            h->detail = "not a URL";
            continue;
        }
        if (!u.port)
            u.port = apr_uri_port_of_scheme(u.scheme);
        rv = apr_sockaddr_info_get(&sa, u.hostname, APR_UNSPEC, u.port, 0, r->pool);
        if (rv == APR_SUCCESS)
            rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP, r->pool);
        if (rv == APR_SUCCESS) {
            apr_socket_timeout_set(sock, GX_HEALTH_TIMEOUT);
            rv = apr_socket_connect(sock, sa);
            apr_socket_close(sock);
        }
        h->ok = rv == APR_SUCCESS;
        h->detail = h->ok ? "accepts connections"
                          : apr_pstrcat(r->pool, "cannot connect: ",
                                        apr_strerror(rv, err, sizeof(err)), NULL);
    }
    return out;
}

static int count_kind(const gx_app *app, gx_kind k)
{
    int i, n = 0;
    for (i = 0; i < app->routes->nelts; i++)
        n += APR_ARRAY_IDX(app->routes, i, const gx_route *)->kind == k;
    return n;
}

static const char *iso_time(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];
    if (!t)
        return NULL;
    apr_rfc822_date(buf, t);
    return apr_pstrdup(p, buf);
}

/* Discovery warnings (an ambiguous or dangling gramex.yaml) about the places
 * this vhost was looked for. */
static apr_array_header_t *discovery_notes(request_rec *r, const gx_server_conf *c)
{
    apr_array_header_t *out = apr_array_make(r->pool, 1, sizeof(const char *));
    const gx_diags *d = gx_sconf(ap_server_conf)->found_diags;
    int i;
    for (i = 0; d && c->looked_for && i < d->items->nelts; i++) {
        const gx_diag *item = &APR_ARRAY_IDX(d->items, i, gx_diag);
        if (item->file && strstr(c->looked_for, item->file))
            APR_ARRAY_PUSH(out, const char *) = gx_diag_format(r->pool, item);
    }
    return out;
}

/* mod_gramex_ws's asynchronous WebSocket tunnels, through its optional
 * function: summed over all children (shared memory), kept over restarts.
 * 0: the module is not loaded. */
static int ws_counters(gx_ws_counters *n)
{
    APR_OPTIONAL_FN_TYPE(gx_ws_counters_get) *get = APR_RETRIEVE_OPTIONAL_FN(gx_ws_counters_get);
    memset(n, 0, sizeof(*n));
    if (!get)
        return 0;
    get(n);
    return 1;
}

#define GX_WS_SCOPE "asynchronous tunnels (GramexWebSocketAsync On) of all children since httpd " \
                    "started"

/* ---- JSON ------------------------------------------------------------------------ */

static const char *jq(request_rec *r, const char *s)
{
    return s ? gx_json_quote(r->pool, s) : "null";
}

static void json_strings(request_rec *r, const apr_array_header_t *a)
{
    int i;
    ap_rputs("[", r);
    for (i = 0; a && i < a->nelts; i++)
        ap_rprintf(r, "%s%s", i ? ", " : "",
                   jq(r, shown(r, NULL, APR_ARRAY_IDX(a, i, const char *))));
    ap_rputs("]", r);
}

static void json_headers(request_rec *r, const apr_array_header_t *h, const gx_node *src)
{
    int i;
    ap_rputs("[", r);
    for (i = 0; h && i < h->nelts; i++) {
        const gx_header *e = &APR_ARRAY_IDX(h, i, gx_header);
        ap_rprintf(r, "%s{\"name\": %s, \"value\": %s, \"files\": %s}", i ? ", " : "",
                   jq(r, e->name), jq(r, header_shown(r, src, e)), jq(r, e->pattern));
    }
    ap_rputs("]", r);
}

static void json_websockets(request_rec *r)
{
    gx_ws_counters n;
    if (!ws_counters(&n)) {
        ap_rputs(", \"websockets\": {\"module\": false, \"note\": \"mod_gramex_ws is not loaded\"}",
                 r);
        return;
    }
    ap_rprintf(r, ", \"websockets\": {\"module\": true, \"scope\": \"%s\", \"open\": %u, "
               "\"opened\": %" APR_UINT64_T_FMT ", \"closed\": %" APR_UINT64_T_FMT ", "
               "\"dropped\": %" APR_UINT64_T_FMT ", \"bytes_to_backend\": %" APR_UINT64_T_FMT
               ", \"bytes_to_client\": %" APR_UINT64_T_FMT ", \"refused\": %" APR_UINT64_T_FMT
               "}", GX_WS_SCOPE, (unsigned)n.open, n.opened, n.closed, n.dropped,
               n.bytes_to_backend, n.bytes_to_client, n.refused);
}

static void status_json(request_rec *r)
{
    gx_server_conf *c = gx_sconf(r->server);
    const gx_app *app = c->app;
    int i;
    ap_set_content_type(r, "application/json");
    ap_rprintf(r, "{\"vhost\": %s, \"hostname\": %s, \"port\": %d, \"looked_for\": %s, "
               "\"counters\": \"summed over all children since the last (re)start\", "
               "\"discovery_warnings\": ", jq(r, c->vhost_name), jq(r, r->server->server_hostname),
               (int)r->connection->local_addr->port, jq(r, c->looked_for));
    json_strings(r, discovery_notes(r, c));
    json_websockets(r);
    ap_rputs(", \"apps\": [", r);
    if (app) {
        gx_secrets_state st = secrets_state(r, c);
        apr_array_header_t *health = upstream_health(r, c);
        ap_rprintf(r, "{\"yaml\": %s, \"source\": %s, \"loaded_at\": %s, \"reload_error\": %s, "
                   "\"counts\": {\"routes\": %d, \"file\": %d, \"proxy\": %d, \"redirect\": %d, "
                   "\"upstream\": %d, \"broken\": %d, \"files\": %d, \"warnings\": %d}, \"files\": ",
                   jq(r, app->yaml_path), jq(r, c->app_source), jq(r, iso_time(r->pool, c->loaded_at)),
                   jq(r, shown(r, NULL, c->reload_error)), app->routes->nelts,
                   count_kind(app, GX_KIND_FILE),
                   count_kind(app, GX_KIND_PROXY), count_kind(app, GX_KIND_REDIRECT),
                   count_kind(app, GX_KIND_UPSTREAM), count_kind(app, GX_KIND_BROKEN),
                   app->loaded->files ? app->loaded->files->nelts : 0,
                   c->diags ? c->diags->items->nelts : 0);
        json_strings(r, app->loaded->files);
        ap_rprintf(r, ", \"upstream\": {\"target\": %s, \"urls\": [", jq(r, c->upstream_target));
        for (i = 0; i < health->nelts; i++) {
            const gx_health *h = &APR_ARRAY_IDX(health, i, gx_health);
            ap_rprintf(r, "%s{\"url\": %s, \"ok\": %s, \"detail\": %s}", i ? ", " : "",
                       jq(r, h->url), h->ok ? "true" : "false", jq(r, h->detail));
        }
        ap_rprintf(r, "]}, \"secrets\": {\"file\": %s, \"present\": %s, \"module\": %s, "
                   "\"url\": %s, \"cache\": %s, \"cache_present\": %s, \"note\": %s}, "
                   "\"base_headers\": ", jq(r, st.file), st.present ? "true" : "false",
                   st.module ? "true" : "false", jq(r, st.url), jq(r, st.cache),
                   st.cache_present ? "true" : "false", jq(r, st.note));
        json_headers(r, app->base_headers, base_headers_node(app));
        ap_rputs(", \"routes\": [", r);
        for (i = 0; i < app->routes->nelts; i++) {
            const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
            gx_counts *n = counts_of(rt);
            ap_rprintf(r, "%s{\"name\": %s, \"pattern\": %s, \"regex\": %s, \"handler\": %s, "
                       "\"apache\": \"%s\", \"source\": %s, \"goes_to\": %s, \"allow\": ",
                       i ? ", " : "", jq(r, rt->name), jq(r, shown(r, NULL, rt->pattern)),
                       jq(r, shown(r, NULL, rt->regex)),
                       jq(r, rt->handler), gx_kind_name(rt->kind),
                       jq(r, apr_psprintf(r->pool, "%s:%d", rt->file ? rt->file : "", rt->line)),
                       jq(r, goes_to(r, c, rt)));
            json_strings(r, rt->fh ? rt->fh->allow : NULL);
            ap_rputs(", \"ignore\": ", r);
            json_strings(r, rt->fh ? rt->fh->ignore : NULL);
            ap_rputs(", \"headers\": ", r);
            json_headers(r, route_headers(rt), route_headers_node(rt));
            ap_rprintf(r, ", \"hits\": %u, \"4xx\": %u, \"5xx\": %u, \"last_error\": %s}",
                       n ? n->hits : 0, n ? n->c4xx : 0, n ? n->c5xx : 0,
                       jq(r, last_error(r->pool, n)));
        }
        ap_rputs("], \"warnings\": [", r);
        for (i = 0; c->diags && i < c->diags->items->nelts; i++) {
            const gx_diag *d = &APR_ARRAY_IDX(c->diags->items, i, gx_diag);
            ap_rprintf(r, "%s%s", i ? ", " : "", jq(r, shown(r, NULL, gx_diag_format(r->pool, d))));
        }
        ap_rputs("]}", r);
    }
    ap_rputs("]}\n", r);
}

/* ---- HTML -------------------------------------------------------------------------- */

static const char *esc(request_rec *r, const char *s)
{
    return ap_escape_html(r->pool, s ? s : "");
}

static const char *STYLE =
    "<style>body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:78rem;"
    "padding:0 1rem;color:#222}h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;"
    "margin:1.6rem 0 .4rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;"
    "padding:.3rem .5rem;border-bottom:1px solid #eee}th{background:#f6f6f6}"
    "code{font-size:.9em;overflow-wrap:anywhere}.num{text-align:right;font-variant-numeric:"
    "tabular-nums}.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3a}.muted{color:#777}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}"
    "dt{color:#555}dd{margin:0}.box{background:#fff4f4;border:1px solid #f2c2c2;"
    "padding:.6rem .8rem;border-radius:4px}</style>";

static void html_list(request_rec *r, const apr_array_header_t *a)
{
    int i;
    for (i = 0; a && i < a->nelts; i++)
        ap_rprintf(r, "%s<code>%s</code>", i ? " " : "",
                   esc(r, shown(r, NULL, APR_ARRAY_IDX(a, i, const char *))));
}

static void html_headers(request_rec *r, const apr_array_header_t *h, const gx_node *src)
{
    int i;
    for (i = 0; h && i < h->nelts; i++) {
        const gx_header *e = &APR_ARRAY_IDX(h, i, gx_header);
        ap_rprintf(r, "<div><code>%s: %s</code>%s%s%s</div>", esc(r, e->name),
                   e->value ? esc(r, header_shown(r, src, e)) : "<i>(removed)</i>",
                   e->pattern ? " <span "
                   "class=\"muted\">for " : "", e->pattern ? esc(r, e->pattern) : "",
                   e->pattern ? "</span>" : "");
    }
}

/* ?match=/path (with ?json: as JSON): which url answers it and how, the
 * core's own decision */
static const char *match_arg(request_rec *r)
{
    apr_table_t *args;
    ap_args_to_table(r, &args);
    return apr_table_get(args, "match");
}

static gx_decision *match(request_rec *r, const gx_server_conf *c, const char *target)
{
    gx_decision *d = apr_palloc(r->pool, sizeof(*d));
    gx_request_in in = {0};
    char *path = apr_pstrdup(r->pool, target), *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    in.method = "GET";
    in.path = path;
    in.query = q;
    in.upstream = c->upstream_target;
    gx_decide(r->pool, c->app, &in, d);
    return d;
}

static void match_html(request_rec *r, const gx_server_conf *c)
{
    const char *target = match_arg(r);
    ap_rprintf(r, "<h2>Which url answers?</h2>\n<form><input name=\"match\" size=\"60\" "
               "value=\"%s\" placeholder=\"/path?query\"> <button>match</button></form>\n",
               esc(r, target ? target : ""));
    if (target && *target == '/')
        ap_rprintf(r, "<pre>%s</pre>\n", esc(r, shown(r, NULL, gx_decision_json(r->pool,
                                                                          match(r, c, target)))));
}

static void html_websockets(request_rec *r)
{
    gx_ws_counters n;
    if (!ws_counters(&n)) {
        ap_rputs("<dt>WebSockets</dt><dd>mod_gramex_ws is not loaded</dd>\n", r);
        return;
    }
    ap_rprintf(r, "<dt>WebSockets</dt><dd>%u open; %" APR_UINT64_T_FMT " opened, %"
               APR_UINT64_T_FMT " closed (%" APR_UINT64_T_FMT " dropped by a child's exit), %"
               APR_UINT64_T_FMT " refused; %" APR_UINT64_T_FMT " bytes to backends, %"
               APR_UINT64_T_FMT " bytes to clients <span class=\"muted\">(" GX_WS_SCOPE
               ")</span></dd>\n", (unsigned)n.open, n.opened, n.closed, n.dropped, n.refused,
               n.bytes_to_backend, n.bytes_to_client);
}

static void status_html(request_rec *r)
{
    gx_server_conf *c = gx_sconf(r->server);
    const gx_app *app = c->app;
    int i;
    ap_set_content_type(r, "text/html; charset=UTF-8");
    ap_rprintf(r, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Gramex: %s</title>"
               "%s</head><body>\n<h1>Gramex app status</h1>\n<dl>\n<dt>vhost</dt><dd>%s</dd>\n"
               "<dt>port</dt><dd>%d</dd>\n", esc(r, r->server->server_hostname), STYLE,
               esc(r, c->vhost_name), (int)r->connection->local_addr->port);
    html_websockets(r);
    if (!app) {
        apr_array_header_t *notes = discovery_notes(r, c);
        ap_rprintf(r, "</dl>\n<p>No gramex.yaml is loaded for this vhost. Looked for: "
                   "<code>%s</code>.</p>\n<p>Link the app's gramex.yaml as "
                   "<code>SITE.gramex.yaml</code> beside the vhost's config file, or set "
                   "<code>GramexConfig</code> (docs/operation.md).</p>\n",
                   esc(r, c->looked_for ? c->looked_for : "nowhere"));
        for (i = 0; i < notes->nelts; i++)
            ap_rprintf(r, "<p class=\"box\">%s</p>\n", esc(r, APR_ARRAY_IDX(notes, i, const char *)));
        ap_rputs("</body></html>\n", r);
        return;
    }
    {
        gx_secrets_state st = secrets_state(r, c);
        apr_array_header_t *health = upstream_health(r, c);
        ap_rprintf(r, "<dt>app</dt><dd><code>%s</code></dd>\n<dt>from</dt><dd>%s</dd>\n"
                   "<dt>loaded</dt><dd>%s</dd>\n<dt>urls</dt><dd>%d: %d files, %d proxies, "
                   "%d redirects, %d to Gramex, %d broken</dd>\n<dt>config files</dt><dd>%d</dd>\n",
                   esc(r, app->yaml_path), esc(r, c->app_source),
                   c->loaded_at ? esc(r, iso_time(r->pool, c->loaded_at)) : "never (closed)",
                   app->routes->nelts, count_kind(app, GX_KIND_FILE),
                   count_kind(app, GX_KIND_PROXY), count_kind(app, GX_KIND_REDIRECT),
                   count_kind(app, GX_KIND_UPSTREAM), count_kind(app, GX_KIND_BROKEN),
                   app->loaded->files ? app->loaded->files->nelts : 0);
        ap_rprintf(r, "<dt>Gramex upstream</dt><dd>%s", c->upstream_target
                   ? esc(r, c->upstream_target) : "not set (urls that need Gramex answer 503)");
        for (i = 0; i < health->nelts; i++) {
            const gx_health *h = &APR_ARRAY_IDX(health, i, gx_health);
            ap_rprintf(r, "<div><code>%s</code> <span class=\"%s\">%s</span></div>",
                       esc(r, h->url), h->ok ? "ok" : "bad", esc(r, h->detail));
        }
        ap_rprintf(r, "</dd>\n<dt>secrets</dt><dd><code>%s</code> %s; mod_gramex_secrets %s",
                   esc(r, st.file), st.present ? "present" : "absent",
                   st.module ? "loaded" : "not loaded");
        if (st.url)
            ap_rprintf(r, "<div>SECRETS_URL <code>%s</code>; cache <code>%s</code> %s</div>",
                       esc(r, st.url), esc(r, st.cache), st.cache_present ? "present" : "absent");
        if (st.note)
            ap_rprintf(r, "<div class=\"bad\">%s</div>", esc(r, st.note));
        ap_rputs("</dd>\n</dl>\n", r);
    }
    if (c->reload_error)
        ap_rprintf(r, "<p class=\"box\"><span class=\"bad\">The last restart could not load the "
                   "app:</span> %s<br>%s</p>\n", esc(r, shown(r, NULL, c->reload_error)),
                   c->loaded_at
                   ? "The app loaded before is still served. Fix the file and reload."
                   : "Nothing of it is served (500) until the file is fixed and reloaded.");
    match_html(r, c);
    ap_rputs("<h2>URLs, in match order</h2>\n<table>\n<tr><th>#</th><th>url</th><th>pattern"
             "</th><th>handler</th><th>goes to</th><th>allow / ignore</th><th>headers</th>"
             "<th class=\"num\">hits</th><th class=\"num\">4xx</th><th class=\"num\">5xx</th>"
             "<th>last error</th><th>defined at</th></tr>\n", r);
    for (i = 0; i < app->routes->nelts; i++) {
        const gx_route *rt = APR_ARRAY_IDX(app->routes, i, const gx_route *);
        gx_counts *n = counts_of(rt);
        ap_rprintf(r, "<tr><td>%d</td><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td>"
                   "<td>", i + 1, esc(r, rt->name), esc(r, shown(r, NULL, rt->regex)),
                   esc(r, rt->handler),
                   esc(r, goes_to(r, c, rt)));
        if (rt->fh && rt->fh->allow && rt->fh->allow->nelts) {
            ap_rputs("allow ", r);
            html_list(r, rt->fh->allow);
            ap_rputs("<br>", r);
        }
        if (rt->fh && rt->fh->ignore && rt->fh->ignore->nelts) {
            ap_rputs("ignore ", r);
            html_list(r, rt->fh->ignore);
        }
        ap_rputs("</td><td>", r);
        html_headers(r, route_headers(rt), route_headers_node(rt));
        ap_rprintf(r, "</td><td class=\"num\">%u</td><td class=\"num\">%u</td>"
                   "<td class=\"num\">%u</td><td>%s</td><td><code>%s:%d</code></td></tr>\n",
                   n ? n->hits : 0, n ? n->c4xx : 0, n ? n->c5xx : 0,
                   esc(r, last_error(r->pool, n)), esc(r, rt->file), rt->line);
    }
    ap_rputs("</table>\n<p class=\"muted\">Hits and errors: every child process of this "
             "generation, since the last (re)start.</p>\n<h2>Headers on every response "
             "(handlers.BaseHandler)</h2>\n", r);
    html_headers(r, app->base_headers, base_headers_node(app));
    ap_rputs("<h2>Config files</h2>\n<ul>\n", r);
    for (i = 0; app->loaded->files && i < app->loaded->files->nelts; i++)
        ap_rprintf(r, "<li><code>%s</code></li>\n",
                   esc(r, APR_ARRAY_IDX(app->loaded->files, i, const char *)));
    ap_rputs("</ul>\n<h2>Warnings</h2>\n<ul>\n", r);
    for (i = 0; c->diags && i < c->diags->items->nelts; i++)
        ap_rprintf(r, "<li>%s</li>\n", esc(r, shown(r, NULL, gx_diag_format(r->pool,
                                           &APR_ARRAY_IDX(c->diags->items, i, gx_diag)))));
    ap_rputs("</ul>\n</body></html>\n", r);
}

int gx_status_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, GX_HANDLER_STATUS) != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    if (r->header_only)
        return OK;
    if (r->args && strstr(r->args, "json") && match_arg(r) && gx_sconf(r->server)->app
        && *match_arg(r) == '/') {
        ap_set_content_type(r, "application/json");
        ap_rputs(shown(r, NULL, gx_decision_json(r->pool, match(r, gx_sconf(r->server),
                                                            match_arg(r)))), r);
        ap_rputs("\n", r);
    }
    else if (r->args && strstr(r->args, "json"))
        status_json(r);
    else
        status_html(r);
    return OK;
}

/* gx_router: see gx_router.h.
 *
 * Index: every regex's literal prefix (the bytes it must start with) maps to
 * the sorted list of routes having exactly that prefix. A request looks up
 * each of its own prefixes whose length occurs among the routes' prefixes,
 * merges the few lists it finds in route order and runs only those regexes.
 * With distinct literal prefixes the work depends on the path length, not on
 * the number of routes. */
#include "gx_router.h"
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Above this many routes the matcher interprets instead of JIT-compiling:
 * the prefix index runs only a few regexes per request, while JIT code costs
 * about 1.3 KB of executable memory per regex in every child. */
#define GX_JIT_MAX_ROUTES 1000

/* Most prefix lists a single path can collect (one per distinct prefix
 * length up to the path length); longer paths only see the first ones. */
#define GX_MAX_PREFIX_HITS 256
/* Backtracking bounds per regex run: a hostile path against a pattern like
 * (a+)+b stops here (and is refused) instead of burning a worker's CPU.
 * Real url patterns stay orders of magnitude below. */
#define GX_MATCH_LIMIT 1000000
#define GX_DEPTH_LIMIT 10000

typedef struct {
    int *routes;        /* ascending route indices */
    int n, cap;
} route_list;

typedef struct {
    pcre2_code *code;   /* NULL if it failed to compile */
    int ngroups;
    int has_named;
} compiled;

struct gx_router {
    int n;
    compiled *routes;
    apr_hash_t *by_prefix;      /* prefix -> route_list */
    unsigned char *has_len;     /* has_len[L]: some prefix has length L */
    apr_size_t max_len;
    int caseless;               /* regexes caseless, prefixes indexed in lower case */
};

static apr_status_t free_code(void *code)
{
    pcre2_code_free((pcre2_code *)code);
    return APR_SUCCESS;
}

/* Python-only syntax PCRE2 reads differently: \Z (end only) is PCRE2's \z. */
static char *python_to_pcre(apr_pool_t *p, const char *re)
{
    char *out = apr_pstrdup(p, re), *c;
    for (c = out; *c; c++) {
        if (c[0] == '\\' && c[1]) {
            if (c[1] == 'Z')
                c[1] = 'z';
            c++;
        }
    }
    return out;
}

/* Does the regex have a '|' outside any group or class? Then no prefix is
 * common to all its matches. */
static int top_level_alternation(const char *re)
{
    int depth = 0, in_class = 0;
    for (; *re; re++) {
        if (*re == '\\' && re[1]) { re++; continue; }
        if (in_class) { if (*re == ']') in_class = 0; continue; }
        if (*re == '[') { in_class = 1; if (re[1] == ']') re++; else if (re[1] == '^' && re[2] == ']') re += 2; continue; }
        if (*re == '(') depth++;
        else if (*re == ')') depth--;
        else if (*re == '|' && depth == 0) return 1;
    }
    return 0;
}

/* The literal bytes every match of `re` starts with. */
static char *literal_prefix(apr_pool_t *p, const char *re)
{
    apr_size_t len = strlen(re), o = 0, last_start = 0;
    char *out = apr_palloc(p, len + 1);
    const char *c = re;
    if (top_level_alternation(re)) {
        out[0] = '\0';
        return out;
    }
    while (*c) {
        char lit;
        if (strchr(".[()*+?{|^$", *c))
            break;
        if (*c == '\\') {
            if (!c[1] || apr_isalnum(c[1]))     /* \d, \w, \A, \1 ... are not literals */
                break;
            lit = c[1];
            c += 2;
        }
        else {
            lit = *c++;
        }
        last_start = o;
        out[o++] = lit;
        if (*c == '?' || *c == '*' || *c == '{') {  /* the literal may be absent */
            o = last_start;
            break;
        }
        if (*c == '+')
            break;
    }
    out[o] = '\0';
    return out;
}

static void lower_ascii(char *s, apr_size_t n)
{
    apr_size_t i;
    for (i = 0; i < n; i++)
        s[i] = (char)apr_tolower(s[i]);
}

gx_router *gx_router_build(apr_pool_t *p, const char *const *regexes, int n,
                           const char *const *names, const char *const *files,
                           const int *lines, gx_diags *d)
{
    return gx_router_build_case(p, regexes, n, names, files, lines, GX_ROUTER_DEFAULT_CASELESS, d);
}

gx_router *gx_router_build_case(apr_pool_t *p, const char *const *regexes, int n,
                                const char *const *names, const char *const *files,
                                const int *lines, int caseless, gx_diags *d)
{
    gx_router *r = apr_pcalloc(p, sizeof(*r));
    apr_pool_t *scratch;        /* translated regexes: PCRE2 keeps its own copy */
    int i;
    apr_pool_create(&scratch, p);
    r->n = n;
    r->caseless = caseless;
    r->routes = apr_pcalloc(p, sizeof(compiled) * (n ? n : 1));
    r->by_prefix = apr_hash_make(p);
    for (i = 0; i < n; i++) {
        int err;
        PCRE2_SIZE off;
        uint32_t captures = 0, names_count = 0;
        compiled *cr = &r->routes[i];
        const char *re;
        char *prefix;
        route_list *list;
        apr_size_t plen;

        apr_pool_clear(scratch);
        re = python_to_pcre(scratch, regexes[i]);
        cr->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                 PCRE2_ANCHORED | (caseless ? PCRE2_CASELESS : 0), &err,
                                 &off, NULL);
        if (!cr->code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof(msg));
            gx_diag_add(d, GX_ERROR, files ? files[i] : NULL, lines ? lines[i] : 0,
                        "url %s: pattern regex '%s' is invalid at offset %d: %s; fix the "
                        "regex (write $$ for a literal $)", names ? names[i] : "?", regexes[i],
                        (int)off, (const char *)msg);
            continue;
        }
        apr_pool_cleanup_register(p, cr->code, free_code, apr_pool_cleanup_null);
        if (n <= GX_JIT_MAX_ROUTES)
            pcre2_jit_compile(cr->code, PCRE2_JIT_COMPLETE);   /* interpreter if JIT fails */
        pcre2_pattern_info(cr->code, PCRE2_INFO_CAPTURECOUNT, &captures);
        pcre2_pattern_info(cr->code, PCRE2_INFO_NAMECOUNT, &names_count);
        cr->ngroups = (int)captures;
        cr->has_named = names_count > 0;
        if (names_count > 0 && names_count < captures)
            gx_diag_add(d, GX_ERROR, files ? files[i] : NULL, lines ? lines[i] : 0,
                        "url %s: pattern mixes named and unnamed groups, which Gramex cannot "
                        "set up; use (?:...) for groups that should not capture",
                        names ? names[i] : "?");
        if (captures > GX_MAX_CAPTURES)
            gx_diag_add(d, GX_WARN, files ? files[i] : NULL, lines ? lines[i] : 0,
                        "url %s: pattern has %u groups; only the first %d are used",
                        names ? names[i] : "?", captures, GX_MAX_CAPTURES);

        prefix = literal_prefix(scratch, regexes[i]);
        plen = strlen(prefix);
        if (caseless)
            lower_ascii(prefix, plen);
        list = apr_hash_get(r->by_prefix, prefix, plen);
        if (!list) {
            list = apr_pcalloc(p, sizeof(*list));
            apr_hash_set(r->by_prefix, apr_pstrmemdup(p, prefix, plen), plen, list);
        }
        if (list->n == list->cap) {
            int cap = list->cap ? list->cap * 2 : 2;
            int *grown = apr_palloc(p, sizeof(int) * cap);
            if (list->n)
                memcpy(grown, list->routes, sizeof(int) * list->n);
            list->routes = grown;
            list->cap = cap;
        }
        list->routes[list->n++] = i;      /* i ascends: lists stay sorted */
        if (plen > r->max_len)
            r->max_len = plen;
    }
    r->has_len = apr_pcalloc(p, r->max_len + 1);
    {
        apr_hash_index_t *hi;
        for (hi = apr_hash_first(p, r->by_prefix); hi; hi = apr_hash_next(hi)) {
            apr_ssize_t klen;
            apr_hash_this(hi, NULL, &klen, NULL);
            r->has_len[klen] = 1;
        }
    }
    apr_pool_destroy(scratch);
    return r;
}

/* Prefix lists that apply to path, in any order. */
static int collect(const gx_router *r, const char *path, apr_size_t len,
                   const route_list **hits, int *pos)
{
    apr_size_t l, top = len < r->max_len ? len : r->max_len;
    int k = 0;
    for (l = 0; l <= top && k < GX_MAX_PREFIX_HITS; l++) {
        const route_list *list;
        if (!r->has_len[l])
            continue;
        list = apr_hash_get(r->by_prefix, path, (apr_ssize_t)l);
        if (list) {
            hits[k] = list;
            pos[k] = 0;
            k++;
        }
    }
    return k;
}

/* Next candidate in route order across the lists: a k-way merge. */
static int next_candidate(const route_list **hits, int *pos, int k)
{
    int j, best = -1, best_route = 0;
    for (j = 0; j < k; j++) {
        if (pos[j] < hits[j]->n && (best < 0 || hits[j]->routes[pos[j]] < best_route)) {
            best = j;
            best_route = hits[j]->routes[pos[j]];
        }
    }
    if (best < 0)
        return -1;
    pos[best]++;
    return best_route;
}

static void *pool_malloc(PCRE2_SIZE size, void *pool)
{
    return apr_palloc(pool, size);
}

static void pool_free(void *block, void *pool)
{
    (void)block; (void)pool;        /* freed with the scratch pool */
}

/* The prefix index is keyed on lower-case prefixes when caseless. */
static const char *index_key(const gx_router *r, apr_pool_t *p, const char *path, apr_size_t len)
{
    char *low;
    if (!r->caseless)
        return path;
    low = apr_pstrmemdup(p, path, len);
    lower_ascii(low, len);
    return low;
}

int gx_router_match(const gx_router *r, const char *path, apr_size_t len,
                    apr_pool_t *scratch_pool, gx_match *m)
{
    const route_list *hits[GX_MAX_PREFIX_HITS];
    int pos[GX_MAX_PREFIX_HITS];
    int k, route;
    pcre2_general_context *gc;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    m->route = GX_ROUTER_NO_MATCH;
    m->error = 0;
    if (!r || r->n == 0)
        return GX_ROUTER_NO_MATCH;
    k = collect(r, index_key(r, scratch_pool, path, len), len, hits, pos);
    if (!k)
        return GX_ROUTER_NO_MATCH;
    gc = pcre2_general_context_create(pool_malloc, pool_free, scratch_pool);
    md = gc ? pcre2_match_data_create(GX_MAX_CAPTURES + 1, gc) : NULL;
    mc = gc ? pcre2_match_context_create(gc) : NULL;
    if (!md || !mc) {
        m->error = PCRE2_ERROR_NOMEMORY;
        m->route = 0;
        return 0;
    }
    pcre2_set_match_limit(mc, GX_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, GX_DEPTH_LIMIT);
    while ((route = next_candidate(hits, pos, k)) >= 0) {
        const compiled *cr = &r->routes[route];
        int rc, i;
        if (!cr->code)
            continue;
        rc = pcre2_match(cr->code, (PCRE2_SPTR)path, len, 0, 0, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc < 0) {       /* match or depth limit: fail closed, never the next route */
            m->route = route;
            m->error = rc;
            m->ngroups = 0;
            m->has_named = 0;
            break;
        }
        {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            int pairs = cr->ngroups + 1 < GX_MAX_CAPTURES + 1 ? cr->ngroups + 1 : GX_MAX_CAPTURES + 1;
            for (i = 0; i < 2 * (GX_MAX_CAPTURES + 1); i++)
                m->ovector[i] = (apr_size_t)-1;
            for (i = 0; i < 2 * pairs; i++)
                m->ovector[i] = i < 2 * rc ? (apr_size_t)ov[i] : (apr_size_t)-1;
        }
        m->route = route;
        m->ngroups = cr->ngroups < GX_MAX_CAPTURES ? cr->ngroups : GX_MAX_CAPTURES;
        m->has_named = cr->has_named;
        break;
    }
    return m->route;
}

int gx_router_count(const gx_router *r)
{
    return r ? r->n : 0;
}

int gx_router_candidates(const gx_router *r, const char *path, apr_size_t len)
{
    const route_list *hits[GX_MAX_PREFIX_HITS];
    int pos[GX_MAX_PREFIX_HITS];
    int k, total = 0, j;
    if (!r)
        return 0;
    {
        apr_pool_t *tmp;
        if (apr_pool_create(&tmp, NULL) != APR_SUCCESS)
            return 0;
        k = collect(r, index_key(r, tmp, path, len), len, hits, pos);
        apr_pool_destroy(tmp);
    }
    for (j = 0; j < k; j++)
        total += hits[j]->n;
    return total;
}

/* gx_pattern: see gx_pattern.h. Reproduces Gramex's _url_normalize
 * (urlsplit + posixpath.normpath + urlunsplit without the fragment) and
 * Tornado's `$` suffix, plus the request-side path preparation. */
#include "gx_pattern.h"
#include "gx_percent.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>

/* Python's posixpath.normpath, on a URL's path */
static char *normpath(apr_pool_t *p, const char *url_path)
{
    int initial = 0, n = 0, i;
    char *copy, *tok, *out;
    const char **comps;
    apr_size_t len = strlen(url_path), pos;
    if (!*url_path)
        return apr_pstrdup(p, ".");
    if (url_path[0] == '/')
        initial = (url_path[1] == '/' && url_path[2] != '/') ? 2 : 1;
    comps = apr_palloc(p, sizeof(char *) * (len + 1));
    copy = apr_pstrdup(p, url_path);
    for (tok = copy; tok; ) {
        char *slash = strchr(tok, '/');
        if (slash)
            *slash = '\0';
        if (*tok && strcmp(tok, ".") != 0) {
            if (strcmp(tok, "..") != 0 || (!initial && n == 0) || (n > 0 && !strcmp(comps[n - 1], "..")))
                comps[n++] = tok;
            else if (n > 0)
                n--;
        }
        tok = slash ? slash + 1 : NULL;
    }
    out = apr_palloc(p, len + 3);
    pos = 0;
    for (i = 0; i < initial; i++)
        out[pos++] = '/';
    for (i = 0; i < n; i++) {
        apr_size_t cl = strlen(comps[i]);
        if (i)
            out[pos++] = '/';
        memcpy(out + pos, comps[i], cl);
        pos += cl;
    }
    out[pos] = '\0';
    return pos ? out : apr_pstrdup(p, ".");
}

static int scheme_char(char c)
{
    return apr_isalnum(c) || c == '+' || c == '-' || c == '.';
}

const char *gx_pattern_normalize(apr_pool_t *p, const char *pattern)
{
    char *url, *w, *colon, *path_end, *netloc = NULL, *query = NULL, *path, *norm;
    const char *scheme = NULL;
    const char *c;
    apr_size_t plen;

    /* urlsplit: strip leading C0/space, drop tab/CR/LF anywhere */
    while (*pattern && (unsigned char)*pattern <= ' ')
        pattern++;
    url = apr_palloc(p, strlen(pattern) + 1);
    for (w = url, c = pattern; *c; c++)
        if (*c != '\t' && *c != '\r' && *c != '\n')
            *w++ = *c;
    *w = '\0';
    colon = strchr(url, ':');
    if (colon && colon > url && apr_isalpha(url[0])) {
        char *s;
        for (s = url; s < colon && scheme_char(*s); s++)
            ;
        if (s == colon) {
            *colon = '\0';
            scheme = apr_pstrdup(p, url);
            for (s = (char *)scheme; *s; s++)
                *s = apr_tolower(*s);
            url = colon + 1;
        }
    }
    if (url[0] == '/' && url[1] == '/') {
        apr_size_t n = strcspn(url + 2, "/?#");
        netloc = apr_pstrmemdup(p, url + 2, n);
        url += 2 + n;
    }
    if ((path_end = strchr(url, '#')))
        *path_end = '\0';                    /* fragment dropped */
    if ((path_end = strchr(url, '?'))) {
        *path_end = '\0';
        query = path_end + 1;
    }
    path = url;
    plen = strlen(path);
    norm = normpath(p, path);
    if (plen && path[plen - 1] == '/' && norm[strlen(norm) - 1] != '/')
        norm = apr_pstrcat(p, norm, "/", NULL);
    /* urlunsplit */
    if (netloc && *netloc) {
        if (*norm && norm[0] != '/')
            norm = apr_pstrcat(p, "/", norm, NULL);
        norm = apr_pstrcat(p, "//", netloc, norm, NULL);
    }
    if (scheme)
        norm = apr_pstrcat(p, scheme, ":", norm, NULL);
    if (query && *query)
        norm = apr_pstrcat(p, norm, "?", query, NULL);
    return norm;
}

const char *gx_pattern_to_regex(apr_pool_t *p, const char *pattern)
{
    const char *n = gx_pattern_normalize(p, pattern);
    apr_size_t len = strlen(n);
    return len && n[len - 1] == '$' ? n : apr_pstrcat(p, n, "$", NULL);
}

gx_sort_key gx_pattern_sort_key(const char *pattern, double priority)
{
    gx_sort_key k = {priority, 0, 0};
    for (; *pattern; pattern++) {
        k.slashes += *pattern == '/';
        k.wildcards += *pattern == '*' || *pattern == '+';
    }
    return k;
}

int gx_sort_key_cmp(const gx_sort_key *a, const gx_sort_key *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->slashes != b->slashes)
        return a->slashes > b->slashes ? -1 : 1;
    if (a->wildcards != b->wildcards)
        return a->wildcards < b->wildcards ? -1 : 1;
    return 0;
}

/* Resolve `.`/`..` segments of a '/'-separated path (never above the root),
 * drop empty segments, keep a trailing slash. `dot_escapes` also treats
 * %2e/%2E as '.'. Output starts with '/' when lead is set. */
static char *resolve_segments(apr_pool_t *p, const char *s, apr_size_t len, int lead,
                              int dot_escapes, int backslash_sep)
{
    char *out = apr_palloc(p, len + 2);
    apr_size_t *starts = apr_palloc(p, sizeof(apr_size_t) * (len + 2));
    apr_size_t o = 0, i = 0;
    int depth = 0, trailing = 0;
    while (i < len) {
        apr_size_t seg_start = i, seg_len;
        char *seg;
        apr_size_t k, sl = 0;
        while (i < len && s[i] != '/' && !(backslash_sep && s[i] == '\\'))
            i++;
        seg_len = i - seg_start;
        trailing = i < len;   /* a separator follows */
        if (i < len)
            i++;
        if (seg_len == 0)
            continue;
        seg = apr_palloc(p, seg_len + 1);
        for (k = 0; k < seg_len; k++) {
            const char *c = s + seg_start + k;
            if (dot_escapes && c[0] == '%' && k + 2 < seg_len
                && c[1] == '2' && (c[2] == 'e' || c[2] == 'E')) {
                seg[sl++] = '.';
                k += 2;
            }
            else {
                seg[sl++] = *c;
            }
        }
        seg[sl] = '\0';
        if (!strcmp(seg, "."))
            continue;
        if (!strcmp(seg, "..")) {
            if (depth > 0)
                o = starts[--depth];
            continue;
        }
        starts[depth++] = o;
        if (lead || o > 0)
            out[o++] = '/';
        memcpy(out + o, seg, sl);
        o += sl;
    }
    if (lead && (o == 0 || trailing))
        out[o++] = '/';
    else if (!lead && trailing && o > 0)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

char *gx_capture_decode(apr_pool_t *p, const char *s, apr_size_t len)
{
    return gx_percent_decode(p, s, len, GX_DECODE_STRICT);
}

char *gx_capture_to_relpath(apr_pool_t *p, const char *decoded)
{
    char *r;
    if (!decoded)
        return NULL;
    /* urljoin('/', g) twice then lstrip('/'): dot segments resolved, never
     * above the root, repeated slashes collapsed. '\' separates too, so a
     * Windows path cannot climb out with ..\ */
    r = resolve_segments(p, decoded, strlen(decoded), 0, 0, 1);
    return r;
}

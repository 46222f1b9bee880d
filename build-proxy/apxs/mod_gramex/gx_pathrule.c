/* gx_pathrule: see gx_pathrule.h. Matching is done directly on the
 * strings (no regex translation), so it runs per request without setup. */
#include "gx_pathrule.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_info.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* [seq] / [!seq] at pat (pointing at '['). Returns the position after ']'
 * and sets *hit, or NULL when there is no closing bracket (then '[' is a
 * literal, as in Python's fnmatch). */
static const char *char_class(const char *pat, char c, int fold, int *hit)
{
    const char *q = pat + 1;
    int negate = 0, found = 0;
    if (*q == '!') {
        negate = 1;
        q++;
    }
    if (*q == ']')          /* a ']' right after '[' or '[!' is a member */
        q++;
    while (*q && *q != ']')
        q++;
    if (!*q)
        return NULL;
    /* members: pat+1(+1 for !) .. q */
    {
        const char *m = pat + 1 + negate;
        while (m < q) {
            char lo = *m, hi = *m;
            if (m + 2 < q && m[1] == '-') {
                hi = m[2];
                m += 3;
            }
            else {
                m++;
            }
            if (fold) {
                char lc = (char)apr_tolower(c);
                if ((lc >= apr_tolower(lo) && lc <= apr_tolower(hi)) || (c >= lo && c <= hi))
                    found = 1;
            }
            else if (c >= lo && c <= hi) {
                found = 1;
            }
        }
    }
    *hit = negate ? !found : found;
    return q + 1;
}

/* Python fnmatch semantics: '*' any run (including '/'), '?' one char. */
static int glob_match(const char *pat, const char *s, int fold)
{
    const char *star_pat = NULL, *star_s = NULL;
    while (*s) {
        if (*pat == '*') {
            while (*pat == '*')
                pat++;
            if (!*pat)
                return 1;
            star_pat = pat;
            star_s = s;
            continue;
        }
        if (*pat == '?') {
            pat++;
            s++;
            continue;
        }
        if (*pat == '[') {
            int hit = 0;
            const char *after = char_class(pat, *s, fold, &hit);
            if (after) {
                if (hit) {
                    pat = after;
                    s++;
                    continue;
                }
                goto backtrack;
            }
        }
        if (*pat && (fold ? apr_tolower(*pat) == apr_tolower(*s) : *pat == *s)) {
            pat++;
            s++;
            continue;
        }
backtrack:
        if (!star_pat)
            return 0;
        pat = star_pat;
        s = ++star_s;
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

int gx_fnmatch(const char *pattern, const char *s, int fold)
{
    return glob_match(pattern, s, fold);
}

int gx_fnmatch_path(const char *pattern, const char *abspath)
{
    /* Gramex: fnmatch(path.lower(), "*" "/" + pattern.lower()) */
    char buf[1024];
    const char *full;
    char *heap = NULL;
    int r;
    apr_size_t n = strlen(pattern);
    if (n + 3 <= sizeof(buf)) {
        buf[0] = '*';
        buf[1] = '/';
        memcpy(buf + 2, pattern, n + 1);
        full = buf;
    }
    else {
        heap = malloc(n + 3);
        if (!heap)
            return 0;
        heap[0] = '*';
        heap[1] = '/';
        memcpy(heap + 2, pattern, n + 1);
        full = heap;
    }
    r = glob_match(full, abspath, 1);
    free(heap);
    return r;
}

int gx_path_matches_any(const apr_array_header_t *patterns, const char *abspath)
{
    int i;
    for (i = 0; patterns && i < patterns->nelts; i++)
        if (gx_fnmatch_path(APR_ARRAY_IDX(patterns, i, const char *), abspath))
            return 1;
    return 0;
}

int gx_path_allowed(const apr_array_header_t *ignore, const apr_array_header_t *allow,
                    const char *abspath)
{
    /* allow only matters once an ignore pattern matched (spec f.5) */
    return !gx_path_matches_any(ignore, abspath) || gx_path_matches_any(allow, abspath);
}

/* ---- compiled pattern sets ------------------------------------------------ */

struct gx_pathset {
    pcre2_code *code;                       /* NULL: compile failed, fall back */
    const apr_array_header_t *patterns;
};

static apr_status_t free_code(void *code)
{
    pcre2_code_free((pcre2_code *)code);
    return APR_SUCCESS;
}

/* Python's fnmatch.translate of one pattern, appended to out */
static char *translate(apr_pool_t *p, const char *pat)
{
    char *out = apr_pstrdup(p, "");
    const char *c = pat;
    while (*c) {
        if (*c == '*') {
            out = apr_pstrcat(p, out, ".*", NULL);
            c++;
        }
        else if (*c == '?') {
            out = apr_pstrcat(p, out, ".", NULL);
            c++;
        }
        else if (*c == '[') {
            const char *q = c + 1;
            if (*q == '!')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q++;
            if (!*q) {                          /* no closing ]: a literal [ */
                out = apr_pstrcat(p, out, "\\[", NULL);
                c++;
                continue;
            }
            {
                const char *m = c + 1;
                char *cls = apr_pstrdup(p, "[");
                if (*m == '!') {
                    cls = apr_pstrcat(p, cls, "^", NULL);
                    m++;
                }
                /* a leading ^ is a member, not a negation, in fnmatch */
                if (*m == '^')
                    cls = apr_pstrcat(p, cls, "\\", NULL);
                for (; m < q; m++) {
                    int escape = *m == '\\' || *m == '[';
                    cls = apr_pstrcat(p, cls, escape ? "\\" : "", apr_pstrmemdup(p, m, 1), NULL);
                }
                out = apr_pstrcat(p, out, cls, "]", NULL);
            }
            c = q + 1;
        }
        else {
            char lit[3] = {0, 0, 0};
            if (!apr_isalnum(*c) && !(*c & 0x80))
                lit[0] = '\\', lit[1] = *c;
            else
                lit[0] = *c;
            out = apr_pstrcat(p, out, lit, NULL);
            c++;
        }
    }
    return out;
}

gx_pathset *gx_pathset_compile(apr_pool_t *p, const apr_array_header_t *patterns)
{
    gx_pathset *set = apr_pcalloc(p, sizeof(*set));
    char *re;
    int i, err;
    PCRE2_SIZE off;
    set->patterns = patterns;
    if (!patterns || !patterns->nelts)
        return set;
    re = apr_pstrdup(p, "^.*/(?:");
    for (i = 0; i < patterns->nelts; i++)
        re = apr_pstrcat(p, re, i ? "|" : "", "(?:",
                         translate(p, APR_ARRAY_IDX(patterns, i, const char *)), ")", NULL);
    re = apr_pstrcat(p, re, ")\\z", NULL);
    set->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                              PCRE2_CASELESS | PCRE2_DOTALL, &err, &off, NULL);
    if (set->code) {
        pcre2_jit_compile(set->code, PCRE2_JIT_COMPLETE);
        apr_pool_cleanup_register(p, set->code, free_code, apr_pool_cleanup_null);
    }
    return set;
}

int gx_pathset_match(const gx_pathset *set, const char *abspath)
{
    pcre2_match_data *md;
    int rc;
    if (!set || !set->patterns || !set->patterns->nelts)
        return 0;
    if (!set->code)
        return gx_path_matches_any(set->patterns, abspath);
    md = pcre2_match_data_create(1, NULL);
    if (!md)
        return gx_path_matches_any(set->patterns, abspath);
    rc = pcre2_match(set->code, (PCRE2_SPTR)abspath, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

int gx_pathset_allowed(const gx_pathset *ignore, const gx_pathset *allow, const char *abspath)
{
    return !gx_pathset_match(ignore, abspath) || gx_pathset_match(allow, abspath);
}

/* ---- pathlib-style glob -------------------------------------------------- */

static int has_magic(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static void glob_walk(apr_pool_t *p, const char *dir, char **parts, int i, int nparts,
                      apr_array_header_t *out);

static void each_entry(apr_pool_t *p, const char *dir, char **parts, int i, int nparts,
                       apr_array_header_t *out, int dirs_only_recursive)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    if (apr_dir_open(&d, dir, p) != APR_SUCCESS)
        return;
    for (;;) {
        const char *child;
        apr_status_t rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d);
        if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
            break;
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, ".."))
            continue;
        child = apr_pstrcat(p, dir, "/", fi.name, NULL);
        if (dirs_only_recursive) {
            if (fi.filetype == APR_DIR) {
                glob_walk(p, child, parts, i + 1, nparts, out);        /* ** = this level */
                each_entry(p, child, parts, i, nparts, out, 1);         /* and deeper */
            }
            continue;
        }
        if (!glob_match(parts[i], fi.name, 0))
            continue;
        if (i + 1 == nparts)
            APR_ARRAY_PUSH(out, const char *) = child;
        else if (fi.filetype == APR_DIR)
            glob_walk(p, child, parts, i + 1, nparts, out);
    }
    apr_dir_close(d);
}

static void glob_walk(apr_pool_t *p, const char *dir, char **parts, int i, int nparts,
                      apr_array_header_t *out)
{
    apr_finfo_t fi;
    if (i == nparts) {
        APR_ARRAY_PUSH(out, const char *) = dir;
        return;
    }
    if (!strcmp(parts[i], "**")) {
        glob_walk(p, dir, parts, i + 1, nparts, out);           /* zero directories */
        each_entry(p, dir, parts, i, nparts, out, 1);
        return;
    }
    if (!has_magic(parts[i])) {
        const char *child = apr_pstrcat(p, dir, "/", parts[i], NULL);
        if (apr_stat(&fi, child, APR_FINFO_TYPE, p) != APR_SUCCESS)
            return;
        if (i + 1 == nparts)
            APR_ARRAY_PUSH(out, const char *) = child;
        else if (fi.filetype == APR_DIR)
            glob_walk(p, child, parts, i + 1, nparts, out);
        return;
    }
    each_entry(p, dir, parts, i, nparts, out, 0);
}

/* pathlib orders matches by their parts: "a/x" before "a-b/x". */
static int by_components(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    while (*x && *y) {
        apr_size_t nx = strcspn(x, "/"), ny = strcspn(y, "/");
        int c = strncmp(x, y, nx < ny ? nx : ny);
        if (c)
            return c;
        if (nx != ny)
            return nx < ny ? -1 : 1;
        x += nx;
        y += ny;
        while (*x == '/')
            x++;
        while (*y == '/')
            y++;
    }
    return *x ? 1 : *y ? -1 : 0;
}

apr_array_header_t *gx_glob(apr_pool_t *p, const char *dir, const char *pattern)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    char *copy = apr_pstrdup(p, pattern), *tok, *last;
    char **parts = apr_palloc(p, sizeof(char *) * (strlen(pattern) + 1));
    int n = 0, i, j;
    for (tok = apr_strtok(copy, "/\\", &last); tok; tok = apr_strtok(NULL, "/\\", &last))
        if (strcmp(tok, "."))
            parts[n++] = tok;
    if (n)
        glob_walk(p, dir, parts, 0, n, out);
    qsort(out->elts, out->nelts, sizeof(const char *), by_components);
    /* '**' can reach one path twice; keep the first */
    for (i = j = 0; i < out->nelts; i++)
        if (!j || strcmp(APR_ARRAY_IDX(out, j - 1, const char *), APR_ARRAY_IDX(out, i, const char *)))
            APR_ARRAY_IDX(out, j++, const char *) = APR_ARRAY_IDX(out, i, const char *);
    out->nelts = j;
    return out;
}

/* gx_pathrule: see gx_pathrule.h. One matching engine for every fnmatch
 * use: a pattern is translated once, as Python's fnmatch.translate does,
 * into a small program of single-character steps and '*', which runs on
 * the decoded text. gx_fnmatch* translate on the fly; a gx_pathset keeps
 * the translations, so both decide the same by construction. */
#include "gx_pathrule.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_info.h>
#include <stdlib.h>
#include <string.h>

/* ---- text as Python sees it ----------------------------------------------- */

/* One code point of s (left > 0 bytes). Invalid UTF-8 decodes one byte at a
 * time to U+DC80..U+DCFF, as Python's surrogateescape does for file names,
 * so '?' is one character and ranges compare code points. */
static unsigned decode(const unsigned char *s, apr_size_t left, apr_size_t *used)
{
    unsigned c = s[0], cp, min;
    apr_size_t n, i;
    *used = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0xDC00 + c;
    if (left < n)
        return 0xDC00 + c;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xDC00 + c;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0xDC00 + c;
    *used = n;
    return cp;
}

/* Gramex lowercases path and pattern (str.lower()); ASCII letters only here,
 * see docs/decisions.md. */
static unsigned fold_cp(unsigned c, int fold)
{
    return fold && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ---- translation ------------------------------------------------------------ */

enum { OP_LIT, OP_ANY, OP_STAR, OP_SET };

typedef struct {
    unsigned lo, hi;
} cp_range;

typedef struct {
    int kind;
    int negate;             /* OP_SET: [!...] */
    unsigned cp;            /* OP_LIT */
    int first, count;       /* OP_SET: ranges[first .. first + count) */
} glob_op;

typedef struct {
    glob_op *ops;
    int nops;
    cp_range *ranges;
    int nranges;
    int fold;
} glob_prog;

/* Room a pattern of `bytes` bytes (plus a 2-byte prefix) can need. */
typedef struct {
    unsigned *cps;          /* decoded pattern */
    unsigned *elem;         /* set members being built */
    char *is_sep;
    glob_op *ops;
    cp_range *ranges;
} glob_room;

static apr_size_t room_size(apr_size_t bytes)
{
    apr_size_t n = bytes + 3;
    return n * (2 * sizeof(unsigned) + 1 + sizeof(glob_op) + sizeof(cp_range)) + 16;
}

static void room_carve(glob_room *r, char *mem, apr_size_t bytes)
{
    apr_size_t n = bytes + 3;
    r->ops = (glob_op *)mem;
    r->ranges = (cp_range *)(r->ops + n);
    r->cps = (unsigned *)(r->ranges + n);
    r->elem = r->cps + n;
    r->is_sep = (char *)(r->elem + n);
}

/* The members of [content], content = p[i..j), as fnmatch.translate (3.11)
 * resolves them: '-' between two characters is a range, ranges whose ends
 * are reversed are removed with their ends, every other character
 * (including '^', '[', '\\') is itself, and a '!' first in what is left
 * negates (so "[[-3!]", whose range is removed, is "[!]": any character). */
static void add_set(glob_prog *g, glob_room *r, const unsigned *p, int i, int j)
{
    glob_op *op = &g->ops[g->nops++];
    int m = 0, k, x, has_dash = 0;
    op->kind = OP_SET;
    op->first = g->nranges;
    for (k = i; k < j; k++)
        has_dash |= p[k] == '-';
    if (!has_dash) {
        for (k = i; k < j; k++)
            r->elem[m] = p[k], r->is_sep[m++] = 0;
    }
    else {
        /* chunks split at '-' (searching from one past the first member,
         * or two past a leading '!'); each split '-' is a range operator */
        int chunk_start = i, last_dash = -1;
        k = p[i] == '!' ? i + 2 : i + 1;
        for (;;) {
            int d = -1;
            for (x = k; x < j; x++)
                if (p[x] == '-') {
                    d = x;
                    break;
                }
            if (d < 0)
                break;
            for (x = chunk_start; x < d; x++)
                r->elem[m] = p[x], r->is_sep[m++] = 0;
            r->elem[m] = '-', r->is_sep[m++] = 1;
            last_dash = m - 1;
            chunk_start = d + 1;
            k = d + 3;
        }
        if (chunk_start >= j && last_dash >= 0)
            r->is_sep[last_dash] = 0;      /* empty last chunk: the '-' is itself */
        for (x = chunk_start; x < j; x++)
            r->elem[m] = p[x], r->is_sep[m++] = 0;
        /* remove reversed ranges, right to left, with their ends */
        for (x = m - 1; x > 0; x--) {
            if (!r->is_sep[x] || x + 1 >= m)
                continue;
            if (r->elem[x - 1] > r->elem[x + 1]) {
                memmove(r->elem + x - 1, r->elem + x + 2, (m - x - 2) * sizeof(*r->elem));
                memmove(r->is_sep + x - 1, r->is_sep + x + 2, (m - x - 2));
                m -= 3;
                x--;
            }
        }
    }
    op->negate = m > 0 && r->elem[0] == '!' && !r->is_sep[0];
    for (x = op->negate; x < m; x++) {
        cp_range *rg = &g->ranges[g->nranges++];
        rg->lo = rg->hi = r->elem[x];
        if (x + 2 < m && r->is_sep[x + 1]) {
            rg->hi = r->elem[x + 2];
            x += 2;
        }
    }
    op->count = g->nranges - op->first;
}

/* Translate prefix + pattern (bytes) into g, using r for room. */
static void translate(glob_prog *g, glob_room *r, const char *prefix, const char *pattern,
                      apr_size_t len, int fold)
{
    const unsigned char *s = (const unsigned char *)pattern;
    apr_size_t at = 0, used;
    int n = 0, i = 0;
    for (; prefix && *prefix; prefix++)
        r->cps[n++] = (unsigned char)*prefix;
    while (at < len) {
        r->cps[n++] = fold_cp(decode(s + at, len - at, &used), fold);
        at += used;
    }
    g->ops = r->ops;
    g->ranges = r->ranges;
    g->nops = g->nranges = 0;
    g->fold = fold;
    while (i < n) {
        unsigned c = r->cps[i++];
        glob_op *op;
        if (c == '[') {
            int j = i;
            if (j < n && r->cps[j] == '!')
                j++;
            if (j < n && r->cps[j] == ']')
                j++;
            while (j < n && r->cps[j] != ']')
                j++;
            if (j < n) {
                add_set(g, r, r->cps, i, j);
                i = j + 1;
                continue;
            }
        }
        if (c == '*' && g->nops && g->ops[g->nops - 1].kind == OP_STAR)
            continue;
        op = &g->ops[g->nops++];
        op->kind = c == '*' ? OP_STAR : c == '?' ? OP_ANY : OP_LIT;
        op->cp = c;
    }
}

/* ---- matching --------------------------------------------------------------- */

static int step_matches(const glob_prog *g, const glob_op *op, unsigned c)
{
    int k;
    switch (op->kind) {
    case OP_ANY:
        return 1;
    case OP_LIT:
        return op->cp == c;
    default:
        for (k = 0; k < op->count; k++)
            if (c >= g->ranges[op->first + k].lo && c <= g->ranges[op->first + k].hi)
                return !op->negate;
        return op->negate;
    }
}

/* Whole-string match; '*' steps backtrack one at a time (linear memory,
 * at most len x steps work, never exponential). */
static int run(const glob_prog *g, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    apr_size_t len = strlen(text), si = 0, star_si = 0, used;
    int pi = 0, star_pi = -1;
    while (si < len) {
        unsigned c;
        if (pi < g->nops && g->ops[pi].kind == OP_STAR) {
            star_pi = ++pi;
            star_si = si;
            continue;
        }
        c = fold_cp(decode(s + si, len - si, &used), g->fold);
        if (pi < g->nops && step_matches(g, &g->ops[pi], c)) {
            pi++;
            si += used;
            continue;
        }
        if (star_pi < 0)
            return 0;
        pi = star_pi;
        decode(s + star_si, len - star_si, &used);
        si = star_si += used;
    }
    while (pi < g->nops && g->ops[pi].kind == OP_STAR)
        pi++;
    return pi == g->nops;
}

/* Translate into stack room when small, else heap, run, release. */
static int match_once(const char *prefix, const char *pattern, const char *s, int fold)
{
    union { long long align; char bytes[8192]; } stack;
    apr_size_t len = strlen(pattern) + (prefix ? strlen(prefix) : 0);
    apr_size_t need = room_size(len);
    char *mem = need <= sizeof(stack) ? stack.bytes : malloc(need);
    glob_room r;
    glob_prog g;
    int hit;
    if (!mem)
        return 0;
    room_carve(&r, mem, len);
    translate(&g, &r, prefix, pattern, strlen(pattern), fold);
    hit = run(&g, s);
    if (mem != stack.bytes)
        free(mem);
    return hit;
}

int gx_fnmatch(const char *pattern, const char *s, int fold)
{
    return match_once(NULL, pattern, s, fold);
}

int gx_fnmatch_path(const char *pattern, const char *abspath)
{
    /* Gramex: fnmatch(path.lower(), "*" "/" + pattern.lower()) */
    return match_once("*/", pattern, abspath, 1);
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

/* The same translations as gx_fnmatch_path, made once: a request pays no
 * translation and no allocation. */
struct gx_pathset {
    int n;
    glob_prog *progs;
};

gx_pathset *gx_pathset_compile(apr_pool_t *p, const apr_array_header_t *patterns)
{
    gx_pathset *set = apr_pcalloc(p, sizeof(*set));
    int i;
    if (!patterns || !patterns->nelts)
        return set;
    set->progs = apr_pcalloc(p, patterns->nelts * sizeof(*set->progs));
    for (i = 0; i < patterns->nelts; i++) {
        const char *pat = APR_ARRAY_IDX(patterns, i, const char *);
        apr_size_t len = strlen(pat) + 2;
        glob_room r;
        room_carve(&r, apr_palloc(p, room_size(len)), len);
        translate(&set->progs[set->n++], &r, "*/", pat, strlen(pat), 1);
    }
    return set;
}

int gx_pathset_match(const gx_pathset *set, const char *abspath)
{
    int i;
    for (i = 0; set && i < set->n; i++)
        if (run(&set->progs[i], abspath))
            return 1;
    return 0;
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
        if (!gx_fnmatch(parts[i], fi.name, 0))
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

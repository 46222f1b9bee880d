/* allow/ignore, differential: input = pattern "\n" path. The project's one
 * engine (gx_fnmatch_path, and gx_pathset_match, which must agree with it)
 * against a straightforward reference: Python 3.11's fnmatch.translate
 * ported line by line to a PCRE2 regex, applied as Gramex applies it
 * (ASCII-lowercased path and "*" "/" pattern). The reference needs valid
 * UTF-8; other inputs still run the engine for crashes. */
#include "fuzz_common.h"
#include "gx_pathrule.h"
#include <apr_strings.h>
#include <stdio.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* valid UTF-8 -> code points (ASCII-lowercased); -1 if not valid */
static int decode_all(apr_pool_t *p, const char *s, unsigned **out)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned *cps = apr_palloc(p, (strlen(s) + 1) * sizeof(*cps));
    int n = 0;
    while (*u) {
        unsigned c = *u, cp;
        int len, i;
        if (c < 0x80) len = 1, cp = c;
        else if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
        else return -1;
        for (i = 1; i < len; i++) {
            if ((u[i] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (u[i] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return -1;
        cps[n++] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        u += len;
    }
    *out = cps;
    return n;
}

static char *lit(apr_pool_t *p, unsigned c)
{
    return apr_psprintf(p, "\\x{%x}", c);
}

typedef struct {
    unsigned *c;
    int n;
} chunk;

/* fnmatch.translate (CPython 3.11 Lib/fnmatch.py), '*' as '.*' */
static char *translate(apr_pool_t *p, const unsigned *pat, int n)
{
    char *res = "";
    int i = 0;
    while (i < n) {
        unsigned c = pat[i++];
        if (c == '*') {
            if (!*res || strcmp(res + strlen(res) - 2, ".*"))
                res = apr_pstrcat(p, res, ".*", NULL);
        }
        else if (c == '?') {
            res = apr_pstrcat(p, res, ".", NULL);
        }
        else if (c == '[') {
            int j = i;
            if (j < n && pat[j] == '!')
                j++;
            if (j < n && pat[j] == ']')
                j++;
            while (j < n && pat[j] != ']')
                j++;
            if (j >= n) {
                res = apr_pstrcat(p, res, lit(p, '['), NULL);
            }
            else {
                chunk *chunks = apr_palloc(p, (j - i + 2) * sizeof(*chunks));
                int nch = 0, k, x, dash = 0, neg;
                char *stuff = "";
                for (x = i; x < j; x++)
                    dash |= pat[x] == '-';
                if (!dash) {
                    chunks[nch].c = (unsigned *)pat + i;
                    chunks[nch++].n = j - i;
                }
                else {
                    k = pat[i] == '!' ? i + 2 : i + 1;
                    for (;;) {
                        int f = -1;
                        for (x = k; x < j; x++)
                            if (pat[x] == '-') {
                                f = x;
                                break;
                            }
                        if (f < 0)
                            break;
                        chunks[nch].c = (unsigned *)pat + i;
                        chunks[nch++].n = f - i;
                        i = f + 1;
                        k = f + 3;
                    }
                    if (j - i > 0) {
                        chunks[nch].c = (unsigned *)pat + i;
                        chunks[nch++].n = j - i;
                    }
                    else {          /* chunks[-1] += '-' */
                        chunk *l = &chunks[nch - 1];
                        unsigned *c2 = apr_palloc(p, (l->n + 1) * sizeof(*c2));
                        memcpy(c2, l->c, l->n * sizeof(*c2));
                        c2[l->n] = '-';
                        l->c = c2;
                        l->n++;
                    }
                    for (k = nch - 1; k > 0; k--) {
                        if (chunks[k - 1].c[chunks[k - 1].n - 1] > chunks[k].c[0]) {
                            chunk *a = &chunks[k - 1], *b = &chunks[k];
                            unsigned *c2 = apr_palloc(p, (a->n + b->n) * sizeof(*c2));
                            memcpy(c2, a->c, (a->n - 1) * sizeof(*c2));
                            memcpy(c2 + a->n - 1, b->c + 1, (b->n - 1) * sizeof(*c2));
                            a->c = c2;
                            a->n = a->n - 1 + b->n - 1;
                            memmove(chunks + k, chunks + k + 1, (nch - k - 1) * sizeof(*chunks));
                            nch--;
                        }
                    }
                }
                i = j + 1;
                neg = nch && chunks[0].n && chunks[0].c[0] == '!';
                {
                    int total = 0;
                    for (k = 0; k < nch; k++)
                        total += chunks[k].n + (k > 0);
                    if (total == 0) {
                        res = apr_pstrcat(p, res, "(?!)", NULL);
                        continue;
                    }
                    if (total == 1 && neg) {
                        res = apr_pstrcat(p, res, ".", NULL);
                        continue;
                    }
                }
                for (k = 0; k < nch; k++) {
                    if (k)
                        stuff = apr_pstrcat(p, stuff, "-", NULL);
                    for (x = (k == 0 && neg); x < chunks[k].n; x++)
                        stuff = apr_pstrcat(p, stuff, lit(p, chunks[k].c[x]), NULL);
                }
                res = apr_pstrcat(p, res, "[", neg ? "^" : "", stuff, "]", NULL);
            }
        }
        else {
            res = apr_pstrcat(p, res, lit(p, c), NULL);
        }
    }
    return apr_pstrcat(p, "\\A(?:", res, ")\\z", NULL);
}

static int reference(apr_pool_t *p, const char *pattern, const char *path)
{
    unsigned *pc, *sc;
    int np = decode_all(p, apr_pstrcat(p, "*/", pattern, NULL), &pc);
    int ns = decode_all(p, path, &sc), i, err, rc;
    PCRE2_SIZE off;
    pcre2_code *re;
    pcre2_match_data *md;
    char *subject = "";
    if (np < 0 || ns < 0)
        return -1;
    for (i = 0; i < ns; i++) {       /* re-encode the lowercased subject */
        char buf[8];
        unsigned c = sc[i];
        int n = 0;
        if (c < 0x80) buf[n++] = (char)c;
        else if (c < 0x800) buf[n++] = (char)(0xC0 | c >> 6), buf[n++] = (char)(0x80 | (c & 0x3F));
        else if (c < 0x10000) buf[n++] = (char)(0xE0 | c >> 12),
                              buf[n++] = (char)(0x80 | ((c >> 6) & 0x3F)),
                              buf[n++] = (char)(0x80 | (c & 0x3F));
        else buf[n++] = (char)(0xF0 | c >> 18), buf[n++] = (char)(0x80 | ((c >> 12) & 0x3F)),
             buf[n++] = (char)(0x80 | ((c >> 6) & 0x3F)), buf[n++] = (char)(0x80 | (c & 0x3F));
        buf[n] = '\0';
        subject = apr_pstrcat(p, subject, buf, NULL);
    }
    re = pcre2_compile((PCRE2_SPTR)translate(p, pc, np), PCRE2_ZERO_TERMINATED,
                       PCRE2_UTF | PCRE2_DOTALL, &err, &off, NULL);
    if (!re)
        abort();                    /* the reference must always compile */
    md = pcre2_match_data_create(1, NULL);
    rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (rc < -1)
        return -1;                  /* match limit: no verdict */
    return rc >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *rest;
    const char *pattern;
    apr_array_header_t *one;
    int engine, set, ref;
    if (size > 512)
        return 0;                   /* the reference is quadratic in apr_pstrcat */
    p = fuzz_pool();
    rest = fuzz_text(p, data, size);
    pattern = fuzz_split(&rest, "\n");
    one = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(one, const char *) = pattern;
    engine = gx_fnmatch_path(pattern, rest);
    set = gx_pathset_match(gx_pathset_compile(p, one), rest);
    gx_fnmatch(pattern, rest, 0);
    if (engine != set)
        abort();
    ref = reference(p, pattern, rest);
    if (ref >= 0 && ref != engine) {
        fprintf(stderr, "engine %d, reference %d for pattern [%s] path [%s]\n", engine, ref,
                pattern, rest);
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}

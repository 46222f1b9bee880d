/* gx_canon: see gx_canon.h. */
#include "gx_canon.h"
#include "gx_percent.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>

/* RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~" */
static int is_unreserved(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_path_char(unsigned char c)
{
    return is_unreserved(c) || (c && strchr("!$&'()*+,;=:@/", c) != NULL);
}

/* Pass 1: decode unreserved escapes, upper-case the others, refuse what
 * could change the path's structure once decoded later. */
static gx_canon_status decode_unreserved(const char *raw, apr_size_t len, char *out,
                                         apr_size_t *olen)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t i, o = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '\0' || c == '\\')
            return GX_CANON_FORBIDDEN;
        if (c != '%') {
            out[o++] = (char)c;
            continue;
        }
        {
            int hi, lo;
            if (i + 2 >= len)
                return GX_CANON_BAD_ESCAPE;
            hi = gx_hex_value(raw[i + 1]);
            lo = gx_hex_value(raw[i + 2]);
            if (hi < 0 || lo < 0)
                return GX_CANON_BAD_ESCAPE;
            c = (unsigned char)(hi * 16 + lo);
        }
        if (c == '\0' || c == '/' || c == '\\')
            return GX_CANON_FORBIDDEN;
        if (is_unreserved(c)) {
            out[o++] = (char)c;
        }
        else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
        i += 2;
    }
    *olen = o;
    return GX_CANON_OK;
}

/* Pass 2: resolve '.' and '..' segments and merge '/' runs, in place.
 * A trailing '/' (or a final '.'/'..' segment) keeps the path a directory. */
static apr_size_t resolve_segments(char *s, apr_size_t len)
{
    apr_size_t i = 0, o = 0;
    int dir = 0;
    while (i < len) {
        apr_size_t start, n;
        while (i < len && s[i] == '/')
            i++;
        if (i >= len) {
            dir = 1;
            break;
        }
        start = i;
        while (i < len && s[i] != '/')
            i++;
        n = i - start;
        dir = 0;
        if (n == 1 && s[start] == '.') {
            dir = 1;
            continue;
        }
        if (n == 2 && s[start] == '.' && s[start + 1] == '.') {
            while (o > 0 && s[o - 1] != '/')
                o--;
            if (o > 0)
                o--;            /* drop the '/' before the removed segment */
            dir = 1;
            continue;
        }
        s[o++] = '/';
        memmove(s + o, s + start, n);
        o += n;
    }
    if (o == 0 || dir)
        s[o++] = '/';
    s[o] = '\0';
    return o;
}

gx_canon_status gx_canon_path(apr_pool_t *p, const char *raw, apr_size_t len, char **out)
{
    char *buf;
    apr_size_t n = 0;
    gx_canon_status st;
    *out = NULL;
    if (!raw || len == 0 || raw[0] != '/')
        return GX_CANON_NOT_ABSOLUTE;
    buf = apr_palloc(p, len + 2);
    st = decode_unreserved(raw, len, buf, &n);
    if (st != GX_CANON_OK)
        return st;
    resolve_segments(buf, n);
    *out = buf;
    return GX_CANON_OK;
}

char *gx_path_encode(apr_pool_t *p, const char *decoded)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t n = strlen(decoded), i, o = 0;
    char *out = apr_palloc(p, 3 * n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)decoded[i];
        if (is_path_char(c)) {
            out[o++] = (char)c;
        }
        else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* gx_percent: see gx_percent.h. */
#include "gx_percent.h"

int gx_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int gx_utf8_valid(const char *str, apr_size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    apr_size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        int extra, k;
        unsigned long cp;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { extra = 1; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { extra = 2; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { extra = 3; cp = c & 0x07; }
        else return 0;
        if (i + extra >= n)
            return 0;
        for (k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)
            || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += extra + 1;
    }
    return 1;
}

char *gx_percent_decode(apr_pool_t *p, const char *s, apr_size_t len, int flags)
{
    char *out = apr_palloc(p, len + 1);
    apr_size_t i, o = 0;
    for (i = 0; i < len; i++) {
        int hi, lo;
        char c = s[i];
        if (c == '%' && i + 2 < len
            && (hi = gx_hex_value(s[i + 1])) >= 0 && (lo = gx_hex_value(s[i + 2])) >= 0) {
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        else if (c == '+' && (flags & GX_DECODE_PLUS)) {
            c = ' ';
        }
        /* a NUL can only be an attack on a C path */
        if (c == '\0' && (flags & GX_DECODE_STRICT))
            return NULL;
        out[o++] = c;
    }
    out[o] = '\0';
    if ((flags & GX_DECODE_STRICT) && !gx_utf8_valid(out, o))
        return NULL;
    return out;
}

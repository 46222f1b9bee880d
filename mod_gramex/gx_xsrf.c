/* gx_xsrf: see gx_xsrf.h */
#include "gx_xsrf.h"
#include "gx_percent.h"
#include <apr_cstr.h>
#include <apr_strings.h>
#include <string.h>

#define GX_XSRF_MISSING "'_xsrf' argument missing from POST"

/* Tornado checks XSRF on the methods that are not "safe" */
static int checked_method(const char *m)
{
    return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") || !strcmp(m, "PATCH");
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
    for (i = 0; i < len; i += 2) {
        int hi = gx_hex_value(s[i]), lo = gx_hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return NULL;
        out[i / 2] = (unsigned char)(hi * 16 + lo);
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

const char *gx_xsrf_refusal(apr_pool_t *p, gx_xsrf check, const gx_request_in *in)
{
    const char *ct = in->content_type, *token;
    int ajax = (in->requested_with && !apr_cstr_casecmp(in->requested_with, "xmlhttprequest"))
               || (in->fetch_mode && !apr_cstr_casecmp(in->fetch_mode, "cors"));
    if (check == GX_XSRF_OFF || !checked_method(in->method) || (check == GX_XSRF_GRAMEX && ajax))
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

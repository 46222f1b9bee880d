/* gx_percent: the one percent-decoder, as a captured group (Tornado's
 * unquote: '+' kept, NUL and invalid UTF-8 refused) and as a query string
 * (parse_qs: '+' is a space, anything else as decoded). Expected values are
 * Python's urllib.parse.unquote / unquote_plus on the same input. */
#include "gx_test.h"
#include "gx_percent.h"

#define DEC(s, flags) gx_percent_decode(p, (s), sizeof(s) - 1, (flags))

static void escapes(apr_pool_t *p)
{
    CHECK_STR(DEC("a%20b%2Fc", 0), "a b/c");
    CHECK_STR(DEC("%41%62%7e%7E", 0), "Ab~~");          /* either case of hex digit */
    CHECK_STR(DEC("x%41", 0), "xA");                    /* an escape ending the text */
    /* malformed escapes stay as written */
    CHECK_STR(DEC("100%", 0), "100%");
    CHECK_STR(DEC("%4", 0), "%4");
    CHECK_STR(DEC("%zz%4g", 0), "%zz%4g");
    CHECK_STR(DEC("%%41", 0), "%A");
    CHECK_STR(DEC("", 0), "");
    /* only len bytes are read: the rest of the string is not decoded */
    CHECK_STR(gx_percent_decode(p, "ab%41", 3, 0), "ab%");
}

static void plus(apr_pool_t *p)
{
    CHECK_STR(DEC("a+b%2B", 0), "a+b+");                /* unquote */
    CHECK_STR(DEC("a+b%2B", GX_DECODE_PLUS), "a b+");   /* unquote_plus */
    CHECK_STR(DEC("+", GX_DECODE_PLUS | GX_DECODE_STRICT), " ");
}

static void strict(apr_pool_t *p)
{
    CHECK_STR(DEC("%C3%A9", GX_DECODE_STRICT), "\xc3\xa9");
    CHECK_STR(DEC("%F0%9F%98%80", GX_DECODE_STRICT), "\xf0\x9f\x98\x80");
    CHECK(DEC("%FF", GX_DECODE_STRICT) == NULL);
    CHECK(DEC("%C3", GX_DECODE_STRICT) == NULL);        /* truncated sequence */
    CHECK(DEC("%C0%AF", GX_DECODE_STRICT) == NULL);     /* overlong '/' */
    CHECK(DEC("%ED%A0%80", GX_DECODE_STRICT) == NULL);  /* a surrogate */
    CHECK(DEC("a%00b", GX_DECODE_STRICT) == NULL);
    CHECK(gx_percent_decode(p, "a\0b", 3, GX_DECODE_STRICT) == NULL);
    /* not strict: what was sent, as decoded (a value cut at its NUL) */
    CHECK_STR(DEC("%FF", 0), "\xff");
    CHECK_STR(DEC("a%00b", GX_DECODE_PLUS), "a");
}

static void utf8(apr_pool_t *p)
{
    (void)p;
    CHECK(gx_utf8_valid("", 0));
    CHECK(gx_utf8_valid("plain", 5));
    CHECK(gx_utf8_valid("\xf4\x8f\xbf\xbf", 4));        /* U+10FFFF */
    CHECK(!gx_utf8_valid("\xf4\x90\x80\x80", 4));       /* past U+10FFFF */
    CHECK(!gx_utf8_valid("\xe0\x80\xaf", 3));           /* overlong */
    CHECK(!gx_utf8_valid("\x80", 1));                   /* a lone continuation byte */
    CHECK(!gx_utf8_valid("\xc3\xa9", 1));               /* cut short by n */
}

TEST_MAIN_BEGIN
    RUN(escapes);
    RUN(plus);
    RUN(strict);
    RUN(utf8);
TEST_MAIN_END

/* gx_pattern: Gramex's pattern normalisation, sort keys and request path
 * handling. Expected values come from Python's urlsplit/posixpath on the same
 * inputs (spec e.2 table, oracle fixture url-edge-cases). */
#include "gx_test.h"
#include "gx_pattern.h"

static void regexes(apr_pool_t *p)
{
    /* spec e.2 */
    CHECK_STR(gx_pattern_to_regex(p, "/./page/?"), "/page/$");
    CHECK_STR(gx_pattern_to_regex(p, "/./h#frag"), "/h$");
    CHECK_STR(gx_pattern_to_regex(p, "/./anchored$"), "/anchored$");
    CHECK_STR(gx_pattern_to_regex(p, "//.//x//y/"), "//.//x/y/$");
    CHECK_STR(gx_pattern_to_regex(p, "/./../renamed/page"), "/renamed/page$");
    CHECK_STR(gx_pattern_to_regex(p, "/(.*)\\.html"), "/(.*)\\.html$");
    /* b.2 YAMLURL table */
    CHECK_STR(gx_pattern_to_regex(p, "/./page"), "/page$");
    CHECK_STR(gx_pattern_to_regex(p, "/./app1/ui/page"), "/app1/ui/page$");
    CHECK_STR(gx_pattern_to_regex(p, "/../outside/x/page"), "/outside/x/page$");
    CHECK_STR(gx_pattern_to_regex(p, "//page"), "//page/.$");
    /* a query part survives, an empty one disappears */
    CHECK_STR(gx_pattern_to_regex(p, "/a?b"), "/a?b$");
    CHECK_STR(gx_pattern_to_regex(p, "/a?"), "/a$");
    CHECK_STR(gx_pattern_to_regex(p, "/a/(.*)/"), "/a/(.*)/$");
    CHECK_STR(gx_pattern_to_regex(p, "/"), "/$");
}

static void sort_keys(apr_pool_t *p)
{
    gx_sort_key high = gx_pattern_sort_key("/(.*)\\.html", 1);
    gx_sort_key dots = gx_pattern_sort_key("/./../renamed/page", 0);
    gx_sort_key num = gx_pattern_sort_key("/./num", 0);
    gx_sort_key low = gx_pattern_sort_key("/./a/b/c/(.*)", -1);
    gx_sort_key fav = gx_pattern_sort_key("/favicon.ico", -90);
    gx_sort_key def = gx_pattern_sort_key("/(.*)", -100);
    (void)p;
    CHECK_INT(dots.slashes, 4);
    CHECK_INT(num.slashes, 2);
    CHECK_INT(low.wildcards, 1);
    CHECK(gx_sort_key_cmp(&high, &dots) < 0);
    CHECK(gx_sort_key_cmp(&dots, &num) < 0);
    CHECK(gx_sort_key_cmp(&num, &low) < 0);
    CHECK(gx_sort_key_cmp(&low, &fav) < 0);
    CHECK(gx_sort_key_cmp(&fav, &def) < 0);
    CHECK(gx_sort_key_cmp(&def, &def) == 0);
}

static void captures(apr_pool_t *p)
{
    CHECK_STR(gx_capture_decode(p, "a%20b%2Fc+d", 11), "a b/c+d");
    CHECK_STR(gx_capture_decode(p, "100%", 4), "100%");            /* malformed stays */
    CHECK_STR(gx_capture_decode(p, "%C3%A9", 6), "\xc3\xa9");
    CHECK(gx_capture_decode(p, "%FF", 3) == NULL);                  /* invalid UTF-8: 400 */
    CHECK(gx_capture_decode(p, "a%00b", 5) == NULL);                /* NUL refused */
    CHECK_STR(gx_capture_to_relpath(p, "../../etc/passwd"), "etc/passwd");
    CHECK_STR(gx_capture_to_relpath(p, "//x"), "x");
    CHECK_STR(gx_capture_to_relpath(p, "a/./b/../c"), "a/c");
    CHECK_STR(gx_capture_to_relpath(p, "..\\..\\windows\\win.ini"), "windows/win.ini");
    CHECK_STR(gx_capture_to_relpath(p, "dir/"), "dir/");
    CHECK_STR(gx_capture_to_relpath(p, ""), "");
}

TEST_MAIN_BEGIN
    RUN(regexes);
    RUN(sort_keys);
    RUN(captures);
TEST_MAIN_END

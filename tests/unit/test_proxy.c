/* gx_proxy: ProxyHandler targets, query merging and request_headers (spec
 * g.1). Expected queries were computed with the lines of Gramex's
 * ProxyHandler.get (default dict, parse_qs of the target's query, the
 * request's arguments as Tornado parses them, urlencode(doseq=True)). */
#include "gx_test.h"
#include "gx_yaml.h"
#include "gx_proxy.h"

static gx_node *kwargs(apr_pool_t *p, const char *text)
{
    gx_node *n = NULL;
    gx_diags *d = gx_diags_make(p);
    gx_yaml_parse_string(p, text, strlen(text), "/app/gramex.yaml", 1, &n, d);
    CHECK_INT(d->errors, 0);
    return n;
}

static void escape(apr_pool_t *p)
{
    CHECK_STR(gx_proxy_escape(p, "a b/c"), "a%20b/c");
    CHECK_STR(gx_proxy_escape(p, "x?y=1&z#f"), "x%3Fy%3D1%26z%23f");
    CHECK_STR(gx_proxy_escape(p, "100%+1"), "100%25%2B1");
    CHECK_STR(gx_proxy_escape(p, "~user/a-b_c.d:e@f!$'()*,;"), "~user/a-b_c.d:e@f!$'()*,;");
    CHECK_STR(gx_proxy_escape(p, "\xc3\xa9\n"), "%C3%A9%0A");
    CHECK_STR(gx_proxy_escape(p, ""), "");
}

static void target(apr_pool_t *p)
{
    const char *caps[] = {"a b", "x&y=1"};
    CHECK_STR(gx_proxy_target(p, "http://h:8/{0}", caps, 1), "http://h:8/a%20b");
    /* a capture in the query cannot add parameters */
    CHECK_STR(gx_proxy_target(p, "http://h/{0}?q={1}", caps, 2), "http://h/a%20b?q=x%26y%3D1");
    CHECK_STR(gx_proxy_target(p, "http://h/{}/{}", caps, 2), "http://h/a%20b/x%26y%3D1");
    CHECK_STR(gx_proxy_target(p, "http://h/{{0}}", caps, 1), "http://h/{0}");
    CHECK_STR(gx_proxy_target(p, "http://h/fixed", NULL, 0), "http://h/fixed");
    CHECK(gx_proxy_target(p, "http://h/{1}", caps, 1) == NULL);     /* IndexError in Python */
    CHECK(gx_proxy_target(p, "http://h/{0", caps, 1) == NULL);
}

static void query(apr_pool_t *p)
{
    gx_proxy_conf *c = gx_proxy_conf_make(p, kwargs(p, "default: {d: 1}\n"));
    CHECK_STR(gx_proxy_query(p, c, "fixed=1", "x=1&d=9"), "d=9&fixed=1&x=1");   /* spec g.1 */
    CHECK_STR(gx_proxy_query(p, c, NULL, NULL), "d=1");
    c = gx_proxy_conf_make(p, NULL);
    /* parse_qs drops the target's blanks; the request's are kept */
    CHECK_STR(gx_proxy_query(p, c, "a=&b=2", "c=&a=x+y%20z"), "b=2&c=&a=x+y+z");
    CHECK_STR(gx_proxy_query(p, c, "", "n=%C3%A9&m=~*'()/"), "n=%C3%A9&m=~%2A%27%28%29%2F");
    CHECK_STR(gx_proxy_query(p, c, "x", "y=%zz&z=1%2"), "y=%25zz&z=1%252");
    CHECK_STR(gx_proxy_query(p, c, NULL, NULL), "");
    c = gx_proxy_conf_make(p, kwargs(p, "default: {l: [1, 2], s: 'a b&c'}\n"));
    CHECK_STR(gx_proxy_query(p, c, "l=3", ""), "l=3&s=a+b%26c");
    CHECK_STR(gx_proxy_query(p, c, "", ""), "l=1&l=2&s=a+b%26c");
    c = gx_proxy_conf_make(p, kwargs(p, "default: {t: true, n: null, b: '{{x}}'}\n"));
    CHECK(c->needs_gramex == NULL);
    CHECK_STR(gx_proxy_query(p, c, NULL, "k=1&k=2&flag"), "t=True&n=None&b=%7Bx%7D&k=1&k=2&flag=");
}

static void headers(apr_pool_t *p)
{
    gx_proxy_conf *c = gx_proxy_conf_make(p, kwargs(p, "url: http://h/\n"));
    CHECK_INT(c->pass_all, 0);
    CHECK(gx_proxy_forwards(c, "Accept"));
    CHECK(gx_proxy_forwards(c, "content-type"));
    CHECK(!gx_proxy_forwards(c, "Cookie"));
    CHECK(!gx_proxy_forwards(c, "authorization"));
    CHECK(!gx_proxy_forwards(c, "Proxy-Authorization"));
    CHECK(c->needs_gramex == NULL);

    c = gx_proxy_conf_make(p, kwargs(p, "request_headers:\n  Cookie: true\n  X-Key: abc\n"
                                        "  X-Num: 12\n  X-Off: false\n  X-Brace: 'a{{b}}'\n"));
    CHECK(gx_proxy_forwards(c, "cookie"));
    CHECK(!gx_proxy_forwards(c, "Authorization"));
    CHECK_INT(c->set->nelts, 4);
    CHECK_STR(APR_ARRAY_IDX(c->set, 0, gx_proxy_header).name, "X-Key");
    CHECK_STR(APR_ARRAY_IDX(c->set, 0, gx_proxy_header).value, "abc");
    CHECK_STR(APR_ARRAY_IDX(c->set, 1, gx_proxy_header).value, "12");
    CHECK_STR(APR_ARRAY_IDX(c->set, 2, gx_proxy_header).value, "False");   /* str(False) */
    CHECK_STR(APR_ARRAY_IDX(c->set, 3, gx_proxy_header).value, "a{b}");
    CHECK(c->needs_gramex == NULL);

    c = gx_proxy_conf_make(p, kwargs(p, "request_headers: {'*': true}\n"));
    CHECK(gx_proxy_forwards(c, "Cookie") && gx_proxy_forwards(c, "Authorization"));
    c = gx_proxy_conf_make(p, kwargs(p, "request_headers: {'*': false, Authorization: true}\n"));
    CHECK(!gx_proxy_forwards(c, "Cookie") && gx_proxy_forwards(c, "Authorization"));
}

static void needs_gramex(apr_pool_t *p)
{
    gx_proxy_conf *c = gx_proxy_conf_make(p, kwargs(p,
        "request_headers: {Authorization: 'Bearer {handler.session[token]}'}\n"));
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "request_headers.Authorization"));
    c = gx_proxy_conf_make(p, kwargs(p, "default: {user: '{handler.current_user}'}\n"));
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "default.user"));
    c = gx_proxy_conf_make(p, kwargs(p, "prepare: mymodule.prep(request)\n"));
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "prepare"));
    c = gx_proxy_conf_make(p, kwargs(p, "modify: mymodule.mod(response)\n"));
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "modify"));
    c = gx_proxy_conf_make(p, kwargs(p, "request_headers: {X-Bad: 'a}b'}\n"));
    CHECK(c->needs_gramex != NULL);     /* str.format raises: Gramex answers it */
    c = gx_proxy_conf_make(p, kwargs(p, "url: http://h/\n"));
    CHECK_INT(c->ws_in_gramex, 0);
    c = gx_proxy_conf_make(p, kwargs(p, "url: http://h/\non_message: mymodule.echo(handler)\n"));
    CHECK_INT(c->ws_in_gramex, 1);
    CHECK(c->needs_gramex == NULL);     /* plain requests still go to the url */
}

TEST_MAIN_BEGIN
    RUN(escape);
    RUN(target);
    RUN(query);
    RUN(headers);
    RUN(needs_gramex);
TEST_MAIN_END

/* gx_proxy: ProxyHandler targets, query merging and request_headers (spec
 * g.1). Expected queries were computed with the lines of Gramex's
 * ProxyHandler.get (default dict, parse_qs of the target's query, the
 * request's arguments as Tornado parses them, urlencode(doseq=True)). */
#include "gx_test.h"
#include "gx_yaml.h"
#include "gx_proxy.h"
#include <apr_strings.h>

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
    gx_proxy_conf *c = gx_proxy_conf_make(p, kwargs(p, "default: {d: 1}\n"), "u", NULL);
    CHECK_STR(gx_proxy_query(p, c, "fixed=1", "x=1&d=9"), "d=9&fixed=1&x=1");   /* spec g.1 */
    CHECK_STR(gx_proxy_query(p, c, NULL, NULL), "d=1");
    c = gx_proxy_conf_make(p, NULL, "u", NULL);
    /* parse_qs drops the target's blanks; the request's are kept */
    CHECK_STR(gx_proxy_query(p, c, "a=&b=2", "c=&a=x+y%20z"), "b=2&c=&a=x+y+z");
    CHECK_STR(gx_proxy_query(p, c, "", "n=%C3%A9&m=~*'()/"), "n=%C3%A9&m=~%2A%27%28%29%2F");
    CHECK_STR(gx_proxy_query(p, c, "x", "y=%zz&z=1%2"), "y=%25zz&z=1%252");
    CHECK_STR(gx_proxy_query(p, c, NULL, NULL), "");
    c = gx_proxy_conf_make(p, kwargs(p, "default: {l: [1, 2], s: 'a b&c'}\n"), "u", NULL);
    CHECK_STR(gx_proxy_query(p, c, "l=3", ""), "l=3&s=a+b%26c");
    CHECK_STR(gx_proxy_query(p, c, "", ""), "l=1&l=2&s=a+b%26c");
    c = gx_proxy_conf_make(p, kwargs(p, "default: {t: true, n: null, b: '{{x}}'}\n"), "u", NULL);
    CHECK(c->needs_gramex == NULL);
    CHECK_STR(gx_proxy_query(p, c, NULL, "k=1&k=2&flag"), "t=True&n=None&b=%7Bx%7D&k=1&k=2&flag=");
}

static void headers(apr_pool_t *p)
{
    gx_proxy_conf *c = gx_proxy_conf_make(p, kwargs(p, "url: http://h/\n"), "u", NULL);
    CHECK_INT(c->pass_all, 0);
    CHECK(gx_proxy_forwards(c, "Accept"));
    CHECK(gx_proxy_forwards(c, "content-type"));
    CHECK(!gx_proxy_forwards(c, "Cookie"));
    CHECK(!gx_proxy_forwards(c, "authorization"));
    CHECK(!gx_proxy_forwards(c, "Proxy-Authorization"));
    CHECK(c->needs_gramex == NULL);

    c = gx_proxy_conf_make(p, kwargs(p, "request_headers:\n  Cookie: true\n  X-Key: abc\n"
                                        "  X-Num: 12\n  X-Off: false\n  X-Brace: 'a{{b}}'\n"), "u", NULL);
    CHECK(gx_proxy_forwards(c, "cookie"));
    CHECK(!gx_proxy_forwards(c, "Authorization"));
    CHECK_INT(c->set->nelts, 4);
    CHECK_STR(APR_ARRAY_IDX(c->set, 0, gx_proxy_header).name, "X-Key");
    CHECK_STR(APR_ARRAY_IDX(c->set, 0, gx_proxy_header).value, "abc");
    CHECK_STR(APR_ARRAY_IDX(c->set, 1, gx_proxy_header).value, "12");
    CHECK_STR(APR_ARRAY_IDX(c->set, 2, gx_proxy_header).value, "False");   /* str(False) */
    CHECK_STR(APR_ARRAY_IDX(c->set, 3, gx_proxy_header).value, "a{b}");
    CHECK(c->needs_gramex == NULL);

    c = gx_proxy_conf_make(p, kwargs(p, "request_headers: {'*': true}\n"), "u", NULL);
    CHECK(gx_proxy_forwards(c, "Cookie") && gx_proxy_forwards(c, "Authorization"));
    c = gx_proxy_conf_make(p, kwargs(p, "request_headers: {'*': false, Authorization: true}\n"), "u", NULL);
    CHECK(!gx_proxy_forwards(c, "Cookie") && gx_proxy_forwards(c, "Authorization"));
}

static void needs_gramex(apr_pool_t *p)
{
    gx_proxy_conf *c = gx_proxy_conf_make(p, kwargs(p,
        "request_headers: {Authorization: 'Bearer {handler.session[token]}'}\n"), "u", NULL);
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "request_headers.Authorization"));
    c = gx_proxy_conf_make(p, kwargs(p, "default: {user: '{handler.current_user}'}\n"), "u", NULL);
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "default.user"));
    c = gx_proxy_conf_make(p, kwargs(p, "prepare: mymodule.prep(request)\n"), "u", NULL);
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "prepare"));
    c = gx_proxy_conf_make(p, kwargs(p, "modify: mymodule.mod(response)\n"), "u", NULL);
    CHECK(c->needs_gramex && strstr(c->needs_gramex, "modify"));
    c = gx_proxy_conf_make(p, kwargs(p, "request_headers: {X-Bad: 'a}b'}\n"), "u", NULL);
    CHECK(c->needs_gramex != NULL);     /* str.format raises: Gramex answers it */
    c = gx_proxy_conf_make(p, kwargs(p, "url: http://h/\n"), "u", NULL);
    CHECK_INT(c->ws_in_gramex, 0);
    c = gx_proxy_conf_make(p, kwargs(p, "url: http://h/\non_message: mymodule.echo(handler)\n"), "u", NULL);
    CHECK_INT(c->ws_in_gramex, 1);
    CHECK(c->needs_gramex == NULL);     /* plain requests still go to the url */
}

/* issue 8: nothing from gramex.yaml can add a header line or reframe a request */
static void header_checks(apr_pool_t *p)
{
    static const char *const good_names[] = {"X-Api-Key", "User-Agent", "Content-Type", "Cookie",
                                             "Authorization", "x_y.z~1!#$%&'*+^`|",
                                             "X-A%0d%0aX-B", /* a token: sent as written */
                                             NULL};
    static const char *const bad_names[] = {"X Api", "X-A:b", "X-A\r\nX-Injected", "X-\"q\"",
                                            "(x)", "a/b", "a\\b", "a>b", "", "\xc3\xa9", "a\tb", NULL};
    static const char *const owned[] = {"Host", "host", "Content-Length", "Transfer-Encoding",
                                        "Connection", "Upgrade", "TE", "Keep-Alive",
                                        "Proxy-Authorization", "proxy-connection", NULL};
    int i;
    for (i = 0; good_names[i]; i++)
        CHECK(gx_proxy_header_name_problem(good_names[i]) == NULL);
    for (i = 0; bad_names[i]; i++)
        CHECK(gx_proxy_header_name_problem(bad_names[i]) != NULL);
    for (i = 0; owned[i]; i++)
        CHECK(gx_proxy_header_name_problem(owned[i]) != NULL);
    CHECK(strstr(gx_proxy_header_name_problem("Host"), "remove it") != NULL);
    CHECK(gx_proxy_header_value_problem("Bearer abc") == NULL);
    CHECK(gx_proxy_header_value_problem("a\tb \"q\" \\ > <%0d%0a \xc3\xa9") == NULL);
    CHECK(gx_proxy_header_value_problem("") == NULL);
    CHECK(gx_proxy_header_value_problem("a\r\nX-Injected: 1") != NULL);
    CHECK(gx_proxy_header_value_problem("a\nb") != NULL);
    CHECK(gx_proxy_header_value_problem("a\rb") != NULL);
    CHECK(gx_proxy_header_value_problem("a\x01") != NULL);
    CHECK(gx_proxy_header_value_problem("a\x7f") != NULL);
    CHECK_STR(gx_printable(p, "a\r\n\"\\\x01\t\xc3\xa9"), "a\\r\\n\\\"\\\\\\x01\\t\xc3\xa9");
}

static const char *why_headers(apr_pool_t *p, const char *yaml)
{
    gx_diags *d = gx_diags_make(p);
    gx_proxy_conf *c = gx_proxy_conf_make(p, kwargs(p, yaml), "api", d);
    if (c) {
        CHECK_INT(d->errors, 0);
        return NULL;
    }
    CHECK(d->errors > 0);
    return gx_diags_first_error(p, d);
}

static void header_errors(apr_pool_t *p)
{
    const char *e = why_headers(p, "request_headers:\n  X-A: \"v\\r\\nX-Injected: 1\"\n");
    CHECK(e && strstr(e, "/app/gramex.yaml:2: url api: request_headers.X-A \"v\\r\\nX-Injected: 1\" "
                          "has a control character"));
    e = why_headers(p, "request_headers:\n  X-A: |\n    line1\n    line2\n");
    CHECK(e && strstr(e, "request_headers.X-A") && strstr(e, "control character"));
    e = why_headers(p, "request_headers:\n  X-A: \"Bearer {handler.session[t]}\\n\"\n");
    CHECK(e && strstr(e, "control character"));         /* formatted values too */
    e = why_headers(p, "request_headers: {Host: evil.example}\n");
    CHECK(e && strstr(e, "/app/gramex.yaml:1: url api: request_headers name \"Host\""));
    e = why_headers(p, "request_headers: {Content-Length: 0}\n");
    CHECK(e && strstr(e, "Content-Length"));
    e = why_headers(p, "request_headers: {Transfer-Encoding: true}\n");   /* forwarding too */
    CHECK(e && strstr(e, "Transfer-Encoding"));
    e = why_headers(p, "request_headers: {Proxy-Authorization: x}\n");
    CHECK(e && strstr(e, "Proxy-Authorization"));
    e = why_headers(p, "request_headers: {\"X-A: b\\r\\nX-B\": c}\n");
    CHECK(e && strstr(e, "request_headers name \"X-A: b\\r\\nX-B\" is not a header name"));
    CHECK(why_headers(p, "request_headers: {\"*\": true, User-Agent: true, "
                         "Content-Type: application/json, X-T: \"a\\tb\"}\n") == NULL);
}

static const char *why_url(apr_pool_t *p, const char *url, int flags)
{
    return gx_url_parse(p, url, flags, NULL);
}

static void urls(apr_pool_t *p)
{
    static const char *const good[] = {
        "http://127.0.0.1:8000/{0}", "https://api.github.com/{0}", "ws://h/ws", "WSS://h:443",
        "http://[::1]:9/x", "http://[2001:db8::8:800:200c:417a]/", "http://[::ffff:1.2.3.4]/",
        "http://[1:2:3:4:5:6:7:8]/", "http://h/a%20b?x=1&y=%C3%A9&l[]=2",
        "http://h/{0}?q={1}&lit={{x}}", "http://my_host.example-1.com/~u/a;b=c,d@e:f!$'()*+",
        "http://h:65535", NULL};
    static const char *const bad[] = {
        "ftp://h/", "http:///x", "http//h/", "/rel", "http://h\"/x", "http://h\" keepalive=Off/",
        "http://h x/", "http://h>/", "http://h/x\"y", "http://h/x y", "http://h/a>b",
        "http://h/a\\b", "http://h\\x/", "http://h/\r\nX-Injected: 1", "http://h\r\n/",
        "http://h%0d%0a/", "http://h/%0", "http://h/%zz", "http://h/#frag", "http://h:0/",
        "http://h:65536/", "http://h:/", "http://h:8a/", "http://h:123456/", "http://u:p@h/",
        "http://{0}/", "http://h{0}.example/", "http://[::1/", "http://[::1::2]/",
        "http://[1:2:3:4:5:6:7:8:9]/", "http://[fe80::1%25eth0]/", "http://[v1.x]/",
        "http://[1.2.3.4]/", "http://[::1]x/", "http://h/\xc3\xa9", "http://h/a\x7f",
        "http://h/a`b", "http://h/a|b", "http://h/a^b", "http://h/[x]", "http://h/<x>",
        "http://h/a\tb", NULL};
    gx_url u;
    int i;
    for (i = 0; good[i]; i++) {
        const char *why = why_url(p, good[i], GX_URL_TEMPLATE);
        if (why)
            fprintf(stderr, "  %s: %s\n", good[i], why);
        CHECK(why == NULL);
    }
    for (i = 0; bad[i]; i++) {
        const char *why = why_url(p, bad[i], GX_URL_TEMPLATE);
        if (!why)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(why != NULL);
    }
    /* fields only where they are allowed */
    CHECK(why_url(p, "http://h/{0}", 0) != NULL);
    CHECK_STR(why_url(p, "ws://h/", GX_URL_HTTP_ONLY), "is not an http:// or https:// URL");
    CHECK_STR(why_url(p, "ftp://h/", GX_URL_TEMPLATE), "is not an http://, https://, ws:// or wss:// URL");
    CHECK_STR(why_url(p, "http:///x", 0), "is not an http://, https://, ws:// or wss:// URL with a host");
    CHECK(strstr(why_url(p, "http://h/x\"y", 0), "'\"'") && strstr(why_url(p, "http://h/x\"y", 0), "%22"));

    CHECK(gx_url_parse(p, "HTTPS://Api.Example:8443/v1/{0}?a=1", GX_URL_TEMPLATE, &u) == NULL);
    CHECK_STR(u.scheme, "https");
    CHECK_STR(u.host, "Api.Example");
    CHECK_STR(u.port, "8443");
    CHECK_STR(u.rest, "/v1/{0}?a=1");
    CHECK_STR(gx_url_origin(p, &u), "https://Api.Example:8443");
    CHECK(gx_url_parse(p, "http://[::1]", 0, &u) == NULL);
    CHECK_STR(gx_url_origin(p, &u), "http://[::1]");
    CHECK(u.port == NULL);
    CHECK_STR(u.rest, "");
}

/* Every hostile byte at every position of a URL: refused, never written. */
static void url_corpus(apr_pool_t *p)
{
    static const char base[] = "http://api.example:8080/v1/{0}?a=1";
    static const char hostile[] = "\"\\ \t\r\n<>^`|\x01\x1b\x7f\xc3";
    apr_size_t at, h;
    int refused = 0;
    for (at = 0; at <= sizeof(base) - 1; at++)
        for (h = 0; h < sizeof(hostile) - 1; h++) {
            char *u = apr_psprintf(p, "%.*s%c%s", (int)at, base, hostile[h], base + at);
            CHECK(gx_url_parse(p, u, GX_URL_TEMPLATE, NULL) != NULL);
            refused++;
        }
    CHECK_INT(refused, (int)((sizeof(base)) * (sizeof(hostile) - 1)));
    /* %0d%0a is a valid escape in a path (it stays encoded on the wire), never in a host */
    CHECK(gx_url_parse(p, "http://h/a%0d%0aX-Injected:%201", 0, NULL) == NULL);
    CHECK(gx_url_parse(p, "http://h%0d%0aX-Injected:%201/", 0, NULL) != NULL);
    CHECK(gx_url_parse(p, "http://h:80%0d%0a/", 0, NULL) != NULL);
}

TEST_MAIN_BEGIN
    RUN(escape);
    RUN(target);
    RUN(query);
    RUN(headers);
    RUN(needs_gramex);
    RUN(header_checks);
    RUN(header_errors);
    RUN(urls);
    RUN(url_corpus);
TEST_MAIN_END

/* gx_cors: a url's cors: settings and the answers Apache gives (spec e.8),
 * Gramex's rules with its [W] fixed: "*" is answered as "*" and never with
 * credentials; only listed origins are echoed. */
#include "gx_test.h"
#include "gx_yaml.h"
#include "gx_cors.h"

static gx_cors *parse(apr_pool_t *p, const char *text)
{
    gx_node *n = NULL;
    gx_diags *d = gx_diags_make(p);
    gx_yaml_parse_string(p, text, strlen(text), "/app/gramex.yaml", 1, &n, d);
    CHECK_INT(d->errors, 0);
    return gx_cors_parse(p, gx_map_get(n, "cors"), gx_map_get(n, "auth"));
}

static void settings(apr_pool_t *p)
{
    gx_cors *c;
    CHECK(parse(p, "x: 1\n") == NULL);
    CHECK(parse(p, "cors: false\n") == NULL);
    c = parse(p, "cors: true\nauth: true\n");
    CHECK(c && c->any_origin && c->auth && c->origins->nelts == 0);
    c = parse(p, "cors: true\n");
    CHECK(c && !c->auth);
    c = parse(p, "cors: {origins: 'https://A.example, https://*.b.example', methods: [get, ' post'],"
                 " headers: X-One}\n");
    CHECK(c && !c->any_origin && !c->auth);
    CHECK_INT(c->origins->nelts, 2);
    CHECK_STR(APR_ARRAY_IDX(c->origins, 0, const char *), "https://a.example");
    CHECK_STR(APR_ARRAY_IDX(c->methods, 1, const char *), "POST");
    CHECK_STR(APR_ARRAY_IDX(c->headers, 0, const char *), "x-one");
}

static void simple(apr_pool_t *p)
{
    gx_cors_answer a;
    gx_cors *c = parse(p, "cors: {origins: ['https://a.example', 'https://*.b.example']}\n");
    gx_cors_simple(p, c, "https://a.example", 0, &a);
    CHECK_STR(a.allow_origin, "https://a.example");
    CHECK_INT(a.credentials, 0);
    gx_cors_simple(p, c, "https://X.B.example", 1, &a);         /* patterns, case-blind */
    CHECK_STR(a.allow_origin, "https://X.B.example");
    CHECK_INT(a.credentials, 1);                                /* a Cookie was sent */
    gx_cors_simple(p, c, "https://evil.example", 1, &a);
    CHECK(a.allow_origin == NULL && !a.credentials);
    gx_cors_simple(p, c, "https://a.example.evil.org", 0, &a);
    CHECK(a.allow_origin == NULL);
    gx_cors_simple(p, c, NULL, 1, &a);                          /* no Origin: nothing */
    CHECK(a.allow_origin == NULL);
    gx_cors_simple(p, NULL, "https://a.example", 0, &a);
    CHECK(a.allow_origin == NULL);

    /* "*" with credentials: Gramex echoes the origin with credentials [W] */
    c = parse(p, "cors: true\nauth: true\n");
    gx_cors_simple(p, c, "https://whoever.example", 1, &a);
    CHECK_STR(a.allow_origin, "*");
    CHECK_INT(a.credentials, 0);
    /* a listed origin beside "*" is still echoed with credentials */
    c = parse(p, "cors: {origins: ['*', 'https://a.example'], auth: true}\n");
    gx_cors_simple(p, c, "https://a.example", 0, &a);
    CHECK_STR(a.allow_origin, "https://a.example");
    CHECK_INT(a.credentials, 1);
    gx_cors_simple(p, c, "https://other.example", 0, &a);
    CHECK_STR(a.allow_origin, "*");
    CHECK_INT(a.credentials, 0);
}

static void preflight(apr_pool_t *p)
{
    gx_cors_answer a;
    gx_cors *c = parse(p, "cors: {origins: 'https://a.example', methods: 'GET, P*',"
                          " headers: [X-Custom, Content-Type], auth: true}\n");
    gx_cors_preflight(p, c, "https://a.example", "patch", "x-custom", &a);
    CHECK_INT(a.refuse, 0);
    CHECK_STR(a.allow_origin, "https://a.example");
    CHECK_INT(a.credentials, 1);
    CHECK_STR(a.allow_methods, "GET, P*");
    CHECK_STR(a.allow_headers, "x-custom, content-type");      /* requested ∪ allowed, once */
    gx_cors_preflight(p, c, "https://a.example", "DELETE", NULL, &a);
    CHECK_INT(a.refuse, 1);
    gx_cors_preflight(p, c, "https://a.example", "GET", "X-Custom, X-Other", &a);
    CHECK_INT(a.refuse, 1);
    gx_cors_preflight(p, c, "https://evil.example", "GET", NULL, &a);
    CHECK_INT(a.refuse, 1);
    gx_cors_preflight(p, c, NULL, "GET", NULL, &a);
    CHECK_INT(a.refuse, 1);
    gx_cors_preflight(p, c, "https://a.example", NULL, NULL, &a);   /* "" matches no pattern */
    CHECK_INT(a.refuse, 1);

    c = parse(p, "cors: true\n");
    gx_cors_preflight(p, c, "https://whoever.example", "PUT", "X-Anything", &a);
    CHECK_INT(a.refuse, 0);
    CHECK_STR(a.allow_origin, "*");
    CHECK_INT(a.credentials, 0);
    CHECK_STR(a.allow_methods, "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, CONNECT, TRACE");
    CHECK_STR(a.allow_headers, "Accept, Cache-Control, Content-Type, If-None-Match, Origin, "
                               "Pragma, Upgrade-Insecure-Requests, X-Requested-With, X-Anything");
    gx_cors_preflight(p, c, "https://whoever.example", NULL, "accept", &a);
    CHECK_INT(a.refuse, 0);                                     /* "*" matches "" */
    CHECK_STR(a.allow_headers, "Accept, Cache-Control, Content-Type, If-None-Match, Origin, "
                               "Pragma, Upgrade-Insecure-Requests, X-Requested-With");
}

TEST_MAIN_BEGIN
    RUN(settings);
    RUN(simple);
    RUN(preflight);
TEST_MAIN_END

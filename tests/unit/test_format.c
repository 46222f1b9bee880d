/* gx_format: Python str.format subset used for url templates. */
#include "gx_test.h"
#include "gx_format.h"

static const char *lookup(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "file") == 0 ? "report" : NULL;
}

static void positional(apr_pool_t *p)
{
    const char *args[] = {"a b", "x"};
    CHECK_STR(gx_format(p, "/{0}/{1}", args, 2, NULL, NULL), "/a b/x");
    CHECK_STR(gx_format(p, "/{}-{}", args, 2, NULL, NULL), "/a b-x");
    CHECK_STR(gx_format(p, "{{literal}} {0}", args, 1, NULL, NULL), "{literal} a b");
    CHECK(gx_format(p, "/{2}", args, 2, NULL, NULL) == NULL);      /* IndexError in Python */
    CHECK(gx_format(p, "/{0", args, 2, NULL, NULL) == NULL);       /* unbalanced */
    CHECK(gx_format(p, "/}", args, 2, NULL, NULL) == NULL);
    CHECK(gx_format(p, "/{0:>5}", args, 2, NULL, NULL) == NULL);   /* format specs refused */
    CHECK(gx_format(p, "/{0.x}", args, 2, NULL, NULL) == NULL);    /* attribute access refused */
}

static void named(apr_pool_t *p)
{
    CHECK_STR(gx_format(p, "$YAMLPATH/bar/{file}.html", NULL, 0, lookup, NULL),
              "$YAMLPATH/bar/report.html");
    CHECK_STR(gx_format(p, "/{missing}/", NULL, 0, lookup, NULL), "//");
    CHECK_STR(gx_format(p, "no fields", NULL, 0, NULL, NULL), "no fields");
}

/* string.Template.safe_substitute, as FileHandler's index_template uses it */
static void dollar(apr_pool_t *p)
{
    static const char *const names[] = {"path", "body"};
    static const char *const values[] = {"/docs/", "<li>x</li></ul>"};
    CHECK_STR(gx_dollar_format(p, "<h1>$path</h1><ul>$body", names, values, 2),
              "<h1>/docs/</h1><ul><li>x</li></ul>");
    CHECK_STR(gx_dollar_format(p, "${path}x $$5 $pathx $other ${body", names, values, 2),
              "/docs/x $5 $pathx $other ${body");
    CHECK_STR(gx_dollar_format(p, "end$", names, values, 2), "end$");
}

TEST_MAIN_BEGIN
    RUN(positional);
    RUN(named);
    RUN(dollar);
TEST_MAIN_END

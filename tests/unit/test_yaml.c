/* gx_yaml: PyYAML safe-loader typing (spec a.1, values checked against
 * python3-yaml on the same text), merge keys, and the errors Gramex's
 * loader raises (duplicate keys, '=', syntax) with their lines. */
#include "gx_test.h"
#include "gx_yaml.h"
#include "gx_json.h"

static gx_node *load(apr_pool_t *p, const char *text, gx_diags *d)
{
    gx_node *n = NULL;
    gx_yaml_parse_string(p, text, strlen(text), "/app/gramex.yaml", 1, &n, d);
    return n;
}

static void scalars(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    gx_node *n = load(p, "a: [yes, Yes, on, true, n, y, ~, null, '', 0755, 08, 0x1F, 0b101, +12, "
                         "1_000, 1:20, 1.0, 1., .5, 1.0e+3, .inf, 1e3, 2001-12-14, NO, \"on\"]\n", d);
    CHECK_INT(d->errors, 0);
    CHECK_STR(gx_json_string(p, gx_map_get(n, "a"), -1, NULL),
              "[true, true, true, true, \"n\", \"y\", null, null, \"\", 493, \"08\", 31, 5, 12, "
              "1000, 80, 1.0, 1.0, 0.5, 1000.0, Infinity, \"1e3\", \"2001-12-14\", false, \"on\"]");
    CHECK_INT(gx_map_get(n, "a")->vals[22]->type, GX_DATE);
}

static void structure(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    gx_node *n = load(p, "base: &b {x: 1, y: 2}\n"
                         "m: {<<: *b, z: 3}\n"
                         "l: [*b]\n"
                         "name-$*: 1\n"
                         "404: page\n"
                         "=: eq\n", d);
    gx_node *m, *k;
    CHECK_INT(d->errors, 0);
    m = gx_map_get(n, "m");
    CHECK_STR(gx_json_string(p, m, -1, NULL), "{\"x\": 1, \"y\": 2, \"z\": 3}");
    CHECK_INT(m->line, 2);
    CHECK_STR(m->file, "/app/gramex.yaml");
    k = n->keys[3];
    CHECK(strncmp(k->str, "name-", 5) == 0 && strlen(k->str) == 10 && !strstr(k->str, "$*"));
    CHECK_INT(n->keys[4]->type, GX_INT);                 /* 404: is an integer key */
    CHECK_STR(gx_key_text(n->keys[5]), "=");              /* '=' as a key is a string */
    CHECK_INT(gx_map_get(n, "l")->vals[0]->line, 1);
}

static void errors(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    CHECK(load(p, "url:\n  b: 1\n  b: 2\n", d) == NULL);
    CHECK_INT(d->errors, 1);
    CHECK_STR(gx_diags_first_error(p, d), "/app/gramex.yaml:3: found duplicate key (b) (first at "
              "line 2); remove or rename one of them (Gramex drops the whole file)");

    d = gx_diags_make(p);
    CHECK(load(p, "b: &b {x: 1}\nm: {<<: *b, x: 2}\n", d) == NULL);     /* PyYAML + Gramex: duplicate */
    CHECK(strstr(gx_diags_first_error(p, d), "merged with <<") != NULL);

    d = gx_diags_make(p);
    CHECK(load(p, "a: =\n", d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "/app/gramex.yaml:1: the value '='") != NULL);

    d = gx_diags_make(p);
    CHECK(load(p, "a: 1\nb: [1\n", d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "YAML syntax error") != NULL);

    d = gx_diags_make(p);
    CHECK(load(p, "a: !!python/object:os.system x\n", d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "not allowed") != NULL);

    d = gx_diags_make(p);
    CHECK(load(p, "a: 1\n---\nb: 2\n", d) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "single document") != NULL);
}

static void empty_and_missing(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    gx_node *n = load(p, "# only a comment\n", d);
    CHECK(n && n->type == GX_NULL);
    CHECK_INT(gx_yaml_parse_file(p, "/nonexistent/gramex.yaml", 1, &n, d), GX_YAML_MISSING);
    CHECK_INT(d->errors, 0);
}

TEST_MAIN_BEGIN
    RUN(scalars);
    RUN(structure);
    RUN(errors);
    RUN(empty_and_missing);
TEST_MAIN_END

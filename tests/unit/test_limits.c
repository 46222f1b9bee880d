/* gx_yaml bounds (issue 11): hostile files are refused quickly, with the
 * file:line and the name of the limit, instead of exhausting memory or
 * the stack; NUL in strings and integers beyond 64 bits are refused. */
#include "gx_test.h"
#include "gx_yaml.h"
#include "gx_json.h"
#include "gx_load.h"
#include <apr_strings.h>
#include <apr_file_io.h>

static gx_node *load(apr_pool_t *p, const char *text, apr_size_t len, gx_diags *d)
{
    gx_node *n = NULL;
    gx_yaml_parse_string(p, text, len, "/app/gramex.yaml", 1, &n, d);
    return n;
}

static int has(apr_pool_t *p, gx_diags *d, const char *want)
{
    const char *got = gx_diags_first_error(p, d);
    if (got && strstr(got, want))
        return 1;
    fprintf(stderr, "  error: %s\n  wanted: %s\n", got ? got : "(none)", want);
    return 0;
}

/* 9 anchors, each a list (or map) of 9 aliases of the one before: about
 * 1 KB of text, 387 M nodes if expanded. */
static const char *alias_bomb(apr_pool_t *p, int as_map)
{
    char *text = apr_pstrdup(p, as_map ? "a0: &a0 {k: x}\n" : "a0: &a0 [x]\n");
    int level, i;
    for (level = 1; level <= 9; level++) {
        char *row = apr_psprintf(p, "a%d: &a%d %s", level, level, as_map ? "{" : "[");
        for (i = 0; i < 9; i++)
            row = apr_psprintf(p, as_map ? "%s%sk%d: *a%d" : "%s%s*a%d", row, i ? ", " : "",
                               as_map ? i : level - 1, level - 1);
        text = apr_pstrcat(p, text, row, as_map ? "}\n" : "]\n", NULL);
    }
    return text;
}

static void alias_bombs(apr_pool_t *p)
{
    int as_map;
    for (as_map = 0; as_map <= 1; as_map++) {
        gx_diags *d = gx_diags_make(p);
        const char *text = alias_bomb(p, as_map);
        CHECK(strlen(text) < 1200);
        CHECK(load(p, text, strlen(text), d) == NULL);
        CHECK_INT(d->errors, 1);
        CHECK(has(p, d, "/app/gramex.yaml:7: aliases (the last *a5) expand to more nodes than "
                        "allowed: past 1000000 (limit GX_YAML_MAX_ALIAS_NODES); use fewer or "
                        "smaller aliases (is this an alias bomb?)"));
    }
    {
        /* ordinary reuse stays far below: 1,000 aliases of a 10-key map */
        gx_diags *d = gx_diags_make(p);
        char *text = apr_pstrdup(p, "base: &b {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, "
                                    "i: 9, j: 10}\nurl:\n");
        gx_node *n;
        int i;
        for (i = 0; i < 1000; i++)
            text = apr_psprintf(p, "%s  u%d: {<<: *b, pattern: /u%d}\n", text, i, i);
        n = load(p, text, strlen(text), d);
        CHECK_INT(d->errors, 0);
        CHECK(n && gx_map_get(n, "url") && gx_map_get(n, "url")->n == 1000);
    }
}

static char *repeat(apr_pool_t *p, const char *open, int n, const char *mid, const char *close)
{
    apr_size_t lo = strlen(open), lc = strlen(close), lm = strlen(mid);
    char *s = apr_palloc(p, n * (lo + lc) + lm + 1), *at = s;
    int i;
    for (i = 0; i < n; i++, at += lo)
        memcpy(at, open, lo);
    memcpy(at, mid, lm);
    at += lm;
    for (i = 0; i < n; i++, at += lc)
        memcpy(at, close, lc);
    *at = '\0';
    return s;
}

static void deep_nesting(apr_pool_t *p)
{
    static const char *const opens[] = {"[", "{a: ", "- "}, *const closes[] = {"]", "}", ""};
    int k;
    for (k = 0; k < 2; k++) {
        gx_diags *d = gx_diags_make(p);
        char *text = repeat(p, opens[k], 100000, "x", closes[k]);
        CHECK(load(p, text, strlen(text), d) == NULL);
        CHECK(has(p, d, "/app/gramex.yaml:1: sequences and mappings nest deeper than allowed: "
                        "past 512 (limit GX_YAML_MAX_DEPTH); nest less deeply"));
    }
    {
        gx_diags *d = gx_diags_make(p);
        char *text = repeat(p, "[", 512, "x", "]");
        gx_node *n = load(p, text, strlen(text), d);
        CHECK_INT(d->errors, 0);
        CHECK(n && n->type == GX_LIST);
        d = gx_diags_make(p);
        text = repeat(p, "[", 513, "x", "]");
        CHECK(load(p, text, strlen(text), d) == NULL);
        CHECK_INT(d->errors, 1);
    }
    {
        /* an alias counts at the depth where it is used */
        gx_diags *d = gx_diags_make(p);
        char *inner = repeat(p, "[", 300, "x", "]");
        char *outer = repeat(p, "[", 300, "*a", "]");
        char *text = apr_psprintf(p, "a: &a %s\nb: %s\n", inner, outer);
        CHECK(load(p, text, strlen(text), d) == NULL);
        CHECK(has(p, d, "/app/gramex.yaml:2: alias *a nests deeper than allowed: past 512 "
                        "(limit GX_YAML_MAX_DEPTH)"));
    }
}

#ifndef __SANITIZE_ADDRESS__
static void node_count(apr_pool_t *p)
{
    /* 3,290,000 nodes written out and 810,000 brought in by aliases: under
     * the alias limit, past the node limit */
    gx_diags *d = gx_diags_make(p);
    apr_size_t i;
    char *text = apr_palloc(p, 2 * 3300000 + 64), *at = text;
    at += sprintf(at, "a: &a [");
    for (i = 0; i < 90000; i++)
        at += sprintf(at, "0,");
    at += sprintf(at, "0]\nb: [");
    for (i = 0; i < 3200000; i++)
        at += sprintf(at, "0,");
    at += sprintf(at, "0]\nc: [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n");
    CHECK(load(p, text, at - text, d) == NULL);
    CHECK(has(p, d, "/app/gramex.yaml:"));
    CHECK(has(p, d, "(limit GX_YAML_MAX_NODES)"));
}
#endif

static void file_size(apr_pool_t *p)
{
    /* refused before a byte is read */
    gx_diags *d = gx_diags_make(p);
    CHECK(load(p, "a: 1\n", (apr_size_t)GX_YAML_MAX_BYTES + 1, d) == NULL);
    CHECK(has(p, d, "/app/gramex.yaml: is larger than 67108864 bytes (limit GX_YAML_MAX_BYTES)"));
}

static void nul_in_strings(apr_pool_t *p)
{
    static const char *const texts[] = {
        "url:\n  x:\n    pattern: \"/ok\\0/../admin\"\n",
        "url:\n  x:\n    kwargs: {path: \"index.html\\0.txt\"}\n",
        "url:\n  \"a\\0b\": 1\n",
        "url:\n  x: !!str \"a\\x00\"\n",
        NULL};
    int i;
    for (i = 0; texts[i]; i++) {
        gx_diags *d = gx_diags_make(p);
        CHECK(load(p, texts[i], strlen(texts[i]), d) == NULL);
        CHECK(has(p, d, "a string holds a NUL character (\\0), which no name, path or pattern "
                        "can hold; remove it"));
        CHECK(has(p, d, i < 2 ? "/app/gramex.yaml:3:" : "/app/gramex.yaml:2:"));
    }
}

static void integers(apr_pool_t *p)
{
    static const char *const refused[] = {"99999999999999999999:1", "99999999999999999999",
                                          "9223372036854775808", "-9223372036854775809",
                                          "0x10000000000000000", "0b" "1000000000000000000000000000"
                                          "0000000000000000000000000000000000000", "02000000000000000000000",
                                          "153722867280912930:8", NULL};
    int i;
    gx_diags *d = gx_diags_make(p);
    const char *ok = "a: [9223372036854775807, -9223372036854775808, 0x7fffffffffffffff, "
                     "-0x8000000000000000, 1:0:0, -1:30, 153722867280912930:7, 0777, 0b11]\n";
    gx_node *n = load(p, ok, strlen(ok), d);
    CHECK_INT(d->errors, 0);
    CHECK_STR(gx_json_string(p, gx_map_get(n, "a"), -1, NULL),
              "[9223372036854775807, -9223372036854775808, 9223372036854775807, "
              "-9223372036854775808, 3600, -90, 9223372036854775807, 511, 3]");
    for (i = 0; refused[i]; i++) {
        char *text = apr_psprintf(p, "port:\n  n: %s\n", refused[i]);
        d = gx_diags_make(p);
        CHECK(load(p, text, strlen(text), d) == NULL);
        CHECK(has(p, d, apr_psprintf(p, "/app/gramex.yaml:2: the integer %s does not fit in 64 "
                                        "bits; use a smaller number, or quote it to keep it as "
                                        "text", refused[i])));
    }
    d = gx_diags_make(p);
    n = load(p, "n: '99999999999999999999:1'\n", 27, d);
    CHECK(n && gx_is_str(gx_map_get(n, "n")));
}

static void write_text(apr_pool_t *p, const char *path, const char *text)
{
    apr_file_t *f;
    apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                  APR_FPROT_OS_DEFAULT, p);
    apr_file_puts(text, f);
    apr_file_close(f);
}

/* Six files, each importing the next ten times: a million loads of the
 * last one (minutes and gigabytes before), refused at its 101st load. */
static void import_bomb(apr_pool_t *p)
{
    const char *tmp;
    char *dir;
    gx_diags *d = gx_diags_make(p);
    gx_load_opts lo;
    apr_pool_t *load;
    gx_node *n;
    int level, i;
    apr_temp_dir_get(&tmp, p);
    dir = apr_psprintf(p, "%s/gx-import-bomb-XXXXXX", tmp);
    {
        apr_file_t *f;                      /* a unique name, then a dir in its place */
        apr_file_mktemp(&f, dir, 0, p);
        apr_file_close(f);
        apr_file_remove(dir, p);
    }
    apr_dir_make(dir, APR_FPROT_OS_DEFAULT, p);
    for (level = 0; level < 6; level++) {
        char *text = apr_pstrdup(p, "import:\n");
        for (i = 0; i < 10; i++)
            text = apr_psprintf(p, "%s  k%d: l%d.yaml\n", text, i, level + 1);
        write_text(p, apr_psprintf(p, "%s/%s", dir, level ? apr_psprintf(p, "l%d.yaml", level)
                                                          : "gramex.yaml"), text);
    }
    write_text(p, apr_psprintf(p, "%s/l6.yaml", dir), "url: {}\n");
    memset(&lo, 0, sizeof(lo));
    lo.gramexpath = dir;                    /* no base layer there */
    apr_pool_create(&load, p);
    gx_load_app(load, apr_psprintf(p, "%s/gramex.yaml", dir), &lo, d);
    CHECK_INT(d->errors, 1);
    CHECK(has(p, d, apr_psprintf(p, "%s/l6.yaml: is loaded more than 100 times in one load "
                                    "(limit GX_YAML_MAX_REPEAT)", dir)));
    apr_pool_destroy(load);

    /* the count is per pool: a new load starts again */
    d = gx_diags_make(p);
    apr_pool_create(&load, p);
    for (i = 0; i < 100; i++)
        gx_yaml_parse_file(load, apr_psprintf(p, "%s/l6.yaml", dir), 1, &n, d);
    CHECK_INT(d->errors, 0);
    CHECK_INT(gx_yaml_parse_file(load, apr_psprintf(p, "%s/l6.yaml", dir), 1, &n, d),
              GX_YAML_ERROR);
    CHECK_INT(d->errors, 1);
    apr_pool_destroy(load);

    for (level = 1; level <= 6; level++)
        apr_file_remove(apr_psprintf(p, "%s/l%d.yaml", dir, level), p);
    apr_file_remove(apr_psprintf(p, "%s/gramex.yaml", dir), p);
    apr_dir_remove(dir, p);
}

/* The type resolvers are compiled once per pool tree and freed with it. */
static void resolver_cache(apr_pool_t *p)
{
    apr_pool_t *child;
    void *mine = NULL, *theirs = NULL;
    gx_diags *d = gx_diags_make(p);
    load(p, "a: 1\n", 5, d);
    apr_pool_userdata_get(&mine, "gx_yaml_resolvers", p);
    CHECK(mine != NULL);
    apr_pool_create(&child, p);
    load(child, "b: 2\n", 5, d);
    apr_pool_userdata_get(&theirs, "gx_yaml_resolvers", child);
    CHECK(theirs == NULL);                  /* the child used the parent's */
    CHECK_INT(d->errors, 0);
    apr_pool_destroy(child);
}

TEST_MAIN_BEGIN
    RUN(alias_bombs);
    RUN(deep_nesting);
#ifndef __SANITIZE_ADDRESS__     /* 3.3 M nodes: seconds plain, ~20 s under ASan */
    RUN(node_count);
#endif
    RUN(file_size);
    RUN(nul_in_strings);
    RUN(integers);
    RUN(resolver_cache);
    RUN(import_bomb);
TEST_MAIN_END

/* gx_pathrule: Gramex's allow/ignore matching (spec f.5, checked against
 * Python's fnmatch) and pathlib-style import globs (spec c.2). */
#include "gx_test.h"
#include "gx_pathrule.h"
#include <apr_strings.h>
#include <apr_file_io.h>
#include <stdlib.h>

static void fnmatch_rules(apr_pool_t *p)
{
    (void)p;
    CHECK(gx_fnmatch_path(".*", "/srv/app/.env"));
    CHECK(gx_fnmatch_path(".*", "/home/u/.local/app/index.html"));   /* any dot component */
    CHECK(gx_fnmatch_path("*.py*", "/srv/my.python-app/index.html"));
    CHECK(gx_fnmatch_path("gramex*.yaml", "/srv/app/GRAMEX.YAML"));
    CHECK(gx_fnmatch_path("gramex*.yaml", "/x/gramex-old/a.yaml"));
    CHECK(!gx_fnmatch_path("gramex*.yaml", "/srv/app/config.yaml"));
    CHECK(gx_fnmatch_path("*", "/anything/at/all"));
    CHECK(gx_fnmatch_path("*.jp*g", "/a/b/photo.JPEG"));
    CHECK(gx_fnmatch_path("node_modules/**", "/srv/app/node_modules/x/y.js"));
    CHECK(gx_fnmatch_path("file[0-9].txt", "/a/file7.txt"));
    CHECK(!gx_fnmatch_path("file[!0-9].txt", "/a/file7.txt"));
    CHECK(gx_fnmatch_path("a[b", "/x/a[b"));                         /* unclosed [ is literal */
    CHECK(gx_fnmatch_path("?.txt", "/x/a.txt"));
    CHECK(!gx_fnmatch_path("index.html", "/srv/app/xindex.html"));   /* "*" "/" + pattern */
}

static void allowed(apr_pool_t *p)
{
    /* Gramex's default lists, spec f.5 worked example */
    apr_array_header_t *ignore = apr_array_make(p, 3, sizeof(const char *));
    apr_array_header_t *allow = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *star = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *deploy = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(ignore, const char *) = "gramex*.yaml";
    APR_ARRAY_PUSH(ignore, const char *) = ".*";
    APR_ARRAY_PUSH(ignore, const char *) = "*.py*";
    APR_ARRAY_PUSH(allow, const char *) = ".allow";
    APR_ARRAY_PUSH(allow, const char *) = "*/.conda/*/site-packages/gramex/apps/*";
    CHECK(gx_path_allowed(ignore, allow, "/srv/app/index.html"));
    CHECK(!gx_path_allowed(ignore, allow, "/srv/app/.env"));
    CHECK(gx_path_allowed(ignore, allow, "/srv/app/.allow"));
    CHECK(!gx_path_allowed(ignore, allow, "/srv/app/GRAMEX.YAML"));
    CHECK(!gx_path_allowed(ignore, allow, "/srv/app/my.python/x.html"));
    /* deploy.yaml: ignore "*", allow by extension */
    APR_ARRAY_PUSH(star, const char *) = "*";
    APR_ARRAY_PUSH(deploy, const char *) = "*.html";
    APR_ARRAY_PUSH(deploy, const char *) = "*.json";
    CHECK(gx_path_allowed(star, deploy, "/srv/app/package.json"));
    CHECK(!gx_path_allowed(star, deploy, "/srv/app/data.csv"));
    CHECK(gx_path_allowed(NULL, NULL, "/srv/app/anything"));
}

/* The compiled set decides exactly as the pattern-by-pattern matcher. */
static void compiled_sets(apr_pool_t *p)
{
    static const char *const pats[] = {"*.md", "*.jp*g", "*.woff*", "gramex*.yaml", ".*", "*.py*",
                                       "file[0-9].txt", "x[!a-c]y", "a[b", "node_modules/**",
                                       "we(ird)+.txt", "q?.css", "[^x].js", NULL};
    static const char *const paths[] = {"/a/README.MD", "/a/photo.jpeg", "/a/f.woff2",
                                        "/srv/GRAMEX.yaml", "/home/u/.local/x.html", "/a/b.pyc",
                                        "/a/file7.txt", "/a/xdy", "/a/xby", "/x/a[b",
                                        "/n/node_modules/p/q.js", "/a/we(ird)+.txt", "/a/qq.css",
                                        "/a/^.js", "/a/x.js", "/a/index.html", "/a/data.csv", NULL};
    apr_array_header_t *a = apr_array_make(p, 16, sizeof(const char *));
    gx_pathset *set;
    int i, j, agree = 0, total = 0;
    for (i = 0; pats[i]; i++) {
        apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(one, const char *) = pats[i];
        APR_ARRAY_PUSH(a, const char *) = pats[i];
        set = gx_pathset_compile(p, one);
        for (j = 0; paths[j]; j++, total++)
            agree += gx_pathset_match(set, paths[j]) == gx_fnmatch_path(pats[i], paths[j]);
    }
    CHECK_INT(agree, total);
    set = gx_pathset_compile(p, a);
    for (j = 0; paths[j]; j++)
        CHECK_INT(gx_pathset_match(set, paths[j]), gx_path_matches_any(a, paths[j]));
    CHECK(!gx_pathset_match(gx_pathset_compile(p, NULL), "/a"));
    CHECK(gx_pathset_allowed(NULL, NULL, "/a"));
}

/* Issue 11 findings: ranges spanning letters and punctuation are taken
 * after lowercasing ("*[0-Z]" is "*[0-z]", which holds '_'), and non-ASCII
 * text is matched by character, as Python does. */
static void one_engine(apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 1, sizeof(const char *));
    gx_pathset *set;
    APR_ARRAY_PUSH(a, const char *) = "*[0-Z]";
    set = gx_pathset_compile(p, a);
    CHECK(gx_fnmatch_path("*[0-Z]", "/f/backup_"));
    CHECK(gx_pathset_match(set, "/f/backup_"));
    CHECK(!gx_pathset_allowed(set, NULL, "/f/backup_"));
    CHECK(!gx_fnmatch_path("*[0-Z]", "/f/backup~"));
    CHECK(gx_fnmatch_path("caf?.txt", "/srv/caf\xc3\xa9.txt"));         /* é is one character */
    CHECK(!gx_fnmatch_path("caf??.txt", "/srv/caf\xc3\xa9.txt"));
    CHECK(gx_fnmatch_path("[\xc3\xa0-\xc3\xbf]", "/x/\xc3\xa9"));      /* range of code points */
    CHECK(gx_fnmatch_path("?", "/x/\xff"));                             /* a stray byte is one */
    CHECK(!gx_fnmatch_path("[z-a]", "/x/m"));                            /* reversed range: none */
    CHECK(gx_fnmatch_path("[!z-a]", "/x/m"));                            /* negated none: any */
    CHECK(gx_fnmatch_path("[a-]", "/x/-"));
    CHECK(gx_fnmatch_path("[^a]", "/x/^"));                              /* ^ is a member */
    CHECK(gx_fnmatch_path("[\\]", "/x/\\"));
    /* fuzz_pathrule crasher: Python decides negation on what is left after
     * a reversed range is removed, so "[[-3!]" is "[!]" (any character) */
    CHECK(gx_fnmatch_path("*[[-3!][[-3!][[-3!][", "/1!]["));
    CHECK(gx_fnmatch_path("[[-3!]", "/x/q"));
    CHECK(!gx_fnmatch_path("[[-3!a]", "/x/a"));
    CHECK(gx_fnmatch_path("[[-3!a]", "/x/b"));
    CHECK(!gx_fnmatch_path("[[-3!-z]", "/x/-"));
    CHECK(gx_fnmatch_path("[[-3!-z]", "/x/y"));
}

static int unhex(const char *h, char *out, apr_size_t cap)
{
    apr_size_t n = 0;
    for (; h[0] && h[1] && n + 1 < cap; h += 2) {
        char byte[3] = {h[0], h[1], 0};
        out[n++] = (char)strtol(byte, NULL, 16);
    }
    out[n] = '\0';
    return (int)n;
}

/* tests/fuzz/fnmatch_corpus.tsv: generated patterns and paths with the
 * answers of Python's fnmatch (tests/fuzz/gen_fnmatch_corpus.py). The
 * on-the-fly matcher and the compiled set must both give Python's answer. */
static void python_corpus(apr_pool_t *p)
{
    FILE *f = fopen("tests/fuzz/fnmatch_corpus.tsv", "r");
    char line[1024], pat[256], path[256], star[260];
    int lines = 0, same_gramex = 0, same_set = 0, same_case = 0;
    CHECK(f != NULL);
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *hp = strtok(line, "\t"), *hs = strtok(NULL, "\t"), *g = strtok(NULL, "\t"),
             *c = strtok(NULL, "\t\n");
        apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
        if (!hp || !hs || !g || !c)
            continue;
        unhex(hp, pat, sizeof(pat));
        unhex(hs, path, sizeof(path));
        APR_ARRAY_PUSH(one, const char *) = pat;
        lines++;
        same_gramex += gx_fnmatch_path(pat, path) == atoi(g);
        same_set += gx_pathset_match(gx_pathset_compile(p, one), path) == atoi(g);
        snprintf(star, sizeof(star), "*%s", pat);
        same_case += gx_fnmatch(star, path, 0) == atoi(c);
        if (gx_fnmatch_path(pat, path) != atoi(g))
            fprintf(stderr, "  differs from Python: pattern %s path %s\n", hp, hs);
    }
    fclose(f);
    CHECK_INT(lines, 3000);
    CHECK_INT(same_gramex, lines);
    CHECK_INT(same_set, lines);
    CHECK_INT(same_case, lines);
}

static void write_file(apr_pool_t *p, const char *path)
{
    apr_file_t *f;
    apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, p);
    apr_file_close(f);
}

static void globbing(apr_pool_t *p)
{
    char *tmp, *root;
    const char *dirs[] = {"a", "a-b", "a/deep", "b", ".hidden", NULL};
    apr_array_header_t *m;
    int i;
    apr_temp_dir_get((const char **)&tmp, p);
    root = apr_psprintf(p, "%s/gx-glob-XXXXXX", tmp);
    {
        apr_file_t *f;
        apr_file_mktemp(&f, root, 0, p);     /* a unique name, then a dir in its place */
        apr_file_close(f);
        apr_file_remove(root, p);
    }
    apr_dir_make(root, APR_FPROT_OS_DEFAULT, p);
    for (i = 0; dirs[i]; i++) {
        apr_dir_make(apr_psprintf(p, "%s/%s", root, dirs[i]), APR_FPROT_OS_DEFAULT, p);
        write_file(p, apr_psprintf(p, "%s/%s/gramex.yaml", root, dirs[i]));
    }
    m = gx_glob(p, root, "*/gramex.yaml");
    CHECK_INT(m->nelts, 4);                  /* a, a-b, b, .hidden: '*' matches dot-names */
    if (m->nelts == 4) {
        CHECK_STR(APR_ARRAY_IDX(m, 0, const char *), apr_psprintf(p, "%s/.hidden/gramex.yaml", root));
        CHECK_STR(APR_ARRAY_IDX(m, 1, const char *), apr_psprintf(p, "%s/a/gramex.yaml", root));
        CHECK_STR(APR_ARRAY_IDX(m, 2, const char *), apr_psprintf(p, "%s/a-b/gramex.yaml", root));
    }
    m = gx_glob(p, root, "**/gramex.yaml");
    CHECK_INT(m->nelts, 5);
    m = gx_glob(p, root, "a/*/gramex.yaml");
    CHECK_INT(m->nelts, 1);
    m = gx_glob(p, root, "zz*/gramex.yaml");
    CHECK_INT(m->nelts, 0);

    for (i = 4; i >= 0; i--) {
        apr_file_remove(apr_psprintf(p, "%s/%s/gramex.yaml", root, dirs[i]), p);
        apr_dir_remove(apr_psprintf(p, "%s/%s", root, dirs[i]), p);
    }
    apr_dir_remove(root, p);
}

TEST_MAIN_BEGIN
    RUN(fnmatch_rules);
    RUN(allowed);
    RUN(compiled_sets);
    RUN(one_engine);
    RUN(python_corpus);
    RUN(globbing);
TEST_MAIN_END

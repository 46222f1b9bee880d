/* mod_gramex_secrets core: signed values (Gramex's own fixture vector, spec
 * i.3), gxs1 round trips and tampering, .secrets.yaml with SECRETS_IMPORT,
 * SECRETS_URL over file:// and the encrypted cache fallback. Vectors made by
 * tornado itself are checked in tests/live/test_secrets.py. */
#include "gx_test.h"
#include "gx_sec_codec.h"
#include "gx_sec_load.h"
#include "gx_json.h"
#include "gx_secrets_abi.h"
#include "gx_yaml.h"
#include "gx_path.h"
#include <apr_strings.h>
#include <apr_file_io.h>
#include "gx_sec_wipe.h"
#include "gx_sec_cache.h"
#include <curl/curl.h>
#ifndef _WIN32
#include <unistd.h>     /* cache_links: symlink(), chown(), geteuid() */
#include <sys/stat.h>
#endif

/* tests/remote-secrets.yaml of Gramex, key SECRETKEY */
static const char *const gramex_v2 =
    "2|1:0|10:1601277046|0:|64:eyJSRU1PVEVfU0VDUkVUMSI6IDEsICJSRU1PVEVfU0VDUkVUMiI6ICJiZXRhIn0=|"
    "b5a9b9a62fff46cdc2b59e90311dcdf85f6ce90087fc1e541edfa4d4ed296368";

static const char *dir;

static const char *at(apr_pool_t *p, const char *rel)
{
    return apr_pstrcat(p, dir, "/", rel, NULL);
}

/* file://HOST/path, or file://HOST/C:/path for a path with a drive. */
static const char *file_url(apr_pool_t *p, const char *host, const char *path)
{
    return apr_pstrcat(p, "file://", host, gx_path_root_len(path) == 1 ? "" : "/", path, NULL);
}

static void put(apr_pool_t *p, const char *rel, const char *text)
{
    apr_file_t *f;
    apr_file_open(&f, apr_pstrcat(p, dir, "/", rel, NULL),
                  APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, p);
    apr_file_puts(text, f);
    apr_file_close(f);
}

static void signed_values(apr_pool_t *p)
{
    apr_size_t len;
    const char *err = NULL;
    apr_time_t now = apr_time_now();
    char *out = gx_signed_decode(p, "SECRETKEY", gramex_v2, now, &len, &err);
    char *bad, *mine;
    CHECK_STR(out, "{\"REMOTE_SECRET1\": 1, \"REMOTE_SECRET2\": \"beta\"}");
    CHECK(gx_signed_decode(p, "WRONG", gramex_v2, now, &len, &err) == NULL);
    CHECK(strstr(err, "signature does not match") != NULL);
    bad = apr_pstrdup(p, gramex_v2);
    bad[40] = bad[40] == 'A' ? 'B' : 'A';                   /* tampered payload */
    CHECK(gx_signed_decode(p, "SECRETKEY", bad, now, &len, &err) == NULL);
    CHECK(gx_signed_decode(p, "SECRETKEY", apr_pstrndup(p, gramex_v2, 50), now, &len, &err) == NULL);
    CHECK(gx_signed_decode(p, "SECRETKEY", "2|1:0|10:1601277046|0:|9999:x|ab", now, &len, &err) == NULL);
    CHECK(gx_signed_decode(p, "SECRETKEY", "3|x", now, &len, &err) == NULL);
    CHECK(strstr(err, "version 3") != NULL);
    CHECK(gx_signed_decode(p, "K", "", now, &len, &err) == NULL);
    mine = gx_signed_encode(p, "K", "{\"a\": 1}", 8, now);
    CHECK_STR(gx_signed_decode(p, "K", mine, now, &len, &err), "{\"a\": 1}");
    CHECK_INT(gx_blob_detect(mine), GX_BLOB_TORNADO_V2);
}

static void aead(apr_pool_t *p)
{
    const char *err = NULL;
    apr_size_t len;
    char *blob = gx_aead_encrypt(p, "key", "{\"PW\": \"hunter2\"}", 17, &err), *bad;
    CHECK(blob && !strncmp(blob, "gxs2.", 5));
    CHECK(!strstr(blob, "hunter2"));
    CHECK_INT(gx_blob_detect(blob), GX_BLOB_AEAD);
    CHECK(!strncmp(blob, "gxs2.15.8.1.", 12));                  /* the cost is in the blob */
    CHECK_STR(gx_aead_decrypt(p, "key", blob, &len, &err), "{\"PW\": \"hunter2\"}");
    CHECK(gx_aead_decrypt(p, "other", blob, &len, &err) == NULL);
    bad = apr_pstrdup(p, blob);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    CHECK(gx_aead_decrypt(p, "key", bad, &len, &err) == NULL);
    CHECK(gx_aead_decrypt(p, "key", "gxs1.a.b", &len, &err) == NULL);
    CHECK(strstr(err, "malformed") != NULL);
}

/* Fuzzer finds: blobs with nothing between or around the dots once read an
 * uninitialised pointer. Every one is refused as malformed. */
static void aead_malformed(apr_pool_t *p)
{
    static const char *const bad[] = {
        "", " ", "   \n", ".", "...", "......", "gxs1", "gxs1.", "gxs1...", "gxs1.a..b",
        "gxs1.a.b.c.d", ".gxs1.a.b", "gxs2", "gxs2.15.8.1", "gxs2.15.8.1...",
        "gxs2.15.8.1.a.b", "gxs2.015.8.1.a.b.c", "gxs2.15.8.1.a.b.c.d", "gxs2.-1.8.1.a.b.c",
        "gxs2.15.8.1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAA", NULL};
    const char *err;
    apr_size_t len;
    char *good = gx_aead_encrypt(p, "k", "{}", 2, &err);
    int i;
    for (i = 0; bad[i]; i++) {
        err = NULL;
        CHECK(gx_aead_decrypt(p, "k", bad[i], &len, &err) == NULL);
        CHECK(err && strstr(err, "malformed"));
    }
    /* truncated anywhere: refused */
    for (i = 0; good && i < (int)strlen(good); i += 7) {
        err = NULL;
        CHECK(gx_aead_decrypt(p, "k", apr_pstrndup(p, good, i), &len, &err) == NULL);
        CHECK(err != NULL);
    }
}

/* The KDF cost is stored and authenticated; old gxs1 blobs still read. */
static void aead_versions(apr_pool_t *p)
{
    /* made by gramex-secrets before gxs2 existed */
    static const char *const gxs1 = "gxs1.OJmeGf0vNWu-TmmSiLbsaw.7SugqLW_FOLjov_a."
        "0IT_COVE2vLoWa2l4jMov8_I98j4DKIyKug0grODSL-KJk_Y5j0\n";
    gx_kdf raised = {16, 8, 2}, huge = {22, 8, 1}, lowest = {9, 8, 1};
    const char *err = NULL;
    apr_size_t len;
    char *blob, *lowered;
    CHECK_STR(gx_aead_decrypt(p, "oldkey", gxs1, &len, &err), "{\"OLD\": \"gxs1-vector\"}");
    CHECK_INT(gx_blob_detect(gxs1), GX_BLOB_AEAD);
    blob = gx_aead_encrypt_kdf(p, "k", "{\"a\": 1}", 8, &raised, &err);
    CHECK(blob && !strncmp(blob, "gxs2.16.8.2.", 12));
    CHECK_STR(gx_aead_decrypt(p, "k", blob, &len, &err), "{\"a\": 1}");
    /* the header is authenticated: lowering the cost in a blob breaks it */
    lowered = apr_pstrcat(p, "gxs2.15.8.2", blob + strlen("gxs2.16.8.2"), NULL);
    CHECK(gx_aead_decrypt(p, "k", lowered, &len, &err) == NULL);
    CHECK(err && strstr(err, "cannot decrypt"));
    /* costs a reader refuses: too much memory from a URL, too weak */
    CHECK(gx_aead_encrypt_kdf(p, "k", "{}", 2, &huge, &err) == NULL && strstr(err, "256 MiB"));
    CHECK(gx_aead_encrypt_kdf(p, "k", "{}", 2, &lowest, &err) == NULL && strstr(err, "range"));
    CHECK(gx_aead_decrypt(p, "k", "gxs2.22.8.1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAA", &len,
                          &err) == NULL && strstr(err, "256 MiB"));
}

static void base64(apr_pool_t *p)
{
    apr_size_t len;
    CHECK_STR(gx_b64_decode(p, "aGk=", 4, 0, &len), "hi");
    CHECK_STR(gx_b64_decode(p, "a G\nk=", 6, 0, &len), "hi");    /* Python skips junk */
    CHECK(gx_b64_decode(p, "aGk", 3, 0, &len) == NULL);          /* bad padding */
    CHECK(gx_b64_decode(p, "a", 1, 0, &len) == NULL);
    CHECK_STR(gx_b64_encode(p, (const unsigned char *)"hi", 2, 1), "aGk");
}

static void load_files(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 4, sizeof(const char *));
    gx_secrets_opts o = {0};
    const char *err;
    o.timeout = 5;
    o.max_bytes = GX_SECRETS_MAX_BYTES;
    gx_node *v;
    const char *payload = "{\"REMOTE\": \"r\", \"LOCAL\": \"from-remote\"}";
    char *blob = gx_signed_encode(p, "K", payload, strlen(payload), apr_time_now());
    put(p, "blob.txt", apr_pstrcat(p, "# published by gramex-secrets\n", blob, "\n", NULL));
    put(p, ".secrets.yaml", apr_psprintf(p, "LOCAL: local\nNUM: 1\nTEAM: mine\n"
                                         "SECRETS_IMPORT: 'team-*.yaml'\n"
                                         "SECRETS_URL: %s\nSECRETS_KEY: K\n",
                                         file_url(p, "", at(p, "blob.txt"))));
    put(p, "team-a.yaml", "TEAM: imported\nONLY_TEAM: t\n");
    v = gx_secrets_load(p, apr_pstrcat(p, dir, "/.secrets.yaml", NULL), &o, d, ns);
    CHECK_INT(d->errors, 0);
    CHECK_STR(gx_json_string(p, v, -1, NULL), "{\"TEAM\": \"mine\", \"ONLY_TEAM\": \"t\", "
              "\"LOCAL\": \"from-remote\", \"NUM\": 1, \"REMOTE\": \"r\"}");
    CHECK_INT(d->warnings, 1);                                  /* signed-only blob */
    CHECK_INT(ns->nelts, 3);                                    /* secrets, cache, import */

    /* the URL goes away: the encrypted cache is used, with a warning */
    apr_file_remove(apr_pstrcat(p, dir, "/blob.txt", NULL), p);
    d = gx_diags_make(p);
    v = gx_secrets_load(p, apr_pstrcat(p, dir, "/.secrets.yaml", NULL), &o, d, ns);
    CHECK_INT(d->errors, 0);
    CHECK(gx_map_get(v, "REMOTE") && !strcmp(gx_map_get(v, "REMOTE")->str, "r"));
    CHECK(d->items->nelts == 1
          && strstr(gx_diag_format(p, &APR_ARRAY_IDX(d->items, 0, gx_diag)), "last good copy"));
    {
        apr_finfo_t fi;
        apr_file_t *f;
        char buf[512];
        apr_size_t n = sizeof(buf) - 1;
        CHECK_INT(apr_stat(&fi, at(p, ".secrets.cache"), APR_FINFO_TYPE, p), APR_SUCCESS);
#ifndef _WIN32      /* Windows keeps ACLs, not mode bits */
        apr_stat(&fi, at(p, ".secrets.cache"), APR_FINFO_PROT, p);
        CHECK_INT(fi.protection, APR_FPROT_UREAD | APR_FPROT_UWRITE);
#endif
        buf[0] = '\0';
        if (apr_file_open(&f, at(p, ".secrets.cache"), APR_FOPEN_READ, 0, p) == APR_SUCCESS) {
            apr_file_read(f, buf, &n);
            apr_file_close(f);
            buf[n] = '\0';
        }
        CHECK(!strstr(buf, "from-remote") && !strncmp(buf, "gxs2.", 5));   /* encrypted */
    }
    /* no cache either: an error naming the URL and the cause */
    apr_file_remove(apr_pstrcat(p, dir, "/.secrets.cache", NULL), p);
    d = gx_diags_make(p);
    CHECK(gx_secrets_load(p, apr_pstrcat(p, dir, "/.secrets.yaml", NULL), &o, d, ns) == NULL);
    err = gx_diags_first_error(p, d);
    CHECK(err && strstr(err, "blob.txt") && strstr(err, "no cached copy"));
    CHECK(err && !strstr(err, "from-remote") && !strstr(err, "local"));

    /* malformed: a list, not a mapping */
    put(p, "bad.yaml", "- a\n- b\n");
    d = gx_diags_make(p);
    CHECK(gx_secrets_load(p, apr_pstrcat(p, dir, "/bad.yaml", NULL), &o, d, ns) == NULL);
    err = gx_diags_first_error(p, d);
    CHECK(err && strstr(err, "bad.yaml:1: must be a YAML mapping"));
    /* missing file: nothing, no error */
    d = gx_diags_make(p);
    v = gx_secrets_load(p, apr_pstrcat(p, dir, "/none.yaml", NULL), &o, d, ns);
    CHECK(v && v->n == 0 && d->errors == 0);
}

static char *slurp(apr_pool_t *p, const char *path)
{
    apr_file_t *f;
    char *buf = apr_pcalloc(p, 4096);
    apr_size_t n = 4095;
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS)
        return NULL;
    apr_file_read(f, buf, &n);
    apr_file_close(f);
    return buf;
}

static void redaction(apr_pool_t *p)
{
    CHECK_STR(gx_secrets_redact_url(p, "https://user:pa55@example.org:8443/a/blob?token=t0k&x=1#frag"),
              "https://***@example.org:8443/a/blob?***#***");
    CHECK_STR(gx_secrets_redact_url(p, "https://example.org/blob"), "https://example.org/blob");
    CHECK_STR(gx_secrets_redact_url(p, "http://u@h?q"), "http://***@h?***");
    CHECK_STR(gx_secrets_redact_url(p, "https://h/p@x?a=b@c"), "https://h/p@x?***");
    CHECK_STR(gx_secrets_redact_url(p, "file:remote.txt?k=v"), "file:remote.txt?***");
    CHECK_STR(gx_secrets_redact_url(p, "https://a:b@c:d@h/"), "https://***@h/");
    CHECK_STR(gx_secrets_redact_url(p, ""), "");
}

/* SECRETS_URL with credentials that fails: no message holds them. */
static void redacted_in_messages(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 4, sizeof(const char *));
    gx_secrets_opts o = {0};
    int i;
    o.timeout = 2;
    put(p, "cred.yaml", "SECRETS_URL: http://alice:pa55word@127.0.0.1:9/blob?token=t0k3n#f\n"
                        "SECRETS_KEY: K\n");
    CHECK(gx_secrets_load(p, at(p, "cred.yaml"), &o, d, ns) == NULL);
    CHECK_INT(d->errors, 1);
    for (i = 0; i < d->items->nelts; i++) {
        const char *m = gx_diag_format(p, &APR_ARRAY_IDX(d->items, i, gx_diag));
        CHECK(!strstr(m, "pa55word") && !strstr(m, "alice") && !strstr(m, "t0k3n"));
        CHECK(strstr(m, "http://***@127.0.0.1:9/blob?***#***") != NULL);
        /* said once, with the fix */
        CHECK(strstr(m, "there is no cached copy at ") && !strstr(m, "(no cached copy)"));
        CHECK(strstr(m, "Fix SECRETS_URL or SECRETS_KEY") != NULL);
    }
    apr_file_remove(at(p, "cred.yaml"), p);
}

/* Issue 9 item 7: file:name is relative to the app's directory. */
static void relative_file_url(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 4, sizeof(const char *));
    gx_secrets_opts o = {0};
    const char *err = NULL;
    char *blob = gx_aead_encrypt(p, "K", "{\"R\": \"rel\"}", 12, &err);
    gx_node *v;
    apr_size_t len;
    apr_dir_make(at(p, "sub"), APR_FPROT_OS_DEFAULT, p);
    put(p, "remote file.txt", blob);
    put(p, "sub/.secrets.yaml", "SECRETS_URL: file:../remote%20file.txt\nSECRETS_KEY: K\n");
    o.cache = at(p, "rel.cache");
    o.base_dir = at(p, "sub");
    v = gx_secrets_load(p, at(p, "sub/.secrets.yaml"), &o, d, ns);
    CHECK_INT(d->errors, 0);
    CHECK(v && gx_map_get(v, "R") && !strcmp(gx_map_get(v, "R")->str, "rel"));
    /* other spellings of local files */
    o.base_dir = "/nonexistent";
    CHECK(gx_secrets_fetch(p, file_url(p, "", at(p, "remote%20file.txt")), &o, &len, &err) != NULL);
    CHECK(gx_secrets_fetch(p, file_url(p, "localhost", at(p, "remote%20file.txt")), &o, &len, &err)
          != NULL);
    CHECK(gx_secrets_fetch(p, apr_pstrcat(p, "file:", dir, "/remote file.txt", NULL), &o, &len,
                           &err) != NULL);
    CHECK(gx_secrets_fetch(p, "file://elsewhere/x", &o, &len, &err) == NULL && strstr(err, "this machine"));
    CHECK(gx_secrets_fetch(p, "file:", &o, &len, &err) == NULL && strstr(err, "file name"));
#ifdef _WIN32
    /* a network share in any spelling: not this machine (and not the service's NTLM hash) */
    CHECK(gx_secrets_fetch(p, "file:////elsewhere/share/x", &o, &len, &err) == NULL
          && strstr(err, "not a network share"));
    CHECK(gx_secrets_fetch(p, "file:%5C%5Celsewhere%5Cshare%5Cx", &o, &len, &err) == NULL
          && strstr(err, "not a network share"));
    CHECK(gx_secrets_fetch(p, "file:\\\\elsewhere\\share\\x", &o, &len, &err) == NULL
          && strstr(err, "not a network share"));
    CHECK(gx_secrets_fetch(p, "file://elsewhere\\share\\x", &o, &len, &err) == NULL
          && strstr(err, "this machine"));
#endif
    CHECK(gx_secrets_fetch(p, apr_pstrcat(p, "file:", dir, NULL), &o, &len, &err) == NULL
          && strstr(err, "not a regular file"));
#ifndef _WIN32
    CHECK(gx_secrets_fetch(p, "file:/dev/zero", &o, &len, &err) == NULL
          && strstr(err, "not a regular file"));
#endif
    CHECK(gx_secrets_fetch(p, "ftp://127.0.0.1/x", &o, &len, &err) == NULL
          && strstr(err, "must start with"));
    apr_file_remove(at(p, "sub/.secrets.yaml"), p);
    apr_file_remove(at(p, "sub/.secrets.cache"), p);
    apr_dir_remove(at(p, "sub"), p);
    apr_file_remove(at(p, "remote file.txt"), p);
    apr_file_remove(at(p, "rel.cache"), p);
}

/* Fetched once per memo: the second load does not read the URL again, and
 * says the same things. */
static void once_per_memo(apr_pool_t *p)
{
    apr_pool_t *mp;
    gx_secrets_memo *memo;
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 4, sizeof(const char *));
    gx_secrets_opts o = {0};
    const char *payload = "{\"M\": \"memo-value\"}";
    gx_node *v;
    apr_pool_create(&mp, p);
    memo = gx_secrets_memo_make(mp);
    o.memo = memo;
    o.cache = at(p, "memo.cache");
    put(p, "memo-blob.txt", gx_signed_encode(p, "K", payload, strlen(payload), apr_time_now()));
    put(p, "memo.yaml", "SECRETS_URL: file:memo-blob.txt\nSECRETS_KEY: K\n");
    v = gx_secrets_load(p, at(p, "memo.yaml"), &o, d, ns);
    CHECK(v && gx_map_get(v, "M"));
    CHECK_INT(d->warnings, 1);                                 /* signed only */
    apr_file_remove(at(p, "memo-blob.txt"), p);
    apr_file_remove(at(p, "memo.cache"), p);
    d = gx_diags_make(p);
    v = gx_secrets_load(p, at(p, "memo.yaml"), &o, d, ns);     /* no URL, no cache: memo */
    CHECK(v && gx_map_get(v, "M") && !strcmp(gx_map_get(v, "M")->str, "memo-value"));
    CHECK_INT(d->errors, 0);
    CHECK_INT(d->warnings, 1);                                 /* replayed */
    gx_secrets_memo_wipe(memo);
    d = gx_diags_make(p);
    CHECK(gx_secrets_load(p, at(p, "memo.yaml"), &o, d, ns) == NULL);   /* forgotten */
    CHECK_INT(d->errors, 1);
    apr_pool_destroy(mp);
    apr_file_remove(at(p, "memo.yaml"), p);
}

/* The loaded variables are zeroed when their pool is cleared. */
static void wiped(apr_pool_t *p)
{
    apr_pool_t *q;
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 4, sizeof(const char *));
    gx_node *v, *pw;
    const char *held;
    char before[16];
    gx_node tree = {0};
    apr_pool_create(&q, p);
    put(p, "wipe.yaml", "PW: hunter2-wipe-me\n");
    v = gx_secrets_load(q, at(p, "wipe.yaml"), NULL, d, ns);
    pw = v ? gx_map_get(v, "PW") : NULL;
    CHECK(pw && !strcmp(pw->str, "hunter2-wipe-me"));
    held = pw ? pw->str : "";
    memcpy(before, held, sizeof(before));
    CHECK(!memcmp(before, "hunter2-wipe-me", 15));
    apr_pool_clear(q);      /* q's memory stays with the allocator: readable */
    CHECK(memcmp(held, "hunter2-wipe-me", 15) != 0);
    CHECK(held[0] == '\0');
    apr_pool_destroy(q);
    /* constants in parse trees are left alone (writing them would crash) */
    tree.type = GX_BOOL;
    tree.str = "true";
    gx_wipe_tree(&tree);
    CHECK_STR(tree.str, "true");
    apr_file_remove(at(p, "wipe.yaml"), p);
}

#ifndef _WIN32
/* The cache is never written through a planted link, nor as root into a
 * directory another user owns. POSIX only: APR cannot make a link, and
 * Windows has no root (gx_sec_cache.c). */
static void cache_links(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 4, sizeof(const char *));
    gx_secrets_opts o = {0};
    const char *payload = "{\"L\": \"link\"}", *victim = at(p, "victim.txt");
    char *blob = gx_signed_encode(p, "K", payload, strlen(payload), apr_time_now());
    int rc;
    put(p, "victim.txt", "precious\n");
    put(p, "link-blob.txt", blob);
    put(p, "link.yaml", "SECRETS_URL: file:link-blob.txt\nSECRETS_KEY: K\n");
    o.cache = at(p, "link.cache");
    /* the old fixed temp name, and the cache itself, as links to a victim */
    rc = symlink(victim, at(p, "link.cache.tmp")) + symlink(victim, at(p, "link.cache"));
    CHECK_INT(rc, 0);
    CHECK(gx_secrets_load(p, at(p, "link.yaml"), &o, d, ns) != NULL);
    CHECK_INT(d->errors, 0);
    CHECK_STR(slurp(p, victim), "precious\n");
    {
        struct stat st;
        CHECK(lstat(at(p, "link.cache"), &st) == 0 && S_ISREG(st.st_mode));
        CHECK_INT(st.st_mode & 0777, 0600);
        CHECK(!strncmp(slurp(p, at(p, "link.cache")), "gxs2.", 5));
    }
    /* a cache that is a link is not read either */
    apr_file_remove(at(p, "link.cache"), p);
    CHECK_INT(symlink(victim, at(p, "link.cache")), 0);
    apr_file_remove(at(p, "link-blob.txt"), p);
    d = gx_diags_make(p);
    CHECK(gx_secrets_load(p, at(p, "link.yaml"), &o, d, ns) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "not a file written by Apache; delete it") != NULL);
    apr_file_remove(at(p, "link.cache"), p);
    apr_file_remove(at(p, "link.cache.tmp"), p);

    /* as root, a directory owned by someone else gets no cache */
    if (geteuid() == 0) {
        apr_dir_make(at(p, "other"), APR_FPROT_OS_DEFAULT, p);
        CHECK_INT(chown(at(p, "other"), 65534, 65534), 0);
        put(p, "link-blob.txt", blob);
        o.cache = at(p, "other/.secrets.cache");
        d = gx_diags_make(p);
        CHECK(gx_secrets_load(p, at(p, "link.yaml"), &o, d, ns) != NULL);
        CHECK(strstr(gx_diag_format(p, &APR_ARRAY_IDX(d->items, 1, gx_diag)),
                     "belongs to another user (uid 65534)") != NULL);
        CHECK(access(at(p, "other/.secrets.cache"), F_OK) != 0);
        /* root's, but writable by all: no; the same with the sticky bit (/tmp): yes */
        CHECK_INT(chown(at(p, "other"), 0, 0) + chmod(at(p, "other"), 0777), 0);
        d = gx_diags_make(p);
        CHECK(gx_secrets_load(p, at(p, "link.yaml"), &o, d, ns) != NULL);
        CHECK(d->items->nelts == 2 && strstr(gx_diag_format(p, &APR_ARRAY_IDX(d->items, 1, gx_diag)),
                                             "is writable by other users; set "
                                             "GramexSecretsCacheDir (or GramexSecretsCache) to "
                                             "a directory only root can write"));
        CHECK(access(at(p, "other/.secrets.cache"), F_OK) != 0);
        CHECK_INT(chmod(at(p, "other"), 01777), 0);
        d = gx_diags_make(p);
        CHECK(gx_secrets_load(p, at(p, "link.yaml"), &o, d, ns) != NULL);
        CHECK_INT(d->items->nelts, 1);                          /* signed only, nothing else */
        CHECK(access(at(p, "other/.secrets.cache"), F_OK) == 0);
        apr_file_remove(at(p, "other/.secrets.cache"), p);
        apr_dir_remove(at(p, "other"), p);
        apr_file_remove(at(p, "link-blob.txt"), p);
    }
    apr_file_remove(at(p, "link.yaml"), p);
    apr_file_remove(victim, p);
}
#endif

/* libcurl refuses other protocols, with CURLOPT_PROTOCOLS_STR and with the
 * CURLOPT_PROTOCOLS bit mask older libcurls have. */
static void curl_protocols(apr_pool_t *p)
{
    int legacy;
    (void)p;
    for (legacy = 0; legacy < 2; legacy++) {
        CURL *c = curl_easy_init();
        gx_secrets_opts o = {0};
        const char *err = NULL;
        CHECK(gx_secrets_curl_setup(c, "http://127.0.0.1:9/", &o, legacy, &err));
        curl_easy_setopt(c, CURLOPT_URL, "dict://127.0.0.1:9/x");
        CHECK_INT(curl_easy_perform(c), CURLE_UNSUPPORTED_PROTOCOL);
        curl_easy_cleanup(c);
        c = curl_easy_init();
        CHECK(gx_secrets_curl_setup(c, "https://127.0.0.1:9/", &o, legacy, &err));
        curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:9/x");   /* https only */
        CHECK_INT(curl_easy_perform(c), CURLE_UNSUPPORTED_PROTOCOL);
        curl_easy_cleanup(c);
    }
}

/* GramexSecretsCacheDir: one cache per secrets file, named by its path's
 * hash, in a directory made (0711) when missing; a second file with its
 * own URL gets its own cache; the cache is the fallback */
/* What apr_stat says of path itself (a link is not followed); type 0 when missing. */
static apr_finfo_t lstat_of(apr_pool_t *p, const char *path)
{
    apr_finfo_t fi;
    apr_status_t rv = apr_stat(&fi, path, APR_FINFO_LINK | APR_FINFO_TYPE | APR_FINFO_PROT, p);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
        fi.filetype = APR_NOFILE;
    return fi;
}

static void cache_dir(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 4, sizeof(const char *));
    gx_secrets_opts o = {0};
    const char *payload = "{\"C\": \"cached\"}", *c1, *c2;
    char *blob = gx_signed_encode(p, "K", payload, strlen(payload), apr_time_now());
    apr_finfo_t dir, file;
    gx_node *v;
    CHECK_STR(gx_sec_cache_path(p, "/state", "/srv/app/.secrets.yaml"),
              "/state/fcf6a88109ce0e4eaed84354cefd6058.secrets.cache");
    put(p, "cd-blob.txt", blob);
    put(p, "cd1.yaml", "SECRETS_URL: file:cd-blob.txt\nSECRETS_KEY: K\n");
    put(p, "cd2.yaml", "SECRETS_URL: file:cd-blob.txt\nSECRETS_KEY: K\n");
    o.cache_dir = at(p, "state");
    c1 = gx_sec_cache_path(p, o.cache_dir, at(p, "cd1.yaml"));
    c2 = gx_sec_cache_path(p, o.cache_dir, at(p, "cd2.yaml"));
    CHECK(strcmp(c1, c2) != 0);
    CHECK(gx_secrets_load(p, at(p, "cd1.yaml"), &o, d, ns) != NULL);
    CHECK(gx_secrets_load(p, at(p, "cd2.yaml"), &o, d, ns) != NULL);
    dir = lstat_of(p, at(p, "state"));
    file = lstat_of(p, c1);
    CHECK_INT(dir.filetype, APR_DIR);
    CHECK_INT(file.filetype, APR_REG);
#ifndef _WIN32      /* Windows keeps ACLs, not mode bits */
    CHECK_INT(dir.protection, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                              | APR_FPROT_GEXECUTE | APR_FPROT_WEXECUTE);      /* 0711 */
    CHECK_INT(file.protection, APR_FPROT_UREAD | APR_FPROT_UWRITE);           /* 0600 */
#endif
    CHECK_INT(lstat_of(p, c2).filetype, APR_REG);
    CHECK(!strncmp(slurp(p, c1), "gxs2.", 5));             /* encrypted */
    CHECK_INT(lstat_of(p, at(p, ".secrets.cache")).filetype, APR_NOFILE);   /* nothing beside the file */
    CHECK_STR(APR_ARRAY_IDX(ns, 1, const char *), c1);
    /* the URL gone: the cache in the directory is the fallback */
    apr_file_remove(at(p, "cd-blob.txt"), p);
    d = gx_diags_make(p);
    v = gx_secrets_load(p, at(p, "cd1.yaml"), &o, d, ns);
    CHECK(v && !strcmp(gx_map_get(v, "C")->str, "cached"));
    CHECK(strstr(gx_diag_format(p, &APR_ARRAY_IDX(d->items, 0, gx_diag)),
                 apr_psprintf(p, "using the last good copy from %s", c1)) != NULL);
    apr_file_remove(c1, p);
    apr_file_remove(c2, p);
    apr_dir_remove(at(p, "state"), p);
    apr_file_remove(at(p, "cd1.yaml"), p);
    apr_file_remove(at(p, "cd2.yaml"), p);
}

/* ---- the data mod_gramex_secrets hands mod_gramex (gx_secrets_abi.h) ---- */

static gx_node *yaml(apr_pool_t *p, const char *text)
{
    gx_node *doc = NULL;
    gx_yaml_parse_string(p, text, strlen(text), "/app/.secrets.yaml", 0, &doc, gx_diags_make(p));
    return doc;
}

/* every type, nesting and non-string keys come back as they went, with
 * their file:line; messages and never_serve paths too */
static void abi_round_trip(apr_pool_t *p)
{
    static const char text[] = "S: 'a: b'\nI: 0x1F\nF: 1.50\nB: yes\nN:\nD: 2020-01-02\n"
                               "L: [1, [x], {k: v}]\nM: {404: e, 1.5: f}\nE: {}\n";
    gx_node *vars = yaml(p, text), *back;
    gx_diags *d = gx_diags_make(p), *d2 = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *ns2 = apr_array_make(p, 2, sizeof(const char *));
    gx_secrets_result *r;
    APR_ARRAY_PUSH(ns, const char *) = "/app/.secrets.yaml";
    gx_diag_add(d, GX_WARN, "/app/.secrets.yaml", 3, "only signed");
    r = gx_secrets_export(p, vars, d, ns);
    CHECK_INT(r->abi_version, GX_SECRETS_ABI_VERSION);
    CHECK(r->ok);
    back = gx_secrets_import(p, r, "/app/gramex.yaml", d2, ns2);
    CHECK(back != NULL);
    CHECK_STR(gx_json_string(p, back, -1, NULL), gx_json_string(p, vars, -1, NULL));
    CHECK_INT(gx_map_get(back, "I")->i, 31);
    CHECK_STR(gx_map_get(back, "I")->str, gx_map_get(vars, "I")->str);
    CHECK_INT(gx_map_get(back, "F")->type, GX_FLOAT);
    CHECK(gx_map_get(back, "F")->f == 1.5);
    CHECK_INT(gx_map_get(back, "B")->type, GX_BOOL);
    CHECK_INT(gx_map_get(back, "B")->i, 1);
    CHECK_INT(gx_map_get(back, "D")->type, GX_DATE);
    CHECK_INT(gx_map_get(back, "N")->type, GX_NULL);
    CHECK_INT(gx_map_get(back, "M")->keys[0]->type, GX_INT);
    CHECK_INT(gx_map_get(back, "E")->n, 0);
    CHECK_INT(gx_map_get(back, "L")->line, 7);
    CHECK_STR(gx_map_get(back, "L")->file, "/app/.secrets.yaml");
    CHECK_INT(d2->warnings, 1);
    CHECK_INT(d2->errors, 0);
    CHECK_STR(gx_diag_format(p, &APR_ARRAY_IDX(d2->items, 0, gx_diag)),
              "/app/.secrets.yaml:3: only signed");
    CHECK_INT(ns2->nelts, 1);
    CHECK_STR(APR_ARRAY_IDX(ns2, 0, const char *), "/app/.secrets.yaml");
}

/* a load that failed crosses as not ok, with its errors; the app is refused */
static void abi_failed_load(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p), *d2 = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 2, sizeof(const char *));
    gx_secrets_result *r;
    gx_diag_add(d, GX_ERROR, "/app/.secrets.yaml", 2, "must be a YAML mapping");
    r = gx_secrets_export(p, NULL, d, ns);
    CHECK(!r->ok);
    CHECK(gx_secrets_import(p, r, "/app/gramex.yaml", d2, ns) == NULL);
    CHECK_STR(gx_diags_first_error(p, d2), "/app/.secrets.yaml:2: must be a YAML mapping");
    /* not ok and no reason given: still an error */
    r->nmessages = 0;
    d2 = gx_diags_make(p);
    CHECK(gx_secrets_import(p, r, "/app/gramex.yaml", d2, ns) == NULL);
    CHECK_INT(d2->errors, 1);
}

/* another version, or none: an error naming both versions, no secrets */
static void abi_mismatch(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 2, sizeof(const char *));
    gx_secrets_result *r = gx_secrets_export(p, yaml(p, "A: 1\n"), d, ns);
    const char *e;
    r->abi_version = GX_SECRETS_ABI_VERSION + 1;
    CHECK(gx_secrets_import(p, r, "/app/gramex.yaml", d, ns) == NULL);
    e = gx_diags_first_error(p, d);
    CHECK(e && !strncmp(e, "/app/gramex.yaml: mod_gramex_secrets answers with secrets ABI ", 62));
    CHECK(e && strstr(e, apr_psprintf(p, "ABI %d and mod_gramex reads secrets ABI %d,",
                                      GX_SECRETS_ABI_VERSION + 1, GX_SECRETS_ABI_VERSION)));
    CHECK(e && strstr(e, "the app is not loaded; install mod_gramex and mod_gramex_secrets "
                         "from the same build"));
    d = gx_diags_make(p);
    CHECK(gx_secrets_import(p, NULL, "/app/gramex.yaml", d, ns) == NULL);
    e = gx_diags_first_error(p, d);
    CHECK(e && strstr(e, apr_psprintf(p, "(secrets ABI 0) and mod_gramex needs secrets ABI %d",
                                      GX_SECRETS_ABI_VERSION)));
    CHECK_INT(ns->nelts, 0);
}

/* counts past the end, unknown types, scalars without text: refused */
static void abi_malformed(apr_pool_t *p)
{
    gx_diags *d = gx_diags_make(p);
    apr_array_header_t *ns = apr_array_make(p, 2, sizeof(const char *));
    gx_secrets_result *r = gx_secrets_export(p, yaml(p, "A: [1, 2]\nB: x\n"), d, ns);
    gx_secrets_value *v = (gx_secrets_value *)r->values;
    int n = r->nvalues;
    CHECK_INT(n, 7);
    CHECK(gx_secrets_import(p, r, "/a", d, ns) != NULL);
    v[2].count = 3;                                     /* the list claims more items */
    CHECK(gx_secrets_import(p, r, "/a", d, ns) == NULL);
    CHECK(strstr(gx_diags_first_error(p, d), "not a well-formed mapping") != NULL);
    v[2].count = 2;
    v[3].type = 99;
    CHECK(gx_secrets_import(p, r, "/a", d = gx_diags_make(p), ns) == NULL);
    v[3].type = GX_SV_INT;
    v[6].text = NULL;
    CHECK(gx_secrets_import(p, r, "/a", d = gx_diags_make(p), ns) == NULL);
    v[6].text = "x";
    r->nvalues = n - 1;                                 /* truncated */
    CHECK(gx_secrets_import(p, r, "/a", d = gx_diags_make(p), ns) == NULL);
    r->nvalues = n;
    v[0].type = GX_SV_LIST;                             /* not a mapping */
    CHECK(gx_secrets_import(p, r, "/a", d = gx_diags_make(p), ns) == NULL);
    v[0].type = GX_SV_MAP;
    v[0].count = 1;                                     /* values left over */
    CHECK(gx_secrets_import(p, r, "/a", d = gx_diags_make(p), ns) == NULL);
    v[0].count = -1;
    CHECK(gx_secrets_import(p, r, "/a", d = gx_diags_make(p), ns) == NULL);
    v[0].count = 2;
    CHECK(gx_secrets_import(p, r, "/a", d = gx_diags_make(p), ns) != NULL);
}

TEST_MAIN_BEGIN
    apr_pool_t *p;
    char *tmp;
    apr_file_t *f;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    apr_pool_create(&p, NULL);
    apr_temp_dir_get((const char **)&tmp, p);
    tmp = apr_pstrcat(p, tmp, "/gx-sec-XXXXXX", NULL);
    apr_file_mktemp(&f, tmp, 0, p);
    apr_file_close(f);
    apr_file_remove(tmp, p);
    apr_dir_make(tmp, APR_FPROT_OS_DEFAULT, p);
    dir = tmp;
    RUN(signed_values);
    RUN(aead);
    RUN(aead_malformed);
    RUN(aead_versions);
    RUN(base64);
    RUN(load_files);
    RUN(redaction);
    RUN(redacted_in_messages);
    RUN(relative_file_url);
    RUN(once_per_memo);
    RUN(wiped);
#ifndef _WIN32
    RUN(cache_links);
#endif
    RUN(cache_dir);
    RUN(curl_protocols);
    RUN(abi_round_trip);
    RUN(abi_failed_load);
    RUN(abi_mismatch);
    RUN(abi_malformed);
    {
        static const char *const names[] = {".secrets.yaml", "team-a.yaml", "bad.yaml",
                                            ".secrets.cache", ".secrets.cache.tmp", NULL};
        int i;
        for (i = 0; names[i]; i++)
            apr_file_remove(apr_pstrcat(p, dir, "/", names[i], NULL), p);
        apr_dir_remove(dir, p);
    }
    curl_global_cleanup();
TEST_MAIN_END

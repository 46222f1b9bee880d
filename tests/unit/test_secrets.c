/* mod_gramex_secrets core: signed values (Gramex's own fixture vector, spec
 * i.3), gxs1 round trips and tampering, .secrets.yaml with SECRETS_IMPORT,
 * SECRETS_URL over file:// and the encrypted cache fallback. Vectors made by
 * tornado itself are checked in tests/live/test_secrets.py. */
#include "gx_test.h"
#include "gx_sec_codec.h"
#include "gx_sec_load.h"
#include "gx_json.h"
#include <apr_strings.h>
#include <apr_file_io.h>
#include <curl/curl.h>

/* tests/remote-secrets.yaml of Gramex, key SECRETKEY */
static const char *const gramex_v2 =
    "2|1:0|10:1601277046|0:|64:eyJSRU1PVEVfU0VDUkVUMSI6IDEsICJSRU1PVEVfU0VDUkVUMiI6ICJiZXRhIn0=|"
    "b5a9b9a62fff46cdc2b59e90311dcdf85f6ce90087fc1e541edfa4d4ed296368";

static const char *dir;

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
                                         "SECRETS_URL: file://%s/blob.txt\nSECRETS_KEY: K\n", dir));
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
        apr_stat(&fi, apr_pstrcat(p, dir, "/.secrets.cache", NULL), APR_FINFO_PROT, p);
        CHECK_INT(fi.protection, APR_FPROT_UREAD | APR_FPROT_UWRITE);
        apr_file_open(&f, apr_pstrcat(p, dir, "/.secrets.cache", NULL), APR_FOPEN_READ, 0, p);
        apr_file_read(f, buf, &n);
        apr_file_close(f);
        buf[n] = '\0';
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

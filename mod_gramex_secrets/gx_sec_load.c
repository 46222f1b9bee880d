/* gx_sec_load: see gx_sec_load.h */
#include "gx_sec_load.h"
#include "gx_sec_codec.h"
#include "gx_yaml.h"
#include "gx_pathrule.h"
#include "gx_json.h"
#include <apr_strings.h>
#include <apr_file_io.h>
#include <curl/curl.h>
#include <string.h>

#define SECRETS_URL "SECRETS_URL"
#define SECRETS_KEY "SECRETS_KEY"
#define SECRETS_IMPORT "SECRETS_IMPORT"
#define CACHE_NAME ".secrets.cache"
/* SECRETS_IMPORT chains deeper than this are a loop */
#define MAX_IMPORT_DEPTH 16

/* ---- fetching --------------------------------------------------------------- */

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap, max;
    int too_big;
} sink;

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    sink *s = userp;
    apr_size_t n = size * nmemb;
    if (s->len + n > s->max) {
        s->too_big = 1;
        return 0;                       /* abort the transfer */
    }
    if (s->len + n + 1 > s->cap) {
        apr_size_t cap = s->cap ? s->cap : 4096;
        char *bigger;
        while (s->len + n + 1 > cap)
            cap *= 2;
        bigger = apr_palloc(s->p, cap);
        if (s->len)
            memcpy(bigger, s->buf, s->len);
        s->buf = bigger;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

char *gx_secrets_fetch(apr_pool_t *p, const char *url, const gx_secrets_opts *o,
                       apr_size_t *len, const char **err)
{
    sink s = {p, NULL, 0, 0, o->max_bytes ? o->max_bytes : GX_SECRETS_MAX_BYTES, 0};
    CURL *c = curl_easy_init();
    CURLcode rc;
    long status = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    if (!c) {
        *err = "cannot start libcurl";
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(o->timeout > 0 ? o->timeout : GX_SECRETS_TIMEOUT_DEFAULT));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (s.too_big) {
        *err = apr_psprintf(p, "larger than %" APR_SIZE_T_FMT " bytes", s.max);
        return NULL;
    }
    if (rc != CURLE_OK) {
        *err = apr_pstrdup(p, *errbuf ? errbuf : curl_easy_strerror(rc));
        return NULL;
    }
    if (strncmp(url, "file:", 5) && (status < 200 || status >= 300)) {
        *err = apr_psprintf(p, "HTTP status %ld", status);
        return NULL;
    }
    *len = s.len;
    return s.buf ? s.buf : apr_pstrdup(p, "");
}

/* ---- blobs ------------------------------------------------------------------ */

gx_node *gx_secrets_decode_blob(apr_pool_t *p, const char *key, const char *text,
                                apr_time_t now, int *signed_only, const char **err)
{
    gx_diags *quiet = gx_diags_make(p);
    gx_node *doc = NULL, *payload = NULL;
    const char *blob;
    char *plain;
    apr_size_t len;

    /* the published text is YAML holding one string: comments are ignored */
    if (gx_yaml_parse_string(p, text, strlen(text), "blob", 0, &doc, quiet) != GX_YAML_OK
        || !doc || doc->type != GX_STR) {
        *err = "the text is not a single signed or encrypted string";
        return NULL;
    }
    blob = doc->str;
    *signed_only = gx_blob_detect(blob) != GX_BLOB_AEAD;
    plain = *signed_only ? gx_signed_decode(p, key, blob, now, &len, err)
                         : gx_aead_decrypt(p, key, blob, &len, err);
    if (!plain)
        return NULL;
    if (memchr(plain, '\0', len)
        || gx_yaml_parse_string(p, plain, len, "payload", 0, &payload, quiet) != GX_YAML_OK
        || !payload || payload->type != GX_MAP) {
        *err = "the payload is not a JSON object";
        return NULL;
    }
    return payload;
}

/* ---- the cache ------------------------------------------------------------ */

static int write_cache(apr_pool_t *p, const char *path, const char *key, const char *json)
{
    const char *err;
    char *blob = gx_aead_encrypt(p, key, json, strlen(json), &err);
    apr_file_t *f;
    apr_size_t n;
    const char *tmp = apr_pstrcat(p, path, ".tmp", NULL);
    if (!blob || apr_file_open(&f, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                               APR_FPROT_UREAD | APR_FPROT_UWRITE, p) != APR_SUCCESS)
        return 0;
    apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE);
    n = strlen(blob);
    if (apr_file_write_full(f, blob, n, NULL) != APR_SUCCESS) {
        apr_file_close(f);
        return 0;
    }
    apr_file_close(f);
    return apr_file_rename(tmp, path, p) == APR_SUCCESS;
}

static gx_node *read_cache(apr_pool_t *p, const char *path, const char *key, apr_time_t now,
                           const char **err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;
    int signed_only;
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
        || fi.size > GX_SECRETS_MAX_BYTES * 2) {
        *err = "no cached copy";
        return NULL;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    buf[n] = '\0';
    return gx_secrets_decode_blob(p, key, buf, now, &signed_only, err);
}

/* ---- .secrets.yaml ------------------------------------------------------------ */

static void add(apr_pool_t *p, gx_node *into, const gx_node *from)
{
    int i;
    for (i = 0; from && i < from->n; i++)
        gx_map_set_node(p, into, from->keys[i], from->vals[i]);
}

static const char *dir_of(apr_pool_t *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? apr_pstrmemdup(p, path, slash - path) : ".";
}

static gx_node *load_file(apr_pool_t *p, const char *path, const gx_secrets_opts *o,
                          gx_diags *d, apr_array_header_t *never_serve, int depth);

static int import_patterns(apr_pool_t *p, const char *path, const gx_node *spec,
                           const gx_secrets_opts *o, gx_diags *d,
                           apr_array_header_t *never_serve, int depth, gx_node *into)
{
    int i, j, n = spec->type == GX_LIST || spec->type == GX_MAP ? spec->n : 1;
    for (i = 0; i < n; i++) {
        const gx_node *pat = spec->type == GX_LIST || spec->type == GX_MAP ? spec->vals[i] : spec;
        apr_array_header_t *matches;
        if (!pat || pat->type != GX_STR) {
            gx_diag_add(d, GX_ERROR, path, pat ? pat->line : spec->line, SECRETS_IMPORT
                        " must be a pattern, a list of patterns or a mapping of them");
            return 0;
        }
        matches = gx_glob(p, dir_of(p, path), pat->str);
        for (j = 0; j < matches->nelts; j++) {
            gx_node *sub = load_file(p, APR_ARRAY_IDX(matches, j, const char *), o, d,
                                     never_serve, depth + 1);
            if (!sub)
                return 0;
            add(p, into, sub);
        }
    }
    return 1;
}

static gx_node *remote(apr_pool_t *p, const char *path, const char *url, const char *key,
                       const gx_secrets_opts *o, gx_diags *d, apr_array_header_t *never_serve,
                       int line)
{
    const char *cache = o->cache ? o->cache : apr_pstrcat(p, dir_of(p, path), "/" CACHE_NAME, NULL);
    apr_time_t now = o->now ? o->now : apr_time_now();
    const char *err = NULL, *cache_err;
    gx_node *payload = NULL;
    char *text;
    apr_size_t len;
    int signed_only = 0;

    APR_ARRAY_PUSH(never_serve, const char *) = cache;
    text = gx_secrets_fetch(p, url, o, &len, &err);
    if (text && memchr(text, '\0', len))
        err = "the response has NUL bytes";
    else if (text)
        payload = gx_secrets_decode_blob(p, key, text, now, &signed_only, &err);
    if (payload) {
        if (signed_only)
            gx_diag_add(d, GX_WARN, path, line, SECRETS_URL " %s is only signed: anyone who can "
                        "read it reads every secret. Publish `gramex-secrets encrypt --format "
                        "aead` output instead", url);
        if (!write_cache(p, cache, key, gx_json_string(p, payload, -1, NULL)))
            gx_diag_add(d, GX_WARN, path, line, "cannot write the secrets cache %s; a later "
                        "failure to fetch %s will have no fallback", cache, url);
        return payload;
    }
    payload = read_cache(p, cache, key, now, &cache_err);
    if (payload) {
        gx_diag_add(d, GX_WARN, path, line, "cannot use " SECRETS_URL " %s (%s); using the "
                    "last good copy from %s", url, err, cache);
        return payload;
    }
    gx_diag_add(d, GX_ERROR, path, line, SECRETS_URL " %s: %s, and there is no cached copy "
                "(%s); fix the URL or SECRETS_KEY", url, err, cache_err);
    return NULL;
}

static gx_node *load_file(apr_pool_t *p, const char *path, const gx_secrets_opts *o,
                          gx_diags *d, apr_array_header_t *never_serve, int depth)
{
    gx_node *doc = NULL, *out = gx_map_new(p, path, 0), *imp, *url, *key;
    gx_yaml_status st;
    int i;

    if (depth > MAX_IMPORT_DEPTH) {
        gx_diag_add(d, GX_ERROR, path, 0, SECRETS_IMPORT " goes deeper than %d files; "
                    "it imports itself", MAX_IMPORT_DEPTH);
        return NULL;
    }
    APR_ARRAY_PUSH(never_serve, const char *) = apr_pstrdup(p, path);
    st = gx_yaml_parse_file(p, path, 0, &doc, d);
    if (st == GX_YAML_MISSING)
        return out;
    if (st != GX_YAML_OK)
        return NULL;
    if (doc->type == GX_NULL)
        return out;
    if (doc->type != GX_MAP) {
        gx_diag_add(d, GX_ERROR, path, doc->line, "must be a YAML mapping of NAME: value (it is "
                    "a %s)", gx_type_name(doc->type));
        return NULL;
    }
    imp = gx_map_get(doc, SECRETS_IMPORT);
    url = gx_map_get(doc, SECRETS_URL);
    key = gx_map_get(doc, SECRETS_KEY);
    /* lowest to highest: imported files, this file's keys, the remote payload */
    if (imp && imp->type != GX_NULL
        && !import_patterns(p, path, imp, o, d, never_serve, depth, out))
        return NULL;
    for (i = 0; i < doc->n; i++) {
        const char *k = gx_key_text(doc->keys[i]);
        if (strcmp(k, SECRETS_URL) && strcmp(k, SECRETS_KEY) && strcmp(k, SECRETS_IMPORT))
            gx_map_set_node(p, out, doc->keys[i], doc->vals[i]);
    }
    if (url && key && gx_truthy(url) && gx_truthy(key)) {
        gx_node *payload;
        if (url->type != GX_STR || key->type != GX_STR) {
            gx_diag_add(d, GX_ERROR, path, url->line, SECRETS_URL " and " SECRETS_KEY
                        " must be strings");
            return NULL;
        }
        payload = remote(p, path, url->str, key->str, o, d, never_serve, url->line);
        if (!payload)
            return NULL;
        add(p, out, payload);
    }
    return out;
}

gx_node *gx_secrets_load(apr_pool_t *p, const char *path, const gx_secrets_opts *o,
                         gx_diags *d, apr_array_header_t *never_serve)
{
    static const gx_secrets_opts defaults = {GX_SECRETS_TIMEOUT_DEFAULT, GX_SECRETS_MAX_BYTES,
                                             NULL, 0};
    return load_file(p, path, o ? o : &defaults, d, never_serve, 0);
}

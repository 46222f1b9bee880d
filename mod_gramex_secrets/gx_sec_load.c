/* gx_sec_load: see gx_sec_load.h */
#include "gx_sec_load.h"
#include "gx_sec_cache.h"
#include "gx_sec_codec.h"
#include "gx_sec_wipe.h"
#include "gx_yaml.h"
#include "gx_pathrule.h"
#include "gx_json.h"
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <string.h>

#define SECRETS_URL "SECRETS_URL"
#define SECRETS_KEY "SECRETS_KEY"
#define SECRETS_IMPORT "SECRETS_IMPORT"
#define CACHE_NAME ".secrets.cache"
/* SECRETS_IMPORT chains deeper than this are a loop */
#define MAX_IMPORT_DEPTH 16
/* as gx_yaml_parse_file */
#define MAX_SECRETS_FILE (16 * 1024 * 1024)

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
    gx_wipe_tree_on_cleanup(p, doc);        /* a signed blob is its payload in base64 */
    blob = doc->str;
    *signed_only = gx_blob_detect(blob) != GX_BLOB_AEAD;
    plain = *signed_only ? gx_signed_decode(p, key, blob, now, &len, err)
                         : gx_aead_decrypt(p, key, blob, &len, err);
    if (!plain)
        return NULL;
    gx_wipe_on_cleanup(p, plain, len);
    if (memchr(plain, '\0', len)
        || gx_yaml_parse_string(p, plain, len, "payload", 0, &payload, quiet) != GX_YAML_OK
        || !payload || payload->type != GX_MAP) {
        gx_wipe_tree(payload);
        *err = "the payload is not a JSON object";
        return NULL;
    }
    gx_wipe_tree_on_cleanup(p, payload);
    return payload;
}

/* ---- once per memo ---------------------------------------------------------- */

/* The memo may outlive the code that made it (httpd unloads and reloads
 * modules between passes), so its pool gets no cleanups: what it holds is
 * listed and wiped by gx_secrets_memo_wipe. */
struct gx_secrets_memo {
    apr_pool_t *p;
    apr_hash_t *by_source;      /* url \n key \n cache -> remembered */
    apr_array_header_t *trees;  /* gx_node *: payloads */
    apr_array_header_t *texts;  /* char *: keys, which hold SECRETS_KEY */
};

typedef struct {
    gx_node *payload;
    apr_array_header_t *diags;  /* gx_diag, replayed on each later load */
} remembered;

gx_secrets_memo *gx_secrets_memo_make(apr_pool_t *p)
{
    gx_secrets_memo *m = apr_palloc(p, sizeof(*m));
    m->p = p;
    m->by_source = apr_hash_make(p);
    m->trees = apr_array_make(p, 2, sizeof(gx_node *));
    m->texts = apr_array_make(p, 2, sizeof(char *));
    return m;
}

void gx_secrets_memo_wipe(gx_secrets_memo *m)
{
    int i;
    for (i = 0; i < m->trees->nelts; i++)
        gx_wipe_tree(APR_ARRAY_IDX(m->trees, i, gx_node *));
    for (i = 0; i < m->texts->nelts; i++) {
        char *t = APR_ARRAY_IDX(m->texts, i, char *);
        gx_wipe_text(t);
    }
    m->by_source = apr_hash_make(m->p);
    apr_array_clear(m->trees);
    apr_array_clear(m->texts);
}

static const char *memo_key(apr_pool_t *p, const char *url, const char *key, const char *cache)
{
    char *k = apr_pstrcat(p, url, "\n", key, "\n", cache, NULL);
    gx_wipe_on_cleanup(p, k, strlen(k));    /* holds SECRETS_KEY */
    return k;
}

static void replay(gx_diags *d, const apr_array_header_t *items)
{
    int i;
    for (i = 0; i < items->nelts; i++) {
        const gx_diag *it = &APR_ARRAY_IDX(items, i, gx_diag);
        gx_diag_add(d, it->level, it->file, it->line, "%s", it->msg);
    }
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

static void never_serve_add(apr_array_header_t *never_serve, const char *path)
{
    APR_ARRAY_PUSH(never_serve, const char *) = apr_pstrdup(never_serve->pool, path);
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

/* Fetch url and decode it; else the cache. Messages go to d. */
static gx_node *fetch_or_cache(apr_pool_t *p, const char *path, const char *url, const char *key,
                               const char *cache, const gx_secrets_opts *o, gx_diags *d, int line)
{
    const char *shown = gx_secrets_redact_url(p, url);
    apr_time_t now = o->now ? o->now : apr_time_now();
    const char *err = NULL, *why = NULL;
    gx_node *payload = NULL;
    char *text;
    apr_size_t len;
    int signed_only = 0;
    gx_secrets_opts fo = *o;

    if (!fo.base_dir)
        fo.base_dir = dir_of(p, path);
    text = gx_secrets_fetch(p, url, &fo, &len, &err);
    if (text && memchr(text, '\0', len))
        err = "the response has NUL bytes";
    else if (text)
        payload = gx_secrets_decode_blob(p, key, text, now, &signed_only, &err);
    if (payload) {
        char *json;
        if (signed_only)
            gx_diag_add(d, GX_WARN, path, line, SECRETS_URL " %s is only signed: anyone who can "
                        "read it reads every secret. Publish `gramex-secrets encrypt` output "
                        "instead", shown);
        json = gx_json_string(p, payload, -1, NULL);
        gx_wipe_on_cleanup(p, json, strlen(json));
        if (!gx_sec_cache_write(p, cache, key, json, &why))
            gx_diag_add(d, GX_WARN, path, line, "not writing the secrets cache %s (%s); a later "
                        "failure to fetch %s will have no fallback", cache, why, shown);
        return payload;
    }
    payload = gx_sec_cache_read(p, cache, key, now, &why);
    if (payload) {
        gx_diag_add(d, GX_WARN, path, line, "cannot use " SECRETS_URL " %s (%s); using the "
                    "last good copy from %s", shown, err, cache);
        return payload;
    }
    gx_diag_add(d, GX_ERROR, path, line, SECRETS_URL " %s: %s, and %s. Fix SECRETS_URL or "
                "SECRETS_KEY here, or make the URL answer: after one good fetch, the cache "
                "covers later failures", shown, err, why);
    return NULL;
}

static gx_node *remote(apr_pool_t *p, const char *path, const char *url, const char *key,
                       const gx_secrets_opts *o, gx_diags *d, apr_array_header_t *never_serve,
                       int line)
{
    const char *cache = o->cache ? o->cache
                        : o->cache_dir ? gx_sec_cache_path(p, o->cache_dir, path)
                        : apr_pstrcat(p, dir_of(p, path), "/" CACHE_NAME, NULL);
    const char *mkey;
    remembered *seen;
    gx_diags *own;
    gx_node *payload;

    if (!cache) {
        gx_diag_add(d, GX_ERROR, path, line, "cannot name the secrets cache (SHA-256 failed in "
                    "OpenSSL); check the OpenSSL installation");
        return NULL;
    }
    never_serve_add(never_serve, cache);
    if (!o->memo)
        return fetch_or_cache(p, path, url, key, cache, o, d, line);
    mkey = memo_key(p, url, key, cache);
    if ((seen = apr_hash_get(o->memo->by_source, mkey, APR_HASH_KEY_STRING)) != NULL) {
        replay(d, seen->diags);
        return seen->payload;
    }
    own = gx_diags_make(p);
    payload = fetch_or_cache(p, path, url, key, cache, o, own, line);
    replay(d, own->items);
    if (payload) {
        apr_pool_t *mp = o->memo->p;
        char *k = apr_pstrdup(mp, mkey);
        gx_diags *kept = gx_diags_make(mp);
        seen = apr_palloc(mp, sizeof(*seen));
        seen->payload = gx_node_clone(mp, payload, apr_hash_make(mp));
        replay(kept, own->items);
        seen->diags = kept->items;
        APR_ARRAY_PUSH(o->memo->trees, gx_node *) = seen->payload;
        APR_ARRAY_PUSH(o->memo->texts, char *) = k;
        apr_hash_set(o->memo->by_source, k, APR_HASH_KEY_STRING, seen);
    }
    return payload;
}

/* The file's text, wiped with p; 0 and *missing when it does not exist. */
static int read_secrets_file(apr_pool_t *p, const char *path, gx_diags *d, char **buf,
                             apr_size_t *len, int *missing)
{
    apr_finfo_t fi;
    apr_file_t *f;
    apr_status_t rv;
    *missing = 0;
    if (apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_SIZE, p) != APR_SUCCESS) {
        *missing = 1;
        return 0;
    }
    if (fi.filetype != APR_REG || fi.size > MAX_SECRETS_FILE) {
        gx_diag_add(d, GX_ERROR, path, 0, "is not a regular file under 16 MB; point "
                    "GramexSecrets to a YAML file");
        return 0;
    }
    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS) {
        char e[120];
        gx_diag_add(d, GX_ERROR, path, 0, "cannot be read: %s; check its permissions",
                    apr_strerror(rv, e, sizeof(e)));
        return 0;
    }
    *len = (apr_size_t)fi.size;
    *buf = apr_palloc(p, *len + 1);
    gx_wipe_on_cleanup(p, *buf, *len + 1);
    rv = apr_file_read_full(f, *buf, *len, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        gx_diag_add(d, GX_ERROR, path, 0, "cannot be read completely; check the file");
        return 0;
    }
    (*buf)[*len] = '\0';
    return 1;
}

static gx_node *load_file(apr_pool_t *p, const char *path, const gx_secrets_opts *o,
                          gx_diags *d, apr_array_header_t *never_serve, int depth)
{
    gx_node *doc = NULL, *out = gx_map_new(p, path, 0), *imp, *url, *key;
    char *text = NULL;
    apr_size_t len = 0;
    int i, missing;

    if (depth > MAX_IMPORT_DEPTH) {
        gx_diag_add(d, GX_ERROR, path, 0, SECRETS_IMPORT " goes deeper than %d files; "
                    "it imports itself", MAX_IMPORT_DEPTH);
        return NULL;
    }
    never_serve_add(never_serve, path);
    if (!read_secrets_file(p, path, d, &text, &len, &missing))
        return missing ? out : NULL;
    if (gx_yaml_parse_string(p, text, len, path, 0, &doc, d) != GX_YAML_OK)
        return NULL;
    gx_wipe_tree_on_cleanup(p, doc);
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
    static const gx_secrets_opts defaults = {.timeout = GX_SECRETS_TIMEOUT_DEFAULT,
                                             .max_bytes = GX_SECRETS_MAX_BYTES};
    apr_pool_t *scratch;
    gx_node *found, *kept = NULL;
    apr_pool_create(&scratch, p);
    found = load_file(scratch, path, o ? o : &defaults, d, never_serve, 0);
    if (found) {
        /* only the variables outlive the load; every copy of plaintext made
         * on the way (file text, blob, parse trees, JSON) is wiped now */
        kept = gx_node_clone(p, found, apr_hash_make(p));
        gx_wipe_tree_on_cleanup(p, kept);
    }
    apr_pool_destroy(scratch);
    return kept;
}

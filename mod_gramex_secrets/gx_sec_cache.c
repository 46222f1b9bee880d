/* gx_sec_cache: see gx_sec_cache.h */
#include "gx_sec_cache.h"
#include "gx_sec_codec.h"
#include "gx_sec_load.h"
#include "gx_sec_wipe.h"
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_user.h>
#include <string.h>
#include <openssl/rand.h>
#include <openssl/evp.h>

#define TEMP_RANDOM_BYTES 12
/* bytes of SHA-256 in a cache file's name: 128 bits, no collisions */
#define NAME_HASH_BYTES 16

static const char *hex(apr_pool_t *p, const unsigned char *b, int n)
{
    char *out = apr_palloc(p, 2 * n + 1);
    int i;
    for (i = 0; i < n; i++)
        apr_snprintf(out + 2 * i, 3, "%02x", b[i]);
    return out;
}

const char *gx_sec_cache_path(apr_pool_t *p, const char *dir, const char *secrets_file)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(secrets_file, strlen(secrets_file), md, &n, EVP_sha256(), NULL) != 1
        || n < NAME_HASH_BYTES)
        return NULL;
    return apr_pstrcat(p, dir, "/", hex(p, md, NAME_HASH_BYTES), ".secrets.cache", NULL);
}

static const char *dir_of(apr_pool_t *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash == path ? "/" : slash ? apr_pstrmemdup(p, path, slash - path) : ".";
}

/* Running as root, write only where no other user can swap what we write
 * through: a directory owned by root, not writable by others unless sticky.
 * Windows has no root, and who may write a directory is its ACL's business:
 * there only the directory itself is checked (docs/windows.md).
 * NULL when safe, else why and the fix. */
static const char *unsafe_dir(apr_pool_t *p, const char *dir)
{
    apr_finfo_t fi;
    apr_status_t rv;
#ifndef WIN32
    apr_uid_t uid;
    apr_gid_t gid;
    static const char fix[] = "; set GramexSecretsCacheDir (or GramexSecretsCache) to a "
                              "directory only root can write, e.g. "
                              "/var/cache/apache2/gramex-secrets";
    if (apr_uid_current(&uid, &gid, p) != APR_SUCCESS)
        return "cannot tell which user Apache runs as";
#endif
    rv = apr_stat(&fi, dir, APR_FINFO_USER | APR_FINFO_PROT | APR_FINFO_TYPE, p);
    if ((rv != APR_SUCCESS && rv != APR_INCOMPLETE) || !(fi.valid & APR_FINFO_TYPE)
        || fi.filetype != APR_DIR)
        return apr_psprintf(p, "%s is not a directory; create it or fix GramexSecretsCacheDir "
                            "or GramexSecretsCache", dir);
#ifndef WIN32
    if (uid != 0)
        return NULL;        /* an unprivileged user can only harm what it may write anyway */
    if (!(fi.valid & APR_FINFO_USER) || fi.user != 0)
        return apr_psprintf(p, "%s belongs to another user (uid %ld), who could redirect a "
                            "write made as root%s", dir, (long)fi.user, fix);
    if ((fi.protection & (APR_FPROT_GWRITE | APR_FPROT_WWRITE))
        && !(fi.protection & APR_FPROT_WSTICKY))
        return apr_psprintf(p, "%s is writable by other users%s", dir, fix);
#endif
    return NULL;
}

int gx_sec_cache_write(apr_pool_t *p, const char *path, const char *key, const char *json,
                       const char **why)
{
    const char *dir = dir_of(p, path), *bad, *err = NULL, *tmp;
    unsigned char rnd[TEMP_RANDOM_BYTES];
    char *blob;
    apr_file_t *f;
    apr_status_t rv;
    int ok;
    /* a missing directory is made root's (0711: the children, as the
     * status page, may see whether a cache is there, never list or read
     * it); whatever is there is then checked */
    apr_dir_make(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                 | APR_FPROT_GEXECUTE | APR_FPROT_WEXECUTE, p);
    if ((bad = unsafe_dir(p, dir)) != NULL) {
        *why = bad;
        return 0;
    }
    if (!(blob = gx_aead_encrypt(p, key, json, strlen(json), &err))) {
        *why = err;
        return 0;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        *why = "no random bytes for a temporary name (OpenSSL)";
        return 0;
    }
    tmp = apr_pstrcat(p, path, ".tmp-", hex(p, rnd, TEMP_RANDOM_BYTES), NULL);
    /* EXCL: fails on anything already there, a link included */
    rv = apr_file_open(&f, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL
                       | APR_FOPEN_BINARY, APR_FPROT_UREAD | APR_FPROT_UWRITE, p);
    if (rv != APR_SUCCESS) {
        char e[120];
        *why = apr_psprintf(p, "cannot create %s: %s", tmp, apr_strerror(rv, e, sizeof(e)));
        return 0;
    }
    ok = apr_file_write_full(f, blob, strlen(blob), NULL) == APR_SUCCESS
         && apr_file_flush(f) == APR_SUCCESS;
    ok = apr_file_close(f) == APR_SUCCESS && ok;
    /* rename replaces a link at path itself, never what it points to */
    if (!ok || apr_file_rename(tmp, path, p) != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        *why = apr_psprintf(p, "cannot write %s", path);
        return 0;
    }
    return 1;
}

gx_node *gx_sec_cache_read(apr_pool_t *p, const char *path, const char *key, apr_time_t now,
                           const char **why)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;
    int signed_only;
    gx_node *payload;
    const char *err = NULL;
    /* LINK: look at a link itself; a cache is a file we wrote, never a link */
    if (apr_stat(&fi, path, APR_FINFO_LINK | APR_FINFO_TYPE | APR_FINFO_SIZE, p) != APR_SUCCESS) {
        *why = apr_psprintf(p, "there is no cached copy at %s", path);
        return NULL;
    }
    if (fi.filetype != APR_REG || fi.size > GX_SECRETS_MAX_BYTES * 2) {
        *why = apr_psprintf(p, "the cached copy %s is not a file written by Apache; delete it",
                            path);
        return NULL;
    }
    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS) {
        *why = apr_psprintf(p, "the cached copy %s cannot be read", path);
        return NULL;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    buf[n] = '\0';
    payload = gx_secrets_decode_blob(p, key, buf, now, &signed_only, &err);
    if (!payload)
        *why = apr_psprintf(p, "the cached copy %s cannot be used: %s", path, err);
    return payload;
}

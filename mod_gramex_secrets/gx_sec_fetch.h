/* gx_sec_fetch: reading SECRETS_URL (https, http, file) into memory, bounded
 * in time and size, and showing it in messages without its credentials. */
#ifndef GX_SEC_FETCH_H
#define GX_SEC_FETCH_H

#include <apr_pools.h>
#include <apr_time.h>

/* Defaults, each a directive (docs/secrets.md). */
#define GX_SECRETS_TIMEOUT_DEFAULT 10           /* seconds, connect + transfer */
#define GX_SECRETS_MAX_BYTES (1024 * 1024)      /* a blob larger than this is refused */

typedef struct gx_secrets_memo gx_secrets_memo;

typedef struct {
    int timeout;                /* seconds */
    apr_size_t max_bytes;
    const char *cache;          /* the cache file of every SECRETS_URL; NULL: see cache_dir */
    const char *cache_dir;      /* with cache NULL: one file per secrets file in this
                                 * directory (gx_sec_cache_path); NULL: .secrets.cache
                                 * beside the secrets file */
    apr_time_t now;             /* 0: apr_time_now() (tests set it) */
    const char *base_dir;       /* where a relative file: URL starts; NULL: the
                                 * secrets file's directory */
    const char *ca_file;        /* CA certificates for https; NULL: the system's */
    gx_secrets_memo *memo;      /* NULL: fetch on every load; else once per memo */
} gx_secrets_opts;

/* The URL as messages show it: user info, query and fragment each replaced
 * by three asterisks (user:pw@host/b?t=1 becomes ***@host/b?***). Never NULL. */
const char *gx_secrets_redact_url(apr_pool_t *p, const char *url);

/* Fetch a URL into memory (NUL-terminated, *len bytes), or NULL with *err
 * set (the URL redacted). file: URLs are read directly: file:///abs,
 * file:/abs, or file:rel relative to o->base_dir (as Python's urlopen in
 * the app's directory). http and https through libcurl: https redirects
 * only to https, http to http or https; certificates verified. */
char *gx_secrets_fetch(apr_pool_t *p, const char *url, const gx_secrets_opts *o,
                       apr_size_t *len, const char **err);

/* The libcurl settings gx_secrets_fetch makes for url, each checked: 0 with
 * *err naming the one libcurl refused. legacy = 1 uses the protocol bit
 * masks of libcurl < 7.85 (the fallback when CURLOPT_PROTOCOLS_STR is
 * unknown), for tests. c is a CURL *. */
int gx_secrets_curl_setup(void *c, const char *url, const gx_secrets_opts *o, int legacy,
                          const char **err);

#endif

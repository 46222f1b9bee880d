/* gx_sec_fetch: see gx_sec_fetch.h */
#include "gx_sec_fetch.h"
#include "gx_sec_wipe.h"
#include "gx_buf.h"
#include "gx_path.h"
#include "gx_percent.h"
#include <apr_cstr.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <string.h>
/* CURLOPT_PROTOCOLS is the fallback for libcurl < 7.85, deprecated after */
#define CURL_DISABLE_DEPRECATION
#include <curl/curl.h>

#define MAX_REDIRECTS 5L

/* ---- redaction ------------------------------------------------------------ */

const char *gx_secrets_redact_url(apr_pool_t *p, const char *url)
{
    const char *scheme_end, *auth, *auth_end, *at = NULL, *q, *c;
    const char *tail_start, *hash;
    char *out;
    if (!url)
        return "(none)";
    scheme_end = strchr(url, ':');
    /* user info: between "//" and the last '@' of the authority */
    auth = scheme_end && scheme_end[1] == '/' && scheme_end[2] == '/' ? scheme_end + 3 : NULL;
    auth_end = auth ? auth + strcspn(auth, "/?#") : NULL;
    for (c = auth; c && c < auth_end; c++)
        if (*c == '@')
            at = c;
    out = at ? apr_pstrcat(p, apr_pstrmemdup(p, url, auth - url), "***",
                           apr_pstrmemdup(p, at, (apr_size_t)(auth_end - at)), NULL)
             : apr_pstrmemdup(p, url, auth_end ? (apr_size_t)(auth_end - url) : 0);
    tail_start = auth_end ? auth_end : url;
    q = tail_start + strcspn(tail_start, "?#");
    out = apr_pstrcat(p, out, apr_pstrmemdup(p, tail_start, (apr_size_t)(q - tail_start)), NULL);
    hash = strchr(q, '#');
    if (*q == '?')
        out = apr_pstrcat(p, out, "?***", NULL);
    if (hash)
        out = apr_pstrcat(p, out, "#***", NULL);
    return out;
}

/* An error text from libcurl with any credential of url removed. */
static const char *scrub(apr_pool_t *p, const char *text, const char *url)
{
    const char *redacted = gx_secrets_redact_url(p, url);
    if (strstr(text, url))
        return redacted;            /* whatever else it said, the URL was in it */
    {
        const char *auth = strstr(url, "://"), *at = auth ? strchr(auth + 3, '@') : NULL;
        const char *q = strpbrk(url, "?#");
        if ((at && at > auth + 3 && strstr(text, apr_pstrmemdup(p, auth + 3, at - auth - 3)))
            || (q && q[1] && strstr(text, q + 1)))
            return apr_psprintf(p, "failed (details withheld: they hold a credential of %s)",
                                redacted);
    }
    return text;
}

/* ---- file: ---------------------------------------------------------------- */

/* The local path a file: URL names (percent-decoded, like urllib), or NULL. */
static const char *file_url_path(apr_pool_t *p, const char *url, const char *base_dir,
                                 const char **err)
{
    const char *rest = url + 5, *end;
    char *path, *o, *merged = NULL;
    if (!strncmp(rest, "//", 2)) {
        const char *host = rest + 2, *slash = strchr(host, '/');
        apr_size_t hl = slash ? (apr_size_t)(slash - host) : strlen(host);
        if (hl && !(hl == 9 && !apr_cstr_casecmpn(host, "localhost", 9))) {
            *err = "a file: URL names a file on this machine: use file:///path or file:name";
            return NULL;
        }
        rest = slash ? slash : "";
    }
    end = rest + strcspn(rest, "?#");
    path = o = apr_palloc(p, (apr_size_t)(end - rest) + 1);
    for (; rest < end; rest++) {
        if (*rest == '%' && gx_hex_value(rest[1]) >= 0 && gx_hex_value(rest[2]) >= 0) {
            *o++ = (char)(gx_hex_value(rest[1]) * 16 + gx_hex_value(rest[2]));
            rest += 2;
        }
        else
            *o++ = *rest;
    }
    *o = '\0';
    if (!*path || memchr(path, '\0', (apr_size_t)(o - path))) {
        *err = "a file: URL needs a file name (file:///path or file:name)";
        return NULL;
    }
#ifdef WIN32
    /* file:///C:/x names C:/x (urllib's url2pathname) */
    if (gx_path_is_sep(path[0]) && gx_path_root_len(path + 1) >= 2)
        path++;
    /* \\host\share: another machine, reached as the service's account */
    if (gx_path_is_sep(path[0]) && gx_path_is_sep(path[1])) {
        *err = "a file: URL names a file on this machine, not a network share (\\\\host)";
        return NULL;
    }
#endif
    if (apr_filepath_merge(&merged, base_dir ? base_dir : ".", path, 0, p) != APR_SUCCESS) {
        *err = "the file: URL is not a valid path";
        return NULL;
    }
    return merged;
}

static char *fetch_file(apr_pool_t *p, const char *url, const gx_secrets_opts *o,
                        apr_size_t max, apr_size_t *len, const char **err)
{
    const char *path = file_url_path(p, url, o->base_dir, err);
    apr_finfo_t fi;
    apr_file_t *f;
    apr_status_t rv;
    char *buf, why[120];
    apr_size_t n;
    if (!path)
        return NULL;
    if ((rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_SIZE, p)) != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read %s: %s", path, apr_strerror(rv, why, sizeof(why)));
        return NULL;
    }
    if (fi.filetype != APR_REG) {
        *err = apr_psprintf(p, "%s is not a regular file", path);
        return NULL;
    }
    if (fi.size < 0 || (apr_size_t)fi.size > max) {
        *err = apr_psprintf(p, "larger than %" APR_SIZE_T_FMT " bytes", max);
        return NULL;
    }
    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read %s: %s", path, apr_strerror(rv, why, sizeof(why)));
        return NULL;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    gx_wipe_on_cleanup(p, buf, n + 1);
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(p, "cannot read %s completely", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- http, https ---------------------------------------------------------- */

typedef struct {
    gx_buf body;            /* every block it grows into is wiped with the pool */
    apr_size_t max;
    int too_big;
} sink;

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    sink *s = userp;
    apr_size_t n = size * nmemb;
    if (n > s->max || s->body.len + n > s->max) {
        s->too_big = 1;
        return 0;                       /* abort the transfer */
    }
    gx_buf_append(&s->body, data, n);
    return n;
}

#define SET(opt, val) do { \
        if (curl_easy_setopt(c, opt, val) != CURLE_OK) { \
            *err = "libcurl refused " #opt "; update libcurl"; \
            return 0; \
        } \
    } while (0)

/* Which protocols the URL and its redirects may use: never a downgrade. */
static int restrict_protocols(CURL *c, int https, int legacy, const char **err)
{
#if LIBCURL_VERSION_NUM >= 0x075500
    if (!legacy) {
        CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" : "http,https");
        if (rc == CURLE_OK) {
            SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
            return 1;
        }
        if (rc != CURLE_UNKNOWN_OPTION) {
            *err = "libcurl refused CURLOPT_PROTOCOLS_STR";
            return 0;
        }
        /* built with newer headers than the libcurl it runs with */
    }
#endif
    (void)legacy;
    SET(CURLOPT_PROTOCOLS, https ? (long)CURLPROTO_HTTPS : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SET(CURLOPT_REDIR_PROTOCOLS, https ? (long)CURLPROTO_HTTPS
                                       : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    return 1;
}

int gx_secrets_curl_setup(void *handle, const char *url, const gx_secrets_opts *o, int legacy,
                          const char **err)
{
    CURL *c = handle;
    int https = !apr_cstr_casecmpn(url, "https://", 8);
    if (!https && apr_cstr_casecmpn(url, "http://", 7)) {
        *err = "SECRETS_URL must start with https://, http:// or file:";
        return 0;
    }
    if (!restrict_protocols(c, https, legacy, err))
        return 0;
    SET(CURLOPT_URL, url);
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file)
        SET(CURLOPT_CAINFO, o->ca_file);
#if defined(_WIN32) && LIBCURL_VERSION_NUM >= 0x074700
    else    /* OpenSSL's default CA path is its build machine's: use Windows' store */
        SET(CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NATIVE_CA);
#endif
    SET(CURLOPT_TIMEOUT, (long)(o->timeout > 0 ? o->timeout : GX_SECRETS_TIMEOUT_DEFAULT));
    SET(CURLOPT_NOSIGNAL, 1L);
    return 1;
}

static char *fetch_http(apr_pool_t *p, const char *url, const gx_secrets_opts *o, apr_size_t max,
                        apr_size_t *len, const char **err)
{
    sink s;
    CURL *c = curl_easy_init();
    CURLcode rc = CURLE_OK;
    long status = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    int ready;
    gx_buf_init(&s.body, p, 0);
    s.body.grown = gx_wipe_on_cleanup;
    s.max = max;
    s.too_big = 0;
    if (!c) {
        *err = "cannot start libcurl";
        return NULL;
    }
    ready = gx_secrets_curl_setup(c, url, o, 0, err);
    if (ready) {
        ready = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect) == CURLE_OK
                && curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) == CURLE_OK
                && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
        if (!ready)
            *err = "libcurl refused a write setting; update libcurl";
    }
    if (ready) {
        rc = curl_easy_perform(c);
        if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
            status = 0;
    }
    curl_easy_cleanup(c);
    if (!ready)
        return NULL;
    if (s.too_big) {
        *err = apr_psprintf(p, "larger than %" APR_SIZE_T_FMT " bytes", s.max);
        return NULL;
    }
    if (rc != CURLE_OK) {
        *err = scrub(p, apr_pstrdup(p, *errbuf ? errbuf : curl_easy_strerror(rc)), url);
        return NULL;
    }
    if (status < 200 || status >= 300) {
        *err = apr_psprintf(p, "HTTP status %ld", status);
        return NULL;
    }
    *len = s.body.len;
    return s.body.data;
}

char *gx_secrets_fetch(apr_pool_t *p, const char *url, const gx_secrets_opts *o,
                       apr_size_t *len, const char **err)
{
    apr_size_t max = o->max_bytes ? o->max_bytes : GX_SECRETS_MAX_BYTES;
    if (!apr_cstr_casecmpn(url, "file:", 5))
        return fetch_file(p, url, o, max, len, err);
    return fetch_http(p, url, o, max, len, err);
}

/* gx_sec_codec: see gx_sec_codec.h */
#include "gx_sec_codec.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SECONDS_PER_DAY 86400LL
/* Gramex verifies with max_age_days = 1,000,000 (practically no expiry) */
#define GRAMEX_MAX_AGE_DAYS 1000000LL
/* tornado v1 refuses timestamps more than 31 days in the future */
#define V1_MAX_FUTURE_DAYS 31LL
/* tornado reads versions 1..999 from the leading digits */
#define MAX_VERSION_DIGITS 3

#define GXS1_TAG "gxs1"
#define GXS1_SALT_LEN 16
#define GXS1_NONCE_LEN 12
#define GXS1_GCM_TAG_LEN 16
#define GXS1_KEY_LEN 32
#define GXS1_SCRYPT_N 16384
#define GXS1_SCRYPT_R 8
#define GXS1_SCRYPT_P 1
#define GXS1_SCRYPT_MAXMEM (64 * 1024 * 1024)

/* ---- base64 ------------------------------------------------------------- */

static int b64_value(char c, int url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

char *gx_b64_decode(apr_pool_t *p, const char *s, apr_size_t n, int url, apr_size_t *len)
{
    unsigned char *out = apr_palloc(p, n / 4 * 3 + 4);
    apr_size_t o = 0, i, count = 0, pad = 0;
    unsigned long acc = 0;
    for (i = 0; i < n; i++) {
        int v;
        if (s[i] == '=') {
            pad++;
            continue;
        }
        v = b64_value(s[i], url);
        if (v < 0)
            continue;           /* Python's non-validating decoder skips these */
        if (pad)
            return NULL;        /* data after padding */
        acc = (acc << 6) | (unsigned long)v;
        if (++count % 4 == 0) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    switch (count % 4) {
    case 1:
        return NULL;
    case 2:
        if (!url && pad != 2)
            return NULL;
        out[o++] = (unsigned char)(acc >> 4);
        break;
    case 3:
        if (!url && pad != 1)
            return NULL;
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
        break;
    default:
        if (pad)
            return NULL;
    }
    out[o] = '\0';
    *len = o;
    return (char *)out;
}

char *gx_b64_encode(apr_pool_t *p, const unsigned char *s, apr_size_t n, int url)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *a = url ? safe : std;
    char *out = apr_palloc(p, (n + 2) / 3 * 4 + 1), *o = out;
    apr_size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = ((unsigned long)s[i] << 16) | ((unsigned long)s[i + 1] << 8) | s[i + 2];
        *o++ = a[v >> 18]; *o++ = a[(v >> 12) & 63]; *o++ = a[(v >> 6) & 63]; *o++ = a[v & 63];
    }
    if (n - i == 1) {
        unsigned long v = (unsigned long)s[i] << 16;
        *o++ = a[v >> 18]; *o++ = a[(v >> 12) & 63];
        if (!url) { *o++ = '='; *o++ = '='; }
    }
    else if (n - i == 2) {
        unsigned long v = ((unsigned long)s[i] << 16) | ((unsigned long)s[i + 1] << 8);
        *o++ = a[v >> 18]; *o++ = a[(v >> 12) & 63]; *o++ = a[(v >> 6) & 63];
        if (!url) *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* ---- tornado signed values --------------------------------------------------- */

static char *hex(apr_pool_t *p, const unsigned char *d, unsigned n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, 2 * n + 1);
    unsigned i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static char *hmac_hex(apr_pool_t *p, const EVP_MD *md, const char *key, const char *msg,
                      apr_size_t len)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (!HMAC(md, key, (int)strlen(key), (const unsigned char *)msg, len, out, &n))
        return NULL;
    return hex(p, out, n);
}

static int same(const char *a, const char *b)
{
    apr_size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

gx_blob_kind gx_blob_detect(const char *blob)
{
    int digits = 0;
    if (!strncmp(blob, GXS1_TAG ".", sizeof(GXS1_TAG)))
        return GX_BLOB_GXS1;
    while (apr_isdigit(blob[digits]) && digits <= MAX_VERSION_DIGITS)
        digits++;
    if (digits && digits <= MAX_VERSION_DIGITS && blob[digits] == '|' && atoi(blob) == 2)
        return GX_BLOB_TORNADO_V2;
    return GX_BLOB_TORNADO_V1;      /* or an unknown version, refused when decoded */
}

/* "<len>:<bytes>|" starting at *s; strict decimal without leading zeros
 * (the HMAC covers these bytes, so nothing tornado makes is refused). */
static const char *field(const char **s, const char *end, apr_size_t *n)
{
    const char *c = *s, *val;
    apr_size_t len = 0;
    if (c >= end || !apr_isdigit(*c) || (*c == '0' && c + 1 < end && apr_isdigit(c[1])))
        return NULL;
    while (c < end && apr_isdigit(*c)) {
        if (len > (apr_size_t)(end - *s))
            return NULL;
        len = len * 10 + (apr_size_t)(*c++ - '0');
    }
    if (c >= end || *c != ':' || (apr_size_t)(end - c - 1) < len + 1 || c[1 + len] != '|')
        return NULL;
    val = c + 1;
    *n = len;
    *s = c + 1 + len + 1;
    return val;
}

static long long parse_ts(const char *s, apr_size_t n, int *ok)
{
    long long v = 0;
    apr_size_t i;
    *ok = n > 0 && n < 19;
    for (i = 0; i < n && *ok; i++) {
        if (!apr_isdigit(s[i]))
            *ok = 0;
        else
            v = v * 10 + (s[i] - '0');
    }
    return v;
}

static char *decode_v2(apr_pool_t *p, const char *key, const char *blob, apr_time_t now,
                       apr_size_t *len, const char **err)
{
    const char *end = blob + strlen(blob), *s = blob + 2, *kv, *ts, *name, *b64, *sig;
    apr_size_t nkv, nts, nname, nb64;
    long long t;
    int ok;
    char *want;
    if (!(kv = field(&s, end, &nkv)) || !(ts = field(&s, end, &nts))
        || !(name = field(&s, end, &nname)) || !(b64 = field(&s, end, &nb64))) {
        *err = "malformed version 2 signed value (a length field does not match)";
        return NULL;
    }
    (void)kv;
    sig = s;
    want = hmac_hex(p, EVP_sha256(), key, blob, (apr_size_t)(sig - blob));
    if (!want || !same(want, sig)) {
        *err = "signature does not match (wrong SECRETS_KEY, or the blob was changed)";
        return NULL;
    }
    if (nname != 0) {
        *err = "signed for another name";
        return NULL;
    }
    t = parse_ts(ts, nts, &ok);
    if (!ok || t < apr_time_sec(now) - GRAMEX_MAX_AGE_DAYS * SECONDS_PER_DAY) {
        *err = "expired or bad timestamp";
        return NULL;
    }
    {
        char *out = gx_b64_decode(p, b64, nb64, 0, len);
        if (!out)
            *err = "payload is not valid base64";
        return out;
    }
}

static char *decode_v1(apr_pool_t *p, const char *key, const char *blob, apr_time_t now,
                       apr_size_t *len, const char **err)
{
    const char *bar1 = strchr(blob, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    const char *want;
    long long t;
    int ok;
    if (!bar1 || !bar2 || strchr(bar2 + 1, '|')) {
        *err = "malformed signed value (expected payload|timestamp|signature)";
        return NULL;
    }
    /* HMAC-SHA1 over name + payload + timestamp, name being "" */
    {
        char *msg = apr_pstrcat(p, apr_pstrmemdup(p, blob, bar1 - blob),
                                apr_pstrmemdup(p, bar1 + 1, bar2 - bar1 - 1), NULL);
        want = hmac_hex(p, EVP_sha1(), key, msg, strlen(msg));
    }
    if (!want || !same(want, bar2 + 1)) {
        *err = "signature does not match (wrong SECRETS_KEY, or the blob was changed)";
        return NULL;
    }
    t = parse_ts(bar1 + 1, (apr_size_t)(bar2 - bar1 - 1), &ok);
    if (!ok || bar1[1] == '0') {
        *err = "bad timestamp";
        return NULL;
    }
    if (t < apr_time_sec(now) - GRAMEX_MAX_AGE_DAYS * SECONDS_PER_DAY) {
        *err = "expired";
        return NULL;
    }
    if (t > apr_time_sec(now) + V1_MAX_FUTURE_DAYS * SECONDS_PER_DAY) {
        *err = "timestamp is in the future";
        return NULL;
    }
    {
        char *out = gx_b64_decode(p, blob, (apr_size_t)(bar1 - blob), 0, len);
        if (!out)
            *err = "payload is not valid base64";
        return out;
    }
}

char *gx_signed_decode(apr_pool_t *p, const char *key, const char *blob, apr_time_t now,
                       apr_size_t *len, const char **err)
{
    int digits = 0;
    while (apr_isdigit(blob[digits]) && digits <= MAX_VERSION_DIGITS)
        digits++;
    /* tornado: a leading number 1..999 before the first '|' is the version */
    if (digits && digits <= MAX_VERSION_DIGITS && blob[digits] == '|') {
        int v = atoi(blob);
        if (v == 2)
            return decode_v2(p, key, blob, now, len, err);
        if (v != 1 && v >= 1) {
            *err = apr_psprintf(p, "unsupported signed value version %d", v);
            return NULL;
        }
    }
    return decode_v1(p, key, blob, now, len, err);
}

char *gx_signed_encode(apr_pool_t *p, const char *key, const char *payload, apr_size_t len,
                       apr_time_t now)
{
    const char *b64 = gx_b64_encode(p, (const unsigned char *)payload, len, 0);
    const char *ts = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(now));
    char *msg = apr_psprintf(p, "2|1:0|%d:%s|0:|%d:%s|", (int)strlen(ts), ts, (int)strlen(b64), b64);
    return apr_pstrcat(p, msg, hmac_hex(p, EVP_sha256(), key, msg, strlen(msg)), NULL);
}

/* ---- gxs1 ----------------------------------------------------------------- */

static int derive(const char *key, const unsigned char *salt, unsigned char *out)
{
    return EVP_PBE_scrypt(key, strlen(key), salt, GXS1_SALT_LEN, GXS1_SCRYPT_N, GXS1_SCRYPT_R,
                          GXS1_SCRYPT_P, GXS1_SCRYPT_MAXMEM, out, GXS1_KEY_LEN) == 1;
}

char *gx_aead_encrypt(apr_pool_t *p, const char *key, const char *plain, apr_size_t len,
                      const char **err)
{
    unsigned char salt[GXS1_SALT_LEN], nonce[GXS1_NONCE_LEN], k[GXS1_KEY_LEN];
    unsigned char *ct = apr_palloc(p, len + GXS1_GCM_TAG_LEN + 16);
    int n = 0, fin = 0, ok;
    EVP_CIPHER_CTX *c;
    if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1
        || !derive(key, salt, k)) {
        *err = "cannot derive the key (OpenSSL)";
        return NULL;
    }
    c = EVP_CIPHER_CTX_new();
    ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GXS1_NONCE_LEN, NULL) == 1
         && EVP_EncryptInit_ex(c, NULL, NULL, k, nonce) == 1
         && EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)GXS1_TAG, 4) == 1
         && EVP_EncryptUpdate(c, ct, &n, (const unsigned char *)plain, (int)len) == 1
         && EVP_EncryptFinal_ex(c, ct + n, &fin) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GXS1_GCM_TAG_LEN, ct + n + fin) == 1;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(k, sizeof(k));
    if (!ok) {
        *err = "encryption failed (OpenSSL)";
        return NULL;
    }
    return apr_pstrcat(p, GXS1_TAG ".", gx_b64_encode(p, salt, sizeof(salt), 1), ".",
                       gx_b64_encode(p, nonce, sizeof(nonce), 1), ".",
                       gx_b64_encode(p, ct, (apr_size_t)(n + fin + GXS1_GCM_TAG_LEN), 1), NULL);
}

char *gx_aead_decrypt(apr_pool_t *p, const char *key, const char *blob, apr_size_t *len,
                      const char **err)
{
    char *copy = apr_pstrdup(p, blob), *parts[4], *last;
    unsigned char k[GXS1_KEY_LEN];
    unsigned char *salt, *nonce, *ct, *out;
    apr_size_t nsalt, nnonce, nct;
    int i, n = 0, fin = 0, ok;
    EVP_CIPHER_CTX *c;
    /* trailing whitespace (a newline in the published file) is not data */
    for (i = (int)strlen(copy) - 1; i >= 0 && apr_isspace(copy[i]); i--)
        copy[i] = '\0';
    parts[0] = apr_strtok(copy, ".", &last);
    for (i = 1; i < 4; i++)
        parts[i] = apr_strtok(NULL, ".", &last);
    if (!parts[3] || apr_strtok(NULL, ".", &last) || strcmp(parts[0], GXS1_TAG)) {
        *err = "malformed gxs1 blob (expected gxs1.salt.nonce.data)";
        return NULL;
    }
    salt = (unsigned char *)gx_b64_decode(p, parts[1], strlen(parts[1]), 1, &nsalt);
    nonce = (unsigned char *)gx_b64_decode(p, parts[2], strlen(parts[2]), 1, &nnonce);
    ct = (unsigned char *)gx_b64_decode(p, parts[3], strlen(parts[3]), 1, &nct);
    if (!salt || !nonce || !ct || nsalt != GXS1_SALT_LEN || nnonce != GXS1_NONCE_LEN
        || nct < GXS1_GCM_TAG_LEN) {
        *err = "malformed gxs1 blob (bad salt, nonce or data length)";
        return NULL;
    }
    if (!derive(key, salt, k)) {
        *err = "cannot derive the key (OpenSSL)";
        return NULL;
    }
    out = apr_palloc(p, nct + 1);
    c = EVP_CIPHER_CTX_new();
    ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GXS1_NONCE_LEN, NULL) == 1
         && EVP_DecryptInit_ex(c, NULL, NULL, k, nonce) == 1
         && EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)GXS1_TAG, 4) == 1
         && EVP_DecryptUpdate(c, out, &n, ct, (int)(nct - GXS1_GCM_TAG_LEN)) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GXS1_GCM_TAG_LEN,
                                ct + nct - GXS1_GCM_TAG_LEN) == 1
         && EVP_DecryptFinal_ex(c, out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(k, sizeof(k));
    if (!ok) {
        *err = "cannot decrypt (wrong SECRETS_KEY, or the blob was changed)";
        return NULL;
    }
    out[n + fin] = '\0';
    *len = (apr_size_t)(n + fin);
    return (char *)out;
}

/* gx_sec_codec: see gx_sec_codec.h */
#include "gx_sec_codec.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>
#include <stdlib.h>
#include <limits.h>
#include <stdint.h>
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
#define GXS2_TAG "gxs2"
#define GXS_SALT_LEN 16
#define GXS_NONCE_LEN 12
#define GXS_GCM_TAG_LEN 16
#define GXS_KEY_LEN 32
/* gxs1 blobs carry no parameters: they were all made with these */
static const gx_kdf gxs1_kdf = {14, 8, 1};
/* A blob comes from a URL: parameters that would make scrypt take more
 * than this much memory or work are refused before deriving. */
#define KDF_MAX_MEM (256ULL * 1024 * 1024)
#define KDF_MAX_WORK (1ULL << 26)          /* N * r * p */

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
    if (!strncmp(blob, GXS1_TAG ".", 5) || !strncmp(blob, GXS2_TAG ".", 5))
        return GX_BLOB_AEAD;
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
        char *payload = apr_pstrmemdup(p, blob, bar1 - blob);
        char *msg = apr_pstrcat(p, payload, apr_pstrmemdup(p, bar1 + 1, bar2 - bar1 - 1), NULL);
        want = hmac_hex(p, EVP_sha1(), key, msg, strlen(msg));
        OPENSSL_cleanse(payload, strlen(payload));      /* the secrets, in base64 */
        OPENSSL_cleanse(msg, strlen(msg));
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


/* ---- gxs1 / gxs2 --------------------------------------------------------- */

const gx_kdf gx_kdf_default = {15, 8, 1};

/* Bytes scrypt needs for these parameters (OpenSSL: 128 r (N + 2) + 128 r p). */
static unsigned long long kdf_mem(const gx_kdf *k)
{
    return 128ULL * (unsigned long long)k->r * ((1ULL << k->log2_n) + 2)
           + 128ULL * (unsigned long long)k->r * (unsigned long long)k->p;
}

const char *gx_kdf_check(const gx_kdf *k)
{
    if (k->log2_n < 10 || k->log2_n > 24 || k->r < 1 || k->r > 64 || k->p < 1 || k->p > 64)
        return "scrypt parameters out of range (log2 N 10..24, r 1..64, p 1..64)";
    if (kdf_mem(k) > KDF_MAX_MEM)
        return "scrypt parameters need more than 256 MiB of memory";
    if ((1ULL << k->log2_n) * (unsigned long long)k->r * (unsigned long long)k->p > KDF_MAX_WORK)
        return "scrypt parameters need more than 2^26 units of work (N * r * p)";
    return NULL;
}

static int derive(const char *key, const gx_kdf *kdf, const unsigned char *salt, unsigned char *out)
{
    return EVP_PBE_scrypt(key, strlen(key), salt, GXS_SALT_LEN, 1ULL << kdf->log2_n,
                          (uint64_t)kdf->r, (uint64_t)kdf->p, kdf_mem(kdf) + 65536, out,
                          GXS_KEY_LEN) == 1;
}

char *gx_aead_encrypt_kdf(apr_pool_t *p, const char *key, const char *plain, apr_size_t len,
                          const gx_kdf *kdf, const char **err)
{
    unsigned char salt[GXS_SALT_LEN], nonce[GXS_NONCE_LEN], k[GXS_KEY_LEN];
    unsigned char *ct;
    const char *header;
    int n = 0, fin = 0, ok;
    EVP_CIPHER_CTX *c;
    if ((*err = gx_kdf_check(kdf)) != NULL)
        return NULL;
    if (len > (apr_size_t)INT_MAX - 64) {
        *err = "too large to encrypt";
        return NULL;
    }
    header = apr_psprintf(p, GXS2_TAG ".%d.%d.%d", kdf->log2_n, kdf->r, kdf->p);
    if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1
        || !derive(key, kdf, salt, k)) {
        OPENSSL_cleanse(k, sizeof(k));
        *err = "cannot derive the key (OpenSSL)";
        return NULL;
    }
    ct = apr_palloc(p, len + GXS_GCM_TAG_LEN + 16);
    c = EVP_CIPHER_CTX_new();
    ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GXS_NONCE_LEN, NULL) == 1
         && EVP_EncryptInit_ex(c, NULL, NULL, k, nonce) == 1
         && EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)header, (int)strlen(header)) == 1
         && EVP_EncryptUpdate(c, ct, &n, (const unsigned char *)plain, (int)len) == 1
         && EVP_EncryptFinal_ex(c, ct + n, &fin) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GXS_GCM_TAG_LEN, ct + n + fin) == 1;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(k, sizeof(k));
    if (!ok) {
        *err = "encryption failed (OpenSSL)";
        return NULL;
    }
    return apr_pstrcat(p, header, ".", gx_b64_encode(p, salt, sizeof(salt), 1), ".",
                       gx_b64_encode(p, nonce, sizeof(nonce), 1), ".",
                       gx_b64_encode(p, ct, (apr_size_t)(n + fin + GXS_GCM_TAG_LEN), 1), NULL);
}

char *gx_aead_encrypt(apr_pool_t *p, const char *key, const char *plain, apr_size_t len,
                      const char **err)
{
    return gx_aead_encrypt_kdf(p, key, plain, len, &gx_kdf_default, err);
}

/* A strict decimal 1..9999 without sign or leading zeros, or -1. */
static int small_number(const char *s)
{
    int v = 0, i;
    if (!apr_isdigit(s[0]) || (s[0] == '0' && s[1]))
        return -1;
    for (i = 0; s[i]; i++) {
        if (!apr_isdigit(s[i]) || i >= 4)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Split s in place at every '.' into exactly n non-empty parts. */
static int split_dots(char *s, char **parts, int n)
{
    int i = 0;
    parts[i++] = s;
    for (; *s; s++) {
        if (*s != '.')
            continue;
        if (i == n)
            return 0;
        *s = '\0';
        parts[i++] = s + 1;
    }
    if (i != n)
        return 0;
    for (i = 0; i < n; i++)
        if (!*parts[i])
            return 0;
    return 1;
}

char *gx_aead_decrypt(apr_pool_t *p, const char *key, const char *blob, apr_size_t *len,
                      const char **err)
{
    char *copy = apr_pstrdup(p, blob), *parts[7], **data;
    const char *aad;
    gx_kdf kdf;
    unsigned char k[GXS_KEY_LEN];
    unsigned char *salt, *nonce, *ct, *out;
    apr_size_t nsalt, nnonce, nct, end = strlen(copy);
    int n = 0, fin = 0, ok;
    EVP_CIPHER_CTX *c;
    /* trailing whitespace (a newline in the published file) is not data */
    while (end > 0 && apr_isspace(copy[end - 1]))
        copy[--end] = '\0';
    if (!strncmp(copy, GXS1_TAG ".", 5)) {
        if (!split_dots(copy, parts, 4)) {
            *err = "malformed gxs1 blob (expected gxs1.salt.nonce.data)";
            return NULL;
        }
        kdf = gxs1_kdf;
        aad = GXS1_TAG;
        data = parts + 1;
    }
    else if (!strncmp(copy, GXS2_TAG ".", 5)) {
        if (!split_dots(copy, parts, 7)) {
            *err = "malformed gxs2 blob (expected gxs2.logN.r.p.salt.nonce.data)";
            return NULL;
        }
        kdf.log2_n = small_number(parts[1]);
        kdf.r = small_number(parts[2]);
        kdf.p = small_number(parts[3]);
        if (kdf.log2_n < 0 || kdf.r < 0 || kdf.p < 0) {
            *err = "malformed gxs2 blob (log2 N, r and p must be plain numbers)";
            return NULL;
        }
        if ((*err = gx_kdf_check(&kdf)) != NULL)
            return NULL;
        aad = apr_psprintf(p, GXS2_TAG ".%d.%d.%d", kdf.log2_n, kdf.r, kdf.p);
        data = parts + 4;
    }
    else {
        *err = "malformed blob (expected gxs1. or gxs2. at the start)";
        return NULL;
    }
    salt = (unsigned char *)gx_b64_decode(p, data[0], strlen(data[0]), 1, &nsalt);
    nonce = (unsigned char *)gx_b64_decode(p, data[1], strlen(data[1]), 1, &nnonce);
    ct = (unsigned char *)gx_b64_decode(p, data[2], strlen(data[2]), 1, &nct);
    if (!salt || !nonce || !ct || nsalt != GXS_SALT_LEN || nnonce != GXS_NONCE_LEN
        || nct < GXS_GCM_TAG_LEN || nct > (apr_size_t)INT_MAX) {
        *err = "malformed encrypted blob (bad salt, nonce or data length)";
        return NULL;
    }
    if (!derive(key, &kdf, salt, k)) {
        OPENSSL_cleanse(k, sizeof(k));
        *err = "cannot derive the key (OpenSSL)";
        return NULL;
    }
    out = apr_palloc(p, nct + 1);
    c = EVP_CIPHER_CTX_new();
    ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GXS_NONCE_LEN, NULL) == 1
         && EVP_DecryptInit_ex(c, NULL, NULL, k, nonce) == 1
         && EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1
         && EVP_DecryptUpdate(c, out, &n, ct, (int)(nct - GXS_GCM_TAG_LEN)) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GXS_GCM_TAG_LEN,
                                ct + nct - GXS_GCM_TAG_LEN) == 1
         && EVP_DecryptFinal_ex(c, out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(k, sizeof(k));
    if (!ok) {
        OPENSSL_cleanse(out, nct + 1);
        *err = "cannot decrypt (wrong SECRETS_KEY, or the blob was changed)";
        return NULL;
    }
    out[n + fin] = '\0';
    *len = (apr_size_t)(n + fin);
    return (char *)out;
}

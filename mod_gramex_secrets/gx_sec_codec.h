/* gx_sec_codec: the two secret blob formats mod_gramex_secrets reads.
 *
 * Tornado signed values (what Gramex's `secrets` tool publishes at
 * SECRETS_URL): create_signed_value(key, "", json), versions 1 and 2,
 * verified exactly as tornado's decode_signed_value with name "" and
 * max_age_days 1,000,000. Signed, not encrypted: anyone who reads the URL
 * reads the secrets.
 *
 * gxs1 (ours): authenticated encryption, so the URL reveals nothing
 * without SECRETS_KEY:
 *     gxs1.<salt>.<nonce>.<ciphertext+tag>        (base64url, no padding)
 * key = scrypt(SECRETS_KEY, salt, N=2^14, r=8, p=1, 32 bytes), AES-256-GCM
 * with a 12-byte nonce, the literal "gxs1" as additional data, 16-byte tag. */
#ifndef GX_SEC_CODEC_H
#define GX_SEC_CODEC_H

#include <apr_pools.h>
#include <apr_time.h>

typedef enum { GX_BLOB_UNKNOWN, GX_BLOB_TORNADO_V1, GX_BLOB_TORNADO_V2, GX_BLOB_GXS1 } gx_blob_kind;

gx_blob_kind gx_blob_detect(const char *blob);

/* Verify a tornado signed value and return its payload (NUL-terminated,
 * *len bytes), or NULL with *err set. now: the time to check ages against. */
char *gx_signed_decode(apr_pool_t *p, const char *key, const char *blob, apr_time_t now,
                       apr_size_t *len, const char **err);
/* create_signed_value(key, "", payload), version 2 */
char *gx_signed_encode(apr_pool_t *p, const char *key, const char *payload, apr_size_t len,
                       apr_time_t now);

char *gx_aead_encrypt(apr_pool_t *p, const char *key, const char *plain, apr_size_t len,
                      const char **err);
char *gx_aead_decrypt(apr_pool_t *p, const char *key, const char *blob, apr_size_t *len,
                      const char **err);

/* base64 as Python's b64decode: non-alphabet bytes skipped, bad padding
 * rejected. url = 1 for the -_ alphabet without padding. */
char *gx_b64_decode(apr_pool_t *p, const char *s, apr_size_t n, int url, apr_size_t *len);
char *gx_b64_encode(apr_pool_t *p, const unsigned char *s, apr_size_t n, int url);

#endif

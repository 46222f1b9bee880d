/* gx_sec_codec: the two secret blob formats mod_gramex_secrets reads.
 *
 * Tornado signed values (what Gramex's `secrets` tool publishes at
 * SECRETS_URL): create_signed_value(key, "", json), versions 1 and 2,
 * verified exactly as tornado's decode_signed_value with name "" and
 * max_age_days 1,000,000. Signed, not encrypted: anyone who reads the URL
 * reads the secrets.
 *
 * gxs2 (ours, written) and gxs1 (its predecessor, still read): authenticated
 * encryption, so the URL reveals nothing without SECRETS_KEY:
 *     gxs2.<log2 N>.<r>.<p>.<salt>.<nonce>.<ciphertext+tag>
 *     gxs1.<salt>.<nonce>.<ciphertext+tag>        (N=2^14, r=8, p=1)
 * salt, nonce and data in base64url without padding. key = scrypt(SECRETS_KEY,
 * 16-byte salt, N, r, p, 32 bytes); AES-256-GCM with a 12-byte nonce, a
 * 16-byte tag and as additional data the header: "gxs2.<log2 N>.<r>.<p>"
 * (so the parameters cannot be lowered unnoticed) or "gxs1". docs/secrets.md. */
#ifndef GX_SEC_CODEC_H
#define GX_SEC_CODEC_H

#include <apr_pools.h>
#include <apr_time.h>

typedef enum { GX_BLOB_UNKNOWN, GX_BLOB_TORNADO_V1, GX_BLOB_TORNADO_V2, GX_BLOB_AEAD } gx_blob_kind;

gx_blob_kind gx_blob_detect(const char *blob);

/* Verify a tornado signed value and return its payload (NUL-terminated,
 * *len bytes), or NULL with *err set. now: the time to check ages against. */
char *gx_signed_decode(apr_pool_t *p, const char *key, const char *blob, apr_time_t now,
                       apr_size_t *len, const char **err);
/* create_signed_value(key, "", payload), version 2 */
char *gx_signed_encode(apr_pool_t *p, const char *key, const char *payload, apr_size_t len,
                       apr_time_t now);

/* scrypt cost: N = 2^log2_n */
typedef struct {
    int log2_n, r, p;
} gx_kdf;

/* What new blobs use; raise it here (old blobs keep their own). */
extern const gx_kdf gx_kdf_default;

/* NULL when k is within the bounds a reader accepts, else why not. */
const char *gx_kdf_check(const gx_kdf *k);

/* A gxs2 blob with gx_kdf_default (gx_aead_encrypt) or the given cost. */
char *gx_aead_encrypt_kdf(apr_pool_t *p, const char *key, const char *plain, apr_size_t len,
                          const gx_kdf *kdf, const char **err);
char *gx_aead_encrypt(apr_pool_t *p, const char *key, const char *plain, apr_size_t len,
                      const char **err);
/* A gxs1 or gxs2 blob's plaintext, or NULL with *err set (never reads past
 * the blob, whatever it holds). */
char *gx_aead_decrypt(apr_pool_t *p, const char *key, const char *blob, apr_size_t *len,
                      const char **err);

/* base64 as Python's b64decode: non-alphabet bytes skipped, bad padding
 * rejected. url = 1 for the -_ alphabet without padding. */
char *gx_b64_decode(apr_pool_t *p, const char *s, apr_size_t n, int url, apr_size_t *len);
char *gx_b64_encode(apr_pool_t *p, const unsigned char *s, apr_size_t n, int url);

#endif

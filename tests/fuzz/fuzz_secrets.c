/* The secrets decoders on arbitrary blobs: gxs1/gxs2 AEAD, tornado signed
 * values, base64, and the blob -> mapping path. */
#include "fuzz_common.h"
#include "gx_sec_codec.h"
#include "gx_sec_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *blob = fuzz_text(p, data, size), *err = NULL;
    apr_size_t len = 0;
    int signed_only = 0;
    gx_blob_detect(blob);
    gx_b64_decode(p, blob, size, 0, &len);
    gx_b64_decode(p, blob, size, 1, &len);
    gx_signed_decode(p, "fuzz-key", blob, apr_time_from_sec(1800000000), &len, &err);
    /* blobs of only dots and spaces once read an uninitialised pointer
     * (issue 11): tests/unit/test_secrets.c aead_malformed */
    gx_aead_decrypt(p, "fuzz-key", blob, &len, &err);
    gx_secrets_decode_blob(p, "fuzz-key", blob, apr_time_from_sec(1800000000), &signed_only,
                           &err);
    apr_pool_destroy(p);
    return 0;
}

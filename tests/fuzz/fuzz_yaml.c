/* gx_yaml on arbitrary text: parse (with and without random keys) and
 * write the tree back as JSON. Any crash, leak or UB is a finding. */
#include "fuzz_common.h"
#include "gx_yaml.h"
#include "gx_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    gx_diags *d = gx_diags_make(p);
    gx_node *n = NULL;
    const char *text = fuzz_text(p, data, size);
    if (gx_yaml_parse_string(p, text, size, "/fuzz/gramex.yaml", (int)(size & 1), &n, d)
        == GX_YAML_OK) {
        if (!n || d->errors)
            abort();                    /* OK means a tree and no error */
        gx_json_string(p, n, (int)(size % 3) - 1, NULL);
    }
    else if (!d->errors) {
        abort();                        /* an error always says why */
    }
    apr_pool_destroy(p);
    return 0;
}

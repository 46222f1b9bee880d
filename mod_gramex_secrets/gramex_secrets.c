/* gramex-secrets: make and read the secrets mod_gramex_secrets uses.
 *   gramex-secrets export KEY 'GOOGLE*' KEY2=default > .secrets.yaml
 *   gramex-secrets encrypt --key K [--format aead|gramex] < secrets.yaml|json
 *   gramex-secrets decrypt --key K URL|FILE [--show] */
#include "gx_sec_codec.h"
#include "gx_sec_load.h"
#include "gx_yaml.h"
#include "gx_json.h"
#include "gx_env.h"
#include "gx_pathrule.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_time.h>
#include <apr_lib.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define GX_MAX_STDIN (16 * 1024 * 1024)

static int usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  gramex-secrets export NAME|'PATTERN*'|NAME=VALUE ...   YAML for .secrets.yaml\n"
            "  gramex-secrets encrypt --key KEY [--format aead|gramex] < secrets.yaml\n"
            "      aead (default): encrypted (gxs1); gramex: signed only, as Gramex's tool\n"
            "  gramex-secrets decrypt --key KEY URL|FILE [--show]\n"
            "      verify a published blob and list its keys (values with --show)\n");
    return 2;
}

/* A YAML double-quoted scalar: loads back as exactly this string. */
static void yaml_quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static int plain_key(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++)
        if (!(apr_isalnum(*k) || *k == '_'))
            return 0;
    return 1;
}

/* spec i.4: NAME=VALUE is literal; anything else is a case-sensitive shell
 * pattern over the environment, in environment order; a later argument
 * replaces an earlier key's value in place. */
static int cmd_export(apr_pool_t *p, int argc, const char *const *argv)
{
    gx_node *out = gx_map_new(p, NULL, 0);
    const char *const *env = gx_environ();
    int i, j;
    for (i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (eq) {
            gx_map_set(p, out, apr_pstrmemdup(p, argv[i], eq - argv[i]), gx_str_new(p, eq + 1, NULL, 0));
            continue;
        }
        for (j = 0; env[j]; j++) {
            const char *e = strchr(env[j], '=');
            char *name;
            if (!e)
                continue;
            name = apr_pstrmemdup(p, env[j], e - env[j]);
            if (gx_fnmatch(argv[i], name, 0))
                gx_map_set(p, out, name, gx_str_new(p, e + 1, NULL, 0));
        }
    }
    for (i = 0; i < out->n; i++) {
        if (plain_key(out->keys[i]->str))
            fputs(out->keys[i]->str, stdout);
        else
            yaml_quote(stdout, out->keys[i]->str);
        fputs(": ", stdout);
        yaml_quote(stdout, out->vals[i]->str);
        fputc('\n', stdout);
    }
    return 0;
}

static char *read_stdin(apr_pool_t *p, apr_size_t *len)
{
    char *buf = apr_palloc(p, GX_MAX_STDIN + 1);
    *len = fread(buf, 1, GX_MAX_STDIN, stdin);
    buf[*len] = '\0';
    return buf;
}

static int cmd_encrypt(apr_pool_t *p, const char *key, const char *format)
{
    apr_size_t len;
    char *text = read_stdin(p, &len), *json, *blob;
    gx_diags *d = gx_diags_make(p);
    gx_node *doc = NULL;
    const char *err = NULL;
    if (gx_yaml_parse_string(p, text, len, "stdin", 0, &doc, d) != GX_YAML_OK || !doc
        || doc->type != GX_MAP) {
        fprintf(stderr, "gramex-secrets: stdin must be a YAML or JSON mapping of NAME: value\n");
        return 1;
    }
    json = gx_json_string(p, doc, -1, NULL);
    if (!strcmp(format, "gramex"))
        blob = gx_signed_encode(p, key, json, strlen(json), apr_time_now());
    else
        blob = gx_aead_encrypt(p, key, json, strlen(json), &err);
    if (!blob) {
        fprintf(stderr, "gramex-secrets: %s\n", err);
        return 1;
    }
    puts(blob);
    return 0;
}

static int cmd_decrypt(apr_pool_t *p, const char *key, const char *where, int show)
{
    gx_secrets_opts o = {0};
    const char *url = strstr(where, "://") ? where : apr_pstrcat(p, "file://", where, NULL);
    const char *err = NULL;
    apr_size_t len;
    char *text;
    gx_node *payload;
    int signed_only = 0, i;
    if (!strstr(where, "://") && where[0] != '/') {
        char *cwd;
        apr_filepath_get(&cwd, 0, p);
        url = apr_pstrcat(p, "file://", cwd, "/", where, NULL);
    }
    text = gx_secrets_fetch(p, url, &o, &len, &err);
    payload = text ? gx_secrets_decode_blob(p, key, text, apr_time_now(), &signed_only, &err) : NULL;
    if (!payload) {
        fprintf(stderr, "gramex-secrets: %s: %s\n", where, err);
        return 1;
    }
    fprintf(stderr, "%s: %s, %d keys\n", where,
            signed_only ? "signed only (readable by anyone with the URL)" : "encrypted (gxs1)",
            payload->n);
    for (i = 0; i < payload->n; i++) {
        if (show) {
            printf("%s: %s\n", gx_key_text(payload->keys[i]),
                   gx_json_string(p, payload->vals[i], -1, NULL));
        }
        else {
            printf("%s\n", gx_key_text(payload->keys[i]));
        }
    }
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    const char *key = NULL, *format = "aead", *target = NULL;
    int i, show = 0, rc;
    if (argc < 2)
        return usage();
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (!strcmp(argv[1], "export"))
        return cmd_export(p, argc - 2, argv + 2);
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            format = argv[++i];
        else if (!strcmp(argv[i], "--show"))
            show = 1;
        else if (argv[i][0] != '-' && !target)
            target = argv[i];
        else
            return usage();
    }
    if (!key || (strcmp(format, "aead") && strcmp(format, "gramex")))
        return usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!strcmp(argv[1], "encrypt"))
        rc = cmd_encrypt(p, key, format);
    else if (!strcmp(argv[1], "decrypt") && target)
        rc = cmd_decrypt(p, key, target, show);
    else
        rc = usage();
    curl_global_cleanup();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}

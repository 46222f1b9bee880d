/* gramex-secrets: make and read the secrets mod_gramex_secrets uses.
 *   gramex-secrets export [-o FILE] KEY 'GOOGLE*' KEY2=default
 *   gramex-secrets encrypt --key K [--format aead|gramex] [--scrypt LOG2N,R,P] < secrets.yaml
 *   gramex-secrets decrypt --key K [--cacert PEM] URL|FILE [--show] */
#include "gx_sec_codec.h"
#include "gx_sec_load.h"
#include "gx_yaml.h"
#include "gx_json.h"
#include "gx_env.h"
#include "gx_pathrule.h"
#include "gx_path.h"
#include "gx_buf.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_time.h>
#include <apr_lib.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#endif

#define GX_MAX_STDIN (16 * 1024 * 1024)

static const char usage_text[] =
    "usage:\n"
    "  gramex-secrets export [-o FILE] NAME|'PATTERN*'|NAME=VALUE ...\n"
    "      YAML for .secrets.yaml from the environment; -o writes FILE with mode 0600\n"
    "      (so does a shell redirect to a new or existing file: it is made 0600)\n"
    "  gramex-secrets encrypt --key KEY [--format aead|gramex] [--scrypt LOG2N,R,P] < secrets.yaml\n"
    "      aead (default): encrypted (gxs2, scrypt 15,8,1 unless given); gramex: signed\n"
    "      only, as Gramex's tool\n"
    "  gramex-secrets decrypt --key KEY [--cacert PEM] URL|FILE [--show]\n"
    "      verify a published blob and list its keys (values with --show)\n"
    "  gramex-secrets --help\n";

/* A usage mistake: the usage on stderr, exit 2. */
static int usage(void)
{
    fputs(usage_text, stderr);
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
/* The output holds secrets: readable by its owner only. A shell redirect
 * made the file with the umask's mode, so stdout is narrowed too when it is
 * a regular file. */
static int private_output(FILE *f, const char *name)
{
#ifndef _WIN32
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077)
        && fchmod(fileno(f), st.st_mode & 0700) != 0) {
        fprintf(stderr, "gramex-secrets: cannot make %s private (mode 0600); run umask 077 "
                "first, or chmod 600 it\n", name);
        return 0;
    }
#else
    (void)f; (void)name;
#endif
    return 1;
}

/* FILE for writing, created 0600 (an existing file is narrowed by
 * private_output). */
static FILE *open_private(const char *path)
{
    FILE *f;
#ifndef _WIN32
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f && fd >= 0)
        close(fd);
#else
    f = fopen(path, "w");
#endif
    if (!f)
        fprintf(stderr, "gramex-secrets: cannot write %s\n", path);
    return f;
}

static int cmd_export(apr_pool_t *p, int argc, const char *const *argv)
{
    gx_node *out = gx_map_new(p, NULL, 0);
    const char *const *env = gx_environ();
    const char *path = NULL;
    FILE *f = stdout;
    int i, j;
    if (argc >= 2 && (!strcmp(argv[0], "-o") || !strcmp(argv[0], "--output"))) {
        path = argv[1];
        argc -= 2;
        argv += 2;
    }
    if (!argc)
        return usage();
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
    if (path && !(f = open_private(path)))
        return 1;
    if (!private_output(f, path ? path : "stdout"))
        return 1;
    for (i = 0; i < out->n; i++) {
        if (plain_key(out->keys[i]->str))
            fputs(out->keys[i]->str, f);
        else
            yaml_quote(f, out->keys[i]->str);
        fputs(": ", f);
        yaml_quote(f, out->vals[i]->str);
        fputc('\n', f);
    }
    if (fflush(f) != 0 || (path && fclose(f) != 0)) {
        fprintf(stderr, "gramex-secrets: cannot write %s\n", path ? path : "stdout");
        return 1;
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

static int cmd_encrypt(apr_pool_t *p, const char *key, const char *format, const gx_kdf *kdf)
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
        blob = gx_aead_encrypt_kdf(p, key, json, strlen(json), kdf, &err);
    if (!blob) {
        fprintf(stderr, "gramex-secrets: %s\n", err);
        return 1;
    }
    puts(blob);
    return 0;
}

/* The file: URL of a local file, relative to the current directory:
 * file:///srv/x or file:///C:/x, with the characters a URL gives meaning
 * to escaped. NULL if the path is not valid. */
static const char *file_url(apr_pool_t *p, const char *path)
{
    char *abs = NULL;
    gx_buf url;
    if (apr_filepath_merge(&abs, NULL, path, 0, p) != APR_SUCCESS)
        return NULL;
    gx_buf_init(&url, p, 0);
    gx_buf_puts(&url, "file://");
    if (gx_path_root_len(abs) != 1)         /* a drive: file:///C:/x */
        gx_buf_puts(&url, "/");
    for (; *abs; abs++) {
        if (*abs == '%' || *abs == '?' || *abs == '#')
            gx_buf_append(&url, apr_psprintf(p, "%%%02X", (unsigned char)*abs), 3);
        else
            gx_buf_append(&url, abs, 1);
    }
    return url.data;
}

static int cmd_decrypt(apr_pool_t *p, const char *key, const char *where, int show,
                       const char *cacert)
{
    gx_secrets_opts o = {0};
    int is_url = strstr(where, "://") != NULL;
    const char *url = is_url ? where : file_url(p, where);
    const char *shown = is_url ? gx_secrets_redact_url(p, where) : where;
    const char *err = NULL;
    apr_size_t len;
    char *text;
    gx_node *payload;
    int signed_only = 0, i;
    o.ca_file = cacert;
    if (!url) {
        fprintf(stderr, "gramex-secrets: %s is not a valid path\n", where);
        return 1;
    }
    text = gx_secrets_fetch(p, url, &o, &len, &err);
    payload = text ? gx_secrets_decode_blob(p, key, text, apr_time_now(), &signed_only, &err) : NULL;
    if (!payload) {
        fprintf(stderr, "gramex-secrets: %s: %s\n", shown, err);
        return 1;
    }
    fprintf(stderr, "%s: %s, %d keys\n", shown,
            signed_only ? "signed only (readable by anyone with the URL)" : "encrypted",
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

static int parse_kdf(const char *s, gx_kdf *k)
{
    char tail;
    return sscanf(s, "%d,%d,%d%c", &k->log2_n, &k->r, &k->p, &tail) == 3 && !gx_kdf_check(k);
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    const char *key = NULL, *format = "aead", *target = NULL, *cacert = NULL;
    gx_kdf kdf = gx_kdf_default;
    int i, show = 0, rc;
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (!strcmp(argv[1], "export"))
        return cmd_export(p, argc - 2, argv + 2);
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            format = argv[++i];
        else if (!strcmp(argv[i], "--scrypt") && i + 1 < argc) {
            if (!parse_kdf(argv[++i], &kdf)) {
                fprintf(stderr, "gramex-secrets: --scrypt %s: want LOG2N,R,P within log2 N "
                        "10..24, r 1..64, p 1..64 and 256 MiB, e.g. 16,8,1\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--cacert") && i + 1 < argc)
            cacert = argv[++i];
        else if (!strcmp(argv[i], "--show"))
            show = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
        else if (argv[i][0] != '-' && !target)
            target = argv[i];
        else
            return usage();
    }
    if (!key || (strcmp(format, "aead") && strcmp(format, "gramex")))
        return usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!strcmp(argv[1], "encrypt"))
        rc = cmd_encrypt(p, key, format, &kdf);
    else if (!strcmp(argv[1], "decrypt") && target)
        rc = cmd_decrypt(p, key, target, show, cacert);
    else
        rc = usage();
    curl_global_cleanup();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}

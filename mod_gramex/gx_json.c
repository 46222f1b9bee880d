/* gx_json: see gx_json.h. Output follows Python's json.dumps where it
 * matters for comparing with Gramex: key order kept, floats as Python
 * prints them, non-ASCII passed through as UTF-8. */
#include "gx_json.h"
#include "gx_buf.h"
#include <apr_strings.h>
#include <string.h>

static void quote(gx_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    gx_buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': gx_buf_append(b, "\\\"", 2); break;
        case '\\': gx_buf_append(b, "\\\\", 2); break;
        case '\n': gx_buf_append(b, "\\n", 2); break;
        case '\r': gx_buf_append(b, "\\r", 2); break;
        case '\t': gx_buf_append(b, "\\t", 2); break;
        case '\b': gx_buf_append(b, "\\b", 2); break;
        case '\f': gx_buf_append(b, "\\f", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                gx_buf_append(b, esc, 6);
            }
            else {
                gx_buf_append(b, (const char *)s, 1);
            }
        }
    }
    gx_buf_append(b, "\"", 1);
}

char *gx_json_quote(apr_pool_t *p, const char *s)
{
    gx_buf b;
    gx_buf_init(&b, p, 0);
    quote(&b, s ? s : "");
    return b.data;
}

/* Shorter secret values are only redacted where they are the whole value:
 * replacing every "1" inside other strings would make dumps unreadable. */
#define GX_REDACT_SUBSTRING_MIN 4

/* s with every secret value of at least GX_REDACT_SUBSTRING_MIN bytes
 * replaced by ***, as interpolated secrets ("p=$PASSWORD") leak too. */
static const char *redact_inside(apr_pool_t *p, const gx_node *redact, const char *s)
{
    int i;
    if (!redact || redact->type != GX_MAP)
        return s;
    for (i = 0; i < redact->n; i++) {
        const gx_node *v = redact->vals[i];
        const char *at;
        apr_size_t n;
        if (!v || v->type == GX_MAP || v->type == GX_LIST || !v->str
            || (n = strlen(v->str)) < GX_REDACT_SUBSTRING_MIN)
            continue;
        while ((at = strstr(s, v->str)))
            s = apr_pstrcat(p, apr_pstrmemdup(p, s, at - s), "***", at + n, NULL);
    }
    return s;
}

/* Is s the (non-empty string) value of one of the secrets? */
static int is_secret(const gx_node *redact, const char *s)
{
    int i;
    if (!redact || redact->type != GX_MAP || !*s)
        return 0;
    for (i = 0; i < redact->n; i++) {
        const gx_node *v = redact->vals[i];
        if (v && v->str && v->type != GX_MAP && v->type != GX_LIST && v->str[0]
            && strcmp(v->str, s) == 0)
            return 1;
    }
    return 0;
}

static void indent_to(gx_buf *b, int indent, int depth)
{
    int i;
    if (indent < 0)
        return;
    gx_buf_append(b, "\n", 1);
    for (i = 0; i < indent * depth; i++)
        gx_buf_append(b, " ", 1);
}

static void write_node(gx_buf *b, const gx_node *n, int indent, int depth, const gx_node *redact)
{
    int i;
    if (!n) {
        gx_buf_puts(b, "null");
        return;
    }
    switch (n->type) {
    case GX_NULL: gx_buf_puts(b, "null"); break;
    case GX_BOOL: gx_buf_puts(b, n->i ? "true" : "false"); break;
    case GX_INT:
        if (is_secret(redact, gx_scalar_text(b->p, n)))
            gx_buf_puts(b, "\"***\"");
        else
            gx_buf_puts(b, gx_scalar_text(b->p, n));
        break;
    case GX_FLOAT: {
        const char *t = gx_scalar_text(b->p, n);
        gx_buf_puts(b, !strcmp(t, "inf") ? "Infinity" : !strcmp(t, "-inf") ? "-Infinity"
                 : !strcmp(t, "nan") ? "NaN" : t);
        break;
    }
    case GX_STR:
    case GX_DATE:
        if (is_secret(redact, n->str))
            quote(b, "***");
        else
            quote(b, redact_inside(b->p, redact, n->str));
        break;
    case GX_LIST:
        if (!n->n) {
            gx_buf_puts(b, "[]");
            break;
        }
        gx_buf_append(b, "[", 1);
        for (i = 0; i < n->n; i++) {
            if (i)
                gx_buf_append(b, ",", 1);
            if (indent < 0 && i)
                gx_buf_append(b, " ", 1);
            indent_to(b, indent, depth + 1);
            write_node(b, n->vals[i], indent, depth + 1, redact);
        }
        indent_to(b, indent, depth);
        gx_buf_append(b, "]", 1);
        break;
    case GX_MAP:
        if (!n->n) {
            gx_buf_puts(b, "{}");
            break;
        }
        gx_buf_append(b, "{", 1);
        for (i = 0; i < n->n; i++) {
            if (i)
                gx_buf_append(b, ",", 1);
            if (indent < 0 && i)
                gx_buf_append(b, " ", 1);
            indent_to(b, indent, depth + 1);
            quote(b, gx_key_text(n->keys[i]));
            gx_buf_append(b, ": ", 2);
            write_node(b, n->vals[i], indent, depth + 1, redact);
        }
        indent_to(b, indent, depth);
        gx_buf_append(b, "}", 1);
        break;
    }
}

char *gx_json_string(apr_pool_t *p, const gx_node *n, int indent, const gx_node *redact)
{
    gx_buf b;
    gx_buf_init(&b, p, 0);
    write_node(&b, n, indent, 0, redact);
    return b.len ? b.data : apr_pstrdup(p, "null");
}

int gx_json_write(FILE *f, const gx_node *n, int indent, const gx_node *redact)
{
    apr_pool_t *p;
    int rc;
    apr_pool_create(&p, NULL);
    rc = fputs(gx_json_string(p, n, indent, redact), f) < 0 ? -1 : 0;
    apr_pool_destroy(p);
    return rc;
}

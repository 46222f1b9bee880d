/* gx_json: see gx_json.h. Output follows Python's json.dumps where it
 * matters for comparing with Gramex: key order kept, floats as Python
 * prints them, non-ASCII passed through as UTF-8. */
#include "gx_json.h"
#include <apr_strings.h>
#include <string.h>

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 256;
        char *bigger;
        while (b->len + n + 1 > cap)
            cap *= 2;
        bigger = apr_palloc(b->p, cap);
        if (b->len)
            memcpy(bigger, b->buf, b->len);
        b->buf = bigger;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void quote(sbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': put(b, "\\\"", 2); break;
        case '\\': put(b, "\\\\", 2); break;
        case '\n': put(b, "\\n", 2); break;
        case '\r': put(b, "\\r", 2); break;
        case '\t': put(b, "\\t", 2); break;
        case '\b': put(b, "\\b", 2); break;
        case '\f': put(b, "\\f", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                put(b, esc, 6);
            }
            else {
                put(b, (const char *)s, 1);
            }
        }
    }
    put(b, "\"", 1);
}

char *gx_json_quote(apr_pool_t *p, const char *s)
{
    sbuf b = {p, NULL, 0, 0};
    quote(&b, s ? s : "");
    return b.buf;
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

static void indent_to(sbuf *b, int indent, int depth)
{
    int i;
    if (indent < 0)
        return;
    put(b, "\n", 1);
    for (i = 0; i < indent * depth; i++)
        put(b, " ", 1);
}

static void write_node(sbuf *b, const gx_node *n, int indent, int depth, const gx_node *redact)
{
    int i;
    if (!n) {
        puts_(b, "null");
        return;
    }
    switch (n->type) {
    case GX_NULL: puts_(b, "null"); break;
    case GX_BOOL: puts_(b, n->i ? "true" : "false"); break;
    case GX_INT:
        if (is_secret(redact, gx_scalar_text(b->p, n)))
            puts_(b, "\"***\"");
        else
            puts_(b, gx_scalar_text(b->p, n));
        break;
    case GX_FLOAT: {
        const char *t = gx_scalar_text(b->p, n);
        puts_(b, !strcmp(t, "inf") ? "Infinity" : !strcmp(t, "-inf") ? "-Infinity"
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
            puts_(b, "[]");
            break;
        }
        put(b, "[", 1);
        for (i = 0; i < n->n; i++) {
            if (i)
                put(b, ",", 1);
            if (indent < 0 && i)
                put(b, " ", 1);
            indent_to(b, indent, depth + 1);
            write_node(b, n->vals[i], indent, depth + 1, redact);
        }
        indent_to(b, indent, depth);
        put(b, "]", 1);
        break;
    case GX_MAP:
        if (!n->n) {
            puts_(b, "{}");
            break;
        }
        put(b, "{", 1);
        for (i = 0; i < n->n; i++) {
            if (i)
                put(b, ",", 1);
            if (indent < 0 && i)
                put(b, " ", 1);
            indent_to(b, indent, depth + 1);
            quote(b, gx_key_text(n->keys[i]));
            put(b, ": ", 2);
            write_node(b, n->vals[i], indent, depth + 1, redact);
        }
        indent_to(b, indent, depth);
        put(b, "}", 1);
        break;
    }
}

char *gx_json_string(apr_pool_t *p, const gx_node *n, int indent, const gx_node *redact)
{
    sbuf b = {p, NULL, 0, 0};
    write_node(&b, n, indent, 0, redact);
    return b.buf ? b.buf : apr_pstrdup(p, "null");
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

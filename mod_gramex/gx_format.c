/* gx_format: see gx_format.h */
#include "gx_format.h"
#include "gx_buf.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>
#include <stdlib.h>

static int all_digits(const char *s, apr_size_t n)
{
    apr_size_t i;
    for (i = 0; i < n; i++)
        if (!apr_isdigit(s[i]))
            return 0;
    return n > 0;
}

char *gx_format(apr_pool_t *p, const char *tmpl, const char *const *args, int nargs,
                gx_format_lookup named, void *ctx)
{
    gx_buf out;
    const char *c = tmpl;
    int auto_index = 0;

    gx_buf_init(&out, p, strlen(tmpl) + 64);
#define APPEND(str, cnt) gx_buf_append(&out, (str), (cnt))

    while (*c) {
        if (c[0] == '{' && c[1] == '{') { APPEND("{", 1); c += 2; continue; }
        if (c[0] == '}' && c[1] == '}') { APPEND("}", 1); c += 2; continue; }
        if (c[0] == '}')
            return NULL;
        if (c[0] == '{') {
            const char *end = strchr(c + 1, '}'), *val = NULL;
            apr_size_t flen;
            if (!end)
                return NULL;
            flen = (apr_size_t)(end - c - 1);
            if (memchr(c + 1, ':', flen) || memchr(c + 1, '!', flen) || memchr(c + 1, '.', flen)
                || memchr(c + 1, '[', flen) || memchr(c + 1, '{', flen))
                return NULL;
            if (flen == 0 || all_digits(c + 1, flen)) {
                int idx = flen == 0 ? auto_index++ : atoi(c + 1);
                if (idx < 0 || idx >= nargs)
                    return NULL;
                val = args[idx];
            }
            else if (named) {
                val = named(ctx, apr_pstrmemdup(p, c + 1, flen));
            }
            if (val)
                APPEND(val, strlen(val));
            c = end + 1;
            continue;
        }
        APPEND(c, 1);
        c++;
    }
    return out.data;
#undef APPEND
}

static int ident_char(char c, int first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

char *gx_dollar_format(apr_pool_t *p, const char *tmpl, const char *const *names,
                       const char *const *values, int n)
{
    gx_buf out;
    const char *s = tmpl;
    gx_buf_init(&out, p, strlen(tmpl) + 256);
    while (*s) {
        const char *dollar = strchr(s, '$'), *name, *end, *value = NULL;
        int braced, i;
        if (!dollar)
            break;
        gx_buf_append(&out, s, (apr_size_t)(dollar - s));
        if (dollar[1] == '$') {
            gx_buf_puts(&out, "$");
            s = dollar + 2;
            continue;
        }
        braced = dollar[1] == '{';
        name = dollar + 1 + braced;
        for (end = name; ident_char(*end, end == name); end++)
            ;
        for (i = 0; end > name && i < n && !value; i++)
            if (strlen(names[i]) == (apr_size_t)(end - name) && !strncmp(names[i], name, end - name))
                value = values[i];
        if (!value || (braced && *end != '}')) {
            gx_buf_puts(&out, "$");             /* not a field: kept */
            s = dollar + 1;
            continue;
        }
        gx_buf_puts(&out, value);
        s = end + braced;
    }
    gx_buf_puts(&out, s);
    return out.data;
}

/* gx_vars: see gx_vars.h */
#include "gx_vars.h"
#include "gx_buf.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>

gx_node *gx_vars_new(apr_pool_t *p)
{
    return gx_map_new(p, NULL, 0);
}

void gx_vars_set(apr_pool_t *p, gx_node *vars, const char *name, gx_node *value)
{
    gx_map_set(p, vars, name, value);
}

void gx_vars_set_str(apr_pool_t *p, gx_node *vars, const char *name, const char *value)
{
    gx_map_set(p, vars, name, gx_str_new(p, value, NULL, 0));
}

gx_node *gx_vars_get(const gx_node *vars, const char *name)
{
    return gx_map_get(vars, name);
}

static int name_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* str() of a variable's value inside a string. */
static const char *interpolated(apr_pool_t *p, gx_node *vars, const char *name,
                                const gx_node *at, gx_diags *d)
{
    gx_node *v = gx_map_get(vars, name);
    const char *t;
    if (!v) {
        /* Gramex's table is a defaultdict(str): the name now exists, empty */
        gx_vars_set_str(p, vars, name, "");
        return "";
    }
    t = gx_scalar_text(p, v);
    if (!t) {
        gx_diag_add(d, GX_ERROR, at->file, at->line,
                    "$%s is a %s and cannot be put inside the string '%s'; use it as the whole "
                    "value ($%s alone) or define a string variable", name, gx_type_name(v->type),
                    at->str, name);
        return NULL;
    }
    return t;
}

gx_node *gx_vars_substitute(apr_pool_t *p, gx_node *vars, const gx_node *value, gx_diags *d)
{
    const char *s, *c;
    gx_buf out;
    gx_node *res;

    if (!value || value->type != GX_STR || !strchr(value->str, '$'))
        return (gx_node *)value;
    s = value->str;
    if (s[0] == '$' && s[1] && gx_map_get(vars, s + 1)) {
        res = gx_node_copy(p, gx_map_get(vars, s + 1));
        if (res->type != GX_MAP && res->type != GX_LIST) {
            res->file = value->file;
            res->line = value->line;
        }
        res->src = value->src ? value->src : value->str;
        return res;
    }
    gx_buf_init(&out, p, strlen(s) + 64);
    for (c = s; *c; ) {
        const char *name_begin, *name_end, *text;
        if (*c != '$') {
            gx_buf_append(&out, c, 1);
            c++;
            continue;
        }
        if (c[1] == '$') {
            gx_buf_append(&out, "$", 1);
            c += 2;
            continue;
        }
        if (c[1] == '{' && name_start(c[2])) {
            name_begin = c + 2;
            for (name_end = name_begin; name_char(*name_end); name_end++)
                ;
            if (*name_end != '}')
                goto invalid;
            c = name_end + 1;
        }
        else if (name_start(c[1])) {
            name_begin = c + 1;
            for (name_end = name_begin; name_char(*name_end); name_end++)
                ;
            c = name_end;
        }
        else {
            goto invalid;
        }
        text = interpolated(p, vars, apr_pstrmemdup(p, name_begin, name_end - name_begin), value, d);
        if (!text)
            return NULL;
        gx_buf_puts(&out, text);
    }
    res = gx_str_new(p, out.data, value->file, value->line);
    res->src = value->src ? value->src : value->str;
    return res;

invalid:
    gx_diag_add(d, GX_ERROR, value->file, value->line,
                "'$' not followed by a name in '%s' (Gramex aborts: \"Use $$ instead of $\"); "
                "write $$ for a literal dollar, e.g. a regex end anchor", s);
    return NULL;
}

/* `{.}` was the pre-1.0.4 spelling of $YAMLPATH */
static gx_node *legacy_dot(apr_pool_t *p, gx_node *v)
{
    const char *at;
    char *out;
    if (v->type != GX_STR || !(at = strstr(v->str, "{.}")))
        return v;
    out = apr_pstrdup(p, "");
    {
        const char *s = v->str;
        while ((at = strstr(s, "{.}"))) {
            out = apr_pstrcat(p, out, apr_pstrmemdup(p, s, at - s), "$YAMLPATH", NULL);
            s = at + 3;
        }
        out = apr_pstrcat(p, out, s, NULL);
    }
    {
        gx_node *n = gx_str_new(p, out, v->file, v->line);
        n->src = v->str;
        return n;
    }
}

int gx_vars_substitute_tree(apr_pool_t *p, gx_node *vars, gx_node *tree, gx_diags *d)
{
    int i, ok = 1;
    if (!tree || (tree->type != GX_MAP && tree->type != GX_LIST))
        return 1;
    for (i = 0; i < tree->n; i++) {
        gx_node *v = tree->vals[i];
        if (!v)
            continue;
        if (v->type == GX_MAP || v->type == GX_LIST) {
            ok &= gx_vars_substitute_tree(p, vars, v, d);
        }
        else if (v->type == GX_STR) {
            gx_node *s = gx_vars_substitute(p, vars, legacy_dot(p, v), d);
            if (!s)
                ok = 0;
            else
                tree->vals[i] = s;
        }
    }
    return ok;
}

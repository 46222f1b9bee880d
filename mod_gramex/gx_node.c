/* gx_node: see gx_node.h */
#include "gx_node.h"
#include <apr_strings.h>
#include <string.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>

/* Mappings larger than this get a hash index for key lookup; small ones are
 * scanned, which is faster and keeps the common case allocation-free. */
#define GX_MAP_INDEX_MIN 16

gx_node *gx_node_new(apr_pool_t *p, gx_type t, const char *file, int line)
{
    gx_node *n = apr_pcalloc(p, sizeof(*n));
    n->type = t;
    n->file = file;
    n->line = line;
    return n;
}

gx_node *gx_str_new(apr_pool_t *p, const char *s, const char *file, int line)
{
    gx_node *n = gx_node_new(p, GX_STR, file, line);
    n->str = apr_pstrdup(p, s ? s : "");
    return n;
}

gx_node *gx_int_new(apr_pool_t *p, long long v, const char *file, int line)
{
    gx_node *n = gx_node_new(p, GX_INT, file, line);
    n->i = v;
    n->str = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
    return n;
}

gx_node *gx_bool_new(apr_pool_t *p, int v, const char *file, int line)
{
    gx_node *n = gx_node_new(p, GX_BOOL, file, line);
    n->i = v ? 1 : 0;
    n->str = v ? "true" : "false";
    return n;
}

gx_node *gx_map_new(apr_pool_t *p, const char *file, int line)
{
    return gx_node_new(p, GX_MAP, file, line);
}

gx_node *gx_list_new(apr_pool_t *p, const char *file, int line)
{
    return gx_node_new(p, GX_LIST, file, line);
}

static void grow(apr_pool_t *p, gx_node *n, int want_keys)
{
    int cap = n->cap ? n->cap * 2 : 4;
    gx_node **vals = apr_palloc(p, cap * sizeof(*vals));
    if (n->n)
        memcpy(vals, n->vals, n->n * sizeof(*vals));
    n->vals = vals;
    if (want_keys) {
        gx_node **keys = apr_palloc(p, cap * sizeof(*keys));
        if (n->n)
            memcpy(keys, n->keys, n->n * sizeof(*keys));
        n->keys = keys;
    }
    n->cap = cap;
}

static void index_rebuild(apr_pool_t *p, gx_node *map)
{
    int i;
    map->index = apr_hash_make(p);
    for (i = 0; i < map->n; i++)
        if (map->keys[i]->type == GX_STR)
            apr_hash_set(map->index, map->keys[i]->str, APR_HASH_KEY_STRING,
                         (void *)(apr_size_t)(i + 1));
}

int gx_map_find(const gx_node *map, const char *key)
{
    int i;
    if (!map || map->type != GX_MAP)
        return -1;
    if (map->index) {
        apr_size_t pos = (apr_size_t)apr_hash_get(map->index, key, APR_HASH_KEY_STRING);
        return pos ? (int)pos - 1 : -1;
    }
    for (i = 0; i < map->n; i++)
        if (map->keys[i]->type == GX_STR && strcmp(map->keys[i]->str, key) == 0)
            return i;
    return -1;
}

gx_node *gx_map_get(const gx_node *map, const char *key)
{
    int i = gx_map_find(map, key);
    return i < 0 ? NULL : map->vals[i];
}

void gx_map_append(apr_pool_t *p, gx_node *map, gx_node *key, gx_node *val)
{
    if (map->n == map->cap)
        grow(p, map, 1);
    map->keys[map->n] = key;
    map->vals[map->n] = val;
    map->n++;
    if (map->index && key->type == GX_STR)
        apr_hash_set(map->index, key->str, APR_HASH_KEY_STRING, (void *)(apr_size_t)map->n);
    else if (!map->index && map->n >= GX_MAP_INDEX_MIN)
        index_rebuild(p, map);
}

static int find_key_node(const gx_node *map, const gx_node *key)
{
    int i;
    if (key->type == GX_STR)
        return gx_map_find(map, key->str);
    for (i = 0; i < map->n; i++)
        if (gx_key_equal(map->keys[i], key))
            return i;
    return -1;
}

void gx_map_set_node(apr_pool_t *p, gx_node *map, gx_node *key, gx_node *val)
{
    int i = find_key_node(map, key);
    if (i >= 0)
        map->vals[i] = val;
    else
        gx_map_append(p, map, key, val);
}

void gx_map_set(apr_pool_t *p, gx_node *map, const char *key, gx_node *val)
{
    int i = gx_map_find(map, key);
    if (i >= 0)
        map->vals[i] = val;
    else
        gx_map_append(p, map, gx_str_new(p, key, val ? val->file : NULL,
                                         val ? val->line : 0), val);
}

void gx_map_remove_at(gx_node *map, int i)
{
    if (i < 0 || i >= map->n)
        return;
    memmove(map->keys + i, map->keys + i + 1, (map->n - i - 1) * sizeof(*map->keys));
    memmove(map->vals + i, map->vals + i + 1, (map->n - i - 1) * sizeof(*map->vals));
    map->n--;
    if (map->index) {
        /* positions shifted: rebuild lazily on the same pool as the hash */
        apr_pool_t *p = apr_hash_pool_get(map->index);
        index_rebuild(p, map);
    }
}

void gx_map_remove(gx_node *map, const char *key)
{
    gx_map_remove_at(map, gx_map_find(map, key));
}

void gx_list_push(apr_pool_t *p, gx_node *list, gx_node *item)
{
    if (list->n == list->cap)
        grow(p, list, 0);
    list->vals[list->n++] = item;
}

static const char *intern(apr_pool_t *p, apr_hash_t *files, const char *file)
{
    const char *copy;
    if (!file)
        return NULL;
    copy = apr_hash_get(files, file, APR_HASH_KEY_STRING);
    if (!copy) {
        copy = apr_pstrdup(p, file);
        apr_hash_set(files, copy, APR_HASH_KEY_STRING, copy);
    }
    return copy;
}

/* The tree's structure into p; with files, also every string and key (a
 * clone that outlives the original), else strings and keys are shared.
 * is_key: the text of a mapping key, which nothing writes into, is interned
 * with the file names (10,000 urls share one "pattern"). */
static gx_node *copy_tree_as(apr_pool_t *p, const gx_node *n, apr_hash_t *files, int is_key);

static gx_node *copy_tree(apr_pool_t *p, const gx_node *n, apr_hash_t *files)
{
    return copy_tree_as(p, n, files, 0);
}

static gx_node *copy_tree_as(apr_pool_t *p, const gx_node *n, apr_hash_t *files, int is_key)
{
    gx_node *c;
    int i;
    if (!n)
        return NULL;
    c = apr_pmemdup(p, n, sizeof(*n));
    c->index = NULL;
    if (files) {
        c->file = intern(p, files, n->file);
        c->str = !n->str ? NULL : is_key ? intern(p, files, n->str) : apr_pstrdup(p, n->str);
        c->src = n->src ? apr_pstrdup(p, n->src) : NULL;
    }
    if (n->type == GX_MAP || n->type == GX_LIST) {
        c->cap = n->n;
        c->vals = n->n ? apr_palloc(p, n->n * sizeof(*c->vals)) : NULL;
        c->keys = (n->type == GX_MAP && n->n) ? apr_palloc(p, n->n * sizeof(*c->keys)) : NULL;
        for (i = 0; i < n->n; i++) {
            c->vals[i] = copy_tree(p, n->vals[i], files);
            if (n->type == GX_MAP)      /* keys are never mutated in place */
                c->keys[i] = files ? copy_tree_as(p, n->keys[i], files, 1) : n->keys[i];
        }
        if (n->type == GX_MAP && n->n >= GX_MAP_INDEX_MIN)
            index_rebuild(p, c);
    }
    return c;
}

gx_node *gx_node_copy(apr_pool_t *p, const gx_node *n)
{
    return copy_tree(p, n, NULL);
}

gx_node *gx_node_clone(apr_pool_t *p, const gx_node *n, apr_hash_t *files)
{
    return copy_tree(p, n, files);
}

int gx_key_equal(const gx_node *a, const gx_node *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case GX_NULL: return 1;
    case GX_BOOL:
    case GX_INT: return a->i == b->i;
    case GX_FLOAT: return a->f == b->f;
    case GX_STR:
    case GX_DATE: return strcmp(a->str, b->str) == 0;
    default: return a == b;
    }
}

const char *gx_key_text(const gx_node *key)
{
    return key->str ? key->str : "";
}

int gx_is_str(const gx_node *n)
{
    return n && n->type == GX_STR;
}

int gx_truthy(const gx_node *n)
{
    if (!n)
        return 0;
    switch (n->type) {
    case GX_NULL: return 0;
    case GX_BOOL:
    case GX_INT: return n->i != 0;
    case GX_FLOAT: return n->f != 0.0;
    case GX_STR: return n->str[0] != '\0';
    case GX_DATE: return 1;
    default: return n->n > 0;
    }
}

/* Python repr of a float: shortest text that round-trips, always with a
 * '.' or exponent, 'inf'/'nan' spelled as Python does. */
static const char *python_float(apr_pool_t *p, double f)
{
    char buf[64];
    int prec;
    if (isnan(f))
        return "nan";
    if (isinf(f))
        return f > 0 ? "inf" : "-inf";
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    /* repr() switches to exponent notation only outside 1e-4 <= |f| < 1e16 */
    if (strchr(buf, 'e')) {
        int exp = atoi(strchr(buf, 'e') + 1);
        if (exp >= -4 && exp < 16) {
            int decimals = prec - 1 - exp;
            snprintf(buf, sizeof(buf), "%.*f", decimals > 0 ? decimals : 0, f);
        }
    }
    if (!strpbrk(buf, ".einn"))
        return apr_pstrcat(p, buf, ".0", NULL);
    return apr_pstrdup(p, buf);
}

const char *gx_scalar_text(apr_pool_t *p, const gx_node *n)
{
    if (!n)
        return "None";
    switch (n->type) {
    case GX_NULL: return "None";
    case GX_BOOL: return n->i ? "True" : "False";
    case GX_INT: return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)n->i);
    case GX_FLOAT: return python_float(p, n->f);
    case GX_STR:
    case GX_DATE: return n->str;
    default: return NULL;
    }
}

const char *gx_type_name(gx_type t)
{
    static const char *const names[] = {"null", "boolean", "integer", "float",
                                        "string", "date", "mapping", "list"};
    return (unsigned)t < sizeof(names) / sizeof(*names) ? names[t] : "?";
}

/* gx_yaml: see gx_yaml.h. libyaml events -> gx_node, with PyYAML's safe
 * loader rules (YAML 1.1 implicit types, merge keys) and Gramex's ordered
 * mapping constructor (duplicate keys refused, `$*` random keys). */
#include "gx_yaml.h"
#include <yaml.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define GX_RANDOM_KEY_LEN 5

/* PyYAML's implicit resolvers (yaml/resolver.py), YAML 1.1 */
static const char *const re_bool =
    "^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$";
static const char *const re_int =
    "^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$";
static const char *const re_float =
    "^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$";
static const char *const re_null = "^(?:~|null|Null|NULL|)$";
static const char *const re_time =
    "^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
    "(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\\.[0-9]*)?"
    "(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$";

enum { R_BOOL, R_INT, R_FLOAT, R_NULL, R_TIME, R_COUNT };

typedef struct {
    apr_pool_t *p;
    yaml_parser_t parser;
    const char *file;
    gx_diags *d;
    int random_keys;
    int failed;
    apr_hash_t *anchors;
    pcre2_code *const *re;
    pcre2_match_data *md;
    int depth;              /* open sequences and mappings */
    long nodes;             /* nodes made, alias copies included */
    long alias_nodes;       /* nodes brought in by aliases */
} ctx;

/* PyYAML indexes its resolvers by first character; a text starting with
 * any other cannot match (and most strings skip every regex). */
static const char *const first_chars[R_COUNT] = {
    "yYnNtTfFoO", "-+0123456789", "-+0123456789.", "~nN", "0123456789"};

static int matches(ctx *c, int which, const char *s)
{
    if (*s ? !strchr(first_chars[which], *s) : which != R_NULL)
        return 0;
    return pcre2_match(c->re[which], (PCRE2_SPTR)s, strlen(s), 0, 0, c->md, NULL) >= 0;
}

static void fail(ctx *c, int line, const char *fmt, const char *arg)
{
    if (c->failed)
        return;
    c->failed = 1;
    gx_diag_add(c->d, GX_ERROR, c->file, line, fmt, arg);
}

/* A limit from gx_yaml.h was passed: one error naming it. */
static void over_limit(ctx *c, int line, const char *what, long limit, const char *name,
                       const char *fix)
{
    if (c->failed)
        return;
    c->failed = 1;
    gx_diag_add(c->d, GX_ERROR, c->file, line, "%s past %ld (limit %s); %s", what, limit, name,
                fix);
}

/* Count one more node; 0 once past GX_YAML_MAX_NODES. */
static int count_node(ctx *c, long n, int line)
{
    c->nodes += n;
    if (c->nodes <= GX_YAML_MAX_NODES)
        return 1;
    over_limit(c, line, "the file holds more YAML nodes than allowed:", GX_YAML_MAX_NODES,
               "GX_YAML_MAX_NODES", "split the configuration or use fewer aliases");
    return 0;
}

static int next(ctx *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->parser, ev))
        return 1;
    if (!c->failed) {
        c->failed = 1;
        gx_diag_add(c->d, GX_ERROR, c->file, (int)c->parser.problem_mark.line + 1,
                    "YAML syntax error at column %d: %s%s%s; fix the YAML (a file with an "
                    "error is refused, where Gramex would silently drop it)",
                    (int)c->parser.problem_mark.column + 1,
                    c->parser.problem ? c->parser.problem : "unknown problem",
                    c->parser.context ? " " : "", c->parser.context ? c->parser.context : "");
    }
    return 0;
}

/* ---- scalars ------------------------------------------------------------- */

static char *without_underscores(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;
    for (; *s; s++)
        if (*s != '_')
            *o++ = *s;
    *o = '\0';
    return out;
}

/* magnitude = magnitude * base + digit, 0 past what a signed 64-bit
 * integer of that sign holds (its magnitude may reach 2^63 if negative). */
static int accumulate(unsigned long long *mag, unsigned base, unsigned digit, int negative)
{
    unsigned long long max = negative ? 9223372036854775808ULL : 9223372036854775807ULL;
    if (*mag > (max - digit) / base)
        return 0;
    *mag = *mag * base + digit;
    return 1;
}

static unsigned digit_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return (unsigned)(ch - '0');
    if (ch >= 'a' && ch <= 'f')
        return (unsigned)(ch - 'a' + 10);
    if (ch >= 'A' && ch <= 'F')
        return (unsigned)(ch - 'A' + 10);
    return 99;
}

/* PyYAML construct_yaml_int on text the int resolver matched. Python ints
 * have no bound; one that does not fit 64 bits is refused (returns 0)
 * rather than wrapped or clamped, in every base. */
static int construct_int(apr_pool_t *p, const char *text, long long *out)
{
    char *v = without_underscores(p, text);
    unsigned long long mag = 0;
    unsigned base = 10;
    int negative = 0;
    if (*v == '-' || *v == '+') {
        negative = *v == '-';
        v++;
    }
    if (!strncmp(v, "0b", 2))
        base = 2, v += 2;
    else if (!strncmp(v, "0x", 2))
        base = 16, v += 2;
    else if (v[0] == '0' && v[1])
        base = 8;
    if (!*v)
        return 0;                   /* "0x_": Python's int() raises too */
    if (base == 10 && strchr(v, ':')) {
        /* sexagesimal: each part is a base-10 number, parts weigh 60^k */
        char *part, *last;
        for (part = apr_strtok(v, ":", &last); part; part = apr_strtok(NULL, ":", &last)) {
            unsigned long long digits = 0;
            for (; *part; part++)
                if (!accumulate(&digits, 10, digit_value(*part), negative))
                    return 0;
            if (mag > (((negative ? 9223372036854775808ULL : 9223372036854775807ULL) - digits)
                       / 60))
                return 0;
            mag = mag * 60 + digits;
        }
    }
    else {
        for (; *v; v++)
            if (digit_value(*v) >= base || !accumulate(&mag, base, digit_value(*v), negative))
                return 0;
    }
    *out = negative ? (long long)(0 - mag) : (long long)mag;
    return 1;
}

/* PyYAML construct_yaml_float */
static double construct_float(apr_pool_t *p, const char *text)
{
    char *v = without_underscores(p, text), *c;
    double sign = 1;
    for (c = v; *c; c++)
        *c = apr_tolower(*c);
    if (*v == '-' || *v == '+') {
        sign = *v == '-' ? -1 : 1;
        v++;
    }
    if (!strcmp(v, ".inf"))
        return sign * INFINITY;
    if (!strcmp(v, ".nan"))
        return NAN;
    if (strchr(v, ':')) {
        double total = 0;
        char *part, *last;
        for (part = apr_strtok(v, ":", &last); part; part = apr_strtok(NULL, ":", &last))
            total = total * 60 + strtod(part, NULL);
        return sign * total;
    }
    return sign * strtod(v, NULL);
}

static gx_node *typed_scalar(ctx *c, const char *text, const char *tag, int line)
{
    gx_node *n;
    apr_pool_t *p = c->p;
#define IS(t) (tag && !strcmp(tag, "tag:yaml.org,2002:" t))
    if (IS("str") || (tag && !strcmp(tag, "!")))
        return gx_str_new(p, text, c->file, line);
    if (IS("null") || (!tag && matches(c, R_NULL, text))) {
        n = gx_node_new(p, GX_NULL, c->file, line);
        n->str = "null";
        return n;
    }
    if (IS("bool") || (!tag && matches(c, R_BOOL, text))) {
        char lower[8];
        apr_size_t i;
        for (i = 0; i < sizeof(lower) - 1 && text[i]; i++)
            lower[i] = (char)apr_tolower(text[i]);
        lower[i] = '\0';
        if (tag && !matches(c, R_BOOL, text)) {
            fail(c, line, "'%s' is not a boolean; use true or false", text);
            return NULL;
        }
        return gx_bool_new(p, !strcmp(lower, "yes") || !strcmp(lower, "true") || !strcmp(lower, "on"),
                           c->file, line);
    }
    if (IS("int") || (!tag && matches(c, R_INT, text))) {
        if (tag && !matches(c, R_INT, text)) {
            fail(c, line, "'%s' is not an integer", text);
            return NULL;
        }
        {
            long long v;
            if (!construct_int(p, text, &v)) {
                fail(c, line, "the integer %s does not fit in 64 bits; use a smaller number, "
                     "or quote it to keep it as text", text);
                return NULL;
            }
            n = gx_int_new(p, v, c->file, line);
        }
        n->src = apr_pstrdup(p, text);
        return n;
    }
    if (IS("float") || (!tag && matches(c, R_FLOAT, text))) {
        n = gx_node_new(p, GX_FLOAT, c->file, line);
        n->f = construct_float(p, text);
        n->str = apr_pstrdup(p, text);
        return n;
    }
    if (IS("timestamp") || (!tag && matches(c, R_TIME, text))) {
        n = gx_node_new(p, GX_DATE, c->file, line);
        n->str = apr_pstrdup(p, text);
        return n;
    }
    if (!tag && !strcmp(text, "=")) {
        fail(c, line, "the value '=' cannot be loaded (YAML 1.1 'value' tag, which the safe "
             "loader Gramex uses rejects); quote it: '%s'", "=");
        return NULL;
    }
    if (tag) {
        fail(c, line, "the tag %s is not allowed (Gramex loads YAML with the safe loader); "
             "remove it", tag);
        return NULL;
    }
#undef IS
    return gx_str_new(p, text, c->file, line);
}

/* ---- nodes ----------------------------------------------------------------- */

static gx_node *parse_node(ctx *c, yaml_event_t *ev);

static void remember_anchor(ctx *c, const yaml_char_t *anchor, gx_node *n)
{
    if (anchor && n)
        apr_hash_set(c->anchors, apr_pstrdup(c->p, (const char *)anchor), APR_HASH_KEY_STRING, n);
}

static void random_key(ctx *c, gx_node *key)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[GX_RANDOM_KEY_LEN];
    char rnd[GX_RANDOM_KEY_LEN + 1], *out, *at;
    const char *s;
    int i;
    if (!c->random_keys || key->type != GX_STR || !strstr(key->str, "$*"))
        return;
    apr_generate_random_bytes(bytes, sizeof(bytes));
    for (i = 0; i < GX_RANDOM_KEY_LEN; i++)
        rnd[i] = chars[bytes[i] % (sizeof(chars) - 1)];
    rnd[GX_RANDOM_KEY_LEN] = '\0';
    out = apr_pstrdup(c->p, "");
    for (s = key->str; (at = strstr(s, "$*")); s = at + 2)
        out = apr_pstrcat(c->p, out, apr_pstrmemdup(c->p, s, at - s), rnd, NULL);
    key->str = apr_pstrcat(c->p, out, s, NULL);
}

/* Python dict key equality for scalars: 1 == 1.0 == True */
static int same_key(const gx_node *a, const gx_node *b)
{
    int na = a->type == GX_INT || a->type == GX_BOOL || a->type == GX_FLOAT;
    int nb = b->type == GX_INT || b->type == GX_BOOL || b->type == GX_FLOAT;
    if (na && nb) {
        double x = a->type == GX_FLOAT ? a->f : (double)a->i;
        double y = b->type == GX_FLOAT ? b->f : (double)b->i;
        return x == y;
    }
    return gx_key_equal(a, b);
}

typedef struct {
    gx_node *key;
    gx_node *val;
} pair;

static void push_pair(apr_array_header_t *a, gx_node *k, gx_node *v)
{
    pair *pr = apr_array_push(a);
    pr->key = k;
    pr->val = v;
}

static gx_node *parse_mapping(ctx *c, yaml_event_t *start)
{
    int line = (int)start->start_mark.line + 1;
    apr_array_header_t *merged = NULL;     /* made only for a << key: most maps have none */
    apr_array_header_t *own = apr_array_make(c->p, 4, sizeof(pair));
    int nmerged;
    gx_node *map = gx_map_new(c->p, c->file, line);
    const yaml_char_t *anchor = start->data.mapping_start.anchor;
    int i, j;

    remember_anchor(c, anchor, map);   /* set early: aliases inside refer to it */
    for (;;) {
        yaml_event_t ev;
        gx_node *key, *val;
        int is_merge;
        if (!next(c, &ev))
            return NULL;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        is_merge = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 2
                   && !strcmp((const char *)ev.data.scalar.value, "<<")
                   && (ev.data.scalar.plain_implicit
                       || (ev.data.scalar.tag && !strcmp((const char *)ev.data.scalar.tag,
                                                         "tag:yaml.org,2002:merge")));
        /* a key '=' is the YAML 1.1 value key: PyYAML makes it a plain string */
        if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.plain_implicit
            && ev.data.scalar.length == 1 && !strcmp((const char *)ev.data.scalar.value, "=")) {
            key = gx_str_new(c->p, "=", c->file, (int)ev.start_mark.line + 1);
            yaml_event_delete(&ev);
        }
        else if (is_merge) {
            key = NULL;
            yaml_event_delete(&ev);
        }
        else {
            key = parse_node(c, &ev);
        }
        if (!next(c, &ev))
            return NULL;
        val = parse_node(c, &ev);
        if (c->failed)
            return NULL;
        if (is_merge) {
            if (!merged)
                merged = apr_array_make(c->p, 4, sizeof(pair));
            if (val && val->type == GX_MAP) {
                for (j = 0; j < val->n; j++)
                    push_pair(merged, val->keys[j], val->vals[j]);
            }
            else if (val && val->type == GX_LIST) {
                for (i = val->n - 1; i >= 0; i--) {     /* PyYAML reverses the list */
                    gx_node *m = val->vals[i];
                    if (m->type != GX_MAP) {
                        fail(c, m->line, "<< (merge) takes a mapping or a list of mappings, "
                             "not a %s", gx_type_name(m->type));
                        return NULL;
                    }
                    for (j = 0; j < m->n; j++)
                        push_pair(merged, m->keys[j], m->vals[j]);
                }
            }
            else {
                fail(c, val ? val->line : line, "<< (merge) takes a mapping or a list of "
                     "mappings, not a %s", val ? gx_type_name(val->type) : "null");
                return NULL;
            }
            continue;
        }
        if (!key)
            return NULL;
        if (key->type == GX_MAP || key->type == GX_LIST) {
            fail(c, key->line, "a %s cannot be a mapping key; use a string", gx_type_name(key->type));
            return NULL;
        }
        random_key(c, key);
        push_pair(own, key, val);
    }
    /* merged keys come first, then the mapping's own (PyYAML flatten_mapping);
     * Gramex's constructor then refuses any key seen twice, even one that
     * overrides a merged key */
    nmerged = merged ? merged->nelts : 0;
    if (merged)
        apr_array_cat(merged, own);
    else
        merged = own;
    for (i = 0; i < merged->nelts; i++) {
        pair *pr = &APR_ARRAY_IDX(merged, i, pair);
        int k = pr->key->type == GX_STR ? gx_map_find(map, pr->key->str) : -1;
        if (k < 0 && pr->key->type != GX_STR)
            for (j = 0; j < map->n && k < 0; j++)
                if (same_key(map->keys[j], pr->key))
                    k = j;
        if (k >= 0) {
            c->failed = 1;
            gx_diag_add(c->d, GX_ERROR, c->file, pr->key->line,
                        "found duplicate key (%s) (first at line %d%s); remove or rename one "
                        "of them (Gramex drops the whole file)", gx_key_text(pr->key),
                        map->keys[k]->line, i < nmerged || k < nmerged ? ", merged with <<" : "");
            return NULL;
        }
        gx_map_append(c->p, map, pr->key, pr->val);
    }
    return map;
}

/* Nodes a copy of n makes (keys are shared, not copied) and its depth,
 * stopping once past `budget`. Trees built here are at most
 * GX_YAML_MAX_DEPTH deep, so the recursion is bounded. */
static long measure(const gx_node *n, long budget, int *depth)
{
    long count = 1;
    int i, d, deepest = 0;
    if (n->type == GX_MAP || n->type == GX_LIST) {
        for (i = 0; i < n->n && count <= budget; i++) {
            count += measure(n->vals[i], budget - count, &d);
            if (d > deepest)
                deepest = d;
        }
        deepest++;
    }
    *depth = deepest;
    return count;
}

/* *name: a copy of the anchored node (later stages edit nodes in place),
 * counted against the alias, node and depth limits first, so that an
 * alias bomb is refused after at most GX_YAML_MAX_ALIAS_NODES steps. */
static gx_node *expand_alias(ctx *c, const char *name, int line)
{
    gx_node *n = apr_hash_get(c->anchors, name, APR_HASH_KEY_STRING);
    long budget = GX_YAML_MAX_ALIAS_NODES - c->alias_nodes, size;
    int depth;
    if (!n) {
        fail(c, line, "unknown alias *%s; define the anchor &name before using it", name);
        return NULL;
    }
    size = measure(n, budget, &depth);
    if (size > budget) {
        over_limit(c, line, apr_psprintf(c->p, "aliases (the last *%s) expand to more nodes "
                   "than allowed:", name), GX_YAML_MAX_ALIAS_NODES, "GX_YAML_MAX_ALIAS_NODES",
                   "use fewer or smaller aliases (is this an alias bomb?)");
        return NULL;
    }
    if (c->depth + depth > GX_YAML_MAX_DEPTH) {
        over_limit(c, line, apr_psprintf(c->p, "alias *%s nests deeper than allowed:", name),
                   GX_YAML_MAX_DEPTH, "GX_YAML_MAX_DEPTH", "nest less deeply");
        return NULL;
    }
    c->alias_nodes += size;
    if (!count_node(c, size, line))
        return NULL;
    return gx_node_copy(c->p, n);
}

/* One more sequence or mapping open; 0 past GX_YAML_MAX_DEPTH (checked
 * before libyaml reads further, so 100,000 '[' cost no more than 512). */
static int enter(ctx *c, int line)
{
    if (++c->depth <= GX_YAML_MAX_DEPTH)
        return 1;
    over_limit(c, line, "sequences and mappings nest deeper than allowed:", GX_YAML_MAX_DEPTH,
               "GX_YAML_MAX_DEPTH", "nest less deeply");
    return 0;
}

static gx_node *parse_node(ctx *c, yaml_event_t *ev)
{
    gx_node *n = NULL;
    int line = (int)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        n = expand_alias(c, (const char *)ev->data.alias.anchor, line);
        break;
    case YAML_SCALAR_EVENT: {
        const char *text = (const char *)ev->data.scalar.value;
        const char *tag = (const char *)ev->data.scalar.tag;
        if (strlen(text) != ev->data.scalar.length) {
            fail(c, line, "%s", "a string holds a NUL character (\\0), which no name, path "
                 "or pattern can hold; remove it");
            break;
        }
        if (!count_node(c, 1, line))
            break;
        if (ev->data.scalar.plain_implicit)
            tag = NULL;
        else if (!tag)
            tag = "tag:yaml.org,2002:str";    /* quoted and block scalars are strings */
        n = typed_scalar(c, text, tag, line);
        remember_anchor(c, ev->data.scalar.anchor, n);
        break;
    }
    case YAML_SEQUENCE_START_EVENT: {
        gx_node *list;
        if (!enter(c, line) || !count_node(c, 1, line))
            break;
        list = gx_list_new(c->p, c->file, line);
        remember_anchor(c, ev->data.sequence_start.anchor, list);
        yaml_event_delete(ev);
        for (;;) {
            yaml_event_t item;
            gx_node *v;
            if (!next(c, &item))
                return NULL;
            if (item.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&item);
                break;
            }
            v = parse_node(c, &item);
            if (c->failed)
                return NULL;
            gx_list_push(c->p, list, v);
        }
        c->depth--;
        return list;
    }
    case YAML_MAPPING_START_EVENT: {
        yaml_event_t start = *ev;
        gx_node *map;
        if (start.data.mapping_start.tag
            && strcmp((const char *)start.data.mapping_start.tag, "tag:yaml.org,2002:map")) {
            fail(c, line, "the tag %s is not allowed (Gramex loads YAML with the safe loader); "
                 "remove it", (const char *)start.data.mapping_start.tag);
            yaml_event_delete(ev);
            return NULL;
        }
        if (!enter(c, line) || !count_node(c, 1, line))
            break;
        map = parse_mapping(c, &start);
        c->depth--;
        yaml_event_delete(ev);
        return map;
    }
    default:
        fail(c, line, "unexpected YAML event %s", apr_itoa(c->p, ev->type));
        break;
    }
    yaml_event_delete(ev);
    return n;
}

static gx_yaml_status parse(ctx *c, const char *text, apr_size_t len, gx_node **out)
{
    yaml_event_t ev;
    gx_node *root = NULL;
    int docs = 0;
    *out = NULL;
    yaml_parser_set_input_string(&c->parser, (const unsigned char *)text, len);
    for (;;) {
        if (!next(c, &ev))
            return GX_YAML_ERROR;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            int line = (int)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            if (++docs > 1) {
                fail(c, line, "%s", "expected a single document in the stream, but found "
                     "another; keep one document per file (remove the extra ---)");
                return GX_YAML_ERROR;
            }
            continue;
        }
        root = parse_node(c, &ev);
        if (c->failed)
            return GX_YAML_ERROR;
    }
    if (!root) {
        root = gx_node_new(c->p, GX_NULL, c->file, 1);
        root->str = "null";
    }
    *out = root;
    return GX_YAML_OK;
}

/* The resolver regexes, compiled once per pool tree: every file of one
 * load (thousands of imports) shares them through the nearest pool that
 * holds them, and they are freed with that pool (no process-wide static
 * that a restart, which unloads the module, would leak). */
#define GX_RESOLVERS_KEY "gx_yaml_resolvers"

static apr_status_t free_resolvers(void *data)
{
    pcre2_code **re = data;
    int i;
    for (i = 0; i < R_COUNT; i++)
        pcre2_code_free(re[i]);
    return APR_SUCCESS;
}

static pcre2_code *const *resolvers(apr_pool_t *p)
{
    static const char *const *sources[R_COUNT] = {&re_bool, &re_int, &re_float, &re_null, &re_time};
    pcre2_code **re = NULL;
    apr_pool_t *q;
    int i;
    for (q = p; q; q = apr_pool_parent_get(q)) {
        void *found = NULL;
        apr_pool_userdata_get(&found, GX_RESOLVERS_KEY, q);
        if (found)
            return found;
    }
    re = apr_pcalloc(p, R_COUNT * sizeof(*re));
    for (i = 0; i < R_COUNT; i++) {
        int err;
        PCRE2_SIZE off;
        re[i] = pcre2_compile((PCRE2_SPTR)*sources[i], PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
        if (!re[i]) {
            free_resolvers(re);
            return NULL;
        }
    }
    apr_pool_userdata_set(re, GX_RESOLVERS_KEY, free_resolvers, p);
    return re;
}

gx_yaml_status gx_yaml_parse_string(apr_pool_t *p, const char *text, apr_size_t len,
                                    const char *name, int random_keys, gx_node **out,
                                    gx_diags *d)
{
    ctx c;
    gx_yaml_status st;
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.file = name;
    c.d = d;
    c.random_keys = random_keys;
    c.anchors = apr_hash_make(p);
    c.re = resolvers(p);
    if (!c.re) {
        gx_diag_add(d, GX_ERROR, name, 0, "cannot set up the YAML type resolvers (out of memory)");
        return GX_YAML_ERROR;
    }
    if (len > GX_YAML_MAX_BYTES) {
        gx_diag_add(d, GX_ERROR, name, 0, "is larger than %d bytes (limit GX_YAML_MAX_BYTES); "
                    "that is not configuration", GX_YAML_MAX_BYTES);
        return GX_YAML_ERROR;
    }
    c.md = pcre2_match_data_create(4, NULL);
    if (!yaml_parser_initialize(&c.parser)) {
        gx_diag_add(d, GX_ERROR, name, 0, "cannot start the YAML parser (out of memory)");
        pcre2_match_data_free(c.md);
        return GX_YAML_ERROR;
    }
    st = parse(&c, text, len, out);
    yaml_parser_delete(&c.parser);
    pcre2_match_data_free(c.md);
    return st;
}

/* Files parsed into one pool (the loader uses one pool per app): imports
 * that fan out (10 files each importing the next 10 times: a million
 * loads) are refused once one path comes back GX_YAML_MAX_REPEAT times. */
#define GX_YAML_LOADS_KEY "gx_yaml_loads"

typedef struct {
    apr_hash_t *per_path;
    long total;
    int tripped;            /* a limit was hit: the error is out, refuse the rest quietly */
} parse_log;

static int count_load(apr_pool_t *p, const char *path, gx_diags *d)
{
    parse_log *log = NULL;
    long *n;
    apr_pool_userdata_get((void **)&log, GX_YAML_LOADS_KEY, p);
    if (!log) {
        log = apr_pcalloc(p, sizeof(*log));
        log->per_path = apr_hash_make(p);
        apr_pool_userdata_setn(log, GX_YAML_LOADS_KEY, NULL, p);
    }
    if (log->tripped)
        return 0;
    n = apr_hash_get(log->per_path, path, APR_HASH_KEY_STRING);
    if (!n) {
        n = apr_pcalloc(p, sizeof(*n));
        apr_hash_set(log->per_path, apr_pstrdup(p, path), APR_HASH_KEY_STRING, n);
    }
    if (++*n > GX_YAML_MAX_REPEAT) {
        gx_diag_add(d, GX_ERROR, path, 0, "is loaded more than %d times in one load (limit "
                    "GX_YAML_MAX_REPEAT): imports repeat it (an import bomb?); import it once",
                    GX_YAML_MAX_REPEAT);
        log->tripped = 1;
        return 0;
    }
    if (++log->total > GX_YAML_MAX_FILES) {
        gx_diag_add(d, GX_ERROR, path, 0, "is one file too many: more than %ld YAML files in "
                    "one load (limit GX_YAML_MAX_FILES); import fewer files", GX_YAML_MAX_FILES);
        log->tripped = 1;
        return 0;
    }
    return 1;
}

gx_yaml_status gx_yaml_parse_file(apr_pool_t *p, const char *path, int random_keys,
                                  gx_node **out, gx_diags *d)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char *buf;
    apr_size_t len;

    *out = NULL;
    rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_SIZE, p);
    if (rv != APR_SUCCESS)
        return GX_YAML_MISSING;
    if (fi.filetype != APR_REG) {
        gx_diag_add(d, GX_ERROR, path, 0, "is not a regular file; point to a YAML file");
        return GX_YAML_ERROR;
    }
    if (!count_load(p, path, d))
        return GX_YAML_ERROR;
    if (fi.size > GX_YAML_MAX_BYTES) {
        gx_diag_add(d, GX_ERROR, path, 0, "is larger than %d bytes (limit GX_YAML_MAX_BYTES); "
                    "that is not configuration", GX_YAML_MAX_BYTES);
        return GX_YAML_ERROR;
    }
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS) {
        char err[128];
        gx_diag_add(d, GX_ERROR, path, 0, "cannot be read: %s; check its permissions",
                    apr_strerror(rv, err, sizeof(err)));
        return GX_YAML_ERROR;
    }
    len = (apr_size_t)fi.size;
    buf = apr_palloc(p, len + 1);
    rv = apr_file_read_full(f, buf, len, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        gx_diag_add(d, GX_ERROR, path, 0, "cannot be read completely; check the file");
        return GX_YAML_ERROR;
    }
    buf[len] = '\0';
    return gx_yaml_parse_string(p, buf, len, path, random_keys, out, d);
}

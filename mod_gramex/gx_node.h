/* gx_node: the YAML value tree every core stage works on.
 *
 * Every node remembers the file and line it came from, so that any later
 * stage (variables, imports, routes) can report "FILE:LINE: problem; fix".
 * Nodes live in an APR pool; nothing is freed individually.
 * Mappings keep insertion order (Gramex's order is significant) and may have
 * non-string keys (e.g. `404:` under `error:`).
 */
#ifndef GX_NODE_H
#define GX_NODE_H

#include <apr_pools.h>
#include <apr_hash.h>

typedef enum {
    GX_NULL = 0,
    GX_BOOL,
    GX_INT,
    GX_FLOAT,
    GX_STR,
    GX_DATE,   /* YAML 1.1 timestamp; text kept as written in `str` */
    GX_MAP,
    GX_LIST
} gx_type;

typedef struct gx_node gx_node;
/* Laid out small (72 bytes): a 10,000-url app holds about 100,000 of them. */
struct gx_node {
    gx_type type;
    int line;               /* 1-based line, 0 if unknown */
    const char *file;       /* absolute path of the YAML file, or NULL */
    union {
        long long i;        /* GX_INT value; GX_BOOL: 0 or 1 */
        double f;           /* GX_FLOAT value */
    };
    const char *str;        /* GX_STR/GX_DATE text; for other scalars the source text */
    const char *src;        /* text as written, before variable substitution (NULL = unchanged) */
    int n;                  /* GX_MAP: number of pairs; GX_LIST: number of items */
    int cap;
    gx_node **keys;         /* GX_MAP only: n keys */
    gx_node **vals;         /* GX_MAP: n values; GX_LIST: n items */
    apr_hash_t *index;      /* GX_MAP: string key -> position+1, built on demand */
};

gx_node *gx_node_new(apr_pool_t *p, gx_type t, const char *file, int line);
gx_node *gx_str_new(apr_pool_t *p, const char *s, const char *file, int line);
gx_node *gx_int_new(apr_pool_t *p, long long v, const char *file, int line);
gx_node *gx_bool_new(apr_pool_t *p, int v, const char *file, int line);
gx_node *gx_map_new(apr_pool_t *p, const char *file, int line);
gx_node *gx_list_new(apr_pool_t *p, const char *file, int line);

/* Mapping access by string key (keys that are GX_STR). Returns NULL if absent. */
gx_node *gx_map_get(const gx_node *map, const char *key);
int gx_map_find(const gx_node *map, const char *key);           /* index or -1 */
/* Set key: replace the value in place if present, else append. */
void gx_map_set(apr_pool_t *p, gx_node *map, const char *key, gx_node *val);
/* Same with a key node (non-string keys); replaces a key that is equal (gx_key_equal). */
void gx_map_set_node(apr_pool_t *p, gx_node *map, gx_node *key, gx_node *val);
/* Append without checking for an existing key (parser use only). */
void gx_map_append(apr_pool_t *p, gx_node *map, gx_node *key, gx_node *val);
void gx_map_remove_at(gx_node *map, int i);
void gx_map_remove(gx_node *map, const char *key);
void gx_list_push(apr_pool_t *p, gx_node *list, gx_node *item);

/* Deep copy of the tree structure (keeps file:line); strings are shared
 * with the original, so it must not outlive the original's pool. */
gx_node *gx_node_copy(apr_pool_t *p, const gx_node *n);
/* Deep copy including every string, for moving a tree into a longer-lived
 * pool. File names are interned through `files` (path -> copy). */
gx_node *gx_node_clone(apr_pool_t *p, const gx_node *n, apr_hash_t *files);
/* Two keys are the same mapping key (type and value, as Python dict keys:
 * 1 == 1.0 == True is NOT applied; ints and strings never collide). */
int gx_key_equal(const gx_node *a, const gx_node *b);
/* Key as text: the string, or the scalar's source text (404 -> "404"). */
const char *gx_key_text(const gx_node *key);

/* Helpers */
int gx_is_str(const gx_node *n);
int gx_truthy(const gx_node *n);      /* Python bool(): "", 0, null, empty map/list -> 0 */
/* Python str() of a scalar: True/False, ints, floats as Python prints them. */
const char *gx_scalar_text(apr_pool_t *p, const gx_node *n);
const char *gx_type_name(gx_type t);

#endif

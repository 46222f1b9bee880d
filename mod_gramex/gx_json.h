/* gx_json: write a gx_node tree as JSON (keys in order), for dumps and tests. */
#ifndef GX_JSON_H
#define GX_JSON_H

#include "gx_node.h"
#include <stdio.h>

/* indent < 0: compact one line; else pretty with that many spaces.
 * redact: if non-NULL, a mapping whose string keys are secret variable
 * names; any string value equal to one of their (non-empty) values is
 * written as "***" */
char *gx_json_string(apr_pool_t *p, const gx_node *n, int indent, const gx_node *redact);
int gx_json_write(FILE *f, const gx_node *n, int indent, const gx_node *redact);
/* JSON-escape one string (with quotes). */
char *gx_json_quote(apr_pool_t *p, const char *s);

#endif

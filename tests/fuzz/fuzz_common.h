/* Shared by the libFuzzer targets: APR set up once, a fresh pool per input,
 * and the input as a NUL-terminated copy. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <apr_general.h>
#include <apr_pools.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static apr_pool_t *fuzz_pool(void)
{
    static int ready;
    apr_pool_t *p;
    if (!ready) {
        apr_initialize();
        ready = 1;
    }
    apr_pool_create(&p, NULL);
    return p;
}

static char *fuzz_text(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *s = apr_palloc(p, size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The part of s before the first `sep` (s then points past it), or all. */
static char *fuzz_split(char **s, const char *sep)
{
    char *head = *s, *at = strstr(*s, sep);
    if (at) {
        *at = '\0';
        *s = at + strlen(sep);
    }
    else {
        *s = head + strlen(head);
    }
    return head;
}

#endif

/* gx_test: a minimal unit-test harness. Each CHECK counts one assertion;
 * a test binary prints "N passed, N failed" and exits non-zero on failure. */
#ifndef GX_TEST_H
#define GX_TEST_H

#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>

static int gx_t_pass, gx_t_fail;

#define CHECK(cond) do { if (cond) gx_t_pass++; else { gx_t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
    if (g_ && w_ && strcmp(g_, w_) == 0) gx_t_pass++; else { gx_t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, \
            #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } } while (0)
#define CHECK_INT(got, want) do { long long g_ = (got), w_ = (want); \
    if (g_ == w_) gx_t_pass++; else { gx_t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); } } while (0)

/* Run fn(pool) with a fresh pool for each test. */
#define RUN(fn) do { apr_pool_t *p_; apr_pool_create(&p_, NULL); \
    fn(p_); apr_pool_destroy(p_); } while (0)

#define TEST_MAIN_BEGIN int main(void) { apr_initialize();
#define TEST_MAIN_END printf("%s: %d passed, %d failed\n", __FILE__, gx_t_pass, gx_t_fail); \
    apr_terminate(); return gx_t_fail ? 1 : 0; }

#endif

/* Table-driven test helpers: every check prints PASS or FAIL file:line. */
#ifndef VIGIL_TEST_CHECK_H
#define VIGIL_TEST_CHECK_H

#include <stdio.h>

static int check_failed;
static int check_passed;

#define CHECK(cond, what)                                                    \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed++;                                                  \
            printf("PASS %s:%d %s\n", __FILE__, __LINE__, what);             \
        } else {                                                             \
            check_failed++;                                                  \
            printf("FAIL %s:%d %s\n", __FILE__, __LINE__, what);             \
        }                                                                    \
    } while (0)

#endif

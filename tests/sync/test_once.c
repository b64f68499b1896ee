/* test_once.c - weft_once: exactly one run, visible to every caller. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>

#include "helpers.h"
#include "weft/once.h"
#include "weft/version.h"

static weft_once once = WEFT_ONCE_INIT;
static int runs;       /* written by the initialiser only */
static int table[64];  /* written by the initialiser only */

static void build(void *arg)
{
    sleep_ns(10 * MS); /* let the other callers pile up */
    for (int i = 0; i < 64; i++)
        table[i] = i * *(const int *)arg;
    runs++;
}

static int three = 3, five = 5;

static void *call(void *p)
{
    (void)p;
    WT_EQ(weft_once_call(&once, build, &three), 0);
    WT_EQ(runs, 1);
    WT_EQ(table[63], 189);
    return NULL;
}

WT_CASE(test_once_runs_exactly_once, "unit valgrind") {
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        t[i] = spawn(call, NULL);
    for (int i = 0; i < 6; i++)
        join(t[i]);
    WT_EQ(runs, 1);
    WT_EQ(weft_once_call(&once, build, &five), 0);
    WT_EQ(runs, 1);
    WT_EQ(table[1], 3);
}

static weft_once recursive = WEFT_ONCE_INIT;
static int inner_result = -1;

static void recurse(void *arg)
{
    (void)arg;
    inner_result = weft_once_call(&recursive, recurse, NULL);
}

WT_CASE(test_once_recursive_call_is_edeadlk, "unit valgrind") {
    WT_EQ(weft_once_call(&recursive, recurse, NULL), 0);
    WT_EQ(inner_result, EDEADLK);
}

WT_CASE(test_version_matches_headers, "unit valgrind") {
    char expect[32];
    (void)snprintf(expect, sizeof expect, "%d.%d.%d", WEFT_VERSION_MAJOR,
                   WEFT_VERSION_MINOR, WEFT_VERSION_PATCH);
    WT_TRUE(strcmp(weft_version(), expect) == 0);
}

WT_MAIN()

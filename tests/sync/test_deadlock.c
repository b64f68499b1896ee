/* test_deadlock.c - the opt-in lock-order deadlock detector. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "weft/deadlock.h"
#include "weft/lock.h"
#include "weft/rlock.h"

struct pair {
    weft_lock a, b, c;
    weft_rlock r;
    int second_result;
};

static struct pair *pair_new(void)
{
    struct pair *p = (struct pair *)calloc(1, sizeof *p);
    WT_TRUE(p != NULL);
    WT_EQ(weft_deadlock_name(&p->a, "A"), 0);
    WT_EQ(weft_deadlock_name(&p->b, "B"), 0);
    WT_EQ(weft_deadlock_name(&p->c, "C"), 0);
    return p;
}

static void take_two(weft_lock *first, weft_lock *second, int *second_result)
{
    WT_EQ(weft_lock_acquire(first), 0);
    *second_result = weft_lock_acquire(second);
    if (*second_result == 0)
        WT_EQ(weft_lock_release(second), 0);
    WT_EQ(weft_lock_release(first), 0);
}

static void *a_then_b(void *p)
{
    struct pair *x = (struct pair *)p;
    take_two(&x->a, &x->b, &x->second_result);
    return NULL;
}

static void *b_then_a(void *p)
{
    struct pair *x = (struct pair *)p;
    take_two(&x->b, &x->a, &x->second_result);
    return NULL;
}

static size_t report(char *buf, size_t n)
{
    return weft_deadlock_last_report(buf, n);
}

WT_CASE(test_deadlock_ab_ba_reported_without_deadlocking, "unit valgrind") {
    WT_EQ(weft_deadlock_set_mode(WEFT_DEADLOCK_REPORT), 0);
    struct pair *p = pair_new();
    join(spawn(a_then_b, p)); /* never overlaps with the next thread */
    WT_EQ(p->second_result, 0);
    join(spawn(b_then_a, p));
    WT_EQ(p->second_result, EDEADLK); /* A was not taken */
    WT_TRUE(!weft_lock_is_locked(&p->a));
    char buf[2048];
    WT_GT(report(buf, sizeof buf), 0);
    WT_TRUE(strstr(buf, "potential deadlock") != NULL);
    WT_TRUE(strstr(buf, "\"A\" -> \"B\"") != NULL);
    WT_TRUE(strstr(buf, "\"B\" -> \"A\"") != NULL);
    WT_TRUE(strstr(buf, "thread ") != NULL);
    WT_TRUE(strstr(buf, "test_deadlock+0x") != NULL); /* call sites */
    /* The same order again is not a new edge: still refused, not lost. */
    join(spawn(b_then_a, p));
    WT_EQ(p->second_result, EDEADLK);
    free(p);
    weft_deadlock_reset();
}

static void *a_b(void *p)
{
    struct pair *x = (struct pair *)p;
    take_two(&x->a, &x->b, &x->second_result);
    return NULL;
}

static void *b_c(void *p)
{
    struct pair *x = (struct pair *)p;
    take_two(&x->b, &x->c, &x->second_result);
    return NULL;
}

static void *c_a(void *p)
{
    struct pair *x = (struct pair *)p;
    take_two(&x->c, &x->a, &x->second_result);
    return NULL;
}

WT_CASE(test_deadlock_three_lock_cycle, "unit valgrind") {
    WT_EQ(weft_deadlock_set_mode(WEFT_DEADLOCK_REPORT), 0);
    struct pair *p = pair_new();
    join(spawn(a_b, p));
    WT_EQ(p->second_result, 0);
    join(spawn(b_c, p));
    WT_EQ(p->second_result, 0);
    char buf[2048];
    WT_EQ(report(buf, sizeof buf), 0);
    join(spawn(c_a, p));
    WT_EQ(p->second_result, EDEADLK);
    WT_GT(report(buf, sizeof buf), 0);
    WT_TRUE(strstr(buf, "\"C\" -> \"A\"") != NULL);
    WT_TRUE(strstr(buf, "\"A\" -> \"B\"") != NULL);
    WT_TRUE(strstr(buf, "\"B\" -> \"C\"") != NULL);
    free(p);
    weft_deadlock_reset();
}

WT_CASE(test_deadlock_consistent_order_not_reported, "unit valgrind") {
    WT_EQ(weft_deadlock_set_mode(WEFT_DEADLOCK_REPORT), 0);
    struct pair *p = pair_new();
    for (int i = 0; i < 20; i++) {
        pthread_t t[3];
        for (int k = 0; k < 3; k++)
            t[k] = spawn(a_then_b, p);
        for (int k = 0; k < 3; k++)
            join(t[k]);
        WT_EQ(p->second_result, 0);
    }
    char buf[256];
    WT_EQ(report(buf, sizeof buf), 0);
    free(p);
}

WT_CASE(test_deadlock_rlock_reentry_and_try_not_reported, "unit valgrind") {
    WT_EQ(weft_deadlock_set_mode(WEFT_DEADLOCK_REPORT), 0);
    struct pair *p = pair_new();
    /* Re-entry: R, R, A, then A, R (R already held: no edge). */
    WT_EQ(weft_rlock_acquire(&p->r), 0);
    WT_EQ(weft_rlock_acquire(&p->r), 0);
    WT_EQ(weft_lock_acquire(&p->a), 0);
    WT_EQ(weft_rlock_acquire(&p->r), 0);
    WT_EQ(weft_rlock_release(&p->r), 0);
    WT_EQ(weft_lock_release(&p->a), 0);
    WT_EQ(weft_rlock_release(&p->r), 0);
    WT_EQ(weft_rlock_release(&p->r), 0);
    /* Try-acquires: A then try B, and B then try A: no edge, no report. */
    WT_EQ(weft_lock_acquire(&p->a), 0);
    WT_EQ(weft_lock_try_acquire(&p->b), 0);
    WT_EQ(weft_lock_release(&p->b), 0);
    WT_EQ(weft_lock_release(&p->a), 0);
    WT_EQ(weft_lock_acquire(&p->b), 0);
    WT_EQ(weft_lock_try_acquire(&p->a), 0);
    WT_EQ(weft_lock_release(&p->a), 0);
    WT_EQ(weft_lock_release(&p->b), 0);
    char buf[256];
    WT_EQ(report(buf, sizeof buf), 0);
    free(p);
}

WT_CASE(test_deadlock_graph_survives_destroy_and_reinit, "unit valgrind") {
    WT_EQ(weft_deadlock_set_mode(WEFT_DEADLOCK_REPORT), 0);
    struct pair *p = pair_new();
    join(spawn(a_then_b, p));
    WT_EQ(weft_lock_destroy(&p->a), 0);
    WT_EQ(weft_lock_destroy(&p->b), 0);
    weft_lock_init(&p->a); /* new locks at the same addresses */
    weft_lock_init(&p->b);
    join(spawn(b_then_a, p));
    WT_EQ(p->second_result, 0); /* the old A -> B edge is gone */
    char buf[256];
    WT_EQ(report(buf, sizeof buf), 0);
    free(p);
}

WT_CASE(test_deadlock_off_by_default_and_mode_checked, "unit valgrind") {
    WT_EQ(weft_deadlock_mode(), WEFT_DEADLOCK_OFF);
    WT_EQ(weft_deadlock_set_mode((enum weft_deadlock_mode)7), EINVAL);
    struct pair *p = pair_new();
    join(spawn(a_then_b, p));
    join(spawn(b_then_a, p));
    WT_EQ(p->second_result, 0); /* off: nothing checked */
    free(p);
}

/* Abort mode, selected by the environment: the program re-runs itself with
 * WEFT_DEADLOCK=abort and must die by SIGABRT with a report. */
WT_CASE(test_deadlock_env_abort_mode, "unit") {
    if (getenv("WEFT_DEADLOCK") != NULL) { /* the re-run */
        WT_EQ(weft_deadlock_mode(), WEFT_DEADLOCK_ABORT);
        struct pair *p = pair_new();
        join(spawn(a_then_b, p));
        join(spawn(b_then_a, p)); /* aborts here */
        _exit(0);
    }
    (void)fflush(NULL);
    pid_t pid = fork();
    WT_GE(pid, 0);
    if (pid == 0) {
        char *argv[] = {(char *)"test_deadlock",
                        (char *)"test_deadlock_env_abort_mode", NULL};
        char *envp[] = {(char *)"WEFT_DEADLOCK=abort", NULL};
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    WT_EQ(reap(pid), -SIGABRT);
}

WT_MAIN()

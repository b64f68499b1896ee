/* weft_test.h - the small test framework of weft's ctest suites.
 *
 * Why our own: each case must be its own ctest entry (so `ctest -R` picks one
 * and a hang is a per-case timeout), run in its own process, and run clean
 * under ThreadSanitizer, ASan and Valgrind with no framework noise; this
 * header does that in ~150 lines with no dependency to install or vendor.
 *
 *     WT_CASE(test_lock_try_held, "unit valgrind") {
 *         weft_lock lk = WEFT_LOCK_INIT;
 *         WT_EQ(weft_lock_try_acquire(&lk), 0);
 *         WT_EQ(weft_lock_try_acquire(&lk), EBUSY);
 *     }
 *     WT_MAIN()
 *
 * The string after the name is the case's ctest labels: cmake/WeftTest.cmake
 * reads each `WT_CASE(name, "labels")` line from the source and registers one
 * test per case. `prog NAME` runs one case; `prog` alone runs every case, each
 * in a forked child, and prints "N passed, N failed"; `prog --list` lists.
 * A failed assertion prints the expression and both values, then aborts. */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct wt_case {
    const char *name;
    void (*fn)(void);
    struct wt_case *next;
} wt_case;

static wt_case *wt__cases;

#define WT_CASE(name, labels)                                                  \
    static void name(void);                                                    \
    static wt_case wt__case_##name = {#name, name, NULL};                      \
    __attribute__((constructor)) static void wt__reg_##name(void)              \
    {                                                                          \
        wt__case_##name.next = wt__cases;                                      \
        wt__cases = &wt__case_##name;                                          \
    }                                                                          \
    static void name(void)

#define WT_FAILF(...)                                                          \
    do {                                                                       \
        (void)fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                  \
        (void)fprintf(stderr, __VA_ARGS__);                                    \
        (void)fputc('\n', stderr);                                             \
        (void)fflush(stderr);                                                  \
        abort();                                                               \
    } while (0)

/* Compare two integers (any integer type) with op; print both on failure. */
#define WT_CMP(a, op, b)                                                       \
    do {                                                                       \
        long long wt_a_ = (long long)(a), wt_b_ = (long long)(b);              \
        if (!(wt_a_ op wt_b_))                                                 \
            WT_FAILF("expected %s %s %s, got %lld and %lld", #a, #op, #b,      \
                     wt_a_, wt_b_);                                            \
    } while (0)
#define WT_EQ(a, b) WT_CMP(a, ==, b)
#define WT_NE(a, b) WT_CMP(a, !=, b)
#define WT_LT(a, b) WT_CMP(a, <, b)
#define WT_LE(a, b) WT_CMP(a, <=, b)
#define WT_GT(a, b) WT_CMP(a, >, b)
#define WT_GE(a, b) WT_CMP(a, >=, b)
#define WT_TRUE(c)                                                             \
    do {                                                                       \
        if (!(c))                                                              \
            WT_FAILF("expected %s", #c);                                       \
    } while (0)

/* Work counts for stress cases: divided by 20 when WEFT_TEST_SLOW is set
 * (tests run under Valgrind, which serialises threads). */
static inline long wt_iters(long n)
{
    const char *slow = getenv("WEFT_TEST_SLOW");
    if (slow != NULL && slow[0] != '\0' && slow[0] != '0')
        n /= 20;
    return n > 0 ? n : 1;
}

static inline int wt__run_forked(const wt_case *c)
{
    (void)fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        c->fn();
        (void)fflush(NULL);
        _exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            return 1;
        }
    }
    return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static inline int wt__main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (const wt_case *c = wt__cases; c != NULL; c = c->next)
            (void)printf("%s\n", c->name);
        return 0;
    }
    if (argc >= 2) {
        for (int i = 1; i < argc; i++) {
            const wt_case *c = wt__cases;
            while (c != NULL && strcmp(c->name, argv[i]) != 0)
                c = c->next;
            if (c == NULL) {
                (void)fprintf(stderr, "no test case named %s\n", argv[i]);
                return 2;
            }
            c->fn();
        }
        return 0;
    }
    int passed = 0, failed = 0;
    for (const wt_case *c = wt__cases; c != NULL; c = c->next) {
        int bad = wt__run_forked(c);
        (void)printf("%s %s\n", bad ? "FAIL" : "ok  ", c->name);
        bad ? failed++ : passed++;
    }
    (void)printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

/* Leave the current case as skipped (ctest's SKIP_RETURN_CODE). */
#define WT_SKIP(why)                                                           \
    do {                                                                       \
        (void)printf("skipped: %s\n", why);                                    \
        (void)fflush(stdout);                                                  \
        _exit(77);                                                             \
    } while (0)

#define WT_MAIN()                                                              \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        return wt__main(argc, argv);                                           \
    }

#endif /* WEFT_TEST_H */

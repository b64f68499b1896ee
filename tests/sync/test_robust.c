/* test_robust.c - WEFT_SHARED rlocks survive a holder's death: EOWNERDEAD,
 * consistent, ENOTRECOVERABLE, woken waiters, and children SIGKILLed at
 * random points. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "weft/rlock.h"
#include "weft/sem.h"
#include "weft/time.h"

struct shm {
    weft_rlock rl;
    long value;    /* guarded by rl */
    int inside;    /* guarded by rl: 1 while a holder is mid-update */
    int ready;     /* atomic: children report progress */
};

static struct shm *shm_new(void)
{
    struct shm *s = (struct shm *)shared_alloc(sizeof *s);
    WT_EQ(weft_rlock_init(&s->rl, WEFT_SHARED), 0);
    return s;
}

static int hold_and_exit(void *p)
{
    struct shm *s = (struct shm *)p;
    for (int level = 0; level < 2; level++)
        if (weft_rlock_acquire(&s->rl) != 0)
            return 1;
    s->inside = 1;
    _exit(0); /* dies holding two levels */
}

static int hold_and_exit_once(void *p)
{
    struct shm *s = (struct shm *)p;
    if (weft_rlock_acquire(&s->rl) != 0)
        return 1;
    _exit(0); /* dies holding it */
}

WT_CASE(test_robust_owner_exit_gives_eownerdead, "unit") {
    struct shm *s = shm_new();
    WT_EQ(reap(fork_child(hold_and_exit, s)), 0);
    WT_EQ(weft_rlock_acquire(&s->rl), EOWNERDEAD);
    WT_TRUE(weft_rlock_is_owned(&s->rl));
    WT_EQ(weft_rlock_depth(&s->rl), 1); /* one level, not the dead holder's */
    WT_EQ(s->inside, 1);
    s->inside = 0; /* repair */
    WT_EQ(weft_rlock_consistent(&s->rl), 0);
    WT_EQ(weft_rlock_consistent(&s->rl), EINVAL);
    WT_EQ(weft_rlock_release(&s->rl), 0);
    WT_EQ(weft_rlock_acquire(&s->rl), 0); /* usable again */
    WT_EQ(weft_rlock_release(&s->rl), 0);
    WT_EQ(weft_rlock_destroy(&s->rl), 0);
    shared_free(s, sizeof *s);
}

WT_CASE(test_robust_norecurse_shared_lock, "unit") {
    struct shm *s = (struct shm *)shared_alloc(sizeof *s);
    WT_EQ(weft_rlock_init(&s->rl, WEFT_SHARED | WEFT_NORECURSE), 0);
    WT_EQ(weft_rlock_init(&s->rl, 0x10), EINVAL);
    WT_EQ(weft_rlock_init(&s->rl, WEFT_SHARED | WEFT_NORECURSE), 0);
    WT_EQ(weft_rlock_acquire(&s->rl), 0);
    WT_EQ(weft_rlock_acquire(&s->rl), EDEADLK);
    WT_EQ(weft_rlock_try_acquire(&s->rl), EBUSY);
    WT_EQ(weft_rlock_acquire_for(&s->rl, MS), EDEADLK);
    WT_EQ(weft_rlock_depth(&s->rl), 1); /* nothing changed */
    WT_EQ(weft_rlock_release(&s->rl), 0);
    WT_EQ(weft_rlock_release(&s->rl), EPERM);
    /* Robust like any shared rlock. */
    WT_EQ(reap(fork_child(hold_and_exit_once, s)), 0);
    WT_EQ(weft_rlock_acquire(&s->rl), EOWNERDEAD);
    WT_EQ(weft_rlock_consistent(&s->rl), 0);
    WT_EQ(weft_rlock_release(&s->rl), 0);
    shared_free(s, sizeof *s);
}

WT_CASE(test_robust_norecurse_private, "unit valgrind") {
    weft_rlock rl;
    WT_EQ(weft_rlock_init(&rl, WEFT_NORECURSE), 0);
    WT_EQ(weft_rlock_acquire(&rl), 0);
    WT_EQ(weft_rlock_acquire(&rl), EDEADLK);
    WT_EQ(weft_rlock_try_acquire(&rl), EBUSY);
    WT_EQ(weft_rlock_release(&rl), 0);
    WT_EQ(weft_rlock_destroy(&rl), 0);
}

WT_CASE(test_robust_release_without_consistent_is_unrecoverable, "unit") {
    struct shm *s = shm_new();
    WT_EQ(reap(fork_child(hold_and_exit, s)), 0);
    WT_EQ(weft_rlock_try_acquire(&s->rl), EOWNERDEAD);
    WT_EQ(weft_rlock_release(&s->rl), 0); /* not made consistent */
    WT_EQ(weft_rlock_acquire(&s->rl), ENOTRECOVERABLE);
    WT_EQ(weft_rlock_try_acquire(&s->rl), ENOTRECOVERABLE);
    WT_EQ(weft_rlock_acquire_for(&s->rl, MS), ENOTRECOVERABLE);
    WT_TRUE(!weft_rlock_is_owned(&s->rl));
    WT_EQ(weft_rlock_release(&s->rl), EPERM);
    WT_EQ(weft_rlock_destroy(&s->rl), 0);
    shared_free(s, sizeof *s);
}

static void *thread_holds_and_exits(void *p)
{
    struct shm *s = (struct shm *)p;
    WT_EQ(weft_rlock_acquire(&s->rl), 0);
    return NULL; /* the thread ends holding it */
}

WT_CASE(test_robust_thread_exit_gives_eownerdead, "unit") {
    struct shm *s = shm_new();
    join(spawn(thread_holds_and_exits, s));
    WT_TRUE(!weft_rlock_is_locked(&s->rl)); /* its holder is gone */
    WT_EQ(weft_rlock_acquire_for(&s->rl, 5000 * MS), EOWNERDEAD);
    WT_TRUE(weft_rlock_is_locked(&s->rl));
    WT_EQ(weft_rlock_consistent(&s->rl), 0);
    WT_EQ(weft_rlock_release(&s->rl), 0);
    WT_TRUE(!weft_rlock_is_locked(&s->rl));
    shared_free(s, sizeof *s);
}

/* A child takes the lock and sleeps; two children block on it; the holder
 * is SIGKILLed: exactly one waiter sees EOWNERDEAD, the other gets the lock
 * after it, and nobody is stranded. */
static int hold_forever(void *p)
{
    struct shm *s = (struct shm *)p;
    if (weft_rlock_acquire(&s->rl) != 0)
        return 1;
    s->inside = 1;
    __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
    for (;;)
        pause();
}

static int wait_for_lock(void *p)
{
    struct shm *s = (struct shm *)p;
    int r = weft_rlock_acquire_for(&s->rl, 10000 * MS);
    if (r == EOWNERDEAD) {
        s->inside = 0;
        if (weft_rlock_consistent(&s->rl) != 0)
            return 90;
    } else if (r != 0) {
        return 91;
    }
    s->value++;
    if (weft_rlock_release(&s->rl) != 0)
        return 92;
    return r == EOWNERDEAD ? 1 : 0;
}

WT_CASE(test_robust_waiters_woken_when_holder_killed, "unit") {
    struct shm *s = shm_new();
    pid_t holder = fork_child(hold_forever, s);
    while (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
        sleep_ns(MS);
    pid_t w1 = fork_child(wait_for_lock, s), w2 = fork_child(wait_for_lock, s);
    sleep_ns(30 * MS); /* both asleep on the word */
    WT_EQ(kill(holder, SIGKILL), 0);
    WT_EQ(reap(holder), -SIGKILL);
    int a = reap(w1), b = reap(w2);
    WT_EQ(a + b, 1); /* one saw EOWNERDEAD, one a normal acquire */
    WT_EQ(s->value, 2);
    WT_EQ(s->inside, 0);
    shared_free(s, sizeof *s);
}

/* The randomized trial: a worker child updates shared state under the
 * rlock (two levels, a multi-step update), a second child competes, and the
 * worker is SIGKILLed at a random moment. Then the parent must get the lock
 * within a bound, see EOWNERDEAD exactly when the worker died inside, and
 * the competing child must finish. */
static int worker_loop(void *p)
{
    struct shm *s = (struct shm *)p;
    __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
    for (;;) {
        int r = weft_rlock_acquire(&s->rl);
        if (r == EOWNERDEAD) {
            s->inside = 0;
            (void)weft_rlock_consistent(&s->rl);
        } else if (r != 0) {
            return 1;
        }
        (void)weft_rlock_acquire(&s->rl);
        /* A multi-step update the SIGKILL may cut in the middle. */
        __atomic_store_n(&s->inside, 1, __ATOMIC_RELAXED);
        s->value++;
        __atomic_store_n(&s->inside, 0, __ATOMIC_RELAXED);
        (void)weft_rlock_release(&s->rl);
        (void)weft_rlock_release(&s->rl);
    }
}

static int competitor(void *p)
{
    struct shm *s = (struct shm *)p;
    for (int i = 0; i < 200; i++) {
        int r = weft_rlock_acquire_for(&s->rl, 5000 * MS);
        if (r == EOWNERDEAD) {
            s->inside = 0;
            if (weft_rlock_consistent(&s->rl) != 0)
                return 2;
        } else if (r != 0) {
            return 3; /* stranded or unrecoverable */
        }
        if (s->inside != 0)
            return 4; /* saw a half-done update after a normal acquire */
        s->value++;
        if (weft_rlock_release(&s->rl) != 0)
            return 5;
    }
    return 0;
}

/* xorshift32: a small deterministic generator, seeded and printed per run
 * so a failing schedule of kill times can be replayed. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void one_trial(uint32_t *seed)
{
    struct shm *s = shm_new();
    pid_t worker = fork_child(worker_loop, s);
    pid_t other = fork_child(competitor, s);
    while (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
        sleep_ns(MS / 10);
    sleep_ns((int64_t)(next_random(seed) % 2000) * 1000); /* 0-2 ms */
    WT_EQ(kill(worker, SIGKILL), 0);
    WT_EQ(reap(worker), -SIGKILL);
    int r = weft_rlock_acquire_for(&s->rl, 5000 * MS);
    WT_TRUE(r == 0 || r == EOWNERDEAD);
    if (r == EOWNERDEAD) {
        s->inside = 0;
        WT_EQ(weft_rlock_consistent(&s->rl), 0);
    }
    WT_EQ(s->inside, 0);
    WT_EQ(weft_rlock_release(&s->rl), 0);
    WT_EQ(reap(other), 0);
    WT_EQ(weft_rlock_acquire_for(&s->rl, 5000 * MS), 0);
    WT_EQ(weft_rlock_release(&s->rl), 0);
    shared_free(s, sizeof *s);
}

WT_CASE(test_robust_kill_at_random_points_stress, "stress") {
    const char *env = getenv("WEFT_TEST_SEED");
    uint32_t seed = env != NULL ? (uint32_t)strtoul(env, NULL, 10)
                                : (uint32_t)weft_time_now_ns() | 1u;
    printf("seed %u (replay: WEFT_TEST_SEED=%u)\n", seed, seed);
    int64_t stop = weft_time_now_ns() + 60000 * MS;
    int trials = 0;
    for (; trials < 1000 && weft_time_now_ns() < stop; trials++)
        one_trial(&seed);
    printf("%d trials\n", trials);
    WT_GE(trials, 200); /* the time bound must not hide a slow protocol */
}

/* Unrelated processes: the parent creates a named segment with shm_open and
 * runs this program again (a fresh image, mapping the segment wherever it
 * lands); the new process takes the shared rlock and a semaphore unit there
 * and exits holding the rlock. The parent must get EOWNERDEAD and the unit. */
struct named {
    weft_rlock rl;
    weft_sem sem;
    int child_ran;
};

static struct named *map_named(const char *name, int create)
{
    int fd = shm_open(name, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
    WT_GE(fd, 0);
    if (create)
        WT_EQ(ftruncate(fd, sizeof(struct named)), 0);
    void *p = mmap(NULL, sizeof(struct named), PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    WT_TRUE(p != MAP_FAILED);
    WT_EQ(close(fd), 0);
    return (struct named *)p;
}

WT_CASE(test_robust_unrelated_process_via_shm_open, "unit") {
    const char *child_name = getenv("WEFT_TEST_SHM");
    if (child_name != NULL) { /* the re-executed program */
        struct named *n = map_named(child_name, 0);
        WT_EQ(weft_rlock_acquire(&n->rl), 0);
        WT_EQ(weft_sem_release(&n->sem, 1), 0);
        n->child_ran = 1;
        _exit(0); /* exits holding the rlock */
    }
    char name[64], env[96];
    (void)snprintf(name, sizeof name, "/weft-test-%d", (int)getpid());
    (void)snprintf(env, sizeof env, "WEFT_TEST_SHM=%s", name);
    struct named *n = map_named(name, 1);
    WT_EQ(weft_rlock_init(&n->rl, WEFT_SHARED), 0);
    WT_EQ(weft_sem_init(&n->sem, 0, WEFT_SHARED), 0);
    char *argv[] = {(char *)"test_robust",
                    (char *)"test_robust_unrelated_process_via_shm_open", NULL};
    char *envp[] = {env, NULL};
    pid_t pid;
    WT_EQ(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, envp), 0);
    WT_EQ(weft_sem_acquire_for(&n->sem, 10000 * MS), 0);
    WT_EQ(reap(pid), 0);
    WT_EQ(n->child_ran, 1);
    WT_EQ(weft_rlock_acquire_for(&n->rl, 10000 * MS), EOWNERDEAD);
    WT_EQ(weft_rlock_consistent(&n->rl), 0);
    WT_EQ(weft_rlock_release(&n->rl), 0);
    WT_EQ(munmap(n, sizeof *n), 0);
    WT_EQ(shm_unlink(name), 0);
}

WT_MAIN()

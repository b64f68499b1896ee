/* test_thread.c - weft_thread: spawn, join, names, idents, daemon
 * shutdown, enumeration, dummy and main threads, hooks, fork, errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "sync/helpers.h"
#include "weft/core.h"

/* Returns its argument's value, or 0 for NULL. */
static int ret_arg(void *arg)
{
    return arg != NULL ? arg_int(arg) : 0;
}

static int wait_event(void *arg)
{
    weft_event_wait((weft_event *)arg);
    return 7;
}

WT_CASE(test_thread_spawn_join_result, "unit valgrind helgrind")
{
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, ret_arg, int_arg(42), NULL), 0);
    int result = 0;
    WT_EQ(weft_thread_join(t, &result), 0);
    WT_EQ(result, 42);
    WT_TRUE(!weft_thread_is_alive(t));
    weft_thread_unref(t);
}

WT_CASE(test_thread_join_twice_is_einval, "unit valgrind")
{
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, ret_arg, NULL, NULL), 0);
    WT_EQ(weft_thread_join(t, NULL), 0);
    WT_EQ(weft_thread_join(t, NULL), EINVAL);
    WT_EQ(weft_thread_join_for(t, 0, NULL), EINVAL);
    weft_thread_unref(t);
}

static int join_self(void *arg)
{
    (void)arg;
    return weft_thread_join(weft_thread_current(), NULL);
}

WT_CASE(test_thread_join_self_is_edeadlk, "unit valgrind")
{
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, join_self, NULL, NULL), 0);
    int result = 0;
    WT_EQ(weft_thread_join(t, &result), 0);
    WT_EQ(result, EDEADLK);
    weft_thread_unref(t);
}

WT_CASE(test_thread_join_timeout_leaves_it_joinable, "unit valgrind helgrind")
{
    weft_event go = WEFT_EVENT_INIT;
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, wait_event, &go, NULL), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_thread_join_for(t, 30 * MS, NULL), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 30 * MS);
    WT_EQ(weft_thread_join_until(t, 0, NULL), ETIMEDOUT);
    WT_EQ(weft_thread_join_for(t, -1, NULL), EINVAL);
    WT_TRUE(weft_thread_is_alive(t));
    weft_event_set(&go);
    int result = 0;
    WT_EQ(weft_thread_join(t, &result), 0);
    WT_EQ(result, 7);
    weft_thread_unref(t);
}

struct racers {
    weft_thread *target;
    weft_event go;
    int results[2];
};

static int race_join(void *arg)
{
    struct racers *r = (struct racers *)arg;
    return weft_thread_join(r->target, NULL);
}

WT_CASE(test_thread_concurrent_joiners_one_wins, "unit valgrind")
{
    struct racers r = {.go = WEFT_EVENT_INIT};
    WT_EQ(weft_thread_spawn(&r.target, wait_event, &r.go, NULL), 0);
    weft_thread *j[2];
    for (int i = 0; i < 2; i++)
        WT_EQ(weft_thread_spawn(&j[i], race_join, &r, NULL), 0);
    sleep_ns(10 * MS);
    weft_event_set(&r.go);
    for (int i = 0; i < 2; i++) {
        WT_EQ(weft_thread_join(j[i], &r.results[i]), 0);
        weft_thread_unref(j[i]);
    }
    WT_EQ(r.results[0] + r.results[1], EINVAL); /* one 0, one EINVAL */
    WT_TRUE(r.results[0] == 0 || r.results[1] == 0);
    weft_thread_unref(r.target);
}

struct ids {
    uint64_t ident;
    pid_t tid;
    weft_thread *current;
};

static int record_ids(void *arg)
{
    struct ids *ids = (struct ids *)arg;
    ids->ident = (uint64_t)pthread_self();
    ids->tid = gettid();
    ids->current = weft_thread_current();
    return 0;
}

WT_CASE(test_thread_ident_native_id_current, "unit valgrind")
{
    struct ids ids = {0};
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, record_ids, &ids, NULL), 0);
    pid_t tid = weft_thread_native_id(t); /* waits for the start */
    WT_EQ(weft_thread_join(t, NULL), 0);
    WT_EQ(tid, ids.tid);
    WT_EQ(weft_thread_ident(t), ids.ident);
    WT_TRUE(ids.current == t);
    WT_NE(tid, getpid());
    weft_thread_unref(t);
}

static void read_comm(pid_t tid, char *buf, size_t size)
{
    char path[64];
    (void)snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    FILE *f = fopen(path, "r");
    WT_TRUE(f != NULL);
    WT_TRUE(fgets(buf, (int)size, f) != NULL);
    WT_EQ(fclose(f), 0);
    buf[strcspn(buf, "\n")] = '\0';
}

WT_CASE(test_thread_names_default_given_and_os, "unit valgrind")
{
    weft_event go = WEFT_EVENT_INIT;
    weft_thread *a, *b;
    WT_EQ(weft_thread_spawn(&a, wait_event, &go, NULL), 0);
    char name[64];
    WT_EQ(weft_thread_name(a, name, sizeof name), 0);
    WT_EQ(strncmp(name, "Thread-", 7), 0);
    /* 14 ASCII bytes, then a 2-byte character that would straddle byte 15:
     * the OS name stops before it. */
    const char *longname = "worker-abcdefg\xc3\xa9-and-more";
    weft_thread_opts o = {.name = longname};
    WT_EQ(weft_thread_spawn(&b, wait_event, &go, &o), 0);
    WT_EQ(weft_thread_name(b, name, sizeof name), 0);
    WT_EQ(strcmp(name, longname), 0);
    char comm[32];
    read_comm(weft_thread_native_id(b), comm, sizeof comm);
    WT_EQ(strcmp(comm, "worker-abcdefg"), 0);

    /* Rename a live thread from outside: here and for the OS. */
    WT_EQ(weft_thread_set_name(a, "renamed"), 0);
    read_comm(weft_thread_native_id(a), comm, sizeof comm);
    WT_EQ(strcmp(comm, "renamed"), 0);
    WT_EQ(weft_thread_name(a, name, sizeof name), 0);
    WT_EQ(strcmp(name, "renamed"), 0);

    /* Too small a buffer: ERANGE, cut before the UTF-8 character. */
    char small[16];
    WT_EQ(weft_thread_name(b, small, sizeof small), ERANGE);
    WT_EQ(strcmp(small, "worker-abcdefg"), 0);
    WT_EQ(weft_thread_name(b, NULL, 4), EINVAL);
    WT_EQ(weft_thread_name(b, small, 0), EINVAL);
    WT_EQ(weft_thread_set_name(b, ""), EINVAL);
    WT_EQ(weft_thread_set_name(b, NULL), EINVAL);

    weft_event_set(&go);
    WT_EQ(weft_thread_join(a, NULL), 0);
    WT_EQ(weft_thread_join(b, NULL), 0);
    WT_EQ(weft_thread_set_name(b, "ended"), 0); /* allowed after the end */
    WT_EQ(weft_thread_name(b, name, sizeof name), 0);
    WT_EQ(strcmp(name, "ended"), 0);
    weft_thread_unref(a);
    weft_thread_unref(b);
}

WT_CASE(test_thread_main_thread, "unit valgrind")
{
    weft_thread *m = weft_thread_main();
    WT_TRUE(m != NULL);
    WT_TRUE(weft_thread_current() == m);
    char name[32];
    WT_EQ(weft_thread_name(m, name, sizeof name), 0);
    WT_EQ(strcmp(name, "MainThread"), 0);
    WT_EQ(weft_thread_native_id(m), getpid());
    WT_EQ(weft_thread_ident(m), (uint64_t)pthread_self());
    WT_TRUE(weft_thread_is_alive(m));
    WT_TRUE(!weft_thread_is_daemon(m));
    WT_EQ(weft_thread_join(m, NULL), EDEADLK);
    weft_thread_unref(m); /* borrowed: does nothing */
    WT_TRUE(weft_thread_is_alive(m));
}

struct dummy_seen {
    weft_thread *handle;
    char name[32];
    bool daemon;
    size_t count_inside;
    weft_event inside, leave;
};

static void *foreign_thread(void *arg)
{
    struct dummy_seen *d = (struct dummy_seen *)arg;
    d->handle = weft_thread_current();
    WT_TRUE(d->handle != NULL);
    WT_TRUE(weft_thread_current() == d->handle);
    WT_EQ(weft_thread_name(d->handle, d->name, sizeof d->name), 0);
    d->daemon = weft_thread_is_daemon(d->handle);
    WT_EQ(weft_thread_native_id(d->handle), gettid());
    d->count_inside = weft_thread_active_count();
    weft_event_set(&d->inside);
    weft_event_wait(&d->leave);
    return NULL;
}

WT_CASE(test_thread_dummy_for_foreign_thread, "unit valgrind")
{
    struct dummy_seen d = {.inside = WEFT_EVENT_INIT, .leave = WEFT_EVENT_INIT};
    size_t before = weft_thread_active_count();
    pthread_t pt = spawn(foreign_thread, &d);
    weft_event_wait(&d.inside);
    WT_EQ(strncmp(d.name, "Dummy-", 6), 0);
    WT_TRUE(d.daemon);
    WT_EQ(d.count_inside, before + 1);
    weft_thread *list[8];
    size_t n = weft_thread_enumerate(list, 8);
    WT_EQ(n, before + 1);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        found = found || list[i] == d.handle;
        if (list[i] != d.handle)
            weft_thread_unref(list[i]);
    }
    WT_TRUE(found);
    WT_EQ(weft_thread_join(d.handle, NULL), EINVAL); /* not weft's to join */
    weft_event_set(&d.leave);
    join(pt);
    WT_TRUE(!weft_thread_is_alive(d.handle)); /* our reference keeps it */
    WT_EQ(weft_thread_active_count(), before);
    weft_thread_unref(d.handle);
}

/* weft_thread_cpu says the CPU the thread is on: any allowed one, and
 * the one it is pinned to when its affinity allows just one. */
WT_CASE(test_thread_cpu_is_where_it_runs, "unit valgrind")
{
    cpu_set_t was, one;
    WT_EQ(sched_getaffinity(0, sizeof was, &was), 0);
    int cpu = weft_thread_cpu();
    WT_GE(cpu, 0);
    WT_TRUE(cpu < CPU_SETSIZE && CPU_ISSET(cpu, &was));
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &was))
            continue;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        WT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
        WT_EQ(weft_thread_cpu(), c);
    }
    WT_EQ(sched_setaffinity(0, sizeof was, &was), 0);
}

WT_CASE(test_thread_enumerate_and_active_count, "unit valgrind helgrind")
{
    weft_event go = WEFT_EVENT_INIT;
    size_t before = weft_thread_active_count();
    WT_EQ(before, 1); /* the main thread */
    weft_thread *t[3];
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_thread_spawn(&t[i], wait_event, &go, NULL), 0);
    WT_EQ(weft_thread_active_count(), before + 3);
    weft_thread *list[2];
    WT_EQ(weft_thread_enumerate(list, 2), before + 3); /* cut at 2 */
    weft_thread_unref(list[0]);
    weft_thread_unref(list[1]);
    WT_EQ(weft_thread_enumerate(NULL, 0), before + 3);
    weft_event_set(&go);
    for (int i = 0; i < 3; i++) {
        WT_EQ(weft_thread_join(t[i], NULL), 0);
        weft_thread_unref(t[i]);
    }
    WT_EQ(weft_thread_active_count(), before);
}

static int block_until(void *arg)
{
    weft_event_wait((weft_event *)arg);
    return 0;
}

WT_CASE(test_thread_shutdown_waits_for_non_daemon_only, "unit valgrind helgrind")
{
    weft_event go = WEFT_EVENT_INIT, never = WEFT_EVENT_INIT;
    weft_thread *worker, *daemon;
    weft_thread_opts d = {.daemon = true};
    WT_EQ(weft_thread_spawn(&daemon, block_until, &never, &d), 0);
    WT_TRUE(weft_thread_is_daemon(daemon));
    WT_EQ(weft_thread_shutdown_until(weft_time_deadline_ns(0)), 0);
    WT_EQ(weft_thread_spawn(&worker, block_until, &go, NULL), 0);
    WT_EQ(weft_thread_shutdown_until(weft_time_deadline_ns(20 * MS)), ETIMEDOUT);
    weft_thread_set_daemon(worker, true);
    WT_EQ(weft_thread_shutdown_until(weft_time_deadline_ns(0)), 0);
    weft_thread_set_daemon(worker, false);
    WT_EQ(weft_thread_shutdown_until(weft_time_deadline_ns(0)), ETIMEDOUT);
    weft_event_set(&go);
    weft_thread_shutdown(); /* returns once worker has ended */
    WT_TRUE(!weft_thread_is_alive(worker));
    WT_EQ(weft_thread_join(worker, NULL), 0);
    weft_thread_unref(worker);
    weft_event_set(&never);
    WT_EQ(weft_thread_join(daemon, NULL), 0);
    weft_thread_unref(daemon);
}

/* A thread whose last caller reference goes while it runs: it runs on and
 * its handle goes when it ends. A thread-local value's destructor runs
 * after weft's ending of the handle, so it tells when that was done. */
static weft_event local_gone = WEFT_EVENT_INIT;

static void signal_gone(void *v)
{
    (void)v;
    weft_event_set(&local_gone);
}

static int detached_body(void *arg)
{
    weft_local *l = (weft_local *)arg;
    WT_EQ(weft_local_set(l, (void *)1), 0);
    sleep_ns(10 * MS);
    return 0;
}

WT_CASE(test_thread_unref_running_detaches, "unit valgrind")
{
    weft_local l;
    WT_EQ(weft_local_init(&l, NULL, NULL, signal_gone), 0);
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, detached_body, &l, NULL), 0);
    weft_thread_unref(t);
    weft_thread_shutdown(); /* a non-daemon thread is still waited for */
    weft_event_wait(&local_gone);
    WT_EQ(weft_local_destroy(&l), 0);
    sleep_ns(5 * MS); /* let the C library finish the thread's exit */
}

WT_CASE(test_thread_unref_after_end_reaps, "unit valgrind")
{
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, ret_arg, NULL, NULL), 0);
    weft_thread_shutdown();
    weft_thread_unref(t); /* never joined: the last unref joins */
}

static int exit_early(void *arg)
{
    (void)arg;
    pthread_exit(NULL);
}

WT_CASE(test_thread_pthread_exit_ends_handle, "unit valgrind")
{
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, exit_early, NULL, NULL), 0);
    int result = -1;
    WT_EQ(weft_thread_join(t, &result), 0);
    WT_EQ(result, 0);
    WT_EQ(weft_thread_active_count(), 1);
    weft_thread_unref(t);
}

static int check_stack(void *arg)
{
    pthread_attr_t attr;
    size_t size = 0;
    WT_EQ(pthread_getattr_np(pthread_self(), &attr), 0);
    WT_EQ(pthread_attr_getstacksize(&attr, &size), 0);
    WT_EQ(pthread_attr_destroy(&attr), 0);
    return size >= *(const size_t *)arg ? 0 : 1;
}

WT_CASE(test_thread_spawn_options_and_errors, "unit valgrind")
{
    weft_thread *t = NULL;
    WT_EQ(weft_thread_spawn(NULL, ret_arg, NULL, NULL), EINVAL);
    WT_EQ(weft_thread_spawn(&t, NULL, NULL, NULL), EINVAL);
    weft_thread_opts tiny = {.stack_size = 1024};
    WT_EQ(weft_thread_spawn(&t, ret_arg, NULL, &tiny), EINVAL);
    WT_TRUE(t == NULL);
    size_t want = 4u << 20;
    weft_thread_opts big = {.stack_size = want};
    WT_EQ(weft_thread_spawn(&t, check_stack, &want, &big), 0);
    int result = -1;
    WT_EQ(weft_thread_join(t, &result), 0);
    WT_EQ(result, 0);
    weft_thread_unref(t);
    WT_EQ(weft_thread_active_count(), 1);
}

/* EAGAIN with RLIMIT_NPROC: in a child that (as root) becomes an
 * unprivileged user, so the limit applies, and may run one task only. */
static int spawn_over_limit(void *arg)
{
    (void)arg;
    int err = limit_to_one_task();
    if (err != 0)
        return err;
    size_t before = weft_thread_active_count();
    weft_thread *t = NULL;
    if (weft_thread_spawn(&t, ret_arg, NULL, NULL) != EAGAIN)
        return 12;
    if (t != NULL || weft_thread_active_count() != before)
        return 13;
    weft_thread_opts named = {.name = "named"};
    if (weft_thread_spawn(&t, ret_arg, NULL, &named) != EAGAIN)
        return 14;
    return 0;
}

WT_CASE(test_thread_spawn_eagain_leaks_nothing, "unit valgrind")
{
    WT_EQ(reap(fork_child(spawn_over_limit, NULL)), 0);
}

struct hook_log {
    int starts, exits;
    weft_thread *seen;
};

static void on_start(weft_thread *self, void *ctx)
{
    struct hook_log *h = (struct hook_log *)ctx;
    __atomic_add_fetch(&h->starts, 1, __ATOMIC_RELAXED);
    WT_TRUE(weft_thread_current() == self);
    WT_EQ(weft_thread_native_id(self), gettid());
}

static void on_exit_hook(weft_thread *self, int *result, void *ctx)
{
    struct hook_log *h = (struct hook_log *)ctx;
    __atomic_add_fetch(&h->exits, 1, __ATOMIC_RELAXED);
    WT_TRUE(weft_thread_current() == self);
    WT_EQ(weft_thread_native_id(self), gettid());
    *result += 100;
}

WT_CASE(test_thread_hooks_run_in_the_thread, "unit valgrind")
{
    struct hook_log h = {0};
    weft_thread_hooks hooks = {on_start, on_exit_hook, &h};
    weft_thread_set_hooks(&hooks);
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, ret_arg, int_arg(1), NULL), 0);
    int result = 0;
    WT_EQ(weft_thread_join(t, &result), 0);
    WT_EQ(result, 101);
    weft_thread_unref(t);
    weft_thread_set_hooks(NULL);
    WT_EQ(weft_thread_spawn(&t, ret_arg, int_arg(1), NULL), 0);
    WT_EQ(weft_thread_join(t, &result), 0);
    WT_EQ(result, 1);
    weft_thread_unref(t);
    WT_EQ(h.starts, 1);
    WT_EQ(h.exits, 1);
}

/* Fork from a thread while another runs: in the child the forking thread
 * is main and alone; the other's handle is not alive and not joinable. */
struct fork_case {
    weft_thread *other;
    weft_thread *forker;
};

static int child_view(void *arg)
{
    struct fork_case *f = (struct fork_case *)arg;
    if (weft_thread_main() != f->forker || weft_thread_current() != f->forker)
        return 20;
    if (weft_thread_active_count() != 1)
        return 21;
    if (weft_thread_is_alive(f->other))
        return 22;
    if (weft_thread_join(f->other, NULL) != ESRCH)
        return 23;
    weft_thread *t;
    if (weft_thread_spawn(&t, ret_arg, int_arg(5), NULL) != 0)
        return 24;
    int result = 0;
    if (weft_thread_join(t, &result) != 0 || result != 5)
        return 25;
    weft_thread_unref(t);
    weft_thread_shutdown();
    return 0;
}

static int fork_from_thread(void *arg)
{
    struct fork_case *f = (struct fork_case *)arg;
    f->forker = weft_thread_current();
    return reap(fork_child(child_view, f));
}

WT_CASE(test_thread_fork_child_keeps_only_forker, "unit")
{
    weft_event go = WEFT_EVENT_INIT;
    struct fork_case f = {0};
    WT_EQ(weft_thread_spawn(&f.other, wait_event, &go, NULL), 0);
    weft_thread *forker;
    WT_EQ(weft_thread_spawn(&forker, fork_from_thread, &f, NULL), 0);
    int result = -1;
    WT_EQ(weft_thread_join(forker, &result), 0);
    WT_EQ(result, 0);
    weft_event_set(&go);
    WT_EQ(weft_thread_join(f.other, NULL), 0);
    weft_thread_unref(forker);
    weft_thread_unref(f.other);
}

/* Many spawners, joiners, enumerators and renamers at once. */
static int churn(void *arg)
{
    long n = (long)arg_int(arg);
    for (long i = 0; i < n; i++) {
        weft_thread *t;
        weft_thread_opts o = {.daemon = i % 3 == 1}; /* detached ones are waited for */
        WT_EQ(weft_thread_spawn(&t, ret_arg, int_arg(i), &o), 0);
        if (i % 3 == 0) {
            weft_thread_unref(t); /* detached */
            continue;
        }
        WT_EQ(weft_thread_set_name(t, "churned"), 0);
        int result = -1;
        WT_EQ(weft_thread_join(t, &result), 0);
        WT_EQ(result, (int)i);
        weft_thread_unref(t);
    }
    return 0;
}

static int enumerate_loop(void *arg)
{
    weft_event *stop = (weft_event *)arg;
    while (!weft_event_is_set(stop)) {
        weft_thread *list[16];
        size_t n = weft_thread_enumerate(list, 16);
        for (size_t i = 0; i < n && i < 16; i++) {
            char name[32];
            (void)weft_thread_name(list[i], name, sizeof name);
            (void)weft_thread_is_alive(list[i]);
            weft_thread_unref(list[i]);
        }
    }
    return 0;
}

WT_CASE(test_thread_stress_spawn_join_enumerate, "stress")
{
    weft_event stop = WEFT_EVENT_INIT;
    weft_thread *e, *c[2];
    WT_EQ(weft_thread_spawn(&e, enumerate_loop, &stop, NULL), 0);
    long n = wt_iters(600);
    for (int i = 0; i < 2; i++)
        WT_EQ(weft_thread_spawn(&c[i], churn, int_arg((int)n), NULL), 0);
    for (int i = 0; i < 2; i++) {
        WT_EQ(weft_thread_join(c[i], NULL), 0);
        weft_thread_unref(c[i]);
    }
    weft_event_set(&stop);
    WT_EQ(weft_thread_join(e, NULL), 0);
    weft_thread_unref(e);
    weft_thread_shutdown();
}

WT_MAIN()

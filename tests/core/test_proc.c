/* test_proc.c - weft_proc with real children and real signals: exit codes,
 * crashes, terminate/kill, timeouts, sentinels, daemon children, exec,
 * the no-pidfd fallback, fork isolation and errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "sync/helpers.h"
#include "weft/core.h"

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    WT_TRUE(d != NULL);
    int n = 0;
    /* readdir_r is deprecated (glibc); this stream is one thread's own. */
    // cppcheck-suppress readdirCalled
    while (readdir(d) != NULL)
        n++;
    WT_EQ(closedir(d), 0);
    return n;
}

/* Returns its argument's value, or 0 for NULL. */
static int ret_arg(void *arg)
{
    return arg != NULL ? arg_int(arg) : 0;
}

/* Children that sleep until signalled are spawned as daemons, so that a
 * failed case (which aborts) takes them with it instead of leaving them
 * holding ctest's output pipe. */
static const weft_proc_opts sleeper = {.daemon = true};

static int sleep_forever(void *arg)
{
    (void)arg;
    for (;;)
        (void)pause();
    return 0;
}

/* Sanitizers catch SIGSEGV and SIGABRT themselves and exit(1); a crash
 * test wants the kernel's default action. */
static void default_crash_signals(void)
{
    (void)signal(SIGSEGV, SIG_DFL);
    (void)signal(SIGABRT, SIG_DFL);
    (void)signal(SIGBUS, SIG_DFL);
}

static int crash_segv(void *arg)
{
    (void)arg;
    default_crash_signals();
    (void)raise(SIGSEGV);
    return 0;
}

static int crash_abort(void *arg)
{
    (void)arg;
    default_crash_signals();
    abort();
}

static volatile int depth_sink;
static volatile int depth_limit = 1 << 30; /* never reached: the stack ends first */

static int recurse(int n)
{
    volatile unsigned char pad[1024];
    pad[0] = (unsigned char)n;
    depth_sink = pad[0];
    if (n >= depth_limit)
        return 0;
    return recurse(n + 1) + pad[0];
}

static int crash_stack_overflow(void *arg)
{
    (void)arg;
    default_crash_signals();
    struct rlimit small = {1 << 20, 1 << 20};
    (void)setrlimit(RLIMIT_STACK, &small);
    return recurse(0);
}

WT_CASE(test_proc_spawn_join_exit_code, "unit valgrind")
{
    int fds = count_fds();
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, ret_arg, int_arg(3), NULL), 0);
    WT_GT(weft_proc_pid(p), 0);
    int code = -1;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, 3);
    code = -1;
    WT_EQ(weft_proc_join(p, &code), 0); /* again: the same code */
    WT_EQ(code, 3);
    WT_EQ(weft_proc_exitcode(p, &code), 0);
    WT_EQ(code, 3);
    WT_TRUE(!weft_proc_is_alive(p));
    WT_EQ(weft_proc_free(p), 0);
    WT_EQ(weft_proc_free(NULL), 0);
    WT_EQ(count_fds(), fds);
}

WT_CASE(test_proc_crashes_give_negative_signal_and_isolate, "unit valgrind")
{
    weft_proc *sibling, *c[3];
    WT_EQ(weft_proc_spawn(&sibling, sleep_forever, NULL, &sleeper), 0);
    WT_EQ(weft_proc_spawn(&c[0], crash_segv, NULL, NULL), 0);
    WT_EQ(weft_proc_spawn(&c[1], crash_abort, NULL, NULL), 0);
    WT_EQ(weft_proc_spawn(&c[2], crash_stack_overflow, NULL, NULL), 0);
    int want[3] = {-SIGSEGV, -SIGABRT, -SIGSEGV};
    for (int i = 0; i < 3; i++) {
        int code = 0;
        WT_EQ(weft_proc_join(c[i], &code), 0);
        WT_EQ(code, want[i]);
        WT_EQ(weft_proc_free(c[i]), 0);
    }
    WT_TRUE(weft_proc_is_alive(sibling)); /* untouched */
    WT_EQ(weft_proc_kill(sibling), 0);
    int code = 0;
    WT_EQ(weft_proc_join(sibling, &code), 0);
    WT_EQ(code, -SIGKILL);
    WT_EQ(weft_proc_free(sibling), 0);
}

WT_CASE(test_proc_terminate_kill_signal, "unit valgrind")
{
    weft_proc *p, *q;
    WT_EQ(weft_proc_spawn(&p, sleep_forever, NULL, &sleeper), 0);
    WT_EQ(weft_proc_spawn(&q, sleep_forever, NULL, &sleeper), 0);
    WT_EQ(weft_proc_terminate(p), 0);
    WT_EQ(weft_proc_signal(q, SIGUSR1), 0);
    int code = 0;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, -SIGTERM);
    WT_EQ(weft_proc_join(q, &code), 0);
    WT_EQ(code, -SIGUSR1);
    WT_EQ(weft_proc_terminate(p), 0); /* ended: nothing to do */
    WT_EQ(weft_proc_kill(p), 0);
    WT_EQ(weft_proc_signal(p, 0), EINVAL);
    WT_EQ(weft_proc_signal(p, 1000), EINVAL);
    WT_EQ(weft_proc_free(p), 0);
    WT_EQ(weft_proc_free(q), 0);
}

WT_CASE(test_proc_join_timeout_is_alive_free_busy, "unit valgrind")
{
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, sleep_forever, NULL, &sleeper), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_proc_join_for(p, 30 * MS, NULL), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 30 * MS);
    WT_EQ(weft_proc_join_until(p, 0, NULL), ETIMEDOUT);
    WT_EQ(weft_proc_join_for(p, -1, NULL), EINVAL);
    WT_TRUE(weft_proc_is_alive(p));
    int code = 99;
    WT_EQ(weft_proc_exitcode(p, &code), EBUSY);
    WT_EQ(code, 99);
    WT_EQ(weft_proc_free(p), EBUSY);
    WT_EQ(weft_proc_kill(p), 0);
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, -SIGKILL);
    WT_EQ(weft_proc_free(p), 0);
}

static int exit_after(void *arg)
{
    sleep_ns((int64_t)arg_int(arg) * MS);
    return 1;
}

WT_CASE(test_proc_sentinel_and_wait, "unit valgrind")
{
    weft_proc *p[3];
    WT_EQ(weft_proc_spawn(&p[0], sleep_forever, NULL, &sleeper), 0);
    WT_EQ(weft_proc_spawn(&p[1], exit_after, int_arg(20), NULL), 0);
    WT_EQ(weft_proc_spawn(&p[2], sleep_forever, NULL, &sleeper), 0);
    int fd = weft_proc_sentinel(p[1]); /* -1 under Valgrind: no pidfd_open */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (fd >= 0)
        WT_EQ(poll(&pfd, 1, 0), 0);
    bool ended[3] = {true, true, true};
    WT_EQ(weft_proc_wait_until(p, 3, WEFT_DEADLINE_NEVER, ended), 0);
    WT_TRUE(!ended[0] && ended[1] && !ended[2]);
    if (fd >= 0)
        WT_EQ(poll(&pfd, 1, 0), 1);
    WT_EQ(weft_proc_wait_until(p, 1, weft_time_deadline_ns(10 * MS), NULL), ETIMEDOUT);
    WT_EQ(weft_proc_wait_until(p, 0, 0, NULL), EINVAL);
    for (int i = 0; i < 3; i++) {
        WT_EQ(weft_proc_kill(p[i]), 0);
        WT_EQ(weft_proc_join(p[i], NULL), 0);
        WT_EQ(weft_proc_free(p[i]), 0);
    }
}

WT_CASE(test_proc_active_children_reaps_ended, "unit valgrind")
{
    weft_proc *quick, *slow;
    WT_EQ(weft_proc_spawn(&quick, ret_arg, int_arg(4), NULL), 0);
    WT_EQ(weft_proc_spawn(&slow, sleep_forever, NULL, &sleeper), 0);
    WT_EQ(weft_proc_wait_until(&quick, 1, WEFT_DEADLINE_NEVER, NULL), 0);
    weft_proc *live[4];
    WT_EQ(weft_proc_active_children(live, 4), 1);
    WT_TRUE(live[0] == slow);
    /* quick was reaped: no zombie left, its code kept. */
    WT_EQ(waitpid(weft_proc_pid(quick), NULL, WNOHANG), -1);
    int code = 0;
    WT_EQ(weft_proc_exitcode(quick, &code), 0);
    WT_EQ(code, 4);
    WT_EQ(weft_proc_active_children(NULL, 0), 1);
    WT_EQ(weft_proc_kill(slow), 0);
    WT_EQ(weft_proc_join(slow, NULL), 0);
    WT_EQ(weft_proc_active_children(NULL, 0), 0);
    WT_EQ(weft_proc_free(quick), 0);
    WT_EQ(weft_proc_free(slow), 0);
}

struct shared_report {
    char name[32];
    pid_t parent;
    int thread_done;
    pid_t daemon_pid;
    int codes[2];
};

static int report_identity(void *arg)
{
    struct shared_report *r = (struct shared_report *)arg;
    (void)snprintf(r->name, sizeof r->name, "%s", weft_proc_current_name());
    r->parent = weft_proc_parent_pid();
    return 0;
}

WT_CASE(test_proc_names_and_parent, "unit valgrind")
{
    struct shared_report *r = (struct shared_report *)shared_alloc(sizeof *r);
    WT_EQ(strcmp(weft_proc_current_name(), "MainProcess"), 0);
    weft_proc *p, *q;
    weft_proc_opts o = {.name = "reporter"};
    WT_EQ(weft_proc_spawn(&p, report_identity, r, &o), 0);
    WT_EQ(weft_proc_join(p, NULL), 0);
    WT_EQ(strcmp(r->name, "reporter"), 0);
    WT_EQ(r->parent, getpid());
    char name[32];
    WT_EQ(weft_proc_name(p, name, sizeof name), 0);
    WT_EQ(strcmp(name, "reporter"), 0);
    WT_EQ(weft_proc_name(p, name, 4), ERANGE);
    WT_EQ(strcmp(name, "rep"), 0);
    WT_EQ(weft_proc_name(p, NULL, 4), EINVAL);
    WT_TRUE(!weft_proc_is_daemon(p));
    WT_EQ(weft_proc_spawn(&q, report_identity, r, NULL), 0);
    WT_EQ(weft_proc_join(q, NULL), 0);
    WT_EQ(strncmp(r->name, "Process-", 8), 0);
    /* Default names count up by one, as Python's do. */
    WT_EQ(weft_proc_name(q, name, sizeof name), 0);
    WT_EQ(strcmp(name, r->name), 0);
    unsigned long k = strtoul(name + 8, NULL, 10);
    WT_TRUE(k > 0);
    weft_proc *d;
    WT_EQ(weft_proc_spawn(&d, report_identity, r, NULL), 0);
    WT_EQ(weft_proc_join(d, NULL), 0);
    char want[32];
    (void)snprintf(want, sizeof want, "Process-%lu", k + 1);
    WT_EQ(weft_proc_name(d, name, sizeof name), 0);
    WT_EQ(strcmp(name, want), 0);
    WT_EQ(weft_proc_free(d), 0);
    /* A long name is kept whole. */
    char longname[200];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    weft_proc_opts lo = {.name = longname};
    WT_EQ(weft_proc_spawn(&d, report_identity, r, &lo), 0);
    WT_EQ(weft_proc_join(d, NULL), 0);
    char back[sizeof longname];
    WT_EQ(weft_proc_name(d, back, sizeof back), 0);
    WT_EQ(strcmp(back, longname), 0);
    WT_EQ(weft_proc_free(d), 0);
    WT_EQ(weft_proc_free(p), 0);
    WT_EQ(weft_proc_free(q), 0);
    shared_free(r, sizeof *r);
}

static int late_thread(void *arg)
{
    sleep_ns(20 * MS);
    __atomic_store_n(&((struct shared_report *)arg)->thread_done, 1, __ATOMIC_RELEASE);
    return 0;
}

static int leave_thread_running(void *arg)
{
    weft_thread *t;
    WT_EQ(weft_thread_spawn(&t, late_thread, arg, NULL), 0);
    weft_thread_unref(t);
    return 0; /* the child waits for its non-daemon thread before it ends */
}

WT_CASE(test_proc_child_waits_for_its_threads, "unit valgrind")
{
    struct shared_report *r = (struct shared_report *)shared_alloc(sizeof *r);
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, leave_thread_running, r, NULL), 0);
    int code = -1;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, 0);
    WT_EQ(__atomic_load_n(&r->thread_done, __ATOMIC_ACQUIRE), 1);
    WT_EQ(weft_proc_free(p), 0);
    shared_free(r, sizeof *r);
}

WT_CASE(test_proc_stdio_flushed_before_fork, "unit valgrind")
{
    FILE *f = tmpfile();
    WT_TRUE(f != NULL);
    WT_GT(fprintf(f, "once"), 0); /* still in the buffer */
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, ret_arg, NULL, NULL), 0);
    int code = -1;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, 0);
    WT_EQ(fflush(f), 0);
    rewind(f);
    char buf[32] = {0};
    WT_EQ(fread(buf, 1, sizeof buf - 1, f), 4);
    WT_EQ(strcmp(buf, "once"), 0);
    WT_EQ(fclose(f), 0);
    WT_EQ(weft_proc_free(p), 0);
}

/* An intermediate process spawns a daemon child (reporting its pid) and a
 * plain one, then either shuts down normally or is killed. */
static int daemon_then_shutdown(void *arg)
{
    struct shared_report *r = (struct shared_report *)arg;
    weft_proc *d, *plain;
    weft_proc_opts o = {.daemon = true};
    WT_EQ(weft_proc_spawn(&d, sleep_forever, NULL, &o), 0);
    WT_TRUE(weft_proc_is_daemon(d));
    WT_EQ(weft_proc_spawn(&plain, exit_after, int_arg(20), NULL), 0);
    r->daemon_pid = weft_proc_pid(d);
    weft_core_shutdown(); /* what the child does after returning anyway */
    WT_EQ(weft_proc_exitcode(d, &r->codes[0]), 0);
    WT_EQ(weft_proc_exitcode(plain, &r->codes[1]), 0);
    WT_EQ(weft_proc_free(d), 0);
    WT_EQ(weft_proc_free(plain), 0);
    return 0;
}

WT_CASE(test_proc_shutdown_terminates_daemons_waits_others, "unit valgrind")
{
    struct shared_report *r = (struct shared_report *)shared_alloc(sizeof *r);
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, daemon_then_shutdown, r, NULL), 0);
    int code = -1;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, 0);
    WT_EQ(r->codes[0], -SIGTERM);
    WT_EQ(r->codes[1], 1);
    WT_EQ(weft_proc_free(p), 0);
    shared_free(r, sizeof *r);
}

static int daemon_then_hang(void *arg)
{
    struct shared_report *r = (struct shared_report *)arg;
    weft_proc *d;
    weft_proc_opts o = {.daemon = true};
    WT_EQ(weft_proc_spawn(&d, sleep_forever, NULL, &o), 0);
    __atomic_store_n(&r->daemon_pid, weft_proc_pid(d), __ATOMIC_RELEASE);
    return sleep_forever(NULL);
}

WT_CASE(test_proc_daemon_dies_with_killed_parent, "unit valgrind")
{
    /* Orphans come to us (not to init), so we can see the daemon die. */
    WT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    struct shared_report *r = (struct shared_report *)shared_alloc(sizeof *r);
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, daemon_then_hang, r, NULL), 0);
    while (__atomic_load_n(&r->daemon_pid, __ATOMIC_ACQUIRE) == 0)
        sleep_ns(1 * MS);
    WT_EQ(weft_proc_kill(p), 0);
    int code = 0;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, -SIGKILL);
    WT_EQ(reap(r->daemon_pid), -SIGKILL); /* PR_SET_PDEATHSIG */
    WT_EQ(weft_proc_free(p), 0);
    shared_free(r, sizeof *r);
}

WT_CASE(test_proc_exec_program, "unit valgrind")
{
    int fds = count_fds();
    weft_proc *p;
    char *argv[] = {"/bin/sh", "-c", "test \"$WEFT_X\" = yes && exit 3", NULL};
    char *envp[] = {"WEFT_X=yes", NULL};
    WT_EQ(weft_proc_exec(&p, "/bin/sh", argv, envp, NULL), 0);
    int code = -1;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, 3);
    WT_EQ(weft_proc_free(p), 0);
    char *kill_self[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    WT_EQ(weft_proc_exec(&p, "/bin/sh", kill_self, NULL, NULL), 0);
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, -SIGTERM);
    WT_EQ(weft_proc_free(p), 0);
    p = NULL;
    char *none[] = {"/nonexistent/prog", NULL};
    WT_EQ(weft_proc_exec(&p, "/nonexistent/prog", none, NULL, NULL), ENOENT);
    WT_TRUE(p == NULL);
    WT_EQ(waitpid(-1, NULL, WNOHANG), -1); /* the failed child was reaped */
    WT_EQ(errno, ECHILD);
    WT_EQ(weft_proc_exec(&p, NULL, none, NULL, NULL), EINVAL);
    WT_EQ(weft_proc_exec(&p, "/bin/sh", NULL, NULL, NULL), EINVAL);
    WT_EQ(count_fds(), fds);
}

static int exec_daemon_then_hang(void *arg)
{
    struct shared_report *r = (struct shared_report *)arg;
    weft_proc *d;
    char *argv[] = {"/bin/sleep", "1000", NULL};
    weft_proc_opts o = {.daemon = true};
    WT_EQ(weft_proc_exec(&d, "/bin/sleep", argv, NULL, &o), 0);
    __atomic_store_n(&r->daemon_pid, weft_proc_pid(d), __ATOMIC_RELEASE);
    return sleep_forever(NULL);
}

WT_CASE(test_proc_exec_daemon_dies_with_killed_parent, "unit")
{
    WT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    struct shared_report *r = (struct shared_report *)shared_alloc(sizeof *r);
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, exec_daemon_then_hang, r, NULL), 0);
    while (__atomic_load_n(&r->daemon_pid, __ATOMIC_ACQUIRE) == 0)
        sleep_ns(1 * MS);
    WT_EQ(weft_proc_kill(p), 0);
    WT_EQ(weft_proc_join(p, NULL), 0);
    WT_EQ(reap(r->daemon_pid), -SIGKILL);
    WT_EQ(weft_proc_free(p), 0);
    shared_free(r, sizeof *r);
}

WT_CASE(test_proc_fallback_without_pidfd, "unit valgrind")
{
    /* Read at the first spawn. The case has one thread here, so the
     * environment cannot change under another thread's getenv. */
    WT_EQ(setenv("WEFT_NO_PIDFD", "1", 1), 0); // NOLINT(concurrency-mt-unsafe)
    weft_proc *p, *q;
    WT_EQ(weft_proc_spawn(&p, exit_after, int_arg(20), NULL), 0);
    WT_EQ(weft_proc_sentinel(p), -1);
    WT_EQ(weft_proc_spawn(&q, sleep_forever, NULL, &sleeper), 0);
    weft_proc *both[2] = {p, q};
    bool ended[2];
    WT_EQ(weft_proc_wait_until(both, 2, WEFT_DEADLINE_NEVER, ended), 0);
    WT_TRUE(ended[0] && !ended[1]);
    int code = 0;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, 1);
    WT_EQ(weft_proc_join_for(q, 20 * MS, NULL), ETIMEDOUT);
    WT_EQ(weft_proc_terminate(q), 0);
    WT_EQ(weft_proc_join(q, &code), 0);
    WT_EQ(code, -SIGTERM);
    WT_EQ(weft_proc_free(p), 0);
    WT_EQ(weft_proc_free(q), 0);
}

static weft_proc *sibling_handle;

static int look_at_sibling(void *arg)
{
    (void)arg;
    if (weft_proc_is_alive(sibling_handle))
        return 30;
    if (weft_proc_join(sibling_handle, NULL) != ECHILD)
        return 31;
    if (weft_proc_sentinel(sibling_handle) != -1)
        return 32; /* its pidfd was closed in this child */
    if (weft_proc_active_children(NULL, 0) != 0)
        return 33;
    return 0;
}

WT_CASE(test_proc_grandchild_sees_foreign_handles, "unit valgrind")
{
    WT_EQ(weft_proc_spawn(&sibling_handle, sleep_forever, NULL, &sleeper), 0);
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, look_at_sibling, NULL, NULL), 0);
    int code = -1;
    WT_EQ(weft_proc_join(p, &code), 0);
    WT_EQ(code, 0);
    WT_EQ(weft_proc_kill(sibling_handle), 0);
    WT_EQ(weft_proc_join(sibling_handle, NULL), 0);
    WT_EQ(weft_proc_free(sibling_handle), 0);
    WT_EQ(weft_proc_free(p), 0);
}

static int spawn_over_limit(void *arg)
{
    (void)arg;
    int err = limit_to_one_task();
    if (err != 0)
        return err;
    int fds = count_fds();
    weft_proc *p = NULL;
    if (weft_proc_spawn(&p, ret_arg, NULL, NULL) != EAGAIN || p != NULL)
        return 12;
    if (weft_proc_active_children(NULL, 0) != 0 || count_fds() != fds)
        return 13;
    return 0;
}

WT_CASE(test_proc_spawn_errors, "unit valgrind")
{
    weft_proc *p;
    WT_EQ(weft_proc_spawn(NULL, ret_arg, NULL, NULL), EINVAL);
    WT_EQ(weft_proc_spawn(&p, NULL, NULL, NULL), EINVAL);
    WT_EQ(reap(fork_child(spawn_over_limit, NULL)), 0);
}

static int join_other(void *arg)
{
    int code = 0;
    WT_EQ(weft_proc_join((weft_proc *)arg, &code), 0);
    return code;
}

WT_CASE(test_proc_many_threads_join_one_child, "unit valgrind")
{
    weft_proc *p;
    WT_EQ(weft_proc_spawn(&p, exit_after, int_arg(20), NULL), 0);
    weft_thread *t[3];
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_thread_spawn(&t[i], join_other, p, NULL), 0);
    for (int i = 0; i < 3; i++) {
        int code = 0;
        WT_EQ(weft_thread_join(t[i], &code), 0);
        WT_EQ(code, 1);
        weft_thread_unref(t[i]);
    }
    WT_EQ(weft_proc_free(p), 0);
}

/* Threads spawning, signalling and joining children at once: each child is
 * reaped once, with the code it gave. */
static int proc_churn(void *arg)
{
    long n = (long)arg_int(arg);
    for (long i = 0; i < n; i++) {
        weft_proc *p;
        bool kill_it = i % 4 == 3;
        WT_EQ(weft_proc_spawn(&p, kill_it ? sleep_forever : ret_arg, int_arg(i % 100),
                              NULL),
              0);
        if (kill_it)
            WT_EQ(weft_proc_kill(p), 0);
        int code = -1;
        WT_EQ(weft_proc_join(p, &code), 0);
        WT_EQ(code, kill_it ? -SIGKILL : (int)(i % 100));
        WT_EQ(weft_proc_free(p), 0);
        (void)weft_proc_active_children(NULL, 0);
    }
    return 0;
}

WT_CASE(test_proc_stress_concurrent_spawners, "stress")
{
    int fds = count_fds();
    weft_thread *t[2];
    for (int i = 0; i < 2; i++)
        WT_EQ(weft_thread_spawn(&t[i], proc_churn, int_arg((int)wt_iters(150)), NULL), 0);
    for (int i = 0; i < 2; i++) {
        WT_EQ(weft_thread_join(t[i], NULL), 0);
        weft_thread_unref(t[i]);
    }
    WT_EQ(waitpid(-1, NULL, WNOHANG), -1);
    WT_EQ(count_fds(), fds);
}

WT_MAIN()

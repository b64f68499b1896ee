/* proc.c - weft_proc: forked and exec'd children, reaped exactly once.
 *
 * Design / invariants
 *   Every handle is on one list from spawn to free, and every change of a
 *   handle's state (reaped, exit code, its pidfd) happens under proc_mu,
 *   which is held only across non-blocking calls (waitpid WNOHANG,
 *   pidfd_send_signal, close). A child is reaped by exactly one waitpid: the
 *   one that finds it ended while holding proc_mu, which then marks the
 *   handle reaped; so a pid is never waited for or signalled after it could
 *   have been reused. Blocking happens outside the lock, in ppoll on the
 *   pidfd (or, without pidfds, a sleep with backoff), and ends with another
 *   look under the lock.
 *
 *   Fork: prepare takes proc_mu; in the child every handle is marked
 *   foreign (not our child) and its pidfd is closed, so grandchildren keep
 *   no descriptors of their siblings. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "name.h"
#include "weft/core.h"
#include "weft/lock.h"
#include "weft/time.h"

extern char **environ;

struct weft_proc {
    pid_t pid;
    int pidfd;    /* -1 without pidfds, or once closed */
    bool daemon;
    bool reaped;  /* proc_mu */
    bool foreign; /* proc_mu: copied into a forked child */
    int code;     /* proc_mu: valid once reaped */
    char *name; /* just past the struct, same block: never freed alone */
    weft_proc *prev, *next; /* proc_mu */
};

static weft_lock proc_mu = WEFT_LOCK_INIT;
static weft_proc *head WEFT_GUARDED_BY(proc_mu);
static unsigned long counter; /* atomic */
static weft_proc *self_handle; /* in a spawned child: its own handle's copy */

/* The write end of an exec's error pipe must reach only that exec's child:
 * a child another thread forks meanwhile would hold it open and leave the
 * exec waiting for that child's end. One exec at a time (exec_mu) records
 * its write end here, created under proc_mu so that every fork sees either
 * no pipe or this record, and fork_child closes it in every child but the
 * exec's own (the thread marked exec_forking). */
static weft_lock exec_mu = WEFT_LOCK_INIT;
static int exec_wfd WEFT_GUARDED_BY(proc_mu) = -1;
static __thread bool exec_forking;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool use_pidfd = true; /* written once under init_once */

static void link_locked(weft_proc *p) WEFT_REQUIRES(proc_mu)
{
    p->prev = NULL;
    p->next = head;
    if (head != NULL)
        head->prev = p;
    head = p;
}

static void unlink_locked(weft_proc *p) WEFT_REQUIRES(proc_mu)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        head = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int pidfd_signal(int fd, int sig)
{
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
#else
    (void)fd;
    (void)sig;
    errno = ENOSYS;
    return -1;
#endif
}

static int status_code(int st)
{
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* Reap p if it has ended. Returns 0 (reaped now or before), EBUSY (runs),
 * or ECHILD. */
static int poll_locked(weft_proc *p) WEFT_REQUIRES(proc_mu)
{
    if (p->reaped)
        return 0;
    if (p->foreign)
        return ECHILD;
    int st = 0;
    pid_t r;
    do
        r = waitpid(p->pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return EBUSY;
    if (r < 0) {
        p->foreign = true; /* reaped by someone else: the code is lost */
        return ECHILD;
    }
    p->reaped = true;
    p->code = status_code(st);
    return 0;
}

/* Send sig to p, which runs and is not reaped: its pid is still ours even
 * without a pidfd. An ended (zombie) child counts as signalled. */
static int signal_locked(weft_proc *p, int sig) WEFT_REQUIRES(proc_mu)
{
    int r = p->pidfd >= 0 ? pidfd_signal(p->pidfd, sig) : kill(p->pid, sig);
    return r == 0 || errno == ESRCH ? 0 : errno;
}

/* Sleep until fd is readable or deadline (fd < 0: a backoff step). */
static void sleep_on(int fd, int64_t deadline_ns, int64_t *step_ns)
{
    int64_t left = deadline_ns - weft_time_now_ns();
    if (left <= 0)
        return;
    if (fd < 0) {
        if (left > *step_ns)
            left = *step_ns;
        *step_ns = *step_ns < 10000000 ? *step_ns * 2 : 10000000;
    }
    struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    (void)ppoll(&pfd, fd < 0 ? 0 : 1, deadline_ns == WEFT_DEADLINE_NEVER && fd >= 0 ? NULL : &ts,
                NULL);
}

static void fork_prepare(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_acquire(&proc_mu);
}

static void fork_parent(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_release(&proc_mu);
}

static void fork_child(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!exec_forking) {
        if (exec_wfd >= 0)
            (void)close(exec_wfd);
        weft_lock_init(&exec_mu); /* its holder, if any, is not in this child */
    }
    exec_wfd = -1;
    for (weft_proc *p = head; p != NULL; p = p->next) {
        p->foreign = !p->reaped;
        if (p->pidfd >= 0)
            (void)close(p->pidfd);
        p->pidfd = -1;
    }
    weft_lock_release(&proc_mu);
}

static void init(void)
{
    const char *no = getenv("WEFT_NO_PIDFD"); /* a test knob: the fallback */
    use_pidfd = no == NULL || no[0] == '\0' || no[0] == '0';
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* "Process-N" into buf (at least 32 bytes), by hand: snprintf's frame is
 * deep enough to touch a stack page that nothing else in a spawn does, and
 * after each fork every page the parent writes costs a copy-on-write
 * fault. */
static const char *default_name(char *buf)
{
    char digits[24];
    size_t n = 0;
    unsigned long k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    do
        digits[n++] = (char)('0' + k % 10);
    while ((k /= 10) != 0);
    memcpy(buf, "Process-", 8);
    for (size_t i = 0; i < n; i++)
        buf[8 + i] = digits[n - 1 - i];
    buf[8 + n] = '\0';
    return buf;
}

/* The handle and its name in one allocation, by malloc: calloc bypasses
 * the thread's cache of freed blocks, so a spawn-free loop would write
 * the arena's shared state (one more copy-on-write fault per spawn). */
static weft_proc *new_handle(const weft_proc_opts *opts)
{
    char gen[32];
    const char *name = opts->name != NULL ? opts->name : default_name(gen);
    size_t len = strlen(name);
    if (len > SIZE_MAX - sizeof(weft_proc) - 1)
        return NULL;
    weft_proc *p = (weft_proc *)malloc(sizeof *p + len + 1);
    if (p == NULL)
        return NULL;
    memset(p, 0, sizeof *p);
    p->name = (char *)(p + 1);
    memcpy(p->name, name, len + 1);
    p->daemon = opts->daemon;
    p->pidfd = -1;
    return p;
}

/* Reap ended children before starting another (Python's _cleanup). */
static void reap_ended(void)
{
    weft_lock_acquire(&proc_mu);
    for (weft_proc *p = head; p != NULL; p = p->next)
        (void)poll_locked(p);
    weft_lock_release(&proc_mu);
}

/* The parent's half after a successful fork. */
static void adopt(weft_proc *p, pid_t pid)
{
    p->pid = pid;
    p->pidfd = use_pidfd ? pidfd_open_(pid) : -1; /* -1: fall back to polling */
    weft_lock_acquire(&proc_mu);
    link_locked(p);
    weft_lock_release(&proc_mu);
}

/* In a daemon child: die with the parent, even one that died already. */
static void tie_to_parent(pid_t parent)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent)
        (void)raise(SIGKILL);
}

int weft_proc_spawn(weft_proc **out, weft_proc_fn fn, void *arg, const weft_proc_opts *opts)
{
    static const weft_proc_opts defaults = {NULL, false};
    if (out == NULL || fn == NULL)
        return EINVAL;
    (void)pthread_once(&init_once, init);
    weft_proc *p = new_handle(opts != NULL ? opts : &defaults);
    if (p == NULL)
        return ENOMEM;
    reap_ended();
    (void)fflush(NULL);
    pid_t parent = p->daemon ? getpid() : 0;
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        free(p);
        return err;
    }
    if (pid == 0) {
        if (p->daemon)
            tie_to_parent(parent);
        self_handle = p; /* its name is the child's; never freed here */
        int code = fn(arg);
        weft_core_shutdown();
        (void)fflush(NULL);
        _exit(code);
    }
    adopt(p, pid);
    *out = p;
    return 0;
}

/* The child's half of exec: default signal handling, the caller's mask,
 * then the program; an exec error goes back through the pipe. */
static void exec_child(int errfd, const sigset_t *mask, bool daemon, pid_t parent,
                       const char *path, char *const argv[], char *const envp[])
{
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)signal(sig, SIG_DFL);
    if (daemon)
        tie_to_parent(parent);
    (void)pthread_sigmask(SIG_SETMASK, mask, NULL);
    (void)execve(path, argv, envp != NULL ? envp : environ);
    int err = errno;
    while (write(errfd, &err, sizeof err) < 0 && errno == EINTR) {
    }
    _exit(127);
}

int weft_proc_exec(weft_proc **out, const char *path, char *const argv[], char *const envp[],
                   const weft_proc_opts *opts)
{
    static const weft_proc_opts defaults = {NULL, false};
    if (out == NULL || path == NULL || argv == NULL)
        return EINVAL;
    (void)pthread_once(&init_once, init);
    weft_proc *p = new_handle(opts != NULL ? opts : &defaults);
    if (p == NULL)
        return ENOMEM;
    reap_ended();
    int fds[2];
    weft_lock_acquire(&exec_mu);
    weft_lock_acquire(&proc_mu);
    int err = pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
    if (err == 0)
        exec_wfd = fds[1];
    weft_lock_release(&proc_mu);
    if (err != 0) {
        weft_lock_release(&exec_mu);
        free(p);
        return err;
    }
    sigset_t all, old;
    (void)sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    exec_forking = true;
    pid_t pid = fork();
    if (pid == 0)
        exec_child(fds[1], &old, p->daemon, parent, path, argv, envp);
    exec_forking = false;
    err = pid < 0 ? errno : 0;
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    weft_lock_acquire(&proc_mu);
    (void)close(fds[1]);
    exec_wfd = -1;
    weft_lock_release(&proc_mu);
    weft_lock_release(&exec_mu);
    if (pid > 0) {
        int child_err = 0;
        ssize_t n;
        do
            n = read(fds[0], &child_err, sizeof child_err);
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof child_err) {
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
            err = child_err;
        }
    }
    (void)close(fds[0]);
    if (err != 0) {
        free(p);
        return err;
    }
    adopt(p, pid);
    *out = p;
    return 0;
}

int weft_proc_join_until(weft_proc *p, int64_t deadline_ns, int *exitcode)
{
    int64_t step = 50000;
    /* With a pidfd, sleep first: a join usually comes before the child has
     * ended, and the look under the lock after the wake-up is the one that
     * reaps. fd stays open meanwhile: only weft_proc_free closes it, and
     * not while the child runs. */
    bool have_fd = p->pidfd >= 0;
    for (;;) {
        if (have_fd)
            sleep_on(p->pidfd, deadline_ns, &step); /* at once past the deadline */
        weft_lock_acquire(&proc_mu);
        int err = poll_locked(p);
        int code = p->code;
        weft_lock_release(&proc_mu);
        if (err == 0 && exitcode != NULL)
            *exitcode = code;
        if (err != EBUSY)
            return err;
        if (weft_time_now_ns() >= deadline_ns)
            return ETIMEDOUT;
        if (!have_fd)
            sleep_on(-1, deadline_ns, &step);
    }
}

int weft_proc_join(weft_proc *p, int *exitcode)
{
    return weft_proc_join_until(p, WEFT_DEADLINE_NEVER, exitcode);
}

int weft_proc_join_for(weft_proc *p, int64_t timeout_ns, int *exitcode)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_proc_join_until(p, weft_time_deadline_ns(timeout_ns), exitcode);
}

int weft_proc_exitcode(weft_proc *p, int *exitcode)
{
    weft_lock_acquire(&proc_mu);
    int err = poll_locked(p);
    if (err == 0 && exitcode != NULL)
        *exitcode = p->code;
    weft_lock_release(&proc_mu);
    return err;
}

bool weft_proc_is_alive(weft_proc *p)
{
    return weft_proc_exitcode(p, NULL) == EBUSY;
}

pid_t weft_proc_pid(const weft_proc *p)
{
    return p->pid;
}

pid_t weft_proc_parent_pid(void)
{
    return getppid();
}

int weft_proc_name(const weft_proc *p, char *buf, size_t size)
{
    return weft__name_copy(p->name, buf, size);
}

const char *weft_proc_current_name(void)
{
    return self_handle != NULL ? self_handle->name : "MainProcess";
}

bool weft_proc_is_daemon(const weft_proc *p)
{
    return p->daemon;
}

int weft_proc_signal(weft_proc *p, int sig)
{
    if (sig <= 0 || sig >= NSIG)
        return EINVAL;
    weft_lock_acquire(&proc_mu);
    int err = poll_locked(p);
    if (err == EBUSY)
        err = signal_locked(p, sig);
    weft_lock_release(&proc_mu);
    return err;
}

int weft_proc_terminate(weft_proc *p)
{
    return weft_proc_signal(p, SIGTERM);
}

int weft_proc_kill(weft_proc *p)
{
    return weft_proc_signal(p, SIGKILL);
}

int weft_proc_sentinel(const weft_proc *p)
{
    return p->pidfd;
}

int weft_proc_wait_until(weft_proc *const *procs, size_t n, int64_t deadline_ns, bool *ended)
{
    if (n == 0 || procs == NULL)
        return EINVAL;
    for (size_t i = 0; i < n; i++)
        if (procs[i] == NULL)
            return EINVAL;
    struct pollfd stack_fds[16];
    struct pollfd *fds = n <= 16 ? stack_fds : (struct pollfd *)calloc(n, sizeof *fds);
    if (fds == NULL)
        return ENOMEM;
    int64_t step = 50000;
    int err = ETIMEDOUT;
    for (;;) {
        bool any = false, all_fds = true;
        for (size_t i = 0; i < n; i++) {
            int fd = procs[i]->pidfd;
            bool done;
            if (fd >= 0) {
                struct pollfd one = {.fd = fd, .events = POLLIN};
                done = poll(&one, 1, 0) == 1;
            } else {
                all_fds = false;
                weft_lock_acquire(&proc_mu);
                done = poll_locked(procs[i]) != EBUSY;
                weft_lock_release(&proc_mu);
            }
            if (ended != NULL)
                ended[i] = done;
            any = any || done;
            fds[i] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        if (any) {
            err = 0;
            break;
        }
        int64_t left = deadline_ns - weft_time_now_ns();
        if (left <= 0)
            break;
        if (all_fds) {
            struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
            (void)ppoll(fds, n, deadline_ns == WEFT_DEADLINE_NEVER ? NULL : &ts, NULL);
        } else {
            sleep_on(-1, deadline_ns, &step);
        }
    }
    if (fds != stack_fds)
        free(fds);
    return err;
}

size_t weft_proc_active_children(weft_proc **out, size_t cap)
{
    size_t n = 0;
    weft_lock_acquire(&proc_mu);
    for (weft_proc *p = head; p != NULL; p = p->next) {
        if (poll_locked(p) != EBUSY)
            continue;
        if (n < cap)
            out[n] = p;
        n++;
    }
    weft_lock_release(&proc_mu);
    return n;
}

int weft_proc_free(weft_proc *p)
{
    if (p == NULL)
        return 0;
    weft_lock_acquire(&proc_mu);
    if (poll_locked(p) == EBUSY) {
        weft_lock_release(&proc_mu);
        return EBUSY;
    }
    unlink_locked(p);
    if (p->pidfd >= 0)
        (void)close(p->pidfd);
    weft_lock_release(&proc_mu);
    free(p);
    return 0;
}

int weft_proc_shutdown_until(int64_t deadline_ns)
{
    weft_lock_acquire(&proc_mu);
    for (weft_proc *p = head; p != NULL; p = p->next)
        if (p->daemon && poll_locked(p) == EBUSY)
            (void)signal_locked(p, SIGTERM);
    weft_lock_release(&proc_mu);
    int64_t step = 50000;
    for (;;) {
        /* Reap what has ended; sleep on one child that runs (a duplicate
         * of its pidfd: the handle may be freed meanwhile). */
        int fd = -2;
        weft_lock_acquire(&proc_mu);
        for (weft_proc *p = head; p != NULL; p = p->next)
            if (poll_locked(p) == EBUSY && fd == -2)
                fd = p->pidfd >= 0 ? fcntl(p->pidfd, F_DUPFD_CLOEXEC, 0) : -1;
        weft_lock_release(&proc_mu);
        if (fd == -2)
            return 0;
        if (weft_time_now_ns() >= deadline_ns) {
            if (fd >= 0)
                (void)close(fd);
            return ETIMEDOUT;
        }
        sleep_on(fd, deadline_ns, &step);
        if (fd >= 0)
            (void)close(fd);
    }
}

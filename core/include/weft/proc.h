/* weft/proc.h - child processes forked from a function or started from a
 * program (Python's multiprocessing.Process with the fork start method).
 *
 *     static int work(void *arg) { ...; return 3; }
 *
 *     weft_proc *p;
 *     weft_proc_opts o = {.name = "worker"};
 *     weft_proc_spawn(&p, work, arg, &o);
 *     int code;
 *     weft_proc_join(p, &code);       // 3; -11 had the child crashed
 *     weft_proc_free(p);
 *
 * Exit codes are Python's Process.exitcode: the function's return value (as
 * the kernel keeps it: 0..255) or the status the child gave exit(), and
 * minus the signal number when a signal ended it (-9 for SIGKILL, -11 for
 * SIGSEGV, -6 for abort). A crash in a child ends that child only.
 *
 * The child of weft_proc_spawn is a copy of the calling process made by
 * fork() with only the calling thread; after fn returns it waits for its
 * own non-daemon weft threads and children (weft_core_shutdown), flushes
 * stdio and ends with _exit (the parent's atexit handlers do not run in it).
 * What each weft module lets a child use after a fork from a multi-threaded
 * parent is written in that module's headers (see also weft/core.h).
 *
 * Waiting: each child has a pidfd (Linux 5.3+), the descriptor that
 * weft_proc_sentinel returns and that poll() sees readable once the child
 * has ended; joins sleep on it. Without pidfds, joins poll waitpid with a
 * backoff from 50 us to 10 ms. Children are reaped by weft (join,
 * is_alive, exitcode, active_children, the cleanup each spawn does, and
 * shutdown): do not reap them yourself (waitpid(-1), SIGCHLD set to
 * SIG_IGN), or weft reports ECHILD for them.
 *
 * Daemon children: weft_proc_shutdown terminates them (SIGTERM) and then
 * reaps them, and they are sent SIGKILL by the kernel when the parent dies
 * (PR_SET_PDEATHSIG; a parent that dies between fork and that call is
 * noticed by the child, which then ends itself). The kernel ties that
 * signal to the thread that spawned the child: a daemon child spawned from
 * a thread that ends is killed then.
 *
 * Fork: in a grandchild, the handles copied from its parent name processes
 * that are not its children: joining one returns ECHILD, is_alive is false,
 * and their descriptors are closed. */
#ifndef WEFT_PROC_H
#define WEFT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_proc weft_proc;

/* The function a forked child runs; its return value is the exit status. */
typedef int (*weft_proc_fn)(void *arg);

/* Options for spawn and exec. Zeroed (or NULL): named "Process-N", not a
 * daemon. */
typedef struct weft_proc_opts {
    const char *name; /* copied */
    bool daemon;
} weft_proc_opts;

/* weft_proc_spawn - fork a child that runs fn(arg).
 * Blocks:   for the fork (stdio is flushed first, so buffered output is not
 *           written twice).
 * Returns:  0 and *out set; EINVAL for NULL out or fn; EAGAIN or ENOMEM
 *           when fork fails (nothing started, nothing leaked).
 * Threads:  any thread (see the daemon note above). */
int weft_proc_spawn(weft_proc **out, weft_proc_fn fn, void *arg, const weft_proc_opts *opts);

/* weft_proc_exec - start the program at path with argv (NULL-terminated)
 * and envp (NULL: this process's environment) in a new process image.
 * Returns:  0 and *out set; the exec error (ENOENT, EACCES, ENOEXEC, ...)
 *           when the program could not be started, with the failed child
 *           already reaped; EINVAL for NULL out, path or argv; EAGAIN,
 *           ENOMEM. */
int weft_proc_exec(weft_proc **out, const char *path, char *const argv[], char *const envp[],
                   const weft_proc_opts *opts);

/* weft_proc_join_until - wait until the child has ended; reap it.
 * Blocks:   until then or until CLOCK_MONOTONIC passes deadline_ns;
 *           signals do not interrupt.
 * Returns:  0 and *exitcode (if not NULL) set, again on every later join;
 *           ETIMEDOUT (the child runs on); ECHILD when the process is not
 *           this process's child (a copied handle in a forked child, or
 *           reaped behind weft's back).
 * Threads:  any thread; several may join one child. */
int weft_proc_join_until(weft_proc *p, int64_t deadline_ns, int *exitcode);

/* weft_proc_join / weft_proc_join_for - no deadline; a relative timeout
 * (EINVAL for timeout_ns < 0). */
int weft_proc_join(weft_proc *p, int *exitcode);
int weft_proc_join_for(weft_proc *p, int64_t timeout_ns, int *exitcode);

/* weft_proc_is_alive - whether the child has not ended yet (an ended child
 * is reaped by this call, as in Python). Blocks: never. */
bool weft_proc_is_alive(weft_proc *p);

/* weft_proc_exitcode - the exit code if the child has ended (reaping it).
 * Returns:  0 and *exitcode set; EBUSY while it runs; ECHILD as join. */
int weft_proc_exitcode(weft_proc *p, int *exitcode);

/* weft_proc_pid - the child's process id. */
pid_t weft_proc_pid(const weft_proc *p);

/* weft_proc_parent_pid - this process's parent's id (getppid). */
pid_t weft_proc_parent_pid(void);

/* weft_proc_name - copy p's name into buf, as weft_thread_name. */
int weft_proc_name(const weft_proc *p, char *buf, size_t size);

/* weft_proc_current_name - this process's name: the name it was spawned
 * with, or "MainProcess". Valid for the life of the process. */
const char *weft_proc_current_name(void);

/* weft_proc_is_daemon - the daemon flag given at spawn. */
bool weft_proc_is_daemon(const weft_proc *p);

/* weft_proc_signal - send sig to the child through its pidfd (never to a
 * process that reused its pid). weft_proc_terminate sends SIGTERM and
 * weft_proc_kill SIGKILL, as Process.terminate() and kill().
 * Returns:  0, also when the child has already ended (nothing is sent);
 *           EINVAL for a bad signal number; ECHILD as join. */
int weft_proc_signal(weft_proc *p, int sig);
int weft_proc_terminate(weft_proc *p);
int weft_proc_kill(weft_proc *p);

/* weft_proc_sentinel - a descriptor that poll() reports readable once the
 * child has ended (multiprocessing's Process.sentinel): the child's pidfd,
 * owned by p, closed by weft_proc_free. -1 where the kernel has no pidfds:
 * use weft_proc_wait_until there. */
int weft_proc_sentinel(const weft_proc *p);

/* weft_proc_wait_until - wait until at least one of the n children has
 * ended, as multiprocessing.connection.wait over sentinels; reaps none.
 * Blocks:   until then or until CLOCK_MONOTONIC passes deadline_ns.
 * Returns:  0, with ended[i] (if ended is not NULL) true for each child that
 *           has ended; ETIMEDOUT; EINVAL for n == 0 or a NULL entry. */
int weft_proc_wait_until(weft_proc *const *procs, size_t n, int64_t deadline_ns, bool *ended);

/* weft_proc_active_children - reap every child that has ended, then store
 * up to cap of the live children's handles in out (borrowed: valid while
 * their owners keep them) and return how many are alive. */
size_t weft_proc_active_children(weft_proc **out, size_t cap);

/* weft_proc_free - release p's handle and descriptor (Process.close()).
 * Returns:  0; EBUSY while the child runs (nothing changes: join, terminate
 *           or kill it first). free(NULL) returns 0. */
int weft_proc_free(weft_proc *p);

/* weft_proc_shutdown_until - what Python does with children at exit:
 * terminate every daemon child, then wait for every child weft started and
 * reap it.
 * Returns:  0; ETIMEDOUT when children still run at the deadline. */
int weft_proc_shutdown_until(int64_t deadline_ns);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_PROC_H */

/* weft/thread.h - threads with names, daemon flags and results (Python's
 * threading.Thread, current_thread, main_thread, enumerate, active_count).
 *
 * A weft_thread is a handle on a thread that runs `int fn(void *arg)`:
 *
 *     static int work(void *arg) { ...; return 42; }
 *
 *     weft_thread *t;
 *     weft_thread_opts o = {.name = "worker", .daemon = false};
 *     if (weft_thread_spawn(&t, work, arg, &o) != 0) ...
 *     int result;
 *     weft_thread_join(t, &result);        // result == 42
 *     weft_thread_unref(t);
 *
 * Handles are reference-counted. spawn gives the caller one reference;
 * weft_thread_enumerate gives one per thread listed; weft_thread_ref adds
 * one and weft_thread_unref drops one. The running thread holds its own
 * reference until it ends, so dropping the last caller reference of a
 * running thread is allowed: the thread runs on, detached, and its handle
 * goes when it ends. weft_thread_current() and weft_thread_main() return
 * borrowed handles that need no unref.
 *
 * Invariants: a thread is "alive" from spawn until its function has
 * returned and its exit hook has run; joined at most once; its result is
 * readable once joined. Every thread weft started, and every thread that
 * asked for weft_thread_current() (a "dummy" thread, daemon, as in Python),
 * is listed by weft_thread_enumerate while alive.
 *
 * Daemon threads, as at Python's interpreter exit: weft_thread_shutdown()
 * waits for every non-daemon thread weft started; daemon threads are not
 * waited for and die with the process at exit(). weft_core_atexit() (see
 * weft/core.h) makes returning from main() do the same.
 *
 * Fork: in a child created by fork() only the forking thread exists. It
 * becomes the child's main thread (weft_thread_main() returns its handle);
 * every other handle reports not alive, and joining one returns ESRCH (the
 * thread does not exist in this process). */
#ifndef WEFT_THREAD_H
#define WEFT_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_thread weft_thread;

/* The function a thread runs; its return value is the thread's result. */
typedef int (*weft_thread_fn)(void *arg);

/* Options for weft_thread_spawn. A zeroed struct (or NULL) means: named
 * "Thread-N" (N counts spawns from 1), not a daemon, the default stack. */
typedef struct weft_thread_opts {
    const char *name;  /* copied; any length (the OS sees the first 15 bytes) */
    bool daemon;       /* not waited for by weft_thread_shutdown */
    size_t stack_size; /* 0 for the default; else at least PTHREAD_STACK_MIN */
} weft_thread_opts;

/* Hooks for tools (profilers, tracers), called in the thread itself:
 * on_start before its function, on_exit after it returned (with the result
 * in *result, which the hook may change). Either may be NULL. */
typedef struct weft_thread_hooks {
    void (*on_start)(weft_thread *self, void *ctx);
    void (*on_exit)(weft_thread *self, int *result, void *ctx);
    void *ctx;
} weft_thread_hooks;

/* weft_thread_spawn - start a thread running fn(arg).
 * Blocks:   never waits for the new thread to run.
 * Requires: out and fn not NULL; opts NULL or valid.
 * Returns:  0 and *out set (one reference); EINVAL for a NULL out or fn or a
 *           stack_size below PTHREAD_STACK_MIN; EAGAIN when the system
 *           refuses another thread (RLIMIT_NPROC, threads-max, no memory
 *           for the stack); ENOMEM. On error nothing was started, nothing is
 *           leaked and *out is unchanged.
 * Threads:  any thread. */
int weft_thread_spawn(weft_thread **out, weft_thread_fn fn, void *arg,
                      const weft_thread_opts *opts);

/* weft_thread_join - wait for t to end and collect its result.
 * Blocks:   until the thread's function has returned and the thread ended.
 * Requires: a reference to t.
 * Returns:  0 and *result (if result is not NULL) set to the function's
 *           return value; EDEADLK when t is the calling thread; EINVAL when
 *           t was already joined, or is a main or dummy thread (not started
 *           by weft); ESRCH in a forked child for a thread of the parent.
 * Threads:  any thread; of several joiners one gets 0, the others EINVAL. */
int weft_thread_join(weft_thread *t, int *result);

/* weft_thread_join_until - as weft_thread_join, giving up when
 * CLOCK_MONOTONIC passes deadline_ns.
 * Returns:  as join, or ETIMEDOUT: the thread runs on and can be joined
 *           later. */
int weft_thread_join_until(weft_thread *t, int64_t deadline_ns, int *result);

/* weft_thread_join_for - as _until with a relative timeout_ns.
 * Returns:  as _until, or EINVAL for timeout_ns < 0. */
int weft_thread_join_for(weft_thread *t, int64_t timeout_ns, int *result);

/* weft_thread_is_alive - whether t's function is still running (or its exit
 * hook). A snapshot: it may end right after. Blocks: never. */
bool weft_thread_is_alive(const weft_thread *t);

/* weft_thread_ident - Python's Thread.ident: the thread's pthread_t as an
 * integer, unique among live threads of this process (and may be reused
 * after a thread ends). Blocks: never. */
uint64_t weft_thread_ident(const weft_thread *t);

/* weft_thread_native_id - the kernel's thread id (gettid), as
 * Thread.native_id.
 * Blocks:   only if t has not started running yet, until it has.
 * Returns:  the id; 0 for a thread of the parent in a forked child. */
pid_t weft_thread_native_id(weft_thread *t);

/* weft_thread_name - copy t's name into buf (size bytes, NUL-terminated).
 * Returns:  0; ERANGE when the name did not fit (buf holds its first
 *           size-1 bytes, cut before a UTF-8 continuation byte); EINVAL for
 *           a NULL buf or size 0. */
int weft_thread_name(const weft_thread *t, char *buf, size_t size);

/* weft_thread_set_name - rename t, here and for the OS (ps, top, gdb show
 * the first 15 bytes, cut at a UTF-8 character boundary).
 * Returns:  0; EINVAL for a NULL or empty name; ENOMEM.
 * Threads:  any thread, for any live or ended thread. */
int weft_thread_set_name(weft_thread *t, const char *name);

/* weft_thread_is_daemon / weft_thread_set_daemon - the daemon flag. Setting
 * it on a live thread takes effect for the next weft_thread_shutdown check
 * (Python only allows it before start; weft allows it any time). */
bool weft_thread_is_daemon(const weft_thread *t);
void weft_thread_set_daemon(weft_thread *t, bool daemon);

/* weft_thread_current - the calling thread's handle (borrowed: valid while
 * the thread lives). For a thread weft did not start, the first call makes
 * a "dummy" handle, daemon, named "Dummy-N", alive until the thread ends.
 * Returns:  the handle; NULL only when memory for a dummy handle ran out. */
weft_thread *weft_thread_current(void);

/* weft_thread_main - the main thread's handle (borrowed), named
 * "MainThread": the process's first thread, or the forking thread in a
 * forked child. */
weft_thread *weft_thread_main(void);

/* weft_thread_cpu - the CPU the calling thread runs on as it asks
 * (sched_getcpu): a hint, out of date as soon as the scheduler moves the
 * thread. weft's waits use it to not spin for a thread that last ran on
 * the waiter's own CPU, which cannot run until the waiter stops.
 * Returns:  the CPU number (0 up), or -1 when the system cannot say. */
int weft_thread_cpu(void);

/* weft_thread_active_count - how many threads weft_thread_enumerate would
 * list now: live weft threads, dummy threads, and the main thread. */
size_t weft_thread_active_count(void);

/* weft_thread_enumerate - list the live threads.
 * Stores up to cap handles in out, each with a reference the caller drops
 * with weft_thread_unref, and returns how many threads are alive (more than
 * cap means the list was cut: call again with a larger array). out may be
 * NULL when cap is 0. */
size_t weft_thread_enumerate(weft_thread **out, size_t cap);

/* weft_thread_ref / weft_thread_unref - add or drop a reference to t.
 * Dropping the last caller reference of a thread nobody joined detaches it;
 * its handle goes when it ends. unref(NULL) does nothing. */
weft_thread *weft_thread_ref(weft_thread *t);
void weft_thread_unref(weft_thread *t);

/* weft_thread_shutdown_until - wait until every non-daemon thread weft
 * started (other than the caller) has ended: Python's exit-time wait.
 * Blocks:   until then or until CLOCK_MONOTONIC passes deadline_ns.
 * Returns:  0; ETIMEDOUT (those threads run on). */
int weft_thread_shutdown_until(int64_t deadline_ns);

/* weft_thread_shutdown - weft_thread_shutdown_until with no deadline. */
void weft_thread_shutdown(void);

/* weft_thread_set_hooks - install hooks for threads spawned from now on
 * (copied; NULL removes them). Threads already running keep theirs. */
void weft_thread_set_hooks(const weft_thread_hooks *hooks);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_THREAD_H */

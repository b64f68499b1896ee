/* thread.c - weft_thread: handles, the registry of live threads, daemon
 * shutdown, and what a forked child keeps.
 *
 * Design / invariants
 *   One registry lock (reg_mu) guards the list of live threads, the
 *   non-daemon count, every handle's name, and the OS name calls. A handle
 *   is on the list from spawn (before pthread_create, so active_count counts
 *   it as soon as spawn returns) until its thread unlists itself after its
 *   function and exit hook; the main thread and dummy threads are listed
 *   while they live.
 *
 *   References: the running thread holds one, the spawner gets one. The
 *   thread drops its own after it has published its result (done event):
 *   if that was the last, nobody can join, so it puts itself on the reap
 *   list, which the next spawn or shutdown joins (so shutdown leaves no
 *   thread half-exited); otherwise the handle lives until the last unref,
 *   which joins the (ended) thread if nobody did. Exactly one party ever
 *   calls pthread_join: whoever wins the `claimed` flag or takes the
 *   handle off the reap list, and only after `done`, so pthread_t is never
 *   used after it is released.
 *
 *   The OS name is set by the thread itself at start, under reg_mu, and by
 *   set_name on a started and listed thread under reg_mu, so the last name
 *   set is the one the OS shows: a listed thread cannot end meanwhile.
 *
 *   A thread that leaves through pthread_exit skips the normal ending; a
 *   thread-specific key whose destructor finishes the handle (result 0)
 *   covers it, and the same key ends dummy handles.
 *
 *   Fork: prepare takes reg_mu, so the child's copy of the list is whole;
 *   the child keeps only the forking thread, which becomes main, marks the
 *   others GONE and drops the references their threads held. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/thread.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef WEFT_SCHED
/* Threads spawned from an interleaving run join it (the sched build's
 * sync/src/interleave.h); elsewhere there is no run to join. */
#define weft__sched_adopt() (-1)
#define weft__sched_adopted(slot, pt, err) ((void)(slot), (void)(pt), (void)(err))
#define weft__sched_enter(slot) ((void)(slot))
#endif

#include "hb.h"
#include "name.h"
#include "weft/cond.h"
#include "weft/event.h"
#include "weft/lock.h"
#include "weft/time.h"

enum kind { SPAWNED, MAIN, DUMMY };
enum { OS_NAME_MAX = 16 }; /* bytes of a Linux thread name, with the NUL */

struct weft_thread {
    weft_thread_fn fn;
    void *arg;
    pthread_t pt;         /* written by the thread at start, under reg_mu */
    int sched_slot;       /* its place in an interleaving run, or -1 */
    pid_t tid;            /* atomic; set at start (started event) */
    unsigned kind;        /* enum kind, fixed at creation */
    unsigned refs;        /* atomic */
    unsigned claimed;     /* atomic: someone joins or detaches */
    unsigned gone;        /* atomic: a parent's thread, in a forked child */
    bool daemon;          /* atomic */
    bool listed;          /* reg_mu */
    bool counted;         /* reg_mu: in nondaemon_live */
    bool name_owned;      /* name was malloc'd */
    int result;           /* written before done is set */
    char *name;           /* reg_mu */
    weft_event started;   /* tid and pt are known */
    weft_event done;      /* function returned, result written */
    weft_thread_hooks hooks;
    weft_thread *prev, *next; /* reg_mu */
};

static weft_lock reg_mu = WEFT_LOCK_INIT;
static weft_cond reg_changed = WEFT_COND_INIT; /* a non-daemon thread ended */
static weft_thread *reg_head WEFT_GUARDED_BY(reg_mu);
static size_t reg_count WEFT_GUARDED_BY(reg_mu);
static size_t nondaemon_live WEFT_GUARDED_BY(reg_mu);
static weft_thread_hooks reg_hooks WEFT_GUARDED_BY(reg_mu);
static weft_thread *reap_head WEFT_GUARDED_BY(reg_mu); /* ended, unjoined, unreferenced */
static unsigned long spawn_counter, dummy_counter; /* atomic */

static weft_thread main_handle;
static char main_name[] = "MainThread";
static weft_thread *main_thread; /* atomic; &main_handle or the forker's */
static __thread weft_thread *self;

static pthread_key_t end_key;
static pthread_once_t end_key_once = PTHREAD_ONCE_INIT;
static bool end_key_ok;

static void link_locked(weft_thread *t) WEFT_REQUIRES(reg_mu)
{
    t->prev = NULL;
    t->next = reg_head;
    if (reg_head != NULL)
        reg_head->prev = t;
    reg_head = t;
    t->listed = true;
    reg_count++;
    t->counted = t->kind == SPAWNED && !__atomic_load_n(&t->daemon, __ATOMIC_RELAXED);
    if (t->counted)
        nondaemon_live++;
}

static void unlink_locked(weft_thread *t) WEFT_REQUIRES(reg_mu)
{
    if (!t->listed)
        return;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        reg_head = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    t->listed = false;
    reg_count--;
    if (t->counted) {
        t->counted = false;
        nondaemon_live--;
        (void)weft_cond_notify_all(&reg_changed);
    }
}

/* The name the OS shows: what fits OS_NAME_MAX with its NUL, cut at a
 * character boundary. */
static void os_name(const char *name, char out[OS_NAME_MAX])
{
    (void)weft__name_copy(name, out, OS_NAME_MAX);
}

static void free_handle(weft_thread *t)
{
    if (t == &main_handle)
        return;
    if (t->name_owned)
        free(t->name);
    free(t);
}

/* The end of t's thread, in that thread, in one critical section: store
 * the result, unlist, set done, drop the thread's own reference. Whoever
 * sees the thread unlisted or uncounted (shutdown, enumerate) also sees it
 * not alive, and, when that reference was the last (nobody can join it
 * now), already on the reap list that the next spawn or shutdown joins. */
static void end_thread(weft_thread *t, int result)
{
    bool free_it = false;
    weft_lock_acquire(&reg_mu);
    t->result = result;
    unlink_locked(t);
    weft_event_set(&t->done);
    WEFT__HB_BEFORE(&t->refs);
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        WEFT__HB_AFTER(&t->refs);
        if (t->kind == SPAWNED) {
            t->next = reap_head;
            reap_head = t;
        } else {
            free_it = true;
        }
    }
    weft_lock_release(&reg_mu);
    if (free_it)
        free_handle(t);
}

/* Join the threads on the reap list and free their handles. Each has run
 * its last weft step, so a join waits only for the C library's exit work
 * (thread-local destructors included). */
static void reap_detached(void)
{
    weft_lock_acquire(&reg_mu);
    weft_thread *t = reap_head;
    reap_head = NULL;
    weft_lock_release(&reg_mu);
    while (t != NULL) {
        weft_thread *next = t->next;
        if (pthread_equal(t->pt, pthread_self())) {
            /* Called from this thread's own thread-local destructors, after
             * it listed itself: leave it for the next reaper. */
            weft_lock_acquire(&reg_mu);
            t->next = reap_head;
            reap_head = t;
            weft_lock_release(&reg_mu);
        } else {
            (void)pthread_join(t->pt, NULL);
            free_handle(t);
        }
        t = next;
    }
}

/* Key destructor: a thread that left without the normal ending. */
static void end_by_key(void *p)
{
    weft_thread *t = (weft_thread *)p;
    self = NULL;
    end_thread(t, 0);
}

static void make_end_key(void)
{
    end_key_ok = pthread_key_create(&end_key, end_by_key) == 0;
}

static void *trampoline(void *p)
{
    weft_thread *t = (weft_thread *)p;
    weft__sched_enter(t->sched_slot); /* spawned by a scheduled thread */
    char name[OS_NAME_MAX];
    self = t;
    if (end_key_ok)
        (void)pthread_setspecific(end_key, t);
    weft_lock_acquire(&reg_mu);
    t->pt = pthread_self();
    __atomic_store_n(&t->tid, gettid(), __ATOMIC_RELAXED);
    os_name(t->name, name);
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
    weft_lock_release(&reg_mu);
    weft_event_set(&t->started);
    if (t->hooks.on_start != NULL)
        t->hooks.on_start(t, t->hooks.ctx);
    int result = t->fn(t->arg);
    if (t->hooks.on_exit != NULL)
        t->hooks.on_exit(t, &result, t->hooks.ctx);
    if (end_key_ok)
        (void)pthread_setspecific(end_key, NULL);
    self = NULL;
    end_thread(t, result);
    return NULL;
}

static weft_thread *new_handle(unsigned kind, const char *name, bool daemon)
{
    weft_thread *t = (weft_thread *)calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    char gen[32];
    if (name == NULL) {
        bool dummy = kind == DUMMY;
        unsigned long n = __atomic_add_fetch(dummy ? &dummy_counter : &spawn_counter, 1,
                                             __ATOMIC_RELAXED);
        (void)snprintf(gen, sizeof gen, "%s-%lu", dummy ? "Dummy" : "Thread", n);
        name = gen;
    }
    t->name = strdup(name);
    if (t->name == NULL) {
        free(t);
        return NULL;
    }
    t->name_owned = true;
    t->kind = kind;
    t->daemon = daemon;
    (void)weft_event_init(&t->started, 0);
    (void)weft_event_init(&t->done, 0);
    return t;
}

int weft_thread_spawn(weft_thread **out, weft_thread_fn fn, void *arg,
                      const weft_thread_opts *opts)
{
    static const weft_thread_opts defaults = {NULL, false, 0};
    if (opts == NULL)
        opts = &defaults;
    if (out == NULL || fn == NULL || (opts->stack_size != 0 && opts->stack_size < (size_t)PTHREAD_STACK_MIN))
        return EINVAL;
    (void)pthread_once(&end_key_once, make_end_key);
    reap_detached();
    weft_thread *t = new_handle(SPAWNED, opts->name, opts->daemon);
    if (t == NULL)
        return ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->refs = 2; /* the caller's and the thread's own */

    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err == 0 && opts->stack_size != 0)
        err = pthread_attr_setstacksize(&attr, opts->stack_size);
    if (err == 0) {
        weft_lock_acquire(&reg_mu);
        t->hooks = reg_hooks;
        link_locked(t);
        weft_lock_release(&reg_mu);
        pthread_t pt;
        t->sched_slot = weft__sched_adopt();
        err = pthread_create(&pt, &attr, trampoline, t);
        weft__sched_adopted(t->sched_slot, err == 0 ? (unsigned long)pt : 0UL, err);
        if (err != 0) {
            /* Listed, so weft_thread_enumerate may have handed out a
             * reference meanwhile: end the handle as a thread that never
             * ran (done, nothing to join) and drop the two references
             * spawn made; the last holder frees it. */
            weft_lock_acquire(&reg_mu);
            unlink_locked(t);
            __atomic_store_n(&t->claimed, 1, __ATOMIC_RELEASE);
            weft_event_set(&t->done);
            weft_event_set(&t->started);
            weft_lock_release(&reg_mu);
            if (__atomic_sub_fetch(&t->refs, 2, __ATOMIC_ACQ_REL) != 0)
                t = NULL;
        }
    }
    (void)pthread_attr_destroy(&attr);
    if (err != 0) {
        if (t != NULL)
            free_handle(t);
        return err;
    }
    *out = t;
    return 0;
}

int weft_thread_join_until(weft_thread *t, int64_t deadline_ns, int *result)
{
    if (t == self)
        return EDEADLK;
    if (__atomic_load_n(&t->gone, __ATOMIC_ACQUIRE))
        return ESRCH;
    if (t->kind != SPAWNED || __atomic_load_n(&t->claimed, __ATOMIC_ACQUIRE))
        return EINVAL;
    int err = weft_event_wait_until(&t->done, deadline_ns);
    if (err != 0)
        return err;
    if (__atomic_load_n(&t->gone, __ATOMIC_ACQUIRE))
        return ESRCH;
    if (__atomic_exchange_n(&t->claimed, 1, __ATOMIC_ACQ_REL))
        return EINVAL;
    err = pthread_join(t->pt, NULL);
    if (err != 0)
        return err;
    if (result != NULL)
        *result = t->result;
    return 0;
}

int weft_thread_join(weft_thread *t, int *result)
{
    return weft_thread_join_until(t, WEFT_DEADLINE_NEVER, result);
}

int weft_thread_join_for(weft_thread *t, int64_t timeout_ns, int *result)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_thread_join_until(t, weft_time_deadline_ns(timeout_ns), result);
}

bool weft_thread_is_alive(const weft_thread *t)
{
    if (__atomic_load_n(&t->gone, __ATOMIC_ACQUIRE))
        return false;
    return !weft_event_is_set((weft_event *)&t->done);
}

uint64_t weft_thread_ident(const weft_thread *t)
{
    weft_event_wait((weft_event *)&t->started);
    return (uint64_t)t->pt;
}

pid_t weft_thread_native_id(weft_thread *t)
{
    if (__atomic_load_n(&t->gone, __ATOMIC_ACQUIRE))
        return 0;
    weft_event_wait(&t->started);
    return __atomic_load_n(&t->tid, __ATOMIC_RELAXED);
}

int weft_thread_name(const weft_thread *t, char *buf, size_t size)
{
    weft_lock_acquire(&reg_mu);
    int err = weft__name_copy(t->name, buf, size);
    weft_lock_release(&reg_mu);
    return err;
}

int weft_thread_set_name(weft_thread *t, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return EINVAL;
    char *copy = strdup(name);
    if (copy == NULL)
        return ENOMEM;
    char osn[OS_NAME_MAX];
    os_name(copy, osn);
    weft_lock_acquire(&reg_mu);
    char *old = t->name_owned ? t->name : NULL;
    t->name = copy;
    t->name_owned = true;
    if (t == self)
        (void)prctl(PR_SET_NAME, osn, 0, 0, 0);
    else if (t->listed && weft_event_is_set(&t->started))
        (void)pthread_setname_np(t->pt, osn); /* best effort: /proc may be absent */
    weft_lock_release(&reg_mu);
    free(old);
    return 0;
}

bool weft_thread_is_daemon(const weft_thread *t)
{
    return __atomic_load_n(&t->daemon, __ATOMIC_RELAXED);
}

void weft_thread_set_daemon(weft_thread *t, bool daemon)
{
    weft_lock_acquire(&reg_mu);
    __atomic_store_n(&t->daemon, daemon, __ATOMIC_RELAXED);
    bool count = t->listed && t->kind == SPAWNED && !daemon;
    if (count != t->counted) {
        t->counted = count;
        if (count) {
            nondaemon_live++;
        } else {
            nondaemon_live--;
            (void)weft_cond_notify_all(&reg_changed);
        }
    }
    weft_lock_release(&reg_mu);
}

weft_thread *weft_thread_current(void)
{
    if (self != NULL)
        return self;
    weft_thread *m = __atomic_load_n(&main_thread, __ATOMIC_ACQUIRE);
    if (m != NULL && m->kind == MAIN && gettid() == getpid()) {
        /* weft was loaded by another thread (dlopen): the main thread's
         * handle learns who it is on its first call. */
        weft_lock_acquire(&reg_mu);
        m->pt = pthread_self();
        weft_lock_release(&reg_mu);
        self = m;
        return m;
    }
    (void)pthread_once(&end_key_once, make_end_key);
    if (!end_key_ok)
        return NULL; /* could not end it: no dummy that would outlive us */
    weft_thread *t = new_handle(DUMMY, NULL, true);
    if (t == NULL)
        return NULL;
    t->refs = 1;
    t->pt = pthread_self();
    t->tid = gettid();
    weft_event_set(&t->started);
    if (pthread_setspecific(end_key, t) != 0) {
        free_handle(t);
        return NULL;
    }
    weft_lock_acquire(&reg_mu);
    link_locked(t);
    weft_lock_release(&reg_mu);
    return self = t;
}

weft_thread *weft_thread_main(void)
{
    return __atomic_load_n(&main_thread, __ATOMIC_ACQUIRE);
}

int weft_thread_cpu(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? -1 : cpu;
}

size_t weft_thread_active_count(void)
{
    weft_lock_acquire(&reg_mu);
    size_t n = reg_count;
    weft_lock_release(&reg_mu);
    return n;
}

size_t weft_thread_enumerate(weft_thread **out, size_t cap)
{
    weft_lock_acquire(&reg_mu);
    size_t i = 0;
    for (weft_thread *t = reg_head; t != NULL && i < cap; t = t->next)
        out[i++] = weft_thread_ref(t);
    size_t n = reg_count;
    weft_lock_release(&reg_mu);
    return n;
}

weft_thread *weft_thread_ref(weft_thread *t)
{
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void weft_thread_unref(weft_thread *t)
{
    if (t == NULL || t == &main_handle)
        return;
    WEFT__HB_BEFORE(&t->refs);
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    WEFT__HB_AFTER(&t->refs);
    /* The thread dropped its own reference, so it has ended; reap it
     * unless it was joined (or is a parent's thread in a forked child). */
    if (t->kind == SPAWNED && !__atomic_load_n(&t->gone, __ATOMIC_ACQUIRE) &&
        !__atomic_exchange_n(&t->claimed, 1, __ATOMIC_ACQ_REL))
        (void)pthread_join(t->pt, NULL);
    free_handle(t);
}

int weft_thread_shutdown_until(int64_t deadline_ns)
{
    weft_thread *me = self;
    int err = 0;
    weft_lock_acquire(&reg_mu);
    for (;;) {
        size_t others = nondaemon_live - (me != NULL && me->counted ? 1 : 0);
        if (others == 0 || err != 0)
            break;
        err = weft_cond_wait_until(&reg_changed, &reg_mu, deadline_ns);
    }
    size_t others = nondaemon_live - (me != NULL && me->counted ? 1 : 0);
    weft_lock_release(&reg_mu);
    if (others != 0)
        return ETIMEDOUT;
    reap_detached();
    return 0;
}

void weft_thread_shutdown(void)
{
    (void)weft_thread_shutdown_until(WEFT_DEADLINE_NEVER);
}

void weft_thread_set_hooks(const weft_thread_hooks *hooks)
{
    static const weft_thread_hooks none = {NULL, NULL, NULL};
    weft_lock_acquire(&reg_mu);
    reg_hooks = hooks != NULL ? *hooks : none;
    weft_lock_release(&reg_mu);
}

/* Fork handlers. */

static void fork_prepare(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_acquire(&reg_mu);
}

static void fork_parent(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_release(&reg_mu);
}

static void fork_child(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_thread *me = self;
    weft_thread *t = reg_head;
    while (t != NULL) {
        weft_thread *next = t->next;
        if (t != me) {
            unlink_locked(t);
            __atomic_store_n(&t->gone, 1, __ATOMIC_RELEASE);
            weft_event_set(&t->done);
            /* Its thread will never drop its own reference here. */
            if (t != &main_handle && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
                free_handle(t);
        }
        t = next;
    }
    /* Threads on the reap list do not exist here: nothing to join. */
    for (t = reap_head; t != NULL;) {
        weft_thread *next = t->next;
        free_handle(t);
        t = next;
    }
    reap_head = NULL;
    if (me == NULL) {
        /* A thread unknown to weft forked: it is the child's main thread,
         * and the static handle describes it now. */
        me = &main_handle;
        me->pt = pthread_self();
        me->tid = gettid();
        __atomic_store_n(&me->gone, 0, __ATOMIC_RELEASE);
        (void)weft_event_init(&me->done, 0);
        link_locked(me);
        self = me;
    } else if (me->kind == SPAWNED) {
        /* No join, and not counted as a non-daemon thread: it is main now. */
        __atomic_store_n(&me->claimed, 1, __ATOMIC_RELEASE);
        if (me->counted) {
            me->counted = false;
            nondaemon_live--;
        }
    }
    me->tid = gettid();
    __atomic_store_n(&main_thread, me, __ATOMIC_RELEASE);
    weft_lock_release(&reg_mu);
}

/* Runs in the thread that loads weft: the main thread of a program linked
 * with it. */
__attribute__((constructor)) static void thread_module_init(void)
{
    weft_thread *m = &main_handle;
    m->kind = MAIN;
    m->name = main_name;
    m->refs = 1;
    m->pt = pthread_self();
    m->tid = getpid();
    weft_event_set(&m->started);
    if (gettid() == getpid())
        self = m;
    weft_lock_acquire(&reg_mu);
    link_locked(m);
    weft_lock_release(&reg_mu);
    __atomic_store_n(&main_thread, m, __ATOMIC_RELEASE);
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* gilimpl.h - what gil.c and gil_registry.c share (internal).
 *
 * A member is one thread's record of its use of one GIL: its identity as a
 * holder (the GIL's `holder` points to it), its place in the fair mode's
 * queue, and its counters. Members live on the heap from a thread's first
 * use of a GIL until that thread exits, so a waker may touch a waiter's word
 * for as long as it holds the GIL's mu (the exiting thread frees its members
 * only under mu). */
#ifndef WEFT_SYNC_GILIMPL_H
#define WEFT_SYNC_GILIMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/gil.h"

/* A thread's place in the fair mode's queue. word: W_WAIT, W_SLEEP (the
 * waiter may be asleep on it), W_GRANTED (the GIL is now the waiter's). */
enum { W_WAIT = 0, W_GRANTED = 1, W_SLEEP = 2 };

struct weft__gil_waiter {
    uint32_t word;
    bool prio;         /* in the priority (I/O-bound) queue */
    bool switched;     /* set by the granter: the holder changed */
    int64_t since;     /* when it was queued */
    struct weft__gil_waiter *next;
    struct weft__gil_member *member;
};

struct weft__gil_member {
    weft_gil *g;       /* NULL once g is destroyed (registry lock) */
    uint64_t gil_id;   /* g->id; never changes */
    const void *owner; /* identifies the thread (its list head's address) */
    int32_t tid;       /* kernel thread id, for reports */
    bool held;         /* this thread holds g; the owning thread only */
    bool io_bound;     /* last hold ended voluntarily within an interval;
                          read and written by the owning thread only */
    struct weft__gil_member *thread_next; /* the thread's members (registry) */
    struct weft__gil_member *gil_prev, *gil_next; /* g->members (registry) */
    struct weft__gil_waiter waiter;
    weft_gil_stats stats;
};

/* The calling thread's member for g; with create, made on first use
 * (NULL only if that allocation fails); without, NULL if none. */
struct weft__gil_member *weft__gil_self(weft_gil *g, bool create);

/* Add g to the process-wide list (assigns g->id); remove it, orphaning its
 * members. Registry functions take the registry lock themselves. */
void weft__gil_register(weft_gil *g);
int weft__gil_unregister(weft_gil *g);

/* The final release of a GIL the exiting thread holds: called by the
 * registry at thread exit with g->mu held (gil.c). */
void weft__gil_release_at_exit(weft_gil *g, struct weft__gil_member *m)
    WEFT_REQUIRES(g->mu);

/* Counters: updated with relaxed atomics, so readers need no lock. */
static inline void weft__gil_add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static inline void weft__gil_add_ns(int64_t *c, int64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Count one contended wait of `ns` into s (histogram and maximum). */
void weft__gil_count_wait(weft_gil_stats *s, int64_t ns);

#endif /* WEFT_SYNC_GILIMPL_H */

/* robust.c - robust process-shared words over the kernel's robust list.
 *
 * Design / invariants
 *   Acquire moves the word from 0 to our tid (or, after we have slept on
 *   it once, to tid | WAITERS, since other sleepers may remain - the same
 *   reason the word lock re-acquires as CONTENDED). A word with OWNER_DIED
 *   set is free to take: we keep its WAITERS bit and report EOWNERDEAD.
 *   Before sleeping a waiter sets WAITERS, so a release (exchange with 0)
 *   that takes out WAITERS wakes one sleeper, and the kernel does the same
 *   when the holder dies.
 *
 *   The kernel finds held words through the holder's robust list, so every
 *   change of ownership is bracketed by list_op_pending: it points at the
 *   word's link while we acquire (so a death between taking the word and
 *   linking it is still seen, and a waiter killed after its wake-up, on a
 *   free word, has the kernel wake the next) and while we release (from
 *   unlinking until after the wake-up that follows clearing the word: a
 *   death in between leaves the word free and pending, and the kernel then
 *   wakes a sleeper in our stead). The list itself is glibc's per-thread list; we link
 *   our words exactly as glibc links its robust mutexes (see robust.h), and
 *   only the owning thread ever touches its list, as with glibc's. Compiler
 *   barriers order the link stores as the kernel may read them at any
 *   instruction (it reads the list only when this thread dies).
 *
 *   Why a sleeper count as well as the WAITERS bit: a release that takes
 *   out WAITERS wakes one sleeper, which re-marks WAITERS when it takes the
 *   word. If its process is killed between the wake-up and that, and the
 *   releaser has meanwhile taken the word back (0 -> tid, no WAITERS), the
 *   other sleepers are asleep on a word that no longer says so, and the
 *   next release would wake nobody: stranded. (The kernel covers only the
 *   case where the word is still 0 when the woken thread dies.) So sleepers
 *   also count themselves in `sleepers` around each sleep, and a release
 *   wakes one whenever the count is non-zero. A count left behind by a
 *   sleeper killed while asleep costs later releases a futex wake system
 *   call each, never a stranded waiter. For the same reason an acquire that
 *   sees counted sleepers takes the word with WAITERS set, so that if it
 *   dies holding it the kernel wakes one of them.
 *
 *   If a thread has no robust list registered at all (a libc that does not
 *   use one), we register one of our own for it, with our layout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "robust.h"

#include <errno.h>
#include <linux/futex.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic.h"
#include "futex.h"
#include "self.h"
#include "weft/time.h"
#include "wordlock.h"

/* The list head as the kernel defines it (struct robust_list_head), with
 * glibc's `prev` word just before it (see robust.h). */
struct rb_head {
    void *list;           /* points at the first entry's `next` field */
    long futex_offset;    /* from an entry's `next` field to its word */
    void *list_op_pending;
};

#define FUTEX_OFFSET (-(long)(WEFT__RB_LINK_OFFSET + sizeof(void *)))

/* A head for threads that have none (not used under glibc). */
static __thread struct {
    void *prev;
    struct rb_head head;
} own_head;
static __thread struct rb_head *thread_head; /* cached; NULL until looked up */
static __thread int thread_status;          /* 0 unknown, 1 ok, 2 unusable */

static struct rb_head *head(void)
{
    if (thread_status == 1)
        return thread_head;
    if (thread_status == 2)
        return NULL;
    struct rb_head *h = NULL;
    size_t len = 0;
    if (syscall(SYS_get_robust_list, 0, &h, &len) != 0 || h == NULL) {
        own_head.prev = &own_head.head;
        own_head.head.list = &own_head.head;
        own_head.head.futex_offset = FUTEX_OFFSET;
        own_head.head.list_op_pending = NULL;
        if (syscall(SYS_set_robust_list, &own_head.head,
                    sizeof own_head.head) != 0) {
            thread_status = 2;
            return NULL;
        }
        h = &own_head.head;
    }
    if (h->futex_offset != FUTEX_OFFSET) {
        thread_status = 2;
        return NULL;
    }
    thread_head = h;
    thread_status = 1;
    return h;
}

int weft__rb_check(void)
{
    return head() != NULL ? 0 : ENOTSUP;
}

static struct weft__rb_link *link_of(uint32_t *word)
{
    return (struct weft__rb_link *)(void *)((char *)word + WEFT__RB_LINK_OFFSET);
}

/* A pointer to an entry's `next` field (whose bit 0 glibc may use as a
 * mark), back to the entry's links. */
static struct weft__rb_link *entry_of(void *next_field)
{
    char *p = (char *)next_field;
    p -= (uintptr_t)next_field & 1u;
    return (struct weft__rb_link *)(void *)(p - offsetof(struct weft__rb_link, next));
}

static void barrier(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void set_pending(struct rb_head *h, struct weft__rb_link *l)
{
    h->list_op_pending = &l->next;
    barrier();
}

static void clear_pending(struct rb_head *h)
{
    barrier();
    h->list_op_pending = NULL;
}

static void enqueue(struct rb_head *h, struct weft__rb_link *l)
{
    struct weft__rb_link *first = entry_of(h->list);
    first->prev = &l->next;
    l->next = h->list;
    l->prev = &h->list;
    barrier(); /* the entry is complete before the head points to it */
    h->list = &l->next;
}

static void dequeue(struct weft__rb_link *l)
{
    struct weft__rb_link *next = entry_of(l->next);
    struct weft__rb_link *prev = entry_of(l->prev);
    next->prev = l->prev;
    prev->next = l->next;
    barrier();
    l->prev = NULL;
    l->next = NULL;
}

int weft__rb_acquire(uint32_t *word, uint32_t *sleepers, int64_t deadline_ns,
                     bool try_only)
{
    struct rb_head *h = head();
    if (h == NULL)
        return ENOTSUP;
    uint32_t me = (uint32_t)weft__self_shared();
    uint32_t keep = 0; /* WAITERS once we have slept: others may sleep too */
    int result = 0, spins = 0;
    unsigned backoff = WEFT_LOCK_BACKOFF_MIN;
    set_pending(h, link_of(word));
    for (;;) {
        uint32_t c = 0;
        /* Counted sleepers mean WAITERS must be on the word we take, or a
         * death of ours would wake none of them (the kernel reads the bit);
         * a sleeper that counts itself in later sets the bit itself. */
        uint32_t mark = keep;
        if (__atomic_load_n(sleepers, __ATOMIC_SEQ_CST) != 0)
            mark = WEFT__RB_WAITERS;
        if (weft__cas_acquire(word, &c, me | mark))
            break;
        if (c == WEFT__RB_NOTRECOVERABLE) {
            result = ENOTRECOVERABLE;
            break;
        }
        if (c & WEFT__RB_OWNER_DIED) {
            if (weft__cas_acquire(word, &c, me | (c & WEFT__RB_WAITERS))) {
                result = EOWNERDEAD;
                break;
            }
            continue;
        }
        if (c == 0)
            continue;
        if (try_only) {
            result = EBUSY;
            break;
        }
        if (keep == 0 && spins++ < WEFT_LOCK_SPINS) {
            /* Spin first, as the word lock does (wordlock.h). */
            for (unsigned j = 0; j < backoff; j++)
                weft__cpu_relax();
            if (backoff < WEFT_LOCK_BACKOFF_MAX)
                backoff <<= 1;
            continue;
        }
        if (!(c & WEFT__RB_WAITERS)) {
            uint32_t w = c | WEFT__RB_WAITERS;
            if (!weft__cas_acquire(word, &c, w))
                continue;
            c = w;
        }
        keep = WEFT__RB_WAITERS;
        __atomic_fetch_add(sleepers, 1, __ATOMIC_SEQ_CST);
        int r = 0;
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == c)
            r = weft__futex_wait(word, c, deadline_ns, true);
        __atomic_fetch_sub(sleepers, 1, __ATOMIC_RELAXED);
        if (r == ETIMEDOUT) {
            result = ETIMEDOUT;
            break;
        }
    }
    if (result == 0 || result == EOWNERDEAD)
        enqueue(h, link_of(word));
    clear_pending(h);
    return result;
}

static void release_to(uint32_t *word, const uint32_t *sleepers,
                       uint32_t value, int wake)
{
    struct rb_head *h = head();
    if (h == NULL)
        abort(); /* cannot happen: the acquire that preceded needed it */
    struct weft__rb_link *l = link_of(word);
    set_pending(h, l);
    dequeue(l);
    uint32_t prev = __atomic_exchange_n(word, value, __ATOMIC_SEQ_CST);
    if ((prev & WEFT__RB_WAITERS) || wake > 1 ||
        (sleepers != NULL && __atomic_load_n(sleepers, __ATOMIC_SEQ_CST) != 0))
        (void)weft__futex_wake(word, wake, true);
    /* Pending until after the wake-up: killed between the exchange and the
     * wake, we leave a free word and a sleeper that nobody would wake; the
     * kernel wakes one when the pending word of a dying thread is 0 (Linux
     * 5.5 and later: "futex: Prevent robust futex exit race"). A release
     * to NOTRECOVERABLE has no such cover: it happens only after a repair
     * failed, and its waiters should have deadlines. */
    clear_pending(h);
}

void weft__rb_release(uint32_t *word, const uint32_t *sleepers)
{
    release_to(word, sleepers, 0, 1);
}

void weft__rb_release_unrecoverable(uint32_t *word)
{
    release_to(word, NULL, WEFT__RB_NOTRECOVERABLE, INT32_MAX);
}

bool weft__rb_held(const uint32_t *word)
{
    uint32_t c = weft__load_relaxed(word);
    return c != WEFT__RB_NOTRECOVERABLE &&
           (c & WEFT__RB_TID_MASK) == (uint32_t)weft__self_shared();
}

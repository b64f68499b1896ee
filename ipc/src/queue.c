/* queue.c - weft_queue: a descriptor ring and a byte ring in one shared
 * block, behind two robust locks.
 *
 * Design / invariants
 *   Block: struct q_hdr, then `nslots` slots, then `nleases` leases, then
 *   `cap` bytes of message data (each part 64-byte aligned). Message k
 *   (k = 0, 1, ... counts puts) is described by slot k % nslots: its byte
 *   position `start` (a 64-bit count that only grows; the bytes sit at
 *   data[start % cap], never split by the ring's end), its length, and its
 *   state: READY, LEASED+i (reserved under lease i) or DONE.
 *
 *   Producers hold `plock`; all they publish is `tail`, the number of
 *   messages committed. A put writes the bytes and the slot past tail, then
 *   commits with one store of tail+1: before it the message does not exist,
 *   after it it is whole. A put_many writes k messages so and commits them
 *   all with one store of tail+k. Free space is derived from the slots (the newest
 *   slot's end, the oldest's start), never from a separate counter that a
 *   death between two stores could leave wrong.
 *
 *   Consumers hold `clock`. `head` is the oldest message whose slot is not
 *   reclaimed (producers read it to see free space); `rd` is the first
 *   READY message at or after head; every message in [head, rd) is LEASED
 *   or DONE. A get commits with one store to the slot's state (DONE, or
 *   LEASED+i for a reservation), or, for the message at head, with the
 *   store of head+1 that reclaims it; a get_many that takes k messages
 *   from head (none reserved) commits them with one store of head+k.
 *   Moving rd and head afterwards is bookkeeping that anyone holding clock
 *   can redo from the states and head. So a
 *   consumer that dies holding clock leaves only stale bookkeeping, which
 *   the next holder rebuilds (repair(), on EOWNERDEAD).
 *
 *   A lease is a robust rlock held by the reserving thread, and the seq of
 *   the message it holds. If that thread ends or its process dies, the
 *   kernel marks the lock's owner dead; reap() finds such leases, turns
 *   their messages back to READY (moving rd back) and frees them. ack marks
 *   DONE first (the commit), then frees the lease.
 *
 *   Wake-ups: consumers sleep on put_seq, producers on free_seq, joiners on
 *   done_seq. A sleeper counts itself in *_waiters (seq_cst), then checks
 *   the word that would show progress (tail, head) before sleeping; a
 *   waker publishes progress, lets go of its lock (a full barrier, see
 *   bump_and_wake), then reads the waiter count and, when non-zero, bumps
 *   the seq and wakes. One of the two always sees the other (Dekker): no
 *   lost wake-up between live processes. The futex call itself is made
 *   only when bit 0 of the seq says a waiter sleeps on its value (waiters
 *   set it before they sleep; see bump_seen), so a waker whose waiters
 *   are all woken already - but have not run yet - makes no system call.
 *   Before it counts itself, a waiter spins a while (progress across
 *   cores is often that close), unless the other side's last put or get
 *   ran on its own CPU (the put_cpu and get_cpu hints): that side cannot
 *   run until it stops, so it yields the CPU once instead, and sleeps if
 *   that brought nothing.
 *
 *   A waker can die between its commit and its wake. So a sleeper sleeps
 *   in slices of Q_REAP_SLICE_NS, and sleeps without a time limit
 *   ("parks") only after Q_PARK_AFTER_NS of waiting (an idle queue), and
 *   only while no one can be in that window. Consumers park only while
 *   plock is free and no reservation is out: everything that makes a
 *   message available (put, release, reaping a dead reservation) runs
 *   under plock, and release and reap, which tail does not show, bump
 *   put_seq before letting go of plock and of the reservation. Producers
 *   park only while clock is free and no reservation is out: everything
 *   that frees space runs under clock (an ack moves head before it frees
 *   its lease), and a producer that waits a second round takes clock,
 *   which repairs after a consumer that died in it. Parkers count
 *   themselves in *_parked and then look at the lock; whoever takes the
 *   lock then reads *_parked and wakes them first, so they look again,
 *   see the lock held, and sleep at most REAP_SLICE_NS at a time from
 *   then on. A waker that dies in the window thus delays its sleepers by
 *   one slice at most, and the slices also notice reservations whose
 *   holders died. Joiners and closers are rare: joins always sleep in
 *   slices, and close runs under both locks. The consumers' side is
 *   modelled in tests/models/queue_wakeup.pml.
 *
 *   Trust: the shape (cap, nslots, nleases) is copied into the handle at
 *   create/attach after validation; everything read later from the block
 *   (tail, head, rd, slots, lease seqs) is checked against those copies
 *   before it is used to index, and a failed check returns EPROTO. */
#include "weft/queue.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "weft/flags.h"
#include "weft/futex.h"
#include "weft/rlock.h"
#include "weft/shm.h"
#include "weft/thread.h"
#include "weft/time.h"
#include "weft/tsa.h"

#include "copy.h"
#include "queue_layout.h"

struct weft_queue {
    weft_shm *shm;
    struct q_hdr *h;
    struct q_slot *slots;
    struct q_lease *leases;
    unsigned char *data;
    uint64_t cap, nslots; /* validated copies of the shape */
    /* cap - 1 and nslots - 1 when they are powers of two (the defaults
     * are), else 0: a mask then replaces a division on every message. */
    uint64_t cap_mask, slot_mask;
    unsigned nleases, flags;
    /* This process's last reads of the other side's index: only ever
     * behind the real one, so a decision made on them is conservative,
     * and re-read when they say full (p_head) or empty (c_tail). */
    uint64_t p_head; /* plock */
    uint64_t c_tail; /* clock */
    /* Consumers' lingering (see linger()): waits left to skip, and the
     * skip the last linger that gained nothing set (0 after one that
     * gained; the next that gains nothing doubles it). Relaxed atomics
     * shared by this process's threads: a lost update only shifts a
     * heuristic. */
    uint32_t linger_skip, linger_backoff;
};

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define LOAD_SC(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)

static uint64_t round8(uint64_t n) { return (n + 7u) & ~(uint64_t)7u; }
static uint64_t round_line(uint64_t n) { return (n + Q_LINE - 1u) / Q_LINE * Q_LINE; }

/* The block's layout for a shape; 0 when it does not fit in size_t. */
static uint64_t layout(uint64_t cap, uint64_t nslots, unsigned nleases, uint64_t *slots_off,
                       uint64_t *leases_off, uint64_t *data_off)
{
    *slots_off = round_line(sizeof(struct q_hdr));
    *leases_off = round_line(*slots_off + nslots * sizeof(struct q_slot));
    *data_off = round_line(*leases_off + (uint64_t)nleases * sizeof(struct q_lease));
    uint64_t total = *data_off + cap;
    return total > SIZE_MAX ? 0 : total;
}

static int wrap(weft_queue **out, weft_shm *shm, uint64_t cap, uint64_t nslots, unsigned nleases,
                unsigned flags)
{
    weft_queue *q = (weft_queue *)calloc(1, sizeof *q);
    if (!q)
        return ENOMEM;
    uint64_t so, lo, dof;
    (void)layout(cap, nslots, nleases, &so, &lo, &dof);
    unsigned char *base = (unsigned char *)weft_shm_addr(shm);
    q->shm = shm;
    q->h = (struct q_hdr *)(void *)base;
    q->slots = (struct q_slot *)(void *)(base + so);
    q->leases = (struct q_lease *)(void *)(base + lo);
    q->data = base + dof;
    q->cap = cap;
    q->nslots = nslots;
    q->cap_mask = (cap & (cap - 1)) == 0 ? cap - 1 : 0;
    q->slot_mask = (nslots & (nslots - 1)) == 0 ? nslots - 1 : 0;
    q->nleases = nleases;
    q->flags = flags;
    q->p_head = LOAD(&q->h->head);
    q->c_tail = LOAD(&q->h->tail);
    *out = q;
    return 0;
}

int weft_queue_create(weft_queue **out, const char *name, const weft_queue_opts *opts)
{
    if (!out)
        return EINVAL;
    weft_queue_opts o = {0, 0, 0, 0};
    if (opts)
        o = *opts;
    if ((o.flags & ~(WEFT_QUEUE_JOINABLE | WEFT_QUEUE_SIMPLE)) != 0)
        return EINVAL;
    bool simple = (o.flags & WEFT_QUEUE_SIMPLE) != 0;
    uint64_t cap = o.capacity ? round8(o.capacity) : (uint64_t)1 << 20;
    uint64_t nslots = o.max_messages;
    if (nslots == 0) {
        nslots = simple ? cap / 8 : cap / 64;
        if (nslots < 16)
            nslots = 16;
    }
    unsigned nleases = simple ? 0 : (o.max_reserved ? o.max_reserved : 64);
    if ((uint64_t)o.capacity > Q_CAP_MAX || nslots > Q_SLOTS_MAX || nleases > Q_LEASES_MAX ||
        (simple && o.max_reserved))
        return EINVAL;
    uint64_t so, lo, dof;
    uint64_t total = layout(cap, nslots, nleases, &so, &lo, &dof);
    if (total == 0)
        return ENOMEM;
    weft_shm *shm;
    int rc = weft_shm_create(&shm, name, (size_t)total);
    if (rc)
        return rc;
    struct q_hdr *h = (struct q_hdr *)weft_shm_addr(shm);
    h->version = Q_VERSION;
    h->flags = o.flags;
    h->nleases = nleases;
    h->cap = cap;
    h->nslots = nslots;
    h->slots_off = so;
    h->leases_off = lo;
    h->data_off = dof;
    h->total = total;
    rc = weft_rlock_init(&h->plock, WEFT_SHARED | WEFT_NORECURSE);
    if (rc == 0)
        rc = weft_rlock_init(&h->clock, WEFT_SHARED | WEFT_NORECURSE);
    struct q_lease *leases = (struct q_lease *)(void *)((unsigned char *)h + lo);
    for (unsigned i = 0; rc == 0 && i < nleases; i++) {
        rc = weft_rlock_init(&leases[i].lk, WEFT_SHARED | WEFT_NORECURSE);
        leases[i].seq = Q_FREE_SEQ;
    }
    if (rc == 0)
        rc = wrap(out, shm, cap, nslots, nleases, o.flags);
    if (rc) {
        if (name)
            (void)weft_shm_unlink(name);
        (void)weft_shm_detach(shm);
        return rc;
    }
    STORE(&h->magic, Q_MAGIC);
    return 0;
}

int weft_queue_attach(weft_queue **out, const char *name)
{
    if (!out || !name)
        return EINVAL;
    weft_shm *shm;
    int rc = weft_shm_attach(&shm, name);
    if (rc)
        return rc;
    size_t size = weft_shm_size(shm);
    const struct q_hdr *h = (const struct q_hdr *)weft_shm_addr(shm);
    uint32_t magic = size >= sizeof *h ? LOAD(&h->magic) : 1u;
    if (magic == 0) {
        rc = EAGAIN; /* the creator has not finished */
    } else if (size < sizeof *h || magic != Q_MAGIC || h->version != Q_VERSION) {
        rc = EPROTO;
    } else {
        uint64_t cap = h->cap, nslots = h->nslots;
        unsigned nleases = h->nleases, flags = h->flags;
        uint64_t so = 0, lo = 0, dof = 0, total = 0;
        if (cap > 0 && cap <= Q_CAP_MAX && cap % 8 == 0 && nslots > 0 && nslots <= Q_SLOTS_MAX &&
            nleases <= Q_LEASES_MAX && (flags & ~(WEFT_QUEUE_JOINABLE | WEFT_QUEUE_SIMPLE)) == 0)
            total = layout(cap, nslots, nleases, &so, &lo, &dof);
        uint64_t tail = LOAD(&h->tail), head = LOAD(&h->head);
        if (total == 0 || total != h->total || total != size || so != h->slots_off ||
            lo != h->leases_off || dof != h->data_off || head > tail || tail - head > nslots ||
            h->rd < head || h->rd > tail)
            rc = EPROTO;
        else
            rc = wrap(out, shm, cap, nslots, nleases, flags);
    }
    if (rc)
        (void)weft_shm_detach(shm);
    return rc;
}

void weft_queue_free(weft_queue *q) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!q)
        return;
    /* A lease still held is linked in this thread's robust list, which
     * must not point into memory about to be unmapped: let go of it, and
     * its message returns to the queue as a dead holder's would. */
    for (unsigned i = 0; i < q->nleases; i++)
        if (weft_rlock_is_owned(&q->leases[i].lk))
            (void)weft_rlock_release(&q->leases[i].lk);
    (void)weft_shm_detach(q->shm);
    free(q);
}

int weft_queue_unlink(const char *name) { return weft_shm_unlink(name); }

size_t weft_queue_capacity(const weft_queue *q) { return (size_t)q->cap; }
size_t weft_queue_max_messages(const weft_queue *q) { return (size_t)q->nslots; }

/* ---- slots ---------------------------------------------------------- */

/* The index of message seq's slot. */
static inline uint64_t slot_index(const weft_queue *q, uint64_t seq)
{
    return q->slot_mask ? seq & q->slot_mask : seq % q->nslots;
}

static inline struct q_slot *slot(const weft_queue *q, uint64_t seq)
{
    return &q->slots[slot_index(q, seq)];
}

/* A byte position's offset in the data ring. */
static inline uint64_t ring_off(const weft_queue *q, uint64_t pos)
{
    return q->cap_mask ? pos & q->cap_mask : pos % q->cap;
}

/* A slot's position and length, read once: what is checked must be what
 * is used, even if a damaged block changes under the reader. */
struct span {
    uint64_t start;
    uint32_t len;
};

/* Whether a message at sp.start of sp.len bytes lies inside a data ring
 * of cap bytes (cap_mask: cap - 1 if a power of two, else 0); *off: its
 * offset in the ring. */
static inline bool span_ok(uint64_t cap, uint64_t cap_mask, struct span sp, uint64_t *off)
{
    *off = cap_mask ? sp.start & cap_mask : sp.start % cap;
    return sp.start <= Q_POS_MAX && sp.start % 8 == 0 && sp.len <= cap &&
           *off + round8(sp.len) <= cap;
}

/* Read slot s and check that it describes bytes inside the data ring:
 * true and *sp, or false (damaged). */
static inline bool read_slot(const weft_queue *q, const struct q_slot *s, struct span *sp)
{
    sp->start = __atomic_load_n(&s->start, __ATOMIC_RELAXED);
    sp->len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
    uint64_t off;
    return span_ok(q->cap, q->cap_mask, *sp, &off);
}

static bool state_ok(const weft_queue *q, uint32_t st)
{
    return st == Q_ST_READY || st == Q_ST_DONE || (st >= Q_ST_LEASED && st - Q_ST_LEASED < q->nleases);
}

/* ---- locks -------------------------------------------------------------
 * Both locks are robust: EOWNERDEAD returns holding the lock, a result the
 * thread-safety analysis cannot express, so the lock helpers and their
 * callers are outside it. Lock errors other than those mean a damaged
 * block (a lock made unrecoverable by a failed repair): EPROTO. */

static int lock_result(int rc)
{
    return rc == 0 ? 0 : rc == ETIMEDOUT ? ETIMEDOUT : EPROTO;
}

/* A full fence right after an atomic read-modify-write (taking a lock, a
 * fetch_add): on x86 every such instruction is locked, a full barrier
 * already, so only the compiler needs stopping; elsewhere a real fence. */
static void fence_after_rmw(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* The calling thread's CPU plus one (0: not known), for the put_cpu and
 * get_cpu hints: a waiter on the CPU of the side it waits for does not
 * spin, since that side cannot make progress until it stops. The hints
 * are never trusted for anything else. */
static uint32_t cpu_tag(void)
{
    return (uint32_t)(weft_thread_cpu() + 1);
}

static void set_hint(uint32_t *hint)
{
    uint32_t here = cpu_tag();
    if (__atomic_load_n(hint, __ATOMIC_RELAXED) != here) /* keep the line clean */
        __atomic_store_n(hint, here, __ATOMIC_RELAXED);
}

/* The seq words (put_seq, free_seq) count in steps of Q_SEQ_STEP; bit 0,
 * Q_SEQ_SLEEPING, says a waiter sleeps (or is about to) on the current
 * value. A waiter sets it before it sleeps; a waker that moves the word
 * and finds it set makes the futex call, and one that finds it clear
 * skips it: the waiters counted are already woken and have not run yet,
 * which is where a producer and a consumer on one CPU spend their time. */
#define Q_SEQ_SLEEPING 1u
#define Q_SEQ_STEP 2u

/* Move *seq on, keeping Q_SEQ_SLEEPING: a sleeper on the old value is left
 * for the next waker (or its slice). */
static void bump(uint32_t *seq)
{
    __atomic_fetch_add(seq, Q_SEQ_STEP, __ATOMIC_SEQ_CST);
}

/* Move *seq on; clear Q_SEQ_SLEEPING if `clear`. Returns whether it was
 * set: someone may sleep on the old value. */
static bool bump_seen(uint32_t *seq, bool clear)
{
    uint32_t old = __atomic_load_n(seq, __ATOMIC_RELAXED), nv;
    do {
        nv = (clear ? old & ~Q_SEQ_SLEEPING : old) + Q_SEQ_STEP;
    } while (!__atomic_compare_exchange_n(seq, &old, nv, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    return (old & Q_SEQ_SLEEPING) != 0;
}

/* Wake the sleepers parked on seq: the caller now holds the lock they
 * watch (it has just taken it, an atomic read-modify-write), so they
 * sleep in slices until it is released. */
static void unpark(uint32_t *seq, const uint32_t *parked)
{
    fence_after_rmw();
    if (LOAD_SC(parked) != 0) {
        (void)bump_seen(seq, true); /* every sleeper is woken */
        (void)weft_futex_wake(seq, INT32_MAX, WEFT_SHARED);
    }
}

/* After a producer died holding plock (plock held). Its put never
 * happened - the commit is one store of tail - but it may have written
 * slots past tail, and a producer whose copy of head is behind reads the
 * slot of that old head, now one of those: a message of length 0 written
 * there at the end of the ring's bytes would pass for the oldest one and
 * make the room look larger than it is. So the free slots get a start no
 * slot can have, which read_slot refuses: such a producer then reads the
 * shared head. All but the newest message's slot when the queue is empty:
 * every put reads where the bytes end from that one. If the dead producer
 * wrote it (a batch of nslots messages, or any put when nslots is 1), it
 * wrote a message that starts at or past that end, which as the oldest
 * says no more than that the empty ring is free - unless it died between
 * its stores of start and len: then the start is a real position and the
 * length another message's, which read_slot may refuse. Any position will
 * do in an empty ring, so such a slot keeps its start with a length of 0.
 * Out of shape indices are left to the puts (EPROTO). */
static void forget_uncommitted(weft_queue *q)
{
    uint64_t tail = LOAD(&q->h->tail), head = LOAD(&q->h->head);
    if (head > tail || tail - head > q->nslots)
        return;
    uint64_t stop = head + q->nslots;
    if (head == tail && tail > 0) {
        struct q_slot *newest = slot(q, tail - 1);
        struct span sp;
        if (!read_slot(q, newest, &sp))
            __atomic_store_n(&newest->len, 0u, __ATOMIC_RELAXED);
        stop--; /* tail - 1 + nslots: the newest message's slot */
    }
    for (uint64_t seq = tail; seq < stop; seq++)
        __atomic_store_n(&slot(q, seq)->start, UINT64_MAX, __ATOMIC_RELAXED);
}

static int lock_producers(weft_queue *q, int64_t deadline) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    int rc = weft_rlock_acquire_until(&q->h->plock, deadline);
    if (rc == 0 || rc == EOWNERDEAD)
        unpark(&q->h->put_seq, &q->h->get_parked);
    if (rc == EOWNERDEAD) {
        forget_uncommitted(q);
        rc = weft_rlock_consistent(&q->h->plock);
    }
    return lock_result(rc);
}

static void unlock(weft_rlock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)weft_rlock_release(lk);
}

/* The waker's half of the Dekker pair. The caller has published its
 * progress and then done a seq_cst read-modify-write: let go of the lock
 * it published under (a shared rlock's release is one, weft/rlock.h), or
 * published with one (task_done). With fence_after_rmw() that orders the
 * progress before this seq_cst load of the waiter count, so a commit of
 * tail or head need not be a full barrier of its own: on x86 that is a
 * locked instruction, which waits until the lines the put wrote are back
 * from the consumer's core - once per put instead of twice. */
static void bump_and_wake(uint32_t *seq, const uint32_t *waiters, int n, bool always)
{
    fence_after_rmw();
    uint32_t w = LOAD_SC(waiters);
    if (always || w != 0) {
        /* Waking n of more than n waiters leaves Q_SEQ_SLEEPING set, so
         * that the next waker wakes the rest. One that clears it wakes
         * every sleeper: a waiter that counted itself after w was read
         * may sleep on the marked value too. */
        bool clear = w <= (uint32_t)n;
        bool sleeping = bump_seen(seq, clear);
        if (sleeping && LOAD_SC(waiters) != 0)
            (void)weft_futex_wake(seq, clear ? INT32_MAX : n, WEFT_SHARED);
    }
}

/* Move head over DONE messages (clock held). Returns whether it moved. */
static bool reclaim(weft_queue *q, uint64_t tail)
{
    uint64_t head = q->h->head, h0 = head;
    while (head < tail && slot(q, head)->state == Q_ST_DONE)
        head++;
    if (head != h0)
        __atomic_store_n(&q->h->head, head, __ATOMIC_SEQ_CST);
    return head != h0;
}

/* Move rd to the first READY message at or after from (clock held). */
static void advance_rd(weft_queue *q, uint64_t from, uint64_t tail)
{
    while (from < tail && slot(q, from)->state != Q_ST_READY)
        from++;
    q->h->rd = from;
}

/* Check the consumer-side indices against tail and the shape. */
static bool indices_ok(const weft_queue *q, uint64_t tail)
{
    uint64_t head = q->h->head, rd = q->h->rd;
    return head <= tail && tail - head <= q->nslots && rd >= head && rd <= tail;
}

/* A get that took the message at head commits by moving head alone, so a
 * consumer that dies right after leaves rd behind head (repair() rebuilds
 * everything then; this keeps the order of the indices for the checks). */
static void catch_up_rd(const weft_queue *q)
{
    uint64_t head = q->h->head;
    if (q->h->rd < head)
        q->h->rd = head;
}

/* Free the leases whose holders died; their messages become READY again,
 * under plock as everything that makes a message available (see the top).
 * clock held. Returns whether a message came back. */
static bool reap(weft_queue *q, uint64_t tail) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    bool back = false, plocked = false;
    uint64_t head = q->h->head;
    for (unsigned i = 0; i < q->nleases; i++) {
        struct q_lease *l = &q->leases[i];
        uint64_t seq = l->seq;
        if (seq == Q_FREE_SEQ)
            continue;
        int rc = weft_rlock_try_acquire(&l->lk);
        if (rc == EOWNERDEAD)
            rc = weft_rlock_consistent(&l->lk);
        if (rc != 0)
            continue; /* held by a live thread (EBUSY) */
        bool leased = seq >= head && seq < tail && slot(q, seq)->state == Q_ST_LEASED + i;
        if (leased && !plocked && lock_producers(q, WEFT_DEADLINE_NEVER) != 0) {
            (void)weft_rlock_release(&l->lk); /* damaged: leave it be */
            break;
        }
        plocked = plocked || leased;
        if (leased) {
            __atomic_store_n(&slot(q, seq)->state, Q_ST_READY, __ATOMIC_SEQ_CST);
            if (seq < q->h->rd)
                q->h->rd = seq;
            __atomic_fetch_sub(&q->h->taken, 1u, __ATOMIC_RELAXED);
            /* As in a release: tail does not show the message, the bump
             * does, before the lease is freed (while it is out, sleepers
             * keep to slices) and before plock is let go. */
            bump(&q->h->put_seq);
            back = true;
        }
        l->seq = Q_FREE_SEQ;
        __atomic_fetch_sub(&q->h->nleased, 1u, __ATOMIC_SEQ_CST);
        (void)weft_rlock_release(&l->lk);
    }
    if (plocked)
        unlock(&q->h->plock);
    return back;
}

/* Rebuild the consumer bookkeeping from the slot states after a consumer
 * died holding clock (clock held). */
static int repair(weft_queue *q)
{
    uint64_t tail = LOAD(&q->h->tail), head = q->h->head;
    if (head > tail || tail - head > q->nslots)
        return EPROTO;
    uint32_t nleased = 0;
    for (unsigned i = 0; i < q->nleases; i++)
        nleased += q->leases[i].seq != Q_FREE_SEQ;
    __atomic_store_n(&q->h->nleased, nleased, __ATOMIC_RELAXED);
    q->h->rd = head;
    (void)reap(q, tail);
    uint64_t ready = 0;
    for (uint64_t s = head; s < tail; s++) {
        uint32_t st = slot(q, s)->state;
        if (!state_ok(q, st))
            return EPROTO;
        ready += st == Q_ST_READY;
    }
    (void)reclaim(q, tail);
    advance_rd(q, q->h->head, tail);
    __atomic_store_n(&q->h->taken, tail - ready, __ATOMIC_RELAXED);
    return 0;
}

static int lock_consumers(weft_queue *q, int64_t deadline) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    int rc = weft_rlock_acquire_until(&q->h->clock, deadline);
    if (rc == 0 || rc == EOWNERDEAD)
        unpark(&q->h->free_seq, &q->h->put_parked);
    if (rc == EOWNERDEAD) {
        rc = repair(q);
        if (rc == 0)
            rc = weft_rlock_consistent(&q->h->clock);
        if (rc) {
            /* Unrepairable: releasing without consistent makes the lock
             * unrecoverable, so every later call reports the damage. */
            (void)weft_rlock_release(&q->h->clock);
            return EPROTO;
        }
    }
    return lock_result(rc);
}

/* ---- put ------------------------------------------------------------ */

/* The error a message would get from put into a queue of capacity cap,
 * 0 if none. */
static int put_check(uint64_t cap, const weft_queue_msg *m)
{
    if (!m->buf && m->len)
        return EINVAL;
    return m->len > cap || m->len > UINT32_MAX ? EMSGSIZE : 0;
}

/* Where a put batch writes (plock held): the next message's number `seq`
 * and byte position `pos`, with pos's offset in the data ring and seq's
 * slot index (kept alongside, not worked out per message); and the room
 * left, from head as this producer last saw it: `slots` more slots, and
 * the bytes below position `limit` (the oldest message's start plus cap;
 * 0 while the queue is empty: the batch's first message then sets it). */
struct put_cur {
    uint64_t seq, pos, off, idx;
    uint64_t slots, limit;
};

/* The room past the committed tail for message c->seq at c->pos, given
 * head: 0, or EPROTO (head, or head's slot, out of shape). */
static int room_at(const weft_queue *q, uint64_t tail, uint64_t head, struct put_cur *c)
{
    if (head > tail || c->seq - head > q->nslots) /* c->seq >= tail */
        return EPROTO;
    c->slots = q->nslots - (c->seq - head);
    c->limit = 0;
    if (tail != head) {
        struct span sp;
        if (!read_slot(q, slot(q, head), &sp))
            return EPROTO;
        if (sp.start > c->pos || c->pos - sp.start > q->cap)
            return EPROTO;
        c->limit = sp.start + q->cap;
    }
    return 0;
}

/* Write msgs[0..n) past the committed tail while they fit and pass
 * put_check (msgs[0] is checked), without committing them (plock held).
 * Returns how many it wrote; *why says what stopped it first: 0 (all
 * written), EAGAIN (no room) or put_check's error. A message never splits
 * at the ring's end: it skips to the start. Locals throughout: the copies
 * into the ring may alias anything, and would make the compiler reload
 * whatever it reads through a pointer, per message. */
static size_t fill(const weft_queue *q, struct put_cur *cur, const weft_queue_msg *msgs, size_t n,
                   int *why)
{
    const uint64_t cap = q->cap, nslots = q->nslots;
    unsigned char *const data = q->data;
    struct q_slot *const slots = q->slots;
    struct put_cur c = *cur;
    size_t k = 0;
    *why = 0;
    for (; k < n; k++) {
        const weft_queue_msg m = msgs[k];
        /* Before the room: put_locked's second call counts on a message
         * that stopped the first for room having been checked. */
        if (k > 0 && (*why = put_check(cap, &m)) != 0)
            break;
        uint64_t r = round8(m.len), pos = c.pos, off = c.off;
        if (off + r > cap) {
            pos += cap - off;
            off = 0;
        }
        uint64_t limit = c.limit ? c.limit : pos + cap;
        if (c.slots == 0 || pos + r > limit) {
            *why = EAGAIN;
            break;
        }
        if (m.len)
            weft__copy_bytes(data + off, m.buf, m.len);
        struct q_slot *s = &slots[c.idx];
        /* Atomic because weft_queue_full reads slots without the lock. */
        __atomic_store_n(&s->start, pos, __ATOMIC_RELAXED);
        __atomic_store_n(&s->len, (uint32_t)m.len, __ATOMIC_RELAXED);
        __atomic_store_n(&s->state, Q_ST_READY, __ATOMIC_RELAXED);
        c.limit = limit;
        c.slots--;
        c.seq++;
        c.idx = c.idx + 1 == nslots ? 0 : c.idx + 1;
        c.pos = pos + r;
        c.off = off + r;
    }
    *cur = c;
    return k;
}

/* Append the longest prefix of msgs[0..n) that fits and passes put_check
 * (the caller checked msgs[0]), n >= 1, and commit it with one store of
 * tail (plock held): 0 (*put of them, at least one), EAGAIN (not even the
 * first fits; *seen_head is the head it saw), EPIPE, EPROTO. The room is
 * worked out from this process's copy of head, and once more from the
 * shared head when that copy says full: head only moves on, so the copy
 * only ever understates the room (the slot of an old head is a free slot
 * now, and holds a committed message, which the checks see, or a dead
 * producer's, which forget_uncommitted() spoiled). */
static int put_locked(weft_queue *q, const weft_queue_msg *msgs, size_t n, size_t *put,
                      uint64_t *seen_head)
{
    struct q_hdr *h = q->h;
    uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
    if (LOAD(&h->closed))
        return EPIPE;
    struct put_cur c = {tail, 0, 0, 0, 0, 0};
    if (tail > 0) {
        struct span sp;
        if (!read_slot(q, slot(q, tail - 1), &sp))
            return EPROTO;
        c.pos = sp.start + round8(sp.len);
    }
    c.off = ring_off(q, c.pos);
    c.idx = slot_index(q, tail);
    uint64_t head = q->p_head;
    size_t k = 0;
    int why = 0, rc = room_at(q, tail, head, &c);
    if (rc == 0)
        k = fill(q, &c, msgs, n, &why);
    if (rc != 0 || why == EAGAIN) { /* full or out of shape by the old head: look again */
        uint64_t first = k > 0 ? slot(q, tail)->start : 0;
        head = q->p_head = LOAD(&h->head);
        rc = room_at(q, tail, head, &c);
        if (rc == 0 && c.limit == 0 && k > 0)
            c.limit = first + q->cap; /* this batch's first is the oldest */
        if (rc == 0)
            k += fill(q, &c, msgs + k, n - k, &why);
    }
    *seen_head = head;
    if (k == 0)
        return rc != 0 ? rc : why;
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 9 /* seeded bug (ci/mutants): the message is not published */
    __atomic_store_n(&h->tail, tail + k, __ATOMIC_RELAXED);
#else
    /* The commit. Release: the unlock that follows is the full barrier
     * the wake-up protocol needs (see bump_and_wake). */
    set_hint(&h->put_cpu);
    __atomic_store_n(&h->tail, tail + k, __ATOMIC_RELEASE);
#endif
    *put = k;
    return 0;
}

static int put_once(weft_queue *q, const weft_queue_msg *msgs, size_t n, size_t *put,
                    int64_t deadline, uint64_t *seen_head)
{
    int rc = lock_producers(q, deadline);
    if (rc)
        return rc;
    rc = put_locked(q, msgs, n, put, seen_head);
    unlock(&q->h->plock);
    if (rc == 0)
        bump_and_wake(&q->h->put_seq, &q->h->get_waiters, *put > INT32_MAX ? INT32_MAX : (int)*put,
                      false);
    return rc;
}

static int reap_now(weft_queue *q, int64_t deadline) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    int rc = lock_consumers(q, deadline);
    if (rc)
        return rc;
    uint64_t tail = LOAD(&q->h->tail);
    bool back = false, freed = false;
    catch_up_rd(q);
    if (indices_ok(q, tail)) {
        back = reap(q, tail);
        freed = reclaim(q, tail);
    }
    unlock(&q->h->clock);
    if (back)
        bump_and_wake(&q->h->put_seq, &q->h->get_waiters, INT32_MAX, true);
    if (freed)
        bump_and_wake(&q->h->free_seq, &q->h->put_waiters, INT32_MAX, false);
    return 0;
}

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Sleep on *seq (last seen as `seen`) until it moves, unless *progress
 * has moved past `before` or the queue closed meanwhile. First spins a
 * few microseconds: across processes on other cores the progress is often
 * that close, and a futex round trip costs more. Parks (sleeps without a
 * limit) only when the caller has waited Q_PARK_AFTER_NS already (since
 * `since`), `watched` is free and no reservation is out; else sleeps at
 * most one slice (see the top of this file). */
static void await_progress(weft_queue *q, uint32_t *seq, uint32_t seen, uint32_t *waiters,
                           uint32_t *parked, const weft_rlock *watched,
                           const uint64_t *progress, uint64_t before, int64_t since,
                           int64_t deadline)
{
    struct q_hdr *h = q->h;
    int64_t now = weft_time_now_ns();
    /* The other side: producers when tail is awaited, else consumers. */
    const uint32_t *other = progress == &h->tail ? &h->put_cpu : &h->get_cpu;
    uint32_t here = cpu_tag();
    if (here != 0 && LOAD(other) == here) {
        /* That side cannot run while this thread spins; if it is ready to
         * run here, a yield lets it go on until its time is up or it
         * waits, with no wake-up to pay on either side. A yield that
         * brings nothing means it is not (or no longer) here: sleep. */
        (void)sched_yield();
        if (LOAD(progress) != before || LOAD(&h->closed))
            return;
    } else {
        for (int i = 0; i < Q_SPINS; i++) {
            if (LOAD(progress) != before || LOAD(&h->closed))
                return;
            relax();
        }
    }
    __atomic_fetch_add(waiters, 1u, __ATOMIC_SEQ_CST);
    bool park = now - since >= Q_PARK_AFTER_NS;
    if (park) {
        __atomic_fetch_add(parked, 1u, __ATOMIC_SEQ_CST);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        park = LOAD_SC(&h->nleased) == 0 && !weft_rlock_is_locked(watched);
        if (!park)
            __atomic_fetch_sub(parked, 1u, __ATOMIC_SEQ_CST);
    }
    /* Mark the value it sleeps on (another waiter may have already). */
    uint32_t v = seen | Q_SEQ_SLEEPING;
    bool sleep = LOAD_SC(progress) == before && !LOAD_SC(&h->closed);
    if (sleep && seen != v)
        sleep = __atomic_compare_exchange_n(seq, &seen, v, false, __ATOMIC_SEQ_CST,
                                            __ATOMIC_RELAXED) ||
                seen == v;
    if (sleep) {
        int64_t until = deadline;
        if (!park) {
            int64_t s = weft_time_deadline_ns(Q_REAP_SLICE_NS);
            until = s < deadline ? s : deadline;
        }
        (void)weft_futex_wait(seq, v, until, WEFT_SHARED);
    }
    if (park)
        __atomic_fetch_sub(parked, 1u, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(waiters, 1u, __ATOMIC_SEQ_CST);
}

/* After an attempt found the queue full (or empty): EAGAIN for a try,
 * ETIMEDOUT past the deadline, else wait for progress and return 0 to
 * try again. *since: when this call began waiting (0: not yet). */
static int wait_round(weft_queue *q, uint32_t *seq, uint32_t seen, uint32_t *waiters,
                      uint32_t *parked, const weft_rlock *watched, const uint64_t *progress,
                      uint64_t before, int64_t *since, int64_t deadline, bool try_only)
{
    if (try_only)
        return EAGAIN;
    int64_t now = weft_time_now_ns();
    if (deadline != WEFT_DEADLINE_NEVER && now >= deadline)
        return ETIMEDOUT;
    if (*since == 0)
        *since = now;
    await_progress(q, seq, seen, waiters, parked, watched, progress, before, *since, deadline);
    return 0;
}

/* Put the longest prefix of msgs[0..n) that fits and passes put_check,
 * once at least the first does. The caller checked the first. */
static int put_wait(weft_queue *q, const weft_queue_msg *msgs, size_t n, size_t *put,
                    int64_t deadline, bool try_only)
{
    struct q_hdr *h = q->h;
    bool reaped = false;
    int64_t since = 0;
    for (;;) {
        uint32_t seen = LOAD(&h->free_seq);
        uint64_t head = 0;
        int rc = put_once(q, msgs, n, put, deadline, &head);
        if (rc != EAGAIN)
            return rc;
        if (!reaped && (LOAD(&h->nleased) != 0 || since != 0)) {
            /* Space may be held by dead reservations, or by a consumer
             * that died between its commit and moving head: taking clock
             * repairs both. Once per wait round, from the second on (or
             * the first while reservations are out). */
            reaped = true;
            rc = reap_now(q, deadline);
            if (rc)
                return rc;
            continue;
        }
        reaped = false;
        rc = wait_round(q, &h->free_seq, seen, &h->put_waiters, &h->put_parked, &h->clock,
                        &h->head, head, &since, deadline, try_only);
        if (rc)
            return rc;
    }
}

static int put_one(weft_queue *q, const void *msg, size_t len, int64_t deadline, bool try_only)
{
    if (!q)
        return EINVAL;
    /* put_locked only reads the message: the cast drops nothing. */
    weft_queue_msg m = {(void *)msg, len, 0};
    int rc = put_check(q->cap, &m);
    size_t put = 0;
    return rc ? rc : put_wait(q, &m, 1, &put, deadline, try_only);
}

int weft_queue_put(weft_queue *q, const void *msg, size_t len)
{
    return put_one(q, msg, len, WEFT_DEADLINE_NEVER, false);
}

int weft_queue_try_put(weft_queue *q, const void *msg, size_t len)
{
    return put_one(q, msg, len, WEFT_DEADLINE_NEVER, true);
}

int weft_queue_put_until(weft_queue *q, const void *msg, size_t len, int64_t deadline_ns)
{
    return put_one(q, msg, len, deadline_ns, false);
}

int weft_queue_put_for(weft_queue *q, const void *msg, size_t len, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return put_one(q, msg, len, weft_time_deadline_ns(timeout_ns), false);
}

int weft_queue_put_many_until(weft_queue *q, const weft_queue_msg *msgs, size_t n, size_t *put,
                              int64_t deadline_ns)
{
    if (!q || !put || (!msgs && n))
        return EINVAL;
    *put = 0;
    if (n == 0)
        return 0;
    /* Only the valid prefix is tried: the first message that could never
     * be put ends it (put_locked checks the others as it goes), and fails
     * the call when it comes first. */
    int rc = put_check(q->cap, &msgs[0]);
    return rc ? rc : put_wait(q, msgs, n, put, deadline_ns, false);
}

int weft_queue_put_many(weft_queue *q, const weft_queue_msg *msgs, size_t n, size_t *put)
{
    return weft_queue_put_many_until(q, msgs, n, put, WEFT_DEADLINE_NEVER);
}

/* ---- get and reserve ------------------------------------------------ */

struct take {
    void *buf;     /* copy into buf[0..cap), or */
    void **alloc;  /* into a new allocation */
    size_t cap;
    size_t *len;
    weft_queue_ticket *ticket; /* reserve when not NULL */
    weft_queue_msg *many;      /* get_many: take up to n into these, */
    size_t n;                  /* one by one under one hold of clock; */
    size_t *got;               /* the count taken (the fields above unused) */
};

/* A free lease, acquired (clock held); -1 if none. */
static int lease_take(weft_queue *q) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    for (unsigned i = 0; i < q->nleases; i++) {
        struct q_lease *l = &q->leases[i];
        if (l->seq != Q_FREE_SEQ)
            continue;
        int rc = weft_rlock_try_acquire(&l->lk);
        if (rc == EOWNERDEAD)
            rc = weft_rlock_consistent(&l->lk);
        if (rc == 0)
            return (int)i;
    }
    return -1;
}

/* Give back a lease taken by lease_take and not used. */
static void lease_put(weft_queue *q, unsigned i) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    (void)weft_rlock_release(&q->leases[i].lk);
}

/* After a take: move rd to the first READY message from `from` on, and
 * head over what is done (clock held). Returns whether head moved. */
static bool after_take(weft_queue *q, uint64_t from, uint64_t tail)
{
    struct q_hdr *h = q->h;
    advance_rd(q, from, tail);
    if (h->rd == tail) {
        /* tail may be this process's stale copy: messages past it may be
         * committed, and taken already by consumers that knew of them. */
        uint64_t fresh = LOAD(&h->tail);
        if (fresh >= tail && fresh - h->head <= q->nslots) { /* else damaged: keep */
            tail = q->c_tail = fresh;
            advance_rd(q, h->rd, tail);
        }
    }
    /* head stops at rd at the latest (a READY message), so below tail. */
    return reclaim(q, tail);
}

/* Take the message at rd if there is one (clock held): 0, EAGAIN (empty;
 * *seen_tail is the tail it saw), EPIPE, EMSGSIZE, ENOBUFS, ENOMEM, EPROTO.
 * *back: a dead reservation's message returned; *freed: head moved. */
static int get_locked(weft_queue *q, const struct take *tk, uint64_t *seen_tail, bool *back,
                      bool *freed)
{
    struct q_hdr *h = q->h;
    catch_up_rd(q);
    uint64_t tail = q->c_tail;
    if (h->rd >= tail)
        tail = q->c_tail = LOAD(&h->tail);
    *seen_tail = tail;
    if (!indices_ok(q, tail))
        return EPROTO;
    /* Dead holders' leases come back when the queue looks empty, and when
     * a reservation finds every lease out. */
    uint32_t nleased = LOAD(&h->nleased);
    if (nleased != 0 && (h->rd == tail || (tk->ticket && nleased >= q->nleases)) &&
        reap(q, tail))
        *back = true; /* get_many calls this again with the same flag */
    uint64_t seq = h->rd;
    if (seq == tail)
        return LOAD(&h->closed) ? EPIPE : EAGAIN;
    struct q_slot *s = slot(q, seq);
    struct span sp;
    if (s->state != Q_ST_READY || !read_slot(q, s, &sp))
        return EPROTO;
    size_t len = sp.len;
    *tk->len = len;
    if (!tk->alloc && len > tk->cap)
        return EMSGSIZE;
    int lease = -1;
    if (tk->ticket) {
        lease = lease_take(q);
        if (lease < 0)
            return ENOBUFS;
    }
    void *dst = tk->buf;
    if (tk->alloc) {
        dst = malloc(len ? len : 1);
        if (!dst) {
            if (lease >= 0)
                lease_put(q, (unsigned)lease);
            return ENOMEM;
        }
        *tk->alloc = dst;
    }
    if (len)
        weft__copy_bytes(dst, q->data + ring_off(q, sp.start), len);
    if (lease >= 0) {
        q->leases[lease].seq = seq;
        __atomic_store_n(&s->state, Q_ST_LEASED + (uint32_t)lease, __ATOMIC_SEQ_CST); /* commit */
        __atomic_fetch_add(&h->nleased, 1u, __ATOMIC_SEQ_CST);
        /* Parked consumers must now watch this reservation's holder. */
        unpark(&h->put_seq, &h->get_parked);
        *tk->ticket = seq;
    } else if (seq == h->head) {
        /* The front message: moving head past it is the commit, and the
         * slot is left alone (fewer cache lines shared with producers). */
        set_hint(&h->get_cpu);
        __atomic_store_n(&h->head, seq + 1, __ATOMIC_RELEASE); /* commit (see bump_and_wake) */
        *freed = true;
    } else {
        __atomic_store_n(&s->state, Q_ST_DONE, __ATOMIC_SEQ_CST); /* commit */
    }
    /* Written under clock only: a load and a store, not a locked add. */
    __atomic_store_n(&h->taken, __atomic_load_n(&h->taken, __ATOMIC_RELAXED) + 1u,
                     __ATOMIC_RELAXED);
    *freed = after_take(q, seq + 1, tail) || *freed;
    return 0;
}

/* get_many's run (clock held): while no reservation is out and none
 * is ahead of rd, the messages from head on are READY up to the first
 * that is not; take up to n of them, stopping at one longer than its
 * buffer, and commit them together with one store of head. Returns how
 * many it took; 0 leaves everything to get_locked (which also reports
 * what stopped the run at its first message). */
static size_t take_run(weft_queue *q, weft_queue_msg *msgs, size_t n, uint64_t *seen_tail)
{
    struct q_hdr *h = q->h;
    catch_up_rd(q);
    uint64_t head = h->head;
    uint64_t tail = q->c_tail;
    if (head >= tail)
        tail = q->c_tail = LOAD(&h->tail);
    *seen_tail = tail;
    if (h->rd != head || !indices_ok(q, tail) || LOAD(&h->nleased) != 0)
        return 0;
    /* Locals, as in fill(): the copies out of the ring may alias
     * anything. */
    const uint64_t cap = q->cap, cap_mask = q->cap_mask, nslots = q->nslots;
    const unsigned char *const data = q->data;
    const struct q_slot *const slots = q->slots;
    uint64_t idx = slot_index(q, head);
    size_t k = 0, avail = tail - head < n ? (size_t)(tail - head) : n;
    for (; k < avail; k++) {
        const struct q_slot *s = &slots[idx];
        struct span sp = {__atomic_load_n(&s->start, __ATOMIC_RELAXED),
                          __atomic_load_n(&s->len, __ATOMIC_RELAXED)};
        uint64_t off;
        if (s->state != Q_ST_READY || !span_ok(cap, cap_mask, sp, &off) || sp.len > msgs[k].cap)
            break;
        msgs[k].len = sp.len;
        if (sp.len)
            weft__copy_bytes(msgs[k].buf, data + off, sp.len);
        idx = idx + 1 == nslots ? 0 : idx + 1;
    }
    if (k == 0)
        return 0;
    set_hint(&h->get_cpu);
    __atomic_store_n(&h->head, head + k, __ATOMIC_RELEASE); /* commit (see bump_and_wake) */
    __atomic_store_n(&h->taken, __atomic_load_n(&h->taken, __ATOMIC_RELAXED) + k,
                     __ATOMIC_RELAXED);
    (void)after_take(q, head + k, tail);
    return k;
}

static int get_once(weft_queue *q, const struct take *tk, int64_t deadline, uint64_t *seen_tail)
{
    int rc = lock_consumers(q, deadline);
    if (rc)
        return rc;
    bool back = false, freed = false;
    if (tk->many == NULL) {
        rc = get_locked(q, tk, seen_tail, &back, &freed);
    } else {
        /* The run from head; then one at a time, while a message is known
         * to be READY at rd (past reserved or done ones), or from the
         * start if there was no run. */
        size_t k = take_run(q, tk->many, tk->n, seen_tail);
        freed = k > 0;
        while (k < tk->n && (k == 0 || q->h->rd < q->c_tail)) {
            weft_queue_msg *m = &tk->many[k];
            struct take one = {m->buf, NULL, m->cap, &m->len, NULL, NULL, 0, NULL};
            rc = get_locked(q, &one, seen_tail, &back, &freed);
            if (rc != 0)
                break;
            k++;
        }
        /* What was taken is the result; an error after it (empty, a
         * message too long for its buffer, closed, damage) is the next
         * call's to report. */
        *tk->got = k;
        if (k > 0)
            rc = 0;
    }
    unlock(&q->h->clock);
    if (back)
        bump_and_wake(&q->h->put_seq, &q->h->get_waiters, INT32_MAX, true);
    if (freed) /* all: one get may make room for several small puts */
        bump_and_wake(&q->h->free_seq, &q->h->put_waiters, INT32_MAX, false);
    return rc;
}

/* A consumer that found the queue empty and then saw tail move past
 * `before`. If messages are streaming in, it waits for a few more before
 * taking any, so that the producer commits a batch without this consumer
 * pulling the tail's and the messages' cache lines back after each one:
 * one message at a time, each costs a cross-core transfer of three lines.
 * It looks at tail only every 32 pauses, for the same reason, and stops
 * as soon as a look finds nothing new: a producer that waits for this
 * consumer (a window of requests) must not wait out the whole linger. A
 * linger that gains less than half a batch doubles the number of waits
 * that skip lingering, up to Q_LINGER_SKIP_MAX; one that gains resets it. */
static void linger(weft_queue *q, uint64_t before)
{
    uint32_t skip = __atomic_load_n(&q->linger_skip, __ATOMIC_RELAXED);
    if (skip != 0) {
        __atomic_store_n(&q->linger_skip, skip - 1, __ATOMIC_RELAXED);
        return;
    }
    uint64_t now = LOAD(&q->h->tail);
    uint32_t here = cpu_tag();
    if (here != 0 && LOAD(&q->h->put_cpu) == here)
        return; /* its producer cannot put more while this thread spins */
    for (int i = 0; i < Q_LINGER_SPINS && now - before < Q_LINGER_BATCH; i += 32) {
        for (int k = 0; k < 32; k++)
            relax();
        uint64_t last = now;
        now = LOAD(&q->h->tail);
        if (now == last)
            break; /* the stream paused: its producer may be waiting for us */
    }
    uint32_t backoff = 0;
    if (now - before < Q_LINGER_BATCH / 2) { /* a few: a window, not a stream */
        backoff = __atomic_load_n(&q->linger_backoff, __ATOMIC_RELAXED);
        backoff = backoff == 0 ? 16 : backoff < Q_LINGER_SKIP_MAX ? backoff * 2 : backoff;
    }
    __atomic_store_n(&q->linger_backoff, backoff, __ATOMIC_RELAXED);
    __atomic_store_n(&q->linger_skip, backoff, __ATOMIC_RELAXED);
}

static int get_wait(weft_queue *q, const struct take *tk, int64_t deadline, bool try_only)
{
    struct q_hdr *h = q->h;
    int64_t since = 0;
    for (;;) {
        uint32_t seen = LOAD(&h->put_seq);
        uint64_t tail = 0;
        int rc = get_once(q, tk, deadline, &tail);
        if (rc != EAGAIN)
            return rc;
        rc = wait_round(q, &h->put_seq, seen, &h->get_waiters, &h->get_parked, &h->plock,
                        &h->tail, tail, &since, deadline, try_only);
        if (rc)
            return rc;
        /* Not after a wait that ended otherwise (a slice, a release, a
         * close): that is no stream. */
        if (LOAD(&h->tail) != tail && !LOAD(&h->closed))
            linger(q, tail);
    }
}

static int get_args(const weft_queue *q, const void *buf, size_t cap, const size_t *len)
{
    return !q || !len || (!buf && cap) ? EINVAL : 0;
}

int weft_queue_get(weft_queue *q, void *buf, size_t cap, size_t *len)
{
    return weft_queue_get_until(q, buf, cap, len, WEFT_DEADLINE_NEVER);
}

int weft_queue_try_get(weft_queue *q, void *buf, size_t cap, size_t *len)
{
    int rc = get_args(q, buf, cap, len);
    struct take tk = {buf, NULL, cap, len, NULL, NULL, 0, NULL};
    return rc ? rc : get_wait(q, &tk, WEFT_DEADLINE_NEVER, true);
}

int weft_queue_get_until(weft_queue *q, void *buf, size_t cap, size_t *len, int64_t deadline_ns)
{
    int rc = get_args(q, buf, cap, len);
    struct take tk = {buf, NULL, cap, len, NULL, NULL, 0, NULL};
    return rc ? rc : get_wait(q, &tk, deadline_ns, false);
}

int weft_queue_get_for(weft_queue *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_queue_get_until(q, buf, cap, len, weft_time_deadline_ns(timeout_ns));
}

int weft_queue_get_alloc_until(weft_queue *q, void **msg, size_t *len, int64_t deadline_ns)
{
    if (!q || !msg || !len)
        return EINVAL;
    struct take tk = {NULL, msg, 0, len, NULL, NULL, 0, NULL};
    return get_wait(q, &tk, deadline_ns, false);
}

int weft_queue_reserve_until(weft_queue *q, void *buf, size_t cap, size_t *len,
                             weft_queue_ticket *ticket, int64_t deadline_ns)
{
    int rc = get_args(q, buf, cap, len);
    if (rc || !ticket)
        return EINVAL;
    if (q->nleases == 0)
        return ENOTSUP;
    struct take tk = {buf, NULL, cap, len, ticket, NULL, 0, NULL};
    return get_wait(q, &tk, deadline_ns, false);
}

int weft_queue_get_many_until(weft_queue *q, weft_queue_msg *msgs, size_t n, size_t *got,
                              int64_t deadline_ns)
{
    if (!q || !got || (!msgs && n))
        return EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].buf && msgs[i].cap)
            return EINVAL;
    *got = 0;
    if (n == 0)
        return 0;
    struct take tk = {NULL, NULL, 0, NULL, NULL, msgs, n, got};
    return get_wait(q, &tk, deadline_ns, false);
}

int weft_queue_get_many(weft_queue *q, weft_queue_msg *msgs, size_t n, size_t *got)
{
    return weft_queue_get_many_until(q, msgs, n, got, WEFT_DEADLINE_NEVER);
}

/* ack (done) or release (back to the queue) a reservation. */
static int settle(weft_queue *q, weft_queue_ticket ticket, bool done) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!q)
        return EINVAL;
    if (q->nleases == 0)
        return ENOTSUP;
    int rc = lock_consumers(q, WEFT_DEADLINE_NEVER);
    if (rc)
        return rc;
    struct q_hdr *h = q->h;
    uint64_t tail = LOAD(&h->tail);
    bool freed = false;
    catch_up_rd(q);
    struct q_slot *s = slot(q, ticket);
    /* Any ticket: the slot may be a producer's to write right now. */
    uint32_t st = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
    if (st < Q_ST_LEASED || st - Q_ST_LEASED >= q->nleases ||
        q->leases[st - Q_ST_LEASED].seq != ticket ||
        !weft_rlock_is_owned(&q->leases[st - Q_ST_LEASED].lk)) {
        rc = EPERM;
    } else if (!indices_ok(q, tail) || ticket < h->head || ticket >= tail) {
        /* Damaged: let go of the lease, so that it is not left linked in
         * this thread's robust list; reap() treats it as a dead holder's. */
        (void)weft_rlock_release(&q->leases[st - Q_ST_LEASED].lk);
        rc = EPROTO;
    } else {
        struct q_lease *l = &q->leases[st - Q_ST_LEASED];
        /* A release makes a message available: under plock as well. */
        if (!done)
            rc = lock_producers(q, WEFT_DEADLINE_NEVER);
        if (rc == 0) {
            /* the commit */
            __atomic_store_n(&s->state, done ? Q_ST_DONE : Q_ST_READY, __ATOMIC_SEQ_CST);
            if (!done) {
                if (ticket < h->rd)
                    h->rd = ticket;
                __atomic_fetch_sub(&h->taken, 1u, __ATOMIC_RELAXED);
                /* tail does not show this message: the bump does, and it
                 * must come before plock and the lease are let go, or a
                 * death here could leave a consumer parked past it. */
                bump(&h->put_seq);
                unlock(&h->plock);
            }
            /* Space first, while the lease still makes producers reap:
             * a death after this leaves nothing for them to miss. */
            freed = reclaim(q, tail);
            l->seq = Q_FREE_SEQ;
            __atomic_fetch_sub(&h->nleased, 1u, __ATOMIC_SEQ_CST);
            (void)weft_rlock_release(&l->lk);
        } else {
            (void)weft_rlock_release(&l->lk); /* as for damage above */
        }
    }
    unlock(&h->clock);
    if (rc == 0 && !done && LOAD_SC(&h->get_waiters) != 0)
        (void)weft_futex_wake(&h->put_seq, 1, WEFT_SHARED); /* bumped above */
    if (freed)
        bump_and_wake(&h->free_seq, &h->put_waiters, INT32_MAX, false);
    return rc;
}

int weft_queue_ack(weft_queue *q, weft_queue_ticket ticket) { return settle(q, ticket, true); }

int weft_queue_release(weft_queue *q, weft_queue_ticket ticket)
{
    return settle(q, ticket, false);
}

/* ---- state ---------------------------------------------------------- */

size_t weft_queue_qsize(const weft_queue *q)
{
    uint64_t taken = LOAD(&q->h->taken), tail = LOAD(&q->h->tail);
    /* taken first: it never passes a tail read after it. Clamped, so that
     * a damaged header cannot claim more than the bound. */
    uint64_t n = tail > taken ? tail - taken : 0;
    return (size_t)(n < q->nslots ? n : q->nslots);
}

int weft_queue_empty(const weft_queue *q) { return weft_queue_qsize(q) == 0; }

int weft_queue_full(const weft_queue *q)
{
    uint64_t head = LOAD(&q->h->head), tail = LOAD(&q->h->tail);
    if (tail - head >= q->nslots)
        return 1;
    if (tail == head || tail == 0)
        return 0;
    /* Slots read without the producers' lock may be rewritten meanwhile:
     * atomic loads, and the answer is as approximate as documented. */
    const struct q_slot *old = slot(q, head), *last = slot(q, tail - 1);
    uint64_t start = __atomic_load_n(&old->start, __ATOMIC_RELAXED);
    uint64_t end = __atomic_load_n(&last->start, __ATOMIC_RELAXED) +
                   round8(__atomic_load_n(&last->len, __ATOMIC_RELAXED));
    return end >= start && end - start >= q->cap;
}

int weft_queue_close(weft_queue *q) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!q)
        return EINVAL;
    /* Under both locks, so that sleepers parked on either are woken first
     * and a closer that dies before its wake-up delays them one slice. */
    int rc = lock_consumers(q, WEFT_DEADLINE_NEVER);
    if (rc == 0) {
        rc = lock_producers(q, WEFT_DEADLINE_NEVER);
        if (rc)
            unlock(&q->h->clock);
    }
    __atomic_store_n(&q->h->closed, 1u, __ATOMIC_SEQ_CST);
    if (rc == 0) {
        unlock(&q->h->plock);
        unlock(&q->h->clock);
    }
    bump_and_wake(&q->h->put_seq, &q->h->get_waiters, INT32_MAX, true);
    bump_and_wake(&q->h->free_seq, &q->h->put_waiters, INT32_MAX, true);
    return 0;
}

int weft_queue_closed(const weft_queue *q) { return LOAD(&q->h->closed) != 0; }

/* ---- joinable ------------------------------------------------------- */

int weft_queue_task_done(weft_queue *q)
{
    if (!q)
        return EINVAL;
    if (!(q->flags & WEFT_QUEUE_JOINABLE))
        return ENOTSUP;
    struct q_hdr *h = q->h;
    uint64_t done = LOAD(&h->tasks_done);
    do {
        if (done >= LOAD(&h->tail))
            return EINVAL;
    } while (!__atomic_compare_exchange_n(&h->tasks_done, &done, done + 1, false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE));
    /* Joiners sleep on done_seq unmarked (they are rare): a plain bump
     * and wake, after the read-modify-write above (see bump_and_wake). */
    fence_after_rmw();
    if (LOAD_SC(&h->join_waiters) != 0) {
        bump(&h->done_seq);
        (void)weft_futex_wake(&h->done_seq, INT32_MAX, WEFT_SHARED);
    }
    return 0;
}

int weft_queue_join_until(weft_queue *q, int64_t deadline_ns)
{
    if (!q)
        return EINVAL;
    if (!(q->flags & WEFT_QUEUE_JOINABLE))
        return ENOTSUP;
    struct q_hdr *h = q->h;
    for (;;) {
        uint32_t seen = LOAD(&h->done_seq);
        if (LOAD_SC(&h->tasks_done) >= LOAD_SC(&h->tail))
            return 0;
        if (deadline_ns != WEFT_DEADLINE_NEVER && weft_time_now_ns() >= deadline_ns)
            return ETIMEDOUT;
        __atomic_fetch_add(&h->join_waiters, 1u, __ATOMIC_SEQ_CST);
        /* In slices: a task_done that dies before its wake-up must not
         * strand the joiner. */
        int64_t until = weft_time_deadline_ns(Q_REAP_SLICE_NS);
        if (LOAD_SC(&h->tasks_done) < LOAD_SC(&h->tail))
            (void)weft_futex_wait(&h->done_seq, seen, until < deadline_ns ? until : deadline_ns,
                                  WEFT_SHARED);
        __atomic_fetch_sub(&h->join_waiters, 1u, __ATOMIC_SEQ_CST);
    }
}

int weft_queue_join(weft_queue *q) { return weft_queue_join_until(q, WEFT_DEADLINE_NEVER); }

/* weft/queue.h - a bounded multi-producer multi-consumer queue of
 * variable-size messages in shared memory (Python's multiprocessing.Queue,
 * JoinableQueue and SimpleQueue), safe against processes that die in it.
 *
 * A queue is one shared block: anonymous (create with name NULL before
 * fork; children use the same handle) or named (other processes attach by
 * name). It holds up to `capacity` bytes of messages and at most
 * `max_messages` of them; a message is bytes, of any length from 0 to the
 * capacity. Producers and consumers block through futexes on the shared
 * block itself: there is no feeder thread, so nothing is buffered in a
 * process and exiting never waits for a queue to drain.
 *
 *     weft_queue *q;
 *     weft_queue_create(&q, NULL, NULL);          // before fork
 *     // producer:  weft_queue_put(q, buf, len);
 *     // consumer:  weft_queue_get(q, buf, sizeof buf, &len);
 *
 * Delivery, when processes are killed (SIGKILL at any instruction):
 *   - put commits at one instant. A put that returned 0 is in the queue; a
 *     put cut off by its process's death is either wholly visible or not at
 *     all - never torn.
 *   - get commits at one instant. A consumer killed before it leaves the
 *     message to the others; killed after it, the message counts as
 *     delivered to that consumer: at most once.
 *   - put_many commits its whole batch at one instant, as one put.
 *     get_many commits the messages it takes from the front at one
 *     instant, and any it takes past a reserved one each as a get: a
 *     consumer killed in one may lose up to its batch.
 *   - reserve + ack (the reliable-queue pattern): a reserved message is
 *     hidden from other consumers until its reserver acks it (gone) or
 *     releases it (back in the queue). If the reserving thread dies first,
 *     the message returns to the queue: at least once, and exactly once for
 *     consumers that ack. It returns at the next get, reserve or put that
 *     finds the queue empty or full, and within 10 ms for threads already
 *     waiting on it.
 *   - A process that dies holding the producers' or consumers' lock leaves
 *     the queue consistent: the next process to take the lock repairs the
 *     bookkeeping from the committed state. No waiter is stranded.
 *
 * Bad shared state: attach validates the block (magic, version, sizes,
 * indices) and every operation validates what it reads from shared memory
 * (indices, message positions and lengths) against the handle's own copy
 * of the shape; a queue whose shared header has been damaged returns EPROTO
 * and never reads or writes outside its block.
 *
 * Differences from Python: close() closes the queue for every process (puts
 * fail with EPIPE; gets drain what is left, then return EPIPE), where
 * Python's close only stops the calling process's feeder. qsize() is exact
 * at one instant (it may change at once after); full() and empty() are
 * derived from it.
 *
 * Threads: every function may be called from any thread of any process
 * that has the queue, except weft_queue_ack/release (the reserving thread).
 * Not async-signal-safe. Errors: every function returns 0 or an errno code,
 * and a failed call changes nothing unless its comment says otherwise. */
#ifndef WEFT_QUEUE_H
#define WEFT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_queue weft_queue;

/* Kinds (weft_queue_opts.flags). */
/* JoinableQueue: every message got must be marked done with
 * weft_queue_task_done; weft_queue_join waits until all are. */
#define WEFT_QUEUE_JOINABLE 1u
/* SimpleQueue: no reservations (reserve returns ENOTSUP) and no message
 * count bound beyond what the bytes allow; the leanest block. */
#define WEFT_QUEUE_SIMPLE 2u

/* Shape of a new queue; zero fields take the defaults. */
typedef struct weft_queue_opts {
    size_t capacity;       /* bytes of messages (default 1 MiB; rounded up
                              to a multiple of 8; at most 2^40) */
    size_t max_messages;   /* default capacity / 64, at least 16; SIMPLE:
                              capacity / 8; at most 2^31 */
    unsigned max_reserved; /* reservations held at once (default 64, at
                              most 1024); SIMPLE: none */
    unsigned flags;        /* WEFT_QUEUE_JOINABLE or WEFT_QUEUE_SIMPLE */
} weft_queue_opts;

/* A reserved message, handed back to weft_queue_ack/release. */
typedef uint64_t weft_queue_ticket;

/* One message of a batch (weft_queue_put_many / get_many). */
typedef struct weft_queue_msg {
    void *buf;  /* put_many: the bytes (only read); get_many: where they go */
    size_t len; /* put_many: the length; get_many: set to the length */
    size_t cap; /* get_many: bytes buf holds (put_many ignores it) */
} weft_queue_msg;

/* weft_queue_create - make a queue. name NULL: anonymous, shared with
 * children forked afterwards; else a new named block ("/name"; see
 * weft/shm.h) that weft_queue_attach opens. opts NULL: defaults.
 * Returns:  0; EINVAL (bad opts or name); EEXIST (name taken); ENOMEM;
 *           ENOSPC; or the errors of weft_shm_create. */
int weft_queue_create(weft_queue **out, const char *name, const weft_queue_opts *opts);

/* weft_queue_attach - open the named queue another process created.
 * Returns:  0; ENOENT; EAGAIN (its creator has not finished making it:
 *           retry); EPROTO (not a weft queue, another version, or damaged:
 *           nothing is mapped); ENOMEM. */
int weft_queue_attach(weft_queue **out, const char *name);

/* weft_queue_free - unmap the queue from this process and free the handle
 * (the queue itself lives on while others have it; see unlink). NULL is a
 * no-op. Must not race with calls on the same handle. Reservations the
 * calling thread still holds return to the queue; other threads of the
 * process must ack or release theirs first (a reservation's robust lock
 * stays linked in its thread's list, which must not point into unmapped
 * memory). */
void weft_queue_free(weft_queue *q);

/* weft_queue_unlink - remove the name (as weft_shm_unlink); processes that
 * attached keep their queue. Returns 0, ENOENT, EINVAL. */
int weft_queue_unlink(const char *name);

/* weft_queue_put - add a copy of msg[0..len) at the back.
 * Blocks:   while the queue is full (in bytes or messages).
 * Returns:  0; EPIPE (closed); EMSGSIZE (len > capacity: it never fits);
 *           EINVAL (msg NULL with len > 0); EPROTO (damaged queue). */
int weft_queue_put(weft_queue *q, const void *msg, size_t len);
/* weft_queue_try_put - put without blocking; EAGAIN when full. */
int weft_queue_try_put(weft_queue *q, const void *msg, size_t len);
/* weft_queue_put_until - put, giving up at deadline_ns (absolute
 * CLOCK_MONOTONIC; WEFT_DEADLINE_NEVER waits forever): ETIMEDOUT. */
int weft_queue_put_until(weft_queue *q, const void *msg, size_t len, int64_t deadline_ns);
/* weft_queue_put_for - put_until with a relative timeout (EINVAL if < 0). */
int weft_queue_put_for(weft_queue *q, const void *msg, size_t len, int64_t timeout_ns);

/* weft_queue_put_many - put a batch: the longest prefix of msgs[0..n)
 * that fits, committed at one instant (one put's commit, for the whole
 * prefix: a process killed in the call leaves all of it visible or none);
 * *put is its length. Costs about one put for the whole batch, so a
 * producer with many messages at hand moves them at memcpy speed.
 * Blocks:   until at least msgs[0] fits (n == 0: returns 0 at once).
 * Returns:  0 with *put >= 1; EPIPE (closed); EMSGSIZE, EINVAL (msgs[0]
 *           could never be put, as for weft_queue_put; such a message
 *           later in msgs ends the prefix before it); EINVAL (put NULL, or
 *           msgs NULL with n > 0); EPROTO. On an error *put is 0. */
int weft_queue_put_many(weft_queue *q, const weft_queue_msg *msgs, size_t n, size_t *put);
/* weft_queue_put_many_until - put_many, giving up at deadline_ns:
 * ETIMEDOUT (nothing was put). */
int weft_queue_put_many_until(weft_queue *q, const weft_queue_msg *msgs, size_t n, size_t *put,
                              int64_t deadline_ns);

/* weft_queue_get - take the message at the front into buf[0..cap), its
 * length into *len.
 * Blocks:   while the queue is empty and open.
 * Returns:  0; EMSGSIZE (cap < its length: the message stays at the front
 *           and *len tells its length); EPIPE (closed and empty); EINVAL
 *           (len NULL, or buf NULL with cap > 0); EPROTO (damaged queue). */
int weft_queue_get(weft_queue *q, void *buf, size_t cap, size_t *len);
/* weft_queue_try_get - get without blocking; EAGAIN when empty. */
int weft_queue_try_get(weft_queue *q, void *buf, size_t cap, size_t *len);
/* weft_queue_get_until - get, giving up at deadline_ns: ETIMEDOUT. */
int weft_queue_get_until(weft_queue *q, void *buf, size_t cap, size_t *len,
                         int64_t deadline_ns);
/* weft_queue_get_for - get_until with a relative timeout (EINVAL if < 0). */
int weft_queue_get_for(weft_queue *q, void *buf, size_t cap, size_t *len,
                       int64_t timeout_ns);
/* weft_queue_get_alloc_until - get into a malloc'd buffer the caller frees
 * (*msg is non-NULL even for an empty message). Errors as get_until, and
 * ENOMEM (the message stays in the queue). */
int weft_queue_get_alloc_until(weft_queue *q, void **msg, size_t *len, int64_t deadline_ns);

/* weft_queue_get_many - take a batch: up to n messages from the front,
 * message i into msgs[i].buf (msgs[i].cap bytes), its length into
 * msgs[i].len; *got is how many. Taken under one hold of the consumers'
 * lock, so they come in queue order with no other consumer's between. The
 * run taken from the front commits at one instant, messages taken past a
 * reserved one each as a get: a consumer killed in the call may have
 * taken - and lost - any of them (at most n; see the top of this header).
 * The batch ends early at an empty queue, at a message longer than its
 * buffer (it stays at the front, and msgs[*got].len tells its length), or
 * at damage (which the next call reports).
 * Blocks:   while the queue is empty and open (n == 0: returns 0 at once).
 * Returns:  0 with *got >= 1; EMSGSIZE (the front message does not fit
 *           msgs[0]: it stays, msgs[0].len tells its length); EPIPE (closed
 *           and empty); EINVAL (got NULL, msgs NULL with n > 0, or a buf
 *           NULL with cap > 0); EPROTO. On an error *got is 0. */
int weft_queue_get_many(weft_queue *q, weft_queue_msg *msgs, size_t n, size_t *got);
/* weft_queue_get_many_until - get_many, giving up at deadline_ns:
 * ETIMEDOUT. */
int weft_queue_get_many_until(weft_queue *q, weft_queue_msg *msgs, size_t n, size_t *got,
                              int64_t deadline_ns);

/* weft_queue_reserve_until - as get_until, but the message is only hidden:
 * *ticket names it for weft_queue_ack (done with it) or weft_queue_release
 * (put it back). If the calling thread ends or its process dies first, the
 * message returns to the queue (see the top of this header).
 * Capacity: a reserved message keeps its bytes and its place in the
 *           bound until it is acked or released, and so do the messages
 *           after it (space is reclaimed in order).
 * Returns:  as get_until; ENOBUFS (max_reserved reservations are out
 *           already, held by any threads: ack some); ENOTSUP (a SIMPLE
 *           queue). */
int weft_queue_reserve_until(weft_queue *q, void *buf, size_t cap, size_t *len,
                             weft_queue_ticket *ticket, int64_t deadline_ns);
/* weft_queue_ack - the reserved message is handled: it leaves the queue.
 * Returns:  0; EPERM (not a reservation the calling thread holds). */
int weft_queue_ack(weft_queue *q, weft_queue_ticket ticket);
/* weft_queue_release - return a reserved message to the queue, where the
 * next get or reserve takes it before newer ones.
 * Returns:  0; EPERM (not a reservation the calling thread holds). */
int weft_queue_release(weft_queue *q, weft_queue_ticket ticket);

/* weft_queue_qsize - messages waiting to be got (not counting reserved
 * ones). Exact at one instant; may change at once. */
size_t weft_queue_qsize(const weft_queue *q);
/* weft_queue_empty - qsize() == 0. */
int weft_queue_empty(const weft_queue *q);
/* weft_queue_full - the message bound is reached or no byte is free: a put
 * of one byte or more would block (an empty message needs no bytes). A
 * larger message may not fit even when this is 0. */
int weft_queue_full(const weft_queue *q);

/* weft_queue_close - close the queue for every process: blocked and later
 * puts return EPIPE; gets drain the messages left, then return EPIPE; every
 * waiter is woken. Idempotent. Returns 0. */
int weft_queue_close(weft_queue *q);
/* weft_queue_closed - whether the queue is closed (1) or open (0). */
int weft_queue_closed(const weft_queue *q);

/* weft_queue_task_done - a JOINABLE queue's consumer finished a message it
 * got. Returns 0; EINVAL (more task_done calls than puts: nothing
 * changes); ENOTSUP (not JOINABLE). */
int weft_queue_task_done(weft_queue *q);
/* weft_queue_join_until - wait until every message put has been marked
 * done (a consumer killed between get and task_done leaves its message
 * unfinished: use a deadline where consumers may die).
 * Returns:  0; ETIMEDOUT; ENOTSUP (not JOINABLE). */
int weft_queue_join_until(weft_queue *q, int64_t deadline_ns);
/* weft_queue_join - join_until without a deadline. */
int weft_queue_join(weft_queue *q);

/* weft_queue_capacity / weft_queue_max_messages - the queue's shape. */
size_t weft_queue_capacity(const weft_queue *q);
size_t weft_queue_max_messages(const weft_queue *q);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_QUEUE_H */

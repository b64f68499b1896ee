/* ppoolimpl.h - the process pool's messages and the parts of its state
 * that the worker side (ppool_worker.c) reads (internal to pool/). */
#ifndef WEFT_PPOOLIMPL_H
#define WEFT_PPOOLIMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/ppool.h"
#include "weft/queue.h"

/* Parent -> worker, in the worker's inbox: this header, then the argument. */
struct weft__task_msg {
    uint64_t id;
    weft_ptask_fn fn;
    int64_t deadline; /* WEFT_DEADLINE_NEVER: none */
    uint32_t awaited; /* it has a future: its result may go to the box */
    uint32_t cpu;     /* weft__pool_cpu() of the thread that submitted it */
};

/* Pauses a worker waits, after boxing the result of an awaited task, for
 * a parent thread to start watching for it before it announces the
 * result to the collector: the waiter usually arrives within a few
 * hundred nanoseconds of the submit, and the announcement would wake the
 * collector for nothing. */
#ifndef WEFT_PPOOL_BOX_LINGER
#define WEFT_PPOOL_BOX_LINGER 128
#endif

/* -> the collector, in the result queue: this header, then for RESULT the
 * result bytes. */
enum weft__msg_kind {
    WEFT__MSG_RESULT = 1,      /* a task ran: rc, bytes */
    WEFT__MSG_SKIPPED = 2,     /* a task's deadline had passed: not run */
    WEFT__MSG_INIT_FAILED = 3, /* the initializer returned rc */
    WEFT__MSG_DEATH = 4,       /* (watcher) worker slot/gen has ended */
    WEFT__MSG_WAKE = 5,        /* (shutdown) look at the pool's state */
    WEFT__MSG_BOXED = 6        /* a result or skip is in the worker's box */
};

struct weft__result_msg {
    uint32_t kind;
    uint32_t slot;
    uint32_t gen;
    int32_t rc;
    uint64_t id;
};

/* Bytes of a worker's box: a message header and a small result. */
#define WEFT__BOX_BYTES 960u

/* Per worker, in shared memory: a line the worker writes, a line the
 * parent writes, and the box. A worker numbers the tasks it takes from its
 * inbox 1, 2, 3... (the order the parent sent them in) and publishes, for
 * the k-th: started = k before it looks at the task's deadline, finished =
 * k after its result (or skip) is committed. So for the parent, the task
 * it sent k-th is done (its message is committed) if k <= finished,
 * running if k == started > finished, and not yet taken - or taken and
 * about to be checked against its deadline - if k > started. A worker sets
 * ready = 1 once its initializer has returned 0 and it is set up to take
 * tasks: a worker that dies with ready 0 died getting started.
 *
 * The box carries one message past the result queue, so that a parent
 * thread waiting for that task reads it straight from shared memory (see
 * weft__ppool_help in ppool.c). A message is committed either by its put
 * into the result queue or by the store boxed = k, after its bytes and
 * box_len; the box is free again when the parent has set taken = boxed.
 * Unless `watching` is k (a parent thread spins for it) within
 * WEFT_PPOOL_BOX_LINGER pauses, the worker then also puts a BOXED notice
 * in the result queue, for the collector: the
 * store of boxed and the load of watching, and the parent's store of
 * watching and load of boxed, are seq_cst (Dekker), so a boxed message is
 * always seen by the watching thread or announced to the collector. The
 * box holds one message: until it is read, the worker's later messages go
 * to the queue, and the collector reads the box before it matches them.
 * `watched` is the highest task number a parent thread has watched for
 * (it only grows while the worker lives): it tells the worker that a
 * thread waits for each result in turn (see commit and should_move in ppool_worker.c). */
struct weft__shared_slot {
    uint64_t started;
    uint64_t finished;
    uint64_t ready;
    uint64_t boxed;   /* the task number whose message is in box; 0: none */
    uint64_t box_len; /* its length, header included */
    uint64_t pad[3];
    uint64_t taken;    /* parent: the boxed number it has read */
    uint64_t watching; /* parent: the task number a thread spins for */
    uint64_t watched;  /* parent: the highest task number watched for */
    uint64_t pad2[5];
    unsigned char box[WEFT__BOX_BYTES];
};

/* What a worker process needs; a copy made before its fork. */
struct weft__worker_ctx {
    weft_queue *inbox;
    weft_queue *results;
    struct weft__shared_slot *shared; /* this worker's line */
    uint32_t slot, gen;
    size_t max_arg, max_result, max_tasks;
    int (*initializer)(void *);
    void *initarg;
};

/* weft__ppool_worker_main - the worker process's loop (a weft_proc_fn:
 * arg is a struct weft__worker_ctx). Exits 0 when its inbox closes or
 * after max_tasks tasks. */
int weft__ppool_worker_main(void *arg);

#endif /* WEFT_PPOOLIMPL_H */

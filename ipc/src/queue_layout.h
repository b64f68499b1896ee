/* queue_layout.h - the shared block of a weft_queue (internal; also read
 * by the queue's tests and fuzz harnesses to build and damage blocks).
 * See queue.c for the design and its invariants. */
#ifndef WEFT_IPC_QUEUE_LAYOUT_H
#define WEFT_IPC_QUEUE_LAYOUT_H

#include <stdint.h>

#include "weft/rlock.h"

#define Q_MAGIC 0x51544657u /* "WFTQ" */
#define Q_VERSION 2u /* 2: bit 0 of put_seq and free_seq marks a sleeper */
#define Q_LINE 64u
#define Q_ST_READY 1u
#define Q_ST_DONE 2u
#define Q_ST_LEASED 0x100u /* + lease index */
#define Q_FREE_SEQ UINT64_MAX
#define Q_CAP_MAX ((uint64_t)1 << 40)
#define Q_SLOTS_MAX ((uint64_t)1 << 31)
#define Q_LEASES_MAX 1024u
#define Q_POS_MAX ((uint64_t)1 << 62) /* byte positions stay far from wrapping */
#define Q_REAP_SLICE_NS 10000000      /* waits re-check dead leases this often */
#define Q_PARK_AFTER_NS 100000000     /* and sleep without a limit after this */
#ifndef WEFT_QUEUE_SPINS
#define WEFT_QUEUE_SPINS 2000
#endif
#define Q_SPINS WEFT_QUEUE_SPINS      /* pauses before a wait sleeps */
#ifndef WEFT_QUEUE_LINGER_SPINS
#define WEFT_QUEUE_LINGER_SPINS 256
#endif
#define Q_LINGER_SPINS WEFT_QUEUE_LINGER_SPINS /* pauses a consumer waits for a batch */
#define Q_LINGER_BATCH 16            /* or until this many messages came */
#define Q_LINGER_SKIP_MAX 1024       /* waits without lingering, at most */

#define Q_ALIGNED __attribute__((aligned(Q_LINE)))

struct q_slot {
    uint64_t start;
    uint32_t len;
    uint32_t state;
};

struct q_lease {
    weft_rlock lk;
    uint64_t seq; /* Q_FREE_SEQ, or the message it holds (clock) */
} Q_ALIGNED;

/* The padding is the point: each group below has its own cache lines. */
struct q_hdr { // NOLINT(clang-analyzer-optin.performance.Padding)
    uint32_t magic; /* 0 until the block is ready; atomic */
    uint32_t version;
    uint32_t flags;
    uint32_t nleases;
    uint64_t cap;
    uint64_t nslots;
    uint64_t slots_off, leases_off, data_off, total;
    uint32_t closed; /* atomic */

    /* Each side's lock and the index the other side reads sit on their
     * own cache lines: reading tail or head must not pull in a lock. */
    weft_rlock plock Q_ALIGNED;
    uint64_t tail Q_ALIGNED; /* atomic: messages committed */
    uint32_t put_cpu;        /* atomic, a hint: CPU (plus one) of the last put */

    weft_rlock clock Q_ALIGNED;
    uint64_t rd;              /* clock */
    uint64_t taken;           /* atomic, written under clock: got or reserved */
    uint32_t nleased;         /* atomic, written under clock: leases in use */
    uint64_t head Q_ALIGNED;  /* atomic: oldest unreclaimed message */
    uint32_t get_cpu;         /* atomic, a hint: CPU (plus one) of the last get */

    uint32_t put_seq Q_ALIGNED; /* consumers sleep here */
    uint32_t get_waiters;         /* consumers asleep or about to be */
    uint32_t get_parked;          /* those of them asleep without a limit */
    uint32_t free_seq Q_ALIGNED;  /* producers sleep here */
    uint32_t put_waiters;
    uint32_t put_parked;
    uint64_t tasks_done Q_ALIGNED; /* atomic */
    uint32_t done_seq;           /* joiners sleep here */
    uint32_t join_waiters;
};

#endif /* WEFT_IPC_QUEUE_LAYOUT_H */

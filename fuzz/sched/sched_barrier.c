/* sched_barrier.c - weft_barrier under every interleaving: three threads
 * pass a barrier of three twice. Before each wait a thread counts itself
 * in for that round (a split update the schedule may interleave, so each
 * round has its own counter); after the wait it must see all three in.
 * Arrival indices of a round must be 0, 1 and 2, once each. The variant
 * byte adds an action run by the last arrival. */
#include <string.h>

#include "sched_harness.h"
#include "weft/barrier.h"

#define THREADS 3
#define ROUNDS 2

static struct {
    unsigned variant;
    weft_barrier b;
    int arrived[ROUNDS][THREADS]; /* [round][thread] */
    int index_seen[ROUNDS][THREADS];
    int actions;
} H;

static int count_action(void *arg)
{
    (void)arg;
    H.actions++;
    return 0;
}

static void body(int idx, void *ctx)
{
    (void)ctx;
    for (int r = 0; r < ROUNDS; r++) {
        H.arrived[r][idx] = 1;
        WEFT_SCHED_POINT();
        unsigned index = 99;
        SCHED_CHECK(weft_barrier_wait(&H.b, &index) == 0);
        SCHED_CHECK(index < THREADS);
        H.index_seen[r][index % THREADS]++; /* checked above */
        for (int t = 0; t < THREADS; t++)
            SCHED_CHECK(H.arrived[r][t] == 1);
    }
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    SCHED_CHECK(weft_barrier_init(&H.b, THREADS, H.variant & 1 ? count_action : NULL, NULL, 0) == 0);
    sched_run_or_die(data, len, THREADS, body, NULL);
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < THREADS; i++)
            SCHED_CHECK(H.index_seen[r][i] == 1);
    SCHED_CHECK(H.actions == (H.variant & 1 ? ROUNDS : 0));
    SCHED_CHECK(!weft_barrier_broken(&H.b));
    SCHED_CHECK(weft_barrier_destroy(&H.b) == 0);
    return 0;
}

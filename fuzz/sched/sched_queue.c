/* sched_queue.c - weft_queue across threads under every interleaving: two
 * producers put three messages each into a queue that holds two at a time
 * (so puts block), the second producer to finish closes it, and a consumer
 * gets until the queue says it is closed and empty. Nothing may be lost,
 * duplicated or reordered within a producer, and nobody may be left
 * blocked. The variant byte picks plain or deadline waits (a
 * schedule-made timeout is legal: try again). */
#include <errno.h>
#include <string.h>

#include "sched_harness.h"
#include "weft/queue.h"

#define PER_PRODUCER 3

static struct {
    unsigned variant;
    weft_queue *q;
    int producers_done;
    int next[2]; /* next sequence number expected from each producer */
    int got;
} H;

static void produce(int who)
{
    for (int i = 0; i < PER_PRODUCER; i++) {
        int msg = who * 100 + i;
        int r;
        if (H.variant & 1) {
            while ((r = weft_queue_put_until(H.q, &msg, sizeof msg, far_deadline())) == ETIMEDOUT)
                ;
        } else {
            r = weft_queue_put(H.q, &msg, sizeof msg);
        }
        SCHED_CHECK(r == 0);
    }
    if (++H.producers_done == 2)
        SCHED_CHECK(weft_queue_close(H.q) == 0);
}

static void consume(void)
{
    for (;;) {
        int msg = -1;
        size_t len = 0;
        int r;
        if (H.variant & 1) {
            while ((r = weft_queue_get_until(H.q, &msg, sizeof msg, &len, far_deadline())) == ETIMEDOUT)
                ;
        } else {
            r = weft_queue_get(H.q, &msg, sizeof msg, &len);
        }
        if (r == EPIPE)
            break;
        SCHED_CHECK(r == 0 && len == sizeof msg);
        int who = msg / 100, seq = msg % 100;
        SCHED_CHECK(who >= 0 && who < 2);
        who &= 1; /* checked above */
        SCHED_CHECK(seq == H.next[who]);
        H.next[who]++;
        H.got++;
    }
}

static void body(int idx, void *ctx)
{
    (void)ctx;
    if (idx < 2)
        produce(idx);
    else
        consume();
}

static int sched_one(const uint8_t *data, size_t len)
{
    memset(&H, 0, sizeof H);
    H.variant = sched_variant(&data, &len);
    weft_queue_opts o = {.capacity = 16, .flags = WEFT_QUEUE_SIMPLE};
    SCHED_CHECK(weft_queue_create(&H.q, NULL, &o) == 0);
    sched_run_or_die(data, len, 3, body, NULL);
    SCHED_CHECK(H.got == 2 * PER_PRODUCER);
    SCHED_CHECK(H.next[0] == PER_PRODUCER && H.next[1] == PER_PRODUCER);
    SCHED_CHECK(weft_queue_closed(H.q) == 1 && weft_queue_qsize(H.q) == 0);
    weft_queue_free(H.q);
    return 0;
}

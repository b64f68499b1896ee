/* sched_once.c - weft_once_call under every interleaving: three threads
 * call it on one weft_once; the function runs exactly once, and no caller
 * returns before it has finished (it takes two split steps). */
#include <string.h>

#include "sched_harness.h"
#include "weft/once.h"

static struct {
    weft_once once;
    int runs;
    int finished;
} H;

static void init_fn(void *arg)
{
    (void)arg;
    split_increment(&H.runs);
    WEFT_SCHED_POINT();
    H.finished = 1;
}

static void body(int idx, void *ctx)
{
    (void)idx, (void)ctx;
    SCHED_CHECK(weft_once_call(&H.once, init_fn, NULL) == 0);
    SCHED_CHECK(H.finished == 1);
}

static int sched_one(const uint8_t *data, size_t len)
{
    static const weft_once fresh = WEFT_ONCE_INIT;
    memset(&H, 0, sizeof H);
    H.once = fresh;
    (void)sched_variant(&data, &len);
    sched_run_or_die(data, len, 3, body, NULL);
    SCHED_CHECK(H.runs == 1);
    return 0;
}

/* fuzz_gil_ops.c - input bytes are programs run by 2-4 threads that share
 * one weft_gil; the harness checks mutual exclusion, the counters and the
 * hooks, and that every program ends.
 *
 * Input: byte 0 picks the mode (bit 0: fair), the thread count (bits 1-2:
 * 2-4 threads... 2 + value % 3) and the switch interval (bits 3-4: 1 us,
 * 10 us, 100 us, 1 ms); the rest are dealt round-robin to the threads, one
 * operation per byte (low 3 bits: which; high 5 bits: an argument a). Each
 * thread first acquires the GIL and, unless it exits early, releases it at
 * the end. Operations, all made while holding the GIL:
 *   0 CPU slice: 16*(a+1) steps of work with a check after each
 *   1 blocking section around a sleep of a microseconds
 *   2 weft_gil_yield
 *   3 release, then acquire_for a microseconds; on ETIMEDOUT, acquire
 *   4 exit the thread still holding the GIL (the final release)
 *   5 set the switch interval to (a+1) microseconds
 *   6 read the counters (GIL and thread) and check them
 *   7 release, then acquire (a voluntary release)
 * Invariants: never two threads inside; a counter incremented under the
 * GIL equals the increments made; GIL acquisitions equal the successful
 * acquires made plus the forced drops (each retakes once), timeouts the
 * ETIMEDOUTs seen; switches and forced drops do
 * not exceed acquisitions; the hooks saw as many releases as acquisitions;
 * afterwards the GIL is free and can be destroyed; every thread ends within
 * the watchdog. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <string.h>

#include "fuzz_common.h"
#include "weft/gil.h"

#define MAX_THREADS 4
#define MAX_OPS 64
#define WATCHDOG_NS (5LL * 1000000000LL)

struct world {
    weft_gil g;
    int nthreads;
    int inside;           /* atomic: threads between enter and leave */
    long counter;         /* under g */
    long increments;      /* atomic */
    uint64_t acquires;    /* atomic: successful acquires made */
    uint64_t timeouts;    /* atomic */
    uint64_t ev_acquired; /* atomic, from the hook */
    uint64_t ev_released; /* atomic */
    int nops[MAX_THREADS];
    uint8_t ops[MAX_THREADS][MAX_OPS];
    int done[MAX_THREADS];
};

static struct world world;
static volatile uint64_t sink;

static void hook(weft_gil *g, unsigned ev, void *arg)
{
    (void)g;
    struct world *w = (struct world *)arg;
    if (ev == WEFT_GIL_EV_ACQUIRED)
        __atomic_fetch_add(&w->ev_acquired, 1, __ATOMIC_RELAXED);
    else if (ev == WEFT_GIL_EV_RELEASED)
        __atomic_fetch_add(&w->ev_released, 1, __ATOMIC_RELAXED);
}

/* Touch the data the GIL protects: alone, and counted. */
static void inside(struct world *w)
{
    FUZZ_CHECK(__atomic_fetch_add(&w->inside, 1, __ATOMIC_RELAXED) == 0);
    w->counter++;
    __atomic_fetch_add(&w->increments, 1, __ATOMIC_RELAXED);
    FUZZ_CHECK(__atomic_fetch_sub(&w->inside, 1, __ATOMIC_RELAXED) == 1);
}

static void take(struct world *w) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    FUZZ_CHECK(weft_gil_acquire(&w->g) == 0);
    __atomic_fetch_add(&w->acquires, 1, __ATOMIC_RELAXED);
}

static void check_stats(const weft_gil_stats *s)
{
    FUZZ_CHECK(s->switches <= s->acquisitions);
    FUZZ_CHECK(s->forced_drops <= s->acquisitions);
    FUZZ_CHECK(s->contended <= s->acquisitions);
    uint64_t hist = 0;
    for (int i = 0; i < WEFT_GIL_HIST_BUCKETS; i++)
        hist += s->wait_hist[i];
    /* Exact: only the holder (the caller, or no one at the end) counts. */
    FUZZ_CHECK(hist == s->contended);
}

struct worker {
    struct world *w;
    int id;
};

static void *worker_main(void *p) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    struct worker *k = (struct worker *)p;
    struct world *w = k->w;
    take(w);
    int held = 1;
    for (int i = 0; i < w->nops[k->id] && held; i++) {
        unsigned op = w->ops[k->id][i] & 7u, a = w->ops[k->id][i] >> 3;
        inside(w);
        switch (op) {
        case 0: {
            uint64_t x = a;
            for (unsigned s = 0; s < 16 * (a + 1); s++) {
                x = x * 6364136223846793005u + 1442695040888963407u;
                FUZZ_CHECK(weft_gil_check(&w->g) == 0);
            }
            sink = x;
            break;
        }
        case 1: {
            FUZZ_CHECK(weft_gil_blocking_begin(&w->g) == 0);
            struct timespec ts = {0, (long)a * 1000};
            (void)nanosleep(&ts, NULL);
            FUZZ_CHECK(weft_gil_blocking_end(&w->g) == 0);
            __atomic_fetch_add(&w->acquires, 1, __ATOMIC_RELAXED);
            break;
        }
        case 2:
            FUZZ_CHECK(weft_gil_yield(&w->g) == 0);
            break;
        case 3: {
            FUZZ_CHECK(weft_gil_release(&w->g) == 0);
            int r = weft_gil_acquire_for(&w->g, (int64_t)a * 1000);
            FUZZ_CHECK(r == 0 || r == ETIMEDOUT);
            if (r == 0)
                __atomic_fetch_add(&w->acquires, 1, __ATOMIC_RELAXED);
            else
                __atomic_fetch_add(&w->timeouts, 1, __ATOMIC_RELAXED);
            if (r != 0)
                take(w);
            break;
        }
        case 4:
            held = 0; /* return holding it: the exit releases it */
            break;
        case 5:
            FUZZ_CHECK(weft_gil_set_interval(&w->g, ((int64_t)a + 1) * 1000) == 0);
            break;
        case 6: {
            weft_gil_stats s;
            weft_gil_stats_get(&w->g, &s);
            check_stats(&s);
            weft_gil_thread_stats(&w->g, &s);
            check_stats(&s);
            FUZZ_CHECK(s.acquisitions >= 1);
            break;
        }
        default:
            FUZZ_CHECK(weft_gil_release(&w->g) == 0);
            take(w);
            break;
        }
        FUZZ_CHECK(weft_gil_held(&w->g));
    }
    if (held)
        FUZZ_CHECK(weft_gil_release(&w->g) == 0);
    __atomic_store_n(&w->done[k->id], 1, __ATOMIC_RELEASE);
    return NULL;
}

static void on_hang(void *arg)
{
    struct world *w = (struct world *)arg;
    (void)fprintf(stderr, "gil: locked %u waiters %u drop_request %u\n", w->g.locked,
                  w->g.waiters, w->g.drop_request);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct world *w = &world;
    memset(w, 0, sizeof *w);
    static const int64_t intervals[4] = {1000, 10000, 100000, 1000000};
    weft_gil_opts o;
    memset(&o, 0, sizeof o);
    o.mode = (data[0] & 1) ? WEFT_GIL_FAIR : WEFT_GIL_FAITHFUL;
    o.interval_ns = intervals[(data[0] >> 3) & 3];
    o.hook_events = WEFT_GIL_EV_ACQUIRED | WEFT_GIL_EV_RELEASED;
    o.hook = hook;
    o.hook_arg = w;
    FUZZ_CHECK(weft_gil_init(&w->g, &o) == 0);
    w->nthreads = 2 + ((data[0] >> 1) & 3) % 3;
    for (size_t k = 1; k < size; k++) {
        int t = (int)((k - 1) % (size_t)w->nthreads);
        if (w->nops[t] < MAX_OPS)
            w->ops[t][w->nops[t]++] = data[k];
    }
    struct worker wk[MAX_THREADS];
    pthread_t tid[MAX_THREADS] = {0};
    for (int t = 0; t < w->nthreads; t++) {
        wk[t].w = w;
        wk[t].id = t;
        FUZZ_CHECK(pthread_create(&tid[t], NULL, worker_main, &wk[t]) == 0);
    }
    fuzz_join_or_abort(tid, w->done, w->nthreads, WATCHDOG_NS, on_hang, w);

    /* Every thread is gone, so the GIL is free. */
    FUZZ_CHECK(weft_gil_acquire_for(&w->g, 0) == 0);
    __atomic_fetch_add(&w->acquires, 1, __ATOMIC_RELAXED);
    inside(w);
    FUZZ_CHECK(w->counter == __atomic_load_n(&w->increments, __ATOMIC_RELAXED));
    FUZZ_CHECK(weft_gil_release(&w->g) == 0);
    weft_gil_stats s;
    weft_gil_stats_get(&w->g, &s);
    check_stats(&s);
    /* Each forced drop (a check or yield that let another run) is followed
     * by one re-take inside the same call. */
    FUZZ_CHECK(s.acquisitions == w->acquires + s.forced_drops);
    FUZZ_CHECK(s.timeouts == w->timeouts);
    FUZZ_CHECK(w->ev_acquired == s.acquisitions);
    FUZZ_CHECK(w->ev_released == s.acquisitions);
    FUZZ_CHECK(weft_gil_destroy(&w->g) == 0);
    return 0;
}

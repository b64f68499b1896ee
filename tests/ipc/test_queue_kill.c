/* test_queue_kill.c - weft_queue under SIGKILL: producers and consumers in
 * their own processes, one of them killed at a random instant, over
 * thousands of trials bounded in time. Every message carries its producer,
 * sequence number and a checksum; after each trial the receipts are
 * checked against what the producers committed:
 *   - no message received twice, none torn or invented, no process hung;
 *   - plain gets: every committed message received, except at most one per
 *     killed consumer (the one it took and died before logging);
 *   - batches (put_many of 1 to BATCH messages, get_many of up to BATCH):
 *     the same, except at most BATCH per killed consumer (the batch it
 *     took and died before logging); a producer killed in a put_many
 *     leaves its whole batch or none of it;
 *   - a consumer killed outside a get (and its logging) loses nothing;
 *   - reserve + ack: every committed message received exactly once by a
 *     consumer that acked it - no exception.
 * The totals are printed (trials, kills, losses in the get and get_many
 * windows).
 *
 * Environment: WEFT_KILL_TRIALS (default 3000) and WEFT_KILL_SECONDS
 * (default 20) bound the run, whichever ends first; WEFT_KILL_FIRST_SEED
 * (default 1) replays from a reported trial on. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sync/helpers.h"
#include "weft/queue.h"
#include "weft/time.h"

enum { NPROD = 2, NCONS = 2, PER_PROD = 40, LOG_MAX = NPROD * PER_PROD * 2, BATCH = 4 };
enum { MODE_GET, MODE_RESERVE, MODE_BATCH, MODES };
#define MSG_MAGIC 0x4b494c4cu /* "KILL" */

struct log {
    uint32_t n;     /* atomic: entries written */
    uint32_t acked; /* atomic: entries acked (reserve mode) */
    uint32_t tag[LOG_MAX];
};

struct shared {
    uint32_t intent[NPROD];    /* atomic: puts begun */
    uint32_t committed[NPROD]; /* atomic: puts returned 0 */
    uint32_t bad;              /* atomic: torn or invalid messages */
    uint32_t busy[NCONS + 1];  /* atomic: in a get, or logging what it got */
    struct log log[NCONS + 1]; /* the last: the parent's final drain */
};

struct trial {
    weft_queue *q;
    struct shared *sh;
    int id;
    int mode;    /* MODE_*: how producers put and consumers take */
    uint64_t seed;
};

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

struct head {
    uint32_t magic, tag, len, sum;
};

static uint32_t checksum(const unsigned char *p, size_t n, uint32_t tag)
{
    uint32_t h = 2166136261u ^ tag;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Message k of producer id into buf; returns its length. */
static size_t make_msg(unsigned char *buf, int id, uint32_t k, uint64_t *rs)
{
    size_t extra = next_rand(rs) % 300;
    struct head h = {MSG_MAGIC, ((uint32_t)id << 16) | k, (uint32_t)extra, 0};
    for (size_t i = 0; i < extra; i++)
        buf[sizeof h + i] = (unsigned char)(next_rand(rs));
    h.sum = checksum(buf + sizeof h, extra, h.tag);
    memcpy(buf, &h, sizeof h);
    return sizeof h + extra;
}

static int producer(void *arg)
{
    struct trial *t = (struct trial *)arg;
    uint64_t rs = t->seed * 31 + (uint64_t)t->id + 1;
    unsigned char buf[BATCH][sizeof(struct head) + 300];
    weft_queue_msg m[BATCH];
    for (uint32_t k = 0; k < PER_PROD;) {
        /* A batch of 1 to BATCH (one message unless batching). */
        uint32_t n = t->mode == MODE_BATCH ? 1 + (uint32_t)(next_rand(&rs) % BATCH) : 1;
        if (n > PER_PROD - k)
            n = PER_PROD - k;
        for (uint32_t i = 0; i < n; i++)
            m[i] = (weft_queue_msg){buf[i], make_msg(buf[i], t->id, k + i, &rs), 0};
        __atomic_store_n(&t->sh->intent[t->id], k + n, __ATOMIC_SEQ_CST);
        size_t put = 1;
        int rc = t->mode == MODE_BATCH
                     ? weft_queue_put_many_until(t->q, m, n, &put, weft_time_deadline_ns(10000 * MS))
                     : weft_queue_put_for(t->q, buf[0], m[0].len, 10000 * MS);
        if (rc != 0)
            return 200 + rc > 255 ? 255 : 200 + rc;
        if (put != n)
            return 6; /* the queue has room for every batch */
        k += (uint32_t)put;
        __atomic_store_n(&t->sh->committed[t->id], k, __ATOMIC_SEQ_CST);
        /* Messages past the part put are made again, with new bytes:
         * none of them was committed. */
        __atomic_store_n(&t->sh->intent[t->id], k, __ATOMIC_SEQ_CST);
    }
    return 0;
}

static int valid(const unsigned char *buf, size_t len)
{
    struct head h;
    if (len < sizeof h)
        return 0;
    memcpy(&h, buf, sizeof h);
    return h.magic == MSG_MAGIC && h.len == len - sizeof h &&
           h.sum == checksum(buf + sizeof h, h.len, h.tag);
}

/* Log one received message (its tag); 0, or 4 when the log is full. */
static int log_msg(struct shared *sh, struct log *lg, const unsigned char *buf, size_t len)
{
    if (!valid(buf, len)) {
        __atomic_fetch_add(&sh->bad, 1u, __ATOMIC_SEQ_CST);
        return 0;
    }
    struct head h;
    memcpy(&h, buf, sizeof h);
    uint32_t n = lg->n;
    if (n >= LOG_MAX)
        return 4;
    lg->tag[n] = h.tag;
    __atomic_store_n(&lg->n, n + 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Take messages until the queue is closed and empty, logging each in
 * sh->log[who]; sh->busy[who] is 1 from before each get until what it
 * took is logged (and acked), the window in which a kill may lose it. */
static int consume(weft_queue *q, struct shared *sh, int who, int mode, int64_t deadline)
{
    struct log *lg = &sh->log[who];
    unsigned char buf[BATCH][sizeof(struct head) + 300] = {{0}};
    weft_queue_msg m[BATCH];
    for (int i = 0; i < BATCH; i++)
        m[i] = (weft_queue_msg){buf[i], 0, sizeof buf[i]};
    for (;;) {
        size_t got = 1;
        weft_queue_ticket tk = 0;
        __atomic_store_n(&sh->busy[who], 1u, __ATOMIC_SEQ_CST);
        int rc = mode == MODE_RESERVE
                     ? weft_queue_reserve_until(q, buf[0], sizeof buf[0], &m[0].len, &tk, deadline)
                 : mode == MODE_BATCH ? weft_queue_get_many_until(q, m, BATCH, &got, deadline)
                                      : weft_queue_get_until(q, buf[0], sizeof buf[0], &m[0].len,
                                                             deadline);
        if (rc == EPIPE || rc == EAGAIN || rc == ETIMEDOUT)
            return rc == EPIPE ? 0 : rc;
        if (rc != 0)
            return 100 + rc;
        for (size_t i = 0; i < got; i++)
            if (log_msg(sh, lg, buf[i], m[i].len) != 0)
                return 4;
        if (mode == MODE_RESERVE) {
            if (weft_queue_ack(q, tk) != 0)
                return 5;
            __atomic_store_n(&lg->acked, lg->n, __ATOMIC_SEQ_CST);
        }
        __atomic_store_n(&sh->busy[who], 0u, __ATOMIC_SEQ_CST);
    }
}

static int consumer(void *arg)
{
    struct trial *t = (struct trial *)arg;
    return consume(t->q, t->sh, t->id, t->mode, weft_time_deadline_ns(10000 * MS));
}

/* Wait for pid until deadline; kill it if it is still there. Returns its
 * status as reap() does, or 1000 for a hang. */
static int reap_by(pid_t pid, int64_t deadline)
{
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        WT_GE(r, 0);
        if (r == pid)
            return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
        if (weft_time_now_ns() >= deadline) {
            (void)kill(pid, SIGKILL);
            (void)waitpid(pid, &st, 0);
            return 1000;
        }
        sleep_ns(MS / 5);
    }
}

struct totals {
    long trials, kills, producer_kills, consumer_kills, window_losses;
    long lost, dup, bad, hang, failed_exit, torn;
};

static void run_trial(uint64_t seed, struct totals *tot)
{
    struct trial t;
    memset(&t, 0, sizeof t);
    t.seed = seed;
    uint64_t rs = seed * 0x9e3779b97f4a7c15ull + 1;
    t.mode = (int)(next_rand(&rs) % MODES);
    /* Batches get room for every message at once, so that each put_many
     * puts its whole batch: a producer killed in one must leave all of it
     * or none. The others wait on a full queue often. */
    weft_queue_opts o = {2048, 16, 8, 0};
    if (t.mode == MODE_BATCH)
        o = (weft_queue_opts){32768, 128, 8, 0};
    WT_EQ(weft_queue_create(&t.q, NULL, &o), 0);
    t.sh = (struct shared *)shared_alloc(sizeof *t.sh);
    pid_t prod[NPROD], cons[NCONS];
    for (int i = 0; i < NCONS; i++) {
        t.id = i;
        cons[i] = fork_child(consumer, &t);
    }
    for (int i = 0; i < NPROD; i++) {
        t.id = i;
        prod[i] = fork_child(producer, &t);
    }
    /* One victim in most trials, at a random instant of the run. */
    int victim = (int)(next_rand(&rs) % (NPROD + NCONS + 1)); /* last: none */
    sleep_ns((int64_t)(next_rand(&rs) % 3000) * 1000);
    pid_t vpid = victim < NPROD ? prod[victim] : victim < NPROD + NCONS ? cons[victim - NPROD] : 0;
    if (vpid)
        WT_EQ(kill(vpid, SIGKILL), 0);
    int64_t deadline = weft_time_deadline_ns(20000 * MS);
    int killed_cons = -1;
    for (int i = 0; i < NPROD; i++) {
        int st = reap_by(prod[i], deadline);
        if (st == 1000)
            tot->hang++;
        else if (st != 0 && !(i == victim && st == -SIGKILL)) {
            (void)fprintf(stderr, "seed %llu: producer %d exited %d\n", (unsigned long long)seed, i, st);
            tot->failed_exit++;
        }
    }
    WT_EQ(weft_queue_close(t.q), 0);
    for (int i = 0; i < NCONS; i++) {
        int st = reap_by(cons[i], deadline);
        if (st == 1000)
            tot->hang++;
        else if (st != 0 && !(NPROD + i == victim && st == -SIGKILL)) {
            (void)fprintf(stderr, "seed %llu: consumer %d exited %d\n", (unsigned long long)seed, i, st);
            tot->failed_exit++;
        }
        if (NPROD + i == victim && st == -SIGKILL)
            killed_cons = i;
    }
    /* What the consumers left: the parent drains it (reaping a dead
     * consumer's reservations on the way). */
    int rc = consume(t.q, t.sh, NCONS, t.mode, weft_time_deadline_ns(10000 * MS));
    if (rc != 0) {
        (void)fprintf(stderr, "seed %llu: the final drain returned %d\n", (unsigned long long)seed, rc);
        tot->failed_exit++;
    }

    /* Receipts per message. */
    static uint8_t seen[NPROD][PER_PROD];
    memset(seen, 0, sizeof seen);
    int ambiguous = -1; /* reserve mode: the killed consumer's entry being acked */
    for (int c = 0; c <= NCONS; c++) {
        const struct log *lg = &t.sh->log[c];
        uint32_t n = lg->n;
        if (c == killed_cons && t.mode == MODE_RESERVE) {
            if (lg->acked < n)
                ambiguous = (int)lg->tag[n - 1];
            n = lg->acked;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint32_t p = lg->tag[i] >> 16, k = lg->tag[i] & 0xffff;
            if (p >= NPROD || k >= __atomic_load_n(&t.sh->intent[p], __ATOMIC_SEQ_CST)) {
                tot->bad++; /* a message no producer began */
                continue;
            }
            seen[p][k]++;
        }
    }
    if (ambiguous >= 0 && seen[ambiguous >> 16][ambiguous & 0xffff] == 0)
        seen[ambiguous >> 16][ambiguous & 0xffff] = 1; /* it was acked before the kill */
    long lost = 0;
    for (int p = 0; p < NPROD; p++)
        for (uint32_t k = 0; k < PER_PROD; k++) {
            if (seen[p][k] > 1)
                tot->dup += seen[p][k] - 1;
            if (seen[p][k] == 0 && k < t.sh->committed[p])
                lost++;
        }
    /* A consumer killed inside a get (or logging it) may take its message,
     * or batch, with it; one killed elsewhere may not take any. */
    long window = t.mode == MODE_GET ? 1 : t.mode == MODE_BATCH ? BATCH : 0;
    if (killed_cons >= 0 && __atomic_load_n(&t.sh->busy[killed_cons], __ATOMIC_SEQ_CST) &&
        lost <= window) {
        tot->window_losses += lost; /* the documented at-most-once window */
        lost = 0;
    }
    /* A producer killed in a put_many: its batch, [committed, intent), was
     * committed whole or not at all. */
    if (t.mode == MODE_BATCH && vpid && victim < NPROD) {
        uint32_t from = t.sh->committed[victim], to = t.sh->intent[victim], got = 0;
        for (uint32_t k = from; k < to && k < PER_PROD; k++)
            got += seen[victim][k] != 0;
        if (got != 0 && got != to - from) {
            (void)fprintf(stderr, "seed %llu: %u of a batch of %u arrived\n",
                          (unsigned long long)seed, got, to - from);
            tot->torn++;
        }
    }
    tot->lost += lost;
    tot->bad += t.sh->bad;
    tot->trials++;
    if (vpid) {
        tot->kills++;
        if (victim < NPROD)
            tot->producer_kills++;
        else
            tot->consumer_kills++;
    }
    if (lost || tot->dup || tot->bad || tot->hang || tot->failed_exit || tot->torn)
        (void)fprintf(stderr, "trial seed %llu (%s, victim %d) failed: lost %ld\n", (unsigned long long)seed,
               t.mode == MODE_RESERVE ? "reserve" : t.mode == MODE_BATCH ? "batch" : "get", victim,
               lost);
    shared_free(t.sh, sizeof *t.sh);
    weft_queue_free(t.q);
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

WT_CASE(test_queue_kill_trials_lose_nothing, "stress") {
    long max_trials = env_long("WEFT_KILL_TRIALS", 3000);
    int64_t end = weft_time_deadline_ns(env_long("WEFT_KILL_SECONDS", 20) * 1000 * MS);
    struct totals tot;
    memset(&tot, 0, sizeof tot);
    long first = env_long("WEFT_KILL_FIRST_SEED", 1);
    for (long i = 0; i < max_trials && weft_time_now_ns() < end; i++) {
        run_trial((uint64_t)(first + i), &tot);
        if (tot.lost || tot.dup || tot.bad || tot.hang || tot.failed_exit || tot.torn)
            break;
    }
    printf("queue kill trials: %ld (kills %ld: %ld producers, %ld consumers); lost %ld, "
           "duplicated %ld, bad %ld, hung %ld, failed exits %ld, torn batches %ld; get and "
           "get_many window losses %ld\n",
           tot.trials, tot.kills, tot.producer_kills, tot.consumer_kills, tot.lost, tot.dup,
           tot.bad, tot.hang, tot.failed_exit, tot.torn, tot.window_losses);
    WT_EQ(tot.lost, 0);
    WT_EQ(tot.torn, 0);
    WT_EQ(tot.dup, 0);
    WT_EQ(tot.bad, 0);
    WT_EQ(tot.hang, 0);
    WT_EQ(tot.failed_exit, 0);
    WT_GE(tot.trials, 100);
}

WT_MAIN()

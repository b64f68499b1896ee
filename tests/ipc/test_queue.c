/* test_queue.c - weft_queue: FIFO order, bounds in bytes and messages,
 * deadlines, close, the joinable and simple kinds, reservations returned
 * when their thread or process dies, threads and processes together, named
 * queues, and damaged blocks refused. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue_layout.h"
#include "ipc/names.h"
#include "sync/helpers.h"
#include "weft/ipc.h"
#include "weft/time.h"


static weft_queue *make(size_t cap, size_t msgs, unsigned flags)
{
    weft_queue_opts o = {cap, msgs, 0, flags};
    weft_queue *q = NULL;
    WT_EQ(weft_queue_create(&q, NULL, &o), 0);
    return q;
}

/* Message i: its length and bytes, a pattern the reader can check. */
static size_t msg_len(unsigned i) { return (i * 37u) % 301u; }
static void msg_fill(unsigned char *b, unsigned i)
{
    for (size_t k = 0; k < msg_len(i); k++)
        b[k] = (unsigned char)((size_t)i * 7u + k);
}
static int msg_check(const unsigned char *b, size_t len, unsigned i)
{
    if (len != msg_len(i))
        return 0;
    for (size_t k = 0; k < len; k++)
        if (b[k] != (unsigned char)((size_t)i * 7u + k))
            return 0;
    return 1;
}

WT_CASE(test_queue_fifo_sizes_and_state, "unit valgrind") {
    weft_queue *q;
    WT_EQ(weft_queue_create(&q, NULL, NULL), 0);
    WT_EQ(weft_queue_capacity(q), (size_t)1 << 20);
    WT_EQ(weft_queue_max_messages(q), ((size_t)1 << 20) / 64);
    WT_TRUE(weft_queue_empty(q));
    WT_TRUE(!weft_queue_full(q));
    unsigned char b[512];
    for (unsigned i = 0; i < 50; i++) {
        msg_fill(b, i);
        WT_EQ(weft_queue_put(q, b, msg_len(i)), 0);
    }
    WT_EQ(weft_queue_qsize(q), 50u);
    WT_TRUE(!weft_queue_empty(q));
    for (unsigned i = 0; i < 50; i++) {
        size_t len = 999;
        WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
        WT_TRUE(msg_check(b, len, i));
    }
    WT_EQ(weft_queue_qsize(q), 0u);
    /* An empty message and one of the whole capacity. */
    WT_EQ(weft_queue_put(q, NULL, 0), 0);
    size_t len = 1;
    WT_EQ(weft_queue_get(q, NULL, 0, &len), 0);
    WT_EQ(len, 0u);
    weft_queue_free(q);

    q = make(256, 0, 0);
    WT_EQ(weft_queue_max_messages(q), 16u);
    memset(b, 0xab, sizeof b);
    WT_EQ(weft_queue_put(q, b, 256), 0);
    WT_TRUE(weft_queue_full(q));
    WT_EQ(weft_queue_try_put(q, b, 1), EAGAIN);
    WT_EQ(weft_queue_put(q, b, 257), EMSGSIZE);
    WT_EQ(weft_queue_try_put(q, NULL, 0), 0); /* needs no bytes */
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
    WT_EQ(len, 256u);
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
    WT_EQ(len, 0u);
    weft_queue_free(q);
    weft_queue_free(NULL);
}

/* Every length from 0 to 130 bytes, through put and put_many and back
 * through get and get_many: the bytes arrive whole, and nothing is read
 * past a message's end (each source is a heap block of exactly its
 * length, for ASan and Valgrind) or written past it (canaries). */
WT_CASE(test_queue_every_short_length_copied_exactly, "unit valgrind") {
    enum { MAXLEN = 130, CANARY = 16 };
    weft_queue *q = make(512, 0, 0); /* small: the messages wrap the ring */
    for (unsigned len = 0; len <= MAXLEN; len++) {
        unsigned char *src = (unsigned char *)malloc(len ? len : 1);
        WT_TRUE(src != NULL);
        for (unsigned k = 0; k < len; k++)
            src[k] = (unsigned char)(len * 3u + k + 1u);
        WT_EQ(weft_queue_put(q, src, len), 0);
        weft_queue_msg m = {src, len, 0};
        size_t put = 0;
        WT_EQ(weft_queue_put_many(q, &m, 1, &put), 0);
        WT_EQ(put, 1u);
        for (int way = 0; way < 2; way++) {
            unsigned char dst[MAXLEN + CANARY];
            memset(dst, 0xee, sizeof dst);
            size_t got_len = 999;
            if (way == 0) {
                WT_EQ(weft_queue_get(q, dst, len, &got_len), 0);
            } else {
                weft_queue_msg r = {dst, 0, len};
                size_t got = 0;
                WT_EQ(weft_queue_get_many(q, &r, 1, &got), 0);
                WT_EQ(got, 1u);
                got_len = r.len;
            }
            WT_EQ(got_len, (size_t)len);
            WT_EQ(memcmp(dst, src, len), 0);
            for (unsigned k = len; k < sizeof dst; k++)
                WT_EQ(dst[k], 0xee);
        }
        free(src);
    }
    WT_TRUE(weft_queue_empty(q));
    weft_queue_free(q);
}

WT_CASE(test_queue_bad_arguments, "unit valgrind") {
    weft_queue *q = NULL;
    weft_queue_opts o = {0, 0, 0, 0x10};
    WT_EQ(weft_queue_create(NULL, NULL, NULL), EINVAL);
    WT_EQ(weft_queue_create(&q, NULL, &o), EINVAL);
    o.flags = WEFT_QUEUE_SIMPLE;
    o.max_reserved = 3;
    WT_EQ(weft_queue_create(&q, NULL, &o), EINVAL);
    weft_queue_opts big = {(size_t)1 << 41, 0, 0, 0};
    WT_EQ(weft_queue_create(&q, NULL, &big), EINVAL);
    weft_queue_opts many = {0, 0, 5000, 0};
    WT_EQ(weft_queue_create(&q, NULL, &many), EINVAL);
    WT_EQ(weft_queue_create(&q, "no-slash/x", NULL), EINVAL);
    WT_EQ(weft_queue_attach(&q, NULL), EINVAL);
    WT_TRUE(q == NULL);

    q = make(1024, 0, 0);
    size_t len;
    unsigned char b[8];
    WT_EQ(weft_queue_put(q, NULL, 3), EINVAL);
    WT_EQ(weft_queue_get(q, NULL, 3, &len), EINVAL);
    WT_EQ(weft_queue_get(q, b, sizeof b, NULL), EINVAL);
    WT_EQ(weft_queue_put_for(q, b, 1, -1), EINVAL);
    WT_EQ(weft_queue_get_for(q, b, 1, &len, -1), EINVAL);
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, NULL, 0), EINVAL);
    WT_EQ(weft_queue_get_alloc_until(q, NULL, &len, 0), EINVAL);
    WT_EQ(weft_queue_task_done(q), ENOTSUP);
    WT_EQ(weft_queue_join(q), ENOTSUP);
    WT_EQ(weft_queue_ack(q, 0), EPERM);
    WT_EQ(weft_queue_release(q, 12345), EPERM);
    /* Nothing above changed the queue. */
    WT_EQ(weft_queue_put(q, "ok", 2), 0);
    WT_EQ(weft_queue_try_get(q, b, sizeof b, &len), 0);
    WT_EQ(len, 2u);
    weft_queue_free(q);
}

WT_CASE(test_queue_short_buffer_keeps_message, "unit valgrind") {
    weft_queue *q = make(4096, 0, 0);
    WT_EQ(weft_queue_put(q, "hello world", 11), 0);
    char b[16];
    size_t len = 0;
    WT_EQ(weft_queue_get(q, b, 5, &len), EMSGSIZE);
    WT_EQ(len, 11u);
    WT_EQ(weft_queue_qsize(q), 1u);
    void *m = NULL;
    WT_EQ(weft_queue_get_alloc_until(q, &m, &len, 0), 0);
    WT_EQ(len, 11u);
    WT_EQ(memcmp(m, "hello world", 11), 0);
    free(m);
    WT_EQ(weft_queue_put(q, NULL, 0), 0);
    WT_EQ(weft_queue_get_alloc_until(q, &m, &len, WEFT_DEADLINE_NEVER), 0);
    WT_TRUE(m != NULL);
    WT_EQ(len, 0u);
    free(m);
    WT_EQ(weft_queue_get_alloc_until(q, &m, &len, 0), ETIMEDOUT);
    weft_queue_free(q);
}

WT_CASE(test_queue_deadlines, "unit valgrind") {
    weft_queue *q = make(64, 2, 0);
    char b[64];
    size_t len;
    WT_EQ(weft_queue_try_get(q, b, sizeof b, &len), EAGAIN);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_queue_get_for(q, b, sizeof b, &len, 20 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 20 * MS);
    WT_EQ(weft_queue_get_until(q, b, sizeof b, &len, 0), ETIMEDOUT);
    /* Full by messages, then by bytes. */
    WT_EQ(weft_queue_put(q, b, 1), 0);
    WT_EQ(weft_queue_put(q, b, 1), 0);
    WT_TRUE(weft_queue_full(q));
    WT_EQ(weft_queue_try_put(q, b, 1), EAGAIN);
    t0 = weft_time_now_ns();
    WT_EQ(weft_queue_put_for(q, b, 1, 20 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 20 * MS);
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
    memset(b, 1, sizeof b);
    WT_EQ(weft_queue_put(q, b, 60), 0);
    WT_EQ(weft_queue_try_put(q, b, 8), EAGAIN);
    WT_EQ(weft_queue_put_until(q, b, 8, 0), ETIMEDOUT);
    WT_EQ(weft_queue_qsize(q), 1u);
    weft_queue_free(q);
}

/* msgs[i] for put_many: message i of the msg_len / msg_fill pattern. */
static void batch_fill(weft_queue_msg *msgs, unsigned char (*b)[512], unsigned first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        msg_fill(b[i], first + (unsigned)i);
        msgs[i] = (weft_queue_msg){b[i], msg_len(first + (unsigned)i), 0};
    }
}

WT_CASE(test_queue_put_many_get_many, "unit valgrind") {
    weft_queue *q = make(4096, 0, 0);
    static unsigned char b[12][512];
    weft_queue_msg m[12];
    size_t n = 99;
    /* Nothing asked, nothing done; bad arguments change nothing. */
    WT_EQ(weft_queue_put_many(q, NULL, 0, &n), 0);
    WT_EQ(n, 0u);
    WT_EQ(weft_queue_get_many(q, NULL, 0, &n), 0);
    WT_EQ(n, 0u);
    WT_EQ(weft_queue_put_many(NULL, m, 1, &n), EINVAL);
    WT_EQ(weft_queue_put_many(q, m, 1, NULL), EINVAL);
    WT_EQ(weft_queue_put_many(q, NULL, 1, &n), EINVAL);
    WT_EQ(weft_queue_get_many(q, m, 1, NULL), EINVAL);
    m[0] = (weft_queue_msg){NULL, 0, 8};
    WT_EQ(weft_queue_get_many(q, m, 1, &n), EINVAL);
    m[0] = (weft_queue_msg){NULL, 3, 0};
    WT_EQ(weft_queue_put_many(q, m, 1, &n), EINVAL);
    WT_EQ(n, 0u);
    m[0] = (weft_queue_msg){b[0], 4097, 0};
    WT_EQ(weft_queue_put_many(q, m, 1, &n), EMSGSIZE);
    WT_EQ(weft_queue_qsize(q), 0u);

    /* A batch goes in whole and comes out in order, in two gets. */
    batch_fill(m, b, 1, 10);
    WT_EQ(weft_queue_put_many(q, m, 10, &n), 0);
    WT_EQ(n, 10u);
    WT_EQ(weft_queue_qsize(q), 10u);
    for (int i = 0; i < 12; i++)
        m[i] = (weft_queue_msg){b[i], 0, sizeof b[i]};
    WT_EQ(weft_queue_get_many(q, m, 4, &n), 0);
    WT_EQ(n, 4u);
    for (unsigned i = 0; i < 4; i++)
        WT_TRUE(msg_check(b[i], m[i].len, 1 + i));
    WT_EQ(weft_queue_get_many(q, m, 12, &n), 0); /* ends at the empty queue */
    WT_EQ(n, 6u);
    for (unsigned i = 0; i < 6; i++)
        WT_TRUE(msg_check(b[i], m[i].len, 5 + i));
    WT_EQ(weft_queue_get_many_until(q, m, 12, &n, 0), ETIMEDOUT);
    WT_EQ(n, 0u);

    /* A message that could never be put ends the prefix before it. */
    batch_fill(m, b, 20, 3);
    m[1].len = 5000;
    WT_EQ(weft_queue_put_many(q, m, 3, &n), 0);
    WT_EQ(n, 1u);
    m[1] = (weft_queue_msg){NULL, 1, 0};
    WT_EQ(weft_queue_put_many(q, m, 3, &n), 0);
    WT_EQ(n, 1u);
    WT_EQ(weft_queue_qsize(q), 2u);

    /* A message longer than its buffer ends the batch, and stays. */
    batch_fill(m, b, 40, 1); /* 276 bytes */
    WT_EQ(weft_queue_put_many(q, m, 1, &n), 0);
    for (int i = 0; i < 3; i++)
        m[i] = (weft_queue_msg){b[i], 0, 300};
    m[2].cap = 100;
    WT_EQ(weft_queue_get_many(q, m, 3, &n), 0);
    WT_EQ(n, 2u);
    WT_TRUE(msg_check(b[0], m[0].len, 20) && msg_check(b[1], m[1].len, 20));
    WT_EQ(m[2].len, msg_len(40)); /* msgs[*got].len: the one that ended it */
    m[2].len = 0;
    WT_EQ(weft_queue_get_many(q, &m[2], 1, &n), EMSGSIZE);
    WT_EQ(n, 0u);
    WT_EQ(m[2].len, msg_len(40));
    WT_EQ(weft_queue_qsize(q), 1u);
    m[2].cap = 512;
    WT_EQ(weft_queue_get_many(q, &m[2], 1, &n), 0);
    WT_TRUE(n == 1 && msg_check(b[2], m[2].len, 40));

    /* Closed: put_many fails; get_many drains, then reports it. */
    batch_fill(m, b, 50, 2);
    WT_EQ(weft_queue_put_many(q, m, 2, &n), 0);
    WT_EQ(weft_queue_close(q), 0);
    WT_EQ(weft_queue_put_many(q, m, 2, &n), EPIPE);
    WT_EQ(n, 0u);
    for (int i = 0; i < 3; i++)
        m[i] = (weft_queue_msg){b[i], 0, sizeof b[i]};
    WT_EQ(weft_queue_get_many(q, m, 3, &n), 0);
    WT_EQ(n, 2u);
    WT_EQ(weft_queue_get_many(q, m, 3, &n), EPIPE);
    WT_EQ(n, 0u);
    weft_queue_free(q);
}

/* put_many stops where the queue is full (bytes or messages) and puts
 * the rest when room comes; get_many goes around a reservation. */
WT_CASE(test_queue_batches_bounds_and_reservations, "unit valgrind") {
    weft_queue_opts o = {256, 6, 2, 0};
    weft_queue *q;
    WT_EQ(weft_queue_create(&q, NULL, &o), 0);
    unsigned char b[8][64];
    weft_queue_msg m[8];
    for (int i = 0; i < 8; i++) {
        memset(b[i], 'a' + i, sizeof b[i]);
        m[i] = (weft_queue_msg){b[i], 64, 0};
    }
    size_t n = 0;
    WT_EQ(weft_queue_put_many(q, m, 8, &n), 0); /* 4 x 64 bytes fill it */
    WT_EQ(n, 4u);
    WT_EQ(weft_queue_put_many_until(q, m + 4, 4, &n, 0), ETIMEDOUT);
    WT_EQ(n, 0u);
    char c[64];
    size_t len;
    weft_queue_ticket t;
    WT_EQ(weft_queue_reserve_until(q, c, sizeof c, &len, &t, 0), 0); /* 'a' */
    WT_EQ(c[0], 'a');
    unsigned char r[8][64] = {{0}};
    weft_queue_msg g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (weft_queue_msg){r[i], 0, sizeof r[i]};
    WT_EQ(weft_queue_get_many(q, g, 2, &n), 0); /* past the reservation */
    WT_TRUE(n == 2 && r[0][0] == 'b' && r[1][0] == 'c');
    /* The reservation still holds the front bytes: no room yet. */
    WT_EQ(weft_queue_put_many_until(q, m + 4, 4, &n, 0), ETIMEDOUT);
    WT_EQ(weft_queue_release(q, t), 0);
    WT_EQ(weft_queue_get_many(q, g, 8, &n), 0); /* 'a' is back, then 'd' */
    WT_TRUE(n == 2 && r[0][0] == 'a' && r[1][0] == 'd');
    /* Small messages: the message bound ends the batch. */
    for (int i = 0; i < 8; i++)
        m[i].len = 1;
    WT_EQ(weft_queue_put_many(q, m, 8, &n), 0);
    WT_EQ(n, 6u);
    WT_EQ(weft_queue_get_many(q, g, 8, &n), 0);
    WT_EQ(n, 6u);
    for (int i = 0; i < 6; i++)
        WT_TRUE(g[i].len == 1 && r[i][0] == 'a' + i);
    weft_queue_free(q);
}

WT_CASE(test_queue_wraps_around_the_ring, "unit valgrind") {
    /* A small ring and messages of many sizes: every byte position and
     * the skip at the ring's end are crossed many times. */
    weft_queue *q = make(1000, 7, 0);
    unsigned char b[512];
    unsigned put = 0, got = 0;
    for (int round = 0; round < 2000; round++) {
        while (msg_len(put) <= 1000) {
            msg_fill(b, put);
            int rc = weft_queue_try_put(q, b, msg_len(put));
            if (rc == EAGAIN)
                break;
            WT_EQ(rc, 0);
            put++;
        }
        int n = 1 + round % 3;
        for (int k = 0; k < n && got < put; k++) {
            size_t len;
            WT_EQ(weft_queue_try_get(q, b, sizeof b, &len), 0);
            WT_TRUE(msg_check(b, len, got));
            got++;
        }
        WT_EQ(weft_queue_qsize(q), (size_t)(put - got));
    }
    WT_GT(put, 2000u);
    weft_queue_free(q);
}

static void *blocked_get(void *p)
{
    char b[8];
    size_t len;
    return int_arg(weft_queue_get((weft_queue *)p, b, sizeof b, &len));
}

static void *blocked_put(void *p)
{
    return int_arg(weft_queue_put((weft_queue *)p, "x", 1));
}

WT_CASE(test_queue_close_wakes_and_drains, "unit valgrind") {
    weft_queue *q = make(64, 1, 0);
    pthread_t g = spawn(blocked_get, q);
    sleep_ns(20 * MS);
    WT_EQ(weft_queue_put(q, "a", 1), 0); /* wakes the getter */
    void *r;
    WT_EQ(pthread_join(g, &r), 0);
    WT_EQ(arg_int(r), 0);
    WT_EQ(weft_queue_put(q, "b", 1), 0);
    pthread_t p = spawn(blocked_put, q); /* full: blocks */
    g = spawn(blocked_get, q);
    WT_EQ(pthread_join(g, &r), 0);
    WT_EQ(arg_int(r), 0);
    WT_EQ(pthread_join(p, &r), 0);
    WT_EQ(arg_int(r), 0);
    p = spawn(blocked_put, q);
    sleep_ns(20 * MS);
    WT_EQ(weft_queue_closed(q), 0);
    WT_EQ(weft_queue_close(q), 0);
    WT_EQ(weft_queue_close(q), 0);
    WT_EQ(weft_queue_closed(q), 1);
    WT_EQ(pthread_join(p, &r), 0);
    WT_EQ(arg_int(r), EPIPE);
    WT_EQ(weft_queue_put(q, "c", 1), EPIPE);
    char b[8];
    size_t len;
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0); /* drains first */
    WT_EQ(b[0], 'x');
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), EPIPE);
    WT_EQ(weft_queue_try_get(q, b, sizeof b, &len), EPIPE);
    weft_queue_free(q);

    q = make(64, 1, 0);
    g = spawn(blocked_get, q);
    sleep_ns(20 * MS);
    WT_EQ(weft_queue_close(q), 0);
    WT_EQ(pthread_join(g, &r), 0);
    WT_EQ(arg_int(r), EPIPE);
    weft_queue_free(q);
}

struct mpmc {
    weft_queue *q;
    int id, n;
    unsigned char *seen; /* [producer][seq], shared */
    int dup, bad;        /* atomic */
    int batch;           /* > 0: put_many and get_many, up to this many */
};

enum { MP_PRODUCERS = 3, MP_CONSUMERS = 3 };

enum { MP_BATCH_MAX = 8 };

/* Message i of producer m->id into b: its tag, then len - 4 bytes. */
static size_t mp_fill(const struct mpmc *m, int i, unsigned char *b)
{
    unsigned tag = (unsigned)(m->id * m->n + i);
    memcpy(b, &tag, sizeof tag);
    size_t len = sizeof tag + (size_t)(i % 200);
    memset(b + sizeof tag, (int)(tag & 0xff), len - sizeof tag);
    return len;
}

static void *mp_producer(void *p)
{
    struct mpmc *m = (struct mpmc *)p;
    static __thread unsigned char b[MP_BATCH_MAX][300];
    for (int i = 0; i < m->n;) {
        if (m->batch == 0) {
            WT_EQ(weft_queue_put(m->q, b[0], mp_fill(m, i, b[0])), 0);
            i++;
            continue;
        }
        /* Batches of 1, 2, ... m->batch messages, in turn. */
        weft_queue_msg msgs[MP_BATCH_MAX];
        int k = 0;
        for (; k < 1 + i % m->batch && i + k < m->n; k++)
            msgs[k] = (weft_queue_msg){b[k], mp_fill(m, i + k, b[k]), 0};
        size_t put = 0;
        WT_EQ(weft_queue_put_many(m->q, msgs, (size_t)k, &put), 0);
        WT_TRUE(put >= 1 && put <= (size_t)k);
        i += (int)put;
    }
    return NULL;
}

static void *mp_consumer(void *p)
{
    struct mpmc *m = (struct mpmc *)p;
    unsigned char b[300];
    size_t len;
    int last[MP_PRODUCERS];
    for (int i = 0; i < MP_PRODUCERS; i++)
        last[i] = -1;
    int rc;
    static __thread unsigned char bb[MP_BATCH_MAX][300];
    weft_queue_msg msgs[MP_BATCH_MAX];
    size_t got = 0, next = 0;
    for (int k = 0; k < MP_BATCH_MAX; k++)
        msgs[k] = (weft_queue_msg){bb[k], 0, sizeof bb[k]};
    for (;;) {
        if (m->batch == 0) {
            rc = weft_queue_get(m->q, b, sizeof b, &len);
        } else {
            if (next == got) {
                next = 0;
                rc = weft_queue_get_many(m->q, msgs, (size_t)m->batch, &got);
                WT_TRUE(rc != 0 || (got >= 1 && got <= (size_t)m->batch));
            } else {
                rc = 0;
            }
            if (rc == 0) {
                len = msgs[next].len;
                memcpy(b, bb[next++], len);
            }
        }
        if (rc != 0)
            break;
        unsigned tag;
        memcpy(&tag, b, sizeof tag);
        int prod = (int)tag / m->n, seq = (int)tag % m->n;
        if (prod >= MP_PRODUCERS || len != sizeof tag + (size_t)(seq % 200) ||
            seq <= last[prod]) {
            __atomic_fetch_add(&m->bad, 1, __ATOMIC_RELAXED);
            continue;
        }
        last[prod] = seq; /* FIFO per producer, as seen by one consumer */
        if (__atomic_exchange_n(&m->seen[tag], 1, __ATOMIC_RELAXED))
            __atomic_fetch_add(&m->dup, 1, __ATOMIC_RELAXED);
    }
    WT_EQ(rc, EPIPE);
    return NULL;
}

static void threads_mpmc(int batch)
{
    struct mpmc base = {make(2048, 8, 0), 0, (int)wt_iters(3000), NULL, 0, 0, batch};
    base.seen = (unsigned char *)calloc((size_t)MP_PRODUCERS * (size_t)base.n, 1);
    struct mpmc prod[MP_PRODUCERS];
    pthread_t tp[MP_PRODUCERS], tc[MP_CONSUMERS];
    for (int i = 0; i < MP_CONSUMERS; i++)
        tc[i] = spawn(mp_consumer, &base);
    for (int i = 0; i < MP_PRODUCERS; i++) {
        prod[i] = base;
        prod[i].id = i;
        tp[i] = spawn(mp_producer, &prod[i]);
    }
    for (int i = 0; i < MP_PRODUCERS; i++)
        join(tp[i]);
    WT_EQ(weft_queue_close(base.q), 0);
    for (int i = 0; i < MP_CONSUMERS; i++)
        join(tc[i]);
    WT_EQ(base.dup, 0);
    WT_EQ(base.bad, 0);
    for (int i = 0; i < MP_PRODUCERS * base.n; i++)
        WT_EQ(base.seen[i], 1);
    free(base.seen);
    weft_queue_free(base.q);
}

WT_CASE(test_queue_threads_mpmc_exactly_once, "unit valgrind") {
    threads_mpmc(0);
}

WT_CASE(test_queue_batches_threads_mpmc_exactly_once, "unit valgrind") {
    threads_mpmc(MP_BATCH_MAX);
}

static int proc_producer(void *p)
{
    mp_producer(p);
    return 0;
}

static int proc_consumer(void *p)
{
    struct mpmc *m = (struct mpmc *)p; /* this process's copy */
    mp_consumer(m);
    return m->dup + m->bad == 0 ? 0 : 1;
}

static void processes_mpmc(int batch)
{
    struct mpmc base = {make(2048, 8, 0), 0, (int)wt_iters(2000), NULL, 0, 0, batch};
    size_t seen_size = (size_t)MP_PRODUCERS * (size_t)base.n;
    base.seen = (unsigned char *)shared_alloc(seen_size);
    pid_t kids[MP_PRODUCERS + MP_CONSUMERS];
    struct mpmc prod[MP_PRODUCERS];
    for (int i = 0; i < MP_CONSUMERS; i++)
        kids[i] = fork_child(proc_consumer, &base);
    for (int i = 0; i < MP_PRODUCERS; i++) {
        prod[i] = base;
        prod[i].id = i;
        kids[MP_CONSUMERS + i] = fork_child(proc_producer, &prod[i]);
    }
    for (int i = 0; i < MP_PRODUCERS; i++)
        WT_EQ(reap(kids[MP_CONSUMERS + i]), 0);
    WT_EQ(weft_queue_close(base.q), 0);
    for (int i = 0; i < MP_CONSUMERS; i++)
        WT_EQ(reap(kids[i]), 0); /* no duplicate, no bad message */
    for (int i = 0; i < MP_PRODUCERS * base.n; i++)
        WT_EQ(base.seen[i], 1);
    shared_free(base.seen, seen_size);
    weft_queue_free(base.q);
}

WT_CASE(test_queue_processes_mpmc_exactly_once, "unit valgrind") {
    processes_mpmc(0);
}

/* The same with every process on one CPU, one message a call and in
 * batches: there a waiter does not spin for a side that last ran on its
 * own CPU (it cannot run until the waiter stops) but sleeps at once, and
 * every message still arrives exactly once. */
WT_CASE(test_queue_processes_on_one_cpu_exactly_once, "unit valgrind") {
    cpu_set_t was, one;
    WT_EQ(sched_getaffinity(0, sizeof was, &was), 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    WT_EQ(sched_setaffinity(0, sizeof one, &one), 0); /* the children inherit it */
    processes_mpmc(0);
    processes_mpmc(5);
    WT_EQ(sched_setaffinity(0, sizeof was, &was), 0);
}

/* The same, every process putting and getting in batches (put_many of 1
 * to 5 messages, get_many of up to 5): each message exactly once, in
 * order per producer for each consumer. */
WT_CASE(test_queue_batches_processes_mpmc_exactly_once, "unit valgrind") {
    processes_mpmc(5);
}

static int attach_and_echo(void *p)
{
    const char *name = (const char *)p;
    weft_queue *q;
    int rc = weft_queue_attach(&q, name);
    if (rc)
        return 100 + rc;
    char b[64];
    size_t len;
    if (weft_queue_get_for(q, b, sizeof b, &len, 10000 * MS) != 0 || len != 4 ||
        memcmp(b, "ping", 4) != 0)
        return 2;
    if (weft_queue_put(q, "pong", 4) != 0)
        return 3;
    weft_queue_free(q);
    return 0;
}

WT_CASE(test_queue_named_attach_and_unlink, "unit valgrind") {
    const char *name = unique("named");
    weft_queue *q;
    weft_queue_opts o = {4096, 0, 0, WEFT_QUEUE_JOINABLE};
    WT_EQ(weft_queue_create(&q, name, &o), 0);
    weft_queue *dup;
    WT_EQ(weft_queue_create(&dup, name, NULL), EEXIST);
    WT_EQ(weft_queue_put(q, "ping", 4), 0);
    pid_t kid = fork_child(attach_and_echo, (void *)name);
    WT_EQ(reap(kid), 0);
    char b[64];
    size_t len = 0;
    WT_EQ(weft_queue_try_get(q, b, sizeof b, &len), 0);
    WT_EQ(len, 4u);
    WT_EQ(memcmp(b, "pong", 4), 0);
    weft_queue *other;
    WT_EQ(weft_queue_attach(&other, name), 0);
    WT_EQ(weft_queue_capacity(other), 4096u);
    WT_EQ(weft_queue_unlink(name), 0);
    WT_EQ(weft_queue_unlink(name), ENOENT);
    WT_EQ(weft_queue_attach(&dup, name), ENOENT);
    /* Attached handles keep working after the unlink. */
    WT_EQ(weft_queue_put(other, "z", 1), 0);
    WT_EQ(weft_queue_qsize(q), 1u);
    weft_queue_free(other);
    weft_queue_free(q);

    /* A block that is not a queue. */
    weft_shm *s;
    name = unique("notq");
    WT_EQ(weft_shm_create(&s, name, 8192), 0);
    WT_EQ(weft_queue_attach(&q, name), EAGAIN); /* magic still 0 */
    memset(weft_shm_addr(s), 0x5a, 8192);
    WT_EQ(weft_queue_attach(&q, name), EPROTO);
    WT_EQ(weft_shm_unlink(name), 0);
    weft_shm_detach(s);
}

static void *join_main(void *p)
{
    return int_arg(weft_queue_join((weft_queue *)p));
}

WT_CASE(test_queue_joinable_join_waits_for_task_done, "unit valgrind") {
    weft_queue *q = make(4096, 0, WEFT_QUEUE_JOINABLE);
    WT_EQ(weft_queue_join_until(q, 0), 0); /* nothing put */
    WT_EQ(weft_queue_task_done(q), EINVAL);
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_queue_put(q, "t", 1), 0);
    char b[4];
    size_t len;
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
    WT_EQ(weft_queue_join_until(q, weft_time_deadline_ns(10 * MS)), ETIMEDOUT);
    WT_EQ(weft_queue_task_done(q), 0);
    WT_EQ(weft_queue_task_done(q), 0);
    pthread_t j = spawn(join_main, q);
    sleep_ns(20 * MS);
    WT_EQ(weft_queue_task_done(q), 0);
    void *r;
    WT_EQ(pthread_join(j, &r), 0);
    WT_EQ(arg_int(r), 0);
    WT_EQ(weft_queue_task_done(q), EINVAL); /* one too many: no change */
    WT_EQ(weft_queue_join(q), 0);
    weft_queue_free(q);
}

WT_CASE(test_queue_simple_kind, "unit valgrind") {
    weft_queue *q = make(1024, 0, WEFT_QUEUE_SIMPLE);
    WT_EQ(weft_queue_max_messages(q), 128u);
    char b[8];
    size_t len;
    weft_queue_ticket t;
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, &t, 0), ENOTSUP);
    WT_EQ(weft_queue_ack(q, 0), ENOTSUP);
    for (int i = 0; i < 128; i++)
        WT_EQ(weft_queue_try_put(q, NULL, 0), 0);
    WT_EQ(weft_queue_try_put(q, NULL, 0), EAGAIN);
    WT_EQ(weft_queue_try_get(q, b, sizeof b, &len), 0);
    weft_queue_free(q);
}

WT_CASE(test_queue_reserve_ack_release, "unit valgrind") {
    weft_queue_opts o = {4096, 0, 2, 0};
    weft_queue *q;
    WT_EQ(weft_queue_create(&q, NULL, &o), 0);
    WT_EQ(weft_queue_put(q, "one", 3), 0);
    WT_EQ(weft_queue_put(q, "two", 3), 0);
    WT_EQ(weft_queue_put(q, "three", 5), 0);
    char b[8];
    size_t len;
    weft_queue_ticket t1, t2, t3;
    WT_EQ(weft_queue_reserve_until(q, b, 2, &len, &t1, 0), EMSGSIZE);
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, &t1, 0), 0);
    WT_EQ(memcmp(b, "one", 3), 0);
    WT_EQ(weft_queue_qsize(q), 2u);
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, &t2, 0), 0);
    WT_EQ(memcmp(b, "two", 3), 0);
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, &t3, 0), ENOBUFS);
    WT_EQ(weft_queue_qsize(q), 1u);
    /* Release "one": it comes back before "three". */
    WT_EQ(weft_queue_release(q, t1), 0);
    WT_EQ(weft_queue_release(q, t1), EPERM);
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
    WT_EQ(memcmp(b, "one", 3), 0);
    WT_EQ(weft_queue_ack(q, t2), 0);
    WT_EQ(weft_queue_ack(q, t2), EPERM);
    WT_EQ(weft_queue_get(q, b, sizeof b, &len), 0);
    WT_EQ(memcmp(b, "three", 5), 0);
    WT_TRUE(weft_queue_empty(q));
    /* Space held by a reservation is freed by its ack. */
    weft_queue_free(q);
}

struct res_arg {
    weft_queue *q;
    weft_queue_ticket t;
    int rc;
};

static void *reserve_then_exit(void *p)
{
    struct res_arg *a = (struct res_arg *)p;
    char b[8];
    size_t len;
    a->rc = weft_queue_reserve_until(a->q, b, sizeof b, &len, &a->t, 0);
    return NULL;
}

static void *ack_other(void *p)
{
    struct res_arg *a = (struct res_arg *)p;
    a->rc = weft_queue_ack(a->q, a->t);
    return NULL;
}

WT_CASE(test_queue_reservation_of_ended_thread_returns, "unit valgrind") {
    weft_queue *q = make(4096, 0, 0);
    WT_EQ(weft_queue_put(q, "kept", 4), 0);
    struct res_arg a = {q, 0, -1};
    join(spawn(reserve_then_exit, &a)); /* reserves, never acks, ends */
    WT_EQ(a.rc, 0);
    char b[8];
    size_t len;
    WT_EQ(weft_queue_get_for(q, b, sizeof b, &len, 10000 * MS), 0);
    WT_EQ(memcmp(b, "kept", 4), 0);

    /* Only the reserving thread may ack. */
    weft_queue_ticket t;
    WT_EQ(weft_queue_put(q, "mine", 4), 0);
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, &t, 0), 0);
    struct res_arg o = {q, t, -1};
    join(spawn(ack_other, &o));
    WT_EQ(o.rc, EPERM);
    WT_EQ(weft_queue_ack(q, t), 0);
    WT_TRUE(weft_queue_empty(q));
    weft_queue_free(q);
}

static int reserve_and_hang(void *p)
{
    weft_queue *q = (weft_queue *)p;
    char b[8];
    size_t len;
    weft_queue_ticket t;
    if (weft_queue_reserve_until(q, b, sizeof b, &len, &t, WEFT_DEADLINE_NEVER) != 0)
        return 1;
    for (;;)
        pause();
}

WT_CASE(test_queue_reservation_of_killed_process_returns, "unit valgrind") {
    weft_queue *q = make(4096, 4, 0);
    WT_EQ(weft_queue_put(q, "job", 3), 0);
    pid_t kid = fork_child(reserve_and_hang, q);
    while (!weft_queue_empty(q))
        sleep_ns(MS);
    /* Block in get while the reservation is out, then kill its holder:
     * the waiting get receives the message. */
    pthread_t g = spawn(blocked_get, q);
    sleep_ns(20 * MS);
    WT_EQ(kill(kid, SIGKILL), 0);
    WT_EQ(reap(kid), -SIGKILL);
    void *r;
    WT_EQ(pthread_join(g, &r), 0);
    WT_EQ(arg_int(r), 0);
    WT_TRUE(weft_queue_empty(q));
    /* A full queue: the dead reservation's message comes back, after the
     * newer ones that were ready (it was behind the read position). */
    for (int i = 0; i < 4; i++)
        WT_EQ(weft_queue_put(q, "f", 1), 0);
    kid = fork_child(reserve_and_hang, q);
    while (weft_queue_qsize(q) == 4)
        sleep_ns(MS);
    WT_EQ(weft_queue_try_put(q, "g", 1), EAGAIN);
    WT_EQ(kill(kid, SIGKILL), 0);
    WT_EQ(reap(kid), -SIGKILL);
    char b[8];
    size_t len;
    for (int i = 0; i < 4; i++) {
        WT_EQ(weft_queue_get_for(q, b, sizeof b, &len, 10000 * MS), 0);
        WT_EQ(b[0], 'f');
    }
    WT_TRUE(weft_queue_empty(q));
    WT_EQ(weft_queue_try_put(q, "g", 1), 0);
    weft_queue_free(q);
}

static int reserve_and_exit(void *p)
{
    char b[8];
    size_t len;
    weft_queue_ticket t;
    return weft_queue_reserve_until((weft_queue *)p, b, sizeof b, &len, &t, 0) == 0 ? 0 : 1;
}

WT_CASE(test_queue_reserve_reaps_leases_of_dead_holders, "unit valgrind") {
    /* Every lease held by a process that is gone, messages still ready: a
     * reservation takes a dead holder's lease instead of ENOBUFS. */
    weft_queue_opts o = {4096, 0, 1, 0};
    weft_queue *q;
    WT_EQ(weft_queue_create(&q, NULL, &o), 0);
    for (int i = 0; i < 3; i++)
        WT_EQ(weft_queue_put(q, "r", 1), 0);
    WT_EQ(reap(fork_child(reserve_and_exit, q)), 0);
    char b[8];
    size_t len;
    weft_queue_ticket t;
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, &t, 0), 0);
    WT_EQ(weft_queue_ack(q, t), 0);
    WT_EQ(weft_queue_qsize(q), 2u); /* the dead holder's came back */
    weft_queue_free(q);
}

/* ---- a producer that dies in a put ------------------------------------ */

/* A put cut off in its batch: dies holding plock after writing, past
 * tail, `count` slots that describe messages of length 0 at position
 * `start` - or, `torn`, only the first slot's start. */
struct dead_put {
    const char *name;
    unsigned count;
    uint64_t start;
    bool torn;
};

/* Holding the lock at its end is the point, which the thread-safety
 * analysis cannot be told otherwise. */
static int die_with_uncommitted_slots(void *p) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    const struct dead_put *d = (const struct dead_put *)p;
    weft_shm *s;
    if (weft_shm_attach(&s, d->name) != 0)
        return 2;
    struct q_hdr *h = (struct q_hdr *)weft_shm_addr(s);
    struct q_slot *slots = (struct q_slot *)((unsigned char *)h + h->slots_off);
    if (weft_rlock_acquire(&h->plock) != 0)
        return 3;
    for (uint64_t seq = h->tail; seq < h->tail + d->count; seq++) {
        struct q_slot *sl = &slots[seq % h->nslots];
        sl->start = d->start;
        if (d->torn)
            break;
        sl->len = 0;
        sl->state = Q_ST_READY;
    }
    _exit(0); /* plock held: the kernel marks its owner dead */
}

/* rounds put/get pairs on q of len-byte messages (len <= 640), the i-th
 * filled with fill + i: each comes back whole. */
static void put_get_rounds(weft_queue *q, unsigned rounds, size_t len, int fill)
{
    unsigned char b[640], r[640];
    size_t got = 0;
    for (unsigned i = 0; i < rounds; i++) {
        memset(b, fill + (int)i, len);
        WT_EQ(weft_queue_try_put(q, b, len), 0);
        WT_EQ(weft_queue_try_get(q, r, sizeof r, &got), 0);
        WT_EQ(got, len);
        WT_EQ(r[0], fill + (int)i);
        WT_EQ(r[len - 1], fill + (int)i);
    }
}

/* A producer whose copy of head is old reads that head's slot, which a
 * producer that died in a put may have written: the room must come from
 * the real head, and no byte of an unread message may be written over. */
WT_CASE(test_queue_dead_producers_slots_do_not_make_room, "unit valgrind") {
    const char *name = unique("deadput");
    weft_queue *q;
    weft_queue_opts o = {1024, 8, 0, 0};
    WT_EQ(weft_queue_create(&q, name, &o), 0);
    unsigned char b[640], r[640];
    for (unsigned i = 0; i < 6; i++) { /* 64 bytes each: bytes 0..384 */
        memset(b, 'a' + (int)i, 64);
        WT_EQ(weft_queue_put(q, b, 64), 0);
    }
    size_t len = 0;
    for (unsigned i = 0; i < 4; i++) /* head is 4 (byte 256); this handle's copy 0 */
        WT_EQ(weft_queue_try_get(q, r, sizeof r, &len), 0);
    struct dead_put d = {name, 6, 384, false}; /* at the end of the bytes */
    pid_t kid = fork_child(die_with_uncommitted_slots, &d);
    WT_EQ(reap(kid), 0);
    /* 384 + 640 = 1024: fits below 256 + 1024. The next 300 bytes would
     * go at 1024, that is over bytes 0..304 of the ring, where messages 4
     * and 5 still are. */
    memset(b, 'x', sizeof b);
    WT_EQ(weft_queue_try_put(q, b, 640), 0);
    WT_EQ(weft_queue_try_put(q, b, 300), EAGAIN);
    for (unsigned i = 4; i < 6; i++) {
        WT_EQ(weft_queue_try_get(q, r, sizeof r, &len), 0);
        WT_EQ(len, 64u);
        for (size_t k = 0; k < 64; k++)
            WT_EQ(r[k], 'a' + (int)i);
    }
    WT_EQ(weft_queue_try_get(q, r, sizeof r, &len), 0);
    WT_EQ(len, 640u);
    WT_EQ(weft_queue_try_put(q, b, 300), 0); /* room now */
    /* Empty, and another producer dies in a put of a whole ring's worth
     * (8 slots, the newest message's too): where the bytes end is still
     * known, and puts go on. */
    WT_EQ(weft_queue_try_get(q, r, sizeof r, &len), 0);
    WT_EQ(weft_queue_empty(q), 1);
    d.count = 8;
    d.start = 1328; /* 1024 + 304: the end of the bytes */
    kid = fork_child(die_with_uncommitted_slots, &d);
    WT_EQ(reap(kid), 0);
    put_get_rounds(q, 20, 200, 'k'); /* around the ring more than once */
    weft_queue_free(q);
    WT_EQ(weft_queue_unlink(name), 0);

    /* One slot: the newest message's slot is the next put's. A producer
     * dies between its stores of start and len, leaving a start past 600
     * bytes with the length 600 of the message before: puts go on. */
    name = unique("deadput1");
    o = (weft_queue_opts){1024, 1, 0, 0};
    WT_EQ(weft_queue_create(&q, name, &o), 0);
    WT_EQ(weft_queue_try_put(q, b, 600), 0);
    WT_EQ(weft_queue_try_get(q, r, sizeof r, &len), 0);
    d = (struct dead_put){name, 1, 600, true};
    kid = fork_child(die_with_uncommitted_slots, &d);
    WT_EQ(reap(kid), 0);
    put_get_rounds(q, 6, 300, 'p');
    weft_queue_free(q);
    WT_EQ(weft_queue_unlink(name), 0);
}

/* ---- damaged blocks ---------------------------------------------------- */

static void damage_and_use(const char *name, size_t off, uint64_t v)
{
    weft_queue *q;
    weft_queue_opts o = {1024, 8, 2, WEFT_QUEUE_JOINABLE};
    WT_EQ(weft_queue_create(&q, name, &o), 0);
    for (int i = 0; i < 5; i++)
        WT_EQ(weft_queue_put(q, "msg-data", 8), 0);
    char b[16];
    size_t len;
    weft_queue_ticket t;
    WT_EQ(weft_queue_reserve_until(q, b, sizeof b, &len, &t, 0), 0);
    WT_EQ(weft_queue_ack(q, t), 0);
    weft_shm *s;
    WT_EQ(weft_shm_attach(&s, name), 0);
    WT_LE(off + 8, weft_shm_size(s));
    memcpy((unsigned char *)weft_shm_addr(s) + off, &v, sizeof v);
    weft_queue *a = NULL;
    int rc = weft_queue_attach(&a, name);
    WT_TRUE(rc == 0 || rc == EPROTO || rc == EAGAIN); /* EAGAIN: magic 0 */
    weft_queue *use[2] = {q, a};
    int64_t soon = weft_time_deadline_ns(MS);
    for (int k = 0; k < 2; k++) {
        if (!use[k])
            continue;
        /* Any result but a crash, a hang or an access outside the block
         * (ASan and Valgrind watch that). */
        (void)weft_queue_put_until(use[k], "x", 1, soon);
        (void)weft_queue_get_until(use[k], b, sizeof b, &len, soon);
        /* Batches: small buffers, so a damaged length must not be
         * believed; a put_many places past the damaged end. */
        char mb[3][6] = {{0}};
        weft_queue_msg m[3] = {{mb[0], 0, sizeof mb[0]}, {mb[1], 0, sizeof mb[1]},
                               {mb[2], 0, sizeof mb[2]}};
        size_t n = 0;
        if (weft_queue_get_many_until(use[k], m, 3, &n, soon) == 0)
            for (size_t i = 0; i < n; i++)
                WT_LE(m[i].len, sizeof mb[i]);
        weft_queue_msg pm[2] = {{(void *)"batch", 5, 0}, {(void *)"es", 2, 0}};
        (void)weft_queue_put_many_until(use[k], pm, 2, &n, soon);
        if (weft_queue_reserve_until(use[k], b, sizeof b, &len, &t, soon) == 0)
            (void)weft_queue_release(use[k], t);
        (void)weft_queue_qsize(use[k]);
        (void)weft_queue_full(use[k]);
        (void)weft_queue_task_done(use[k]);
    }
    weft_queue_free(a);
    weft_queue_free(q);
    WT_EQ(weft_shm_unlink(name), 0);
    weft_shm_detach(s);
}

WT_CASE(test_queue_damaged_header_and_slots_refused, "unit valgrind") {
    const char *name = unique("damage");
    /* Words that are not locks (a damaged lock word can only make its
     * lock wait; deadlines bound that): every field of the header... */
    size_t fields[] = {0,
                       offsetof(struct q_hdr, cap),
                       offsetof(struct q_hdr, nslots),
                       offsetof(struct q_hdr, slots_off),
                       offsetof(struct q_hdr, total),
                       offsetof(struct q_hdr, tail),
                       offsetof(struct q_hdr, head),
                       offsetof(struct q_hdr, rd),
                       offsetof(struct q_hdr, taken),
                       offsetof(struct q_hdr, tasks_done)};
    uint64_t values[] = {UINT64_MAX, 0, 1, 3, 1u << 20, (uint64_t)1 << 63};
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
        for (size_t v = 0; v < sizeof values / sizeof *values; v++)
            damage_and_use(name, fields[f], values[v]);
    /* ... and the slots: positions and lengths out of the ring. */
    size_t slots = (sizeof(struct q_hdr) + Q_LINE - 1) / Q_LINE * Q_LINE;
    for (size_t off = slots; off < slots + 8 * sizeof(struct q_slot); off += 8)
        for (size_t v = 0; v < sizeof values / sizeof *values; v++)
            damage_and_use(name, off, values[v]);
}

WT_MAIN()

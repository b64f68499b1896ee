/* fuzz_queue_ops.c - input bytes are programs of put / get / try /
 * deadline / batch / reserve / ack / release / close / kill operations run by two
 * threads and a forked process over one weft_queue; the harness checks
 * that no message is lost, none is delivered twice, none is torn, and that
 * each consumer sees each producer's messages in order.
 *
 * Input: byte 0 is the shape (capacity 64 << (bits 0-1), max messages
 * 2 << (bits 2-3), max reservations 1 + (bits 4-5); with bit 6 set,
 * capacity (64 << (bits 0-1)) + 40 and max messages 3 << (bits 2-3), sizes
 * that are not powers of two). Then one operation per
 * byte, at most MAX_OPS: bits 6-7 pick the actor (0, 1: threads; 2: the
 * process; 3: actor 0 again), bits 0-3 the operation, bits 4-5 its
 * argument a:
 *   0 put with a deadline        1 try_put        2 get with a deadline
 *   3 try_get                    4 reserve, then ack at once
 *   5 reserve and hold (up to 4 held)              6 ack the oldest held
 *   7 release the oldest held    8 qsize/empty/full within bounds
 *   9 close (only when a == 3)   10 kill: the process dies by SIGKILL on
 *   the spot, a thread ends its program there (holding what it holds)
 *   11 sleep a * 100 us          12, 13 put_many of a + 1 messages with
 *   a deadline                   14 get_many of up to a + 1 with a deadline
 *   15 get_many of up to a + 1, deadline already passed (a try)
 * Every wait has a deadline of a few milliseconds, so a program always
 * ends; a hang is a bug (a lost wake-up). At the end the harness drains
 * the queue, taking back what dead or finished holders still reserve.
 *
 * Invariants checked:
 *   - every put that returned 0 is received exactly once (get, or reserve
 *     then ack): no loss, no duplicate - kills fall between operations, so
 *     no delivery is in doubt;
 *   - every message received is whole (length and checksum);
 *   - without release, held reservations or kills, each consumer receives
 *     each producer's messages in the order they were put;
 *   - results are the documented ones; qsize never exceeds the bound. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "weft/queue.h"

enum { MAX_OPS = 96, ACTORS = 3, LOG_MAX = 4 * MAX_OPS, HELD_MAX = 4 };

struct log {
    uint32_t n; /* atomic */
    uint32_t tag[LOG_MAX];
};

struct shared {
    uint32_t committed[ACTORS]; /* atomic: puts that returned 0 */
    struct log log[ACTORS + 1]; /* the last: the final drain */
    int done[ACTORS];           /* atomic */
};

struct actor {
    weft_queue *q;
    struct shared *sh;
    int id;
    uint8_t ops[MAX_OPS];
    int nops;
};

static uint32_t sum_of(uint32_t tag, size_t n)
{
    return (tag * 2654435761u) ^ (uint32_t)n;
}

static void make_msg(unsigned char *b, size_t *len, uint32_t tag)
{
    size_t n = 8 + (tag * 7u) % 40u;
    uint32_t sum = sum_of(tag, n);
    memcpy(b, &tag, 4);
    memcpy(b + 4, &sum, 4);
    for (size_t i = 8; i < n; i++)
        b[i] = (unsigned char)(tag + i);
    *len = n;
}

/* Check a received message; returns its tag. */
static uint32_t check(const unsigned char *b, size_t len)
{
    uint32_t tag, sum;
    FUZZ_CHECK(len >= 8);
    memcpy(&tag, b, 4);
    memcpy(&sum, b + 4, 4);
    FUZZ_CHECK(sum == sum_of(tag, len) && len == 8 + (tag * 7u) % 40u);
    for (size_t i = 8; i < len; i++)
        FUZZ_CHECK(b[i] == (unsigned char)(tag + i));
    return tag;
}

static void log_tag(struct log *lg, uint32_t tag)
{
    uint32_t n = lg->n;
    FUZZ_CHECK(n < LOG_MAX);
    lg->tag[n] = tag;
    __atomic_store_n(&lg->n, n + 1, __ATOMIC_RELEASE);
}

static void run(struct actor *a)
{
    weft_queue *q = a->q;
    struct log *lg = &a->sh->log[a->id];
    unsigned char b[64];
    size_t len;
    uint32_t seq = 0;
    weft_queue_ticket held[HELD_MAX];
    uint32_t held_tag[HELD_MAX];
    int nheld = 0;
    for (int i = 0; i < a->nops; i++) {
        int op = a->ops[i] & 15, arg = (a->ops[i] >> 4) & 3;
        int64_t soon = weft_time_deadline_ns(2000000);
        int rc;
        weft_queue_ticket t;
        switch (op) {
        case 12: case 13: {
            unsigned char mb[4][64];
            weft_queue_msg m[4];
            for (int k = 0; k <= arg; k++) {
                size_t n;
                make_msg(mb[k], &n, (uint32_t)a->id << 16 | (seq + (uint32_t)k));
                m[k] = (weft_queue_msg){mb[k], n, 0};
            }
            size_t put = 0;
            rc = weft_queue_put_many_until(q, m, (size_t)arg + 1, &put, soon);
            FUZZ_CHECK(rc == 0 || rc == ETIMEDOUT || rc == EPIPE);
            FUZZ_CHECK(rc == 0 ? put >= 1 && put <= (size_t)arg + 1 : put == 0);
            if (rc == 0) {
                seq += (uint32_t)put;
                __atomic_store_n(&a->sh->committed[a->id], seq, __ATOMIC_RELEASE);
            }
            break;
        }
        case 14: case 15: {
            unsigned char mb[4][64] = {{0}};
            weft_queue_msg m[4];
            for (int k = 0; k < 4; k++)
                m[k] = (weft_queue_msg){mb[k], 0, sizeof mb[k]};
            size_t got = 0;
            rc = weft_queue_get_many_until(q, m, (size_t)arg + 1, &got, op == 15 ? 0 : soon);
            FUZZ_CHECK(rc == 0 || rc == ETIMEDOUT || rc == EPIPE);
            FUZZ_CHECK(rc == 0 ? got >= 1 && got <= (size_t)arg + 1 : got == 0);
            for (size_t k = 0; k < got; k++)
                log_tag(lg, check(mb[k], m[k].len));
            break;
        }
        case 0: case 1:
            make_msg(b, &len, (uint32_t)a->id << 16 | seq);
            rc = op == 1 ? weft_queue_try_put(q, b, len) : weft_queue_put_until(q, b, len, soon);
            FUZZ_CHECK(rc == 0 || rc == EAGAIN || rc == ETIMEDOUT || rc == EPIPE);
            if (rc == 0)
                __atomic_store_n(&a->sh->committed[a->id], ++seq, __ATOMIC_RELEASE);
            break;
        case 2: case 3:
            rc = op == 3 ? weft_queue_try_get(q, b, sizeof b, &len)
                         : weft_queue_get_until(q, b, sizeof b, &len, soon);
            FUZZ_CHECK(rc == 0 || rc == EAGAIN || rc == ETIMEDOUT || rc == EPIPE);
            if (rc == 0)
                log_tag(lg, check(b, len));
            break;
        case 4: case 5:
            if (op == 5 && nheld == HELD_MAX)
                break;
            rc = weft_queue_reserve_until(q, b, sizeof b, &len, &t, soon);
            FUZZ_CHECK(rc == 0 || rc == ETIMEDOUT || rc == EPIPE || rc == ENOBUFS);
            if (rc != 0)
                break;
            if (op == 4) {
                uint32_t tag = check(b, len);
                FUZZ_CHECK(weft_queue_ack(q, t) == 0);
                log_tag(lg, tag);
            } else {
                held_tag[nheld] = check(b, len);
                held[nheld++] = t;
            }
            break;
        case 6: case 7:
            if (nheld == 0)
                break;
            if (op == 6) {
                FUZZ_CHECK(weft_queue_ack(q, held[0]) == 0);
                log_tag(lg, held_tag[0]);
            } else {
                FUZZ_CHECK(weft_queue_release(q, held[0]) == 0);
            }
            FUZZ_CHECK(weft_queue_ack(q, held[0]) == EPERM); /* settled */
            nheld--;
            memmove(held, held + 1, sizeof *held * (size_t)nheld);
            memmove(held_tag, held_tag + 1, sizeof *held_tag * (size_t)nheld);
            break;
        case 8:
            FUZZ_CHECK(weft_queue_qsize(q) <= weft_queue_max_messages(q));
            (void)weft_queue_empty(q);
            (void)weft_queue_full(q);
            break;
        case 9:
            if (arg == 3)
                FUZZ_CHECK(weft_queue_close(q) == 0);
            break;
        case 10:
            if (a->id == 2)
                (void)raise(SIGKILL);
            return; /* a thread ends here, holding what it holds */
        case 11: {
            struct timespec ts = {0, 100000L * arg};
            (void)nanosleep(&ts, NULL);
            break;
        }
        default:
            break;
        }
    }
}

static void *thread_main(void *p)
{
    struct actor *a = (struct actor *)p;
    run(a);
    __atomic_store_n(&a->sh->done[a->id], 1, __ATOMIC_RELEASE);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool odd = (data[0] >> 6) & 1; /* shapes that take the division path */
    weft_queue_opts o = {((size_t)64 << (data[0] & 3)) + (odd ? 40 : 0),
                         (size_t)(odd ? 3 : 2) << ((data[0] >> 2) & 3),
                         1u + ((data[0] >> 4) & 3u), 0};
    weft_queue *q;
    FUZZ_CHECK(weft_queue_create(&q, NULL, &o) == 0);
    /* MAP_ANONYMOUS takes fd -1 (mmap(2)); cppcheck's model of mmap does
     * not know that flag and reports a false invalidFunctionArg. */
    int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED | MAP_ANONYMOUS;
    // cppcheck-suppress invalidFunctionArg
    void *mem = mmap(NULL, sizeof(struct shared), prot, flags, -1, 0);
    struct shared *sh = (struct shared *)mem;
    FUZZ_CHECK(sh != MAP_FAILED);
    static struct actor actors[ACTORS];
    int unordered = 0; /* release, holds or kills: order is not kept */
    for (int i = 0; i < ACTORS; i++) {
        actors[i].q = q;
        actors[i].sh = sh;
        actors[i].id = i;
        actors[i].nops = 0;
    }
    for (size_t i = 1; i < size && i <= MAX_OPS; i++) {
        int who = data[i] >> 6, op = data[i] & 15;
        struct actor *a = &actors[who == 3 ? 0 : who];
        a->ops[a->nops++] = data[i];
        unordered |= op == 5 || op == 7 || op == 10;
    }
    (void)fflush(NULL);
    pid_t pid = fork();
    FUZZ_CHECK(pid >= 0);
    if (pid == 0) {
        run(&actors[2]);
        _exit(0);
    }
    pthread_t tid[2];
    for (int i = 0; i < 2; i++)
        FUZZ_CHECK(pthread_create(&tid[i], NULL, thread_main, &actors[i]) == 0);
    fuzz_join_or_abort(tid, sh->done, 2, 10 * 1000000000LL, NULL, NULL);
    /* The process: it exits 0, or dies by the SIGKILL its program asked. */
    int64_t deadline = weft_time_deadline_ns(10 * 1000000000LL);
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        FUZZ_CHECK(r >= 0);
        if (r == pid)
            break;
        if (weft_time_now_ns() > deadline) {
            (void)fprintf(stderr, "hang: the process did not finish\n");
            (void)kill(pid, SIGKILL);
            abort();
        }
        struct timespec ts = {0, 200000};
        (void)nanosleep(&ts, NULL);
    }
    FUZZ_CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
               (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));

    /* Drain: what is left, and what finished or dead holders reserved. */
    unsigned char b[64];
    size_t len;
    int rc;
    while ((rc = weft_queue_try_get(q, b, sizeof b, &len)) == 0)
        log_tag(&sh->log[ACTORS], check(b, len));
    FUZZ_CHECK(rc == EAGAIN || rc == EPIPE);
    FUZZ_CHECK(weft_queue_qsize(q) == 0);

    /* Every committed message exactly once; order per consumer. */
    static uint8_t seen[ACTORS][4 * MAX_OPS];
    memset(seen, 0, sizeof seen);
    for (int c = 0; c <= ACTORS; c++) {
        int64_t last[ACTORS] = {-1, -1, -1};
        const struct log *lg = &sh->log[c];
        for (uint32_t i = 0; i < lg->n; i++) {
            uint32_t p = lg->tag[i] >> 16, k = lg->tag[i] & 0xffff;
            FUZZ_CHECK(p < ACTORS && k < sh->committed[p]);
            FUZZ_CHECK(seen[p][k] == 0);
            seen[p][k] = 1;
            if (!unordered)
                FUZZ_CHECK((int64_t)k > last[p]);
            last[p] = k;
        }
    }
    for (int p = 0; p < ACTORS; p++)
        for (uint32_t k = 0; k < sh->committed[p]; k++)
            FUZZ_CHECK(seen[p][k] == 1);
    FUZZ_CHECK(munmap(sh, sizeof *sh) == 0);
    weft_queue_free(q);
    return 0;
}

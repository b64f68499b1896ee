/* fuzz_queue_attach.c - arbitrary bytes in a weft_queue's shared block:
 * attach must refuse it or give a queue whose every operation stays inside
 * the block and returns a documented result.
 *
 * Input: byte 0 picks the mode and the shape:
 *   bit 5 set - raw: the rest of the input is the whole block;
 *   else      - a real queue (capacity 64 << 2*(bits 0-1), max messages
 *               4 << (bits 2-3), JOINABLE when bit 4), given (byte 1 & 15)
 *               messages; then the rest of the input is patches to its block, each
 *               [offset lo, offset hi, n (1..8), n bytes], offset taken
 *               modulo the block's size.
 * The two locks' words are then reset (a damaged lock word can only make
 * its lock wait, and every wait here has a deadline anyway), except that
 * a word patched to say "owner died" is kept that way, which drives the
 * consumers' repair on the next operation.
 *
 * Invariants checked:
 *   - attach returns 0, EPROTO or EAGAIN (magic still 0);
 *   - every operation on the attached handle and on the creator's returns
 *     one of its documented results (ASan checks the accesses);
 *   - a message got is no longer than the capacity, nor than its buffer
 *     in a get_many;
 *   - qsize never exceeds the bound on messages. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "queue_layout.h"
#include "weft/queue.h"
#include "weft/shm.h"

#define RB_OWNER_DIED 0x40000000u /* the kernel's FUTEX_OWNER_DIED */

static void reset_lock(weft_rlock *lk)
{
    uint32_t word = lk->word;
    weft_rlock fresh;
    FUZZ_CHECK(weft_rlock_init(&fresh, WEFT_SHARED | WEFT_NORECURSE) == 0);
    memcpy(lk, &fresh, sizeof fresh);
    if (word & RB_OWNER_DIED)
        lk->word = RB_OWNER_DIED | 1u; /* a holder that died */
}

static int one_of(int rc, const int *ok, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rc == ok[i])
            return 1;
    return 0;
}

#define OK(rc, ...)                                                            \
    do {                                                                       \
        const int ok_[] = {__VA_ARGS__};                                       \
        FUZZ_CHECK(one_of((rc), ok_, sizeof ok_ / sizeof *ok_));               \
    } while (0)

static void operate(weft_queue *q)
{
    size_t cap = weft_queue_capacity(q);
    unsigned char *buf = (unsigned char *)malloc(cap ? cap : 1);
    FUZZ_CHECK(buf != NULL);
    int64_t soon = weft_time_deadline_ns(1000000);
    size_t len = 0;
    OK(weft_queue_put_until(q, "fuzzing", 7, soon), 0, ETIMEDOUT, EPIPE, EPROTO);
    for (int i = 0; i < 3; i++) {
        int rc = weft_queue_get_until(q, buf, cap, &len, soon);
        OK(rc, 0, ETIMEDOUT, EPIPE, EPROTO);
        if (rc == 0)
            FUZZ_CHECK(len <= cap);
    }
    /* Batches: the first into buf, the others into 8 bytes each, so a
     * damaged length must not be believed. */
    unsigned char small[3][8] = {{0}};
    weft_queue_msg m[4] = {{buf, 0, cap},
                           {small[0], 0, sizeof small[0]},
                           {small[1], 0, sizeof small[1]},
                           {small[2], 0, sizeof small[2]}};
    size_t n = 0;
    int rc = weft_queue_get_many_until(q, m, 4, &n, soon);
    OK(rc, 0, ETIMEDOUT, EPIPE, EPROTO);
    FUZZ_CHECK(rc == 0 ? n >= 1 && n <= 4 : n == 0);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(m[i].len <= m[i].cap);
    weft_queue_msg pm[2] = {{(void *)"batch", 5, 0}, {(void *)"ed", 2, 0}};
    OK(weft_queue_put_many_until(q, pm, 2, &n, soon), 0, ETIMEDOUT, EPIPE, EPROTO);
    weft_queue_ticket t = 0;
    rc = weft_queue_reserve_until(q, buf, cap, &len, &t, soon);
    OK(rc, 0, ETIMEDOUT, EPIPE, EPROTO, ENOBUFS, ENOTSUP);
    if (rc == 0) {
        FUZZ_CHECK(len <= cap);
        OK(weft_queue_release(q, t), 0, EPROTO);
        rc = weft_queue_reserve_until(q, buf, cap, &len, &t, soon);
        OK(rc, 0, ETIMEDOUT, EPIPE, EPROTO, ENOBUFS);
        if (rc == 0 && (len & 1))
            OK(weft_queue_ack(q, t), 0, EPROTO);
        /* else held on: weft_queue_free returns it */
    }
    OK(weft_queue_ack(q, 12345), EPERM, EPROTO, ENOTSUP);
    FUZZ_CHECK(weft_queue_qsize(q) <= weft_queue_max_messages(q));
    (void)weft_queue_empty(q);
    (void)weft_queue_full(q);
    OK(weft_queue_task_done(q), 0, EINVAL, ENOTSUP);
    OK(weft_queue_join_until(q, 0), 0, ETIMEDOUT, ENOTSUP);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (1u << 16))
        return 0;
    char name[64];
    (void)snprintf(name, sizeof name, "/weft-fuzz-queue-%d", (int)getpid());
    (void)weft_shm_unlink(name); /* left by an earlier crash */
    weft_queue *creator = NULL;
    weft_shm *s;
    if (data[0] & 0x20) {
        FUZZ_CHECK(weft_shm_create(&s, name, size - 1) == 0);
        memcpy(weft_shm_addr(s), data + 1, size - 1);
    } else {
        weft_queue_opts o = {(size_t)64 << (2 * (data[0] & 3)),
                             (size_t)4 << ((data[0] >> 2) & 3), 2,
                             (data[0] & 0x10) ? WEFT_QUEUE_JOINABLE : 0u};
        FUZZ_CHECK(weft_queue_create(&creator, name, &o) == 0);
        for (int i = 0; i < (data[1] & 15); i++)
            (void)weft_queue_try_put(creator, "message", (size_t)i % 8);
        FUZZ_CHECK(weft_shm_attach(&s, name) == 0);
        unsigned char *base = (unsigned char *)weft_shm_addr(s);
        size_t bsize = weft_shm_size(s);
        for (size_t i = 2; i + 3 <= size;) {
            size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % bsize;
            size_t n = (size_t)(data[i + 2] % 8) + 1;
            i += 3;
            for (size_t k = 0; k < n && i < size; k++, i++)
                base[(off + k) % bsize] = data[i];
        }
    }
    if (weft_shm_size(s) >= sizeof(struct q_hdr)) {
        struct q_hdr *h = (struct q_hdr *)weft_shm_addr(s);
        reset_lock(&h->plock);
        reset_lock(&h->clock);
    }
    weft_queue *q = NULL;
    int rc = weft_queue_attach(&q, name);
    FUZZ_CHECK(rc == 0 || rc == EPROTO || rc == EAGAIN);
    if (rc == 0)
        operate(q);
    if (creator)
        operate(creator);
    weft_queue_free(q);
    weft_queue_free(creator);
    FUZZ_CHECK(weft_shm_unlink(name) == 0);
    FUZZ_CHECK(weft_shm_detach(s) == 0);
    return 0;
}

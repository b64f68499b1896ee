/* fuzz_frame_decode.c - arbitrary bytes as a stream of frames, decoded by
 * the pure codec and received through a real connection; both must agree.
 *
 * Input: byte 0 picks the limit (1 << (b % 21): 1 byte to 1 MiB), byte 1
 * the receive style and write chunking; the rest is the stream.
 *   bits 0-1 of byte 1: receive into a 64-byte buffer (EMSGSIZE, then
 *            recv_alloc), into a buffer of the limit's size, or recv_alloc
 *   bits 2-4: the writer's chunk size, 1 << (2 + k) bytes, so headers and
 *            payloads arrive cut at every kind of place
 *
 * Invariants checked:
 *   - codec: a decoded frame lies inside the input, its payload is within
 *     the limit, and encoding that payload gives back exactly the frame's
 *     bytes (one encoding per message); an incomplete frame asks for more
 *     bytes than there are; an error is EPROTO;
 *   - connection: it returns the same messages, byte for byte, in order,
 *     then EPIPE if the stream ended between frames and EPROTO if it ends
 *     inside one or the codec rejected the bytes; it keeps saying so; it
 *     never hangs (a watchdog aborts) and never allocates past the limit
 *     (ASan's allocation limit would catch that too). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "weft/conn.h"
#include "weft/frame.h"

#define WATCHDOG_NS (10LL * 1000000000LL)
#define MAX_MSGS 4096

struct writer {
    weft_conn *w;
    const uint8_t *data;
    size_t size, chunk;
    int done;
};

/* Writes the raw stream in chunks and closes its end: a peer that speaks
 * whatever the fuzzer says. */
static void *write_stream(void *arg)
{
    struct writer *wr = (struct writer *)arg;
    /* The reader may stop early and close its end: this thread's writes
     * then fail with EPIPE, and the SIGPIPE they raise stays pending on
     * this thread and is dropped when it ends. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    (void)pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    int fd = weft_conn_fileno(wr->w);
    size_t at = 0;
    while (at < wr->size) {
        size_t n = wr->size - at < wr->chunk ? wr->size - at : wr->chunk;
        ssize_t k = write(fd, wr->data + at, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            break; /* EPIPE: the reader stopped (it found an error) */
        }
        at += (size_t)k;
    }
    (void)weft_conn_close(wr->w);
    __atomic_store_n(&wr->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

struct expect {
    size_t off, len; /* payload within the stream */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint64_t limit = (uint64_t)1 << (data[0] % 21);
    unsigned style = data[1] & 3u;
    size_t chunk = (size_t)1 << (2 + ((data[1] >> 2) & 7u));
    const uint8_t *s = data + 2;
    size_t n = size - 2;

    /* The codec alone. */
    static struct expect want[MAX_MSGS];
    size_t nwant = 0, pos = 0;
    int end;
    for (;;) {
        weft_frame f;
        end = weft_frame_decode(s + pos, n - pos, limit, &f);
        if (end != 0) {
            FUZZ_CHECK(end == EAGAIN || end == EPROTO);
            if (end == EAGAIN)
                FUZZ_CHECK(f.frame_len > n - pos);
            break;
        }
        FUZZ_CHECK(f.frame_len == f.header_len + f.payload_len);
        FUZZ_CHECK(f.frame_len <= n - pos);
        FUZZ_CHECK(f.payload_len <= limit);
        FUZZ_CHECK(f.payload == s + pos + f.header_len);
        unsigned char hdr[WEFT_FRAME_HEADER_MAX];
        FUZZ_CHECK(weft_frame_encode_header(f.payload_len, hdr) == f.header_len);
        FUZZ_CHECK(memcmp(hdr, s + pos, f.header_len) == 0);
        if (nwant == MAX_MSGS) {
            end = -1; /* enough: compare this many */
            break;
        }
        want[nwant].off = pos + f.header_len;
        want[nwant].len = (size_t)f.payload_len;
        nwant++;
        pos += f.frame_len;
    }
    /* What the connection must say after the last message. */
    int final = end == EAGAIN && pos == n ? EPIPE : EPROTO;

    /* The same bytes through a connection. */
    weft_conn *r, *w;
    FUZZ_CHECK(weft_pipe_open(&r, &w, 0) == 0);
    FUZZ_CHECK(weft_conn_set_limit(r, limit) == 0);
    struct writer wr = {w, s, n, chunk, 0};
    pthread_t t;
    FUZZ_CHECK(pthread_create(&t, NULL, write_stream, &wr) == 0);
    size_t cap = style == 0 ? 64 : (size_t)limit;
    unsigned char *buf = (unsigned char *)malloc(cap);
    FUZZ_CHECK(buf != NULL);
    for (size_t i = 0; i < nwant || end != -1; i++) {
        void *m = NULL;
        size_t len = 0;
        int rc;
        int64_t deadline = weft_time_now_ns() + WATCHDOG_NS;
        if (style == 2) {
            rc = weft_conn_recv_alloc_until(r, &m, &len, deadline);
        } else {
            rc = weft_conn_recv_until(r, buf, cap, &len, deadline);
            if (rc == EMSGSIZE) {
                /* Said as soon as the header is read: also for a last
                 * frame that turns out to be cut short. */
                FUZZ_CHECK(len > cap);
                FUZZ_CHECK(i < nwant ? len == want[i].len : final == EPROTO);
                rc = weft_conn_recv_alloc_until(r, &m, &len, deadline);
            }
        }
        FUZZ_CHECK(rc != ETIMEDOUT); /* a hang */
        if (i < nwant) {
            FUZZ_CHECK(rc == 0);
            FUZZ_CHECK(len == want[i].len);
            const unsigned char *got = m ? (const unsigned char *)m : buf;
            FUZZ_CHECK(len == 0 || memcmp(got, s + want[i].off, len) == 0);
            free(m);
        } else {
            FUZZ_CHECK(rc == final);
            size_t again;
            FUZZ_CHECK(weft_conn_recv_until(r, buf, cap, &again, deadline) == final);
            break;
        }
        if (i + 1 == nwant && end == -1)
            break;
    }
    free(buf);
    /* Unblock the writer if it still has bytes for a reader that stopped. */
    (void)weft_conn_close(r);
    fuzz_join_or_abort(&t, &wr.done, 1, WATCHDOG_NS, NULL, NULL);
    return 0;
}

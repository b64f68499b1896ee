/* test_conn.c - weft_conn over pipes and socket pairs: whole messages,
 * end of stream, broken streams, deadlines, signals, threads and forked
 * children. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>

#include "sync/helpers.h"
#include "weft/ipc.h"

/* A payload whose every byte depends on (seed, index). */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
    unsigned char *want = malloc(n ? n : 1);
    WT_TRUE(want != NULL);
    fill(want, n, seed);
    int eq = memcmp(p, want, n) == 0;
    free(want);
    return eq;
}

static void open_pair(weft_conn **a, weft_conn **b, unsigned flags)
{
    WT_EQ(weft_pipe_open(a, b, flags), 0);
    WT_TRUE(*a != NULL && *b != NULL);
}

/* Write raw bytes under a connection, as a faulty peer would. */
static void raw_write(weft_conn *c, const void *p, size_t n)
{
    WT_EQ(write(weft_conn_fileno(c), p, n), (ssize_t)n);
}

WT_CASE(test_conn_duplex_round_trip_both_ways, "unit valgrind helgrind")
{
    weft_conn *a, *b;
    open_pair(&a, &b, WEFT_PIPE_DUPLEX);
    char buf[32];
    size_t n = 0;
    WT_EQ(weft_conn_send(a, "ping", 4), 0);
    WT_EQ(weft_conn_recv(b, buf, sizeof buf, &n), 0);
    WT_EQ(n, 4u);
    WT_EQ(memcmp(buf, "ping", 4), 0);
    WT_EQ(weft_conn_send(b, "pong!", 5), 0);
    WT_EQ(weft_conn_recv(a, buf, sizeof buf, &n), 0);
    WT_EQ(n, 5u);
    WT_EQ(memcmp(buf, "pong!", 5), 0);
    WT_EQ(weft_conn_close(a), 0);
    WT_EQ(weft_conn_close(b), 0);
}

WT_CASE(test_conn_simplex_has_one_direction, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    char buf[8];
    size_t n;
    WT_EQ(weft_conn_send(r, "x", 1), EBADF);
    WT_EQ(weft_conn_recv(w, buf, sizeof buf, &n), EBADF);
    WT_EQ(weft_conn_poll_for(w, 0), EBADF);
    WT_EQ(weft_conn_send(w, "abc", 3), 0);
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
    WT_EQ(n, 3u);
    WT_TRUE(fcntl(weft_conn_fileno(r), F_GETFD) & FD_CLOEXEC);
    WT_EQ(weft_conn_close(r), 0);
    WT_EQ(weft_conn_close(w), 0);
}

WT_CASE(test_conn_bad_arguments, "unit valgrind")
{
    weft_conn *a = NULL, *b = NULL;
    WT_EQ(weft_pipe_open(NULL, &b, 0), EINVAL);
    WT_EQ(weft_pipe_open(&a, &b, 8), EINVAL);
    WT_EQ(weft_conn_adopt(&a, -1, WEFT_CONN_READ), EBADF);
    WT_EQ(weft_conn_adopt(&a, 0, 0), EINVAL);
    WT_EQ(weft_conn_adopt(&a, 0, 8), EINVAL);
    open_pair(&a, &b, WEFT_PIPE_DUPLEX);
    size_t n;
    void *m = &n;
    WT_EQ(weft_conn_send(NULL, "x", 1), EINVAL);
    WT_EQ(weft_conn_send(a, NULL, 1), EINVAL);
    WT_EQ(weft_conn_recv(b, NULL, 4, &n), EINVAL);
    WT_EQ(weft_conn_recv(b, &n, 4, NULL), EINVAL);
    WT_EQ(weft_conn_recv_alloc(b, NULL, &n), EINVAL);
    WT_EQ(weft_conn_recv_alloc(NULL, &m, &n), EINVAL);
    WT_EQ(weft_conn_sendv_until(a, NULL, 1, WEFT_DEADLINE_NEVER), EINVAL);
    WT_EQ(weft_conn_sendv_until(a, NULL, -1, WEFT_DEADLINE_NEVER), EINVAL);
    WT_EQ(weft_conn_set_limit(a, 0), EINVAL);
    WT_EQ(weft_conn_poll_for(NULL, 0), EINVAL);
    WT_EQ(weft_conn_fileno(NULL), -1);
    WT_EQ(weft_conn_close(NULL), 0);
    /* Still usable after all that. */
    WT_EQ(weft_conn_send(a, "ok", 2), 0);
    char buf[4];
    WT_EQ(weft_conn_recv(b, buf, sizeof buf, &n), 0);
    WT_EQ(n, 2u);
    weft_conn_close(a);
    weft_conn_close(b);
}

WT_CASE(test_conn_empty_message, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    WT_EQ(weft_conn_send(w, NULL, 0), 0);
    WT_EQ(weft_conn_send(w, "", 0), 0);
    size_t n = 99;
    WT_EQ(weft_conn_recv(r, NULL, 0, &n), 0);
    WT_EQ(n, 0u);
    void *m = NULL;
    WT_EQ(weft_conn_recv_alloc(r, &m, &n), 0);
    WT_TRUE(m != NULL);
    WT_EQ(n, 0u);
    free(m);
    weft_conn_close(r);
    weft_conn_close(w);
}

struct bulk {
    weft_conn *c;
    size_t len;
    int count;
};

static void *send_bulk(void *arg)
{
    struct bulk *b = arg;
    unsigned char *p = malloc(b->len);
    WT_TRUE(p != NULL);
    for (int i = 0; i < b->count; i++) {
        fill(p, b->len, (unsigned)i);
        WT_EQ(weft_conn_send(b->c, p, b->len), 0);
    }
    free(p);
    return NULL;
}

/* Messages far larger than a pipe's buffer, into caller memory and into
 * allocated memory, over both kinds of pair. */
WT_CASE(test_conn_large_messages_arrive_whole, "unit valgrind")
{
    for (unsigned flags = 0; flags <= WEFT_PIPE_DUPLEX; flags++) {
        weft_conn *r, *w;
        open_pair(&r, &w, flags);
        struct bulk b = {w, (size_t)3 << 20, 4};
        pthread_t t = spawn(send_bulk, &b);
        unsigned char *buf = malloc(b.len);
        WT_TRUE(buf != NULL);
        for (int i = 0; i < b.count; i++) {
            size_t n = 0;
            if (i % 2) {
                void *m = NULL;
                WT_EQ(weft_conn_recv_alloc(r, &m, &n), 0);
                WT_EQ(n, b.len);
                WT_TRUE(same(m, n, (unsigned)i));
                free(m);
            } else {
                WT_EQ(weft_conn_recv(r, buf, b.len, &n), 0);
                WT_EQ(n, b.len);
                WT_TRUE(same(buf, n, (unsigned)i));
            }
        }
        free(buf);
        join(t);
        weft_conn_close(r);
        weft_conn_close(w);
    }
}

WT_CASE(test_conn_sendv_is_one_message, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    struct iovec v[3] = {{(void *)"head", 4}, {NULL, 0}, {(void *)"-body", 5}};
    WT_EQ(weft_conn_sendv_until(w, v, 3, WEFT_DEADLINE_NEVER), 0);
    WT_EQ(weft_conn_sendv_until(w, v, 0, WEFT_DEADLINE_NEVER), 0);
    char buf[16];
    size_t n;
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
    WT_EQ(n, 9u);
    WT_EQ(memcmp(buf, "head-body", 9), 0);
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
    WT_EQ(n, 0u);
    weft_conn_close(r);
    weft_conn_close(w);
}

/* Gathered messages around the size up to which a frame is copied into
 * one buffer before it is written, on a pipe and on a socket: each arrives
 * whole and in order. */
WT_CASE(test_conn_sendv_pieces_around_the_copy_limit, "unit valgrind")
{
    static const size_t sizes[] = {0, 1, 200, 499, 500, 501, 502, 503, 504, 505, 511, 512, 513,
                                   600, 4096};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    for (unsigned duplex = 0; duplex <= 1; duplex++) {
        weft_conn *r, *w;
        open_pair(&r, &w, duplex ? WEFT_PIPE_DUPLEX : 0);
        unsigned char msg[4096], got[4096];
        for (int i = 0; i < NS; i++) {
            size_t len = sizes[i];
            fill(msg, len, (unsigned)i);
            /* Three pieces: a third, an empty one, the rest. */
            struct iovec v[3] = {{msg, len / 3}, {NULL, 0}, {msg + len / 3, len - len / 3}};
            WT_EQ(weft_conn_sendv_until(w, v, 3, WEFT_DEADLINE_NEVER), 0);
        }
        for (int i = 0; i < NS; i++) {
            size_t n = 0;
            WT_EQ(weft_conn_recv(r, got, sizeof got, &n), 0);
            WT_EQ(n, sizes[i]);
            fill(msg, sizes[i], (unsigned)i);
            WT_EQ(memcmp(got, msg, n), 0);
        }
        weft_conn_close(r);
        weft_conn_close(w);
    }
}

WT_CASE(test_conn_too_small_buffer_keeps_the_message, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, WEFT_PIPE_DUPLEX);
    unsigned char msg[100000];
    fill(msg, sizeof msg, 7);
    WT_EQ(weft_conn_send(w, msg, sizeof msg), 0);
    WT_EQ(weft_conn_send(w, "next", 4), 0);
    unsigned char small[10];
    size_t n = 0;
    WT_EQ(weft_conn_recv(r, small, sizeof small, &n), EMSGSIZE);
    WT_EQ(n, sizeof msg);
    WT_EQ(weft_conn_recv(r, small, sizeof small, &n), EMSGSIZE); /* still there */
    WT_EQ(weft_conn_poll_for(r, 0), 0);
    void *m;
    WT_EQ(weft_conn_recv_alloc(r, &m, &n), 0);
    WT_EQ(n, sizeof msg);
    WT_TRUE(same(m, n, 7));
    free(m);
    WT_EQ(weft_conn_recv(r, small, sizeof small, &n), 0);
    WT_EQ(n, 4u);
    WT_EQ(memcmp(small, "next", 4), 0);
    weft_conn_close(r);
    weft_conn_close(w);
}

WT_CASE(test_conn_peer_close_is_end_of_stream, "unit valgrind")
{
    for (unsigned flags = 0; flags <= WEFT_PIPE_DUPLEX; flags++) {
        weft_conn *r, *w;
        open_pair(&r, &w, flags);
        WT_EQ(weft_conn_send(w, "last", 4), 0);
        WT_EQ(weft_conn_close(w), 0);
        char buf[8];
        size_t n;
        WT_EQ(weft_conn_poll_for(r, 0), 0);
        WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0); /* sent before close */
        WT_EQ(n, 4u);
        WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), EPIPE);
        WT_EQ(weft_conn_recv_for(r, buf, sizeof buf, &n, 1000 * MS), EPIPE);
        void *m;
        WT_EQ(weft_conn_recv_alloc(r, &m, &n), EPIPE);
        WT_TRUE(m == NULL);
        WT_EQ(weft_conn_poll_for(r, 0), 0); /* ready: to say EPIPE */
        weft_conn_close(r);
    }
}

struct typed_later {
    int master;
    int rc;
};

/* A second frame and end of file, typed after a while: what ends the wait
 * of a receive that missed the first end of file. */
static void *type_later(void *arg)
{
    struct typed_later *t = arg;
    sleep_ns(100 * MS);
    const unsigned char more[] = {0xB0, 5, 'w', 'o', 'r', 'l', 'd', 4};
    t->rc = write(t->master, more, sizeof more) == (ssize_t)sizeof more ? 0 : errno;
    return NULL;
}

/* An end of stream that a read reports only once - a terminal's end of
 * file, typed after a message - ends the connection too: the receive that
 * meets it says EPIPE, and so does every later one. */
WT_CASE(test_conn_one_time_end_of_stream, "unit valgrind")
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0)
        WT_SKIP("no pseudo-terminals here (/dev/ptmx)");
    WT_EQ(grantpt(master), 0);
    WT_EQ(unlockpt(master), 0);
    char name[64];
    WT_EQ(ptsname_r(master, name, sizeof name), 0);
    int slave = open(name, O_RDWR | O_NOCTTY);
    WT_GE(slave, 0);
    struct termios tio;
    WT_EQ(tcgetattr(slave, &tio), 0);
    tio.c_iflag = 0;      /* bytes as typed: no CR/NL mapping, no flow control */
    tio.c_lflag = ICANON; /* lines and end of file; no echo, no signals */
    tio.c_cc[VEOF] = 4;
    tio.c_cc[VEOL] = tio.c_cc[VERASE] = tio.c_cc[VKILL] = _POSIX_VDISABLE;
    WT_EQ(tcsetattr(slave, TCSANOW, &tio), 0);
    weft_conn *r;
    WT_EQ(weft_conn_adopt(&r, slave, WEFT_CONN_READ), 0);
    /* The first end-of-file character hands over the line (the frame),
     * the second reads as the end of the stream, once. */
    const unsigned char typed[] = {0xB0, 5, 'h', 'e', 'l', 'l', 'o', 4, 4};
    WT_EQ(write(master, typed, sizeof typed), (ssize_t)sizeof typed);
    char buf[8];
    size_t n = 0;
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
    WT_EQ(n, 5u);
    WT_EQ(memcmp(buf, "hello", 5), 0);
    struct typed_later t = {master, -1};
    pthread_t typist = spawn(type_later, &t);
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), EPIPE);
    join(typist);
    WT_EQ(t.rc, 0);
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), EPIPE); /* the world stays unread */
    WT_EQ(weft_conn_close(r), 0);
    WT_EQ(close(master), 0);
}

WT_CASE(test_conn_truncated_message_is_eproto, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    const unsigned char part[] = {0xB0, 10, 'a', 'b', 'c'}; /* 10 promised, 3 sent */
    raw_write(w, part, sizeof part);
    weft_conn_close(w);
    char buf[16];
    size_t n;
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), EPROTO);
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), EPROTO); /* broken for good */
    weft_conn_close(r);

    /* A header cut short. */
    open_pair(&r, &w, 0);
    const unsigned char half[] = {0xB2, 1, 0};
    raw_write(w, half, sizeof half);
    weft_conn_close(w);
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), EPROTO);
    weft_conn_close(r);
}

WT_CASE(test_conn_garbage_breaks_receive_not_send, "unit valgrind")
{
    weft_conn *a, *b;
    open_pair(&a, &b, WEFT_PIPE_DUPLEX);
    WT_EQ(weft_conn_send(a, "good", 4), 0);
    raw_write(a, "GET / HTTP/1.0\r\n", 16);
    char buf[16];
    size_t n;
    WT_EQ(weft_conn_recv(b, buf, sizeof buf, &n), 0); /* before the garbage */
    WT_EQ(n, 4u);
    WT_EQ(weft_conn_recv(b, buf, sizeof buf, &n), EPROTO);
    WT_EQ(weft_conn_poll_for(b, 0), 0);
    WT_EQ(weft_conn_recv(b, buf, sizeof buf, &n), EPROTO);
    WT_EQ(weft_conn_send(b, "still", 5), 0); /* the other direction is fine */
    WT_EQ(weft_conn_recv(a, buf, sizeof buf, &n), 0);
    WT_EQ(n, 5u);
    weft_conn_close(a);
    weft_conn_close(b);
}

WT_CASE(test_conn_limit_on_both_sides, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    WT_EQ(weft_conn_limit(w), WEFT_CONN_LIMIT_DEFAULT);
    WT_EQ(weft_conn_set_limit(w, 100), 0);
    WT_EQ(weft_conn_limit(w), 100u);
    unsigned char msg[101] = {0};
    WT_EQ(weft_conn_send(w, msg, 101), EMSGSIZE); /* nothing written */
    WT_EQ(weft_conn_send(w, msg, 100), 0);
    WT_EQ(weft_conn_set_limit(w, UINT64_MAX), 0);
    WT_EQ(weft_conn_limit(w), WEFT_FRAME_LIMIT_MAX);
    WT_EQ(weft_conn_send(w, msg, 101), 0);
    WT_EQ(weft_conn_set_limit(r, 100), 0);
    unsigned char buf[200];
    size_t n;
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
    WT_EQ(n, 100u);
    /* 101 is over the receiver's limit: refused before any allocation. */
    void *m;
    WT_EQ(weft_conn_recv_alloc(r, &m, &n), EPROTO);
    weft_conn_close(r);
    weft_conn_close(w);
}

WT_CASE(test_conn_receive_deadline, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    char buf[8];
    size_t n;
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_conn_recv_for(r, buf, sizeof buf, &n, 30 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 30 * MS);
    WT_EQ(weft_conn_poll_for(r, 10 * MS), ETIMEDOUT);
    WT_EQ(weft_conn_poll_for(r, 0), ETIMEDOUT);
    void *m;
    WT_EQ(weft_conn_recv_alloc_until(r, &m, &n, weft_time_now_ns() - 1), ETIMEDOUT);
    WT_EQ(weft_conn_send(w, "late", 4), 0);
    WT_EQ(weft_conn_poll_for(r, 1000 * MS), 0);
    WT_EQ(weft_conn_recv_for(r, buf, sizeof buf, &n, 1000 * MS), 0);
    WT_EQ(n, 4u);
    weft_conn_close(r);
    weft_conn_close(w);
}

/* A deadline that passes in the middle of a message loses nothing: the
 * part read is kept, and the next receive returns the whole message. */
WT_CASE(test_conn_timeout_mid_message_keeps_the_part, "unit valgrind")
{
    for (int alloc = 0; alloc < 2; alloc++) {
        weft_conn *r, *w;
        open_pair(&r, &w, 0);
        enum { LEN = 50000 };
        unsigned char frame[LEN + WEFT_FRAME_HEADER_MAX];
        unsigned char msg[LEN];
        fill(msg, LEN, 3);
        size_t fl;
        WT_EQ(weft_frame_encode(msg, LEN, frame, sizeof frame, &fl), 0);
        raw_write(w, frame, 30000);
        unsigned char *buf = malloc(LEN);
        WT_TRUE(buf != NULL);
        size_t n;
        void *m = NULL;
        int rc = alloc ? weft_conn_recv_alloc_until(r, &m, &n, weft_time_deadline_ns(20 * MS))
                       : weft_conn_recv_for(r, buf, LEN, &n, 20 * MS);
        WT_EQ(rc, ETIMEDOUT);
        WT_TRUE(m == NULL);
        WT_EQ(weft_conn_poll_for(r, 0), 0); /* part of a message is there */
        raw_write(w, frame + 30000, 10000);
        rc = alloc ? weft_conn_recv_alloc_until(r, &m, &n, weft_time_deadline_ns(20 * MS))
                   : weft_conn_recv_for(r, buf, LEN, &n, 20 * MS);
        WT_EQ(rc, ETIMEDOUT);
        raw_write(w, frame + 40000, fl - 40000);
        WT_EQ(weft_conn_send(w, "after", 5), 0);
        memset(buf, 0, LEN);
        WT_EQ(weft_conn_recv(r, buf, LEN, &n), 0);
        WT_EQ(n, (size_t)LEN);
        WT_TRUE(same(buf, n, 3));
        WT_EQ(weft_conn_recv(r, buf, LEN, &n), 0);
        WT_EQ(n, 5u);
        free(buf);
        weft_conn_close(r);
        weft_conn_close(w);
    }
}

/* A full pipe: a timed send writes nothing and says ETIMEDOUT; the stream
 * is intact afterwards. */
WT_CASE(test_conn_send_deadline_on_a_full_pipe, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    unsigned char msg[1000];
    memset(msg, 0x5A, sizeof msg);
    int sent = 0, rc;
    while ((rc = weft_conn_send_for(w, msg, sizeof msg, 0)) == 0) {
        /* Each send finds room for all of its 1003 bytes (poll reports a
         * pipe writable with PIPE_BUF bytes free), so none waits. */
        sent++;
        WT_LT(sent, 100000);
    }
    WT_EQ(rc, ETIMEDOUT);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_conn_send_for(w, msg, sizeof msg, 20 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 20 * MS);
    size_t n;
    for (int i = 0; i < sent; i++) {
        WT_EQ(weft_conn_recv_for(r, msg, sizeof msg, &n, 1000 * MS), 0);
        WT_EQ(n, sizeof msg);
    }
    WT_EQ(weft_conn_poll_for(r, 0), ETIMEDOUT); /* no stray bytes */
    weft_conn_close(r);
    weft_conn_close(w);
}

static int sigpipe_pending(void)
{
    sigset_t p;
    WT_EQ(sigpending(&p), 0);
    return sigismember(&p, SIGPIPE);
}

/* SIGPIPE keeps its default action (end the process) here: a send to a
 * closed pipe must say EPIPE and leave no signal behind. */
WT_CASE(test_conn_send_to_closed_peer_is_epipe_without_sigpipe, "unit valgrind")
{
    WT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    for (unsigned flags = 0; flags <= WEFT_PIPE_DUPLEX; flags++) {
        weft_conn *r, *w;
        open_pair(&r, &w, flags);
        weft_conn_close(r);
        WT_EQ(weft_conn_send(w, "x", 1), EPIPE);
        WT_EQ(weft_conn_send(w, "y", 1), EPIPE);
        WT_EQ(sigpipe_pending(), 0);
        weft_conn_close(w);
    }
    /* With SIGPIPE blocked by the caller and one already pending, that one
     * stays pending for the caller. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    WT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
    WT_EQ(pthread_kill(pthread_self(), SIGPIPE), 0);
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    weft_conn_close(r);
    WT_EQ(weft_conn_send(w, "x", 1), EPIPE);
    WT_EQ(sigpipe_pending(), 1);
    int sig = 0;
    WT_EQ(sigwait(&set, &sig), 0);
    WT_EQ(sigpipe_pending(), 0);
    WT_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    weft_conn_close(w);
}

/* Make pwritev2 fail with EOPNOTSUPP in the calling process, as a kernel
 * older than Linux 6.18 answers RWF_NOSIGNAL: a seccomp filter. */
static int refuse_pwritev2(void)
{
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwritev2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EOPNOTSUPP & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {(unsigned short)(sizeof prog / sizeof prog[0]), prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

struct big_read {
    weft_conn *r;
    unsigned char *buf;
    size_t len;
    int rc;
};

static void *read_big(void *arg)
{
    struct big_read *b = (struct big_read *)arg;
    b->rc = weft_conn_recv(b->r, b->buf, 100000, &b->len);
    return NULL;
}

/* In a child whose kernel refuses RWF_NOSIGNAL (see refuse_pwritev2), with
 * SIGPIPE's default action: pipes fall back to masking SIGPIPE around
 * their writes, carry small and large messages, say EPIPE to a closed
 * reader and leave no signal behind, nor take the caller's. */
static int child_without_rwf_nosignal(void *arg)
{
    (void)arg;
    if (signal(SIGPIPE, SIG_DFL) == SIG_ERR || refuse_pwritev2() != 0)
        return 1;
    static unsigned char msg[100000], got[100000];
    fill(msg, sizeof msg, 7);
    for (int round = 0; round < 2; round++) { /* the refusal, then remembered */
        weft_conn *r, *w;
        if (weft_pipe_open(&r, &w, 0) != 0)
            return 2;
        size_t n = 0;
        if (weft_conn_send(w, "ping", 4) != 0 || weft_conn_recv(r, got, sizeof got, &n) != 0 ||
            n != 4 || memcmp(got, "ping", 4) != 0)
            return 3;
        /* Larger than the pipe holds: written in parts while a thread
         * reads it. */
        struct big_read br = {r, got, 0, -1};
        pthread_t t;
        if (pthread_create(&t, NULL, read_big, &br) != 0)
            return 4;
        int sent = weft_conn_send(w, msg, sizeof msg);
        if (pthread_join(t, NULL) != 0 || sent != 0 || br.rc != 0 || br.len != sizeof msg ||
            memcmp(got, msg, sizeof msg) != 0)
            return 4;
        weft_conn_close(r);
        if (weft_conn_send(w, "x", 1) != EPIPE || weft_conn_send(w, msg, 4096) != EPIPE)
            return 5;
        if (sigpipe_pending() != 0)
            return 6;
        weft_conn_close(w);
    }
    /* SIGPIPE blocked by the caller with one pending: it stays pending. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || pthread_kill(pthread_self(), SIGPIPE) != 0)
        return 7;
    weft_conn *r, *w;
    if (weft_pipe_open(&r, &w, 0) != 0)
        return 8;
    weft_conn_close(r);
    if (weft_conn_send(w, "x", 1) != EPIPE || sigpipe_pending() != 1)
        return 9;
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || sig != SIGPIPE || sigpipe_pending() != 0)
        return 10;
    weft_conn_close(w);
    return 0;
}

/* Not under Valgrind, which refuses to install seccomp filters. */
WT_CASE(test_conn_pipes_without_rwf_nosignal_mask_sigpipe, "unit")
{
    WT_EQ(reap(fork_child(child_without_rwf_nosignal, NULL)), 0);
}

/* In a child, so the test process keeps SIGPIPE's default: with SIGPIPE
 * ignored, or blocked, connections made with WEFT_CONN_SIGPIPE_IGNORED
 * carry messages and say EPIPE to a closed pipe; the process lives. */
static int child_sigpipe_ignored(void *arg)
{
    (void)arg;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return 1;
    for (unsigned duplex = 0; duplex <= WEFT_PIPE_DUPLEX; duplex++) {
        weft_conn *r, *w;
        if (weft_pipe_open(&r, &w, duplex | WEFT_CONN_SIGPIPE_IGNORED) != 0)
            return 2;
        char buf[8];
        size_t n = 0;
        if (weft_conn_send(w, "ping", 4) != 0 || weft_conn_recv(r, buf, sizeof buf, &n) != 0 ||
            n != 4 || memcmp(buf, "ping", 4) != 0)
            return 3;
        weft_conn_close(r);
        if (weft_conn_send(w, "x", 1) != EPIPE)
            return 4;
        weft_conn_close(w);
    }
    int fds[2];
    weft_conn *a;
    if (pipe(fds) != 0 ||
        weft_conn_adopt(&a, fds[1], WEFT_CONN_WRITE | WEFT_CONN_SIGPIPE_IGNORED) != 0)
        return 5;
    (void)close(fds[0]);
    if (weft_conn_send(a, "x", 1) != EPIPE)
        return 6;
    weft_conn_close(a);
    /* Blocked instead of ignored: the write's SIGPIPE stays pending, the
     * caller's to take. */
    if (signal(SIGPIPE, SIG_DFL) == SIG_ERR)
        return 7;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return 8;
    weft_conn *r, *w;
    if (weft_pipe_open(&r, &w, WEFT_CONN_SIGPIPE_IGNORED) != 0)
        return 9;
    weft_conn_close(r);
    if (weft_conn_send(w, "x", 1) != EPIPE || sigpipe_pending() != 1)
        return 10;
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || sig != SIGPIPE)
        return 11;
    weft_conn_close(w);
    return 0;
}

WT_CASE(test_conn_sigpipe_ignored_flag, "unit valgrind")
{
    /* Here SIGPIPE has its default action and is not blocked: the flag's
     * promise does not hold, and it is refused. */
    WT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    weft_conn *a = NULL, *b = NULL;
    WT_EQ(weft_pipe_open(&a, &b, WEFT_CONN_SIGPIPE_IGNORED), EINVAL);
    WT_TRUE(a == NULL && b == NULL);
    int fds[2];
    WT_EQ(pipe(fds), 0);
    WT_EQ(weft_conn_adopt(&a, fds[1], WEFT_CONN_WRITE | WEFT_CONN_SIGPIPE_IGNORED), EINVAL);
    WT_EQ(weft_conn_adopt(&a, fds[1], WEFT_CONN_SIGPIPE_IGNORED), EINVAL); /* no direction */
    WT_EQ(close(fds[0]), 0);
    WT_EQ(close(fds[1]), 0); /* left open by the refusals */
    WT_EQ(reap(fork_child(child_sigpipe_ignored, NULL)), 0);
}

/* Handler calls, counted with a lock-free atomic (async-signal-safe). */
static int interrupted;
static void on_usr1(int sig)
{
    (void)sig;
    __atomic_fetch_add(&interrupted, 1, __ATOMIC_RELAXED);
}

struct poke {
    pthread_t target;
    weft_conn *w;
};

/* Sends the next signal only once the last one was handled: a standard
 * signal sent while the same one is still pending is merged with it, and a
 * loaded machine (or ThreadSanitizer, which defers handlers) can leave one
 * pending for longer than the gap between sends. */
static void *poke_then_send(void *arg)
{
    struct poke *p = arg;
    for (int i = 0; i < 5; i++) {
        sleep_ns(5 * MS);
        WT_EQ(pthread_kill(p->target, SIGUSR1), 0);
        int64_t give_up = weft_time_deadline_ns(10000 * MS);
        while (__atomic_load_n(&interrupted, __ATOMIC_RELAXED) <= i &&
               weft_time_now_ns() < give_up)
            sleep_ns(MS / 2);
    }
    sleep_ns(5 * MS);
    WT_EQ(weft_conn_send(p->w, "done", 4), 0);
    return NULL;
}

/* A message there and back on r and w, so that r has read before (and
 * has its read-ahead buffer). */
static void warm_up(weft_conn *r, weft_conn *w)
{
    char buf[8];
    size_t n = 0;
    WT_EQ(weft_conn_send(w, "warm", 4), 0);
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
    WT_EQ(n, 4u);
}

/* A receive on r (with a deadline when timed) while five handlers run in
 * the receiving thread, until poke_then_send's "done" arrives from w. */
static void recv_through_signals(weft_conn *r, weft_conn *w, int timed)
{
    __atomic_store_n(&interrupted, 0, __ATOMIC_RELAXED);
    struct poke p = {pthread_self(), w};
    pthread_t t = spawn(poke_then_send, &p);
    char buf[8];
    size_t n = 0;
    int rc = timed ? weft_conn_recv_for(r, buf, sizeof buf, &n, 10000 * MS)
                   : weft_conn_recv(r, buf, sizeof buf, &n);
    WT_EQ(rc, 0);
    WT_EQ(n, 4u);
    WT_EQ(memcmp(buf, "done", 4), 0);
    join(t);
    WT_EQ(__atomic_load_n(&interrupted, __ATOMIC_RELAXED), 5);
}

/* Signal handlers installed without SA_RESTART interrupt the waits; the
 * receive goes on and returns the message: a first receive, and one after
 * others, with and without a deadline. */
WT_CASE(test_conn_waits_survive_signals, "unit valgrind")
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    WT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    for (int round = 0; round < 4; round++) {
        int timed = round & 1;
        weft_conn *r, *w;
        open_pair(&r, &w, (unsigned)timed);
        if (round >= 2)
            warm_up(r, w);
        recv_through_signals(r, w, timed);
        weft_conn_close(r);
        weft_conn_close(w);
    }
}

/* An adopted non-blocking descriptor still gives blocking receives: a
 * first one, and one after others. */
WT_CASE(test_conn_adopt_nonblocking_descriptor, "unit valgrind")
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    WT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    for (int warm = 0; warm < 2; warm++) {
        int fds[2];
        WT_EQ(pipe(fds), 0);
        WT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
        weft_conn *r, *w;
        WT_EQ(weft_conn_adopt(&r, fds[0], WEFT_CONN_READ), 0);
        WT_EQ(weft_conn_adopt(&w, fds[1], WEFT_CONN_WRITE), 0);
        WT_EQ(weft_conn_fileno(r), fds[0]);
        if (warm)
            warm_up(r, w);
        recv_through_signals(r, w, 0);
        WT_EQ(weft_conn_close(r), 0);
        WT_EQ(weft_conn_close(w), 0);
        WT_EQ(fcntl(fds[0], F_GETFD), -1); /* closed with the connection */
    }
}

struct room_wait {
    weft_conn *w;
    int tid; /* atomic: the sending thread's id, once known */
    int rc;  /* atomic: the send's result, -1 until it returns */
};

static void *send_hello(void *arg)
{
    struct room_wait *rw = arg;
    __atomic_store_n(&rw->tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
    __atomic_store_n(&rw->rc, weft_conn_send(rw->w, "hello", 5), __ATOMIC_RELEASE);
    return NULL;
}

/* Open /proc's line for thread tid's current system call: the call's
 * number and arguments, "-1 ..." outside a call, or "running". */
static int open_syscall_line(int tid)
{
    char path[64];
    (void)snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Whether thread tid of this process is in a system call that writes or
 * waits to write. */
static bool waits_to_write(int tid)
{
    char text[256];
    int fd = open_syscall_line(tid);
    if (fd < 0)
        return false;
    ssize_t k = read(fd, text, sizeof text - 1);
    (void)close(fd);
    if (k <= 0)
        return false;
    text[k] = '\0';
    char *end;
    long nr = strtol(text, &end, 10);
    if (end == text)
        return false;
#ifdef SYS_ppoll_time64 /* what 32-bit C libraries call for ppoll */
    if (nr == SYS_ppoll_time64)
        return true;
#endif
#ifdef SYS_ppoll
    if (nr == SYS_ppoll)
        return true;
#endif
    return nr == SYS_pwritev2 || nr == SYS_write;
}

/* Wait until rw's sender waits to write; false if its send returned or
 * it does not wait within 10 s (a guard against hanging, not a timing
 * check). */
static bool wait_until_writing(struct room_wait *rw, int tid)
{
    int64_t give_up = weft_time_deadline_ns(10000 * MS);
    for (;;) {
        if (waits_to_write(tid))
            return true;
        if (__atomic_load_n(&rw->rc, __ATOMIC_ACQUIRE) != -1 || weft_time_now_ns() >= give_up)
            return false;
        sleep_ns(MS / 2);
    }
}

static void expect_writing(struct room_wait *rw, int tid)
{
    if (wait_until_writing(rw, tid))
        return;
    WT_EQ(__atomic_load_n(&rw->rc, __ATOMIC_ACQUIRE), -1); /* returned early: with what */
    WT_TRUE(false);                                         /* never waited to write */
}

/* A send without a deadline into a full pipe waits for room, whether the
 * descriptor blocks or not, through handlers (without SA_RESTART) that
 * interrupt its wait, and then writes its frame whole. */
WT_CASE(test_conn_send_waits_for_room, "unit valgrind")
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    WT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    static unsigned char filler[4096];
    for (int nonblocking = 0; nonblocking < 2; nonblocking++) {
        int fds[2];
        WT_EQ(pipe(fds), 0);
        WT_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
        size_t filled = 0;
        for (;;) { /* fill the pipe to the last byte */
            ssize_t k = write(fds[1], filler, sizeof filler);
            if (k < 0 && errno == EAGAIN)
                k = write(fds[1], filler, 1);
            if (k < 0)
                break;
            filled += (size_t)k;
        }
        WT_EQ(errno, EAGAIN);
        if (!nonblocking)
            WT_EQ(fcntl(fds[1], F_SETFL, 0), 0);
        weft_conn *w;
        WT_EQ(weft_conn_adopt(&w, fds[1], WEFT_CONN_WRITE), 0);
        __atomic_store_n(&interrupted, 0, __ATOMIC_RELAXED);
        struct room_wait rw = {w, 0, -1};
        pthread_t t = spawn(send_hello, &rw);
        while (__atomic_load_n(&rw.tid, __ATOMIC_ACQUIRE) == 0)
            sleep_ns(MS / 2);
        /* The sender's wait, interrupted. Not waiting for each handler to
         * run: ThreadSanitizer may defer them until the wait ends. */
        int tid = __atomic_load_n(&rw.tid, __ATOMIC_ACQUIRE);
        int line = open_syscall_line(tid);
        if (line < 0)
            WT_SKIP("no /proc/self/task/TID/syscall here");
        (void)close(line);
        for (int i = 0; i < 3; i++) {
            expect_writing(&rw, tid);
            WT_EQ(pthread_kill(t, SIGUSR1), 0);
            sleep_ns(MS);
        }
        expect_writing(&rw, tid);
        while (filled > 0) { /* room: the filler read back */
            ssize_t k = read(fds[0], filler, filled < sizeof filler ? filled : sizeof filler);
            WT_GT(k, 0);
            filled -= (size_t)k;
        }
        join(t);
        WT_EQ(rw.rc, 0);
        /* Deferred, as under ThreadSanitizer, signals sent while one is
         * pending merge: at least one handler ran. */
        WT_GE(__atomic_load_n(&interrupted, __ATOMIC_RELAXED), 1);
        weft_conn *r;
        WT_EQ(weft_conn_adopt(&r, fds[0], WEFT_CONN_READ), 0);
        char buf[8];
        size_t n = 0;
        WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
        WT_EQ(n, 5u);
        WT_EQ(memcmp(buf, "hello", 5), 0);
        WT_EQ(weft_conn_close(r), 0);
        WT_EQ(weft_conn_close(w), 0);
    }
}

/* ---- threads ------------------------------------------------------------ */

enum { SENDERS = 4 };
/* The largest message of send_numbered: a head and 24 KiB. */
#define BODY_MAX ((size_t)24 * 1024)
#define MSG_MAX (BODY_MAX + sizeof(struct msg_head))

struct msg_head {
    uint32_t sender, seq, len, sum;
};

static uint32_t checksum(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

struct sender {
    weft_conn *c;
    int id, count;
};

/* Messages from 16 bytes to 24 KiB (larger than PIPE_BUF), so the kernel
 * would interleave them were sends not serialised. */
static void *send_numbered(void *arg)
{
    struct sender *s = arg;
    unsigned char *buf = malloc(MSG_MAX);
    WT_TRUE(buf != NULL);
    for (int i = 0; i < s->count; i++) {
        size_t len = (size_t)(i * 7919 + s->id * 104729) % BODY_MAX;
        fill(buf + sizeof(struct msg_head), len, (unsigned)(s->id * 100000 + i));
        struct msg_head h = {(uint32_t)s->id, (uint32_t)i, (uint32_t)len,
                             checksum(buf + sizeof h, len)};
        memcpy(buf, &h, sizeof h);
        WT_EQ(weft_conn_send(s->c, buf, sizeof h + len), 0);
    }
    free(buf);
    return NULL;
}

static void check_numbered(const unsigned char *m, size_t n, int *next)
{
    struct msg_head h;
    WT_GE(n, sizeof h);
    memcpy(&h, m, sizeof h);
    WT_LT(h.sender, (uint32_t)SENDERS);
    WT_EQ(n, sizeof h + h.len);
    WT_EQ(checksum(m + sizeof h, h.len), h.sum);
    WT_EQ(h.seq, (uint32_t)next[h.sender]); /* FIFO per sender */
    next[h.sender]++;
}

WT_CASE(test_conn_concurrent_senders_never_interleave, "stress valgrind helgrind")
{
    for (unsigned flags = 0; flags <= WEFT_PIPE_DUPLEX; flags++) {
        weft_conn *r, *w;
        open_pair(&r, &w, flags);
        int count = (int)wt_iters(400);
        struct sender s[SENDERS];
        pthread_t t[SENDERS];
        for (int i = 0; i < SENDERS; i++) {
            s[i] = (struct sender){w, i, count};
            t[i] = spawn(send_numbered, &s[i]);
        }
        int next[SENDERS] = {0};
        for (int i = 0; i < SENDERS * count; i++) {
            void *m;
            size_t n;
            WT_EQ(weft_conn_recv_alloc(r, &m, &n), 0);
            check_numbered(m, n, next);
            free(m);
        }
        for (int i = 0; i < SENDERS; i++) {
            join(t[i]);
            WT_EQ(next[i], count);
        }
        weft_conn_close(r);
        weft_conn_close(w);
    }
}

struct receiver {
    weft_conn *c;
    int got;
    int *seen; /* [SENDERS][count], atomic increments */
    int count;
};

static void *receive_until_eof(void *arg)
{
    struct receiver *rv = arg;
    unsigned char *buf = malloc(MSG_MAX);
    WT_TRUE(buf != NULL);
    for (;;) {
        size_t n;
        int rc = weft_conn_recv(rv->c, buf, MSG_MAX, &n);
        if (rc == EPIPE)
            break;
        WT_EQ(rc, 0);
        struct msg_head h;
        memcpy(&h, buf, sizeof h);
        WT_LT(h.sender, (uint32_t)SENDERS);
        WT_LT(h.seq, (uint32_t)rv->count);
        WT_EQ(n, sizeof h + h.len);
        WT_EQ(checksum(buf + sizeof h, h.len), h.sum);
        __atomic_add_fetch(&rv->seen[h.sender * rv->count + (int)h.seq], 1, __ATOMIC_RELAXED);
        rv->got++;
    }
    free(buf);
    return NULL;
}

/* Two receivers share one end: every message goes to exactly one. */
WT_CASE(test_conn_concurrent_receivers_share_messages, "stress valgrind helgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    int count = (int)wt_iters(300);
    int *seen = calloc((size_t)SENDERS * (size_t)count, sizeof *seen);
    WT_TRUE(seen != NULL);
    struct receiver rv[2] = {{r, 0, seen, count}, {r, 0, seen, count}};
    pthread_t rt[2] = {spawn(receive_until_eof, &rv[0]), spawn(receive_until_eof, &rv[1])};
    struct sender s[SENDERS];
    pthread_t t[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        s[i] = (struct sender){w, i, count};
        t[i] = spawn(send_numbered, &s[i]);
    }
    for (int i = 0; i < SENDERS; i++)
        join(t[i]);
    weft_conn_close(w);
    join(rt[0]);
    join(rt[1]);
    WT_EQ(rv[0].got + rv[1].got, SENDERS * count);
    for (int i = 0; i < SENDERS * count; i++)
        WT_EQ(seen[i], 1);
    free(seen);
    weft_conn_close(r);
}

/* ---- processes ---------------------------------------------------------- */

static weft_conn *child_conn;

static int child_sends(void *arg)
{
    struct sender s = {child_conn, arg_int(arg), 200};
    send_numbered(&s);
    return 0;
}

/* A connection made before fork works in the child; the child's exit (and
 * the parent's close of its copy) is the end of the stream. */
WT_CASE(test_conn_passed_to_forked_child, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    child_conn = w;
    pid_t pid = fork_child(child_sends, int_arg(2));
    weft_conn_close(w);
    int next[SENDERS] = {0};
    for (;;) {
        void *m;
        size_t n;
        int rc = weft_conn_recv_alloc(r, &m, &n);
        if (rc == EPIPE)
            break;
        WT_EQ(rc, 0);
        check_numbered(m, n, next);
        free(m);
    }
    WT_EQ(next[2], 200);
    WT_EQ(reap(pid), 0);
    weft_conn_close(r);
}

static int child_sends_huge(void *arg)
{
    (void)arg;
    size_t len = (size_t)64 << 20;
    unsigned char *p = calloc(1, len);
    if (!p)
        return 3;
    (void)weft_conn_send(child_conn, p, len); /* killed inside */
    free(p);
    return 4;
}

/* A sender killed (SIGKILL) in the middle of a message: the receiver gets
 * the messages before it, then EPROTO, never a hang. */
WT_CASE(test_conn_sender_killed_mid_message, "unit valgrind")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    WT_EQ(weft_conn_send(w, "before", 6), 0);
    child_conn = w;
    pid_t pid = fork_child(child_sends_huge, NULL);
    weft_conn_close(w);
    char buf[8];
    size_t n;
    WT_EQ(weft_conn_recv(r, buf, sizeof buf, &n), 0);
    WT_EQ(n, 6u);
    /* Wait until the child has begun: poll sees its first bytes. */
    WT_EQ(weft_conn_poll_for(r, 10000 * MS), 0);
    WT_EQ(kill(pid, SIGKILL), 0);
    WT_EQ(reap(pid), -SIGKILL);
    void *m;
    WT_EQ(weft_conn_recv_alloc(r, &m, &n), EPROTO);
    weft_conn_close(r);
}

static pid_t receiver_tid;

static void *recv_one(void *arg)
{
    weft_conn *c = arg;
    char buf[8];
    size_t n;
    __atomic_store_n(&receiver_tid, gettid(), __ATOMIC_RELEASE);
    WT_EQ(weft_conn_recv(c, buf, sizeof buf, &n), 0);
    return NULL;
}

/* Wait until thread tid of this process sleeps in read(2) (system call 0
 * on x86-64, 63 on arm64), as /proc shows it. */
static void wait_in_read(pid_t tid)
{
#if defined(__x86_64__)
    const char *want = "0 ";
#elif defined(__aarch64__)
    const char *want = "63 ";
#else
    WT_SKIP("system call numbers not known for this machine");
#endif
    char path[64];
    (void)snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    for (int i = 0; i < 20000; i++) {
        FILE *f = fopen(path, "r");
        WT_TRUE(f != NULL);
        char line[128] = "";
        char *got = fgets(line, sizeof line, f);
        (void)fclose(f);
        if (got && strncmp(line, want, strlen(want)) == 0)
            return;
        sleep_ns(1 * MS);
    }
    WT_FAILF("thread %d never blocked in read", (int)tid);
}

struct busy_fork {
    weft_conn *busy, *idle_r, *idle_w;
};

static int child_uses_conns(void *arg)
{
    struct busy_fork *f = arg;
    char buf[8];
    size_t n;
    if (weft_conn_recv_for(f->busy, buf, sizeof buf, &n, 0) != ENOTRECOVERABLE)
        return 10;
    if (weft_conn_send(f->busy, "x", 1) != EBADF) /* simplex read end */
        return 11;
    if (weft_conn_poll_for(f->busy, 0) != ENOTRECOVERABLE)
        return 12;
    if (weft_conn_close(f->busy) != 0)
        return 13;
    /* A connection nobody was using at the fork works. */
    if (weft_conn_send(f->idle_w, "ok", 2) != 0)
        return 14;
    if (weft_conn_recv(f->idle_r, buf, sizeof buf, &n) != 0 || n != 2)
        return 15;
    weft_conn_close(f->idle_r);
    weft_conn_close(f->idle_w);
    return 0;
}

/* A child forked while a thread of the parent is inside a receive on a
 * connection finds that connection unusable (ENOTRECOVERABLE), not hung. */
WT_CASE(test_conn_busy_at_fork_is_unusable_in_child, "unit")
{
    weft_conn *r, *w;
    open_pair(&r, &w, 0);
    struct busy_fork f = {r, NULL, NULL};
    open_pair(&f.idle_r, &f.idle_w, WEFT_PIPE_DUPLEX);
    pthread_t t = spawn(recv_one, r);
    /* Wait for the thread to be inside its receive: it holds the receive
     * lock while it sleeps in read. */
    pid_t tid;
    while ((tid = __atomic_load_n(&receiver_tid, __ATOMIC_ACQUIRE)) == 0)
        sleep_ns(1 * MS);
    wait_in_read(tid);
    pid_t pid = fork_child(child_uses_conns, &f);
    WT_EQ(reap(pid), 0);
    WT_EQ(weft_conn_send(w, "go", 2), 0);
    join(t);
    weft_conn_close(r);
    weft_conn_close(w);
    weft_conn_close(f.idle_r);
    weft_conn_close(f.idle_w);
}

WT_MAIN()

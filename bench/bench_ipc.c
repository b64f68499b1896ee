/* bench_ipc.c - scenario pipe: messages between two processes.
 *
 *   pipe  roundtrip_64  a 64-byte message to a forked child and back, over
 *                       two one-way connections (weft_conn_send/recv), vs
 *                       write/read of 64 bytes on two raw pipes, vs the
 *                       same with SIGPIPE blocked around each write
 *                       (pipe_sigmask: what weft's send does on kernels
 *                       without RWF_NOSIGNAL, older than Linux 6.18, so
 *                       that a reader's death is EPIPE, not the end of
 *                       the process), vs
 *                       CPython's multiprocessing.Pipe(duplex=False) with
 *                       send_bytes/recv_bytes
 *   pipe  bulk_1m       1 MiB messages to a forked child, which receives
 *                       each whole into its memory; the time per message,
 *                       vs raw write/read loops of 1 MiB, vs CPython
 *
 *   pipe  roundtrip_64_sigpipe_ignored  the round trip again, the program
 *                       ignoring SIGPIPE and weft's connections made with
 *                       WEFT_CONN_SIGPIPE_IGNORED, vs raw pipes
 *
 * Each run forks its child before the clock starts and reaps it after it
 * stops; only the message traffic is timed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/ipc.h"

#define SMALL 64
#define BULK ((size_t)1 << 20)

static void reap_child(pid_t pid)
{
    int st = 0;
    bench_must(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- raw pipes ------------------------------------------------------------ */

static void read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        bench_must(r > 0);
        got += (size_t)r;
    }
}

/* Whether raw writes keep SIGPIPE blocked around each write (the raw
 * peer of weft's default; set for one run at a time). */
static bool raw_masked;

static void write_full(int fd, const void *buf, size_t n)
{
    sigset_t pipe_set, old;
    if (raw_masked) {
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        bench_must(pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0);
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        bench_must(w > 0);
        done += (size_t)w;
    }
    if (raw_masked)
        bench_must(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
}

/* mode 0: echo SMALL-byte messages until end of stream; 1: read ops BULK
 * messages, then answer one byte. */
static double raw_run(long ops, int mode)
{
    int up[2], down[2];
    bench_must(pipe(up) == 0 && pipe(down) == 0);
    size_t len = mode ? BULK : SMALL;
    char *buf = (char *)malloc(len);
    bench_must(buf != NULL);
    memset(buf, 1, len);
    pid_t pid = fork();
    bench_must(pid >= 0);
    if (pid == 0) {
        close(up[1]);
        close(down[0]);
        if (mode == 0) {
            for (;;) {
                ssize_t r = read(up[0], buf, SMALL);
                if (r == 0)
                    _exit(0);
                if (r != SMALL)
                    read_full(up[0], buf + r, (size_t)(SMALL - r));
                write_full(down[1], buf, SMALL);
            }
        }
        for (long i = 0; i < ops; i++)
            read_full(up[0], buf, BULK);
        write_full(down[1], buf, 1);
        _exit(0);
    }
    close(up[0]);
    close(down[1]);
    int64_t t0 = bench_now_ns();
    if (mode == 0) {
        for (long i = 0; i < ops; i++) {
            write_full(up[1], buf, SMALL);
            read_full(down[0], buf, SMALL);
        }
    } else {
        for (long i = 0; i < ops; i++)
            write_full(up[1], buf, BULK);
        read_full(down[0], buf, 1);
    }
    int64_t t1 = bench_now_ns();
    close(up[1]);
    close(down[0]);
    reap_child(pid);
    free(buf);
    return (double)(t1 - t0) / (double)ops;
}

/* ---- weft ------------------------------------------------------------------ */

/* flags: 0, or WEFT_CONN_SIGPIPE_IGNORED with SIGPIPE ignored for the
 * run (the child inherits that). */
static double weft_run(long ops, int mode, unsigned flags)
{
    weft_conn *up_r, *up_w, *down_r, *down_w;
    void (*was)(int) = flags ? signal(SIGPIPE, SIG_IGN) : SIG_DFL;
    bench_must(was != SIG_ERR);
    bench_must(weft_pipe_open(&up_r, &up_w, flags) == 0 &&
               weft_pipe_open(&down_r, &down_w, flags) == 0);
    size_t len = mode ? BULK : SMALL;
    char *buf = (char *)malloc(len);
    bench_must(buf != NULL);
    memset(buf, 1, len);
    pid_t pid = fork();
    bench_must(pid >= 0);
    if (pid == 0) {
        weft_conn_close(up_w);
        weft_conn_close(down_r);
        size_t n;
        if (mode == 0) {
            for (;;) {
                int rc = weft_conn_recv(up_r, buf, SMALL, &n);
                if (rc == EPIPE)
                    _exit(0);
                bench_must(rc == 0 && n == SMALL);
                bench_must(weft_conn_send(down_w, buf, SMALL) == 0);
            }
        }
        for (long i = 0; i < ops; i++)
            bench_must(weft_conn_recv(up_r, buf, BULK, &n) == 0 && n == BULK);
        bench_must(weft_conn_send(down_w, buf, 1) == 0);
        _exit(0);
    }
    weft_conn_close(up_r);
    weft_conn_close(down_w);
    size_t n;
    int64_t t0 = bench_now_ns();
    if (mode == 0) {
        for (long i = 0; i < ops; i++) {
            bench_must(weft_conn_send(up_w, buf, SMALL) == 0);
            bench_must(weft_conn_recv(down_r, buf, SMALL, &n) == 0 && n == SMALL);
        }
    } else {
        for (long i = 0; i < ops; i++)
            bench_must(weft_conn_send(up_w, buf, BULK) == 0);
        bench_must(weft_conn_recv(down_r, buf, BULK, &n) == 0 && n == 1);
    }
    int64_t t1 = bench_now_ns();
    weft_conn_close(up_w);
    weft_conn_close(down_r);
    reap_child(pid);
    free(buf);
    if (flags)
        bench_must(signal(SIGPIPE, was) != SIG_ERR);
    return (double)(t1 - t0) / (double)ops;
}

static double weft_rt(void *ctx, long ops)
{
    (void)ctx;
    return weft_run(ops, 0, 0);
}

static double weft_rt_sigign(void *ctx, long ops)
{
    (void)ctx;
    return weft_run(ops, 0, WEFT_CONN_SIGPIPE_IGNORED);
}

static double raw_rt(void *ctx, long ops)
{
    (void)ctx;
    return raw_run(ops, 0);
}

static double weft_bulk(void *ctx, long ops)
{
    (void)ctx;
    return weft_run(ops, 1, 0);
}

static double raw_rt_masked(void *ctx, long ops)
{
    (void)ctx;
    raw_masked = true;
    double ns = raw_run(ops, 0);
    raw_masked = false;
    return ns;
}

static double raw_bulk(void *ctx, long ops)
{
    (void)ctx;
    return raw_run(ops, 1);
}

static struct bench_py py_rt = {"ipc.py", "pipe_roundtrip"};
static struct bench_py py_bulk = {"ipc.py", "pipe_bulk"};

void bench_pipe(void)
{
    bench_impl rt[] = {{"weft", weft_rt, NULL},
                       {"pipe", raw_rt, NULL},
                       {"pipe_sigmask", raw_rt_masked, NULL},
                       {"cpython", bench_cpython, &py_rt}};
    bench_compare("pipe", "roundtrip_64", 20000, rt, 4);
    /* The same, in a program that ignores SIGPIPE (as CPython does) and
     * says so with WEFT_CONN_SIGPIPE_IGNORED: weft's send is then one
     * writev, as the raw peer's is one write. */
    bench_impl rtq[] = {{"weft", weft_rt_sigign, NULL}, {"pipe", raw_rt, NULL}};
    bench_compare("pipe", "roundtrip_64_sigpipe_ignored", 20000, rtq, 2);
    bench_impl bulk[] = {{"weft", weft_bulk, NULL},
                         {"pipe", raw_bulk, NULL},
                         {"cpython", bench_cpython, &py_bulk}};
    bench_compare("pipe", "bulk_1m", 400, bulk, 3);
}

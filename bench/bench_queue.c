/* bench_queue.c - scenario queue: messages through a queue shared by
 * processes.
 *
 *   queue  put_get_64_1to1   one producer process puts 64-byte messages,
 *                            one consumer process gets them: ns per message
 *   queue  put_get_64_2to2   two producers, two consumers, the same
 *   queue  roundtrip_64      a 64-byte message to a child through one
 *                            queue and back through another
 *   queue  put_get_1m_1to1   1 MiB messages, one producer to one consumer
 * Peers: POSIX message queues (mq_send/mq_receive, at the default limit of
 * 10 messages; they cannot carry 1 MiB messages at the default size limit,
 * so that case has no mq figure) and CPython's multiprocessing.Queue.
 *
 * Every process is forked before the clock starts and waits on a pipe for
 * the go; the clock stops when the last consumer has exited. A consumer
 * stops at the first 1-byte message; each producer ends with one. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "weft/queue.h"

#define SMALL 64
#define BULK ((size_t)1 << 20)

/* A queue implementation: made before the fork, used by every process. */
struct qops {
    void *(*open)(size_t msg_size); /* NULL: unavailable */
    void (*put)(void *q, const void *msg, size_t len);
    size_t (*get)(void *q, void *buf, size_t cap);
    void (*close)(void *q);
};

static void *weft_open(size_t msg_size)
{
    weft_queue_opts o = {msg_size * 4 > ((size_t)1 << 20) ? msg_size * 4 : (size_t)1 << 20, 0, 0,
                         0};
    weft_queue *q = NULL;
    bench_must(weft_queue_create(&q, NULL, &o) == 0);
    return q;
}

static void weft_put(void *q, const void *msg, size_t len)
{
    bench_must(weft_queue_put((weft_queue *)q, msg, len) == 0);
}

static size_t weft_get(void *q, void *buf, size_t cap)
{
    size_t len = 0;
    bench_must(weft_queue_get((weft_queue *)q, buf, cap, &len) == 0);
    return len;
}

static void weft_close(void *q) { weft_queue_free((weft_queue *)q); }

struct mq {
    mqd_t d;
};

static void *mq_open_any(size_t msg_size)
{
    char name[64];
    static int n;
    (void)snprintf(name, sizeof name, "/weft-bench-%d-%d", (int)getpid(), n++);
    struct mq_attr a;
    memset(&a, 0, sizeof a);
    a.mq_maxmsg = 10; /* /proc/sys/fs/mqueue/msg_max's default */
    a.mq_msgsize = (long)msg_size;
    mqd_t d = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    if (d == (mqd_t)-1)
        return NULL; /* over the system's limits: unavailable */
    bench_must(mq_unlink(name) == 0); /* the descriptor lives on, across fork */
    struct mq *m = (struct mq *)malloc(sizeof *m);
    bench_must(m != NULL);
    m->d = d;
    return m;
}

static void mq_put(void *q, const void *msg, size_t len)
{
    while (mq_send(((struct mq *)q)->d, (const char *)msg, len, 0) != 0)
        bench_must(errno == EINTR);
}

static size_t mq_get(void *q, void *buf, size_t cap)
{
    ssize_t r;
    while ((r = mq_receive(((struct mq *)q)->d, (char *)buf, cap, NULL)) < 0)
        bench_must(errno == EINTR);
    return (size_t)r;
}

static void mq_close_any(void *q)
{
    bench_must(mq_close(((struct mq *)q)->d) == 0);
    free(q);
}

static const struct qops weft_ops = {weft_open, weft_put, weft_get, weft_close};
static const struct qops mq_ops = {mq_open_any, mq_put, mq_get, mq_close_any};

/* nprod producers put `each` messages of msg_size bytes, then a 1-byte
 * stop; ncons consumers get until a stop. ns per message, or -1. */
static double flow(const struct qops *ops, int nprod, int ncons, long total, size_t msg_size)
{
    void *q = ops->open(msg_size);
    if (!q)
        return -1;
    char *buf = (char *)calloc(1, msg_size);
    bench_must(buf != NULL);
    int go[2];
    bench_must(pipe(go) == 0);
    pid_t kids[4];
    int nkids = 0;
    long each = total / nprod;
    for (int i = 0; i < nprod + ncons; i++) {
        pid_t pid = fork();
        bench_must(pid >= 0);
        if (pid == 0) {
            char c;
            close(go[1]);
            bench_must(read(go[0], &c, 1) == 1);
            if (i < nprod) {
                for (long k = 0; k < each; k++)
                    ops->put(q, buf, msg_size);
                ops->put(q, "", 1);
            } else {
                while (ops->get(q, buf, msg_size) != 1) {
                }
            }
            _exit(0);
        }
        kids[nkids++] = pid;
    }
    close(go[0]);
    int64_t t0 = bench_now_ns();
    bench_must(write(go[1], "gggg", (size_t)nkids) == nkids);
    for (int i = 0; i < nkids; i++) {
        int st = 0;
        bench_must(waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    int64_t t1 = bench_now_ns();
    close(go[1]);
    ops->close(q);
    free(buf);
    return (double)(t1 - t0) / (double)(each * nprod);
}

/* A message to a child through one queue and back through another. */
static double roundtrip(const struct qops *ops, long n)
{
    void *up = ops->open(SMALL);
    if (!up)
        return -1;
    void *down = ops->open(SMALL);
    if (!down) {
        ops->close(up);
        return -1;
    }
    char buf[SMALL];
    memset(buf, 1, sizeof buf);
    pid_t pid = fork();
    bench_must(pid >= 0);
    if (pid == 0) {
        size_t len;
        while ((len = ops->get(up, buf, sizeof buf)) != 1)
            ops->put(down, buf, len);
        _exit(0);
    }
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        ops->put(up, buf, SMALL);
        bench_must(ops->get(down, buf, sizeof buf) == SMALL);
    }
    int64_t t1 = bench_now_ns();
    ops->put(up, "", 1);
    int st = 0;
    bench_must(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ops->close(up);
    ops->close(down);
    return (double)(t1 - t0) / (double)n;
}

static double w_11(void *c, long n) { (void)c; return flow(&weft_ops, 1, 1, n, SMALL); }
static double m_11(void *c, long n) { (void)c; return flow(&mq_ops, 1, 1, n, SMALL); }
static double w_22(void *c, long n) { (void)c; return flow(&weft_ops, 2, 2, n, SMALL); }
static double m_22(void *c, long n) { (void)c; return flow(&mq_ops, 2, 2, n, SMALL); }
static double w_rt(void *c, long n) { (void)c; return roundtrip(&weft_ops, n); }
static double m_rt(void *c, long n) { (void)c; return roundtrip(&mq_ops, n); }
static double w_1m(void *c, long n) { (void)c; return flow(&weft_ops, 1, 1, n, BULK); }

static struct bench_py py_11 = {"ipc.py", "queue_1to1"};
static struct bench_py py_22 = {"ipc.py", "queue_2to2"};
static struct bench_py py_rt = {"ipc.py", "queue_roundtrip"};
static struct bench_py py_1m = {"ipc.py", "queue_bulk"};

void bench_queue(void)
{
    bench_impl a[] = {{"weft", w_11, NULL}, {"mq", m_11, NULL}, {"cpython", bench_cpython, &py_11}};
    bench_compare("queue", "put_get_64_1to1", 200000, a, 3);
    bench_impl b[] = {{"weft", w_22, NULL}, {"mq", m_22, NULL}, {"cpython", bench_cpython, &py_22}};
    bench_compare("queue", "put_get_64_2to2", 200000, b, 3);
    bench_impl c[] = {{"weft", w_rt, NULL}, {"mq", m_rt, NULL}, {"cpython", bench_cpython, &py_rt}};
    bench_compare("queue", "roundtrip_64", 20000, c, 3);
    bench_impl d[] = {{"weft", w_1m, NULL}, {"cpython", bench_cpython, &py_1m}};
    bench_compare("queue", "put_get_1m_1to1", 400, d, 2);
}

/* conn.c - weft_conn: framed messages over a pipe or a stream socket.
 *
 * Design / invariants
 *   Sending: one frame per message, header and payload handed to the
 *   kernel together (writev, or sendmsg with MSG_NOSIGNAL on sockets)
 *   under send_mu, so frames of one process never interleave. A deadline
 *   bounds only the wait before the first byte: after that the frame is
 *   finished whatever it takes, so the stream is always at a frame
 *   boundary when send_mu is free.
 *
 *   Receiving (all under recv_mu): bytes are read ahead into rbuf, and
 *   rbuf[rpos..rend) are bytes of the stream not yet returned. With have_hdr
 *   clear they start at a frame header; with have_hdr set the header of a
 *   frame whose payload is plen bytes has been consumed, and they start at
 *   that payload. A payload longer than what rbuf holds is read straight
 *   into the caller's memory; if the deadline passes midway, the part read
 *   is copied back into rbuf, so no byte of the stream is ever dropped by a
 *   timeout. The sticky results (rerr: EPIPE at end of stream, EPROTO once
 *   the stream is broken) and the count of buffered bytes are also stored
 *   atomically, for weft_conn_poll_until, which does not take recv_mu.
 *
 *   SIGPIPE: sockets use MSG_NOSIGNAL. A pipe is written with pwritev2's
 *   RWF_NOSIGNAL (Linux 6.18), which makes a write to a pipe with no reader
 *   fail with EPIPE and raise nothing. A kernel that refuses the flag
 *   (EOPNOTSUPP on a pipe, before writing anything) is remembered for the
 *   process, and from then on - and always for an adopted descriptor
 *   that is neither a pipe nor a socket - the sending thread blocks
 *   SIGPIPE around the write, and when the write fails with EPIPE it
 *   takes the SIGPIPE the write raised off the thread's pending set
 *   (unless one was pending before), so the process never sees it. A
 *   connection made with WEFT_CONN_SIGPIPE_IGNORED, whose caller keeps
 *   SIGPIPE harmless itself (checked when the connection is made), is
 *   written plainly.
 *
 *   Fork: every connection is on a list; in the child, one whose send_mu or
 *   recv_mu was held (by a thread that does not exist there) gets its locks
 *   reset and is marked forked_busy, which makes every call but close
 *   return ENOTRECOVERABLE. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* ppoll, sigtimedwait; also predefined by g++/clang++ */
#endif
#include "weft/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "frame_codec.h"
#include "io.h"
#include "weft/lock.h"
#include "weft/time.h"

/* SMALL_FRAME: a frame up to this size (header included) is copied into
 * one buffer and written as one piece, which the kernel takes faster than
 * a gather of two. */
enum { RBUF_SIZE = 16384, IOV_MAX_SEND = 64, SMALL_FRAME = 512 };
/* One read or write asks the kernel for at most this much. */
#define IO_CHUNK ((size_t)1 << 30)

#ifndef RWF_NOSIGNAL /* Linux 6.18's uapi value; older headers lack it */
#define RWF_NOSIGNAL 0x00000100
#endif

struct weft_conn {
    int fd;
    bool can_read, can_write, is_socket, is_fifo;
    bool sigpipe_ignored; /* WEFT_CONN_SIGPIPE_IGNORED: write without masking */
    bool forked_busy; /* set only in a forked child, before it has threads */
    uint64_t limit;   /* atomic */

    weft_lock send_mu; /* held for a whole frame */
    weft_lock recv_mu;
    unsigned char *rbuf WEFT_GUARDED_BY(recv_mu);
    size_t rcap WEFT_GUARDED_BY(recv_mu);
    size_t rpos WEFT_GUARDED_BY(recv_mu);
    size_t rend WEFT_GUARDED_BY(recv_mu);
    bool have_hdr WEFT_GUARDED_BY(recv_mu);
    uint64_t plen WEFT_GUARDED_BY(recv_mu);
    int rerr;          /* recv_mu to change; atomic: 0, EPIPE or EPROTO */
    size_t rbuffered;  /* recv_mu to change; atomic: rend - rpos */

    weft_conn *prev, *next; /* list_mu */
};

static weft_lock list_mu = WEFT_LOCK_INIT;
static weft_conn *list_head WEFT_GUARDED_BY(list_mu);
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* ---- fork -------------------------------------------------------------- */

static void fork_prepare(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_acquire(&list_mu);
}

static void fork_parent(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    weft_lock_release(&list_mu);
}

/* The child has one thread: the locks' states are final, and nothing
 * else can touch the connections while this runs. */
static void fork_child(void) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    for (weft_conn *c = list_head; c; c = c->next) {
        if (weft_lock_is_locked(&c->send_mu) || weft_lock_is_locked(&c->recv_mu)) {
            c->forked_busy = true;
            weft_lock_init(&c->send_mu);
            weft_lock_init(&c->recv_mu);
        }
    }
    weft_lock_release(&list_mu);
}

static void install_atfork(void)
{
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- waiting ----------------------------------------------------------- */

int weft__wait_fd(int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        struct timespec ts, *tp = NULL;
        if (deadline_ns != WEFT_DEADLINE_NEVER) {
            int64_t left = deadline_ns - weft_time_now_ns();
            if (left < 0)
                left = 0;
            ts.tv_sec = (time_t)(left / 1000000000);
            ts.tv_nsec = (long)(left % 1000000000);
            tp = &ts;
        }
        int r = ppoll(&p, 1, tp, NULL);
        if (r > 0)
            return 0;
        if (r == 0)
            return ETIMEDOUT;
        if (errno != EINTR)
            return errno;
    }
}

/* Read at most n bytes (at least one, or end of stream: *got = 0). */
static int read_some(const weft_conn *c, void *buf, size_t n, int64_t deadline_ns, size_t *got)
{
    if (n > IO_CHUNK)
        n = IO_CHUNK;
    bool waited = deadline_ns == WEFT_DEADLINE_NEVER;
    for (;;) {
        if (!waited) {
            int rc = weft__wait_fd(c->fd, POLLIN, deadline_ns);
            if (rc)
                return rc;
        }
        ssize_t r = read(c->fd, buf, n);
        if (r >= 0) {
            *got = (size_t)r;
            return 0;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            waited = false; /* a non-blocking descriptor: wait, then read */
        else if (errno != EINTR)
            return errno;
    }
}

/* ---- open / close ------------------------------------------------------ */

/* Whether SIGPIPE cannot end the process now: ignored, or blocked in the
 * calling thread (WEFT_CONN_SIGPIPE_IGNORED's check when a connection is
 * made). */
static bool sigpipe_harmless(void)
{
    struct sigaction sa;
    sigset_t mask;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
        return true;
    return pthread_sigmask(SIG_BLOCK, NULL, &mask) == 0 && sigismember(&mask, SIGPIPE) == 1;
}

static int conn_new(weft_conn **out, int fd, bool r, bool w, bool sigpipe_ignored)
{
    (void)pthread_once(&atfork_once, install_atfork);
    weft_conn *c = (weft_conn *)calloc(1, sizeof *c);
    if (!c)
        return ENOMEM;
    struct stat st;
    c->fd = fd;
    c->can_read = r;
    c->can_write = w;
    bool known = fstat(fd, &st) == 0;
    c->is_socket = known && S_ISSOCK(st.st_mode);
    c->is_fifo = known && S_ISFIFO(st.st_mode);
    c->sigpipe_ignored = sigpipe_ignored;
    c->limit = WEFT_CONN_LIMIT_DEFAULT;
    weft_lock_init(&c->send_mu);
    weft_lock_init(&c->recv_mu);
    weft_lock_acquire(&list_mu);
    c->next = list_head;
    if (list_head)
        list_head->prev = c;
    list_head = c;
    weft_lock_release(&list_mu);
    *out = c;
    return 0;
}

int weft_pipe_open(weft_conn **a, weft_conn **b, unsigned flags)
{
    if (!a || !b || (flags & ~(WEFT_PIPE_DUPLEX | WEFT_CONN_SIGPIPE_IGNORED)))
        return EINVAL;
    bool quiet = flags & WEFT_CONN_SIGPIPE_IGNORED;
    if (quiet && !sigpipe_harmless())
        return EINVAL;
    int fds[2];
    bool duplex = flags & WEFT_PIPE_DUPLEX;
    int r = duplex ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
                   : pipe2(fds, O_CLOEXEC);
    if (r != 0)
        return errno;
    int rc = conn_new(a, fds[0], true, duplex, quiet);
    if (rc == 0) {
        rc = conn_new(b, fds[1], duplex, true, quiet);
        if (rc == 0)
            return 0;
        (void)weft_conn_close(*a);
        (void)close(fds[1]);
    } else {
        (void)close(fds[0]);
        (void)close(fds[1]);
    }
    *a = *b = NULL;
    return rc;
}

int weft_conn_adopt(weft_conn **out, int fd, unsigned flags)
{
    unsigned all = WEFT_CONN_READ | WEFT_CONN_WRITE | WEFT_CONN_SIGPIPE_IGNORED;
    if (!out || !(flags & (WEFT_CONN_READ | WEFT_CONN_WRITE)) || (flags & ~all))
        return EINVAL;
    bool quiet = flags & WEFT_CONN_SIGPIPE_IGNORED;
    if (quiet && !sigpipe_harmless())
        return EINVAL;
    if (fcntl(fd, F_GETFD) == -1)
        return EBADF;
    return conn_new(out, fd, flags & WEFT_CONN_READ, flags & WEFT_CONN_WRITE, quiet);
}

int weft_conn_close(weft_conn *c) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!c)
        return 0;
    weft_lock_acquire(&list_mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        list_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    weft_lock_release(&list_mu);
    int rc = close(c->fd) == 0 || errno == EINTR ? 0 : errno;
    free(c->rbuf);
    (void)weft_lock_destroy(&c->send_mu);
    (void)weft_lock_destroy(&c->recv_mu);
    free(c);
    return rc;
}

int weft_conn_fileno(const weft_conn *c)
{
    return c ? c->fd : -1;
}

int weft_conn_set_limit(weft_conn *c, uint64_t limit)
{
    if (!c || limit == 0)
        return EINVAL;
    if (limit > WEFT_FRAME_LIMIT_MAX)
        limit = WEFT_FRAME_LIMIT_MAX;
    __atomic_store_n(&c->limit, limit, __ATOMIC_RELAXED);
    return 0;
}

uint64_t weft_conn_limit(const weft_conn *c)
{
    return c ? __atomic_load_n(&c->limit, __ATOMIC_RELAXED) : 0;
}

/* ---- send -------------------------------------------------------------- */

/* How a pipe is written: plainly (its caller keeps SIGPIPE harmless), or
 * with RWF_NOSIGNAL. */
enum { PLAIN = 0, NOSIGNAL = 1 };

/* write_all's result when the kernel refused RWF_NOSIGNAL before writing
 * anything (not an errno value). */
enum { NOSIGNAL_REFUSED = -1 };

/* Set once a kernel refused RWF_NOSIGNAL (relaxed atomic): every pipe of
 * the process then masks SIGPIPE around its writes instead. */
static int nosignal_refused;

/* One write of the iovecs; the socket path cannot raise SIGPIPE, nor can
 * the NOSIGNAL path. */
static ssize_t write_iov(const weft_conn *c, struct iovec *iov, int n, int how)
{
    if (c->is_socket) {
        if (n == 1)
            return send(c->fd, iov->iov_base, iov->iov_len, MSG_NOSIGNAL);
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = (size_t)n;
        return sendmsg(c->fd, &m, MSG_NOSIGNAL);
    }
    if (how == NOSIGNAL)
        return pwritev2(c->fd, iov, n, -1, RWF_NOSIGNAL); /* -1: no offset */
    if (n == 1)
        return write(c->fd, iov->iov_base, iov->iov_len);
    return writev(c->fd, iov, n);
}

/* Write all of iov[0..n), which it consumes; started: the frame's first
 * bytes are written already (a deadline then no longer applies). The
 * caller holds send_mu, and has SIGPIPE blocked when c is a pipe written
 * PLAIN without WEFT_CONN_SIGPIPE_IGNORED. Returns 0, an errno value, or
 * NOSIGNAL_REFUSED (nothing written, by this call or before it). */
static int write_all(const weft_conn *c, struct iovec *iov, int n, int how, bool started,
                     int64_t deadline_ns)
{
    bool waited = deadline_ns == WEFT_DEADLINE_NEVER;
    while (n > 0) {
        if (!waited) {
            int rc = weft__wait_fd(c->fd, POLLOUT, started ? WEFT_DEADLINE_NEVER : deadline_ns);
            if (rc)
                return rc;
        }
        ssize_t w = write_iov(c, iov, n, how);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                waited = false;
            else if (errno == EOPNOTSUPP && how == NOSIGNAL && !started)
                return NOSIGNAL_REFUSED;
            else if (errno != EINTR)
                return errno;
            continue;
        }
        started = true;
        waited = true; /* a blocking descriptor: the next write may block */
        size_t done = (size_t)w;
        while (n > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/* write_small's result when write_all is to go on (not an errno value). */
enum { WRITE_ON = -2 };

/* The usual case of a pipe's write_all, in line: a small frame (one
 * piece, no deadline) in one write. Returns what write_all would (0, an
 * errno value, NOSIGNAL_REFUSED), or WRITE_ON for write_all to finish the
 * frame when the write was interrupted, would have blocked or wrote a part
 * (iov advanced past it and *started set; a pipe takes a write this small
 * whole, so that is only in principle). */
static int write_small(const weft_conn *c, struct iovec *iov, bool *started)
{
    ssize_t w = pwritev2(c->fd, iov, 1, -1, RWF_NOSIGNAL);
    if (w >= 0 && (size_t)w == iov->iov_len)
        return 0;
    if (w > 0) {
        iov->iov_base = (char *)iov->iov_base + w;
        iov->iov_len -= (size_t)w;
        *started = true;
        return WRITE_ON;
    }
    if (w == 0 || errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
        return WRITE_ON;
    return errno == EOPNOTSUPP ? NOSIGNAL_REFUSED : errno;
}

/* write_all for a pipe on a kernel without RWF_NOSIGNAL, or a descriptor
 * that is neither a pipe nor a socket, with SIGPIPE kept from the process
 * (see the top of the file). */
static int write_all_masked(const weft_conn *c, struct iovec *iov, int n, int64_t deadline_ns)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    (void)pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    /* With SIGPIPE unblocked until now, none can be pending for this
     * thread: any SIGPIPE pending after a failed write is the write's.
     * With it blocked by the caller, one may be pending already; the
     * write's would merge with it, and that one is not ours to take. */
    bool caller_blocked = sigismember(&old, SIGPIPE) == 1;
    bool was_pending = false;
    if (caller_blocked) {
        sigset_t pending;
        was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    }
    int rc = write_all(c, iov, n, PLAIN, false, deadline_ns);
    if (rc == EPIPE && !was_pending) {
        static const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR)
            ;
    }
    if (!caller_blocked)
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Write a frame's iovecs (send_mu held), keeping SIGPIPE from the process
 * as the top of the file says. Only a pipe's refusal of RWF_NOSIGNAL says
 * the kernel lacks it: an adopted descriptor of another kind (a device)
 * may refuse every RWF_ flag, and is simply written masked. */
static int write_frame(const weft_conn *c, struct iovec *iov, int n, int64_t deadline_ns)
{
    if (c->is_socket || c->sigpipe_ignored)
        return write_all(c, iov, n, PLAIN, false, deadline_ns);
    if (c->is_fifo && !__atomic_load_n(&nosignal_refused, __ATOMIC_RELAXED)) {
        bool started = false;
        int rc = WRITE_ON;
        if (n == 1 && deadline_ns == WEFT_DEADLINE_NEVER)
            rc = write_small(c, iov, &started);
        if (rc == WRITE_ON)
            rc = write_all(c, iov, n, NOSIGNAL, started, deadline_ns);
        if (rc != NOSIGNAL_REFUSED)
            return rc;
        __atomic_store_n(&nosignal_refused, 1, __ATOMIC_RELAXED);
    }
    return write_all_masked(c, iov, n, deadline_ns);
}

static int send_frame(weft_conn *c, const struct iovec *iov, int iovcnt, uint64_t len,
                      int64_t deadline_ns)
{
    if (!c->can_write)
        return EBADF;
    if (c->forked_busy)
        return ENOTRECOVERABLE;
    if (len > __atomic_load_n(&c->limit, __ATOMIC_RELAXED))
        return EMSGSIZE;
    unsigned char small[SMALL_FRAME];
    struct iovec v[IOV_MAX_SEND + 1];
    v[0].iov_base = small;
    v[0].iov_len = weft__frame_encode_header(len, small);
    int n = 1;
    if (len <= SMALL_FRAME - WEFT_FRAME_HEADER_MAX) {
        for (int i = 0; i < iovcnt; i++) {
            if (iov[i].iov_len) {
                weft__copy_bytes(small + v[0].iov_len, iov[i].iov_base, iov[i].iov_len);
                v[0].iov_len += iov[i].iov_len;
            }
        }
    } else {
        for (int i = 0; i < iovcnt; i++)
            if (iov[i].iov_len)
                v[n++] = iov[i];
    }
    weft_lock_acquire(&c->send_mu);
    int rc = write_frame(c, v, n, deadline_ns);
    weft_lock_release(&c->send_mu);
    return rc;
}

int weft_conn_sendv_until(weft_conn *c, const struct iovec *iov, int iovcnt, int64_t deadline_ns)
{
    if (!c || iovcnt < 0 || (iovcnt > 0 && !iov))
        return EINVAL;
    if (iovcnt > IOV_MAX_SEND)
        return EINVAL;
    uint64_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (!iov[i].iov_base && iov[i].iov_len)
            return EINVAL;
        if (iov[i].iov_len > SIZE_MAX - total)
            return EINVAL;
        total += iov[i].iov_len;
    }
    return send_frame(c, iov, iovcnt, total, deadline_ns);
}

int weft_conn_send_until(weft_conn *c, const void *msg, size_t len, int64_t deadline_ns)
{
    if (!c || (!msg && len))
        return EINVAL;
    /* writev takes non-const buffers but only reads them. */
    struct iovec v = {.iov_base = (void *)msg, .iov_len = len};
    return send_frame(c, &v, 1, len, deadline_ns);
}

int weft_conn_send(weft_conn *c, const void *msg, size_t len)
{
    return weft_conn_send_until(c, msg, len, WEFT_DEADLINE_NEVER);
}

int weft_conn_send_for(weft_conn *c, const void *msg, size_t len, int64_t timeout_ns)
{
    return weft_conn_send_until(c, msg, len, weft_time_deadline_ns(timeout_ns));
}

/* ---- receive ----------------------------------------------------------- */

static int recv_usable(const weft_conn *c)
{
    if (!c->can_read)
        return EBADF;
    if (c->forked_busy)
        return ENOTRECOVERABLE;
    return 0;
}

/* Publish what weft_conn_poll_until looks at: once, at the end of each
 * receive. */
static void publish(weft_conn *c) WEFT_REQUIRES(c->recv_mu)
{
    size_t ready = c->rend - c->rpos + (c->have_hdr ? 1 : 0);
    __atomic_store_n(&c->rbuffered, ready, __ATOMIC_RELEASE);
}

static int fail(weft_conn *c, int err) WEFT_REQUIRES(c->recv_mu)
{
    __atomic_store_n(&c->rerr, err, __ATOMIC_RELEASE);
    return err;
}

/* Give rbuf room for want bytes, keeping rbuf[rpos..rend) (moved to the
 * front). */
static int rbuf_reserve(weft_conn *c, size_t want) WEFT_REQUIRES(c->recv_mu)
{
    size_t have = c->rend - c->rpos;
    if (c->rbuf && c->rpos > 0 && have > 0)
        memmove(c->rbuf, c->rbuf + c->rpos, have);
    c->rpos = 0;
    c->rend = have;
    if (c->rcap >= want)
        return 0;
    unsigned char *nb = (unsigned char *)realloc(c->rbuf, want);
    if (!nb)
        return ENOMEM;
    c->rbuf = nb;
    c->rcap = want;
    return 0;
}

/* read_some, with a socket reset by its peer taken as the end of stream
 * (the peer is gone either way; what it sent before is already read).
 * Without a deadline the first read is made here, in line (the usual
 * case); read_some only retries one that was interrupted or would have
 * blocked. */
static inline int read_stream(const weft_conn *c, void *buf, size_t n, int64_t deadline_ns,
                              size_t *got)
{
    int rc;
    if (deadline_ns == WEFT_DEADLINE_NEVER) {
        ssize_t r = read(c->fd, buf, n < IO_CHUNK ? n : IO_CHUNK);
        if (r >= 0) {
            *got = (size_t)r;
            return 0;
        }
        rc = errno;
        if (rc == EINTR || rc == EAGAIN || rc == EWOULDBLOCK)
            rc = read_some(c, buf, n, deadline_ns, got);
    } else {
        rc = read_some(c, buf, n, deadline_ns, got);
    }
    if (rc == ECONNRESET) {
        *got = 0;
        rc = 0;
    }
    return rc;
}

/* Consume the next frame header; then have_hdr is set and plen known. */
static int read_header(weft_conn *c, int64_t deadline_ns) WEFT_REQUIRES(c->recv_mu)
{
    uint64_t limit = __atomic_load_n(&c->limit, __ATOMIC_RELAXED);
    for (;;) {
        size_t have = c->rend - c->rpos;
        if (have > 0 && c->rbuf) { /* have > 0 implies rbuf; said for the analyzer */
            size_t hlen;
            uint64_t plen;
            int rc = weft__frame_decode_header(c->rbuf + c->rpos, have, limit, &hlen, &plen);
            if (rc == 0) {
                c->rpos += hlen;
                c->have_hdr = true;
                c->plen = plen;
                return 0;
            }
            if (rc != EAGAIN)
                return fail(c, EPROTO);
        }
        if (have == 0 && c->rbuf) {
            c->rpos = c->rend = 0; /* all returned: read to the front */
        } else {
            int rc = rbuf_reserve(c, RBUF_SIZE);
            if (rc)
                return rc;
        }
        size_t got = 0;
        int rc = read_stream(c, c->rbuf + c->rend, c->rcap - c->rend, deadline_ns, &got);
        if (rc)
            return rc;
        if (got == 0) /* end of stream: clean between frames, else truncated */
            return fail(c, c->rend > c->rpos ? EPROTO : EPIPE);
        c->rend += got;
    }
}

/* Move the payload of the consumed header into dst (room for plen bytes):
 * the buffered part, then the rest straight from the descriptor. */
static int read_payload(weft_conn *c, unsigned char *dst, int64_t deadline_ns)
    WEFT_REQUIRES(c->recv_mu)
{
    size_t len = (size_t)c->plen;
    size_t have = c->rend - c->rpos;
    size_t got = have < len ? have : len;
    weft__copy_bytes(dst, c->rbuf + c->rpos, got);
    c->rpos += got;
    while (got < len) {
        size_t n = 0;
        int rc = read_stream(c, dst + got, len - got, deadline_ns, &n);
        if (rc == 0 && n == 0)
            return fail(c, EPROTO); /* the peer left in the middle */
        if (rc) {
            /* Keep what was read: rbuf is empty now (all of it went to
             * dst), so the part goes back at its front. */
            if (rbuf_reserve(c, got) != 0)
                return fail(c, EPROTO); /* cannot keep the stream whole */
            memcpy(c->rbuf, dst, got);
            c->rend = got;
            return rc;
        }
        got += n;
    }
    c->have_hdr = false;
    return 0;
}

/* The one receive: into buf (room for cap bytes) or, when msg is not NULL,
 * into memory from malloc. */
static int receive(weft_conn *c, void *buf, size_t cap, void **msg, size_t *len,
                   int64_t deadline_ns)
{
    int rc = recv_usable(c);
    if (rc)
        return rc;
    weft_lock_acquire(&c->recv_mu);
    rc = __atomic_load_n(&c->rerr, __ATOMIC_ACQUIRE);
    if (!rc && !c->have_hdr)
        rc = read_header(c, deadline_ns);
    if (!rc) {
        size_t n = (size_t)c->plen;
        unsigned char *dst = (unsigned char *)buf;
        if (msg) {
            dst = (unsigned char *)malloc(n ? n : 1);
            if (!dst)
                rc = ENOMEM; /* the message stays for the next receive */
        } else if (n > cap) {
            rc = EMSGSIZE;
        }
        if (!rc)
            rc = read_payload(c, dst, deadline_ns);
        if (msg && dst) {
            if (rc == 0)
                *msg = dst;
            else
                free(dst);
        }
        if (rc == 0 || rc == EMSGSIZE)
            *len = n;
    }
    publish(c);
    weft_lock_release(&c->recv_mu);
    return rc;
}

int weft_conn_recv_until(weft_conn *c, void *buf, size_t cap, size_t *len, int64_t deadline_ns)
{
    if (!c || !len || (!buf && cap))
        return EINVAL;
    return receive(c, buf, cap, NULL, len, deadline_ns);
}

int weft_conn_recv(weft_conn *c, void *buf, size_t cap, size_t *len)
{
    return weft_conn_recv_until(c, buf, cap, len, WEFT_DEADLINE_NEVER);
}

int weft_conn_recv_for(weft_conn *c, void *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    return weft_conn_recv_until(c, buf, cap, len, weft_time_deadline_ns(timeout_ns));
}

int weft_conn_recv_alloc_until(weft_conn *c, void **msg, size_t *len, int64_t deadline_ns)
{
    if (!c || !msg || !len)
        return EINVAL;
    *msg = NULL;
    return receive(c, NULL, 0, msg, len, deadline_ns);
}

int weft_conn_recv_alloc(weft_conn *c, void **msg, size_t *len)
{
    return weft_conn_recv_alloc_until(c, msg, len, WEFT_DEADLINE_NEVER);
}

int weft_conn_poll_until(const weft_conn *c, int64_t deadline_ns)
{
    if (!c)
        return EINVAL;
    int rc = recv_usable(c);
    if (rc)
        return rc;
    if (__atomic_load_n(&c->rerr, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&c->rbuffered, __ATOMIC_ACQUIRE))
        return 0;
    return weft__wait_fd(c->fd, POLLIN, deadline_ns);
}

int weft_conn_poll_for(const weft_conn *c, int64_t timeout_ns)
{
    return weft_conn_poll_until(c, weft_time_deadline_ns(timeout_ns));
}

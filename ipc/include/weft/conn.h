/* weft/conn.h - connections: whole messages over a pipe or a socket
 * (Python's multiprocessing.Pipe and Connection, bytes only).
 *
 *     weft_conn *a, *b;
 *     weft_pipe_open(&a, &b, WEFT_PIPE_DUPLEX);
 *     weft_conn_send(a, "ping", 4);
 *     char buf[64];
 *     size_t n;
 *     weft_conn_recv(b, buf, sizeof buf, &n);   // n == 4, "ping"
 *     weft_conn_close(a);
 *     weft_conn_recv(b, buf, sizeof buf, &n);   // EPIPE: a is closed
 *     weft_conn_close(b);
 *
 * A connection carries messages: byte strings of any length up to its
 * limit (WEFT_CONN_LIMIT_DEFAULT, settable up to WEFT_FRAME_LIMIT_MAX), each
 * received whole, in the order sent. On the wire each message is one frame
 * of weft/frame.h, written with one system call when the descriptor takes
 * it all.
 *
 * Results every receive can give, besides success:
 *   EPIPE      end of stream: the peer closed its end (or ended) between
 *              messages. Nothing more will come; every later receive says
 *              EPIPE again.
 *   EPROTO     the stream is not valid frames (a bad header, a length over
 *              this connection's limit, or a peer gone in the middle of a
 *              message). The receive side is then broken: every later
 *              receive says EPROTO again. Sending is not affected.
 *   ETIMEDOUT  the deadline passed. Any part of a message already read is
 *              kept in the connection, and the next receive goes on from it.
 *   EMSGSIZE   (weft_conn_recv) the next message is longer than the buffer;
 *              *len says how long it is. The message is kept: the next
 *              receive with a large enough buffer (or weft_conn_recv_alloc)
 *              gets it.
 *
 * Threads: any number of threads may send and receive on one connection at
 * once. Sends are serialised, so each message is written whole, never
 * interleaved with another sender's; receives are serialised, so each
 * message goes to exactly one receiver. Sending and receiving do not wait
 * for each other. Closing must not race with any other call on the
 * connection.
 *
 * Processes: a connection made before fork() is usable in the child (its
 * descriptor is inherited). One process only should receive on a given end:
 * a receiver reads ahead of the message it returns, into memory of its own
 * process. Two processes sending on one end each write whole frames, but
 * their frames may interleave byte-wise when one is larger than the
 * descriptor takes at once (PIPE_BUF, 4096 bytes, for pipes); give each
 * process its own connection. In a child forked while another thread of the
 * parent was sending or receiving on a connection, that connection is
 * unusable (its state was mid-change): every call on it except close
 * returns ENOTRECOVERABLE.
 *
 * Signals: sending on a connection whose peer is gone returns EPIPE; it
 * never raises SIGPIPE, whatever the process's disposition of it. A pipe
 * is written with pwritev2's RWF_NOSIGNAL (Linux 6.18 and later); on an
 * older kernel its sender blocks SIGPIPE around each write instead (two
 * system calls more a message, which WEFT_CONN_SIGPIPE_IGNORED saves a
 * program that ignores SIGPIPE). Waits are restarted after signal
 * handlers run. */
#ifndef WEFT_CONN_H
#define WEFT_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "weft/api.h"
#include "weft/frame.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_conn weft_conn;

/* The limit a new connection has: the longest message it sends or accepts. */
#define WEFT_CONN_LIMIT_DEFAULT ((uint64_t)1 << 30)

/* Flags of weft_pipe_open. */
#define WEFT_PIPE_DUPLEX 1u /* both ends send and receive (a socket pair) */

/* Flags of weft_conn_adopt: what the connection may do. */
#define WEFT_CONN_READ 1u
#define WEFT_CONN_WRITE 2u

/* Flag of weft_pipe_open and weft_conn_adopt: the program keeps SIGPIPE
 * from ending it for as long as the connection sends - it ignores SIGPIPE
 * (signal(SIGPIPE, SIG_IGN), as Python and Rust programs do) or every
 * thread that sends on it blocks SIGPIPE - so a send writes plainly: on a
 * kernel older than Linux 6.18, two system calls fewer a message on a
 * pipe (sockets, and pipes on newer kernels, need none). A send to a pipe
 * without a reader still
 * returns EPIPE; if the program stops ignoring SIGPIPE, such a send ends it
 * (the signal's default action). */
#define WEFT_CONN_SIGPIPE_IGNORED 4u

/* weft_pipe_open - make a pair of connected connections.
 * With WEFT_PIPE_DUPLEX, *a and *b each send to the other (a Unix stream
 * socket pair). Without it, *a only receives and *b only sends (a pipe):
 * Python's Pipe(duplex=False) returns (reader, writer) in the same order.
 * Descriptors are close-on-exec. WEFT_CONN_SIGPIPE_IGNORED (see above)
 * applies to both.
 * Returns:  0; EINVAL for NULL pointers or unknown flags, or for
 *           WEFT_CONN_SIGPIPE_IGNORED when SIGPIPE is neither ignored nor
 *           blocked in the calling thread; EMFILE, ENFILE, ENOMEM (nothing
 *           is left open). */
int weft_pipe_open(weft_conn **a, weft_conn **b, unsigned flags);

/* weft_conn_adopt - make a connection of the open descriptor fd (a pipe
 * end, a stream socket, a character device), which it then owns and
 * closes. flags say whether it receives (WEFT_CONN_READ), sends
 * (WEFT_CONN_WRITE) or both, and WEFT_CONN_SIGPIPE_IGNORED may be added.
 * fd may be blocking or not.
 * Returns:  0 and *out set; EINVAL for NULL out, no flags or unknown ones,
 *           or WEFT_CONN_SIGPIPE_IGNORED as for weft_pipe_open; EBADF when
 *           fd is not open; ENOMEM (fd is then left open). */
int weft_conn_adopt(weft_conn **out, int fd, unsigned flags);

/* weft_conn_close - close c's descriptor and free c. Messages c had read
 * ahead and not returned are dropped. NULL is accepted.
 * Requires: no other call on c is running or will start.
 * Returns:  0, or the error close() gave (c is freed either way). */
int weft_conn_close(weft_conn *c);

/* weft_conn_fileno - the descriptor under c (for poll() with other
 * descriptors, or to keep it open across exec). Readable in poll()'s sense
 * does not mean a whole message is there. */
int weft_conn_fileno(const weft_conn *c);

/* weft_conn_set_limit - set the longest message c sends or accepts;
 * values over WEFT_FRAME_LIMIT_MAX are taken as it. A message received
 * later that is over the new limit breaks the receive side (EPROTO).
 * Returns:  0; EINVAL for NULL c or a limit of 0.
 * Threads:  any thread; a send or receive running at the time may use
 *           either limit. */
int weft_conn_set_limit(weft_conn *c, uint64_t limit);

/* weft_conn_limit - c's current limit. */
uint64_t weft_conn_limit(const weft_conn *c);

/* weft_conn_send_until - send the len bytes at msg as one message.
 * Blocks:   until the whole message is written. deadline_ns bounds only the
 *           wait for the descriptor to take the message's first byte: a
 *           message once begun is always finished, so that the stream
 *           never holds half of one (a message longer than the pipe's
 *           buffer waits for the receiver past the deadline).
 * Returns:  0: the message is written, the receiver will get it whole;
 *           ETIMEDOUT: nothing was written;
 *           EPIPE: the peer is gone (ECONNRESET for a socket whose peer
 *           closed with unread data); the message is not delivered;
 *           EMSGSIZE: len is over c's limit, nothing written;
 *           EBADF: c does not send (the read end of a pipe);
 *           EINVAL: NULL c, or NULL msg with len > 0;
 *           ENOTRECOVERABLE: see fork in the header comment.
 * Threads:  any thread; senders take turns (see above). */
int weft_conn_send_until(weft_conn *c, const void *msg, size_t len, int64_t deadline_ns);

/* weft_conn_send - weft_conn_send_until with no deadline. */
int weft_conn_send(weft_conn *c, const void *msg, size_t len);

/* weft_conn_send_for - weft_conn_send_until timeout_ns from now. */
int weft_conn_send_for(weft_conn *c, const void *msg, size_t len, int64_t timeout_ns);

/* weft_conn_sendv_until - send the iovcnt buffers at iov, in order, as one
 * message (a header and a body without copying them together).
 * Returns:  as weft_conn_send_until; EINVAL also for a negative iovcnt, a
 *           NULL buffer of non-zero length or a total that overflows. */
int weft_conn_sendv_until(weft_conn *c, const struct iovec *iov, int iovcnt, int64_t deadline_ns);

/* weft_conn_recv_until - receive the next message into buf, which has room
 * for cap bytes.
 * Blocks:   until a whole message has arrived, or the deadline.
 * Returns:  0 and *len its length; EMSGSIZE with *len its length (kept for
 *           the next receive); EPIPE; EPROTO; ETIMEDOUT (see the header
 *           comment); EBADF: c does not receive (the write end of a pipe);
 *           EINVAL: NULL c or len, NULL buf with cap > 0; ENOTRECOVERABLE.
 * Threads:  any thread; receivers take turns. */
int weft_conn_recv_until(weft_conn *c, void *buf, size_t cap, size_t *len, int64_t deadline_ns);

/* weft_conn_recv - weft_conn_recv_until with no deadline. */
int weft_conn_recv(weft_conn *c, void *buf, size_t cap, size_t *len);

/* weft_conn_recv_for - weft_conn_recv_until timeout_ns from now. */
int weft_conn_recv_for(weft_conn *c, void *buf, size_t cap, size_t *len, int64_t timeout_ns);

/* weft_conn_recv_alloc_until - receive the next message into memory from
 * malloc, which the caller frees with free(). *msg is never NULL on
 * success, even for an empty message.
 * Blocks:   as weft_conn_recv_until.
 * Returns:  0 with *msg and *len set; ENOMEM (the message is kept); EPIPE;
 *           EPROTO; ETIMEDOUT; EBADF; EINVAL; ENOTRECOVERABLE. On an error
 *           *msg is NULL. Memory is allocated only once the header is read
 *           and checked against the limit. */
int weft_conn_recv_alloc_until(weft_conn *c, void **msg, size_t *len, int64_t deadline_ns);

/* weft_conn_recv_alloc - weft_conn_recv_alloc_until with no deadline. */
int weft_conn_recv_alloc(weft_conn *c, void **msg, size_t *len);

/* weft_conn_poll_until - wait until a receive on c would not wait for its
 * first byte: data has arrived, or the stream has ended or broken (the
 * receive then reports it). Python's Connection.poll.
 * Blocks:   until then, or the deadline (WEFT_DEADLINE_NEVER: no limit; a
 *           deadline in the past: just look).
 * Returns:  0 ready; ETIMEDOUT; EBADF: c does not receive; EINVAL: NULL c;
 *           ENOTRECOVERABLE.
 * Threads:  any thread; another thread's receive may take the message
 *           first. */
int weft_conn_poll_until(const weft_conn *c, int64_t deadline_ns);

/* weft_conn_poll_for - weft_conn_poll_until timeout_ns from now (0: look). */
int weft_conn_poll_for(const weft_conn *c, int64_t timeout_ns);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_CONN_H */

/* weft/listener.h - connections between unrelated processes over a Unix
 * socket, with mutual authentication by a shared key (Python's
 * multiprocessing.connection.Listener and Client with authkey).
 *
 *     // server
 *     weft_listener *l;
 *     weft_listener_open(&l, "/run/app.sock", key, keylen);
 *     weft_conn *c;
 *     int r = weft_listener_accept_for(l, &c, 5000000000);
 *     // r == EACCES: a client with the wrong key was refused
 *
 *     // client
 *     weft_conn *c;
 *     weft_conn_connect_for(&c, "/run/app.sock", key, keylen, 5000000000);
 *
 * Addresses: a filesystem path, or "@name" for Linux's abstract namespace
 * (no file; gone with the listener). At most 107 bytes.
 *
 * Authentication (when a key is given): each side proves to the other
 * that it has the key without sending it. The listener sends a challenge
 * ("#CHALLENGE#" and 32 random bytes), the client answers with
 * HMAC-SHA-256(key, challenge), and the listener says "#WELCOME#" or
 * "#FAILURE#"; then the same with the roles swapped. Every message is a
 * weft frame; during the handshake frames are limited to 256 bytes. A
 * side that gets a wrong answer says "#FAILURE#", closes, and returns
 * EACCES; the listener also counts it (weft_listener_failures). Key and
 * no key do not mix: both sides must give one, or neither.
 *
 * Threads: one listener may be used by several threads at once (each
 * accept takes its own client); weft_listener_close must not race with
 * them. Accept runs the handshake in the calling thread: a slow client
 * holds that caller up to its deadline. */
#ifndef WEFT_LISTENER_H
#define WEFT_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include "weft/api.h"
#include "weft/conn.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_listener weft_listener;

/* weft_listener_open - listen at address; key (keylen bytes) is copied,
 * NULL for no authentication.
 * Returns:  0 and *out set; EADDRINUSE: something is at address already;
 *           ENAMETOOLONG; EINVAL: NULL out or address, an empty address,
 *           NULL key with keylen > 0; EACCES, ENOENT (a directory of the
 *           path), EMFILE, ENOMEM. */
int weft_listener_open(weft_listener **out, const char *address, const void *key, size_t keylen);

/* weft_listener_accept_until - take the next client and, with a key, run
 * the handshake.
 * Blocks:   until a client has connected and passed, or deadline_ns
 *           (the deadline covers the handshake).
 * Returns:  0 and *out a connection to the client; EACCES: the client
 *           failed authentication (or refused ours) and was dropped;
 *           EPROTO: the client did not speak the handshake; EPIPE: it
 *           left during it; ETIMEDOUT; EINVAL: NULL l or out; EMFILE,
 *           ENOMEM. On every error the listener stays usable. */
int weft_listener_accept_until(weft_listener *l, weft_conn **out, int64_t deadline_ns);

/* weft_listener_accept_for, weft_listener_accept - with a timeout, and
 * with no deadline. */
int weft_listener_accept_for(weft_listener *l, weft_conn **out, int64_t timeout_ns);
int weft_listener_accept(weft_listener *l, weft_conn **out);

/* weft_listener_failures - how many clients this listener has refused for
 * a failed authentication. */
unsigned long weft_listener_failures(const weft_listener *l);

/* weft_listener_fileno - the listening socket (readable when a client
 * waits). */
int weft_listener_fileno(const weft_listener *l);

/* weft_listener_close - stop listening, remove the socket file (for a
 * path address) and free l. Connections already accepted stay. NULL is
 * accepted.
 * Returns:  0, or the error close() gave. */
int weft_listener_close(weft_listener *l);

/* weft_conn_connect_until - connect to the listener at address and, with
 * a key, run the handshake.
 * Blocks:   until connected (a listener whose backlog of clients not yet
 *           accepted is full makes the connect wait) and authenticated,
 *           or deadline_ns.
 * Returns:  0 and *out set; EACCES: authentication failed either way;
 *           ECONNREFUSED, ENOENT: no listener there; EPROTO; EPIPE;
 *           ETIMEDOUT; ENAMETOOLONG; EINVAL; EMFILE, ENOMEM. */
int weft_conn_connect_until(weft_conn **out, const char *address, const void *key, size_t keylen,
                            int64_t deadline_ns);

/* weft_conn_connect_for - weft_conn_connect_until timeout_ns from now. */
int weft_conn_connect_for(weft_conn **out, const char *address, const void *key, size_t keylen,
                          int64_t timeout_ns);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_LISTENER_H */

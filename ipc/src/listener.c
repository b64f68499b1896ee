/* listener.c - weft_listener and weft_conn_connect: Unix stream sockets
 * with a mutual challenge-response handshake (format in weft/listener.h).
 *
 * Design / invariants
 *   The handshake runs over weft_conn itself, with the connection's limit
 *   lowered to HANDSHAKE_LIMIT until it is done, so a peer cannot make
 *   either side allocate more than that before it has proved itself.
 *   Answers are compared in constant time. Both roles run the same two
 *   steps, in opposite order: deliver (send a challenge, check the
 *   answer, give the verdict) and answer (read a challenge, send the
 *   digest, read the verdict). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4; also predefined by g++/clang++ */
#endif
#include "weft/listener.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "io.h"
#include "sha256.h"
#include "weft/time.h"

#define CHALLENGE "#CHALLENGE#"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
enum { NONCE_LEN = 32, HANDSHAKE_LIMIT = 256 };

struct weft_listener {
    int fd;
    bool is_path;
    unsigned long failures; /* atomic */
    size_t keylen;
    unsigned char *key; /* NULL: no authentication */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Fill *sa for address; *len is the address length to pass. */
static int make_addr(const char *address, struct sockaddr_un *sa, socklen_t *len, bool *is_path)
{
    if (!address || !address[0])
        return EINVAL;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(address);
    if (n >= sizeof sa->sun_path)
        return ENAMETOOLONG;
    memcpy(sa->sun_path, address, n);
    *is_path = address[0] != '@';
    if (!*is_path)
        sa->sun_path[0] = '\0'; /* abstract: the name is the rest */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (*is_path ? 1 : 0));
    return 0;
}

/* ---- handshake ------------------------------------------------------------ */

static int fill_random(unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Send a challenge, check the digest that comes back, send the verdict. */
static int deliver(weft_conn *c, const unsigned char *key, size_t keylen, int64_t deadline_ns)
{
    unsigned char msg[sizeof CHALLENGE - 1 + NONCE_LEN];
    memcpy(msg, CHALLENGE, sizeof CHALLENGE - 1);
    int rc = fill_random(msg + sizeof CHALLENGE - 1, NONCE_LEN);
    if (rc == 0)
        rc = weft_conn_send_until(c, msg, sizeof msg, deadline_ns);
    if (rc)
        return rc;
    unsigned char got[HANDSHAKE_LIMIT];
    size_t n = 0;
    rc = weft_conn_recv_until(c, got, sizeof got, &n, deadline_ns);
    if (rc)
        return rc == EMSGSIZE ? EPROTO : rc;
    unsigned char want[WEFT__SHA256_LEN];
    weft__hmac_sha256(key, keylen, msg, sizeof msg, want);
    bool ok = n == sizeof want && weft__same_bytes(got, want, sizeof want);
    const char *verdict = ok ? WELCOME : FAILURE;
    rc = weft_conn_send_until(c, verdict, strlen(verdict), deadline_ns);
    if (!ok)
        return EACCES;
    return rc;
}

/* Read a challenge, send its digest, read the verdict. */
static int answer(weft_conn *c, const unsigned char *key, size_t keylen, int64_t deadline_ns)
{
    unsigned char msg[HANDSHAKE_LIMIT];
    size_t n = 0;
    int rc = weft_conn_recv_until(c, msg, sizeof msg, &n, deadline_ns);
    if (rc)
        return rc == EMSGSIZE ? EPROTO : rc;
    if (n < sizeof CHALLENGE - 1 || memcmp(msg, CHALLENGE, sizeof CHALLENGE - 1) != 0)
        return EPROTO;
    unsigned char digest[WEFT__SHA256_LEN];
    weft__hmac_sha256(key, keylen, msg, n, digest);
    rc = weft_conn_send_until(c, digest, sizeof digest, deadline_ns);
    if (rc)
        return rc;
    rc = weft_conn_recv_until(c, msg, sizeof msg, &n, deadline_ns);
    if (rc)
        return rc == EMSGSIZE ? EPROTO : rc;
    if (n == sizeof WELCOME - 1 && memcmp(msg, WELCOME, n) == 0)
        return 0;
    if (n == sizeof FAILURE - 1 && memcmp(msg, FAILURE, n) == 0)
        return EACCES;
    return EPROTO;
}

/* Run both steps on a fresh connection; on failure it is closed. */
static int handshake(weft_conn *c, bool server, const unsigned char *key, size_t keylen,
                     int64_t deadline_ns)
{
    uint64_t limit = weft_conn_limit(c);
    (void)weft_conn_set_limit(c, HANDSHAKE_LIMIT);
    int rc = server ? deliver(c, key, keylen, deadline_ns) : answer(c, key, keylen, deadline_ns);
    if (rc == 0)
        rc = server ? answer(c, key, keylen, deadline_ns) : deliver(c, key, keylen, deadline_ns);
    (void)weft_conn_set_limit(c, limit);
    return rc;
}

/* Make a connection of a connected socket and, with a key, authenticate;
 * on failure the socket is closed. */
static int finish(int fd, bool server, const unsigned char *key, size_t keylen,
                  int64_t deadline_ns, weft_conn **out)
{
    weft_conn *c;
    int rc = weft_conn_adopt(&c, fd, WEFT_CONN_READ | WEFT_CONN_WRITE);
    if (rc) {
        (void)close(fd);
        return rc;
    }
    if (key) {
        rc = handshake(c, server, key, keylen, deadline_ns);
        if (rc) {
            (void)weft_conn_close(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

/* ---- listener ---------------------------------------------------------------- */

int weft_listener_open(weft_listener **out, const char *address, const void *key, size_t keylen)
{
    if (!out || (!key && keylen))
        return EINVAL;
    struct sockaddr_un sa;
    socklen_t salen;
    bool is_path;
    int rc = make_addr(address, &sa, &salen, &is_path);
    if (rc)
        return rc;
    weft_listener *l = (weft_listener *)calloc(1, sizeof *l);
    if (!l)
        return ENOMEM;
    if (key) {
        l->key = (unsigned char *)malloc(keylen ? keylen : 1);
        if (!l->key) {
            free(l);
            return ENOMEM;
        }
        if (keylen)
            memcpy(l->key, key, keylen);
        l->keylen = keylen;
    }
    l->is_path = is_path;
    memcpy(l->path, address, strlen(address) + 1);
    /* Non-blocking, so that an accept after poll never waits for a client
     * another thread took first. */
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    bool bound = false;
    if (l->fd < 0 || bind(l->fd, (const struct sockaddr *)&sa, salen) != 0)
        rc = errno;
    else
        bound = true;
    if (bound && listen(l->fd, 64) != 0) {
        rc = errno;
        if (is_path)
            (void)unlink(address);
    }
    if (rc) {
        if (l->fd >= 0)
            (void)close(l->fd);
        free(l->key);
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int weft_listener_accept_until(weft_listener *l, weft_conn **out, int64_t deadline_ns)
{
    if (!l || !out)
        return EINVAL;
    *out = NULL;
    int fd;
    for (;;) {
        int rc = weft__wait_fd(l->fd, POLLIN, deadline_ns);
        if (rc)
            return rc;
        fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            break;
        /* Another thread took it, or the client left before accept. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            return errno;
    }
    int rc = finish(fd, true, l->key, l->keylen, deadline_ns, out);
    if (rc == EACCES)
        __atomic_add_fetch(&l->failures, 1, __ATOMIC_RELAXED);
    return rc;
}

int weft_listener_accept_for(weft_listener *l, weft_conn **out, int64_t timeout_ns)
{
    return weft_listener_accept_until(l, out, weft_time_deadline_ns(timeout_ns));
}

int weft_listener_accept(weft_listener *l, weft_conn **out)
{
    return weft_listener_accept_until(l, out, WEFT_DEADLINE_NEVER);
}

unsigned long weft_listener_failures(const weft_listener *l)
{
    return l ? __atomic_load_n(&l->failures, __ATOMIC_RELAXED) : 0;
}

int weft_listener_fileno(const weft_listener *l)
{
    return l ? l->fd : -1;
}

int weft_listener_close(weft_listener *l)
{
    if (!l)
        return 0;
    int rc = close(l->fd) == 0 || errno == EINTR ? 0 : errno;
    if (l->is_path)
        (void)unlink(l->path);
    free(l->key);
    free(l);
    return rc;
}

/* ---- client ------------------------------------------------------------------ */

/* A Unix stream connect waits while the listener's backlog is full, for
 * as long as the socket's send timeout allows: that timeout carries the
 * deadline (and is reset afterwards, since sends wait by poll). */
static int set_send_timeout(int fd, int64_t ns)
{
    struct timeval tv = {(time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000)};
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 ? 0 : errno;
}

static int connect_until(int fd, const struct sockaddr_un *sa, socklen_t salen, int64_t deadline_ns)
{
    for (;;) {
        if (deadline_ns != WEFT_DEADLINE_NEVER) {
            int64_t left = deadline_ns - weft_time_now_ns();
            /* A zero timeout would mean no limit: a passed deadline still
             * gets the shortest wait there is. */
            int rc = set_send_timeout(fd, left > 1000 ? left : 1000);
            if (rc)
                return rc;
        }
        if (connect(fd, (const struct sockaddr *)sa, salen) == 0)
            break;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (deadline_ns != WEFT_DEADLINE_NEVER && weft_time_now_ns() >= deadline_ns)
                return ETIMEDOUT;
        } else if (errno != EINTR) {
            return errno;
        }
    }
    return deadline_ns == WEFT_DEADLINE_NEVER ? 0 : set_send_timeout(fd, 0);
}

int weft_conn_connect_until(weft_conn **out, const char *address, const void *key, size_t keylen,
                            int64_t deadline_ns)
{
    if (!out || (!key && keylen))
        return EINVAL;
    *out = NULL;
    struct sockaddr_un sa;
    socklen_t salen;
    bool is_path;
    int rc = make_addr(address, &sa, &salen, &is_path);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    rc = connect_until(fd, &sa, salen, deadline_ns);
    if (rc) {
        (void)close(fd);
        return rc;
    }
    return finish(fd, false, (const unsigned char *)key, keylen, deadline_ns, out);
}

int weft_conn_connect_for(weft_conn **out, const char *address, const void *key, size_t keylen,
                          int64_t timeout_ns)
{
    return weft_conn_connect_until(out, address, key, keylen, weft_time_deadline_ns(timeout_ns));
}

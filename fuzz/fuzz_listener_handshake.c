/* fuzz_listener_handshake.c - arbitrary bytes from the other end of an
 * authenticated connection: a client speaking to weft_listener_accept, or
 * a server answering weft_conn_connect. Both must refuse with a documented
 * error, and the listener must keep serving.
 *
 * Input: byte 0 bit 0 picks the side weft plays (0: the listener, 1: the
 * client); bit 1 keeps the raw peer's end open after its bytes (weft's
 * side then waits until its deadline) instead of shutting it. The rest is
 * the raw peer's byte stream, written at once.
 *
 * Invariants checked:
 *   - accept returns EACCES, EPROTO, EPIPE or ETIMEDOUT, and counts a
 *     failure exactly when it returns EACCES; connect returns EACCES,
 *     EPROTO, EPIPE or ETIMEDOUT (no bytes can know the key: the
 *     challenges are random);
 *   - after each refused client, a client with the key is accepted. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "weft/listener.h"

#define KEY "fuzzing key"
#define DEADLINE_NS 50000000 /* 50 ms: enough on any machine for a local peer */

static char address[64];
static weft_listener *listener;

static void make_address(struct sockaddr_un *sa, socklen_t *len, const char *name)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(name); /* "@..." : abstract */
    memcpy(sa->sun_path, name, n);
    sa->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
}

static void feed(int fd, const uint8_t *data, size_t size, int keep_open)
{
    size_t done = 0;
    while (done < size) {
        ssize_t w = send(fd, data + done, size - done, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* weft's side closed first: fine */
        done += (size_t)w;
    }
    if (!keep_open)
        (void)shutdown(fd, SHUT_WR);
}

struct good_client {
    int rc;
};

static void *connect_with_key(void *p)
{
    struct good_client *g = (struct good_client *)p;
    weft_conn *c = NULL;
    g->rc = weft_conn_connect_for(&c, address, KEY, sizeof KEY - 1, 5000000000LL);
    if (g->rc == 0)
        FUZZ_CHECK(weft_conn_close(c) == 0);
    return NULL;
}

static void weft_listens(const uint8_t *data, size_t size, int keep_open)
{
    if (!listener) {
        (void)snprintf(address, sizeof address, "@weft-fuzz-hs-%d", (int)getpid());
        FUZZ_CHECK(weft_listener_open(&listener, address, KEY, sizeof KEY - 1) == 0);
    }
    struct sockaddr_un sa;
    socklen_t len;
    make_address(&sa, &len, address);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&sa, len) == 0);
    feed(fd, data, size, keep_open);
    unsigned long before = weft_listener_failures(listener);
    weft_conn *c = NULL;
    int rc = weft_listener_accept_for(listener, &c, DEADLINE_NS);
    FUZZ_CHECK(rc == EACCES || rc == EPROTO || rc == EPIPE || rc == ETIMEDOUT);
    FUZZ_CHECK(weft_listener_failures(listener) == before + (rc == EACCES));
    FUZZ_CHECK(close(fd) == 0);
    /* Still serving: a client with the key gets in. */
    struct good_client g = {-1};
    pthread_t t;
    FUZZ_CHECK(pthread_create(&t, NULL, connect_with_key, &g) == 0);
    rc = weft_listener_accept_for(listener, &c, 5000000000LL);
    FUZZ_CHECK(pthread_join(t, NULL) == 0);
    FUZZ_CHECK(rc == 0 && g.rc == 0);
    FUZZ_CHECK(weft_conn_close(c) == 0);
}

struct client {
    const char *address;
    int rc;
};

static void *client_main(void *p)
{
    struct client *cl = (struct client *)p;
    weft_conn *c = NULL;
    cl->rc = weft_conn_connect_for(&c, cl->address, KEY, sizeof KEY - 1, DEADLINE_NS);
    if (cl->rc == 0)
        (void)weft_conn_close(c);
    return NULL;
}

static void weft_connects(const uint8_t *data, size_t size, int keep_open)
{
    char name[64];
    (void)snprintf(name, sizeof name, "@weft-fuzz-hs-server-%d", (int)getpid());
    struct sockaddr_un sa;
    socklen_t len;
    make_address(&sa, &len, name);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(lfd >= 0);
    FUZZ_CHECK(bind(lfd, (struct sockaddr *)&sa, len) == 0);
    FUZZ_CHECK(listen(lfd, 4) == 0);
    struct client cl = {name, -1};
    pthread_t t;
    FUZZ_CHECK(pthread_create(&t, NULL, client_main, &cl) == 0);
    /* libFuzzer's timeout alarm interrupts a slow accept (a loaded
     * machine): EINTR is not a failure. */
    int fd;
    do
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    FUZZ_CHECK(fd >= 0);
    feed(fd, data, size, keep_open);
    FUZZ_CHECK(pthread_join(t, NULL) == 0);
    FUZZ_CHECK(cl.rc == EACCES || cl.rc == EPROTO || cl.rc == EPIPE || cl.rc == ETIMEDOUT);
    FUZZ_CHECK(close(fd) == 0);
    FUZZ_CHECK(close(lfd) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    if (data[0] & 1)
        weft_connects(data + 1, size - 1, data[0] & 2);
    else
        weft_listens(data + 1, size - 1, data[0] & 2);
    return 0;
}

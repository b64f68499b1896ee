/* test_listener.c - weft_listener and weft_conn_connect: with and without
 * a key, wrong keys refused on both sides, bad clients, deadlines, and the
 * SHA-256 / HMAC-SHA-256 underneath checked against published vectors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sha256.h"
#include "sync/helpers.h"
#include "weft/ipc.h"

static void hex(const unsigned char *d, char *out)
{
    for (size_t i = 0; i < 32; i++)
        (void)snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void expect_digest(const unsigned char *d, const char *want)
{
    char got[65];
    hex(d, got);
    if (strcmp(got, want) != 0)
        WT_FAILF("digest %s, want %s", got, want);
}

WT_CASE(test_listener_sha256_and_hmac_vectors, "unit valgrind")
{
    unsigned char d[32];
    weft__sha256("", 0, d);
    expect_digest(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    weft__sha256("abc", 3, d);
    expect_digest(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    weft__sha256(two, strlen(two), d);
    expect_digest(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* RFC 4231 cases 1, 2 and 6 (a key longer than a block). */
    unsigned char k1[20];
    memset(k1, 0x0b, sizeof k1);
    weft__hmac_sha256(k1, sizeof k1, "Hi There", 8, d);
    expect_digest(d, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    const char *m2 = "what do ya want for nothing?";
    weft__hmac_sha256("Jefe", 4, m2, strlen(m2), d);
    expect_digest(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    unsigned char k6[131];
    memset(k6, 0xaa, sizeof k6);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    weft__hmac_sha256(k6, sizeof k6, m6, strlen(m6), d);
    expect_digest(d, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    WT_EQ(weft__same_bytes((const unsigned char *)"abc", (const unsigned char *)"abd", 3), 0);
    WT_EQ(weft__same_bytes((const unsigned char *)"abc", (const unsigned char *)"abc", 3), 1);
}

static const char *address(const char *tag)
{
    static char buf[4][108];
    static int next;
    char *b = buf[next++ % 4];
    (void)snprintf(b, 108, "@weft-test-%d-%s", (int)getpid(), tag);
    return b;
}

struct client {
    const char *addr;
    const void *key;
    size_t keylen;
    int rc;
};

/* Connect, then echo one message if the connection was made. */
static void *run_client(void *arg)
{
    struct client *cl = arg;
    weft_conn *c = NULL;
    cl->rc = weft_conn_connect_for(&c, cl->addr, cl->key, cl->keylen, 5000 * MS);
    if (cl->rc == 0) {
        char buf[64];
        size_t n;
        WT_EQ(weft_conn_recv_for(c, buf, sizeof buf, &n, 5000 * MS), 0);
        WT_EQ(weft_conn_send(c, buf, n), 0);
        WT_EQ(weft_conn_close(c), 0);
    }
    return NULL;
}

static void serve_one(weft_listener *l, int want)
{
    weft_conn *c = NULL;
    WT_EQ(weft_listener_accept_for(l, &c, 5000 * MS), want);
    if (want != 0) {
        WT_TRUE(c == NULL);
        return;
    }
    char buf[16];
    size_t n;
    WT_EQ(weft_conn_send(c, "echo me", 7), 0);
    WT_EQ(weft_conn_recv_for(c, buf, sizeof buf, &n, 5000 * MS), 0);
    WT_EQ(n, 7u);
    WT_EQ(memcmp(buf, "echo me", 7), 0);
    WT_EQ(weft_conn_close(c), 0);
}

WT_CASE(test_listener_without_key, "unit valgrind helgrind")
{
    weft_listener *l;
    const char *a = address("nokey");
    WT_EQ(weft_listener_open(&l, a, NULL, 0), 0);
    WT_GE(weft_listener_fileno(l), 0);
    struct client cl = {a, NULL, 0, -1};
    pthread_t t = spawn(run_client, &cl);
    serve_one(l, 0);
    join(t);
    WT_EQ(cl.rc, 0);
    WT_EQ(weft_listener_close(l), 0);
}

WT_CASE(test_listener_right_key_then_wrong_key, "unit valgrind")
{
    weft_listener *l;
    const char *a = address("key");
    WT_EQ(weft_listener_open(&l, a, "sesame", 6), 0);
    struct client good = {a, "sesame", 6, -1};
    pthread_t t = spawn(run_client, &good);
    serve_one(l, 0);
    join(t);
    WT_EQ(good.rc, 0);

    struct client bad = {a, "sesamE", 6, -1};
    t = spawn(run_client, &bad);
    serve_one(l, EACCES);
    join(t);
    WT_EQ(bad.rc, EACCES);
    WT_EQ(weft_listener_failures(l), 1u);

    /* Still serving. */
    good.rc = -1;
    t = spawn(run_client, &good);
    serve_one(l, 0);
    join(t);
    WT_EQ(good.rc, 0);
    WT_EQ(weft_listener_failures(l), 1u);
    WT_EQ(weft_listener_close(l), 0);
}

/* A client with no key sends a plain message instead of an answer: the
 * listener refuses it. */
WT_CASE(test_listener_refuses_client_without_key, "unit valgrind")
{
    weft_listener *l;
    const char *a = address("nokeyclient");
    WT_EQ(weft_listener_open(&l, a, "k", 1), 0);
    weft_conn *c;
    WT_EQ(weft_conn_connect_for(&c, a, NULL, 0, 1000 * MS), 0);
    WT_EQ(weft_conn_send(c, "hello, no key here, just talking", 32), 0);
    weft_conn *s = NULL;
    WT_EQ(weft_listener_accept_for(l, &s, 5000 * MS), EACCES);
    /* The client sees the challenge, then the failure, then the end. */
    char buf[256];
    size_t n;
    WT_EQ(weft_conn_recv_for(c, buf, sizeof buf, &n, 1000 * MS), 0);
    WT_EQ(memcmp(buf, "#CHALLENGE#", 11), 0);
    WT_EQ(weft_conn_recv_for(c, buf, sizeof buf, &n, 1000 * MS), 0);
    WT_EQ(memcmp(buf, "#FAILURE#", 9), 0);
    WT_EQ(weft_conn_recv_for(c, buf, sizeof buf, &n, 1000 * MS), EPIPE);
    WT_EQ(weft_conn_close(c), 0);
    WT_EQ(weft_listener_close(l), 0);
}

/* Raw bytes that are not frames, and a client that never answers: the
 * listener reports them and goes on. */
WT_CASE(test_listener_bad_and_silent_clients, "unit valgrind")
{
    weft_listener *l;
    const char *a = address("bad");
    WT_EQ(weft_listener_open(&l, a, "k", 1), 0);
    weft_conn *c, *s = NULL;
    WT_EQ(weft_conn_connect_for(&c, a, NULL, 0, 1000 * MS), 0);
    WT_EQ(write(weft_conn_fileno(c), "GET / HTTP/1.0\r\n\r\n", 18), 18);
    WT_EQ(weft_listener_accept_for(l, &s, 5000 * MS), EPROTO);
    WT_EQ(weft_conn_close(c), 0);

    /* An answer longer than the handshake allows. */
    WT_EQ(weft_conn_connect_for(&c, a, NULL, 0, 1000 * MS), 0);
    char big[1000];
    memset(big, 'x', sizeof big);
    WT_EQ(weft_conn_send(c, big, sizeof big), 0);
    WT_EQ(weft_listener_accept_for(l, &s, 5000 * MS), EPROTO);
    WT_EQ(weft_conn_close(c), 0);

    WT_EQ(weft_conn_connect_for(&c, a, NULL, 0, 1000 * MS), 0);
    int64_t t0 = weft_time_now_ns();
    WT_EQ(weft_listener_accept_for(l, &s, 50 * MS), ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 50 * MS);
    WT_EQ(weft_conn_close(c), 0);

    /* A client that leaves during the handshake. */
    WT_EQ(weft_conn_connect_for(&c, a, NULL, 0, 1000 * MS), 0);
    WT_EQ(weft_conn_close(c), 0);
    WT_EQ(weft_listener_accept_for(l, &s, 5000 * MS), EPIPE);

    WT_EQ(weft_listener_accept_for(l, &s, 10 * MS), ETIMEDOUT); /* nobody */
    WT_EQ(weft_listener_failures(l), 0u);
    WT_EQ(weft_listener_close(l), 0);
}

static const char *child_addr;

static int child_connects(void *arg)
{
    struct client cl = {child_addr, arg, arg ? strlen(arg) : 0, -1};
    run_client(&cl);
    return cl.rc;
}

/* A real other process, at a filesystem path; the file goes with close. */
WT_CASE(test_listener_path_address_across_processes, "unit valgrind")
{
    char path[108];
    (void)snprintf(path, sizeof path, "/tmp/weft-test-%d.sock", (int)getpid());
    weft_listener *l, *l2;
    WT_EQ(weft_listener_open(&l, path, "key", 3), 0);
    WT_EQ(weft_listener_open(&l2, path, "key", 3), EADDRINUSE);
    child_addr = path;
    pid_t pid = fork_child(child_connects, (void *)"key");
    serve_one(l, 0);
    WT_EQ(reap(pid), 0);
    pid = fork_child(child_connects, (void *)"kez");
    serve_one(l, EACCES);
    WT_EQ(reap(pid), EACCES);
    WT_EQ(weft_listener_close(l), 0);
    WT_EQ(access(path, F_OK), -1); /* removed */
    weft_conn *c;
    WT_EQ(weft_conn_connect_for(&c, path, "key", 3, 100 * MS), ENOENT);
}

/* A listener that accepts nobody: once its backlog is full, a connect
 * waits, and its deadline ends the wait. */
WT_CASE(test_listener_connect_deadline_with_full_backlog, "unit valgrind")
{
    weft_listener *l;
    const char *a = address("backlog");
    WT_EQ(weft_listener_open(&l, a, NULL, 0), 0);
    enum { MAX = 200 };
    weft_conn *c[MAX];
    int n = 0, rc = 0;
    int64_t t0 = 0;
    while (n < MAX) {
        t0 = weft_time_now_ns();
        rc = weft_conn_connect_for(&c[n], a, NULL, 0, 30 * MS);
        if (rc != 0)
            break;
        n++;
    }
    WT_EQ(rc, ETIMEDOUT);
    WT_GE(weft_time_now_ns() - t0, 30 * MS);
    WT_GT(n, 0);
    /* Accepting makes room again. */
    weft_conn *s;
    WT_EQ(weft_listener_accept_for(l, &s, 1000 * MS), 0);
    WT_EQ(weft_conn_connect_for(&c[n], a, NULL, 0, 1000 * MS), 0);
    WT_EQ(weft_conn_send(c[n], "x", 1), 0);
    n++;
    WT_EQ(weft_conn_close(s), 0);
    for (int i = 0; i < n; i++)
        WT_EQ(weft_conn_close(c[i]), 0);
    WT_EQ(weft_listener_close(l), 0);
}

WT_CASE(test_listener_argument_errors, "unit valgrind")
{
    weft_listener *l;
    weft_conn *c;
    char longaddr[200];
    memset(longaddr, 'a', sizeof longaddr);
    longaddr[199] = '\0';
    WT_EQ(weft_listener_open(&l, longaddr, NULL, 0), ENAMETOOLONG);
    WT_EQ(weft_listener_open(&l, "", NULL, 0), EINVAL);
    WT_EQ(weft_listener_open(&l, NULL, NULL, 0), EINVAL);
    WT_EQ(weft_listener_open(NULL, "@x", NULL, 0), EINVAL);
    WT_EQ(weft_listener_open(&l, "@x", NULL, 3), EINVAL);
    WT_EQ(weft_conn_connect_for(&c, longaddr, NULL, 0, 0), ENAMETOOLONG);
    WT_EQ(weft_conn_connect_for(&c, address("nobody"), NULL, 0, 0), ECONNREFUSED);
    WT_EQ(weft_listener_accept(NULL, &c), EINVAL);
    WT_EQ(weft_listener_close(NULL), 0);
    WT_EQ(weft_listener_failures(NULL), 0u);
}

WT_MAIN()

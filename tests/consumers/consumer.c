/* consumer.c - a program outside weft that uses it as a user would: two
 * threads count under a weft_lock, and the total must be exact; the total
 * then goes through a weft pipe. Built by each consumer project
 * (find_package, add_subdirectory, pkg-config). */
#include <pthread.h>
#include <stdio.h>

#include <weft/ipc.h>
#include <weft/sync.h>

static weft_lock mu = WEFT_LOCK_INIT;
static long total WEFT_GUARDED_BY(mu);

static void *count(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50000; i++) {
        weft_lock_acquire(&mu);
        total++;
        weft_lock_release(&mu);
    }
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    if (pthread_create(&a, NULL, count, NULL) != 0 ||
        pthread_create(&b, NULL, count, NULL) != 0)
        return 1;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    weft_lock_acquire(&mu);
    long seen = total;
    weft_lock_release(&mu);
    weft_conn *r, *w;
    long got = 0;
    size_t n = 0;
    if (weft_pipe_open(&r, &w, 0) != 0 || weft_conn_send(w, &seen, sizeof seen) != 0 ||
        weft_conn_recv(r, &got, sizeof got, &n) != 0 || n != sizeof got)
        return 1;
    weft_conn_close(r);
    weft_conn_close(w);
    printf("consumer: total=%ld\n", got);
    return got == 100000 ? 0 : 1;
}

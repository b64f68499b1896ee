/* consumer.c - a program outside weft that uses it as a user would: two
 * threads count under a weft_lock, and the total must be exact. Built by
 * each consumer project (find_package, add_subdirectory, pkg-config). */
#include <pthread.h>
#include <stdio.h>

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
    printf("consumer: total=%ld\n", seen);
    return seen == 100000 ? 0 : 1;
}

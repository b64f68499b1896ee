/* lock_counter.c - four threads add to one counter under a weft_lock.
 *
 * The C counterpart of the classic Python lesson: `counter += 1` from several
 * threads needs a lock. Build: cc -std=c11 lock_counter.c -lweft_sync -pthread */
#include <pthread.h>
#include <stdio.h>

#include "weft/lock.h"

#define THREADS 4
#define ADDS 100000L

static weft_lock counter_lock = WEFT_LOCK_INIT;
static long counter WEFT_GUARDED_BY(counter_lock);

static void *add(void *arg)
{
    (void)arg;
    for (int i = 0; i < ADDS; i++) {
        weft_lock_acquire(&counter_lock);
        counter++;
        weft_lock_release(&counter_lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, add, NULL) != 0)
            return 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    weft_lock_acquire(&counter_lock);
    long total = counter;
    weft_lock_release(&counter_lock);
    printf("counter = %ld (expected %ld)\n", total, THREADS * ADDS);
    return total == THREADS * ADDS ? 0 : 1;
}

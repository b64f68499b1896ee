/* expected_race.c - ThreadSanitizer and Helgrind must see weft_lock as a lock.
 *
 * Two threads update `protected_counter` under a weft_lock and
 * `unprotected_counter` with no lock, once each before any synchronisation,
 * so the unprotected accesses race in every interleaving. The ctest cases run
 * this under TSan (tsan preset) and Helgrind (valgrind preset) and pass only
 * if exactly that race is reported: a report naming `protected_counter`
 * would mean the tool does not see the lock. */
#include <pthread.h>
#include <stdio.h>

#include "weft/lock.h"

static weft_lock mu = WEFT_LOCK_INIT;
static long protected_counter WEFT_GUARDED_BY(mu);
static long unprotected_counter;

static void *worker(void *arg)
{
    (void)arg;
    unprotected_counter++; /* the deliberate race */
    for (int i = 0; i < 10000; i++) {
        weft_lock_acquire(&mu);
        protected_counter++;
        weft_lock_release(&mu);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0)
            return 2;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    weft_lock_acquire(&mu);
    long total = protected_counter;
    weft_lock_release(&mu);
    printf("protected_counter=%ld\n", total);
    return total == 20000 ? 0 : 3;
}

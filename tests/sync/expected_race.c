/* expected_race.c - ThreadSanitizer and Helgrind must see weft_lock as a lock.
 *
 * Two threads update `protected_counter` under a weft_lock and
 * `unprotected_counter` with no lock, once each before any synchronisation,
 * so the unprotected accesses race in every interleaving. The threads take
 * turns through relaxed atomics (which create no happens-before edge): the
 * first writes, then the second, while the first is still alive. Writes at
 * the very same instant can be missed by TSan's shadow memory, and a thread
 * that has exited before the other starts can hide the race too; turns make
 * the report certain. The ctest cases run
 * this under TSan (tsan preset) and Helgrind (valgrind preset) and pass only
 * if exactly that race is reported: a report naming `protected_counter`
 * would mean the tool does not see the lock. */
#include <pthread.h>
#include <stdio.h>

#include "weft/lock.h"

static weft_lock mu = WEFT_LOCK_INIT;
static long protected_counter WEFT_GUARDED_BY(mu);
static long unprotected_counter;
static int turn; /* relaxed atomic: 0, 1 after the first write, 2 after both */

static void *worker(void *arg)
{
    int me = *(const int *)arg;
    while (__atomic_load_n(&turn, __ATOMIC_RELAXED) != me) {
    }
    unprotected_counter++; /* the deliberate race */
    __atomic_store_n(&turn, me + 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&turn, __ATOMIC_RELAXED) != 2) {
    }
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
    static const int ids[2] = {0, 1};
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)&ids[i]) != 0)
            return 2;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    weft_lock_acquire(&mu);
    long total = protected_counter;
    weft_lock_release(&mu);
    printf("protected_counter=%ld\n", total);
    return total == 20000 ? 0 : 3;
}

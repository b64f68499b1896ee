/* expected_inversion.c - TSan's deadlock detector sees weft locks.
 *
 * One thread takes A then B; after it has finished, another takes B then A.
 * The run never deadlocks, but the lock order is inconsistent, and with
 * TSAN_OPTIONS=detect_deadlocks=1 ThreadSanitizer must report a
 * lock-order-inversion between the two weft locks: it can only do that if the
 * locks tell it about every acquire and release. */
#include <pthread.h>

#include "weft/lock.h"

static weft_lock a = WEFT_LOCK_INIT;
static weft_lock b = WEFT_LOCK_INIT;

static void *a_then_b(void *arg)
{
    (void)arg;
    weft_lock_acquire(&a);
    weft_lock_acquire(&b);
    weft_lock_release(&b);
    weft_lock_release(&a);
    return NULL;
}

static void *b_then_a(void *arg)
{
    (void)arg;
    weft_lock_acquire(&b);
    weft_lock_acquire(&a);
    weft_lock_release(&a);
    weft_lock_release(&b);
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, a_then_b, NULL) != 0)
        return 2;
    pthread_join(t, NULL);
    if (pthread_create(&t, NULL, b_then_a, NULL) != 0)
        return 2;
    pthread_join(t, NULL);
    return 0;
}

/* good_usage.c - MUST PASS the thread-safety pass: every form of acquiring a
 * weft_lock, used correctly, with guarded fields and required locks. */
#include <errno.h>

#include "weft/lock.h"

struct account {
    weft_lock mu;
    long balance WEFT_GUARDED_BY(mu);
};

void audit(struct account *a) WEFT_REQUIRES(a->mu);
void deposit(struct account *a, long n) WEFT_EXCLUDES(a->mu);
int try_deposit(struct account *a, long n) WEFT_EXCLUDES(a->mu);
int deposit_for(struct account *a, long n, int64_t timeout_ns) WEFT_EXCLUDES(a->mu);
void checked(struct account *a);

void audit(struct account *a)
{
    a->balance += 0;
}

void deposit(struct account *a, long n)
{
    weft_lock_acquire(&a->mu);
    a->balance += n;
    audit(a);
    weft_lock_release(&a->mu);
}

int try_deposit(struct account *a, long n)
{
    if (weft_lock_try_acquire(&a->mu) != 0)
        return EBUSY;
    a->balance += n;
    weft_lock_release(&a->mu);
    return 0;
}

int deposit_for(struct account *a, long n, int64_t timeout_ns)
{
    int r = weft_lock_acquire_for(&a->mu, timeout_ns);
    if (r != 0)
        return r;
    a->balance += n;
    weft_lock_release(&a->mu);
    return 0;
}

void checked(struct account *a)
{
    weft_lock_assert_held(&a->mu);
    a->balance++;
}

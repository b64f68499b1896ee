/* bad_guarded_field.c - MUST FAIL the thread-safety pass: a WEFT_GUARDED_BY
 * struct field written without its lock. */
#include "weft/lock.h"

struct account {
    weft_lock mu;
    long balance WEFT_GUARDED_BY(mu);
};

void deposit(struct account *a, long n);

void deposit(struct account *a, long n)
{
    a->balance += n; /* the seeded bug: mu not held */
}

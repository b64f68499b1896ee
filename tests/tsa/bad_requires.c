/* bad_requires.c - MUST FAIL the thread-safety pass: a WEFT_REQUIRES
 * function called without the lock it requires. */
#include "weft/lock.h"

static weft_lock mu = WEFT_LOCK_INIT;

void audit(void) WEFT_REQUIRES(mu);
void caller(void);

void audit(void)
{
}

void caller(void)
{
    audit(); /* the seeded bug: mu not held */
}

/* queue_wakeup_prompt.pml - queue_wakeup.pml with PROMPT: no process
 * dies and a consumer's slice never ends, so every sleeping consumer must
 * be woken by a producer's or a releaser's wake-up call. What it checks is
 * that a waker that finds `sleeping` (bit 0 of put_seq) clear may skip the
 * futex call: the consumers it counts are awake already.
 * Mutants spin must reject (ci/analyze spin runs them all):
 *   -DNO_SLEEPING_MARK  a consumer that sleeps without setting `sleeping`
 *                 is never woken by a producer that skips the call. */
#define PROMPT
#include "queue_wakeup.pml"

/* weft/time.h - deadlines on CLOCK_MONOTONIC, the clock of every weft wait.
 *
 * Every blocking weft call has a deadline form (`*_until`) taking an absolute
 * CLOCK_MONOTONIC time in nanoseconds, and a timeout form (`*_for`) taking a
 * relative duration. Deadlines compose: compute one with
 * weft_time_deadline_ns() and pass it to each wait in a loop, and the loop as
 * a whole gives up on time. WEFT_DEADLINE_NEVER waits forever. */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H

#include <stdint.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

/* A deadline that never passes. */
#define WEFT_DEADLINE_NEVER INT64_MAX

/* weft_time_now_ns - the current CLOCK_MONOTONIC time in nanoseconds.
 * Blocks:   never.
 * Returns:  nanoseconds since an unspecified start (system boot on Linux).
 * Threads:  any thread; async-signal-safe. */
int64_t weft_time_now_ns(void);

/* weft_time_deadline_ns - the deadline that lies timeout_ns from now.
 * Blocks:   never.
 * Returns:  now + timeout_ns, saturated at WEFT_DEADLINE_NEVER (so a huge
 *           timeout means "never"); a negative timeout gives now.
 * Threads:  any thread; async-signal-safe. */
int64_t weft_time_deadline_ns(int64_t timeout_ns);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_TIME_H */

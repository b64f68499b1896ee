/* weft/flags.h - flags for the init functions of sync/ objects. */
#ifndef WEFT_FLAGS_H
#define WEFT_FLAGS_H

/* Used by the threads of one process (the default; fastest). */
#define WEFT_PRIVATE 0u
/* Placed in memory shared between processes (MAP_SHARED, shm_open) and used
 * by threads of all of them: forked children, or unrelated processes that
 * map the same memory. Waits then use shared futexes. */
#define WEFT_SHARED 1u
/* weft_rlock only: not reentrant. A second acquire by the holder returns
 * EDEADLK (a try: EBUSY) instead of nesting - with WEFT_SHARED, the
 * counterpart of Python's multiprocessing.Lock. */
#define WEFT_NORECURSE 2u

#endif /* WEFT_FLAGS_H */

/* self.h - who the calling thread is, for owner checks (internal). */
#ifndef WEFT_SYNC_SELF_H
#define WEFT_SYNC_SELF_H

#include <stdint.h>

/* Per-thread caches; 0 until first read. Read them through the functions. */
extern __thread int32_t weft__private_id;
extern __thread int32_t weft__shared_id;

int32_t weft__self_private_slow(void);
int32_t weft__self_shared_slow(void);

/* Identity for objects in process-private memory: the thread id, read once
 * and deliberately kept in a child created by fork(), whose thread is a copy
 * of the forking thread and so still owns the copies of what it held. */
static inline int32_t weft__self_private(void)
{
    int32_t id = weft__private_id;
    return id != 0 ? id : weft__self_private_slow();
}

/* Identity for objects in memory shared between processes: the kernel
 * thread id, unique among live threads system-wide (re-read in a forked
 * child, which is a different thread there). */
static inline int32_t weft__self_shared(void)
{
    int32_t id = weft__shared_id;
    return id != 0 ? id : weft__self_shared_slow();
}

#endif /* WEFT_SYNC_SELF_H */

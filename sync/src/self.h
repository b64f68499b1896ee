/* self.h - who the calling thread is, for owner checks (internal). */
#ifndef WEFT_SYNC_SELF_H
#define WEFT_SYNC_SELF_H

#include <stdint.h>

/* Identity for objects in process-private memory: the thread id, read once
 * and deliberately kept in a child created by fork(), whose thread is a copy
 * of the forking thread and so still owns the copies of what it held. */
int32_t weft__self_private(void);

/* Identity for objects in memory shared between processes: the kernel
 * thread id, unique among live threads system-wide (re-read in a forked
 * child, which is a different thread there). */
int32_t weft__self_shared(void);

#endif /* WEFT_SYNC_SELF_H */

/* io.h - descriptor waits shared by ipc's sources. Internal to ipc. */
#ifndef WEFT_IPC_IO_H
#define WEFT_IPC_IO_H

#include <stdint.h>

/* Wait until fd has one of events (or an error or hang-up), or until
 * deadline_ns (CLOCK_MONOTONIC; WEFT_DEADLINE_NEVER: no limit; a deadline
 * in the past: just look). Restarts after signal handlers.
 * Returns:  0 ready; ETIMEDOUT; the error ppoll gave. */
int weft__wait_fd(int fd, short events, int64_t deadline_ns);

#endif /* WEFT_IPC_IO_H */

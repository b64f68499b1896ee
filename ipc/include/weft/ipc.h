/* weft/ipc.h - the ipc module: the frame codec (weft/frame.h) and
 * connections over pipes and sockets (weft/conn.h), authenticated
 * listeners and clients (weft/listener.h), shared memory blocks
 * (weft/shm.h) and values (weft/value.h).
 * Depends on: weft/core.h, weft/sync.h, libc, Linux. */
#ifndef WEFT_IPC_H
#define WEFT_IPC_H

#include "weft/conn.h"
#include "weft/core.h"
#include "weft/frame.h"
#include "weft/listener.h"
#include "weft/queue.h"
#include "weft/shm.h"
#include "weft/value.h"

#endif /* WEFT_IPC_H */

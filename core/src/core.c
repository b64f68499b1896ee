/* core.c - exit-time shutdown of threads and children. */
#include "weft/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

int weft_core_shutdown_until(int64_t deadline_ns)
{
    int err = weft_thread_shutdown_until(deadline_ns);
    if (err != 0)
        return err;
    return weft_proc_shutdown_until(deadline_ns);
}

void weft_core_shutdown(void)
{
    (void)weft_core_shutdown_until(WEFT_DEADLINE_NEVER);
}

static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;
static int atexit_err;

static void register_atexit(void)
{
    atexit_err = atexit(weft_core_shutdown) == 0 ? 0 : ENOMEM;
}

int weft_core_atexit(void)
{
    (void)pthread_once(&atexit_once, register_atexit);
    return atexit_err;
}

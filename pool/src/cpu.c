/* cpu.c - moving a pool's worker off the CPU of the thread waiting for it
 * (poolimpl.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <sched.h>

#include "poolimpl.h"

int weft__pool_move_off(int cpu)
{
    cpu_set_t old, away;
    if (sched_getaffinity(0, sizeof old, &old) != 0)
        return errno;
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &old) || CPU_COUNT(&old) < 2)
        return EINVAL;
    away = old;
    CPU_CLR(cpu, &away);
    if (sched_setaffinity(0, sizeof away, &away) != 0)
        return errno;
    return sched_setaffinity(0, sizeof old, &old) == 0 ? 0 : errno;
}

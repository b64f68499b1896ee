/* self.c - thread identities for owner checks; see self.h.
 *
 * Both are cached per thread. The shared identity is reset in a forked
 * child by a pthread_atfork handler registered the first time it is read,
 * so the child's thread reads its own tid there. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "self.h"

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

__thread int32_t weft__private_id;
__thread int32_t weft__shared_id;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

int32_t weft__self_private_slow(void)
{
    weft__private_id = (int32_t)gettid();
    return weft__private_id;
}

static void forget_shared_id(void)
{
    weft__shared_id = 0;
}

static bool atfork_ok; /* written once, under atfork_once */

static void register_atfork(void)
{
    /* If registration fails (ENOMEM), the id is never cached, so a forked
     * child cannot inherit a stale one. */
    atfork_ok = pthread_atfork(NULL, NULL, forget_shared_id) == 0;
}

int32_t weft__self_shared_slow(void)
{
    (void)pthread_once(&atfork_once, register_atfork);
    int32_t tid = (int32_t)gettid();
    if (atfork_ok)
        weft__shared_id = tid;
    return tid;
}

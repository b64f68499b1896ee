/* names.h - shared-memory names no other test run uses (tests/ipc). */
#ifndef WEFT_TEST_IPC_NAMES_H
#define WEFT_TEST_IPC_NAMES_H

#include <stdio.h>
#include <unistd.h>

/* "/weft-test-PID-TAG"; the last eight stay valid. */
static inline const char *unique(const char *tag)
{
    static char buf[8][64];
    static int next;
    char *b = buf[next++ % 8];
    (void)snprintf(b, 64, "/weft-test-%d-%s", (int)getpid(), tag);
    return b;
}

#endif /* WEFT_TEST_IPC_NAMES_H */

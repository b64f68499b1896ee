/* copy.h - the small-message copy shared by ipc's sources. Internal to ipc. */
#ifndef WEFT_IPC_COPY_H
#define WEFT_IPC_COPY_H

#include <stddef.h>
#include <string.h>

/* memcpy for message bytes (never overlapping). Up to 64 bytes, the usual
 * size of a small message, the copy is inline: two overlapping moves of
 * the largest power of two that fits. A call to memcpy cost about as much
 * as the rest of a batched queue message's handling, and on a pipe round
 * trip, where each process runs after the other's wake-up, about 13 ns a
 * copy. Written out case by case: as a loop over the sizes, clang kept
 * the moves as calls (16.7 ns a batched queue message against 10.3). */
static inline void weft__copy_bytes(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (n > 64) {
        memcpy(d, s, n);
    } else if (n >= 32) {
        memcpy(d, s, 32);
        memcpy(d + n - 32, s + n - 32, 32);
    } else if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

#endif /* WEFT_IPC_COPY_H */

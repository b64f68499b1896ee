/* fuzz_value_attach.c - arbitrary bytes as a shared block that claims to
 * be a weft_value; attach must refuse it or describe a shape that fits.
 *
 * Input: the whole input is the block's content (its size is the input's
 * size, at least 1 byte).
 *
 * Invariants checked:
 *   - attach returns 0, EPROTO or EAGAIN (magic still 0), nothing else;
 *   - on 0 the shape fits the block: data + count * elem_size lies inside
 *     it, every element byte reads back what the input put there, and
 *     weft_value_get/set refuse index == count with ERANGE;
 *   - the lock, whatever its bytes say, is only tried (never waited for),
 *     and a try that takes it is undone. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "weft/shm.h"
#include "weft/value.h"

/* Take the lock if it is free and give it back. The analysis cannot
 * follow a try that holds the lock on two results (0, EOWNERDEAD). */
static void try_lock(weft_rlock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    int t = weft_rlock_try_acquire(lk);
    if (t == 0 || t == EOWNERDEAD)
        (void)weft_rlock_release(lk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > (1u << 20))
        return 0;
    char name[64];
    (void)snprintf(name, sizeof name, "/weft-fuzz-value-%d", (int)getpid());
    (void)weft_shm_unlink(name); /* left by an earlier crash */
    weft_shm *s;
    FUZZ_CHECK(weft_shm_create(&s, name, size) == 0);
    memcpy(weft_shm_addr(s), data, size);

    weft_value *v = NULL;
    int rc = weft_value_attach(&v, name);
    FUZZ_CHECK(rc == 0 || rc == EPROTO || rc == EAGAIN);
    if (rc == 0) {
        /* The data offset is the header's fifth field (bytes 24..31). */
        const unsigned char *base = (const unsigned char *)weft_shm_addr(s);
        const unsigned char *d = (const unsigned char *)weft_value_data(v);
        size_t es = weft_value_elem_size(v), n = weft_value_count(v);
        uint64_t off;
        FUZZ_CHECK(size >= 32);
        memcpy(&off, base + 24, sizeof off);
        FUZZ_CHECK(es > 0 && n > 0);
        FUZZ_CHECK(off <= size);
        FUZZ_CHECK(n <= (size - (size_t)off) / es);
        /* Every byte the value says it has is there, in its own mapping of
         * the same block (a byte past the block's end would fault). */
        for (size_t i = 0; i < n * es; i++)
            FUZZ_CHECK(d[i] == base[off + i]);
        unsigned char elem[16];
        if (es <= sizeof elem) {
            FUZZ_CHECK(weft_value_get(v, n, elem) == ERANGE);
            FUZZ_CHECK(weft_value_set(v, n, elem) == ERANGE);
        }
        try_lock(weft_value_lock(v));
        FUZZ_CHECK(weft_value_free(v) == 0);
    }
    FUZZ_CHECK(weft_shm_unlink(name) == 0);
    FUZZ_CHECK(weft_shm_detach(s) == 0);
    return 0;
}

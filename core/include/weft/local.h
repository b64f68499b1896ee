/* weft/local.h - thread-local values with a constructor and a destructor
 * (Python's threading.local).
 *
 * Each thread sees its own value of a weft_local. The first
 * weft_local_get() in a thread makes the value with create(ctx) (as a
 * threading.local subclass's __init__ runs once per thread); when a thread
 * ends, its value is passed to destroy:
 *
 *     static void *new_buf(void *ctx) { return calloc(1, 4096); }
 *     static weft_local scratch;
 *     weft_local_init(&scratch, new_buf, NULL, free);
 *     char *buf = weft_local_get(&scratch);     // this thread's buffer
 *
 * Built on pthread keys, so a process has at most PTHREAD_KEYS_MAX (1024)
 * of them, and as with pthread keys the destructor runs when a thread ends
 * (returns or calls pthread_exit), not at exit() for the threads still
 * running then (the main thread included): set their values to NULL first
 * when the values must be freed.
 *
 * Fork: the forking thread's values are copied into the child with its
 * memory; no other thread's are. */
#ifndef WEFT_LOCAL_H
#define WEFT_LOCAL_H

#include <pthread.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_local {
    pthread_key_t key;
    void *(*create)(void *ctx);
    void *ctx;
    void (*destroy)(void *value);
} weft_local;

/* weft_local_init - make *l a thread-local slot, empty in every thread.
 * create (may be NULL: values start as NULL) makes a thread's first value;
 * destroy (may be NULL) receives each non-NULL value when its thread ends
 * or when weft_local_set replaces it.
 * Returns:  0; EAGAIN when the process has no pthread key left; ENOMEM. */
int weft_local_init(weft_local *l, void *(*create)(void *ctx), void *ctx,
                    void (*destroy)(void *value));

/* weft_local_destroy - end the life of *l. Values still held by live
 * threads are not destroyed (pthread_key_delete runs no destructor): set
 * them to NULL in their threads first. Returns 0, or EINVAL. */
int weft_local_destroy(weft_local *l);

/* weft_local_get - the calling thread's value, made with create(ctx) on the
 * thread's first call. Returns NULL when there is no value (no create, or
 * create returned NULL, which is tried again on the next call).
 * Blocks:   only as long as create does. */
void *weft_local_get(weft_local *l);

/* weft_local_set - replace the calling thread's value; the old one, if any
 * and different, goes to destroy. Returns 0, or ENOMEM. */
int weft_local_set(weft_local *l, void *value);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_LOCAL_H */

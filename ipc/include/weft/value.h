/* weft/value.h - a value or an array of values in shared memory, with a
 * process-shared, robust, reentrant lock (Python's multiprocessing.Value
 * and Array).
 *
 *     weft_value *v;
 *     weft_value_create(&v, sizeof(long), 1, NULL);   // before fork
 *     ... in any process forked after:
 *     weft_rlock_acquire(weft_value_lock(v));
 *     *(long *)weft_value_data(v) += 1;
 *     weft_rlock_release(weft_value_lock(v));
 *     ... or, one element at a time:
 *     long x;
 *     weft_value_get(v, 0, &x);
 *
 * The block holds a header (magic, version, element size and count, the
 * lock) and then count elements of elem_size bytes, zeroed at creation and
 * aligned to 64 bytes. A named value is attached by name from any process
 * (weft_value_attach), which checks the header against the block it finds:
 * a block that is not a weft value, or whose header is damaged, is refused
 * (EPROTO) and nothing in it is read past the block's end.
 *
 * The lock (weft/rlock.h, WEFT_SHARED) is robust: when a process dies
 * holding it, the next acquirer gets EOWNERDEAD (see weft/rlock.h for the
 * repair protocol); weft_value_get and weft_value_set do their copy and
 * then report EOWNERDEAD, having marked the lock consistent, since the
 * element they copied may be one the dead holder was changing.
 *
 * Threads: every call but weft_value_free may run concurrently with any
 * other, in any process. weft_value_free must not race with other calls on
 * the same handle. */
#ifndef WEFT_VALUE_H
#define WEFT_VALUE_H

#include <stddef.h>

#include "weft/api.h"
#include "weft/rlock.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_value weft_value;

/* weft_value_create - make count elements of elem_size bytes in a new
 * shared block, named when name is not NULL (see weft/shm.h for names),
 * else anonymous (shared with children forked afterwards).
 * Returns:  0 and *out set; EINVAL: NULL out, elem_size or count 0, a bad
 *           name; EOVERFLOW: elem_size * count too large; EEXIST; ENOMEM,
 *           ENOSPC, EMFILE, EACCES; ENOTSUP (robust locks not available). */
int weft_value_create(weft_value **out, size_t elem_size, size_t count, const char *name);

/* weft_value_attach - attach to the named value another process created.
 * Returns:  0 and *out set; ENOENT; EAGAIN (the creator has not finished:
 *           try again); EPROTO: the block is not a weft value, or its
 *           header is damaged; EINVAL; ENOMEM, EACCES, EMFILE. */
int weft_value_attach(weft_value **out, const char *name);

/* weft_value_free - detach from the block and free the handle. A named
 * block stays until weft_value_unlink. NULL is accepted.
 * Returns:  0, or the error munmap gave. */
int weft_value_free(weft_value *v);

/* weft_value_unlink - remove a named value's name (weft_shm_unlink). */
int weft_value_unlink(const char *name);

/* weft_value_data - the first element. Access it holding the lock. */
void *weft_value_data(const weft_value *v);

/* weft_value_lock - the lock that guards the elements. */
weft_rlock *weft_value_lock(const weft_value *v);

/* weft_value_count, weft_value_elem_size - the array's shape. */
size_t weft_value_count(const weft_value *v);
size_t weft_value_elem_size(const weft_value *v);

/* weft_value_get - copy element index into out, under the lock.
 * Blocks:   while another thread or process holds the lock.
 * Returns:  0; EOWNERDEAD (copied, see above); ENOTRECOVERABLE; ERANGE:
 *           index >= count; EINVAL: NULL v or out. */
int weft_value_get(weft_value *v, size_t index, void *out);

/* weft_value_set - copy in into element index, under the lock.
 * Returns:  as weft_value_get. */
int weft_value_set(weft_value *v, size_t index, const void *in);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_VALUE_H */

/* weft/shm.h - shared memory blocks (Python's
 * multiprocessing.shared_memory.SharedMemory), named or anonymous.
 *
 *     weft_shm *s;
 *     weft_shm_create(&s, "/jobs", 1 << 20);   // or NULL: anonymous
 *     memcpy(weft_shm_addr(s), "hi", 3);
 *     ... another process:
 *     weft_shm *t;
 *     weft_shm_attach(&t, "/jobs");             // sees "hi"
 *     weft_shm_detach(t);
 *     ... when no one will attach again:
 *     weft_shm_unlink("/jobs");
 *     weft_shm_detach(s);
 *
 * A named block lives in the system (POSIX shm_open, /dev/shm on Linux)
 * until it is unlinked, whatever happens to the processes that use it;
 * processes attach to it by name. An anonymous block has no name: it is
 * shared with children forked after it was created, and ends when the last
 * process that maps it detaches or exits. The memory of a new block is
 * zeroed.
 *
 * Names are as for shm_open: one leading '/' (added when missing), then
 * 1 to 250 characters other than '/'.
 *
 * Threads: any thread may create, attach, unlink. A handle may be used by
 * several threads at once; weft_shm_detach must not race with other calls
 * on the same handle. What the block's memory holds is the caller's to
 * synchronise (a weft_rlock with WEFT_SHARED placed in it, for instance).
 *
 * Fork: the child has the parent's mappings and handles; detaching in the
 * child unmaps the child's copy only. */
#ifndef WEFT_SHM_H
#define WEFT_SHM_H

#include <stddef.h>

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

typedef struct weft_shm weft_shm;

/* weft_shm_create - create a block of size bytes, zeroed and mapped: named
 * when name is not NULL, else anonymous. Created with mode 0600.
 * Returns:  0 and *out set; EEXIST: a block of that name exists; EINVAL:
 *           NULL out, size 0, or a bad name; ENOMEM, EMFILE, ENOSPC, EACCES
 *           (nothing is left behind: no name, no mapping). */
int weft_shm_create(weft_shm **out, const char *name, size_t size);

/* weft_shm_attach - map the existing named block, all of it.
 * Returns:  0 and *out set; ENOENT: no such block; EAGAIN: the block
 *           exists but its creator has not yet given it its size (try
 *           again); EINVAL: NULL out or a bad name; EACCES, ENOMEM,
 *           EMFILE. */
int weft_shm_attach(weft_shm **out, const char *name);

/* weft_shm_detach - unmap s and free the handle. The block itself stays
 * (named blocks until unlinked). NULL is accepted.
 * Requires: no other call on s is running; no pointer into the block is
 *           used afterwards.
 * Returns:  0, or the error munmap gave (s is freed either way). */
int weft_shm_detach(weft_shm *s);

/* weft_shm_unlink - remove the name: no one can attach to it any more;
 * processes that have it mapped keep their mapping.
 * Returns:  0; ENOENT; EINVAL for a bad name; EACCES. */
int weft_shm_unlink(const char *name);

/* weft_shm_addr - the start of s's mapping (page-aligned). */
void *weft_shm_addr(const weft_shm *s);

/* weft_shm_size - s's size in bytes (for an attached block, the size it
 * had when attached). */
size_t weft_shm_size(const weft_shm *s);

/* weft_shm_name - s's name with its leading '/', or NULL if anonymous. */
const char *weft_shm_name(const weft_shm *s);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_SHM_H */

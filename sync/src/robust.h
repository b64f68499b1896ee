/* robust.h - process-shared locks that survive their holder's death
 * (internal), over the kernel's robust futex list.
 *
 * A robust word follows the kernel's protocol (futex(2), "robust futexes"):
 * 0 when free, else the holder's thread id, with FUTEX_WAITERS set when a
 * thread may sleep on it. Each held word is linked into its holder's robust
 * list; when the holder exits or its process dies, the kernel sets
 * FUTEX_OWNER_DIED in every word still on the list and wakes a waiter. The
 * next acquirer then gets EOWNERDEAD and holds the lock.
 *
 * Layout contract: the struct that holds a robust word keeps two pointers,
 * `prev` at word + 24 and `next` at word + 32 bytes (a struct weft__rb_link
 * there). That is the layout glibc registers with the kernel for its own
 * robust mutexes (futex_offset -32 on LP64), so our words share each
 * thread's one list with glibc's, linked the way glibc links its own. */
#ifndef WEFT_SYNC_ROBUST_H
#define WEFT_SYNC_ROBUST_H

#include <stdbool.h>
#include <stdint.h>

#define WEFT__RB_WAITERS 0x80000000u    /* FUTEX_WAITERS */
#define WEFT__RB_OWNER_DIED 0x40000000u /* FUTEX_OWNER_DIED */
#define WEFT__RB_TID_MASK 0x3fffffffu   /* FUTEX_TID_MASK */
/* A word value no thread id can take (pid_max <= 2^22): the lock was
 * released while inconsistent and can never be acquired again. */
#define WEFT__RB_NOTRECOVERABLE 0x3fffffffu

/* The robust-list links, placed 24 bytes after the word. */
struct weft__rb_link {
    void *prev;
    void *next;
};

#define WEFT__RB_LINK_OFFSET 24

/* Whether robust words work for the calling thread: 0, or ENOTSUP when the
 * thread's registered robust list has another layout than ours. */
int weft__rb_check(void);

/* Each robust word has a companion counter, `sleepers`, of threads that
 * may be asleep on it (see robust.c for why the WAITERS bit alone is not
 * enough when processes die).
 *
 * Acquire: 0; EOWNERDEAD (acquired; the previous holder died holding it);
 * ENOTRECOVERABLE; ETIMEDOUT (deadline passed); EBUSY (try only); ENOTSUP
 * (see weft__rb_check). The caller must not hold the word. */
int weft__rb_acquire(uint32_t *word, uint32_t *sleepers, int64_t deadline_ns,
                     bool try_only);

/* Release a word the caller holds, waking one waiter. */
void weft__rb_release(uint32_t *word, const uint32_t *sleepers);

/* Release for good: the word becomes WEFT__RB_NOTRECOVERABLE and every
 * waiter is woken to get ENOTRECOVERABLE. */
void weft__rb_release_unrecoverable(uint32_t *word);

/* Whether the calling thread holds the word. */
bool weft__rb_held(const uint32_t *word);

#endif /* WEFT_SYNC_ROBUST_H */

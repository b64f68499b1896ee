/* annotate.h - tell race detectors what sync/'s locks do (internal).
 *
 * ThreadSanitizer does not see a futex word as a lock, and neither does
 * Helgrind: without these calls they would report every access to data that
 * a weft lock protects as a race, and miss lock-order inversions. The calls
 * bracket each lock operation exactly as the tools' own pthread interceptors
 * do (pre before the attempt, post after it), so reports name our locks.
 *
 * TSan annotations are compiled in whenever the translation unit is built
 * with -fsanitize=thread. Helgrind client requests are compiled in when
 * WEFT_VALGRIND_ANNOTATIONS is defined (the `valgrind` preset does), and cost
 * a few instructions that do nothing outside Valgrind. Everywhere else every
 * macro is empty. */
#ifndef WEFT_SYNC_ANNOTATE_H
#define WEFT_SYNC_ANNOTATE_H

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT__TSAN 1
#endif
#endif
#if !defined(WEFT__TSAN) && defined(__SANITIZE_THREAD__)
#define WEFT__TSAN 1
#endif

#ifdef WEFT__TSAN
#include <sanitizer/tsan_interface.h>
/* Zero-initialised locks are valid without a create call: say so at every
 * operation, as the TSan interface asks for objects without a constructor. */
#define WEFT__TSAN_INIT __tsan_mutex_linker_init
#define WEFT__TSAN_CREATE(m) __tsan_mutex_create((m), 0)
#define WEFT__TSAN_DESTROY(m) __tsan_mutex_destroy((m), 0)
#define WEFT__TSAN_PRE_LOCK(m, try_)                                           \
    __tsan_mutex_pre_lock((m), WEFT__TSAN_INIT |                               \
                                   ((try_) ? __tsan_mutex_try_lock : 0))
#define WEFT__TSAN_POST_LOCK(m, try_, failed)                                  \
    __tsan_mutex_post_lock(                                                    \
        (m),                                                                   \
        WEFT__TSAN_INIT | ((try_) ? __tsan_mutex_try_lock : 0) |               \
            ((failed) ? __tsan_mutex_try_lock_failed : 0),                     \
        0)
#define WEFT__TSAN_PRE_UNLOCK(m) (void)__tsan_mutex_pre_unlock((m), 0)
#define WEFT__TSAN_POST_UNLOCK(m) __tsan_mutex_post_unlock((m), 0)
#else
#define WEFT__TSAN_CREATE(m) ((void)0)
#define WEFT__TSAN_DESTROY(m) ((void)0)
#define WEFT__TSAN_PRE_LOCK(m, try_) ((void)0)
#define WEFT__TSAN_POST_LOCK(m, try_, failed) ((void)0)
#define WEFT__TSAN_PRE_UNLOCK(m) ((void)0)
#define WEFT__TSAN_POST_UNLOCK(m) ((void)0)
#endif

#ifdef WEFT_VALGRIND_ANNOTATIONS
#include <valgrind/helgrind.h>
#define WEFT__HG_CREATE(m) VALGRIND_HG_MUTEX_INIT_POST((m), 0)
#define WEFT__HG_DESTROY(m) VALGRIND_HG_MUTEX_DESTROY_PRE((m))
#define WEFT__HG_PRE_LOCK(m, try_) VALGRIND_HG_MUTEX_LOCK_PRE((m), (try_))
#define WEFT__HG_POST_LOCK(m) VALGRIND_HG_MUTEX_LOCK_POST((m))
#define WEFT__HG_PRE_UNLOCK(m) VALGRIND_HG_MUTEX_UNLOCK_PRE((m))
#define WEFT__HG_POST_UNLOCK(m) VALGRIND_HG_MUTEX_UNLOCK_POST((m))
/* The lock's own word is ordered by atomics Helgrind does not model. */
#define WEFT__HG_IGNORE(p, n) VALGRIND_HG_DISABLE_CHECKING((p), (n))
#else
#define WEFT__HG_CREATE(m) ((void)0)
#define WEFT__HG_DESTROY(m) ((void)0)
#define WEFT__HG_PRE_LOCK(m, try_) ((void)0)
#define WEFT__HG_POST_LOCK(m) ((void)0)
#define WEFT__HG_PRE_UNLOCK(m) ((void)0)
#define WEFT__HG_POST_UNLOCK(m) ((void)0)
#define WEFT__HG_IGNORE(p, n) ((void)0)
#endif

/* What lock implementations call (statements: Helgrind's are do-whiles). */
#define WEFT__ANN_CREATE(m)                                                    \
    do {                                                                       \
        WEFT__TSAN_CREATE(m);                                                  \
        WEFT__HG_CREATE(m);                                                    \
    } while (0)
#define WEFT__ANN_DESTROY(m)                                                   \
    do {                                                                       \
        WEFT__TSAN_DESTROY(m);                                                 \
        WEFT__HG_DESTROY(m);                                                   \
    } while (0)
#define WEFT__ANN_PRE_LOCK(m, try_)                                            \
    do {                                                                       \
        WEFT__TSAN_PRE_LOCK(m, try_);                                          \
        WEFT__HG_PRE_LOCK(m, try_);                                            \
    } while (0)
#define WEFT__ANN_POST_LOCK(m, try_)                                           \
    do {                                                                       \
        WEFT__TSAN_POST_LOCK(m, try_, 0);                                      \
        WEFT__HG_POST_LOCK(m);                                                 \
    } while (0)
#define WEFT__ANN_LOCK_FAILED(m) WEFT__TSAN_POST_LOCK(m, 1, 1)
#define WEFT__ANN_PRE_UNLOCK(m)                                                \
    do {                                                                       \
        WEFT__TSAN_PRE_UNLOCK(m);                                              \
        WEFT__HG_PRE_UNLOCK(m);                                                \
    } while (0)
#define WEFT__ANN_POST_UNLOCK(m)                                               \
    do {                                                                       \
        WEFT__TSAN_POST_UNLOCK(m);                                             \
        WEFT__HG_POST_UNLOCK(m);                                               \
    } while (0)

/* Happens-before edges of the flag-like primitives (event set -> wait, sem
 * release -> acquire, once done -> later callers). ThreadSanitizer sees the
 * release/acquire atomics themselves; Helgrind does not model atomics and
 * must be told, or it reports the data those edges publish as races. */
#ifdef WEFT_VALGRIND_ANNOTATIONS
#define WEFT__ANN_HAPPENS_BEFORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#define WEFT__ANN_HAPPENS_AFTER(p) ANNOTATE_HAPPENS_AFTER(p)
#else
#define WEFT__ANN_HAPPENS_BEFORE(p) ((void)0)
#define WEFT__ANN_HAPPENS_AFTER(p) ((void)0)
#endif

#endif /* WEFT_SYNC_ANNOTATE_H */

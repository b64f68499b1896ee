/* weft/tsa.h - Clang thread-safety analysis attributes, for weft and its users.
 *
 * Put these on your own locks, data and functions and `clang -Wthread-safety`
 * checks that data is touched only with its lock held:
 *
 *     struct account {
 *         weft_lock mu;
 *         long balance WEFT_GUARDED_BY(mu);
 *     };
 *     void deposit(struct account *a, long n) WEFT_EXCLUDES(a->mu);
 *     void audit(struct account *a) WEFT_REQUIRES(a->mu);
 *
 * Every weft lock type is a capability; its acquire and release functions say
 * so, and the try/deadline forms are try-acquires that succeed on 0.
 *
 * Compilers other than clang see empty macros. Define WEFT_NO_TSA to turn the
 * attributes off with clang too.
 *
 * Field guards and C: clang releases before 19 reject `guarded_by` on a struct
 * field that names a sibling field when compiling C (they accept it in C++).
 * So WEFT_GUARDED_BY and WEFT_PT_GUARDED_BY expand to the attribute only in
 * C++ or with clang 19 and later; weft's own `analyze` stage therefore also
 * compiles its sources as C++ with -fsyntax-only -Wthread-safety, and so can
 * you: `clang -x c++ -std=c++17 -fsyntax-only -Wthread-safety file.c`. */
#ifndef WEFT_TSA_H
#define WEFT_TSA_H

#if defined(__clang__) && !defined(WEFT_NO_TSA)
#define WEFT__TSA(x) __attribute__((x))
#else
#define WEFT__TSA(x)
#endif

/* On a struct type: objects of this type are locks ("mutex", "role", ...). */
#define WEFT_CAPABILITY(name) WEFT__TSA(capability(name))
/* On a function: it acquires / releases the named locks (exclusive). */
#define WEFT_ACQUIRE(...) WEFT__TSA(acquire_capability(__VA_ARGS__))
#define WEFT_RELEASE(...) WEFT__TSA(release_capability(__VA_ARGS__))
/* On a function: it acquires the locks iff it returns `result`. */
#define WEFT_TRY_ACQUIRE(result, ...) \
    WEFT__TSA(try_acquire_capability(result, __VA_ARGS__))
/* On a function: callers must hold / must not hold the locks. */
#define WEFT_REQUIRES(...) WEFT__TSA(requires_capability(__VA_ARGS__))
#define WEFT_EXCLUDES(...) WEFT__TSA(locks_excluded(__VA_ARGS__))
/* On a function: it checks at run time that the lock is held. */
#define WEFT_ASSERT_CAPABILITY(x) WEFT__TSA(assert_capability(x))
/* On a function: it returns a reference to the named lock. */
#define WEFT_RETURN_CAPABILITY(x) WEFT__TSA(lock_returned(x))
/* On a lock declaration: lock order (needs -Wthread-safety-beta). */
#define WEFT_ACQUIRED_BEFORE(...) WEFT__TSA(acquired_before(__VA_ARGS__))
#define WEFT_ACQUIRED_AFTER(...) WEFT__TSA(acquired_after(__VA_ARGS__))
/* On a function: do not analyse its body (lock implementations). */
#define WEFT_NO_THREAD_SAFETY_ANALYSIS WEFT__TSA(no_thread_safety_analysis)

/* On data: only touched with the lock held (see the note on fields above). */
#if defined(__cplusplus) || (defined(__clang_major__) && __clang_major__ >= 19)
#define WEFT_GUARDED_BY(x) WEFT__TSA(guarded_by(x))
#define WEFT_PT_GUARDED_BY(x) WEFT__TSA(pt_guarded_by(x))
#else
#define WEFT_GUARDED_BY(x)
#define WEFT_PT_GUARDED_BY(x)
#endif

#endif /* WEFT_TSA_H */

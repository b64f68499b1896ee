/* interleave_hooks.h - schedule points at every atomic and pause (internal).
 *
 * The sched build (-DWEFT_SCHED=ON) force-includes this header into every
 * source of weft's libraries (never into interleave.c): each __atomic builtin
 * and each CPU pause first calls the interleaving scheduler (interleave.h), so
 * the code needs no edits to be scheduled. A macro does not expand inside
 * its own replacement, so the inner names are the compiler's builtins.
 * The pointer argument is evaluated twice; weft passes plain lvalues. */
#ifndef WEFT_SYNC_INTERLEAVE_HOOKS_H
#define WEFT_SYNC_INTERLEAVE_HOOKS_H

void weft__sched_point(int kind, const volatile void *addr, const char *file,
                       int line);

/* Threads that a scheduled thread creates join the run (weft's thread
 * spawn calls these; see interleave.h), and pthread_join is modelled. */
int weft__sched_adopt(void);
void weft__sched_adopted(int slot, unsigned long pt, int err);
void weft__sched_enter(int slot);
#define pthread_join weft__sched_pthread_join

#define WEFT__SCHED_AT(kind, p) weft__sched_point((kind), (p), __FILE__, __LINE__)

/* Kinds as in interleave.h's enum weft__sched_kind.
 * NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp):
 * naming the builtins is the mechanism (each macro wraps the builtin of the
 * same name), and this header is only ever force-included by the sched
 * build, never seen by a user's code. */
#define __atomic_load_n(p, m) (WEFT__SCHED_AT(0, (p)), __atomic_load_n((p), (m)))
#define __atomic_store_n(p, v, m) (WEFT__SCHED_AT(1, (p)), __atomic_store_n((p), (v), (m)))
#define __atomic_exchange_n(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_exchange_n((p), (v), (m)))
#define __atomic_compare_exchange_n(p, e, d, w, s, f)                          \
    (WEFT__SCHED_AT(2, (p)), __atomic_compare_exchange_n((p), (e), (d), (w), (s), (f)))
#define __atomic_fetch_add(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_fetch_add((p), (v), (m)))
#define __atomic_fetch_sub(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_fetch_sub((p), (v), (m)))
#define __atomic_fetch_or(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_fetch_or((p), (v), (m)))
#define __atomic_fetch_and(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_fetch_and((p), (v), (m)))
#define __atomic_add_fetch(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_add_fetch((p), (v), (m)))
#define __atomic_sub_fetch(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_sub_fetch((p), (v), (m)))
#define __atomic_or_fetch(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_or_fetch((p), (v), (m)))
#define __atomic_and_fetch(p, v, m) (WEFT__SCHED_AT(2, (p)), __atomic_and_fetch((p), (v), (m)))
#define __builtin_ia32_pause() WEFT__SCHED_AT(3, (const void *)0)
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

#endif /* WEFT_SYNC_INTERLEAVE_HOOKS_H */

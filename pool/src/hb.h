/* hb.h - happens-before edges for Helgrind (internal to pool).
 *
 * A future's outcome is published by a release store of its state word, its
 * reference count orders the free after every use, and a worker's wake word
 * hands it work; ThreadSanitizer understands those atomics and Helgrind does
 * not. These macros tell it.
 * Compiled in with WEFT_VALGRIND_ANNOTATIONS (the `valgrind` preset); empty
 * otherwise. (core/src/hb.h does the same for core; modules do not share
 * internal headers, so each vendors alone.) */
#ifndef WEFT_POOL_HB_H
#define WEFT_POOL_HB_H

#ifdef WEFT_VALGRIND_ANNOTATIONS
#include <valgrind/helgrind.h>
#define WEFT__POOL_HB_BEFORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#define WEFT__POOL_HB_AFTER(p) ANNOTATE_HAPPENS_AFTER(p)
/* An atomic word: only ever accessed with __atomic builtins, so never a
 * data race; Helgrind treats those as plain accesses and is told to skip
 * the word. What the word publishes is ordered by the edges above. */
#define WEFT__POOL_HG_ATOMIC(p) VALGRIND_HG_DISABLE_CHECKING((p), sizeof *(p))
#else
#define WEFT__POOL_HB_BEFORE(p) ((void)0)
#define WEFT__POOL_HB_AFTER(p) ((void)0)
#define WEFT__POOL_HG_ATOMIC(p) ((void)0)
#endif

#endif /* WEFT_POOL_HB_H */

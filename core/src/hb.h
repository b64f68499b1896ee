/* hb.h - happens-before edges for Helgrind (internal to core).
 *
 * Reference counts and one-shot state words are ordered by release/acquire
 * atomics, which ThreadSanitizer understands and Helgrind does not: without
 * these edges Helgrind would report the free of a handle, or the data a
 * state change publishes, as racing with what came before. Compiled in with
 * WEFT_VALGRIND_ANNOTATIONS (the `valgrind` preset); empty otherwise. */
#ifndef WEFT_CORE_HB_H
#define WEFT_CORE_HB_H

#ifdef WEFT_VALGRIND_ANNOTATIONS
#include <valgrind/helgrind.h>
#define WEFT__HB_BEFORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#define WEFT__HB_AFTER(p) ANNOTATE_HAPPENS_AFTER(p)
#else
#define WEFT__HB_BEFORE(p) ((void)0)
#define WEFT__HB_AFTER(p) ((void)0)
#endif

#endif /* WEFT_CORE_HB_H */

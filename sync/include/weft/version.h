/* weft/version.h - weft's version: the one place it is written (the CMake
 * project reads it from here). */
#ifndef WEFT_VERSION_H
#define WEFT_VERSION_H

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1
#define WEFT_VERSION_PATCH 0

#include "weft/api.h"

#ifdef __cplusplus
extern "C" {
#endif
WEFT_API_BEGIN

/* weft_version - the version of the weft library linked in, "MAJOR.MINOR.PATCH"
 * (compare with the WEFT_VERSION_* macros of the headers compiled against).
 * Blocks: never. Threads: any; async-signal-safe. Returns a static string. */
const char *weft_version(void);

WEFT_API_END
#ifdef __cplusplus
}
#endif

#endif /* WEFT_VERSION_H */

/* weft/api.h - the visibility of weft's public functions.
 *
 * weft's own sources are compiled with -fvisibility=hidden and WEFT_EXPORTS
 * (weft's CMake sets both): every function is hidden from the libraries'
 * dynamic symbol tables except those declared between WEFT_API_BEGIN and
 * WEFT_API_END in the public headers. Everyone else - a program, a
 * vendoring project - sees the declarations unchanged. */
#ifndef WEFT_API_H
#define WEFT_API_H

#if defined(WEFT_EXPORTS) && (defined(__GNUC__) || defined(__clang__))
#define WEFT_API_BEGIN _Pragma("GCC visibility push(default)")
#define WEFT_API_END _Pragma("GCC visibility pop")
#else
#define WEFT_API_BEGIN
#define WEFT_API_END
#endif

#endif /* WEFT_API_H */

/* name.h - copying names of threads and processes (internal to core). */
#ifndef WEFT_CORE_NAME_H
#define WEFT_CORE_NAME_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* The length of the longest prefix of name of at most max bytes that does
 * not end inside a UTF-8 character. */
static inline size_t weft__name_prefix(const char *name, size_t max)
{
    size_t n = strnlen(name, max);
    if (name[n] != '\0')
        while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
            n--;
    return n;
}

/* Copy name into buf (size bytes, NUL-terminated), cut at a character
 * boundary. Returns 0, ERANGE when cut, EINVAL for a NULL buf or size 0. */
static inline int weft__name_copy(const char *name, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return EINVAL;
    size_t n = weft__name_prefix(name, size - 1);
    memcpy(buf, name, n);
    buf[n] = '\0';
    return name[n] != '\0' ? ERANGE : 0;
}

#endif /* WEFT_CORE_NAME_H */

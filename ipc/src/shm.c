/* shm.c - weft_shm: named (shm_open) and anonymous shared memory blocks.
 *
 * Design / invariants
 *   A handle owns one mapping of the whole block; the descriptor is closed
 *   as soon as the block is mapped. A named block is created with O_EXCL
 *   and its memory reserved with fallocate before anyone is told it
 *   exists, so a block that was created can be written everywhere: a full
 *   /dev/shm is ENOSPC from create, never SIGBUS on a later write. Any
 *   failure after the name appeared removes it again. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate; also predefined by g++/clang++ */
#endif
#include "weft/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NAME_MAX_CHARS = 250 };

struct weft_shm {
    void *addr;
    size_t size;
    char name[NAME_MAX_CHARS + 2]; /* "" when anonymous */
};

/* Write name into out with exactly one leading '/'. */
static int norm_name(const char *name, char out[NAME_MAX_CHARS + 2])
{
    if (!name)
        return EINVAL;
    if (name[0] == '/')
        name++;
    size_t n = strnlen(name, NAME_MAX_CHARS + 1);
    if (n == 0 || n > NAME_MAX_CHARS || memchr(name, '/', n))
        return EINVAL;
    out[0] = '/';
    memcpy(out + 1, name, n);
    out[n + 1] = '\0';
    return 0;
}

static int map_fd(int fd, size_t size, void **addr)
{
    int prot = PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return errno;
    *addr = p;
    return 0;
}

int weft_shm_create(weft_shm **out, const char *name, size_t size)
{
    if (!out || size == 0)
        return EINVAL;
    weft_shm *s = (weft_shm *)calloc(1, sizeof *s);
    if (!s)
        return ENOMEM;
    int rc;
    if (!name) {
        int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED | MAP_ANONYMOUS;
        /* MAP_ANONYMOUS takes fd -1 (mmap(2)); cppcheck's model of mmap
         * does not know that flag and reports a false invalidFunctionArg. */
        // cppcheck-suppress invalidFunctionArg
        void *p = mmap(NULL, size, prot, flags, -1, 0);
        rc = p == MAP_FAILED ? errno : 0;
        s->addr = p;
    } else if ((rc = norm_name(name, s->name)) == 0) {
        int fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = errno;
        } else {
            /* fallocate reserves the pages (and sets the size), so that
             * writing into the block later cannot fail. */
            if (size > (size_t)INT64_MAX)
                rc = EINVAL;
            else if (fallocate(fd, 0, 0, (off_t)size) != 0)
                rc = errno == EOPNOTSUPP && ftruncate(fd, (off_t)size) == 0 ? 0 : errno;
            if (rc == 0)
                rc = map_fd(fd, size, &s->addr);
            (void)close(fd);
            if (rc)
                (void)shm_unlink(s->name);
        }
    }
    if (rc) {
        free(s);
        return rc;
    }
    s->size = size;
    *out = s;
    return 0;
}

int weft_shm_attach(weft_shm **out, const char *name)
{
    if (!out)
        return EINVAL;
    weft_shm *s = (weft_shm *)calloc(1, sizeof *s);
    if (!s)
        return ENOMEM;
    int rc = norm_name(name, s->name);
    int fd = -1;
    if (rc == 0) {
        fd = shm_open(s->name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
            rc = errno;
    }
    struct stat st;
    if (rc == 0 && fstat(fd, &st) != 0)
        rc = errno;
    if (rc == 0 && st.st_size <= 0)
        rc = EAGAIN; /* created, not yet sized */
    if (rc == 0 && (uint64_t)st.st_size > SIZE_MAX)
        rc = ENOMEM;
    if (rc == 0) {
        s->size = (size_t)st.st_size;
        rc = map_fd(fd, s->size, &s->addr);
    }
    if (fd >= 0)
        (void)close(fd);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int weft_shm_detach(weft_shm *s)
{
    if (!s)
        return 0;
    int rc = munmap(s->addr, s->size) == 0 ? 0 : errno;
    free(s);
    return rc;
}

int weft_shm_unlink(const char *name)
{
    char n[NAME_MAX_CHARS + 2];
    int rc = norm_name(name, n);
    if (rc)
        return rc;
    return shm_unlink(n) == 0 ? 0 : errno;
}

void *weft_shm_addr(const weft_shm *s)
{
    return s ? s->addr : NULL;
}

size_t weft_shm_size(const weft_shm *s)
{
    return s ? s->size : 0;
}

const char *weft_shm_name(const weft_shm *s)
{
    return s && s->name[0] ? s->name : NULL;
}

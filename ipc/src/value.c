/* value.c - weft_value: elements in a shared block behind a robust lock.
 *
 * Design / invariants
 *   Block layout: struct value_hdr, then the elements from data_off (the
 *   header's size rounded up to 64). The creator fills the header, makes
 *   the lock, and writes magic last with a release store: an attacher that
 *   reads the magic (acquire) sees the rest, and one that finds magic still
 *   0 is early (EAGAIN). Attach checks every header field against the
 *   block's real size and then keeps its own copies of the shape, so a
 *   header damaged later cannot move a get or set outside the block. */
#include "weft/value.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft/flags.h"
#include "weft/shm.h"

#define VALUE_MAGIC 0x56544657u /* "WFTV" */
#define VALUE_VERSION 1u
#define DATA_ALIGN 64u

struct value_hdr {
    uint32_t magic; /* 0 until the block is ready; atomic */
    uint32_t version;
    uint64_t elem_size;
    uint64_t count;
    uint64_t data_off;
    weft_rlock lock;
};

#define DATA_OFF ((sizeof(struct value_hdr) + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN)

struct weft_value {
    weft_shm *shm;
    struct value_hdr *hdr;
    unsigned char *data;
    size_t elem_size, count; /* validated copies */
};

static int wrap(weft_value **out, weft_shm *shm, size_t elem_size, size_t count)
{
    weft_value *v = (weft_value *)calloc(1, sizeof *v);
    if (!v)
        return ENOMEM;
    v->shm = shm;
    v->hdr = (struct value_hdr *)weft_shm_addr(shm);
    v->data = (unsigned char *)weft_shm_addr(shm) + DATA_OFF;
    v->elem_size = elem_size;
    v->count = count;
    *out = v;
    return 0;
}

int weft_value_create(weft_value **out, size_t elem_size, size_t count, const char *name)
{
    if (!out || elem_size == 0 || count == 0)
        return EINVAL;
    if (count > (SIZE_MAX - DATA_OFF) / elem_size)
        return EOVERFLOW;
    weft_shm *shm;
    int rc = weft_shm_create(&shm, name, DATA_OFF + elem_size * count);
    if (rc)
        return rc;
    struct value_hdr *h = (struct value_hdr *)weft_shm_addr(shm);
    h->version = VALUE_VERSION;
    h->elem_size = elem_size;
    h->count = count;
    h->data_off = DATA_OFF;
    rc = weft_rlock_init(&h->lock, WEFT_SHARED);
    if (rc == 0)
        rc = wrap(out, shm, elem_size, count);
    if (rc) {
        if (name)
            (void)weft_shm_unlink(name);
        (void)weft_shm_detach(shm);
        return rc;
    }
    __atomic_store_n(&h->magic, VALUE_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

/* Whether the header describes a value that fits in a block of size bytes. */
static int check_header(const struct value_hdr *h, size_t size)
{
    uint32_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
    if (magic == 0)
        return EAGAIN;
    if (magic != VALUE_MAGIC || h->version != VALUE_VERSION)
        return EPROTO;
    uint64_t es = h->elem_size, n = h->count;
    if (es == 0 || n == 0 || h->data_off != DATA_OFF)
        return EPROTO;
    if (n > (size - DATA_OFF) / es) /* size >= DATA_OFF checked by caller */
        return EPROTO;
    return 0;
}

int weft_value_attach(weft_value **out, const char *name)
{
    if (!out)
        return EINVAL;
    weft_shm *shm;
    int rc = weft_shm_attach(&shm, name);
    if (rc)
        return rc;
    size_t size = weft_shm_size(shm);
    const struct value_hdr *h = (const struct value_hdr *)weft_shm_addr(shm);
    rc = size < DATA_OFF ? EPROTO : check_header(h, size);
    if (rc == 0)
        rc = wrap(out, shm, (size_t)h->elem_size, (size_t)h->count);
    if (rc)
        (void)weft_shm_detach(shm);
    return rc;
}

int weft_value_free(weft_value *v)
{
    if (!v)
        return 0;
    int rc = weft_shm_detach(v->shm);
    free(v);
    return rc;
}

int weft_value_unlink(const char *name)
{
    return weft_shm_unlink(name);
}

void *weft_value_data(const weft_value *v)
{
    return v ? v->data : NULL;
}

weft_rlock *weft_value_lock(const weft_value *v)
{
    return v ? &v->hdr->lock : NULL;
}

size_t weft_value_count(const weft_value *v)
{
    return v ? v->count : 0;
}

size_t weft_value_elem_size(const weft_value *v)
{
    return v ? v->elem_size : 0;
}

/* Copy one element in either direction under the lock. The analysis
 * cannot follow an acquire that may fail (ENOTRECOVERABLE) or succeed in
 * two ways (0, EOWNERDEAD); the lock is held exactly between the two
 * checked calls below. */
static int copy_locked(weft_value *v, size_t index, void *dst, const void *src, int to_user)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (index >= v->count)
        return ERANGE;
    weft_rlock *lk = &v->hdr->lock;
    int rc = weft_rlock_acquire(lk);
    if (rc == EOWNERDEAD)
        (void)weft_rlock_consistent(lk);
    else if (rc)
        return rc;
    unsigned char *elem = v->data + index * v->elem_size;
    if (to_user)
        memcpy(dst, elem, v->elem_size);
    else
        memcpy(elem, src, v->elem_size);
    (void)weft_rlock_release(lk);
    return rc;
}

int weft_value_get(weft_value *v, size_t index, void *out)
{
    if (!v || !out)
        return EINVAL;
    return copy_locked(v, index, out, NULL, 1);
}

int weft_value_set(weft_value *v, size_t index, const void *in)
{
    if (!v || !in)
        return EINVAL;
    return copy_locked(v, index, NULL, in, 0);
}

/* local.c - weft_local over pthread keys: the key's destructor is the
 * user's, so a thread's value is destroyed by the C library as the thread
 * ends, after its weft handle is finished. */
#include "weft/local.h"

#include <errno.h>

int weft_local_init(weft_local *l, void *(*create)(void *ctx), void *ctx,
                    void (*destroy)(void *value))
{
    int err = pthread_key_create(&l->key, destroy);
    if (err != 0)
        return err;
    l->create = create;
    l->ctx = ctx;
    l->destroy = destroy;
    return 0;
}

int weft_local_destroy(weft_local *l)
{
    return pthread_key_delete(l->key);
}

void *weft_local_get(weft_local *l)
{
    void *v = pthread_getspecific(l->key);
    if (v != NULL || l->create == NULL)
        return v;
    v = l->create(l->ctx);
    if (v != NULL && pthread_setspecific(l->key, v) != 0) {
        if (l->destroy != NULL)
            l->destroy(v);
        v = NULL;
    }
    return v;
}

int weft_local_set(weft_local *l, void *value)
{
    void *old = pthread_getspecific(l->key);
    int err = pthread_setspecific(l->key, value);
    if (err != 0)
        return err;
    if (old != NULL && old != value && l->destroy != NULL)
        l->destroy(old);
    return 0;
}

/* tpool_map.c - weft_tpool_map_until: Executor.map over an array, in
 * chunks, one future per chunk. */
#include "weft/tpool.h"

#include <errno.h>
#include <stdlib.h>

#include "weft/time.h"

struct chunk {
    weft_task_fn fn;
    void *const *args;
    void **results;
    int *errors;
    size_t begin, end;
};

static int run_chunk(void *arg, void **result)
{
    struct chunk *c = (struct chunk *)arg;
    (void)result;
    for (size_t i = c->begin; i < c->end; i++) {
        void *r = NULL;
        c->errors[i] = c->fn(c->args[i], &r);
        if (c->results != NULL)
            c->results[i] = r;
    }
    return 0;
}

int weft_tpool_map_until(weft_tpool *p, weft_task_fn fn, void *const *args, size_t n,
                         size_t chunk, void **results, int *errors, int64_t deadline_ns)
{
    if (fn == NULL || (n > 0 && args == NULL))
        return EINVAL;
    if (n == 0)
        return 0;
    if (chunk == 0)
        chunk = 1;
    size_t nchunks = n / chunk + (n % chunk != 0);
    struct chunk *cs = (struct chunk *)calloc(nchunks, sizeof *cs);
    weft_future **fs = (weft_future **)calloc(nchunks, sizeof(weft_future *));
    int *errs = errors != NULL ? errors : (int *)calloc(n, sizeof *errs);
    if (cs == NULL || fs == NULL || errs == NULL) {
        free(cs);
        free(fs);
        if (errs != errors)
            free(errs);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        errs[i] = ECANCELED;
        if (results != NULL)
            results[i] = NULL;
    }
    int rc = 0;
    size_t submitted = 0;
    for (; submitted < nchunks; submitted++) {
        struct chunk *c = &cs[submitted];
        c->fn = fn;
        c->args = args;
        c->results = results;
        c->errors = errs;
        c->begin = submitted * chunk;
        c->end = c->begin + chunk < n ? c->begin + chunk : n;
        rc = weft_tpool_submit(p, run_chunk, c, &fs[submitted]);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = weft_future_wait_set_until(fs, submitted, WEFT_ALL_COMPLETED, deadline_ns, NULL, NULL);
    if (rc != 0) {
        /* Give up: chunks not started never will; wait out the others,
         * which write into results and errs. A broken pool (EPIPE) fails
         * its queued chunks itself, with EPIPE, which their items must
         * say: a cancel here could reach one first. */
        for (size_t i = 0; i < submitted && rc != EPIPE; i++)
            (void)weft_future_cancel(fs[i]);
        for (size_t i = 0; i < submitted; i++)
            (void)weft_future_wait_until(fs[i], WEFT_DEADLINE_NEVER);
    }
    for (size_t i = 0; i < submitted; i++) {
        /* A chunk's task always returns 0: a failed chunk never ran (the
         * pool broke, was shut down with cancel-pending, or this is a
         * forked copy), and its items take that error. */
        int e = weft_future_error(fs[i]);
        if (e != 0)
            for (size_t k = cs[i].begin; k < cs[i].end; k++)
                errs[k] = e;
        weft_future_free(fs[i]);
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            if (errs[i] != 0) {
                rc = errs[i];
                break;
            }
    }
    if (errs != errors)
        free(errs);
    free(fs);
    free(cs);
    return rc;
}

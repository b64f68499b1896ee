/* frame_eva.c - the entry point for Frama-C's value analysis of the frame
 * codec (ci/analyze frama-c): every function called, for each input length
 * n from 0 to N, on an allocation of exactly n bytes of any content, with
 * any limit. A read past the n bytes given is then an invalid access, so
 * "no alarm" means the codec never reads or writes outside its buffers and
 * has no other undefined behaviour. */
#include <stdlib.h>

#include "__fc_builtin.h"
#include "weft/frame.h"

#define N 24

static void check(size_t n)
{
    unsigned char *in = malloc(n ? n : 1);
    unsigned char *out = malloc(n ? n : 1);
    if (!in || !out) {
        free(in);
        free(out);
        return;
    }
    Frama_C_make_unknown((char *)in, n);
    uint64_t limit = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);

    size_t hlen;
    uint64_t plen;
    (void)weft_frame_decode_header(in, n, limit, &hlen, &plen);
    weft_frame f;
    (void)weft_frame_decode(in, n, limit, &f);

    /* Encode a message of up to n bytes into an output of n bytes. */
    size_t mlen = Frama_C_size_t_interval(0, n);
    size_t written;
    (void)weft_frame_encode(in, mlen, out, n, &written);

    /* The argument checks. */
    (void)weft_frame_decode_header(0, n, limit, &hlen, &plen);
    (void)weft_frame_decode_header(in, n, limit, 0, &plen);
    (void)weft_frame_decode(0, n, limit, &f);
    (void)weft_frame_encode(0, mlen, out, n, &written);
    free(in);
    free(out);
}

int main(void)
{
    //@ loop unroll N + 1;
    for (size_t n = 0; n <= N; n++)
        check(n);

    uint64_t len = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
    unsigned char hdr[WEFT_FRAME_HEADER_MAX];
    size_t w = weft_frame_encode_header(len, hdr);
    //@ assert 2 <= w <= WEFT_FRAME_HEADER_MAX;
    return 0;
}

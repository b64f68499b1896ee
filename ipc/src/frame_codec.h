/* frame_codec.h - the frame header codec as inline functions: the one
 * implementation behind weft/frame.h's functions (frame.c) and weft_conn's
 * send and receive, which run it on every message. Internal to ipc; the
 * format is documented in weft/frame.h. Needs only libc. */
#ifndef WEFT_IPC_FRAME_CODEC_H
#define WEFT_IPC_FRAME_CODEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/frame.h"

/* The length-field code (0..3) for a payload of len bytes. */
static inline unsigned weft__frame_len_code(uint64_t len)
{
    if (len <= 0xFFu)
        return 0;
    if (len <= 0xFFFFu)
        return 1;
    if (len <= 0xFFFFFFFFu)
        return 2;
    return 3;
}

/* As weft_frame_encode_header. */
static inline size_t weft__frame_encode_header(uint64_t len, unsigned char *out)
{
    unsigned c = weft__frame_len_code(len);
    size_t width = (size_t)1 << c;
    out[0] = (unsigned char)(WEFT_FRAME_TAG | c);
    for (size_t i = 0; i < width; i++)
        out[1 + i] = (unsigned char)(len >> (8 * i));
    return 1 + width;
}

/* As weft_frame_decode_header, for a b that is not NULL when n > 0. */
static inline int weft__frame_decode_header(const unsigned char *b, size_t n, uint64_t limit,
                                            size_t *header_len, uint64_t *payload_len)
{
    *header_len = WEFT_FRAME_HEADER_MIN;
    *payload_len = 0;
    if (n == 0)
        return EAGAIN;
    if ((b[0] & 0xF8u) != WEFT_FRAME_TAG || (b[0] & 0x04u))
        return EPROTO;
    unsigned c = b[0] & 0x03u;
    size_t width = (size_t)1 << c;
    *header_len = 1 + width;
    if (n < 1 + width)
        return EAGAIN;
    uint64_t len = b[1];
    for (size_t i = 1; i < width; i++)
        len |= (uint64_t)b[1 + i] << (8 * i);
    *payload_len = len;
    if (weft__frame_len_code(len) != c)
        return EPROTO;
    if (limit > WEFT_FRAME_LIMIT_MAX)
        limit = WEFT_FRAME_LIMIT_MAX;
    if (len > limit)
        return EPROTO;
    return 0;
}

#endif /* WEFT_IPC_FRAME_CODEC_H */

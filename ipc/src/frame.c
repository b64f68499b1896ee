/* frame.c - the frame codec (format in weft/frame.h).
 *
 * Design / invariants
 *   Byte loops only, no library calls but memcpy for the payload: the
 *   decoder is the input surface of every connection, so it is kept small
 *   enough for Frama-C's value analysis to prove free of undefined
 *   behaviour (ci/analyze frama-c). The decoder reads only buf[0..n) and
 *   reports a payload length only after comparing it with the limit, so
 *   callers never size an allocation from unchecked bytes. */
#include "weft/frame.h"

#include <errno.h>
#include <string.h>

/* The length-field code (0..3) for a payload of len bytes. */
static unsigned len_code(uint64_t len)
{
    if (len <= 0xFFu)
        return 0;
    if (len <= 0xFFFFu)
        return 1;
    if (len <= 0xFFFFFFFFu)
        return 2;
    return 3;
}

size_t weft_frame_header_len(uint64_t len)
{
    return 1u + ((size_t)1 << len_code(len));
}

size_t weft_frame_encode_header(uint64_t len, unsigned char *out)
{
    unsigned c = len_code(len);
    size_t width = (size_t)1 << c;
    out[0] = (unsigned char)(WEFT_FRAME_TAG | c);
    for (size_t i = 0; i < width; i++)
        out[1 + i] = (unsigned char)(len >> (8 * i));
    return 1 + width;
}

int weft_frame_decode_header(const void *buf, size_t n, uint64_t limit, size_t *header_len,
                             uint64_t *payload_len)
{
    if ((!buf && n) || !header_len || !payload_len)
        return EINVAL;
    const unsigned char *b = (const unsigned char *)buf;
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
    uint64_t len = 0;
    for (size_t i = 0; i < width; i++)
        len |= (uint64_t)b[1 + i] << (8 * i);
    *payload_len = len;
    if (len_code(len) != c)
        return EPROTO;
    if (limit > WEFT_FRAME_LIMIT_MAX)
        limit = WEFT_FRAME_LIMIT_MAX;
    if (len > limit)
        return EPROTO;
    return 0;
}

int weft_frame_encode(const void *msg, size_t len, void *out, size_t cap, size_t *written)
{
    if ((!msg && len) || !out || !written)
        return EINVAL;
    size_t hlen = weft_frame_header_len(len);
    if (len > SIZE_MAX - hlen)
        return EOVERFLOW;
    *written = hlen + len;
    if (cap < hlen + len)
        return ENOBUFS;
    unsigned char *o = (unsigned char *)out;
    weft_frame_encode_header(len, o);
    if (len)
        memcpy(o + hlen, msg, len);
    return 0;
}

int weft_frame_decode(const void *buf, size_t n, uint64_t limit, weft_frame *f)
{
    if ((!buf && n) || !f)
        return EINVAL;
    f->payload = NULL;
    f->payload_len = 0;
    f->header_len = 0;
    f->frame_len = WEFT_FRAME_HEADER_MIN;
    size_t hlen;
    uint64_t plen;
    int rc = weft_frame_decode_header(buf, n, limit, &hlen, &plen);
    if (rc == EAGAIN) {
        f->frame_len = hlen;
        return EAGAIN;
    }
    if (rc)
        return rc;
    /* plen <= WEFT_FRAME_LIMIT_MAX, so the sum fits in a size_t. */
    f->header_len = hlen;
    f->payload_len = plen;
    f->frame_len = hlen + (size_t)plen;
    if (n - hlen < plen)
        return EAGAIN;
    f->payload = (const unsigned char *)buf + hlen;
    return 0;
}

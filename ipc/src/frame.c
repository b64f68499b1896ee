/* frame.c - the frame codec (format in weft/frame.h).
 *
 * Design / invariants
 *   Byte loops only, no library calls but memcpy for the payload: the
 *   decoder is the input surface of every connection, so it is kept small
 *   enough for Frama-C's value analysis to prove free of undefined
 *   behaviour (ci/analyze frama-c). The header code itself is inline in
 *   frame_codec.h, shared with weft_conn. The decoder reads only buf[0..n) and
 *   reports a payload length only after comparing it with the limit, so
 *   callers never size an allocation from unchecked bytes. */
#include "weft/frame.h"

#include <errno.h>
#include <string.h>

#include "frame_codec.h"

size_t weft_frame_header_len(uint64_t len)
{
    return 1u + ((size_t)1 << weft__frame_len_code(len));
}

size_t weft_frame_encode_header(uint64_t len, unsigned char *out)
{
    return weft__frame_encode_header(len, out);
}

int weft_frame_decode_header(const void *buf, size_t n, uint64_t limit, size_t *header_len,
                             uint64_t *payload_len)
{
    if ((!buf && n) || !header_len || !payload_len)
        return EINVAL;
    return weft__frame_decode_header((const unsigned char *)buf, n, limit, header_len,
                                     payload_len);
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

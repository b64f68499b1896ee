/* weft/frame.h - the frame codec: how a message is laid out on a byte
 * stream (a pipe, a socket). Pure functions over buffers, no I/O, no
 * allocation: weft_conn uses them, and they are what the fuzzers feed.
 *
 * Wire format (version 1)
 *
 *     frame   = tag length payload
 *     tag     = one byte, 0xB0 | c, c in 0..3
 *     length  = the payload's length in 1 << c bytes (1, 2, 4 or 8),
 *               little-endian, unsigned
 *     payload = length bytes, opaque
 *
 * The length field is the shortest that holds the length (c = 0 up to 255,
 * 1 up to 65535, 2 up to 2^32 - 1, 3 beyond), so every message has exactly
 * one encoding and a header takes 2, 3, 5 or 9 bytes. A decoder rejects
 * with EPROTO:
 *   - a tag that is not 0xB0..0xB3 (0xB4..0xB7 are reserved for later
 *     versions; any other byte means the stream is not weft frames or has
 *     lost its place);
 *   - a length written longer than it had to be;
 *   - a length over the caller's limit (so a decoder never asks for more
 *     memory than the limit, whatever the bytes say).
 * A stream that ends inside a frame is truncated: weft_conn reports that as
 * EPROTO too; these functions report an incomplete frame as EAGAIN, with
 * the number of bytes needed so far.
 *
 *     unsigned char buf[64];
 *     size_t n;
 *     weft_frame_encode("hi", 2, buf, sizeof buf, &n);   // n == 4
 *     weft_frame f;
 *     weft_frame_decode(buf, n, 1024, &f);              // 0; f.payload -> "hi"
 *
 * Threads: every function is pure (reads its arguments, writes its outputs)
 * and may run concurrently with anything. */
#ifndef WEFT_FRAME_H
#define WEFT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* As WEFT_API_BEGIN (weft/api.h), spelled out: the codec needs only libc. */
#if defined(WEFT_EXPORTS) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC visibility push(default)
#endif

/* The tag's fixed high bits, and the size of the smallest and largest
 * header. */
#define WEFT_FRAME_TAG 0xB0u
#define WEFT_FRAME_HEADER_MIN 2u
#define WEFT_FRAME_HEADER_MAX 9u

/* The largest limit a decoder accepts: a whole frame's size always fits in
 * a size_t and a ptrdiff_t. Larger limits are treated as this one. */
#define WEFT_FRAME_LIMIT_MAX ((uint64_t)(PTRDIFF_MAX - WEFT_FRAME_HEADER_MAX))

/* What weft_frame_decode found. Fields not yet known are 0 / NULL. */
typedef struct weft_frame {
    const unsigned char *payload; /* into the decoded buffer; set on 0 */
    uint64_t payload_len;         /* set once the header is complete */
    size_t header_len;            /* 0 until the header is complete */
    size_t frame_len;             /* on 0: bytes the frame takes;
                                   * on EAGAIN: bytes needed so far (a lower
                                   * bound while the header is incomplete) */
} weft_frame;

/* weft_frame_header_len - the header size for a payload of len bytes.
 * Returns:  2, 3, 5 or 9. */
size_t weft_frame_header_len(uint64_t len);

/* weft_frame_encode_header - write the header for a payload of len bytes.
 * Requires: out has room for WEFT_FRAME_HEADER_MAX bytes.
 * Returns:  the number of bytes written (weft_frame_header_len(len)). */
size_t weft_frame_encode_header(uint64_t len, unsigned char *out);

/* weft_frame_decode_header - read a frame header from the n bytes at buf.
 * Returns:  0 with *header_len and *payload_len set;
 *           EAGAIN when the n bytes are a valid but incomplete header
 *           (*header_len is then the header size, if the tag is there, or
 *           WEFT_FRAME_HEADER_MIN);
 *           EPROTO for a bad tag, a length written longer than needed or a
 *           length over limit (*payload_len is set to it);
 *           EINVAL for NULL pointers (buf may be NULL when n is 0). */
int weft_frame_decode_header(const void *buf, size_t n, uint64_t limit, size_t *header_len,
                             uint64_t *payload_len);

/* weft_frame_encode - write a whole frame (header and payload) for the
 * len bytes at msg into out, which has room for cap bytes.
 * Returns:  0 with *written the frame's size; ENOBUFS when cap is too small
 *           (*written is then the size needed and out is untouched);
 *           EOVERFLOW when the frame's size does not fit in a size_t;
 *           EINVAL for NULL pointers (msg may be NULL when len is 0). */
int weft_frame_encode(const void *msg, size_t len, void *out, size_t cap, size_t *written);

/* weft_frame_decode - find the first frame in the n bytes at buf.
 * Returns:  0 with *f describing a whole frame (f->payload points into
 *           buf); EAGAIN when buf holds a valid but incomplete frame
 *           (f->frame_len is how many bytes to have before trying again);
 *           EPROTO when buf does not start with a valid frame header or
 *           the length is over limit; EINVAL for NULL pointers. */
int weft_frame_decode(const void *buf, size_t n, uint64_t limit, weft_frame *f);

#if defined(WEFT_EXPORTS) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif

#endif /* WEFT_FRAME_H */

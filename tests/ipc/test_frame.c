/* test_frame.c - the frame codec: exact bytes, every header size, every
 * malformed header, incomplete input, and a model checked over all tags
 * and many lengths. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "weft/frame.h"
#include "weft_test.h"

/* The format written out independently of frame.c: the header a payload
 * of len bytes must get. */
static size_t model_header(uint64_t len, unsigned char *out)
{
    size_t width = len <= 0xFF ? 1 : len <= 0xFFFF ? 2 : len <= 0xFFFFFFFFu ? 4 : 8;
    out[0] = (unsigned char)(0xB0 | (width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3));
    for (size_t i = 0; i < width; i++)
        out[1 + i] = (unsigned char)(len >> (8 * i));
    return 1 + width;
}

WT_CASE(test_frame_encode_exact_bytes, "unit valgrind")
{
    unsigned char buf[16];
    size_t n = 0;
    WT_EQ(weft_frame_encode("hi", 2, buf, sizeof buf, &n), 0);
    WT_EQ(n, 4u);
    const unsigned char want[] = {0xB0, 0x02, 'h', 'i'};
    WT_EQ(memcmp(buf, want, 4), 0);

    WT_EQ(weft_frame_encode(NULL, 0, buf, sizeof buf, &n), 0);
    WT_EQ(n, 2u);
    WT_EQ(buf[0], 0xB0);
    WT_EQ(buf[1], 0x00);
}

WT_CASE(test_frame_header_sizes_at_every_boundary, "unit valgrind")
{
    static const struct {
        uint64_t len;
        size_t hlen;
    } cases[] = {
        {0, 2}, {1, 2}, {255, 2}, {256, 3}, {65535, 3}, {65536, 5},
        {0xFFFFFFFFu, 5}, {0x100000000u, 9}, {UINT64_MAX, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char got[WEFT_FRAME_HEADER_MAX], want[WEFT_FRAME_HEADER_MAX];
        WT_EQ(weft_frame_header_len(cases[i].len), cases[i].hlen);
        WT_EQ(weft_frame_encode_header(cases[i].len, got), cases[i].hlen);
        WT_EQ(model_header(cases[i].len, want), cases[i].hlen);
        WT_EQ(memcmp(got, want, cases[i].hlen), 0);

        size_t hlen = 0;
        uint64_t plen = 0;
        WT_EQ(weft_frame_decode_header(got, cases[i].hlen, UINT64_MAX, &hlen, &plen),
              cases[i].len > WEFT_FRAME_LIMIT_MAX ? EPROTO : 0);
        WT_EQ(hlen, cases[i].hlen);
        WT_EQ(plen, cases[i].len);
    }
}

WT_CASE(test_frame_decode_rejects_bad_tags, "unit valgrind")
{
    for (int tag = 0; tag < 256; tag++) {
        unsigned char b[WEFT_FRAME_HEADER_MAX + 1] = {(unsigned char)tag, 1, 0, 0, 0, 0, 0, 0, 0, 0};
        size_t hlen;
        uint64_t plen;
        int rc = weft_frame_decode_header(b, sizeof b, UINT64_MAX, &hlen, &plen);
        if (tag >= 0xB0 && tag <= 0xB3) {
            /* Valid tag; length 1 is canonical only in the 1-byte field. */
            WT_EQ(rc, tag == 0xB0 ? 0 : EPROTO);
        } else {
            WT_EQ(rc, EPROTO);
        }
        /* A bad tag is known bad from its first byte alone. */
        if (tag < 0xB0 || tag > 0xB3)
            WT_EQ(weft_frame_decode_header(b, 1, UINT64_MAX, &hlen, &plen), EPROTO);
    }
}

WT_CASE(test_frame_decode_rejects_overlong_lengths, "unit valgrind")
{
    /* 5 written in 2, 4 and 8 bytes; 300 in 4; 70000 in 8. */
    const unsigned char b1[] = {0xB1, 5, 0};
    const unsigned char b2[] = {0xB2, 5, 0, 0, 0};
    const unsigned char b3[] = {0xB3, 5, 0, 0, 0, 0, 0, 0, 0};
    const unsigned char b4[] = {0xB2, 0x2C, 0x01, 0, 0};
    const unsigned char b5[] = {0xB3, 0x70, 0x11, 0x01, 0, 0, 0, 0, 0};
    const unsigned char *all[] = {b1, b2, b3, b4, b5};
    const size_t sizes[] = {sizeof b1, sizeof b2, sizeof b3, sizeof b4, sizeof b5};
    for (size_t i = 0; i < 5; i++) {
        size_t hlen;
        uint64_t plen;
        WT_EQ(weft_frame_decode_header(all[i], sizes[i], UINT64_MAX, &hlen, &plen), EPROTO);
    }
    /* The shortest forms of the same lengths are accepted. */
    const unsigned char ok[] = {0xB1, 0x2C, 0x01};
    size_t hlen;
    uint64_t plen;
    WT_EQ(weft_frame_decode_header(ok, sizeof ok, UINT64_MAX, &hlen, &plen), 0);
    WT_EQ(plen, 300u);
}

WT_CASE(test_frame_decode_enforces_the_limit, "unit valgrind")
{
    unsigned char h[WEFT_FRAME_HEADER_MAX];
    size_t n = weft_frame_encode_header(1000, h);
    size_t hlen;
    uint64_t plen;
    WT_EQ(weft_frame_decode_header(h, n, 1000, &hlen, &plen), 0);
    WT_EQ(weft_frame_decode_header(h, n, 999, &hlen, &plen), EPROTO);
    WT_EQ(plen, 1000u); /* what it said, for the error message */
    weft_frame f;
    WT_EQ(weft_frame_decode(h, n, 999, &f), EPROTO);
    WT_TRUE(f.payload == NULL);
    /* A limit of 0 admits empty messages only. */
    n = weft_frame_encode_header(0, h);
    WT_EQ(weft_frame_decode_header(h, n, 0, &hlen, &plen), 0);
}

WT_CASE(test_frame_decode_incomplete_says_what_it_needs, "unit valgrind")
{
    unsigned char buf[400];
    unsigned char msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7);
    size_t n = 0;
    WT_EQ(weft_frame_encode(msg, sizeof msg, buf, sizeof buf, &n), 0);
    WT_EQ(n, 303u);
    for (size_t have = 0; have < n; have++) {
        weft_frame f;
        WT_EQ(weft_frame_decode(have ? buf : NULL, have, 4096, &f), EAGAIN);
        WT_TRUE(f.payload == NULL);
        if (have < 3) {
            WT_LE(f.frame_len, n);
            WT_GT(f.frame_len, have);
        } else {
            WT_EQ(f.header_len, 3u);
            WT_EQ(f.payload_len, 300u);
            WT_EQ(f.frame_len, n);
        }
    }
    weft_frame f;
    WT_EQ(weft_frame_decode(buf, n, 4096, &f), 0);
    WT_EQ(f.frame_len, n);
    WT_EQ(f.payload_len, 300u);
    WT_TRUE(f.payload == buf + 3);
    WT_EQ(memcmp(f.payload, msg, sizeof msg), 0);
}

WT_CASE(test_frame_decode_a_stream_of_frames, "unit valgrind")
{
    unsigned char stream[2048];
    size_t at = 0;
    static const size_t lens[] = {0, 1, 255, 256, 700, 3};
    for (size_t i = 0; i < 6; i++) {
        unsigned char m[700];
        memset(m, (int)i + 1, lens[i]);
        size_t n = 0;
        WT_EQ(weft_frame_encode(m, lens[i], stream + at, sizeof stream - at, &n), 0);
        at += n;
    }
    size_t pos = 0;
    for (size_t i = 0; i < 6; i++) {
        weft_frame f;
        WT_EQ(weft_frame_decode(stream + pos, at - pos, 1024, &f), 0);
        WT_EQ(f.payload_len, lens[i]);
        for (size_t j = 0; j < lens[i]; j++)
            WT_EQ(f.payload[j], (unsigned char)(i + 1));
        pos += f.frame_len;
    }
    WT_EQ(pos, at);
}

WT_CASE(test_frame_encode_errors_leave_output_alone, "unit valgrind")
{
    unsigned char buf[8];
    memset(buf, 0xEE, sizeof buf);
    size_t n = 0;
    WT_EQ(weft_frame_encode("0123456789", 10, buf, sizeof buf, &n), ENOBUFS);
    WT_EQ(n, 12u);
    for (size_t i = 0; i < sizeof buf; i++)
        WT_EQ(buf[i], 0xEE);
    WT_EQ(weft_frame_encode(NULL, 1, buf, sizeof buf, &n), EINVAL);
    WT_EQ(weft_frame_encode("x", 1, NULL, 8, &n), EINVAL);
    WT_EQ(weft_frame_encode("x", 1, buf, 8, NULL), EINVAL);
    size_t hlen;
    uint64_t plen;
    weft_frame f;
    WT_EQ(weft_frame_decode_header(NULL, 1, 10, &hlen, &plen), EINVAL);
    WT_EQ(weft_frame_decode_header(buf, 1, 10, NULL, &plen), EINVAL);
    WT_EQ(weft_frame_decode(buf, 1, 10, NULL), EINVAL);
    WT_EQ(weft_frame_decode(NULL, 0, 10, &f), EAGAIN);
}

/* Every tag byte followed by length bytes from a small generator, decoded
 * and compared with what the format says. */
WT_CASE(test_frame_decode_agrees_with_the_model, "unit")
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int tag = 0; tag < 256; tag++) {
        for (int k = 0; k < 2000; k++) {
            unsigned char b[WEFT_FRAME_HEADER_MAX];
            b[0] = (unsigned char)tag;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* Mostly small numbers, so that every width sees canonical and
             * non-canonical values. */
            uint64_t v = x >> (x & 63);
            for (int i = 1; i < 9; i++)
                b[i] = (unsigned char)(v >> (8 * (i - 1)));
            uint64_t limit = (k & 1) ? UINT64_MAX : (x >> 40);
            size_t hlen;
            uint64_t plen;
            int rc = weft_frame_decode_header(b, sizeof b, limit, &hlen, &plen);

            int want;
            if (tag < 0xB0 || tag > 0xB3) {
                want = EPROTO;
            } else {
                size_t width = (size_t)1 << (tag & 3);
                uint64_t len = 0;
                for (size_t i = 0; i < width; i++)
                    len |= (uint64_t)b[1 + i] << (8 * i);
                unsigned char canon[WEFT_FRAME_HEADER_MAX];
                uint64_t lim = limit > WEFT_FRAME_LIMIT_MAX ? WEFT_FRAME_LIMIT_MAX : limit;
                if (model_header(len, canon) != 1 + width || len > lim)
                    want = EPROTO;
                else
                    want = 0;
                if (want == 0) {
                    WT_EQ(rc, 0);
                    WT_EQ(plen, len);
                    WT_EQ(hlen, 1 + width);
                }
            }
            WT_EQ(rc, want);
        }
    }
}

WT_MAIN()

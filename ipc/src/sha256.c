/* sha256.c - SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), written
 * for the listener's authentication; checked against the FIPS and RFC 4231
 * test vectors in tests/ipc/test_listener.c. */
#include "sha256.h"

#include <string.h>

typedef struct {
    uint32_t h[8];
    unsigned char block[64];
    size_t used;    /* bytes in block */
    uint64_t total; /* bytes hashed */
} sha256_ctx;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const unsigned char b[64])
{
    uint32_t w[64];
    for (size_t i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
               (uint32_t)b[4 * i + 2] << 8 | (uint32_t)b[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = bb;
        bb = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

static void init(sha256_ctx *x)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(x->h, iv, sizeof iv);
    x->used = 0;
    x->total = 0;
}

static void update(sha256_ctx *x, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    x->total += n;
    while (n > 0) {
        size_t take = 64 - x->used < n ? 64 - x->used : n;
        memcpy(x->block + x->used, b, take);
        x->used += take;
        b += take;
        n -= take;
        if (x->used == 64) {
            compress(x->h, x->block);
            x->used = 0;
        }
    }
}

static void final(sha256_ctx *x, unsigned char out[WEFT__SHA256_LEN])
{
    uint64_t bits = x->total * 8;
    static const unsigned char pad[64] = {0x80};
    size_t padlen = x->used < 56 ? 56 - x->used : 120 - x->used;
    update(x, pad, padlen);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    update(x, len, 8);
    for (size_t i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(x->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(x->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(x->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)x->h[i];
    }
}

void weft__sha256(const void *p, size_t n, unsigned char out[WEFT__SHA256_LEN])
{
    sha256_ctx x;
    init(&x);
    update(&x, p, n);
    final(&x, out);
}

void weft__hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
                       unsigned char out[WEFT__SHA256_LEN])
{
    unsigned char k[64] = {0}, pad[64], inner[WEFT__SHA256_LEN];
    if (keylen > 64)
        weft__sha256(key, keylen, k);
    else if (keylen > 0)
        memcpy(k, key, keylen);
    sha256_ctx x;
    for (int i = 0; i < 64; i++)
        pad[i] = (unsigned char)(k[i] ^ 0x36);
    init(&x);
    update(&x, pad, 64);
    update(&x, msg, n);
    final(&x, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = (unsigned char)(k[i] ^ 0x5c);
    init(&x);
    update(&x, pad, 64);
    update(&x, inner, sizeof inner);
    final(&x, out);
}

int weft__same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

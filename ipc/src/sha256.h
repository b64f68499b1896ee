/* sha256.h - SHA-256 and HMAC-SHA-256 (FIPS 180-4, RFC 2104), for the
 * listener's challenge-response. Internal to ipc. */
#ifndef WEFT_IPC_SHA256_H
#define WEFT_IPC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define WEFT__SHA256_LEN 32u

/* The SHA-256 digest of the n bytes at p. */
void weft__sha256(const void *p, size_t n, unsigned char out[WEFT__SHA256_LEN]);

/* HMAC-SHA-256 of msg under key. */
void weft__hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
                       unsigned char out[WEFT__SHA256_LEN]);

/* 1 when the n bytes at a and b are equal, in time that does not depend
 * on where they differ. */
int weft__same_bytes(const unsigned char *a, const unsigned char *b, size_t n);

#endif /* WEFT_IPC_SHA256_H */

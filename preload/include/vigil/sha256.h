/*
 * A small embedded SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), so the
 * library needs nothing beyond libc. Checked against the FIPS examples and
 * the RFC 4231 vectors in tests/unit.c.
 */
#ifndef VIGIL_SHA256_H
#define VIGIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define VG_SHA256_LEN 32
#define VG_SHA256_BLOCK 64
/* Longest HMAC key kept as is; longer keys are hashed first (RFC 2104). */
#define VG_HMAC_KEY_MAX 64

/** Running SHA-256 state. Plain data: copy it to fork a computation. */
struct vg_sha256 {
    uint32_t h[8];
    uint64_t total;
    uint8_t block[VG_SHA256_BLOCK];
    size_t used;
};

/**
 * Switches the compression to the x86-64 SHA extensions (on = 1) or back to
 * the portable code (on = 0) for every later hash. The caller must know
 * that the CPU has SHA, SSSE3 and SSE4.1 and that they are usable (the
 * library asks libc, never CPUID: see src/preload.c). Returns whether the
 * extensions are now in use: always 0 on other architectures. Not
 * thread-safe: call before hashing starts.
 */
int vg_sha256_accelerate(int on);

/** Starts a hash. Never fails. */
void vg_sha256_init(struct vg_sha256 *s);

/** Adds n bytes (p may be NULL when n is 0). Never fails. */
void vg_sha256_update(struct vg_sha256 *s, const void *p, size_t n);

/** Writes the 32-byte digest to out. The state must be re-initialised. */
void vg_sha256_final(struct vg_sha256 *s, uint8_t out[VG_SHA256_LEN]);

/** HMAC-SHA256 in progress: the inner hash and the outer key pad. */
struct vg_hmac {
    struct vg_sha256 inner;
    uint8_t opad[VG_SHA256_BLOCK];
};

/** Starts an HMAC with a key of any length. Never fails. */
void vg_hmac_init(struct vg_hmac *m, const uint8_t *key, size_t key_len);

/** Adds message bytes. Never fails. */
void vg_hmac_update(struct vg_hmac *m, const void *p, size_t n);

/** Writes the 32-byte MAC and wipes the key material from m. */
void vg_hmac_final(struct vg_hmac *m, uint8_t out[VG_SHA256_LEN]);

#endif

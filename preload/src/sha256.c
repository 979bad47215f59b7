/* SHA-256 and HMAC-SHA256; see include/vigil/sha256.h. */
#include "vigil/sha256.h"

#include <string.h>

static const uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/*
 * Eight rounds per loop pass with the working variables renamed instead of
 * shifted, and the message schedule kept in a 16-word ring: about 40 %
 * fewer instructions than the textbook loop at -O2, portable C.
 */
#define S0(x) (ROR(x, 2) ^ ROR(x, 13) ^ ROR(x, 22))
#define S1(x) (ROR(x, 6) ^ ROR(x, 11) ^ ROR(x, 25))
#define G0(x) (ROR(x, 7) ^ ROR(x, 18) ^ ((x) >> 3))
#define G1(x) (ROR(x, 17) ^ ROR(x, 19) ^ ((x) >> 10))
#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
/* Word j (0..15) of the ring: as loaded, or updated to w[i + j]. */
#define W0(j) w[j]
#define WS(j)                                                                \
    (w[j] += G1(w[((j) + 14) & 15]) + w[((j) + 9) & 15] +                    \
             G0(w[((j) + 1) & 15]))
#define ROUND(a, b, c, d, e, f, g, hh, j, W)                                 \
    do {                                                                     \
        uint32_t t1_ = (hh) + S1(e) + CH(e, f, g) + k[i + (j)] + W(j);       \
        (d) += t1_;                                                          \
        (hh) = t1_ + S0(a) + MAJ(a, b, c);                                   \
    } while (0)
#define SIXTEEN(W)                                                           \
    do {                                                                     \
        ROUND(a, b, c, d, e, f, g, hh, 0, W);                                \
        ROUND(hh, a, b, c, d, e, f, g, 1, W);                                \
        ROUND(g, hh, a, b, c, d, e, f, 2, W);                                \
        ROUND(f, g, hh, a, b, c, d, e, 3, W);                                \
        ROUND(e, f, g, hh, a, b, c, d, 4, W);                                \
        ROUND(d, e, f, g, hh, a, b, c, 5, W);                                \
        ROUND(c, d, e, f, g, hh, a, b, 6, W);                                \
        ROUND(b, c, d, e, f, g, hh, a, 7, W);                                \
        ROUND(a, b, c, d, e, f, g, hh, 8, W);                                \
        ROUND(hh, a, b, c, d, e, f, g, 9, W);                                \
        ROUND(g, hh, a, b, c, d, e, f, 10, W);                               \
        ROUND(f, g, hh, a, b, c, d, e, 11, W);                               \
        ROUND(e, f, g, hh, a, b, c, d, 12, W);                               \
        ROUND(d, e, f, g, hh, a, b, c, 13, W);                               \
        ROUND(c, d, e, f, g, hh, a, b, 14, W);                               \
        ROUND(b, c, d, e, f, g, hh, a, 15, W);                               \
    } while (0)

static void compress_portable(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[16];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
    int i;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    }
    i = 0;
    SIXTEEN(W0);
    for (i = 16; i < 64; i += 16) {
        SIXTEEN(WS);
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define VG_SHA_TARGET __attribute__((target("sha,ssse3,sse4.1")))

/* Four rounds: w holds W[i..i+3], k the constants for them. */
#define NI_ROUNDS(w, i)                                                      \
    do {                                                                     \
        __m128i m = _mm_add_epi32(                                           \
            (w), _mm_loadu_si128((const __m128i *)(const void *)&k[(i)]));   \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);                         \
        m = _mm_shuffle_epi32(m, 0x0E);                                      \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, m);                         \
    } while (0)

/*
 * The same compression with the SHA extensions (Intel's SHA-NI paper:
 * state kept as ABEF/CDGH, message schedule with sha256msg1/msg2). About
 * ten times faster than the portable code; used only when
 * vg_sha256_accelerate(1) said the CPU and libc report them usable.
 */
VG_SHA_TARGET static void compress_ni(uint32_t h[8], const uint8_t *p)
{
    const __m128i swap =
        _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);
    __m128i cdgh = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);
    __m128i abef;
    __m128i abef0;
    __m128i cdgh0;
    __m128i w[4];
    int i;

    tmp = _mm_shuffle_epi32(tmp, 0xB1);   /* CDAB */
    cdgh = _mm_shuffle_epi32(cdgh, 0x1B); /* EFGH */
    abef = _mm_alignr_epi8(tmp, cdgh, 8);
    cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);
    abef0 = abef;
    cdgh0 = cdgh;
    for (i = 0; i < 4; i++) {
        w[i] = _mm_shuffle_epi8(
            _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)),
            swap);
        NI_ROUNDS(w[i], 4 * i);
    }
    for (i = 4; i < 16; i++) {
        /* W[i] from W[i-4] (w[i & 3]), W[i-3], W[i-2] and W[i-1]. */
        __m128i w4 = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);

        w4 = _mm_add_epi32(w4, _mm_alignr_epi8(w[(i + 3) & 3],
                                               w[(i + 2) & 3], 4));
        w[i & 3] = _mm_sha256msg2_epu32(w4, w[(i + 3) & 3]);
        NI_ROUNDS(w[i & 3], 4 * i);
    }
    abef = _mm_add_epi32(abef, abef0);
    cdgh = _mm_add_epi32(cdgh, cdgh0);
    tmp = _mm_shuffle_epi32(abef, 0x1B);  /* FEBA */
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1); /* DCHG */
    _mm_storeu_si128((__m128i *)(void *)&h[0],
                     _mm_blend_epi16(tmp, cdgh, 0xF0)); /* DCBA */
    _mm_storeu_si128((__m128i *)(void *)&h[4],
                     _mm_alignr_epi8(cdgh, tmp, 8)); /* HGFE */
}
#define VG_HAVE_NI 1
#endif

/* Set by vg_sha256_accelerate; read on every block. */
static int use_ni;

int vg_sha256_accelerate(int on)
{
#ifdef VG_HAVE_NI
    use_ni = on != 0;
#else
    use_ni = 0;
    (void)on;
#endif
    return use_ni;
}

static void compress(uint32_t h[8], const uint8_t *p)
{
#ifdef VG_HAVE_NI
    if (use_ni) {
        compress_ni(h, p);
        return;
    }
#endif
    compress_portable(h, p);
}

void vg_sha256_init(struct vg_sha256 *s)
{
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    memcpy(s->h, iv, sizeof(iv));
    s->total = 0;
    s->used = 0;
}

void vg_sha256_update(struct vg_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;

    if (n == 0) {
        return; /* data may be NULL: no memcpy from it */
    }
    s->total += n;
    if (s->used > 0) {
        size_t take = VG_SHA256_BLOCK - s->used;

        if (take > n) {
            take = n;
        }
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used < VG_SHA256_BLOCK) {
            return;
        }
        compress(s->h, s->block);
        s->used = 0;
    }
    while (n >= VG_SHA256_BLOCK) {
        compress(s->h, p);
        p += VG_SHA256_BLOCK;
        n -= VG_SHA256_BLOCK;
    }
    if (n > 0) {
        memcpy(s->block, p, n);
        s->used = n;
    }
}

void vg_sha256_final(struct vg_sha256 *s, uint8_t out[VG_SHA256_LEN])
{
    uint64_t bits = s->total * 8;
    int i;

    s->block[s->used++] = 0x80;
    if (s->used > VG_SHA256_BLOCK - 8) {
        memset(s->block + s->used, 0, VG_SHA256_BLOCK - s->used);
        compress(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, VG_SHA256_BLOCK - 8 - s->used);
    for (i = 0; i < 8; i++) {
        s->block[VG_SHA256_BLOCK - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    compress(s->h, s->block);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void vg_hmac_init(struct vg_hmac *m, const uint8_t *key, size_t key_len)
{
    uint8_t k0[VG_SHA256_BLOCK];
    uint8_t ipad[VG_SHA256_BLOCK];
    int i;

    memset(k0, 0, sizeof(k0));
    if (key_len > VG_SHA256_BLOCK) {
        vg_sha256_init(&m->inner);
        vg_sha256_update(&m->inner, key, key_len);
        vg_sha256_final(&m->inner, k0);
    } else if (key_len > 0) {
        memcpy(k0, key, key_len);
    }
    for (i = 0; i < VG_SHA256_BLOCK; i++) {
        ipad[i] = k0[i] ^ 0x36;
        m->opad[i] = k0[i] ^ 0x5c;
    }
    vg_sha256_init(&m->inner);
    vg_sha256_update(&m->inner, ipad, sizeof(ipad));
    memset(k0, 0, sizeof(k0));
    memset(ipad, 0, sizeof(ipad));
}

void vg_hmac_update(struct vg_hmac *m, const void *p, size_t n)
{
    vg_sha256_update(&m->inner, p, n);
}

void vg_hmac_final(struct vg_hmac *m, uint8_t out[VG_SHA256_LEN])
{
    uint8_t inner[VG_SHA256_LEN];
    struct vg_sha256 outer;

    vg_sha256_final(&m->inner, inner);
    vg_sha256_init(&outer);
    vg_sha256_update(&outer, m->opad, sizeof(m->opad));
    vg_sha256_update(&outer, inner, sizeof(inner));
    vg_sha256_final(&outer, out);
    memset(m, 0, sizeof(*m));
}

/*
 * Unit tests of the library core: the protobuf encoder, SHA-256 and
 * HMAC-SHA256 (FIPS 180-4 examples, RFC 4231), the note parser (two note
 * segments, 4- and 8-byte alignment, malformed notes), the trimming rule,
 * the collector syntax and the configuration precedence.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vigil/config.h"
#include "vigil/event.h"
#include "vigil/notes.h"
#include "vigil/pb.h"
#include "vigil/sha256.h"

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;

    while (hex[0] != '\0' && hex[1] != '\0') {
        unsigned v;

        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static int eq_hex(const uint8_t *p, size_t n, const char *hex)
{
    uint8_t want[512];
    size_t wn = unhex(hex, want);

    return wn == n && memcmp(p, want, n) == 0;
}

static void test_pb(void)
{
    static const struct {
        uint64_t v;
        const char *hex;
    } varints[] = {
        {1, "0801"},
        {127, "087f"},
        {128, "088001"},
        {300, "08ac02"},
        {0xffffffffffffffffu, "08ffffffffffffffffff01"},
        {0, ""},
    };
    uint8_t buf[512];
    uint8_t big[300];
    struct vg_pb pb;
    size_t i;
    size_t m;

    for (i = 0; i < sizeof(varints) / sizeof(varints[0]); i++) {
        vg_pb_init(&pb, buf, sizeof(buf));
        vg_pb_uint(&pb, 1, varints[i].v);
        CHECK(eq_hex(buf, pb.len, varints[i].hex), varints[i].hex);
    }
    vg_pb_init(&pb, buf, sizeof(buf));
    vg_pb_fixed64(&pb, 6, 0x0102030405060708u);
    CHECK(eq_hex(buf, pb.len, "310807060504030201"), "fixed64 LE");
    vg_pb_init(&pb, buf, sizeof(buf));
    vg_pb_bytes(&pb, 8, "", 0);
    vg_pb_opt_bytes(&pb, 9, "", 0);
    CHECK(eq_hex(buf, pb.len, "4200"), "empty repeated kept, optional not");

    /* A nested body of 200 bytes needs a two-byte length: content moves. */
    memset(big, 'x', sizeof(big));
    vg_pb_init(&pb, buf, sizeof(buf));
    m = vg_pb_begin(&pb, 2);
    vg_pb_bytes(&pb, 1, big, 197);
    vg_pb_end(&pb, m, 0);
    CHECK(pb.len == 1 + 2 + 200 && buf[0] == 0x12 && buf[1] == 0xc8 &&
              buf[2] == 0x01 && buf[3] == 0x0a && buf[4] == 0xc5 &&
              buf[5] == 0x01 && buf[6] == 'x' && buf[202] == 'x',
          "nested length widened canonically");
    vg_pb_init(&pb, buf, sizeof(buf));
    vg_pb_uint(&pb, 1, 5);
    m = vg_pb_begin(&pb, 2000);
    vg_pb_end(&pb, m, 1);
    CHECK(pb.len == 2, "empty nested message dropped with its long tag");
    vg_pb_init(&pb, buf, 4);
    vg_pb_bytes(&pb, 1, big, 10);
    vg_pb_uint(&pb, 2, 1);
    CHECK(pb.err == -ENOSPC, "overflow sticks as -ENOSPC");
}

static void test_sha256(void)
{
    static const struct {
        const char *msg;
        const char *hex;
    } vectors[] = {
        {"",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    struct vg_sha256 s;
    uint8_t out[32];
    uint8_t a[1000];
    size_t i;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        vg_sha256_init(&s);
        vg_sha256_update(&s, vectors[i].msg, strlen(vectors[i].msg));
        vg_sha256_final(&s, out);
        CHECK(eq_hex(out, 32, vectors[i].hex), vectors[i].msg);
    }
    /* One million 'a', fed in odd-sized pieces to cross block edges. */
    memset(a, 'a', sizeof(a));
    vg_sha256_init(&s);
    for (i = 0; i < 1000000; i += 997) {
        vg_sha256_update(&s, a, 1000000 - i < 997 ? 1000000 - i : 997);
    }
    vg_sha256_final(&s, out);
    CHECK(eq_hex(out, 32,
                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc71"
                 "12cd0"),
          "million a");
}

/*
 * The SHA extensions, where this CPU has them, give the portable code's
 * digest for every length from 0 to 700 bytes (every padding case) and
 * the HMAC vectors; elsewhere vg_sha256_accelerate must refuse.
 */
static void test_sha256_extensions(void)
{
    uint8_t msg[700];
    uint8_t a[32];
    uint8_t b[32];
    struct vg_sha256 s;
    size_t n;
    int same = 1;
    int have = 0;

#if defined(__x86_64__)
    __builtin_cpu_init();
    have = __builtin_cpu_supports("sha") &&
           __builtin_cpu_supports("sse4.1") &&
           __builtin_cpu_supports("ssse3");
#endif
    if (!have) {
        CHECK(vg_sha256_accelerate(0) == 0, "no SHA extensions: portable");
        printf("(this CPU has no SHA extensions: only the portable code)\n");
        return;
    }
    for (n = 0; n < sizeof(msg); n++) {
        msg[n] = (uint8_t)(n * 131 + 7);
    }
    for (n = 0; n <= sizeof(msg); n++) {
        vg_sha256_accelerate(0);
        vg_sha256_init(&s);
        vg_sha256_update(&s, msg, n);
        vg_sha256_final(&s, a);
        vg_sha256_accelerate(1);
        vg_sha256_init(&s);
        vg_sha256_update(&s, msg, n);
        vg_sha256_final(&s, b);
        same = same && memcmp(a, b, 32) == 0;
    }
    vg_sha256_accelerate(0);
    CHECK(same, "SHA extensions: same digest as portable, 0..700 bytes");
}

/* dl_iterate_phdr callback: vg_elf_symbol in libc. */
static int find_in_libc(struct dl_phdr_info *info, size_t size, void *p)
{
    const void **found = p;
    size_t n = strlen(info->dlpi_name);

    (void)size;
    if (n >= 10 && strcmp(info->dlpi_name + n - 10, "/libc.so.6") == 0) {
        found[0] = vg_elf_symbol(info->dlpi_addr, info->dlpi_phdr,
                                 info->dlpi_phnum, "getpid");
        found[1] = vg_elf_symbol(info->dlpi_addr, info->dlpi_phdr,
                                 info->dlpi_phnum, "memcpy");
        found[2] = vg_elf_symbol(info->dlpi_addr, info->dlpi_phdr,
                                 info->dlpi_phnum, "vg_no_such_symbol");
        found[3] = info->dlpi_name;
        return 1;
    }
    return 0;
}

/* The GNU-hash lookup finds what dlsym finds, and nothing made up. */
static void test_elf_symbol(void)
{
    const void *found[4] = {NULL, NULL, NULL, NULL};
    void *libc;

    dl_iterate_phdr(find_in_libc, found);
    CHECK(found[3] != NULL, "libc.so.6 mapped");
    if (found[3] == NULL) {
        return;
    }
    libc = dlopen(found[3], RTLD_NOW | RTLD_NOLOAD);
    CHECK(libc != NULL && found[0] == dlsym(libc, "getpid") &&
              found[0] != NULL,
          "vg_elf_symbol: getpid as dlsym finds it");
    CHECK(found[1] != NULL, "vg_elf_symbol: an IFUNC symbol (memcpy)");
    CHECK(found[2] == NULL, "vg_elf_symbol: an absent symbol is NULL");
    if (libc != NULL) {
        dlclose(libc);
    }
}

static void test_hmac(void)
{
    /* RFC 4231 test cases 1-7 (case 5 compares the first 128 bits). */
    static const struct {
        const char *key;
        const char *data;
        const char *mac;
    } vectors[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665",
         "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
         "dddddddddddddddddddddddddddddddddddd",
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"0102030405060708090a0b0c0d0e0f10111213141516171819",
         "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
         "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
         "546573742057697468205472756e636174696f6e",
         "a3b6167473100ee06e0c796c2955552b"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaa",
         "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
         "65204b6579202d2048617368204b6579204669727374",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaa",
         "5468697320697320612074657374207573696e672061206c6172676572207468"
         "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
         "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
         "647320746f20626520686173686564206265666f7265206265696e6720757365"
         "642062792074686520484d414320616c676f726974686d2e",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    size_t i;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t key[256];
        uint8_t data[256];
        uint8_t want[32];
        uint8_t out[32];
        size_t kn = unhex(vectors[i].key, key);
        size_t dn = unhex(vectors[i].data, data);
        size_t wn = unhex(vectors[i].mac, want);
        struct vg_hmac h;
        char what[32];

        vg_hmac_init(&h, key, kn);
        vg_hmac_update(&h, data, dn);
        vg_hmac_final(&h, out);
        snprintf(what, sizeof(what), "RFC 4231 case %zu", i + 1);
        CHECK(memcmp(out, want, wn) == 0, what);
    }
}

/* Appends one note with the given alignment; returns the new length. */
static size_t add_note(uint8_t *seg, size_t at, size_t align,
                       const char *name, size_t namesz, uint32_t type,
                       const uint8_t *desc, uint32_t descsz)
{
    uint32_t hdr[3];
    size_t desc_at;

    hdr[0] = (uint32_t)namesz;
    hdr[1] = descsz;
    hdr[2] = type;
    memcpy(seg + at, hdr, 12);
    memcpy(seg + at + 12, name, namesz);
    desc_at = (12 + namesz + align - 1) / align * align;
    memcpy(seg + at + desc_at, desc, descsz);
    return at + (desc_at + descsz + align - 1) / align * align;
}

static void test_notes(void)
{
    /* One aligned arena holds both segments so one PT_LOAD covers them. */
    static _Alignas(8) uint8_t arena[1024];
    uint8_t *seg8 = arena;
    uint8_t *seg4 = arena + 512;
    uint8_t wm[40];
    uint8_t bid[20];
    uint8_t prop[16];
    struct vg_notes notes;
    ElfW(Phdr) ph[4];
    size_t n8 = 0;
    size_t n4 = 0;
    int rc;

    memset(arena, 0, sizeof(arena));
    memset(wm, 0xab, sizeof(wm));
    memset(bid, 0x42, sizeof(bid));
    memset(prop, 0, sizeof(prop));
    /* 8-aligned: a GNU property note, then the watermark ("Vigil" is six
     * bytes with its NUL: its desc starts at 24, not at 20). */
    n8 = add_note(seg8, n8, 8, "GNU", 4, 5, prop, sizeof(prop));
    n8 = add_note(seg8, n8, 8, "Vigil", 6, VG_NT_WATERMARK, wm,
                  sizeof(wm));
    /* 4-aligned: the build-id. */
    n4 = add_note(seg4, n4, 4, "GNU", 4, NT_GNU_BUILD_ID, bid, sizeof(bid));

    memset(&notes, 0, sizeof(notes));
    rc = vg_notes_scan(seg8, n8, 8, &notes);
    CHECK(rc == 2 && notes.watermark == seg8 + 32 + 24 &&
              notes.watermark_len == sizeof(wm),
          "8-aligned: watermark desc at offset 24 after a property note");
    memset(&notes, 0, sizeof(notes));
    rc = vg_notes_scan(seg8, n8, 4, &notes);
    CHECK(notes.watermark == NULL || notes.watermark != seg8 + 32 + 24,
          "4-byte arithmetic on an 8-aligned segment does not find it");

    /* Two note segments: watermark in the first, build-id in the second. */
    memset(ph, 0, sizeof(ph));
    ph[0].p_type = PT_LOAD;
    ph[0].p_vaddr = (uintptr_t)arena;
    ph[0].p_filesz = ph[0].p_memsz = sizeof(arena);
    ph[1].p_type = PT_NOTE;
    ph[1].p_vaddr = (uintptr_t)seg8;
    ph[1].p_memsz = n8;
    ph[1].p_align = 8;
    ph[2].p_type = PT_NOTE;
    ph[2].p_vaddr = (uintptr_t)seg4;
    ph[2].p_memsz = n4;
    ph[2].p_align = 4;
    memset(&notes, 0, sizeof(notes));
    rc = vg_notes_from_phdrs(0, ph, 3, &notes);
    CHECK(rc == 2 && notes.watermark == seg8 + 32 + 24 &&
              notes.build_id == seg4 + 16 && notes.build_id_len == 20,
          "both note segments scanned");

    /* A note segment outside every PT_LOAD is never read. */
    ph[3] = ph[1];
    ph[3].p_vaddr = (uintptr_t)arena + sizeof(arena) - 8;
    ph[3].p_memsz = 64;
    memset(&notes, 0, sizeof(notes));
    rc = vg_notes_from_phdrs(0, ph + 2, 2, &notes);
    CHECK(rc == 0, "note segments outside PT_LOAD are skipped");
    memset(&notes, 0, sizeof(notes));
    ph[0].p_filesz = 16;
    rc = vg_notes_from_phdrs(0, ph, 3, &notes);
    CHECK(rc == 0 && notes.build_id == NULL, "beyond p_filesz is skipped");

    /* Malformed: a descsz past the end stops the scan, keeps no garbage. */
    {
        uint8_t bad[64];
        uint32_t hdr[3] = {4, 0x7fffffff, NT_GNU_BUILD_ID};

        memset(bad, 0, sizeof(bad));
        memcpy(bad, hdr, sizeof(hdr));
        memcpy(bad + 12, "GNU", 4);
        memset(&notes, 0, sizeof(notes));
        rc = vg_notes_scan(bad, sizeof(bad), 4, &notes);
        CHECK(rc == -EINVAL && notes.build_id == NULL, "huge descsz");
        hdr[1] = 60;
        memcpy(bad, hdr, sizeof(hdr));
        rc = vg_notes_scan(bad, sizeof(bad), 4, &notes);
        CHECK(rc == -EINVAL, "desc one past the end");
        rc = vg_notes_scan(bad, 11, 4, &notes);
        CHECK(rc == 0, "segment shorter than a header");
    }
}

/* Minimal reader: finds the first field f of a message (len-delimited). */
static const uint8_t *find_field(const uint8_t *p, size_t n, uint32_t f,
                                 size_t *len, uint64_t *value, int nth)
{
    size_t at = 0;

    while (at < n) {
        uint64_t tag = 0;
        uint64_t v = 0;
        int shift = 0;
        const uint8_t *start;

        do {
            tag |= (uint64_t)(p[at] & 0x7f) << shift;
            shift += 7;
        } while (p[at++] & 0x80);
        shift = 0;
        if ((tag & 7) == 1) {
            memcpy(&v, p + at, 8);
            at += 8;
            start = p + at - 8;
            *len = 8;
        } else {
            do {
                v |= (uint64_t)(p[at] & 0x7f) << shift;
                shift += 7;
            } while (p[at++] & 0x80);
            start = p + at;
            *len = 0;
            if ((tag & 7) == 2) {
                *len = (size_t)v;
                at += (size_t)v;
            }
        }
        if ((tag >> 3) == f && nth-- == 0) {
            *value = v;
            return start;
        }
    }
    return NULL;
}

static uint64_t count_field(const uint8_t *p, size_t n, uint32_t f)
{
    uint64_t count = 0;
    size_t len;
    uint64_t v;

    while (find_field(p, n, f, &len, &v, (int)count) != NULL) {
        count++;
    }
    return count;
}

static void test_trim(void)
{
    static uint8_t out[VG_OUT_CAP];
    static char args[100][1001];
    static char huge[10000];
    static char *argv[102];
    static struct vg_config cfg;
    struct vg_envelope env;
    struct vg_start s;
    struct vg_datagram dg;
    const uint8_t *rec;
    const uint8_t *start;
    const uint8_t *tr;
    size_t start_len;
    size_t tr_len;
    size_t len;
    uint64_t v;
    int i;
    int rc;

    vg_config_defaults(&cfg);
    memset(&env, 0, sizeof(env));
    env.host = "node001";
    env.producer_id = "preload/x/1";
    env.sequence = 1;
    memset(huge, 'h', sizeof(huge) - 1);
    argv[0] = huge;
    for (i = 0; i < 100; i++) {
        memset(args[i], 'a' + i % 26, 1000);
        argv[i + 1] = args[i];
    }
    argv[101] = NULL;
    memset(&s, 0, sizeof(s));
    s.pid = 42;
    s.argc = 101;
    s.argv = argv;
    rc = vg_encode_start(&env, &s, &cfg, out, &dg);
    CHECK(rc == 0 && dg.len <= 4 + cfg.max_record_bytes, "fits the limit");
    rec = dg.p + 4;
    start = find_field(rec, dg.len - 4, 2, &start_len, &v, 0);
    CHECK(start != NULL, "start body present");
    if (start == NULL) {
        return;
    }
    /* argv budget: a quarter of (60000 - 384 - 64) = 14888 bytes. The
     * first argument is cut to 4096 (4099 on the wire), then 1003-byte
     * arguments: 10 fit, 90 are dropped. */
    CHECK(count_field(start, start_len, 8) == 11, "11 arguments kept");
    find_field(start, start_len, 8, &len, &v, 0);
    CHECK(len == VG_VALUE_MAX, "long argument cut to VG_VALUE_MAX");
    tr = find_field(start, start_len, 17, &tr_len, &v, 0);
    CHECK(tr != NULL && find_field(tr, tr_len, 1, &len, &v, 0) != NULL &&
              v == 90,
          "argv_dropped = 90");
    CHECK(tr != NULL && find_field(tr, tr_len, 4, &len, &v, 0) != NULL &&
              v == 1,
          "value_shortened set");

    /* A small limit is respected too, and nothing trimmed means no
     * Truncation message at all. */
    CHECK(vg_config_set(&cfg, "max_record_bytes", "16384") == 0,
          "max_record_bytes accepted");
    rc = vg_encode_start(&env, &s, &cfg, out, &dg);
    CHECK(rc == 0 && dg.len <= 4 + 16384, "fits a 16 KiB limit");
    /* At 16 KiB the argv budget (3984) is below one capped value. */
    CHECK(vg_config_set(&cfg, "max_record_bytes", "60000") == 0, "reset");
    s.argc = 3;
    rc = vg_encode_start(&env, &s, &cfg, out, &dg);
    start = find_field(dg.p + 4, dg.len - 4, 2, &start_len, &v, 0);
    CHECK(rc == 0 && start != NULL &&
              find_field(start, start_len, 8, &len, &v, 0) != NULL &&
              find_field(start, start_len, 17, &len, &v, 0) != NULL,
          "shortened only: truncation present");
    argv[0] = "ls";
    rc = vg_encode_start(&env, &s, &cfg, out, &dg);
    start = find_field(dg.p + 4, dg.len - 4, 2, &start_len, &v, 0);
    CHECK(rc == 0 && start != NULL &&
              find_field(start, start_len, 17, &len, &v, 0) == NULL,
          "nothing trimmed: no truncation field");
}

static void test_config(void)
{
    static const struct {
        const char *spec;
        int rc;
        int family;
    } collectors[] = {
        {"udp://127.0.0.1:7971", 0, AF_INET},
        {"udp://[::1]:7971", 0, AF_INET6},
        {"udp://[fe80::1%eth0]:7971", -EINVAL, 0},
        {"unix:/run/vigil/gateway.sock", 0, AF_UNIX},
        {"udp://localhost:7971", -EINVAL, 0},
        {"udp://gateway.example.org:7971", -EINVAL, 0},
        {"udp://127.0.0.1", -EINVAL, 0},
        {"udp://127.0.0.1:0", -EINVAL, 0},
        {"udp://127.0.0.1:65536", -EINVAL, 0},
        {"udp://127.0.0.1:12x", -EINVAL, 0},
        {"tcp://127.0.0.1:7971", -EINVAL, 0},
        {"unix:", -EINVAL, 0},
    };
    static const struct {
        const char *pattern;
        const char *name;
        int fold;
        int match;
    } patterns[] = {
        {"PATH", "PATH", 0, 1},       {"PATH", "PATHX", 0, 0},
        {"SLURM_*", "SLURM_JOB_ID", 0, 1}, {"SLURM_*", "SLUR", 0, 0},
        {"*_DIR", "TMP_DIR", 0, 1},   {"*TOKEN*", "gh_token_x", 1, 1},
        {"*TOKEN*", "gh_token_x", 0, 0}, {"*", "ANY", 0, 1},
        {"*KEY*", "KEY", 1, 1},
    };
    static struct vg_config c;
    struct vg_collector col;
    char path[] = "/tmp/vigil-unit-XXXXXX";
    char keypath[] = "/tmp/vigil-key-XXXXXX";
    char env_config[64];
    char env_key[64];
    size_t i;
    int fd;

    for (i = 0; i < sizeof(collectors) / sizeof(collectors[0]); i++) {
        int rc = vg_collector_parse(collectors[i].spec, &col);

        CHECK(rc == collectors[i].rc && col.family == collectors[i].family,
              collectors[i].spec);
    }
    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        CHECK(vg_pattern_match(patterns[i].pattern, patterns[i].name,
                               strlen(patterns[i].name),
                               patterns[i].fold) == patterns[i].match,
              patterns[i].pattern);
    }

    /* Precedence: defaults < file < environment; secure ignores env. */
    fd = mkstemp(path);
    if (fd >= 0) {
        static const char text[] =
            "# comment\n"
            "active = 1\n"
            "collector = udp://10.0.0.1:7971  # trailing comment\n"
            "users = 1000, 1001\n"
            "jobs = slurm:SLURM_JOB_ID:SLURM_STEP_ID:\n"
            "key_id = site-2026\n"
            "bogus line\n";

        CHECK(write(fd, text, sizeof(text) - 1) == sizeof(text) - 1,
              "write config");
        close(fd);
    }
    fd = mkstemp(keypath);
    if (fd >= 0) {
        CHECK(write(fd, "0001 02ff\n", 10) == 10, "write key");
        close(fd);
    }
    snprintf(env_config, sizeof(env_config), "VIGIL_CONFIG=%s", path);
    snprintf(env_key, sizeof(env_key), "VIGIL_KEY_FILE=%s", keypath);
    {
        char *envp[] = {env_config, "VIGIL_COLLECTOR=udp://[::1]:9",
                        env_key, NULL};
        char *off[] = {"VIGIL_ACTIVE=0", env_config, NULL};

        CHECK(vg_config_load(&c, envp, 0) == 0, "load");
        CHECK(c.active == 1 && c.collector.family == AF_INET6 &&
                  c.n_users == 2 && c.users[1] == 1001 && c.n_jobs == 1 &&
                  strcmp(c.key_id, "site-2026") == 0,
              "environment over file");
        CHECK(c.key_len == 4 && c.key[0] == 0 && c.key[3] == 0xff,
              "hex key file read");
        /* Secure: not even VIGIL_CONFIG counts, only the system file. */
        vg_config_load(&c, envp, 1);
        CHECK(c.collector.family != AF_INET6 && c.key_len == 0,
              "secure mode ignores the environment");
        vg_config_load(&c, off, 0);
        CHECK(c.active == 0, "VIGIL_ACTIVE=0 wins before the file");
    }
    {
        char *envp[] = {env_config, "VIGIL_COLLECTOR=udp://localhost:9",
                        NULL};

        vg_config_load(&c, envp, 0);
        CHECK(c.collector.family == 0, "a host name disables sending");
    }
    unlink(path);
    unlink(keypath);

    /* The sampling keys: defaults, values, and bad values refused. */
    vg_config_defaults(&c);
    CHECK(c.sample_every == 1 && c.short_run.n == 0 &&
              c.short_ms == VG_SHORT_MS_DEFAULT &&
              c.short_every == VG_SHORT_EVERY_DEFAULT,
          "sampling defaults: nothing sampled");
    CHECK(vg_config_set(&c, "short", "/usr/bin/, /bin/") == 0 &&
              c.short_run.n == 2 &&
              strcmp(c.short_run.item[1], "/bin/") == 0,
          "short: a prefix list");
    CHECK(vg_config_set(&c, "short_ms", "250") == 0 && c.short_ms == 250,
          "short_ms");
    CHECK(vg_config_set(&c, "short_ms", "0") == 0 && c.short_ms == 0,
          "short_ms 0: no run is short");
    CHECK(vg_config_set(&c, "short_ms", "86400001") == -EINVAL &&
              c.short_ms == 0,
          "short_ms over a day refused, value kept");
    CHECK(vg_config_set(&c, "short_every", "1000") == 0 &&
              c.short_every == 1000,
          "short_every");
    CHECK(vg_config_set(&c, "short_every", "0") == -EINVAL &&
              vg_config_set(&c, "short_every", "x") == -EINVAL &&
              c.short_every == 1000,
          "short_every 0 or not a number refused");
    {
        char *envp[] = {"VIGIL_CONFIG=/nonexistent", "VIGIL_ACTIVE=1",
                        "VIGIL_SHORT=/opt/", "VIGIL_SHORT_MS=5",
                        "VIGIL_SHORT_EVERY=7", NULL};

        vg_config_load(&c, envp, 0);
        CHECK(c.short_run.n == 1 && c.short_ms == 5 && c.short_every == 7,
              "VIGIL_SHORT, VIGIL_SHORT_MS, VIGIL_SHORT_EVERY");
    }
}

/* ProcessEnd.sample_weight (field 10): only when above 1. */
static void test_end_weight(void)
{
    static uint8_t out[VG_OUT_CAP];
    static struct vg_config cfg;
    struct vg_envelope env;
    struct vg_end e;
    struct vg_datagram dg;
    const uint8_t *end;
    size_t end_len;
    size_t len;
    uint64_t v;
    uint32_t w;

    vg_config_defaults(&cfg);
    memset(&env, 0, sizeof(env));
    env.host = "node001";
    env.producer_id = "preload/x/1";
    env.sequence = 2;
    for (w = 0; w <= 100; w += 50) {
        memset(&e, 0, sizeof(e));
        e.pid = 42;
        e.duration_ns = 1000;
        e.sample_weight = w == 50 ? 1 : w;
        CHECK(vg_encode_end(&env, &e, &cfg, out, &dg) == 0, "end encoded");
        end = find_field(dg.p + 4, dg.len - 4, 3, &end_len, &v, 0);
        CHECK(end != NULL, "end body present");
        if (end == NULL) {
            continue;
        }
        if (w == 100) {
            CHECK(find_field(end, end_len, 10, &len, &v, 0) != NULL &&
                      v == 100,
                  "sample_weight 100 encoded");
        } else {
            CHECK(find_field(end, end_len, 10, &len, &v, 0) == NULL,
                  "sample_weight 0 or 1 left out");
        }
    }
}

/* One pass for many names gives what one vg_env_get per name gives. */
static void test_env_get_many(void)
{
    char *envp[] = {"LOADEDMODULESX=no", "LOADEDMODULES=gcc/13", "A=1",
                    "SLURM_JOB_ID=42",   "LOADEDMODULES=later", "=odd",
                    "NOEQUALS",          NULL};
    const char *names[] = {"LOADEDMODULES", "SLURM_JOB_ID", "", NULL,
                           "MISSING", "A"};
    const char *values[6];
    size_t i;
    int same = 1;

    vg_env_get_many(envp, names, 6, values);
    CHECK(values[0] != NULL && strcmp(values[0], "gcc/13") == 0,
          "first exact occurrence, not a longer name");
    CHECK(values[1] != NULL && strcmp(values[1], "42") == 0, "job id");
    CHECK(values[2] == NULL && values[3] == NULL,
          "empty and NULL names find nothing");
    CHECK(values[4] == NULL, "missing name");
    for (i = 0; i < 6; i++) {
        if (names[i] != NULL && names[i][0] != '\0') {
            same &= values[i] == vg_env_get(envp, names[i]);
        }
    }
    CHECK(same, "same answers as vg_env_get");
}

int main(void)
{
    test_pb();
    test_sha256();
    test_hmac();
    test_sha256_extensions();
    if (vg_sha256_accelerate(1)) {
        test_sha256();
        test_hmac();
        vg_sha256_accelerate(0);
    }
    test_elf_symbol();
    test_notes();
    test_trim();
    test_end_weight();
    test_config();
    test_env_get_many();
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

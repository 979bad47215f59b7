/*
 * libFuzzer target for the record encoder (also driven by
 * tests/fuzz_main.c under gcc). The input describes a start and an end
 * record: argv, environment, modules, paths, job, cgroup, shared objects
 * with build-ids and watermarks, environment patterns, the key and the
 * record limit; a repeat count blows short inputs up past the limit so
 * the trimming rule runs. Every string is its own exact-size heap block,
 * so ASan reports any read past a value.
 *
 * Checked on every record: encoding succeeds, the datagram lies inside the
 * output buffer, never exceeds max_record_bytes, starts with the transport
 * header, and is well-formed protobuf (ProcessEvent: envelope 1, start 2
 * or end 3, each exactly once, lengths inside the datagram).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/config.h"
#include "vigil/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(what)                                                           \
    do {                                                                     \
        printf("FAIL %s:%d %s\n", __FILE__, __LINE__, what);                 \
        abort();                                                             \
    } while (0)

struct input {
    const uint8_t *p;
    size_t n;
    /* Every block handed out, freed at the end of the run. */
    void *blocks[1024];
    size_t n_blocks;
};

static unsigned take(struct input *in, unsigned bytes)
{
    unsigned v = 0;

    while (bytes-- > 0) {
        v = v << 8 | (in->n > 0 ? *in->p : 0);
        if (in->n > 0) {
            in->p++;
            in->n--;
        }
    }
    return v;
}

static void *keep(struct input *in, void *p)
{
    if (in->n_blocks < sizeof(in->blocks) / sizeof(in->blocks[0])) {
        in->blocks[in->n_blocks++] = p;
    }
    return p;
}

/*
 * A string of up to max bytes, or NULL: a length, then a chunk of up to 64
 * input bytes repeated to that length (so a few input bytes make a value
 * past VG_VALUE_MAX); a NUL in the chunk ends the string early.
 */
static char *text(struct input *in, size_t max)
{
    size_t len = take(in, 2) % (max + 2);
    size_t chunk = 1 + take(in, 1) % 64;
    size_t k;
    char *s;

    if (len == max + 1 || in->n_blocks >= 1000) {
        return NULL;
    }
    if (chunk > in->n) {
        chunk = in->n;
    }
    s = keep(in, malloc(len + 1));
    for (k = 0; k < len; k++) {
        s[k] = chunk > 0 ? (char)in->p[k % chunk] : 'x';
    }
    s[len] = '\0';
    in->p += chunk;
    in->n -= chunk;
    return s;
}

/* Raw bytes (not NUL-terminated), exact size; *len set. */
static uint8_t *bytes(struct input *in, size_t max, size_t *len)
{
    uint8_t *b;

    *len = take(in, 2) % (max + 1);
    if (*len > in->n) {
        *len = in->n;
    }
    if (*len == 0 || in->n_blocks >= 1000) {
        *len = 0;
        return NULL;
    }
    b = keep(in, malloc(*len));
    memcpy(b, in->p, *len);
    in->p += *len;
    in->n -= *len;
    return b;
}

/* NAME=VALUE from two strings (the name may hold '=' too). */
static char *variable(struct input *in, size_t value_max)
{
    char *name = text(in, 40);
    char *value = text(in, value_max);
    size_t n = name != NULL ? strlen(name) : 0;
    size_t v = value != NULL ? strlen(value) : 0;
    char *s = keep(in, malloc(n + v + 2));

    memcpy(s, name != NULL ? name : "", n);
    s[n] = '=';
    memcpy(s + n + 1, value != NULL ? value : "", v + 1);
    s[n + 1 + v] = '\0';
    return s;
}

/*
 * A NULL-terminated list of up to max distinct strings (NAME=VALUE ones
 * when vars is set), each repeated.
 */
static char **list(struct input *in, size_t max, size_t value_max,
                   int vars, size_t *count)
{
    size_t distinct = take(in, 1) % (max + 1);
    size_t repeat = 1 + take(in, 1) % 64;
    char **v = keep(in, malloc((distinct * repeat + 1) * sizeof(char *)));
    size_t i;

    for (i = 0; i < distinct; i++) {
        char *s = vars ? variable(in, value_max) : text(in, value_max);
        size_t r;

        for (r = 0; r < repeat; r++) {
            v[r * distinct + i] = s != NULL ? s : "";
        }
    }
    v[distinct * repeat] = NULL;
    *count = distinct * repeat;
    return v;
}

static size_t varint(const uint8_t *p, size_t n, size_t *at, uint64_t *v)
{
    int shift = 0;

    *v = 0;
    while (*at < n && shift < 64) {
        uint8_t b = p[(*at)++];

        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            return 1;
        }
        shift += 7;
    }
    return 0;
}

/* ProcessEvent wire format: the fields and their lengths. */
static void check_wire(const uint8_t *p, size_t n, int want_body)
{
    size_t at = 0;
    int seen[4] = {0, 0, 0, 0};

    while (at < n) {
        uint64_t key;
        uint64_t len;

        if (!varint(p, n, &at, &key) || (key & 7) != 2 || key >> 3 < 1 ||
            key >> 3 > 3) {
            FAIL("ProcessEvent field is not envelope/start/end bytes");
        }
        if (!varint(p, n, &at, &len) || len > n - at) {
            FAIL("ProcessEvent field length past the datagram");
        }
        seen[key >> 3]++;
        at += len;
    }
    if (seen[1] != 1 || seen[want_body] != 1 || seen[5 - want_body] != 0) {
        FAIL("ProcessEvent needs one envelope and one body");
    }
}

static void check(const struct vg_config *cfg, const uint8_t *out,
                  const struct vg_datagram *dg, int rc, int body)
{
    if (rc != 0) {
        FAIL("encoding failed");
    }
    if (dg->p < out || dg->p + dg->len > out + VG_OUT_CAP) {
        FAIL("datagram outside the output buffer");
    }
    if (dg->len > cfg->max_record_bytes) {
        FAIL("datagram longer than max_record_bytes");
    }
    if (dg->len < 4 || memcmp(dg->p, "VG\x01\x01", 4) != 0) {
        FAIL("transport header");
    }
    check_wire(dg->p + 4, dg->len - 4, body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vg_config cfg;
    static uint8_t out[VG_OUT_CAP];
    static const uint8_t random[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct input in = {data, size, {0}, 0};
    struct vg_envelope env;
    struct vg_start s;
    struct vg_end e;
    struct vg_object objs[48];
    struct vg_datagram dg;
    uint8_t key[64];
    size_t n_objs;
    size_t count;
    size_t i;
    char *v;

    vg_config_defaults(&cfg);
    cfg.max_record_bytes = VG_RECORD_MIN +
                           take(&in, 2) % (VG_RECORD_LIMIT - VG_RECORD_MIN + 1);
    /* Environment patterns: the default list, everything, or fuzzed. */
    switch (take(&in, 1) % 3) {
    case 1:
        vg_config_set(&cfg, "env", "*");
        break;
    case 2:
        if ((v = text(&in, 200)) != NULL) {
            vg_config_set(&cfg, "env", v);
        }
        break;
    default:
        break;
    }
    if (take(&in, 1) % 2 && (v = text(&in, 200)) != NULL) {
        vg_config_set(&cfg, "redact", v);
    }
    memset(&env, 0, sizeof(env));
    memset(&s, 0, sizeof(s));
    memset(&e, 0, sizeof(e));
    vg_uuid7(env.event_id, take(&in, 4), random);
    env.host = text(&in, 100);
    env.producer_id = text(&in, 100);
    env.sequence = take(&in, 4);
    env.time_unix_nano = (uint64_t)take(&in, 4) << 32 | take(&in, 4);
    env.key_id = text(&in, 80);
    env.key_len = take(&in, 1) % (sizeof(key) + 1);
    for (i = 0; i < env.key_len; i++) {
        key[i] = (uint8_t)take(&in, 1);
    }
    env.key = key;

    s.pid = take(&in, 4);
    s.ppid = take(&in, 4);
    s.uid = take(&in, 4);
    s.executable = text(&in, 5000);
    s.argv = list(&in, 12, 5000, 0, &count);
    s.argc = (int)count;
    s.cwd = text(&in, 5000);
    s.job_scheduler = text(&in, 40);
    s.job_id = text(&in, 5000);
    s.job_step = text(&in, 5000);
    s.job_array = text(&in, 5000);
    s.loaded_modules = text(&in, 5000);
    s.module_files = text(&in, 5000);
    s.envp = list(&in, 12, 5000, 1, &count);
    s.cgroup = text(&in, 5000);
    s.build_id = bytes(&in, 80, &s.build_id_len);
    s.has_boot_id = (int)take(&in, 1) & 1;
    n_objs = take(&in, 1) % (sizeof(objs) / sizeof(objs[0]) + 1);
    for (i = 0; i < n_objs; i++) {
        objs[i].path = text(&in, 5000);
        objs[i].build_id = bytes(&in, 80, &objs[i].build_id_len);
        objs[i].watermark = bytes(&in, 400, &objs[i].watermark_len);
        objs[i].dlopened = (int)take(&in, 1) & 1;
        objs[i].base = i;
    }
    s.objects = objs;
    s.n_objects = n_objs;
    s.objects_dropped = take(&in, 2);

    check(&cfg, out, &dg, vg_encode_start(&env, &s, &cfg, out, &dg), 2);

    e.pid = s.pid;
    e.exit_status = (int32_t)take(&in, 4);
    e.duration_ns = (uint64_t)take(&in, 4) << 20;
    e.max_rss_kib = take(&in, 4);
    e.dlopened = objs;
    e.n_dlopened = n_objs;
    e.dlopened_dropped = take(&in, 2);
    e.sample_weight = take(&in, 2);
    env.sequence++;
    check(&cfg, out, &dg, vg_encode_end(&env, &e, &cfg, out, &dg), 3);

    for (i = 0; i < in.n_blocks; i++) {
        free(in.blocks[i]);
    }
    return 0;
}

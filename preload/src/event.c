/* ProcessEvent datagrams; see include/vigil/event.h for the trim rule. */
#include "vigil/event.h"

#include <errno.h>
#include <string.h>

#include "vigil/pb.h"
#include "vigil/sha256.h"

/* Longest host and producer id written (the MAC length field is 16 bits). */
#define SHORT_STRING_MAX 64

struct budget {
    size_t end;
    struct vg_pb *pb;
};

/* Fits n more bytes in the whole body and in a list's own cap. */
static int fits(const struct budget *b, size_t list_used, size_t list_cap,
                size_t n)
{
    return b->pb->len + n <= b->end && list_used + n <= list_cap;
}

static size_t capped(size_t n, int *shortened)
{
    if (n > VG_VALUE_MAX) {
        *shortened = 1;
        return VG_VALUE_MAX;
    }
    return n;
}

static void put_value(struct vg_pb *pb, uint32_t field, const char *s,
                      int *shortened)
{
    if (s != NULL) {
        vg_pb_opt_bytes(pb, field, s, capped(strlen(s), shortened));
    }
}

static void put_string(struct vg_pb *pb, uint32_t field, const char *s)
{
    if (s != NULL) {
        size_t n = strlen(s);

        vg_pb_opt_bytes(pb, field, s, n > 256 ? 256 : n);
    }
}

static size_t object_inner_size(const struct vg_object *o, size_t *path_n,
                                size_t *raw_n, int *shortened)
{
    size_t n;

    *path_n = o->path != NULL ? capped(strlen(o->path), shortened) : 0;
    n = *path_n > 0 ? vg_pb_bytes_size(1, *path_n) : 0;
    if (o->build_id_len > 0) {
        n += vg_pb_bytes_size(2, o->build_id_len);
    }
    *raw_n = 0;
    if (o->watermark != NULL && o->watermark_len >= 16) {
        size_t w;

        *raw_n = o->watermark_len > VG_WATERMARK_RAW_MAX
                     ? VG_WATERMARK_RAW_MAX
                     : o->watermark_len;
        w = vg_pb_bytes_size(1, 16) + vg_pb_bytes_size(2, *raw_n);
        n += vg_pb_bytes_size(3, w);
    }
    if (o->dlopened) {
        n += 2;
    }
    return n;
}

static void put_object(struct vg_pb *pb, uint32_t field,
                       const struct vg_object *o, size_t path_n,
                       size_t raw_n)
{
    size_t m = vg_pb_begin(pb, field);

    vg_pb_opt_bytes(pb, 1, o->path, path_n);
    vg_pb_opt_bytes(pb, 2, o->build_id, o->build_id_len);
    if (raw_n > 0) {
        size_t w = vg_pb_begin(pb, 3);

        vg_pb_bytes(pb, 1, o->watermark, 16);
        vg_pb_bytes(pb, 2, o->watermark, raw_n);
        vg_pb_end(pb, w, 0);
    }
    vg_pb_uint(pb, 4, o->dlopened ? 1 : 0);
    vg_pb_end(pb, m, 0);
}

/* Writes objects while they fit; returns how many were left out. */
static uint32_t put_objects(const struct budget *b, uint32_t field,
                            const struct vg_object *objs, size_t n,
                            size_t cap, int *shortened)
{
    size_t used = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        int cut = 0;
        size_t path_n;
        size_t raw_n;
        size_t inner = object_inner_size(&objs[i], &path_n, &raw_n, &cut);
        size_t size = vg_pb_bytes_size(field, inner);

        if (!fits(b, used, cap, size)) {
            return (uint32_t)(n - i);
        }
        *shortened |= cut;
        put_object(b->pb, field, &objs[i], path_n, raw_n);
        used += size;
    }
    return 0;
}

/* Writes the ':'-separated entries of list while they fit. */
static void put_colon_list(const struct budget *b, uint32_t field,
                           const char *list, size_t cap, int *shortened)
{
    size_t used = 0;

    while (list != NULL && *list != '\0') {
        const char *end = strchr(list, ':');
        size_t n = end != NULL ? (size_t)(end - list) : strlen(list);
        int cut = 0;
        size_t vn = capped(n, &cut);
        size_t size = vg_pb_bytes_size(field, vn);

        if (n > 0) {
            if (!fits(b, used, cap, size)) {
                return;
            }
            *shortened |= cut;
            vg_pb_bytes(b->pb, field, list, vn);
            used += size;
        }
        list = end != NULL ? end + 1 : NULL;
    }
}

static int any_match(const struct vg_list *l, const char *name, size_t n,
                     int fold)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        const char *pat = l->item[i];

        /* Most names fail on the first letter: skip the full match. */
        if (!fold && pat[0] != '*' && pat[0] != name[0]) {
            continue;
        }
        if (vg_pattern_match(pat, name, n, fold)) {
            return 1;
        }
    }
    return 0;
}

static uint32_t put_environment(const struct budget *b, char *const *envp,
                                const struct vg_config *cfg, int *shortened)
{
    uint32_t dropped = 0;
    int full = 0;

    for (; envp != NULL && *envp != NULL; envp++) {
        const char *eq = strchr(*envp, '=');
        size_t name_n;
        size_t value_n;
        size_t inner;
        size_t size;
        int redacted;
        int cut = 0;

        if (eq == NULL || eq == *envp) {
            continue;
        }
        name_n = (size_t)(eq - *envp);
        if (!any_match(&cfg->env, *envp, name_n, 0)) {
            continue;
        }
        if (full) {
            dropped++;
            continue;
        }
        redacted = any_match(&cfg->redact, *envp, name_n, 1);
        name_n = capped(name_n, &cut);
        value_n = redacted ? 0 : capped(strlen(eq + 1), &cut);
        inner = vg_pb_bytes_size(1, name_n) +
                (value_n > 0 ? vg_pb_bytes_size(2, value_n) : 0) +
                (redacted ? 2 : 0);
        size = vg_pb_bytes_size(13, inner);
        if (!fits(b, 0, (size_t)-1, size)) {
            full = 1;
            dropped++;
            continue;
        }
        *shortened |= cut;
        {
            size_t m = vg_pb_begin(b->pb, 13);

            vg_pb_bytes(b->pb, 1, *envp, name_n);
            vg_pb_opt_bytes(b->pb, 2, eq + 1, value_n);
            vg_pb_uint(b->pb, 3, (uint64_t)redacted);
            vg_pb_end(b->pb, m, 0);
        }
    }
    return dropped;
}

static void put_truncation(struct vg_pb *pb, uint32_t field, uint32_t argv,
                           uint32_t env, uint32_t objects, int shortened)
{
    size_t m = vg_pb_begin(pb, field);

    vg_pb_uint(pb, 1, argv);
    vg_pb_uint(pb, 2, env);
    vg_pb_uint(pb, 3, objects);
    vg_pb_uint(pb, 4, shortened ? 1 : 0);
    vg_pb_end(pb, m, 1);
}

void vg_uuid7(uint8_t id[16], uint64_t unix_ms, const uint8_t random[10])
{
    int i;

    for (i = 0; i < 6; i++) {
        id[i] = (uint8_t)(unix_ms >> (40 - 8 * i));
    }
    id[6] = (uint8_t)(0x70 | (random[0] & 0x0f));
    id[7] = random[1];
    id[8] = (uint8_t)(0x80 | (random[2] & 0x3f));
    memcpy(id + 9, random + 3, 7);
}

static size_t short_len(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    return n > SHORT_STRING_MAX ? SHORT_STRING_MAX : n;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

void vg_event_mac(const struct vg_envelope *env, const uint8_t *body,
                  size_t body_len, uint8_t mac[32])
{
    static const char domain[] = "vigil-sig-v1";
    struct vg_hmac h;
    uint8_t fixed[1 + 8 + 8];
    uint8_t len[2];
    size_t n;

    vg_hmac_init(&h, env->key, env->key_len);
    vg_hmac_update(&h, domain, sizeof(domain)); /* with its NUL */
    vg_hmac_update(&h, env->event_id, 16);
    fixed[0] = VG_SOURCE_PRELOAD;
    put_be64(fixed + 1, env->sequence);
    put_be64(fixed + 9, env->time_unix_nano);
    vg_hmac_update(&h, fixed, sizeof(fixed));
    n = short_len(env->host);
    len[0] = (uint8_t)(n >> 8);
    len[1] = (uint8_t)n;
    vg_hmac_update(&h, len, 2);
    vg_hmac_update(&h, env->host, n);
    n = short_len(env->producer_id);
    len[0] = (uint8_t)(n >> 8);
    len[1] = (uint8_t)n;
    vg_hmac_update(&h, len, 2);
    vg_hmac_update(&h, env->producer_id, n);
    vg_hmac_update(&h, body, body_len);
    vg_hmac_final(&h, mac);
}

/*
 * The body sits at out + VG_ENVELOPE_RESERVE; writes the envelope field and
 * the transport header just before it.
 */
static int finish(const struct vg_envelope *env, uint8_t *out,
                  size_t body_len, struct vg_datagram *dg)
{
    uint8_t ebuf[VG_ENVELOPE_RESERVE];
    uint8_t *body = out + VG_ENVELOPE_RESERVE;
    struct vg_pb pb;
    size_t head;
    size_t at;

    vg_pb_init(&pb, ebuf, sizeof(ebuf));
    vg_pb_bytes(&pb, 1, env->event_id, 16);
    vg_pb_uint(&pb, 2, VG_SOURCE_PRELOAD);
    vg_pb_opt_bytes(&pb, 3, env->host, short_len(env->host));
    vg_pb_opt_bytes(&pb, 4, env->producer_id, short_len(env->producer_id));
    vg_pb_uint(&pb, 5, env->sequence);
    vg_pb_fixed64(&pb, 6, env->time_unix_nano);
    if (env->key_len > 0) {
        uint8_t mac[VG_SHA256_LEN];
        size_t m = vg_pb_begin(&pb, 7);

        vg_event_mac(env, body, body_len, mac);
        put_string(&pb, 1, env->key_id);
        vg_pb_bytes(&pb, 2, mac, sizeof(mac));
        vg_pb_end(&pb, m, 0);
    }
    if (pb.err != 0) {
        return pb.err;
    }
    head = VG_TRANSPORT_HEADER + 1 + vg_pb_varint_size(pb.len) + pb.len;
    if (head > VG_ENVELOPE_RESERVE) {
        return -ENOSPC;
    }
    at = VG_ENVELOPE_RESERVE - head;
    dg->p = out + at;
    dg->len = head + body_len;
    out[at++] = 'V';
    out[at++] = 'G';
    out[at++] = 1; /* transport version */
    out[at++] = 1; /* family: process */
    {
        struct vg_pb tag;

        vg_pb_init(&tag, out + at, VG_ENVELOPE_RESERVE - at);
        vg_pb_bytes(&tag, 1, ebuf, pb.len);
    }
    return 0;
}

static size_t record_limit(const struct vg_config *cfg)
{
    size_t limit = cfg->max_record_bytes;

    if (limit < VG_RECORD_MIN || limit > VG_RECORD_LIMIT) {
        limit = VG_RECORD_DEFAULT;
    }
    return limit;
}

int vg_encode_start(const struct vg_envelope *env, const struct vg_start *s,
                    const struct vg_config *cfg, uint8_t *out,
                    struct vg_datagram *dg)
{
    size_t limit = record_limit(cfg);
    size_t content = limit - VG_ENVELOPE_RESERVE - VG_BODY_RESERVE;
    struct vg_pb pb;
    struct budget b;
    uint32_t argv_dropped = 0;
    uint32_t env_dropped;
    uint32_t objects_dropped;
    int shortened = 0;
    size_t m;
    size_t used = 0;
    int i;

    vg_pb_init(&pb, out + VG_ENVELOPE_RESERVE, limit - VG_ENVELOPE_RESERVE);
    m = vg_pb_begin(&pb, 2);
    b.pb = &pb;
    b.end = pb.len + content;
    vg_pb_uint(&pb, 1, s->pid);
    vg_pb_uint(&pb, 2, s->ppid);
    vg_pb_uint(&pb, 3, s->uid);
    vg_pb_uint(&pb, 4, s->gid);
    vg_pb_uint(&pb, 5, s->euid);
    vg_pb_uint(&pb, 6, s->egid);
    put_value(&pb, 7, s->executable, &shortened);
    put_value(&pb, 9, s->cwd, &shortened);
    if (s->job_id != NULL) {
        size_t j = vg_pb_begin(&pb, 10);

        put_string(&pb, 1, s->job_scheduler);
        put_string(&pb, 2, s->job_id);
        put_string(&pb, 3, s->job_step);
        put_string(&pb, 4, s->job_array);
        vg_pb_end(&pb, j, 1);
    }
    put_value(&pb, 14, s->cgroup, &shortened);
    vg_pb_opt_bytes(&pb, 15, s->build_id, s->build_id_len);
    if (s->has_boot_id) {
        vg_pb_bytes(&pb, 18, s->boot_id, 16);
    }
    for (i = 0; s->argv != NULL && i < s->argc; i++) {
        int cut = 0;
        size_t n = s->argv[i] != NULL ? capped(strlen(s->argv[i]), &cut) : 0;
        size_t size = vg_pb_bytes_size(8, n);

        if (!fits(&b, used, content / 4, size)) {
            argv_dropped = (uint32_t)(s->argc - i);
            break;
        }
        shortened |= cut;
        vg_pb_bytes(&pb, 8, s->argv[i], n);
        used += size;
    }
    put_colon_list(&b, 11, s->loaded_modules, content / 16, &shortened);
    put_colon_list(&b, 12, s->module_files, content / 16, &shortened);
    objects_dropped = put_objects(&b, 16, s->objects, s->n_objects,
                                  content / 5 * 2, &shortened);
    objects_dropped += s->objects_dropped;
    env_dropped = put_environment(&b, s->envp, cfg, &shortened);
    put_truncation(&pb, 17, argv_dropped, env_dropped, objects_dropped,
                   shortened);
    vg_pb_end(&pb, m, 0);
    if (pb.err != 0) {
        return pb.err;
    }
    return finish(env, out, pb.len, dg);
}

int vg_encode_end(const struct vg_envelope *env, const struct vg_end *e,
                  const struct vg_config *cfg, uint8_t *out,
                  struct vg_datagram *dg)
{
    size_t limit = record_limit(cfg);
    size_t content = limit - VG_ENVELOPE_RESERVE - VG_BODY_RESERVE;
    struct vg_pb pb;
    struct budget b;
    uint32_t dropped;
    int shortened = 0;
    size_t m;

    vg_pb_init(&pb, out + VG_ENVELOPE_RESERVE, limit - VG_ENVELOPE_RESERVE);
    m = vg_pb_begin(&pb, 3);
    b.pb = &pb;
    b.end = pb.len + content;
    vg_pb_uint(&pb, 1, e->pid);
    vg_pb_bytes(&pb, 2, e->start_event_id, 16);
    /* int32: negative values are sign-extended to ten bytes. */
    vg_pb_uint(&pb, 3, (uint64_t)(int64_t)e->exit_status);
    vg_pb_uint(&pb, 4, e->duration_ns);
    vg_pb_uint(&pb, 5, e->user_cpu_ns);
    vg_pb_uint(&pb, 6, e->system_cpu_ns);
    vg_pb_uint(&pb, 7, e->max_rss_kib);
    dropped = put_objects(&b, 8, e->dlopened, e->n_dlopened, content,
                          &shortened);
    dropped += e->dlopened_dropped;
    put_truncation(&pb, 9, 0, 0, dropped, shortened);
    if (e->sample_weight > 1) {
        vg_pb_uint(&pb, 10, e->sample_weight);
    }
    vg_pb_end(&pb, m, 0);
    if (pb.err != 0) {
        return pb.err;
    }
    return finish(env, out, pb.len, dg);
}

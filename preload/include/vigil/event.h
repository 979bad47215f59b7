/*
 * Building one signed datagram for a ProcessEvent: the envelope, a
 * ProcessStart or ProcessEnd body trimmed by the rule below, the HMAC of
 * schemas/FORMAT.md, and the node transport header "VG" 1 1.
 *
 * Trimming rule (deterministic, counted in Truncation):
 *  1. A single value (argument, path, environment value, module entry)
 *     longer than VG_VALUE_MAX bytes is cut to VG_VALUE_MAX bytes and
 *     value_shortened is set.
 *  2. The record must fit max_record_bytes. The envelope is given
 *     VG_ENVELOPE_RESERVE bytes and the body content the rest, minus
 *     VG_BODY_RESERVE (nesting and the Truncation message).
 *  3. Lists are filled in this order, each item whole or not at all, and
 *     each list stops at its first item that does not fit: argv (at most a
 *     quarter of the content budget), loaded modules and module files (a
 *     sixteenth each), shared objects (two fifths), then the environment
 *     (what is left). Items after the stop are counted as dropped; for the
 *     module lists the dropped entries are not counted.
 *  4. Scalars, paths, the job and the ids always fit (their values are
 *     capped by rule 1 and the budget is sized for them).
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/config.h"

#define VG_VALUE_MAX 4096
#define VG_ENVELOPE_RESERVE 384
#define VG_BODY_RESERVE 64
/* Longest watermark descriptor reported raw. */
#define VG_WATERMARK_RAW_MAX 256
/* Transport header: "VG", version 1, family byte 1 (process). */
#define VG_TRANSPORT_HEADER 4
/* Room an output buffer needs: the largest record plus slack in front. */
#define VG_OUT_CAP (VG_RECORD_LIMIT + 2 * VG_ENVELOPE_RESERVE)
/* SourceKind PRELOAD in vigil.envelope.v1. */
#define VG_SOURCE_PRELOAD 1

/** The envelope fields and the signing key of one event. */
struct vg_envelope {
    uint8_t event_id[16];
    const char *host;
    const char *producer_id;
    uint64_t sequence;
    uint64_t time_unix_nano;
    /* Signing: no signature when key_len is 0. */
    const char *key_id;
    const uint8_t *key;
    size_t key_len;
};

/** One mapped object; pointers stay valid while it is loaded. */
struct vg_object {
    const char *path;
    const uint8_t *build_id;
    size_t build_id_len;
    const uint8_t *watermark;
    size_t watermark_len;
    int dlopened;
    /* Load address (dlpi_addr); not encoded, used to tell objects apart. */
    uintptr_t base;
};

/** Everything a ProcessStart reports. NULL strings are left out. */
struct vg_start {
    uint32_t pid;
    uint32_t ppid;
    uint32_t uid;
    uint32_t gid;
    uint32_t euid;
    uint32_t egid;
    const char *executable;
    int argc;
    char *const *argv;
    const char *cwd;
    const char *job_scheduler;
    const char *job_id;
    const char *job_step;
    const char *job_array;
    const char *loaded_modules;
    const char *module_files;
    /* The environment; selected and redacted by the config's patterns. */
    char *const *envp;
    const char *cgroup;
    const uint8_t *build_id;
    size_t build_id_len;
    const struct vg_object *objects;
    size_t n_objects;
    /* Objects that did not fit the collection table. */
    uint32_t objects_dropped;
    uint8_t boot_id[16];
    int has_boot_id;
};

/** Everything a ProcessEnd reports. */
struct vg_end {
    uint32_t pid;
    uint8_t start_event_id[16];
    int32_t exit_status;
    uint64_t duration_ns;
    uint64_t user_cpu_ns;
    uint64_t system_cpu_ns;
    uint64_t max_rss_kib;
    const struct vg_object *dlopened;
    size_t n_dlopened;
    uint32_t dlopened_dropped;
    /* Runs this record stands for when sampled; 0 or 1: just itself. */
    uint32_t sample_weight;
};

/** Where an encoded datagram is, inside the caller's buffer. */
struct vg_datagram {
    const uint8_t *p;
    size_t len;
};

/**
 * Encodes a signed ProcessEvent with a start body into out (VG_OUT_CAP
 * bytes), trimmed to cfg->max_record_bytes by the rule above, and points
 * dg at the datagram (transport header included). Environment patterns come
 * from cfg. Returns 0 or a negative errno (-ENOSPC only if the limits are
 * inconsistent; nothing is sent then).
 */
int vg_encode_start(const struct vg_envelope *env, const struct vg_start *s,
                    const struct vg_config *cfg, uint8_t *out,
                    struct vg_datagram *dg);

/** As vg_encode_start, for an end body. */
int vg_encode_end(const struct vg_envelope *env, const struct vg_end *e,
                  const struct vg_config *cfg, uint8_t *out,
                  struct vg_datagram *dg);

/**
 * Fills id with a UUIDv7 (RFC 9562) from a time in ms and 10 random bytes.
 * Never fails.
 */
void vg_uuid7(uint8_t id[16], uint64_t unix_ms, const uint8_t random[10]);

/**
 * Computes the MAC of FORMAT.md ("vigil-sig-v1" ...) over an envelope and
 * the serialized body fields (every top-level field but field 1). Exposed
 * for tests and the golden writer.
 */
void vg_event_mac(const struct vg_envelope *env, const uint8_t *body,
                  size_t body_len, uint8_t mac[32]);

#endif

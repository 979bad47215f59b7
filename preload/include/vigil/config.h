/*
 * Configuration: compiled defaults, then the config file
 * (/etc/vigil/preload.conf, or VIGIL_CONFIG), then the environment
 * (VIGIL_<KEY>). In secure mode (AT_SECURE: setuid, setgid, capabilities)
 * the environment is ignored entirely. Every key is one row of the table in
 * src/config.c; the environment name is "VIGIL_" + the key in upper case.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#define VG_CONFIG_PATH "/etc/vigil/preload.conf"
/* Largest config file read; the rest is ignored. */
#define VG_CONFIG_FILE_MAX 8192
/* Storage for every string value of the configuration. */
#define VG_CONFIG_POOL 8192
/* Entries in each list (prefixes, patterns, users, job sources). */
#define VG_LIST_MAX 32
#define VG_KEY_ID_MAX 64
/* Longest HMAC key accepted from the key file (hex-decoded). */
#define VG_KEY_MAX 64
/* Defaults and bound of the run-time rule (short, short_ms, short_every). */
#define VG_SHORT_MS_DEFAULT 1000
#define VG_SHORT_MS_MAX 86400000
#define VG_SHORT_EVERY_DEFAULT 100
/* Default and bounds of max_record_bytes (UDP allows 65,507). */
#define VG_RECORD_DEFAULT 60000
#define VG_RECORD_MIN 16384
#define VG_RECORD_LIMIT 65000

/** Where datagrams go: family is 0 when no usable collector is set. */
struct vg_collector {
    int family;
    socklen_t len;
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
    } addr;
};

/** A list of strings kept in the config pool. */
struct vg_list {
    const char *item[VG_LIST_MAX];
    size_t n;
};

/** Environment variables that name a batch job for one scheduler. */
struct vg_job_source {
    const char *scheduler;
    const char *id;
    const char *step;
    const char *array;
};

/** The whole configuration of the library. Plain data, no pointers out. */
struct vg_config {
    int active;
    int debug;
    struct vg_collector collector;
    char key_id[VG_KEY_ID_MAX + 1];
    const char *key_file;
    uint8_t key[VG_KEY_MAX];
    size_t key_len;
    struct vg_list include;
    struct vg_list exclude;
    uid_t users[VG_LIST_MAX];
    size_t n_users;
    uid_t exclude_users[VG_LIST_MAX];
    size_t n_exclude_users;
    struct vg_list env;
    struct vg_list redact;
    struct vg_job_source jobs[VG_LIST_MAX];
    size_t n_jobs;
    struct vg_list sample;
    unsigned sample_every;
    /* The run-time rule: prefixes, threshold, 1 in N short runs kept. */
    struct vg_list short_run;
    unsigned long short_ms;
    unsigned short_every;
    size_t max_record_bytes;
    size_t pool_used;
    /* Last, so that setting the defaults never touches its pages. */
    char pool[VG_CONFIG_POOL];
};

/** Sets the compiled defaults. Never fails. */
void vg_config_defaults(struct vg_config *c);

/**
 * Sets one key from its text value (key as in the config file). Returns 0,
 * -ENOENT for an unknown key, -EINVAL for a bad value (the key keeps its
 * previous value), or -ENOSPC when the pool or a list is full.
 */
int vg_config_set(struct vg_config *c, const char *key, const char *value);

/**
 * Applies "key = value" lines of a config file held in text[0..n); '#'
 * starts a comment. Bad lines are skipped. Returns the number of lines that
 * failed, 0 when all applied.
 */
int vg_config_apply_text(struct vg_config *c, const char *text, size_t n);

/**
 * Loads the configuration in precedence order: defaults, file, environment
 * (envp; skipped when secure is set). Reads the key file when tracking is
 * active. Stops early, before any file I/O, when the environment says
 * VIGIL_ACTIVE=0. Returns 0, or -errno of a failure that left tracking off.
 */
int vg_config_load(struct vg_config *c, char *const *envp, int secure);

/**
 * vg_config_load without the key file, reading the config file into
 * scratch (at least VG_CONFIG_FILE_MAX bytes, clobbered) instead of 8 KB of
 * stack: the library passes its output buffer, whose page it touches
 * anyway, and saves a stack page fault per process. The library reads the
 * key with vg_config_load_key only once it knows it will sign something.
 */
void vg_config_load_with(struct vg_config *c, char *const *envp, int secure,
                         char *scratch);

/**
 * Reads the key file named by the config (if any, and tracking is active).
 * Returns 0, or -errno (then key_len is 0: events go unsigned rather than
 * carry a bad MAC).
 */
int vg_config_load_key(struct vg_config *c);

/**
 * Parses a collector: "udp://<IPv4>:<port>", "udp://[<IPv6>]:<port>" or
 * "unix:<path>". Host names are rejected (-EINVAL) without any lookup: a
 * DNS query in every process start would stall hosts when DNS is down.
 */
int vg_collector_parse(const char *spec, struct vg_collector *out);

/**
 * Matches name[0..name_len) against a pattern: "NAME" exact, "PRE*" prefix,
 * "*SUF" suffix, "*MID*" anywhere, "*" everything. With fold set, ASCII
 * letters compare without case. Returns 1 on a match, else 0.
 */
int vg_pattern_match(const char *pattern, const char *name, size_t name_len,
                     int fold);

/** Most names vg_env_get_many looks up at once. */
#define VG_ENV_MANY_MAX 128

/**
 * Looks up n (<= VG_ENV_MANY_MAX) names in one pass over envp: values[i]
 * is the value of the first names[i]=... entry, or NULL (also for a NULL
 * or empty name).
 */
void vg_env_get_many(char *const *envp, const char *const *names, size_t n,
                     const char **values);

/** Value of an environment variable in envp, or NULL. */
const char *vg_env_get(char *const *envp, const char *name);

#endif

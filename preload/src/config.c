/* Configuration; see include/vigil/config.h. */
#include "vigil/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "vigil/profile.h"
#include "vigil/sys.h"

/* Compiled defaults, as static data: setting them costs no parsing. */
static const char *const default_env[] = {
    "PATH",        "LD_LIBRARY_PATH",      "LD_PRELOAD",  "PYTHONPATH",
    "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "VIRTUAL_ENV", "CONDA_PREFIX",
};
static const char *const default_redact[] = {
    "*TOKEN*",   "*SECRET*", "*PASSW*",  "*KEY*",     "*CREDENTIAL*",
    "*AUTH*",    "*COOKIE*", "*PRIVATE*", "*SESSION*", "*CERT*",
};
static const struct vg_job_source default_jobs[] = {
    {"slurm", "SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_ARRAY_TASK_ID"},
    {"pbs", "PBS_JOBID", "", "PBS_ARRAY_INDEX"},
    {"lsf", "LSB_JOBID", "", "LSB_JOBINDEX"},
    {"sge", "JOB_ID", "", "SGE_TASK_ID"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Copies n bytes of s into the pool as a C string. */
static const char *pool_dup(struct vg_config *c, const char *s, size_t n)
{
    char *p;

    if (n + 1 > VG_CONFIG_POOL - c->pool_used) {
        return NULL;
    }
    p = c->pool + c->pool_used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->pool_used += n + 1;
    return p;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Trims blanks around s[0..*n) in place (moves s, shrinks *n). */
static const char *trim(const char *s, size_t *n)
{
    while (*n > 0 && is_space(s[0])) {
        s++;
        (*n)--;
    }
    while (*n > 0 && is_space(s[*n - 1])) {
        (*n)--;
    }
    return s;
}

/* Replaces a list with the comma-separated items of value. */
static int set_list(struct vg_config *c, struct vg_list *l, const char *v)
{
    struct vg_list out;

    out.n = 0;
    while (*v != '\0') {
        const char *end = strchr(v, ',');
        size_t n = end != NULL ? (size_t)(end - v) : strlen(v);
        const char *item = trim(v, &n);

        if (n > 0) {
            if (out.n == VG_LIST_MAX) {
                return -ENOSPC;
            }
            out.item[out.n] = pool_dup(c, item, n);
            if (out.item[out.n] == NULL) {
                return -ENOSPC;
            }
            out.n++;
        }
        if (end == NULL) {
            break;
        }
        v = end + 1;
    }
    *l = out;
    return 0;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
    unsigned long n = 0;

    if (*v == '\0') {
        return -EINVAL;
    }
    for (; *v != '\0'; v++) {
        if (*v < '0' || *v > '9' || n > (max - (unsigned long)(*v - '0')) /
                                              10) {
            return -EINVAL;
        }
        n = n * 10 + (unsigned long)(*v - '0');
    }
    *out = n;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (vg_strcmp(v, "1") == 0 || vg_strcmp(v, "true") == 0 ||
        vg_strcmp(v, "yes") == 0 || vg_strcmp(v, "on") == 0) {
        *out = 1;
        return 0;
    }
    if (vg_strcmp(v, "0") == 0 || vg_strcmp(v, "false") == 0 ||
        vg_strcmp(v, "no") == 0 || vg_strcmp(v, "off") == 0 || *v == '\0') {
        *out = 0;
        return 0;
    }
    return -EINVAL;
}

static int set_uids(uid_t *uids, size_t *count, const char *v)
{
    uid_t out[VG_LIST_MAX];
    size_t n = 0;
    char num[16];

    while (*v != '\0') {
        const char *end = strchr(v, ',');
        size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
        const char *item = trim(v, &len);
        unsigned long uid;

        if (len > 0) {
            if (len >= sizeof(num) || n == VG_LIST_MAX) {
                return -EINVAL;
            }
            memcpy(num, item, len);
            num[len] = '\0';
            /* Numbers only: a name would need an NSS lookup. */
            if (parse_uint(num, 0xfffffffeUL, &uid) != 0) {
                return -EINVAL;
            }
            out[n++] = (uid_t)uid;
        }
        if (end == NULL) {
            break;
        }
        v = end + 1;
    }
    memcpy(uids, out, n * sizeof(uid_t));
    *count = n;
    return 0;
}

static int set_active(struct vg_config *c, const char *v)
{
    return parse_bool(v, &c->active);
}

static int set_debug(struct vg_config *c, const char *v)
{
    return parse_bool(v, &c->debug);
}

static int set_collector(struct vg_config *c, const char *v)
{
    struct vg_collector col;
    int rc = vg_collector_parse(v, &col);

    /* A bad collector disables sending rather than keeping an old one. */
    c->collector = col;
    if (rc != 0) {
        c->collector.family = 0;
    }
    return rc;
}

static int set_key_id(struct vg_config *c, const char *v)
{
    size_t n = strlen(v);

    if (n > VG_KEY_ID_MAX) {
        return -EINVAL;
    }
    memcpy(c->key_id, v, n + 1);
    return 0;
}

static int set_key_file(struct vg_config *c, const char *v)
{
    const char *p = pool_dup(c, v, strlen(v));

    if (p == NULL) {
        return -ENOSPC;
    }
    c->key_file = p;
    return 0;
}

static int set_include(struct vg_config *c, const char *v)
{
    return set_list(c, &c->include, v);
}

static int set_exclude(struct vg_config *c, const char *v)
{
    return set_list(c, &c->exclude, v);
}

static int set_users(struct vg_config *c, const char *v)
{
    return set_uids(c->users, &c->n_users, v);
}

static int set_exclude_users(struct vg_config *c, const char *v)
{
    return set_uids(c->exclude_users, &c->n_exclude_users, v);
}

static int set_env(struct vg_config *c, const char *v)
{
    return set_list(c, &c->env, v);
}

static int set_redact(struct vg_config *c, const char *v)
{
    return set_list(c, &c->redact, v);
}

static int set_jobs(struct vg_config *c, const char *v)
{
    struct vg_list l;
    struct vg_job_source out[VG_LIST_MAX];
    size_t i;
    int rc = set_list(c, &l, v);

    if (rc != 0) {
        return rc;
    }
    /* Each item is scheduler:id_var:step_var:array_var, in the pool. */
    for (i = 0; i < l.n; i++) {
        char *f[4];
        char *p = (char *)l.item[i];
        int k;

        for (k = 0; k < 4; k++) {
            f[k] = p;
            p = strchr(p, ':');
            if (p != NULL) {
                *p++ = '\0';
            } else {
                p = f[k] + strlen(f[k]);
            }
        }
        if (f[0][0] == '\0' || f[1][0] == '\0') {
            return -EINVAL;
        }
        out[i].scheduler = f[0];
        out[i].id = f[1];
        out[i].step = f[2];
        out[i].array = f[3];
    }
    memcpy(c->jobs, out, l.n * sizeof(out[0]));
    c->n_jobs = l.n;
    return 0;
}

static int set_sample(struct vg_config *c, const char *v)
{
    return set_list(c, &c->sample, v);
}

static int set_sample_every(struct vg_config *c, const char *v)
{
    unsigned long n;

    if (parse_uint(v, 1000000UL, &n) != 0 || n == 0) {
        return -EINVAL;
    }
    c->sample_every = (unsigned)n;
    return 0;
}

static int set_short(struct vg_config *c, const char *v)
{
    return set_list(c, &c->short_run, v);
}

static int set_short_ms(struct vg_config *c, const char *v)
{
    unsigned long n;

    if (parse_uint(v, VG_SHORT_MS_MAX, &n) != 0) {
        return -EINVAL;
    }
    c->short_ms = n;
    return 0;
}

static int set_short_every(struct vg_config *c, const char *v)
{
    unsigned long n;

    if (parse_uint(v, 1000000UL, &n) != 0 || n == 0) {
        return -EINVAL;
    }
    c->short_every = (unsigned)n;
    return 0;
}

static int set_max_record(struct vg_config *c, const char *v)
{
    unsigned long n;

    if (parse_uint(v, VG_RECORD_LIMIT, &n) != 0 || n < VG_RECORD_MIN) {
        return -EINVAL;
    }
    c->max_record_bytes = n;
    return 0;
}

/* One row per key; the environment name is VIGIL_ + the key upper-cased. */
static const struct vg_key {
    const char *name;
    int (*set)(struct vg_config *c, const char *value);
} keys[] = {
    {"active", set_active},
    {"collector", set_collector},
    {"debug", set_debug},
    {"key_id", set_key_id},
    {"key_file", set_key_file},
    {"include", set_include},
    {"exclude", set_exclude},
    {"users", set_users},
    {"exclude_users", set_exclude_users},
    {"env", set_env},
    {"redact", set_redact},
    {"jobs", set_jobs},
    {"sample", set_sample},
    {"sample_every", set_sample_every},
    {"short", set_short},
    {"short_ms", set_short_ms},
    {"short_every", set_short_every},
    {"max_record_bytes", set_max_record},
};

#define N_KEYS COUNT(keys)
/* Index of "active" in keys[], checked before any file is read. */
#define KEY_ACTIVE 0

void vg_config_defaults(struct vg_config *c)
{
    /* The pool is left alone: only values that are set touch it. */
    memset(c, 0, offsetof(struct vg_config, pool));
    c->max_record_bytes = VG_RECORD_DEFAULT;
    c->sample_every = 1;
    c->short_ms = VG_SHORT_MS_DEFAULT;
    c->short_every = VG_SHORT_EVERY_DEFAULT;
    memcpy(c->env.item, default_env, sizeof(default_env));
    c->env.n = COUNT(default_env);
    memcpy(c->redact.item, default_redact, sizeof(default_redact));
    c->redact.n = COUNT(default_redact);
    memcpy(c->jobs, default_jobs, sizeof(default_jobs));
    c->n_jobs = COUNT(default_jobs);
}

int vg_config_set(struct vg_config *c, const char *key, const char *value)
{
    size_t i;

    for (i = 0; i < N_KEYS; i++) {
        if (vg_strcmp(keys[i].name, key) == 0) {
            return keys[i].set(c, value);
        }
    }
    return -ENOENT;
}

int vg_config_apply_text(struct vg_config *c, const char *text, size_t n)
{
    char line[1024];
    size_t at = 0;
    int failed = 0;

    while (at < n) {
        const char *end = memchr(text + at, '\n', n - at);
        size_t len = end != NULL ? (size_t)(end - (text + at)) : n - at;
        const char *s = text + at;
        const char *eq;
        const char *hash = memchr(s, '#', len);
        size_t klen;
        size_t vlen;
        const char *k;
        const char *v;

        at += len + 1;
        if (hash != NULL) {
            len = (size_t)(hash - s);
        }
        s = trim(s, &len);
        if (len == 0) {
            continue;
        }
        eq = memchr(s, '=', len);
        if (eq == NULL || len >= sizeof(line)) {
            failed++;
            continue;
        }
        klen = (size_t)(eq - s);
        k = trim(s, &klen);
        vlen = len - (size_t)(eq + 1 - s);
        v = trim(eq + 1, &vlen);
        memcpy(line, k, klen);
        line[klen] = '\0';
        memcpy(line + klen + 1, v, vlen);
        line[klen + 1 + vlen] = '\0';
        if (vg_config_set(c, line, line + klen + 1) != 0) {
            failed++;
        }
    }
    return failed;
}

void vg_env_get_many(char *const *envp, const char *const *names, size_t n,
                     const char **values)
{
    /*
     * Each wanted name as its first two bytes (the second is '=' for a
     * one-letter name): most variables are rejected by one 16-bit compare
     * per name, which matters with hundreds of variables.
     */
    struct {
        unsigned head;
        size_t len;
        size_t index;
    } want[VG_ENV_MANY_MAX];
    size_t m = 0;
    size_t i;

    if (n > VG_ENV_MANY_MAX) {
        n = VG_ENV_MANY_MAX;
    }
    for (i = 0; i < n; i++) {
        size_t len = names[i] != NULL ? strlen(names[i]) : 0;

        values[i] = NULL;
        if (len > 0) {
            want[m].head = (unsigned char)names[i][0] |
                           (unsigned)(len > 1 ? (unsigned char)names[i][1]
                                              : '=')
                               << 8;
            want[m].len = len;
            want[m].index = i;
            m++;
        }
    }
    for (; m > 0 && envp != NULL && *envp != NULL; envp++) {
        const char *e = *envp;
        unsigned head;

        if (e[0] == '\0') {
            continue;
        }
        head = (unsigned char)e[0] | (unsigned)(unsigned char)e[1] << 8;
        for (i = 0; i < m; i++) {
            size_t len = want[i].len;

            if (want[i].head == head && values[want[i].index] == NULL &&
                (len < 2 || vg_strncmp(e + 2, names[want[i].index] + 2,
                                    len - 2) == 0) &&
                e[len] == '=') {
                values[want[i].index] = e + len + 1;
            }
        }
    }
}

const char *vg_env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);

    for (; envp != NULL && *envp != NULL; envp++) {
        if (vg_strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') {
            return *envp + n + 1;
        }
    }
    return NULL;
}

/*
 * Finds every VIGIL_<KEY> of envp in one pass (the first occurrence of
 * each, as vg_env_get would): values[i] for keys[i], and VIGIL_CONFIG.
 * One pass instead of one per key: an HPC environment has hundreds of
 * variables, and this runs in every process.
 */
static void scan_env(char *const *envp, const char *values[],
                     const char **config)
{
    for (; envp != NULL && *envp != NULL; envp++) {
        const char *e = *envp;
        size_t i;

        if (vg_strncmp(e, "VIGIL_", 6) != 0) {
            continue;
        }
        e += 6;
        if (vg_strncmp(e, "CONFIG=", 7) == 0) {
            if (*config == NULL) {
                *config = e + 7;
            }
            continue;
        }
        for (i = 0; i < N_KEYS; i++) {
            const char *k = keys[i].name;
            size_t j = 0;

            while (k[j] != '\0' &&
                   e[j] == (k[j] >= 'a' && k[j] <= 'z' ? k[j] - 32 : k[j])) {
                j++;
            }
            if (k[j] == '\0' && e[j] == '=') {
                if (values[i] == NULL) {
                    values[i] = e + j + 1;
                }
                break;
            }
        }
    }
}

/* Applies the VIGIL_<KEY> values found; returns the number that failed. */
static int apply_env(struct vg_config *c, const char *const values[])
{
    size_t i;
    int failed = 0;

    for (i = 0; i < N_KEYS; i++) {
        if (values[i] != NULL && keys[i].set(c, values[i]) != 0) {
            failed++;
        }
    }
    return failed;
}

/*
 * Reads up to cap bytes of a file; returns the length or -errno.
 * O_NONBLOCK: a FIFO named as the config or key file must not block the
 * program (no effect on regular files). A short read is the end of a
 * regular file, so no extra read() is spent to see 0.
 */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    size_t got = 0;
    int fd = vg_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        return fd;
    }
    while (got < cap) {
        size_t want = cap - got;
        long n = vg_read(fd, buf + got, want);

        if (n <= 0) {
            break;
        }
        got += (size_t)n;
        if ((size_t)n < want) {
            break;
        }
    }
    vg_close(fd);
    return (ssize_t)got;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* The key file holds the key in hex; blanks and newlines are ignored. */
static int load_key(struct vg_config *c)
{
    char text[4 * VG_KEY_MAX];
    ssize_t n = read_file(c->key_file, text, sizeof(text));
    size_t len = 0;
    int hi = -1;
    ssize_t i;

    if (n < 0) {
        return (int)n;
    }
    for (i = 0; i < n; i++) {
        int v = hex_value(text[i]);

        if (is_space(text[i])) {
            continue;
        }
        if (v < 0 || len == VG_KEY_MAX) {
            return -EINVAL;
        }
        if (hi < 0) {
            hi = v;
        } else {
            c->key[len++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0 || len == 0) {
        return -EINVAL;
    }
    c->key_len = len;
    return 0;
}

int vg_config_load(struct vg_config *c, char *const *envp, int secure)
{
    char text[VG_CONFIG_FILE_MAX];

    vg_config_load_with(c, envp, secure, text);
    return vg_config_load_key(c);
}

int vg_config_load_key(struct vg_config *c)
{
    int rc = 0;

    if (c->active && c->key_file != NULL && c->key_file[0] != '\0') {
        rc = load_key(c);
        VG_MARK("cfg_key");
        if (rc != 0) {
            /* No usable key: send unsigned rather than a bad MAC. */
            c->key_len = 0;
        }
    }
    return rc;
}

void vg_config_load_with(struct vg_config *c, char *const *envp, int secure,
                         char *text)
{
    const char *path = VG_CONFIG_PATH;
    const char *values[N_KEYS];
    ssize_t n;

    memset(values, 0, sizeof(values));
    vg_config_defaults(c);
    if (!secure) {
        const char *p = NULL;
        const char *active;
        int on = 1;

        scan_env(envp, values, &p);
        VG_MARK("cfg_env");
        active = values[KEY_ACTIVE];

        /* The cheapest exit: switched off, before touching any file. */
        if (active != NULL && parse_bool(active, &on) == 0 && !on) {
            return;
        }
        if (p != NULL && *p != '\0') {
            path = p;
        }
    }
    n = read_file(path, text, VG_CONFIG_FILE_MAX);
    VG_MARK("cfg_read");
    if (n > 0) {
        vg_config_apply_text(c, text, (size_t)n);
    }
    if (!secure) {
        apply_env(c, values);
    }
    VG_MARK("cfg_apply");
}

/*
 * Dotted-quad IPv4 exactly as inet_pton(AF_INET) accepts it (four decimal
 * parts 0..255, no leading zeros beyond "0", nothing else), without
 * touching libc's page for inet_pton in every process.
 */
static int parse_ipv4(const char *s, struct in_addr *out)
{
    uint8_t b[4];
    int part;

    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        int digits = 0;

        while (*s >= '0' && *s <= '9') {
            if (digits > 0 && v == 0) {
                return 0; /* leading zero */
            }
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255) {
                return 0;
            }
        }
        if (digits == 0 || *s != (part < 3 ? '.' : '\0')) {
            return 0;
        }
        b[part] = (uint8_t)v;
        if (part < 3) {
            s++;
        }
    }
    memcpy(&out->s_addr, b, 4);
    return 1;
}

int vg_collector_parse(const char *spec, struct vg_collector *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *p;
    const char *colon;
    unsigned long port;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (vg_strncmp(spec, "unix:", 5) == 0) {
        p = spec + 5;
        n = strlen(p);
        if (n == 0 || n >= sizeof(out->addr.un.sun_path)) {
            return -EINVAL;
        }
        out->addr.un.sun_family = AF_UNIX;
        memcpy(out->addr.un.sun_path, p, n + 1);
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                               1);
        out->family = AF_UNIX;
        return 0;
    }
    if (vg_strncmp(spec, "udp://", 6) != 0) {
        return -EINVAL;
    }
    p = spec + 6;
    if (*p == '[') {
        const char *close = strchr(p, ']');

        if (close == NULL || close[1] != ':') {
            return -EINVAL;
        }
        n = (size_t)(close - p - 1);
        p++;
        colon = close + 1;
    } else {
        colon = strrchr(p, ':');
        if (colon == NULL) {
            return -EINVAL;
        }
        n = (size_t)(colon - p);
    }
    if (n == 0 || n >= sizeof(host) ||
        parse_uint(colon + 1, 65535, &port) != 0 || port == 0) {
        return -EINVAL;
    }
    memcpy(host, p, n);
    host[n] = '\0';
    /* Both parsers only read numbers: they never resolve a name. */
    if (parse_ipv4(host, &out->addr.in.sin_addr)) {
        out->addr.in.sin_family = AF_INET;
        out->addr.in.sin_port = htons((uint16_t)port);
        out->len = sizeof(out->addr.in);
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &out->addr.in6.sin6_addr) == 1) {
        out->addr.in6.sin6_family = AF_INET6;
        out->addr.in6.sin6_port = htons((uint16_t)port);
        out->len = sizeof(out->addr.in6);
        out->family = AF_INET6;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    return -EINVAL;
}

static int fold_eq(char a, char b, int fold)
{
    if (fold) {
        if (a >= 'a' && a <= 'z') {
            a = (char)(a - 32);
        }
        if (b >= 'a' && b <= 'z') {
            b = (char)(b - 32);
        }
    }
    return a == b;
}

static int span_eq(const char *a, const char *b, size_t n, int fold)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!fold_eq(a[i], b[i], fold)) {
            return 0;
        }
    }
    return 1;
}

int vg_pattern_match(const char *pattern, const char *name, size_t name_len,
                     int fold)
{
    size_t plen = strlen(pattern);
    int lead = plen > 0 && pattern[0] == '*';
    int tail = plen > (size_t)lead && pattern[plen - 1] == '*';
    const char *core = pattern + lead;
    size_t clen = plen - (size_t)lead - (size_t)tail;
    size_t i;

    if (plen == 1 && lead) {
        return 1;
    }
    if (clen > name_len) {
        return 0;
    }
    if (!lead && !tail) {
        return clen == name_len && span_eq(core, name, clen, fold);
    }
    if (!lead) {
        return span_eq(core, name, clen, fold);
    }
    if (!tail) {
        return span_eq(core, name + name_len - clen, clen, fold);
    }
    for (i = 0; i + clen <= name_len; i++) {
        if (span_eq(core, name + i, clen, fold)) {
            return 1;
        }
    }
    return 0;
}

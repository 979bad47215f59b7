/*
 * libvigil-preload.so: the constructor reports a ProcessStart, an on_exit
 * handler a ProcessEnd. Nothing here is exported: the constructor is
 * reached through .init_array, the handler through on_exit.
 *
 * Why on_exit and not an interposed exit(): glibc passes the exit status to
 * on_exit handlers for exit() and for a return from main (which calls exit
 * inside libc, where an interposed symbol would not be seen). _exit, exec
 * and fatal signals run no handler: then there is no end record.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "vigil/config.h"
#include "vigil/event.h"
#include "vigil/profile.h"
#include "vigil/notes.h"
#include "vigil/sha256.h"
#include "vigil/sys.h"
#include "vigil/transport.h"

/* Random bytes per process: start id, end id, the run-time rule's draw. */
#define VG_RANDOM_BYTES 24

/* Objects remembered per process (start list and start address set). */
#define VG_OBJECTS_MAX 1024

struct state {
    int tracking;
    pid_t pid;
    uint8_t start_id[16];
    /* Randomness for the end event id, drawn with the start's. */
    uint8_t end_random[10];
    uint64_t start_mono_ns;
    uint64_t sequence;
    /* Runs this one stands for, by the pid rule (sample_every). */
    uint32_t weight;
    /*
     * The run-time rule (executable under a "short" prefix): the start
     * datagram waits in out, start_len bytes at start_dg, until exit
     * decides; keep_short says whether a short run is the one in
     * short_every that is reported.
     */
    int deferred;
    int keep_short;
    const uint8_t *start_dg;
    size_t start_len;
    /*
     * What the start record is collected from. The run-time rule's lazy
     * case (deferred, not keep_short) is only reported if the run turns
     * out long, so at start it records just what cannot be read later
     * (times, ids, cwd, the number of objects) and the exit handler
     * collects the rest, only for a long run (see collect_start).
     */
    int argc;
    char **argv;
    char **envp;
    uint64_t start_unix_ns;
    uint32_t ppid;
    /* In text: the executable (exe_len bytes), then cwd, if any. */
    size_t exe_len;
    const char *cwd;
    size_t text_used;
    uint8_t random[VG_RANDOM_BYTES];
    unsigned long long start_adds;
    size_t start_total;
    size_t start_objects;
    char host[sizeof(((struct utsname *)0)->nodename)];
    char producer[96];
};

/*
 * All in .bss: no malloc, and untouched pages cost nothing. Every first
 * touch of a page is a page fault (about a microsecond), so the hot data of
 * a typical process fits a handful of pages: the state and the config
 * header, the start of the text arena, of the object table and of out.
 */
static _Alignas(4096) uint8_t out[VG_OUT_CAP];
_Static_assert(sizeof(out) >= VG_CONFIG_FILE_MAX, "config file read in out");
/* Objects at start, then those found at exit (dlopened). */
static struct vg_object objects[VG_OBJECTS_MAX];
/* exe, then cwd, then the cgroup line, packed one after the other. */
static char text[2 * PATH_MAX + VG_VALUE_MAX + 1];
/*
 * gcc lays out .bss in reverse order of definition: st lands just below
 * cfg, and both (with the head of the config pool) share one page instead
 * of faulting two. Only a matter of speed if a compiler does otherwise.
 */
static struct vg_config cfg;
static struct state st;
#ifdef VG_PROFILE
struct vg_marks vg_marks;
#endif

/* Writes "vigil-preload: <what> <n>" to stderr, only with debug on. */
static void debug(const char *what, long n)
{
    char line[160];
    char num[24];
    size_t len = 0;
    size_t w = strlen(what);
    unsigned long u = n < 0 ? (unsigned long)-n : (unsigned long)n;
    int i = (int)sizeof(num);

    if (!cfg.debug) {
        return;
    }
    if (w > 100) {
        w = 100;
    }
    memcpy(line, "vigil-preload: ", 15);
    len = 15;
    memcpy(line + len, what, w);
    len += w;
    do {
        num[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (n < 0) {
        num[--i] = '-';
    }
    line[len++] = ' ';
    memcpy(line + len, num + i, sizeof(num) - (size_t)i);
    len += sizeof(num) - (size_t)i;
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        return;
    }
}

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;

    if (clock_gettime(clock, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Draws the random bits of both event ids and of the run-time rule's
 * choice with one system call.
 */
static void draw_random(uint8_t r[VG_RANDOM_BYTES], uint64_t unix_ns)
{
    if (vg_getrandom(r, VG_RANDOM_BYTES, GRND_NONBLOCK) != VG_RANDOM_BYTES) {
        /* Early boot without entropy: still unique enough per host. */
        uint64_t x = unix_ns ^ ((uint64_t)vg_getpid() << 32);
        size_t i;

        for (i = 0; i < VG_RANDOM_BYTES; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            r[i] = (uint8_t)(x >> 56);
        }
    }
}

/* Reads a small file into buf as a C string; returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    long n;
    int fd = vg_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        return -1;
    }
    n = vg_read(fd, buf, cap - 1);
    vg_close(fd);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return n;
}

static int hex(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    return -1;
}

/* boot_id as text (for the producer id) and as 16 bytes. */
static int read_boot_id(char text[40], uint8_t raw[16])
{
    size_t i;
    size_t k = 0;

    if (slurp("/proc/sys/kernel/random/boot_id", text, 40) < 36) {
        return 0;
    }
    text[36] = '\0';
    for (i = 0; i < 36 && k < 16; i++) {
        int hi = hex(text[i]);
        int lo;

        if (hi < 0) {
            continue;
        }
        lo = hex(text[++i]);
        if (lo < 0) {
            return 0;
        }
        raw[k++] = (uint8_t)(hi << 4 | lo);
    }
    return k == 16;
}

/*
 * The cgroup v2 path ("0::<path>"), or the first line on v1 hosts, read
 * into buf (cap bytes).
 */
static const char *read_cgroup(char *cgroup, size_t cap)
{
    char *line = cgroup;
    char *nl;

    if (slurp("/proc/self/cgroup", cgroup, cap) <= 0) {
        return NULL;
    }
    while (line != NULL && *line != '\0') {
        if (vg_strncmp(line, "0::", 3) == 0) {
            line += 3;
            break;
        }
        nl = strchr(line, '\n');
        line = nl != NULL ? nl + 1 : NULL;
    }
    if (line == NULL || *line == '\0') {
        line = cgroup;
    }
    nl = strchr(line, '\n');
    if (nl != NULL) {
        *nl = '\0';
    }
    return line;
}

static int has_prefix(const struct vg_list *l, const char *path)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (vg_strncmp(path, l->item[i], strlen(l->item[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

static int has_uid(const uid_t *uids, size_t n, uid_t uid)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (uids[i] == uid) {
            return 1;
        }
    }
    return 0;
}

/*
 * The cheap decision, before anything is collected: 0 when the process is
 * not tracked, else how many runs it stands for (sample_every when the
 * pid rule picked it).
 */
static uint32_t wanted(uid_t uid, const char *path, pid_t pid)
{
    if (cfg.n_users > 0 && !has_uid(cfg.users, cfg.n_users, uid)) {
        return 0;
    }
    if (has_uid(cfg.exclude_users, cfg.n_exclude_users, uid)) {
        return 0;
    }
    if (cfg.include.n > 0 && !has_prefix(&cfg.include, path)) {
        return 0;
    }
    if (has_prefix(&cfg.exclude, path)) {
        return 0;
    }
    if (cfg.sample_every > 1 && has_prefix(&cfg.sample, path)) {
        return (unsigned long)pid % cfg.sample_every == 0 ? cfg.sample_every
                                                          : 0;
    }
    return 1;
}

struct scan {
    size_t seen;
    size_t first;
    size_t n;
    uint32_t dropped;
    const uint8_t *exe_build_id;
    size_t exe_build_id_len;
    int at_end;
    /* Lazy start at exit: only the first limit objects (0: all). */
    size_t limit;
    size_t base_at;
    /* glibc's __x86_get_cpuid_feature_leaf, when libc has it (2.33+). */
    const void *cpu_leaf;
};

static void describe(struct dl_phdr_info *info, struct vg_object *o,
                     const char *path)
{
    struct vg_notes notes;

    memset(&notes, 0, sizeof(notes));
    vg_notes_from_phdrs(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum,
                        &notes);
    o->path = path;
    o->build_id = notes.build_id;
    o->build_id_len = notes.build_id_len;
    o->watermark = notes.watermark;
    o->watermark_len = notes.watermark_len;
    o->dlopened = 0;
    o->base = info->dlpi_addr;
}

#if defined(__x86_64__)
/* True for ".../libc.so.6", the one object that can hold the function. */
static int is_libc(const char *path)
{
    size_t n = strlen(path);

    return n >= 10 && vg_strcmp(path + n - 10, "/libc.so.6") == 0;
}

/*
 * Whether the SHA extensions may be used, asked of glibc (2.33+), which
 * ran CPUID once at startup and also honours GLIBC_TUNABLES: executing
 * CPUID here would be a VM exit, about 7 us, in every process. With an
 * older glibc, or another libc, the portable code stays.
 */
static void use_sha_extensions(const void *leaf_fn)
{
    /* struct cpuid_feature of <sys/platform/x86.h>. */
    struct leaf {
        unsigned int cpuid[4];
        unsigned int active[4];
    };
    const struct leaf *(*leaf)(unsigned int);
    const struct leaf *l1;
    const struct leaf *l7;

    if (leaf_fn == NULL) {
        return;
    }
    /* A function pointer from a data pointer, as dlsym's callers do. */
    memcpy(&leaf, &leaf_fn, sizeof(leaf));
    l1 = leaf(0); /* CPUID_INDEX_1 */
    l7 = leaf(1); /* CPUID_INDEX_7 */
    if (l1 != NULL && l7 != NULL &&
        (l1->active[2] & (1u << 9)) != 0 &&  /* ecx: SSSE3 */
        (l1->active[2] & (1u << 19)) != 0 && /* ecx: SSE4.1 */
        (l7->active[1] & (1u << 29)) != 0) { /* ebx: SHA */
        vg_sha256_accelerate(1);
    }
}
#endif

static int on_start_object(struct dl_phdr_info *info, size_t size, void *p)
{
    struct scan *s = p;
    const char *name = info->dlpi_name != NULL ? info->dlpi_name : "";

    if (s->limit != 0 && s->seen == s->limit) {
        return 1; /* the rest was dlopened after start */
    }
    if (s->seen == 0 && s->limit == 0 &&
        size >= offsetof(struct dl_phdr_info, dlpi_subs)) {
        st.start_adds = info->dlpi_adds;
    }
#if defined(__x86_64__)
    /* Only signing hashes: without a key there is nothing to speed up. */
    if (s->cpu_leaf == NULL && cfg.key_len > 0 && is_libc(name)) {
        s->cpu_leaf = vg_elf_symbol(info->dlpi_addr, info->dlpi_phdr,
                                    info->dlpi_phnum,
                                    "__x86_get_cpuid_feature_leaf");
    }
#endif
    if (s->n < VG_OBJECTS_MAX) {
        struct vg_object *o = &objects[s->n++];

        describe(info, o, s->seen == 0 && name[0] == '\0' ? text : name);
        if (s->seen == 0) {
            s->exe_build_id = o->build_id;
            s->exe_build_id_len = o->build_id_len;
        }
    } else {
        s->dropped++;
    }
    s->seen++;
    return 0;
}

/* The lazy start: how many objects are mapped, and the dlopen count. */
static int count_start_object(struct dl_phdr_info *info, size_t size,
                              void *p)
{
    size_t *n = p;

    if (*n == 0 && size >= offsetof(struct dl_phdr_info, dlpi_subs)) {
        st.start_adds = info->dlpi_adds;
    }
    ++*n;
    return 0;
}

/*
 * True when base was mapped at start. Objects stay in link-map order and
 * dlopen appends, so one forward pass over the start table suffices.
 */
static int known(struct scan *s, uintptr_t base)
{
    size_t i;

    for (i = s->base_at; i < st.start_objects; i++) {
        if (objects[i].base == base) {
            s->base_at = i + 1;
            return 1;
        }
    }
    /* Beyond the table nothing is known: assume start objects. */
    return st.start_total > VG_OBJECTS_MAX && s->seen < st.start_total;
}

static int on_end_object(struct dl_phdr_info *info, size_t size, void *p)
{
    struct scan *s = p;

    if (s->seen == 0 &&
        size >= offsetof(struct dl_phdr_info, dlpi_subs) &&
        info->dlpi_adds == st.start_adds) {
        return 1; /* nothing was loaded since start */
    }
    if (!known(s, info->dlpi_addr)) {
        if (s->first + s->n < VG_OBJECTS_MAX) {
            struct vg_object *o = &objects[s->first + s->n++];

            describe(info, o, info->dlpi_name);
            o->dlopened = 1;
        } else {
            s->dropped++;
        }
    }
    s->seen++;
    return 0;
}

static void sign_with_config(struct vg_envelope *env)
{
    env->host = st.host;
    env->producer_id = st.producer;
    env->key_id = cfg.key_id;
    env->key = cfg.key;
    env->key_len = cfg.key_len;
}

/*
 * Collects and encodes the start record into out, from what vg_init
 * recorded (times, ids, argv, cwd, ...) plus what it reads now: the job and
 * module variables, cgroup, boot id, objects and their notes, host. Called
 * by the constructor, or by the exit handler for a long lazy run, then with
 * limit = the number of objects mapped at start, so that objects dlopened
 * since are left to the end record.
 */
static int collect_start(size_t limit, struct vg_datagram *dg)
{
    struct vg_envelope env;
    struct vg_start s;
    struct utsname uts;
    struct scan scan;
    char boot_text[40];
    size_t i;
    int rc;

    /* Read only now: a lazy run left out never signs anything. */
    rc = vg_config_load_key(&cfg);
    if (rc != 0) {
        debug("key file unusable, sending unsigned; error", rc);
    }
    memset(&s, 0, sizeof(s));
    s.pid = (uint32_t)st.pid;
    s.ppid = st.ppid;
    s.uid = (uint32_t)getauxval(AT_UID);
    s.gid = (uint32_t)getauxval(AT_GID);
    s.euid = (uint32_t)getauxval(AT_EUID);
    s.egid = (uint32_t)getauxval(AT_EGID);
    s.executable = st.exe_len > 0 ? text : NULL;
    s.argc = st.argc;
    s.argv = st.argv;
    s.envp = st.envp;
    s.cwd = st.cwd;
    /*
     * The job variables of every scheduler and the module variables in one
     * pass over the environment (which can hold hundreds of entries).
     */
    {
        const char *names[3 * VG_LIST_MAX + 2];
        const char *values[3 * VG_LIST_MAX + 2];
        size_t n = 0;

        for (i = 0; i < cfg.n_jobs; i++) {
            names[n++] = cfg.jobs[i].id;
            names[n++] = cfg.jobs[i].step;
            names[n++] = cfg.jobs[i].array;
        }
        names[n++] = "LOADEDMODULES";
        names[n++] = "_LMFILES_";
        vg_env_get_many(st.envp, names, n, values);
        for (i = 0; i < cfg.n_jobs; i++) {
            const char *id = values[3 * i];

            if (id != NULL && *id != '\0') {
                s.job_scheduler = cfg.jobs[i].scheduler;
                s.job_id = id;
                s.job_step = values[3 * i + 1];
                s.job_array = values[3 * i + 2];
                break;
            }
        }
        s.loaded_modules = values[n - 2];
        s.module_files = values[n - 1];
    }
    VG_MARK("env");
    s.cgroup = read_cgroup(text + st.text_used, VG_VALUE_MAX + 1);
    VG_MARK("cgroup");
    s.has_boot_id = read_boot_id(boot_text, s.boot_id);
    VG_MARK("boot_id");
    if (!s.has_boot_id) {
        memcpy(boot_text, "unknown", 8);
    }
    memset(&scan, 0, sizeof(scan));
    scan.limit = limit;
    dl_iterate_phdr(on_start_object, &scan);
    if (limit == 0) {
        st.start_total = scan.seen;
    }
    st.start_objects = scan.n;
    s.objects = objects;
    s.n_objects = scan.n;
    s.objects_dropped = scan.dropped;
    s.build_id = scan.exe_build_id;
    s.build_id_len = scan.exe_build_id_len;
#if defined(__x86_64__)
    use_sha_extensions(scan.cpu_leaf);
#endif
    VG_MARK("objects");

    if (vg_uname(&uts) == 0) {
        memcpy(st.host, uts.nodename, sizeof(st.host));
    }
    {
        /* "preload/<boot id>/<pid>" without stdio. */
        char num[16];
        int k = (int)sizeof(num);
        unsigned long pid = (unsigned long)s.pid;
        size_t len = 0;

        do {
            num[--k] = (char)('0' + pid % 10);
            pid /= 10;
        } while (pid > 0);
        memcpy(st.producer, "preload/", 8);
        len = 8;
        memcpy(st.producer + len, boot_text, strlen(boot_text));
        len += strlen(boot_text);
        st.producer[len++] = '/';
        memcpy(st.producer + len, num + k, sizeof(num) - (size_t)k);
        len += sizeof(num) - (size_t)k;
        st.producer[len] = '\0';
    }
    VG_MARK("uname_producer");
    memset(&env, 0, sizeof(env));
    env.time_unix_nano = st.start_unix_ns;
    vg_uuid7(env.event_id, env.time_unix_nano / 1000000u, st.random);
    memcpy(st.end_random, st.random + 10, 10);
    memcpy(st.start_id, env.event_id, 16);
    st.sequence = 1;
    env.sequence = st.sequence;
    sign_with_config(&env);
    rc = vg_encode_start(&env, &s, &cfg, out, dg);
    VG_MARK("encode");
    return rc;
}

static void vg_on_exit(int status, void *arg)
{
    int saved = errno;
    struct vg_envelope env;
    struct vg_end e;
    struct vg_datagram dg;
    struct rusage ru;
    struct scan s;
    int rc;

    (void)arg;
    VG_MARK("begin");
    /* A forked child that never exec'd is not the process we reported. */
    if (!st.tracking || vg_getpid() != st.pid) {
        errno = saved;
        return;
    }
    st.tracking = 0;
    memset(&env, 0, sizeof(env));
    env.time_unix_nano = now_ns(CLOCK_REALTIME);
    memset(&e, 0, sizeof(e));
    e.duration_ns = now_ns(CLOCK_MONOTONIC) - st.start_mono_ns;
    e.sample_weight = st.weight;
    if (st.deferred) {
        /* The run-time rule: a short run is reported 1 in short_every. */
        if (e.duration_ns < (uint64_t)cfg.short_ms * 1000000u) {
            if (!st.keep_short) {
                debug("short run not reported, us",
                      (long)(e.duration_ns / 1000u));
                errno = saved;
                return;
            }
            e.sample_weight *= cfg.short_every;
        }
        if (!st.keep_short) {
            /* A long lazy run: the rest of its start is collected now. */
            struct vg_datagram start;

            rc = collect_start(st.start_total, &start);
            st.start_dg = rc == 0 ? start.p : NULL;
            st.start_len = rc == 0 ? start.len : 0;
        }
        rc = st.start_len > 0
                 ? vg_send(&cfg.collector, st.start_dg, st.start_len)
                 : -ENODATA;
        debug(rc == 0 ? "sent deferred start, bytes"
                      : "dropped deferred start, error",
              rc == 0 ? (long)st.start_len : rc);
    }
    memset(&s, 0, sizeof(s));
    e.pid = (uint32_t)st.pid;
    memcpy(e.start_event_id, st.start_id, 16);
    e.exit_status = status;
    if (vg_getrusage(RUSAGE_SELF, &ru) == 0) {
        e.user_cpu_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u +
                        (uint64_t)ru.ru_utime.tv_usec * 1000u;
        e.system_cpu_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000u +
                          (uint64_t)ru.ru_stime.tv_usec * 1000u;
        e.max_rss_kib = (uint64_t)ru.ru_maxrss;
    }
    s.at_end = 1;
    s.first = st.start_objects;
    VG_MARK("rusage");
    dl_iterate_phdr(on_end_object, &s);
    VG_MARK("objects");
    e.dlopened = objects + s.first;
    e.n_dlopened = s.n;
    e.dlopened_dropped = s.dropped;
    vg_uuid7(env.event_id, env.time_unix_nano / 1000000u, st.end_random);
    env.sequence = ++st.sequence;
    sign_with_config(&env);
    rc = vg_encode_end(&env, &e, &cfg, out, &dg);
    VG_MARK("encode");
    if (rc == 0) {
        rc = vg_send(&cfg.collector, dg.p, dg.len);
    }
    VG_MARK("send");
    VG_MARKS_DUMP("end");
    debug(rc == 0 ? "sent end, bytes" : "dropped end, error",
          rc == 0 ? (long)dg.len : rc);
    errno = saved;
}

static void vg_init(int argc, char **argv, char **envp)
{
    int saved = errno;
    struct vg_datagram dg;
    uid_t uid;
    ssize_t n;
    char *cwd;
    int rc;

    VG_MARK("begin");
    /* out is free until the start record: the config file is read there. */
    vg_config_load_with(&cfg, envp, getauxval(AT_SECURE) != 0, (char *)out);
    if (!cfg.active || cfg.collector.family == 0) {
        debug(cfg.active ? "no usable collector, not tracking" : "inactive",
              0);
        errno = saved;
        return;
    }
    VG_MARK("config");
    /* The kernel put the ids in the auxiliary vector: no system calls. */
    uid = (uid_t)getauxval(AT_UID);
    st.pid = (pid_t)vg_getpid();
    n = vg_readlink("/proc/self/exe", text, PATH_MAX - 1);
    st.exe_len = (size_t)(n > 0 ? n : 0);
    text[st.exe_len] = '\0';
    st.text_used = st.exe_len + 1;
    VG_MARK("exe");
    st.weight = wanted(uid, text, st.pid);
    if (st.weight == 0) {
        debug("filtered out, pid", (long)st.pid);
        errno = saved;
        return;
    }
    st.start_unix_ns = now_ns(CLOCK_REALTIME);
    st.start_mono_ns = now_ns(CLOCK_MONOTONIC);
    st.ppid = (uint32_t)vg_getppid();
    st.argc = argc;
    st.argv = argv;
    st.envp = envp;
    cwd = vg_getcwd(text + st.text_used, PATH_MAX);
    st.cwd = cwd;
    if (cwd != NULL) {
        st.text_used += strlen(cwd) + 1;
    }
    draw_random(st.random, st.start_unix_ns);
    VG_MARK("clocks_cwd_random");
    st.deferred = cfg.short_run.n > 0 && has_prefix(&cfg.short_run, text);
    if (st.deferred) {
        /* One in short_every short runs is kept, drawn now. */
        st.keep_short =
            ((uint32_t)st.random[20] | (uint32_t)st.random[21] << 8 |
             (uint32_t)st.random[22] << 16 | (uint32_t)st.random[23] << 24) %
                cfg.short_every ==
            0;
    }
    if (st.deferred && !st.keep_short) {
        /*
         * Reported only if the run turns out long: the exit handler
         * collects the rest then, so a short run left out pays for none
         * of it. The objects mapped now are counted, so that those
         * dlopened later are still told apart.
         */
        size_t objects_now = 0;

        dl_iterate_phdr(count_start_object, &objects_now);
        st.start_total = objects_now;
        debug("start collected at exit if long, pid", (long)st.pid);
    } else {
        rc = collect_start(0, &dg);
        if (rc == 0 && st.deferred) {
            /*
             * Held in out (nothing else writes there before the exit
             * handler) and sent by it.
             */
            st.start_dg = dg.p;
            st.start_len = dg.len;
            debug("deferred start, bytes", (long)dg.len);
        } else {
            if (rc == 0) {
                rc = vg_send(&cfg.collector, dg.p, dg.len);
            }
            debug(rc == 0 ? "sent start, bytes" : "dropped start, error",
                  rc == 0 ? (long)dg.len : rc);
        }
        VG_MARK("send");
    }
    /* The end record is wanted even when the start was dropped. */
    st.tracking = 1;
    if (on_exit(vg_on_exit, NULL) != 0) {
        st.tracking = 0;
    }
    VG_MARK("on_exit");
    VG_MARKS_DUMP("start");
    errno = saved;
}

/* glibc calls .init_array entries with (argc, argv, envp). */
__attribute__((section(".init_array"), used)) static void (*const init_entry)(
    int, char **, char **) = vg_init;

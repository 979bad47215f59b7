/*
 * Writes the golden datagrams in tests/golden/ from fixed inputs and a
 * fixed key, with the library's own encoder. tests/golden.test.ts decodes
 * them with the TypeScript schemas and checks every field and the HMAC;
 * the gateway's tests read the same files.
 *
 * Key: the 32 bytes 00 01 .. 1f, key id "golden-key".
 */
#include <stdio.h>
#include <string.h>

#include "vigil/config.h"
#include "vigil/event.h"

static const uint8_t key[32] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

static int write_file(const char *dir, const char *name,
                      const struct vg_datagram *dg)
{
    char path[4096];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    n = fwrite(dg->p, 1, dg->len, f);
    if (fclose(f) != 0 || n != dg->len) {
        perror(path);
        return 1;
    }
    printf("wrote %s (%zu bytes)\n", path, dg->len);
    return 0;
}

static void envelope(struct vg_envelope *env, uint8_t last, uint64_t seq)
{
    static const uint8_t id[16] = {
        0x01, 0x93, 0xa0, 0xb0, 0xc0, 0xd0, 0x7e, 0x00,
        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };

    memset(env, 0, sizeof(*env));
    memcpy(env->event_id, id, 16);
    env->event_id[15] = last;
    env->host = "node001";
    env->producer_id = "preload/6f1c1b9e-1d2a-4c39-9d5e-0e4b8f2a7c10/4242";
    env->sequence = seq;
    env->time_unix_nano = 1790000000123456789u + seq * 1000000u;
    env->key_id = "golden-key";
    env->key = key;
    env->key_len = sizeof(key);
}

int main(int argc, char **argv)
{
    static uint8_t out[VG_OUT_CAP];
    static struct vg_config cfg;
    static char big[20][1001];
    static char *big_argv[21];
    static const uint8_t exe_build_id[20] = {
        0xc8, 0x91, 0x56, 0xeb, 0xda, 0xbf, 0x85, 0x9f, 0x4e, 0xe7,
        0x0c, 0xb0, 0xc3, 0x03, 0x00, 0x4d, 0xcc, 0xf1, 0xae, 0x51,
    };
    static const uint8_t libc_build_id[20] = {
        0x93, 0xac, 0x61, 0xec, 0x5a, 0x8e, 0xb1, 0x39, 0x6f, 0x9f,
        0xbd, 0x35, 0x0e, 0x31, 0x69, 0xa5, 0x58, 0x52, 0x8a, 0x40,
    };
    /* A watermark descriptor as tools/vigil-sign writes it. */
    static const uint8_t watermark[] =
        "\x01\x93\xa0\xb0\xc0\xd0\x7a\xbc\x80\x11\x22\x33\x44\x55\x66\x77"
        "hello\0" "1.0\0" "ci\0" "2026-01-01T00:00:00Z";
    static char *args[] = {"hello", "--name", "w\xffrld", "", NULL};
    static char *envp[] = {"PATH=/usr/bin:/bin", "MY_TOKEN=s3cret",
                           "MY_DIR=/scratch/alice", "HOME=/home/alice",
                           NULL};
    struct vg_object objs[2];
    struct vg_object dl[1];
    struct vg_envelope env;
    struct vg_datagram dg;
    struct vg_start s;
    struct vg_end e;
    const char *dir = argc > 1 ? argv[1] : "tests/golden";
    int bad = 0;
    int i;

    vg_config_defaults(&cfg);
    vg_config_set(&cfg, "env", "PATH,MY_*");

    memset(objs, 0, sizeof(objs));
    objs[0].path = "/usr/bin/hello";
    objs[0].build_id = exe_build_id;
    objs[0].build_id_len = sizeof(exe_build_id);
    objs[0].watermark = watermark;
    objs[0].watermark_len = sizeof(watermark);
    objs[1].path = "/lib/x86_64-linux-gnu/libc.so.6";
    objs[1].build_id = libc_build_id;
    objs[1].build_id_len = sizeof(libc_build_id);

    memset(&s, 0, sizeof(s));
    s.pid = 4242;
    s.ppid = 1;
    s.uid = 1000;
    s.gid = 1000;
    s.euid = 1000;
    s.egid = 100;
    s.executable = "/usr/bin/hello";
    s.argc = 4;
    s.argv = args;
    s.cwd = "/home/alice";
    s.job_scheduler = "slurm";
    s.job_id = "123";
    s.job_step = "0";
    s.job_array = "5";
    s.loaded_modules = "gcc/12.2:openmpi/4.1";
    s.module_files = "/m/gcc/12.2:/m/openmpi/4.1";
    s.envp = envp;
    s.cgroup = "/system.slice/slurmstepd.scope/job_123";
    s.build_id = exe_build_id;
    s.build_id_len = sizeof(exe_build_id);
    s.objects = objs;
    s.n_objects = 2;
    for (i = 0; i < 16; i++) {
        s.boot_id[i] = (uint8_t)(0xb0 + i);
    }
    s.has_boot_id = 1;
    envelope(&env, 1, 1);
    bad |= vg_encode_start(&env, &s, &cfg, out, &dg) != 0 ||
           write_file(dir, "start.bin", &dg);

    memset(dl, 0, sizeof(dl));
    dl[0].path = "/opt/plugins/libplugin.so";
    dl[0].dlopened = 1;
    memset(&e, 0, sizeof(e));
    e.pid = 4242;
    memcpy(e.start_event_id, env.event_id, 16);
    e.exit_status = -2;
    e.duration_ns = 1500000000u;
    e.user_cpu_ns = 1200000000u;
    e.system_cpu_ns = 30000000u;
    e.max_rss_kib = 20480;
    e.dlopened = dl;
    e.n_dlopened = 1;
    envelope(&env, 2, 2);
    bad |= vg_encode_end(&env, &e, &cfg, out, &dg) != 0 ||
           write_file(dir, "end.bin", &dg);

    /* Sampled: the same end standing for 100 short runs. */
    e.sample_weight = 100;
    envelope(&env, 5, 2);
    bad |= vg_encode_end(&env, &e, &cfg, out, &dg) != 0 ||
           write_file(dir, "end-sampled.bin", &dg);
    e.sample_weight = 0;

    /* Trimmed: 20 arguments of 1000 bytes under a 16 KiB limit. */
    for (i = 0; i < 20; i++) {
        memset(big[i], 'a' + i, 1000);
        big_argv[i] = big[i];
    }
    s.argc = 20;
    s.argv = big_argv;
    vg_config_set(&cfg, "max_record_bytes", "16384");
    envelope(&env, 3, 1);
    bad |= vg_encode_start(&env, &s, &cfg, out, &dg) != 0 ||
           write_file(dir, "start-trimmed.bin", &dg);

    /* Unsigned: no key configured. */
    s.argc = 4;
    s.argv = args;
    envelope(&env, 4, 1);
    env.key_len = 0;
    bad |= vg_encode_start(&env, &s, &cfg, out, &dg) != 0 ||
           write_file(dir, "start-unsigned.bin", &dg);
    return bad ? 1 : 0;
}

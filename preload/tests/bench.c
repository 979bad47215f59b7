/*
 * npm run bench: time added per exec by libvigil-preload.so. For each
 * program, every round runs the baseline (no preload), the floor (an empty
 * preload library) and Vigil (tracking, signing and sending to a local
 * UDP socket this process drains), in rotating order so drift hits all
 * three alike. Prints medians in microseconds.
 *
 *   build/bench [rounds-scale [other-library.so]]     (scale default 1)
 *
 * With a second library (an older build, say), a fifth column runs it to
 * the UDP collector in the same rotation, for before/after comparisons.
 *
 * The "run-time rule" row runs /bin/true with "short = /" in the Vigil
 * configs (every program is held to exit, short runs reported 1 in 100):
 * what a left-out short run costs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONFIGS 5
#define MAX_ROUNDS 2000
/* A login environment of an HPC user has 50-200 variables. */
#define LOGIN_VARS 90

static const char *const config_names[CONFIGS] = {
    "baseline", "floor", "vigil udp", "vigil unix", "other udp"};
static double samples[CONFIGS][MAX_ROUNDS];
/* CPU time of the child (user + system, from wait4): immune to waiting
 * for a busy CPU, so steadier than wall time on a loaded machine. */
static double cpu_samples[CONFIGS][MAX_ROUNDS];
static double last_cpu_us;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double run_once(char *const argv[], char *const envp[])
{
    double t0 = now_us();
    pid_t pid;
    int status;
    struct rusage ru;

    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, envp) != 0) {
        perror("posix_spawn");
        exit(1);
    }
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    last_cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: %s failed\n", argv[0]);
        exit(1);
    }
    return now_us() - t0;
}

static long drain(int sock)
{
    char buf[65536];
    long n = 0;

    while (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
        n++;
    }
    return n;
}

/* The environments of one row kind, per config (set up in main). */
static char *const *env_table[3][CONFIGS];

static char *const *pick(int kind, int config)
{
    return env_table[kind][config];
}

/*
 * Writes a Vigil config file for the bench to a fresh mkstemp path (the
 * template is filled in): active, collector, the bench key, then extra.
 */
static int write_config(char *path_template, const char *collector,
                        const char *key_file, const char *extra)
{
    int fd = mkstemp(path_template);
    int rc;

    if (fd < 0) {
        return -1;
    }
    rc = dprintf(fd, "active = 1\ncollector = %s\nkey_id = bench\n"
                     "key_file = %s\n%s",
                 collector, key_file, extra);
    close(fd);
    return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    static char preload_env[4200];
    static char floor_env[4200];
    static char config_env[4200];
    static char unix_env[4200];
    static char other_env[4200];
    int configs = argc > 2 ? 5 : 4;
    char unix_conf[] = "/tmp/vigil-bench-unix-XXXXXX";
    char unix_path[] = "/tmp/vigil-bench-sock-XXXXXX";
    struct sockaddr_un su;
    int usock;
    char cwd[4000];
    char conf[] = "/tmp/vigil-bench-conf-XXXXXX";
    char keyf[] = "/tmp/vigil-bench-key-XXXXXX";
    char prog_path[4100];
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    char *const true_argv[] = {"/bin/true", NULL};
    char *prog_argv[] = {prog_path, "true", NULL};
    char *const py_argv[] = {"/usr/bin/python3", "-c", "pass", NULL};
    struct {
        const char *name;
        char *const *argv;
        int rounds;
        /* 0: small environment, 1: LOGIN_VARS more, 2: run-time rule. */
        int env_kind;
    } programs[] = {
        {"/bin/true", true_argv, 400, 0},
        {"  with 90 env vars", true_argv, 400, 1},
        {"  run-time rule", true_argv, 400, 2},
        {"30 shared objects", prog_argv, 300, 0},
        {"python3 -c pass", py_argv, 40, 0},
    };
    /* Per config: the variables above, then (login_env) LOGIN_VARS more. */
    static char *envs[CONFIGS][4 + LOGIN_VARS];
    static char login_vars[LOGIN_VARS][96];
    char *small[CONFIGS][4];
    char *short_rule[CONFIGS][4];
    static char short_env[4200];
    static char short_unix_env[4200];
    char short_conf[] = "/tmp/vigil-bench-short-XXXXXX";
    char short_unix_conf[] = "/tmp/vigil-bench-shortu-XXXXXX";
    char udp_collector[64];
    char unix_collector[128];
    long datagrams = 0;
    long expected = 0;
    size_t p;
    int sock;
    int fd;

    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return 1;
    }
    snprintf(prog_path, sizeof(prog_path), "%s/build/bench-prog", cwd);
    sock = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    {
        int rcvbuf = 8 << 20;

        setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    if (bind(sock, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(sock, (struct sockaddr *)&sa, &sl) != 0) {
        perror("bind");
        return 1;
    }
    usock = socket(AF_UNIX, SOCK_DGRAM, 0);
    memset(&su, 0, sizeof(su));
    su.sun_family = AF_UNIX;
    fd = mkstemp(unix_path);
    close(fd);
    unlink(unix_path);
    memcpy(su.sun_path, unix_path, sizeof(unix_path));
    {
        int rcvbuf = 8 << 20;

        setsockopt(usock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    if (bind(usock, (struct sockaddr *)&su, sizeof(su)) != 0) {
        perror("bind unix");
        return 1;
    }
    fd = mkstemp(keyf);
    if (fd < 0 || write(fd, "000102030405060708090a0b0c0d0e0f"
                            "101112131415161718191a1b1c1d1e1f\n", 65) != 65) {
        return 1;
    }
    close(fd);
    snprintf(udp_collector, sizeof(udp_collector), "udp://127.0.0.1:%d",
             ntohs(sa.sin_port));
    snprintf(unix_collector, sizeof(unix_collector), "unix:%s", unix_path);
    if (write_config(conf, udp_collector, keyf, "") != 0 ||
        write_config(unix_conf, unix_collector, keyf, "") != 0 ||
        write_config(short_conf, udp_collector, keyf, "short = /\n") != 0 ||
        write_config(short_unix_conf, unix_collector, keyf,
                     "short = /\n") != 0) {
        return 1;
    }
    snprintf(short_env, sizeof(short_env), "VIGIL_CONFIG=%s", short_conf);
    snprintf(short_unix_env, sizeof(short_unix_env), "VIGIL_CONFIG=%s",
             short_unix_conf);
    snprintf(unix_env, sizeof(unix_env), "VIGIL_CONFIG=%s", unix_conf);
    snprintf(preload_env, sizeof(preload_env),
             "LD_PRELOAD=%s/build/libvigil-preload.so", cwd);
    snprintf(floor_env, sizeof(floor_env),
             "LD_PRELOAD=%s/build/libvigil-empty.so", cwd);
    snprintf(config_env, sizeof(config_env), "VIGIL_CONFIG=%s", conf);
    envs[0][0] = "PATH=/usr/bin:/bin";
    envs[0][1] = NULL;
    envs[1][0] = "PATH=/usr/bin:/bin";
    envs[1][1] = floor_env;
    envs[1][2] = NULL;
    envs[2][0] = "PATH=/usr/bin:/bin";
    envs[2][1] = preload_env;
    envs[2][2] = config_env;
    envs[2][3] = NULL;
    envs[3][0] = "PATH=/usr/bin:/bin";
    envs[3][1] = preload_env;
    envs[3][2] = unix_env;
    envs[3][3] = NULL;
    if (argc > 2) {
        snprintf(other_env, sizeof(other_env), "LD_PRELOAD=%s", argv[2]);
    }
    envs[4][0] = "PATH=/usr/bin:/bin";
    envs[4][1] = other_env;
    envs[4][2] = config_env;
    envs[4][3] = NULL;

    for (p = 0; p < LOGIN_VARS; p++) {
        static const char *const names[] = {"SLURM_CONF_", "MODULE_", "XDG_",
                                            "APP_OPTION_", "LC_"};

        snprintf(login_vars[p], sizeof(login_vars[p]), "%s%zu=%.*s",
                 names[p % 5], p, (int)(p % 60) + 1,
                 "/opt/apps/site/2026.1/lib64:/opt/apps/site/2026.1/share/x");
    }
    for (p = 0; p < CONFIGS; p++) {
        size_t i = 0;
        size_t k;

        while (envs[p][i] != NULL) {
            small[p][i] = envs[p][i];
            i++;
        }
        small[p][i] = NULL;
        memcpy(short_rule[p], small[p], sizeof(small[p]));
        if (p == 2 || p == 4) {
            short_rule[p][2] = short_env;
        } else if (p == 3) {
            short_rule[p][2] = short_unix_env;
        }
        for (k = 0; k < LOGIN_VARS; k++) {
            envs[p][i + k] = login_vars[k];
        }
        envs[p][i + LOGIN_VARS] = NULL;
    }
    for (p = 0; p < CONFIGS; p++) {
        env_table[0][p] = small[p];
        env_table[1][p] = envs[p];
        env_table[2][p] = short_rule[p];
    }
    printf("%-20s %8s %8s %8s %8s %8s %8s %8s", "median us", "baseline",
           "floor", "udp", "unix", "floor +", "udp +", "unix +");
    printf(configs > 4 ? " %8s\n" : "\n", "other +");
    for (p = 0; p < sizeof(programs) / sizeof(programs[0]); p++) {
        int rounds = (int)(programs[p].rounds * scale);
        double med[CONFIGS];
        double cpu[CONFIGS];
        int r;
        int c;

        if (rounds < 5) {
            rounds = 5;
        }
        if (rounds > MAX_ROUNDS) {
            rounds = MAX_ROUNDS;
        }
        for (c = 0; c < configs; c++) { /* warm the page cache */
            run_once(programs[p].argv, pick(programs[p].env_kind, c));
            run_once(programs[p].argv, pick(programs[p].env_kind, c));
        }
        /* Left-out short runs send nothing: no count to expect. */
        expected += programs[p].env_kind == 2 ? 0 : 2 * 2 * 2;
        datagrams += drain(sock) + drain(usock);
        for (r = 0; r < rounds; r++) {
            for (c = 0; c < configs; c++) {
                int k = (r + c) % configs;

                samples[k][r] = run_once(programs[p].argv,
                                         pick(programs[p].env_kind, k));
                cpu_samples[k][r] = last_cpu_us;
            }
            datagrams += drain(sock) + drain(usock);
            expected += programs[p].env_kind == 2 ? 0 : 4;
        }
        for (c = 0; c < configs; c++) {
            med[c] = median(samples[c], rounds);
            cpu[c] = median(cpu_samples[c], rounds);
        }
        printf("%-20s %8.0f %8.0f %8.0f %8.0f %+8.0f %+8.0f %+8.0f",
               programs[p].name, med[0], med[1], med[2], med[3],
               med[1] - med[0], med[2] - med[0], med[3] - med[0]);
        if (configs > 4) {
            printf(" %+8.0f", med[4] - med[0]);
        }
        printf("\n%-20s %8.0f %8.0f %8.0f %8.0f %+8.0f %+8.0f %+8.0f",
               "  cpu time", cpu[0], cpu[1], cpu[2], cpu[3], cpu[1] - cpu[0],
               cpu[2] - cpu[0], cpu[3] - cpu[0]);
        if (configs > 4) {
            printf(" %+8.0f", cpu[4] - cpu[0]);
        }
        printf("\n");
    }
    printf("rounds rotate %s, %s, %s, %s; %ld datagrams received, %ld "
           "expected at least\n",
           config_names[0], config_names[1], config_names[2],
           config_names[3], datagrams, expected);
    unlink(conf);
    unlink(unix_conf);
    unlink(short_conf);
    unlink(short_unix_conf);
    unlink(unix_path);
    close(usock);
    unlink(keyf);
    close(sock);
    return datagrams >= expected ? 0 : 1;
}

/*
 * What a fresh process pays for its first system calls of each kind, with
 * no preload library: tests/first_calls.py runs it many times and prints
 * medians. Each letter of argv[1] is one step, timed after the one before:
 *
 *   e  readlink /proc/self/exe      c  read /proc/self/cgroup
 *   b  read the boot id             f  read a small file (argv[2])
 *   s  UDP socket + close           u  UDP socket + sendto + close (argv[3])
 *   g  getppid
 *
 * Repeating a letter ("ss") shows the warm cost beside the first one.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[8192];

static double now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, buf, sizeof(buf) - 1) < 0) {
            buf[0] = '\0';
        }
        close(fd);
    }
}

static void step(char c, const char *file, int port)
{
    struct sockaddr_in a;
    int fd;

    switch (c) {
    case 'e':
        if (readlink("/proc/self/exe", buf, sizeof(buf)) < 0) {
            buf[0] = '\0';
        }
        break;
    case 'c':
        slurp("/proc/self/cgroup");
        break;
    case 'b':
        slurp("/proc/sys/kernel/random/boot_id");
        break;
    case 'f':
        slurp(file);
        break;
    case 's':
        close(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        break;
    case 'u':
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sendto(fd, buf, 700, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a));
        close(fd);
        break;
    case 'g':
        getppid();
        break;
    }
}

int main(int argc, char **argv)
{
    const char *steps = argc > 1 ? argv[1] : "gecb";
    const char *file = argc > 2 ? argv[2] : "/etc/hostname";
    int port = argc > 3 ? atoi(argv[3]) : 9;
    double t[64];
    size_t n = strlen(steps);
    size_t i;
    double t0;

    if (n > 64) {
        n = 64;
    }
    t0 = now_us();
    for (i = 0; i < n; i++) {
        step(steps[i], file, port);
        t[i] = now_us();
    }
    for (i = 0; i < n; i++) {
        printf("%c %.2f\n", steps[i], t[i] - (i > 0 ? t[i - 1] : t0));
    }
    return 0;
}

/*
 * udpgen: the gateway bench's load generator, sending like the preload
 * library does (plain system calls, no runtime), so that on a 2-core machine
 * the generator takes as little as possible of the CPU the gateway is
 * measured on. Paced in 1 ms ticks; each tick sends what is due with
 * sendmmsg.
 *
 *   udpgen PORT RATE SECONDS POOL_FILE
 *
 * POOL_FILE: datagrams as uint32 LE length + bytes, sent round robin.
 * Prints the number of datagrams sent (the kernel took them) on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#define BATCH 64
#define MAX_POOL 32768

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static unsigned char *data[MAX_POOL];
    static size_t lens[MAX_POOL];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in to;
    size_t pool = 0;
    long long sent = 0;
    long long total;
    double rate;
    double started;
    FILE *f;
    int sock;

    if (argc != 5) {
        fprintf(stderr, "usage: udpgen PORT RATE SECONDS POOL_FILE\n");
        return 2;
    }
    rate = atof(argv[2]);
    total = (long long)(rate * atof(argv[3]));
    f = fopen(argv[4], "rb");
    if (f == NULL) {
        perror("udpgen: pool file");
        return 1;
    }
    for (;;) {
        unsigned char h[4];
        uint32_t n;

        if (pool == MAX_POOL || fread(h, 1, 4, f) != 4) {
            break;
        }
        n = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
            (uint32_t)h[3] << 24;
        data[pool] = malloc(n);
        if (data[pool] == NULL || fread(data[pool], 1, n, f) != n) {
            fprintf(stderr, "udpgen: short pool file\n");
            return 1;
        }
        lens[pool++] = n;
    }
    fclose(f);
    if (pool == 0) {
        fprintf(stderr, "udpgen: empty pool\n");
        return 1;
    }
    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        perror("udpgen: socket");
        return 1;
    }
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)atoi(argv[1]));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(sock, (struct sockaddr *)&to, sizeof(to)) != 0) {
        perror("udpgen: connect");
        return 1;
    }
    started = now_s();
    while (sent < total) {
        long long due = (long long)((now_s() - started) * rate);
        struct timespec tick = {0, 1000000};

        if (due > total) {
            due = total;
        }
        while (sent < due) {
            int k = 0;
            int n;

            while (k < BATCH && sent + k < due) {
                size_t i = (size_t)((sent + k) % (long long)pool);

                iov[k].iov_base = data[i];
                iov[k].iov_len = lens[i];
                memset(&msgs[k], 0, sizeof(msgs[k]));
                msgs[k].msg_hdr.msg_iov = &iov[k];
                msgs[k].msg_hdr.msg_iovlen = 1;
                k++;
            }
            n = sendmmsg(sock, msgs, (unsigned)k, 0);
            if (n <= 0) {
                break; /* the next tick tries again */
            }
            sent += n;
        }
        if (sent < total) {
            nanosleep(&tick, NULL);
        }
    }
    printf("%lld\n", sent);
    return 0;
}

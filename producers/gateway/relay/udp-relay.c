/*
 * vigil-gateway-udp-relay: the gateway's UDP receive loop, in C.
 *
 * Started by the gateway's UDP thread (src/udp-worker.ts) as
 *   vigil-gateway-udp-relay ADDRESS PORT RECEIVE_BUFFER_BYTES
 * it binds a UDP socket (ADDRESS with a ':' is IPv6, IPV6_V6ONLY, as Node's
 * udp6 socket; PORT 0 takes a free port; RECEIVE_BUFFER_BYTES > 0 sets
 * SO_RCVBUF), takes up to BATCH datagrams per recvmmsg and writes them to
 * stdout, a pipe to the worker, with one writev per batch. Node receives
 * one datagram per recvmsg, with a Buffer, an rinfo object and a callback
 * each; here a batch costs two system calls.
 *
 * Records on stdout, back to back:
 *   uint32 LE  datagram length
 *   uint8      family: 4 or 6; BOUND_FLAG | family for the first record,
 *              which carries the bound address and no datagram
 *   16 bytes   address (IPv4: the first 4 bytes), network order
 *   uint16 LE  port
 *   the datagram
 *
 * The write blocks while the pipe is full: the relay stops reading, the
 * socket's receive buffer fills and the kernel drops and counts
 * (RcvbufErrors), as when Node's event loop falls behind.
 *
 * SIGTERM: read what the socket holds (MSG_DONTWAIT, for at most
 * DRAIN_NS), write it, exit 0; the worker reads the pipe to its end.
 * A closed stdout (EPIPE, or POLLERR when idle) ends the relay as well.
 * A failure before the bound record: a message on stderr, exit 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Datagrams per recvmmsg. */
#define BATCH 64
/* The largest UDP payload (65,535 - 8 - 20 for IPv4; IPv6 is smaller). */
#define DATAGRAM_MAX 65536
#define HEADER_BYTES 23
#define BOUND_FLAG 0x80
/* Requested pipe size: room for the worker's pauses (best effort). */
#define PIPE_BYTES (1024 * 1024)
/* A blocked receive wakes this often to see SIGTERM or a closed stdout. */
#define WAKE_MS 200
/* After SIGTERM, the socket is read for at most this long. */
#define DRAIN_NS 500000000LL

static volatile sig_atomic_t stopping;

static void on_term(int signo)
{
    (void)signo;
    stopping = 1;
}

static uint8_t datagrams[BATCH][DATAGRAM_MAX];
static uint8_t headers[BATCH][HEADER_BYTES];
static struct sockaddr_storage peers[BATCH];
static struct iovec in_iov[BATCH];
static struct mmsghdr msgs[BATCH];
static struct iovec out_iov[2 * BATCH];

static void put_header(uint8_t *h, uint32_t length,
                       const struct sockaddr_storage *sa, int flag)
{
    memset(h, 0, HEADER_BYTES);
    h[0] = (uint8_t)length;
    h[1] = (uint8_t)(length >> 8);
    h[2] = (uint8_t)(length >> 16);
    h[3] = (uint8_t)(length >> 24);
    uint16_t port = 0;
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        h[4] = (uint8_t)(6 | flag);
        memcpy(h + 5, &a->sin6_addr, 16);
        port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        h[4] = (uint8_t)(4 | flag);
        memcpy(h + 5, &a->sin_addr, 4);
        port = ntohs(a->sin_port);
    }
    h[21] = (uint8_t)port;
    h[22] = (uint8_t)(port >> 8);
}

/* Writes all of iov; returns 0, or -errno (EPIPE: the worker is gone). */
static int write_all(struct iovec *iov, int count)
{
    while (count > 0) {
        ssize_t n = writev(STDOUT_FILENO, iov, count);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        while (count > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* Writes the n datagrams of msgs as records; returns 0 or -errno. */
static int relay(int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        uint32_t length = msgs[i].msg_len;
        put_header(headers[i], length, &peers[i], 0);
        out_iov[k].iov_base = headers[i];
        out_iov[k++].iov_len = HEADER_BYTES;
        if (length > 0) {
            out_iov[k].iov_base = datagrams[i];
            out_iov[k++].iov_len = length;
        }
    }
    return write_all(out_iov, k);
}

static int receive(int fd, int flags)
{
    for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_name = &peers[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
        msgs[i].msg_hdr.msg_flags = 0;
    }
    return recvmmsg(fd, msgs, BATCH, flags, NULL);
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int stdout_closed(void)
{
    struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP));
}

static int fail(const char *what, const char *address, const char *port)
{
    fprintf(stderr, "vigil-gateway-udp-relay: %s %s:%s: %s\n", what,
            address, port, strerror(errno));
    return 2;
}

static int open_socket(const char *address, const char *port, long rcvbuf)
{
    int v6 = strchr(address, ':') != NULL;
    struct addrinfo hints = { 0 };
    hints.ai_family = v6 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(address, port, &hints, &found);
    if (rc != 0) {
        fprintf(stderr, "vigil-gateway-udp-relay: %s: %s\n", address,
                gai_strerror(rc));
        return -1;
    }
    int fd = socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct timeval wake = { .tv_sec = 0, .tv_usec = WAKE_MS * 1000 };
    if (fd < 0
        || (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
                             sizeof(one)) < 0)
        || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof(wake)) < 0
        || bind(fd, found->ai_addr, found->ai_addrlen) < 0) {
        fail("binding", address, port);
        freeaddrinfo(found);
        return -1;
    }
    freeaddrinfo(found);
    if (rcvbuf > 0) {
        int size = rcvbuf > 0x7fffffff ? 0x7fffffff : (int)rcvbuf;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0) {
            fail("setting SO_RCVBUF on", address, port);
            return -1;
        }
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: vigil-gateway-udp-relay ADDRESS PORT "
                        "RECEIVE_BUFFER_BYTES\n");
        return 2;
    }
    struct sigaction sa = { 0 };
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESTART; /* a receive with SO_RCVTIMEO still stops */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    (void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, PIPE_BYTES);

    int fd = open_socket(argv[1], argv[2], strtol(argv[3], NULL, 10));
    if (fd < 0) {
        return 2;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0) {
        return fail("getsockname", argv[1], argv[2]);
    }
    uint8_t head[HEADER_BYTES];
    put_header(head, 0, &bound, BOUND_FLAG);
    struct iovec first = { .iov_base = head, .iov_len = HEADER_BYTES };
    if (write_all(&first, 1) < 0) {
        return 0;
    }
    for (int i = 0; i < BATCH; i++) {
        in_iov[i].iov_base = datagrams[i];
        in_iov[i].iov_len = DATAGRAM_MAX;
        msgs[i].msg_hdr.msg_iov = &in_iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    while (!stopping) {
        int n = receive(fd, MSG_WAITFORONE);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                if (stdout_closed()) {
                    return 0;
                }
                continue;
            }
            fprintf(stderr, "vigil-gateway-udp-relay: recvmmsg: %s\n",
                    strerror(errno));
            return 1;
        }
        if (relay(n) < 0) {
            return 0; /* the worker is gone */
        }
    }
    /* What senders handed over before the worker said stop. */
    int64_t deadline = now_ns() + DRAIN_NS;
    while (now_ns() < deadline) {
        int n = receive(fd, MSG_DONTWAIT);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        if (relay(n) < 0) {
            break;
        }
    }
    return 0;
}

/* Datagram sending; see include/vigil/transport.h. */
#include "vigil/transport.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

int vg_send(const struct vg_collector *c, const void *p, size_t n)
{
    ssize_t sent;
    int rc = 0;
    int fd;

    if (c->family == 0) {
        return -EDESTADDRREQ;
    }
    fd = socket(c->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    sent = sendto(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, &c->addr.sa, c->len);
    if (sent < 0) {
        rc = -errno;
    } else if ((size_t)sent != n) {
        rc = -EMSGSIZE;
    }
    close(fd);
    return rc;
}

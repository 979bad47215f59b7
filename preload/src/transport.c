/* Datagram sending; see include/vigil/transport.h. */
#include "vigil/transport.h"

#include <errno.h>
#include <sys/socket.h>

#include "vigil/sys.h"

int vg_send(const struct vg_collector *c, const void *p, size_t n)
{
    long sent;
    int rc = 0;
    int fd;

    if (c->family == 0) {
        return -EDESTADDRREQ;
    }
    fd = vg_socket(c->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return fd;
    }
    sent = vg_sendto(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, &c->addr.sa,
                     c->len);
    if (sent < 0) {
        rc = (int)sent;
    } else if ((size_t)sent != n) {
        rc = -EMSGSIZE;
    }
    vg_close(fd);
    return rc;
}

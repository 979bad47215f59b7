/* Sending one datagram to the collector without ever blocking the host. */
#ifndef VIGIL_TRANSPORT_H
#define VIGIL_TRANSPORT_H

#include <stddef.h>

#include "vigil/config.h"

/**
 * Sends p[0..n) as one datagram to the collector through a fresh
 * non-blocking SOCK_CLOEXEC socket (MSG_DONTWAIT | MSG_NOSIGNAL), then
 * closes it, so no descriptor outlives the call and none can cross an exec.
 * Returns 0, or -errno when the datagram was dropped (no listener, buffer
 * full, no collector). Changes errno.
 */
int vg_send(const struct vg_collector *c, const void *p, size_t n);

#endif

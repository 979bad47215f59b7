/* Protobuf wire encoding; see include/vigil/pb.h. */
#include "vigil/pb.h"

#include <errno.h>
#include <string.h>

void vg_pb_init(struct vg_pb *pb, uint8_t *buf, size_t cap)
{
    pb->buf = buf;
    pb->cap = cap;
    pb->len = 0;
    pb->err = 0;
}

size_t vg_pb_varint_size(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t vg_pb_bytes_size(uint32_t field, size_t n)
{
    return vg_pb_varint_size((uint64_t)field << 3) + vg_pb_varint_size(n) +
           n;
}

static int room(struct vg_pb *pb, size_t n)
{
    if (pb->err != 0) {
        return 0;
    }
    if (n > pb->cap - pb->len) {
        pb->err = -ENOSPC;
        return 0;
    }
    return 1;
}

static void put_varint(struct vg_pb *pb, uint64_t v)
{
    if (!room(pb, vg_pb_varint_size(v))) {
        return;
    }
    while (v >= 0x80) {
        pb->buf[pb->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    pb->buf[pb->len++] = (uint8_t)v;
}

static void put_tag(struct vg_pb *pb, uint32_t field, unsigned wire_type)
{
    put_varint(pb, ((uint64_t)field << 3) | wire_type);
}

void vg_pb_uint(struct vg_pb *pb, uint32_t field, uint64_t v)
{
    if (v == 0) {
        return;
    }
    put_tag(pb, field, 0);
    put_varint(pb, v);
}

void vg_pb_fixed64(struct vg_pb *pb, uint32_t field, uint64_t v)
{
    int i;

    if (v == 0) {
        return;
    }
    put_tag(pb, field, 1);
    if (!room(pb, 8)) {
        return;
    }
    for (i = 0; i < 8; i++) {
        pb->buf[pb->len++] = (uint8_t)(v >> (8 * i));
    }
}

void vg_pb_bytes(struct vg_pb *pb, uint32_t field, const void *p, size_t n)
{
    put_tag(pb, field, 2);
    put_varint(pb, n);
    if (n == 0 || !room(pb, n)) {
        return;
    }
    memcpy(pb->buf + pb->len, p, n);
    pb->len += n;
}

void vg_pb_opt_bytes(struct vg_pb *pb, uint32_t field, const void *p,
                     size_t n)
{
    if (n > 0) {
        vg_pb_bytes(pb, field, p, n);
    }
}

size_t vg_pb_begin(struct vg_pb *pb, uint32_t field)
{
    size_t mark = pb->len;

    put_tag(pb, field, 2);
    /* One placeholder length byte; vg_pb_end widens it if needed. */
    if (room(pb, 1)) {
        pb->buf[pb->len++] = 0;
    }
    return mark;
}

void vg_pb_end(struct vg_pb *pb, size_t mark, int drop_empty)
{
    size_t at = mark;
    size_t body;
    size_t extra;
    uint64_t v;

    if (pb->err != 0) {
        return;
    }
    /* Skip the tag forwards: mark is where it starts. */
    while ((pb->buf[at] & 0x80) != 0) {
        at++;
    }
    at++;
    body = pb->len - at - 1;
    if (body == 0 && drop_empty) {
        pb->len = mark;
        return;
    }
    extra = vg_pb_varint_size(body) - 1;
    if (extra > 0) {
        if (!room(pb, extra)) {
            return;
        }
        memmove(pb->buf + at + 1 + extra, pb->buf + at + 1, body);
        pb->len += extra;
    }
    v = body;
    while (v >= 0x80) {
        pb->buf[at++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    pb->buf[at] = (uint8_t)v;
}

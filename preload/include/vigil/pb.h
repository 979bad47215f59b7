/*
 * Dependency-free protobuf (proto3) encoder writing into a caller-owned
 * fixed buffer. It never allocates. The first error sticks: once a write
 * does not fit, every later call is a no-op and vg_pb.err is -ENOSPC.
 */
#ifndef VIGIL_PB_H
#define VIGIL_PB_H

#include <stddef.h>
#include <stdint.h>

/** An encoder over buf[0..cap). len bytes are written; err is 0 or -errno. */
struct vg_pb {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;
};

/** Starts encoding into buf (cap bytes). Never fails. */
void vg_pb_init(struct vg_pb *pb, uint8_t *buf, size_t cap);

/** Number of bytes the varint encoding of v takes (1..10). */
size_t vg_pb_varint_size(uint64_t v);

/**
 * Bytes a length-delimited field of n payload bytes takes on the wire, tag
 * and length included.
 */
size_t vg_pb_bytes_size(uint32_t field, size_t n);

/**
 * Writes a varint field (uint32, uint64, int32 as sign-extended, bool,
 * enum). Zero is omitted, as proto3 does for implicit presence.
 */
void vg_pb_uint(struct vg_pb *pb, uint32_t field, uint64_t v);

/** Writes a fixed64 field (little-endian 8 bytes). Zero is omitted. */
void vg_pb_fixed64(struct vg_pb *pb, uint32_t field, uint64_t v);

/**
 * Writes a length-delimited field, always (also when n is 0: repeated
 * elements may be empty). p may be NULL when n is 0.
 */
void vg_pb_bytes(struct vg_pb *pb, uint32_t field, const void *p, size_t n);

/** Like vg_pb_bytes but omits the field when n is 0 (singular fields). */
void vg_pb_opt_bytes(struct vg_pb *pb, uint32_t field, const void *p,
                     size_t n);

/**
 * Opens a nested message field. Returns a mark (where its tag starts) for
 * vg_pb_end. The length is
 * written by vg_pb_end, which moves the content when it needs more than one
 * length byte, so the output is canonical. Nest as deep as needed.
 */
size_t vg_pb_begin(struct vg_pb *pb, uint32_t field);

/**
 * Closes the nested message opened at mark. With drop_empty set, an empty
 * nested message is removed entirely (proto3 omits unset messages).
 */
void vg_pb_end(struct vg_pb *pb, size_t mark, int drop_empty);

#endif

import { CodecError } from '../errors.js';

/**
 * The Confluent wire framing for protobuf record values:
 * `0x00 | int32 big-endian schema id | message indexes | payload`.
 * See schemas/FORMAT.md; this module is pure and has no registry knowledge.
 */
export interface Frame {
  /** Registry id of the schema (the .proto file) the payload was written with. */
  readonly schemaId: number;
  /** Path to the message inside that file: `[0]` is its first top-level message. */
  readonly messageIndexes: readonly number[];
  /** The serialized protobuf message. */
  readonly payload: Uint8Array;
}

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
/** A varint-encoded int32 never takes more than 5 bytes. */
const MAX_VARINT_BYTES = 5;

/** Zig-zag varint of a signed 32-bit integer, as Java's ByteUtils.writeVarint writes it. */
function writeZigZagVarint(value: number, out: number[]): void {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

/** Encodes message indexes; `[0]`, the common case, is the single byte 0x00. */
export function encodeMessageIndexes(indexes: readonly number[]): Uint8Array {
  if (indexes.length === 0) throw new TypeError('message indexes must name at least one message');
  if (indexes.length === 1 && indexes[0] === 0) return Uint8Array.of(0);
  const out: number[] = [];
  writeZigZagVarint(indexes.length, out);
  for (const index of indexes) {
    if (!Number.isInteger(index) || index < 0 || index > 0x7fffffff) {
      throw new TypeError(`message index out of range: ${index}`);
    }
    writeZigZagVarint(index, out);
  }
  return Uint8Array.from(out);
}

/** Frames a payload. Throws TypeError (a programmer error) on an invalid schema id or index. */
export function encodeFrame(frame: Frame): Buffer {
  if (!Number.isInteger(frame.schemaId) || frame.schemaId < 0 || frame.schemaId > 0x7fffffff) {
    throw new TypeError(`schema id out of range: ${frame.schemaId}`);
  }
  const indexes = encodeMessageIndexes(frame.messageIndexes);
  const out = Buffer.allocUnsafe(HEADER_BYTES + indexes.length + frame.payload.length);
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(frame.schemaId, 1);
  out.set(indexes, HEADER_BYTES);
  out.set(frame.payload, HEADER_BYTES + indexes.length);
  return out;
}

interface Cursor {
  offset: number;
}

function readZigZagVarint(bytes: Uint8Array, cursor: Cursor): number {
  let raw = 0;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = bytes[cursor.offset];
    if (byte === undefined) {
      throw new CodecError('truncated', 'decoding message indexes: frame ends inside a varint');
    }
    cursor.offset++;
    raw |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
  }
  throw new CodecError(
    'bad-message-indexes',
    'decoding message indexes: varint longer than 5 bytes',
  );
}

/**
 * Splits a record value into schema id, message indexes and payload, without copying the payload.
 * Throws CodecError ('truncated', 'bad-magic-byte', 'bad-message-indexes') on malformed input;
 * never anything else.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < HEADER_BYTES + 1) {
    throw new CodecError(
      'truncated',
      `decoding frame: ${bytes.length} bytes is shorter than a header`,
    );
  }
  if (bytes[0] !== MAGIC_BYTE) {
    throw new CodecError('bad-magic-byte', `decoding frame: magic byte is ${bytes[0]}, expected 0`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const schemaId = view.getInt32(1, false);
  if (schemaId < 0)
    throw new CodecError('bad-magic-byte', `decoding frame: negative schema id ${schemaId}`);
  const cursor = { offset: HEADER_BYTES };
  const count = readZigZagVarint(bytes, cursor);
  let messageIndexes: number[];
  if (count === 0) {
    messageIndexes = [0];
  } else {
    // Each index takes at least one byte: a count larger than what is left is corrupt, not huge.
    if (count < 0 || count > bytes.length - cursor.offset) {
      throw new CodecError(
        'bad-message-indexes',
        `decoding message indexes: impossible count ${count}`,
      );
    }
    messageIndexes = [];
    for (let i = 0; i < count; i++) {
      const index = readZigZagVarint(bytes, cursor);
      if (index < 0)
        throw new CodecError(
          'bad-message-indexes',
          `decoding message indexes: negative index ${index}`,
        );
      messageIndexes.push(index);
    }
  }
  return { schemaId, messageIndexes, payload: bytes.subarray(cursor.offset) };
}

import { randomBytes } from 'node:crypto';
import type Long from 'long';

/**
 * Event ids and times: the parts of the envelope every producer fills the same way.
 */

let lastMs = 0;
let counter = 0;

/**
 * A new UUIDv7 (RFC 9562) as 16 bytes: 48-bit Unix milliseconds, then a 12-bit counter that keeps
 * ids from one process increasing within a millisecond, then 62 random bits.
 */
export function newEventId(nowMs: number = Date.now()): Buffer {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = randomBytes(2).readUInt16BE(0) & 0x1ff; // start low so the counter rarely overflows
  } else {
    counter++;
    if (counter > 0xfff) {
      lastMs++; // borrow from the next millisecond rather than repeat an id
      counter = 0;
    }
  }
  const id = randomBytes(16);
  id.writeUIntBE(lastMs, 0, 6);
  id[6] = 0x70 | (counter >> 8);
  id[7] = counter & 0xff;
  id[8] = 0x80 | (id[8]! & 0x3f);
  return id;
}

/**
 * The canonical 8-4-4-4-12 text of a 16-byte UUID: `bytes` itself, or its 16 bytes at `at` (read in
 * place: the gateway formats ids inside received datagrams). Throws TypeError on another length.
 */
export function formatUuid(bytes: Uint8Array, at?: number): string {
  if (at === undefined && bytes.length !== 16)
    throw new TypeError(`a UUID has 16 bytes, not ${bytes.length}`);
  const start = at ?? 0;
  if (start < 0 || start + 16 > bytes.length)
    throw new TypeError(`no 16-byte UUID at ${start} of ${bytes.length} bytes`);
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hex = buf.toString('hex', start, start + 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The 16 bytes of a UUID in canonical text form. Throws TypeError on malformed text. */
export function parseUuid(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`not a UUID: ${text}`);
  return Buffer.from(hex, 'hex');
}

/** Nanoseconds since the Unix epoch now, exact to the microsecond the clock gives. */
export function nowUnixNano(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** A protobuf 64-bit value (Long, or number for small values) as bigint, without precision loss. */
export function toBigInt(value: Long | number | bigint | null | undefined): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  return BigInt(value.toString());
}

/** Nanoseconds since the epoch as an RFC 3339 time with nanosecond precision (ES date_nanos). */
export function formatUnixNano(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-11-22T10:00:00.123Z
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { CodecError } from './errors.js';
import { toBigInt } from './events.js';
import type Long from 'long';

/**
 * HMAC-SHA256 signatures over Vigil events, exactly as schemas/FORMAT.md defines the MAC input:
 * the decoded envelope in a fixed layout, then the raw bytes of every top-level field except the
 * envelope (field 1). Verifiers read raw bytes and never re-encode, so fields they do not know
 * (from a newer schema) stay covered.
 */

/** The envelope fields the MAC covers. */
export interface SignedEnvelope {
  readonly eventId: Uint8Array;
  readonly sourceKind: number;
  readonly host: string;
  readonly producerId: string;
  readonly sequence: Long | number | bigint;
  readonly timeUnixNano: Long | number | bigint;
}

const DOMAIN = Buffer.from('vigil-sig-v1\0', 'latin1');
const ENVELOPE_FIELD = 1;

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let multiplier = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new CodecError('bad-payload', 'scanning record: truncated or overlong varint');
}

/**
 * The raw bytes of every top-level field of a serialized message except field 1, in wire order.
 * Throws CodecError on bytes that are not a well-formed protobuf message.
 */
export function bodyBytes(record: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (at < record.length) {
    const start = at;
    const tag = readVarint(record, at);
    at = tag.next;
    const wireType = tag.value % 8;
    const field = Math.floor(tag.value / 8);
    if (field === 0) throw new CodecError('bad-payload', 'scanning record: field number 0');
    switch (wireType) {
      case 0:
        at = readVarint(record, at).next;
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = readVarint(record, at);
        at = length.next + length.value;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        throw new CodecError('bad-payload', `scanning record: unsupported wire type ${wireType}`);
    }
    if (at > record.length)
      throw new CodecError('bad-payload', 'scanning record: field runs past the end');
    if (field !== ENVELOPE_FIELD) parts.push(record.subarray(start, at));
  }
  return Buffer.concat(parts);
}

function u64(value: Long | number | bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt.asUintN(64, toBigInt(value)));
  return out;
}

function shortString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 0xffff)
    throw new CodecError('bad-event', 'signing: string longer than 65535 bytes');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The exact bytes the HMAC covers, for a serialized record and its decoded envelope. */
export function macInput(envelope: SignedEnvelope, record: Uint8Array): Buffer {
  if (envelope.eventId.length !== 16)
    throw new CodecError('bad-event', 'signing: event id is not 16 bytes');
  return Buffer.concat([
    DOMAIN,
    envelope.eventId,
    Uint8Array.of(envelope.sourceKind & 0xff),
    u64(envelope.sequence),
    u64(envelope.timeUnixNano),
    shortString(envelope.host),
    shortString(envelope.producerId),
    bodyBytes(record),
  ]);
}

/** HMAC-SHA256 of a record under a key (32 bytes). */
export function computeMac(key: Uint8Array, envelope: SignedEnvelope, record: Uint8Array): Buffer {
  return createHmac('sha256', key).update(macInput(envelope, record)).digest();
}

/** True when `mac` is the record's HMAC under `key`; compares in constant time. */
export function macMatches(
  key: Uint8Array,
  envelope: SignedEnvelope,
  record: Uint8Array,
  mac: Uint8Array,
): boolean {
  const expected = computeMac(key, envelope, record);
  return mac.length === expected.length && timingSafeEqual(expected, mac);
}

/** The envelope of a generated message, as far as signing reads and writes it. */
interface SignableEnvelope {
  eventId?: Uint8Array | null;
  sourceKind?: number | null;
  host?: string | null;
  producerId?: string | null;
  sequence?: Long | number | null;
  timeUnixNano?: Long | number | null;
  signature?: { keyId?: string | null; hmacSha256?: Uint8Array | null } | null;
}

/**
 * Signs a message as a producer does: the MAC covers the envelope fields and the body's wire bytes,
 * never field 1, so the signature is set after computing it over the encoding. `type` is the
 * message's generated class (its `encode`). Mutates and returns the message.
 */
export function signMessage<T extends { envelope?: SignableEnvelope | null }>(
  type: { encode(message: T): { finish(): Uint8Array } },
  message: T,
  keyId: string,
  key: Uint8Array,
): T {
  const envelope = message.envelope;
  if (!envelope?.eventId) throw new TypeError('signing: the message has no envelope event id');
  const mac = computeMac(
    key,
    {
      eventId: envelope.eventId,
      sourceKind: envelope.sourceKind ?? 0,
      host: envelope.host ?? '',
      producerId: envelope.producerId ?? '',
      sequence: envelope.sequence ?? 0,
      timeUnixNano: envelope.timeUnixNano ?? 0,
    },
    type.encode(message).finish(),
  );
  envelope.signature = { keyId, hmacSha256: mac };
  return message;
}

/**
 * The key in a key file: hex digits, blanks and newlines ignored (the preload library's key_file,
 * the verify worker's `<key id>.key`, `vigil sign`'s keyFile). Throws on anything else.
 */
export function parseKeyText(text: string): Buffer {
  const hex = text.replace(/\s+/g, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new Error('reading key: expected an even number of hex digits');
  }
  return Buffer.from(hex, 'hex');
}

import { PermanentError } from '@vigil/pipeline/errors';
import { formatUuid } from '@vigil/pipeline/events';
import { FAMILIES, type Family } from '@vigil/schemas/families';
import { PROTO_SOURCES } from '@vigil/schemas/sources';
import { compileWalker, loadRoot, WireError, type Walker } from './wire.js';

/**
 * Node transport header → event (pure). The gateway checks only what it must to route a message:
 * the header, the size, that the record value is valid wire format for its family's message
 * (walked by wire.ts, every level, without building objects) with an envelope carrying an event
 * id, and the fields the Kafka key is made of. The record value is passed on byte for byte, so
 * the producer's signature still verifies downstream (schemas/FORMAT.md).
 */

/** "VG", the first two bytes of every node transport message. */
export const TRANSPORT_MAGIC = 0x5647;
export const TRANSPORT_VERSION = 1;
export const TRANSPORT_HEADER_BYTES = 4;
/** Largest UDP payload over IPv4 (FORMAT.md). */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Largest length-prefixed message on a stream (FORMAT.md). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Why a message was refused; the `reason` label of the discard counter (a closed set). */
export type DropReason =
  | 'too_short'
  | 'too_large'
  | 'bad_magic'
  | 'bad_version'
  | 'unknown_family'
  | 'bad_record'
  | 'no_event_id'
  | 'truncated_frame'
  | 'idle_client'
  | 'overload'
  | 'spool_full';

/** A message the gateway refuses; permanent, the same bytes fail the same way. */
export class DecodeError extends PermanentError {
  readonly reason: DropReason;
  constructor(reason: DropReason, message: string, cause?: unknown) {
    super(message, { errorType: 'codec', cause });
    this.reason = reason;
  }
}

/** One accepted message. */
export interface GatewayEvent {
  readonly family: Family;
  /** The family's record value, exactly as received (a view into the input). */
  readonly value: Uint8Array;
  /** Keeps one process's / session's / service's events on one partition, in order. */
  readonly key: string;
  /**
   * The envelope's event id, formatted as a UUID (for logs and tests). Formatted when read, from
   * the input like `value`: read it before the buffer is reused.
   */
  readonly eventId: string;
}

/** Reads the captured fields of the record just walked. */
interface Fields {
  has(slot: number): boolean;
  /** The field as UTF-8 text ('' when absent), decoded as protobufjs decodes a Buffer's strings. */
  string(slot: number): string;
  /** An id field as text: a UUID when it has 16 bytes, else hex; undefined when absent or empty. */
  id(slot: number): string | undefined;
}

/** What each family reports: captured fields (dotted paths as in the .proto), and its key from them. */
interface FamilyWalk<C extends string> {
  readonly captures: Readonly<Record<C, string>>;
  readonly key: (f: Fields, s: Readonly<Record<C, number>>) => string | undefined;
}

const walk = <C extends string>(w: FamilyWalk<C>): FamilyWalk<string> => w as never;

/** site/host/service of a ServiceRef captured as `ref`, `refSite`, ... (absent ref: undefined). */
const serviceKey = (f: Fields, ref: number, site: number, host: number, service: number) =>
  f.has(ref) ? `${f.string(site)}/${f.string(host)}/${f.string(service)}` : undefined;

/**
 * The fields each family's key is made of (FAMILIES keyedBy says what the key is). The keys are
 * those of the protobufjs objects the gateway used to decode (decode-with-protobufjs.ts), field
 * for field: an absent string is '', an absent message undefined.
 */
const FAMILY_WALKS: Record<string, FamilyWalk<string>> = {
  // The preload's producer id is "preload/<boot id>/<pid>": start and end events share it.
  process: walk({
    captures: { host: 'envelope.host', producerId: 'envelope.producer_id' },
    key: (f, s) => `${f.string(s.host)}/${f.string(s.producerId)}`,
  }),
  session: walk({
    captures: { sessionId: 'session_id' },
    key: (f, s) => f.id(s.sessionId),
  }),
  status: walk({
    captures: {
      snapshot: 'snapshot.service',
      snapshotSite: 'snapshot.service.site',
      snapshotHost: 'snapshot.service.host',
      snapshotService: 'snapshot.service.service',
      change: 'state_change.service',
      changeSite: 'state_change.service.site',
      changeHost: 'state_change.service.host',
      changeService: 'state_change.service.service',
      unreachable: 'source_unreachable',
      unreachableSource: 'source_unreachable.source',
      recovered: 'source_recovered',
      recoveredSource: 'source_recovered.source',
    },
    key: (f, s) =>
      serviceKey(f, s.snapshot, s.snapshotSite, s.snapshotHost, s.snapshotService) ??
      serviceKey(f, s.change, s.changeSite, s.changeHost, s.changeService) ??
      (f.has(s.unreachable) ? f.string(s.unreachableSource) : undefined) ??
      (f.has(s.recovered) ? f.string(s.recoveredSource) : undefined),
  }),
  trace: walk({
    captures: { originHost: 'upload.origin_host', host: 'envelope.host' },
    key: (f, s) => f.string(s.originHost) || f.string(s.host) || undefined,
  }),
  alert: walk({
    captures: { alertId: 'alert.alert_id', notificationAlertId: 'notification.alert_id' },
    key: (f, s) => f.string(s.alertId) || f.string(s.notificationAlertId) || undefined,
  }),
  watermark: walk({
    captures: { watermarkId: 'registration.watermark_id' },
    key: (f, s) => f.id(s.watermarkId),
  }),
};

interface FamilyDecoder {
  readonly family: Family;
  readonly walker: Walker;
  /** Slot of envelope.event_id. */
  readonly eventId: number;
  readonly slots: Readonly<Record<string, number>>;
  readonly key: FamilyWalk<string>['key'];
}

/** One walker per family byte, compiled once from the .proto text the registry also gets. */
const DECODERS: (FamilyDecoder | undefined)[] = (() => {
  const root = loadRoot(PROTO_SOURCES);
  const decoders: (FamilyDecoder | undefined)[] = [];
  for (const family of FAMILIES) {
    const spec = FAMILY_WALKS[family.name];
    if (!spec) throw new TypeError(`decode: no key for family ${family.name}`);
    const walker = compileWalker(root, family.recordType, {
      eventId: 'envelope.event_id',
      ...spec.captures,
    });
    decoders[family.transportId] = {
      family,
      walker,
      eventId: walker.slots.eventId!,
      slots: walker.slots,
      key: spec.key,
    };
  }
  return decoders;
})();

/**
 * Bytes as UTF-8 text, by the function protobufjs' Buffer reader uses (Buffer's own utf8Slice
 * when Node has it, as it has since 0.x; it skips toString's argument checks, ~15% of a call).
 */
const utf8: (buf: Buffer, start: number, end: number) => string = (() => {
  const slice = (Buffer.prototype as { utf8Slice?: (start: number, end: number) => string })
    .utf8Slice;
  return slice
    ? (buf, start, end) => slice.call(buf, start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);
})();

// The record being keyed: set by decodeMessage before it calls a key function.
let keyed: Buffer = Buffer.alloc(0);
let starts: Int32Array = new Int32Array(0);
let ends: Int32Array = new Int32Array(0);
const FIELDS: Fields = {
  has: (slot) => starts[slot]! >= 0,
  string: (slot) => {
    const start = starts[slot]!;
    return start < 0 ? '' : utf8(keyed, start, ends[slot]!);
  },
  id: (slot) => {
    const start = starts[slot]!;
    const end = ends[slot]!;
    if (start < 0 || end === start) return undefined;
    return end - start === 16 ? formatUuid(keyed, start) : keyed.toString('hex', start, end);
  },
};

/**
 * The checks before the record: size limit, room for a record, "VG", transport version. Pure.
 * @throws {DecodeError} when one fails.
 */
export function checkTransportHeader(bytes: Uint8Array, maxBytes: number): void {
  if (bytes.length > maxBytes) {
    throw new DecodeError(
      'too_large',
      `decoding message: ${bytes.length} bytes is over the limit of ${maxBytes}`,
    );
  }
  if (bytes.length <= TRANSPORT_HEADER_BYTES) {
    throw new DecodeError(
      'too_short',
      `decoding message: ${bytes.length} bytes holds no record after the header`,
    );
  }
  if (((bytes[0]! << 8) | bytes[1]!) !== TRANSPORT_MAGIC) {
    throw new DecodeError('bad_magic', 'decoding message: it does not start with "VG"');
  }
  if (bytes[2] !== TRANSPORT_VERSION) {
    throw new DecodeError(
      'bad_version',
      `decoding message: transport version ${bytes[2]}, expected ${TRANSPORT_VERSION}`,
    );
  }
}

/**
 * Checks one node transport message and returns the event inside. Pure; `value` is a view into
 * `bytes` (copy it before the buffer is reused).
 * @throws {DecodeError} for any input that is not an acceptable message; never anything else.
 */
export function decodeMessage(bytes: Uint8Array, maxBytes: number): GatewayEvent {
  checkTransportHeader(bytes, maxBytes);
  const decoder = DECODERS[bytes[3]!];
  if (!decoder)
    throw new DecodeError('unknown_family', `decoding message: unknown family byte ${bytes[3]}`);
  const { family, walker } = decoder;
  try {
    walker.walk(bytes, TRANSPORT_HEADER_BYTES, bytes.length);
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
    throw new DecodeError('bad_record', `decoding ${family.recordType}: ${error.message}`, error);
  }
  ({ starts, ends } = walker);
  const idAt = starts[decoder.eventId]!;
  if (idAt < 0 || ends[decoder.eventId]! - idAt !== 16) {
    throw new DecodeError(
      'no_event_id',
      `decoding ${family.recordType}: the envelope has no 16-byte event id`,
    );
  }
  keyed = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A record without its key field still goes through, keyed by its own id: accepted, but unordered.
  const key = decoder.key(FIELDS, decoder.slots) ?? formatUuid(keyed, idAt);
  return new Accepted(family, bytes.subarray(TRANSPORT_HEADER_BYTES), key, keyed, idAt);
}

/**
 * A GatewayEvent whose id is formatted when read: formatting costs as much as the walk, and the
 * gateway never reads it. A class, not an object literal with a getter, because V8 builds such a
 * literal through the runtime (measured 10 ns against 670 ns per event); structuredClone does not
 * copy the getter, so a worker posts the fields it needs.
 */
class Accepted implements GatewayEvent {
  readonly #bytes: Buffer;
  readonly #idAt: number;
  constructor(
    readonly family: Family,
    readonly value: Uint8Array,
    readonly key: string,
    bytes: Buffer,
    idAt: number,
  ) {
    this.#bytes = bytes;
    this.#idAt = idAt;
  }
  get eventId(): string {
    return formatUuid(this.#bytes, this.#idAt);
  }
}

/** Prefixes a record value with the node transport header (for producers and tests). */
export function encodeTransport(family: Family, value: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(TRANSPORT_HEADER_BYTES + value.length);
  out.writeUInt16BE(TRANSPORT_MAGIC, 0);
  out[2] = TRANSPORT_VERSION;
  out[3] = family.transportId;
  out.set(value, TRANSPORT_HEADER_BYTES);
  return out;
}

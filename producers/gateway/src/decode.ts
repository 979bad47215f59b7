import { PermanentError } from '@vigil/pipeline/errors';
import { formatUuid } from '@vigil/pipeline/events';
import { familyByTransportId, type Family } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';

/**
 * Node transport header → event (pure). The gateway checks only what it must to route a message:
 * the header, the size, that the record value decodes as its family's message with an envelope
 * carrying an event id, and the fields the Kafka key is made of. The record value is passed on
 * byte for byte, so the producer's signature still verifies downstream (schemas/FORMAT.md).
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
  /** The envelope's event id, formatted as a UUID (for logs and tests). */
  readonly eventId: string;
}

interface Decoded {
  envelope?: vigil.envelope.v1.IEnvelope | null;
}

type KeyOf = (record: never, envelope: vigil.envelope.v1.IEnvelope) => string | undefined;

/** An id field as text: a UUID when it has 16 bytes, else hex (never throws). */
const text = (bytes: Uint8Array | null | undefined): string | undefined => {
  if (!bytes || bytes.length === 0) return undefined;
  return bytes.length === 16 ? formatUuid(bytes) : Buffer.from(bytes).toString('hex');
};

const serviceKey = (ref: vigil.status.v1.IServiceRef | null | undefined): string | undefined =>
  ref ? `${ref.site ?? ''}/${ref.host ?? ''}/${ref.service ?? ''}` : undefined;

/** Decoder and key of each family, by name (FAMILIES keyedBy says what the key is). */
const FAMILY_CODECS: Record<string, { decode(bytes: Uint8Array): Decoded; key: KeyOf }> = {
  // The preload's producer id is "preload/<boot id>/<pid>": start and end events share it.
  process: {
    decode: (b) => vigil.process.v1.ProcessEvent.decode(b),
    key: (_r, env) => `${env.host ?? ''}/${env.producerId ?? ''}`,
  },
  session: {
    decode: (b) => vigil.session.v1.SessionEvent.decode(b),
    key: (r: vigil.session.v1.SessionEvent) => text(r.sessionId),
  },
  status: {
    decode: (b) => vigil.status.v1.StatusEvent.decode(b),
    key: (r: vigil.status.v1.StatusEvent) =>
      serviceKey(r.snapshot?.service) ??
      serviceKey(r.stateChange?.service) ??
      r.sourceUnreachable?.source ??
      r.sourceRecovered?.source ??
      undefined,
  },
  trace: {
    decode: (b) => vigil.trace.v1.TraceEvent.decode(b),
    key: (r: vigil.trace.v1.TraceEvent, env) => r.upload?.originHost || env.host || undefined,
  },
  alert: {
    decode: (b) => vigil.alert.v1.AlertEvent.decode(b),
    key: (r: vigil.alert.v1.AlertEvent) => r.alert?.alertId || r.notification?.alertId || undefined,
  },
  watermark: {
    decode: (b) => vigil.watermark.v1.WatermarkEvent.decode(b),
    key: (r: vigil.watermark.v1.WatermarkEvent) => text(r.registration?.watermarkId),
  },
};

/**
 * Checks one node transport message and returns the event inside. Pure; `value` is a view into
 * `bytes` (copy it before the buffer is reused).
 * @throws {DecodeError} for any input that is not an acceptable message; never anything else.
 */
export function decodeMessage(bytes: Uint8Array, maxBytes: number): GatewayEvent {
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
  const family = familyByTransportId(bytes[3]!);
  const codec = family && FAMILY_CODECS[family.name];
  if (!family || !codec)
    throw new DecodeError('unknown_family', `decoding message: unknown family byte ${bytes[3]}`);
  const value = bytes.subarray(TRANSPORT_HEADER_BYTES);
  let record: Decoded;
  try {
    record = codec.decode(value);
  } catch (error) {
    throw new DecodeError(
      'bad_record',
      `decoding ${family.recordType}: ${(error as Error).message}`,
      error,
    );
  }
  const envelope = record.envelope;
  if (!envelope?.eventId || envelope.eventId.length !== 16) {
    throw new DecodeError(
      'no_event_id',
      `decoding ${family.recordType}: the envelope has no 16-byte event id`,
    );
  }
  const eventId = formatUuid(envelope.eventId);
  // A record without its key field still goes through, keyed by its own id: accepted, but unordered.
  const key = codec.key(record as never, envelope) ?? eventId;
  return { family, value, key, eventId };
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

import { formatUuid } from '@vigil/pipeline/events';
import { familyByTransportId } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import {
  checkTransportHeader,
  DecodeError,
  TRANSPORT_HEADER_BYTES,
  type GatewayEvent,
} from './decode.js';

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
 * decodeMessage as it was before wire.ts: the whole record decoded by the generated protobufjs
 * class. The oracle of decode.test.ts and the baseline of bench/decode.bench.ts; not used by the
 * gateway.
 * @throws {DecodeError} for any input that is not an acceptable message; never anything else.
 */
export function decodeWithProtobufjs(bytes: Uint8Array, maxBytes: number): GatewayEvent {
  checkTransportHeader(bytes, maxBytes);
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

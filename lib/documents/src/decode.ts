import type { vigil } from '@vigil/schemas/gen';
import { FAMILIES, type FamilyName } from '@vigil/schemas/families';
import type { EventCodec } from '@vigil/pipeline/codec';
import { CodecError } from '@vigil/pipeline/errors';
import { formatUuid, toBigInt } from '@vigil/pipeline/events';
import type { PipelineEvent } from '@vigil/pipeline/sink';

/**
 * A consumed Kafka record as the sinks see it: the decoded Vigil event with what every store keys
 * and partitions by (event id, family, event time) already pulled out of the envelope.
 */
export interface VigilRecord {
  readonly family: FamilyName;
  /** Fully qualified message type, e.g. `vigil.process.v1.ProcessEvent`. */
  readonly typeName: string;
  /** The envelope's event id as UUID text: the idempotency key of every store. */
  readonly eventId: string;
  /** Event time in ns since the epoch; the Kafka timestamp when the producer left it unset. */
  readonly timeUnixNano: bigint;
  readonly envelope: vigil.envelope.v1.IEnvelope;
  /** The generated message (a `vigil.<family>.v1.<Family>Event`). */
  readonly message: object;
  /** The `vigil-verify` header (signature and watermark status) when the verify worker set it. */
  readonly verify?: VerifyHeader;
  readonly origin: { readonly topic: string; readonly partition: number; readonly offset: string };
}

/** The part of the verify worker's `vigil-verify` header the sinks use. */
export interface VerifyHeader {
  readonly signature?: string;
  readonly keyId?: string;
  readonly watermarks?: ReadonlyArray<{
    readonly path: string;
    readonly status: string;
    readonly id?: string;
    readonly package?: string;
    readonly version?: string;
    readonly builder?: string;
  }>;
}

/** Turns PipelineEvents into VigilRecords. */
export interface RecordDecoder {
  /**
   * Decodes one record. Throws CodecError (permanent) when the value is not a Vigil family's record
   * value with an envelope and a 16-byte event id; RetryableError while the registry is unreachable.
   */
  decode(event: PipelineEvent): Promise<VigilRecord>;
}

function familyOfType(typeName: string): FamilyName | undefined {
  return FAMILIES.find((f) => f.recordType === typeName)?.name;
}

function parseVerify(text: string | undefined): VerifyHeader | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as VerifyHeader) : undefined;
  } catch {
    return undefined; // a malformed header only loses the signature status, not the event
  }
}

/** Creates a decoder over a codec (which resolves schema ids through the registry). */
export function createRecordDecoder(codec: EventCodec): RecordDecoder {
  return {
    async decode(event) {
      const decoded = await codec.decode(event.value);
      const family = familyOfType(decoded.typeName);
      if (!family) {
        throw new CodecError(
          'bad-event',
          `decoding record: ${decoded.typeName} is not the record value of a Vigil family`,
        );
      }
      const envelope = (decoded.message as { envelope?: vigil.envelope.v1.IEnvelope | null })
        .envelope;
      if (!envelope?.eventId || envelope.eventId.length !== 16) {
        throw new CodecError('bad-event', 'decoding record: the envelope has no 16-byte event id');
      }
      const time = toBigInt(envelope.timeUnixNano);
      const verify = parseVerify(event.headers['vigil-verify']);
      return {
        family,
        typeName: decoded.typeName,
        eventId: formatUuid(envelope.eventId),
        timeUnixNano: time > 0n ? time : BigInt(event.timestampMs) * 1_000_000n,
        envelope,
        message: decoded.message,
        ...(verify ? { verify } : {}),
        origin: { topic: event.topic, partition: event.partition, offset: event.offset },
      };
    },
  };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- free-form JSON documents */
import type { vigil } from '@vigil/schemas/gen';
import { FAMILIES, type FamilyName } from '@vigil/schemas/families';
import type { EventCodec } from '@vigil/pipeline/codec';
import { CodecError } from '@vigil/pipeline/errors';
import { formatUuid, toBigInt } from '@vigil/pipeline/events';
import type { PipelineEvent } from '@vigil/pipeline/sink';
import { toEcsDocument, type EcsDocument } from './ecs.js';
import { readVerifyHeader, type VerifyHeader } from '@vigil/pipeline/verify-header';

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

export type { VerifyHeader };

/**
 * What a sink stores for one record: either a protobuf event mapped here (`record` set), or an ECS
 * document a transform already prepared (the enrich worker's JSON on `vigil.process.enriched.v1`).
 */
export interface SinkEvent {
  readonly family: FamilyName;
  readonly eventId: string;
  readonly timeUnixNano: bigint;
  /** The producing host (for status: the poller; the document says which host a service is on). */
  readonly host: string;
  readonly document: EcsDocument;
  readonly record?: VigilRecord;
}

/** `2026-11-22T10:00:00.123456789Z` (or fewer fraction digits) → ns since the epoch; undefined if not such a time. */
export function parseTimestamp(text: unknown): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}Z`);
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** Turns PipelineEvents into VigilRecords. */
export interface RecordDecoder {
  /**
   * Reads one record for a sink: a JSON ECS document (value starting with `{`) as it is, anything
   * else decoded as a Vigil event and mapped to ECS. Throws like {@link RecordDecoder.decode}.
   */
  read(event: PipelineEvent): Promise<SinkEvent>;
  /**
   * Decodes one record. Throws CodecError (permanent) when the value is not a Vigil family's record
   * value with an envelope and a 16-byte event id; RetryableError while the registry is unreachable.
   */
  decode(event: PipelineEvent): Promise<VigilRecord>;
}

function familyOfType(typeName: string): FamilyName | undefined {
  return FAMILIES.find((f) => f.recordType === typeName)?.name;
}

function parseVerify(headers: PipelineEvent['headers']): VerifyHeader | undefined {
  try {
    return readVerifyHeader(headers);
  } catch {
    return undefined; // a malformed header only loses the signature status, not the event
  }
}

/** Creates a decoder over a codec (which resolves schema ids through the registry). */
export function createRecordDecoder(codec: EventCodec): RecordDecoder {
  async function decode(event: PipelineEvent): Promise<VigilRecord> {
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
    const verify = parseVerify(event.headers);
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
  }

  function readDocument(event: PipelineEvent): SinkEvent {
    let doc: Record<string, any>;
    try {
      doc = JSON.parse(event.value.toString('utf8')) as Record<string, any>;
    } catch (error) {
      throw new CodecError(
        'bad-payload',
        `reading JSON document: ${(error as Error).message}`,
        error,
      );
    }
    const eventId = doc?.event?.id;
    const time = parseTimestamp(doc?.['@timestamp']);
    const dataset = /^vigil\.([a-z]+)$/.exec(String(doc?.event?.dataset ?? ''))?.[1];
    const family = FAMILIES.find((f) => f.name === dataset)?.name;
    if (typeof eventId !== 'string' || !eventId || time === undefined || !family) {
      throw new CodecError(
        'bad-event',
        'reading JSON document: it needs event.id, @timestamp (RFC 3339, UTC) and event.dataset vigil.<family>',
      );
    }
    return {
      family,
      eventId,
      timeUnixNano: time,
      host: String(doc.host?.name ?? ''),
      document: doc,
    };
  }

  return {
    decode,
    async read(event) {
      if (event.value[0] === 0x7b) return readDocument(event); // '{': a prepared JSON document
      const record = await decode(event);
      return {
        family: record.family,
        eventId: record.eventId,
        timeUnixNano: record.timeUnixNano,
        host: record.envelope.host ?? '',
        document: toEcsDocument(record),
        record,
      };
    },
  };
}

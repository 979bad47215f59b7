import Long from 'long';
import type { Producer } from 'kafkajs';
import type { EventCodec } from '@vigil/pipeline/codec';
import { newEventId, nowUnixNano, toBigInt } from '@vigil/pipeline/events';
import { vigil } from '@vigil/schemas/gen';
import type { ServiceStatus } from './status.js';
import type { FoundChange, KnownState } from './track.js';

export const STATUS_EVENT = 'vigil.status.v1.StatusEvent';
/**
 * State-topic key of a source that is down: its source_unreachable event is kept there until it
 * recovers (then a tombstone), so a restarted poller does not report the same outage again.
 */
export const OUTAGE_KEY_PREFIX = 'source:';
const MS = 1_000_000n;

/** Which service, as every event names it. */
export interface ServiceRef {
  readonly site: string;
  readonly source: string;
  readonly host: string;
  readonly service: string;
}

/** One Kafka record; a null value is a tombstone on the compacted state topic. */
export interface OutRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer | null;
}

/** The body of one status event (one member of the oneof). */
export type StatusBody =
  | { readonly snapshot: vigil.status.v1.IServiceSnapshot }
  | { readonly stateChange: vigil.status.v1.IStateChange }
  | { readonly sourceUnreachable: vigil.status.v1.ISourceUnreachable }
  | { readonly sourceRecovered: vigil.status.v1.ISourceRecovered };

const nanos = (ms: number) => Long.fromString((BigInt(Math.round(ms)) * MS).toString(), true);

/** A ServiceSnapshot body. Pure. */
export function snapshotBody(ref: ServiceRef, s: ServiceStatus): StatusBody {
  return {
    snapshot: {
      service: { ...ref },
      state: s.state,
      stateType: s.stateType,
      output: s.output,
      acknowledged: s.acknowledged,
      inDowntime: s.inDowntime,
      flapping: s.flapping,
      lastCheckUnixNano: nanos(s.lastCheckMs),
      lastStateChangeUnixNano: nanos(s.lastStateChangeMs),
    },
  };
}

/** A StateChange body. Pure. */
export function stateChangeBody(ref: ServiceRef, change: FoundChange): StatusBody {
  const s = change.status;
  return {
    stateChange: {
      service: { ...ref },
      previousState: change.previous.state,
      state: s.state,
      previousDurationNs: Long.fromString(
        (BigInt(Math.round(change.previousDurationMs)) * MS).toString(),
        true,
      ),
      stateType: s.stateType,
      acknowledged: s.acknowledged,
      inDowntime: s.inDowntime,
      flapping: s.flapping,
      output: s.output,
    },
  };
}

/**
 * The state-topic value of a service: a StatusEvent whose snapshot holds the known state, with
 * `last_state_change_unix_nano` = since when it holds. Same schema as the status topic, so any
 * Vigil reader decodes it.
 */
export function knownStateBody(ref: ServiceRef, known: KnownState): StatusBody {
  return {
    snapshot: {
      service: { ...ref },
      state: known.state,
      stateType: known.stateType,
      lastStateChangeUnixNano: nanos(known.sinceMs),
    },
  };
}

/** Reads a state-topic snapshot back. Pure. */
export function knownStateOf(
  event: vigil.status.v1.IStatusEvent,
): { ref: ServiceRef; known: KnownState } | undefined {
  const s = event.snapshot;
  if (!s?.service || s.state === undefined || s.state === null) return undefined;
  const ref = {
    site: s.service.site ?? '',
    source: s.service.source ?? '',
    host: s.service.host ?? '',
    service: s.service.service ?? '',
  };
  const sinceMs = Number(toBigInt(s.lastStateChangeUnixNano as Long | null | undefined) / MS);
  return { ref, known: { state: s.state, stateType: s.stateType ?? 0, sinceMs } };
}

/** Numbers, stamps and encodes status events, and sends records to Kafka. */
export interface StatusPublisher {
  /** A framed StatusEvent with a fresh envelope (event id, next sequence, now). Pure but for the counter. */
  encode(body: StatusBody, envelopeHost: string): Buffer;
  /** Sends records (acks from all in-sync replicas). Throws the client's error when Kafka refuses. */
  send(records: readonly OutRecord[]): Promise<void>;
}

/** Creates a publisher over a connected kafkajs producer and a codec whose StatusEvent is registered. */
export function createStatusPublisher(deps: {
  readonly codec: EventCodec;
  readonly producer: Pick<Producer, 'sendBatch'>;
  readonly producerId: string;
  readonly now?: () => bigint;
}): StatusPublisher {
  let sequence = 0n;
  const now = deps.now ?? nowUnixNano;
  return {
    encode(body, envelopeHost) {
      sequence++;
      const time = now();
      const message = vigil.status.v1.StatusEvent.create({
        envelope: {
          eventId: newEventId(Number(time / MS)),
          sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_POLLER,
          host: envelopeHost,
          producerId: deps.producerId,
          sequence: Long.fromString(sequence.toString(), true),
          timeUnixNano: Long.fromString(time.toString(), true),
        },
        ...body,
      });
      return deps.codec.encode(STATUS_EVENT, message);
    },
    async send(records) {
      if (records.length === 0) return;
      const byTopic = new Map<string, Array<{ key: string; value: Buffer | null }>>();
      for (const r of records) {
        const list = byTopic.get(r.topic) ?? [];
        list.push({ key: r.key, value: r.value });
        byTopic.set(r.topic, list);
      }
      await deps.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    },
  };
}

import { randomBytes } from 'node:crypto';
import type { vigil } from '@vigil/schemas/gen';
import type { EventCodec } from '@vigil/pipeline/codec';
import type { KafkaClient, PipelineEvent } from '@vigil/pipeline/consume';
import { formatUuid } from '@vigil/pipeline/events';

/** What `vigil sign` recorded when it issued a watermark. */
export interface IssuedWatermark {
  readonly package: string;
  readonly version: string;
  readonly builder: string;
}

/** The issued watermarks, by watermark id (UUID text). */
export interface WatermarkRegistry {
  lookup(watermarkId: string): IssuedWatermark | undefined;
  readonly size: number;
  /**
   * Applies one record of the watermark topic: a registration adds its id, a tombstone (empty
   * value, key = the id as 16 bytes or UUID text) removes it. Throws CodecError on bad bytes.
   */
  apply(record: PipelineEvent): Promise<'added' | 'removed' | 'rejected'>;
}

/** Checks a registration's envelope and signature; false → the registration is ignored. */
export type RegistrationCheck = (
  record: PipelineEvent,
  envelope: vigil.envelope.v1.IEnvelope | null | undefined,
) => boolean;

function idOfKey(key: Buffer | null): string | undefined {
  if (!key) return undefined;
  if (key.length === 16) return formatUuid(key);
  const text = key.toString('utf8').toLowerCase();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text)
    ? text
    : undefined;
}

/** Creates an empty registry; `check` decides whether a registration is trusted (signed by the site). */
export function createWatermarkRegistry(
  codec: EventCodec,
  check: RegistrationCheck,
): WatermarkRegistry {
  const issued = new Map<string, IssuedWatermark>();
  return {
    lookup: (id) => issued.get(id),
    get size() {
      return issued.size;
    },
    async apply(record) {
      if (record.value.length === 0) {
        const id = idOfKey(record.key);
        if (id) issued.delete(id);
        return 'removed';
      }
      const decoded = await codec.decode<vigil.watermark.v1.WatermarkEvent>(record.value);
      const registration = decoded.message.registration;
      if (
        decoded.typeName !== 'vigil.watermark.v1.WatermarkEvent' ||
        !registration?.watermarkId ||
        registration.watermarkId.length !== 16
      ) {
        return 'rejected';
      }
      if (!check(record, decoded.message.envelope)) return 'rejected';
      issued.set(formatUuid(registration.watermarkId), {
        package: registration.package ?? '',
        version: registration.version ?? '',
        builder: registration.builder ?? '',
      });
      return 'added';
    },
  };
}

/** A running reader of the watermark topic. */
export interface WatermarkLoader {
  /** Resolves once everything on the topic when the loader started has been applied. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Reads the whole compacted topic into `registry`, then keeps following it, with a consumer group
 * of its own (every verify replica holds the full registry). Records that fail to decode are
 * reported through `onError` and skipped.
 */
export async function startWatermarkLoader(options: {
  readonly kafka: KafkaClient;
  readonly topic: string;
  readonly groupPrefix: string;
  readonly registry: WatermarkRegistry;
  readonly onError: (error: unknown, record: PipelineEvent) => void;
  readonly onApplied?: (result: 'added' | 'removed' | 'rejected') => void;
}): Promise<WatermarkLoader> {
  const ends = await options.kafka.endOffsets(options.topic);
  const position = new Map<number, bigint>([...ends.keys()].map((p) => [p, 0n]));
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  const check = () => {
    if ([...ends].every(([p, end]) => (position.get(p) ?? 0n) >= BigInt(end))) markCaughtUp();
  };
  check();
  const consumer = options.kafka.consumer({
    groupId: `${options.groupPrefix}-watermarks-${randomBytes(6).toString('hex')}`,
    maxWaitTimeMs: 500,
    maxBytesPerPartition: 1_048_576,
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3000,
  });
  await consumer.connect();
  await consumer.subscribe([options.topic], { fromBeginning: true });
  await consumer.run(
    async (batch, control) => {
      for (const record of batch.records) {
        try {
          options.onApplied?.(await options.registry.apply(record));
        } catch (error) {
          options.onError(error, record);
        }
      }
      const last = batch.records.at(-1);
      if (last) {
        position.set(batch.partition, BigInt(last.offset) + 1n);
        await control.commit(last.offset); // a group of its own: this only moves the fetch position
      }
      check();
    },
    { partitionsConcurrently: 1 },
  );
  return {
    caughtUp,
    async stop() {
      await consumer.stop();
      await consumer.disconnect();
    },
  };
}

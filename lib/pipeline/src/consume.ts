import kafkajs, {
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type Producer,
} from 'kafkajs';
import { RetryableError } from './errors.js';
import { createKafka, ensureTopics, type KafkaConfig, type TopicSpec } from './kafka.js';

// kafkajs is CommonJS and Node's ESM loader cannot see this named export; read it from the default.
const { KafkaJSError } = kafkajs;

/**
 * The small Kafka client interface the run loops use. kafkajs sits behind it today; a
 * librdkafka-based client (@confluentinc/kafka-javascript, KafkaJS-compatible) can implement it
 * without touching any worker: workers only ever see {@link PipelineEvent} and {@link OutputRecord}.
 */

/** One consumed Kafka record, as sinks and transforms receive it. */
export interface PipelineEvent {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset, as a decimal string (Kafka offsets are 64-bit). */
  readonly offset: string;
  readonly key: Buffer | null;
  /** The record value, byte for byte; an empty Buffer for a tombstone. */
  readonly value: Buffer;
  /** Headers decoded as UTF-8 (the last value wins for repeated names). */
  readonly headers: Readonly<Record<string, string>>;
  /** The record's timestamp in milliseconds since the epoch. */
  readonly timestampMs: number;
}

/** One record to produce. */
export interface OutputRecord {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

/** Records of one partition, in offset order, as one fetch returned them. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly PipelineEvent[];
  /** The partition's high watermark (next offset to be written) when fetched. */
  readonly highWatermark: string;
}

/** What a batch handler may do with its partition while it holds it. */
export interface BatchControl {
  /**
   * Keeps the group membership alive during long work; cheap (throttled by the client). Throws
   * when the group is rebalancing: the handler must stop working on this batch and rethrow.
   */
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the partition's position was reset: stop, commit nothing more. */
  isActive(): boolean;
  /**
   * Marks every record up to and including `offset` as done and commits `offset + 1` to the group.
   * Resolves once the broker accepted the commit; throws when the group rebalanced meanwhile.
   */
  commit(offset: string): Promise<void>;
  /**
   * Stops fetching this partition. Records after the last commit are fetched again once the
   * returned function resumes it. Safe to call after the partition was revoked.
   */
  pause(): () => void;
}

/** Consumer group membership and fetching. One `run` per consumer. */
export interface ConsumerClient {
  connect(): Promise<void>;
  subscribe(topics: readonly string[], options: { readonly fromBeginning: boolean }): Promise<void>;
  /**
   * Starts fetching and calls `handler` for one partition batch at a time per partition, in
   * offset order. Resolves once running; a record whose offset was not committed is delivered again
   * (to this or another member) after a rebalance, a pause or a restart.
   */
  run(
    handler: (batch: PartitionBatch, control: BatchControl) => Promise<void>,
    options: ConsumerRunOptions,
  ): Promise<void>;
  /** Stops fetching and waits for the running handlers to return. Idempotent. */
  stop(): Promise<void>;
  disconnect(): Promise<void>;
  /** True while the consumer is a member of its group with an assignment. */
  isMember(): boolean;
  /** Called when the client gave up (for example after repeated connection failures). */
  onCrash(listener: (error: Error) => void): void;
}

/** How `run` fetches. */
export interface ConsumerRunOptions {
  /** Partitions whose batches may be handled at the same time. */
  readonly partitionsConcurrently: number;
}

/** Producing with acks from every in-sync replica; nothing is acknowledged earlier. */
export interface ProducerClient {
  connect(): Promise<void>;
  /**
   * Resolves once every record is durable (acks=all), in order per partition. Throws
   * RetryableError (errorType 'kafka') on any client failure: the caller retries the same records.
   */
  send(records: readonly OutputRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** Options of a consumer. */
export interface ConsumerOptions {
  readonly groupId: string;
  /** Upper bound on how long a fetch waits for data (the batch's `maxWaitMs`). */
  readonly maxWaitTimeMs: number;
  /** Upper bound on the bytes one partition returns per fetch. */
  readonly maxBytesPerPartition: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

/** A Kafka client: a factory for consumers and producers. */
export interface KafkaClient {
  consumer(options: ConsumerOptions): ConsumerClient;
  producer(): ProducerClient;
  /** The next offset to be written, per partition of a topic. Throws RetryableError when unreachable. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** Creates the topics that do not exist yet (see ensureTopics in ./kafka). Idempotent. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined)
      out[name] = Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
  }
  return out;
}

function asRetryable(step: string, error: unknown): unknown {
  // kafkajs failures (network, leader moves, timeouts) are worth retrying; programmer errors are not.
  if (error instanceof KafkaJSError)
    return new RetryableError(`${step}: ${error.message}`, { errorType: 'kafka', cause: error });
  return error;
}

/** A {@link KafkaClient} over kafkajs. No I/O until a consumer or producer connects. */
export function createKafkajsClient(config: KafkaConfig): KafkaClient {
  const kafka = createKafka(config);
  return {
    consumer(options) {
      const consumer: Consumer = kafka.consumer({
        groupId: options.groupId,
        maxWaitTimeInMs: options.maxWaitTimeMs,
        maxBytesPerPartition: options.maxBytesPerPartition,
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: options.heartbeatIntervalMs,
        // Kafka re-delivers what was not committed; kafkajs' own restart loop stays on for network blips.
        retry: { retries: 10 },
      });
      let member = false;
      const crashListeners: Array<(error: Error) => void> = [];
      consumer.on(consumer.events.GROUP_JOIN, () => (member = true));
      consumer.on(consumer.events.REBALANCING, () => (member = false));
      consumer.on(consumer.events.STOP, () => (member = false));
      consumer.on(consumer.events.CRASH, (event) => {
        member = false;
        if (!event.payload.restart)
          for (const listener of crashListeners) listener(event.payload.error);
      });
      return {
        connect: () => consumer.connect(),
        subscribe: (topics, { fromBeginning }) =>
          consumer.subscribe({ topics: [...topics], fromBeginning }),
        async run(handler, runOptions) {
          await consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: runOptions.partitionsConcurrently,
            eachBatch: async (payload: EachBatchPayload) => {
              const { batch } = payload;
              const records: PipelineEvent[] = batch.messages.map((m) => ({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key ?? null,
                value: m.value ?? Buffer.alloc(0),
                headers: decodeHeaders(m.headers),
                timestampMs: Number(m.timestamp),
              }));
              await handler(
                {
                  topic: batch.topic,
                  partition: batch.partition,
                  records,
                  highWatermark: batch.highWatermark,
                },
                {
                  heartbeat: () => payload.heartbeat(),
                  isActive: () => payload.isRunning() && !payload.isStale(),
                  async commit(offset) {
                    payload.resolveOffset(offset);
                    const next = (BigInt(offset) + 1n).toString(); // Kafka commits the NEXT offset to read
                    await payload.commitOffsetsIfNecessary({
                      topics: [
                        {
                          topic: batch.topic,
                          partitions: [{ partition: batch.partition, offset: next }],
                        },
                      ],
                    });
                  },
                  pause: () => payload.pause(),
                },
              );
            },
          });
        },
        stop: () => consumer.stop(),
        disconnect: () => consumer.disconnect(),
        isMember: () => member,
        onCrash: (listener) => void crashListeners.push(listener),
      };
    },

    producer() {
      const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      return {
        async connect() {
          try {
            await producer.connect();
          } catch (error) {
            throw asRetryable('connecting producer', error);
          }
        },
        async send(records) {
          if (records.length === 0) return;
          const byTopic = new Map<string, OutputRecord[]>();
          for (const record of records) {
            const list = byTopic.get(record.topic) ?? [];
            list.push(record);
            byTopic.set(record.topic, list);
          }
          try {
            await producer.sendBatch({
              acks: -1,
              topicMessages: [...byTopic].map(([topic, list]) => ({
                topic,
                messages: list.map((r) => ({
                  key: r.key,
                  value: r.value,
                  headers: { ...r.headers },
                })),
              })),
            });
          } catch (error) {
            throw asRetryable('producing records', error);
          }
        },
        disconnect: () => producer.disconnect(),
      };
    },

    async endOffsets(topic) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const offsets = await admin.fetchTopicOffsets(topic);
        return new Map(offsets.map((o) => [o.partition, o.high]));
      } catch (error) {
        throw asRetryable(`reading end offsets of ${topic}`, error);
      } finally {
        await admin.disconnect();
      }
    },

    async ensureTopics(topics) {
      try {
        await ensureTopics(kafka, topics);
      } catch (error) {
        throw asRetryable('creating topics', error);
      }
    },
  };
}

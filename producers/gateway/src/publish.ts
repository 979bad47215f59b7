import { encodeFrame } from '@vigil/pipeline/codec';
import { familyByTransportId } from '@vigil/schemas/families';
import { CompressionTypes, type Message, type Producer, type TopicMessages } from 'kafkajs';
import type { Spool, SpoolBatch, SpooledRecord } from './spool.js';

/**
 * Spool → Kafka. The only Kafka calls of the gateway. One produce request in flight at a time
 * (the idempotent producer requires it, and it keeps per-key order); a failed request is retried
 * with exactly the same records until Kafka takes it, while new events keep landing in the spool.
 */

/** Schema id of each family's file, by transport byte. */
export type SchemaIds = ReadonlyMap<number, number>;

/** Headers every record carries (FORMAT.md: receipt metadata goes into headers, the value is untouched). */
export interface ReceiptHeaders {
  readonly gatewayId: string;
}

/** Nanoseconds since the epoch as decimal text, from fractional milliseconds. Pure. */
export function unixNanoText(ms: number): string {
  const whole = Math.floor(ms);
  const fraction = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(fraction)).toString();
}

/**
 * Spooled records → kafkajs topic messages: the record value re-framed with the Confluent header
 * (schema id of its family, message index [0]), keyed, with received_at / peer / gateway_id
 * headers. Records of a family without a schema id are returned in `unknown` (not sent). Pure.
 */
export function toTopicMessages(
  records: readonly SpooledRecord[],
  schemaIds: SchemaIds,
  options: { readonly topicPrefix: string; readonly gatewayId: string },
): { topicMessages: TopicMessages[]; unknown: SpooledRecord[] } {
  const byTopic = new Map<string, Message[]>();
  const unknown: SpooledRecord[] = [];
  for (const record of records) {
    const family = familyByTransportId(record.familyId);
    const schemaId = schemaIds.get(record.familyId);
    if (!family || schemaId === undefined) {
      unknown.push(record);
      continue;
    }
    const topic = `${options.topicPrefix}${family.topic}`;
    let messages = byTopic.get(topic);
    if (!messages) byTopic.set(topic, (messages = []));
    messages.push({
      key: record.key,
      value: encodeFrame({ schemaId, messageIndexes: [0], payload: record.value }),
      headers: {
        received_at: unixNanoText(record.receivedAtMs),
        peer: record.peer,
        gateway_id: options.gatewayId,
      },
    });
  }
  return { topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), unknown };
}

/** What the publisher reports (metrics and logs live in the caller). */
export interface PublishEvents {
  /** A batch is in Kafka. */
  sent(batch: SpoolBatch, topicMessages: readonly TopicMessages[], durationMs: number): void;
  /** A produce request failed; it will be retried after `retryInMs`. */
  failed(error: Error, attempt: number, retryInMs: number): void;
  /** Kafka took a batch after failures. */
  recovered(afterAttempts: number): void;
  /** Records that cannot be framed (no schema id for their family): dropped. */
  unframable(records: readonly SpooledRecord[]): void;
}

export interface PublisherOptions {
  readonly spool: Spool;
  /** Makes a fresh producer; called again after a failure (a new idempotent producer id). */
  readonly createProducer: () => Producer;
  /** Resolves once every family's schema id is known (the publisher waits for it). */
  readonly schemaIds: () => Promise<SchemaIds>;
  readonly topicPrefix: string;
  readonly gatewayId: string;
  readonly compression: 'gzip' | 'none';
  readonly batch: {
    readonly maxEvents: number;
    readonly maxBytes: number;
    readonly lingerMs: number;
  };
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly events: PublishEvents;
  /** Jitter source (tests pass a constant). */
  readonly random?: () => number;
}

export interface Publisher {
  /** Starts the send loop; returns at once. */
  start(): void;
  /** New records are in the spool: stop waiting. Cheap; call it after every append. */
  wake(): void;
  /** True while the last produce request succeeded (and one has been made). */
  readonly healthy: boolean;
  /** 'unknown' before the first produce request, then whether the last one succeeded. */
  readonly kafka: 'unknown' | 'up' | 'down';
  /** True when nothing is unread in the spool and no request is in flight. */
  readonly idle: boolean;
  /**
   * Keeps sending until the spool is empty or `deadline` (epoch ms) passes, then stops the loop
   * and disconnects. Resolves true when everything was sent. May be called once.
   */
  stop(deadline: number): Promise<boolean>;
}

/** Creates the send loop over a spool. No I/O until `start`. */
export function createPublisher(options: PublisherOptions): Publisher {
  const random = options.random ?? Math.random;
  let producer: Producer | undefined;
  let connected = false;
  let stopping = false;
  let stopped = false;
  let healthy = false;
  let attempted = false;
  let inflight: SpoolBatch | undefined;
  let wakeUp: (() => void) | undefined;
  let loopDone: Promise<void> = Promise.resolve();
  let drainDeadline = Infinity;
  /** Set when `stop` gave up waiting: a late answer must not touch the (closed) spool. */
  let abandoned = false;

  const compression =
    options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        if (wakeUp === done) wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function waitForData(): Promise<void> {
    while (!stopped && options.spool.stats().unreadBytes === 0) {
      if (stopping) {
        stopped = true;
        return;
      }
      await sleep(1000);
    }
  }

  async function dropProducer(): Promise<void> {
    const old = producer;
    producer = undefined;
    connected = false;
    if (old) await old.disconnect().catch(() => undefined);
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    let ids: SchemaIds | undefined;
    while (!stopped) {
      try {
        ids ??= await options.schemaIds();
        if (!inflight) {
          await waitForData();
          if (stopped) break;
          // Linger only when a batch would be small, so a busy gateway sends at once.
          if (
            options.batch.lingerMs > 0 &&
            options.spool.stats().unreadBytes < options.batch.maxBytes / 4
          ) {
            await new Promise((resolve) => setTimeout(resolve, options.batch.lingerMs));
          }
          inflight = options.spool.read(options.batch.maxEvents, options.batch.maxBytes);
          if (inflight.records.length === 0) {
            options.spool.ack(inflight); // skipped corrupt bytes only
            inflight = undefined;
            continue;
          }
        }
        const { topicMessages, unknown } = toTopicMessages(inflight.records, ids, options);
        if (unknown.length > 0) options.events.unframable(unknown);
        if (!producer) producer = options.createProducer();
        if (!connected) {
          await producer.connect();
          connected = true;
        }
        const started = performance.now();
        if (topicMessages.length > 0)
          await producer.sendBatch({ topicMessages, acks: -1, compression });
        if (abandoned) break; // sent, but the spool is closed: replayed (a duplicate) after restart
        options.spool.ack(inflight);
        options.events.sent(inflight, topicMessages, performance.now() - started);
        inflight = undefined;
        healthy = true;
        attempted = true;
        if (attempt > 0) {
          options.spool.markReplay();
          options.events.recovered(attempt);
          attempt = 0;
        }
      } catch (error) {
        if (error instanceof TypeError || error instanceof RangeError) throw error; // a bug: crash
        healthy = false;
        attempted = true;
        attempt++;
        const backoff = Math.min(
          options.retry.maxMs,
          options.retry.initialMs * 2 ** Math.min(attempt - 1, 20),
        );
        const retryIn = Math.round(backoff / 2 + (random() * backoff) / 2);
        options.events.failed(error as Error, attempt, retryIn);
        // A fresh producer after a failure: the old one's sequence state may no longer match the broker's.
        await dropProducer();
        if (stopping && Date.now() + retryIn > drainDeadline) break;
        await sleep(retryIn);
      }
      if (
        stopping &&
        (Date.now() > drainDeadline || (!inflight && options.spool.stats().unreadBytes === 0))
      )
        break;
    }
    stopped = true;
  }

  return {
    start() {
      loopDone = loop();
      // A programmer error escaped the loop: crash, and let the supervisor restart us [STYLE §5].
      loopDone.catch((error: unknown) =>
        setImmediate(() => {
          throw error;
        }),
      );
    },
    wake() {
      wakeUp?.();
    },
    get healthy() {
      return healthy;
    },
    get kafka() {
      return attempted ? (healthy ? 'up' : 'down') : 'unknown';
    },
    get idle() {
      return !inflight && options.spool.stats().unreadBytes === 0;
    },
    async stop(deadline) {
      stopping = true;
      drainDeadline = deadline;
      wakeUp?.();
      const timer = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now())).unref(),
      );
      await Promise.race([loopDone.catch(() => undefined), timer]);
      stopped = true;
      abandoned = true;
      wakeUp?.();
      const done = !inflight && options.spool.stats().unreadBytes === 0;
      await dropProducer();
      return done;
    },
  };
}

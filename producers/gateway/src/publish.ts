import { encodeFrame } from '@vigil/pipeline/codec';
import { FAMILIES } from '@vigil/schemas/families';
import type { MessageHeader } from '@confluentinc/kafka-javascript';
import {
  ALL_BROKERS_DOWN,
  type KafkaRecord,
  type ProducerEvents,
  type RecordProducer,
} from './producer.js';
import type { Spool, SpoolBatch, SpooledRecord } from './spool.js';

/**
 * Spool → Kafka. Reads the spool in order and hands each read batch to the Kafka client, keeping
 * up to `window` events in flight; the spool cursor advances over a batch only once Kafka has
 * acknowledged it and every batch before it, so a crash at any moment loses nothing (records
 * after the cursor are sent again: at-least-once). A failed delivery abandons the producer: after
 * a backoff a fresh one sends every unacknowledged batch again, in order, while new events keep
 * landing in the spool.
 */

/** Schema id of each family's file, by transport byte. */
export type SchemaIds = ReadonlyMap<number, number>;

/** Nanoseconds since the epoch as decimal text, from fractional milliseconds. Pure. */
export function unixNanoText(ms: number): string {
  let whole = Math.floor(ms);
  let fraction = Math.round((ms - whole) * 1e6);
  if (fraction === 1e6) {
    whole++;
    fraction = 0;
  }
  // Digits joined as text: whole × 10⁶ is beyond a double's exact integers (and BigInt is slow here).
  return whole === 0 ? String(fraction) : `${whole}${String(fraction).padStart(6, '0')}`;
}

/** Where a family's records go: topic, and the frame header (`0x00 | schema id | [0]`) to prepend. */
interface Route {
  readonly topic: string;
  readonly prefix: Buffer;
}

/** Where each family's records go, by transport byte; a family without a schema id has none. */
export type Routes = ReadonlyMap<number, Route>;

/** The routes for a set of schema ids, made once per publisher. Pure. */
export function routeTable(schemaIds: SchemaIds, topicPrefix: string): Routes {
  const routes = new Map<number, Route>();
  for (const family of FAMILIES) {
    const schemaId = schemaIds.get(family.transportId);
    if (schemaId === undefined) continue;
    routes.set(family.transportId, {
      topic: `${topicPrefix}${family.topic}`,
      prefix: encodeFrame({ schemaId, messageIndexes: [0], payload: new Uint8Array(0) }),
    });
  }
  return routes;
}

/** `{ peer }` header objects by peer: the same few senders over and over. */
const peerHeaders = new Map<string, MessageHeader>();

function peerHeader(peer: string): MessageHeader {
  let header = peerHeaders.get(peer);
  if (!header) {
    if (peerHeaders.size >= 10_000) peerHeaders.clear();
    header = { peer };
    peerHeaders.set(peer, header);
  }
  return header;
}

/**
 * Spooled records → Kafka records: the record value re-framed with the Confluent header (schema id
 * of its family, message index [0]), keyed, with received_at / peer / gateway_id headers, in spool
 * order. Records of a family without a route (no schema id) are returned in `unknown` (not sent).
 * Pure but for the cache of `peer` header objects. The framed values of a batch share one buffer:
 * one allocation per batch, not per record.
 */
export function toKafkaRecords(
  records: readonly SpooledRecord[],
  routes: Routes,
  gatewayId: string,
): { records: KafkaRecord[]; byTopic: Map<string, number>; unknown: SpooledRecord[] } {
  const out: KafkaRecord[] = [];
  const byTopic = new Map<string, number>();
  const unknown: SpooledRecord[] = [];
  const gatewayHeader = { gateway_id: gatewayId };
  let total = 0;
  for (const record of records)
    total += (routes.get(record.familyId)?.prefix.length ?? 0) + record.value.length;
  const values = Buffer.allocUnsafe(total);
  let o = 0;
  for (const record of records) {
    const route = routes.get(record.familyId);
    if (!route) {
      unknown.push(record);
      continue;
    }
    byTopic.set(route.topic, (byTopic.get(route.topic) ?? 0) + 1);
    const start = o;
    o += route.prefix.copy(values, o);
    values.set(record.value, o);
    o += record.value.length;
    out.push({
      topic: route.topic,
      key: record.key,
      value: values.subarray(start, o),
      headers: [
        { received_at: unixNanoText(record.receivedAtMs) },
        peerHeader(record.peer),
        gatewayHeader,
      ],
    });
  }
  return { records: out, byTopic, unknown };
}

/** What the publisher reports (metrics and logs live in the caller). */
export interface PublishEvents {
  /**
   * A batch is in Kafka (and the spool cursor is past it). `replayed`: how many of its records
   * waited for Kafka (read or in flight while it was away) or were spooled before this start.
   */
  sent(
    batch: SpoolBatch,
    byTopic: ReadonlyMap<string, number>,
    durationMs: number,
    replayed: number,
  ): void;
  /** A delivery (or connecting) failed; every unacknowledged batch is sent again after `retryInMs`. */
  failed(error: Error, attempt: number, retryInMs: number): void;
  /** Kafka took a batch after an absence (`afterAttempts` failed deliveries, 0 if it only waited). */
  recovered(afterAttempts: number): void;
  /** Records that cannot be framed (no schema id for their family): dropped. */
  unframable(records: readonly SpooledRecord[]): void;
  /** The client reported trouble (brokers down, authentication, …); it keeps retrying by itself. */
  clientError(error: Error): void;
}

export interface PublisherOptions {
  readonly spool: Spool;
  /** Makes a fresh producer; called again after a failure (a new idempotent producer id). */
  readonly createProducer: (events: ProducerEvents) => RecordProducer;
  /** Resolves once every family's schema id is known (the publisher waits for it). */
  readonly schemaIds: () => Promise<SchemaIds>;
  readonly topicPrefix: string;
  readonly gatewayId: string;
  /** Size of one spool read, handed to the client at once. */
  readonly batch: { readonly maxEvents: number; readonly maxBytes: number };
  /** Events and bytes read from the spool but not yet acknowledged, at most. */
  readonly window: { readonly events: number; readonly bytes: number };
  /** Kafka counts as down while the oldest unacknowledged batch is older than this. */
  readonly stallMs: number;
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
  /** True while Kafka acknowledges what is sent (and something has been). */
  readonly healthy: boolean;
  /** 'unknown' before the first delivery or failure, then whether Kafka takes events. */
  readonly kafka: 'unknown' | 'up' | 'down';
  /** True when nothing is unread in the spool and nothing is waiting for Kafka. */
  readonly idle: boolean;
  /**
   * Keeps sending until the spool is empty or `deadline` (epoch ms) passes, then stops the loop
   * and disconnects. Resolves true when everything was sent. May be called once.
   */
  stop(deadline: number): Promise<boolean>;
}

/** A spool batch between its read and its acknowledgement. */
interface InFlight {
  readonly batch: SpoolBatch;
  readonly records: readonly KafkaRecord[];
  readonly byTopic: ReadonlyMap<string, number>;
  startedAt: number;
  done: boolean;
  /** Read or in flight while Kafka was away: its records count as replayed. */
  absent: boolean;
}

/** Creates the send loop over a spool. No I/O until `start`. */
export function createPublisher(options: PublisherOptions): Publisher {
  const random = options.random ?? Math.random;
  const { spool } = options;
  let producer: RecordProducer | undefined;
  let connected = false;
  /** Bumped when a producer is abandoned: its late answers are ignored. */
  let generation = 0;
  let stopping = false;
  let stopped = false;
  let delivered = false;
  let attempted = false;
  /** Kafka is away (brokers down, a stalled batch, a failure) until the next delivery. */
  let absent = false;
  let failure: Error | undefined;
  let attempt = 0;
  /** Unacknowledged batches, in spool order; acknowledged from the head only. */
  const inflight: InFlight[] = [];
  let inflightEvents = 0;
  let inflightBytes = 0;
  let resend = false;
  let wakeUp: (() => void) | undefined;
  let loopDone: Promise<void> = Promise.resolve();
  let drainDeadline = Infinity;

  function wait(ms: number): Promise<void> {
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

  function wake(): void {
    wakeUp?.();
  }

  const producerEvents = (forGeneration: number): ProducerEvents => ({
    error(error, fatal) {
      if (forGeneration !== generation) return;
      if ((error as { code?: number }).code === ALL_BROKERS_DOWN) noteAbsence();
      options.events.clientError(error);
      if (fatal && !failure) {
        failure = error;
        wake();
      }
    },
  });

  function noteAbsence(): void {
    attempted = true;
    if (absent) return;
    absent = true;
    for (const entry of inflight) entry.absent = true;
  }

  /** The oldest unacknowledged batch has waited longer than `stallMs`. */
  function stalled(): boolean {
    const head = inflight[0];
    return !!head && !head.done && performance.now() - head.startedAt > options.stallMs;
  }

  /** Acknowledges finished batches at the head, in order. */
  function advance(): void {
    while (inflight.length > 0 && inflight[0]!.done) {
      const head = inflight.shift()!;
      inflightEvents -= head.batch.records.length;
      inflightBytes -= head.batch.bytes;
      spool.ack(head.batch);
      const { records } = head.batch;
      if (records.length > 0) {
        let replayed = records.length;
        if (!head.absent) {
          replayed = 0;
          for (const record of records) if (record.replay) replayed++;
        }
        options.events.sent(head.batch, head.byTopic, performance.now() - head.startedAt, replayed);
      }
    }
  }

  function send(entry: InFlight): void {
    const forGeneration = generation;
    entry.startedAt = performance.now();
    producer!.send(entry.records).then(
      () => {
        if (forGeneration !== generation) return;
        entry.done = true;
        delivered = true;
        attempted = true;
        if (absent || attempt > 0) {
          absent = false;
          // What was spooled meanwhile and is not read yet counts as replayed too.
          spool.markReplay();
          options.events.recovered(attempt);
          attempt = 0;
        }
        if (entry === inflight[0]) {
          advance();
          wake(); // room in the window
        }
      },
      (error: unknown) => {
        if (forGeneration !== generation || failure) return;
        failure = error as Error;
        wake();
      },
    );
  }

  async function dropProducer(): Promise<void> {
    generation++;
    const old = producer;
    producer = undefined;
    connected = false;
    if (old) await old.disconnect().catch(() => undefined);
  }

  /** After a failure: back off, then a fresh producer sends every unacknowledged batch again. */
  async function recover(error: Error): Promise<void> {
    failure = undefined;
    attempt++;
    noteAbsence();
    const backoff = Math.min(
      options.retry.maxMs,
      options.retry.initialMs * 2 ** Math.min(attempt - 1, 20),
    );
    const retryIn = Math.round(backoff / 2 + (random() * backoff) / 2);
    options.events.failed(error, attempt, retryIn);
    // A fresh producer after a failure: the old one's sequence state may no longer match the broker's.
    await dropProducer();
    for (const entry of inflight) entry.done = false;
    resend = inflight.length > 0;
    if (stopping && Date.now() + retryIn > drainDeadline) {
      stopped = true;
      return;
    }
    const until = Date.now() + retryIn;
    while (!stopped && Date.now() < until) await wait(until - Date.now());
  }

  async function loop(): Promise<void> {
    let routes: Routes | undefined;
    while (!stopped) {
      if (failure) {
        await recover(failure);
        continue;
      }
      try {
        routes ??= routeTable(await options.schemaIds(), options.topicPrefix);
        if (!producer) {
          if (stopping && inflight.length === 0 && spool.stats().unreadBytes === 0) break;
          // Made and connected before the first event, not by it: connecting (metadata, then the
          // idempotent producer id) takes up to a second, which the first events would wait.
          producer = options.createProducer(producerEvents(generation));
        }
        if (!connected) {
          const forGeneration = generation;
          await producer.connect();
          if (forGeneration !== generation) continue;
          connected = true;
        }
        if (resend) {
          resend = false;
          for (const entry of inflight) send(entry);
        }
        while (
          !failure &&
          inflightEvents < options.window.events &&
          inflightBytes < options.window.bytes &&
          spool.stats().unreadBytes > 0
        ) {
          const batch = spool.read(options.batch.maxEvents, options.batch.maxBytes);
          const { records, byTopic, unknown } = toKafkaRecords(
            batch.records,
            routes,
            options.gatewayId,
          );
          if (unknown.length > 0) options.events.unframable(unknown);
          const entry: InFlight = {
            batch,
            records,
            byTopic,
            startedAt: performance.now(),
            done: records.length === 0, // only skipped corrupt bytes or unframable records
            absent,
          };
          inflight.push(entry);
          inflightEvents += batch.records.length;
          inflightBytes += batch.bytes;
          if (entry.done) advance();
          else send(entry);
        }
      } catch (error) {
        if (error instanceof TypeError || error instanceof RangeError) throw error; // a bug: crash
        if (!failure) failure = error as Error;
        continue;
      }
      if (failure) continue;
      if (stopping && inflight.length === 0 && spool.stats().unreadBytes === 0) break;
      if (stopping && Date.now() > drainDeadline) break;
      if (stalled()) noteAbsence();
      await wait(1000);
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
    wake,
    get healthy() {
      return delivered && !absent && !stalled();
    },
    get kafka() {
      return attempted ? (this.healthy ? 'up' : 'down') : 'unknown';
    },
    get idle() {
      return inflight.length === 0 && spool.stats().unreadBytes === 0;
    },
    async stop(deadline) {
      stopping = true;
      drainDeadline = deadline;
      wake();
      const timer = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now())).unref(),
      );
      await Promise.race([loopDone.catch(() => undefined), timer]);
      stopped = true;
      wake();
      const done = inflight.length === 0 && spool.stats().unreadBytes === 0;
      // Late acknowledgements must not touch the (soon closed) spool: those batches are sent
      // again by the next start (duplicates, never loss).
      await dropProducer();
      return done;
    },
  };
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Kafka } from 'kafkajs';
import { ensureStack } from '@vigil/stack/stack';
import { workerConfigShape } from './config-blocks.js';
import type { PipelineEvent } from './consume.js';
import { PermanentError, RetryableError } from './errors.js';
import { createKafka, ensureTopics } from './kafka.js';
import { createLogger } from './log.js';
import { startSink, type Sink } from './run-sink.js';
import type { RunningWorker } from './run-worker.js';
import { createMemorySink, uniqueName, type MemorySink } from './testing/index.js';
import { waitFor } from '@vigil/pipeline/testing';

/**
 * The sink run loop against the real Kafka: at-least-once, commit after write, order per
 * partition, dead letters, retries with a paused partition, crashes, rebalances, long batches.
 */

const schema = z.strictObject(workerConfigShape({ name: 'runtimetest', inputTopics: ['unused'] }));
let brokers: string[];
let kafka: Kafka;
const running: RunningWorker[] = [];

beforeAll(async () => {
  brokers = (await ensureStack()).kafkaBrokers;
  kafka = createKafka({ brokers, clientId: 'run-sink-test' });
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(running.map((w) => w.stop()));
});

async function topics(partitions: number) {
  const topic = uniqueName('rt-in');
  const dlq = uniqueName('rt-dlq');
  await ensureTopics(kafka, [
    { topic, numPartitions: partitions, replicationFactor: 1, cleanupPolicy: 'delete' },
    { topic: dlq, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'delete' },
  ]);
  return { topic, dlq, group: uniqueName('rt-group') };
}

async function produce(topic: string, values: string[], keys = 10): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: values.map((value, i) => ({ key: `k${i % keys}`, value })),
  });
  await producer.disconnect();
}

async function start(
  t: { topic: string; dlq: string; group: string },
  sink: Sink,
  flags: Record<string, unknown> = {},
) {
  const worker = await startSink({
    name: 'runtimetest',
    configSchema: schema,
    env: {},
    flags: {
      'kafka.brokers': brokers,
      'kafka.topics': [t.topic],
      'kafka.groupId': t.group,
      'kafka.sessionTimeoutMs': 10_000,
      'kafka.heartbeatIntervalMs': 1000,
      'batch.maxEvents': 20,
      'batch.maxWaitMs': 100,
      'retry.initialMs': 50,
      'retry.maxMs': 400,
      deadLetterTopic: t.dlq,
      'health.host': '127.0.0.1',
      'health.port': 0,
      drainTimeoutMs: 10_000,
      ...flags,
    },
    logger: createLogger('runtimetest', { level: 'silent' }),
    createSink: () => sink,
  });
  running.push(worker);
  return worker;
}

async function committed(topic: string, group: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map(entry!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

async function endOffsets(topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
    );
  } finally {
    await admin.disconnect();
  }
}

async function readAll(topic: string, count: number) {
  const consumer = kafka.consumer({ groupId: uniqueName('rt-reader') });
  const records: Array<{ value: string; headers: Record<string, string> }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      records.push({ value: message.value!.toString(), headers });
    },
  });
  await waitFor(`${count} records on ${topic}`, () => records.length >= count);
  await consumer.disconnect();
  return records;
}

const values = (n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function assertOrderedPerPartition(events: readonly PipelineEvent[]) {
  const last = new Map<number, bigint>();
  for (const event of events) {
    const offset = BigInt(event.offset);
    expect(offset, `partition ${event.partition} in order`).toBeGreaterThan(
      last.get(event.partition) ?? -1n,
    );
    last.set(event.partition, offset);
  }
}

describe('runSink against the real Kafka', () => {
  it('stores every record, in order per partition, and commits exactly what was stored', async () => {
    const t = await topics(3);
    await produce(t.topic, values(300));
    const sink = createMemorySink();
    const worker = await start(t, sink);
    await waitFor('300 stored', () => sink.stored.length >= 300);
    await waitFor('commits', async () => {
      const [c, e] = [await committed(t.topic, t.group), await endOffsets(t.topic)];
      return [...e].every(([p, high]) => c.get(p) === high);
    });
    expect(new Set(sink.stored.map((e) => e.value.toString())).size).toBe(300);
    assertOrderedPerPartition(sink.stored);
    const metrics = await worker.telemetry.registry.metrics();
    expect(metrics).toMatch(/component_sent_events_total\{component="runtimetest"\} 300/);

    // A drained stop keeps the commits: a restart of the same group sees only new records.
    await worker.stop();
    await worker.done;
    const again = createMemorySink();
    await start(t, again);
    await produce(t.topic, ['after-restart']);
    await waitFor('the new record', () => again.stored.length >= 1);
    expect(again.stored.map((e) => e.value.toString())).toEqual(['after-restart']);
  }, 120_000);

  it('dead-letters a poison record with its origin and error, and later records of its partition still arrive', async () => {
    const t = await topics(1);
    const input = [...values(30, 'a'), 'poison', ...values(30, 'b')];
    await produce(t.topic, input);
    const sink = createMemorySink((batch) => {
      if (batch.some((e) => e.value.toString() === 'poison'))
        throw new PermanentError('storing: document rejected', { errorType: 'store' });
    });
    const worker = await start(t, sink);
    await waitFor('60 stored', () => sink.stored.length >= 60);
    const [dead] = await readAll(t.dlq, 1);
    expect(dead!.value).toBe('poison');
    expect(dead!.headers).toMatchObject({
      'vigil-dlq-origin-topic': t.topic,
      'vigil-dlq-origin-partition': '0',
      'vigil-dlq-origin-offset': '30',
      'vigil-dlq-error-type': 'store',
      'vigil-dlq-error-message': 'storing: document rejected',
    });
    expect(new Set(sink.stored.map((e) => e.value.toString()))).toEqual(
      new Set(input.filter((v) => v !== 'poison')),
    );
    assertOrderedPerPartition(sink.stored);
    const metrics = await worker.telemetry.registry.metrics();
    expect(metrics).toContain(
      'component_discarded_events_total{intentional="false",reason="dead-lettered",component="runtimetest"} 1',
    );
    await waitFor(
      'commit past the poison',
      async () => (await committed(t.topic, t.group)).get(0) === 61n,
    );
  }, 120_000);

  it('retries a retryable failure with the partition paused, without losing or reordering anything', async () => {
    const t = await topics(2);
    await produce(t.topic, values(100));
    let failures = 0;
    const sink = createMemorySink(() => {
      if (failures < 4) {
        failures++;
        throw new RetryableError('storing: 503 busy', { errorType: 'http' });
      }
    });
    const worker = await start(t, sink);
    await waitFor('100 stored', () => sink.stored.length >= 100);
    expect(failures).toBe(4);
    expect(new Set(sink.stored.map((e) => e.value.toString())).size).toBe(100);
    expect(sink.stored.length).toBe(100); // failed writes stored nothing, so nothing twice
    assertOrderedPerPartition(sink.stored);
    expect(await worker.telemetry.registry.metrics()).toContain(
      'component_errors_total{error_type="http",stage="write",component="runtimetest"} 4',
    );
  }, 120_000);

  it('stops on a programmer error without committing the failed record', async () => {
    const t = await topics(1);
    await produce(t.topic, [...values(10), 'bug', ...values(10, 'z')]);
    const sink = createMemorySink((batch) => {
      if (batch.some((e) => e.value.toString() === 'bug'))
        throw new TypeError("cannot read properties of undefined (reading 'x')");
    });
    const worker = await start(t, sink, { 'batch.maxEvents': 5 });
    await expect(worker.done).rejects.toBeInstanceOf(TypeError);
    expect(sink.stored.map((e) => e.value.toString())).toEqual(values(10));
    expect((await committed(t.topic, t.group)).get(0)).toBe(10n);
  }, 120_000);

  it('keeps its membership through a write longer than the session timeout (heartbeats flow)', async () => {
    const t = await topics(1);
    await produce(t.topic, values(5));
    let slow = true;
    const sink = createMemorySink(async () => {
      if (slow) {
        slow = false;
        await new Promise((resolve) => setTimeout(resolve, 9000)); // session timeout is 6 s
      }
    });
    await start(t, sink, {
      'kafka.sessionTimeoutMs': 6000,
      'kafka.heartbeatIntervalMs': 500,
      'batch.maxEvents': 100,
    });
    await waitFor('5 stored', () => sink.stored.length >= 5);
    await waitFor('committed', async () => (await committed(t.topic, t.group)).get(0) === 5n);
    // Evicted mid-write, the commit would have failed and the batch been stored a second time.
    expect(sink.stored.length).toBe(5);
  }, 120_000);

  it('loses nothing when a second member joins mid-stream (rebalance)', async () => {
    const t = await topics(4);
    await produce(t.topic, values(400), 40);
    const slowWrite = () => new Promise<void>((resolve) => setTimeout(resolve, 20));
    const second = createMemorySink(slowWrite);
    // After its first 40 events the first member holds its writes until the second member has
    // stored something, so the second surely joins mid-stream, however fast the machine drains.
    // The wait ends when the runtime aborts the write for the rebalance: the batch is then not
    // committed and comes again, to one of the two members.
    const first: MemorySink = {
      ...createMemorySink(),
      async write(batch, signal) {
        while (first.stored.length >= 40 && second.stored.length === 0) {
          signal.throwIfAborted();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await slowWrite();
        first.stored.push(...batch);
      },
    };
    await start(t, first, { 'batch.maxEvents': 5 });
    await waitFor('some stored', () => first.stored.length >= 40);
    await start(t, second, { 'batch.maxEvents': 5 });
    const distinct = () =>
      new Set([...first.stored, ...second.stored].map((e) => e.value.toString())).size;
    await waitFor('all 400 stored', () => distinct() === 400, 90_000);
    expect(second.stored.length, 'the second member got partitions').toBeGreaterThan(0);
    assertOrderedPerPartition(
      first.stored.filter(
        (e) =>
          !second.stored.some(
            (s) => s.partition === e.partition && BigInt(s.offset) <= BigInt(e.offset),
          ),
      ),
    );
  }, 150_000);

  it('drains on stop: an in-flight write finishes and is committed', async () => {
    const t = await topics(1);
    await produce(t.topic, values(10));
    let writing!: () => void;
    const inFlight = new Promise<void>((resolve) => (writing = resolve));
    const sink = createMemorySink(async () => {
      writing();
      await new Promise((resolve) => setTimeout(resolve, 1500));
    });
    const worker = await start(t, sink, { 'batch.maxEvents': 100 });
    await inFlight;
    await worker.stop();
    expect(sink.stored.length).toBe(10);
    expect((await committed(t.topic, t.group)).get(0)).toBe(10n);
  }, 120_000);

  it('gives up a write that outlives drainTimeoutMs: aborted, not committed, delivered again later', async () => {
    const t = await topics(1);
    await produce(t.topic, values(5));
    let aborted = false;
    const stuck: Sink = {
      healthcheck: async () => undefined,
      close: async () => undefined,
      write: (_batch, signal) =>
        new Promise<void>((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new RetryableError('writing: aborted', { errorType: 'timeout' }));
          }),
        ),
    };
    const worker = await start(t, stuck, { drainTimeoutMs: 500 });
    await waitFor('the write to start', async () =>
      (
        await worker.telemetry.registry.getSingleMetricAsString('component_received_events_total')
      ).includes(' 5'),
    );
    const began = Date.now();
    await worker.stop();
    expect(Date.now() - began).toBeLessThan(5000);
    expect(aborted).toBe(true);
    expect((await committed(t.topic, t.group)).get(0) ?? -1n).toBeLessThan(0n); // nothing committed
    const again = createMemorySink();
    await start(t, again);
    await waitFor('redelivery', () => again.stored.length >= 5);
  }, 120_000);
});

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrame } from '@vigil/pipeline/codec';
import { describe, expect, it } from 'vitest';
import type { KafkaRecord, ProducerEvents, RecordProducer } from './producer.js';
import {
  createPublisher,
  routeTable,
  toKafkaRecords,
  unixNanoText,
  type PublishEvents,
} from './publish.js';
import { openSpool, type Spool, type SpooledRecord } from './spool.js';
import { until } from './testkit.js';

const rec = (familyId: number, key: string, value: number[]): SpooledRecord => ({
  familyId,
  key,
  peer: 'udp:[::1]:5000',
  receivedAtMs: 1_790_000_000_123.456,
  value: Uint8Array.from(value),
  size: 0,
  replay: false,
});

const header = (record: KafkaRecord, name: string) =>
  record.headers.find((h) => name in h)?.[name]?.toString();

describe('toKafkaRecords', () => {
  const ids = new Map([
    [1, 7],
    [2, 300],
  ]);

  it('re-frames the value unchanged with its family schema id and message index [0], keyed, with receipt headers, in spool order', () => {
    const { records, byTopic, unknown } = toKafkaRecords(
      [rec(1, 'h/preload/b/1', [1, 2, 3]), rec(2, 's1', [9]), rec(1, 'h/preload/b/2', [4])],
      routeTable(ids, 't-'),
      'gw1',
    );
    expect(unknown).toEqual([]);
    expect(records.map((r) => [r.topic, r.key])).toEqual([
      ['t-vigil.process.v1', 'h/preload/b/1'],
      ['t-vigil.session.v1', 's1'],
      ['t-vigil.process.v1', 'h/preload/b/2'],
    ]);
    expect([...byTopic]).toEqual([
      ['t-vigil.process.v1', 2],
      ['t-vigil.session.v1', 1],
    ]);
    const first = records[0]!;
    const frame = decodeFrame(first.value);
    expect(frame.schemaId).toBe(7);
    expect(frame.messageIndexes).toEqual([0]);
    expect([...frame.payload]).toEqual([1, 2, 3]);
    expect(first.value.subarray(0, 6).toString('hex')).toBe('000000000700');
    expect(decodeFrame(records[1]!.value).schemaId).toBe(300);
    expect([...decodeFrame(records[2]!.value).payload]).toEqual([4]);
    expect(header(first, 'peer')).toBe('udp:[::1]:5000');
    expect(header(first, 'gateway_id')).toBe('gw1');
    expect(header(first, 'received_at')).toMatch(/^17900000001234\d{5}$/); // a double holds a few hundred ns here
  });

  it('returns records of a family without a schema id as unknown', () => {
    const { records, unknown } = toKafkaRecords([rec(3, 'x', [1])], routeTable(ids, ''), 'g');
    expect(records).toEqual([]);
    expect(unknown).toHaveLength(1);
  });
});

describe('unixNanoText', () => {
  it.each([
    [0, '0'],
    [1.5, '1500000'],
    [0.000_001, '1'],
    [1_790_000_000_000, '1790000000000000000'],
    [1_790_000_000_123.456, '1790000000123456055'],
    [1_790_000_000_999.999_8, '1790000000999999756'], // a double holds a few hundred ns here
    [0.999_999_9, '1000000'], // the fraction rounds up into the next millisecond
  ])('%d ms is %s ns', (ms, text) => {
    expect(unixNanoText(ms)).toBe(text);
  });

  it('agrees with exact BigInt arithmetic', () => {
    for (let i = 0; i < 1000; i++) {
      const ms = 1_700_000_000_000 + Math.random() * 100_000_000_000;
      const whole = Math.floor(ms);
      const exact = BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
      expect(unixNanoText(ms)).toBe(exact.toString());
    }
  });
});

/** A Kafka client under the test's control: each send waits until the test settles it. */
interface FakeSend {
  readonly records: readonly KafkaRecord[];
  resolve(): void;
  reject(error: Error): void;
}

function fakeKafka() {
  const producers: {
    sends: FakeSend[];
    events: ProducerEvents;
    closed: boolean;
    connected: boolean;
  }[] = [];
  const create = (events: ProducerEvents): RecordProducer => {
    const producer = { sends: [] as FakeSend[], events, closed: false, connected: false };
    producers.push(producer);
    return {
      connect: () => {
        producer.connected = true;
        return Promise.resolve();
      },
      send: (records) =>
        new Promise<void>((resolve, reject) => {
          producer.sends.push({ records, resolve, reject });
        }),
      disconnect: () => {
        producer.closed = true;
        return Promise.resolve();
      },
    };
  };
  return { producers, create };
}

function recorder() {
  const log: string[] = [];
  const sentKeys: string[] = [];
  const events: PublishEvents = {
    sent: (batch) => {
      log.push(`sent ${batch.records.length}`);
      sentKeys.push(...batch.records.map((r) => r.key));
    },
    failed: (error, attempt) => log.push(`failed ${attempt}: ${error.message}`),
    recovered: (attempts) => log.push(`recovered after ${attempts}`),
    unframable: (records) => log.push(`unframable ${records.length}`),
    clientError: (error) => log.push(`client ${error.message}`),
  };
  return { log, sentKeys, events };
}

function spoolWith(keys: readonly string[]): { spool: Spool; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-publish-'));
  const spool = openSpool({
    dir,
    maxBytes: 1024 * 1024,
    segmentBytes: 64 * 1024,
    fsync: 'never',
    fsyncIntervalMs: 1000,
  });
  for (const key of keys)
    spool.append({ familyId: 1, key, peer: 'unix', receivedAtMs: 1, value: Uint8Array.of(1) });
  spool.flush();
  return { spool, dir };
}

const cursorOf = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'cursor.json'), 'utf8')) as { offset: number };

describe('createPublisher', () => {
  const base = {
    schemaIds: () => Promise.resolve(new Map([[1, 7]])),
    topicPrefix: '',
    gatewayId: 'gw',
    batch: { maxEvents: 2, maxBytes: 1024 * 1024 },
    stallMs: 60_000,
    retry: { initialMs: 10, maxMs: 10 },
    random: () => 1,
  };
  /** A started publisher over `spool` and the fake Kafka, `window` events in flight at most. */
  const startPublisher = (
    spool: Spool,
    kafka: ReturnType<typeof fakeKafka>,
    events: PublishEvents,
    window: number,
  ) => {
    const publisher = createPublisher({
      ...base,
      spool,
      createProducer: kafka.create,
      window: { events: window, bytes: 1024 * 1024 },
      events,
    });
    publisher.start();
    return publisher;
  };

  it('keeps the window in flight and moves the cursor over a batch only when it and all before it are in Kafka', async () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const { spool, dir } = spoolWith(keys);
    const kafka = fakeKafka();
    const { log, sentKeys, events } = recorder();
    const publisher = startPublisher(spool, kafka, events, 6);
    const sends = () => kafka.producers[0]?.sends ?? [];
    await until(() => sends().length === 3, 5000, 'three batches in flight');
    expect(sends().map((s) => s.records.map((r) => r.key))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    // Kafka answers the second batch first: nothing is acknowledged in the spool yet.
    sends()[1]!.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual([]);
    expect(publisher.idle).toBe(false);
    sends()[0]!.resolve();
    await until(() => log.length === 2, 5000, 'two batches acknowledged');
    expect(sentKeys).toEqual(['a', 'b', 'c', 'd']);
    await until(() => sends().length === 4, 5000, 'the window refilled');
    expect(sends()[3]!.records.map((r) => r.key)).toEqual(['g']);
    sends()[3]!.resolve();
    sends()[2]!.resolve();
    await until(() => publisher.idle, 5000, 'everything acknowledged');
    expect(sentKeys).toEqual(keys);
    expect(publisher.kafka).toBe('up');
    expect(await publisher.stop(Date.now() + 1000)).toBe(true);
    spool.close();
    expect(cursorOf(dir).offset).toBeGreaterThan(0);
  });

  it('after a failed delivery, a fresh producer sends every unacknowledged batch again, in order', async () => {
    const { spool } = spoolWith(['a', 'b', 'c', 'd', 'e']);
    const kafka = fakeKafka();
    const { log, sentKeys, events } = recorder();
    const publisher = startPublisher(spool, kafka, events, 100);
    await until(() => kafka.producers[0]?.sends.length === 3, 5000, 'three batches in flight');
    const first = kafka.producers[0]!;
    first.sends[0]!.resolve(); // a, b are in Kafka
    first.sends[2]!.resolve(); // e is in Kafka, but c, d before it failed
    first.sends[1]!.reject(new Error('broker said no'));
    await until(() => kafka.producers.length === 2, 5000, 'a second producer');
    expect(first.closed).toBe(true);
    expect(publisher.kafka).toBe('down');
    const second = kafka.producers[1]!;
    await until(() => second.sends.length === 2, 5000, 'the batches sent again');
    expect(second.sends.map((s) => s.records.map((r) => r.key))).toEqual([['c', 'd'], ['e']]);
    // A late answer of the abandoned producer changes nothing.
    first.sends[1]!.resolve();
    for (const send of second.sends) send.resolve();
    await until(() => publisher.idle, 5000, 'everything acknowledged');
    expect(sentKeys).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(log).toEqual([
      'sent 2',
      'failed 1: broker said no',
      'recovered after 1',
      'sent 2',
      'sent 1',
    ]);
    expect(publisher.kafka).toBe('up');
    expect(await publisher.stop(Date.now() + 1000)).toBe(true);
    spool.close();
  });

  it('a fatal client error also replaces the producer; brokers down make Kafka "down" until a delivery', async () => {
    const { spool } = spoolWith(['a']);
    const kafka = fakeKafka();
    const { log, events } = recorder();
    const publisher = startPublisher(spool, kafka, events, 100);
    await until(() => kafka.producers[0]?.sends.length === 1, 5000, 'a batch in flight');
    const down = Object.assign(new Error('all brokers down'), { code: -187 });
    kafka.producers[0]!.events.error(down, false);
    expect(publisher.kafka).toBe('down');
    kafka.producers[0]!.events.error(new Error('fenced'), true);
    await until(() => kafka.producers[1]?.sends.length === 1, 5000, 'sent again by a new producer');
    kafka.producers[1]!.sends[0]!.resolve();
    await until(() => publisher.idle, 5000, 'acknowledged');
    expect(publisher.kafka).toBe('up');
    expect(log).toEqual([
      'client all brokers down',
      'client fenced',
      'failed 1: fenced',
      'recovered after 1',
      'sent 1',
    ]);
    await publisher.stop(Date.now() + 1000);
    spool.close();
  });

  it('stop: gives up at the deadline, leaving what Kafka has not acknowledged in the spool', async () => {
    const { spool, dir } = spoolWith(['a', 'b', 'c']);
    const kafka = fakeKafka();
    const { events } = recorder();
    const publisher = startPublisher(spool, kafka, events, 100);
    await until(() => kafka.producers[0]?.sends.length === 2, 5000, 'two batches in flight');
    kafka.producers[0]!.sends[0]!.resolve();
    const started = Date.now();
    expect(await publisher.stop(Date.now() + 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(kafka.producers[0]!.closed).toBe(true);
    kafka.producers[0]!.sends[1]!.resolve(); // too late: must not touch the spool
    spool.close();
    const reopened = openSpool({
      dir,
      maxBytes: 1024 * 1024,
      segmentBytes: 64 * 1024,
      fsync: 'never',
      fsyncIntervalMs: 1000,
    });
    expect(reopened.read(10, 1024 * 1024).records.map((r) => r.key)).toEqual(['c']);
    reopened.close();
  });

  it('connects at start, with nothing to send yet, so the first event does not wait for a connection', async () => {
    const { spool } = spoolWith([]);
    const kafka = fakeKafka();
    const { events } = recorder();
    const publisher = startPublisher(spool, kafka, events, 100);
    await until(() => kafka.producers[0]?.connected === true, 5000, 'a connected producer');
    spool.append({
      familyId: 1,
      key: 'first',
      peer: 'unix',
      receivedAtMs: 1,
      value: Uint8Array.of(1),
    });
    spool.flush();
    publisher.wake();
    await until(() => kafka.producers[0]!.sends.length === 1, 5000, 'the first event sent');
    expect(kafka.producers).toHaveLength(1);
    kafka.producers[0]!.sends[0]!.resolve();
    expect(await publisher.stop(Date.now() + 1000)).toBe(true);
    spool.close();
  });
});

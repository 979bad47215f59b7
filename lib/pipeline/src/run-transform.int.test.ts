import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Kafka } from 'kafkajs';
import { ensureStack } from '@vigil/stack/stack';
import { workerConfigShape } from './config-blocks.js';
import { PermanentError } from './errors.js';
import { createKafka, ensureTopics } from './kafka.js';
import { createLogger } from './log.js';
import { discard, startTransform } from './run-transform.js';
import type { RunningWorker } from './run-worker.js';
import { uniqueName } from './testing/index.js';
import { waitFor } from '@vigil/pipeline/testing';

/** The transform run loop against the real Kafka: outputs, drops, dead letters, commits after acks. */

const schema = z.strictObject({
  ...workerConfigShape({ name: 'transformtest', inputTopics: ['unused'] }),
  outputTopic: z.string(),
});
let brokers: string[];
let kafka: Kafka;
const running: RunningWorker[] = [];

beforeAll(async () => {
  brokers = (await ensureStack()).kafkaBrokers;
  kafka = createKafka({ brokers, clientId: 'run-transform-test' });
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(running.map((w) => w.stop()));
});

async function collect(topic: string) {
  const records: Array<{
    key: string;
    value: string;
    partition: number;
    headers: Record<string, string>;
  }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName('tt-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      records.push({
        key: message.key?.toString() ?? '',
        value: message.value!.toString(),
        partition,
        headers,
      });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

describe('runTransform against the real Kafka', () => {
  it('produces outputs in input order, counts drops, and dead-letters bad events', async () => {
    const [input, output, dlq, group] = [
      uniqueName('tt-in'),
      uniqueName('tt-out'),
      uniqueName('tt-dlq'),
      uniqueName('tt-group'),
    ];
    await ensureTopics(
      kafka,
      [input, output, dlq].map((topic) => ({
        topic,
        numPartitions: 2,
        replicationFactor: 1,
        cleanupPolicy: 'delete' as const,
      })),
    );
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 200 }, (_, i) =>
      i === 77 ? 'bad' : i % 10 === 0 ? `skip${i}` : `n${i}`,
    );
    await producer.send({
      topic: input,
      acks: -1,
      messages: values.map((value, i) => ({ key: `k${i % 7}`, value })),
    });
    await producer.disconnect();

    const worker = await startTransform({
      name: 'transformtest',
      configSchema: schema,
      env: {},
      flags: {
        'kafka.brokers': brokers,
        'kafka.topics': [input],
        'kafka.groupId': group,
        'batch.maxEvents': 16,
        deadLetterTopic: dlq,
        'health.port': 0,
        'health.host': '127.0.0.1',
        outputTopic: output,
      },
      logger: createLogger('transformtest', { level: 'silent' }),
      createTransform: (config) => ({
        healthcheck: async () => undefined,
        close: async () => undefined,
        transform(event) {
          const text = event.value.toString();
          if (text === 'bad')
            throw new PermanentError('decoding: not a number', { errorType: 'codec' });
          if (text.startsWith('skip')) return discard('filtered-test');
          return [
            {
              topic: config.outputTopic,
              key: event.key,
              value: Buffer.from(text.toUpperCase()),
              headers: { from: event.offset },
            },
          ];
        },
      }),
    });
    running.push(worker);

    const out = await collect(output);
    const dead = await collect(dlq);
    await waitFor('outputs', () => out.records.length >= 179 && dead.records.length >= 1);
    expect(new Set(out.records.map((r) => r.value))).toEqual(
      new Set(values.filter((v) => v.startsWith('n')).map((v) => v.toUpperCase())),
    );
    // Same key → same output partition, in input order.
    for (const key of new Set(out.records.map((r) => r.key))) {
      const numbers = out.records.filter((r) => r.key === key).map((r) => Number(r.value.slice(1)));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    }
    expect(dead.records[0]).toMatchObject({
      value: 'bad',
      headers: { 'vigil-dlq-error-type': 'codec', 'vigil-dlq-stage': 'process' },
    });
    const metrics = await worker.telemetry.registry.metrics();
    expect(metrics).toContain(
      'component_discarded_events_total{intentional="true",reason="filtered-test",component="transformtest"} 20',
    );
    expect(metrics).toContain('component_sent_events_total{component="transformtest"} 179');
    await out.stop();
    await dead.stop();
  }, 120_000);
});

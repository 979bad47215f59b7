import { setTimeout as delay } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventCodec, type EventCodec } from '@vigil/pipeline/codec';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { startSink, type PipelineEvent } from '@vigil/pipeline/sink';
import { uniqueName, waitFor } from '@vigil/pipeline/testing';
import { processEvents, registerFamilies } from '@vigil/documents/testing';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { configSchema } from './config.js';
import { createSplunkSink } from './sink.js';
import { startHecReceiver } from './testkit/hec-receiver.js';

/** The "done when" for Splunk: the collector busy (503) for 30 s under load, nothing lost or doubled. */

let endpoints: StackEndpoints;
let kafka: Kafka;
let producer: Producer;
let codec: EventCodec;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  endpoints = await ensureStack();
  kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'splunk-sink-test' });
  producer = kafka.producer();
  await producer.connect();
  codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  await registerFamilies(codec);
}, 600_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await producer?.disconnect();
});

describe('splunk sink worker', () => {
  it.each([
    ['without acknowledgement', false],
    ['with indexer acknowledgement', true],
  ])(
    'stores every event exactly once when the collector answers 503 for 30 s under steady load (%s)',
    async (_, ack) => {
      const prefix = uniqueName('vs');
      const input = `${prefix}.in`;
      await ensureTopics(kafka, [
        { topic: input, numPartitions: 2, replicationFactor: 1, cleanupPolicy: 'delete' },
        { topic: `${prefix}.dlq`, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'delete' },
      ]);
      const receiver = await startHecReceiver({
        tokens: [{ token: 'secret-token', ack }],
        ackDelayMs: 100,
      });
      cleanups.push(() => receiver.close());
      const worker = await startSink({
        name: 'splunk',
        configSchema,
        env: {},
        flags: {
          'kafka.brokers': endpoints.kafkaBrokers,
          'kafka.topics': [input],
          'kafka.groupId': prefix,
          'kafka.sessionTimeoutMs': 10_000,
          'kafka.heartbeatIntervalMs': 1000,
          deadLetterTopic: `${prefix}.dlq`,
          registryUrl: endpoints.registryUrl,
          url: receiver.url,
          token: 'secret-token',
          'ack.enabled': ack,
          'ack.pollIntervalMs': 50,
          maxRequestBytes: 16_384,
          'retry.initialMs': 200,
          'retry.maxMs': 2000,
          'health.host': '127.0.0.1',
          'health.port': 0,
        },
        logger: createLogger('splunk', { level: 'silent' }),
        createSink: (config, deps) =>
          createSplunkSink(config, { logger: deps.logger, registry: deps.telemetry.registry }),
      });
      cleanups.push(() => worker.stop());

      const produced: PipelineEvent[] = [];
      let producing = true;
      const load = (async () => {
        let offset = 0;
        while (producing) {
          const events = processEvents(
            codec,
            20,
            1_790_000_000_000_000_000n + BigInt(offset),
            offset,
          );
          offset += events.length;
          await producer.send({
            topic: input,
            acks: -1,
            messages: events.map((e) => ({ key: e.key, value: e.value })),
          });
          produced.push(...events);
          await delay(250);
        }
      })();
      await waitFor('events flowing', () => receiver.events.length > 100, 60_000);
      receiver.busyFor(30_000);
      const busyFrom = receiver.events.length;
      await delay(30_000); // the outage itself is the subject of the test
      const busyAnswers = receiver.answers.get(9) ?? 0;
      expect(receiver.events.length - busyFrom).toBe(0);
      expect(busyAnswers).toBeGreaterThan(5);
      await delay(3000);
      producing = false;
      await load;
      await waitFor('every event', () => receiver.events.length >= produced.length, 120_000);
      await delay(500); // a straggling duplicate would arrive now
      const stored = receiver.events.map(
        (e) => (e.envelope.fields as Record<string, string>).event_id!,
      );
      expect(stored.length).toBe(produced.length);
      expect(new Set(stored).size).toBe(produced.length);
      expect([...stored].sort()).toEqual(produced.map((e) => e.key!.toString()).sort());
      console.log(
        `splunk (${ack ? 'acks' : 'no acks'}): 30 s of 503 (${busyAnswers} busy answers), ${produced.length} events, all stored once`,
      );
    },
    240_000,
  );
});

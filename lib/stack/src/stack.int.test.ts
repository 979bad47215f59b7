import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadStackConfig } from './config.js';
import { createStack, ensureStack, type StackEndpoints } from './stack.js';

// The first run downloads ~200 MB with Maven and boots three JVMs; later runs reuse the stack.
const BOOT_TIMEOUT_MS = 20 * 60_000;

const config = loadStackConfig();
let endpoints: StackEndpoints;

beforeAll(async () => {
  endpoints = await ensureStack(config);
}, BOOT_TIMEOUT_MS);

describe('local stack', () => {
  it('kafka: creates a topic, produces and consumes a message', async () => {
    const kafka = new Kafka({
      clientId: 'vigil-stack-int',
      brokers: endpoints.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const topic = `vigil-stack-int-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({
          topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
          waitForLeaders: true,
        }),
      ).toBe(true);
    } finally {
      await admin.disconnect();
    }

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'hello vigil' }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({
          eachMessage: ({ message }) => Promise.resolve(resolve(message.value?.toString() ?? '')),
        });
      });
      expect(await received).toBe('hello vigil');
    } finally {
      await consumer.disconnect();
    }
  }, 60_000);

  it('registry: registers a protobuf schema and reads it back', async () => {
    const list = await fetch(`${endpoints.registryUrl}/subjects`);
    expect(list.status).toBe(200);

    const subject = `vigil-stack-int-${randomUUID()}-value`;
    const schema =
      'syntax = "proto3";\npackage vigil.test.v1;\n\nmessage Ping {\n  string id = 1;\n}\n';
    const registered = await fetch(`${endpoints.registryUrl}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schemaType: 'PROTOBUF', schema }),
    });
    expect(registered.status).toBe(200);
    const { id } = (await registered.json()) as { id: number };
    expect(id).toBeGreaterThan(0);

    const latest = await fetch(`${endpoints.registryUrl}/subjects/${subject}/versions/latest`);
    expect(latest.status).toBe(200);
    const body = (await latest.json()) as { id: number; schemaType?: string; schema: string };
    expect(body.id).toBe(id);
    expect(body.schemaType).toBe('PROTOBUF');
    expect(body.schema).toContain('message Ping');

    const byId = await fetch(`${endpoints.registryUrl}/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
  }, 60_000);

  it('elasticsearch: reports a green or yellow cluster, or stays out when disabled', async () => {
    const status = await createStack(config).status();
    const elasticsearch = status.components.find((c) => c.name === 'elasticsearch');
    if (!config.elasticsearch.enabled) {
      // A run against a Kafka-only stack (for example the Kafka 3.9 compatibility run).
      expect(elasticsearch).toBeUndefined();
      return;
    }
    expect(elasticsearch?.state).toBe('healthy');
    const response = await fetch(`${endpoints.elasticsearchUrl}/_cluster/health`);
    expect(response.status).toBe(200);
    expect(['green', 'yellow']).toContain(((await response.json()) as { status: string }).status);
  }, 30_000);
});

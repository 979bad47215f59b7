import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventCodec, type EventCodec } from '@vigil/pipeline/codec';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { startSink, type PipelineEvent, type RunningWorker } from '@vigil/pipeline/sink';
import { uniqueName, waitFor } from '@vigil/pipeline/testing';
import { processEvents, registerFamilies } from '@vigil/documents/testing';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { configSchema } from './config.js';
import { createElasticsearchSink } from './sink.js';
import {
  createPrivateElasticsearch,
  type PrivateElasticsearch,
} from './testkit/private-elasticsearch.js';

/**
 * The "done when" checks, as a worker on the runtime with the real Kafka: Elasticsearch
 * down for 60 s under load, the worker killed with SIGKILL mid-bulk, a rejected document in the
 * dead-letter topic. Each counts distinct event ids in Elasticsearch against what was produced.
 */

let endpoints: StackEndpoints;
let kafka: Kafka;
let producer: Producer;
let codec: EventCodec;
let shared: Client;
const cleanups: Array<() => Promise<unknown>> = [];
const DAY = 1_790_000_000_000_000_000n;

beforeAll(async () => {
  endpoints = await ensureStack();
  kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'es-sink-test' });
  producer = kafka.producer();
  await producer.connect();
  codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  await registerFamilies(codec);
  shared = new Client({ node: endpoints.elasticsearchUrl });
}, 600_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await producer?.disconnect();
  await shared?.close();
});

async function topics(prefix: string) {
  const t = { input: `${prefix}.in`, dlq: `${prefix}.dlq` };
  await ensureTopics(kafka, [
    { topic: t.input, numPartitions: 2, replicationFactor: 1, cleanupPolicy: 'delete' },
    { topic: t.dlq, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'delete' },
  ]);
  return t;
}

async function produce(topic: string, events: readonly PipelineEvent[]) {
  await producer.send({
    topic,
    acks: -1,
    messages: events.map((e) => ({ key: e.key, value: e.value })),
  });
}

/**
 * Every `event.id` stored under `prefix`, duplicates included. A scroll reads one consistent
 * snapshot, so a worker still writing (or merging segments) cannot shift a page boundary and make
 * one document count twice or not at all; a real second copy (in any index) still counts twice.
 */
async function storedIds(client: Client, prefix: string): Promise<string[]> {
  await client.indices.refresh({ index: `${prefix}-*` }, { ignore: [404] });
  const ids: string[] = [];
  let page = await client.search<{ event: { id: string } }>(
    { index: `${prefix}-*`, size: 5000, scroll: '1m', sort: ['_doc'], _source: ['event.id'] },
    { ignore: [404] },
  );
  try {
    while ((page.hits?.hits ?? []).length > 0) {
      for (const hit of page.hits.hits) ids.push(hit._source!.event.id);
      page = await client.scroll<{ event: { id: string } }>({
        scroll_id: page._scroll_id!,
        scroll: '1m',
      });
    }
  } finally {
    if (page._scroll_id)
      await client.clearScroll({ scroll_id: page._scroll_id }).catch(() => undefined);
  }
  return ids;
}

async function count(client: Client, prefix: string): Promise<number> {
  try {
    await client.indices.refresh({ index: `${prefix}-*` }, { ignore: [404] });
    return (await client.count({ index: `${prefix}-*` }, { ignore: [404] })).count ?? 0;
  } catch {
    return -1; // the node is down
  }
}

function expectExactlyOnce(stored: readonly string[], produced: readonly PipelineEvent[]) {
  const expected = produced.map((e) => e.key!.toString()).sort();
  expect(stored.length, 'documents stored').toBe(expected.length);
  expect(new Set(stored).size, 'distinct event ids').toBe(expected.length);
  expect([...stored].sort()).toEqual(expected);
}

async function startWorker(flags: Record<string, unknown>): Promise<RunningWorker> {
  const worker = await startSink({
    name: 'elasticsearch',
    configSchema,
    env: {},
    flags: {
      'kafka.brokers': endpoints.kafkaBrokers,
      'kafka.sessionTimeoutMs': 10_000,
      'kafka.heartbeatIntervalMs': 1000,
      registryUrl: endpoints.registryUrl,
      url: endpoints.elasticsearchUrl,
      retentionDays: 0,
      'retry.initialMs': 200,
      'retry.maxMs': 2000,
      'health.host': '127.0.0.1',
      'health.port': 0,
      ...flags,
    },
    logger: createLogger('elasticsearch', { level: 'silent' }),
    createSink: (config, deps) =>
      createElasticsearchSink(config, { logger: deps.logger, registry: deps.telemetry.registry }),
  });
  cleanups.push(() => worker.stop());
  return worker;
}

describe('elasticsearch sink worker', () => {
  it('sends a document the mapping rejects to the dead-letter topic and indexes the rest of its batch', async () => {
    const prefix = uniqueName('vw');
    const t = await topics(prefix);
    cleanups.push(() => shared.indices.delete({ index: `${prefix}-*` }, { ignore: [404] }));
    cleanups.push(() =>
      shared.indices.deleteIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] }),
    );
    // A conflicting mapping for one day: the document of that day is refused (400), the others are not.
    await shared.indices.create({
      index: `${prefix}-process-2001.09.09`,
      mappings: { properties: { process: { properties: { pid: { type: 'ip' } } } } },
    });
    const good = processEvents(codec, 30, DAY);
    const [bad] = processEvents(codec, 1, 1_000_000_000_000_000_000n);
    const events = [...good.slice(0, 15), bad!, ...good.slice(15)];
    // One partition key for all, so they arrive in one batch.
    await producer.send({
      topic: t.input,
      acks: -1,
      messages: events.map((e) => ({ key: 'one', value: e.value })),
    });
    const worker = await startWorker({
      'kafka.topics': [t.input],
      'kafka.groupId': prefix,
      deadLetterTopic: t.dlq,
      indexPrefix: prefix,
    });

    const dead: Array<{ value: Buffer; headers: Record<string, string> }> = [];
    const consumer = kafka.consumer({ groupId: `${prefix}-dlq-reader` });
    cleanups.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic: t.dlq, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        dead.push({ value: message.value!, headers });
      },
    });
    // On a cold stack under load this once timed out; the message then says how far it got.
    await waitFor(
      'the dead letter',
      async () => dead.length >= 1 && (await count(shared, prefix)) >= 30,
      120_000,
    ).catch(async (error: Error) => {
      const metrics = await fetch(`http://127.0.0.1:${worker.port}/metrics`).then((r) => r.text());
      const lines = metrics
        .split('\n')
        .filter((l) => /^component_(errors|discarded|sent|received)/.test(l));
      throw new Error(
        `${error.message}: ${dead.length} dead letters, ${await count(shared, prefix)} documents; ${lines.join('; ')}`,
      );
    });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.value.equals(bad!.value)).toBe(true);
    expect(dead[0]!.headers['vigil-dlq-origin-topic']).toBe(t.input);
    expect(dead[0]!.headers['vigil-dlq-error-message']).toMatch(/document_parsing_exception/);
    const ids = await storedIds(shared, prefix);
    expectExactlyOnce(ids, good);
  }, 200_000);

  it('loses and duplicates nothing when killed with SIGKILL mid-bulk and restarted', async () => {
    const prefix = uniqueName('vk');
    const t = await topics(prefix);
    cleanups.push(() => shared.indices.delete({ index: `${prefix}-*` }, { ignore: [404] }));
    cleanups.push(() =>
      shared.indices.deleteIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] }),
    );
    const events = processEvents(codec, 20_000, DAY);
    for (let i = 0; i < events.length; i += 2000) await produce(t.input, events.slice(i, i + 2000));
    const dir = await mkdtemp(join(tmpdir(), 'vigil-es-kill-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'vigil.yaml');
    await writeFile(
      configFile,
      JSON.stringify({
        elasticsearch: {
          kafka: { brokers: endpoints.kafkaBrokers, topics: [t.input], groupId: prefix },
          batch: { maxEvents: 1000 },
          registryUrl: endpoints.registryUrl,
          url: endpoints.elasticsearchUrl,
          indexPrefix: prefix,
          deadLetterTopic: t.dlq,
          retentionDays: 0,
          health: { host: '127.0.0.1', port: 0 },
          logLevel: 'warn',
        },
      }),
    );
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const launch = (): ChildProcess => {
      const child = spawn(process.execPath, [main, '--config', configFile], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      cleanups.push(async () => child.kill('SIGKILL'));
      return child;
    };
    const first = launch();
    let atKill = 0;
    await waitFor(
      'the first documents',
      async () => (atKill = await count(shared, prefix)) >= 3000,
      120_000,
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(atKill).toBeLessThan(events.length); // killed mid-way
    launch();
    await waitFor(
      'every document',
      async () => (await count(shared, prefix)) >= events.length,
      180_000,
    );
    expectExactlyOnce(await storedIds(shared, prefix), events);
  }, 360_000);

  it('indexes every event exactly once when Elasticsearch is down for 60 s under steady load', async () => {
    const prefix = uniqueName('vo');
    const t = await topics(prefix);
    const home = await mkdtemp(join(tmpdir(), 'vigil-es-private-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const es: PrivateElasticsearch = await createPrivateElasticsearch(home);
    cleanups.push(() => es.stop());
    await es.start();
    const client = new Client({ node: es.url });
    cleanups.push(() => client.close());
    await startWorker({
      'kafka.topics': [t.input],
      'kafka.groupId': prefix,
      deadLetterTopic: t.dlq,
      indexPrefix: prefix,
      url: es.url,
      'batch.maxEvents': 200,
    });

    const produced: PipelineEvent[] = [];
    let producing = true;
    const load = (async () => {
      let offset = 0;
      while (producing) {
        const events = processEvents(codec, 20, DAY + BigInt(offset) * 1000n, offset); // 80 events/s
        offset += events.length;
        await produce(t.input, events);
        produced.push(...events);
        await delay(250);
      }
    })();
    await waitFor('indexing under load', async () => (await count(client, prefix)) > 200, 60_000);
    await es.stop();
    const stoppedAt = Date.now();
    const producedBefore = produced.length;
    await delay(60_000); // the outage itself: its length is the test's subject, not a readiness wait
    expect(await count(client, prefix)).toBe(-1);
    await es.start();
    const downMs = Date.now() - stoppedAt;
    await delay(5000); // five more seconds of load after the restart
    producing = false;
    await load;
    expect(produced.length - producedBefore).toBeGreaterThan(60 * 60); // the load went on meanwhile
    await waitFor(
      'every document',
      async () => (await count(client, prefix)) >= produced.length,
      180_000,
    );
    expectExactlyOnce(await storedIds(client, prefix), produced);
    console.log(
      `outage ${(downMs / 1000).toFixed(1)} s, ${produced.length} events produced, all indexed once`,
    );
  }, 600_000);
});

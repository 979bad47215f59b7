import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createKafka, ensureTopics, familyTopics } from '@vigil/pipeline/kafka';
import { uniqueName } from '@vigil/pipeline/testing';
import { FAMILIES } from '@vigil/schemas/families';
import { loadStackConfig, stackConfigSchema, type StackConfig } from '@vigil/stack/config';
import {
  createStack,
  endpointsOf,
  ensureStack,
  type Stack,
  type StackEndpoints,
} from '@vigil/stack/stack';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from './config.js';
import { createGateway } from './gateway.js';
import {
  connectStream,
  freePort,
  lengthPrefixed,
  metricValue,
  processDatagram,
  readTopics,
  until,
} from './testkit.js';

/**
 * Kafka SIGKILLed for 30 s under a steady stream. The shared local stack is in use by others, so
 * this test starts a private one (Kafka, and the registry that comes with it; no Elasticsearch)
 * on free ports in a temporary state directory, kills that Kafka, and stops it all at the end.
 */
const OUTAGE_MS = 30_000;

let shared: StackEndpoints;
let privateConfig: StackConfig;
let privateStack: Stack;

beforeAll(async () => {
  shared = await ensureStack(); // the schema registry the gateway registers with
  const base = loadStackConfig();
  privateConfig = stackConfigSchema.parse({
    cacheDir: base.cacheDir,
    stateDir: mkdtempSync(join(tmpdir(), 'vigil-gw-private-stack-')),
    kafka: { port: await freePort(), controllerPort: await freePort(), heapMb: 384 },
    registry: { port: await freePort(), managementPort: await freePort(), heapMb: 256 },
    elasticsearch: { enabled: false },
  });
  privateStack = createStack(privateConfig);
  await privateStack.up();
}, 600_000);

afterAll(async () => {
  await privateStack?.down();
}, 120_000);

describe('gateway with Kafka SIGKILLed', () => {
  it(`loses nothing when Kafka is killed for ${OUTAGE_MS / 1000} s during a steady stream`, async () => {
    const brokers = endpointsOf(privateConfig).kafkaBrokers;
    const prefix = `${uniqueName('gw-outage')}.`;
    const kafka = createKafka({ brokers, clientId: 'gateway-outage-test' });
    await ensureTopics(kafka, familyTopics(FAMILIES, { prefix, numPartitions: 2 }));
    const dir = mkdtempSync(join(tmpdir(), 'vigil-gw-outage-'));
    const gateway = createGateway(
      gatewayConfigSchema.parse({
        id: 'gw-outage',
        listen: [`unix:${dir}/g.sock`],
        kafka: { brokers, topicPrefix: prefix, requestTimeoutMs: 5000 },
        registry: { url: shared.registryUrl },
        spool: { dir: join(dir, 'spool'), fsync: 'interval' },
        http: { port: 0 },
        retry: { initialMs: 100, maxMs: 1000 },
        shutdownTimeoutMs: 5000,
      }),
      { logger: pino({ level: 'silent' }) },
    );
    await gateway.start();
    const metrics = async () => gateway.metrics.metrics();
    const client = await connectStream(`unix:${dir}/g.sock`);
    const ids: string[] = [];
    let sequence = 0;
    // A steady stream of about 200 events/s.
    const sender = setInterval(() => {
      for (let i = 0; i < 2; i++) {
        const d = processDatagram(++sequence, 'outage');
        ids.push(d.eventId);
        client.write(lengthPrefixed(d.bytes));
      }
    }, 10);
    try {
      await until(
        async () => metricValue(await metrics(), 'component_sent_events_total') > 200,
        30_000,
        'events flowing to kafka',
      );
      const pid = Number(
        readFileSync(join(privateConfig.stateDir, 'kafka', 'kafka.pid'), 'utf8').trim(),
      );
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      await until(
        async () => metricValue(await metrics(), 'gateway_kafka_up') === 0,
        30_000,
        'the gateway to notice',
      );
      const sentBefore = metricValue(await metrics(), 'component_sent_events_total');
      // The outage itself: a duration under test, not a wait for readiness.
      await delay(Math.max(0, OUTAGE_MS - (Date.now() - killedAt)));
      const during = await metrics();
      expect(metricValue(during, 'component_sent_events_total')).toBe(sentBefore);
      expect(metricValue(during, 'gateway_spool_backlog_bytes')).toBeGreaterThan(0);
      const healthz = await fetch(`${gateway.httpUrl}/healthz`);
      expect(healthz.status).toBe(200); // still taking events
      expect(await healthz.json()).toMatchObject({ status: 'ok', kafka: 'down' });

      await createStack(privateConfig).up(); // restarts the killed Kafka
      await until(
        async () => metricValue(await metrics(), 'gateway_kafka_up') === 1,
        120_000,
        'the gateway to send again',
      );
      await delay(2000); // keep streaming a little after the recovery
    } finally {
      clearInterval(sender);
    }
    client.end();
    const reader = await readTopics(
      kafka,
      [`${prefix}vigil.process.v1`],
      uniqueName('gw-outage-read'),
    );
    try {
      await until(
        () => reader.ids.size >= ids.length,
        120_000,
        `all ${ids.length} events in kafka`,
      ).catch((error: unknown) => {
        throw new Error(
          `${(error as Error).message}: ${ids.filter((id) => !reader.ids.has(id)).length} missing`,
        );
      });
      expect(ids.every((id) => reader.ids.has(id))).toBe(true);
      const text = await metrics();
      expect(metricValue(text, 'gateway_replayed_events_total')).toBeGreaterThan(
        (OUTAGE_MS / 1000) * 100,
      );
      expect(metricValue(text, 'component_discarded_events_total')).toBe(0);
      // Duplicates only within the in-flight window: a request Kafka may have taken before dying.
      const duplicates = reader.records.length - reader.ids.size;
      expect(duplicates).toBeLessThanOrEqual(5000);
      console.log(
        `outage test: ${ids.length} events sent, ${reader.ids.size} distinct in kafka, ${duplicates} duplicates`,
      );
    } finally {
      await reader.stop();
      await gateway.stop();
    }
  }, 600_000);
});

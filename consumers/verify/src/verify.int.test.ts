import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Long from 'long';
import { vigil } from '@vigil/schemas/gen';
import { createEventCodec, type EventCodec } from '@vigil/pipeline/codec';
import { createKafkajsClient } from '@vigil/pipeline/consume';
import { formatUuid, newEventId } from '@vigil/pipeline/events';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import {
  describeTransformConformance,
  pipelineEvent,
  sampleEvents,
  uniqueName,
  waitFor,
} from '@vigil/pipeline/testing';
import { startTransform, type RunningWorker } from '@vigil/pipeline/transform';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import type { Kafka } from 'kafkajs';
import { configSchema, verifiedTopicOf } from './config.js';
import { signedRecord } from './testkit.js';
import { QUARANTINE_REASON_HEADER, VERIFY_HEADER, type VerifyResult } from './verify.js';
import { createVerifyWorker } from './worker.js';

/** The verify worker against the real Kafka and registry. */

const KEY = Buffer.alloc(32, 0x5a);
const OLD_KEY = Buffer.alloc(32, 0x17);
let endpoints: StackEndpoints;
let kafka: Kafka;
let codec: EventCodec;
let keysDir: string;
const running: RunningWorker[] = [];
const PROCESS = 'vigil.process.v1.ProcessEvent' as const;
const WATERMARK = 'vigil.watermark.v1.WatermarkEvent' as const;

beforeAll(async () => {
  endpoints = await ensureStack();
  kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'verify-test' });
  codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  await codec.register([PROCESS, WATERMARK]);
  keysDir = await mkdtemp(join(tmpdir(), 'vigil-verify-keys-'));
  await writeFile(join(keysDir, 'site-2026.key'), KEY.toString('hex'));
  await writeFile(
    join(keysDir, 'site-2025.key'),
    `${OLD_KEY.toString('hex').slice(0, 30)}\n${OLD_KEY.toString('hex').slice(30)}\n`,
  );
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(running.map((w) => w.stop()));
});

function processStart(): vigil.process.v1.ProcessEvent {
  return sampleEvents()[0]!.message as vigil.process.v1.ProcessEvent;
}

function registration(watermarkId: Buffer) {
  return vigil.watermark.v1.WatermarkEvent.create({
    envelope: {
      eventId: newEventId(),
      sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_SIGNER,
      host: 'build01',
      producerId: 'sign/test',
      sequence: Long.fromNumber(1, true),
      timeUnixNano: Long.fromString('1790000000000000000', true),
    },
    registration: { watermarkId, package: 'openmpi', version: '4.1.6', builder: 'ci-job-88' },
  });
}

async function collect(topic: string) {
  const records: Array<{ value: Buffer; headers: Record<string, string> }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName('verify-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      records.push({ value: message.value!, headers });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

function topicsFor(prefix: string) {
  return {
    input: `${prefix}vigil.process.v1`,
    watermarks: `${prefix}vigil.watermark.v1`,
    quarantine: `${prefix}vigil.quarantine.v1`,
    dlq: `${prefix}vigil.dlq.verify.v1`,
  };
}

async function startVerify(t: ReturnType<typeof topicsFor>, group: string) {
  const worker = await startTransform({
    name: 'verify',
    configSchema,
    env: {},
    flags: {
      'kafka.brokers': endpoints.kafkaBrokers,
      'kafka.topics': [t.input],
      'kafka.groupId': group,
      registryUrl: endpoints.registryUrl,
      keysDir,
      watermarkTopic: t.watermarks,
      quarantineTopic: t.quarantine,
      deadLetterTopic: t.dlq,
      createTopics: true,
      'health.host': '127.0.0.1',
      'health.port': 0,
    },
    logger: createLogger('verify', { level: 'silent' }),
    createTransform: createVerifyWorker,
  });
  running.push(worker);
  return worker;
}

describe('verify worker', () => {
  it('passes valid events on byte for byte with signature and watermark status; quarantines forged, unknown-key, unsigned and replayed ones; dead-letters poison', async () => {
    const prefix = `${uniqueName('verify')}.`;
    const t = topicsFor(prefix);
    await ensureTopics(kafka, [
      { topic: t.input, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'delete' },
      { topic: t.watermarks, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'compact' },
    ]);

    const issued = newEventId();
    const start = processStart();
    const objects = start.start!.sharedObjects!;
    objects[1]!.watermark = { id: issued };
    objects.push({
      path: Buffer.from('/home/alice/bin/libmine.so'),
      watermark: { id: newEventId() },
    }); // never issued
    const valid = signedRecord(codec, PROCESS, start, 'site-2026', KEY);
    const rotated = signedRecord(codec, PROCESS, processStart(), 'site-2025', OLD_KEY);
    const forged = (() => {
      const message = processStart();
      signedRecord(codec, PROCESS, message, 'site-2026', KEY);
      message.start!.uid = 0; // tampered after signing
      return codec.encode(PROCESS, message);
    })();
    const unknownKey = signedRecord(codec, PROCESS, processStart(), 'elsewhere-1', KEY);
    const unsigned = (() => {
      const message = processStart();
      message.envelope!.signature = null;
      return codec.encode(PROCESS, message);
    })();
    const poison = Buffer.from([0x00, 0x00, 0x00]);

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: t.watermarks,
      acks: -1,
      messages: [
        {
          key: issued,
          value: signedRecord(codec, WATERMARK, registration(issued), 'site-2026', KEY),
        },
      ],
    });
    await producer.send({
      topic: t.input,
      acks: -1,
      messages: [valid, rotated, forged, unknownKey, unsigned, poison, valid /* replayed */].map(
        (value) => ({ key: 'node001/boot/4242', value }),
      ),
    });
    await producer.disconnect();

    const worker = await startVerify(t, uniqueName('verify-group')); // creates its output topics
    const verified = await collect(verifiedTopicOf(t.input));
    const quarantined = await collect(t.quarantine);
    const dead = await collect(t.dlq);
    await waitFor(
      'every outcome',
      () =>
        verified.records.length >= 2 && quarantined.records.length >= 4 && dead.records.length >= 1,
    );

    expect(verified.records[0]!.value.equals(valid)).toBe(true);
    const result = JSON.parse(verified.records[0]!.headers[VERIFY_HEADER]!) as VerifyResult;
    expect(result.signature).toBe('valid');
    expect(result.keyId).toBe('site-2026');
    expect(result.watermarks).toEqual([
      { path: '/lib/x86_64-linux-gnu/libc.so.6', status: 'unsigned' },
      {
        path: '/opt/site/openmpi/4.1.6/lib/libmpi.so.40',
        status: 'signed',
        id: formatUuid(issued),
        package: 'openmpi',
        version: '4.1.6',
        builder: 'ci-job-88',
      },
      { path: '/home/alice/bin/libmine.so', status: 'unknown', id: expect.any(String) },
    ]);
    expect(JSON.parse(verified.records[1]!.headers[VERIFY_HEADER]!)).toMatchObject({
      signature: 'valid',
      keyId: 'site-2025',
    });
    expect(quarantined.records.map((r) => r.headers[QUARANTINE_REASON_HEADER])).toEqual([
      'bad-signature',
      'unknown-key',
      'unsigned',
      'replayed',
    ]);
    expect(quarantined.records[3]!.headers['vigil-origin-offset']).toBe('6');
    expect(dead.records[0]!.headers['vigil-dlq-error-type']).toBe('codec');

    const metrics = await worker.telemetry.registry.metrics();
    expect(metrics).toContain(
      'verify_quarantined_events_total{reason="replayed",component="verify"} 1',
    );
    expect(metrics).toContain(
      'verify_watermark_records_total{result="added",component="verify"} 1',
    );
    await Promise.all([verified.stop(), quarantined.stop(), dead.stop()]);
  }, 180_000);
});

describe('verify transform conformance', () => {
  const prefix = `${uniqueName('verify-conf')}.`;
  describeTransformConformance({
    name: 'verify',
    async createTransform() {
      const t = topicsFor(prefix);
      const client = createKafkajsClient({
        brokers: endpoints.kafkaBrokers,
        clientId: 'verify-conformance',
      });
      await client.ensureTopics([
        { topic: t.watermarks, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'compact' },
      ]);
      const logger = createLogger('verify', { level: 'silent' });
      const { createTelemetry } = await import('@vigil/pipeline/metrics');
      const config = configSchema.parse({
        registryUrl: endpoints.registryUrl,
        keysDir,
        watermarkTopic: t.watermarks,
        quarantineTopic: t.quarantine,
        kafka: { brokers: endpoints.kafkaBrokers },
      });
      return createVerifyWorker(config, {
        logger,
        telemetry: createTelemetry('verify', logger),
        kafka: client,
      });
    },
    async events() {
      return [
        signedRecord(codec, PROCESS, processStart(), 'site-2026', KEY),
        signedRecord(codec, PROCESS, processStart(), 'nope', KEY),
      ].map((value) => pipelineEvent(value, { topic: `${prefix}vigil.process.v1` }));
    },
  });
});

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { vigil } from '@vigil/schemas/gen';
import { createEventCodec, decodeFrame, type EventCodec } from '@vigil/pipeline/codec';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { macInput } from '@vigil/pipeline/signature';
import { freePort, sampleEvents, uniqueName, waitFor } from '@vigil/pipeline/testing';
import { startTransform, type RunningWorker } from '@vigil/pipeline/transform';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { configSchema } from './config.js';
import { createEnrichWorker } from './worker.js';

/**
 * End to end with the real stack: a program run under the preload library → the gateway → Kafka →
 * verify (its own process) → enrich; forged, replayed and poison records on the way; and a verify
 * process killed with SIGKILL mid-stream and restarted without loss.
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const PRELOAD = join(repo, 'preload/build/libvigil-preload.so');
const GATEWAY = join(repo, 'producers/gateway/dist/main.js');
const VERIFY = join(repo, 'consumers/verify/dist/main.js');
const KEY = Buffer.alloc(32, 0x3c);
const PROCESS = 'vigil.process.v1.ProcessEvent';

let endpoints: StackEndpoints;
let kafka: Kafka;
let codec: EventCodec;
let dir: string;
const children: ChildProcess[] = [];
const workers: RunningWorker[] = [];

beforeAll(async () => {
  endpoints = await ensureStack();
  kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'e2e-test' });
  codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  await codec.register([PROCESS]);
  dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
  writeFileSync(join(dir, 'site-e2e.key'), `${KEY.toString('hex')}\n`);
}, 600_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.allSettled(workers.map((w) => w.stop()));
});

const healthy = (port: number) => async () =>
  (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200;

async function spawnVerify(prefix: string, group: string): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [VERIFY], {
    env: {
      PATH: process.env.PATH,
      VIGIL_VERIFY_KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      VIGIL_VERIFY_KAFKA_TOPICS: `${prefix}vigil.process.v1`,
      VIGIL_VERIFY_KAFKA_GROUP_ID: group,
      VIGIL_VERIFY_BATCH_MAX_EVENTS: '50',
      // A SIGKILLed member holds its partitions until its session times out: keep that short here.
      VIGIL_VERIFY_KAFKA_SESSION_TIMEOUT_MS: '6000',
      VIGIL_VERIFY_KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      VIGIL_VERIFY_REGISTRY_URL: endpoints.registryUrl,
      VIGIL_VERIFY_KEYS_DIR: dir,
      VIGIL_VERIFY_WATERMARK_TOPIC: `${prefix}vigil.watermark.v1`,
      VIGIL_VERIFY_QUARANTINE_TOPIC: `${prefix}vigil.quarantine.v1`,
      VIGIL_VERIFY_DEAD_LETTER_TOPIC: `${prefix}vigil.dlq.verify.v1`,
      VIGIL_VERIFY_CREATE_TOPICS: 'true',
      VIGIL_VERIFY_HEALTH_HOST: '127.0.0.1',
      VIGIL_VERIFY_HEALTH_PORT: String(port),
      VIGIL_VERIFY_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await waitFor('verify healthy', healthy(port), 60_000);
  return child;
}

async function startEnrich(prefix: string) {
  const testdata = (name: string) => fileURLToPath(new URL(`../testdata/${name}`, import.meta.url));
  const worker = await startTransform({
    name: 'enrich',
    configSchema,
    env: {},
    flags: {
      'kafka.brokers': endpoints.kafkaBrokers,
      'kafka.topics': [`${prefix}vigil.process.verified.v1`],
      'kafka.groupId': uniqueName('e2e-enrich'),
      registryUrl: endpoints.registryUrl,
      outputTopic: `${prefix}vigil.process.enriched.v1`,
      deadLetterTopic: `${prefix}vigil.dlq.enrich.v1`,
      passwdFile: testdata('passwd'),
      groupFile: testdata('group'),
      createTopics: true,
      'health.host': '127.0.0.1',
      'health.port': 0,
    },
    logger: createLogger('enrich', { level: 'silent' }),
    createTransform: createEnrichWorker,
  });
  workers.push(worker);
  return worker;
}

async function collect(topic: string) {
  const records: Array<{ key: string; value: Buffer; headers: Record<string, string> }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName('e2e-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      records.push({ key: message.key?.toString('hex') ?? '', value: message.value!, headers });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

/** Signs a process event as the preload library does (FORMAT.md) and frames it. */
function signed(message: vigil.process.v1.ProcessEvent, keyId = 'site-e2e', key = KEY): Buffer {
  const envelope = message.envelope!;
  const payload = vigil.process.v1.ProcessEvent.encode(message).finish();
  const input = macInput(
    {
      eventId: envelope.eventId!,
      sourceKind: envelope.sourceKind ?? 0,
      host: envelope.host ?? '',
      producerId: envelope.producerId ?? '',
      sequence: envelope.sequence ?? 0,
      timeUnixNano: envelope.timeUnixNano ?? 0,
    },
    payload,
  );
  envelope.signature = { keyId, hmacSha256: createHmac('sha256', key).update(input).digest() };
  return codec.encode(PROCESS, message);
}

async function produce(topic: string, values: Buffer[], key = 'node/boot/1') {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key, value })) });
  await producer.disconnect();
}

const ecs = (record: { value: Buffer }) =>
  JSON.parse(record.value.toString()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('end to end: preload → gateway → Kafka → verify → enrich', () => {
  it('enriches a real program run; quarantines forged and replayed events; dead-letters poison and moves on', async () => {
    expect(existsSync(PRELOAD), `${PRELOAD} (npm run build -w @vigil/preload)`).toBe(true);
    const prefix = `${uniqueName('e2e')}.`;
    await ensureTopics(kafka, [
      {
        topic: `${prefix}vigil.process.v1`,
        numPartitions: 1,
        replicationFactor: 1,
        cleanupPolicy: 'delete',
      },
      {
        topic: `${prefix}vigil.watermark.v1`,
        numPartitions: 1,
        replicationFactor: 1,
        cleanupPolicy: 'compact',
      },
    ]);
    const gatewayPort = await freePort();
    const socket = join(dir, `${prefix}g.dgram`);
    const gateway = spawn(process.execPath, [GATEWAY], {
      env: {
        PATH: process.env.PATH,
        VIGIL_GATEWAY_LISTEN: `unixgram:${socket}`,
        VIGIL_GATEWAY_KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
        VIGIL_GATEWAY_KAFKA_TOPIC_PREFIX: prefix,
        VIGIL_GATEWAY_REGISTRY_URL: endpoints.registryUrl,
        VIGIL_GATEWAY_SPOOL_DIR: join(dir, `${prefix}spool`),
        VIGIL_GATEWAY_HTTP_PORT: String(gatewayPort),
        VIGIL_GATEWAY_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(gateway);
    await waitFor('gateway healthy', healthy(gatewayPort), 60_000);
    await spawnVerify(prefix, uniqueName('e2e-verify'));
    await startEnrich(prefix);
    const raw = await collect(`${prefix}vigil.process.v1`);
    const enriched = await collect(`${prefix}vigil.process.enriched.v1`);
    const quarantine = await collect(`${prefix}vigil.quarantine.v1`);
    const dlq = await collect(`${prefix}vigil.dlq.verify.v1`);

    // A real program under the preload library, inside a "job" with modules loaded.
    const verified = await collect(`${prefix}vigil.process.verified.v1`);
    const run = spawnSync('/bin/false', [], {
      env: {
        PATH: '/usr/bin:/bin',
        LD_PRELOAD: PRELOAD,
        VIGIL_ACTIVE: '1',
        VIGIL_DEBUG: '1',
        VIGIL_COLLECTOR: `unix:${socket}`,
        VIGIL_KEY_ID: 'site-e2e',
        VIGIL_KEY_FILE: join(dir, 'site-e2e.key'),
        SLURM_JOB_ID: '424242',
        SLURM_STEP_ID: '3',
        LOADEDMODULES: 'gcc/12.2.0:openmpi/4.1.6',
        _LMFILES_: '/etc/modulefiles/gcc/12.2.0:/etc/modulefiles/openmpi/4.1.6',
      },
    });
    expect(run.status, run.stderr.toString()).toBe(1);
    await waitFor('start and end enriched', () => enriched.records.length >= 2).catch(
      (error: unknown) => {
        throw new Error(
          `${String(error)}: raw ${raw.records.length}, verified ${verified.records.length}, quarantined ${JSON.stringify(quarantine.records.map((r) => r.headers))}, dead ${dlq.records.length}; preload said: ${run.stderr.toString()}`,
        );
      },
    );
    const start = ecs(enriched.records.find((r) => ecs(r).event.type[0] === 'start')!);
    const end = ecs(enriched.records.find((r) => ecs(r).event.type[0] === 'end')!);
    expect(start).toMatchObject({
      process: { executable: expect.stringMatching(/\/false$/), args: ['/bin/false'] },
      user: { id: String(process.getuid!()), name: 'root' },
      vigil: {
        job: { scheduler: 'slurm', id: '424242', step: '3' },
        modules: [
          { name: 'gcc', version: '12.2.0' },
          { name: 'openmpi', version: '4.1.6' },
        ],
        classification: 'system',
        signature: { status: 'valid', key_id: 'site-e2e' },
      },
    });
    expect(start.vigil.watermarks.length).toBeGreaterThan(0);
    expect(end).toMatchObject({
      process: { entity_id: start.process.entity_id, exit_code: 1 },
      user: { name: 'root' },
    });
    expect(end.vigil.join.status).toBe('joined'); // same key → same partition → start before end

    // Forged (tampered after signing), replayed (the gateway's record again), poison, then a valid one.
    const original = raw.records[0]!.value;
    const tampered = (await codec.decode<vigil.process.v1.ProcessEvent>(original)).message;
    tampered.start!.uid = 12345;
    const forged = codec.encode(PROCESS, tampered);
    expect(
      Buffer.from(decodeFrame(forged).payload).equals(Buffer.from(decodeFrame(original).payload)),
    ).toBe(false);
    const after = signed(sampleEvents()[0]!.message as vigil.process.v1.ProcessEvent);
    await produce(`${prefix}vigil.process.v1`, [
      forged,
      original,
      Buffer.from('not a vigil record'),
      after,
    ]);
    await waitFor(
      'quarantine and dead letter',
      () => quarantine.records.length >= 2 && dlq.records.length >= 1,
    );
    expect(quarantine.records.map((r) => r.headers['vigil-quarantine-reason'])).toEqual([
      'bad-signature',
      'replayed',
    ]);
    expect(dlq.records[0]!.headers['vigil-dlq-error-type']).toBe('codec');
    await waitFor('the record after the poison enriched', () => enriched.records.length >= 3);
    expect(ecs(enriched.records[2]!)).toMatchObject({
      user: { name: 'alice' },
      vigil: { classification: 'site', job: { id: '123456' } },
    });
    await Promise.all([
      raw.stop(),
      verified.stop(),
      enriched.stop(),
      quarantine.stop(),
      dlq.stop(),
    ]);
    gateway.kill('SIGTERM');
  }, 240_000);

  it('loses nothing when verify is killed with SIGKILL mid-stream and restarted (distinct event ids)', async () => {
    const prefix = `${uniqueName('e2e-kill')}.`;
    await ensureTopics(kafka, [
      {
        topic: `${prefix}vigil.process.v1`,
        numPartitions: 3,
        replicationFactor: 1,
        cleanupPolicy: 'delete',
      },
      {
        topic: `${prefix}vigil.watermark.v1`,
        numPartitions: 1,
        replicationFactor: 1,
        cleanupPolicy: 'compact',
      },
    ]);
    const N = 3000;
    const values: Buffer[] = [];
    for (let i = 0; i < N; i++)
      values.push(signed(sampleEvents()[0]!.message as vigil.process.v1.ProcessEvent));
    for (let i = 0; i < N; i += 500)
      await produce(`${prefix}vigil.process.v1`, values.slice(i, i + 500), `k${i}`);

    const group = uniqueName('e2e-kill-verify');
    const first = await spawnVerify(prefix, group);
    const verified = await collect(`${prefix}vigil.process.verified.v1`);
    await waitFor('some verified', () => verified.records.length >= 200);
    first.kill('SIGKILL');
    const atKill = verified.records.length;
    expect(atKill).toBeLessThan(N); // killed mid-stream
    const second = await spawnVerify(prefix, group);
    await waitFor(
      `${N} distinct events verified`,
      async () =>
        new Set(await Promise.all(verified.records.map(async (r) => eventIdOf(r.value)))).size >= N,
      120_000,
    );
    const distinct = new Set(await Promise.all(verified.records.map((r) => eventIdOf(r.value))));
    expect(distinct.size).toBe(N);
    await verified.stop();

    // SIGTERM drains and exits 0 promptly (nothing left holding the event loop).
    const exited = new Promise<number | null>((resolve) =>
      second.on('exit', (code) => resolve(code)),
    );
    const stopping = Date.now();
    second.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(15_000);
  }, 240_000);
});

async function eventIdOf(value: Buffer): Promise<string> {
  const decoded = await codec.decode<vigil.process.v1.ProcessEvent>(value);
  return Buffer.from(decoded.message.envelope!.eventId!).toString('hex');
}

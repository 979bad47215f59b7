import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vigil } from '@vigil/schemas/gen';
import { createEventCodec } from '@vigil/pipeline/codec';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { macInput } from '@vigil/pipeline/signature';
import { sampleEvents, uniqueName } from '@vigil/pipeline/testing';
import { ensureStack } from '@vigil/stack/stack';

/**
 * Events per second through verify + enrich, both worker processes pinned to ONE core
 * (`taskset -c 0`), over the real Kafka; compared, in the same run, with a bare kafkajs consumer on
 * the same core reading the same records (the floor any worker pays for consuming).
 *   npm run bench -w @vigil/enrich      (VIGIL_BENCH_EVENTS, default 20000)
 */

const N = Number(process.env.VIGIL_BENCH_EVENTS ?? 20_000);
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const KEY = Buffer.alloc(32, 0x42);

if (process.argv[2] === 'bare-read') {
  // Child mode: read N records of a topic, print the seconds it took from the first fetch on.
  const [topic, brokers] = [process.argv[3]!, process.argv[4]!.split(',')];
  const kafka = createKafka({ brokers, clientId: 'bench-bare' });
  const consumer = kafka.consumer({ groupId: uniqueName('bench-bare') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let started = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        started ||= performance.now();
        count += batch.messages.length;
        if (count >= N) resolve();
      },
    });
  });
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
  await consumer.disconnect();
  process.exit(0);
}

const endpoints = await ensureStack();
const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'bench' });
const codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
await codec.register(['vigil.process.v1.ProcessEvent']);
const prefix = `${uniqueName('bench')}.`;
const raw = `${prefix}vigil.process.v1`;
const enriched = `${prefix}vigil.process.enriched.v1`;
await ensureTopics(kafka, [
  { topic: raw, numPartitions: 3, replicationFactor: 1, cleanupPolicy: 'delete' },
  {
    topic: `${prefix}vigil.watermark.v1`,
    numPartitions: 1,
    replicationFactor: 1,
    cleanupPolicy: 'compact',
  },
]);
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
writeFileSync(join(dir, 'bench.key'), KEY.toString('hex'));

const values: Buffer[] = [];
for (let i = 0; i < N; i++) {
  const message = sampleEvents()[0]!.message as vigil.process.v1.ProcessEvent;
  const e = message.envelope!;
  const input = macInput(
    {
      eventId: e.eventId!,
      sourceKind: e.sourceKind ?? 0,
      host: e.host ?? '',
      producerId: e.producerId ?? '',
      sequence: e.sequence ?? 0,
      timeUnixNano: e.timeUnixNano ?? 0,
    },
    vigil.process.v1.ProcessEvent.encode(message).finish(),
  );
  e.signature = { keyId: 'bench', hmacSha256: createHmac('sha256', KEY).update(input).digest() };
  values.push(codec.encode('vigil.process.v1.ProcessEvent', message));
}

const producer = kafka.producer();
await producer.connect();
const t0 = performance.now();
for (let i = 0; i < N; i += 1000) {
  await producer.send({
    topic: raw,
    acks: -1,
    messages: values.slice(i, i + 1000).map((value, j) => ({ key: `node${(i + j) % 64}`, value })),
  });
}
const producedSeconds = (performance.now() - t0) / 1000;
await producer.disconnect();

const common = (name: string, port: number) => ({
  PATH: process.env.PATH,
  [`VIGIL_${name}_KAFKA_BROKERS`]: endpoints.kafkaBrokers.join(','),
  [`VIGIL_${name}_REGISTRY_URL`]: endpoints.registryUrl,
  [`VIGIL_${name}_CREATE_TOPICS`]: 'true',
  [`VIGIL_${name}_HEALTH_HOST`]: '127.0.0.1',
  [`VIGIL_${name}_HEALTH_PORT`]: String(port),
  [`VIGIL_${name}_LOG_LEVEL`]: 'error',
  [`VIGIL_${name}_KAFKA_GROUP_ID`]: uniqueName(`bench-${name.toLowerCase()}`),
});
// VIGIL_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles both workers.
const nodeArgs = process.env.VIGIL_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const pinned = (main: string, env: NodeJS.ProcessEnv): ChildProcess =>
  spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs, main], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
const children = [
  pinned(join(repo, 'consumers/verify/dist/main.js'), {
    ...common('VERIFY', 19471),
    VIGIL_VERIFY_KAFKA_TOPICS: raw,
    VIGIL_VERIFY_KEYS_DIR: dir,
    VIGIL_VERIFY_WATERMARK_TOPIC: `${prefix}vigil.watermark.v1`,
    VIGIL_VERIFY_QUARANTINE_TOPIC: `${prefix}vigil.quarantine.v1`,
    VIGIL_VERIFY_DEAD_LETTER_TOPIC: `${prefix}vigil.dlq.verify.v1`,
  }),
  pinned(join(repo, 'consumers/enrich/dist/main.js'), {
    ...common('ENRICH', 19472),
    VIGIL_ENRICH_KAFKA_TOPICS: `${prefix}vigil.process.verified.v1`,
    VIGIL_ENRICH_OUTPUT_TOPIC: enriched,
    VIGIL_ENRICH_DEAD_LETTER_TOPIC: `${prefix}vigil.dlq.enrich.v1`,
  }),
];
try {
  const admin = kafka.admin();
  await admin.connect();
  let first = 0;
  for (;;) {
    const offsets = await admin.fetchTopicOffsets(enriched).catch(() => []);
    const done = offsets.reduce((sum, o) => sum + Number(o.high), 0);
    if (done > 0 && first === 0) first = performance.now();
    if (done >= N) break;
    if (children.some((child) => child.exitCode !== null))
      throw new Error('a worker exited during the run');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Steady state: from the first enriched record to the last (worker start-up excluded).
  const pipelineSeconds = (performance.now() - first) / 1000;
  await admin.disconnect();

  const bare = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      fileURLToPath(import.meta.url),
      'bare-read',
      raw,
      endpoints.kafkaBrokers.join(','),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  bare.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => bare.on('exit', resolve));
  const bareSeconds = (JSON.parse(out) as { seconds: number }).seconds;

  const rate = (seconds: number) => Math.round(N / seconds);
  console.log(
    `events: ${N} (${values[0]!.length} bytes each), produced beforehand in ${producedSeconds.toFixed(2)} s`,
  );
  console.log(
    `verify + enrich, both pinned to core 0 (first to last output): ${pipelineSeconds.toFixed(2)} s, ${rate(pipelineSeconds)} events/s`,
  );
  console.log(
    `bare kafkajs read, pinned to core 0:    ${bareSeconds.toFixed(2)} s, ${rate(bareSeconds)} events/s`,
  );
  console.log(
    `ratio (verify+enrich time / bare read time): ${(pipelineSeconds / bareSeconds).toFixed(1)}x`,
  );
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode === null ? child.on('exit', resolve) : resolve(undefined),
        ),
    ),
  );
}

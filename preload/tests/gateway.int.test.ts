import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayConfigSchema } from '@vigil/gateway/config';
import { createGateway, type Gateway } from '@vigil/gateway/gateway';
import { decodeFrame } from '@vigil/pipeline/codec';
import { formatUuid } from '@vigil/pipeline/events';
import { createKafka, ensureTopics, familyTopics } from '@vigil/pipeline/kafka';
import { macMatches } from '@vigil/pipeline/signature';
import { uniqueName } from '@vigil/pipeline/testing';
import { familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The whole path of issue 3: programs run with the real library (build/libvigil-preload.so, built by
// `make` before vitest runs), send to a real gateway over UDP and a unix datagram socket, and the
// records come out of the real Kafka framed for the registry, decoding with the schemas, with the
// values the programs had and a signature that verifies with the site key.

const lib = fileURLToPath(new URL('../build/libvigil-preload.so', import.meta.url));
// tests/prog.c ("exit N" calls exit(N); dash's `exit` would _exit, which has no end record).
const prog = fileURLToPath(new URL('../build/prog', import.meta.url));
const key = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
const processTopic = familyByName('process').topic;

interface Received {
  kafkaKey: string;
  headers: Record<string, string>;
  schemaId: number;
  messageIndexes: number[];
  record: Uint8Array;
  event: vigil.process.v1.ProcessEvent;
}

let stack: StackEndpoints;
let gateway: Gateway | undefined;
let consumer: ReturnType<ReturnType<typeof createKafka>['consumer']> | undefined;

beforeAll(async () => {
  stack = await ensureStack();
}, 600_000);

afterAll(async () => {
  await consumer?.disconnect();
  await gateway?.stop();
});

/** Runs argv under the library, sending to collector; returns the child's pid and exit status. */
function runTracked(argv: string[], collector: string, keyFile: string) {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    env: {
      PATH: '/usr/bin:/bin',
      LD_PRELOAD: lib,
      VIGIL_ACTIVE: '1',
      VIGIL_COLLECTOR: collector,
      VIGIL_KEY_ID: 'e2e-key',
      VIGIL_KEY_FILE: keyFile,
      VIGIL_CONFIG: '/nonexistent', // only the environment counts
      SLURM_JOB_ID: '4711',
      MY_API_TOKEN: 'not-for-kafka',
    },
    cwd: tmpdir(),
    encoding: 'buffer',
  });
  expect(r.stderr.toString()).toBe(''); // the library prints nothing
  return { pid: r.pid!, status: r.status };
}

async function until(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('preload → gateway → Kafka', () => {
  it('start and end records of real programs arrive decoded, right and signed', async () => {
    expect(existsSync(lib) && existsSync(prog), 'run make test first').toBe(true);
    const prefix = `${uniqueName('preload')}.`;
    const topic = `${prefix}${processTopic}`;
    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'preload-e2e' });
    await ensureTopics(kafka, familyTopics([familyByName('process')], { prefix, numPartitions: 1 }));

    const dir = mkdtempSync(join(tmpdir(), 'vigil-preload-e2e-'));
    const keyFile = join(dir, 'site.key');
    writeFileSync(keyFile, `${Buffer.from(key).toString('hex')}\n`);
    gateway = createGateway(
      gatewayConfigSchema.parse({
        id: 'gw-preload-e2e',
        listen: ['udp:127.0.0.1:0', `unixgram:${dir}/gateway.dgram`],
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
        registry: { url: stack.registryUrl },
        spool: { dir: join(dir, 'spool'), fsync: 'never' },
        http: { port: 0 },
        batch: { lingerMs: 2 },
        logLevel: 'error',
      }),
    );
    await gateway.start();
    const [udp] = gateway.addresses;
    const port = Number(udp!.split(':').pop());

    const received: Received[] = [];
    consumer = kafka.consumer({ groupId: uniqueName('preload-e2e'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const frame = decodeFrame(message.value!);
        received.push({
          kafkaKey: message.key?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          schemaId: frame.schemaId,
          messageIndexes: [...frame.messageIndexes],
          record: frame.payload,
          event: vigil.process.v1.ProcessEvent.decode(frame.payload),
        });
      },
    });

    const viaUdp = runTracked([prog, 'exit', '3', 'w\u00e4rld'], `udp://127.0.0.1:${port}`, keyFile);
    const viaUnix = runTracked(['/bin/true', ''], `unix:${dir}/gateway.dgram`, keyFile);
    expect([viaUdp.status, viaUnix.status]).toEqual([3, 0]);

    const ofPid = (pid: number) => received.filter((r) => (r.event.start ?? r.event.end)?.pid === pid);
    await until(
      () => ofPid(viaUdp.pid).length >= 2 && ofPid(viaUnix.pid).length >= 2,
      60_000,
      'two records of each program in Kafka',
    ).catch(async (error: unknown) => {
      const metrics = (await gateway!.metrics.metrics())
        .split('\n')
        .filter((l) => /^component_(received|sent|discarded)|^gateway_kafka_up|^component_errors/.test(l));
      throw new Error(`${String(error)}; ${received.length} records read; gateway: ${metrics.join('; ')}`);
    });

    for (const [run, argv, status] of [
      [viaUdp, [prog, 'exit', '3', 'w\u00e4rld'], 3],
      [viaUnix, ['/bin/true', ''], 0],
    ] as const) {
      const records = ofPid(run.pid);
      const start = records.find((r) => r.event.body === 'start')!;
      const end = records.find((r) => r.event.body === 'end')!;
      expect(start, 'start record').toBeDefined();
      expect(end, 'end record').toBeDefined();
      for (const r of [start, end]) {
        const env = r.event.envelope!;
        // Framed for the registry (Confluent header, first message of the file), value unchanged.
        expect(r.schemaId).toBeGreaterThan(0);
        expect(r.messageIndexes).toEqual([0]);
        expect(env.sourceKind).toBe(vigil.envelope.v1.SourceKind.SOURCE_KIND_PRELOAD);
        expect(env.signature?.keyId).toBe('e2e-key');
        expect(macMatches(key, env, r.record, env.signature!.hmacSha256)).toBe(true);
        // A wrong key must not verify (the check above is not vacuous).
        expect(macMatches(new Uint8Array(32), env, r.record, env.signature!.hmacSha256)).toBe(false);
        expect(env.producerId).toMatch(new RegExp(`^preload/[0-9a-f-]{36}/${run.pid}$`));
        expect(r.kafkaKey).toBe(`${env.host}/${env.producerId}`);
        expect(r.headers.gateway_id).toBe('gw-preload-e2e');
      }
      expect(BigInt(start.event.envelope!.sequence.toString())).toBe(1n);
      expect(BigInt(end.event.envelope!.sequence.toString())).toBe(2n);

      const s = start.event.start!;
      expect(s.argv.map((a) => Buffer.from(a).toString())).toEqual(argv);
      expect(Buffer.from(s.workingDirectory).toString()).toBe(tmpdir());
      expect(s.uid).toBe(process.getuid!());
      expect(s.ppid).toBe(process.pid);
      expect(s.job).toMatchObject({ scheduler: 'slurm', id: '4711' });
      expect(s.bootId).toHaveLength(16);
      expect(Buffer.from(s.executable).toString()).toBe(run === viaUdp ? prog : '/usr/bin/true');
      const paths = s.sharedObjects.map((o) => Buffer.from(o.path).toString());
      expect(paths).toContain(lib);
      expect(paths.some((p) => /libc\.so\.6$/.test(p))).toBe(true);
      // The default environment selection: LD_PRELOAD and PATH, not the token, not the job id.
      const names = s.environment.map((e) => Buffer.from(e.name).toString());
      expect(names).toEqual(expect.arrayContaining(['PATH', 'LD_PRELOAD']));
      expect(names).not.toContain('MY_API_TOKEN');

      const e = end.event.end!;
      expect(e.exitStatus).toBe(status);
      expect(formatUuid(e.startEventId)).toBe(formatUuid(start.event.envelope!.eventId));
      expect(BigInt(e.durationNs.toString())).toBeGreaterThan(0n);
    }
  }, 120_000);
});

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Kafka } from 'kafkajs';
import { createEventCodec, decodeFrame, type EventCodec } from '@vigil/pipeline/codec';
import { formatUuid } from '@vigil/pipeline/events';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { macMatches } from '@vigil/pipeline/signature';
import { freePort, uniqueName, waitFor } from '@vigil/pipeline/testing';
import { vigil } from '@vigil/schemas/gen';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { readElfNotesOfFile } from './elf-notes.js';
import {
  createWatermarkPublisher,
  prepareRegistration,
  WATERMARK_EVENT,
  WatermarkError,
  type RegistrationResult,
} from './registration.js';
import {
  expectedOfWatermarkFile,
  runSignLink,
  runSignObject,
  runSignRegister,
  type SignRunOptions,
} from './run.js';
import { buildSignedBinaries } from './testing/signed-binaries.js';

/**
 * `vigil sign` against the real Kafka and registry: a C program and a shared library (with two
 * PT_NOTE segments) linked through `link`, one program through `object` + `register`; the topic
 * read back and every field checked; the registrations checked by the real verify worker (its own
 * process, its own key ring), which must count them as added and a forged one as rejected.
 */

const KEY = Buffer.alloc(32, 0x3c);
const KEY_ID = 'site-test';
const require = createRequire(import.meta.url);
let sign = '';
const verifyMain = join(dirname(require.resolve('@vigil/verify/package.json')), 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vigil-sign-int-'));

let endpoints: StackEndpoints;
let kafka: Kafka;
let codec: EventCodec;
let topic: string;
let options: SignRunOptions;
const printed: string[] = [];
let verifyWorker: ChildProcess | undefined;

beforeAll(async () => {
  endpoints = await ensureStack();
  kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'signer-test' });
  codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  await codec.register([WATERMARK_EVENT]);
  topic = uniqueName('vigil.watermark.v1-signer');
  writeFileSync(
    join(dir, `${KEY_ID}.key`),
    `${KEY.toString('hex').slice(0, 20)}\n${KEY.toString('hex').slice(20)}\n`,
  );
  options = {
    env: {},
    flags: {
      'kafka.brokers': endpoints.kafkaBrokers,
      registryUrl: endpoints.registryUrl,
      topic,
      keyId: KEY_ID,
      keyFile: join(dir, `${KEY_ID}.key`),
    },
    print: (line) => printed.push(line),
    warn: () => undefined,
  };
  writeFileSync(
    join(dir, 'hello.c'),
    '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
  );
  writeFileSync(join(dir, 'lib.c'), 'int answer(void) { return 42; }\n');
  sign = buildSignedBinaries(join(dir, 'build'));
}, 600_000);

afterAll(() => {
  verifyWorker?.kill('SIGTERM');
});

function readelf(flags: string, path: string): string {
  return execFileSync('readelf', [flags, '-W', path], { encoding: 'utf8' });
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function readTopic(count: number) {
  const records: Array<{ key: Buffer; value: Buffer }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName('signer-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({ key: message.key!, value: message.value! });
    },
  });
  try {
    await waitFor(`${count} records on ${topic}`, () => records.length >= count, 60_000);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

const linked: Array<{ path: string; result: RegistrationResult; builder: string }> = [];

describe('vigil sign, end to end', () => {
  it('link: a C program and a shared library (two note segments), registered', async () => {
    const prog = join(dir, 'hello');
    const lib = join(dir, 'libanswer.so');
    printed.length = 0;
    expect(
      await runSignLink({
        ...options,
        object: { package: 'hello', version: '1.0', builder: 'ci-1' },
        linker: ['gcc', '-o', prog, join(dir, 'hello.c')],
      }),
    ).toBe(0);
    expect(
      await runSignLink({
        ...options,
        object: { package: 'answer', version: '2.1', builder: 'ci-2', align: 8 },
        linker: ['gcc', '-shared', '-fPIC', `-o${lib}`, join(dir, 'lib.c')],
      }),
    ).toBe(0);
    expect(printed).toHaveLength(2);
    linked.push({ path: prog, result: JSON.parse(printed[0]!), builder: 'ci-1' });
    linked.push({ path: lib, result: JSON.parse(printed[1]!), builder: 'ci-2' });

    expect(execFileSync(prog, { encoding: 'utf8' })).toBe('hello\n');
    for (const path of [prog, lib]) expect(readelf('-lW', path)).toMatch(/GNU_STACK.* RW /);
    expect(readelf('-lW', lib).match(/^\s+NOTE\s/gm)).toHaveLength(2);
    const libNotes = await readElfNotesOfFile(lib);
    expect(libNotes.notes.find((n) => n.owner === 'Vigil')?.segment).toBe(0);
  }, 60_000);

  it('object + register: the JSON line of `object` is what `register` checks against', async () => {
    const object = join(dir, 'wm.o');
    printed.length = 0;
    expect(
      await runSignObject({
        ...options,
        object: { package: 'hello', version: '3.0', builder: 'ci-3', out: object },
      }),
    ).toBe(0);
    writeFileSync(join(dir, 'wm.json'), printed[0]!);
    const prog = join(dir, 'hello-obj');
    execFileSync('gcc', ['-o', prog, join(dir, 'hello.c'), object]);
    printed.length = 0;
    const [result] = await runSignRegister({
      ...options,
      expected: await expectedOfWatermarkFile(join(dir, 'wm.json')),
      files: [prog],
    });
    expect(printed).toEqual([JSON.stringify(result)]);
    linked.push({ path: prog, result: result!, builder: 'ci-3' });
  }, 60_000);

  it('register refuses a file without the watermark, and one with another watermark', async () => {
    const expected = await expectedOfWatermarkFile(join(dir, 'wm.json'));
    for (const file of [join(sign, 'plain'), linked[0]!.path]) {
      const refused = runSignRegister({ ...options, expected, files: [file] });
      await expect(refused).rejects.toBeInstanceOf(WatermarkError);
      await expect(refused).rejects.toThrow(/does not carry watermark .*; not registered/);
    }
    await expect(
      runSignRegister({
        ...options,
        expected: { ...expected, package: 'other' },
        files: [join(dir, 'hello-obj')],
      }),
    ).rejects.toThrow(/has package "hello", expected "other"/);
  }, 60_000);

  it('the topic holds exactly those registrations: every field, keyed by the id, signed', async () => {
    // Every record the topic ever got: the refused files added none.
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    expect(ends.reduce((sum, p) => sum + Number(p.high), 0)).toBe(3);
    const records = await readTopic(3);
    expect(records).toHaveLength(3);
    for (const { path, result, builder } of linked) {
      const record = records.find((r) => formatUuid(r.key) === result.watermarkId);
      expect(record, result.watermarkId).toBeDefined();
      const decoded = await codec.decode<vigil.watermark.v1.WatermarkEvent>(record!.value);
      expect(decoded.typeName).toBe(WATERMARK_EVENT);
      const { envelope, registration } = decoded.message;
      const notes = await readElfNotesOfFile(path);
      const buildId = /Build ID: ([0-9a-f]+)/.exec(readelf('-n', path))?.[1];
      expect(buildId).toMatch(/^[0-9a-f]{40}$/);
      expect({
        id: formatUuid(registration!.watermarkId!),
        package: registration!.package,
        version: registration!.version,
        builder: registration!.builder,
        sha256: Buffer.from(registration!.binarySha256!).toString('hex'),
        buildId: Buffer.from(registration!.buildId!).toString('hex'),
        path: Buffer.from(registration!.path!).toString('utf8'),
      }).toEqual({
        id: result.watermarkId,
        package: notes.watermarks[0]!.package,
        version: notes.watermarks[0]!.version,
        builder,
        sha256: sha256(path),
        buildId,
        path,
      });
      expect(envelope!.sourceKind).toBe(vigil.envelope.v1.SourceKind.SOURCE_KIND_SIGNER);
      expect(envelope!.signature!.keyId).toBe(KEY_ID);
      const signed = {
        eventId: envelope!.eventId!,
        sourceKind: envelope!.sourceKind ?? 0,
        host: envelope!.host ?? '',
        producerId: envelope!.producerId ?? '',
        sequence: envelope!.sequence ?? 0,
        timeUnixNano: envelope!.timeUnixNano ?? 0,
      };
      const payload = decodeFrame(record!.value).payload;
      expect(macMatches(KEY, signed, payload, envelope!.signature!.hmacSha256!)).toBe(true);
      expect(
        macMatches(Buffer.alloc(32, 1), signed, payload, envelope!.signature!.hmacSha256!),
      ).toBe(false);
    }
  }, 60_000);

  it('the verify worker trusts them: 3 added; a registration signed with another key is rejected', async () => {
    // A forged registration: right key id, wrong key.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const forged = createWatermarkPublisher({
        codec,
        producer,
        topic,
        host: 'attacker',
        producerId: 'signer/forged',
        signingKey: { keyId: KEY_ID, key: Buffer.alloc(32, 0x99) },
      });
      await forged.publish(
        await prepareRegistration(join(sign, 'hello'), {
          id: (await readElfNotesOfFile(join(sign, 'hello'))).watermarks[0]!.id,
        }),
      );
    } finally {
      await producer.disconnect();
    }

    const input = uniqueName('vigil.process.v1-signer');
    await ensureTopics(kafka, [
      { topic: input, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'delete' },
    ]);
    const port = await freePort();
    const config = join(dir, 'verify.yaml');
    writeFileSync(
      config,
      stringify({
        verify: {
          kafka: {
            brokers: endpoints.kafkaBrokers,
            topics: [input],
            groupId: uniqueName('verify'),
          },
          registryUrl: endpoints.registryUrl,
          keysDir: dir,
          watermarkTopic: topic,
          quarantineTopic: `${input}.quarantine`,
          deadLetterTopic: `${input}.dlq`,
          createTopics: true,
          health: { host: '127.0.0.1', port },
          logLevel: 'warn',
        },
      }),
    );
    verifyWorker = spawn(process.execPath, [verifyMain, '--config', config], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => verifyWorker!.once('exit', resolve));
    let metrics = '';
    const applied = (result: string) =>
      Number(
        new RegExp(
          `^verify_watermark_records_total\\{result="${result}"[^}]*\\} (\\d+)$`,
          'm',
        ).exec(metrics)?.[1] ?? 0,
      );
    await waitFor(
      'the verify worker to apply the watermark topic',
      async () => {
        if (verifyWorker!.exitCode !== null) throw new Error('the verify worker exited');
        metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        return applied('added') + applied('rejected') + applied('removed') >= 4;
      },
      120_000,
    );
    expect({ added: applied('added'), rejected: applied('rejected') }).toEqual({
      added: 3,
      rejected: 1,
    });
    verifyWorker.kill('SIGTERM');
    await exited;
    verifyWorker = undefined;
  }, 180_000);
});

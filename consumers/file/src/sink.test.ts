import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventCodec, type EventCodec } from '@vigil/pipeline/codec';
import { PermanentError } from '@vigil/pipeline/errors';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import type { PipelineEvent } from '@vigil/pipeline/sink';
import { describeSinkConformance } from '@vigil/pipeline/testing';
import { FAMILIES } from '@vigil/schemas/families';
import { createRecordDecoder } from '@vigil/documents/decode';
import {
  framed,
  framedSampleEvents,
  processEvents,
  registerFamilies,
  sessionMessages,
} from '@vigil/documents/testing';
import { ensureStack } from '@vigil/stack/stack';
import { configSchema } from './config.js';
import { readFamilyLines } from './jsonl.js';
import { createFileSink, type FileSink } from './sink.js';
import { checkAsciicast } from './testkit/asciicast-check.js';

/** The file sink on a temporary directory; records framed with the real registry. */

let codec: EventCodec;
let registryUrl: string;
const logger = createLogger('file-test', { level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
const DAY = 1_790_000_000_000_000_000n;
const signal = () => new AbortController().signal;

beforeAll(async () => {
  registryUrl = (await ensureStack()).registryUrl;
  codec = createEventCodec(createSchemaRegistryClient({ url: registryUrl }));
  await registerFamilies(codec);
}, 600_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-file-sink-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function sink(
  directory: string,
  overrides: Record<string, unknown> = {},
  now?: () => number,
): FileSink {
  const config = configSchema.parse({ directory, registryUrl, ...overrides });
  const s = createFileSink(config, {
    logger,
    decoder: createRecordDecoder(codec),
    ...(now ? { now } : {}),
  });
  cleanups.push(() => s.close());
  return s;
}

async function storedIds(directory: string): Promise<string[]> {
  const ids: string[] = [];
  for (const f of FAMILIES) {
    for (const line of await readFamilyLines(join(directory, f.name)))
      ids.push((JSON.parse(line) as { event: { id: string } }).event.id);
  }
  return ids;
}

const dirs = new WeakMap<object, string>();
describeSinkConformance({
  name: 'file',
  createSink: async () => {
    const dir = await tempDir();
    const s = sink(dir);
    dirs.set(s, dir);
    return s;
  },
  events: async () => framedSampleEvents(codec),
  idOf: (event) => event.key!.toString(),
  storedIds: async (s) => storedIds(dirs.get(s)!),
});

const sessionEvents = (messages: object[]): PipelineEvent[] =>
  messages.map((m) => framed(codec, 'session', 'vigil.session.v1.SessionEvent', m));

describe('file sink: JSON lines', () => {
  it('writes one JSON document per line per family, with the record bytes in vigil.raw', async () => {
    const dir = await tempDir();
    const s = sink(dir);
    await s.healthcheck();
    const events = framedSampleEvents(codec);
    await s.write(events, signal());
    const lines = await readFamilyLines(join(dir, 'process'));
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!);
    expect(doc.process.executable).toBe('/opt/site/openmpi/4.1.6/bin/mpirun');
    expect(Buffer.from(doc.vigil.raw, 'base64').equals(events[0]!.value)).toBe(true);
    expect((await readdir(join(dir, 'process')))[0]).toMatch(
      /^process-\d{8}T\d{6}Z-[0-9a-f]{6}\.jsonl\.open$/,
    );
  });

  it('rotates by size and by age, and compresses closed files with zstd', async () => {
    const dir = await tempDir();
    let clock = Date.UTC(2026, 10, 22, 10);
    const s = sink(
      dir,
      { jsonl: { maxBytes: 8192, maxAgeMs: 60_000, compression: 'zstd' } },
      () => clock,
    );
    await s.healthcheck();
    const events = processEvents(codec, 40, DAY); // about 1 KB each
    await s.write(events, signal());
    await s.compressed();
    let files = (await readdir(join(dir, 'process'))).sort();
    expect(files.filter((f) => f.endsWith('.jsonl.zst')).length).toBeGreaterThanOrEqual(4);
    expect(files.filter((f) => f.endsWith('.jsonl.open'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.jsonl') || f.endsWith('.tmp'))).toHaveLength(0);
    // Age: the open file closes once it is older than maxAgeMs, even without new writes.
    clock += 61_000;
    await s.rotateExpired();
    await s.compressed();
    files = (await readdir(join(dir, 'process'))).sort();
    expect(files.filter((f) => f.endsWith('.jsonl.open'))).toHaveLength(0);
    expect((await storedIds(dir)).sort()).toEqual(events.map((e) => e.key!.toString()).sort());
  });

  it('after a crash: cuts a torn last line, and writes nothing twice when the batch is replayed', async () => {
    const dir = await tempDir();
    const first = sink(dir);
    await first.healthcheck();
    const events = processEvents(codec, 10, DAY);
    await first.write(events, signal());
    // The process dies here (offsets not committed), in the middle of writing another line.
    const open = (await readdir(join(dir, 'process'))).find((f) => f.endsWith('.open'))!;
    await appendFile(join(dir, 'process', open), '{"event":{"id":"torn');
    const second = sink(dir);
    await second.healthcheck();
    await second.write(events, signal()); // the runtime delivers the uncommitted records again
    const more = processEvents(codec, 3, DAY);
    await second.write(more, signal());
    const ids = await storedIds(dir);
    expect(ids.sort()).toEqual([...events, ...more].map((e) => e.key!.toString()).sort());
  });

  it('dead-letters a record that is not a Vigil event and keeps the rest', async () => {
    const dir = await tempDir();
    const s = sink(dir);
    const events = processEvents(codec, 2, DAY);
    const garbage = { ...events[0]!, value: Buffer.from('not a record'), offset: '41' };
    await expect(s.write([events[0]!, garbage, events[1]!], signal())).rejects.toThrow(
      PermanentError,
    );
    expect(await storedIds(dir)).toHaveLength(2);
  });

  it('refuses to start when the directory cannot be made, or zstd compression is configured without the zstd command', async () => {
    const dir = await tempDir();
    await appendFile(join(dir, 'a-file'), 'x');
    await expect(sink(join(dir, 'a-file')).healthcheck()).rejects.toThrow(/preparing .*a-file/);
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(sink(dir, { jsonl: { compression: 'zstd' } }).healthcheck()).rejects.toThrow(
        /apt-get install zstd/,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});

describe.each([2, 3] as const)('file sink: asciicast v%i', (version) => {
  it('writes the session file as the stream arrives and finishes it at the end; a player can open it at every step', async () => {
    const dir = await tempDir();
    const s = sink(dir, { asciicast: { version } });
    await s.healthcheck();
    const { sessionId, messages } = sessionMessages();
    const path = join(dir, 'sessions', `${sessionId}.cast`);
    await s.write(sessionEvents(messages.slice(0, 3)), signal());
    const partial = checkAsciicast(await readFile(path, 'utf8'));
    expect(partial.output).toBe('\x1b[1m$ \x1b[0mmake -j8\r\nprice: ');
    await s.write(sessionEvents(messages.slice(3)), signal());
    const cast = checkAsciicast(await readFile(path, 'utf8'));
    expect(cast.header).toMatchObject(
      version === 2
        ? { version: 2, width: 120, height: 40, timestamp: 1790000000 }
        : { version: 3, term: { cols: 120, rows: 40, type: 'xterm-256color' } },
    );
    expect(cast.output).toBe('\x1b[1m$ \x1b[0mmake -j8\r\nprice: € 5\r\nexit\r\n'); // the € split across chunks is whole
    expect(cast.events.map((e) => e[1])).toEqual(
      version === 2
        ? ['o', 'o', 'o', 'r', 'm', 'm', 'o']
        : ['o', 'o', 'o', 'r', 'm', 'm', 'o', 'x'],
    );
    expect(cast.events.find((e) => e[2].startsWith('$ make'))![2]).toBe('$ make -j8 [exit 2]');
    expect(cast.events.at(-1)![0]).toBeCloseTo(version === 2 ? 2.5 : 3, 6);
    // Events of a finished session that arrive again change nothing.
    const before = await readFile(path, 'utf8');
    await s.write(sessionEvents(messages), signal());
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('after a crash, cuts the cast back to its last saved state and writes replayed events once', async () => {
    const dir = await tempDir();
    const first = sink(dir, { asciicast: { version } });
    await first.healthcheck();
    const { sessionId, messages } = sessionMessages();
    const path = join(dir, 'sessions', `${sessionId}.cast`);
    await first.write(sessionEvents(messages.slice(0, 4)), signal());
    // Killed after writing more output but before its state was saved (and before the commit).
    await appendFile(path, '[9.9,"o","lost"]\n[10');
    const second = sink(dir, { asciicast: { version } });
    await second.healthcheck();
    await second.write(sessionEvents(messages.slice(2)), signal()); // redelivery from the last commit
    const cast = checkAsciicast(await readFile(path, 'utf8'));
    expect(cast.output).toBe('\x1b[1m$ \x1b[0mmake -j8\r\nprice: € 5\r\nexit\r\n');
  });
});

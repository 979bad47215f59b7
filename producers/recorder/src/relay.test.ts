import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMarkScanner, parseMark, type Mark } from './marks.js';
import { createRecordReader } from './relay.js';
import { waitFor } from './test-kit.js';

/**
 * The relay program (relay/relay.c, built by `npm run build`) against src/marks.ts: the same
 * chunks ("reads") give the same bytes on the terminal, the same marks, in the same order. Its
 * --chunks mode takes each read as a frame on fd 3 instead of a pty.
 */

const RELAY = fileURLToPath(new URL('../dist/vigil-rec-relay', import.meta.url));

type Step = Buffer | 'hold' | { arm: string };
type Item = { d: string } | { m: Mark } | { lost: number } | { input: string } | 'hangup' | 'end';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function frame(step: Step): Buffer {
  const head = Buffer.alloc(4);
  if (step === 'hold') return head;
  if (Buffer.isBuffer(step)) {
    head.writeUInt32LE(step.length);
    return Buffer.concat([head, step]);
  }
  const nonce = b(step.arm);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(nonce.length);
  return Buffer.concat([b('\xff\xff\xff\xff'), len, nonce]);
}

/** Adjacent data merged, so that the two sides' pieces compare. */
function push(items: Item[], item: Item): void {
  const last = items.at(-1);
  if (typeof item === 'object' && 'd' in item && last && typeof last === 'object' && 'd' in last)
    last.d += item.d;
  else if (!(typeof item === 'object' && 'd' in item && item.d === '')) items.push(item);
}

async function relay(
  steps: Step[],
  options: { args?: string[]; readRecordsAfter?: number } = {},
): Promise<{ shown: Buffer; items: Item[]; status: number | null }> {
  const child = spawn(RELAY, ['--chunks', ...(options.args ?? [])], {
    stdio: ['pipe', 'pipe', 'inherit', 'pipe', 'pipe'],
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const shown: Buffer[] = [];
  let shownBytes = 0;
  child.stdout!.on('data', (d: Buffer) => {
    shown.push(d);
    shownBytes += d.length;
  });
  const items: Item[] = [];
  const read = createRecordReader({
    data: (bytes) => push(items, { d: bytes.toString('latin1') }),
    mark: (body) => push(items, { m: parseMark(body)! }),
    lost: (bytes) => push(items, { lost: bytes }),
    end: () => push(items, 'end'),
  });
  const records = child.stdio[4] as Readable;
  const input = child.stdio[3] as Writable;
  input.on('error', () => undefined); // it stops reading at the sentinel
  records.on('data', read);
  if (options.readRecordsAfter !== undefined) records.pause();
  input.end(Buffer.concat(steps.map(frame)));
  if (options.readRecordsAfter !== undefined) {
    // Records are not read until the terminal has had all of it: the relay must not wait.
    const after = options.readRecordsAfter;
    await waitFor('the terminal output', () => shownBytes >= after || undefined);
    records.resume();
  }
  const status = await closed;
  return { shown: Buffer.concat(shown), items, status };
}

/** What src/marks.ts makes of the same steps. */
function scanned(steps: Step[]): { shown: Buffer; items: Item[] } {
  const items: Item[] = [];
  const shown: Buffer[] = [];
  const scanner = createMarkScanner({
    data: (bytes) => {
      shown.push(Buffer.from(bytes));
      push(items, { d: bytes.toString('latin1') });
    },
    mark: (mark) => push(items, { m: mark }),
  });
  for (const step of steps) {
    if (step === 'hold') scanner.flush();
    else if (Buffer.isBuffer(step)) scanner.push(step);
  }
  scanner.flush();
  push(items, 'end');
  return { shown: Buffer.concat(shown), items };
}

describe('the relay program', () => {
  it('is built', () => {
    expect(existsSync(RELAY)).toBe(true);
  });

  const stream = b(
    'before\x1b]133;C;/home/u%3Bx;ls -l %25 \xff\x07middle\x1b]133;D;2\x1b\\after\x1b]133;A\x07' +
      '\x1b]0;title\x07\x1b]133;D;1.0\x07\x1b]133;D\x07\x1b]133;X;n;0;x\x1b\\\x1b]133;M;mark\x07end\x1b]13',
  );

  it('cuts out the marks src/marks.ts cuts out, whatever the read boundaries', async () => {
    const whole = await relay([stream]);
    expect(whole.status).toBe(0);
    const expected = scanned([stream]);
    expect(whole.items).toEqual(expected.items);
    expect(whole.shown).toEqual(expected.shown);
    expect(expected.items.filter((i) => typeof i === 'object' && 'm' in i)).toHaveLength(5);
    const cuts: number[][] = [];
    for (let i = 1; i < stream.length; i += 2) cuts.push([i], [i, i + 1, i + 7]);
    await Promise.all(
      cuts.map(async (cut) => {
        const bounds = [0, ...cut.filter((c) => c < stream.length), stream.length];
        const steps = bounds.slice(1).map((end, k) => stream.subarray(bounds[k], end));
        const got = await relay(steps);
        expect({ cut, items: got.items }).toEqual({ cut, items: scanned(steps).items });
        expect(got.shown).toEqual(scanned(steps).shown);
      }),
    );
  }, 60_000);

  it('shows a held mark start when the hold timer fires, and too long a sequence', async () => {
    const long = Buffer.concat([b('\x1b]133;C;'), Buffer.alloc(70 * 1024, 0x61), b('\x07')]);
    const steps: Step[] = [
      b('abc\x1b]13'),
      'hold',
      b('3;M;x\x07'),
      ...Array.from({ length: 8 }, (_, k) => long.subarray(k * 9000, (k + 1) * 9000)),
      long.subarray(72000),
    ];
    const got = await relay(steps);
    expect(got.items).toEqual(scanned(steps).items);
    expect(got.shown).toEqual(scanned(steps).shown);
  });

  it('ends at the sentinel once armed, also when it was split before', async () => {
    const got = await relay([
      b('out\x1b]133;X;n0nce\x07'), // not armed yet: shown as it is
      b('put\x1b]133;X;n0'),
      { arm: 'n0nce' },
      b('nce\x07tail\x1b]133;M;m\x07'),
      b('never seen'),
    ]);
    expect(got.items).toEqual([
      { d: 'out\x1b]133;X;n0nce\x07puttail' },
      { m: { kind: 'marker', label: 'm' } },
      'end',
    ]);
    expect(got.shown.toString('latin1')).toBe('out\x1b]133;X;n0nce\x07puttail');
  });

  it('never waits for the recorder: past its bound it drops the copy and says how much', async () => {
    const chunk = Buffer.alloc(60 * 1024, 0x61);
    const steps = Array.from({ length: 64 }, () => chunk);
    const total = chunk.length * steps.length;
    const got = await relay(steps, { args: ['--record-max', '65536'], readRecordsAfter: total });
    expect(got.shown.length).toBe(total);
    const lost = got.items.reduce(
      (n, i) => n + (typeof i === 'object' && 'lost' in i ? i.lost : 0),
      0,
    );
    const recorded = got.items.reduce(
      (n, i) => n + (typeof i === 'object' && 'd' in i ? i.d.length : 0),
      0,
    );
    expect(lost).toBeGreaterThan(0);
    expect(recorded + lost).toBe(total);
    expect(got.items.at(-1)).toBe('end');
  });
});

describe('the record reader', () => {
  it('hands on records split anywhere', () => {
    const record = (type: string, payload: Buffer): Buffer => {
      const h = Buffer.alloc(13);
      h.write(type, 0, 'latin1');
      h.writeUInt32LE(payload.length, 1);
      h.writeBigUInt64LE(42n, 5);
      return Buffer.concat([h, payload]);
    };
    const lost = Buffer.alloc(8);
    lost.writeBigUInt64LE(7n);
    const bytes = Buffer.concat([
      record('D', b('hello')),
      record('M', b('M;x')),
      record('M', b('M;header-long')), // as long as a header
      record('I', b('echo visible\n')), // likewise
      record('L', lost),
      record('D', b('')),
      record('H', b('')),
      record('E', b('')),
    ]);
    for (let i = 0; i <= bytes.length; i++) {
      const items: Item[] = [];
      const at: bigint[] = [];
      const read = createRecordReader({
        data: (d, t) => (push(items, { d: d.toString('latin1') }), at.push(t)),
        mark: (m) => push(items, { m: parseMark(m)! }),
        lost: (n) => push(items, { lost: n }),
        end: () => push(items, 'end'),
        input: (d) => push(items, { input: d.toString('latin1') }),
        hangup: () => push(items, 'hangup'),
      });
      read(bytes.subarray(0, i));
      read(bytes.subarray(i));
      expect(items).toEqual([
        { d: 'hello' },
        { m: { kind: 'marker', label: 'x' } },
        { m: { kind: 'marker', label: 'header-long' } },
        { input: 'echo visible\n' },
        { lost: 7 },
        'hangup',
        'end',
      ]);
      expect(new Set(at)).toEqual(new Set([42n]));
    }
  });
});

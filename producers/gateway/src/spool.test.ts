import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeSpoolPayload,
  encodeSpoolRecord,
  openSpool,
  type SpoolConfig,
  type SpoolRecord,
} from './spool.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'vigil-spool-'));
const config = (dir: string, over: Partial<SpoolConfig> = {}): SpoolConfig => ({
  dir,
  maxBytes: 10 * 1024 * 1024,
  segmentBytes: 64 * 1024,
  fsync: 'never',
  fsyncIntervalMs: 1000,
  ...over,
});
const record = (i: number, size = 100): SpoolRecord => ({
  familyId: 1 + (i % 6),
  key: `key-${i % 7}`,
  peer: `udp:127.0.0.1:${1000 + i}`,
  receivedAtMs: 1_790_000_000_000.25 + i,
  value: Buffer.alloc(size, i % 251),
});
const keys = (records: readonly { peer: string }[]) =>
  records.map((r) => Number(r.peer.split(':')[2]) - 1000);

function drain(spool: ReturnType<typeof openSpool>, ack = true): number[] {
  const seen: number[] = [];
  for (;;) {
    const batch = spool.read(37, 1 << 20);
    if (batch.records.length === 0) break;
    seen.push(...keys(batch.records));
    if (ack) spool.ack(batch);
  }
  return seen;
}

describe('spool payload', () => {
  it('round-trips every field', () => {
    const r = record(5);
    const back = decodeSpoolPayload(encodeSpoolRecord(r).subarray(8))!;
    expect({ ...back, value: Buffer.from(back.value) }).toEqual({
      ...r,
      value: Buffer.from(r.value),
    });
  });
  it('refuses malformed payloads', () => {
    expect(decodeSpoolPayload(Buffer.alloc(5))).toBeUndefined();
    expect(decodeSpoolPayload(Buffer.from('01000000000000000000ffff', 'hex'))).toBeUndefined();
  });
});

describe('openSpool', () => {
  it('gives records back in order across segment files and deletes acknowledged segments', () => {
    const dir = tempDir();
    const spool = openSpool(config(dir));
    for (let i = 0; i < 2000; i++) expect(spool.append(record(i))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(3);
    expect(drain(spool)).toEqual([...Array(2000).keys()]);
    expect(spool.stats().backlogBytes).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBe(1);
    spool.close();
  });

  it('replays from the cursor after a restart, nothing acknowledged twice', () => {
    const dir = tempDir();
    const first = openSpool(config(dir));
    for (let i = 0; i < 500; i++) first.append(record(i));
    const batch = first.read(200, 1 << 20);
    first.ack(batch);
    first.close();
    const second = openSpool(config(dir));
    expect(second.stats().backlogBytes).toBe(300 * statSizeOfRecord());
    const replayed = second.read(1000, 1 << 22);
    expect(keys(replayed.records)).toEqual([...Array(300).keys()].map((i) => i + 200));
    expect(replayed.records.every((r) => r.replay)).toBe(true);
    second.close();
  });

  it('survives a crash (no close): unacknowledged records come back', () => {
    const dir = tempDir();
    const spool = openSpool(config(dir));
    for (let i = 0; i < 100; i++) spool.append(record(i));
    spool.flush(); // written, never closed: what a SIGKILL leaves
    expect(drain(openSpool(config(dir)), false)).toEqual([...Array(100).keys()]);
  });

  it('cuts a torn record off the end of the last segment', () => {
    const dir = tempDir();
    const spool = openSpool(config(dir));
    for (let i = 0; i < 10; i++) spool.append(record(i));
    spool.close();
    const segment = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.seg'))!,
    );
    const whole = statSync(segment).size;
    appendFileSync(segment, Buffer.from([0, 0, 1, 0, 1, 2, 3])); // a header and a bit: a write cut short
    const reopened = openSpool(config(dir));
    expect(reopened.stats().truncatedBytes).toBe(7);
    expect(statSync(segment).size).toBe(whole);
    expect(drain(reopened)).toEqual([...Array(10).keys()]);
    reopened.append(record(10));
    expect(drain(reopened)).toEqual([10]);
  });

  it('skips the rest of a segment after a corrupt record and counts it', () => {
    const dir = tempDir();
    const spool = openSpool(config(dir, { segmentBytes: 64 * 1024 }));
    for (let i = 0; i < 1000; i++) spool.append(record(i));
    spool.close();
    const first = join(
      dir,
      readdirSync(dir)
        .filter((f) => f.endsWith('.seg'))
        .sort()[0]!,
    );
    const bytes = readFileSync(first);
    const at = statSizeOfRecord() * 3 + 20;
    bytes[at] = bytes[at]! ^ 0xff; // flip a byte inside the 4th record's payload
    writeFileSync(first, bytes);
    const reopened = openSpool(config(dir));
    const seen = drain(reopened);
    const perSegment = Math.floor((64 * 1024) / statSizeOfRecord());
    expect(seen.slice(0, 3)).toEqual([0, 1, 2]);
    expect(seen[3]).toBe(perSegment); // the next segment's first record
    expect(seen.length).toBe(1000 - perSegment + 3);
    expect(reopened.stats().corruptRecords).toBe(1);
  });

  it('refuses appends beyond maxBytes (drop newest) and takes them again once acknowledged', () => {
    const dir = tempDir();
    const size = statSizeOfRecord();
    const spool = openSpool(config(dir, { maxBytes: size * 10, segmentBytes: size * 4 }));
    const results = [...Array(12).keys()].map((i) => spool.append(record(i)));
    expect(results).toEqual([...Array(10).fill(true), false, false]);
    spool.ack(spool.read(8, 1 << 20));
    expect(spool.append(record(12))).toBe(true);
    expect(drain(spool)).toEqual([8, 9, 12]);
  });

  it('appends a batch of encoded records as one, and refuses the records of it a full spool has no room for', () => {
    const dir = tempDir();
    const size = statSizeOfRecord();
    const spool = openSpool(config(dir, { maxBytes: size * 10, segmentBytes: size * 4 }));
    const batch = (from: number, count: number) =>
      Buffer.concat([...Array(count).keys()].map((i) => encodeSpoolRecord(record(from + i))));
    expect(spool.appendEncoded(batch(0, 6))).toEqual([]);
    const refused = spool.appendEncoded(batch(6, 6));
    expect(refused.map((payload) => keys([decodeSpoolPayload(payload)!])[0])).toEqual([10, 11]);
    expect(spool.stats().backlogBytes).toBe(size * 10);
    expect(drain(spool)).toEqual([...Array(10).keys()]);
    expect(spool.appendEncoded(batch(12, 2))).toEqual([]);
    expect(drain(spool)).toEqual([12, 13]);
  });

  it('cuts a key or peer longer than 65,535 bytes at a character boundary', () => {
    const long = { ...record(1), key: 'é'.repeat(40_000), peer: 'p'.repeat(70_000) };
    const back = decodeSpoolPayload(encodeSpoolRecord(long).subarray(8))!;
    expect(back.key).toBe('é'.repeat(32_767));
    expect(back.peer).toBe('p'.repeat(65_535));
    expect(Buffer.from(back.value)).toEqual(long.value);
  });

  it.each(['always', 'interval', 'never'] as const)('works with fsync %s', (fsync) => {
    const dir = tempDir();
    const spool = openSpool(config(dir, { fsync, fsyncIntervalMs: 1 }));
    for (let i = 0; i < 50; i++) spool.append(record(i));
    spool.flush();
    expect(drain(spool)).toHaveLength(50);
    spool.close();
  });
});

function statSizeOfRecord(): number {
  return encodeSpoolRecord(record(0)).length;
}

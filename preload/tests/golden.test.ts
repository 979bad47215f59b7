import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { vigil } from '@vigil/schemas/gen';
import { macMatches } from '@vigil/pipeline/signature';

// Golden datagrams written by the C encoder (`make golden`, tests/golden.c) from fixed inputs:
// the TypeScript schemas must decode them field for field and the signature must verify.
const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const header = Buffer.from([0x56, 0x47, 1, 1]); // "VG", transport version 1, family process

function load(name: string) {
  const datagram = readFileSync(new URL(`golden/${name}`, import.meta.url));
  expect(datagram.subarray(0, 4)).toEqual(header);
  const record = datagram.subarray(4);
  return { record, event: vigil.process.v1.ProcessEvent.decode(record) };
}

function eventId(last: number): Buffer {
  const id = Buffer.from('0193a0b0c0d07e008000000000000000', 'hex');
  id[15] = last;
  return id;
}

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));
const hex = (s: string) => Buffer.from(s, 'hex');
const exeBuildId = hex('c89156ebdabf859f4ee70cb0c303004dccf1ae51');
const libcBuildId = hex('93ac61ec5a8eb1396f9fbd350e3169a558528a40');
const watermarkRaw = Buffer.concat([hex('0193a0b0c0d07abc8011223344556677'), b('hello\x001.0\x00ci\x002026-01-01T00:00:00Z\x00')]);
const producerId = 'preload/6f1c1b9e-1d2a-4c39-9d5e-0e4b8f2a7c10/4242';

function checkEnvelope(event: vigil.process.v1.ProcessEvent, last: number, sequence: number) {
  const env = event.envelope!;
  expect(Buffer.from(env.eventId)).toEqual(eventId(last));
  expect(env.sourceKind).toBe(vigil.envelope.v1.SourceKind.SOURCE_KIND_PRELOAD);
  expect(env.host).toBe('node001');
  expect(env.producerId).toBe(producerId);
  expect(BigInt(env.sequence.toString())).toBe(BigInt(sequence));
  expect(BigInt(env.timeUnixNano.toString())).toBe(1_790_000_000_123_456_789n + BigInt(sequence) * 1_000_000n);
}

function signed(record: Uint8Array, event: vigil.process.v1.ProcessEvent): boolean {
  const env = event.envelope!;
  expect(env.signature?.keyId).toBe('golden-key');
  return macMatches(key, env, record, env.signature!.hmacSha256);
}

describe('golden datagrams from the C encoder', () => {
  it('start.bin decodes field for field and verifies', () => {
    const { record, event } = load('start.bin');
    checkEnvelope(event, 1, 1);
    expect(signed(record, event)).toBe(true);
    expect(event.body).toBe('start');
    const s = event.start!;
    expect([s.pid, s.ppid, s.uid, s.gid, s.euid, s.egid]).toEqual([4242, 1, 1000, 1000, 1000, 100]);
    expect(Buffer.from(s.executable)).toEqual(b('/usr/bin/hello'));
    expect(s.argv.map((a) => Buffer.from(a))).toEqual([b('hello'), b('--name'), b('w\xffrld'), b('')]);
    expect(Buffer.from(s.workingDirectory)).toEqual(b('/home/alice'));
    expect(s.job).toMatchObject({ scheduler: 'slurm', id: '123', step: '0', arrayIndex: '5' });
    expect(s.loadedModules.map((m) => Buffer.from(m))).toEqual([b('gcc/12.2'), b('openmpi/4.1')]);
    expect(s.moduleFiles.map((m) => Buffer.from(m))).toEqual([b('/m/gcc/12.2'), b('/m/openmpi/4.1')]);
    expect(
      s.environment.map((e) => ({ name: Buffer.from(e.name), value: Buffer.from(e.value), redacted: e.redacted })),
    ).toEqual([
      { name: b('PATH'), value: b('/usr/bin:/bin'), redacted: false },
      { name: b('MY_TOKEN'), value: b(''), redacted: true },
      { name: b('MY_DIR'), value: b('/scratch/alice'), redacted: false },
    ]);
    expect(Buffer.from(s.cgroup)).toEqual(b('/system.slice/slurmstepd.scope/job_123'));
    expect(Buffer.from(s.buildId)).toEqual(exeBuildId);
    expect(Buffer.from(s.bootId)).toEqual(hex('b0b1b2b3b4b5b6b7b8b9babbbcbdbebf'));
    expect(s.sharedObjects).toHaveLength(2);
    const [exe, libc] = s.sharedObjects;
    expect(Buffer.from(exe!.path)).toEqual(b('/usr/bin/hello'));
    expect(Buffer.from(exe!.buildId)).toEqual(exeBuildId);
    expect(Buffer.from(exe!.watermark!.id)).toEqual(watermarkRaw.subarray(0, 16));
    expect(Buffer.from(exe!.watermark!.raw)).toEqual(watermarkRaw);
    expect(exe!.dlopened).toBe(false);
    expect(Buffer.from(libc!.path)).toEqual(b('/lib/x86_64-linux-gnu/libc.so.6'));
    expect(Buffer.from(libc!.buildId)).toEqual(libcBuildId);
    expect(libc!.watermark).toBeNull();
    expect(s.truncation).toBeNull();
  });

  it('end.bin decodes field for field and verifies', () => {
    const { record, event } = load('end.bin');
    checkEnvelope(event, 2, 2);
    expect(signed(record, event)).toBe(true);
    expect(event.body).toBe('end');
    const e = event.end!;
    expect(e.pid).toBe(4242);
    expect(Buffer.from(e.startEventId)).toEqual(eventId(1));
    expect(e.exitStatus).toBe(-2);
    expect(BigInt(e.durationNs.toString())).toBe(1_500_000_000n);
    expect(BigInt(e.userCpuNs.toString())).toBe(1_200_000_000n);
    expect(BigInt(e.systemCpuNs.toString())).toBe(30_000_000n);
    expect(BigInt(e.maxRssKib.toString())).toBe(20_480n);
    expect(e.dlopened).toHaveLength(1);
    expect(Buffer.from(e.dlopened[0]!.path)).toEqual(b('/opt/plugins/libplugin.so'));
    expect(e.dlopened[0]!.dlopened).toBe(true);
    expect(e.truncation).toBeNull();
    expect(e.sampleWeight).toBe(0);
  });

  it('end-sampled.bin carries sample_weight and verifies', () => {
    const { record, event } = load('end-sampled.bin');
    checkEnvelope(event, 5, 2);
    expect(signed(record, event)).toBe(true);
    const e = event.end!;
    expect(e.pid).toBe(4242);
    expect(e.sampleWeight).toBe(100);
    expect(BigInt(e.durationNs.toString())).toBe(1_500_000_000n);
  });

  it('start-trimmed.bin keeps whole arguments and counts the rest', () => {
    const { record, event } = load('start-trimmed.bin');
    checkEnvelope(event, 3, 1);
    expect(signed(record, event)).toBe(true);
    expect(record.length).toBeLessThanOrEqual(16384);
    const s = event.start!;
    // argv budget: (16384 - 384 - 64) / 4 = 3984 bytes; each 1000-byte argument takes 1003.
    expect(s.argv.map((a) => Buffer.from(a))).toEqual([0, 1, 2].map((i) => Buffer.alloc(1000, 0x61 + i)));
    expect(s.truncation).toMatchObject({ argvDropped: 17, environmentDropped: 0, sharedObjectsDropped: 0 });
    expect(s.truncation!.valueShortened).toBe(false);
    expect(s.sharedObjects).toHaveLength(2);
  });

  it('start-unsigned.bin has no signature and the same body', () => {
    const { record, event } = load('start-unsigned.bin');
    checkEnvelope(event, 4, 1);
    expect(event.envelope!.signature).toBeNull();
    const signedStart = load('start.bin').event.start!;
    expect(vigil.process.v1.ProcessStart.toObject(event.start!)).toEqual(
      vigil.process.v1.ProcessStart.toObject(signedStart),
    );
    expect(record.length).toBeGreaterThan(0);
  });
});

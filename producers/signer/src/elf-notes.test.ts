import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bufferSource,
  ElfError,
  parseWatermark,
  readElfNotes,
  readElfNotesOfFile,
  WATERMARK_NOTE_TYPE,
} from './elf-notes.js';
import { buildSignedBinaries, preloadDir } from './testing/signed-binaries.js';

/**
 * The note reader on the preload's real signed binaries (build/sign: a program, a program whose
 * watermark is in the first of two PT_NOTE segments, a library, a program without a watermark),
 * a real ELF32 program, synthetic big-endian files (checked against readelf too), and corrupted
 * copies: every outcome is a result or an ElfError.
 */

const preload = preloadDir;
const tmp = mkdtempSync(join(tmpdir(), 'vigil-elf-notes-'));
let sign = '';

interface SignJson {
  watermarkId: string;
  package: string;
  version: string;
  builder: string;
  time: string;
}
const json = (name: string) => JSON.parse(readFileSync(join(sign, name), 'utf8')) as SignJson;
const uuid = (bytes: Buffer) => {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** readelf's notes: owner, type and descriptor size of each, and the build-id. */
function readelf(path: string) {
  const text = execFileSync('readelf', ['-n', '-W', path], { encoding: 'utf8' });
  const notes = [...text.matchAll(/^\s+(\S+)\s+0x([0-9a-f]+)\s+(.*)$/gm)]
    .filter((m) => m[1] !== 'Owner')
    .map((m) => `${m[1]} ${parseInt(m[2]!, 16)}`)
    .sort();
  return { notes, buildId: /Build ID: ([0-9a-f]+)/.exec(text)?.[1] };
}

beforeAll(() => {
  sign = buildSignedBinaries(join(tmp, 'build'));
}, 120_000);

describe('the preload build/sign binaries', () => {
  it.each([
    ['hello', 'wm-prog.json'],
    ['hello-two', 'wm-two.json'],
    ['libhello.so', 'wm-lib.json'],
    ['plain', undefined],
  ])('%s: build-id and notes as readelf -n, the watermark of %s', async (file, wm) => {
    const path = join(sign, file);
    const found = await readElfNotesOfFile(path);
    const expected = readelf(path);
    expect(found.elfClass).toBe(64);
    expect(found.buildId?.toString('hex')).toBe(expected.buildId);
    expect(expected.buildId).toMatch(/^[0-9a-f]{40}$/);
    expect(found.notes.map((n) => `${n.owner} ${n.desc.length}`).sort()).toEqual(expected.notes);
    if (!wm) {
      expect(found.watermarks).toEqual([]);
      return;
    }
    const j = json(wm);
    expect(found.watermarks).toHaveLength(1);
    const w = found.watermarks[0]!;
    expect({
      id: uuid(w.id),
      package: w.package,
      version: w.version,
      builder: w.builder,
      time: w.time,
    }).toEqual({
      id: j.watermarkId,
      package: j.package,
      version: j.version,
      builder: j.builder,
      time: j.time,
    });
  });

  it('hello-two: the watermark is in the first PT_NOTE segment (8-aligned), the build-id in the second', async () => {
    const found = await readElfNotesOfFile(join(sign, 'hello-two'));
    const segments = new Set(found.notes.map((n) => n.segment));
    expect(segments.size).toBe(2);
    expect(found.notes.find((n) => n.owner === 'Vigil')?.segment).toBe(0);
    expect(found.notes.find((n) => n.owner === 'GNU' && n.type === 3)?.segment).toBe(1);
    const phdrs = execFileSync('readelf', ['-lW', join(sign, 'hello-two')], { encoding: 'utf8' });
    expect(phdrs).toMatch(/NOTE\s.*0x8$/m);
  });

  it('the same bytes from memory and from the file', async () => {
    const path = join(sign, 'libhello.so');
    const fromFile = await readElfNotesOfFile(path);
    const fromMemory = await readElfNotes(bufferSource(readFileSync(path)));
    expect(fromMemory).toEqual(fromFile);
  });
});

describe('ELF32', () => {
  it('a 32-bit program linked with ld -m elf_i386: build-id and watermark', async () => {
    writeFileSync(join(tmp, 's.c'), 'void _start(void) { for (;;) { } }\n');
    execFileSync('gcc', ['-m32', '-c', '-o', join(tmp, 's.o'), join(tmp, 's.c')]);
    const line = execFileSync(
      'sh',
      [join(preload, 'tools', 'vigil-sign'), '--package', 'p32', '--version', '1'].concat([
        '--builder',
        'b32',
        '--out',
        join(tmp, 'wm32.o'),
      ]),
      { encoding: 'utf8', env: { ...process.env, CC: 'gcc -m32' } },
    );
    const out = join(tmp, 's32');
    execFileSync(
      'ld',
      ['-m', 'elf_i386', '--build-id', '-o', out, join(tmp, 's.o')].concat(join(tmp, 'wm32.o')),
    );
    const found = await readElfNotesOfFile(out);
    expect(found.elfClass).toBe(32);
    expect(found.endian).toBe('little');
    expect(found.buildId?.toString('hex')).toBe(readelf(out).buildId);
    expect(uuid(found.watermarks[0]!.id)).toBe((JSON.parse(line) as SignJson).watermarkId);
    expect(found.watermarks[0]!.builder).toBe('b32');
  });
});

/** A minimal ELF file: header, program headers (PT_LOAD, then one PT_NOTE per segment), notes. */
function synthesize(options: {
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  segments: Array<{ align: 4 | 8; notes: Array<{ owner: string; type: number; desc: Buffer }> }>;
}): Buffer {
  const { elfClass, endian } = options;
  const le = endian === 'little';
  const ehsize = elfClass === 64 ? 64 : 52;
  const phentsize = elfClass === 64 ? 56 : 32;
  const phnum = options.segments.length + 1;
  const pad = (n: number, a: number) => Math.ceil(n / a) * a;
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    return b;
  };
  const bodies = options.segments.map((s) =>
    Buffer.concat(
      s.notes.flatMap((n) => {
        const name = Buffer.from(`${n.owner}\0`, 'latin1');
        return [
          u32(name.length),
          u32(n.desc.length),
          u32(n.type),
          name,
          Buffer.alloc(pad(12 + name.length, s.align) - 12 - name.length),
          n.desc,
          Buffer.alloc(pad(n.desc.length, s.align) - n.desc.length),
        ];
      }),
    ),
  );
  let at = pad(ehsize + phnum * phentsize, 8);
  const offsets = bodies.map((b) => {
    const o = at;
    at = pad(at + b.length, 8);
    return o;
  });
  const file = Buffer.alloc(at);
  const w16 = (o: number, v: number) => (le ? file.writeUInt16LE(v, o) : file.writeUInt16BE(v, o));
  const w32 = (o: number, v: number) => (le ? file.writeUInt32LE(v, o) : file.writeUInt32BE(v, o));
  const wWord = (o: number, v: number) =>
    elfClass === 32
      ? w32(o, v)
      : le
        ? file.writeBigUInt64LE(BigInt(v), o)
        : file.writeBigUInt64BE(BigInt(v), o);
  file.write('\x7fELF', 0, 'latin1');
  file[4] = elfClass === 64 ? 2 : 1;
  file[5] = le ? 1 : 2;
  file[6] = 1;
  w16(16, 2); // ET_EXEC
  w16(18, elfClass === 64 ? 43 : 20); // EM_SPARCV9 / EM_PPC: big-endian machines readelf knows
  w32(20, 1);
  wWord(elfClass === 64 ? 32 : 28, ehsize); // e_phoff
  w16(elfClass === 64 ? 52 : 40, ehsize);
  w16(elfClass === 64 ? 54 : 42, phentsize);
  w16(elfClass === 64 ? 56 : 44, phnum);
  const phdr = (i: number, type: number, offset: number, size: number, align: number) => {
    const p = ehsize + i * phentsize;
    w32(p, type);
    if (elfClass === 64) {
      w32(p + 4, 4); // PF_R
      wWord(p + 8, offset);
      wWord(p + 16, 0x10000 + offset);
      wWord(p + 24, 0x10000 + offset);
      wWord(p + 32, size);
      wWord(p + 40, size);
      wWord(p + 48, align);
    } else {
      wWord(p + 4, offset);
      wWord(p + 8, 0x10000 + offset);
      wWord(p + 12, 0x10000 + offset);
      wWord(p + 16, size);
      wWord(p + 20, size);
      w32(p + 24, 4);
      wWord(p + 28, align);
    }
  };
  phdr(0, 1, 0, at, 0x10000); // PT_LOAD of the whole file
  bodies.forEach((b, i) => {
    b.copy(file, offsets[i]);
    phdr(i + 1, 4, offsets[i]!, b.length, options.segments[i]!.align);
  });
  return file;
}

const BUILD_ID = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const WM_ID = Buffer.from('01a24d1fc56c7f3c86de7cbf04cd8ec4', 'hex');
const wmDesc = (fields = 'pkg\0ver\0who\x002026-12-06T20:42:13Z\0') =>
  Buffer.concat([WM_ID, Buffer.from(fields, 'utf8')]);

describe('synthetic files, every class and byte order', () => {
  it.each([
    [32, 'little'],
    [32, 'big'],
    [64, 'little'],
    [64, 'big'],
  ] as const)(
    'ELF%i %s endian: two PT_NOTE segments (8 then 4), as readelf reads them',
    async (elfClass, endian) => {
      const bytes = synthesize({
        elfClass,
        endian,
        segments: [
          { align: 8, notes: [{ owner: 'Vigil', type: WATERMARK_NOTE_TYPE, desc: wmDesc() }] },
          {
            align: 4,
            notes: [
              { owner: 'GNU', type: 1, desc: Buffer.alloc(16, 1) },
              { owner: 'GNU', type: 3, desc: BUILD_ID },
            ],
          },
        ],
      });
      const path = join(tmp, `synth-${elfClass}-${endian}`);
      writeFileSync(path, bytes);
      const found = await readElfNotesOfFile(path);
      expect(found.elfClass).toBe(elfClass);
      expect(found.endian).toBe(endian);
      expect(found.buildId).toEqual(BUILD_ID);
      expect(readelf(path).buildId).toBe(BUILD_ID.toString('hex'));
      expect(found.notes.map((n) => `${n.owner} ${n.desc.length}`).sort()).toEqual(
        readelf(path).notes,
      );
      expect(found.watermarks).toEqual([
        { id: WM_ID, package: 'pkg', version: 'ver', builder: 'who', time: '2026-12-06T20:42:13Z' },
      ]);
    },
  );
});

/** Resolves to 'ok' or the ElfError code; anything else thrown fails the test. */
async function outcome(bytes: Buffer): Promise<string> {
  try {
    await readElfNotes(bufferSource(bytes));
    return 'ok';
  } catch (error) {
    if (error instanceof ElfError) return error.code;
    throw error;
  }
}

describe('bad input: a typed error, never a crash or an out-of-range read', () => {
  const good = () => readFileSync(join(sign, 'hello-two'));

  it.each([
    ['empty', 'not-elf', Buffer.alloc(0)],
    ['text', 'not-elf', Buffer.from('#!/bin/sh\necho hello\n')],
    ['magic only', 'not-elf', Buffer.from('\x7fELF', 'latin1')],
    ['class 3', 'unsupported', Buffer.from('\x7fELF\x03\x01\x01'.padEnd(64, '\0'), 'latin1')],
    [
      'ELF64 header cut',
      'truncated',
      Buffer.from('\x7fELF\x02\x01\x01'.padEnd(40, '\0'), 'latin1'),
    ],
  ])('%s → %s', async (_name, code, bytes) => {
    expect(await outcome(bytes)).toBe(code);
  });

  it('a file cut anywhere inside its headers and notes', async () => {
    const bytes = good();
    const phoff = Number(bytes.readBigUInt64LE(32));
    let end = 0;
    for (let i = 0; i < bytes.readUInt16LE(56); i++) {
      const p = phoff + i * 56;
      if (bytes.readUInt32LE(p) === 4)
        end = Math.max(end, Number(bytes.readBigUInt64LE(p + 8) + bytes.readBigUInt64LE(p + 32)));
    }
    expect(end).toBeGreaterThan(phoff);
    const codes = new Set<string>();
    for (let n = 0; n < end; n++) codes.add(await outcome(bytes.subarray(0, n)));
    expect(codes).toEqual(new Set(['not-elf', 'truncated']));
    expect(await outcome(bytes.subarray(0, end))).toBe('ok');
  });

  it('a note whose size runs past its segment, a huge p_align, a huge phnum', async () => {
    const bytes = good();
    const { notes } = await readElfNotes(bufferSource(bytes));
    const vigil = notes.find((n) => n.owner === 'Vigil')!;
    const badDesc = Buffer.from(bytes);
    badDesc.writeUInt32LE(0xfffffff0, vigil.offset + 4);
    expect(await outcome(badDesc)).toBe('bad-note');

    const phoff = Number(bytes.readBigUInt64LE(32));
    const phnum = bytes.readUInt16LE(56);
    const badAlign = Buffer.from(bytes);
    for (let i = 0; i < phnum; i++)
      if (badAlign.readUInt32LE(phoff + i * 56) === 4)
        badAlign.writeBigUInt64LE(16n, phoff + i * 56 + 48);
    expect(await outcome(badAlign)).toBe('bad-note');

    const badCount = Buffer.from(bytes);
    badCount.writeUInt16LE(0xfff0, 56);
    expect(await outcome(badCount)).toBe('truncated');

    const badOffset = Buffer.from(bytes);
    badOffset.writeBigUInt64LE(0xffffffffffffff00n, 32);
    expect(await outcome(badOffset)).toBe('bad-program-headers');
  });

  it('a watermark descriptor cut short or without its four strings', () => {
    expect(() => parseWatermark(WM_ID)).toThrow(ElfError);
    expect(() => parseWatermark(wmDesc('pkg\0ver\0who\0no-terminator'))).toThrow(
      /package, version, builder and time/,
    );
    expect(parseWatermark(wmDesc('p\0v\0b\0t\0trailing')).time).toBe('t');
  });

  it('random corruption of the headers and notes (2,000 copies, seeded)', async () => {
    const bytes = good();
    let seed = 0x5eed;
    const random = () => {
      // xorshift32: the same copies on every run.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    const codes = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(bytes);
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++)
        copy[Math.floor(random() * 0x420)] = Math.floor(random() * 256);
      const code = await outcome(copy);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.get('ok')).toBeGreaterThan(0);
    expect([...codes.keys()].filter((c) => c !== 'ok').length).toBeGreaterThan(1);
  });
});

import { open, type FileHandle } from 'node:fs/promises';
import { PermanentError } from '@vigil/pipeline/errors';

/**
 * Reads the notes of an ELF file from its program headers (PT_NOTE segments, by file offset), the way
 * the dynamic loader and `readelf -n` on a linked file see them: every PT_NOTE segment, each note
 * padded to 4 bytes, or to 8 in a segment whose p_align is 8 (gABI; binutils' readelf and glibc do
 * the same). ELF32 and ELF64, little and big endian. Only headers and note segments are read.
 */

/** Owner and type of the Vigil watermark note (preload/tools/vigil-sign, preload/src/notes.c). */
export const WATERMARK_NOTE_OWNER = 'Vigil';
export const WATERMARK_NOTE_TYPE = 0x56470001;
/** Owner and type of the GNU build-id note. */
export const BUILD_ID_NOTE_OWNER = 'GNU';
export const BUILD_ID_NOTE_TYPE = 3;

/** Largest note segment read; larger ones are refused, not allocated. */
export const MAX_NOTE_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Most program headers read (PN_XNUM allows more; no real file has that many). */
export const MAX_PROGRAM_HEADERS = 65_535 * 4;

const PT_NOTE = 4;
const PN_XNUM = 0xffff;

/** Why an ELF file could not be read. */
export type ElfErrorCode =
  'not-elf' | 'unsupported' | 'truncated' | 'bad-program-headers' | 'bad-note' | 'bad-watermark';

/** The input is not an ELF file whose notes can be read. Permanent: the same bytes fail the same way. */
export class ElfError extends PermanentError {
  readonly code: ElfErrorCode;
  constructor(code: ElfErrorCode, message: string, cause?: unknown) {
    super(message, { errorType: 'codec', cause });
    this.code = code;
  }
}

/** One note as found in a PT_NOTE segment. */
export interface ElfNote {
  /** Owner name without its terminating NUL, as Latin-1 text. */
  readonly owner: string;
  readonly type: number;
  readonly desc: Buffer;
  /** Index of the PT_NOTE segment among the PT_NOTE segments (0 = first), and its file offset. */
  readonly segment: number;
  readonly offset: number;
}

/** A Vigil watermark: the note's descriptor decoded. */
export interface Watermark {
  /** The 16 raw bytes of the watermark id. */
  readonly id: Buffer;
  readonly package: string;
  readonly version: string;
  readonly builder: string;
  /** When vigil-sign wrote the object (ISO 8601 UTC, as written). */
  readonly time: string;
}

/** What {@link readElfNotes} finds. */
export interface ElfNotes {
  readonly elfClass: 32 | 64;
  readonly endian: 'little' | 'big';
  readonly notes: readonly ElfNote[];
  /** The first GNU build-id note's descriptor, if any. */
  readonly buildId: Buffer | undefined;
  /** Every Vigil watermark note, in file order. */
  readonly watermarks: readonly Watermark[];
}

/** Random access to the bytes of a file or buffer; `read` may return fewer bytes at the end. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** A {@link ByteSource} over bytes in memory. */
export function bufferSource(bytes: Uint8Array): ByteSource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buffer.length,
    read: (offset, length) => Promise.resolve(buffer.subarray(offset, offset + length)),
  };
}

/** Decodes a watermark note's descriptor: 16-byte id, then package, version, builder, time, each NUL-terminated. */
export function parseWatermark(desc: Uint8Array): Watermark {
  if (desc.length < 16 + 4)
    throw new ElfError('bad-watermark', `reading watermark: descriptor of ${desc.length} bytes`);
  const text = Buffer.from(desc.buffer, desc.byteOffset + 16, desc.byteLength - 16);
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length && fields.length < 4; i++) {
    if (text[i] === 0) {
      fields.push(text.toString('utf8', start, i));
      start = i + 1;
    }
  }
  if (fields.length < 4)
    throw new ElfError(
      'bad-watermark',
      'reading watermark: expected package, version, builder and time, each NUL-terminated',
    );
  return {
    id: Buffer.from(desc.subarray(0, 16)),
    package: fields[0]!,
    version: fields[1]!,
    builder: fields[2]!,
    time: fields[3]!,
  };
}

interface Reader {
  u16(b: Buffer, at: number): number;
  u32(b: Buffer, at: number): number;
  /** A 32- or 64-bit address-sized value as a number; ElfError when it exceeds 2^53. */
  word(b: Buffer, at: number, what: string): number;
}

function readerOf(elfClass: 32 | 64, endian: 'little' | 'big'): Reader {
  const le = endian === 'little';
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  return {
    u16: (b, at) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at)),
    u32,
    word(b, at, what) {
      if (elfClass === 32) return u32(b, at);
      const value = le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at);
      if (value > BigInt(Number.MAX_SAFE_INTEGER))
        throw new ElfError('bad-program-headers', `reading ELF: ${what} out of range`);
      return Number(value);
    },
  };
}

async function readExactly(
  source: ByteSource,
  offset: number,
  length: number,
  what: string,
): Promise<Buffer> {
  if (offset < 0 || length < 0 || offset + length > source.size)
    throw new ElfError(
      'truncated',
      `reading ELF: ${what} (${length} bytes at ${offset}) runs past the end of the ${source.size}-byte file`,
    );
  const bytes = await source.read(offset, length);
  if (bytes.length !== length)
    throw new ElfError('truncated', `reading ELF: ${what}: short read at ${offset}`);
  return bytes;
}

const alignUp = (n: number, align: number) => Math.ceil(n / align) * align;

/** The notes of one PT_NOTE segment's bytes. Throws ElfError when a note runs past the segment. */
function notesOfSegment(
  bytes: Buffer,
  r: Reader,
  align: number,
  segment: number,
  fileOffset: number,
): ElfNote[] {
  const notes: ElfNote[] = [];
  let at = 0;
  // Like readelf: a tail shorter than a note header is padding, not a note.
  while (at + 12 <= bytes.length) {
    const namesz = r.u32(bytes, at);
    const descsz = r.u32(bytes, at + 4);
    const type = r.u32(bytes, at + 8);
    const nameAt = at + 12;
    // Aligned from the note's start (binutils' ELF_NOTE_DESC_OFFSET): with 8, a 4-byte name is
    // followed directly by the descriptor at 16.
    const descAt = at + alignUp(12 + namesz, align);
    if (descAt > bytes.length || descAt + descsz > bytes.length)
      throw new ElfError(
        'bad-note',
        `reading notes: note at ${fileOffset + at} (name ${namesz} bytes, descriptor ${descsz} bytes) runs past its ${bytes.length}-byte segment`,
      );
    let nameEnd = nameAt + namesz;
    while (nameEnd > nameAt && bytes[nameEnd - 1] === 0) nameEnd--;
    notes.push({
      owner: bytes.toString('latin1', nameAt, nameEnd),
      type,
      desc: Buffer.from(bytes.subarray(descAt, descAt + descsz)),
      segment,
      offset: fileOffset + at,
    });
    at = at + alignUp(descAt - at + descsz, align);
  }
  return notes;
}

/**
 * Reads every note of every PT_NOTE segment of an ELF file, and picks out the GNU build-id and the
 * Vigil watermarks. Throws ElfError for input that is not ELF, is truncated, or whose headers or
 * notes are inconsistent; never reads outside the source. Rejects with the source's own error when
 * a read fails.
 */
export async function readElfNotes(source: ByteSource): Promise<ElfNotes> {
  const ident = await readExactly(source, 0, Math.min(source.size, 64), 'ELF header');
  if (ident.length < 16 || ident.readUInt32BE(0) !== 0x7f454c46)
    throw new ElfError('not-elf', 'reading ELF: not an ELF file (bad magic)');
  const elfClass = ident[4] === 1 ? 32 : ident[4] === 2 ? 64 : undefined;
  const endian = ident[5] === 1 ? 'little' : ident[5] === 2 ? 'big' : undefined;
  if (!elfClass || !endian)
    throw new ElfError(
      'unsupported',
      `reading ELF: unknown class ${ident[4]} or data encoding ${ident[5]}`,
    );
  const headerSize = elfClass === 64 ? 64 : 52;
  if (ident.length < headerSize)
    throw new ElfError('truncated', `reading ELF: header cut at ${ident.length} bytes`);
  const r = readerOf(elfClass, endian);
  const phoff = r.word(ident, elfClass === 64 ? 32 : 28, 'e_phoff');
  const shoff = r.word(ident, elfClass === 64 ? 40 : 32, 'e_shoff');
  const phentsize = r.u16(ident, elfClass === 64 ? 54 : 42);
  let phnum = r.u16(ident, elfClass === 64 ? 56 : 44);
  const phdrSize = elfClass === 64 ? 56 : 32;

  if (phnum === PN_XNUM) {
    // More headers than fit in e_phnum: the count is sh_info of section header 0 (gABI).
    const shdr0 = await readExactly(source, shoff, elfClass === 64 ? 64 : 40, 'section header 0');
    phnum = r.u32(shdr0, elfClass === 64 ? 44 : 28);
  }
  const notes: ElfNote[] = [];
  if (phnum > 0 && phoff > 0) {
    if (phentsize < phdrSize)
      throw new ElfError(
        'bad-program-headers',
        `reading ELF: program header entry size ${phentsize}, expected at least ${phdrSize}`,
      );
    if (phnum > MAX_PROGRAM_HEADERS)
      throw new ElfError('bad-program-headers', `reading ELF: ${phnum} program headers`);
    const table = await readExactly(source, phoff, phnum * phentsize, 'program header table');
    let segment = 0;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (r.u32(table, at) !== PT_NOTE) continue;
      const offset = r.word(table, at + (elfClass === 64 ? 8 : 4), 'p_offset');
      const filesz = r.word(table, at + (elfClass === 64 ? 32 : 16), 'p_filesz');
      const pAlign = r.word(table, at + (elfClass === 64 ? 48 : 28), 'p_align');
      // gABI: 4-byte padding, 8 in segments aligned to 8 (.note.gnu.property, vigil-sign --align 8).
      // readelf treats 0..4 as 4 and reports anything else as corrupt; so do we.
      if (pAlign !== 8 && pAlign > 4)
        throw new ElfError(
          'bad-note',
          `reading notes: PT_NOTE segment ${segment} has alignment ${pAlign}, expected 4 or 8`,
        );
      if (filesz > MAX_NOTE_SEGMENT_BYTES)
        throw new ElfError(
          'bad-note',
          `reading notes: PT_NOTE segment ${segment} of ${filesz} bytes (limit ${MAX_NOTE_SEGMENT_BYTES})`,
        );
      const bytes = await readExactly(source, offset, filesz, `PT_NOTE segment ${segment}`);
      notes.push(...notesOfSegment(bytes, r, pAlign === 8 ? 8 : 4, segment, offset));
      segment++;
    }
  }
  const buildId = notes.find(
    (n) => n.owner === BUILD_ID_NOTE_OWNER && n.type === BUILD_ID_NOTE_TYPE,
  )?.desc;
  const watermarks = notes
    .filter((n) => n.owner === WATERMARK_NOTE_OWNER && n.type === WATERMARK_NOTE_TYPE)
    .map((n) => parseWatermark(n.desc));
  return { elfClass, endian, notes, buildId, watermarks };
}

/** A {@link ByteSource} over an open file of `size` bytes; reads may come back short at its end. */
export function fileSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
  };
}

/**
 * {@link readElfNotes} on a file, reading only its headers and note segments. Rejects with the
 * file system's error when the file cannot be opened or read, ElfError for bad contents.
 */
export async function readElfNotesOfFile(path: string): Promise<ElfNotes> {
  const handle = await open(path, 'r');
  try {
    return await readElfNotes(fileSource(handle, (await handle.stat()).size));
  } finally {
    await handle.close();
  }
}

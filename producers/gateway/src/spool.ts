import {
  rename as renameAsync,
  writeFile as writeFileAsync,
  close as closeAsync,
  fsync as fsyncAsync,
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The gateway's write-ahead queue: every accepted event is appended here before it goes to Kafka,
 * so neither a Kafka outage nor a gateway crash loses it. Segment files of checksummed records
 * [Fluent Bit filesystem buffering, Vector disk buffer v2]:
 *
 *   <dir>/<16-digit number>.seg   records: uint32 BE length | uint32 BE crc32(payload) | payload
 *   <dir>/cursor.json             {"segment": n, "offset": o}: everything before it is in Kafka
 *
 * A restart replays from the cursor (events between the last cursor write and the crash are sent
 * again: at-least-once). A torn record at the end of the last segment (crash mid-write) is cut
 * off; a corrupt record elsewhere ends its segment's replay and is counted.
 *
 * All calls are synchronous: a small buffered write per event-loop turn is cheaper and simpler than
 * juggling async writes, and keeps the order of records without locks.
 */

/** One event as the spool keeps it. */
export interface SpoolRecord {
  /** The family's transport byte. */
  readonly familyId: number;
  readonly key: string;
  /** Where it came from: "udp:10.0.0.5:40000", "unix", "tcp:…". */
  readonly peer: string;
  /** Wall clock of receipt, milliseconds since the epoch (fractional). */
  readonly receivedAtMs: number;
  /** The record value, unchanged. */
  readonly value: Uint8Array;
}

/** A record read back, with the spool position just after it. */
export interface SpooledRecord extends SpoolRecord {
  /** Bytes the record takes on disk (header included). */
  readonly size: number;
  /** True when the record was already in the spool when this process started or before a failure. */
  readonly replay: boolean;
}

/** What `read` returns: records in order, and the position to `ack` once they are in Kafka. */
export interface SpoolBatch {
  readonly records: readonly SpooledRecord[];
  readonly end: SpoolPosition;
  readonly bytes: number;
}

export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface SpoolConfig {
  readonly dir: string;
  /**
   * Bound of the bytes not yet in Kafka; appends beyond it are refused (drop newest). The files can
   * exceed it by the acknowledged parts of the oldest and newest segments.
   */
  readonly maxBytes: number;
  readonly segmentBytes: number;
  /** `always`: fsync every flush; `interval`: at most every `fsyncIntervalMs`; `never`: the OS decides. */
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
}

export interface SpoolStats {
  /** Bytes not yet acknowledged by Kafka (on disk and buffered). */
  readonly backlogBytes: number;
  /** Bytes appended but not yet handed to `read`. */
  readonly unreadBytes: number;
  /**
   * Total size of the segment files plus the write buffer. At most `maxBytes` plus the acknowledged
   * parts of the oldest and the newest segment (deleted whole, once passed).
   */
  readonly diskBytes: number;
  /** Records found corrupt (bad checksum or length) and skipped since open. */
  readonly corruptRecords: number;
  /** Bytes of a torn last record cut off at open. */
  readonly truncatedBytes: number;
}

/** The on-disk queue. Not safe for two processes: the gateway holds one spool directory. */
export interface Spool {
  /**
   * Buffers one record for the next flush. Returns false, without writing, when the spool is full
   * (the caller counts the drop). Never blocks, never throws for a full disk: a failed write is
   * reported by `flush`.
   */
  append(record: SpoolRecord): boolean;
  /**
   * Buffers encoded records (laid out by {@link writeSpoolRecord}, back to back) for the next flush:
   * the UDP thread encodes whole batches, so the main thread only copies them. Records that would
   * take the backlog past `maxBytes` are refused (drop newest) and returned, each as its payload
   * ({@link decodeSpoolPayload} reads it), for the caller to count. Never blocks.
   */
  appendEncoded(records: Buffer): Buffer[];
  /**
   * Writes buffered records to the current segment (and fsyncs per policy); returns how many were
   * written (from then on they survive a crash of the process). Throws on I/O errors.
   */
  flush(): number;
  /** Up to `maxRecords`/`maxBytes` records after the read position (flushes first); empty when none. */
  read(maxRecords: number, maxBytes: number): SpoolBatch;
  /** Everything up to `end` is in Kafka: advance the cursor, delete finished segments. */
  ack(batch: SpoolBatch): void;
  /**
   * Kafka is back after an absence: every record not read yet was queued during it, and is
   * flagged `replay` when read (the replayed-events metric).
   */
  markReplay(): void;
  stats(): SpoolStats;
  /** Flushes, fsyncs, writes the cursor and closes files. The spool is unusable afterwards. */
  close(): void;
}

const RECORD_HEADER = 8;
/** A length beyond this cannot be ours: the segment is corrupt from there on. */
const MAX_RECORD_BYTES = 2 * 1024 * 1024;
const SEGMENT_SUFFIX = '.seg';
const WRITE_BUFFER_BYTES = 256 * 1024;
const CURSOR_WRITE_INTERVAL_MS = 100;

const segmentName = (n: number) => `${String(n).padStart(16, '0')}${SEGMENT_SUFFIX}`;

/**
 * Room a record needs on disk at most: header, fixed fields, key and peer at UTF-8's worst case
 * (each cut to 65,535 bytes), value. Pure.
 */
export function spoolRecordBound(record: Omit<SpoolRecord, 'value'>, valueLength: number): number {
  return (
    RECORD_HEADER +
    13 +
    Math.min(3 * record.key.length, 0xffff) +
    Math.min(3 * record.peer.length, 0xffff) +
    valueLength
  );
}

/**
 * Writes one on-disk record into `target` at `offset` and returns the offset after it:
 *   uint32 BE length | uint32 BE crc32(payload) | payload
 *   payload: uint8 family | float64 BE receivedAtMs | uint16 key length | key | uint16 peer length | peer | value
 * Key and peer are cut (at a character boundary) to 65,535 bytes. `target` needs
 * {@link spoolRecordBound} bytes of room. In place, so a batch of records costs no allocation.
 */
export function writeSpoolRecord(target: Buffer, offset: number, record: SpoolRecord): number {
  const start = offset + RECORD_HEADER;
  target[start] = record.familyId;
  target.writeDoubleBE(record.receivedAtMs, start + 1);
  let o = writeShortText(target, start + 9, record.key);
  o = writeShortText(target, o, record.peer);
  target.set(record.value, o);
  o += record.value.length;
  target.writeUInt32BE(o - start, offset);
  target.writeUInt32BE(crc32(target.subarray(start, o)), offset + 4);
  return o;
}

/** uint16 BE length | UTF-8 text cut at a character boundary to 65,535 bytes; the offset after it. */
function writeShortText(target: Buffer, offset: number, text: string): number {
  const length = target.write(
    text,
    offset + 2,
    Math.min(0xffff, target.length - offset - 2),
    'utf8',
  );
  target.writeUInt16BE(length, offset);
  return offset + 2 + length;
}

/** One on-disk record in a buffer of its own. Pure. */
export function encodeSpoolRecord(record: SpoolRecord): Buffer {
  const out = Buffer.allocUnsafe(spoolRecordBound(record, record.value.length));
  return out.subarray(0, writeSpoolRecord(out, 0, record));
}

/** A record's payload (after length and checksum) back to its fields; undefined when malformed. Pure. */
export function decodeSpoolPayload(payload: Buffer): SpoolRecord | undefined {
  const record = decodeSpooled(payload, 0, false);
  if (!record) return undefined;
  const { familyId, receivedAtMs, key, peer, value } = record;
  return { familyId, receivedAtMs, key, peer, value };
}

/** {@link decodeSpoolPayload} with the fields a read adds, in one object (the read's hot path). */
function decodeSpooled(payload: Buffer, size: number, replay: boolean): SpooledRecord | undefined {
  if (payload.length < 13) return undefined;
  const familyId = payload.readUInt8(0);
  const receivedAtMs = payload.readDoubleBE(1);
  const keyLength = payload.readUInt16BE(9);
  if (11 + keyLength + 2 > payload.length) return undefined;
  const key = payload.toString('utf8', 11, 11 + keyLength);
  const peerLength = payload.readUInt16BE(11 + keyLength);
  const valueStart = 13 + keyLength + peerLength;
  if (valueStart > payload.length) return undefined;
  const peer = payload.toString('utf8', 13 + keyLength, valueStart);
  return {
    familyId,
    receivedAtMs,
    key,
    peer,
    value: payload.subarray(valueStart),
    size,
    replay,
  };
}

interface ScanResult {
  /** Offset after the last whole, valid record. */
  readonly validEnd: number;
  readonly corrupt: boolean;
}

/** Walks a segment's records to find where the valid ones end. */
function scanSegment(fd: number, from: number, size: number): ScanResult {
  const header = Buffer.allocUnsafe(RECORD_HEADER);
  let offset = from;
  let payload = Buffer.allocUnsafe(64 * 1024);
  while (offset + RECORD_HEADER <= size) {
    readSync(fd, header, 0, RECORD_HEADER, offset);
    const length = header.readUInt32BE(0);
    if (length > MAX_RECORD_BYTES) return { validEnd: offset, corrupt: true };
    if (offset + RECORD_HEADER + length > size) return { validEnd: offset, corrupt: false };
    if (payload.length < length) payload = Buffer.allocUnsafe(length);
    readSync(fd, payload, 0, length, offset + RECORD_HEADER);
    if (crc32(payload.subarray(0, length)) !== header.readUInt32BE(4))
      return { validEnd: offset, corrupt: true };
    offset += RECORD_HEADER + length;
  }
  return { validEnd: offset, corrupt: false };
}

/**
 * Opens (creating if needed) the spool in `config.dir` and recovers its state: the cursor, the
 * segments after it, and the valid end of the last one (a torn tail is truncated).
 * @throws on I/O errors (a directory that cannot be created or read): the gateway cannot start.
 */
export function openSpool(
  config: SpoolConfig,
  now: () => number = Date.now,
  /** Called with the number of records each write put in the file (the spooled-events metric). */
  onWritten: (records: number) => void = () => undefined,
): Spool {
  mkdirSync(config.dir, { recursive: true });
  const cursorFile = join(config.dir, 'cursor.json');
  let cursor: SpoolPosition = { segment: 0, offset: 0 };
  try {
    const parsed = JSON.parse(readFileSync(cursorFile, 'utf8')) as Partial<SpoolPosition>;
    if (Number.isSafeInteger(parsed.segment) && Number.isSafeInteger(parsed.offset)) {
      cursor = { segment: parsed.segment!, offset: parsed.offset! };
    }
  } catch {
    // No cursor yet (a fresh spool) or a torn one: start from the oldest segment.
  }

  /** Segment number → size on disk, oldest first. */
  const segments = new Map<number, number>();
  for (const name of readdirSync(config.dir).sort()) {
    if (!name.endsWith(SEGMENT_SUFFIX)) continue;
    const n = Number(name.slice(0, -SEGMENT_SUFFIX.length));
    if (!Number.isSafeInteger(n)) continue;
    if (n < cursor.segment) {
      unlinkSync(join(config.dir, name)); // acknowledged before the crash, not yet deleted
      continue;
    }
    segments.set(n, statSync(join(config.dir, name)).size);
  }
  if (segments.size > 0 && !segments.has(cursor.segment))
    cursor = { segment: Math.min(...segments.keys()), offset: 0 };

  let corruptRecords = 0;
  let truncatedBytes = 0;
  // Only the last segment can end in a torn write; cut it back to its last whole record.
  let writeSegment = segments.size > 0 ? Math.max(...segments.keys()) : cursor.segment;
  let writeFd = openSync(join(config.dir, segmentName(writeSegment)), 'a+');
  {
    const size = fstatSync(writeFd).size;
    const from = writeSegment === cursor.segment ? Math.min(cursor.offset, size) : 0;
    const scan = scanSegment(writeFd, from, size);
    if (scan.validEnd < size) {
      truncatedBytes = size - scan.validEnd;
      if (scan.corrupt) corruptRecords++;
      ftruncateSync(writeFd, scan.validEnd);
    }
    segments.set(writeSegment, scan.validEnd);
  }
  let writeSize = segments.get(writeSegment)!;

  let diskBytes = [...segments.values()].reduce((a, b) => a + b, 0);
  let backlogBytes = diskBytes - (segments.has(cursor.segment) ? cursor.offset : 0);
  /** Bytes at the start of the replay that were there before this process. */
  let replayBytes = backlogBytes;
  let unreadBytes = backlogBytes;

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let pendingRecords = 0;
  let lastFsync = now();
  let dirty = false;
  let lastCursorWrite = 0;
  let cursorDirty = false;

  let readPos: SpoolPosition = { ...cursor };
  let readFd: number | undefined;
  let readFdSegment = -1;

  let cursorWriting = false;
  /**
   * Persists the cursor (write a temporary file, rename it over). In the background while running,
   * so a busy disk never stalls receipt; synchronously at close. A background write finishing after
   * the final one could only move the cursor back: events sent again, never lost.
   */
  function writeCursor(force: boolean): void {
    if (!cursorDirty && !force) return;
    const text = JSON.stringify(cursor);
    if (force) {
      const tmp = `${cursorFile}.final.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, cursorFile);
      cursorDirty = false;
      return;
    }
    if (cursorWriting || now() - lastCursorWrite < CURSOR_WRITE_INTERVAL_MS) return;
    cursorWriting = true;
    cursorDirty = false;
    lastCursorWrite = now();
    const tmp = `${cursorFile}.tmp`;
    writeFileAsync(tmp, text, (error) => {
      if (error) {
        cursorWriting = false;
        cursorDirty = true;
        return;
      }
      renameAsync(tmp, cursorFile, (renameError) => {
        cursorWriting = false;
        if (renameError) cursorDirty = true;
      });
    });
  }

  /** fsyncs in flight on the thread pool, by fd; a retired fd is closed once its last one ends. */
  const fsyncsInFlight = new Map<number, number>();
  const retired = new Set<number>();

  /**
   * fsync off the main thread (interval policy): a slow disk then delays durability, not the
   * receipt of datagrams. One at a time per fd.
   */
  function fsyncInBackground(fd: number): void {
    if (fsyncsInFlight.has(fd)) return;
    fsyncsInFlight.set(fd, 1);
    fsyncAsync(fd, () => {
      fsyncsInFlight.delete(fd);
      if (retired.delete(fd)) closeAsync(fd, () => undefined);
    });
  }

  function retire(fd: number): void {
    if (config.fsync === 'always') fsyncSync(fd);
    if (config.fsync === 'interval') fsyncInBackground(fd);
    if (fsyncsInFlight.has(fd)) retired.add(fd);
    else closeSync(fd);
  }

  function roll(): void {
    retire(writeFd);
    writeSegment++;
    writeFd = openSync(join(config.dir, segmentName(writeSegment)), 'a+');
    writeSize = 0;
    segments.set(writeSegment, 0);
  }

  function flush(): number {
    const written = pendingRecords;
    if (pending.length > 0) {
      let start = 0;
      while (start < pending.length) {
        if (writeSize > 0 && writeSize + pending[start]!.length > config.segmentBytes) roll();
        // Take the records that fit the current segment (at least one).
        let end = start;
        let bytes = 0;
        while (
          end < pending.length &&
          (bytes === 0 || writeSize + bytes + pending[end]!.length <= config.segmentBytes)
        ) {
          bytes += pending[end]!.length;
          end++;
        }
        const data =
          end - start === 1 ? pending[start]! : Buffer.concat(pending.slice(start, end), bytes);
        let written = 0;
        while (written < data.length)
          written += writeSync(writeFd, data, written, data.length - written, writeSize + written);
        writeSize += bytes;
        segments.set(writeSegment, writeSize);
        start = end;
      }
      pending = [];
      pendingBytes = 0;
      pendingRecords = 0;
      dirty = true;
    }
    if (
      dirty &&
      (config.fsync === 'always' ||
        (config.fsync === 'interval' && now() - lastFsync >= config.fsyncIntervalMs))
    ) {
      if (config.fsync === 'always') fsyncSync(writeFd);
      else fsyncInBackground(writeFd);
      lastFsync = now();
      dirty = false;
    }
    if (written > 0) onWritten(written);
    return written;
  }

  function openForRead(segment: number): number {
    if (readFdSegment !== segment) {
      if (readFd !== undefined) closeSync(readFd);
      readFd = openSync(join(config.dir, segmentName(segment)), 'r');
      readFdSegment = segment;
    }
    return readFd!;
  }

  function appendEncoded(records: Buffer): Buffer[] {
    let accepted = records;
    let count = 0;
    const refused: Buffer[] = [];
    if (backlogBytes + records.length <= config.maxBytes) {
      for (let o = 0; o + RECORD_HEADER <= records.length; count++)
        o += RECORD_HEADER + records.readUInt32BE(o);
    } else {
      // Full, or nearly: record by record, keeping those that still fit (drop newest).
      const kept: Buffer[] = [];
      let room = config.maxBytes - backlogBytes;
      for (let o = 0; o + RECORD_HEADER <= records.length;) {
        const end = o + RECORD_HEADER + records.readUInt32BE(o);
        if (end - o <= room) {
          kept.push(records.subarray(o, end));
          room -= end - o;
        } else refused.push(records.subarray(o + RECORD_HEADER, end));
        o = end;
      }
      count = kept.length;
      accepted = Buffer.concat(kept);
    }
    if (accepted.length === 0) return refused;
    pending.push(accepted);
    pendingBytes += accepted.length;
    pendingRecords += count;
    diskBytes += accepted.length;
    backlogBytes += accepted.length;
    unreadBytes += accepted.length;
    if (pendingBytes >= WRITE_BUFFER_BYTES) flush();
    return refused;
  }

  return {
    append(record) {
      return appendEncoded(encodeSpoolRecord(record)).length === 0;
    },

    appendEncoded,

    flush,

    read(maxRecords, maxBytes) {
      flush();
      const records: SpooledRecord[] = [];
      let bytes = 0;
      while (records.length < maxRecords && bytes < maxBytes && unreadBytes > 0) {
        const size = segments.get(readPos.segment);
        if (size === undefined || readPos.offset >= size) {
          if (readPos.segment >= writeSegment) break;
          // Move to the next segment that exists.
          const next = [...segments.keys()]
            .filter((n) => n > readPos.segment)
            .sort((a, b) => a - b)[0];
          if (next === undefined) break;
          if (size !== undefined) unreadBytes -= Math.max(0, size - readPos.offset);
          readPos = { segment: next, offset: 0 };
          continue;
        }
        const fd = openForRead(readPos.segment);
        // A chunk of its own per read: the records are views into it (no copy each), alive until
        // their batch is acknowledged. Sized for the batch; a larger first record is read again whole.
        let want = Math.min(size - readPos.offset, Math.max(maxBytes, RECORD_HEADER));
        let chunk = Buffer.allocUnsafe(want);
        let got = readSync(fd, chunk, 0, want, readPos.offset);
        if (got >= RECORD_HEADER) {
          const first = RECORD_HEADER + chunk.readUInt32BE(0);
          if (first > got && first <= MAX_RECORD_BYTES + RECORD_HEADER) {
            want = Math.min(size - readPos.offset, first);
            chunk = Buffer.allocUnsafe(want);
            got = readSync(fd, chunk, 0, want, readPos.offset);
          }
        }
        let o = 0;
        let stop = false;
        while (records.length < maxRecords && bytes < maxBytes) {
          if (o + RECORD_HEADER > got) break;
          const length = chunk.readUInt32BE(o);
          const whole = RECORD_HEADER + length;
          const corrupt = length > MAX_RECORD_BYTES || readPos.offset + o + whole > size;
          if (!corrupt && o + whole > got) break; // continues with the next chunk
          const payload = corrupt ? undefined : chunk.subarray(o + RECORD_HEADER, o + whole);
          const record =
            payload && crc32(payload) === chunk.readUInt32BE(o + 4)
              ? decodeSpooled(payload, whole, replayBytes > 0)
              : undefined;
          if (!record) {
            // The rest of this segment cannot be trusted: skip to its end.
            corruptRecords++;
            unreadBytes -= size - (readPos.offset + o);
            readPos = { segment: readPos.segment, offset: size };
            stop = true;
            break;
          }
          records.push(record);
          if (replayBytes > 0) replayBytes = Math.max(0, replayBytes - whole);
          bytes += whole;
          unreadBytes -= whole;
          o += whole;
        }
        if (!stop) readPos = { segment: readPos.segment, offset: readPos.offset + o };
        if (o === 0 && !stop) break; // nothing whole to read (cannot happen with whole flushed records)
      }
      return { records, end: readPos, bytes };
    },

    ack(batch) {
      if (
        batch.records.length === 0 &&
        batch.end.segment === cursor.segment &&
        batch.end.offset === cursor.offset
      )
        return;
      // Delete every segment wholly before the new cursor.
      for (const [n, size] of segments) {
        if (n >= batch.end.segment) break;
        if (n === writeSegment) break;
        if (readFdSegment === n && readFd !== undefined) {
          closeSync(readFd);
          readFd = undefined;
          readFdSegment = -1;
        }
        unlinkSync(join(config.dir, segmentName(n)));
        segments.delete(n);
        diskBytes -= size;
      }
      backlogBytes = Math.max(0, backlogBytes - batch.bytes);
      cursor = batch.end;
      cursorDirty = true;
      writeCursor(false);
    },

    markReplay() {
      replayBytes = unreadBytes;
    },

    stats() {
      return { backlogBytes, unreadBytes, diskBytes, corruptRecords, truncatedBytes };
    },

    close() {
      flush();
      if (config.fsync !== 'never') fsyncSync(writeFd);
      writeCursor(true);
      if (fsyncsInFlight.has(writeFd)) retired.add(writeFd);
      else closeSync(writeFd);
      if (readFd !== undefined) closeSync(readFd);
    },
  };
}

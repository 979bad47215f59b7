import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  encodeSessionFrame,
  encodeSessionFrameParts,
  type DroppedReport,
  type EnvelopeContext,
} from '../encode.js';
import type { SessionEvent } from '../events.js';
import type { LateOutput } from './deferred.js';

/**
 * The gateway output: session events as length-prefixed transport messages on the gateway's unix
 * or TCP stream socket. It never makes the terminal wait: `event` only takes the event; encoding
 * and writing happen after the terminal's own I/O of that turn of the event loop (setImmediate),
 * the output bytes are not copied (a frame is written as [header, data]), and a bounded
 * in-memory spool holds what the socket cannot take (gateway slow or away, reconnecting with
 * backoff); past the bound, output and input are dropped and a `dropped` event says how much, as
 * soon as there is room again. At the end it keeps sending for `closeTimeoutMs`, then writes the
 * rest to a spool directory that the next session sends first.
 */

export interface GatewayOutputOptions {
  readonly address: { readonly path: string } | { readonly host: string; readonly port: number };
  readonly context: EnvelopeContext;
  readonly spoolMaxBytes: number;
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
  readonly closeTimeoutMs: number;
  /** Where leftovers go at the end and are picked up at the start; undefined: none. */
  readonly spoolDir?: string | undefined;
  readonly spoolDirMaxBytes?: number;
  /** Monotonic offset of now since the session start, for dropped reports. */
  readonly offsetNow: () => bigint;
}

/** What the output did, for tests and the bench. */
export interface GatewayOutputStats {
  readonly sentFrames: number;
  readonly droppedEvents: number;
  readonly droppedBytes: number;
  readonly queuedBytes: number;
  readonly connected: boolean;
}

export interface GatewayOutput extends LateOutput {
  stats(): GatewayOutputStats;
}

/** Bytes held in the socket's own buffer before the queue stops handing it more. */
const SOCKET_HIGH_WATER = 256 * 1024;
const SPOOL_SUFFIX = '.vgs';

export function createGatewayOutput(options: GatewayOutputOptions): GatewayOutput {
  /** Whole frames, each as the buffers to write in order. */
  const queue: Buffer[][] = [];
  let queuedBytes = 0;
  /** Events taken but not yet encoded (this turn of the event loop). */
  let incoming: SessionEvent[] = [];
  let processScheduled = false;
  let sequence = 0n;
  let socket: Socket | undefined;
  let connected = false;
  let closing = false;
  let closed = false;
  let backoff = options.reconnectInitialMs;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let sentFrames = 0;
  let droppedEvents = 0;
  let droppedBytes = 0;
  // A run of drops not yet reported.
  let lossEvents = 0n;
  let lossBytes = 0n;
  let lossReason: DroppedReport['reason'] = 'spool_full';
  let drainWaiter: (() => void) | undefined;

  // Leftovers of earlier sessions go first (they are whole frames, already numbered).
  const leftovers = options.spoolDir ? takeLeftovers(options.spoolDir, options.spoolMaxBytes) : [];
  for (const frames of leftovers) {
    queue.push([frames]);
    queuedBytes += frames.length;
  }

  const sizeOf = (parts: readonly Buffer[]): number =>
    parts.length === 1 ? parts[0]!.length : parts.reduce((sum, part) => sum + part.length, 0);

  function enqueue(parts: Buffer[], force: boolean): boolean {
    const size = sizeOf(parts);
    if (!force && queuedBytes + size > options.spoolMaxBytes) return false;
    queue.push(parts);
    queuedBytes += size;
    return true;
  }

  function pump(): void {
    if (!socket || !connected) return;
    if (queue.length > 0 && socket.writableLength < SOCKET_HIGH_WATER) {
      // One writev for everything handed over now.
      socket.cork();
      while (queue.length > 0 && socket.writableLength < SOCKET_HIGH_WATER) {
        const parts = queue.shift()!;
        queuedBytes -= sizeOf(parts);
        sentFrames++;
        for (let i = 0; i < parts.length; i++)
          socket.write(parts[i]!, i === parts.length - 1 ? afterWrite : undefined);
      }
      socket.uncork();
    }
    if (queue.length === 0 && socket.writableLength === 0) drainWaiter?.();
  }

  /** At the end, resolves the wait as soon as the last frame has left (a write that did not fill
   * the socket's buffer is followed by no 'drain'). */
  function afterWrite(): void {
    if (drainWaiter && queue.length === 0 && socket?.writableLength === 0) drainWaiter();
  }

  function take(event: SessionEvent): void {
    const control = event.type === 'start' || event.type === 'exit';
    if (event.type === 'output-lost') {
      // Lost before any event carried it: bytes, no sequence gap.
      countLoss(0, event.bytes, 'relay_behind');
      return reportLoss();
    }
    if (lossEvents > 0n && queuedBytes < options.spoolMaxBytes / 2) reportLoss();
    const seq = sequence + 1n;
    const parts = encodeSessionFrameParts(event, options.context, seq);
    if (!parts) return;
    sequence = seq;
    if (!enqueue(parts, control)) {
      // The sequence number stays used: the gap tells downstream exactly where the loss was.
      const bytes = event.type === 'output' || event.type === 'input' ? event.data.length : 0;
      countLoss(1, bytes, connected ? 'spool_full' : 'gateway_down');
    }
    if (event.type === 'exit') reportLoss();
  }

  function countLoss(events: number, bytes: number, reason: DroppedReport['reason']): void {
    lossEvents += BigInt(events);
    lossBytes += BigInt(bytes);
    lossReason = reason;
    droppedEvents += events;
    droppedBytes += bytes;
  }

  /** Encodes and queues what was taken, then hands the socket what it can take. */
  function processIncoming(): void {
    processScheduled = false;
    const events = incoming;
    incoming = [];
    const corked = connected ? socket : undefined;
    corked?.cork(); // one writev for the frames of this turn
    for (const event of events) {
      take(event);
      pump();
    }
    corked?.uncork();
  }

  function reportLoss(): void {
    if (lossEvents === 0n && lossBytes === 0n) return;
    const report: DroppedReport = {
      type: 'dropped',
      offsetNs: options.offsetNow(),
      bytes: lossBytes,
      events: lossEvents,
      reason: lossReason,
    };
    lossEvents = 0n;
    lossBytes = 0n;
    enqueue([encodeSessionFrame(report, options.context, ++sequence)!], true);
  }

  function open(): void {
    if (closed) return;
    const s =
      'path' in options.address
        ? connect(options.address.path)
        : connect(options.address.port, options.address.host);
    socket = s;
    s.setNoDelay?.(true);
    s.on('connect', () => {
      connected = true;
      backoff = options.reconnectInitialMs;
      pump();
    });
    s.on('drain', pump);
    s.on('error', () => {
      // Reported through 'close'; the events wait in the queue.
    });
    s.on('close', () => {
      connected = false;
      if (socket === s) socket = undefined;
      if (closed) return;
      reconnectTimer = setTimeout(open, backoff);
      reconnectTimer.unref();
      backoff = Math.min(backoff * 2, options.reconnectMaxMs);
      if (closing) drainWaiter?.();
    });
  }
  open();

  return {
    event(event: SessionEvent) {
      if (closed) return;
      incoming.push(event);
      if (!processScheduled) {
        processScheduled = true;
        setImmediate(processIncoming);
      }
    },

    lost(events: number, bytes: number) {
      if (closed || events <= 0) return;
      processIncoming();
      sequence += BigInt(events);
      countLoss(events, bytes, 'spool_full');
    },

    async close() {
      if (closed) return;
      closing = true;
      processIncoming();
      reportLoss();
      pump();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.closeTimeoutMs);
        drainWaiter = () => {
          if (queue.length === 0 && (!socket || socket.writableLength === 0)) {
            clearTimeout(timer);
            resolve();
          }
        };
        pump();
        drainWaiter();
      });
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const unsent = queue.splice(0);
      queuedBytes = 0;
      if (socket) {
        // Bytes still in the socket buffer: give them the rest of the wait, then let go.
        socket.end();
        socket.unref();
      }
      if (unsent.length > 0 && options.spoolDir) {
        saveLeftovers(
          options.spoolDir,
          Buffer.concat(unsent.flat()),
          options.spoolDirMaxBytes ?? 0,
        );
      }
    },

    stats() {
      if (incoming.length > 0) processIncoming();
      return { sentFrames, droppedEvents, droppedBytes, queuedBytes, connected };
    },
  };
}

/** Writes unsent frames to a new spool file if the directory has room. Never throws. */
function saveLeftovers(dir: string, frames: Buffer, maxBytes: number): void {
  try {
    if (maxBytes <= 0) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const used = readdirSync(dir)
      .filter((name) => name.endsWith(SPOOL_SUFFIX))
      .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    if (used + frames.length > maxBytes) return;
    const name = `${Date.now()}-${randomBytes(6).toString('hex')}${SPOOL_SUFFIX}`;
    writeFileSync(join(dir, `${name}.tmp`), frames, { mode: 0o600 });
    // Renamed only when complete, so a reader never takes half a file.
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  } catch {
    // The spool directory is best effort; the session is never harmed by it.
  }
}

/** Reads and removes spool files (oldest first) up to `maxBytes`. Never throws. */
function takeLeftovers(dir: string, maxBytes: number): Buffer[] {
  const taken: Buffer[] = [];
  try {
    let total = 0;
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith(SPOOL_SUFFIX))
      .sort()) {
      const path = join(dir, name);
      const bytes = readFileSync(path);
      if (total + bytes.length > maxBytes) break;
      unlinkSync(path);
      if (isWholeFrames(bytes)) taken.push(bytes);
      total += bytes.length;
    }
  } catch {
    // No spool directory yet, or not readable: nothing to send.
  }
  return taken;
}

/** True when `bytes` is a sequence of complete length-prefixed frames. Pure. */
export function isWholeFrames(bytes: Buffer): boolean {
  let o = 0;
  while (o + 4 <= bytes.length) {
    const length = bytes.readUInt32BE(o);
    if (length === 0) return false;
    o += 4 + length;
  }
  return o === bytes.length;
}

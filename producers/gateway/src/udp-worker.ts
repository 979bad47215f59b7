import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { DRAIN_MS, whenQuiet } from './drain.js';
import { BatchBuilder, type PreparedBatch } from './prepare.js';

/**
 * The UDP receive loop, in its own thread. It does all the per-datagram work of receipt: the checks
 * (decode.ts), the Kafka key, the spool record with its checksum (prepare.ts); the main thread gets
 * whole batches of spool records to append and send, so neither its other work (encoding Kafka
 * requests, collecting garbage) lets the socket's receive buffer overflow nor does per-datagram work
 * limit what it can send. The main thread subtracts what it has processed from a shared counter;
 * beyond `maxQueueBytes` the worker drops datagrams and reports how many ('overload'), instead of
 * growing without bound.
 *
 * The socket itself is read by a small C program, relay/udp-relay.c (dist/vigil-gateway-udp-relay):
 * up to 64 datagrams per recvmmsg, written to a pipe the worker reads 64 KiB at a time. Node's dgram
 * socket costs a recvmsg, a Buffer, an rinfo object and a callback per datagram, 40 % of this thread
 * at 50,000 datagrams/s. When the relay is missing or cannot bind, the worker reads a Node dgram
 * socket as before (the 'bound' message says which: `via`).
 */
export interface UdpWorkerData {
  readonly address: string;
  readonly port: number;
  readonly receiveBufferBytes: number;
  readonly maxQueueBytes: number;
  /** Datagrams over this size are refused ('too_large'). */
  readonly maxDatagramBytes: number;
  /** Int32Array over a SharedArrayBuffer: [0] bytes queued to the main thread. */
  readonly queued: SharedArrayBuffer;
  /**
   * The relay program; `null`: Node's dgram socket. Default: VIGIL_UDP_RELAY ("node" for
   * Node's socket, else a path), else the relay beside this file.
   */
  readonly relay?: string | null;
}

/** What the worker posts to the main thread. */
export type UdpWorkerMessage =
  | ({ type: 'batch' } & PreparedBatch)
  | { type: 'dropped'; count: number }
  | { type: 'error'; message: string }
  | { type: 'bound'; address: string; port: number; family: string; via: 'relay' | 'node' };

const data = workerData as UdpWorkerData;
const port = parentPort!;
const post = (message: UdpWorkerMessage, transfer?: ArrayBuffer[]) =>
  port.postMessage(message, transfer);
const queued = new Int32Array(data.queued);
const FLUSH_BYTES = 256 * 1024;
const batch = new BatchBuilder(FLUSH_BYTES + 128 * 1024);
let scheduled: NodeJS.Immediate | undefined;
let dropped = 0;
let received = 0;

function flush(): void {
  clearImmediate(scheduled);
  scheduled = undefined;
  if (!batch.empty) {
    const prepared = batch.take();
    Atomics.add(queued, 0, prepared.records.byteLength);
    post({ type: 'batch', ...prepared }, [prepared.records]);
  }
  if (dropped > 0) {
    post({ type: 'dropped', count: dropped });
    dropped = 0;
  }
}

/** One datagram from either reader. */
function receive(message: Uint8Array, peer: () => string): void {
  received++;
  if (Atomics.load(queued, 0) + batch.bytes > data.maxQueueBytes) {
    dropped++;
  } else {
    batch.add(message, peer(), performance.timeOrigin + performance.now(), data.maxDatagramBytes);
  }
  if (batch.bytes >= FLUSH_BYTES) flush();
  // Handed over once the event-loop turn's reads are done (up to 32 datagrams a turn at 50,000/s
  // from Node's socket, a few 64 KiB reads from the relay): waiting 2 ms for bigger batches
  // measured no less CPU and 2–3 ms more latency.
  else scheduled ??= setImmediate(flush);
}

/** Stops reading once the socket has gone quiet, hands over the last batch, ends the thread. */
let close: () => void = () => undefined;
port.on('message', (message: { type: string }) => {
  if (message.type === 'close') close();
});

// ---- Node's dgram socket ----

function readWithNode(bindPort = data.port): void {
  const type = data.address.includes(':') ? 'udp6' : 'udp4';
  const socket = createSocket({ type, ipv6Only: type === 'udp6' });
  /** "udp:<address>:<port>" by sender: the same few senders over and over, built once each. */
  const peers = new Map<string, string>();
  socket.on('message', (message, rinfo) => {
    receive(message, () => {
      const id = `${rinfo.address}:${rinfo.port}`;
      let peer = peers.get(id);
      if (peer === undefined) {
        if (peers.size >= 10_000) peers.clear();
        peer = `udp:${rinfo.family === 'IPv6' ? `[${rinfo.address}]` : rinfo.address}:${rinfo.port}`;
        peers.set(id, peer);
      }
      return peer;
    });
  });
  socket.on('error', (error) => post({ type: 'error', message: error.message }));
  close = () =>
    void whenQuiet(() => received, DRAIN_MS).then(() =>
      socket.close(() => {
        flush(); // what the last reads batched
        port.close();
      }),
    );
  socket.bind(bindPort, data.address, () => {
    if (data.receiveBufferBytes > 0) {
      try {
        socket.setRecvBufferSize(data.receiveBufferBytes);
      } catch (error) {
        post({ type: 'error', message: (error as Error).message });
      }
    }
    const bound = socket.address();
    post({ type: 'bound', ...bound, via: 'node' });
  });
}

// ---- the relay (relay/udp-relay.c) ----

/** uint32 LE length, uint8 family (4, 6; | 0x80: the bound address), 16 bytes address, uint16 LE port. */
const HEADER_BYTES = 23;
const BOUND_FLAG = 0x80;

/** An address as Node's rinfo gives it (RFC 5952: the longest run of 2+ zero groups is "::"). */
function formatAddress(bytes: Uint8Array, family: number): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

function readWithRelay(relay: string): void {
  let child: ChildProcess;
  try {
    child = spawn(relay, [data.address, String(data.port), String(data.receiveBufferBytes)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    readWithNode();
    return;
  }
  let bound = false;
  let closing = false;
  let boundPort = data.port;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    if (bound) post({ type: 'error', message: text.trim() });
    else stderr += text;
  });
  child.on('error', () => undefined); // spawn failed (no such file): 'close' follows
  /** Peers by the 19 bytes of family, address and port, as a latin1 string. */
  const peers = new Map<string, string>();
  let pending: Buffer | undefined;
  let chunk: Buffer = Buffer.alloc(0);
  let offset = 0;
  const peer = (): string => {
    const id = chunk.toString('latin1', offset + 4, offset + HEADER_BYTES);
    let name = peers.get(id);
    if (name === undefined) {
      if (peers.size >= 10_000) peers.clear();
      const family = chunk[offset + 4]!;
      const address = formatAddress(chunk.subarray(offset + 5, offset + 21), family);
      const peerPort = chunk.readUInt16LE(offset + 21);
      name = `udp:${family === 6 ? `[${address}]` : address}:${peerPort}`;
      peers.set(id, name);
    }
    return name;
  };
  child.stdout!.on('data', (read: Buffer) => {
    chunk = pending === undefined ? read : Buffer.concat([pending, read]);
    pending = undefined;
    offset = 0;
    while (chunk.length - offset >= HEADER_BYTES) {
      const length = chunk.readUInt32LE(offset);
      const end = offset + HEADER_BYTES + length;
      if (end > chunk.length) break;
      const family = chunk[offset + 4]!;
      if (family & BOUND_FLAG) {
        bound = true;
        const address = formatAddress(chunk.subarray(offset + 5, offset + 21), family & 0x7f);
        boundPort = chunk.readUInt16LE(offset + 21);
        const ipFamily = (family & 0x7f) === 6 ? 'IPv6' : 'IPv4';
        post({ type: 'bound', address, port: boundPort, family: ipFamily, via: 'relay' });
      } else {
        receive(chunk.subarray(offset + HEADER_BYTES, end), peer);
      }
      offset = end;
    }
    if (offset < chunk.length) pending = chunk.subarray(offset);
  });
  child.on('close', (code, signal) => {
    flush(); // what the last reads batched
    if (closing) port.close();
    else if (!bound)
      readWithNode(); // not built, not runnable, cannot bind: Node's socket says why
    else {
      post({
        type: 'error',
        message: `the UDP relay ended (${signal ?? `exit ${code}`}): ${stderr.trim()}; reading with Node's socket`,
      });
      readWithNode(boundPort);
    }
  });
  close = () => {
    closing = true;
    // The relay reads what the socket still holds, writes it and exits: the pipe ends ('close').
    void whenQuiet(() => received, DRAIN_MS).then(() => child.kill('SIGTERM'));
  };
}

const relay =
  data.relay !== undefined
    ? data.relay
    : process.env.VIGIL_UDP_RELAY === 'node'
      ? null
      : (process.env.VIGIL_UDP_RELAY ??
        fileURLToPath(new URL('./vigil-gateway-udp-relay', import.meta.url)));
if (relay !== null && existsSync(relay)) readWithRelay(relay);
else readWithNode();

import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { DgramSocket } from 'node-unix-socket';
import type { DropReason } from './decode.js';
import type { PreparedBatch } from './prepare.js';
import type { UdpWorkerData, UdpWorkerMessage } from './udp-worker.js';
import { DRAIN_MS, whenQuiet } from './drain.js';

/**
 * Opens the gateway's sockets and hands every message to one callback, with its peer. Datagram
 * sockets: one datagram, one message. Streams (tcp, unix): uint32 big-endian length, then the
 * message. Each stream client has its own buffer, so a slow, silent or broken client never holds
 * up another; nothing here waits for Kafka.
 */

export type ListenProtocol = 'udp' | 'unixgram' | 'tcp' | 'unix';

export interface ListenAddress {
  readonly protocol: ListenProtocol;
  /** Host for udp and tcp ("0.0.0.0", "::"), socket path for unix and unixgram. */
  readonly address: string;
  readonly port?: number;
}

/** Parses "<protocol>:<address>"; returns the problem as a string when it is not valid. Pure. */
export function parseListen(text: string): ListenAddress | string {
  const colon = text.indexOf(':');
  const protocol = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (colon < 0 || !['udp', 'unixgram', 'tcp', 'unix'].includes(protocol)) {
    return `"${text}": expected udp:<host>:<port>, tcp:<host>:<port>, unix:<path> or unixgram:<path>`;
  }
  if (protocol === 'unix' || protocol === 'unixgram') {
    if (!rest.startsWith('/')) return `"${text}": the socket path must be absolute`;
    return { protocol, address: rest };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d+)$/.exec(rest);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
    return `"${text}": expected ${protocol}:<host>:<port> (IPv6 hosts in brackets: ${protocol}:[::]:7971)`;
  }
  return { protocol: protocol as ListenProtocol, address: match[1] ?? match[2]!, port };
}

/** A framing problem on a stream; the message (if any) is dropped, the stream goes on or closes. */
export interface StreamProblem {
  readonly reason: DropReason;
  readonly detail: string;
}

/** Splits a byte stream into length-prefixed messages. Pure state machine, one per connection. */
export interface FrameSplitter {
  /** Feeds received bytes; calls `onMessage` for each whole message, `onProblem` for bad frames. */
  push(chunk: Buffer): void;
  /** Bytes of an unfinished frame held (0 when the stream is between frames). */
  readonly pendingBytes: number;
}

/**
 * A length-prefixed frame reader. A length of 0 is a problem (`too_short`); a length over
 * `maxFrameBytes` is a problem (`too_large`) whose bytes are skipped, so the stream stays in step.
 */
export function createFrameSplitter(
  maxFrameBytes: number,
  onMessage: (message: Buffer) => void,
  onProblem: (problem: StreamProblem) => void,
): FrameSplitter {
  const EMPTY = Buffer.alloc(0);
  let buffer: Buffer = EMPTY;
  let skipBytes = 0;

  return {
    push(chunk) {
      if (skipBytes > 0) {
        const skipped = Math.min(skipBytes, chunk.length);
        skipBytes -= skipped;
        chunk = chunk.subarray(skipped);
      }
      if (chunk.length === 0) return;
      buffer = buffer.length > 0 ? Buffer.concat([buffer, chunk]) : chunk;
      let o = 0;
      while (buffer.length - o >= 4) {
        const length = buffer.readUInt32BE(o);
        if (length === 0) {
          o += 4;
          onProblem({ reason: 'too_short', detail: 'a frame of length 0' });
          continue;
        }
        if (length > maxFrameBytes) {
          o += 4;
          onProblem({
            reason: 'too_large',
            detail: `a frame of ${length} bytes is over the limit of ${maxFrameBytes}`,
          });
          const skipped = Math.min(length, buffer.length - o);
          o += skipped;
          skipBytes = length - skipped;
          continue;
        }
        if (buffer.length - o < 4 + length) break;
        onMessage(buffer.subarray(o + 4, o + 4 + length));
        o += 4 + length;
      }
      buffer = o >= buffer.length ? EMPTY : buffer.subarray(o);
    },
    get pendingBytes() {
      return buffer.length; // an oversized frame being skipped was counted already
    },
  };
}

/** What the listeners report. */
export interface ListenHandlers {
  /** One message (stream frame, unix datagram) with its peer, e.g. "tcp:10.0.0.5:40000". */
  onMessage(bytes: Buffer, peer: string, protocol: ListenProtocol): void;
  /** UDP datagrams, checked and laid out as spool records by the UDP thread (prepare.ts). */
  onPrepared(batch: PreparedBatch, protocol: ListenProtocol): void;
  /** A message lost to framing, an idle or broken client: counted by the caller. */
  onProblem(problem: StreamProblem, peer: string, protocol: ListenProtocol, count?: number): void;
  /** A socket error that is not about one message (logged). */
  onError(error: Error, address: string): void;
}

export interface ListenOptions {
  readonly maxFrameBytes: number;
  readonly maxDatagramBytes: number;
  readonly receiveBufferBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  /** Bytes of UDP datagrams received but not yet processed, beyond which they are dropped ('overload'). */
  readonly maxQueueBytes: number;
}

/** An open socket; `address` is what it is bound to (the real port when 0 was asked for). */
export interface Listener {
  readonly spec: ListenAddress;
  readonly address: string;
  /** Stops receiving; open stream clients are closed (a half frame is counted as truncated). */
  close(): Promise<void>;
}

function removeStaleSocket(path: string): void {
  // A socket file left by a previous run would make bind fail with EADDRINUSE.
  if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
}

/**
 * The worker's compiled file. Under vitest this module runs from src/*.ts, where no .js exists, so
 * it uses the build output (`npm test` builds first).
 */
const UDP_WORKER = import.meta.url.endsWith('.ts')
  ? new URL('../dist/udp-worker.js', import.meta.url)
  : new URL('./udp-worker.js', import.meta.url);

function openUdp(
  spec: ListenAddress,
  options: ListenOptions,
  handlers: ListenHandlers,
): Promise<Listener> {
  const queued = new SharedArrayBuffer(4);
  const counter = new Int32Array(queued);
  const data: UdpWorkerData = {
    address: spec.address,
    port: spec.port ?? 0,
    receiveBufferBytes: options.receiveBufferBytes,
    maxQueueBytes: options.maxQueueBytes,
    maxDatagramBytes: options.maxDatagramBytes,
    queued,
  };
  const worker = new Worker(UDP_WORKER, { workerData: data });
  const name = `udp:${spec.address.includes(':') ? `[${spec.address}]` : spec.address}:${spec.port}`;
  return new Promise((resolve, reject) => {
    let bound = false;
    worker.on('error', (error) => (bound ? handlers.onError(error, name) : reject(error)));
    worker.on('message', (message: UdpWorkerMessage) => {
      if (message.type === 'batch') {
        handlers.onPrepared(message, 'udp');
        Atomics.sub(counter, 0, message.records.byteLength);
      } else if (message.type === 'dropped') {
        handlers.onProblem(
          {
            reason: 'overload',
            detail: `the gateway is ${options.maxQueueBytes} bytes behind its UDP socket`,
          },
          name,
          'udp',
          message.count,
        );
      } else if (message.type === 'error') {
        if (bound) handlers.onError(new Error(message.message), name);
        else {
          void worker.terminate();
          reject(new Error(`binding ${name}: ${message.message}`));
        }
      } else if (message.type === 'bound') {
        bound = true;
        const host = message.family === 'IPv6' ? `[${message.address}]` : message.address;
        resolve({
          spec,
          address: `udp:${host}:${message.port}`,
          close: async () => {
            worker.postMessage({ type: 'close' });
            await new Promise((done) => worker.once('exit', done));
          },
        });
      }
    });
  });
}

function openUnixgram(
  spec: ListenAddress,
  options: ListenOptions,
  handlers: ListenHandlers,
): Promise<Listener> {
  removeStaleSocket(spec.address);
  const socket = new DgramSocket();
  let received = 0;
  socket.on('data', (data: Buffer) => {
    received++;
    handlers.onMessage(data, 'unixgram', 'unixgram');
  });
  socket.on('error', (error: Error) => handlers.onError(error, `unixgram:${spec.address}`));
  socket.bind(spec.address);
  if (options.receiveBufferBytes > 0) {
    try {
      socket.setRecvBufferSize(options.receiveBufferBytes);
    } catch (error) {
      handlers.onError(error as Error, `unixgram:${spec.address}`);
    }
  }
  return Promise.resolve({
    spec,
    address: `unixgram:${spec.address}`,
    close: async () => {
      await whenQuiet(() => received, DRAIN_MS);
      socket.close();
      removeStaleSocket(spec.address);
    },
  });
}

function openStream(
  spec: ListenAddress,
  options: ListenOptions,
  handlers: ListenHandlers,
): Promise<Listener> {
  const clients = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (socket) => {
    const peer =
      spec.protocol === 'unix'
        ? 'unix'
        : `tcp:${socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]` : socket.remoteAddress}:${socket.remotePort}`;
    clients.add(socket);
    const splitter = createFrameSplitter(
      options.maxFrameBytes,
      (message) => handlers.onMessage(message, peer, spec.protocol),
      (problem) => handlers.onProblem(problem, peer, spec.protocol),
    );
    let receivedAny = false;
    socket.on('data', (chunk) => {
      receivedAny = true;
      splitter.push(chunk);
    });
    if (options.idleTimeoutMs > 0) {
      socket.setTimeout(options.idleTimeoutMs, () => {
        if (splitter.pendingBytes === 0) {
          handlers.onProblem(
            {
              reason: 'idle_client',
              detail: `${receivedAny ? 'silent' : 'sent nothing'} for ${options.idleTimeoutMs} ms`,
            },
            peer,
            spec.protocol,
          );
        }
        socket.destroy();
      });
    }
    socket.on('error', () => undefined); // a reset client is reported through 'close' below
    socket.on('close', () => {
      clients.delete(socket);
      if (splitter.pendingBytes > 0) {
        handlers.onProblem(
          {
            reason: 'truncated_frame',
            detail: `connection closed inside a frame (${splitter.pendingBytes} bytes held)`,
          },
          peer,
          spec.protocol,
        );
      }
    });
  });
  server.maxConnections = options.maxConnections;
  if (spec.protocol === 'unix') removeStaleSocket(spec.address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      server.on('error', (error) => handlers.onError(error, `${spec.protocol}:${spec.address}`));
      const bound = server.address();
      const address =
        typeof bound === 'string' || bound === null
          ? `unix:${spec.address}`
          : `tcp:${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
      resolve({
        spec,
        address,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            for (const client of clients) client.destroy();
          }),
      });
    };
    if (spec.protocol === 'unix') server.listen(spec.address, ready);
    else
      server.listen(
        { port: spec.port, host: spec.address, ipv6Only: spec.address.includes(':') },
        ready,
      );
  });
}

/**
 * Opens every address. Resolves once all are bound; if one fails, closes those already open and
 * rejects (a port in use is an operator error).
 */
export async function openListeners(
  addresses: readonly ListenAddress[],
  options: ListenOptions,
  handlers: ListenHandlers,
): Promise<Listener[]> {
  const open: Listener[] = [];
  try {
    for (const spec of addresses) {
      const opener =
        spec.protocol === 'udp'
          ? openUdp
          : spec.protocol === 'unixgram'
            ? openUnixgram
            : openStream;
      open.push(await opener(spec, options, handlers));
    }
    return open;
  } catch (error) {
    await Promise.all(open.map((listener) => listener.close()));
    throw new Error(`opening listeners: ${(error as Error).message}`, { cause: error });
  }
}

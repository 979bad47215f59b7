import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { DgramSocket } from 'node-unix-socket';
import type { DropReason } from './decode.js';

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
          onProblem({ reason: 'too_large', detail: `a frame of ${length} bytes is over the limit of ${maxFrameBytes}` });
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
  /** One message (datagram or frame) with its peer, e.g. "udp:10.0.0.5:40000". */
  onMessage(bytes: Buffer, peer: string, protocol: ListenProtocol): void;
  /** A message lost to framing, an idle or broken client: counted by the caller. */
  onProblem(problem: StreamProblem, peer: string, protocol: ListenProtocol): void;
  /** A socket error that is not about one message (logged). */
  onError(error: Error, address: string): void;
}

export interface ListenOptions {
  readonly maxFrameBytes: number;
  readonly receiveBufferBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
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

function openUdp(spec: ListenAddress, options: ListenOptions, handlers: ListenHandlers): Promise<Listener> {
  const type = spec.address.includes(':') ? 'udp6' : 'udp4';
  const socket: UdpSocket = createSocket({ type, ipv6Only: type === 'udp6', reuseAddr: false });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.on('message', (message, rinfo) => {
      const host = rinfo.family === 'IPv6' ? `[${rinfo.address}]` : rinfo.address;
      handlers.onMessage(message, `udp:${host}:${rinfo.port}`, 'udp');
    });
    socket.bind(spec.port, spec.address, () => {
      socket.off('error', reject);
      socket.on('error', (error) => handlers.onError(error, `udp:${spec.address}:${spec.port}`));
      if (options.receiveBufferBytes > 0) {
        try {
          socket.setRecvBufferSize(options.receiveBufferBytes);
        } catch (error) {
          handlers.onError(error as Error, `udp:${spec.address}:${spec.port}`);
        }
      }
      const bound = socket.address();
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve({
        spec,
        address: `udp:${host}:${bound.port}`,
        close: () => new Promise((done) => socket.close(() => done())),
      });
    });
  });
}

function openUnixgram(spec: ListenAddress, options: ListenOptions, handlers: ListenHandlers): Promise<Listener> {
  removeStaleSocket(spec.address);
  const socket = new DgramSocket();
  socket.on('data', (data: Buffer) => handlers.onMessage(data, 'unixgram', 'unixgram'));
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
      socket.close();
      removeStaleSocket(spec.address);
    },
  });
}

function openStream(spec: ListenAddress, options: ListenOptions, handlers: ListenHandlers): Promise<Listener> {
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
            { reason: 'idle_client', detail: `${receivedAny ? 'silent' : 'sent nothing'} for ${options.idleTimeoutMs} ms` },
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
          { reason: 'truncated_frame', detail: `connection closed inside a frame (${splitter.pendingBytes} bytes held)` },
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
    else server.listen({ port: spec.port, host: spec.address, ipv6Only: spec.address.includes(':') }, ready);
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
      const opener = spec.protocol === 'udp' ? openUdp : spec.protocol === 'unixgram' ? openUnixgram : openStream;
      open.push(await opener(spec, options, handlers));
    }
    return open;
  } catch (error) {
    await Promise.all(open.map((listener) => listener.close()));
    throw new Error(`opening listeners: ${(error as Error).message}`, { cause: error });
  }
}

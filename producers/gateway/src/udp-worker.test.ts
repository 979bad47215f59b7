import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { decodeSpoolPayload } from './spool.js';
import { freePort, processDatagram } from './testkit.js';
import type { UdpWorkerData, UdpWorkerMessage } from './udp-worker.js';

/** The UDP thread as listen.ts runs it (the build output: `npm test` builds first). */
const WORKER = new URL('../dist/udp-worker.js', import.meta.url);
const RELAY = fileURLToPath(new URL('../dist/vigil-gateway-udp-relay', import.meta.url));

type Bound = Extract<UdpWorkerMessage, { type: 'bound' }>;

function start(address: string, relay: string | null, port = 0) {
  const data: UdpWorkerData = {
    address,
    port,
    receiveBufferBytes: 4 * 1024 * 1024,
    maxQueueBytes: 256 * 1024 * 1024,
    maxDatagramBytes: 65_507,
    queued: new SharedArrayBuffer(4),
    relay,
  };
  const worker = new Worker(WORKER, { workerData: data });
  const records: { peer: string; key: string }[] = [];
  const errors: string[] = [];
  let received = 0;
  let failed: (message: string) => void = () => undefined;
  const failure = new Promise<string>((resolve) => (failed = resolve));
  const bound = new Promise<Bound>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: UdpWorkerMessage) => {
      if (message.type === 'bound') resolve(message);
      else if (message.type === 'error') {
        errors.push(message.message);
        failed(message.message);
      } else if (message.type === 'batch') {
        received += message.received;
        const bytes = Buffer.from(message.records);
        for (let o = 0; o < bytes.length;) {
          const length = bytes.readUInt32BE(o);
          const record = decodeSpoolPayload(bytes.subarray(o + 8, o + 8 + length))!;
          records.push({ peer: record.peer, key: record.key });
          o += 8 + length;
        }
      }
    });
  });
  return {
    bound,
    /** The first error reported. */
    failure,
    terminate: () => worker.terminate(),
    records,
    errors,
    received: () => received,
    /** Closes as listen.ts does; resolves when the thread has ended. */
    close: async () => {
      const exited = new Promise((done) => worker.once('exit', done));
      worker.postMessage({ type: 'close' });
      await exited;
    },
  };
}

function sender(type: 'udp4' | 'udp6', host: string): Promise<Socket & { port: number }> {
  const socket = createSocket(type);
  return new Promise((resolve) =>
    socket.bind(0, host, () => resolve(Object.assign(socket, { port: socket.address().port }))),
  );
}

function send(socket: Socket, bytes: Buffer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(bytes, port, host, (error) => (error ? reject(error) : resolve())),
  );
}

/** A process event of exactly `size` bytes. */
function datagramOf(size: number, producer: string): Buffer {
  let padding = size - processDatagram(0, producer).bytes.length;
  for (;;) {
    const bytes = processDatagram(0, producer, padding).bytes;
    if (bytes.length === size) return bytes;
    padding += size - bytes.length;
  }
}

describe.each([
  ['the relay', RELAY, 'relay'],
  ["Node's socket", null, 'node'],
] as const)('the UDP thread with %s', (_, relay, via) => {
  it.each([
    ['udp4', '127.0.0.1', '127.0.0.1'],
    ['udp6', '::1', '[::1]'],
  ] as const)(
    'receives %s datagrams with their peer, up to 65,507 bytes',
    async (type, host, shown) => {
      const udp = start(host, relay);
      const bound = await udp.bound;
      expect(bound).toMatchObject({
        via,
        address: host,
        family: type === 'udp4' ? 'IPv4' : 'IPv6',
      });
      expect(bound.port).toBeGreaterThan(0);
      const a = await sender(type, host);
      const b = await sender(type, host);
      const largest = datagramOf(65_507, `big-${type}`);
      await send(a, processDatagram(1, `a-${type}`).bytes, bound.port, host);
      await send(b, processDatagram(2, `b-${type}`).bytes, bound.port, host);
      await send(a, largest, bound.port, host);
      await send(b, Buffer.from('not an event'), bound.port, host);
      await udp.close();
      a.close();
      b.close();
      expect(udp.received()).toBe(4);
      expect(udp.records).toEqual([
        { peer: `udp:${shown}:${a.port}`, key: `node001.cluster/preload/a-${type}/1` },
        { peer: `udp:${shown}:${b.port}`, key: `node001.cluster/preload/b-${type}/2` },
        { peer: `udp:${shown}:${a.port}`, key: `node001.cluster/preload/big-${type}/0` },
      ]);
      expect(udp.errors).toEqual([]);
    },
  );

  it('binds the port asked for and reads, at close, all that was sent before', async () => {
    const port = await freePort();
    const udp = start('127.0.0.1', relay, port);
    expect(await udp.bound).toMatchObject({ via, port });
    const a = await sender('udp4', '127.0.0.1');
    const bytes = processDatagram(7, 'burst').bytes;
    for (let i = 0; i < 2000; i++) await send(a, bytes, port, '127.0.0.1');
    await udp.close();
    a.close();
    expect(udp.received()).toBe(2000);
    expect(udp.records).toHaveLength(2000);
  });
});

describe('the UDP thread without its relay', () => {
  it.each([
    ['missing', '/nonexistent/vigil-gateway-udp-relay'],
    ['not starting', '/bin/false'],
  ])('reads with Node when the relay is %s', async (_, relay) => {
    const udp = start('127.0.0.1', relay);
    const bound = await udp.bound;
    expect(bound.via).toBe('node');
    const a = await sender('udp4', '127.0.0.1');
    await send(a, processDatagram(3, 'fallback').bytes, bound.port, '127.0.0.1');
    await udp.close();
    a.close();
    expect(udp.records).toEqual([
      { peer: `udp:127.0.0.1:${a.port}`, key: 'node001.cluster/preload/fallback/3' },
    ]);
  });

  it('reports a port in use, as Node does', async () => {
    const first = start('127.0.0.1', RELAY);
    const { port } = await first.bound;
    const second = start('127.0.0.1', RELAY, port);
    const failure = await Promise.race([second.bound.then(() => 'bound'), second.failure]);
    expect(failure).toMatch(/EADDRINUSE/);
    await second.terminate();
    await first.close();
  });
});

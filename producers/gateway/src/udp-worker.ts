import { createSocket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { DRAIN_MS, whenQuiet } from './drain.js';

/**
 * The UDP receive loop, in its own thread: it only moves datagrams from the kernel to the main
 * thread, so a main thread busy encoding a Kafka request (or collecting garbage) never lets the
 * socket's receive buffer overflow. Datagrams travel in batches:
 *   uint32 length | uint8 address length | address | uint16 port | datagram
 * The main thread subtracts what it has processed from a shared counter; beyond `maxQueueBytes`
 * the worker drops datagrams and reports how many ('overload'), instead of growing without bound.
 */
export interface UdpWorkerData {
  readonly address: string;
  readonly port: number;
  readonly receiveBufferBytes: number;
  readonly maxQueueBytes: number;
  /** Int32Array over a SharedArrayBuffer: [0] bytes queued to the main thread. */
  readonly queued: SharedArrayBuffer;
}

const data = workerData as UdpWorkerData;
const port = parentPort!;
const queued = new Int32Array(data.queued);
const type = data.address.includes(':') ? 'udp6' : 'udp4';
const socket = createSocket({ type, ipv6Only: type === 'udp6' });
const FLUSH_BYTES = 256 * 1024;
let parts: Buffer[] = [];
let partBytes = 0;
let scheduled = false;
let dropped = 0;

function flush(): void {
  scheduled = false;
  if (partBytes > 0) {
    const batch = Buffer.concat(parts, partBytes);
    Atomics.add(queued, 0, batch.length);
    parts = [];
    partBytes = 0;
    const ab = batch.buffer.slice(batch.byteOffset, batch.byteOffset + batch.length);
    port.postMessage({ type: 'batch', bytes: ab }, [ab]);
  }
  if (dropped > 0) {
    port.postMessage({ type: 'dropped', count: dropped });
    dropped = 0;
  }
}

let received = 0;
socket.on('message', (message, rinfo) => {
  received++;
  if (Atomics.load(queued, 0) + partBytes > data.maxQueueBytes) {
    dropped++;
  } else {
    const address = Buffer.from(rinfo.address, 'latin1');
    const head = Buffer.allocUnsafe(4 + 1 + address.length + 2);
    head.writeUInt32BE(message.length, 0);
    head.writeUInt8(address.length, 4);
    address.copy(head, 5);
    head.writeUInt16BE(rinfo.port, 5 + address.length);
    parts.push(head, message);
    partBytes += head.length + message.length;
  }
  if (partBytes >= FLUSH_BYTES) flush();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
socket.on('error', (error) => port.postMessage({ type: 'error', message: error.message }));
port.on('message', (message: { type: string }) => {
  if (message.type === 'close') {
    void whenQuiet(() => received, DRAIN_MS).then(() =>
      socket.close(() => {
        flush(); // what the last reads batched
        port.close();
      }),
    );
  }
});
socket.bind(data.port, data.address, () => {
  if (data.receiveBufferBytes > 0) {
    try {
      socket.setRecvBufferSize(data.receiveBufferBytes);
    } catch (error) {
      port.postMessage({ type: 'error', message: (error as Error).message });
    }
  }
  const bound = socket.address();
  port.postMessage({
    type: 'bound',
    address: bound.address,
    port: bound.port,
    family: bound.family,
  });
});

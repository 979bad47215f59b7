import { connect, type Socket } from 'node:net';
import { decodeFrame } from '@vigil/pipeline/codec';
import { formatUuid, newEventId } from '@vigil/pipeline/events';
import { familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import type { Kafka } from 'kafkajs';
import Long from 'long';
import protobuf from 'protobufjs/minimal.js';
import { encodeTransport } from './decode.js';
import { freePort } from '@vigil/pipeline/testing';

export { freePort };

/** Helpers of the gateway's integration tests and bench: events, stream clients, Kafka readers. */

/** A process start event as the preload sends it (transport header included), and its id. */
export function processDatagram(
  sequence: number,
  producer = `test/${process.pid}`,
  padding = 0,
): { bytes: Buffer; eventId: string } {
  const eventId = newEventId();
  const message = vigil.process.v1.ProcessEvent.create({
    envelope: {
      eventId,
      sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_PRELOAD,
      host: 'node001.cluster',
      producerId: `preload/${producer}/${sequence % 64}`,
      sequence: Long.fromNumber(sequence, true),
      timeUnixNano: Long.fromString((BigInt(Date.now()) * 1_000_000n).toString(), true),
      signature: { keyId: 'site-2026', hmacSha256: Buffer.alloc(32, 0xab) },
    },
    start: {
      pid: 1000 + (sequence % 64),
      ppid: 1,
      uid: 1001,
      executable: Buffer.from('/usr/bin/true'),
      argv: [Buffer.from('true'), Buffer.alloc(padding, 0x61)],
    },
  });
  const value = vigil.process.v1.ProcessEvent.encode(message).finish();
  return { bytes: encodeTransport(familyByName('process'), value), eventId: formatUuid(eventId) };
}

/** Length-prefixes a message for the stream sockets. */
export function lengthPrefixed(message: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(message.length);
  return Buffer.concat([head, message]);
}

/** Connects to "tcp:host:port" or "unix:/path". */
export function connectStream(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = address.startsWith('unix:')
      ? connect(address.slice(5))
      : (() => {
          const m = /^tcp:\[?([^\]]+)\]?:(\d+)$/.exec(address)!;
          return connect(Number(m[2]), m[1]);
        })();
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The envelope (field 1 of every family's record) of a record value, whatever its family. */
export function envelopeOf(value: Uint8Array): vigil.envelope.v1.Envelope {
  const reader = protobuf.Reader.create(value);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2)
      return vigil.envelope.v1.Envelope.decode(reader.bytes());
    reader.skipType(tag & 7);
  }
  throw new Error('record without an envelope');
}

/** What a test reads back from Kafka. */
export interface ReadRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
  readonly eventId: string;
  readonly payload: Uint8Array;
}

/** Reads `topics` from the start into memory until `stop()`; `records` grows as they arrive. */
export async function readTopics(kafka: Kafka, topics: string[], groupId: string) {
  const records: ReadRecord[] = [];
  const ids = new Set<string>();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const value = message.value!;
      const frame = decodeFrame(value);
      const envelope = envelopeOf(frame.payload);
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
      );
      const eventId = formatUuid(envelope.eventId ?? new Uint8Array(16));
      ids.add(eventId);
      records.push({
        topic,
        key: message.key?.toString() ?? '',
        value,
        headers,
        eventId,
        payload: frame.payload,
      });
    },
  });
  return { records, ids, stop: () => consumer.disconnect() };
}

/** Polls `condition` every 50 ms until true, or throws after `timeoutMs` with `what`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The value of one metric series in Prometheus text, summed over series matching `labels`. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

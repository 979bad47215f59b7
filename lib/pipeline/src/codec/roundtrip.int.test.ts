import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '@vigil/schemas/families';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { createEventCodec, locateMessage } from './index.js';
import { CodecError } from '../errors.js';
import { createKafka, ensureTopics, familyTopics } from '../kafka.js';
import { createSchemaRegistryClient } from '../registry.js';
import {
  sampleEvents,
  sampleInnerMessages,
  uniqueName,
  type SampleEvent,
} from '../testing/index.js';
import { staticType } from './static-types.js';

/**
 * Every family's schema registered in the real registry, one event of each produced with the
 * Confluent framing to the real Kafka, consumed, decoded and compared field by field; then the same
 * bytes read again by Confluent's own Python deserializer.
 */

const toObject = (typeName: string, message: object) =>
  (staticType(typeName) as unknown as { toObject(m: object, o: object): object }).toObject(
    message,
    {
      longs: String,
      bytes: String, // base64, as protobuf's JSON mapping writes bytes
      enums: String,
      defaults: false,
    },
  );

let endpoints: StackEndpoints;

beforeAll(async () => {
  endpoints = await ensureStack();
}, 600_000);

describe('the Confluent wire format against the real stack', () => {
  const prefix = `${uniqueName('roundtrip')}.`;
  const sent: Array<SampleEvent & { value: Buffer }> = [];
  const received: Buffer[] = [];

  it('registers, produces, consumes and decodes one event of every family', async () => {
    const codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
    const events = [...sampleEvents(), ...sampleInnerMessages()];
    await codec.register(events.map((e) => e.typeName));
    const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'roundtrip-test' });
    await ensureTopics(kafka, familyTopics(FAMILIES, { prefix, numPartitions: 1 }));

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const event of events) {
      const value = codec.encode(event.typeName, event.message);
      sent.push({ ...event, value });
      // Keyed, as producers key them: the compacted watermark topic refuses records without a key.
      const key = `${event.family}-${sent.length}`;
      await producer.send({
        topic: `${prefix}vigil.${event.family}.v1`,
        acks: -1,
        messages: [{ key, value }],
      });
    }
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('roundtrip') });
    await consumer.connect();
    await consumer.subscribe({
      topics: FAMILIES.map((f) => `${prefix}${f.topic}`),
      fromBeginning: true,
    });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push(message.value!);
          if (received.length === sent.length) resolve();
        },
      });
    });
    await consumer.disconnect();

    // A fresh codec knows no schema ids: it must resolve each through the registry.
    const reader = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
    for (const original of sent) {
      const value = received.find((v) => v.equals(original.value));
      expect(value, `${original.typeName} came back byte for byte`).toBeDefined();
      const decoded = await reader.decode(value!);
      expect(decoded.typeName).toBe(original.typeName);
      expect(toObject(decoded.typeName, decoded.message)).toEqual(
        toObject(original.typeName, original.message),
      );
    }
    expect(sent.map((e) => e.value[5])).toContain(0x02); // message indexes other than [0] travelled
  }, 120_000);

  it('decodes the same bytes with an independent reader (Confluent Python client)', () => {
    const script = fileURLToPath(new URL('../../testdata/confluent_read.py', import.meta.url));
    const descriptors = join(mkdtempSync(join(tmpdir(), 'vigil-fds-')), 'vigil.binpb');
    const schemasDir = fileURLToPath(new URL('../../../../schemas/', import.meta.url));
    execFileSync('npx', ['buf', 'build', 'proto', '-o', descriptors], {
      cwd: schemasDir,
      stdio: 'inherit',
    });
    const input =
      sent.map((e) => JSON.stringify({ value: e.value.toString('hex') })).join('\n') + '\n';
    const output = execFileSync('python3', [script, endpoints.registryUrl, descriptors], {
      input,
      encoding: 'utf8',
    });
    const readings = output
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            message_indexes: number[];
            type: string;
            message: Record<string, unknown>;
          },
      );
    expect(readings).toHaveLength(sent.length);
    sent.forEach((original, i) => {
      const reading = readings[i]!;
      expect(reading.type).toBe(original.typeName);
      expect(reading.message_indexes).toEqual(locateMessage(original.typeName)!.messageIndexes);
      expect(reading.message).toEqual(toObject(original.typeName, original.message));
    });
  });

  it('gives typed errors for unknown schema ids and message indexes', async () => {
    const codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
    const unknownId = Buffer.from('007fffff0000', 'hex');
    await expect(codec.decode(unknownId)).rejects.toMatchObject({ code: 'unknown-schema-id' });
    const good = sent[0]!.value;
    const badIndex = Buffer.concat([
      good.subarray(0, 5),
      Buffer.from('0250', 'hex'),
      good.subarray(6),
    ]);
    await expect(codec.decode(badIndex)).rejects.toBeInstanceOf(CodecError);
    await expect(codec.decode(badIndex)).rejects.toMatchObject({ code: 'unknown-message-index' });
  });
});

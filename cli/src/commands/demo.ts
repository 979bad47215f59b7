import type { Command } from 'commander';
import { FAMILIES } from '@vigil/schemas/families';
import { createEventCodec } from '@vigil/pipeline/codec';
import { formatUuid } from '@vigil/pipeline/events';
import { createKafka, ensureTopics, familyTopics } from '@vigil/pipeline/kafka';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { sampleEvents } from '@vigil/pipeline/testing';
import { createStack, endpointsOf } from '@vigil/stack/stack';
import type { StackConfig } from '@vigil/stack/config';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { encodeTransport } from '@vigil/gateway/decode';
import { familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import type { StackEndpoints } from '@vigil/stack/stack';
import { demoGateway, runPipelineDemo } from './demo-pipeline.js';

/**
 * The node path: one process event as the preload sends it (a UDP datagram with the node
 * transport header) through an in-process gateway, which spools it and produces it to Kafka.
 */
async function throughGateway(endpoints: StackEndpoints, sent: Map<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-gateway-'));
  const gateway = await demoGateway(endpoints, join(dir, 'spool'));
  try {
    const sample = sampleEvents().find((e) => e.family === 'process')!;
    const message = sample.message as vigil.process.v1.ProcessEvent;
    const datagram = encodeTransport(
      familyByName('process'),
      vigil.process.v1.ProcessEvent.encode(message).finish(),
    );
    const eventId = formatUuid(message.envelope!.eventId!);
    const port = Number(gateway.addresses[0]!.split(':').at(-1));
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
    socket.close();
    sent.set(eventId, familyByName('process').topic);
    console.log(
      `sent     a preload datagram (${datagram.length} bytes) to the gateway at ${gateway.addresses[0]}`,
    );
  } finally {
    // Stopping flushes: the event is in Kafka (or, if Kafka refused it, still in the spool).
    const drained = await gateway.stop();
    if (drained) rmSync(dir, { recursive: true, force: true });
    else console.log(`the gateway could not send everything; its spool stays in ${dir}`);
  }
}

/** Each topic's partitions with their current end offsets: where this run's records will start. */
async function endOffsets(
  kafka: ReturnType<typeof createKafka>,
  topics: readonly string[],
): Promise<Map<string, { partition: number; offset: string }[]>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = new Map<string, { partition: number; offset: string }[]>();
    for (const topic of topics) offsets.set(topic, await admin.fetchTopicOffsets(topic));
    return offsets;
  } finally {
    await admin.disconnect();
  }
}

/**
 * `vigil demo`: Vigil locally, end to end. Brings the stack up, registers every family's schema,
 * produces one event of each with the Confluent framing, sends one preload datagram through an
 * in-process gateway, reads them all back, decodes them and says what it did; then follows a real
 * program through preload → gateway → verify → enrich → Elasticsearch (demo-pipeline.ts).
 */
export function registerDemoCommand(program: Command, loadConfig: () => StackConfig): void {
  program
    .command('demo')
    .description(
      'run Vigil locally end to end: stack up, one event of each family through Kafka, then a traced program through gateway, verify, enrich and Elasticsearch',
    )
    .action(async () => {
      const config = loadConfig();
      const stack = createStack(config, { log: (line) => console.log(line) });
      await stack.up();
      const endpoints = endpointsOf(config);
      const codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
      const events = sampleEvents();
      await codec.register(events.map((e) => e.typeName));
      console.log(`registered ${FAMILIES.length} family schemas at ${endpoints.registryUrl}`);

      const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'vigil-demo' });
      await ensureTopics(kafka, familyTopics(FAMILIES));
      // Read back from where the topics end now: the stack is long-lived, and its topics hold every
      // earlier run (and whatever other programs wrote there, decodable or not).
      const startOffsets = await endOffsets(
        kafka,
        FAMILIES.map((f) => f.topic),
      );
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const sent = new Map<string, string>();
      for (const event of events) {
        const family = FAMILIES.find((f) => f.name === event.family)!;
        const value = codec.encode(event.typeName, event.message);
        const eventId = formatUuid(
          (event.message as { envelope: { eventId: Uint8Array } }).envelope.eventId,
        );
        sent.set(eventId, family.topic);
        await producer.send({ topic: family.topic, acks: -1, messages: [{ key: eventId, value }] });
        console.log(`produced ${family.topic.padEnd(20)} event ${eventId} (${value.length} bytes)`);
      }
      await producer.disconnect();
      await throughGateway(endpoints, sent);

      const consumer = kafka.consumer({ groupId: `vigil-demo-${process.pid}-${Date.now()}` });
      await consumer.connect();
      await consumer.subscribe({ topics: FAMILIES.map((f) => f.topic), fromBeginning: true });
      try {
        await new Promise<void>((resolve, reject) => {
          // Two clocks: joining a group waits for the broker's group coordinator, which after a
          // restart first loads every earlier group's offsets (slow on a long-lived stack); reading
          // seven records once joined is quick.
          const joinStarted = Date.now();
          let timer = setTimeout(
            () => reject(new Error('consuming: the consumer did not join its group within 180 s')),
            180_000,
          );
          consumer.on(consumer.events.GROUP_JOIN, () => {
            clearTimeout(timer);
            console.log(`joined   a consumer group in ${Date.now() - joinStarted} ms`);
            timer = setTimeout(
              () => reject(new Error(`consuming: ${sent.size} events not read back within 60 s`)),
              60_000,
            );
          });
          consumer
            .run({
              eachMessage: async ({ topic, message }) => {
                if (!message.value) return;
                let decoded;
                try {
                  decoded = await codec.decode<{
                    envelope: { eventId: Uint8Array; host: string };
                  }>(message.value);
                } catch (error) {
                  // Not one of ours (we only look for the ids we sent): say so and read on, rather
                  // than retrying one foreign record until the timeout.
                  console.log(`skipped  ${topic} offset ${message.offset}: ${String(error)}`);
                  return;
                }
                const eventId = formatUuid(decoded.message.envelope.eventId);
                if (!sent.delete(eventId)) return; // an event from an earlier run
                console.log(
                  `consumed ${topic.padEnd(20)} ${decoded.typeName} from ${decoded.message.envelope.host}`,
                );
                if (sent.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              },
            })
            .then(() => {
              for (const [topic, partitions] of startOffsets) {
                for (const { partition, offset } of partitions)
                  consumer.seek({ topic, partition, offset });
              }
            }, reject);
        });
      } finally {
        // Also on a timeout: a connected consumer would keep the process alive.
        await consumer.disconnect();
      }
      console.log(
        `round trip complete: ${events.length + 1} events (one through the gateway) produced, consumed and decoded`,
      );
      await runPipelineDemo(endpoints);
    });
}

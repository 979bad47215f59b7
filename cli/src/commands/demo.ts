import type { Command } from 'commander';
import { FAMILIES } from '@vigil/schemas/families';
import { createEventCodec } from '@vigil/pipeline/codec';
import { formatUuid } from '@vigil/pipeline/events';
import { createKafka, ensureTopics, familyTopics } from '@vigil/pipeline/kafka';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { sampleEvents } from '@vigil/pipeline/testing';
import { createStack, endpointsOf } from '@vigil/stack/stack';
import type { StackConfig } from '@vigil/stack/config';

/**
 * `vigil demo`: Vigil locally, end to end. Brings the stack up, registers every family's schema,
 * produces one event of each with the Confluent framing, reads them back, decodes them and says
 * what it did. Later parts (gateway, workers) join this same command.
 */
export function registerDemoCommand(program: Command, loadConfig: () => StackConfig): void {
  program
    .command('demo')
    .description(
      'run Vigil locally end to end: stack up, produce one event of each family, consume and decode them',
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

      const consumer = kafka.consumer({ groupId: `vigil-demo-${process.pid}-${Date.now()}` });
      await consumer.connect();
      await consumer.subscribe({ topics: FAMILIES.map((f) => f.topic), fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`consuming: ${sent.size} events not read back within 60 s`)),
          60_000,
        );
        void consumer.run({
          eachMessage: async ({ topic, message }) => {
            if (!message.value) return;
            const decoded = await codec.decode<{ envelope: { eventId: Uint8Array; host: string } }>(
              message.value,
            );
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
        });
      });
      await consumer.disconnect();
      console.log(`round trip complete: ${events.length} events produced, consumed and decoded`);
    });
}

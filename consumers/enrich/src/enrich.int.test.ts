import { fileURLToPath } from 'node:url';
import { beforeAll } from 'vitest';
import type { vigil } from '@vigil/schemas/gen';
import { createEventCodec, type EventCodec } from '@vigil/pipeline/codec';
import { createKafkajsClient } from '@vigil/pipeline/consume';
import { createLogger } from '@vigil/pipeline/log';
import { createTelemetry } from '@vigil/pipeline/metrics';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { describeTransformConformance, pipelineEvent, sampleEvents } from '@vigil/pipeline/testing';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { configSchema } from './config.js';
import { createEnrichWorker } from './worker.js';

/** The shared transform conformance suite, with the real registry behind the codec. */

let endpoints: StackEndpoints;
let codec: EventCodec;
const testdata = (name: string) => fileURLToPath(new URL(`../testdata/${name}`, import.meta.url));

beforeAll(async () => {
  endpoints = await ensureStack();
  codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  await codec.register(['vigil.process.v1.ProcessEvent']);
}, 600_000);

describeTransformConformance({
  name: 'enrich',
  async createTransform() {
    const logger = createLogger('enrich', { level: 'silent' });
    const config = configSchema.parse({
      registryUrl: endpoints.registryUrl,
      passwdFile: testdata('passwd'),
      groupFile: testdata('group'),
    });
    return createEnrichWorker(config, {
      logger,
      telemetry: createTelemetry('enrich', logger),
      kafka: createKafkajsClient({
        brokers: endpoints.kafkaBrokers,
        clientId: 'enrich-conformance',
      }),
    });
  },
  async events() {
    const start = sampleEvents()[0]!.message as vigil.process.v1.ProcessEvent;
    return [
      pipelineEvent(codec.encode('vigil.process.v1.ProcessEvent', start), {
        headers: { 'vigil-verify': '{"signature":"valid","keyId":"k"}' },
      }),
    ];
  },
});

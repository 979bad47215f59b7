import { createEventCodec } from '@vigil/pipeline/codec';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { uniqueName } from '@vigil/pipeline/testing';
import { createRecordDecoder } from '@vigil/documents/decode';
import { processEvents, registerFamilies } from '@vigil/documents/testing';
import { ensureStack } from '@vigil/stack/stack';
import { indexName } from './bulk.js';
import { configSchema } from './config.js';
import { createElasticsearchSink } from './sink.js';

/**
 * `npm run bench`: documents/s into the local Elasticsearch through the sink (decode, ECS mapping,
 * bulk, item-by-item reading), and, in the same run on the same documents, the official client's
 * bulk helper (documents already mapped: it does less) as the baseline. Own indices, deleted after.
 */
const COUNT = Number(process.env.VIGIL_BENCH_DOCS ?? 30_000);
const BATCH = 1000;
const endpoints = await ensureStack();
const codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
await registerFamilies(codec);
const decoder = createRecordDecoder(codec);
const logger = createLogger('elasticsearch-bench', { level: 'warn' });
const events = processEvents(codec, COUNT, 1_790_000_000_000_000_000n);

const ours = uniqueName('vbench-sink');
const theirs = uniqueName('vbench-helper');
const sink = createElasticsearchSink(
  configSchema.parse({
    url: endpoints.elasticsearchUrl,
    registryUrl: endpoints.registryUrl,
    indexPrefix: ours,
    retentionDays: 0,
  }),
  { logger, decoder },
);
const baseline = createElasticsearchSink(
  configSchema.parse({
    url: endpoints.elasticsearchUrl,
    registryUrl: endpoints.registryUrl,
    indexPrefix: theirs,
    retentionDays: 0,
  }),
  { logger, decoder },
);
const client = sink.client;
try {
  await sink.healthcheck();
  await baseline.healthcheck(); // same templates, so both index into the same mapping

  // The baseline's input: the same documents, already decoded and mapped (not timed).
  const docs = [];
  const prepStarted = performance.now();
  for (const event of events) {
    const read = await decoder.read(event);
    docs.push({
      index: indexName(theirs, read.family, read.timeUnixNano),
      id: read.eventId,
      doc: read.document,
    });
  }

  const prepSeconds = (performance.now() - prepStarted) / 1000;
  let started = performance.now();
  for (let i = 0; i < events.length; i += BATCH)
    await sink.write(events.slice(i, i + BATCH), new AbortController().signal);
  const sinkSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const result = await client.helpers.bulk({
    datasource: docs.map((d) => ({ ...d.doc, __index: d.index, __id: d.id })),
    flushBytes: 5_000_000,
    concurrency: 1,
    onDocument: (d) => {
      const { __index, __id, ...rest } = d as Record<string, unknown>;
      return [{ create: { _index: __index as string, _id: __id as string } }, rest];
    },
  });
  const helperSeconds = (performance.now() - started) / 1000;
  if (result.failed > 0) throw new Error(`the baseline failed ${result.failed} documents`);

  await client.indices.refresh({ index: `${ours}-*,${theirs}-*` });
  const [a, b] = await Promise.all([
    client.count({ index: `${ours}-*` }),
    client.count({ index: `${theirs}-*` }),
  ]);
  const sinkRate = COUNT / sinkSeconds;
  const helperRate = COUNT / helperSeconds;
  console.log(
    `documents: ${COUNT} process starts, batches of ${BATCH} (the runtime's default maxEvents is 500)`,
  );
  console.log(
    `sink (decode + ECS + bulk + per-item reading): ${sinkRate.toFixed(0)} docs/s  (${a.count} stored, final bulk size ${sink.bulkSize()})`,
  );
  console.log(
    `@elastic/elasticsearch helpers.bulk (pre-mapped documents): ${helperRate.toFixed(0)} docs/s  (${b.count} stored)`,
  );
  console.log(
    `of which decoding and ECS mapping alone (measured on the baseline's input): ${(COUNT / prepSeconds).toFixed(0)} docs/s`,
  );
  console.log(`ratio sink/helper: ${(sinkRate / helperRate).toFixed(2)}`);
} finally {
  await client.indices.delete({ index: `${ours}-*,${theirs}-*` }, { ignore: [404] });
  await client.indices.deleteIndexTemplate({ name: `${ours}-*` }, { ignore: [404] });
  await client.indices.deleteIndexTemplate({ name: `${theirs}-*` }, { ignore: [404] });
  await baseline.close();
  await sink.close();
}

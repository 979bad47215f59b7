/* eslint-disable @typescript-eslint/no-explicit-any -- free-form JSON documents */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventCodec, type EventCodec } from '@vigil/pipeline/codec';
import { PermanentError } from '@vigil/pipeline/errors';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { describeSinkConformance, uniqueName } from '@vigil/pipeline/testing';
import { createRecordDecoder } from '@vigil/documents/decode';
import {
  framed,
  framedSampleEvents,
  processEvents,
  registerFamilies,
  sessionMessages,
} from '@vigil/documents/testing';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { configSchema } from './config.js';
import { createElasticsearchSink, type ElasticsearchSink } from './sink.js';

/** The Elasticsearch sink against the real local Elasticsearch 8.19 and registry (shared stack, own indices). */

let endpoints: StackEndpoints;
let codec: EventCodec;
const logger = createLogger('elasticsearch-test', { level: 'warn' });
const sinks: ElasticsearchSink[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  endpoints = await ensureStack();
  codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  await registerFamilies(codec);
}, 600_000);

afterAll(async () => {
  const cleaner = sinks[0]?.client;
  for (const prefix of prefixes) {
    await cleaner?.indices
      .delete({ index: `${prefix}-*` }, { ignore: [404] })
      .catch(() => undefined);
    await cleaner?.indices
      .deleteIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] })
      .catch(() => undefined);
  }
  for (const sink of sinks.reverse()) await sink.close().catch(() => undefined);
});

function newSink(overrides: Record<string, unknown> = {}): ElasticsearchSink {
  const indexPrefix = uniqueName('vt');
  prefixes.push(indexPrefix);
  const config = configSchema.parse({
    url: endpoints.elasticsearchUrl,
    registryUrl: endpoints.registryUrl,
    indexPrefix,
    retentionDays: 0,
    ...overrides,
  });
  const sink = createElasticsearchSink(config, { logger, decoder: createRecordDecoder(codec) });
  sinks.push(sink);
  return sink;
}

async function storedDocs(sink: ElasticsearchSink, prefix: string, query?: object) {
  await sink.client.indices.refresh({ index: `${prefix}-*` }, { ignore: [404] });
  const result = await sink.client.search(
    { index: `${prefix}-*`, size: 10_000, query: query ?? { match_all: {} } },
    { ignore: [404] },
  );
  return (result.hits?.hits ?? []) as Array<{
    _id: string;
    _index: string;
    _source: Record<string, any>;
  }>;
}

const prefixOf = (sink: ElasticsearchSink) => prefixes[sinks.indexOf(sink)]!;

describeSinkConformance({
  name: 'elasticsearch',
  createSink: async () => {
    if (!codec) throw new Error('stack not ready');
    return newSink();
  },
  createUnreachableSink: async () => newSink({ url: 'http://127.0.0.1:1' }),
  events: async () => framedSampleEvents(codec),
  idOf: (event) => event.key!.toString(),
  storedIds: async (sink) => {
    const s = sink as ElasticsearchSink;
    return (await storedDocs(s, prefixOf(s))).map((h) => h._id);
  },
});

describe('elasticsearch sink', () => {
  it('installs one index template per family and the healthcheck repairs a changed one', async () => {
    const sink = newSink();
    await sink.healthcheck();
    const prefix = prefixOf(sink);
    const found = await sink.client.indices.getIndexTemplate({ name: `${prefix}-*` });
    expect(found.index_templates.map((t) => t.name).sort()).toEqual(
      ['alert', 'process', 'session', 'status', 'trace', 'watermark'].map((f) => `${prefix}-${f}`),
    );
    const tpl = found.index_templates.find((t) => t.name === `${prefix}-session`)!.index_template;
    expect(tpl.index_patterns).toEqual([`${prefix}-session-*`]);
    expect(tpl.template?.settings?.index?.number_of_replicas).toBe('0');
    // Someone edits the template: the next start puts ours back.
    await sink.client.indices.putIndexTemplate({
      name: `${prefix}-session`,
      index_patterns: [`${prefix}-session-*`],
      priority: 200,
      template: { mappings: { properties: { x: { type: 'keyword' } } } },
    });
    await sink.healthcheck();
    const again = await sink.client.indices.getIndexTemplate({ name: `${prefix}-session` });
    expect(again.index_templates[0]!.index_template.template?.mappings?.properties).toHaveProperty(
      'process',
    );
  }, 60_000);

  it('indexes by family and event day, from the event time', async () => {
    const sink = newSink();
    await sink.healthcheck();
    const prefix = prefixOf(sink);
    const events = [
      ...processEvents(codec, 3, 1_700_000_000_000_000_000n),
      ...processEvents(codec, 2, 1_790_000_000_000_000_000n),
    ];
    await sink.write(events, new AbortController().signal);
    const docs = await storedDocs(sink, prefix);
    const byIndex: Record<string, number> = {};
    for (const d of docs) byIndex[d._index] = (byIndex[d._index] ?? 0) + 1;
    expect(byIndex).toEqual({
      [`${prefix}-process-2023.11.14`]: 3,
      [`${prefix}-process-2026.09.21`]: 2,
    });
    const first = docs.find((d) => d._index.endsWith('2023.11.14'))!;
    expect(first._source['@timestamp']).toMatch(/^2023-11-14T22:13:20\.00000000\dZ$/);
    expect(first._source.process.executable).toBe('/usr/bin/python3');
  }, 60_000);

  it('stores a terminal session so it can be followed by session id: metadata, output text, commands with exit codes', async () => {
    const sink = newSink();
    await sink.healthcheck();
    const prefix = prefixOf(sink);
    const { sessionId, messages } = sessionMessages();
    await sink.write(
      messages.map((m) => framed(codec, 'session', 'vigil.session.v1.SessionEvent', m)),
      new AbortController().signal,
    );
    const docs = await storedDocs(sink, prefix, {
      term: { 'process.entry_leader.entity_id': sessionId },
    });
    expect(docs).toHaveLength(messages.length);
    const commands = await storedDocs(sink, prefix, {
      bool: {
        filter: [{ term: { 'event.action': 'command' } }, { term: { 'process.exit_code': 2 } }],
      },
    });
    expect(commands.map((c) => c._source.process.command_line)).toEqual(['make -j8']);
    const output = await storedDocs(sink, prefix, { match: { 'process.io.text': 'price' } });
    expect(output).toHaveLength(1);
    const start = docs.find((d) => d._source.event.action === 'session-start')!;
    expect(start._source.process.entry_leader.entry_meta.source.ip).toBe('10.1.2.3');
  }, 60_000);

  it('stores the rest of a batch when the mapping rejects a document, and throws PermanentError naming it', async () => {
    const sink = newSink();
    await sink.healthcheck();
    const prefix = prefixOf(sink);
    // An index of that day whose mapping says process.pid is an IP address: every process document of that day is refused.
    await sink.client.indices.create({
      index: `${prefix}-process-2001.09.09`,
      mappings: { properties: { process: { properties: { pid: { type: 'ip' } } } } },
    });
    const good = processEvents(codec, 4, 1_790_000_000_000_000_000n);
    const bad = processEvents(codec, 1, 1_000_000_000_000_000_000n);
    const batch = [good[0]!, good[1]!, bad[0]!, good[2]!, good[3]!];
    const error = await sink.write(batch, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/1 of 5 rejected.*document_parsing_exception/);
    const ids = (await storedDocs(sink, prefix)).map((d) => d._id).sort();
    expect(ids).toEqual(good.map((e) => e.key!.toString()).sort());
    // What the runtime does next: the same events one by one. The good ones are no-ops (409).
    for (const event of good) await sink.write([event], new AbortController().signal);
    await expect(sink.write(bad, new AbortController().signal)).rejects.toBeInstanceOf(
      PermanentError,
    );
    expect(await storedDocs(sink, prefix)).toHaveLength(4);
  }, 60_000);

  it("stores the enrich worker's JSON documents as they are, in the same daily index as mapped protobuf events", async () => {
    const sink = newSink();
    await sink.healthcheck();
    const prefix = prefixOf(sink);
    const [proto] = processEvents(codec, 1, 1_790_000_000_000_000_000n);
    const enriched = {
      '@timestamp': '2026-09-21T14:13:20.000000001Z',
      event: {
        id: '0199e2a0-0000-7000-8000-00000000e001',
        kind: 'event',
        category: ['process'],
        type: ['start'],
        action: 'process-started',
        module: 'vigil',
        dataset: 'vigil.process',
      },
      host: { name: 'node001' },
      process: {
        entity_id: '0199e2a0-0000-7000-8000-00000000e001',
        pid: 7,
        executable: '/usr/bin/true',
        args: ['true'],
      },
      user: { id: '1001', name: 'alice' },
      vigil: {
        event_id: '0199e2a0-0000-7000-8000-00000000e001',
        modules: [{ name: 'gcc', version: '12.2.0' }],
        binary: { class: 'system' },
        signature: { status: 'valid' },
      },
    };
    const json = {
      ...proto!,
      value: Buffer.from(JSON.stringify(enriched)),
      key: Buffer.from(enriched.event.id),
      offset: '1000',
    };
    await sink.write([proto!, json], new AbortController().signal);
    const docs = await storedDocs(sink, prefix);
    expect(docs.map((d) => d._index)).toEqual([
      `${prefix}-process-2026.09.21`,
      `${prefix}-process-2026.09.21`,
    ]);
    expect(docs.find((d) => d._id === enriched.event.id)!._source).toEqual(enriched);
  }, 60_000);

  it('sends a record that is not a Vigil event to the dead-letter path, not the whole batch', async () => {
    const sink = newSink();
    await sink.healthcheck();
    const [good] = processEvents(codec, 1, 1_790_000_000_000_000_000n);
    const garbage = { ...good!, value: Buffer.from([0, 0, 0, 0, 1, 9, 9]), offset: '999' };
    await expect(sink.write([good!, garbage], new AbortController().signal)).rejects.toThrow(
      /1 of 2 rejected.*offset .*999/,
    );
    expect(await storedDocs(sink, prefixOf(sink))).toHaveLength(1);
  }, 60_000);

  it('deletes daily indices older than the retention, and only those', async () => {
    const sink = newSink({ retentionDays: 30 });
    await sink.healthcheck();
    const prefix = prefixOf(sink);
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '.');
    for (const day of ['2001.01.02', today])
      await sink.client.indices.create({ index: `${prefix}-status-${day}` });
    // The healthcheck started a retention pass already; run one and look at what is left.
    await sink.applyRetention();
    const left = (await sink.client.cat.indices({
      index: `${prefix}-*`,
      format: 'json',
      h: 'index',
    })) as Array<{ index: string }>;
    expect(left.map((i) => i.index)).toEqual([`${prefix}-status-${today}`]);
  }, 60_000);

  it('splits large batches into adaptive bulk requests', async () => {
    const sink = newSink({ bulk: { initialDocs: 50, minDocs: 10, maxDocs: 400 } });
    await sink.healthcheck();
    await sink.write(
      processEvents(codec, 600, 1_790_000_000_000_000_000n),
      new AbortController().signal,
    );
    expect(await storedDocs(sink, prefixOf(sink))).toHaveLength(600);
    expect(sink.bulkSize()).toBeGreaterThan(50); // grew on fast, full requests
  }, 120_000);
});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, errors } from '@elastic/elasticsearch';
import { Counter, Gauge, type Registry } from 'prom-client';
import { FAMILIES } from '@vigil/schemas/families';
import { createEventCodec } from '@vigil/pipeline/codec';
import { FatalError, PermanentError, RetryableError } from '@vigil/pipeline/errors';
import type { Logger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import type { Sink } from '@vigil/pipeline/sink';
import { createRecordDecoder, type RecordDecoder } from '@vigil/documents/decode';
import { createAdaptiveSize } from './adaptive.js';
import {
  bulkLines,
  classifyItems,
  cutRequests,
  indexName,
  type BulkDoc,
  type BulkResponse,
} from './bulk.js';
import type { ElasticsearchConfig } from './config.js';
import { expiredIndices } from './retention.js';

/** The mapping file this sink owns (index-template.json beside package.json). */
export const TEMPLATE_FILE = new URL('../index-template.json', import.meta.url);

/** Everything of the config the sink reads (the worker's config has more). */
export type ElasticsearchSinkConfig = Pick<
  ElasticsearchConfig,
  | 'registryUrl'
  | 'url'
  | 'username'
  | 'password'
  | 'apiKey'
  | 'tlsCaFile'
  | 'indexPrefix'
  | 'numberOfReplicas'
  | 'retentionDays'
  | 'retentionIntervalMs'
  | 'requestTimeoutMs'
  | 'bulk'
>;

/** What the sink needs besides its config; all optional except the logger. */
export interface ElasticsearchSinkDeps {
  readonly logger: Logger;
  /** The worker's metrics registry, for the sink's own counters. */
  readonly registry?: Registry;
  /** Replaces the decoder built on `registryUrl`. */
  readonly decoder?: RecordDecoder;
  readonly now?: () => number;
}

/** Elasticsearch refused the credentials: no retry helps, an operator must act. */
export class ElasticsearchAuthError extends FatalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { errorType: 'auth', cause: options?.cause });
  }
}

/** The index template of one family, and the hash the healthcheck compares. */
export function familyTemplate(
  file: { readonly settings: object; readonly mappings: object },
  prefix: string,
  family: string,
  numberOfReplicas: number,
) {
  const settings = structuredClone(file.settings) as { index: Record<string, unknown> };
  settings.index.number_of_replicas = numberOfReplicas;
  const template = { settings, mappings: file.mappings };
  const hash = createHash('sha256')
    .update(JSON.stringify({ prefix, family, template }))
    .digest('hex');
  return {
    name: `${prefix}-${family}`,
    body: {
      index_patterns: [`${prefix}-${family}-*`],
      priority: 200,
      template,
      _meta: { managed_by: 'vigil-elasticsearch', family, hash },
    },
    hash,
  };
}

/**
 * Maps a failed request to the error vocabulary: network problems, timeouts, 408/429/5xx →
 * RetryableError; 401/403 → ElasticsearchAuthError (stops the worker); other 4xx → PermanentError.
 */
export function classifyRequestError(step: string, error: unknown): Error {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const message = `${step}: HTTP ${status}: ${error.message}`;
    if (status === 401 || status === 403) {
      return new ElasticsearchAuthError(
        `${message} (check elasticsearch.username/password or apiKey and the user's privileges)`,
        { cause: error },
      );
    }
    if (status === 408 || status === 413 || status === 429 || status >= 500) {
      const retryAfter = Number(error.headers?.['retry-after']);
      return new RetryableError(message, {
        errorType: 'http',
        cause: error,
        ...(Number.isFinite(retryAfter) && retryAfter > 0
          ? { retryAfterMs: retryAfter * 1000 }
          : {}),
      });
    }
    return new PermanentError(message, { errorType: 'http', cause: error });
  }
  if (error instanceof errors.TimeoutError) {
    return new RetryableError(`${step}: ${error.message}`, { errorType: 'timeout', cause: error });
  }
  if (
    error instanceof errors.ConnectionError ||
    error instanceof errors.NoLivingConnectionsError ||
    error instanceof errors.RequestAbortedError ||
    error instanceof errors.DeserializationError
  ) {
    return new RetryableError(`${step}: ${error.message}`, { errorType: 'network', cause: error });
  }
  if (error instanceof errors.ProductNotSupportedError) {
    return new PermanentError(`${step}: ${error.message}`, { errorType: 'config', cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** A sink storing every event as an ECS document, `create` under its event id, in daily indices. */
export interface ElasticsearchSink extends Sink {
  /** Deletes the daily indices older than `retentionDays`; resolves to their names. */
  applyRetention(): Promise<string[]>;
  /** The client, for tests and the bench (owned by the sink: closed by close()). */
  readonly client: Client;
  /** Documents per bulk request right now. */
  bulkSize(): number;
}

/** Creates the sink; no I/O until healthcheck or write. */
export function createElasticsearchSink(
  config: ElasticsearchSinkConfig,
  deps: ElasticsearchSinkDeps,
): ElasticsearchSink {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
  const client = new Client({
    node: config.url,
    ...(config.username !== undefined
      ? { auth: { username: config.username, password: config.password ?? '' } }
      : config.apiKey !== undefined
        ? { auth: { apiKey: config.apiKey } }
        : {}),
    tls: {
      rejectUnauthorized: true,
      ...(config.tlsCaFile ? { ca: readFileSync(config.tlsCaFile, 'utf8') } : {}),
    },
    maxRetries: 0, // retries belong to this sink and the runtime, item by item
    requestTimeout: config.requestTimeoutMs,
  });
  const decoder =
    deps.decoder ??
    createRecordDecoder(createEventCodec(createSchemaRegistryClient({ url: config.registryUrl })));
  const adaptive = createAdaptiveSize({
    initial: config.bulk.initialDocs,
    min: config.bulk.minDocs,
    max: config.bulk.maxDocs,
    targetLatencyMs: config.bulk.targetLatencyMs,
  });
  const registers = deps.registry ? [deps.registry] : [];
  const items = new Counter({
    name: 'elasticsearch_bulk_items_total',
    help: 'Bulk items by outcome: created, duplicate (409 on create), retried, rejected.',
    labelNames: ['outcome'],
    registers,
  });
  const sizeGauge = new Gauge({
    name: 'elasticsearch_bulk_size_documents',
    help: 'Documents per bulk request (adaptive).',
    registers,
  });
  sizeGauge.set(adaptive.current());
  const templateFile = JSON.parse(readFileSync(TEMPLATE_FILE, 'utf8')) as {
    settings: object;
    mappings: object;
  };
  const templates = FAMILIES.map((f) =>
    familyTemplate(templateFile, config.indexPrefix, f.name, config.numberOfReplicas),
  );
  let retentionTimer: NodeJS.Timeout | undefined;

  async function request<T>(step: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyRequestError(step, error);
    }
  }

  async function installedHashes(): Promise<Map<string, string | undefined>> {
    const found = await request('reading index templates', () =>
      client.indices.getIndexTemplate({ name: `${config.indexPrefix}-*` }, { ignore: [404] }),
    );
    return new Map(
      (found.index_templates ?? []).map((t) => [
        t.name,
        (t.index_template._meta as { hash?: string } | undefined)?.hash,
      ]),
    );
  }

  async function applyRetention(): Promise<string[]> {
    if (config.retentionDays <= 0) return [];
    const listed = await request('listing indices', () =>
      client.cat.indices({ index: `${config.indexPrefix}-*`, format: 'json', h: 'index' }),
    );
    const names = (listed as Array<{ index?: string }>).flatMap((i) => (i.index ? [i.index] : []));
    const expired = expiredIndices(names, config.indexPrefix, now(), config.retentionDays);
    for (const index of expired) {
      await request(`deleting index ${index}`, () =>
        client.indices.delete({ index }, { ignore: [404] }),
      );
      logger.info({ index, retentionDays: config.retentionDays }, 'deleted an expired daily index');
    }
    return expired;
  }

  /** Sends one bulk request; resolves to each item's outcome. */
  async function sendBulk(lines: readonly string[], signal: AbortSignal) {
    const started = performance.now();
    let response: BulkResponse;
    try {
      response = await client.transport.request<BulkResponse>(
        {
          method: 'POST',
          path: '/_bulk',
          querystring: { filter_path: 'errors,items.*.status,items.*.error' },
          bulkBody: lines.join(''),
        },
        { signal, requestTimeout: config.requestTimeoutMs },
      );
    } catch (error) {
      const classified = classifyRequestError(
        `sending bulk request of ${lines.length} documents`,
        error,
      );
      const status = error instanceof errors.ResponseError ? error.statusCode : undefined;
      if (status === 429 || status === 413) {
        adaptive.observe({
          latencyMs: performance.now() - started,
          rejected: true,
          docs: lines.length,
        });
        sizeGauge.set(adaptive.current());
      }
      throw classified;
    }
    let outcomes;
    try {
      outcomes = classifyItems(response, lines.length);
    } catch (error) {
      throw new RetryableError(`reading bulk response: ${(error as Error).message}`, {
        errorType: 'store',
        cause: error,
      });
    }
    adaptive.observe({
      latencyMs: performance.now() - started,
      rejected: outcomes.some((o) => o.kind === 'retry' && o.status === 429),
      docs: lines.length,
    });
    sizeGauge.set(adaptive.current());
    return outcomes;
  }

  return {
    client,
    applyRetention,
    bulkSize: () => adaptive.current(),

    async healthcheck() {
      await request('connecting to Elasticsearch', () => client.info());
      const before = await installedHashes();
      for (const t of templates) {
        if (before.get(t.name) === t.hash) continue;
        await request(`installing index template ${t.name}`, () =>
          client.indices.putIndexTemplate({ name: t.name, ...t.body } as never),
        );
        logger.info({ template: t.name, hash: t.hash }, 'index template installed');
      }
      const after = await installedHashes();
      const wrong = templates.filter((t) => after.get(t.name) !== t.hash).map((t) => t.name);
      if (wrong.length > 0) {
        throw new PermanentError(
          `checking index templates: ${wrong.join(', ')} differ from index-template.json`,
          { errorType: 'config' },
        );
      }
      if (config.retentionDays > 0 && retentionTimer === undefined) {
        const run = () =>
          applyRetention().catch((error: unknown) =>
            logger.warn({ err: String(error) }, 'applying retention failed; trying again later'),
          );
        void run();
        retentionTimer = setInterval(run, config.retentionIntervalMs);
        retentionTimer.unref();
      }
    },

    async write(batch, signal) {
      if (batch.length === 0) return;
      const docs: BulkDoc[] = [];
      const rejected: string[] = [];
      for (const event of batch) {
        try {
          const read = await decoder.read(event);
          docs.push({
            index: indexName(config.indexPrefix, read.family, read.timeUnixNano),
            id: read.eventId,
            doc: read.document,
          });
        } catch (error) {
          if (!(error instanceof PermanentError)) throw error;
          rejected.push(
            `offset ${event.topic}/${event.partition}/${event.offset}: ${error.message}`,
          );
        }
      }
      const lines = bulkLines(docs);
      let pending = lines.map((_, i) => i);
      for (let attempt = 0; pending.length > 0; attempt++) {
        const failed: number[] = [];
        let lastReason = '';
        const pendingLines = pending.map((i) => lines[i]!);
        for (const part of cutRequests(pendingLines, adaptive.current(), config.bulk.maxBytes)) {
          const outcomes = await sendBulk(
            part.map((i) => pendingLines[i]!),
            signal,
          );
          outcomes.forEach((outcome, j) => {
            const docIndex = pending[part[j]!]!;
            if (outcome.kind === 'stored') {
              items.inc({ outcome: outcome.duplicate ? 'duplicate' : 'created' });
            } else if (outcome.kind === 'retry') {
              items.inc({ outcome: 'retried' });
              failed.push(docIndex);
              lastReason = `HTTP ${outcome.status} ${outcome.reason}`;
            } else {
              items.inc({ outcome: 'rejected' });
              rejected.push(
                `document ${docs[docIndex]!.id} in ${docs[docIndex]!.index}: HTTP ${outcome.status} ${outcome.reason}`,
              );
            }
          });
        }
        if (failed.length === 0) break;
        if (attempt >= config.bulk.itemRetries) {
          throw new RetryableError(
            `storing documents: ${failed.length} of ${docs.length} still failing after ${attempt + 1} attempts (${lastReason})`,
            { errorType: 'store' },
          );
        }
        pending = failed;
        await delay(Math.min(5000, 100 * 2 ** attempt), undefined, { signal });
      }
      if (rejected.length > 0) {
        // The runtime writes the batch again one event at a time: stored ones answer 409 (no-op),
        // the rejected ones go to the dead-letter topic with this message.
        throw new PermanentError(
          `storing documents: ${rejected.length} of ${batch.length} rejected; first: ${rejected[0]}`,
          { errorType: 'store' },
        );
      }
    },

    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      await client.close();
    },
  };
}

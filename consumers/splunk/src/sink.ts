import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Counter, type Registry } from 'prom-client';
import { createEventCodec } from '@vigil/pipeline/codec';
import { FatalError, PermanentError, RetryableError } from '@vigil/pipeline/errors';
import type { Logger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import type { Sink } from '@vigil/pipeline/sink';
import { createRecordDecoder, type RecordDecoder } from '@vigil/documents/decode';
import type { SplunkConfig } from './config.js';
import { classifyAnswer, toEnvelope } from './envelope.js';
import { createHecHttp } from './hec.js';
import { createRecentIds } from '@vigil/pipeline/recent-ids';

/** Everything of the config the sink reads. */
export type SplunkSinkConfig = Pick<
  SplunkConfig,
  | 'registryUrl'
  | 'url'
  | 'token'
  | 'tlsCaFile'
  | 'index'
  | 'source'
  | 'sourcetypePrefix'
  | 'maxRequestBytes'
  | 'requestTimeoutMs'
  | 'ack'
  | 'rememberIds'
>;

export interface SplunkSinkDeps {
  readonly logger: Logger;
  readonly registry?: Registry;
  readonly decoder?: RecordDecoder;
}

/**
 * The collector refused the token or the client's configuration (channel, ack): no retry helps and
 * no event is at fault, so the worker stops with this message for the operator.
 */
export class SplunkConfigurationError extends FatalError {
  constructor(message: string) {
    super(message, { errorType: 'auth' });
  }
}

function networkError(step: string, error: unknown): RetryableError {
  const code = (error as { code?: string }).code;
  return new RetryableError(`${step}: ${(error as Error).message}`, {
    errorType: code === 'ETIMEDOUT' ? 'timeout' : 'network',
    cause: error,
  });
}

export interface SplunkSink extends Sink {
  /** The channel GUID used with indexer acknowledgement. */
  readonly channel: string;
}

/** Creates the sink; no I/O until healthcheck or write. */
export function createSplunkSink(config: SplunkSinkConfig, deps: SplunkSinkDeps): SplunkSink {
  const http = createHecHttp({
    url: config.url,
    ca: config.tlsCaFile ? readFileSync(config.tlsCaFile, 'utf8') : undefined,
    timeoutMs: config.requestTimeoutMs,
  });
  const decoder =
    deps.decoder ??
    createRecordDecoder(createEventCodec(createSchemaRegistryClient({ url: config.registryUrl })));
  const channel = config.ack.channel ?? randomUUID();
  const headers: Record<string, string> = {
    authorization: `Splunk ${config.token}`,
    ...(config.ack.enabled ? { 'x-splunk-request-channel': channel } : {}),
  };
  const accepted = createRecentIds(config.rememberIds);
  const requestCounter = new Counter({
    name: 'splunk_hec_requests_total',
    help: 'HEC requests by verdict: ok, retry, reject, auth, config.',
    labelNames: ['verdict'],
    registers: deps.registry ? [deps.registry] : [],
  });

  function stop(reason: string): never {
    throw new SplunkConfigurationError(
      `the HTTP Event Collector at ${config.url} refused this worker (${reason}): check splunk.token, that the token is enabled, may write splunk.index, and has indexer acknowledgement on if and only if splunk.ack.enabled is`,
    );
  }

  /** Waits until every ackId is acknowledged; RetryableError after `ack.timeoutMs`. */
  async function awaitAcks(ids: number[], signal: AbortSignal) {
    const pending = new Set(ids);
    const deadline = Date.now() + config.ack.timeoutMs;
    while (pending.size > 0) {
      await delay(config.ack.pollIntervalMs, undefined, { signal });
      let answer;
      try {
        answer = await http.post(
          '/services/collector/ack',
          JSON.stringify({ acks: [...pending] }),
          headers,
          signal,
        );
      } catch (error) {
        throw networkError('asking for indexer acknowledgement', error);
      }
      const acks = (answer.body as { acks?: Record<string, boolean> } | undefined)?.acks;
      if (answer.status !== 200 || !acks) {
        const verdict = classifyAnswer(answer.status, answer.body);
        if (verdict.kind === 'auth' || verdict.kind === 'config') stop(verdict.reason);
        throw new RetryableError(
          `asking for indexer acknowledgement: ${verdict.kind === 'ok' ? 'no acks in the answer' : verdict.reason}`,
          { errorType: 'http' },
        );
      }
      for (const [id, done] of Object.entries(acks)) if (done) pending.delete(Number(id));
      if (pending.size > 0 && Date.now() > deadline) {
        throw new RetryableError(
          `waiting for indexer acknowledgement: ${pending.size} requests not acknowledged within ${config.ack.timeoutMs} ms; sending again`,
          { errorType: 'timeout' },
        );
      }
    }
  }

  return {
    channel,

    async healthcheck() {
      let health;
      try {
        health = await http.get('/services/collector/health');
      } catch (error) {
        throw networkError(`reaching the HTTP Event Collector at ${config.url}`, error);
      }
      if (health.status !== 200) {
        throw new RetryableError(
          `checking collector health: ${classifyAnswer(health.status, health.body).kind} (HTTP ${health.status})`,
          { errorType: 'http' },
        );
      }
      // An empty request proves the token without storing anything: a valid token gets "No data".
      let probe;
      try {
        probe = await http.post('/services/collector/event', '', headers);
      } catch (error) {
        throw networkError('checking the token', error);
      }
      const code = (probe.body as { code?: number } | undefined)?.code;
      if (code === 5) return;
      const verdict = classifyAnswer(probe.status, probe.body);
      if (verdict.kind === 'auth' || verdict.kind === 'config') stop(verdict.reason);
      throw new RetryableError(
        `checking the token: unexpected answer ${verdict.kind === 'ok' ? 'Success' : verdict.reason}`,
        { errorType: 'http' },
      );
    },

    async write(batch, signal) {
      const envelopes: Array<{ id: string; text: string }> = [];
      const rejected: string[] = [];
      for (const event of batch) {
        try {
          const record = await decoder.read(event);
          if (accepted.has(record.eventId)) continue; // sent by an earlier attempt of this batch
          const envelope = toEnvelope(record, config);
          envelopes.push({ id: record.eventId, text: JSON.stringify(envelope) });
        } catch (error) {
          if (!(error instanceof PermanentError)) throw error;
          rejected.push(
            `offset ${event.topic}/${event.partition}/${event.offset}: ${error.message}`,
          );
        }
      }
      // Requests of at most maxRequestBytes, in order.
      const requests: Array<typeof envelopes> = [];
      let current: typeof envelopes = [];
      let bytes = 0;
      for (const e of envelopes) {
        const size = Buffer.byteLength(e.text);
        if (current.length > 0 && bytes + size > config.maxRequestBytes) {
          requests.push(current);
          current = [];
          bytes = 0;
        }
        current.push(e);
        bytes += size;
      }
      if (current.length > 0) requests.push(current);

      const pendingAcks: Array<{ ackId: number; ids: string[] }> = [];
      for (const request of requests) {
        let answer;
        try {
          answer = await http.post(
            '/services/collector/event',
            request.map((e) => e.text).join('\n'),
            headers,
            signal,
          );
        } catch (error) {
          throw networkError(`sending ${request.length} events to the collector`, error);
        }
        const verdict = classifyAnswer(answer.status, answer.body);
        requestCounter.inc({ verdict: verdict.kind });
        if (verdict.kind === 'ok') {
          if (config.ack.enabled) {
            if (verdict.ackId === undefined)
              stop('acknowledgement is on here but the collector gave no ackId');
            pendingAcks.push({ ackId: verdict.ackId, ids: request.map((e) => e.id) });
          } else {
            for (const e of request) accepted.add(e.id);
          }
          continue;
        }
        if (verdict.kind === 'auth' || verdict.kind === 'config') stop(verdict.reason);
        if (verdict.kind === 'retry') {
          throw new RetryableError(`sending events to the collector: ${verdict.reason}`, {
            errorType: 'http',
          });
        }
        // Bad data: Splunk kept the events before the invalid one.
        const kept = verdict.invalidEvent ?? 0;
        if (!config.ack.enabled) for (const e of request.slice(0, kept)) accepted.add(e.id);
        const bad = request[kept];
        rejected.push(`event ${bad?.id ?? '?'}: ${verdict.reason}`);
        // The events after the invalid one were not read: the runtime's one-by-one pass sends them.
        break;
      }
      if (pendingAcks.length > 0) {
        await awaitAcks(
          pendingAcks.map((p) => p.ackId),
          signal,
        );
        for (const p of pendingAcks) for (const id of p.ids) accepted.add(id);
      }
      if (rejected.length > 0) {
        throw new PermanentError(`sending events to the collector: rejected ${rejected[0]}`, {
          errorType: 'http',
        });
      }
    },

    async close() {
      http.close();
    },
  };
}

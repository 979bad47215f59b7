import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { redactSecrets } from '@vigil/config/config';
import { newEventId } from '@vigil/pipeline/events';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { FAMILIES, familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import Long from 'long';
import { pino, type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { gatewayConfigSchema, type GatewayConfig } from './config.js';
import { DecodeError, MAX_DATAGRAM_BYTES, type DropReason } from './decode.js';
import {
  openListeners,
  parseListen,
  type ListenAddress,
  type Listener,
  type ListenProtocol,
} from './listen.js';
import { createKafkaProducer, producerProperties } from './producer.js';
import { createPublisher, type Publisher, type SchemaIds } from './publish.js';
import { prepareMessage, type PreparedBatch } from './prepare.js';
import {
  decodeSpoolPayload,
  encodeSpoolRecord,
  openSpool,
  type Spool,
  type SpoolRecord,
} from './spool.js';

/**
 * The gateway assembled: listeners → decode → spool → publisher → Kafka, plus /metrics and
 * /healthz. No side effects until `start`; `main.ts` wires it to the process (signals, exit).
 */

export interface GatewayDeps {
  readonly logger?: Logger;
  /** Schema ids by transport byte, instead of asking the registry (tests, benches). */
  readonly schemaIds?: SchemaIds;
}

export interface Gateway {
  /** Opens the spool, the listeners and the HTTP port; starts sending. Rejects when a port is taken. */
  start(): Promise<void>;
  /** Bound addresses, e.g. ["udp:127.0.0.1:40123"] (real ports when 0 was configured). */
  readonly addresses: readonly string[];
  /** "http://host:port" of /metrics and /healthz. */
  readonly httpUrl: string;
  readonly metrics: Registry;
  /**
   * Stops receiving, sends what it can until `shutdownTimeoutMs`, closes the spool (the rest stays
   * on disk for the next start). Resolves true when the spool was empty at exit.
   */
  stop(): Promise<boolean>;
}

/** Metrics of STYLE §6 (label component="gateway") and the gateway's own. */
function createMetrics(registry: Registry, refresh: () => void) {
  const component = 'gateway';
  const labels = { component };
  return {
    received: new Counter({
      name: 'component_received_events_total',
      help: 'Messages received',
      labelNames: ['component', 'protocol'],
      registers: [registry],
    }),
    receivedBytes: new Counter({
      name: 'component_received_bytes_total',
      help: 'Bytes of messages received',
      labelNames: ['component', 'protocol'],
      registers: [registry],
    }),
    sent: new Counter({
      name: 'component_sent_events_total',
      help: 'Events acknowledged by Kafka',
      labelNames: ['component', 'topic'],
      registers: [registry],
    }),
    discarded: new Counter({
      name: 'component_discarded_events_total',
      help: 'Messages dropped, by reason',
      labelNames: ['component', 'intentional', 'reason'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'component_errors_total',
      help: 'Errors by type and stage',
      labelNames: ['component', 'error_type', 'stage'],
      registers: [registry],
    }),
    spooled: new Counter({
      name: 'gateway_spooled_events_total',
      help: 'Events written to the spool (from then on they survive a crash)',
      labelNames: ['component'],
      registers: [registry],
    }),
    replayed: new Counter({
      name: 'gateway_replayed_events_total',
      help: 'Events sent from the spool after a Kafka absence or a restart',
      labelNames: ['component'],
      registers: [registry],
    }),
    backlog: new Gauge({
      name: 'gateway_spool_backlog_bytes',
      help: 'Spooled bytes not yet in Kafka',
      labelNames: ['component'],
      registers: [registry],
      collect: refresh,
    }),
    spoolDisk: new Gauge({
      name: 'gateway_spool_disk_bytes',
      help: 'Size of the spool segment files',
      labelNames: ['component'],
      registers: [registry],
      collect: refresh,
    }),
    kafkaUp: new Gauge({
      name: 'gateway_kafka_up',
      help: '1 while the last produce request succeeded',
      labelNames: ['component'],
      registers: [registry],
      collect: refresh,
    }),
    batchEvents: new Histogram({
      name: 'gateway_batch_events',
      help: 'Events per produce request',
      labelNames: ['component'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    produceSeconds: new Histogram({
      name: 'gateway_produce_request_seconds',
      help: 'Duration of produce requests',
      labelNames: ['component'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'gateway_delivery_latency_seconds',
      help: 'From receipt of a message to its acknowledgement by Kafka',
      labelNames: ['component'],
      buckets: [
        0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1,
        0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
      ],
      registers: [registry],
    }),
    labels,
  };
}

/** Remembers what a full spool dropped per session, to report it with a session Dropped event. */
interface SessionDrops {
  events: number;
  bytes: number;
}
const MAX_TRACKED_SESSIONS = 1000;

/** Creates the gateway from a validated config. */
export function createGateway(config: GatewayConfig, deps: GatewayDeps = {}): Gateway {
  const gatewayId = config.id ?? hostname();
  const log =
    deps.logger ??
    pino({ level: config.logLevel, base: { component: 'gateway', gateway_id: gatewayId } });
  const registry = new Registry();
  const m = createMetrics(registry, () => updateGauges());
  const { labels } = m;
  const addresses: string[] = [];
  let httpUrl = '';
  let spool: Spool | undefined;
  let publisher: Publisher | undefined;
  let listeners: Listener[] = [];
  let http: Server | undefined;
  let flushScheduled = false;
  let spoolError: Error | undefined;
  const sessionDrops = new Map<string, SessionDrops>();
  const startedAt = Date.now();
  let droppedSequence = 0;
  let maintenance: NodeJS.Timeout | undefined;
  const lastLogged = new Map<string, number>();

  /** Logs at most once per second per kind, so a flood of bad input cannot flood the log. */
  function rateLimited(kind: string, write: () => void): void {
    const now = Date.now();
    if ((lastLogged.get(kind) ?? 0) + 1000 > now) return;
    lastLogged.set(kind, now);
    write();
  }

  /** Counts and logs a drop: one function, so the log and the metric never disagree [STYLE §6]. */
  function drop(reason: DropReason, peer: string, detail: string, count = 1): void {
    const intentional = reason === 'idle_client' ? 'true' : 'false';
    m.discarded.inc({ ...labels, intentional, reason }, count);
    if (reason !== 'idle_client')
      m.errors.inc(
        {
          ...labels,
          error_type: reason === 'spool_full' ? 'store' : 'codec',
          stage: reason === 'spool_full' ? 'spool' : 'decode',
        },
        count,
      );
    rateLimited(`drop:${reason}`, () =>
      (reason === 'spool_full' ? log.error.bind(log) : log.warn.bind(log))(
        { reason, peer },
        `dropping a message: ${detail}`,
      ),
    );
  }

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    // One write per event-loop turn: every datagram read in this turn goes to disk together.
    setImmediate(() => {
      flushScheduled = false;
      try {
        spool?.flush();
        spoolError = undefined;
      } catch (error) {
        spoolError = error as Error;
        m.errors.inc({ ...labels, error_type: 'store', stage: 'spool' });
        rateLimited('spool-write', () =>
          log.error({ err: error }, 'writing the spool failed; events in this write are lost'),
        );
      }
      publisher?.wake();
    });
  }

  // Children bound to their labels once: the hot path then skips prom-client's label hashing.
  const receivedBy = new Map<
    ListenProtocol,
    {
      events: ReturnType<typeof m.received.labels>;
      bytes: ReturnType<typeof m.receivedBytes.labels>;
    }
  >();
  const spooledChild = m.spooled.labels(labels);
  const latencyChild = m.latency.labels(labels);

  function receivedCounters(protocol: ListenProtocol) {
    let counters = receivedBy.get(protocol);
    if (!counters) {
      counters = {
        events: m.received.labels({ ...labels, protocol }),
        bytes: m.receivedBytes.labels({ ...labels, protocol }),
      };
      receivedBy.set(protocol, counters);
    }
    return counters;
  }

  /** Appends prepared spool records; counts those a full spool refuses (drop newest). */
  function toSpool(records: Buffer): void {
    const refused = spool!.appendEncoded(records);
    if (refused.length > 0) {
      const lost = refused.map(decodeSpoolPayload);
      const peer = lost[lost.length - 1]?.peer ?? 'unknown';
      drop('spool_full', peer, `the spool is full (${config.spool.maxBytes} bytes)`, lost.length);
      for (const record of lost) if (record) rememberSessionDrop(record);
    }
    scheduleFlush();
  }

  /** A session's events lost to a full spool, to report with a Dropped event once there is room. */
  function rememberSessionDrop(record: SpoolRecord): void {
    if (record.familyId !== familyByName('session').transportId) return;
    if (sessionDrops.size >= MAX_TRACKED_SESSIONS && !sessionDrops.has(record.key)) return;
    const seen = sessionDrops.get(record.key) ?? { events: 0, bytes: 0 };
    seen.events++;
    seen.bytes += record.value.length;
    sessionDrops.set(record.key, seen);
  }

  /** Datagrams the UDP thread checked and laid out (prepare.ts). */
  function onPrepared(batch: PreparedBatch, protocol: ListenProtocol): void {
    const counters = receivedCounters(protocol);
    counters.events.inc(batch.received);
    counters.bytes.inc(batch.receivedBytes);
    for (const problem of batch.problems)
      drop(problem.reason, problem.peer, problem.detail, problem.count);
    if (batch.records.byteLength > 0) toSpool(Buffer.from(batch.records));
  }

  /** One stream frame or unix datagram: checked and laid out here. */
  function onMessage(bytes: Buffer, peer: string, protocol: ListenProtocol): void {
    const counters = receivedCounters(protocol);
    counters.events.inc();
    counters.bytes.inc(bytes.length);
    const limit = protocol === 'unixgram' ? config.maxDatagramBytes : config.maxFrameBytes;
    let record: SpoolRecord;
    try {
      record = prepareMessage(bytes, peer, performance.timeOrigin + performance.now(), limit);
    } catch (error) {
      if (error instanceof DecodeError) return drop(error.reason, peer, error.message);
      throw error;
    }
    toSpool(encodeSpoolRecord(record));
  }

  /** Once the spool has room again, tells each affected session what it lost (a Dropped event). */
  function reportSessionDrops(): void {
    const session = familyByName('session');
    for (const [key, seen] of sessionDrops) {
      const message = vigil.session.v1.SessionEvent.create({
        envelope: {
          eventId: newEventId(),
          sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_GATEWAY,
          host: hostname(),
          producerId: `gateway/${gatewayId}/${startedAt}`,
          sequence: Long.fromNumber(++droppedSequence, true),
          timeUnixNano: Long.fromString((BigInt(Date.now()) * 1_000_000n).toString(), true),
        },
        sessionId: /^[0-9a-f-]{36}$/.test(key)
          ? Buffer.from(key.replaceAll('-', ''), 'hex')
          : Buffer.from(key, 'hex'),
        dropped: {
          events: Long.fromNumber(seen.events, true),
          bytes: Long.fromNumber(seen.bytes, true),
          reason: 'spool_full',
        },
      });
      const value = vigil.session.v1.SessionEvent.encode(message).finish();
      const ok = spool!.append({
        familyId: session.transportId,
        key,
        peer: 'gateway',
        receivedAtMs: Date.now(),
        value,
      });
      if (!ok) {
        droppedSequence--;
        return; // still full; try again later
      }
      sessionDrops.delete(key);
      log.warn(
        { session: key, events: seen.events, bytes: seen.bytes },
        'reported events a full spool dropped',
      );
    }
    scheduleFlush();
  }

  const schemaCache = join(config.spool.dir, 'schema-ids.json');

  /** Schema ids: from deps, else the registry (retried), cached in the spool dir for a start without it. */
  async function schemaIds(): Promise<SchemaIds> {
    if (deps.schemaIds) return deps.schemaIds;
    let cached: Map<number, number> | undefined;
    try {
      const parsed = JSON.parse(readFileSync(schemaCache, 'utf8')) as Record<string, number>;
      cached = new Map(Object.entries(parsed).map(([k, v]) => [Number(k), v]));
      if (cached.size !== FAMILIES.length) cached = undefined;
    } catch {
      cached = undefined;
    }
    const client = createSchemaRegistryClient({
      url: config.registry.url,
      ...(config.registry.username !== undefined ? { username: config.registry.username } : {}),
      ...(config.registry.password !== undefined ? { password: config.registry.password } : {}),
    });
    const fetchIds = async (): Promise<Map<number, number>> => {
      const ids = new Map<number, number>();
      for (const family of FAMILIES)
        ids.set(family.transportId, await client.registerFile(family.protoFile));
      const tmp = `${schemaCache}.tmp`;
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(ids)));
      renameSync(tmp, schemaCache);
      return ids;
    };
    const retrying = async (): Promise<Map<number, number>> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fetchIds();
        } catch (error) {
          m.errors.inc({ ...labels, error_type: 'schema', stage: 'registry' });
          rateLimited('registry', () =>
            log.error(
              { err: error, attempt },
              'registering schemas failed; events wait in the spool',
            ),
          );
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))),
          );
        }
      }
    };
    if (cached) {
      // Ids of unchanged files never change; refresh in the background all the same.
      void retrying().catch(() => undefined);
      return cached;
    }
    return retrying();
  }

  function updateGauges(): void {
    if (!spool) return;
    const stats = spool.stats();
    m.backlog.set(labels, stats.backlogBytes);
    m.spoolDisk.set(labels, stats.diskBytes);
    m.kafkaUp.set(labels, publisher?.healthy ? 1 : 0);
  }

  async function openHttp(): Promise<void> {
    http = createServer((request, response) => {
      if (request.url === '/metrics') {
        registry
          .metrics()
          .then((text) =>
            response.writeHead(200, { 'content-type': registry.contentType }).end(text),
          )
          .catch((error: Error) => response.writeHead(500).end(error.message));
        return;
      }
      if (request.url === '/healthz') {
        // Healthy while events are accepted: Kafka's absence is what the spool is for, so only a
        // spool that cannot be written (or is full) makes the gateway unhealthy.
        const stats = spool?.stats();
        const full = stats ? stats.backlogBytes >= config.spool.maxBytes * 0.99 : true;
        const ok = !spoolError && !full && listeners.length > 0;
        const body = {
          status: ok ? 'ok' : 'unhealthy',
          kafka: publisher?.kafka ?? 'unknown',
          spoolBacklogBytes: stats?.backlogBytes ?? 0,
          spoolError: spoolError?.message,
        };
        response
          .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(body));
        return;
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      http!.once('error', reject);
      http!.listen(config.http.port, config.http.host, () => {
        http!.off('error', reject);
        resolve();
      });
    });
    const bound = http.address();
    if (bound && typeof bound === 'object') {
      httpUrl = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    }
  }

  return {
    get addresses() {
      return addresses;
    },
    get httpUrl() {
      return httpUrl;
    },
    metrics: registry,

    async start() {
      log.info({ config: redactSecrets(gatewayConfigSchema, config) }, 'starting the gateway');
      spool = openSpool(config.spool, Date.now, (records) => spooledChild.inc(records));
      const recovered = spool.stats();
      if (recovered.backlogBytes > 0 || recovered.truncatedBytes > 0) {
        log.info(
          { backlogBytes: recovered.backlogBytes, truncatedBytes: recovered.truncatedBytes },
          'found a spool backlog; replaying it',
        );
      }
      // Up to four spool reads in flight: librdkafka keeps sending while acknowledgements come back.
      const window = { events: config.batch.maxEvents * 4, bytes: config.batch.maxBytes * 4 };
      const properties = producerProperties(config, window);
      publisher = createPublisher({
        spool,
        createProducer: (events) =>
          createKafkaProducer(properties, {
            metadataTimeoutMs: config.kafka.requestTimeoutMs,
            events,
          }),
        schemaIds,
        topicPrefix: config.kafka.topicPrefix,
        gatewayId,
        batch: config.batch,
        window,
        stallMs: config.kafka.requestTimeoutMs,
        retry: config.retry,
        events: {
          sent(batch, byTopic, durationMs, replayed) {
            const now = performance.timeOrigin + performance.now();
            for (const record of batch.records)
              latencyChild.observe(Math.max(0, now - record.receivedAtMs) / 1000);
            for (const [topic, count] of byTopic) m.sent.inc({ ...labels, topic }, count);
            if (replayed > 0) m.replayed.inc(labels, replayed);
            m.batchEvents.observe(labels, batch.records.length);
            m.produceSeconds.observe(labels, durationMs / 1000);
          },
          failed(error, attempt, retryInMs) {
            m.errors.inc({ ...labels, error_type: 'kafka', stage: 'produce' });
            rateLimited('produce', () =>
              log.warn(
                { err: { message: error.message, name: error.name }, attempt, retryInMs },
                'producing to kafka failed; events stay in the spool',
              ),
            );
          },
          clientError(error) {
            m.errors.inc({ ...labels, error_type: 'kafka', stage: 'connection' });
            rateLimited('kafka-client', () =>
              log.warn(
                { err: { message: error.message, code: (error as { code?: number }).code } },
                'kafka client trouble; it keeps retrying, events stay in the spool',
              ),
            );
          },
          recovered(afterAttempts) {
            log.info({ afterAttempts }, 'kafka takes events again; replaying the spool');
          },
          unframable(records) {
            drop('unknown_family', 'spool', 'no schema id for its family', records.length);
          },
        },
      });
      const specs = config.listen.map((text) => parseListen(text) as ListenAddress);
      listeners = await openListeners(
        specs,
        {
          maxFrameBytes: config.maxFrameBytes,
          maxDatagramBytes: config.maxDatagramBytes,
          receiveBufferBytes: config.receiveBufferBytes,
          idleTimeoutMs: config.idleTimeoutMs,
          maxConnections: config.maxConnections,
          maxQueueBytes: config.maxQueueBytes,
        },
        {
          onMessage,
          onPrepared,
          onProblem: (problem, peer, _protocol, count) =>
            drop(problem.reason, peer, problem.detail, count),
          onError: (error, address) => {
            m.errors.inc({ ...labels, error_type: 'network', stage: 'receive' });
            rateLimited(`socket:${address}`, () =>
              log.error({ err: error, address }, 'socket error'),
            );
          },
        },
      );
      addresses.push(...listeners.map((l) => l.address));
      await openHttp();
      publisher.start();
      maintenance = setInterval(
        () => {
          if (sessionDrops.size > 0) reportSessionDrops();
          try {
            spool?.flush(); // the interval fsync policy also needs a turn when traffic stops
          } catch {
            // reported by the next scheduled flush
          }
        },
        Math.min(1000, config.spool.fsyncIntervalMs),
      );
      maintenance.unref();
      log.info(
        {
          listen: addresses,
          http: httpUrl,
          maxDatagramBytes: Math.min(config.maxDatagramBytes, MAX_DATAGRAM_BYTES),
        },
        'gateway ready',
      );
    },

    async stop() {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      await Promise.all(listeners.map((listener) => listener.close()));
      listeners = [];
      if (maintenance) clearInterval(maintenance);
      try {
        spool?.flush();
      } catch (error) {
        log.error({ err: error }, 'writing the spool at shutdown failed');
      }
      const drained = publisher ? await publisher.stop(deadline) : true;
      const left = spool?.stats().backlogBytes ?? 0;
      spool?.close();
      spool = undefined;
      http?.closeAllConnections();
      await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
      log.info(
        { drained, backlogBytes: left },
        drained
          ? 'gateway stopped; the spool is empty'
          : 'gateway stopped; the backlog stays in the spool',
      );
      return drained && left === 0;
    },
  };
}

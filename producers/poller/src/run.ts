import { watchFile, unwatchFile } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createEventCodec } from '@vigil/pipeline/codec';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { loadPollerConfig, redactPollerConfig, type PollerConfig } from './config.js';
import { createPoller, type Poller } from './poller.js';
import { createStatusPublisher, STATUS_EVENT } from './publish.js';
import { loadKnownStates } from './state-store.js';
import { createTelemetry, type Telemetry } from './telemetry.js';

/** Options of {@link runPoller}. */
export interface RunPollerOptions {
  /** The YAML file (section `poller`); watched for changes, which apply without a restart. */
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly flags?: Record<string, unknown>;
  readonly log?: Logger;
  /** How often the config file is checked for changes. */
  readonly reloadCheckMs?: number;
}

/** A running poller. */
export interface RunningPoller {
  readonly poller: Poller;
  readonly telemetry: Telemetry;
  readonly config: () => PollerConfig;
  /** Stops polling, flushes and disconnects. Resolves when everything is closed. */
  close(): Promise<void>;
}

/**
 * `vigil poll`: loads and validates the config (before any I/O), registers the StatusEvent schema,
 * creates the topics, reads the state topic to its end, then polls until closed.
 * Throws ConfigError for bad config, RetryableError while the registry or Kafka are unreachable.
 */
export async function runPoller(options: RunPollerOptions = {}): Promise<RunningPoller> {
  let config = loadPollerConfig({
    file: options.file,
    ...(options.env ? { env: options.env } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
  const telemetry = createTelemetry(options.log ? { log: options.log } : {});
  const { log } = telemetry;
  log.info(
    { config: redactPollerConfig(config) },
    `poller ${config.instance} starting with ${config.sources.length} sources`,
  );

  const codec = createEventCodec(createSchemaRegistryClient({ url: config.registry.url }));
  await codec.register([STATUS_EVENT]);
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId });
  await ensureTopics(kafka, [
    { topic: config.topic, numPartitions: 3, replicationFactor: 1, cleanupPolicy: 'delete' },
    { topic: config.stateTopic, numPartitions: 3, replicationFactor: 1, cleanupPolicy: 'compact' },
  ]);
  const startedAt = Date.now();
  const known = await loadKnownStates(kafka, codec, config.stateTopic, {
    groupId: `vigil-poller-state-${config.instance}-${startedAt}`,
    onBadRecord: (error) =>
      telemetry.error(
        'state',
        'codec',
        `state topic ${config.stateTopic}: skipping a record: ${(error as Error).message}`,
      ),
  });
  log.info(
    { services: known.services.size, outages: [...known.outages.keys()] },
    `read ${known.services.size} service states and ${known.outages.size} open outages from ${config.stateTopic}`,
  );

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const host = hostname();
  const publisher = createStatusPublisher({
    codec,
    producer,
    producerId: `poller/${config.instance}/${startedAt.toString(36)}`,
  });
  const poller = createPoller(config, {
    publisher,
    telemetry,
    known: known.services,
    outages: known.outages,
    hostname: host,
  });
  poller.start();

  const reload = () => {
    try {
      const next = loadPollerConfig({
        file: options.file,
        ...(options.env ? { env: options.env } : {}),
        ...(options.flags ? { flags: options.flags } : {}),
      });
      const fixed = ['kafka', 'registry', 'topic', 'stateTopic', 'instance'] as const;
      const ignored = fixed.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(config[k]));
      if (ignored.length > 0)
        log.warn(
          { keys: ignored },
          `config change of ${ignored.join(', ')} needs a restart; applying the rest`,
        );
      config = { ...next, ...Object.fromEntries(fixed.map((k) => [k, config[k]])) } as PollerConfig;
      poller.apply(config);
      log.info({ sources: config.sources.map((s) => s.name) }, 'config reloaded');
    } catch (error) {
      telemetry.error(
        'config',
        'config',
        `config file changed but is not valid, keeping the running config: ${(error as Error).message}`,
      );
    }
  };
  // watchFile polls stat(), which also sees editors that replace the file instead of writing it.
  if (options.file)
    watchFile(
      options.file,
      { interval: options.reloadCheckMs ?? 2000 },
      (cur, prev) => cur.mtimeMs !== prev.mtimeMs && reload(),
    );

  let server: Server | undefined;
  if (config.metricsListen) {
    const [mhost, mport] = [
      config.metricsListen.slice(0, config.metricsListen.lastIndexOf(':')),
      Number(config.metricsListen.slice(config.metricsListen.lastIndexOf(':') + 1)),
    ];
    server = createServer((req, res) => {
      void telemetry.registry.metrics().then((body) => {
        res.writeHead(req.url === '/metrics' ? 200 : 404, {
          'content-type': telemetry.registry.contentType,
        });
        res.end(req.url === '/metrics' ? body : '');
      });
    }).listen(mport, mhost);
  }

  return {
    poller,
    telemetry,
    config: () => config,
    async close() {
      if (options.file) unwatchFile(options.file);
      await poller.stop();
      server?.close();
      await producer.disconnect();
    },
  };
}

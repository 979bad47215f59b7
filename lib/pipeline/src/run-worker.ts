import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import { loadConfig } from '@vigil/config/config';
import { chunkEvents, eventBytes } from './batch.js';
import { kafkaClientConfig, type WorkerConfig } from './config-blocks.js';
import {
  createKafkajsClient,
  type BatchControl,
  type KafkaClient,
  type OutputRecord,
  type PartitionBatch,
  type PipelineEvent,
  type ProducerClient,
} from './consume.js';
import { FatalError, RetryableError, VigilError, type ErrorType } from './errors.js';
import { startHealthServer } from './health.js';
import type { KafkaConfig } from './kafka.js';
import { createLogger, type Logger } from './log.js';
import { createTelemetry, type Stage, type Telemetry } from './metrics.js';
import { backoffDelay, dispositionOf } from './retry.js';

/**
 * What runSink and runTransform share: config, consume loop, batching, retries with paused
 * partitions, dead-lettering, commits in offset order after the output is durable, metrics,
 * health server, and the drain on stop. Internal: workers use run-sink.ts or run-transform.ts.
 */

/** What a worker factory receives besides its config. */
export interface WorkerDeps {
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** For workers that read side topics (verify reads the watermark registry). */
  readonly kafka: KafkaClient;
}

/** Where the config comes from; all optional (defaults, then process.env). */
export interface ConfigSources {
  /** YAML file whose `<name>` section is this worker's. */
  readonly configFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Flag values by key path ("kafka.groupId"). */
  readonly flags?: Readonly<Record<string, unknown>>;
}

/** Options common to runSink and runTransform. */
export interface RunOptions<S extends z.ZodType> extends ConfigSources {
  /** The worker's folder name: config section, metric label, env prefix VIGIL_<NAME>_. */
  readonly name: string;
  readonly configSchema: S;
  /** Replaces the kafkajs client (tests, or another client library). */
  readonly kafka?: KafkaClient;
  /** Replaces the JSON logger on stdout. */
  readonly logger?: Logger;
}

/** A started worker. */
export interface RunningWorker {
  /** Port of /metrics and /healthz. */
  readonly port: number;
  readonly telemetry: Telemetry;
  /**
   * Drains: stops fetching, lets in-flight batches finish and commit within `drainTimeoutMs`
   * (then aborts them; their records are delivered again later), closes everything. Idempotent.
   */
  stop(): Promise<void>;
  /** Resolves after stop(); rejects with the error when a programmer error or a client crash stopped it. */
  readonly done: Promise<void>;
}

/** How one chunk of one partition becomes durable; throws like a Sink or Transform. */
export type Deliver = (chunk: readonly PipelineEvent[], signal: AbortSignal) => Promise<void>;

/** The dead-letter record of an event that failed permanently: same key and value, headers naming why. */
export function deadLetterRecord(
  topic: string,
  component: string,
  event: PipelineEvent,
  error: unknown,
  stage: string,
): OutputRecord {
  const errorType = error instanceof VigilError ? error.errorType : 'programmer';
  const message = error instanceof Error ? error.message : String(error);
  return {
    topic,
    key: event.key,
    value: event.value,
    headers: {
      ...event.headers,
      'vigil-dlq-origin-topic': event.topic,
      'vigil-dlq-origin-partition': String(event.partition),
      'vigil-dlq-origin-offset': event.offset,
      'vigil-dlq-error-type': errorType,
      'vigil-dlq-error-message': message.slice(0, 1000),
      'vigil-dlq-component': component,
      'vigil-dlq-stage': stage,
    },
  };
}

/**
 * Logs and counts an event that went to the dead-letter topic: an error of its type at `stage`, and
 * one unintentional discard naming the topic it went to.
 */
export function reportDeadLettered(
  telemetry: Telemetry,
  deadLetterTopic: string,
  event: PipelineEvent,
  error: unknown,
  how: {
    readonly stage: Stage;
    readonly errorType: ErrorType | 'programmer';
    readonly message: string;
  },
): void {
  const origin = { topic: event.topic, partition: event.partition, offset: event.offset };
  telemetry.error({ errorType: how.errorType, stage: how.stage, error, ...origin }, how.message);
  telemetry.discarded(
    { count: 1, intentional: false, reason: 'dead-lettered', ...origin, deadLetterTopic },
    'event sent to the dead-letter topic',
  );
}

/** The KafkaConfig of the shared `kafka` block; reads the CA file (the first I/O). */
export function kafkaConfigOf(config: WorkerConfig): KafkaConfig {
  return kafkaClientConfig(config.kafka);
}

/** Loads and validates the config; throws ConfigError listing every problem. No other I/O. */
export function loadWorkerConfig<S extends z.ZodType>(
  options: RunOptions<S>,
): z.infer<S> & WorkerConfig {
  return loadConfig(options.configSchema, {
    section: options.name,
    envPrefix: `VIGIL_${options.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`,
    file: options.configFile,
    ...(options.env ? { env: options.env } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  }) as z.infer<S> & WorkerConfig;
}

/** Everything a worker kind plugs into the loop. */
export interface WorkerPlugin {
  healthcheck(): Promise<void>;
  deliver: Deliver;
  close(): Promise<void>;
}

/**
 * Starts a worker: config (validated before any I/O), healthcheck, health server, consumer loop.
 * Rejects if the config is invalid, the healthcheck fails or the port is taken.
 */
export async function startWorker<S extends z.ZodType>(
  options: RunOptions<S>,
  createPlugin: (
    config: z.infer<S> & WorkerConfig,
    deps: WorkerDeps & { readonly producer: ProducerClient },
  ) => Promise<WorkerPlugin>,
): Promise<RunningWorker> {
  const config = loadWorkerConfig(options);
  const logger = options.logger ?? createLogger(options.name, { level: config.logLevel });
  const telemetry = createTelemetry(options.name, logger);
  const kafka = options.kafka ?? createKafkajsClient(kafkaConfigOf(config));

  const producer = kafka.producer();
  await producer.connect();
  let plugin: WorkerPlugin;
  try {
    plugin = await createPlugin(config, { logger, telemetry, kafka, producer });
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  try {
    await plugin.healthcheck();
  } catch (error) {
    telemetry.error(
      {
        errorType: error instanceof VigilError ? error.errorType : 'programmer',
        stage: 'healthcheck',
        error,
      },
      'healthcheck failed',
    );
    await plugin.close().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    throw error;
  }

  const consumer = kafka.consumer({
    groupId: config.kafka.groupId,
    maxWaitTimeMs: config.batch.maxWaitMs,
    maxBytesPerPartition: config.batch.maxBytes,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
  });

  let stopping = false;
  let fatal: unknown;
  let consumerRunning = false;
  const drain = new AbortController();
  const attempts = new Map<string, number>();
  const resumeTimers = new Set<NodeJS.Timeout>();
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined); // the caller observes it; never an unhandled rejection here

  const health = await startHealthServer({
    host: config.health.host,
    port: config.health.port,
    registry: telemetry.registry,
    unhealthyReason: () => {
      if (fatal !== undefined) return 'stopped after a fatal error';
      if (stopping) return 'stopping';
      if (!consumerRunning) return 'consumer not running';
      return undefined;
    },
  });

  /** Runs `deliver` with heartbeats going out meanwhile; rethrows a rebalance seen by a heartbeat. */
  async function deliverWithHeartbeats(
    chunk: readonly PipelineEvent[],
    control: BatchControl,
  ): Promise<'done' | 'aborted'> {
    const local = new AbortController();
    let heartbeatError: unknown;
    const timer = setInterval(
      () => {
        control.heartbeat().catch((error: unknown) => {
          heartbeatError ??= error;
          local.abort(error);
        });
      },
      Math.max(100, Math.floor(config.kafka.heartbeatIntervalMs / 2)),
    );
    try {
      await plugin.deliver(chunk, AbortSignal.any([local.signal, drain.signal]));
    } catch (error) {
      if (heartbeatError !== undefined) throw heartbeatError;
      if (drain.signal.aborted) return 'aborted';
      throw error;
    } finally {
      clearInterval(timer);
    }
    if (heartbeatError !== undefined) throw heartbeatError;
    return 'done';
  }

  function crash(error: unknown): void {
    if (fatal !== undefined) return;
    fatal = error;
    if (error instanceof FatalError) {
      telemetry.error(
        { errorType: error.errorType, stage: 'process', error },
        'an operator must act: stopping the worker',
      );
    } else {
      telemetry.error(
        { errorType: 'programmer', stage: 'process', error },
        'programmer error: stopping the worker',
      );
    }
    void stop();
  }

  async function handle(batch: PartitionBatch, control: BatchControl): Promise<void> {
    if (stopping || fatal !== undefined || batch.records.length === 0) return;
    const key = `${batch.topic}\u0000${batch.partition}`;
    telemetry.received(batch.topic, batch.records.length, eventBytes(batch.records));
    for (const chunk of chunkEvents(batch.records, config.batch)) {
      if (stopping || fatal !== undefined || !control.isActive()) return;
      await control.heartbeat();
      const started = performance.now();
      try {
        if ((await deliverWithHeartbeats(chunk, control)) === 'aborted') return;
      } catch (error) {
        const disposition = dispositionOf(error);
        if (disposition === 'crash') {
          if (isClientError(error)) throw error; // a rebalance or commit failure: kafkajs rejoins and re-delivers
          crash(error);
          return;
        }
        // 'dead-letter' cannot reach here: deliver handles permanent errors per event.
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        const wait = backoffDelay(
          attempt,
          config.retry,
          error instanceof RetryableError ? error.retryAfterMs : undefined,
        );
        telemetry.error(
          {
            errorType: (error as VigilError).errorType,
            stage: 'write',
            error,
            topic: batch.topic,
            partition: batch.partition,
            offset: chunk[0]!.offset,
            attempt,
            retryInMs: wait,
          },
          'batch failed: partition paused, retrying',
        );
        const resume = control.pause();
        const timer = setTimeout(() => {
          resumeTimers.delete(timer);
          resume();
        }, wait);
        resumeTimers.add(timer);
        return; // uncommitted records are fetched again after the resume
      }
      attempts.delete(key);
      const last = chunk.at(-1)!;
      await control.commit(last.offset);
      telemetry.observeProcessing((performance.now() - started) / 1000);
      telemetry.setLag(
        batch.topic,
        batch.partition,
        Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)),
      );
    }
  }

  let stopped: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopped ??= (async () => {
      stopping = true;
      const deadline = setTimeout(
        () => drain.abort(new Error('drain deadline passed')),
        config.drainTimeoutMs,
      );
      try {
        await Promise.race([
          consumer.stop(),
          delay(config.drainTimeoutMs + 5000, undefined, { ref: false }),
        ]);
      } finally {
        clearTimeout(deadline);
      }
      for (const timer of resumeTimers) clearTimeout(timer);
      consumerRunning = false;
      await consumer
        .disconnect()
        .catch((error: unknown) =>
          logger.warn({ err: String(error) }, 'disconnecting consumer failed'),
        );
      await producer
        .disconnect()
        .catch((error: unknown) =>
          logger.warn({ err: String(error) }, 'disconnecting producer failed'),
        );
      await plugin
        .close()
        .catch((error: unknown) => logger.warn({ err: String(error) }, 'closing worker failed'));
      await health.close();
      logger.info({ drained: !drain.signal.aborted }, 'stopped');
      if (fatal !== undefined) rejectDone(fatal);
      else resolveDone();
    })();
    return stopped;
  }

  consumer.onCrash((error) => {
    telemetry.error(
      { errorType: 'kafka', stage: 'receive', error },
      'consumer crashed: stopping the worker',
    );
    fatal ??= error;
    void stop();
  });

  try {
    await consumer.connect();
    await consumer.subscribe(config.kafka.topics, { fromBeginning: config.kafka.fromBeginning });
    await consumer.run(handle, { partitionsConcurrently: config.kafka.partitionsConcurrently });
  } catch (error) {
    fatal = error;
    await stop();
    throw error;
  }
  consumerRunning = true;
  logger.info(
    { topics: config.kafka.topics, groupId: config.kafka.groupId, port: health.port },
    'worker started',
  );
  return { port: health.port, telemetry, stop, done };
}

function isClientError(error: unknown): boolean {
  // kafkajs errors (rebalance in progress, not coordinator, illegal generation) carry this name prefix.
  return error instanceof Error && error.name.startsWith('KafkaJS');
}

/** Starts a worker and stops it on SIGTERM or SIGINT; resolves when stopped, rejects on a fatal error. */
export async function runUntilSignal(start: () => Promise<RunningWorker>): Promise<void> {
  let worker: RunningWorker;
  try {
    worker = await start();
  } catch (error) {
    // An invalid config is the operator's to fix: say what is wrong, without a stack trace.
    if (error instanceof Error && error.name === 'ConfigError') {
      console.error(error.message);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const onSignal = () => void worker.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await worker.done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

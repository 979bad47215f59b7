import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorType } from './errors.js';
import type { Logger } from './log.js';

/**
 * The same metrics for every component, labelled `component=<folder>` [Vector instrumentation
 * spec], and one function per internal event that both logs and counts it, so logs and metrics
 * never disagree [Vector internal_events].
 */

/** Where in a worker an error happened: the `stage` label. */
export type Stage =
  'receive' | 'decode' | 'process' | 'write' | 'produce' | 'commit' | 'dead-letter' | 'healthcheck';

/** Counters and histograms of one component, plus the functions that log and count. */
export interface Telemetry {
  readonly registry: Registry;
  /** Events read from Kafka (count and value bytes). */
  received(topic: string, events: number, bytes: number): void;
  /** Events made durable downstream (stored by a sink or produced with acks=all). */
  sent(events: number, bytes: number): void;
  /**
   * An error: logged (rate-limited per error type and stage) and counted in
   * `component_errors_total{error_type,stage}`.
   */
  error(
    fields: {
      readonly errorType: ErrorType | 'programmer';
      readonly stage: Stage;
      readonly error: unknown;
    } & Record<string, unknown>,
    message: string,
  ): void;
  /**
   * Events dropped: `intentional` (a transform filtered them, reason says why) or not (dead-lettered
   * after a permanent error). Logged (unintentional ones at ERROR, rate-limited) and counted.
   */
  discarded(
    fields: {
      readonly count: number;
      readonly intentional: boolean;
      readonly reason: string;
    } & Record<string, unknown>,
    message: string,
  ): void;
  /** Seconds one batch took from handing it over until it was durable. */
  observeProcessing(seconds: number): void;
  /** Records between the one just committed and the partition's end. */
  setLag(topic: string, partition: number, lag: number): void;
}

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  /** Minimum interval between two log lines of the same error kind; the rest are counted as suppressed. */
  readonly errorLogIntervalMs?: number;
  readonly now?: () => number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates the metrics of a component in a registry of its own (default labels: component). */
export function createTelemetry(
  component: string,
  logger: Logger,
  options: TelemetryOptions = {},
): Telemetry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  const receivedEvents = new Counter({
    name: 'component_received_events_total',
    help: 'Events read from Kafka.',
    labelNames: ['topic'],
    registers: [registry],
  });
  const receivedBytes = new Counter({
    name: 'component_received_event_bytes_total',
    help: 'Value bytes read from Kafka.',
    labelNames: ['topic'],
    registers: [registry],
  });
  const sentEvents = new Counter({
    name: 'component_sent_events_total',
    help: 'Events made durable downstream.',
    registers: [registry],
  });
  const sentBytes = new Counter({
    name: 'component_sent_event_bytes_total',
    help: 'Bytes made durable downstream.',
    registers: [registry],
  });
  const errors = new Counter({
    name: 'component_errors_total',
    help: 'Errors by type and stage.',
    labelNames: ['error_type', 'stage'],
    registers: [registry],
  });
  const discards = new Counter({
    name: 'component_discarded_events_total',
    help: 'Events dropped, intentionally or not.',
    labelNames: ['intentional', 'reason'],
    registers: [registry],
  });
  const processing = new Histogram({
    name: 'component_processing_seconds',
    help: 'Time from handing a batch to the worker until its output was durable.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'component_consumer_lag',
    help: 'Records not yet committed, per partition.',
    labelNames: ['topic', 'partition'],
    registers: [registry],
  });

  const interval = options.errorLogIntervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  function shouldLog(key: string): number | undefined {
    const entry = lastLogged.get(key);
    const t = now();
    if (entry && t - entry.at < interval) {
      entry.suppressed++;
      return undefined;
    }
    lastLogged.set(key, { at: t, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }

  return {
    registry,
    received(topic, events, bytes) {
      receivedEvents.inc({ topic }, events);
      receivedBytes.inc({ topic }, bytes);
    },
    sent(events, bytes) {
      sentEvents.inc(events);
      sentBytes.inc(bytes);
    },
    error({ errorType, stage, error, ...fields }, message) {
      errors.inc({ error_type: errorType, stage });
      const suppressed = shouldLog(`${errorType}/${stage}`);
      if (suppressed === undefined) return;
      const level = errorType === 'programmer' ? 'fatal' : 'warn';
      logger[level]({ ...fields, errorType, stage, err: describe(error), suppressed }, message);
    },
    discarded({ count, intentional, reason, ...fields }, message) {
      discards.inc({ intentional: String(intentional), reason }, count);
      if (intentional) {
        logger.debug({ ...fields, count, reason }, message);
        return;
      }
      const suppressed = shouldLog(`discard/${reason}`);
      if (suppressed !== undefined) logger.error({ ...fields, count, reason, suppressed }, message);
    },
    observeProcessing(seconds) {
      processing.observe(seconds);
    },
    setLag(topic, partition, value) {
      lag.set({ topic, partition: String(partition) }, value);
    },
  };
}

import pino, { type Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import type { ErrorType } from '@vigil/pipeline/errors';

/**
 * The poller's metrics (the shared names of STYLE §6, label component="poller") and logs. Every
 * reportable thing goes through one function here, so the log line and the counter never disagree
 * [Vector internal_events].
 */
export interface Telemetry {
  readonly registry: Registry;
  readonly log: Logger;
  /** Services read from a source (before filtering). */
  polled(source: string, count: number, seconds: number): void;
  /** Services dropped by the host/service filters: an intentional, counted drop. */
  filtered(source: string, count: number): void;
  /** Events sent to Kafka, by kind. */
  sent(
    kind: 'snapshot' | 'state_change' | 'source_unreachable' | 'source_recovered' | 'state',
    count: number,
  ): void;
  /** One error: logged (WARN, or ERROR when data may be lost) and counted. */
  error(
    stage: 'poll' | 'publish' | 'state' | 'watch' | 'config',
    errorType: ErrorType,
    message: string,
    fields?: Record<string, unknown>,
  ): void;
}

export function createTelemetry(
  options: { readonly log?: Logger; readonly level?: string } = {},
): Telemetry {
  const registry = new Registry();
  registry.setDefaultLabels({ component: 'poller' });
  const received = new Counter({
    name: 'component_received_events_total',
    help: 'services read from sources',
    labelNames: ['source'],
    registers: [registry],
  });
  const sentEvents = new Counter({
    name: 'component_sent_events_total',
    help: 'events sent to Kafka',
    labelNames: ['kind'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'component_errors_total',
    help: 'errors by type and stage',
    labelNames: ['error_type', 'stage'],
    registers: [registry],
  });
  const discarded = new Counter({
    name: 'component_discarded_events_total',
    help: 'services not reported',
    labelNames: ['intentional'],
    registers: [registry],
  });
  const pollSeconds = new Histogram({
    name: 'poller_poll_duration_seconds',
    help: 'one poll of one source, fetch and parse',
    labelNames: ['source'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const log = options.log ?? pino({ name: 'vigil-poller', level: options.level ?? 'info' });
  return {
    registry,
    log,
    polled(source, count, seconds) {
      received.inc({ source }, count);
      pollSeconds.observe({ source }, seconds);
    },
    filtered(_source, count) {
      if (count > 0) discarded.inc({ intentional: 'true' }, count);
    },
    sent(kind, count) {
      if (count > 0) sentEvents.inc({ kind }, count);
    },
    error(stage, errorType, message, fields = {}) {
      errors.inc({ error_type: errorType, stage });
      const level = stage === 'publish' || stage === 'state' ? 'error' : 'warn';
      log[level]({ stage, errorType, ...fields }, message);
    },
  };
}

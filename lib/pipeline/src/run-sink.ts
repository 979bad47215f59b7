import type { z } from 'zod';
import { eventBytes } from './batch.js';
import type { WorkerConfig } from './config-blocks.js';
import type { PipelineEvent } from './consume.js';
import { dispositionOf } from './retry.js';
import {
  deadLetterRecord,
  reportDeadLettered,
  runUntilSignal,
  startWorker,
  type RunningWorker,
  type RunOptions,
  type WorkerDeps,
} from './run-worker.js';
import { configFileFromArgs } from '@vigil/config/config';

export type { PipelineEvent } from './consume.js';
export type { RunningWorker, WorkerDeps } from './run-worker.js';

/** A destination. The runtime owns batching, retries, offsets, DLQ and metrics. */
export interface Sink {
  /** Rejects at startup if the destination is unreachable or misconfigured. */
  healthcheck(): Promise<void>;
  /** Resolves once every event is stored. Throws RetryableError or PermanentError. */
  write(batch: readonly PipelineEvent[], signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link runSink} and {@link startSink}. */
export interface RunSinkOptions<S extends z.ZodType> extends RunOptions<S> {
  /** Builds the sink from the validated config; called once, before the healthcheck. */
  readonly createSink: (
    config: z.infer<S> & WorkerConfig,
    deps: WorkerDeps,
  ) => Sink | Promise<Sink>;
}

/**
 * Starts a sink worker: consumes `kafka.topics`, cuts each partition's records into batches
 * (`batch.maxEvents`, `batch.maxBytes`; `batch.maxWaitMs` bounds the fetch), calls `write`, and
 * commits a batch's offsets only after `write` resolved, in order per partition.
 *
 * - RetryableError: the partition pauses, the batch is retried after an exponential backoff with
 *   jitter, without attempt limit.
 * - PermanentError: for a batch of several events, each event is written alone to find the bad
 *   one(s) (sinks are idempotent by event id); an event that still fails goes to `deadLetterTopic`
 *   with headers naming its origin and the error, counted as an unintentional discard.
 * - Anything else is a programmer error: the worker stops and `done` rejects with it.
 *
 * Resolves once consuming; rejects on invalid config, failed healthcheck or an unbindable port.
 */
export function startSink<S extends z.ZodType>(options: RunSinkOptions<S>): Promise<RunningWorker> {
  return startWorker(options, async (config, deps) => {
    const sink = await options.createSink(config, deps);
    const { telemetry, producer } = deps;

    async function deadLetter(event: PipelineEvent, error: unknown): Promise<void> {
      await producer.send([
        deadLetterRecord(config.deadLetterTopic, options.name, event, error, 'write'),
      ]);
      reportDeadLettered(telemetry, config.deadLetterTopic, event, error, {
        stage: 'write',
        errorType: (error as { errorType?: 'store' }).errorType ?? 'store',
        message: 'event rejected by the destination',
      });
    }

    return {
      healthcheck: () => sink.healthcheck(),
      close: () => sink.close(),
      async deliver(chunk, signal) {
        try {
          await sink.write(chunk, signal);
          telemetry.sent(chunk.length, eventBytes(chunk));
          return;
        } catch (error) {
          if (dispositionOf(error) !== 'dead-letter') throw error;
          if (chunk.length === 1) {
            await deadLetter(chunk[0]!, error);
            return;
          }
        }
        // A permanent failure of a batch: find which events cannot be stored, one at a time.
        for (const event of chunk) {
          try {
            await sink.write([event], signal);
            telemetry.sent(1, event.value.length);
          } catch (error) {
            if (dispositionOf(error) !== 'dead-letter') throw error;
            await deadLetter(event, error);
          }
        }
      },
    };
  });
}

/** `main.ts` of a sink: {@link startSink}, stopped (drained) by SIGTERM or SIGINT. */
export function runSink<S extends z.ZodType>(options: RunSinkOptions<S>): Promise<void> {
  // A worker's own program: the config file comes from its command line or $VIGIL_CONFIG.
  return runUntilSignal(() =>
    startSink({ ...options, configFile: options.configFile ?? configFileFromArgs() }),
  );
}

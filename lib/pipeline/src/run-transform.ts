import type { z } from 'zod';
import { eventBytes } from './batch.js';
import type { WorkerConfig } from './config-blocks.js';
import type { OutputRecord, PipelineEvent } from './consume.js';
import { VigilError } from './errors.js';
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

export type { OutputRecord, PipelineEvent } from './consume.js';
export type { RunningWorker, WorkerDeps } from './run-worker.js';

/** An event dropped on purpose, with the reason (a bounded label: `duplicate`, `filtered`, ...). */
export interface Discard {
  readonly discard: string;
}

/** What one input event becomes: records to produce, or a deliberate, counted drop. */
export type TransformResult = readonly OutputRecord[] | Discard;

/** Marks a deliberate drop; `reason` becomes the `reason` label of the discard counter. */
export function discard(reason: string): Discard {
  return { discard: reason };
}

/** A stage between topics. The runtime owns batching, producing, retries, offsets, DLQ and metrics. */
export interface Transform {
  /** Rejects at startup if what the transform needs (keys, lookup tables) is missing or broken. */
  healthcheck(): Promise<void>;
  /**
   * The records one event becomes. An empty array counts as an intentional drop ('filtered').
   * Throws PermanentError (the event goes to the dead-letter topic), RetryableError (the batch is
   * retried, so the same event may be transformed again: keep state idempotent per record), or
   * anything else for a programmer error.
   */
  transform(event: PipelineEvent, signal: AbortSignal): Promise<TransformResult> | TransformResult;
  close(): Promise<void>;
}

/** Options of {@link runTransform} and {@link startTransform}. */
export interface RunTransformOptions<S extends z.ZodType> extends RunOptions<S> {
  readonly createTransform: (
    config: z.infer<S> & WorkerConfig,
    deps: WorkerDeps,
  ) => Transform | Promise<Transform>;
}

/**
 * Starts a transform worker: consumes, batches per partition, transforms every event, produces all
 * outputs of a batch (and its dead letters) with acks=all, then commits the batch's offsets — so an
 * input offset is committed only once its outputs are durable, in order per partition. Outputs of
 * one input keep their order, and outputs keep input order. Error handling as in startSink.
 */
export function startTransform<S extends z.ZodType>(
  options: RunTransformOptions<S>,
): Promise<RunningWorker> {
  return startWorker(options, async (config, deps) => {
    const transform = await options.createTransform(config, deps);
    const { telemetry, producer } = deps;
    return {
      healthcheck: () => transform.healthcheck(),
      close: () => transform.close(),
      async deliver(chunk, signal) {
        const outputs: OutputRecord[] = [];
        const drops = new Map<string, number>();
        const rejected: Array<{ event: PipelineEvent; error: unknown }> = [];
        for (const event of chunk) {
          let result: TransformResult;
          try {
            result = await transform.transform(event, signal);
          } catch (error) {
            if (dispositionOf(error) !== 'dead-letter') throw error;
            rejected.push({ event, error });
            outputs.push(
              deadLetterRecord(config.deadLetterTopic, options.name, event, error, 'process'),
            );
            continue;
          }
          if ('discard' in result || result.length === 0) {
            const reason = 'discard' in result ? result.discard : 'filtered';
            drops.set(reason, (drops.get(reason) ?? 0) + 1);
          } else {
            outputs.push(...result);
          }
        }
        await producer.send(outputs);
        // Counted only once durable, so a retried batch is not counted twice.
        telemetry.sent(
          outputs.length - rejected.length,
          eventBytes(outputs) - eventBytes(rejected.map((r) => r.event)),
        );
        for (const [reason, count] of drops)
          telemetry.discarded({ count, intentional: true, reason }, 'events dropped on purpose');
        for (const { event, error } of rejected) {
          reportDeadLettered(telemetry, config.deadLetterTopic, event, error, {
            stage: 'process',
            errorType: error instanceof VigilError ? error.errorType : 'codec',
            message: 'event rejected',
          });
        }
      },
    };
  });
}

/** `main.ts` of a transform: {@link startTransform}, stopped (drained) by SIGTERM or SIGINT. */
export function runTransform<S extends z.ZodType>(options: RunTransformOptions<S>): Promise<void> {
  // A worker's own program: the config file comes from its command line or $VIGIL_CONFIG.
  return runUntilSignal(() =>
    startTransform({ ...options, configFile: options.configFile ?? configFileFromArgs() }),
  );
}

import { randomBytes } from 'node:crypto';
import type * as Vitest from 'vitest';
import type { PipelineEvent } from '../consume.js';
import { PermanentError, RetryableError } from '../errors.js';
import type { Sink } from '../run-sink.js';
import type { Transform, TransformResult } from '../run-transform.js';

/**
 * The suites every sink and every transform runs in its own `sink.test.ts` / `transform.test.ts`,
 * so that the runtime's assumptions (idempotent writes, typed errors, deterministic transforms)
 * hold for each of them [Benthos/Connect integration test kit].
 */

// vitest is a dev dependency: loaded here only if present, so production code importing other
// helpers of @vigil/pipeline/testing (the demo's sample events) does not need it.
const vitest = await import('vitest').catch(() => undefined);
function runner(): typeof Vitest {
  if (!vitest) throw new TypeError('the conformance suites need vitest (a dev dependency)');
  return vitest;
}

let offset = 0;

/** A PipelineEvent as the runtime would hand it over, for tests. */
export function pipelineEvent(
  value: Buffer,
  overrides: Partial<PipelineEvent> = {},
): PipelineEvent {
  return {
    topic: 'test.topic',
    partition: 0,
    offset: String(offset++),
    key: null,
    value,
    headers: {},
    timestampMs: Date.now(),
    ...overrides,
  };
}

/** What {@link describeSinkConformance} needs to know about a sink. */
export interface SinkConformanceOptions {
  readonly name: string;
  /** A sink writing to a destination of its own (a fresh index, directory...). */
  createSink(): Promise<Sink>;
  /** A sink pointed at an address where nothing listens; omit for sinks that have no remote side. */
  createUnreachableSink?(): Promise<Sink>;
  /** Events this sink must store (fresh event ids on every call). */
  events(): Promise<readonly PipelineEvent[]>;
  /** The idempotency key the sink stores an event under. */
  idOf(event: PipelineEvent): string;
  /** Every key stored so far, duplicates included (read back from the destination). */
  storedIds(sink: Sink): Promise<readonly string[]>;
}

/**
 * Registers the sink conformance tests (vitest `describe`): healthcheck, every event stored once,
 * a rewrite of the same batch stores nothing twice, an empty batch, typed errors when the
 * destination is unreachable, close.
 */
export function describeSinkConformance(options: SinkConformanceOptions): void {
  const { afterAll, beforeAll, describe, expect, it } = runner();
  describe(`sink conformance: ${options.name}`, () => {
    let sink: Sink;
    const written: PipelineEvent[] = [];
    beforeAll(async () => {
      sink = await options.createSink();
    }, 120_000);
    afterAll(async () => {
      await sink?.close();
    });

    it('passes its healthcheck', async () => {
      await sink.healthcheck();
    });

    it('stores every event of a batch once write resolves', async () => {
      const events = await options.events();
      expect(events.length).toBeGreaterThan(0);
      await sink.write(events, new AbortController().signal);
      written.push(...events);
      const stored = await options.storedIds(sink);
      for (const event of events) expect(stored).toContain(options.idOf(event));
    }, 60_000);

    it('is idempotent: writing the same batch again stores nothing twice', async () => {
      await sink.write(written, new AbortController().signal);
      const stored = await options.storedIds(sink);
      const mine = stored.filter((id) => written.some((e) => options.idOf(e) === id));
      expect(mine.length).toBe(new Set(mine).size);
      expect(new Set(mine).size).toBe(new Set(written.map((e) => options.idOf(e))).size);
    }, 60_000);

    it('accepts an empty batch', async () => {
      await sink.write([], new AbortController().signal);
    });

    if (options.createUnreachableSink) {
      const createUnreachable = options.createUnreachableSink;
      it('reports an unreachable destination: healthcheck rejects, write throws RetryableError', async () => {
        const unreachable = await createUnreachable();
        try {
          await expect(unreachable.healthcheck()).rejects.toBeInstanceOf(Error);
          const events = await options.events();
          await expect(
            unreachable.write(events, new AbortController().signal),
          ).rejects.toBeInstanceOf(RetryableError);
        } finally {
          await unreachable.close();
        }
      }, 60_000);
    }
  });
}

/** What {@link describeTransformConformance} needs to know about a transform. */
export interface TransformConformanceOptions {
  readonly name: string;
  createTransform(): Promise<Transform>;
  /** Events the transform must turn into records (not dead-letter). */
  events(): Promise<readonly PipelineEvent[]>;
}

function isValidResult(result: TransformResult): boolean {
  if ('discard' in result) return typeof result.discard === 'string' && result.discard.length > 0;
  return result.every(
    (r) => typeof r.topic === 'string' && r.topic.length > 0 && Buffer.isBuffer(r.value),
  );
}

/**
 * Registers the transform conformance tests: healthcheck; valid events become well-formed records;
 * the same record transformed twice gives the same output (retries and redeliveries are safe);
 * arbitrary bytes only ever give a result or a PermanentError, never a crash; close.
 */
export function describeTransformConformance(options: TransformConformanceOptions): void {
  const { afterAll, beforeAll, describe, expect, it } = runner();
  describe(`transform conformance: ${options.name}`, () => {
    let transform: Transform;
    beforeAll(async () => {
      transform = await options.createTransform();
    }, 120_000);
    afterAll(async () => {
      await transform?.close();
    });
    const signal = new AbortController().signal;

    it('passes its healthcheck', async () => {
      await transform.healthcheck();
    });

    it('turns valid events into well-formed records', async () => {
      const events = await options.events();
      expect(events.length).toBeGreaterThan(0);
      for (const event of events) {
        const result = await transform.transform(event, signal);
        expect(isValidResult(result), `result of offset ${event.offset}`).toBe(true);
        expect(
          'discard' in result ? 0 : result.length,
          'a valid event produces output',
        ).toBeGreaterThan(0);
      }
    }, 60_000);

    it('gives the same output when the same record is delivered again', async () => {
      for (const event of await options.events()) {
        const first = await transform.transform(event, signal);
        const second = await transform.transform(event, signal);
        expect(second).toEqual(first);
      }
    }, 60_000);

    it('answers arbitrary bytes with a result or a PermanentError, nothing else', async () => {
      const inputs: Buffer[] = [
        Buffer.alloc(0),
        Buffer.from([0]),
        Buffer.from([0, 0, 0, 0, 1, 0, 0xff]),
        randomBytes(64),
        randomBytes(3000),
      ];
      for (const event of await options.events())
        inputs.push(event.value.subarray(0, Math.floor(event.value.length / 2)));
      for (const value of inputs) {
        try {
          const result = await transform.transform(pipelineEvent(value), signal);
          expect(isValidResult(result)).toBe(true);
        } catch (error) {
          expect(error, `error for ${value.toString('hex').slice(0, 40)}`).toBeInstanceOf(
            PermanentError,
          );
        }
      }
    }, 60_000);
  });
}

/** An in-memory Sink for runtime tests: records every stored event (by topic/partition/offset). */
export interface MemorySink extends Sink {
  readonly stored: PipelineEvent[];
}

/** Creates a {@link MemorySink}; `onWrite` may throw to simulate failures before anything is stored. */
export function createMemorySink(
  onWrite?: (batch: readonly PipelineEvent[]) => void | Promise<void>,
): MemorySink {
  const stored: PipelineEvent[] = [];
  return {
    stored,
    healthcheck: async () => undefined,
    async write(batch) {
      await onWrite?.(batch);
      stored.push(...batch);
    },
    close: async () => undefined,
  };
}

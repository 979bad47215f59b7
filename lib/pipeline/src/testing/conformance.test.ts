import type { PipelineEvent } from '../consume.js';
import { PermanentError, RetryableError } from '../errors.js';
import type { Sink } from '../run-sink.js';
import { discard } from '../run-transform.js';
import {
  describeSinkConformance,
  describeTransformConformance,
  pipelineEvent,
} from './conformance.js';

/** The suites run against reference implementations, so a broken suite shows here first. */

function keyedSink(): Sink & { ids: string[] } {
  const byId = new Map<string, PipelineEvent>();
  return {
    get ids() {
      return [...byId.keys()];
    },
    healthcheck: async () => undefined,
    async write(batch) {
      for (const event of batch) byId.set(event.value.toString(), event);
    },
    close: async () => undefined,
  };
}

let n = 0;
describeSinkConformance({
  name: 'reference (in memory, keyed by value)',
  createSink: async () => keyedSink(),
  createUnreachableSink: async () => ({
    healthcheck: async () =>
      Promise.reject(new RetryableError('connecting: refused', { errorType: 'network' })),
    write: async () =>
      Promise.reject(new RetryableError('connecting: refused', { errorType: 'network' })),
    close: async () => undefined,
  }),
  events: async () => [1, 2, 3].map(() => pipelineEvent(Buffer.from(`event-${n++}`))),
  idOf: (event) => event.value.toString(),
  storedIds: async (sink) => (sink as ReturnType<typeof keyedSink>).ids,
});

describeTransformConformance({
  name: 'reference (upper-case, drops empty, rejects non-ASCII)',
  createTransform: async () => ({
    healthcheck: async () => undefined,
    close: async () => undefined,
    transform(event) {
      if (event.value.length === 0) return discard('empty');
      if (!/^[\x20-\x7e]*$/.test(event.value.toString('latin1')))
        throw new PermanentError('decoding: not ASCII', { errorType: 'codec' });
      return [
        { topic: 'out', key: event.key, value: Buffer.from(event.value.toString().toUpperCase()) },
      ];
    },
  }),
  events: async () => [pipelineEvent(Buffer.from('hello')), pipelineEvent(Buffer.from('world'))],
});

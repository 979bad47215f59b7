import { describe, expect, it } from 'vitest';
import { chunkEvents, eventBytes } from './batch.js';
import { pipelineEvent } from './testing/conformance.js';

const events = (sizes: number[]) =>
  sizes.map((n, i) => pipelineEvent(Buffer.alloc(n), { offset: String(i) }));
const shape = (chunks: { offset: string }[][]) => chunks.map((c) => c.map((e) => Number(e.offset)));

describe('chunkEvents', () => {
  it.each([
    { sizes: [], limits: { maxEvents: 2, maxBytes: 100 }, expected: [] },
    {
      sizes: [1, 1, 1, 1, 1],
      limits: { maxEvents: 2, maxBytes: 100 },
      expected: [[0, 1], [2, 3], [4]],
    },
    { sizes: [40, 40, 40], limits: { maxEvents: 10, maxBytes: 100 }, expected: [[0, 1], [2]] },
    { sizes: [500, 1, 1], limits: { maxEvents: 10, maxBytes: 100 }, expected: [[0], [1, 2]] },
    { sizes: [1, 500, 1], limits: { maxEvents: 10, maxBytes: 100 }, expected: [[0], [1], [2]] },
    { sizes: [50, 50], limits: { maxEvents: 10, maxBytes: 100 }, expected: [[0, 1]] },
  ])('$sizes within $limits → $expected', ({ sizes, limits, expected }) => {
    const chunks = chunkEvents(events(sizes), limits);
    expect(shape(chunks)).toEqual(expected);
  });

  it('keeps every event once, in order', () => {
    const input = events(Array.from({ length: 1000 }, (_, i) => (i * 37) % 300));
    const chunks = chunkEvents(input, { maxEvents: 7, maxBytes: 1000 });
    expect(chunks.flat()).toEqual(input);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(7);
      if (chunk.length > 1) expect(eventBytes(chunk)).toBeLessThanOrEqual(1000);
    }
  });
});

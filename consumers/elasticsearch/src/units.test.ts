import { describe, expect, it } from 'vitest';
import { createAdaptiveSize } from './adaptive.js';
import { bulkLines, classifyItems, cutRequests, indexName } from './bulk.js';
import { expiredIndices } from './retention.js';
import { configSchema } from './config.js';
import bulkFixture from '../testdata/bulk-response-mixed.json' with { type: 'json' };

describe('indexName', () => {
  it.each([
    [1_790_000_000_123_456_789n, 'vigil-process-2026.09.21'],
    [0n, 'vigil-process-1970.01.01'],
    [1_767_225_599_999_999_999n, 'vigil-process-2025.12.31'], // last ns of a UTC day
    [1_767_225_600_000_000_000n, 'vigil-process-2026.01.01'],
  ])('%s → %s (UTC day of the event time)', (time, expected) => {
    expect(indexName('vigil', 'process', time)).toBe(expected);
  });
});

describe('bulkLines and cutRequests', () => {
  it('writes create actions with the event id, one NDJSON pair per document', () => {
    const [line] = bulkLines([{ index: 'i', id: 'abc', doc: { a: 'x\ny' } }]);
    expect(line).toBe('{"create":{"_index":"i","_id":"abc"}}\n{"a":"x\\ny"}\n');
  });
  it('cuts by documents and bytes, never leaving a request empty', () => {
    const lines = ['aaaa', 'bb', 'cccccc', 'd', 'eeeeeeeeeeee'];
    expect(cutRequests(lines, 2, 1000)).toEqual([[0, 1], [2, 3], [4]]);
    expect(cutRequests(lines, 10, 7)).toEqual([[0, 1], [2, 3], [4]]);
    expect(cutRequests(lines, 10, 1)).toEqual([[0], [1], [2], [3], [4]]);
    expect(cutRequests([], 10, 10)).toEqual([]);
  });
});

describe('classifyItems', () => {
  it('reads a real mixed response item by item (testdata/bulk-response-mixed.json)', () => {
    const outcomes = classifyItems(bulkFixture, bulkFixture.items.length);
    expect(outcomes.map((o) => o.kind)).toEqual([
      'stored',
      'stored',
      'reject',
      'retry',
      'retry',
      'reject',
      'retry',
    ]);
    expect(outcomes[1]).toEqual({ kind: 'stored', duplicate: true });
    expect(outcomes[2]).toMatchObject({
      status: 400,
      reason: expect.stringContaining('document_parsing_exception'),
    });
    expect(outcomes[3]).toMatchObject({ status: 429 });
  });
  it('refuses a response whose item count differs from the request', () => {
    expect(() => classifyItems({ items: [] }, 1)).toThrow(TypeError);
  });
});

describe('expiredIndices', () => {
  const now = Date.UTC(2026, 10, 22, 10, 0, 0);
  const names = [
    'vigil-process-2026.11.22',
    'vigil-process-2026.11.15',
    'vigil-process-2026.11.14',
    'vigil-session-2025.01.01',
    'vigil-test-abc-process-2020.01.01', // another prefix that starts with ours
    'vigil-process',
    'other-process-2020.01.01',
  ];
  it('deletes only our daily indices older than the retention', () => {
    expect(expiredIndices(names, 'vigil', now, 7)).toEqual([
      'vigil-process-2026.11.14',
      'vigil-session-2025.01.01',
    ]);
  });
  it('keeps everything with retention 0', () => {
    expect(expiredIndices(names, 'vigil', now, 0)).toEqual([]);
  });
});

describe('createAdaptiveSize', () => {
  it('grows on fast full requests, halves on 429, shrinks on slow ones, stays in bounds', () => {
    const size = createAdaptiveSize({ initial: 100, min: 10, max: 150, targetLatencyMs: 1000 });
    size.observe({ latencyMs: 50, rejected: false, docs: 100 });
    expect(size.current()).toBe(110);
    size.observe({ latencyMs: 50, rejected: false, docs: 5 }); // a small request says nothing
    expect(size.current()).toBe(110);
    for (let i = 0; i < 20; i++) size.observe({ latencyMs: 50, rejected: false, docs: 1000 });
    expect(size.current()).toBe(150);
    size.observe({ latencyMs: 50, rejected: true, docs: 150 });
    expect(size.current()).toBe(75);
    size.observe({ latencyMs: 5000, rejected: false, docs: 75 });
    expect(size.current()).toBe(56);
    for (let i = 0; i < 20; i++) size.observe({ latencyMs: 50, rejected: true, docs: 1 });
    expect(size.current()).toBe(10);
  });
});

describe('configSchema', () => {
  it('has defaults for everything and refuses half-set credentials', () => {
    const config = configSchema.parse({});
    expect(config.url).toBe('http://127.0.0.1:9200');
    expect(config.kafka.topics).toContain('vigil.session.verified.v1');
    expect(() => configSchema.parse({ username: 'elastic' })).toThrow(
      /username and password go together/,
    );
    expect(() => configSchema.parse({ bulk: { minDocs: 100, initialDocs: 10 } })).toThrow(
      /minDocs <= initialDocs/,
    );
  });
});

import { decodeFrame } from '@vigil/pipeline/codec';
import { describe, expect, it } from 'vitest';
import { toTopicMessages, unixNanoText } from './publish.js';
import type { SpooledRecord } from './spool.js';

const rec = (familyId: number, key: string, value: number[]): SpooledRecord => ({
  familyId,
  key,
  peer: 'udp:[::1]:5000',
  receivedAtMs: 1_790_000_000_123.456,
  value: Uint8Array.from(value),
  size: 0,
  replay: false,
});

describe('toTopicMessages', () => {
  const ids = new Map([
    [1, 7],
    [2, 300],
  ]);

  it('re-frames the value unchanged with its family schema id and message index [0], keyed, with receipt headers', () => {
    const { topicMessages, unknown } = toTopicMessages(
      [rec(1, 'h/preload/b/1', [1, 2, 3]), rec(2, 's1', [9]), rec(1, 'h/preload/b/2', [4])],
      ids,
      {
        topicPrefix: 't-',
        gatewayId: 'gw1',
      },
    );
    expect(unknown).toEqual([]);
    expect(topicMessages.map((t) => [t.topic, t.messages.length])).toEqual([
      ['t-vigil.process.v1', 2],
      ['t-vigil.session.v1', 1],
    ]);
    const first = topicMessages[0]!.messages[0]!;
    const frame = decodeFrame(first.value as Buffer);
    expect(frame.schemaId).toBe(7);
    expect(frame.messageIndexes).toEqual([0]);
    expect([...frame.payload]).toEqual([1, 2, 3]);
    expect((first.value as Buffer).subarray(0, 6).toString('hex')).toBe('000000000700');
    expect(first.key).toBe('h/preload/b/1');
    expect(first.headers).toMatchObject({ peer: 'udp:[::1]:5000', gateway_id: 'gw1' });
    expect(first.headers!.received_at).toMatch(/^17900000001234\d{5}$/); // a double holds a few hundred ns here
  });

  it('returns records of a family without a schema id as unknown', () => {
    const { topicMessages, unknown } = toTopicMessages([rec(3, 'x', [1])], ids, {
      topicPrefix: '',
      gatewayId: 'g',
    });
    expect(topicMessages).toEqual([]);
    expect(unknown).toHaveLength(1);
  });
});

describe('unixNanoText', () => {
  it.each([
    [0, '0'],
    [1.5, '1500000'],
    [1_790_000_000_000, '1790000000000000000'],
  ])('%d ms is %s ns', (ms, text) => {
    expect(unixNanoText(ms)).toBe(text);
  });
});

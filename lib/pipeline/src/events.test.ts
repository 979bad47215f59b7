import { describe, expect, it } from 'vitest';
import Long from 'long';
import { formatUnixNano, formatUuid, newEventId, parseUuid, toBigInt } from './events.js';

describe('newEventId', () => {
  it('makes RFC 9562 version 7 ids carrying the millisecond', () => {
    const id = newEventId(1_790_000_000_123);
    expect(id.length).toBe(16);
    expect(id[6]! >> 4).toBe(7);
    expect(id[8]! >> 6).toBe(0b10);
    expect(id.readUIntBE(0, 6)).toBeGreaterThanOrEqual(1_790_000_000_123);
    expect(formatUuid(id)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('keeps ids from one process increasing, even many within one millisecond', () => {
    const ids = Array.from({ length: 10_000 }, () => formatUuid(newEventId(1_790_000_000_500)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('parses back what it formats', () => {
    const id = newEventId();
    expect(parseUuid(formatUuid(id))).toEqual(id);
    expect(() => parseUuid('not-a-uuid')).toThrow(TypeError);
  });
});

describe('formatUuid', () => {
  const id = parseUuid('0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b');
  it('formats 16 bytes inside a larger buffer in place, the same as the bytes alone', () => {
    const around = Buffer.concat([Buffer.from([1, 2, 3]), id, Buffer.from([4])]);
    expect(formatUuid(around, 3)).toBe('0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b');
    expect(formatUuid(new Uint8Array(around), 3)).toBe(formatUuid(id));
  });
  it('refuses a length other than 16, or an offset without 16 bytes after it', () => {
    expect(() => formatUuid(id.subarray(1))).toThrow(TypeError);
    expect(() => formatUuid(id, 1)).toThrow(TypeError);
    expect(() => formatUuid(id, -1)).toThrow(TypeError);
  });
});

describe('times', () => {
  it('converts 64-bit nanoseconds without precision loss', () => {
    const nanos = 1_790_000_000_123_456_789n; // beyond Number.MAX_SAFE_INTEGER
    expect(toBigInt(Long.fromString(nanos.toString(), true))).toBe(nanos);
    expect(formatUnixNano(nanos)).toBe('2026-09-21T14:13:20.123456789Z');
  });
});

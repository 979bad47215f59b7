import { describe, expect, it } from 'vitest';
import { CodecError, FatalError, PermanentError, RetryableError } from './errors.js';
import { backoffDelay, dispositionOf } from './retry.js';

const policy = { initialMs: 100, maxMs: 5000, multiplier: 2, jitter: 0.5 };

describe('backoffDelay', () => {
  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [2, 0, 100],
    [3, 1, 400],
    [10, 1, 5000], // capped
    [60, 0, 2500], // no overflow, still capped
  ])('attempt %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, undefined, () => random)).toBe(expected);
  });

  it('grows, and stays within [base*(1-jitter), base]', () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      const base = Math.min(5000, 100 * 2 ** (attempt - 1));
      const delay = backoffDelay(attempt, policy);
      expect(delay).toBeGreaterThanOrEqual(Math.floor(base / 2));
      expect(delay).toBeLessThanOrEqual(base);
    }
  });

  it('honours a Retry-After longer than the backoff', () => {
    expect(backoffDelay(1, policy, 7000, () => 0)).toBe(7000);
    expect(backoffDelay(3, policy, 10, () => 1)).toBe(400);
  });
});

describe('dispositionOf', () => {
  it.each([
    [new RetryableError('sending: 503', { errorType: 'http' }), 'retry'],
    [new PermanentError('sending: 400', { errorType: 'http' }), 'dead-letter'],
    [new CodecError('truncated', 'decoding: short'), 'dead-letter'],
    [new FatalError('sending: token refused', { errorType: 'auth' }), 'crash'],
    [new TypeError('x is undefined'), 'crash'],
    [new RangeError('bad'), 'crash'],
    [new Error('plain'), 'crash'],
    ['a string', 'crash'],
  ])('%s → %s', (error, expected) => {
    expect(dispositionOf(error)).toBe(expected);
  });
});

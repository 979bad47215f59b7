import { describe, expect, it } from 'vitest';
import { createRecentIds } from './recent-ids.js';

describe('createRecentIds', () => {
  it('forgets the oldest past its limit, and a re-added id becomes the newest', () => {
    const ids = createRecentIds(2);
    ids.add('a');
    ids.add('b');
    ids.add('a'); // a is now newer than b
    ids.add('c'); // evicts b
    expect([ids.has('a'), ids.has('b'), ids.has('c')]).toEqual([true, false, true]);
    expect(ids.size).toBe(2);
  });

  it('remembers nothing with a limit of 0', () => {
    const ids = createRecentIds(0);
    ids.add('a');
    expect(ids.has('a')).toBe(false);
    expect(ids.size).toBe(0);
  });
});

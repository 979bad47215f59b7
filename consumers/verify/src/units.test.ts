import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifiedTopicOf } from './config.js';
import { createKeyRing, parseKeyText } from './keys.js';
import { createReplayWindow } from './replay.js';

describe('verifiedTopicOf', () => {
  it.each([
    ['vigil.process.v1', 'vigil.process.verified.v1'],
    ['test-1.vigil.session.v1', 'test-1.vigil.session.verified.v1'],
    ['vigil.process.v12', 'vigil.process.verified.v12'],
    ['raw', 'raw.verified'],
  ])('%s → %s', (topic, expected) => expect(verifiedTopicOf(topic)).toBe(expected));
});

describe('key files', () => {
  it.each([
    ['00ff', '00ff'],
    ['  00 ff\n', '00ff'],
    ['AbCd\r\n', 'abcd'],
  ])('%j reads as %s', (text, hex) => expect(parseKeyText(text).toString('hex')).toBe(hex));

  it.each(['', '0', 'zz', '00 f'])('%j is rejected', (text) =>
    expect(() => parseKeyText(text)).toThrow(/hex/),
  );

  it('rotates: a new key file is picked up on reload, old ones stay until removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-keys-'));
    await writeFile(join(dir, 'site-2025.key'), 'aa'.repeat(32));
    await writeFile(join(dir, 'README'), 'not a key');
    const errors: unknown[] = [];
    const ring = await createKeyRing(dir, { reloadMs: 0, onError: (e) => errors.push(e) });
    expect(ring.ids()).toEqual(['site-2025']);
    await writeFile(join(dir, 'site-2026.key'), 'bb'.repeat(32));
    await ring.reload();
    expect(ring.ids()).toEqual(['site-2025', 'site-2026']);
    expect(ring.get('site-2026')).toEqual(Buffer.alloc(32, 0xbb));
    await writeFile(join(dir, 'broken.key'), 'xyz');
    await ring.reload();
    expect(ring.ids()).toEqual(['site-2025', 'site-2026']); // a bad reload keeps the old ring
    expect(String(errors[0])).toContain('broken.key');
    ring.close();
  });
});

describe('replay window', () => {
  it('tells new ids, redeliveries of the same record, and replays apart', () => {
    let now = 0;
    const window = createReplayWindow({ windowMs: 1000, maxIds: 3, now: () => now });
    expect(window.check('a', 't/0/1')).toBe('new');
    expect(window.check('a', 't/0/1')).toBe('redelivery');
    expect(window.check('a', 't/0/9')).toBe('replay');
    expect(window.check('a', 't/1/1')).toBe('replay');
    now = 1500; // past the window: forgotten
    expect(window.check('a', 't/0/20')).toBe('new');
    for (const id of ['b', 'c', 'd']) window.check(id, id);
    expect(window.size).toBe(3); // the oldest ('a') forgotten first
    expect(window.check('a', 'x')).toBe('new');
  });
});

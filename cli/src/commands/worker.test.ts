import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { workerMain, WORKERS } from './worker.js';

describe('vigil worker', () => {
  it.each(WORKERS)('finds the main script of %s', (name) => {
    expect(workerMain(name)).toMatch(new RegExp(`consumers/${name}/dist/main\\.js$`));
    expect(existsSync(workerMain(name))).toBe(true);
  });

  it('refuses an unknown worker by name', () => {
    expect(() => workerMain('nope')).toThrow(
      /unknown worker "nope" \(known: verify, enrich, elasticsearch, splunk, file\)/,
    );
  });

  it('runs the worker, which validates its config before any I/O and exits 2 naming the bad key', () => {
    const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'worker', 'verify'], {
      env: { ...process.env, VIGIL_VERIFY_BATCH_MAX_EVENTS: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('verify.batch.maxEvents');
  });

  it('hands the --config file to the worker, which reads its own section of it', () => {
    const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
    const file = fileURLToPath(new URL('../../testdata/bad-verify.yaml', import.meta.url));
    const result = spawnSync(process.execPath, [bin, '--config', file, 'worker', 'verify'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/verify\.batch\b.*maxEvnts/);
  });
});

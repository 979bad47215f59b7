import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));
const vigil = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('vigil', () => {
  it('lists its subcommands and the config option', () => {
    const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/--config <file>/);
    expect(help).toMatch(/\bstack\b/);
    expect(help).toMatch(/\bdemo\b/);
  });

  it('has help on every stack subcommand', () => {
    const help = vigil('stack', '--help').stdout;
    for (const sub of ['up', 'down', 'status', 'fetch'])
      expect(help).toMatch(new RegExp(`\\b${sub}\\b`));
  });

  it('names the bad key of a config file and exits non-zero before any I/O', () => {
    const dir = fileURLToPath(new URL('../testdata/', import.meta.url));
    const result = vigil('--config', `${dir}bad-stack.yaml`, 'stack', 'status');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/stack\.kafka\b.*"prot"/);
  });

  it('rejects an unknown subcommand', () => {
    const result = vigil('no-such-command');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unknown command/);
  });
});

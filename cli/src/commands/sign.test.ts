import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** `vigil sign` as a program: help, exit statuses, refusals that happen before any I/O. */

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
const vigil = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, VIGIL_SIGNER_KAFKA_BROKERS: '127.0.0.1:1' },
  });
const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-sign-'));

describe('vigil sign', () => {
  it('has help for its three subcommands', () => {
    const help = vigil('sign', '--help');
    expect(help.status).toBe(0);
    for (const sub of ['object', 'register', 'link'])
      expect(help.stdout).toMatch(new RegExp(`\\b${sub}\\b`));
    expect(vigil('sign', 'link', '--help').stdout).toMatch(/--key-file <file>/);
  });

  it('object writes the note object and prints its JSON line', () => {
    const out = join(dir, 'wm.o');
    const result = vigil(
      'sign',
      'object',
      '--package',
      'p',
      '--version',
      '1',
      '--builder',
      'b',
      '--out',
      out,
    );
    expect(result.status).toBe(0);
    const line = JSON.parse(result.stdout) as Record<string, string>;
    expect(line).toMatchObject({ package: 'p', version: '1', builder: 'b', object: out });
    expect(line.watermarkId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('register refuses a file without the watermark: exit 1, nothing sent (Kafka is unreachable here)', () => {
    writeFileSync(join(dir, 'plain.c'), 'int main(void) { return 0; }\n');
    expect(spawnSync('gcc', ['-o', join(dir, 'plain'), join(dir, 'plain.c')]).status).toBe(0);
    const result = vigil(
      'sign',
      'register',
      '--allow-unsigned',
      '--id',
      '01a24d1f-005d-77fd-992f-49f5cc8bc3e0',
      join(dir, 'plain'),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/does not carry watermark 01a24d1f-.*no Vigil watermark note/);
  });

  it('refuses to go unsigned without --allow-unsigned, before linking', () => {
    const result = vigil('sign', 'link', '--package', 'p', '--version', '1', '--', 'false');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no signing key/);
  });

  it('link passes a failed link’s exit status through, and registers nothing', () => {
    writeFileSync(join(dir, 'fail.sh'), 'exit 7\n');
    const result = vigil(
      'sign',
      'link',
      '--package',
      'p',
      '--version',
      '1',
      '--allow-unsigned',
      '--',
      'sh',
      join(dir, 'fail.sh'),
    );
    expect(result.status).toBe(7);
    expect(result.stdout).toBe('');
  });

  it('object: vigil-sign’s own status for bad arguments (2)', () => {
    const result = vigil(
      'sign',
      'object',
      '--package',
      'a"b',
      '--version',
      '1',
      '--out',
      join(dir, 'x.o'),
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/quotes, backslashes and control characters are not allowed/);
  });
});

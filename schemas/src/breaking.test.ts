import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The compatibility gate of FORMAT.md: scripts/breaking.mjs must fail a commit that breaks the
 * wire format and pass one that only adds. Runs it on a scratch git repository holding a copy of
 * this package.
 */
const schemasDir = fileURLToPath(new URL('..', import.meta.url));
const processProto = join('proto', 'vigil', 'process', 'v1', 'process.proto');

function scratchRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-breaking-'));
  for (const part of ['proto', 'scripts', 'buf.yaml', 'package.json'])
    cpSync(join(schemasDir, part), join(dir, part), { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'empty');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'schemas');
  return dir;
}

function edit(dir: string, from: string, to: string): void {
  const file = join(dir, processProto);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

const check = (dir: string) =>
  spawnSync(process.execPath, [join(dir, 'scripts', 'breaking.mjs')], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${join(schemasDir, '..', 'node_modules', '.bin')}:${process.env.PATH}`,
    },
  });

describe('breaking-change gate', () => {
  it('passes an additive change', () => {
    const dir = scratchRepo();
    edit(
      dir,
      '  bytes boot_id = 18;\n',
      '  bytes boot_id = 18;\n  // A new field.\n  string added = 19;\n',
    );
    const result = check(dir);
    expect(result.stdout + result.stderr).toMatch(/backward compatible with HEAD\b/);
    expect(result.status).toBe(0);
  }, 60_000);

  it('fails a field whose number changed', () => {
    const dir = scratchRepo();
    edit(dir, '  uint32 ppid = 2;', '  uint32 ppid = 20;');
    const result = check(dir);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/ppid|deleted|changed/i);
  }, 60_000);

  it('fails a field whose type changed', () => {
    const dir = scratchRepo();
    edit(dir, '  repeated bytes argv = 8;', '  repeated string argv = 8;');
    expect(check(dir).status).not.toBe(0);
  }, 60_000);
});

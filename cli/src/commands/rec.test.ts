import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** `vigil cat|play <session id>`: the file sink's cast of that session (the built CLI). */

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
const vigil = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
const ID = '0190f5e4-7c1a-7b2e-9c3d-4e5f60718293';

describe('vigil cat/play <session id>', () => {
  it("prints the session from the file sink's directory, and names the path when it is not there", () => {
    const root = mkdtempSync(join(tmpdir(), 'vigil-cli-rec-'));
    mkdirSync(join(root, 'sessions'));
    writeFileSync(
      join(root, 'sessions', `${ID}.cast`),
      '{"version":2,"width":80,"height":24}\n[0.1,"o","from the sink\\r\\n"]\n',
    );
    const found = vigil({ VIGIL_FILE_DIRECTORY: root }, 'cat', ID.toUpperCase());
    expect(found.stderr).toBe('');
    expect(found.stdout).toBe('from the sink\r\n');
    expect(found.status).toBe(0);

    const other = ID.replace(/3$/, '4');
    const missing = vigil({ VIGIL_RECORDER_PLAY_SESSIONS_DIR: root }, 'play', other);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(join(root, `${other}.cast`));
  });
});

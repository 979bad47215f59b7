import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTmux, listenFrames, waitFor, type FrameListener, type Tmux } from './test-kit.js';

/** deploy/profile.d/vigil-rec.sh, sourced by a login shell in a real terminal (tmux) and without one. */

const SNIPPET = fileURLToPath(new URL('../../../deploy/profile.d/vigil-rec.sh', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/vigil-rec.cjs', import.meta.url));
let tmux: Tmux | undefined;
let gateway: FrameListener | undefined;
afterEach(async () => {
  tmux?.kill();
  await gateway?.close();
});

function setup(conf: string) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-profile-'));
  writeFileSync(join(dir, 'rec.conf'), conf.replaceAll('$DIR', dir));
  writeFileSync(join(dir, 'outer.rc'), `PS1='outer$ '\n. ${SNIPPET}\n`);
  writeFileSync(join(dir, '.bash_profile'), "PS1='rec$ '\n");
  const marker = join(dir, 'broken-ran');
  writeFileSync(join(dir, 'broken'), `#!/bin/sh\ntouch ${marker}\nexit 254\n`);
  chmodSync(join(dir, 'broken'), 0o755);
  return {
    dir,
    marker,
    env: { HOME: dir, SHELL: '/bin/bash', VIGIL_REC_CONF: join(dir, 'rec.conf') },
  };
}

function startOuter(dir: string, env: Record<string, string>): Tmux {
  tmux = createTmux(`vigil-profile-${process.pid}-${Date.now()}`);
  tmux.start(
    `bash --rcfile ${dir}/outer.rc -i; echo "OUTER=$?"; exec sleep 600`,
    { cols: 100, rows: 30 },
    env,
  );
  return tmux;
}

describe('profile.d snippet', () => {
  it('records an interactive terminal login, not nested, and ends the login with the shell', async () => {
    const { dir, env } = setup(`VIGIL_REC_BIN=${BIN}\n`);
    gateway = await listenFrames();
    const g = gateway;
    const t = startOuter(dir, {
      ...env,
      VIGIL_RECORDER_GATEWAY_ADDRESS: `unix:${g.path}`,
      VIGIL_RECORDER_GATEWAY_SPOOL_DIR: join(dir, 'spool'),
    });
    await waitFor('the recorded prompt', () => t.screen().includes('rec$'), 15_000);
    await waitFor('the start event', () => g.frames[0]?.event.start);
    // The recorded login shell read /etc/profile again (and so this snippet): still one recorder.
    t.send('echo "sessions=$(pgrep -fc vigil-rec.cjs) id=${#VIGIL_REC_SESSION}"', 'Enter');
    await waitFor('the answer', () => /sessions=\d+ id=36/.test(t.screen()));
    t.send('exit 5', 'Enter');
    await waitFor('the outer shell to end with 5', () => t.screen().includes('OUTER=5'));
    expect(g.frames.filter((f) => f.event.start)).toHaveLength(1);
    expect(
      (await waitFor('the end', () => g.frames.find((f) => f.event.end))).event.end!.exitStatus,
    ).toBe(5);
  }, 30_000);

  it('gives a normal shell when the recorder cannot start, and skips excluded users', async () => {
    for (const conf of [
      'VIGIL_REC_BIN=$DIR/broken\n',
      `VIGIL_REC_BIN=$DIR/broken\nVIGIL_REC_EXCLUDE_USERS="nobody ${userInfo().username}"\n`,
    ]) {
      const { dir, env, marker } = setup(conf);
      const t = startOuter(dir, env);
      await waitFor('the normal prompt', () => t.screen().includes('outer$'), 15_000);
      t.send('echo al""ive', 'Enter');
      await waitFor('a working shell', () => t.screen().includes('alive'));
      expect(existsSync(marker)).toBe(!conf.includes('EXCLUDE'));
      t.kill();
    }
  }, 30_000);

  it('never starts for a shell without a terminal (scp, sftp, rsync, ssh host command)', () => {
    const { env, marker } = setup('VIGIL_REC_BIN=$DIR/broken\n');
    const result = spawnSync('bash', ['-ic', `. ${SNIPPET}; echo plain`], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    expect(result.stdout).toContain('plain');
    expect(existsSync(marker)).toBe(false);
    const login = spawnSync('sh', ['-c', `. ${SNIPPET}; echo plain`], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(login.stdout).toContain('plain');
    expect(existsSync(marker)).toBe(false);
  });
});

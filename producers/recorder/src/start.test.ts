import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { listenFrames, outputBytes, waitFor, type FrameListener } from './test-kit.js';

/**
 * How `vigil-rec` starts (the program first, the config validated right after) and what it leaves
 * on the user's terminal, in a real pty (node-pty as the terminal emulator).
 */

const BIN = fileURLToPath(new URL('../bin/vigil-rec.cjs', import.meta.url));
const nodePty = createRequire(import.meta.url)('@lydell/node-pty') as {
  spawn(
    file: string,
    args: string[],
    options: Record<string, unknown>,
  ): {
    onData(cb: (d: Buffer | string) => void): void;
    onExit(cb: (e: { exitCode: number }) => void): void;
  };
};

/** Runs `command` in a pty; resolves with everything the terminal received and the exit status. */
function inPty(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ screen: Buffer; status: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const p = nodePty.spawn(file, args, {
      cols: 100,
      rows: 30,
      env: { ...process.env, SHELL: '/bin/sh', ...env },
      encoding: null,
    });
    p.onData((d) => chunks.push(Buffer.from(d)));
    p.onExit(({ exitCode }) => resolve({ screen: Buffer.concat(chunks), status: exitCode }));
  });
}

let gateway: FrameListener | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

describe('vigil-rec start', () => {
  it('relays output byte for byte (no second CR) and leaves the terminal modes as it found them', async () => {
    gateway = await listenFrames();
    const spool = mkdtempSync(join(tmpdir(), 'vigil-rec-start-'));
    const { screen, status } = await inPty(
      '/bin/sh',
      ['-c', `stty -a; ${BIN} -c 'printf "one\\ntwo\\n"; exit 3'; echo "EXIT=$?"; stty -a`],
      {
        VIGIL_RECORDER_GATEWAY_ADDRESS: `unix:${gateway.path}`,
        VIGIL_RECORDER_GATEWAY_SPOOL_DIR: spool,
      },
    );
    const text = screen.toString('latin1');
    expect(status).toBe(0);
    expect(text).toContain('one\r\ntwo\r\nEXIT=3');
    const modes = text.split('EXIT=3');
    // The same flags before and after (opost and onlcr on again).
    const flags = (s: string) =>
      s.split(/\s+/).filter((w) => /^-?(opost|onlcr|icanon|echo|isig|icrnl)$/.test(w));
    expect(flags(modes[1]!)).toEqual(flags(modes[0]!));
    expect(flags(modes[1]!)).toContain('opost');
    // The recording got the bytes exactly as the program's pty produced them.
    await waitFor('the end event', () => gateway!.frames.some((f) => f.event.end));
    expect(outputBytes(gateway.frames).toString('latin1')).toBe('one\r\ntwo\r\n');
  });

  it('keeps a plain, unrecorded session when the config turns out invalid after the start', async () => {
    const { screen, status } = await inPty(BIN, ['-c', 'echo hello; exit 3'], {
      VIGIL_RECORDER_GATEWAY_ADDRESS: 'udp:nowhere:1',
    });
    const text = screen.toString('latin1');
    expect(text).toContain('hello');
    expect(text).toMatch(/gateway\.address[\s\S]*this session is not recorded/);
    expect(status).toBe(3);
  });

  it('validates before starting anything when a setting the start depends on is invalid (254)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-start-'));
    const config = join(dir, 'vigil.yaml');
    writeFileSync(config, 'recorder:\n  shellIntegration: maybe\n');
    const { screen, status } = await inPty(BIN, ['--config', config, '-c', 'echo hello'], {});
    const text = screen.toString('latin1');
    expect(status).toBe(254);
    expect(text).toContain('recorder.shellIntegration');
    expect(text).not.toContain('hello');
  });

  it('starts Node without NODE_EXTRA_CA_CERTS and hands it to the program unchanged', async () => {
    const show =
      'echo "ca=[${NODE_EXTRA_CA_CERTS-unset}] saved=[${VIGIL_REC_EXTRA_CA_CERTS-unset}]"';
    const env = { VIGIL_RECORDER_GATEWAY_ENABLED: 'false' };
    // A file that does not exist: a Node that read it would warn "Ignoring extra certs from ...".
    const set = await inPty(BIN, ['-c', show], { ...env, NODE_EXTRA_CA_CERTS: '/no such/ca.pem' });
    expect(set.screen.toString()).toContain('ca=[/no such/ca.pem] saved=[unset]');
    expect(set.screen.toString()).not.toContain('extra certs');
    const unset = await inPty('env', ['-u', 'NODE_EXTRA_CA_CERTS', BIN, '-c', show], env);
    expect(unset.screen.toString()).toContain('ca=[unset] saved=[unset]');
    expect(set.status + unset.status).toBe(0);
  });
});

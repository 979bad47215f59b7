import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTmux,
  outputBytes,
  startRecording,
  waitFor,
  type Recording,
  type Tmux,
} from './test-kit.js';

/**
 * Full-screen programs under `vigil-rec` in a real terminal (tmux, bash recorded): vim and less
 * (alternate screen) look exactly as they do without the recorder, the prompt comes back, and the
 * switch sequences are in the event stream byte for byte; a tmux and a GNU screen started inside
 * the recording work, detach, are reattached and exit.
 */

const ENTER_ALT = Buffer.from('\x1b[?1049h');
const LEAVE_ALT = Buffer.from('\x1b[?1049l');
const SIZE = { cols: 100, rows: 30 };
const NOTES = 'alpha line one\nbeta line two\n';
const NUMBERS = Array.from({ length: 100 }, (_v, i) => `line ${String(i + 1).padStart(3, '0')}`)
  .join('\n')
  .concat('\n');
/** Environment of both the recorded and the bare run (less reads $LESS; no history files). */
const ENV = { LESS: '', LESSHISTFILE: '-', PAGER: 'less' };

let recording: Recording | undefined;
let innerTmux: string | undefined;
let screenDir: string | undefined;
afterEach(async () => {
  await recording?.close();
  if (screenDir) {
    try {
      execFileSync('screen', ['-S', 'nested', '-X', 'quit'], {
        stdio: 'ignore',
        env: { ...process.env, SCREENDIR: screenDir },
      });
    } catch {
      // already gone
    }
    screenDir = undefined;
  }
  if (innerTmux) {
    try {
      execFileSync('tmux', ['-L', innerTmux, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  recording = innerTmux = undefined;
});

async function record(env: Record<string, string> = {}): Promise<Recording> {
  recording = await startRecording({
    shell: '/bin/bash',
    prompt: 'rec$',
    size: SIZE,
    env: { ...ENV, ...env },
    files: {
      '.bashrc': "PS1='rec$ '\nHISTFILE=/dev/null\n",
      'notes.txt': NOTES,
      'numbers.txt': NUMBERS,
    },
  });
  return recording;
}

/** Waits until the screen shows `text` and returns the screen. */
const screenWith = (t: Tmux, text: string, timeoutMs?: number): Promise<string> =>
  waitFor(
    `"${text}" on the screen`,
    () => {
      const screen = t.screen();
      return screen.includes(text) && screen;
    },
    timeoutMs,
  );

/** The screen of `command` run in a plain terminal of the same size (no shell, no recorder). */
async function bareScreen(home: string, command: string, ready: string): Promise<string> {
  const t = createTmux(`vigil-bare-${process.pid}-${Date.now()}`);
  try {
    t.start(command, SIZE, { HOME: home, TERM: 'xterm-256color', ...ENV });
    return await screenWith(t, ready);
  } finally {
    t.kill();
  }
}

/** Waits until the last line with text is a bare prompt, and returns the screen. */
const promptBack = (t: Tmux): Promise<string> =>
  waitFor('the prompt to come back', () => {
    const screen = t.screen();
    return screen.trimEnd().split('\n').at(-1) === 'rec$' && screen;
  });

/** Index of `needle` in the recorded output at or after `from`, or -1. */
const indexIn = (r: Recording, needle: Buffer | string, from = 0): number =>
  outputBytes(r.gateway.frames).indexOf(needle, from);

async function finish(r: Recording, status: number): Promise<void> {
  r.tmux.send(`exit ${status}`, 'Enter');
  await screenWith(r.tmux, `EXIT=${status}`);
  const end = await waitFor('the end event', () => r.gateway.frames.find((f) => f.event.end));
  expect(end.event.end!.exitStatus).toBe(status);
  expect(r.gateway.problems).toEqual([]);
  const sequences = r.gateway.frames.map((f) => Number(f.event.envelope!.sequence));
  expect(sequences).toEqual(sequences.map((_s, i) => i + 1));
}

describe('alternate screen programs under vigil-rec (tmux)', () => {
  it('vim: same screen as without the recorder, edits reach the file, the prompt returns', async () => {
    const r = await record();
    const t = r.tmux;
    const notes = join(r.home, 'notes.txt');
    const vi = `vi -u NONE -N -c "set ruler" ${notes}`;
    const expected = await bareScreen(r.home, vi, 'beta line two');

    t.send(vi, 'Enter');
    const inVim = await screenWith(t, 'beta line two');
    // The alternate screen: vim's own screen, no prompt, identical to the bare run's.
    expect(inVim).not.toContain('rec$');
    expect(inVim).toBe(expected);
    await waitFor('the switch to the alternate screen', () => indexIn(r, ENTER_ALT) >= 0);

    t.send('i', 'GAMMA ');
    await screenWith(t, 'GAMMA alpha line one');
    t.send('Escape');
    t.send(':wq', 'Enter');
    const command = await r.command(vi);
    expect(command.exitStatus).toBe(0);
    expect(readFileSync(notes, 'utf8')).toBe(`GAMMA ${NOTES}`);

    // Back on the normal screen: the line that started vim, a fresh prompt, none of vim's screen.
    const after = await promptBack(t);
    expect(after).toContain(`rec$ ${vi}`);
    expect(after).not.toContain('alpha line one');
    const enter = indexIn(r, ENTER_ALT);
    expect(indexIn(r, LEAVE_ALT, enter)).toBeGreaterThan(enter);
    await finish(r, 0);
  }, 60_000);

  it('less: same pages as without the recorder, paging, quit, the prompt returns', async () => {
    const r = await record();
    const t = r.tmux;
    const expected = await bareScreen(r.home, 'cd && less numbers.txt', 'line 029');

    t.send('cd && less numbers.txt', 'Enter');
    const first = await screenWith(t, 'line 029');
    expect(first).toBe(expected);
    expect(first).not.toContain('line 030');
    expect(first).not.toContain('rec$');

    t.send('Space');
    const second = await screenWith(t, 'line 058');
    expect(second).not.toContain('line 001');
    t.send('G');
    await screenWith(t, 'line 100');
    t.send('q');
    const command = await r.command('cd && less numbers.txt');
    expect(command.exitStatus).toBe(0);
    const after = await promptBack(t);
    expect(after).toContain('rec$ cd && less numbers.txt');
    expect(after).not.toMatch(/line \d{3}/);

    const enter = indexIn(r, ENTER_ALT);
    expect(enter).toBeGreaterThanOrEqual(0);
    expect(indexIn(r, LEAVE_ALT, enter)).toBeGreaterThan(enter);
    // The pages themselves went through the stream too.
    expect(indexIn(r, 'line 058', enter)).toBeGreaterThan(enter);
    await finish(r, 4);
  }, 60_000);
});

describe('tmux inside vigil-rec', () => {
  it('runs, shows its output, detaches, reattaches, exits; the exit status passes through', async () => {
    const r = await record();
    const t = r.tmux;
    innerTmux = `vigil-inner-${process.pid}-${Date.now()}`;
    const inner = `tmux -L ${innerTmux} -f /dev/null`;
    // The inner shell: bash without startup files, a prompt of its own.
    const start = `${inner} new-session -s nested "env PS1='in\\$ ' bash --norc -i"`;
    t.send(start, 'Enter');
    await screenWith(t, 'in$');
    // tmux's status line at the bottom: it draws the whole screen.
    const drawn = await screenWith(t, '[nested]');
    expect(drawn).not.toContain('rec$');

    t.send("echo nest''ed-$((6*7))", 'Enter');
    await screenWith(t, 'nested-42');
    await waitFor('the inner output in the stream', () => indexIn(r, 'nested-42') >= 0);

    // Detach (the inner tmux's prefix goes through the recorder like any key): back at the prompt.
    t.send('C-b', 'd');
    const detached = await screenWith(t, '[detached');
    expect(detached).toContain('rec$');
    expect((await r.command(start)).exitStatus).toBe(0);
    // The session lives on in the inner server.
    expect(
      execFileSync('tmux', ['-L', innerTmux, 'list-sessions', '-F', '#S'], { encoding: 'utf8' }),
    ).toBe('nested\n');

    // Reattach: the screen is redrawn with the earlier output; exiting the shell ends tmux.
    const attach = `${inner} attach -t nested`;
    t.send(attach, 'Enter');
    await screenWith(t, 'nested-42');
    t.send('exit', 'Enter');
    await screenWith(t, '[exited]');
    expect((await r.command(attach)).exitStatus).toBe(0);

    // The terminal is the recorded shell's again, and its status is the recorder's status.
    t.send("echo back''-$((1+1))", 'Enter');
    await screenWith(t, 'back-2');
    const enter = indexIn(r, ENTER_ALT);
    expect(enter).toBeGreaterThanOrEqual(0);
    expect(indexIn(r, LEAVE_ALT, enter)).toBeGreaterThan(enter);
    await finish(r, 6);
  }, 60_000);
});

describe('GNU screen inside vigil-rec', () => {
  it('runs, shows its output, detaches, reattaches, exits; the exit status passes through', async () => {
    // screen's sockets in a directory of the test's own (mode 700, as screen requires).
    const dir = mkdtempSync(join(tmpdir(), 'vigil-screen-'));
    screenDir = dir;
    const rc = join(dir, 'screenrc');
    writeFileSync(rc, 'startup_message off\n');
    const r = await record({ SCREENDIR: dir });
    const t = r.tmux;
    const start = `screen -c ${rc} -S nested env PS1='sc''> ' bash --norc -i`;
    t.send(start, 'Enter');
    const drawn = await screenWith(t, 'sc>'); // (the command line shows 'sc''>')
    // screen draws a screen of its own: the recorded prompt is gone from it.
    expect(drawn).not.toContain('rec$');

    t.send("echo scree''ned-$((6*7))", 'Enter');
    await screenWith(t, 'screened-42');
    await waitFor('the inner output in the stream', () => indexIn(r, 'screened-42') >= 0);

    // Detach with screen's own prefix key (C-a d), which goes through the recorder like any key.
    t.send('C-a', 'd');
    // screen prints its notice first, the recorded shell then draws its prompt: wait for both (the
    // prompt alone is not enough, the one before `screen` may still be on the screen).
    const detached = await waitFor('the prompt after the detach notice', () => {
      const screen = t.screen();
      const notice = screen.indexOf('[detached from');
      return notice >= 0 && screen.indexOf('rec$', notice) >= 0 && screen;
    });
    expect(detached).toContain('[detached from');
    expect(detached).toContain('rec$');
    expect((await r.command(start)).exitStatus).toBe(0);
    expect(
      execFileSync('screen', ['-ls'], {
        encoding: 'utf8',
        env: { ...process.env, SCREENDIR: dir },
      }),
    ).toMatch(/\.nested\s.*\(Detached\)/);

    // Reattach: screen redraws the earlier output; exiting its shell ends screen.
    const attach = 'screen -r nested';
    t.send(attach, 'Enter');
    await screenWith(t, 'screened-42');
    t.send('exit', 'Enter');
    await screenWith(t, '[screen is terminating]');
    expect((await r.command(attach)).exitStatus).toBe(0);

    t.send("echo back''-$((2+5))", 'Enter');
    await screenWith(t, 'back-7');
    const enter = indexIn(r, ENTER_ALT);
    expect(enter).toBeGreaterThanOrEqual(0);
    expect(indexIn(r, LEAVE_ALT, enter)).toBeGreaterThan(enter);
    await finish(r, 7);
  }, 60_000);
});

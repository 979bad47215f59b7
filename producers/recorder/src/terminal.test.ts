import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTmux,
  listenFrames,
  outputBytes,
  waitFor,
  type FrameListener,
  type Tmux,
} from './test-kit.js';

/**
 * The recorder in a real terminal: tmux runs `vigil-rec` (the built bin) with bash, keys are typed
 * into it, and what arrives at a gateway stand-in and on the screen is checked.
 */

const BIN = fileURLToPath(new URL('../bin/vigil-rec.cjs', import.meta.url));
let tmux: Tmux | undefined;
let gateway: FrameListener | undefined;

afterEach(async () => {
  tmux?.kill();
  await gateway?.close();
});

async function startRecorder(flags: string) {
  const home = mkdtempSync(join(tmpdir(), 'vigil-rec-home-'));
  writeFileSync(join(home, '.bashrc'), "PS1='rec$ '\nHISTFILE=/dev/null\n");
  gateway = await listenFrames();
  tmux = createTmux(`vigil-rec-${process.pid}-${Date.now()}`);
  const cast = join(home, 'session.cast');
  tmux.start(
    `sh -c '${BIN} ${flags} -f ${cast}; echo "EXIT=$?"; exec sleep 600'`,
    { cols: 100, rows: 30 },
    {
      HOME: home,
      SHELL: '/bin/bash',
      TERM: 'xterm-256color',
      VIGIL_RECORDER_GATEWAY_ADDRESS: `unix:${gateway.path}`,
      VIGIL_RECORDER_GATEWAY_SPOOL_DIR: join(home, 'spool'),
    },
  );
  const g = gateway;
  const t = tmux;
  await waitFor('the first prompt', () => t.screen().includes('rec$'), 15_000);
  await waitFor('the start event', () => g.frames[0]?.event.start);
  const commands = () => g.frames.filter((f) => f.event.command).map((f) => f.event.command!);
  const command = (text: string) =>
    waitFor(`command event "${text}"`, () =>
      commands().find((c) => Buffer.from(c.text!).toString() === text),
    );
  return { g, t, cast, commands, command };
}

describe('vigil-rec in a real terminal (tmux)', () => {
  it('passes bytes, signals, job control, resizes and the exit status through, and reports commands', async () => {
    const { g, t, cast, command } = await startRecorder('');
    const start = g.frames[0]!.event;
    expect(start.start).toMatchObject({
      cols: 100,
      rows: 30,
      term: 'xterm-256color',
      inputRecorded: false,
    });
    expect(start.envelope!.sequence!.toString()).toBe('1');

    // Invalid UTF-8 survives byte for byte in the event stream.
    t.send("printf '\\377\\376\\303\\050ok\\n'", 'Enter');
    const printf = await command("printf '\\377\\376\\303\\050ok\\n'");
    expect(printf.exitStatus).toBe(0);
    expect(
      outputBytes(g.frames).includes(Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x6f, 0x6b, 0x0d, 0x0a])),
    ).toBe(true);

    // Ctrl-C interrupts the foreground job (status 130), Ctrl-\ quits it (131).
    // (The quotes keep the typed line, which the terminal echoes, from matching what it prints.)
    const running = (n: number) => {
      const line = `echo run''ning${n}; sleep 100`;
      t.send(line, 'Enter');
      return waitFor(`${line} to run`, () =>
        outputBytes(g.frames).includes(`running${n}\r\n`),
      ).then(() => line);
    };
    let line = await running(1);
    t.send('C-c');
    expect((await command(line)).exitStatus).toBe(130);
    line = await running(2);
    t.send('C-\\');
    expect((await command(line)).exitStatus).toBe(131);

    // Ctrl-Z stops it (148) and bash's job control takes it back with fg.
    line = await running(3);
    t.send('C-z');
    expect((await command(line)).exitStatus).toBe(148);
    await waitFor('bash to say Stopped', () => t.screen().includes('Stopped'));
    t.send('kill %1; fg', 'Enter');
    await command('kill %1; fg');

    // The window size reaches the program, and a resize event is recorded.
    t.run('resize-window', '-t', 't', '-x', '90', '-y', '20');
    await waitFor('the resize event', () =>
      g.frames.find((f) => f.event.resize?.cols === 90 && f.event.resize.rows === 20),
    );
    t.send('stty size', 'Enter');
    await command('stty size');
    expect(outputBytes(g.frames).includes('20 90\r\n')).toBe(true);

    // Marks are never shown, and the commands are numbered.
    t.send('exit 3', 'Enter');
    await waitFor('the exit status on the screen', () => t.screen().includes('EXIT=3'));
    const end = await waitFor('the end event', () => g.frames.find((f) => f.event.end));
    expect(end.event.end).toMatchObject({ exitStatus: 3 });
    expect(outputBytes(g.frames).includes('\x1b]133;')).toBe(false);
    expect(t.screen()).not.toContain('133;');
    const all = g.frames.filter((f) => f.event.command).map((f) => f.event.command!.index);
    expect(all).toEqual(all.map((_i, n) => n + 1));
    expect(g.frames.map((f) => Number(f.event.envelope!.sequence))).toEqual(
      g.frames.map((_f, n) => n + 1),
    );
    expect(g.problems).toEqual([]);
    expect(new Set(g.frames.map((f) => `${f.version}/${f.family}`))).toEqual(new Set(['1/2']));

    // The asciicast file has the same session, commands as markers.
    const lines = readFileSync(cast, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(lines.some((l) => l.includes('"m","$ stty size"'))).toBe(true);
    expect(lines.some((l) => l.includes('133;'))).toBe(false);
  }, 60_000);

  it('records keystrokes only when asked, and never while echo is off in line mode', async () => {
    const { g, t, command } = await startRecorder('--input');
    expect(g.frames[0]!.event.start!.inputRecorded).toBe(true);
    t.send('echo visible', 'Enter');
    await command('echo visible');
    // As getpass(3) does: echo off (line mode kept), then the prompt.
    const secret = "stty -echo; printf 'pass''word: '; read pw; stty echo";
    t.send(secret, 'Enter');
    await waitFor('the password prompt', () => t.screen().includes('password:'));
    t.send('hunter2', 'Enter');
    await command(secret);
    t.send('exit', 'Enter');
    await waitFor('the end event', () => g.frames.find((f) => f.event.end));
    const typed = Buffer.concat(
      g.frames.filter((f) => f.event.input).map((f) => Buffer.from(f.event.input!.data!)),
    ).toString();
    expect(typed).toContain('echo visible');
    expect(typed).toContain('stty -echo');
    expect(typed).not.toContain('hunter');
  }, 60_000);
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { outputBytes, startRecording, waitFor, type Recording } from './test-kit.js';

/**
 * zsh under `vigil-rec` in a real terminal (tmux): the integration (ZDOTDIR=shell/zsh, preexec and
 * precmd hooks) turns commands into command events with text, directory and status, never shows
 * its marks, reads the user's own startup files and leaves the user's hooks and $? alone.
 */

let recording: Recording | undefined;
afterEach(async () => {
  await recording?.close();
  recording = undefined;
});

const ZSHRC = [
  "PROMPT='zrec$ '",
  'unset HISTFILE',
  // A hook of the user's own: it must still see the command's status.
  'precmd() { LAST=$? }',
  '',
].join('\n');

describe('zsh under vigil-rec (tmux)', () => {
  it('reports commands with text, directory and status from preexec/precmd, marks never shown', async () => {
    const r = (recording = await startRecording({
      shell: '/usr/bin/zsh',
      prompt: 'zrec$',
      files: { '.zshenv': 'export FROM_ZSHENV=yes\n', '.zshrc': ZSHRC },
    }));
    const t = r.tmux;
    expect(Buffer.from(r.gateway.frames[0]!.event.start!.shell!).toString()).toBe('/usr/bin/zsh');

    // The user's files were read, and ZDOTDIR is as the user had it (unset).
    const env =
      'echo "env=$FROM_ZSHENV zdotdir=${ZDOTDIR-unset} vigil=${VIGIL_REC_USER_ZDOTDIR-unset}"';
    t.send(env, 'Enter');
    const envCommand = await r.command(env);
    expect(envCommand.exitStatus).toBe(0);
    await waitFor('the answer', () => t.screen().includes('env=yes zdotdir=unset vigil=unset'));

    t.send('cd /tmp && (exit 3)', 'Enter');
    const failed = await r.command('cd /tmp && (exit 3)');
    expect(failed.exitStatus).toBe(3);
    // The directory is the one the command started in (tmux started the recorder here).
    expect(Buffer.from(failed.workingDirectory!).toString()).toBe(process.cwd());

    // The user's precmd saw the status too; and the directory of this command is /tmp.
    t.send("echo la''st=$LAST", 'Enter');
    const last = await r.command("echo la''st=$LAST");
    expect(Buffer.from(last.workingDirectory!).toString()).toBe('/tmp');
    expect(last.exitStatus).toBe(0);
    await waitFor('the user hook status', () => t.screen().includes('last=3'));

    // Text with the mark's separators and a non-ASCII character survives percent-encoding.
    const odd = "echo 'a;b%c é'";
    t.send(odd, 'Enter');
    expect((await r.command(odd)).exitStatus).toBe(0);

    // Ctrl-C: 130.
    t.send("echo run''ning; sleep 100", 'Enter');
    await waitFor('sleep to run', () => outputBytes(r.gateway.frames).includes('running\r\n'));
    t.send('C-c');
    expect((await r.command("echo run''ning; sleep 100")).exitStatus).toBe(130);

    t.send('exit 2', 'Enter');
    await waitFor('the exit status', () => t.screen().includes('EXIT=2'));
    const end = await waitFor('the end event', () => r.gateway.frames.find((f) => f.event.end));
    expect(end.event.end!.exitStatus).toBe(2);

    const commands = r.commands();
    // `exit 2` starts but never finishes: a command event only for the five before it.
    expect(commands.map((c) => Buffer.from(c.text!).toString())).toEqual([
      env,
      'cd /tmp && (exit 3)',
      "echo la''st=$LAST",
      odd,
      "echo run''ning; sleep 100",
    ]);
    expect(commands.map((c) => c.index)).toEqual(commands.map((_c, i) => i + 1));
    expect(outputBytes(r.gateway.frames).includes('\x1b]133;')).toBe(false);
    expect(t.screen()).not.toContain('133;');
    expect(readFileSync(r.cast, 'utf8')).toContain('"m","$ cd /tmp && (exit 3)"');
    expect(r.gateway.problems).toEqual([]);
  }, 60_000);

  it('as a login shell reads every startup file, from the ZDOTDIR the user set in ~/.zshenv', async () => {
    const seen = (file: string) => `print -r -- ${file} >> $HOME/seen\n`;
    const r = (recording = await startRecording({
      shell: '/usr/bin/zsh',
      prompt: 'zlog$',
      flags: '--login',
      files: {
        '.zshenv': `ZDOTDIR=$HOME/zd\n${seen('home/.zshenv')}`,
        'zd/.zshenv': seen('zd/.zshenv'),
        'zd/.zprofile': seen('zd/.zprofile'),
        'zd/.zshrc': `${seen('zd/.zshrc')}PROMPT='zlog$ '\nunset HISTFILE\n`,
        'zd/.zlogin': seen('zd/.zlogin'),
        'zd/.zlogout': seen('zd/.zlogout'),
      },
    }));
    const t = r.tmux;
    const check = 'echo "zdotdir=${ZDOTDIR#$HOME} login=$options[login]"';
    t.send(check, 'Enter');
    expect((await r.command(check)).exitStatus).toBe(0);
    await waitFor('the answer', () => t.screen().includes('zdotdir=/zd login=on'));
    t.send('exit 0', 'Enter');
    await waitFor('the exit status', () => t.screen().includes('EXIT=0'));
    // zsh(1) STARTUP/SHUTDOWN FILES order; ZDOTDIR is $HOME for the first file only.
    expect(readFileSync(join(r.home, 'seen'), 'utf8').trim().split('\n')).toEqual([
      'home/.zshenv',
      'zd/.zprofile',
      'zd/.zshrc',
      'zd/.zlogin',
      'zd/.zlogout',
    ]);
  }, 60_000);
});

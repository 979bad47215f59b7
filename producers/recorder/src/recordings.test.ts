import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRecorderConfig } from './config.js';
import { catFile } from './play.js';
import {
  FILE_SINK_DEFAULT_DIRECTORY,
  RecordingNotFoundError,
  resolveRecording,
  sessionIdOf,
  sessionsDirOf,
} from './recordings.js';
import { startRecording, waitFor, type Recording } from './test-kit.js';

/** `vigil play|cat <file|session id>`: a session id is found as the file sink's cast. */

const ID = '0190f5e4-7c1a-7b2e-9c3d-4e5f60718293';
const CAST = '{"version":2,"width":80,"height":24}\n[0.1,"o","hello from the sink\\r\\n"]\n';
const tmp = () => mkdtempSync(join(tmpdir(), 'vigil-recordings-'));

/** A sessions directory holding `<ID>.cast`, as the file sink names it. */
function sinkDir(): { root: string; sessions: string; path: string } {
  const root = tmp();
  const sessions = join(root, 'sessions');
  mkdirSync(sessions);
  const path = join(sessions, `${ID}.cast`);
  writeFileSync(path, CAST);
  return { root, sessions, path };
}

function thrown(fn: () => unknown): RecordingNotFoundError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RecordingNotFoundError);
    return error as RecordingNotFoundError;
  }
  throw new Error('did not throw');
}

let recording: Recording | undefined;
afterEach(async () => {
  await recording?.close();
  recording = undefined;
});

describe('resolving what to play', () => {
  it('takes an existing file as it is, without reading the config', () => {
    const { path } = sinkDir();
    const bad = join(tmp(), 'bad.yaml');
    writeFileSync(bad, 'recorder:\n  nope: 1\n');
    expect(resolveRecording(path, { configFile: bad, env: {} })).toBe(path);
  });

  it('finds a session id in recorder.play.sessionsDir (env or file), in any UUID spelling', () => {
    const { sessions, path } = sinkDir();
    const env = { VIGIL_RECORDER_PLAY_SESSIONS_DIR: sessions };
    expect(resolveRecording(ID, { env })).toBe(path);
    expect(resolveRecording(ID.toUpperCase(), { env })).toBe(path);
    expect(resolveRecording(ID.replaceAll('-', ''), { env })).toBe(path);
    const file = join(tmp(), 'vigil.yaml');
    writeFileSync(file, `recorder:\n  play:\n    sessionsDir: ${sessions}\n`);
    expect(resolveRecording(ID, { configFile: file, env: {} })).toBe(path);
  });

  it("defaults to the file sink's sessions directory: VIGIL_FILE_DIRECTORY, file.directory, its default", () => {
    const { root, path } = sinkDir();
    expect(resolveRecording(ID, { env: { VIGIL_FILE_DIRECTORY: root } })).toBe(path);
    const file = join(tmp(), 'vigil.yaml');
    writeFileSync(file, `file:\n  directory: ${root}\nrecorder:\n  input: false\n`);
    expect(resolveRecording(ID, { configFile: file, env: {} })).toBe(path);
    const config = loadRecorderConfig({ env: {} });
    expect(sessionsDirOf(config, { env: {} })).toBe(join(FILE_SINK_DEFAULT_DIRECTORY, 'sessions'));
    // The recorder's own key wins over the sink's.
    const other = tmp();
    expect(
      sessionsDirOf(loadRecorderConfig({ env: { VIGIL_RECORDER_PLAY_SESSIONS_DIR: other } }), {
        env: { VIGIL_FILE_DIRECTORY: root },
      }),
    ).toBe(other);
  });

  it('says where it looked when a session is not there, and what it expected otherwise', () => {
    const { sessions } = sinkDir();
    const other = '0190f5e4-7c1a-7b2e-9c3d-000000000000';
    const missing = thrown(() =>
      resolveRecording(other.toUpperCase(), {
        env: { VIGIL_RECORDER_PLAY_SESSIONS_DIR: sessions },
      }),
    );
    expect(missing.looked).toEqual([join(sessions, `${other}.cast`)]);
    expect(missing.message).toContain(join(sessions, `${other}.cast`));
    expect(missing.message).toContain('VIGIL_RECORDER_PLAY_SESSIONS_DIR');
    const none = thrown(() => resolveRecording(ID, { env: {} }));
    expect(none.message).toContain(join(FILE_SINK_DEFAULT_DIRECTORY, 'sessions', `${ID}.cast`));
    const typo = thrown(() => resolveRecording('no-such.cast', { env: {} }));
    expect(typo.message).toMatch(/no-such\.cast: no such file, and not a session id/);
    expect(sessionIdOf('0190f5e4-7c1a-7b2e-9c3d-4e5f6071829')).toBeUndefined();
  });

  it("plays a recorded session by the id it was recorded under (the sink's file name)", async () => {
    const r = (recording = await startRecording({
      shell: '/bin/bash',
      prompt: 'rec$',
      files: { '.bashrc': "PS1='rec$ '\nHISTFILE=/dev/null\n" },
    }));
    r.tmux.send("echo id=$VIGIL_REC_SESSION; echo repl''ay-me", 'Enter');
    await waitFor('the output', () => r.tmux.screen().includes('replay-me'));
    r.tmux.send('exit', 'Enter');
    await waitFor('the end event', () => r.gateway.frames.find((f) => f.event.end));
    await waitFor('the exit', () => r.tmux.screen().includes('EXIT=0'));
    const id = /id=([0-9a-f-]{36})/.exec(r.tmux.screen())![1]!;
    // The session id the user saw is the one in the events (what the sink names the file by).
    const start = r.gateway.frames[0]!.event;
    expect(sessionIdOf(Buffer.from(start.sessionId!).toString('hex'))).toBe(id);
    const sessions = join(tmp(), 'sessions');
    mkdirSync(sessions);
    copyFileSync(r.cast, join(sessions, `${id}.cast`));
    let text = '';
    catFile(resolveRecording(id, { env: { VIGIL_RECORDER_PLAY_SESSIONS_DIR: sessions } }), (t) => {
      text += t;
    });
    expect(text).toContain('replay-me\r\n');
  }, 60_000);
});

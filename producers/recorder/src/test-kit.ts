import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { vigil } from '@vigil/schemas/gen';

/**
 * Test helpers: a tiny gateway stand-in that parses the stream framing itself (length, "VG",
 * version, family byte, SessionEvent), and a tmux driver for real-terminal tests. Not the gateway
 * package: the contract is checked from the outside.
 */

export interface ReceivedFrame {
  readonly family: number;
  readonly version: number;
  readonly event: vigil.session.v1.SessionEvent;
}

export interface FrameListener {
  readonly path: string;
  readonly frames: ReceivedFrame[];
  /** Framing problems seen (must stay empty). */
  readonly problems: string[];
  readonly connections: number;
  close(): Promise<void>;
}

export async function listenFrames(path?: string): Promise<FrameListener> {
  const socketPath = path ?? join(mkdtempSync(join(tmpdir(), 'vigil-rec-test-')), 'gw.sock');
  const frames: ReceivedFrame[] = [];
  const problems: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 4) {
        const length = buffer.readUInt32BE(0);
        if (buffer.length < 4 + length) break;
        const message = buffer.subarray(4, 4 + length);
        buffer = buffer.subarray(4 + length);
        if (length > 1024 * 1024) problems.push(`frame of ${length} bytes`);
        if (message[0] !== 0x56 || message[1] !== 0x47) problems.push('bad magic');
        try {
          frames.push({
            version: message[2]!,
            family: message[3]!,
            event: vigil.session.v1.SessionEvent.decode(message.subarray(4)),
          });
        } catch (error) {
          problems.push(`undecodable: ${(error as Error).message}`);
        }
      }
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    path: socketPath,
    frames,
    problems,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Polls `condition` every 20 ms until it is truthy or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(
  what: string,
  condition: () => T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A tmux server of its own (own socket name), so tests never touch anyone else's. */
export interface Tmux {
  run(...args: string[]): string;
  /** Starts `command` in a new detached session of the given size. */
  start(command: string, size?: { cols: number; rows: number }, env?: Record<string, string>): void;
  send(...keys: string[]): void;
  /** Text on the screen now. */
  screen(): string;
  kill(): void;
}

export function createTmux(name: string): Tmux {
  const run = (...args: string[]): string =>
    execFileSync('tmux', ['-L', name, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  return {
    run,
    start(command, size = { cols: 100, rows: 30 }, env = {}) {
      const exports = Object.entries(env)
        .map(([k, v]) => `export ${k}='${v.replace(/'/g, "'\\''")}'; `)
        .join('');
      run(
        'new-session',
        '-d',
        '-s',
        't',
        '-x',
        String(size.cols),
        '-y',
        String(size.rows),
        `${exports}${command}`,
      );
    },
    send(...keys) {
      run('send-keys', '-t', 't', ...keys);
    },
    screen() {
      return run('capture-pane', '-p', '-t', 't');
    },
    kill() {
      try {
        run('kill-server');
      } catch {
        // already gone
      }
    },
  };
}

/** Every output byte in the frames, in order. */
export function outputBytes(frames: readonly ReceivedFrame[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) if (f.event.output?.data) parts.push(Buffer.from(f.event.output.data));
  return Buffer.concat(parts);
}

/** A recording in a real terminal: `vigil-rec` (the built bin) in tmux, streaming to a stand-in. */
export interface Recording {
  readonly gateway: FrameListener;
  readonly tmux: Tmux;
  /** The recorded program's $HOME (a fresh temporary directory). */
  readonly home: string;
  /** The asciicast file the recording also writes. */
  readonly cast: string;
  /** Command events so far. */
  commands(): vigil.session.v1.ICommand[];
  /** Waits for the command event whose text is `text`. */
  command(text: string, timeoutMs?: number): Promise<vigil.session.v1.ICommand>;
  /** Stops tmux and the stand-in. */
  close(): Promise<void>;
}

export interface RecordingOptions {
  /** The shell to record (`SHELL`). */
  readonly shell: string;
  /** Text on the screen once the shell is ready. */
  readonly prompt: string;
  /** Files to create in the home directory first (relative path → content). */
  readonly files?: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly flags?: string;
  readonly size?: { cols: number; rows: number };
}

const REC_BIN = new URL('../bin/vigil-rec.cjs', import.meta.url).pathname;

/**
 * Starts `vigil-rec` in a tmux of its own and waits for the prompt and the start event. When the
 * recorder ends, `EXIT=<status>` appears on the screen.
 */
export async function startRecording(options: RecordingOptions): Promise<Recording> {
  const home = mkdtempSync(join(tmpdir(), 'vigil-rec-home-'));
  for (const [name, content] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(home, name)), { recursive: true });
    writeFileSync(join(home, name), content);
  }
  const gateway = await listenFrames();
  const tmux = createTmux(`vigil-rec-${process.pid}-${Date.now()}`);
  const cast = join(home, 'session.cast');
  const close = async () => {
    tmux.kill();
    await gateway.close();
  };
  try {
    tmux.start(
      `sh -c '${REC_BIN} ${options.flags ?? ''} -f ${cast}; echo "EXIT=$?"; exec sleep 600'`,
      options.size ?? { cols: 100, rows: 30 },
      {
        HOME: home,
        SHELL: options.shell,
        TERM: 'xterm-256color',
        VIGIL_RECORDER_GATEWAY_ADDRESS: `unix:${gateway.path}`,
        VIGIL_RECORDER_GATEWAY_SPOOL_DIR: join(home, 'spool'),
        ...options.env,
      },
    );
    await waitFor('the first prompt', () => tmux.screen().includes(options.prompt), 15_000);
    await waitFor('the start event', () => gateway.frames[0]?.event.start);
  } catch (error) {
    await close();
    throw error;
  }
  const commands = () => gateway.frames.filter((f) => f.event.command).map((f) => f.event.command!);
  return {
    gateway,
    tmux,
    home,
    cast,
    commands,
    command: (text, timeoutMs) =>
      waitFor(
        `command event "${text}"`,
        () => commands().find((c) => Buffer.from(c.text!).toString() === text),
        timeoutMs,
      ),
    close,
  };
}

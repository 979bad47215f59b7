import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

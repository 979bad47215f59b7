import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent, StartInfo } from './events.js';
import { createGatewayOutput } from './outputs/gateway.js';
import { startSession, type Session } from './session.js';
import { listenFrames, outputBytes, waitFor, type FrameListener } from './test-kit.js';

/** What a pty with default settings (OPOST, ONLCR) shows for `bytes`: every \n becomes \r\n. */
/** The start info of `/bin/sh -c command` run by these tests. */
function shInfo(
  command: string,
  options: { cols: number; rows: number; inputRecorded: boolean },
): Omit<StartInfo, 'startUnixNano'> {
  return {
    user: 'u',
    uid: 0,
    tty: '',
    term: 'xterm',
    shell: '/bin/sh',
    command: [command],
    sshClient: '',
    jobId: '',
    ...options,
  };
}

function throughPty(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    parts.push(bytes.subarray(from, i), Buffer.from('\r\n'));
    from = i + 1;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-session-'));
const RELAY = fileURLToPath(new URL('../dist/vigil-rec-relay', import.meta.url));
let gateway: FrameListener;

beforeAll(async () => {
  gateway = await listenFrames();
});
afterAll(async () => {
  await gateway.close();
});

/**
 * Records `command`. With `relay`, the output goes through that relay program to a file standing
 * for the user's terminal (what it shows is then read from there).
 */
async function record(command: string, options: { gatewayOutput?: boolean; relay?: string } = {}) {
  let shown: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _enc, callback) {
      shown.push(chunk);
      callback();
    },
  });
  const origin = process.hrtime.bigint();
  const sessionId = randomBytes(16);
  const outputs = options.gatewayOutput
    ? [
        createGatewayOutput({
          address: { path: gateway.path },
          context: { sessionId, host: 'test', producerId: 'recorder/test', startUnixNano: 0n },
          spoolMaxBytes: 64 * 1024 * 1024,
          reconnectInitialMs: 50,
          reconnectMaxMs: 500,
          closeTimeoutMs: 5000,
          offsetNow: () => process.hrtime.bigint() - origin,
        }),
      ]
    : [];
  const terminalFile = join(dir, 'terminal.out');
  const terminalFd = options.relay ? openSync(terminalFile, 'w') : -1;
  let fellBack = false;
  const session = startSession({
    file: '/bin/sh',
    args: ['-c', command],
    env: process.env,
    cwd: dir,
    info: shInfo(command, { cols: 120, rows: 40, inputRecorded: false }),
    outputs,
    stdin: new PassThrough(),
    stdout,
    batch: { maxBytes: 64 * 1024, maxDelayMs: 20 },
    origin,
    ...(options.relay
      ? { relay: { path: options.relay, terminalFd, onFallback: () => (fellBack = true) } }
      : {}),
  });
  const relayed = session.relayed;
  const result = await session.done;
  if (terminalFd >= 0) {
    closeSync(terminalFd);
    shown.unshift(readFileSync(terminalFile));
  }
  const screen = Buffer.concat(shown);
  shown = [];
  return { result, screen, sessionId, relayed, fellBack };
}

describe('recording a program that exits right after a large output', () => {
  // 2 MB of random bytes (invalid UTF-8 included), in lines so the pty's \n → \r\n is exercised.
  const payload = Buffer.concat(
    Array.from({ length: 2048 }, () =>
      Buffer.concat([randomBytes(1023).map((b) => (b === 0x0a ? 0x0b : b)), Buffer.from('\n')]),
    ),
  );
  const file = join(dir, 'payload.bin');
  writeFileSync(file, payload);
  const expected = throughPty(payload);

  it.each([
    ['the relay program', RELAY],
    ['Node', undefined],
  ])(
    'loses 0 bytes in 100 of 100 runs through %s (screen and event stream, byte for byte)',
    async (_name, relay) => {
      let lost = 0;
      let runs = 0;
      for (let i = 0; i < 100; i++) {
        // Every tenth run also streams to the gateway stand-in, so both paths are covered.
        const viaGateway = i % 10 === 0;
        const { result, screen, sessionId, relayed } = await record(`cat ${file}; exit 0`, {
          gatewayOutput: viaGateway,
          ...(relay ? { relay } : {}),
        });
        expect(relayed).toBe(relay !== undefined);
        expect(result.exitStatus).toBe(0);
        if (!screen.equals(expected)) lost++;
        expect(result.outputBytes).toBe(BigInt(expected.length));
        if (viaGateway) {
          const mine = () => gateway.frames.filter((f) => sessionId.equals(f.event.sessionId));
          const end = await waitFor('the end event', () => mine().find((f) => f.event.end));
          expect(end.event.end!.outputBytes!.toString()).toBe(String(expected.length));
          if (!outputBytes(mine()).equals(expected)) lost++;
          // Numbered 1, 2, 3, ... without a gap.
          expect(mine().map((f) => Number(f.event.envelope!.sequence))).toEqual(
            mine().map((_f, n) => n + 1),
          );
        }
        runs++;
      }
      expect({ runs, lost }).toEqual({ runs: 100, lost: 0 });
    },
    120_000,
  );

  it.each([
    ['is missing', join(dir, 'no-such-relay')],
    ['exits at once', '/bin/true'],
  ])('relays in Node when the relay program %s', async (_name, relay) => {
    const { result, screen, fellBack } = await record(`cat ${file}; exit 3`, { relay });
    expect(fellBack).toBe(true);
    expect(result.exitStatus).toBe(3);
    expect(result.outputBytes).toBe(BigInt(expected.length));
    expect(screen.equals(expected)).toBe(true);
  });

  it('passes the exit status and the signal through', async () => {
    expect((await record('exit 42')).result).toMatchObject({
      exitStatus: 42,
      signal: 0,
      reason: 'exit',
    });
    expect((await record('kill -TERM $$')).result).toMatchObject({
      exitStatus: null,
      signal: 15,
      reason: 'signal',
    });
  });
});

/** The relay program among this process's children (to kill it mid-session). */
function relayPids(): number[] {
  const pids: number[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    const children = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
    for (const pid of children ? children.split(' ').map(Number) : []) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'vigil-rec-relay') pids.push(pid);
      } catch {
        // already gone
      }
    }
  }
  return pids;
}

describe('keystrokes', () => {
  /**
   * A session whose user's terminal is a FIFO: the test types into it, the relay program reads it
   * (fd `keysFd`) and Node reads the same FIFO as `stdin` only when it falls back.
   */
  function keysSession(
    command: string,
    options: { relay?: string; typedEarly?: string; stdin?: Readable } = {},
  ) {
    const fifo = join(mkdtempSync(join(dir, 'keys-')), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const type = (text: string): void => void writeSync(writeFd, text);
    /** Types until the FIFO is full: the relay has stopped reading it. */
    const typeUntilFull = (): number => {
      const chunk = Buffer.alloc(1024, 'k');
      for (let typed = 0; ; typed += chunk.length) {
        try {
          if (writeSync(writeFd, chunk) < chunk.length) return typed;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return typed;
          throw error;
        }
      }
    };
    if (options.typedEarly) type(options.typedEarly); // before the program (and relay) starts
    const stdin =
      options.stdin ??
      new Socket({ fd: readFd, readable: true, writable: false, pauseOnCreate: true } as never);
    const events: SessionEvent[] = [];
    const terminalFd = openSync(join(dir, 'keys-terminal.out'), 'w');
    let fellBack = false;
    const session: Session = startSession({
      file: '/bin/sh',
      args: ['-c', command],
      env: process.env,
      cwd: dir,
      info: shInfo(command, { cols: 80, rows: 24, inputRecorded: true }),
      outputs: [{ event: (e) => void events.push(e), close: () => Promise.resolve() }],
      stdin,
      stdout: { write: () => undefined },
      batch: { maxBytes: 64 * 1024, maxDelayMs: 5 },
      relay: {
        path: options.relay ?? RELAY,
        terminalFd,
        keysFd: readFd,
        onFallback: () => (fellBack = true),
      },
    });
    const text = (type: 'output' | 'input'): string =>
      Buffer.concat(events.flatMap((e) => (e.type === type ? [e.data] : []))).toString('latin1');
    const shown = (what: string) =>
      waitFor(`"${what}" on the screen`, () => text('output').includes(what));
    let open = true;
    const hangUp = (): void => {
      if (open) closeSync(writeFd);
      open = false;
    };
    const done = session.done.then((result) => {
      closeSync(terminalFd);
      if (options.stdin) closeSync(readFd);
      stdin.destroy();
      hangUp();
      return result;
    });
    return {
      session,
      type,
      typeUntilFull,
      shown,
      text,
      done,
      hangUp,
      get fellBack() {
        return fellBack;
      },
    };
  }

  const script =
    'read a; echo "got:$a"; stty -echo; echo \'pass\'\'word:\'; read b; stty echo; echo "got:$b"; read c; echo "got:$c"';

  it('go through the relay program, in order from before the start, never recorded with echo off', async () => {
    const k = keysSession(script, { typedEarly: 'one\n' });
    expect(k.session.relayedKeys).toBe(true);
    await k.shown('got:one');
    await k.shown('password:');
    k.type('hunter2\n');
    await k.shown('got:hunter2');
    k.type('three\n');
    await k.shown('got:three');
    const result = await k.done;
    expect(result.exitStatus).toBe(0);
    expect(k.fellBack).toBe(false);
    // Typed with the echo on: recorded; the password: not (echo off in line mode, as getpass).
    expect(k.text('input')).toBe('one\nthree\n');
    expect(k.text('output')).toContain('password:\r\ngot:hunter2'); // not echoed either
  });

  it('are read by Node, without a lost byte, once the relay program dies', async () => {
    const k = keysSession(script);
    expect(k.session.relayedKeys).toBe(true);
    k.type('one\n');
    await k.shown('got:one');
    await k.shown('password:');
    const pids = relayPids();
    expect(pids).toHaveLength(1);
    process.kill(pids[0]!, 'SIGKILL');
    k.type('hunter2\n'); // maybe read by the relay before it died, else by Node: the same
    await waitFor('Node to take the keys', () => k.fellBack || undefined);
    expect(k.session.relayedKeys).toBe(false);
    await k.shown('got:hunter2');
    k.type('three\n');
    await k.shown('got:three');
    expect((await k.done).exitStatus).toBe(0);
    expect(k.text('input')).toBe('one\nthree\n');
  });

  it('never hold up the output when the program does not read them (a full input queue)', async () => {
    const go = join(mkdtempSync(join(dir, 'go-')), 'go');
    execFileSync('mkfifo', [go]);
    const k = keysSession(`stty raw -echo; echo ready; read x < ${go}; seq 1 100000; exit 7`);
    await k.shown('ready');
    // The FIFO fills only once the pty's input queue is full and the relay holds a read back
    // (as the user's terminal would keep the rest); then the program writes.
    expect(k.typeUntilFull()).toBeGreaterThan(0);
    writeFileSync(go, 'go\n');
    expect((await k.done).exitStatus).toBe(7);
    expect(k.text('output')).toContain('\n99999\n100000\n');
  });

  it('reach a program that floods the output (Ctrl-C is a byte like any other)', async () => {
    const k = keysSession('echo ready; exec yes flooding');
    await k.shown('ready');
    k.type('\x03');
    expect(await k.done).toMatchObject({ exitStatus: null, signal: 2 });
  });

  it('are read by Node when the relay program exits at once', async () => {
    const k = keysSession('read a; echo "got:$a"', { relay: '/bin/true', typedEarly: 'early\n' });
    await k.shown('got:early');
    expect(k.fellBack).toBe(true);
    expect((await k.done).exitStatus).toBe(0);
    expect(k.text('input')).toBe('early\n');
  });

  it('stay with Node when it has already read some (they go first, in order)', async () => {
    const stdin = new PassThrough();
    stdin.write('first\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(stdin.readableLength).toBeGreaterThan(0);
    const k = keysSession('read a; echo "got:$a"', { stdin });
    expect(k.session.relayed).toBe(true);
    expect(k.session.relayedKeys).toBe(false);
    await k.shown('got:first');
    expect((await k.done).exitStatus).toBe(0);
  });

  it("end the session when the user's terminal hangs up (end of file)", async () => {
    const k = keysSession('read a; echo "got:$a"; exec sleep 100');
    k.type('one\n');
    await k.shown('got:one');
    k.hangUp();
    expect(await k.done).toMatchObject({ reason: 'hangup', signal: 1 });
  });
});

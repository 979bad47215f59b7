import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, write as writeFd } from 'node:fs';
import { createRequire } from 'node:module';
import { ReadStream } from 'node:tty';
import { startRelay, type Relay, type RelayKeys, type RelaySink } from './relay.js';

/**
 * A child in a pseudo-terminal, whose output is read to the last byte.
 *
 * node-pty's own UnixTerminal loses the end of the output when the child exits quickly on Node 20:
 * libuv treats a partial read after the hang-up as end of file (libuv #4992; facts.md measured up
 * to 14 KB lost). So the hang-up never happens while output is unread: right after the fork this
 * process opens the slave side itself; when the child exits, it writes a sentinel with a random
 * nonce through that slave, and only when the sentinel comes out of the master has everything the
 * child wrote been read (a pty is a FIFO). Then the slave is closed. No timer guesses anything.
 *
 * With `relay`, the output is read by the relay program (src/relay.ts) instead, which also finds
 * the sentinel; if it cannot be started or dies, this process reads the master itself, as above.
 */

interface NativePty {
  fork(
    file: string,
    args: string[],
    env: string[],
    cwd: string,
    cols: number,
    rows: number,
    uid: number,
    gid: number,
    utf8: boolean,
    helperPath: string,
    onExit: (code: number, signal: number) => void,
  ): { fd: number; pid: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

let native: NativePty | undefined;
function loadNative(): NativePty {
  // The prebuilt binary of @lydell/node-pty (no install script, no compiler needed).
  native ??= (
    createRequire(import.meta.url)('@lydell/node-pty/requireBinary') as {
      requireBinary(file: string): NativePty;
    }
  ).requireBinary('pty.node');
  return native;
}

/** How the child ended. */
export interface PtyExit {
  /** Exit status (0–255) when it exited, else null. */
  readonly exitCode: number | null;
  /** Signal number when a signal killed it, else 0. */
  readonly signal: number;
}

export interface PtyOptions {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly cols: number;
  readonly rows: number;
  /** After the child exits, how long to wait for the sentinel before giving up (a stopped terminal). */
  readonly drainTimeoutMs?: number;
  /**
   * Relay the output with this program (dist/vigil-rec-relay) straight to `terminalFd`: its
   * records go to `sink`, not onData. `fallback` is called when the output comes through onData
   * after all (the relay could not start, or died). With `keys` it also relays the keystrokes
   * (until `fallback`: from then on they are this process's to write).
   */
  readonly relay?: {
    readonly path: string;
    readonly terminalFd: number;
    readonly keys?: RelayKeys;
    readonly sink: Omit<RelaySink, 'end'>;
    readonly fallback: () => void;
  };
}

export interface Pty {
  readonly pid: number;
  /** The slave's path, e.g. /dev/pts/3. */
  readonly ptsName: string;
  /** File descriptor of this process's copy of the slave (for tcgetattr); -1 once closed. */
  readonly slaveFd: number;
  /** True while the relay program reads the output (its records go to the relay sink). */
  readonly relayed: boolean;
  /** True while the relay program also writes the keystrokes (`relay.keys`). */
  readonly relayedKeys: boolean;
  /** Every byte the child writes, in order; never the sentinel. Not called while relayed. */
  onData(listener: (data: Buffer) => void): void;
  /** Called once, after the last onData. */
  onExit(listener: (exit: PtyExit) => void): void;
  /** Sends bytes to the child's terminal (keystrokes). */
  write(data: Buffer | string): void;
  resize(cols: number, rows: number): void;
  /** Sends a signal to the child (its process, not its group). */
  kill(signal: NodeJS.Signals): void;
  /** Stops reading and closes the terminal (the child gets a hang-up). */
  destroy(): void;
}

/**
 * Forks `file` in a new pty (session leader, the pty as its controlling terminal).
 * @throws Error when the pty cannot be created or the program cannot be forked.
 */
export function spawnPty(options: PtyOptions): Pty {
  const env = Object.entries(options.env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  let dataListener: (data: Buffer) => void = () => undefined;
  let exitListener: (exit: PtyExit) => void = () => undefined;
  let exit: PtyExit | undefined;
  let finished = false;
  let sentinel: Buffer | undefined;
  let tail: Buffer | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let slaveFd = -1;

  const child = loadNative().fork(
    options.file,
    [...options.args],
    env,
    options.cwd,
    options.cols,
    options.rows,
    -1,
    -1,
    false,
    'spawn-helper-unused',
    (code, signal) => onChildExit(code, signal),
  );
  // (libuv opens with O_CLOEXEC.) Opened before the event loop polls the master, so the hang-up cannot come first; if the child
  // has already exited, opening the slave clears the pty's "other side closed" state.
  slaveFd = openSync(child.pty, constants.O_RDWR | constants.O_NOCTTY);
  // Also the keystrokes' way in; it reads only once a 'data' listener is attached.
  const master = new ReadStream(child.fd);
  let relay: Relay | undefined;

  function finish(): void {
    if (finished) return;
    finished = true;
    if (drainTimer) clearTimeout(drainTimer);
    if (tail && tail.length > 0) dataListener(tail);
    tail = undefined;
    closeSlave();
    master.destroy();
    relay?.kill();
    exitListener(exit ?? { exitCode: null, signal: 0 });
  }

  function closeSlave(): void {
    if (slaveFd < 0) return;
    try {
      closeSync(slaveFd);
    } catch {
      // already closed
    }
    slaveFd = -1;
  }

  function onChildExit(code: number, signal: number): void {
    exit = signal ? { exitCode: null, signal } : { exitCode: code, signal: 0 };
    if (finished) return;
    const nonce = randomBytes(12).toString('hex');
    sentinel = Buffer.from(`\x1b]133;X;${nonce}\x07`, 'latin1');
    if (slaveFd < 0) return finish();
    const writeSentinel = (): void => {
      if (finished || slaveFd < 0) return;
      writeFd(slaveFd, sentinel!, (error) => {
        if (error) finish();
      });
    };
    // The relay looks for the sentinel once it knows it; it must know before it can read it.
    if (relay) relay.armSentinel(nonce, writeSentinel);
    else writeSentinel();
    drainTimer = setTimeout(finish, options.drainTimeoutMs ?? 2000);
    drainTimer.unref();
  }

  const onMasterData = (chunk: Buffer): void => {
    if (finished) return;
    if (!sentinel) {
      dataListener(chunk);
      return;
    }
    // After the exit: look for the sentinel, keeping a possible split start of it back.
    const buf = tail ? Buffer.concat([tail, chunk]) : chunk;
    tail = undefined;
    const at = buf.indexOf(sentinel);
    if (at >= 0) {
      if (at > 0) dataListener(buf.subarray(0, at));
      tail = buf.subarray(at + sentinel.length);
      finish();
      return;
    }
    const keep = Math.min(buf.length, sentinel.length - 1);
    if (buf.length > keep) dataListener(buf.subarray(0, buf.length - keep));
    tail = Buffer.from(buf.subarray(buf.length - keep));
  };
  master.on('error', (error: NodeJS.ErrnoException) => {
    // EIO: every slave is closed (only after finish, or if the slave could not be kept open).
    if (error.code !== 'EIO' && error.code !== 'EAGAIN') finish();
  });
  master.on('close', () => {
    if (exit) finish();
  });

  const readMaster = (): void => void master.on('data', onMasterData);
  if (options.relay) {
    const { path, terminalFd, keys, sink, fallback } = options.relay;
    const gone = (): void => {
      // It died before its end: read the master here. (Had it already read the sentinel, the
      // drain timeout ends the session.)
      relay = undefined;
      if (finished) return;
      fallback();
      readMaster();
    };
    relay = startRelay(path, child.fd, terminalFd, { ...sink, end: finish }, gone, keys);
    if (!relay) fallback();
  }
  if (!relay) readMaster();

  return {
    pid: child.pid,
    ptsName: child.pty,
    get slaveFd() {
      return slaveFd;
    },
    get relayed() {
      return relay !== undefined;
    },
    get relayedKeys() {
      return relay !== undefined && options.relay?.keys !== undefined;
    },
    onData(listener) {
      dataListener = listener;
    },
    onExit(listener) {
      exitListener = listener;
    },
    write(data) {
      if (!finished) master.write(data);
    },
    resize(cols, rows) {
      if (!finished) loadNative().resize(child.fd, cols, rows);
    },
    kill(signal) {
      try {
        process.kill(child.pid, signal);
      } catch {
        // already gone
      }
    },
    destroy() {
      closeSlave();
      master.destroy();
      relay?.kill();
    },
  };
}

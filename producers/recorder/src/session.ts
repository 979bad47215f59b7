import type { Readable } from 'node:stream';
import type { EndReason, SessionEvent, SessionOutput, StartInfo } from './events.js';
import { createMarkScanner, parseMark, type Mark } from './marks.js';
import { spawnPty, type Pty, type PtyExit } from './pty.js';
import { inputMayBeRecorded, readLocalModes } from './termios.js';

/**
 * One recorded terminal session: a program in a pty, everything relayed unchanged between it and
 * the user's terminal, and a stream of events (output, input, resize, marker, command, exit), each
 * with its monotonic offset, handed to a list of outputs [asciinema session.rs]. The terminal
 * never waits for an output: outputs take events synchronously and queue or drop on their own.
 */

export interface SessionOptions {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Start facts; cols and rows are the initial size. */
  readonly info: Omit<StartInfo, 'startUnixNano'>;
  readonly outputs: readonly SessionOutput[];
  /** The user's side. `stdin` should already be in raw mode when it is a tty. */
  readonly stdin: Readable;
  readonly stdout: { write(data: Buffer): unknown };
  /** Current size of the user's terminal (on its 'resize' event), if it is one. */
  readonly terminalSize?: () => { cols: number; rows: number } | undefined;
  /** Emits 'resize' when the user's window changes. */
  readonly resizeSource?: NodeJS.EventEmitter;
  readonly batch: { readonly maxBytes: number; readonly maxDelayMs: number };
  /**
   * The output relay program (src/relay.ts) and the user's terminal as a file descriptor: the
   * output then goes from the pty to the terminal without passing through this process, and
   * `stdout` is only used if the relay cannot start or dies (`onFallback` is called then).
   */
  readonly relay?: {
    readonly path: string;
    readonly terminalFd: number;
    /**
     * `stdin` as a file descriptor (the user's terminal): the relay then also writes the
     * keystrokes to the program, and `stdin` is only read if the relay cannot start or dies. Not
     * used when `stdin` already holds bytes read before (they go first, from here).
     */
    readonly keysFd?: number;
    readonly onFallback?: () => void;
  };
  /** Nanoseconds, monotonic (default process.hrtime, the relay's clock). */
  readonly clock?: () => bigint;
  /** The clock value of offset 0 (default: now). */
  readonly origin?: bigint;
  readonly wallClockNs?: () => bigint;
}

export interface SessionResult {
  readonly exitStatus: number | null;
  readonly signal: number;
  readonly reason: EndReason;
  readonly outputBytes: bigint;
}

export interface Session {
  readonly pty: Pty;
  /** True while the output goes through the relay program. */
  readonly relayed: boolean;
  /** True while the keystrokes go through it too (`relay.keysFd`). */
  readonly relayedKeys: boolean;
  /** Resolves when the program has ended, every output byte was shown, and the outputs closed. */
  readonly done: Promise<SessionResult>;
  /** performance.now() of the last output read from the program; 0 before the first. */
  readonly lastOutputAt: number;
  /** The user's terminal went away: hang up the program (it ends with reason hangup). */
  hangup(): void;
}

/** Starts the program in a pty and relays. Throws if the pty cannot be created. */
export function startSession(options: SessionOptions): Session {
  const clock = options.clock ?? (() => process.hrtime.bigint());
  const t0 = options.origin ?? clock();
  const wallNow = options.wallClockNs ?? (() => BigInt(Date.now()) * 1_000_000n);
  const startUnixNano = wallNow();
  // Offsets never go back: the relay's records carry the time of their read, a little before
  // this process handles them (and stamps keystrokes and resizes with its own now).
  let lastOffset = 0n;
  const stamp = (ns: bigint): bigint => {
    const o = ns - t0;
    if (o > lastOffset) lastOffset = o;
    return lastOffset;
  };
  const offset = (): bigint => stamp(clock());
  // The relay's times are CLOCK_MONOTONIC, process.hrtime's clock; an injected clock is used alone.
  const relayOffset = (atNs: bigint): bigint => (options.clock ? offset() : stamp(atNs));
  const outputs = options.outputs;
  const emit = (event: SessionEvent): void => {
    for (const output of outputs) output.event(event);
  };

  // Output batching: one event per maxBytes or maxDelayMs, stamped with its first byte's offset.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let pendingOffset = 0n;
  let batchTimer: NodeJS.Timeout | undefined;
  let outputBytes = 0n;
  const flushOutput = (): void => {
    if (batchTimer) {
      clearTimeout(batchTimer);
      batchTimer = undefined;
    }
    if (pendingBytes === 0) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    emit({ type: 'output', offsetNs: pendingOffset, data });
  };
  const addOutput = (data: Buffer, at?: bigint): void => {
    if (pendingBytes === 0) pendingOffset = at ?? offset();
    outputBytes += BigInt(data.length);
    let rest = data;
    while (pendingBytes + rest.length >= options.batch.maxBytes) {
      const take = options.batch.maxBytes - pendingBytes;
      pending.push(rest.subarray(0, take));
      pendingBytes += take;
      rest = rest.subarray(take);
      flushOutput();
      if (rest.length > 0) pendingOffset = at ?? offset();
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
      batchTimer ??= setTimeout(flushOutput, options.batch.maxDelayMs);
    }
  };

  // Command marks from the shell integration.
  let commandIndex = 0;
  let running: { text: Buffer; cwd: Buffer; startOffsetNs: bigint } | undefined;
  const onMark = (mark: Mark, at?: bigint): void => {
    flushOutput();
    const now = at ?? offset();
    switch (mark.kind) {
      case 'command-start':
        running = { text: mark.text, cwd: mark.cwd, startOffsetNs: now };
        emit({ type: 'command-start', offsetNs: now, text: mark.text, cwd: mark.cwd });
        break;
      case 'command-end':
        if (!running) break; // the first prompt, or an empty line
        emit({
          type: 'command',
          offsetNs: now,
          text: running.text,
          cwd: running.cwd,
          startOffsetNs: running.startOffsetNs,
          endOffsetNs: now,
          exitStatus: mark.exitStatus,
          index: ++commandIndex,
        });
        running = undefined;
        break;
      case 'marker':
        emit({ type: 'marker', offsetNs: now, label: mark.label });
        break;
    }
  };

  // Keystrokes: straight to the pty; recorded only when asked and not a secret. The relay writes
  // them itself when it has them (keysFd); this process reads `stdin` only when it does not, or
  // from the moment it is gone (what it had not read is still in the terminal's queue).
  const recordInput = options.info.inputRecorded;
  const onInput = (data: Buffer | string): void => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // The modes are read before the bytes go in: the program may read them and change the modes
    // (a password prompt ending) before this line runs again.
    const record = recordInput && inputMayBeRecorded(readLocalModes(pty.slaveFd));
    pty.write(bytes);
    if (record) emitInput(Buffer.from(bytes), offset());
  };
  const emitInput = (data: Buffer, offsetNs: bigint): void => {
    flushOutput();
    emit({ type: 'input', offsetNs, data });
  };
  let readingKeys = false;
  let ended = false;
  const readKeys = (): void => {
    if (readingKeys || ended) return;
    readingKeys = true;
    options.stdin.on('data', onInput);
    options.stdin.resume();
  };
  const keysFd =
    options.relay?.keysFd !== undefined && options.stdin.readableLength === 0
      ? options.relay.keysFd
      : undefined;
  let hungUp = false;
  const hangup = (): void => {
    hungUp = true;
    pty.kill('SIGHUP');
  };

  let lastOutputAt = 0;
  const pty = spawnPty({
    file: options.file,
    args: options.args,
    env: options.env,
    cwd: options.cwd,
    cols: options.info.cols,
    rows: options.info.rows,
    ...(options.relay
      ? {
          relay: {
            path: options.relay.path,
            terminalFd: options.relay.terminalFd,
            ...(keysFd !== undefined ? { keys: { fd: keysFd, record: recordInput } } : {}),
            fallback() {
              options.relay?.onFallback?.();
              readKeys();
            },
            // Already on the user's terminal, marks cut out.
            sink: {
              data(bytes, atNs) {
                lastOutputAt = performance.now();
                addOutput(bytes, relayOffset(atNs));
              },
              mark(body, atNs) {
                const mark = parseMark(body);
                if (mark) onMark(mark, relayOffset(atNs));
              },
              lost(bytes, atNs) {
                outputBytes += BigInt(bytes);
                flushOutput();
                emit({ type: 'output-lost', offsetNs: relayOffset(atNs), bytes });
              },
              // Typed with the echo on (the relay checked the program's modes before writing).
              input(bytes, atNs) {
                emitInput(bytes, relayOffset(atNs));
              },
              // The user's terminal hung up, as on SIGHUP.
              hangup,
            },
          },
        }
      : {}),
  });
  emit({ type: 'start', offsetNs: 0n, info: { ...options.info, startUnixNano } });

  const stdout = options.stdout;
  let heldTimer: NodeJS.Timeout | undefined;
  const scanner = createMarkScanner({
    data(bytes) {
      stdout.write(bytes);
      addOutput(bytes);
    },
    mark: onMark,
  });
  pty.onData((chunk) => {
    scanner.push(chunk);
    lastOutputAt = performance.now();
    if (scanner.holding) {
      // The start of what may be a mark: show it soon if nothing completes it.
      heldTimer ??= setTimeout(() => {
        heldTimer = undefined;
        scanner.flush();
      }, 10);
    } else if (heldTimer) {
      clearTimeout(heldTimer);
      heldTimer = undefined;
    }
  });

  if (!pty.relayedKeys) readKeys();

  const onResize = (): void => {
    const size = options.terminalSize?.();
    if (!size) return;
    pty.resize(size.cols, size.rows);
    flushOutput();
    emit({ type: 'resize', offsetNs: offset(), cols: size.cols, rows: size.rows });
  };
  options.resizeSource?.on('resize', onResize);

  const done = new Promise<SessionResult>((resolve) => {
    pty.onExit((exit: PtyExit) => {
      ended = true;
      if (heldTimer) clearTimeout(heldTimer);
      scanner.flush();
      flushOutput();
      options.stdin.off('data', onInput);
      options.resizeSource?.off('resize', onResize);
      const reason: EndReason = hungUp ? 'hangup' : exit.signal ? 'signal' : 'exit';
      emit({
        type: 'exit',
        offsetNs: offset(),
        exitStatus: exit.exitCode,
        reason,
        signal: exit.signal,
        outputBytes,
      });
      void Promise.all(outputs.map((o) => o.close())).then(() =>
        resolve({ exitStatus: exit.exitCode, signal: exit.signal, reason, outputBytes }),
      );
    });
  });

  return {
    pty,
    get relayed() {
      return pty.relayed;
    },
    get relayedKeys() {
      return pty.relayedKeys;
    },
    done,
    get lastOutputAt() {
      return lastOutputAt;
    },
    hangup,
  };
}

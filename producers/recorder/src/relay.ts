import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * The output relay (relay/relay.c, built to dist/vigil-rec-relay): a small C program that does the
 * output hot path as `script` does, so 50 MB of output is not 16 000 turns of Node's event loop.
 * It reads the pty master (fd 3), writes every byte to the user's terminal (fd 1), cuts the shell
 * integration's marks out as src/marks.ts does, and sends the recorder records in large batches
 * (fd 4), never blocking the terminal on the recorder: past its bound it drops the copy and says
 * how much. The recorder keeps everything else: the pty itself (node-pty creates it and forks the
 * program), resize, the events and their outputs; keystrokes too, unless the relay is given them
 * (`keys`: it reads the user's terminal and writes to the master, as `script` does).
 */

/** What the relay sends, in stream order. Times are process.hrtime's clock (CLOCK_MONOTONIC). */
export interface RelaySink {
  /** Bytes the terminal has been given (marks cut out). */
  data(bytes: Buffer, atNs: bigint): void;
  /** The body of a mark (after `ESC ] 133 ;`, before the terminator). */
  mark(body: Buffer, atNs: bigint): void;
  /** Bytes shown on the terminal that the recorder will never see (it was behind). */
  lost(bytes: number, atNs: bigint): void;
  /** The sentinel came out of the master: everything the program wrote was relayed. */
  end(): void;
  /** Keystrokes the relay wrote to the program that may be recorded (with `recordInput`). */
  input?(bytes: Buffer, atNs: bigint): void;
  /** The keystrokes' side (the user's terminal) hung up: end of file or an error. */
  hangup?(): void;
}

const HEADER_BYTES = 13;

/**
 * A parser of the relay's records (type byte, uint32 LE length, uint64 LE time, payload). Output
 * payloads are handed on as they arrive, in pieces, without copying. Pure.
 */
export function createRecordReader(sink: RelaySink): (chunk: Buffer) => void {
  let header: Buffer | undefined; // an incomplete header or non-data payload
  let dataLeft = 0; // bytes of the current 'D' payload still to come
  let dataAt = 0n;
  let want = HEADER_BYTES; // bytes `header` needs
  let inPayload = false; // `header` gathers a payload (which may be HEADER_BYTES long too)
  let type = 0;
  let at = 0n;

  const complete = (payload: Buffer): void => {
    switch (type) {
      case 0x4d: // 'M'
        sink.mark(Buffer.from(payload), at);
        break;
      case 0x4c: // 'L'
        sink.lost(Number(payload.readBigUInt64LE(0)), at);
        break;
      case 0x45: // 'E'
        sink.end();
        break;
      case 0x49: // 'I'
        sink.input?.(Buffer.from(payload), at);
        break;
      case 0x48: // 'H'
        sink.hangup?.();
        break;
    }
  };

  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (dataLeft > 0) {
        const n = Math.min(dataLeft, chunk.length - i);
        sink.data(chunk.subarray(i, i + n), dataAt);
        dataLeft -= n;
        i += n;
        continue;
      }
      // A header, then (for M, L, E) a payload, gathered whole.
      const n = Math.min(want - (header?.length ?? 0), chunk.length - i);
      header = header
        ? Buffer.concat([header, chunk.subarray(i, i + n)])
        : chunk.subarray(i, i + n);
      i += n;
      if (header.length < want) {
        header = Buffer.from(header); // the chunk's memory is not ours to keep
        continue;
      }
      if (!inPayload) {
        type = header[0]!;
        const length = header.readUInt32LE(1);
        at = header.readBigUInt64LE(5);
        header = undefined;
        if (type === 0x44) {
          dataLeft = length;
          dataAt = at;
          continue;
        }
        if (length > 0) {
          want = length;
          inPayload = true;
          continue;
        }
        complete(Buffer.alloc(0));
        continue;
      }
      const payload = header;
      header = undefined;
      want = HEADER_BYTES;
      inPayload = false;
      complete(payload);
    }
  };
}

export interface Relay {
  readonly process: ChildProcess;
  /** The program has exited; `nonce` is in the sentinel about to be written. Calls `sent` when
   * the relay has the message (the sentinel must not reach the master before). */
  armSentinel(nonce: string, sent: () => void): void;
  /** Stops it (the session is over, or given up on). */
  kill(): void;
}

/** The keystrokes' side: the relay reads `fd` and writes what it reads to the master. */
export interface RelayKeys {
  readonly fd: number;
  /** Hand copies to the sink's `input` (never while echo is off in line mode). */
  readonly record: boolean;
}

/**
 * Starts the relay on `masterFd` and `terminalFd` (and with `keys`, the keystrokes). Returns
 * undefined when it cannot be started (no binary, exec failed): the caller relays in Node.
 * `onGone` is called if it ends without having sent its end record (it died, or was killed),
 * with every record before handed on.
 */
export function startRelay(
  path: string,
  masterFd: number,
  terminalFd: number,
  sink: RelaySink,
  onGone: () => void,
  keys?: RelayKeys,
): Relay | undefined {
  let child: ChildProcess;
  try {
    child = keys
      ? spawn(path, keys.record ? ['--keys', '--record-input'] : ['--keys'], {
          stdio: ['pipe', terminalFd, 'inherit', masterFd, 'pipe', keys.fd],
        })
      : spawn(path, [], { stdio: ['pipe', terminalFd, 'inherit', masterFd, 'pipe'] });
  } catch {
    return undefined;
  }
  if (child.pid === undefined) {
    child.on('error', () => undefined); // reported on the next tick; already handled here
    return undefined;
  }
  child.on('error', () => undefined);
  const control = child.stdio[0] as Writable;
  control.on('error', () => undefined);
  const records = child.stdio[4] as Readable;
  let ended = false;
  const read = createRecordReader({
    ...sink,
    end() {
      ended = true;
      sink.end();
    },
  });
  records.on('data', read);
  records.on('error', () => undefined);
  records.on('close', () => {
    if (!ended) onGone();
  });
  return {
    process: child,
    armSentinel(nonce, sent) {
      control.write(`x${nonce}\n`, () => sent());
    },
    kill() {
      control.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

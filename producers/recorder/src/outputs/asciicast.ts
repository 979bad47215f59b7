import { closeSync, openSync, writeSync } from 'node:fs';
import type { SessionEvent, SessionOutput } from '../events.js';

/**
 * The local file output: asciicast v2 (`[seconds since start, code, data]`) or v3 (`[seconds since
 * the previous event, code, data]`, exit status as `x`). Output is decoded as UTF-8 in a stream
 * (a character split across chunks stays whole); invalid bytes become U+FFFD, because the format
 * is JSON text. The gateway stream keeps the exact bytes. Commands are written as markers
 * "$ <command line>" at their start, so a player can jump from command to command.
 *
 * Writes are synchronous and small; a local file does not stall a terminal the way a socket can.
 */

export interface AsciicastOutputOptions {
  readonly path: string;
  readonly version: 2 | 3;
  /** Extra header fields (title, env). */
  readonly header?: Record<string, unknown>;
}

const seconds = (ns: bigint): number => Math.round(Number(ns / 1000n)) / 1e6;

/** Opens (truncates) the file; throws if it cannot be created. */
export function createAsciicastOutput(options: AsciicastOutputOptions): SessionOutput {
  const fd = openSync(options.path, 'w', 0o600);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let previousNs = 0n;
  let closed = false;
  const line = (value: unknown): void => {
    writeSync(fd, `${JSON.stringify(value)}\n`);
  };
  const time = (offsetNs: bigint): number => {
    if (options.version === 2) return seconds(offsetNs);
    const delta = offsetNs - previousNs;
    previousNs = offsetNs;
    return seconds(delta < 0n ? 0n : delta);
  };
  const safely = (write: () => void): void => {
    if (closed) return;
    try {
      write();
    } catch {
      // A full disk must not end the session: the file output stops, the rest goes on.
      closed = true;
    }
  };

  return {
    event(event: SessionEvent) {
      safely(() => {
        switch (event.type) {
          case 'start': {
            const { info } = event;
            const timestamp = Math.floor(Number(info.startUnixNano / 1_000_000_000n));
            const command = info.command.length > 0 ? info.command.join(' ') : undefined;
            line(
              options.version === 2
                ? {
                    version: 2,
                    width: info.cols,
                    height: info.rows,
                    timestamp,
                    ...(command ? { command } : {}),
                    env: { SHELL: info.shell, TERM: info.term },
                    ...options.header,
                  }
                : {
                    version: 3,
                    term: { cols: info.cols, rows: info.rows, type: info.term },
                    timestamp,
                    ...(command ? { command } : {}),
                    env: { SHELL: info.shell },
                    ...options.header,
                  },
            );
            break;
          }
          case 'output': {
            const text = decoder.decode(event.data, { stream: true });
            if (text) line([time(event.offsetNs), 'o', text]);
            break;
          }
          case 'input':
            line([time(event.offsetNs), 'i', new TextDecoder().decode(event.data)]);
            break;
          case 'resize':
            line([time(event.offsetNs), 'r', `${event.cols}x${event.rows}`]);
            break;
          case 'marker':
            line([time(event.offsetNs), 'm', event.label]);
            break;
          case 'command-start':
            line([time(event.offsetNs), 'm', `$ ${event.text.toString('utf8')}`]);
            break;
          case 'command':
          case 'output-lost':
            break;
          case 'exit': {
            const rest = decoder.decode();
            if (rest) line([time(event.offsetNs), 'o', rest]);
            if (options.version === 3)
              line([time(event.offsetNs), 'x', String(event.exitStatus ?? 128 + event.signal)]);
            break;
          }
        }
      });
    },
    close() {
      if (!closed) closed = true;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      return Promise.resolve();
    },
  };
}

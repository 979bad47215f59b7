/**
 * What a recording session emits, in order, each with its monotonic offset since the start
 * (nanoseconds). The session hands these to a list of outputs (gateway stream, asciicast file);
 * it knows nothing of Kafka or of any format [asciinema session.rs].
 */

/** Facts about the session known at its start. */
export interface StartInfo {
  readonly user: string;
  readonly uid: number;
  /** The user's terminal, e.g. /dev/pts/3 ("" when not a tty). */
  readonly tty: string;
  readonly term: string;
  /** The program run in the pty. */
  readonly shell: string;
  /** Its arguments when run with -c. */
  readonly command: readonly string[];
  readonly cols: number;
  readonly rows: number;
  readonly sshClient: string;
  readonly jobId: string;
  readonly inputRecorded: boolean;
  /** Wall-clock start, nanoseconds since the Unix epoch. */
  readonly startUnixNano: bigint;
}

export type EndReason = 'exit' | 'signal' | 'hangup' | 'recorder_error';

export type SessionEvent =
  | { readonly type: 'start'; readonly offsetNs: bigint; readonly info: StartInfo }
  | { readonly type: 'output'; readonly offsetNs: bigint; readonly data: Buffer }
  | { readonly type: 'input'; readonly offsetNs: bigint; readonly data: Buffer }
  | {
      readonly type: 'resize';
      readonly offsetNs: bigint;
      readonly cols: number;
      readonly rows: number;
    }
  | { readonly type: 'marker'; readonly offsetNs: bigint; readonly label: string }
  /** A command began (from the shell's marks); the complete `command` event follows at its end. */
  | {
      readonly type: 'command-start';
      readonly offsetNs: bigint;
      readonly text: Buffer;
      readonly cwd: Buffer;
    }
  | {
      readonly type: 'command';
      readonly offsetNs: bigint;
      readonly text: Buffer;
      readonly cwd: Buffer;
      readonly startOffsetNs: bigint;
      readonly endOffsetNs: bigint;
      readonly exitStatus: number;
      readonly index: number;
    }
  /** Output shown on the terminal that the recorder never got (the relay's copy buffer was full). */
  | { readonly type: 'output-lost'; readonly offsetNs: bigint; readonly bytes: number }
  | {
      readonly type: 'exit';
      readonly offsetNs: bigint;
      /** 0–255 when the program exited, else null. */
      readonly exitStatus: number | null;
      readonly reason: EndReason;
      readonly signal: number;
      readonly outputBytes: bigint;
    };

/** Where events go. `event` never blocks and never throws; `close` resolves once the output is done. */
export interface SessionOutput {
  event(event: SessionEvent): void;
  /** Flushes what it can within its own time limit; never rejects. */
  close(): Promise<void>;
}

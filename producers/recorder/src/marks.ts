/**
 * The marks the shell integration and the pty wrapper write into the terminal output (OSC 133
 * style: `ESC ] 133 ; <kind> ; <fields> BEL`), found and cut out of the byte stream so the user
 * never sees them. Pure, streaming: a mark split across two reads is still found. Any other OSC 133
 * sequence (a user's own shell integration) passes through untouched.
 *
 *   C;<cwd>;<command>      a command starts (bash PS0, zsh preexec)
 *   D;<status>             the prompt is back (bash PROMPT_COMMAND, zsh precmd)
 *   M;<label>              a marker (`printf '\e]133;M;label\a'`)
 *   X;<nonce>;<status>     the shell exited; everything it wrote has been read (the wrapper)
 *
 * Fields are percent-encoded where they may hold `;`, `%`, BEL or ESC, so a command line survives
 * byte for byte.
 */

export type Mark =
  | { readonly kind: 'command-start'; readonly cwd: Buffer; readonly text: Buffer }
  | { readonly kind: 'command-end'; readonly exitStatus: number }
  | { readonly kind: 'marker'; readonly label: string }
  | { readonly kind: 'exit'; readonly nonce: string; readonly exitStatus: number };

const PREFIX = Buffer.from('\x1b]133;', 'latin1');
const BEL = 0x07;
const ESC = 0x1b;
/** A mark longer than this is not ours: it is passed through as it is. */
export const MAX_MARK_BYTES = 64 * 1024;

/** Decodes %XX escapes into bytes (invalid escapes are kept literally). Pure. */
export function percentDecode(bytes: Buffer): Buffer {
  if (!bytes.includes(0x25)) return bytes;
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length) {
      const hex = bytes.toString('latin1', i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        out[n++] = parseInt(hex, 16);
        i += 2;
        continue;
      }
    }
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * A status field: empty (0), or an optional minus and 1–9 digits; undefined otherwise. (The relay,
 * relay/relay.c, decides with the same rule which sequences to cut out of the terminal's output.)
 */
function parseStatus(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === '') return 0;
  return /^-?[0-9]{1,9}$/.test(text) ? Number(text) | 0 : undefined;
}

/** Parses the body of an OSC 133 sequence (after `133;`, before the terminator); undefined if not ours. */
export function parseMark(body: Buffer): Mark | undefined {
  const semi = body.indexOf(0x3b);
  const kind = body.toString('latin1', 0, semi < 0 ? body.length : semi);
  const rest = semi < 0 ? Buffer.alloc(0) : body.subarray(semi + 1);
  switch (kind) {
    case 'C': {
      const split = rest.indexOf(0x3b);
      if (split < 0) return undefined;
      return {
        kind: 'command-start',
        cwd: percentDecode(rest.subarray(0, split)),
        text: percentDecode(rest.subarray(split + 1)),
      };
    }
    case 'D': {
      const status = parseStatus(rest.toString('latin1'));
      return status !== undefined ? { kind: 'command-end', exitStatus: status } : undefined;
    }
    case 'M':
      return { kind: 'marker', label: percentDecode(rest).toString('utf8') };
    case 'X': {
      const [nonce, status] = rest.toString('latin1').split(';');
      const exitStatus = parseStatus(status);
      return nonce && exitStatus !== undefined ? { kind: 'exit', nonce, exitStatus } : undefined;
    }
    default:
      return undefined;
  }
}

/** Receives the scanner's results, in stream order. */
export interface MarkSink {
  data(bytes: Buffer): void;
  mark(mark: Mark): void;
}

/** A streaming scanner; one per pty. */
export interface MarkScanner {
  /** Feeds bytes read from the pty; calls the sink for the bytes to show and the marks, in order. */
  push(chunk: Buffer): void;
  /** True when bytes are held back (the start of what may be a mark). */
  readonly holding: boolean;
  /** Hands held bytes on as data (no more input is coming soon, or at the end). */
  flush(): void;
}

/** Length of the longest suffix of `chunk` that is a proper prefix of PREFIX (0 when none). */
function partialPrefixAtEnd(chunk: Buffer): number {
  const from = Math.max(0, chunk.length - (PREFIX.length - 1));
  const esc = chunk.indexOf(ESC, from);
  if (esc < 0) return 0;
  for (let start = esc; start < chunk.length; start++) {
    if (chunk[start] !== ESC) continue;
    const n = chunk.length - start;
    if (chunk.compare(PREFIX, 0, n, start) === 0) return n;
  }
  return 0;
}

/** Creates a scanner that strips the marks it knows and reports them to `sink`. */
export function createMarkScanner(sink: MarkSink): MarkScanner {
  let held: Buffer | undefined;

  function scan(buf: Buffer): void {
    let from = 0;
    for (;;) {
      const start = buf.indexOf(PREFIX, from);
      if (start < 0) {
        const partial = partialPrefixAtEnd(buf.subarray(from));
        const end = buf.length - partial;
        if (end > from) sink.data(buf.subarray(from, end));
        if (partial > 0) held = Buffer.from(buf.subarray(end));
        return;
      }
      // Find the terminator: BEL or ST (ESC \).
      const bodyStart = start + PREFIX.length;
      let term = -1;
      let termLength = 1;
      for (let i = bodyStart; i < buf.length; i++) {
        const b = buf[i]!;
        if (b === BEL) {
          term = i;
          break;
        }
        if (b === ESC) {
          if (i + 1 >= buf.length) break; // maybe ST split across reads
          if (buf[i + 1] === 0x5c) {
            term = i;
            termLength = 2;
            break;
          }
        }
      }
      if (term < 0) {
        if (buf.length - start > MAX_MARK_BYTES) {
          // Not a mark of ours: show it and go on after the prefix.
          sink.data(buf.subarray(from, bodyStart));
          from = bodyStart;
          continue;
        }
        if (start > from) sink.data(buf.subarray(from, start));
        held = Buffer.from(buf.subarray(start));
        return;
      }
      const mark = parseMark(buf.subarray(bodyStart, term));
      if (mark) {
        if (start > from) sink.data(buf.subarray(from, start));
        sink.mark(mark);
      } else {
        sink.data(buf.subarray(from, term + termLength));
      }
      from = term + termLength;
      if (from >= buf.length) return;
    }
  }

  return {
    push(chunk) {
      if (held) {
        const joined = Buffer.concat([held, chunk]);
        held = undefined;
        scan(joined);
      } else {
        scan(chunk);
      }
    },
    get holding() {
      return held !== undefined;
    },
    flush() {
      if (!held) return;
      const bytes = held;
      held = undefined;
      sink.data(bytes);
    },
  };
}

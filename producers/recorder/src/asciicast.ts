/**
 * Reads asciicast v2 and v3 files into one timeline in absolute seconds, for `vigil play` and
 * `vigil cat`. Pure.
 */

export interface CastHeader {
  readonly version: 2 | 3;
  readonly cols: number;
  readonly rows: number;
  readonly timestamp?: number;
  readonly command?: string;
}

export interface CastEvent {
  /** Seconds since the start. */
  readonly time: number;
  /** o output, i input, m marker, r resize, x exit (v3). */
  readonly code: string;
  readonly data: string;
}

export interface Cast {
  readonly header: CastHeader;
  readonly events: readonly CastEvent[];
}

/** A file that is not asciicast v2 or v3; says which line. */
export class CastError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CastError';
  }
}

/** Parses an asciicast file. @throws {CastError} naming the bad line. */
export function parseCast(text: string): Cast {
  const lines = text.split('\n');
  let header: CastHeader | undefined;
  const events: CastEvent[] = [];
  let clock = 0;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new CastError(`reading asciicast: line ${n + 1}: ${(error as Error).message}`);
    }
    if (!header) {
      const h = value as Record<string, unknown>;
      if (h.version === 2 && typeof h.width === 'number' && typeof h.height === 'number') {
        header = {
          version: 2,
          cols: h.width,
          rows: h.height,
          timestamp: h.timestamp as number,
          command: h.command as string,
        };
      } else if (h.version === 3 && typeof h.term === 'object' && h.term !== null) {
        const term = h.term as Record<string, unknown>;
        header = {
          version: 3,
          cols: Number(term.cols),
          rows: Number(term.rows),
          timestamp: h.timestamp as number,
          command: h.command as string,
        };
      } else {
        throw new CastError(`reading asciicast: line ${n + 1}: not an asciicast v2 or v3 header`);
      }
      continue;
    }
    if (
      !Array.isArray(value) ||
      value.length < 3 ||
      typeof value[0] !== 'number' ||
      typeof value[1] !== 'string'
    ) {
      throw new CastError(`reading asciicast: line ${n + 1}: expected [time, code, data]`);
    }
    clock = header.version === 2 ? value[0] : clock + value[0];
    events.push({ time: clock, code: value[1], data: String(value[2]) });
  }
  if (!header) throw new CastError('reading asciicast: the file is empty');
  return { header, events };
}

/** Caps every pause between two events at `limit` seconds (asciinema's idle_time_limit). Pure. */
export function limitIdle(events: readonly CastEvent[], limit: number | undefined): CastEvent[] {
  if (!limit || limit <= 0) return [...events];
  let shift = 0;
  let previous = 0;
  return events.map((e) => {
    const gap = e.time - previous;
    if (gap > limit) shift += gap - limit;
    previous = e.time;
    return { ...e, time: e.time - shift };
  });
}

/** Everything the terminal showed, in order. Pure. */
export function castOutput(cast: Cast): string {
  let out = '';
  for (const e of cast.events) if (e.code === 'o') out += e.data;
  return out;
}

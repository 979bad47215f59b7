import type { vigil } from '@vigil/schemas/gen';
import { toBigInt } from '@vigil/pipeline/events';

/**
 * Session events → asciicast lines (pure apart from the caller-held decoder). Formats:
 * https://docs.asciinema.org/manual/asciicast/v2/ (times since the start) and .../v3/ (intervals
 * since the previous event, `x` exit event, `term` header).
 */

export type CastVersion = 2 | 3;

/** What a session file needs to carry on after a restart (kept in the `.state` sidecar). */
export interface CastState {
  readonly version: CastVersion;
  /** Bytes of the cast file that are complete; anything beyond is cut off when reopening. */
  readonly length: number;
  /** Highest envelope sequence written (events at or below it are replays). */
  readonly lastSequence: string;
  /** Time of the last event written, in ns since the session start (times never go back). */
  readonly lastOffsetNs: string;
  readonly finished: boolean;
}

/** The header line of a new file. */
export function castHeader(
  version: CastVersion,
  start: vigil.session.v1.ISessionStart | undefined,
  meta: { readonly host: string; readonly startUnixNano: bigint },
): string {
  const cols = start?.cols || 80;
  const rows = start?.rows || 24;
  const timestamp = Number(meta.startUnixNano / 1_000_000_000n);
  const shell = start?.shell ? Buffer.from(start.shell).toString('utf8') : undefined;
  const term = start?.term || undefined;
  const title = start
    ? `${start.user || '?'}@${meta.host}${start.tty ? ` ${start.tty}` : ''}`
    : meta.host;
  const command = start?.command?.length
    ? start.command.map((c) => Buffer.from(c).toString('utf8')).join(' ')
    : undefined;
  if (version === 2) {
    return `${JSON.stringify({
      version: 2,
      width: cols,
      height: rows,
      timestamp,
      ...(command ? { command } : {}),
      title,
      env: { ...(shell ? { SHELL: shell } : {}), ...(term ? { TERM: term } : {}) },
    })}\n`;
  }
  return `${JSON.stringify({
    version: 3,
    term: { cols, rows, ...(term ? { type: term } : {}) },
    timestamp,
    ...(command ? { command } : {}),
    title,
    ...(shell ? { env: { SHELL: shell } } : {}),
  })}\n`;
}

/** Seconds with microsecond precision, as asciinema writes them. */
function seconds(ns: bigint): number {
  return Number(ns / 1000n) / 1_000_000;
}

/**
 * The lines one session event adds, given the time of the previous event (ns since start). Output
 * and input bytes go through `decode` (a streaming UTF-8 decoder, so a character split across two
 * chunks stays whole). Returns the lines and the new last time.
 */
export function castEventLines(
  version: CastVersion,
  event: vigil.session.v1.ISessionEvent,
  lastOffsetNs: bigint,
  decode: (bytes: Uint8Array) => string,
): { lines: string[]; lastOffsetNs: bigint } {
  const at = toBigInt(event.offsetNs);
  const time = at > lastOffsetNs ? at : lastOffsetNs; // never back in time
  const stamp = version === 2 ? seconds(time) : seconds(time - lastOffsetNs);
  const line = (code: string, data: string) => `${JSON.stringify([stamp, code, data])}\n`;
  let lines: string[] = [];
  if (event.output) {
    const text = decode(event.output.data ?? new Uint8Array());
    if (text) lines = [line('o', text)];
  } else if (event.input) {
    const text = decode(event.input.data ?? new Uint8Array());
    if (text) lines = [line('i', text)];
  } else if (event.resize) {
    lines = [line('r', `${event.resize.cols ?? 80}x${event.resize.rows ?? 24}`)];
  } else if (event.marker) {
    lines = [line('m', event.marker.label ?? '')];
  } else if (event.command) {
    // A marker per command lets players jump to it; the exit status is in its label.
    const text = Buffer.from(event.command.text ?? []).toString('utf8');
    lines = [line('m', `$ ${text} [exit ${event.command.exitStatus ?? 0}]`)];
  } else if (event.dropped) {
    lines = [
      line(
        'm',
        `recorder dropped ${toBigInt(event.dropped.bytes)} bytes${event.dropped.reason ? ` (${event.dropped.reason})` : ''}`,
      ),
    ];
  } else if (event.end && version === 3) {
    lines = [line('x', String(event.end.exitStatus ?? 0))];
  }
  return { lines, lastOffsetNs: lines.length > 0 ? time : lastOffsetNs };
}

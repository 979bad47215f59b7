import { SourceError } from './source-error.js';

/** Character encodings a source may declare in its config; anything else is a config error. */
export type TextEncoding = 'utf-8' | 'latin1';

/**
 * Bytes from a source as text. UTF-8 is decoded strictly, so a source sending Latin-1 (or binary)
 * is a clear error instead of U+FFFD in every output; an HTML page where data was expected (a
 * login form after an expired certificate or session) is called out as such.
 * @throws {SourceError} 'encoding' or 'login-page'.
 */
export function decodeText(bytes: Uint8Array, encoding: TextEncoding, what: string): string {
  let text: string;
  if (encoding === 'latin1') {
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch (cause) {
      throw new SourceError(
        'encoding',
        `decoding ${what}: not valid UTF-8 (set the source's encoding if it sends Latin-1)`,
        cause,
      );
    }
  }
  if (looksLikeHtml(text)) {
    throw new SourceError(
      'login-page',
      `reading ${what}: got an HTML page instead of data (a login page? check the credentials)`,
    );
  }
  return text;
}

/** True for text that starts like an HTML document. */
export function looksLikeHtml(text: string): boolean {
  return /^\s*(<!doctype html|<html|<head|<body)/i.test(text.slice(0, 512));
}

/**
 * JSON.parse with an error naming the source and the place it broke.
 * @throws {SourceError} 'malformed'.
 */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const position = /at position (\d+)/.exec(detail);
    const atEnd = position ? Number(position[1]) >= text.trimEnd().length : false;
    const truncated =
      atEnd || /end of (JSON )?input|Unterminated string/i.test(detail) ? ' (truncated?)' : '';
    throw new SourceError(
      'malformed',
      `parsing ${what}: invalid JSON${truncated}: ${detail}`,
      cause,
    );
  }
}

/** Throws a 'malformed' SourceError. */
export function malformed(what: string, detail: string): never {
  throw new SourceError('malformed', `parsing ${what}: ${detail}`);
}

/** Plain object check for JSON values. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON or text flag: true, 1, "1", "yes", "true"; a depth > 0 counts as true. */
export function flag(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value > 0;
  if (typeof value === 'string')
    return /^(1|yes|true|on)$/i.test(value.trim()) || /^[1-9]\d*$/.test(value.trim());
  return false;
}

/** A number from JSON or text; NaN when absent or not a number. */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/** Seconds since the epoch (possibly fractional) as milliseconds; 0 for "never" (0, -1, absent). */
export function secondsToMs(value: unknown): number {
  const n = num(value);
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : 0;
}

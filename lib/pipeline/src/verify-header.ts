import { CodecError } from './errors.js';

/**
 * The `vigil-verify` Kafka header: what the verify worker found, attached (as JSON) to every event
 * it passes on to a verified topic. Written by consumers/verify, read by enrich and the sinks; the
 * contract lives here, once.
 */
export const VERIFY_HEADER = 'vigil-verify';

/** Status of one watermark a process reported. */
export interface WatermarkCheck {
  /** Path of the object (executable or shared object), as reported. */
  readonly path: string;
  /** signed: issued here; unknown: carries a watermark this site never issued; unsigned: has none. */
  readonly status: 'signed' | 'unknown' | 'unsigned';
  readonly id?: string;
  readonly package?: string;
  readonly version?: string;
  readonly builder?: string;
}

/** The header's content. */
export interface VerifyHeader {
  readonly signature: 'valid' | 'unsigned';
  readonly keyId?: string;
  /** For process events: every object of the start record (or every dlopened one of an end record). */
  readonly watermarks?: readonly WatermarkCheck[];
}

/**
 * Reads the header from a record's headers: undefined when absent. Throws CodecError 'bad-event'
 * when it is present but not a JSON object (a bug or tampering upstream); each reader decides
 * what that costs (enrich dead-letters the event, the sinks keep it without a signature status).
 */
export function readVerifyHeader(
  headers: Readonly<Record<string, string | undefined>>,
): VerifyHeader | undefined {
  const text = headers[VERIFY_HEADER];
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CodecError(
      'bad-event',
      `reading the ${VERIFY_HEADER} header: ${(error as Error).message}`,
      error,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CodecError('bad-event', `reading the ${VERIFY_HEADER} header: not a JSON object`);
  }
  return value as VerifyHeader;
}

/**
 * The error vocabulary of every Vigil component. Workers react to the class (retry, dead-letter,
 * or crash); metrics label by `errorType`, a closed set so dashboards stay bounded.
 */

/** Closed set of error kinds, used as the `error_type` metric label. */
export type ErrorType =
  | 'codec'
  | 'schema'
  | 'signature'
  | 'config'
  | 'network'
  | 'http'
  | 'timeout'
  | 'store'
  | 'kafka'
  | 'auth';

interface VigilErrorOptions {
  readonly errorType: ErrorType;
  readonly cause?: unknown;
}

/** Base of the two classes below; never thrown directly. */
export abstract class VigilError extends Error {
  readonly errorType: ErrorType;
  constructor(message: string, options: VigilErrorOptions) {
    super(message, { cause: options.cause });
    this.errorType = options.errorType;
    this.name = new.target.name;
  }
}

/** Trying again cannot help: the record goes to the dead-letter topic and the partition moves on. */
export class PermanentError extends VigilError {}

/** A later attempt may succeed: back off (honouring `retryAfterMs`) and retry, without limit. */
export class RetryableError extends VigilError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: VigilErrorOptions & { readonly retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * No retry can help and no event is at fault: the destination refused our credentials or our
 * configuration. The worker stops with this message for the operator (logged as such, not as a
 * programmer error) and exits non-zero; nothing is committed or dead-lettered.
 */
export class FatalError extends VigilError {}

/** Why a Kafka record value could not be decoded. */
export type CodecErrorCode =
  | 'truncated'
  | 'bad-magic-byte'
  | 'bad-message-indexes'
  | 'unknown-schema-id'
  | 'unknown-schema'
  | 'unknown-message-index'
  | 'bad-payload'
  | 'bad-event';

/**
 * Bad input to the wire codec: a truncated frame, a wrong magic byte, a schema id or message index
 * nobody knows, or a payload that is not the message it claims to be. Permanent: the same bytes
 * will fail the same way.
 */
export class CodecError extends PermanentError {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string, cause?: unknown) {
    super(message, { errorType: 'codec', cause });
    this.code = code;
  }
}

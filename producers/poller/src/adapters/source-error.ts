import { RetryableError, type ErrorType } from '@vigil/pipeline/errors';

/** Why a poll of a source failed; the `reason` label of the poller's error metric. */
export type SourceErrorReason =
  | 'unreachable'
  | 'timeout'
  | 'http-status'
  | 'auth'
  | 'login-page'
  | 'encoding'
  | 'malformed'
  | 'too-large';

const ERROR_TYPES: Record<SourceErrorReason, ErrorType> = {
  unreachable: 'network',
  timeout: 'timeout',
  'http-status': 'http',
  auth: 'http',
  'login-page': 'http',
  encoding: 'codec',
  malformed: 'codec',
  'too-large': 'codec',
};

/**
 * A source could not be polled: not reachable, answering with an error, or answering with
 * something that is not the data (an HTML login page, truncated JSON, another encoding). Always
 * retryable: the next poll tries again. The message is one line, names the step and never holds
 * credentials.
 */
export class SourceError extends RetryableError {
  readonly reason: SourceErrorReason;
  constructor(reason: SourceErrorReason, message: string, cause?: unknown) {
    super(message, { errorType: ERROR_TYPES[reason], cause });
    this.reason = reason;
  }
}

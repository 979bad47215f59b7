import { FatalError, PermanentError, RetryableError, VigilError } from './errors.js';

/** How retryable failures are spaced. No attempt limit: Kafka holds the backlog meanwhile. */
export interface RetryPolicy {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Upper bound of any delay (a `retryAfterMs` from the error may exceed it). */
  readonly maxMs: number;
  /** Growth factor per attempt. */
  readonly multiplier: number;
  /** Fraction of the delay that is random, 0 (none) to 1 (full jitter). */
  readonly jitter: number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): exponential, capped, with a
 * random part so that many workers do not retry in step. A `retryAfterMs` the destination asked
 * for is honoured as a lower bound. Pure apart from `random` (inject it in tests).
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(
    policy.maxMs,
    policy.initialMs * policy.multiplier ** Math.max(0, attempt - 1),
  );
  const jittered = base * (1 - policy.jitter) + base * policy.jitter * random();
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

/** What the run loops do with an error thrown by a sink or transform. */
export type Disposition = 'retry' | 'dead-letter' | 'crash';

/**
 * RetryableError → retry; PermanentError → dead-letter; FatalError (an operator must act) → stop;
 * anything else (TypeError, RangeError, a plain Error) is a programmer error → crash, so the
 * supervisor restarts a fixed build [kafkajs].
 */
export function dispositionOf(error: unknown): Disposition {
  if (error instanceof FatalError) return 'crash';
  if (error instanceof RetryableError) return 'retry';
  if (error instanceof PermanentError) return 'dead-letter';
  // Another VigilError subclass cannot exist (the base is abstract), but be explicit.
  if (error instanceof VigilError) return 'dead-letter';
  return 'crash';
}

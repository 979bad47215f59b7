/**
 * A problem the operator can fix (missing Java, a busy port, a component that would not start).
 * The message is complete on its own: callers print it as one line (or a short block) without a
 * stack trace. `cause`, when present, carries the underlying error for debugging.
 */
export class StackError extends Error {
  override readonly name = 'StackError';
}

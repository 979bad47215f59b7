/**
 * Closing a datagram socket discards what the kernel still holds for it, yet a sender's `sendto`
 * to a local socket returns once the datagram is in our receive queue: it counts as sent. So a
 * listener reads on until one full event-loop turn, I/O poll included, brings nothing new (or
 * until `maxMs`, for senders that never pause), and only then closes.
 *
 * `reads` returns how many datagrams the socket has delivered so far.
 */
export function whenQuiet(reads: () => number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  return new Promise((resolve) => {
    const settle = (): void => {
      const seen = reads();
      // Two immediates: the second runs after a poll phase has read whatever was readable.
      setImmediate(() =>
        setImmediate(() => {
          if (reads() !== seen && Date.now() < deadline) settle();
          else resolve();
        }),
      );
    };
    settle();
  });
}

/** How long a closing datagram listener keeps reading what senders had already handed over. */
export const DRAIN_MS = 500;

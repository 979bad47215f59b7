import type { SessionEvent, SessionOutput } from '../events.js';

/**
 * An output that is not there yet: the program starts before the recorder has loaded its config
 * validation and its encoder, so the first events wait here and are handed over, in order, once the
 * real output exists (`attach`), or thrown away if it never will (`abandon`, a bad config). The
 * wait is the few tens of milliseconds of module loading, but it is bounded all the same: output
 * and input beyond `maxBytes` are dropped and handed over as a counted loss, so the sequence
 * numbers still show exactly where.
 */

/** A real output that can also account for events dropped before it existed. */
export interface LateOutput extends SessionOutput {
  /** `events` events (carrying `bytes` bytes of output or input) were dropped here. */
  lost(events: number, bytes: number): void;
}

export interface DeferredOutput extends SessionOutput {
  attach(output: LateOutput): void;
  abandon(): void;
}

type Entry = SessionEvent | { readonly type: 'lost'; events: number; bytes: number };

export function createDeferredOutput(maxBytes: number): DeferredOutput {
  let held: Entry[] = [];
  let heldBytes = 0;
  let target: LateOutput | undefined;
  let settled = false;
  let settle: () => void = () => undefined;
  const whenSettled = new Promise<void>((resolve) => (settle = resolve));

  return {
    event(event) {
      if (target) return target.event(event);
      if (settled) return;
      if (event.type === 'output' || event.type === 'input') {
        if (heldBytes + event.data.length > maxBytes) {
          const last = held.at(-1);
          if (last?.type === 'lost') {
            last.events++;
            last.bytes += event.data.length;
          } else held.push({ type: 'lost', events: 1, bytes: event.data.length });
          return;
        }
        heldBytes += event.data.length;
      }
      held.push(event);
    },
    attach(output) {
      if (settled) return;
      for (const entry of held) {
        if (entry.type === 'lost') output.lost(entry.events, entry.bytes);
        else output.event(entry);
      }
      held = [];
      target = output;
      settled = true;
      settle();
    },
    abandon() {
      held = [];
      settled = true;
      settle();
    },
    async close() {
      await whenSettled;
      await target?.close();
    },
  };
}

import type { AdapterType } from '../config.js';
import type { ServiceStatus } from '../status.js';

/**
 * One kind of monitoring source. An adapter only fetches and parses: filtering, state tracking,
 * scheduling and Kafka belong to the poller, so every adapter is this small.
 */
export interface Adapter {
  readonly type: AdapterType;
  /**
   * One poll: every service the source reports. Throws SourceError when the source cannot be
   * reached or answers with something that is not its data; never anything else for bad input.
   */
  poll(signal: AbortSignal): Promise<ServiceStatus[]>;
  /**
   * Optional push channel (Icinga 2's event stream): calls `onChange` whenever the source says a
   * state changed, so the poller polls at once. Resolves when the stream ends, rejects when it
   * fails; the poller reopens it. Abort `signal` to stop.
   */
  watch?(onChange: () => void, signal: AbortSignal): Promise<void>;
}

import type { PipelineEvent } from './consume.js';

/** Limits of one batch handed to a sink or transform. */
export interface BatchLimits {
  /** At most this many events. */
  readonly maxEvents: number;
  /** At most this many value bytes (a single larger event still forms a batch of its own). */
  readonly maxBytes: number;
}

/**
 * Cuts one partition's records into batches within the limits, keeping offset order. Pure.
 * Every record lands in exactly one batch; no batch is empty.
 */
export function chunkEvents(
  events: readonly PipelineEvent[],
  limits: BatchLimits,
): PipelineEvent[][] {
  const chunks: PipelineEvent[][] = [];
  let current: PipelineEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = event.value.length;
    if (
      current.length > 0 &&
      (current.length >= limits.maxEvents || bytes + size > limits.maxBytes)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Sum of the value bytes of events. */
export function eventBytes(events: readonly { readonly value: Buffer }[]): number {
  let total = 0;
  for (const event of events) total += event.value.length;
  return total;
}

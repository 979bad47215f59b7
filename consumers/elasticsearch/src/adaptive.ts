/**
 * Documents per bulk request, adapted to what Elasticsearch can take: additive increase while
 * requests are fast, multiplicative decrease on rejections (429) or slow requests [TCP AIMD, as
 * Vector's adaptive request concurrency]. Pure state; the caller measures.
 */
export interface AdaptiveSize {
  /** The current number of documents per request. */
  current(): number;
  /** Feeds one request's result back. */
  observe(result: {
    readonly latencyMs: number;
    readonly rejected: boolean;
    readonly docs: number;
  }): void;
}

/** Options: bounds, start and the latency above which the size shrinks. */
export interface AdaptiveSizeOptions {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  readonly targetLatencyMs: number;
}

export function createAdaptiveSize(options: AdaptiveSizeOptions): AdaptiveSize {
  let size = options.initial;
  const clamp = (n: number) => Math.max(options.min, Math.min(options.max, Math.round(n)));
  return {
    current: () => size,
    observe({ latencyMs, rejected, docs }) {
      if (rejected) size = clamp(size / 2);
      else if (latencyMs > options.targetLatencyMs) size = clamp(size * 0.75);
      // Grow only when the request was full: a small batch says nothing about a larger one.
      else if (docs >= size) size = clamp(size + Math.max(1, size * 0.1));
    },
  };
}

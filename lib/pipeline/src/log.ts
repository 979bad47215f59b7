import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level?: string;
  /** Where JSON lines go; stdout by default. */
  readonly destination?: DestinationStream;
}

/**
 * The JSON logger of a component: one line per event, `component` on every line, fields first and
 * then a lower-case sentence (`log.info({ topic }, 'joined group')`). ERROR means data loss or that
 * an operator must act.
 */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? 'info', base: { component }, timestamp: stdTimeFunctions.isoTime },
    options.destination ?? destination({ dest: 1, sync: false }),
  );
}

/* eslint-disable @typescript-eslint/no-explicit-any -- free-form JSON documents */
import type { SinkEvent } from '@vigil/documents/decode';
import type { EcsDocument } from '@vigil/documents/ecs';

/**
 * HEC envelopes and HEC answers (pure). Format: "Format events for HTTP Event Collector" (Splunk
 * docs); answer codes: "Troubleshoot HTTP Event Collector".
 */

/** One HEC event envelope. `fields` are flat and become indexed fields. */
export interface HecEnvelope {
  readonly time: number;
  readonly host?: string;
  readonly source: string;
  readonly sourcetype: string;
  readonly index?: string;
  readonly event: EcsDocument;
  readonly fields: Record<string, string>;
}

export interface EnvelopeOptions {
  readonly source: string;
  readonly sourcetypePrefix: string;
  readonly index?: string | undefined;
}

/** Epoch seconds with millisecond precision (HEC's resolution), from nanoseconds. */
export function hecTime(timeUnixNano: bigint): number {
  return Number(timeUnixNano / 1_000_000n) / 1000;
}

/** The envelope of one event: time, host, source, sourcetype per family, index, the ECS document, indexed fields. */
export function toEnvelope(record: SinkEvent, options: EnvelopeOptions): HecEnvelope {
  const doc: EcsDocument = record.document;
  const d = doc as Record<string, any>;
  const fields: Record<string, string> = { event_id: record.eventId, family: record.family };
  const put = (name: string, value: unknown) => {
    if (typeof value === 'string' && value !== '') fields[name] = value;
    else if (typeof value === 'number') fields[name] = String(value);
  };
  put('event_action', d.event?.action);
  put('signature_status', d.vigil?.signature?.status);
  put('user_name', d.user?.name);
  put('job_id', d.vigil?.job?.id);
  put('session_id', d.vigil?.session?.id);
  put('service_state', d.vigil?.status?.state);
  const host = record.family === 'status' ? d.host?.name : record.host;
  return {
    time: hecTime(record.timeUnixNano),
    ...(host ? { host } : {}),
    source: options.source,
    sourcetype: `${options.sourcetypePrefix}${record.family}`,
    ...(options.index ? { index: options.index } : {}),
    event: doc,
    fields,
  };
}

/** What the sink does with an answer. */
export type HecVerdict =
  | { readonly kind: 'ok'; readonly ackId?: number }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'auth'; readonly reason: string }
  /** Bad data: events before `invalidEvent` (when given) were accepted, as Splunk does. */
  | { readonly kind: 'reject'; readonly reason: string; readonly invalidEvent?: number }
  | { readonly kind: 'config'; readonly reason: string };

/**
 * Classifies an HTTP status and the HEC JSON answer. Codes 1-4: authentication (stop the worker).
 * 9 and 18-20, 408, 429, 5xx: busy, retry. 5-7 and 12-15: bad data (dead-letter). 10, 11, 14, 16:
 * the client's configuration (channel or ack) is wrong: stop too, no event is at fault.
 */
export function classifyAnswer(status: number, body: unknown): HecVerdict {
  const answer = (typeof body === 'object' && body !== null ? body : {}) as {
    code?: number;
    text?: string;
    ackId?: number;
    'invalid-event-number'?: number;
  };
  const code = answer.code;
  const reason = `HTTP ${status}${code !== undefined ? ` code ${code}` : ''}${answer.text ? ` ${answer.text}` : ''}`;
  if (status >= 200 && status < 300 && (code === undefined || code === 0)) {
    return { kind: 'ok', ...(typeof answer.ackId === 'number' ? { ackId: answer.ackId } : {}) };
  }
  if (code !== undefined && code >= 1 && code <= 4) return { kind: 'auth', reason };
  if (status === 401 || status === 403) return { kind: 'auth', reason };
  if (code === 9 || (code !== undefined && code >= 18 && code <= 20))
    return { kind: 'retry', reason };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', reason };
  if (code === 10 || code === 11 || code === 14 || code === 16) return { kind: 'config', reason };
  const invalid = answer['invalid-event-number'];
  return {
    kind: 'reject',
    reason,
    ...(typeof invalid === 'number' ? { invalidEvent: invalid } : {}),
  };
}

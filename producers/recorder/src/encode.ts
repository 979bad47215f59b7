import Long from 'long';
import { newEventId } from '@vigil/pipeline/events';
import { familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import type { EndReason, SessionEvent } from './events.js';

/**
 * Session events → node transport messages for the gateway's stream socket (schemas/FORMAT.md):
 * uint32 big-endian length, then "VG", transport version 1, the session family byte, and a
 * serialized `vigil.session.v1.SessionEvent`. Pure apart from the event id's clock and randomness.
 */

export const TRANSPORT_VERSION = 1;
/** The session family's transport id (2). */
export const SESSION_FAMILY_BYTE = familyByName('session').transportId;
/** Largest message the gateway accepts on a stream (FORMAT.md). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** What every event of one session shares. */
export interface EnvelopeContext {
  readonly sessionId: Buffer;
  readonly host: string;
  readonly producerId: string;
  /** Wall-clock time of offset 0, nanoseconds since the epoch. */
  readonly startUnixNano: bigint;
}

const u64 = (value: bigint): Long => Long.fromString(value.toString(), true);
const i64FromBigint = u64;

const END_REASONS: Record<EndReason, vigil.session.v1.EndReason> = {
  exit: vigil.session.v1.EndReason.END_REASON_EXIT,
  signal: vigil.session.v1.EndReason.END_REASON_SIGNAL,
  hangup: vigil.session.v1.EndReason.END_REASON_HANGUP,
  recorder_error: vigil.session.v1.EndReason.END_REASON_RECORDER_ERROR,
};

/** A dropped-data report, made by an output (not by the session). */
export interface DroppedReport {
  readonly type: 'dropped';
  readonly offsetNs: bigint;
  readonly bytes: bigint;
  readonly events: bigint;
  readonly reason: 'spool_full' | 'gateway_down' | 'too_large' | 'relay_behind';
}

/** The protobuf body of an event; undefined for events the gateway does not carry (command-start). */
export function sessionBody(
  event: SessionEvent | DroppedReport,
): Partial<vigil.session.v1.ISessionEvent> | undefined {
  switch (event.type) {
    case 'start': {
      const i = event.info;
      return {
        start: {
          user: i.user,
          uid: i.uid,
          tty: i.tty,
          term: i.term,
          shell: Buffer.from(i.shell),
          command: i.command.map((a) => Buffer.from(a)),
          cols: i.cols,
          rows: i.rows,
          sshClient: i.sshClient,
          jobId: i.jobId,
          inputRecorded: i.inputRecorded,
          startUnixNano: u64(i.startUnixNano),
        },
      };
    }
    case 'output':
      return { output: { data: event.data } };
    case 'input':
      return { input: { data: event.data } };
    case 'resize':
      return { resize: { cols: event.cols, rows: event.rows } };
    case 'marker':
      return { marker: { label: event.label } };
    case 'command-start':
    case 'output-lost': // the gateway output reports it as a `dropped` event
      return undefined;
    case 'command':
      return {
        command: {
          text: event.text,
          workingDirectory: event.cwd,
          startOffsetNs: u64(event.startOffsetNs),
          endOffsetNs: u64(event.endOffsetNs),
          exitStatus: event.exitStatus,
          index: event.index,
        },
      };
    case 'exit':
      return {
        end: {
          exitStatus: event.exitStatus ?? 0,
          reason: END_REASONS[event.reason],
          signal: event.signal,
          outputBytes: u64(event.outputBytes),
        },
      };
    case 'dropped':
      return {
        dropped: { bytes: u64(event.bytes), events: u64(event.events), reason: event.reason },
      };
  }
}

/**
 * One length-prefixed transport message, or undefined when the event is not sent to the gateway.
 * `sequence` is the producer's sequence number of this event (from 1).
 */
export function encodeSessionFrame(
  event: SessionEvent | DroppedReport,
  context: EnvelopeContext,
  sequence: bigint,
): Buffer | undefined {
  const body = sessionBody(event);
  if (!body) return undefined;
  const message = vigil.session.v1.SessionEvent.create({
    envelope: {
      eventId: newEventId(),
      sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_RECORDER,
      host: context.host,
      producerId: context.producerId,
      sequence: u64(sequence),
      timeUnixNano: i64FromBigint(context.startUnixNano + event.offsetNs),
    },
    sessionId: context.sessionId,
    offsetNs: u64(event.offsetNs),
    ...body,
  });
  const payload = vigil.session.v1.SessionEvent.encode(message).finish();
  const frame = Buffer.allocUnsafe(8 + payload.length);
  frame.writeUInt32BE(4 + payload.length, 0);
  frame[4] = 0x56; // "V"
  frame[5] = 0x47; // "G"
  frame[6] = TRANSPORT_VERSION;
  frame[7] = SESSION_FAMILY_BYTE;
  frame.set(payload, 8);
  return frame;
}

/** Field numbers of SessionEvent's `output` and `input`, and of their `data` (session.proto). */
const OUTPUT_FIELD = 11;
const INPUT_FIELD = 12;
const DATA_FIELD = 1;
const LENGTH_DELIMITED = 2;

function varint(value: number, out: number[]): void {
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
}

/**
 * The same transport message as `encodeSessionFrame`, as a list of buffers to write in order. For
 * output and input the data is not copied: the list is [everything before the data, the data].
 * The bytes are those protobufjs writes (fields in number order, the body field last), so readers
 * cannot tell the difference (encode.test.ts decodes both).
 */
export function encodeSessionFrameParts(
  event: SessionEvent | DroppedReport,
  context: EnvelopeContext,
  sequence: bigint,
): Buffer[] | undefined {
  if (event.type !== 'output' && event.type !== 'input') {
    const frame = encodeSessionFrame(event, context, sequence);
    return frame && [frame];
  }
  const message = vigil.session.v1.SessionEvent.create({
    envelope: {
      eventId: newEventId(),
      sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_RECORDER,
      host: context.host,
      producerId: context.producerId,
      sequence: u64(sequence),
      timeUnixNano: i64FromBigint(context.startUnixNano + event.offsetNs),
    },
    sessionId: context.sessionId,
    offsetNs: u64(event.offsetNs),
  });
  const head = vigil.session.v1.SessionEvent.encode(message).finish();
  const data = event.data;
  // body field tag, chunk length, data field tag, data length
  const tail: number[] = [
    ((event.type === 'output' ? OUTPUT_FIELD : INPUT_FIELD) << 3) | LENGTH_DELIMITED,
  ];
  const dataLength: number[] = [];
  varint(data.length, dataLength);
  varint(1 + dataLength.length + data.length, tail);
  tail.push((DATA_FIELD << 3) | LENGTH_DELIMITED, ...dataLength);
  const payloadLength = head.length + tail.length + data.length;
  const prefix = Buffer.allocUnsafe(8 + head.length + tail.length);
  prefix.writeUInt32BE(4 + payloadLength, 0);
  prefix[4] = 0x56; // "V"
  prefix[5] = 0x47; // "G"
  prefix[6] = TRANSPORT_VERSION;
  prefix[7] = SESSION_FAMILY_BYTE;
  prefix.set(head, 8);
  prefix.set(tail, 8 + head.length);
  return data.length > 0 ? [prefix, data] : [prefix];
}

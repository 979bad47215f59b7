import { decodeMessage, DecodeError, type DropReason } from './decode.js';
import { spoolRecordBound, writeSpoolRecord, type SpoolRecord } from './spool.js';

/**
 * Receipt's per-message work, without I/O: check a message (decode.ts) and lay it out as a spool
 * record. The UDP thread does it for whole batches of datagrams, so the main thread only appends
 * the batch to the spool and sends; stream frames take the same path on the main thread.
 */

/** A message refused at receipt; the caller counts and logs it (one entry per reason per batch). */
export interface ReceiptProblem {
  readonly reason: DropReason;
  count: number;
  /** The last refused message's peer and why (for the log). */
  peer: string;
  detail: string;
}

/** One accepted message as the spool keeps it. @throws {DecodeError} for a message to refuse. */
export function prepareMessage(
  bytes: Uint8Array,
  peer: string,
  receivedAtMs: number,
  maxBytes: number,
): SpoolRecord {
  const event = decodeMessage(bytes, maxBytes);
  return {
    familyId: event.family.transportId,
    key: event.key,
    peer,
    receivedAtMs,
    value: event.value,
  };
}

/** A batch prepared by {@link BatchBuilder}, as it crosses from the UDP thread. */
export interface PreparedBatch {
  /** Spool records back to back (Spool.appendEncoded takes them as they are). */
  readonly records: ArrayBuffer;
  /** Messages received, accepted or not, and their bytes. */
  readonly received: number;
  readonly receivedBytes: number;
  readonly problems: readonly ReceiptProblem[];
}

/** Collects prepared records in one growing scratch buffer (no allocation per message). */
export class BatchBuilder {
  private scratch: Buffer;
  private used = 0;
  private received = 0;
  private receivedBytes = 0;
  private problems = new Map<DropReason, ReceiptProblem>();

  constructor(initialBytes: number) {
    this.scratch = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** Bytes of records collected so far. */
  get bytes(): number {
    return this.used;
  }

  /** True when nothing was received since the last `take`. */
  get empty(): boolean {
    return this.received === 0;
  }

  /** Checks one message and adds it, or counts why it was refused. */
  add(bytes: Uint8Array, peer: string, receivedAtMs: number, maxBytes: number): void {
    this.received++;
    this.receivedBytes += bytes.length;
    let record: SpoolRecord;
    try {
      record = prepareMessage(bytes, peer, receivedAtMs, maxBytes);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      const seen = this.problems.get(error.reason);
      if (seen) {
        seen.count++;
        seen.peer = peer;
        seen.detail = error.message;
      } else
        this.problems.set(error.reason, {
          reason: error.reason,
          count: 1,
          peer,
          detail: error.message,
        });
      return;
    }
    const room = spoolRecordBound(record, record.value.length);
    if (this.used + room > this.scratch.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.scratch.length * 2, this.used + room));
      this.scratch.copy(grown, 0, 0, this.used);
      this.scratch = grown;
    }
    this.used = writeSpoolRecord(this.scratch, this.used, record);
  }

  /** The batch so far, in an ArrayBuffer of its own (to transfer); the builder starts over. */
  take(): PreparedBatch {
    const records = new ArrayBuffer(this.used);
    new Uint8Array(records).set(this.scratch.subarray(0, this.used));
    const batch: PreparedBatch = {
      records,
      received: this.received,
      receivedBytes: this.receivedBytes,
      problems: [...this.problems.values()],
    };
    this.used = 0;
    this.received = 0;
    this.receivedBytes = 0;
    this.problems = new Map();
    return batch;
  }
}

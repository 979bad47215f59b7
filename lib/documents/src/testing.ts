import Long from 'long';
import { vigil } from '@vigil/schemas/gen';
import { FAMILIES } from '@vigil/schemas/families';
import type { EventCodec } from '@vigil/pipeline/codec';
import { formatUuid, newEventId } from '@vigil/pipeline/events';
import type { PipelineEvent } from '@vigil/pipeline/sink';
import { pipelineEvent, sampleEvents } from '@vigil/pipeline/testing';

/** Test helpers shared by the sinks' tests: framed records as the runtime hands them over. */

/** Registers every family's file (idempotent). */
export async function registerFamilies(codec: EventCodec): Promise<void> {
  await codec.register(FAMILIES.map((f) => f.recordType));
}

/** The event id (UUID text) of a generated message. */
export function eventIdOf(message: object): string {
  return formatUuid((message as { envelope: { eventId: Uint8Array } }).envelope.eventId);
}

/** A framed record of one message as a PipelineEvent (topic: the family's verified topic). */
export function framed(
  codec: EventCodec,
  family: string,
  typeName: string,
  message: object,
  offset?: number,
): PipelineEvent {
  return pipelineEvent(codec.encode(typeName, message), {
    topic: `vigil.${family}.verified.v1`,
    key: Buffer.from(eventIdOf(message)),
    ...(offset === undefined ? {} : { offset: String(offset) }),
  });
}

/** One event of every family, framed, with fresh event ids ({@link registerFamilies} first). */
export function framedSampleEvents(codec: EventCodec): PipelineEvent[] {
  return sampleEvents().map((s) => framed(codec, s.family, s.typeName, s.message));
}

/** Process start events at a given time (ns), for load tests; fresh ids. */
export function processEvents(
  codec: EventCodec,
  count: number,
  timeUnixNano: bigint,
  startOffset = 0,
): PipelineEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const message = vigil.process.v1.ProcessEvent.create({
      envelope: {
        eventId: newEventId(),
        sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_PRELOAD,
        host: `node${String(i % 64).padStart(3, '0')}`,
        producerId: 'test',
        sequence: Long.fromNumber(startOffset + i + 1, true),
        timeUnixNano: Long.fromString((timeUnixNano + BigInt(i)).toString(), true),
      },
      start: {
        pid: 1000 + i,
        ppid: 1,
        uid: 1001,
        gid: 100,
        euid: 1001,
        egid: 100,
        executable: Buffer.from('/usr/bin/python3'),
        argv: [Buffer.from('python3'), Buffer.from(`step-${i}.py`)],
        workingDirectory: Buffer.from('/scratch/alice'),
        job: { scheduler: 'slurm', id: String(100_000 + (i % 100)) },
      },
    });
    return framed(codec, 'process', 'vigil.process.v1.ProcessEvent', message, startOffset + i);
  });
}

/** The messages of one terminal session: start, output chunks (with a UTF-8 character split across two), a command, a resize, end. */
export function sessionMessages(
  options: { readonly host?: string; readonly startUnixNano?: bigint } = {},
) {
  const sessionId = newEventId();
  const start = options.startUnixNano ?? 1_790_000_000_000_000_000n;
  let sequence = 0;
  const event = (offsetNs: bigint, body: Partial<vigil.session.v1.ISessionEvent>) =>
    vigil.session.v1.SessionEvent.create({
      envelope: {
        eventId: newEventId(),
        sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_RECORDER,
        host: options.host ?? 'login01',
        producerId: 'recorder/1',
        sequence: Long.fromNumber(++sequence, true),
        timeUnixNano: Long.fromString((start + offsetNs).toString(), true),
      },
      sessionId,
      offsetNs: Long.fromString(offsetNs.toString(), true),
      ...body,
    });
  const euro = Buffer.from('€', 'utf8'); // 3 bytes, split across two chunks below
  const messages = [
    event(0n, {
      start: {
        user: 'alice',
        uid: 1001,
        tty: '/dev/pts/3',
        term: 'xterm-256color',
        shell: Buffer.from('/bin/bash'),
        cols: 120,
        rows: 40,
        sshClient: '10.1.2.3 50000 22',
        startUnixNano: Long.fromString(start.toString(), true),
      },
    }),
    event(250_000_000n, { output: { data: Buffer.from('\x1b[1m$ \x1b[0m') } }),
    event(1_000_000_000n, {
      output: { data: Buffer.concat([Buffer.from('make -j8\r\nprice: '), euro.subarray(0, 1)]) },
    }),
    event(1_100_000_000n, {
      output: { data: Buffer.concat([euro.subarray(1), Buffer.from(' 5\r\n')]) },
    }),
    event(1_200_000_000n, { resize: { cols: 100, rows: 30 } }),
    event(1_300_000_000n, { marker: { label: 'build' } }),
    event(2_000_000_000n, {
      command: {
        text: Buffer.from('make -j8'),
        workingDirectory: Buffer.from('/home/alice'),
        exitStatus: 2,
        index: 1,
        startOffsetNs: Long.fromNumber(1e9, true),
        endOffsetNs: Long.fromNumber(2e9, true),
      },
    }),
    event(2_500_000_000n, { output: { data: Buffer.from('exit\r\n') } }),
    event(3_000_000_000n, {
      end: {
        exitStatus: 0,
        reason: vigil.session.v1.EndReason.END_REASON_EXIT,
        outputBytes: Long.fromNumber(40, true),
      },
    }),
  ];
  return { sessionId: formatUuid(sessionId), messages };
}

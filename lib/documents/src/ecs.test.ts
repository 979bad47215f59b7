/* eslint-disable @typescript-eslint/no-explicit-any -- free-form JSON documents */
import { describe, expect, it } from 'vitest';
import Long from 'long';
import { vigil } from '@vigil/schemas/gen';
import type { FamilyName } from '@vigil/schemas/families';
import { formatUuid, newEventId, toBigInt } from '@vigil/pipeline/events';
import { sampleEvents } from '@vigil/pipeline/testing';
import type { VigilRecord } from './decode.js';
import { toEcsDocument } from './ecs.js';
import { parseTimestamp } from './decode.js';

function recordOf(family: string, message: object, verify?: VigilRecord['verify']): VigilRecord {
  const envelope = (message as { envelope: vigil.envelope.v1.IEnvelope }).envelope;
  return {
    family: family as FamilyName,
    typeName: `vigil.${family}.v1.X`,
    eventId: formatUuid(envelope.eventId!),
    timeUnixNano: toBigInt(envelope.timeUnixNano),
    envelope,
    message,
    ...(verify ? { verify } : {}),
    origin: { topic: `vigil.${family}.v1`, partition: 0, offset: '7' },
  };
}

const byFamily = () => new Map(sampleEvents().map((s) => [s.family, s.message]));

describe('toEcsDocument', () => {
  it('gives every family the common fields, nanosecond time and the event id', () => {
    for (const sample of sampleEvents()) {
      const record = recordOf(sample.family, sample.message);
      const doc = toEcsDocument(record) as Record<string, any>;
      expect(doc['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(doc.event.id).toBe(record.eventId);
      expect(doc.event.dataset).toBe(`vigil.${sample.family}`);
      expect(doc.vigil.family).toBe(sample.family);
      expect(doc.vigil.kafka).toEqual({
        topic: `vigil.${sample.family}.v1`,
        partition: 0,
        offset: '7',
      });
      expect(typeof doc.vigil.sequence).toBe('string');
      expect(() => JSON.stringify(doc)).not.toThrow(); // no bigint, no Long left
      expect(JSON.stringify(doc)).not.toContain('"low"');
    }
  });

  it('maps a process start to ECS process fields, job, modules and the binary watermark status', () => {
    const record = recordOf('process', byFamily().get('process')!, {
      signature: 'valid',
      watermarks: [{ path: '/opt/site/openmpi/4.1.6/bin/mpirun', status: 'unknown', id: 'x' }],
    });
    const doc = toEcsDocument(record) as Record<string, any>;
    expect(doc.event).toMatchObject({ category: ['process'], type: ['start'], action: 'exec' });
    expect(doc.process).toMatchObject({
      pid: 4242,
      executable: '/opt/site/openmpi/4.1.6/bin/mpirun',
      name: 'mpirun',
      args_count: 4,
      working_directory: '/scratch/alice/run-17',
      parent: { pid: 1 },
      user: { id: '1001' },
    });
    expect(doc.process.args[3]).toBe('.\ufffd\ufffd/a'); // invalid UTF-8 replaced, not dropped
    expect(doc.process.env_vars).toEqual(['OMP_NUM_THREADS=8', 'GITHUB_TOKEN=<redacted>']);
    expect(doc.vigil.job).toEqual({
      scheduler: 'slurm',
      id: '123456',
      step: '0',
      array_index: '7',
    });
    expect(doc.vigil.modules).toEqual([
      { name: 'gcc', version: '12.2.0', file: '/etc/modulefiles/gcc/12.2.0' },
      { name: 'openmpi', version: '4.1.6', file: '/etc/modulefiles/openmpi/4.1.6' },
    ]);
    expect(doc.vigil.binary.signature_status).toBe('unknown');
    expect(doc.vigil.signature).toEqual({ key_id: 'site-2026', status: 'valid' });
    expect(doc.vigil.shared_objects[1].watermark_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('maps terminal sessions the way Kibana Session View reads them', () => {
    const sessionId = newEventId();
    const envelope = () =>
      vigil.envelope.v1.Envelope.create({
        eventId: newEventId(),
        host: 'login01',
        timeUnixNano: Long.fromString('1790000000000000000', true),
      });
    const start = vigil.session.v1.SessionEvent.create({
      envelope: envelope(),
      sessionId,
      start: {
        user: 'alice',
        uid: 1001,
        shell: Buffer.from('/bin/bash'),
        cols: 120,
        rows: 40,
        sshClient: '10.1.2.3 50000 22',
      },
    });
    const output = vigil.session.v1.SessionEvent.create({
      envelope: envelope(),
      sessionId,
      offsetNs: Long.fromNumber(1_500_000_000, true),
      output: { data: Buffer.from('héllo\r\n') },
    });
    const command = vigil.session.v1.SessionEvent.create({
      envelope: envelope(),
      sessionId,
      command: {
        text: Buffer.from('make -j8'),
        workingDirectory: Buffer.from('/home/alice'),
        exitStatus: 2,
        index: 1,
        startOffsetNs: Long.fromNumber(1e9, true),
        endOffsetNs: Long.fromNumber(3e9, true),
      },
    });
    const end = vigil.session.v1.SessionEvent.create({
      envelope: envelope(),
      sessionId,
      end: { exitStatus: 0, reason: 1 },
    });
    const [s, o, c, e] = [start, output, command, end].map(
      (m) => toEcsDocument(recordOf('session', m)) as Record<string, any>,
    );
    const id = formatUuid(sessionId);
    for (const doc of [s, o, c, e]) expect(doc!.process.entry_leader.entity_id).toBe(id);
    expect(s!.process.entry_leader).toMatchObject({
      user: { name: 'alice', id: '1001' },
      executable: '/bin/bash',
      entry_meta: { type: 'sshd', source: { ip: '10.1.2.3' } },
    });
    expect(s!.process.tty).toEqual({ columns: 120, rows: 40 });
    expect(o!.process.io).toEqual({ type: 'tty', text: 'héllo\r\n' });
    expect(o!.vigil.session.offset_ns).toBe(1_500_000_000);
    expect(c!.process).toMatchObject({
      command_line: 'make -j8',
      working_directory: '/home/alice',
      exit_code: 2,
    });
    expect(c!.event).toMatchObject({ action: 'command', duration: 2e9, outcome: 'failure' });
    expect(e!.vigil.session.end.reason).toBe('exit');
  });

  it('puts the monitored host, not the poller, in host.name for service states', () => {
    const doc = toEcsDocument(recordOf('status', byFamily().get('status')!)) as Record<string, any>;
    expect(doc.host.name).toBe('ce01.example.org');
    expect(doc.observer.hostname).toBe('poller01');
    expect(doc.service.name).toBe('org.sam.CONDOR-JobSubmit');
    expect(doc.vigil.status).toMatchObject({
      state: 'critical',
      previous_state: 'ok',
      state_type: 'hard',
      site: 'cern-etf',
    });
  });

  it('never puts an address that is not an IP into an ip field', () => {
    const m = vigil.session.v1.SessionEvent.create({
      envelope: { eventId: newEventId(), timeUnixNano: Long.fromNumber(1e18, true) },
      sessionId: newEventId(),
      start: { user: 'bob', sshClient: 'not-an-ip 1 2' },
    });
    const doc = toEcsDocument(recordOf('session', m)) as Record<string, any>;
    expect(doc.source).toBeUndefined();
    expect(doc.process.entry_leader.entry_meta).toEqual({ type: 'terminal' });
  });
});

describe('parseTimestamp', () => {
  it.each([
    ['2026-09-21T14:13:20.000000001Z', 1_790_000_000_000_000_001n],
    ['2026-09-21T14:13:20.5Z', 1_790_000_000_500_000_000n],
    ['2026-09-21T14:13:20Z', 1_790_000_000_000_000_000n],
    ['2026-09-21 14:13:20Z', undefined],
    ['2026-09-21T14:13:20+02:00', undefined],
    [42, undefined],
  ])('%s → %s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });
});

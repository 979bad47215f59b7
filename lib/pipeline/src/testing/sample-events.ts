import { vigil } from '@vigil/schemas/gen';
import Long from 'long';
import { newEventId } from '../events.js';

/** One realistic event of a family, as producers build them. */
export interface SampleEvent {
  readonly family: string;
  readonly typeName: string;
  readonly message: object;
}

const nanos = (n: bigint) => Long.fromString(n.toString(), true);
const bytes = (text: string) => Buffer.from(text, 'utf8');
let sequence = 0;

function envelope(sourceKind: vigil.envelope.v1.SourceKind, host = 'node001.cluster') {
  return vigil.envelope.v1.Envelope.create({
    eventId: newEventId(),
    sourceKind,
    host,
    producerId: `sample/${process.pid}`,
    sequence: Long.fromNumber(++sequence, true),
    timeUnixNano: nanos(1_790_000_000_123_456_789n + BigInt(sequence)),
    signature: { keyId: 'site-2026', hmacSha256: Buffer.alloc(32, 0xab) },
  });
}

const SK = vigil.envelope.v1.SourceKind;

/**
 * One event of every family, with the awkward values real ones carry: 64-bit times beyond 2^53,
 * bytes that are not UTF-8, repeated fields, maps and nested messages. Fresh event ids each call.
 */
export function sampleEvents(): SampleEvent[] {
  return [
    {
      family: 'process',
      typeName: 'vigil.process.v1.ProcessEvent',
      message: vigil.process.v1.ProcessEvent.create({
        envelope: envelope(SK.SOURCE_KIND_PRELOAD),
        start: {
          pid: 4242,
          ppid: 1,
          uid: 1001,
          gid: 100,
          euid: 1001,
          egid: 100,
          executable: bytes('/opt/site/openmpi/4.1.6/bin/mpirun'),
          argv: [
            bytes('mpirun'),
            bytes('-np'),
            bytes('64'),
            Buffer.from([0x2e, 0xff, 0xfe, 0x2f, 0x61]),
          ],
          workingDirectory: bytes('/scratch/alice/run-17'),
          job: { scheduler: 'slurm', id: '123456', step: '0', arrayIndex: '7' },
          loadedModules: [bytes('gcc/12.2.0'), bytes('openmpi/4.1.6')],
          moduleFiles: [
            bytes('/etc/modulefiles/gcc/12.2.0'),
            bytes('/etc/modulefiles/openmpi/4.1.6'),
          ],
          environment: [
            { name: bytes('OMP_NUM_THREADS'), value: bytes('8') },
            { name: bytes('GITHUB_TOKEN'), redacted: true },
          ],
          cgroup: bytes('0::/system.slice/slurmstepd.scope/job_123456'),
          buildId: Buffer.from('8f2c0a9d5e3b7c1a', 'hex'),
          sharedObjects: [
            { path: bytes('/lib/x86_64-linux-gnu/libc.so.6'), buildId: Buffer.from('aa55', 'hex') },
            {
              path: bytes('/opt/site/openmpi/4.1.6/lib/libmpi.so.40'),
              watermark: { id: newEventId(), raw: Buffer.from('0102', 'hex') },
            },
          ],
          truncation: { environmentDropped: 3 },
          bootId: Buffer.alloc(16, 0x11),
        },
      }),
    },
    {
      family: 'session',
      typeName: 'vigil.session.v1.SessionEvent',
      message: vigil.session.v1.SessionEvent.create({
        envelope: envelope(SK.SOURCE_KIND_RECORDER, 'login01'),
        sessionId: newEventId(),
        offsetNs: nanos(1_500_000_000n),
        output: { data: Buffer.from([0x1b, 0x5b, 0x31, 0x6d, 0xc3, 0x28, 0x0d, 0x0a]) },
      }),
    },
    {
      family: 'status',
      typeName: 'vigil.status.v1.StatusEvent',
      message: vigil.status.v1.StatusEvent.create({
        envelope: envelope(SK.SOURCE_KIND_POLLER, 'poller01'),
        stateChange: {
          service: {
            site: 'cern-etf',
            source: 'etf-checkmk',
            host: 'ce01.example.org',
            service: 'org.sam.CONDOR-JobSubmit',
          },
          previousState: vigil.status.v1.ServiceState.SERVICE_STATE_OK,
          state: vigil.status.v1.ServiceState.SERVICE_STATE_CRITICAL,
          previousDurationNs: nanos(86_400_000_000_000n),
          stateType: vigil.status.v1.StateType.STATE_TYPE_HARD,
          output: 'CRITICAL - job submission failed: ścieżka',
        },
      }),
    },
    {
      family: 'trace',
      typeName: 'vigil.trace.v1.TraceEvent',
      message: vigil.trace.v1.TraceEvent.create({
        envelope: envelope(SK.SOURCE_KIND_UPLOAD, 'node117'),
        upload: {
          uploadId: newEventId(),
          originHost: 'node117',
          recordCount: 2,
          firstEventUnixNano: nanos(1_789_000_000_000_000_001n),
          lastEventUnixNano: nanos(1_789_000_500_000_000_002n),
          sha256: Buffer.alloc(32, 0x5a),
          records: [Buffer.from('0a00', 'hex'), Buffer.from('0a0012021001', 'hex')],
          uploader: 'upload/node117',
        },
      }),
    },
    {
      family: 'alert',
      typeName: 'vigil.alert.v1.AlertEvent',
      message: vigil.alert.v1.AlertEvent.create({
        envelope: envelope(SK.SOURCE_KIND_ALERTING, 'alerts-0'),
        alert: {
          alertId: 'service-critical/ce01.example.org/org.sam.CONDOR-JobSubmit',
          rule: 'service-critical',
          severity: vigil.alert.v1.Severity.SEVERITY_CRITICAL,
          status: vigil.alert.v1.AlertStatus.ALERT_STATUS_FIRING,
          summary: 'CRIT ce01 CONDOR-JobSubmit since 03:12',
          labels: { site: 'cern-etf', host: 'ce01.example.org' },
          causeEventId: newEventId(),
        },
      }),
    },
    {
      family: 'watermark',
      typeName: 'vigil.watermark.v1.WatermarkEvent',
      message: vigil.watermark.v1.WatermarkEvent.create({
        envelope: envelope(SK.SOURCE_KIND_SIGNER, 'build01'),
        registration: {
          watermarkId: newEventId(),
          package: 'openmpi',
          version: '4.1.6',
          builder: 'ci/spack-build-991',
          binarySha256: Buffer.alloc(32, 0x42),
          buildId: Buffer.from('8f2c0a9d5e3b7c1a', 'hex'),
          path: bytes('/opt/site/openmpi/4.1.6/lib/libmpi.so.40'),
        },
      }),
    },
  ];
}

/** Messages that are not the first of their file, to prove message indexes other than [0]. */
export function sampleInnerMessages(): SampleEvent[] {
  return [
    {
      family: 'process',
      typeName: 'vigil.process.v1.ProcessEnd',
      message: vigil.process.v1.ProcessEnd.create({
        pid: 4242,
        startEventId: newEventId(),
        exitStatus: 3,
        durationNs: nanos(9_007_199_254_740_993n),
        maxRssKib: nanos(1_048_576n),
      }),
    },
    {
      family: 'session',
      typeName: 'vigil.session.v1.SessionEnd',
      message: vigil.session.v1.SessionEnd.create({
        exitStatus: 130,
        reason: vigil.session.v1.EndReason.END_REASON_SIGNAL,
        signal: 2,
      }),
    },
  ];
}

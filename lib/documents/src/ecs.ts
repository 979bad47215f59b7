import { isIP } from 'node:net';
import { vigil } from '@vigil/schemas/gen';
import type { FamilyName } from '@vigil/schemas/families';
import { formatUnixNano, formatUuid, toBigInt } from '@vigil/pipeline/events';
import type { VigilRecord } from './decode.js';

/**
 * Vigil events as Elastic Common Schema documents: the one JSON shape every sink stores (the
 * Elasticsearch index templates map it, Splunk gets it as the HEC `event`, the file sink writes it
 * as JSON lines). Pure.
 *
 * - Paths, arguments and terminal data are bytes on the wire; here they are UTF-8 text with invalid
 *   sequences replaced (U+FFFD). The exact bytes stay in Kafka and in the file sink's `vigil.raw`.
 * - 64-bit counters become JSON numbers only where they fit a double exactly (durations below
 *   104 days in ns); the sequence number and times are strings.
 * - Terminal sessions follow what Kibana's Session View reads: `process.entry_leader.entity_id` is
 *   the session id, output chunks are `process.io.text` with `process.io.type: "tty"`.
 */
export type EcsDocument = Record<string, unknown>;

type Long = Parameters<typeof toBigInt>[0];
const text = (bytes: Uint8Array | null | undefined): string =>
  bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : '';
const hex = (bytes: Uint8Array | null | undefined): string | undefined =>
  bytes && bytes.length > 0
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
    : undefined;
const uuid = (bytes: Uint8Array | null | undefined): string | undefined =>
  bytes && bytes.length === 16 ? formatUuid(bytes) : undefined;
const nanos = (value: Long): number => Number(toBigInt(value));
const time = (value: Long): string | undefined => {
  const n = toBigInt(value);
  return n > 0n ? formatUnixNano(n) : undefined;
};

/** `SERVICE_STATE_CRITICAL` → `critical`: the enum's value name without its prefix. */
function enumName(
  values: Record<number, string>,
  value: number | null | undefined,
  prefix: string,
) {
  const name = values[value ?? 0] ?? `${prefix}UNSPECIFIED`;
  return name.slice(prefix.length).toLowerCase();
}

/** Removes undefined values and empty objects so documents carry only what the event had. */
function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => compact(v) as unknown) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const c = compact(v);
    if (c !== null && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0)
      continue;
    out[key] = c;
  }
  return out as T;
}

function basename(path: string): string {
  const at = path.lastIndexOf('/');
  return at >= 0 ? path.slice(at + 1) : path;
}

function base(record: VigilRecord, event: Record<string, unknown>): EcsDocument {
  const e = record.envelope;
  return {
    '@timestamp': formatUnixNano(record.timeUnixNano),
    event: {
      id: record.eventId,
      kind: 'event',
      module: 'vigil',
      dataset: `vigil.${record.family}`,
      ...event,
    },
    host: { name: e.host || undefined },
    agent: {
      type: enumName(vigil.envelope.v1.SourceKind, e.sourceKind, 'SOURCE_KIND_'),
      id: e.producerId || undefined,
    },
    vigil: {
      family: record.family,
      sequence: toBigInt(e.sequence).toString(),
      signature: {
        key_id: e.signature?.keyId || undefined,
        status: record.verify?.signature,
      },
      kafka: record.origin,
    },
  };
}

function processDocument(record: VigilRecord, m: vigil.process.v1.IProcessEvent): EcsDocument {
  const doc = base(record, { category: ['process'] });
  const v = doc.vigil as Record<string, unknown>;
  const host = record.envelope.host ?? '';
  if (m.start) {
    const s = m.start;
    const executable = text(s.executable);
    const args = (s.argv ?? []).map(text);
    const bootId = hex(s.bootId);
    const watermarks = record.verify?.watermarks ?? [];
    const own = watermarks.find((w) => w.path === executable);
    Object.assign(doc.event as object, { type: ['start'], action: 'exec' });
    doc.process = {
      pid: s.pid,
      entity_id: `${host}/${bootId ?? '-'}/${s.pid}/${record.timeUnixNano}`,
      executable,
      name: basename(executable),
      args,
      args_count: args.length,
      command_line: args.join(' '),
      working_directory: text(s.workingDirectory) || undefined,
      start: formatUnixNano(record.timeUnixNano),
      parent: { pid: s.ppid },
      user: { id: String(s.euid ?? 0) },
      group: { id: String(s.egid ?? 0) },
      real_user: { id: String(s.uid ?? 0) },
      real_group: { id: String(s.gid ?? 0) },
      env_vars: (s.environment ?? []).map((variable) =>
        variable.redacted
          ? `${text(variable.name)}=<redacted>`
          : `${text(variable.name)}=${text(variable.value)}`,
      ),
    };
    doc.user = { id: String(s.uid ?? 0) };
    doc.group = { id: String(s.gid ?? 0) };
    Object.assign(v, {
      job: s.job?.id
        ? {
            scheduler: s.job.scheduler || undefined,
            id: s.job.id,
            step: s.job.step || undefined,
            array_index: s.job.arrayIndex || undefined,
          }
        : undefined,
      // The same shape as the enrich worker's documents, so both can share an index.
      modules: (s.loadedModules ?? []).map((m, i) => {
        const name = text(m).trim().replace(/\/+$/, '');
        const at = name.lastIndexOf('/');
        const file = text(s.moduleFiles?.[i]) || undefined;
        return at <= 0
          ? { name, version: '', file }
          : { name: name.slice(0, at), version: name.slice(at + 1), file };
      }),
      cgroup: text(s.cgroup) || undefined,
      build_id: hex(s.buildId),
      boot_id: bootId,
      shared_objects: (s.sharedObjects ?? []).map((o) => ({
        path: text(o.path),
        build_id: hex(o.buildId),
        watermark_id: uuid(o.watermark?.id),
        dlopened: o.dlopened || undefined,
      })),
      watermarks: watermarks.length > 0 ? watermarks : undefined,
      // The dashboards' "unsigned and unknown binaries": the executable's own watermark status.
      binary: { signature_status: own?.status },
      truncation: s.truncation
        ? {
            argv_dropped: s.truncation.argvDropped ?? 0,
            environment_dropped: s.truncation.environmentDropped ?? 0,
            shared_objects_dropped: s.truncation.sharedObjectsDropped ?? 0,
            value_shortened: s.truncation.valueShortened ?? false,
          }
        : undefined,
    });
  } else if (m.end) {
    const end = m.end;
    Object.assign(doc.event as object, {
      type: ['end'],
      action: 'exit',
      duration: nanos(end.durationNs),
      outcome: end.exitStatus === 0 ? 'success' : 'failure',
    });
    doc.process = {
      pid: end.pid,
      exit_code: end.exitStatus ?? 0,
      end: formatUnixNano(record.timeUnixNano),
    };
    Object.assign(v, {
      start_event_id: uuid(end.startEventId),
      cpu: { user_ns: nanos(end.userCpuNs), system_ns: nanos(end.systemCpuNs) },
      max_rss_kib: nanos(end.maxRssKib),
      shared_objects: (end.dlopened ?? []).map((o) => ({
        path: text(o.path),
        build_id: hex(o.buildId),
        watermark_id: uuid(o.watermark?.id),
        dlopened: true,
      })),
    });
  }
  return doc;
}

/** The address part of OpenSSH's `SSH_CLIENT` ("ip port port"), when it is one. */
function sshClientIp(value: string | null | undefined): string | undefined {
  const ip = (value ?? '').trim().split(/\s+/)[0] ?? '';
  return isIP(ip) ? ip : undefined;
}

function sessionDocument(record: VigilRecord, m: vigil.session.v1.ISessionEvent): EcsDocument {
  const sessionId = uuid(m.sessionId) ?? text(m.sessionId);
  const doc = base(record, { category: ['session'] });
  const leader: Record<string, unknown> = { entity_id: sessionId };
  const process: Record<string, unknown> = {
    entry_leader: leader,
    session_leader: { entity_id: sessionId },
  };
  doc.process = process;
  const session: Record<string, unknown> = { id: sessionId, offset_ns: nanos(m.offsetNs) };
  (doc.vigil as Record<string, unknown>).session = session;
  const event = doc.event as Record<string, unknown>;
  if (m.start) {
    const s = m.start;
    const shell = text(s.shell);
    const ip = sshClientIp(s.sshClient);
    Object.assign(event, { type: ['start'], action: 'session-start' });
    Object.assign(leader, {
      start: time(s.startUnixNano) ?? formatUnixNano(record.timeUnixNano),
      executable: shell || undefined,
      name: shell ? basename(shell) : undefined,
      args: (s.command ?? []).map(text),
      user: { name: s.user || undefined, id: String(s.uid ?? 0) },
      entry_meta: { type: ip ? 'sshd' : 'terminal', source: ip ? { ip } : undefined },
    });
    process.tty = { columns: s.cols, rows: s.rows };
    process.interactive = true;
    doc.user = { name: s.user || undefined, id: String(s.uid ?? 0) };
    if (ip) doc.source = { ip };
    Object.assign(session, {
      tty: s.tty || undefined,
      term: s.term || undefined,
      ssh_client: s.sshClient || undefined,
      job_id: s.jobId || undefined,
      input_recorded: s.inputRecorded ?? false,
    });
  } else if (m.output || m.input) {
    const data = m.output?.data ?? m.input?.data;
    Object.assign(event, { type: ['info'], action: m.output ? 'output' : 'input' });
    process.io = { type: 'tty', text: text(data) };
    session.stream = m.output ? 'output' : 'input';
    session.bytes = data?.length ?? 0;
  } else if (m.resize) {
    Object.assign(event, { type: ['change'], action: 'resize' });
    process.tty = { columns: m.resize.cols, rows: m.resize.rows };
  } else if (m.marker) {
    Object.assign(event, { type: ['info'], action: 'marker' });
    session.marker = m.marker.label;
  } else if (m.command) {
    const c = m.command;
    const start = toBigInt(c.startOffsetNs);
    const end = toBigInt(c.endOffsetNs);
    Object.assign(event, {
      category: ['session', 'process'],
      type: ['info'],
      action: 'command',
      duration: end > start ? Number(end - start) : undefined,
      outcome: c.exitStatus === 0 ? 'success' : 'failure',
    });
    Object.assign(process, {
      command_line: text(c.text),
      working_directory: text(c.workingDirectory) || undefined,
      exit_code: c.exitStatus ?? 0,
    });
    session.command = {
      index: c.index ?? 0,
      start_offset_ns: Number(start),
      end_offset_ns: Number(end),
    };
  } else if (m.dropped) {
    Object.assign(event, { type: ['info'], action: 'dropped' });
    session.dropped = {
      bytes: nanos(m.dropped.bytes),
      events: nanos(m.dropped.events),
      reason: m.dropped.reason || undefined,
    };
  } else if (m.end) {
    const e = m.end;
    Object.assign(event, { type: ['end'], action: 'session-end' });
    process.exit_code = e.exitStatus ?? 0;
    leader.end = formatUnixNano(record.timeUnixNano);
    session.end = {
      reason: enumName(vigil.session.v1.EndReason, e.reason, 'END_REASON_'),
      signal: e.signal || undefined,
      output_bytes: nanos(e.outputBytes),
    };
  }
  return doc;
}

const stateName = (s: number | null | undefined) =>
  enumName(vigil.status.v1.ServiceState, s, 'SERVICE_STATE_');
const stateTypeName = (s: number | null | undefined) =>
  enumName(vigil.status.v1.StateType, s, 'STATE_TYPE_');

function statusDocument(record: VigilRecord, m: vigil.status.v1.IStatusEvent): EcsDocument {
  const doc = base(record, { category: ['host'] });
  const event = doc.event as Record<string, unknown>;
  // The envelope's host is the poller; the host a service runs on is the document's host.
  doc.observer = { hostname: record.envelope.host || undefined };
  const service = m.snapshot?.service ?? m.stateChange?.service;
  if (service) {
    doc.host = { name: service.host || undefined };
    doc.service = { name: service.service || undefined };
  }
  const status: Record<string, unknown> = {
    site: service?.site || undefined,
    source: service?.source || undefined,
  };
  (doc.vigil as Record<string, unknown>).status = status;
  if (m.snapshot) {
    const s = m.snapshot;
    Object.assign(event, { kind: 'state', type: ['info'], action: 'snapshot' });
    doc.message = s.output || undefined;
    Object.assign(status, {
      state: stateName(s.state),
      state_type: stateTypeName(s.stateType),
      output: s.output || undefined,
      acknowledged: s.acknowledged ?? false,
      in_downtime: s.inDowntime ?? false,
      flapping: s.flapping ?? false,
      last_check: time(s.lastCheckUnixNano),
      last_state_change: time(s.lastStateChangeUnixNano),
    });
  } else if (m.stateChange) {
    const c = m.stateChange;
    Object.assign(event, { type: ['change'], action: 'state-change' });
    doc.message = c.output || undefined;
    Object.assign(status, {
      state: stateName(c.state),
      previous_state: stateName(c.previousState),
      previous_duration_ns: nanos(c.previousDurationNs),
      state_type: stateTypeName(c.stateType),
      output: c.output || undefined,
      acknowledged: c.acknowledged ?? false,
      in_downtime: c.inDowntime ?? false,
      flapping: c.flapping ?? false,
    });
  } else if (m.sourceUnreachable) {
    const u = m.sourceUnreachable;
    Object.assign(event, { type: ['error'], action: 'source-unreachable', outcome: 'failure' });
    doc.message = u.error || undefined;
    Object.assign(status, {
      source: u.source || undefined,
      adapter: u.adapter || undefined,
      error: u.error || undefined,
      consecutive_failures: u.consecutiveFailures ?? 0,
    });
  } else if (m.sourceRecovered) {
    const r = m.sourceRecovered;
    Object.assign(event, { type: ['info'], action: 'source-recovered', outcome: 'success' });
    Object.assign(status, {
      source: r.source || undefined,
      unreachable_ns: nanos(r.unreachableNs),
    });
  }
  return doc;
}

function traceDocument(record: VigilRecord, m: vigil.trace.v1.ITraceEvent): EcsDocument {
  const doc = base(record, { category: ['file'], type: ['info'], action: 'trace-upload' });
  const u = m.upload;
  if (u) {
    (doc.vigil as Record<string, unknown>).trace = {
      upload_id: uuid(u.uploadId),
      origin_host: u.originHost || undefined,
      record_count: u.recordCount ?? 0,
      first_event: time(u.firstEventUnixNano),
      last_event: time(u.lastEventUnixNano),
      sha256: hex(u.sha256),
      uploader: u.uploader || undefined,
      records_bytes: (u.records ?? []).reduce((sum, r) => sum + r.length, 0),
    };
  }
  return doc;
}

function alertDocument(record: VigilRecord, m: vigil.alert.v1.IAlertEvent): EcsDocument {
  const doc = base(record, {});
  const event = doc.event as Record<string, unknown>;
  if (m.alert) {
    const a = m.alert;
    const severity = enumName(vigil.alert.v1.Severity, a.severity, 'SEVERITY_');
    Object.assign(event, {
      kind: 'alert',
      type: ['info'],
      action: enumName(vigil.alert.v1.AlertStatus, a.status, 'ALERT_STATUS_'),
      severity: a.severity ?? 0,
    });
    doc.message = a.summary || undefined;
    doc.rule = { name: a.rule || undefined };
    (doc.vigil as Record<string, unknown>).alert = {
      alert_id: a.alertId || undefined,
      rule: a.rule || undefined,
      severity,
      status: enumName(vigil.alert.v1.AlertStatus, a.status, 'ALERT_STATUS_'),
      summary: a.summary || undefined,
      labels: a.labels && Object.keys(a.labels).length > 0 ? { ...a.labels } : undefined,
      cause_event_id: uuid(a.causeEventId),
    };
  } else if (m.notification) {
    const n = m.notification;
    Object.assign(event, {
      type: ['info'],
      action: `notification-${enumName(vigil.alert.v1.NotificationStatus, n.status, 'NOTIFICATION_STATUS_')}`,
    });
    (doc.vigil as Record<string, unknown>).notification = {
      alert_id: n.alertId || undefined,
      channel: enumName(vigil.alert.v1.Channel, n.channel, 'CHANNEL_'),
      recipient: n.recipient || undefined,
      status: enumName(vigil.alert.v1.NotificationStatus, n.status, 'NOTIFICATION_STATUS_'),
      provider_message_id: n.providerMessageId || undefined,
      reason: n.reason || undefined,
      attempt: n.attempt ?? 0,
      parts: n.parts ?? 0,
    };
  }
  return doc;
}

function watermarkDocument(
  record: VigilRecord,
  m: vigil.watermark.v1.IWatermarkEvent,
): EcsDocument {
  const doc = base(record, {
    category: ['configuration'],
    type: ['creation'],
    action: 'watermark-registration',
  });
  const r = m.registration;
  if (r) {
    const path = text(r.path);
    doc.file = { path: path || undefined, hash: { sha256: hex(r.binarySha256) } };
    (doc.vigil as Record<string, unknown>).watermark = {
      id: uuid(r.watermarkId),
      package: r.package || undefined,
      version: r.version || undefined,
      builder: r.builder || undefined,
      build_id: hex(r.buildId),
    };
  }
  return doc;
}

const builders: Record<FamilyName, (record: VigilRecord, message: never) => EcsDocument> = {
  process: processDocument,
  session: sessionDocument,
  status: statusDocument,
  trace: traceDocument,
  alert: alertDocument,
  watermark: watermarkDocument,
};

/** The ECS document of a decoded record (undefined fields and empty objects left out). */
export function toEcsDocument(record: VigilRecord): EcsDocument {
  return compact(builders[record.family](record, record.message as never));
}

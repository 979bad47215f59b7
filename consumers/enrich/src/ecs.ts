import { posix } from 'node:path';
import type { vigil } from '@vigil/schemas/gen';
import { formatUnixNano, formatUuid, toBigInt } from '@vigil/pipeline/events';
import type { VerifyHeader } from '@vigil/pipeline/verify-header';
import { classifyPath } from './classify.js';
import type { PathClass } from './config.js';
import type { UserDirectory } from './directory.js';
import { parseModule } from './modules.js';

/**
 * ECS documents of process events (pure). Field names follow ECS (`process.*`, `user.*`,
 * `group.*`, `host.*`, `event.*`); what ECS has no field for lives under `vigil.*`. Paths and
 * arguments are bytes on the wire; here they become UTF-8 text (invalid sequences as U+FFFD).
 */

export type EcsDocument = Record<string, unknown>;

/** The verify worker's `vigil-verify` header. */
export type VerifyInfo = VerifyHeader;

/** What the documents of one event need besides the event. */
export interface EcsContext {
  readonly directory: Pick<UserDirectory, 'userName' | 'groupName'>;
  readonly pathRules: ReadonlyArray<{ readonly prefix: string; readonly class: PathClass }>;
  readonly verify: VerifyInfo | undefined;
}

/** The parts of a start document an end document copies when they are joined. */
export interface StartSummary {
  readonly process: Record<string, unknown>;
  readonly user: Record<string, unknown>;
  readonly group: Record<string, unknown>;
  readonly vigil: Record<string, unknown>;
}

/** What an end tells a start that arrives after it. */
export interface EndSummary {
  readonly end: string;
  readonly exitCode: number;
  readonly durationNs: string;
  readonly endEventId: string;
}

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function user(uid: number, ctx: EcsContext): Record<string, unknown> {
  const name = ctx.directory.userName(uid);
  return { id: String(uid), ...(name !== undefined ? { name } : {}) };
}

function group(gid: number, ctx: EcsContext): Record<string, unknown> {
  const name = ctx.directory.groupName(gid);
  return { id: String(gid), ...(name !== undefined ? { name } : {}) };
}

function base(envelope: vigil.envelope.v1.IEnvelope, type: 'start' | 'end', ctx: EcsContext) {
  const time = formatUnixNano(toBigInt(envelope.timeUnixNano));
  const eventId = formatUuid(envelope.eventId!);
  return {
    time,
    eventId,
    doc: {
      '@timestamp': time,
      event: {
        id: eventId,
        kind: 'event',
        category: ['process'],
        type: [type],
        action: type === 'start' ? 'process-started' : 'process-ended',
        module: 'vigil',
        dataset: 'vigil.process',
      },
      host: { name: envelope.host ?? '' },
      vigil: {
        event_id: eventId,
        producer_id: envelope.producerId ?? '',
        sequence: toBigInt(envelope.sequence).toString(),
        signature: {
          status: ctx.verify?.signature ?? 'not-verified',
          ...(ctx.verify?.keyId ? { key_id: ctx.verify.keyId } : {}),
        },
      } as Record<string, unknown>,
    } as Record<string, unknown> & { vigil: Record<string, unknown> },
  };
}

/** The document of a process start; `end` fills the end fields when the end arrived first. */
export function startDocument(
  envelope: vigil.envelope.v1.IEnvelope,
  start: vigil.process.v1.IProcessStart,
  ctx: EcsContext,
  end?: EndSummary,
): { document: EcsDocument; summary: StartSummary } {
  const { time, eventId, doc } = base(envelope, 'start', ctx);
  const executable = text(start.executable);
  const args = (start.argv ?? []).map(text);
  const moduleFiles = (start.moduleFiles ?? []).map(text);
  const modules = (start.loadedModules ?? []).map((m, i) => ({
    ...parseModule(text(m)),
    ...(moduleFiles[i] ? { file: moduleFiles[i] } : {}),
  }));
  const job = start.job?.id
    ? {
        scheduler: start.job.scheduler ?? '',
        id: start.job.id,
        ...(start.job.step ? { step: start.job.step } : {}),
        ...(start.job.arrayIndex ? { array_index: start.job.arrayIndex } : {}),
      }
    : undefined;
  const process: Record<string, unknown> = {
    entity_id: eventId,
    pid: start.pid ?? 0,
    parent: { pid: start.ppid ?? 0 },
    executable,
    name: posix.basename(executable),
    args,
    args_count: args.length,
    command_line: args.map(quoteArg).join(' '),
    working_directory: text(start.workingDirectory),
    start: time,
    env_vars: (start.environment ?? []).map(
      (v) => `${text(v.name)}=${v.redacted ? '[redacted]' : text(v.value)}`,
    ),
    ...(start.buildId?.length
      ? { hash: { build_id: Buffer.from(start.buildId).toString('hex') } }
      : {}),
  };
  const userFields = {
    ...user(start.uid ?? 0, ctx),
    effective: user(start.euid ?? 0, ctx),
    group: group(start.gid ?? 0, ctx),
  };
  const groupFields = group(start.gid ?? 0, ctx);
  const vigilFields: Record<string, unknown> = {
    classification: classifyPath(executable, ctx.pathRules),
    modules,
    ...(job ? { job } : {}),
    ...(start.bootId?.length === 16 ? { boot_id: formatUuid(start.bootId) } : {}),
    shared_objects_count: start.sharedObjects?.length ?? 0,
    ...(ctx.verify?.watermarks ? { watermarks: ctx.verify.watermarks } : {}),
    ...(start.truncation
      ? {
          truncation: {
            argv_dropped: start.truncation.argvDropped ?? 0,
            environment_dropped: start.truncation.environmentDropped ?? 0,
            shared_objects_dropped: start.truncation.sharedObjectsDropped ?? 0,
            value_shortened: start.truncation.valueShortened ?? false,
          },
        }
      : {}),
  };
  if (end) {
    process.end = end.end;
    process.exit_code = end.exitCode;
    doc.event = { ...(doc.event as object), duration: end.durationNs };
  }
  Object.assign(doc, { process, user: userFields, group: groupFields });
  Object.assign(doc.vigil, vigilFields, {
    join: end
      ? { status: 'end-seen-first', end_event_id: end.endEventId }
      : { status: 'no-end-yet' },
  });
  return {
    document: doc,
    summary: { process, user: userFields, group: groupFields, vigil: vigilFields },
  };
}

/**
 * The document of a process end. With the start's summary it carries the start's fields too
 * (`vigil.join.status: joined`); without, only what the end record knows (`start-not-seen`).
 */
export function endDocument(
  envelope: vigil.envelope.v1.IEnvelope,
  end: vigil.process.v1.IProcessEnd,
  ctx: EcsContext,
  start: StartSummary | undefined,
): { document: EcsDocument; summary: EndSummary } {
  const { time, eventId, doc } = base(envelope, 'end', ctx);
  const startId = end.startEventId?.length === 16 ? formatUuid(end.startEventId) : undefined;
  const durationNs = toBigInt(end.durationNs);
  const startTime = formatUnixNano(toBigInt(envelope.timeUnixNano) - durationNs);
  doc.event = { ...(doc.event as object), duration: durationNs.toString() };
  doc.process = {
    ...(start?.process ?? {}),
    ...(startId ? { entity_id: startId } : {}),
    pid: end.pid ?? 0,
    start: (start?.process.start as string | undefined) ?? startTime,
    end: time,
    exit_code: end.exitStatus ?? 0,
    cpu: {
      user_ns: toBigInt(end.userCpuNs).toString(),
      system_ns: toBigInt(end.systemCpuNs).toString(),
    },
    memory: { max_rss_kib: toBigInt(end.maxRssKib).toString() },
  };
  if (start) Object.assign(doc, { user: start.user, group: start.group });
  Object.assign(doc.vigil, start?.vigil ?? {}, {
    dlopened: (end.dlopened ?? []).map((o) => text(o.path)),
    ...(ctx.verify?.watermarks ? { watermarks: ctx.verify.watermarks } : {}),
    join: {
      status: start ? 'joined' : 'start-not-seen',
      ...(startId ? { start_event_id: startId } : {}),
    },
  });
  return {
    document: doc,
    summary: {
      end: time,
      exitCode: end.exitStatus ?? 0,
      durationNs: durationNs.toString(),
      endEventId: eventId,
    },
  };
}

import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';
import type { vigil } from '@vigil/schemas/gen';
import { toBigInt } from '@vigil/pipeline/events';
import { castEventLines, castHeader, type CastState, type CastVersion } from './asciicast.js';
import { syncDirectory, writeAll } from './files.js';

/**
 * One asciicast file per terminal session, `<dir>/<session id>.cast`, written as events arrive and
 * finished at the session end. Beside it, `<session id>.cast.state` records how many bytes of the
 * cast are complete and the last envelope sequence written; it is written (fsynced, renamed) after
 * the cast is fsynced, so after a crash the cast is cut back to that length and replayed events
 * are written once.
 */

interface OpenSession {
  readonly handle: FileHandle;
  state: CastState;
  readonly decoder: TextDecoder;
  dirty: boolean;
}

export interface SessionFiles {
  /** Adds one session event (in order per session); a no-op for replays and finished sessions. */
  append(
    sessionId: string,
    event: vigil.session.v1.ISessionEvent,
    meta: { readonly host: string; readonly timeUnixNano: bigint },
  ): Promise<void>;
  /** fsyncs the casts written since the last flush, then their state files. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createSessionFiles(options: {
  readonly directory: string;
  readonly version: CastVersion;
  readonly maxOpenFiles: number;
}): SessionFiles {
  const open_ = new Map<string, OpenSession>();
  const finished = new Set<string>();
  const castPath = (id: string) => join(options.directory, `${id}.cast`);
  const statePath = (id: string) => `${castPath(id)}.state`;

  async function saveState(id: string, state: CastState) {
    const tmp = `${statePath(id)}.tmp`;
    const handle = await open(tmp, 'w');
    await handle.writeFile(JSON.stringify(state));
    await handle.sync();
    await handle.close();
    await rename(tmp, statePath(id));
  }

  async function release(id: string, session: OpenSession) {
    if (session.dirty) {
      await session.handle.sync();
      await saveState(id, session.state);
      session.dirty = false;
    }
    await session.handle.close();
    open_.delete(id);
  }

  async function sessionFor(
    id: string,
    event: vigil.session.v1.ISessionEvent,
    meta: { host: string; timeUnixNano: bigint },
  ) {
    const existing = open_.get(id);
    if (existing) {
      open_.delete(id); // move to the most recent end
      open_.set(id, existing);
      return existing;
    }
    if (finished.has(id)) return undefined;
    await mkdir(options.directory, { recursive: true });
    const saved = await readFile(statePath(id), 'utf8')
      .then((t) => JSON.parse(t) as CastState)
      .catch(() => undefined);
    if (saved?.finished) {
      finished.add(id);
      return undefined;
    }
    let session: OpenSession;
    if (saved) {
      const handle = await open(castPath(id), 'r+');
      await handle.truncate(saved.length); // lines past the last saved state are written again
      session = { handle, state: saved, decoder: new TextDecoder('utf-8'), dirty: false };
    } else {
      const handle = await open(castPath(id), 'w');
      const startNs = meta.timeUnixNano - toBigInt(event.offsetNs);
      const header = Buffer.from(
        castHeader(options.version, event.start ?? undefined, {
          host: meta.host,
          startUnixNano: event.start?.startUnixNano ? toBigInt(event.start.startUnixNano) : startNs,
        }),
      );
      await writeAll(handle, header, 0);
      session = {
        handle,
        state: {
          version: options.version,
          length: header.length,
          lastSequence: '0',
          lastOffsetNs: '0',
          finished: false,
        },
        decoder: new TextDecoder('utf-8'),
        dirty: true,
      };
      await syncDirectory(options.directory);
    }
    open_.set(id, session);
    while (open_.size > options.maxOpenFiles) {
      const [oldest, s] = open_.entries().next().value!;
      await release(oldest, s);
    }
    return session;
  }

  return {
    async append(id, event, meta) {
      const session = await sessionFor(id, event, meta);
      if (!session) return;
      const sequence = toBigInt(event.envelope?.sequence);
      if (sequence > 0n && sequence <= BigInt(session.state.lastSequence)) return; // a replay
      const { lines, lastOffsetNs } = castEventLines(
        session.state.version,
        event,
        BigInt(session.state.lastOffsetNs),
        (bytes) => session.decoder.decode(bytes, { stream: true }),
      );
      const data = Buffer.from(lines.join(''), 'utf8');
      if (data.length > 0) await writeAll(session.handle, data, session.state.length);
      session.state = {
        ...session.state,
        length: session.state.length + data.length,
        lastSequence: (sequence > 0n ? sequence : BigInt(session.state.lastSequence)).toString(),
        lastOffsetNs: lastOffsetNs.toString(),
        finished: Boolean(event.end),
      };
      session.dirty = true;
      if (event.end) {
        await release(id, session);
        finished.add(id);
      }
    },

    async flush() {
      const dirty = [...open_.entries()].filter(([, s]) => s.dirty);
      for (const [, s] of dirty) await s.handle.sync();
      for (const [id, s] of dirty) {
        await saveState(id, s.state);
        s.dirty = false;
      }
      if (dirty.length > 0) await syncDirectory(options.directory);
    },

    async close() {
      for (const [id, s] of [...open_.entries()]) await release(id, s);
    },
  };
}

import { randomBytes } from 'node:crypto';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@vigil/pipeline/log';
import { createRecentIds, type RecentIds } from '@vigil/pipeline/recent-ids';
import { run, syncDirectory, writeAll } from './files.js';

/**
 * JSON lines per family: `<dir>/<family>/<family>-<UTC time>-<random>.jsonl.open` while written,
 * renamed to `.jsonl` when closed (by size or age), then optionally compressed by the zstd command
 * into `.jsonl.zst`. Appends are fsynced before `flush` resolves. Event ids of the open file and
 * of the newest closed one are read back at start, so a batch replayed after a crash is not written
 * twice.
 */

export interface JsonlOptions {
  readonly directory: string;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly compression: 'none' | 'zstd';
  readonly zstdLevel: number;
  readonly rememberIds: number;
}

interface OpenFile {
  readonly path: string;
  readonly handle: FileHandle;
  readonly openedAt: number;
  bytes: number;
  dirty: boolean;
}

interface Family {
  readonly dir: string;
  readonly ids: RecentIds;
  file?: OpenFile;
}

export interface JsonlFiles {
  /** Creates directories, finishes what a crash left (partial lines, uncompressed files), reads recent ids. */
  recover(families: readonly string[]): Promise<void>;
  /** Appends lines whose id was not written before; resolves to how many were new. Not durable until flush. */
  append(
    family: string,
    lines: ReadonlyArray<{ readonly id: string; readonly text: string }>,
  ): Promise<number>;
  /** fsyncs every file written since the last flush. */
  flush(): Promise<void>;
  /** Closes the files older than maxAgeMs (for idle families). */
  rotateExpired(): Promise<void>;
  /** Closes every file (renamed to `.jsonl`, compressed if configured) and waits for compressions. */
  close(): Promise<void>;
  /** Resolves once every compression started so far is done. */
  compressed(): Promise<void>;
}

const stampOf = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Reads the ids (`event.id`) of a JSON lines text; returns the length of its complete lines too. */
function idsOf(text: string): { ids: string[]; completeBytes: number } {
  const end = text.lastIndexOf('\n') + 1;
  const ids: string[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    if (!line) continue;
    try {
      const id = (JSON.parse(line) as { event?: { id?: string } }).event?.id;
      if (id) ids.push(id);
    } catch {
      // a line that does not parse cannot be a complete write of ours; nothing to remember
    }
  }
  return { ids, completeBytes: Buffer.byteLength(text.slice(0, end)) };
}

export function createJsonlFiles(
  options: JsonlOptions,
  logger: Logger,
  now: () => number = Date.now,
): JsonlFiles {
  const families = new Map<string, Family>();
  const compressions = new Set<Promise<void>>();

  function familyOf(name: string): Family {
    let family = families.get(name);
    if (!family) {
      family = { dir: join(options.directory, name), ids: createRecentIds(options.rememberIds) };
      families.set(name, family);
    }
    return family;
  }

  async function compress(path: string): Promise<void> {
    const tmp = `${path}.zst.tmp`;
    await run('zstd', ['-q', `-${options.zstdLevel}`, '-f', '-o', tmp, path]);
    const handle = await open(tmp, 'r');
    await handle.sync();
    await handle.close();
    await rename(tmp, `${path}.zst`);
    await rm(path);
    await syncDirectory(join(path, '..'));
  }

  const compressing = new Set<string>();
  function startCompression(path: string) {
    if (options.compression !== 'zstd' || compressing.has(path)) return;
    compressing.add(path);
    const job = compress(path)
      .catch((error: unknown) =>
        logger.warn(
          { path, err: String(error) },
          'compressing a closed file failed; trying again at the next start',
        ),
      )
      .finally(() => {
        compressions.delete(job);
        compressing.delete(path);
      });
    compressions.add(job);
  }

  async function closeFile(family: Family): Promise<void> {
    const file = family.file;
    if (!file) return;
    family.file = undefined;
    await file.handle.sync();
    await file.handle.close();
    const closed = file.path.replace(/\.open$/, '');
    await rename(file.path, closed);
    await syncDirectory(family.dir);
    startCompression(closed);
  }

  async function openFile(family: Family, name: string): Promise<OpenFile> {
    const path = join(
      family.dir,
      `${name}-${stampOf(now())}-${randomBytes(3).toString('hex')}.jsonl.open`,
    );
    const handle = await open(path, 'wx');
    await syncDirectory(family.dir);
    return { path, handle, openedAt: now(), bytes: 0, dirty: false };
  }

  return {
    async recover(names) {
      for (const name of names) {
        const family = familyOf(name);
        await mkdir(family.dir, { recursive: true });
        const entries = (await readdir(family.dir)).sort();
        for (const entry of entries.filter((e) => e.endsWith('.zst.tmp')))
          await rm(join(family.dir, entry));
        for (const entry of entries.filter((e) => e.endsWith('.jsonl.open'))) {
          // Left by a crash: keep its complete lines, close it like a rotation would.
          const path = join(family.dir, entry);
          const size = (await stat(path)).size;
          const { completeBytes } = idsOf(await readFile(path, 'utf8'));
          if (completeBytes < size) {
            const handle = await open(path, 'r+');
            await handle.truncate(completeBytes);
            await handle.sync();
            await handle.close();
            logger.warn(
              { path, cutBytes: size - completeBytes },
              'cut an incomplete last line left by a crash',
            );
          }
          await rename(path, path.replace(/\.open$/, ''));
        }
        await syncDirectory(family.dir);
        // The newest closed file holds what may be replayed (records written, offsets not yet committed).
        const closed = (await readdir(family.dir)).filter((e) => /\.jsonl(\.zst)?$/.test(e)).sort();
        const newest = closed.at(-1);
        if (newest) {
          const path = join(family.dir, newest);
          const text = newest.endsWith('.zst')
            ? (await run('zstd', ['-dcq', path])).toString('utf8')
            : await readFile(path, 'utf8');
          idsOf(text).ids.forEach((id) => family.ids.add(id));
        }
        for (const entry of closed.filter((e) => e.endsWith('.jsonl')))
          startCompression(join(family.dir, entry));
      }
    },

    async append(name, lines) {
      const family = familyOf(name);
      const fresh = lines.filter((l) => !family.ids.has(l.id));
      for (const line of fresh) {
        const data = Buffer.from(`${line.text}\n`, 'utf8');
        let file = family.file;
        if (
          file &&
          (file.bytes + data.length > options.maxBytes ||
            now() - file.openedAt >= options.maxAgeMs) &&
          file.bytes > 0
        ) {
          await closeFile(family);
          file = undefined;
        }
        if (!file) {
          await mkdir(family.dir, { recursive: true });
          file = family.file = await openFile(family, name);
        }
        await writeAll(file.handle, data, file.bytes);
        file.bytes += data.length;
        file.dirty = true;
        family.ids.add(line.id);
      }
      return fresh.length;
    },

    async flush() {
      for (const family of families.values()) {
        if (family.file?.dirty) {
          await family.file.handle.sync();
          family.file.dirty = false;
        }
      }
    },

    async rotateExpired() {
      for (const family of families.values()) {
        if (family.file && now() - family.file.openedAt >= options.maxAgeMs)
          await closeFile(family);
      }
    },

    async close() {
      for (const family of families.values()) await closeFile(family);
      await Promise.all([...compressions]);
    },

    compressed: async () => {
      while (compressions.size > 0) await Promise.all([...compressions]);
    },
  };
}

/** Every JSON line under a family directory, closed and open, compressed or not (for tests and audits). */
export async function readFamilyLines(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const lines: string[] = [];
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    if (!(await stat(path)).isFile()) continue;
    let text: string;
    if (entry.endsWith('.jsonl.zst')) text = (await run('zstd', ['-dcq', path])).toString('utf8');
    else if (entry.endsWith('.jsonl') || entry.endsWith('.jsonl.open'))
      text = await readFile(path, 'utf8');
    else continue;
    lines.push(...text.split('\n').filter(Boolean));
  }
  return lines;
}
